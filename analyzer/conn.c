#include "conn.h"

#include <stdlib.h>

#include "counter.h"

void
conn_init_single(struct conn *c, const struct flow *f)
{
	c->fwd = *f;
	c->paired = f->biflow && (f->rev_bytes > 0 || f->rev_packets > 0);
	c->by = f->biflow ? CONN_BY_BIFLOW : CONN_BY_EXPORT;
	c->start_ms = f->start_ms;
	c->end_ms = f->end_ms;
	c->bytes = f->bytes;
	c->packets = f->packets;
	c->bytes_out = f->bytes - f->rev_bytes;
	c->bytes_in = f->rev_bytes;
}

/* Each rule below looks at one kind of evidence and returns 1 when a (the
 * flow that arrived first) initiated, -1 when b did, and 0 when its
 * evidence cannot tell them apart. */

static bool
syn_without_ack(const struct flow *f)
{
	return f->has_tcp_flags &&
	    (f->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

/* Exporters report the OR of the flags of a direction's packets, and
 * softflowd and pmacct track both directions as one flow: both sides of a
 * completed handshake then show SYN and ACK, which says nothing about the
 * order. A responder's SYN always carries an ACK, so a side that sent SYN
 * and no ACK at all is the initiator (refused, unanswered or half-open
 * connections, a sampled SYN). */
static int
by_tcp_flags(const struct flow *a, const struct flow *b)
{
	if (a->proto != PROTO_TCP)
		return 0;
	bool sa = syn_without_ack(a), sb = syn_without_ack(b);
	return sa == sb ? 0 : sa ? 1 : -1;
}

/* Echo, timestamp, information, mask, router and neighbour solicitations. */
static bool
icmp_is_request(const struct flow *f)
{
	if (f->proto == PROTO_ICMP)
		return f->icmp_type == 8 || f->icmp_type == 10 || f->icmp_type == 13 ||
		    f->icmp_type == 15 || f->icmp_type == 17;
	return f->icmp_type == 128 || f->icmp_type == 130 || f->icmp_type == 133 ||
	    f->icmp_type == 135;
}

static int
by_icmp_type(const struct flow *a, const struct flow *b)
{
	if (!flow_is_icmp(a))
		return 0;
	bool ra = icmp_is_request(a), rb = icmp_is_request(b);
	return ra == rb ? 0 : ra ? 1 : -1;
}

/* Both TCP records carry ACK and neither SYN: they continue a connection
 * that began in earlier records (the exporter's active timeout cut it), and
 * which side sent the first packet after the cut is chance. */
static bool
tcp_continuation(const struct flow *a, const struct flow *b)
{
	return a->proto == PROTO_TCP && a->has_tcp_flags && b->has_tcp_flags &&
	    (a->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_ACK &&
	    (b->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_ACK;
}

/* Start times tell who came first when they differ by a millisecond or
 * more and come from one clock. Two exporters have two clocks, and an sFlow
 * sample's time is when the packet happened to be sampled. NetFlow v9
 * headers give the export time in whole seconds, so the uptime-relative
 * times of two datagrams can be shifted against each other by up to 999 ms:
 * below that, only records that arrived together (one datagram) compare. */
static int
by_start(const struct flow *a, const struct flow *b)
{
	int64_t d = b->start_ms - a->start_ms;

	if (d == 0 || a->sflow || b->sflow || tcp_continuation(a, b) ||
	    addr_compare(&a->exporter, &b->exporter) != 0)
		return 0;
	if ((a->version == 9 || b->version == 9) && a->seen_ms != b->seen_ms &&
	    llabs(d) < 1000)
		return 0;
	return d > 0 ? 1 : -1;
}

/* The side whose destination is the server's port initiated. */
static int
by_port(const struct flow *a, struct services *svc)
{
	int port = services_server_port(svc, a->proto, a->src_port, a->dst_port);

	if (port < 0)
		return 0;
	return port == a->dst_port ? 1 : -1;
}

/* Last resort: clients mostly ask little and receive much (downloads, web,
 * DNS), so the side that sent fewer bytes is taken for the client. */
static int
by_bytes(const struct flow *a, const struct flow *b)
{
	if (a->bytes == b->bytes)
		return 0;
	return a->bytes < b->bytes ? 1 : -1;
}

static int
decide(const struct flow *a, const struct flow *b, struct services *svc, enum conn_by *by)
{
	int v;

	if ((v = by_tcp_flags(a, b)))
		*by = CONN_BY_TCP_FLAGS;
	else if ((v = by_icmp_type(a, b)))
		*by = CONN_BY_ICMP_TYPE;
	else if ((v = by_start(a, b)))
		*by = CONN_BY_START;
	else if ((v = by_port(a, svc)))
		*by = CONN_BY_PORT;
	else if ((v = by_bytes(a, b)))
		*by = CONN_BY_BYTES;
	else {
		v = 1;
		*by = CONN_BY_ARRIVAL;
	}
	return v;
}

void
conn_pair(struct conn *c, const struct flow *other, struct services *svc)
{
	if (decide(&c->fwd, other, svc, &c->by) > 0) {
		c->rev = *other;
	} else {
		c->rev = c->fwd;
		c->fwd = *other;
	}
	c->paired = true;
	c->start_ms = c->fwd.start_ms < c->rev.start_ms ? c->fwd.start_ms : c->rev.start_ms;
	c->end_ms = c->fwd.end_ms > c->rev.end_ms ? c->fwd.end_ms : c->rev.end_ms;
	c->bytes = counter_add(c->fwd.bytes, c->rev.bytes);
	c->packets = counter_add(c->fwd.packets, c->rev.packets);
	c->bytes_out = c->fwd.bytes;
	c->bytes_in = c->rev.bytes;
}

const char *
conn_by_name(enum conn_by by)
{
	static const char *const names[] = {
		[CONN_BY_EXPORT] = "export", [CONN_BY_BIFLOW] = "biflow",
		[CONN_BY_TCP_FLAGS] = "tcp_flags", [CONN_BY_ICMP_TYPE] = "icmp_type",
		[CONN_BY_START] = "start", [CONN_BY_PORT] = "port",
		[CONN_BY_BYTES] = "bytes", [CONN_BY_ARRIVAL] = "arrival",
	};
	return names[by];
}
