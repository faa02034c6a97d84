/* conn: a connection, i.e. one or two flows of opposite direction. */
#ifndef ANALYZER_CONN_H
#define ANALYZER_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "services.h"

struct conn {
	struct flow fwd;	/* the initiator's direction (or the only one) */
	struct flow rev;	/* the answer, when paired */
	bool paired;
	int64_t start_ms;
	int64_t end_ms;
	uint64_t bytes;
	uint64_t packets;
	uint64_t bytes_out;	/* sent by the initiator */
	uint64_t bytes_in;	/* sent by the responder */
};

/* One flow; a biflow record is a whole connection, paired when its
 * responder sent anything. */
void conn_init_single(struct conn *c, const struct flow *f);
/* Add the opposite direction and decide which side initiated: the one that
 * started first, else the one that sent more bytes, else the one whose port
 * is not the service port (for ICMP: the request). */
void conn_pair(struct conn *c, const struct flow *other, struct services *svc);

#endif
