/* filter: --since/--until/--host/--port/--exporter, applied to each flow
 * before pairing. */
#ifndef ANALYZER_FILTER_H
#define ANALYZER_FILTER_H

#include <stdbool.h>

#include "flow.h"
#include "options.h"

bool filter_match(const struct options *o, const struct flow *f);

#endif
