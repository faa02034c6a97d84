/* stats: what reading the input came across, reported at the end. */
#ifndef ANALYZER_STATS_H
#define ANALYZER_STATS_H

#include <stdint.h>

#include "sampling.h"

struct stats {
	uint64_t lines;
	uint64_t flows;		/* flow records read (before filters) */
	uint64_t filtered;	/* flows the filters removed */
	uint64_t not_flow;	/* options records and other types */
	uint64_t malformed;	/* bad JSON, bad values, overlong lines */
	uint64_t incomplete;	/* flows without addresses or any time */
	uint64_t fw_updates;	/* firewall flow-update events, not counted */
	unsigned input_errors;	/* files that could not be read to the end */
	struct sampling sampling;	/* of the flows that passed the filters */
};

#endif
