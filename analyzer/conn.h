/* conn: a connection, i.e. one or two flows of opposite direction. */
#ifndef ANALYZER_CONN_H
#define ANALYZER_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "services.h"

/* The evidence that named the initiator (netflow-analyze(1), Direction). */
enum conn_by {
	CONN_BY_EXPORT,		/* one flow: its direction as exported */
	CONN_BY_BIFLOW,		/* one record with initiator and responder counters */
	CONN_BY_TCP_FLAGS,
	CONN_BY_ICMP_TYPE,
	CONN_BY_START,
	CONN_BY_PORT,
	CONN_BY_BYTES,
	CONN_BY_ARRIVAL,
};

struct conn {
	struct flow fwd;	/* the initiator's direction (or the only one) */
	struct flow rev;	/* the answer, when paired */
	bool paired;
	enum conn_by by;
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
/* Add the opposite direction and decide which side initiated, from the
 * first evidence that tells the two apart: a TCP side that sent SYN without
 * ACK, an ICMP request, an earlier start (one exporter's clock), the
 * server's port, fewer bytes sent; else the flow that arrived first. */
void conn_pair(struct conn *c, const struct flow *other, struct services *svc);
/* "tcp_flags", "start", ...: the value of --json's initiator_by. */
const char *conn_by_name(enum conn_by by);

#endif
