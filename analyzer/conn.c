#include "conn.h"

#include "counter.h"

void
conn_init_single(struct conn *c, const struct flow *f)
{
	c->fwd = *f;
	c->paired = f->biflow && (f->rev_bytes > 0 || f->rev_packets > 0);
	c->start_ms = f->start_ms;
	c->end_ms = f->end_ms;
	c->bytes = f->bytes;
	c->packets = f->packets;
	c->bytes_out = f->bytes - f->rev_bytes;
	c->bytes_in = f->rev_bytes;
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

static bool
initiated_first(const struct flow *a, const struct flow *b, struct services *svc)
{
	if (a->start_ms != b->start_ms)
		return a->start_ms < b->start_ms;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes;
	if (flow_is_icmp(a))
		return icmp_is_request(a) || !icmp_is_request(b);
	uint16_t service = services_pick_port(svc, a->proto, a->src_port, a->dst_port);
	return a->src_port != service || a->dst_port == service;
}

void
conn_pair(struct conn *c, const struct flow *other, struct services *svc)
{
	if (initiated_first(&c->fwd, other, svc)) {
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
