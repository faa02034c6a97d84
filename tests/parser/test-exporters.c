/*
 * The parser's exporter object: per-exporter counters, drops charged to
 * the exporter whose state is dropped (not the one whose datagram caused
 * it), totals that survive evictions, and the exporter table under a
 * flood of spoofed source addresses. Counting, never timing.
 */
#include <stdlib.h>

#include "helper.h"
#include "test.h"

/* datagrams that earn an exporter its place, 5 s apart (parser-private.h) */
#define EARN 8

static struct sink s;
static struct dgram *d;

static struct parser *
fresh(const struct parser_limits *l)
{
	sink_reset(&s);
	return parser_new(l, &sink_ops, &s);
}

/* exporters 10.0.x.y */
static struct parser_source
from(uint32_t n, int64_t ms)
{
	return source4(10, 0, (uint8_t)(n >> 8), (uint8_t)n, ms);
}

static void
feed_from(struct parser *p, uint32_t n, int64_t ms)
{
	struct parser_source src = from(n, ms);

	parser_feed(p, d->b, d->len, &src);
}

static void
field(uint16_t id, uint16_t len)
{
	put_field(d, id, len);
}

/* sourceIPv4Address, destinationIPv4Address, octetDeltaCount,
 * packetDeltaCount */
static void
tmpl(uint16_t id)
{
	size_t at = set_begin(d, 2);

	put16(d, id);
	put16(d, 4);
	field(8, 4);
	field(12, 4);
	field(1, 4);
	field(2, 4);
	set_end(d, at);
}

static void
data(uint16_t id, uint32_t bytes, uint32_t packets)
{
	size_t at = set_begin(d, id);

	put32(d, 0xc0000201);
	put32(d, 0xc0000202);
	put32(d, bytes);
	put32(d, packets);
	set_end(d, at);
}

/* The counters of the exporter 10.0.x.y, NULL when the parser has none. */
static const struct parser_counters *
counters(const struct parser *p, uint32_t n)
{
	struct parser_source src = from(n, 0);

	for (const struct parser_exporter *e = parser_exporter_first(p);
	    e != NULL; e = parser_exporter_next(p, e))
		if (memcmp(parser_exporter_addr(e), &src.addr,
		    sizeof(src.addr)) == 0)
			return parser_exporter_counters(e);
	return NULL;
}

static uint64_t
drops_of(const struct parser *p, uint32_t n, enum parser_drop why)
{
	const struct parser_counters *k = counters(p, n);

	return k ? k->drops[why] : ~(uint64_t)0;
}

static void
test_counters(void)
{
	struct parser *p = fresh(NULL);
	const struct parser_counters *k;
	struct parser_counters t;
	size_t len;

	ipfix_begin(d, 1700000000, 0, 1);
	tmpl(256);
	data(256, 100, 3);
	data(256, 200, 4);
	ipfix_end(d);
	len = d->len;
	feed_from(p, 1, 1000);
	/* sequence: 2 records at 0, so 2 expected; 5 means 3 lost */
	ipfix_begin(d, 1700000000, 5, 1);
	data(256, 1, 1);
	ipfix_end(d);
	len += d->len;
	feed_from(p, 1, 2000);
	k = counters(p, 1);
	CHECK(k != NULL);
	if (k == NULL)
		return;
	CHECK_EQ_U(k->datagrams, 2);
	CHECK_EQ_U(k->bytes, len);
	CHECK_EQ_U(k->flows, 3);
	CHECK_EQ_U(k->packets, 8);
	CHECK_EQ_U(k->lost, 3);
	CHECK_EQ_U(k->last_ms, 2000);
	CHECK_EQ_U(s.lost, 3);
	CHECK_EQ_U(parser_lost_total(p), 3);
	CHECK_EQ_U(parser_exporter_count(p), 1);
	/* a datagram that is no NetFlow at all still counts for its sender */
	d->len = 0;
	put16(d, 42);
	feed_from(p, 2, 3000);
	CHECK_EQ_U(drops_of(p, 2, PARSER_DROP_VERSION), 1);
	CHECK_EQ_U(drops_of(p, 1, PARSER_DROP_VERSION), 0);
	parser_totals(p, &t);
	CHECK_EQ_U(t.datagrams, 3);
	CHECK_EQ_U(t.flows, 3);
	CHECK_EQ_U(t.lost, 3);
	CHECK_EQ_U(t.drops[PARSER_DROP_VERSION], 1);
	parser_free(p);
}

/* Exporter 1's template evicted to make room for exporter 2's is 1's
 * loss, although 2's datagram was being decoded. */
static void
test_template_eviction(void)
{
	struct parser_limits l = { .max_templates = 2 };
	struct parser *p = fresh(&l);

	ipfix_begin(d, 1700000000, 0, 1);
	tmpl(256);
	tmpl(257);
	ipfix_end(d);
	feed_from(p, 1, 1000);
	ipfix_begin(d, 1700000000, 0, 1);
	tmpl(258);
	ipfix_end(d);
	feed_from(p, 2, 1001);
	CHECK_EQ_U(s.drops[PARSER_DROP_TEMPLATE_EVICTED], 1);
	CHECK_EQ_U(drops_of(p, 1, PARSER_DROP_TEMPLATE_EVICTED), 1);
	CHECK_EQ_U(drops_of(p, 2, PARSER_DROP_TEMPLATE_EVICTED), 0);
	parser_free(p);
}

/* Held data pushed out by another exporter's, or aged out by the timer,
 * is charged to the exporter that sent it. */
static void
test_held_attribution(void)
{
	/* room for one held set (of about 150 bytes), not two */
	struct parser_limits l = { .max_held_bytes = 200,
	    .max_exporter_held_bytes = 200 };
	struct parser *p = fresh(&l);
	struct parser_counters t;

	ipfix_begin(d, 1700000000, 0, 1);
	data(300, 1, 1);
	ipfix_end(d);
	feed_from(p, 1, 1000);
	CHECK_EQ_U(parser_held_count(p), 1);
	feed_from(p, 2, 1001);
	CHECK_EQ_U(parser_held_count(p), 1);
	CHECK_EQ_U(drops_of(p, 1, PARSER_DROP_HELD_OVERFLOW), 1);
	CHECK_EQ_U(drops_of(p, 2, PARSER_DROP_HELD_OVERFLOW), 0);
	/* the timer, between datagrams */
	parser_expire(p, 1001 + 30000);
	CHECK_EQ_U(parser_held_count(p), 0);
	CHECK_EQ_U(drops_of(p, 2, PARSER_DROP_HELD_EXPIRED), 1);
	CHECK_EQ_U(drops_of(p, 1, PARSER_DROP_HELD_EXPIRED), 0);
	parser_totals(p, &t);
	CHECK_EQ_U(t.drops[PARSER_DROP_HELD_EXPIRED], 1);
	CHECK_EQ_U(t.drops[PARSER_DROP_HELD_OVERFLOW], 1);
	parser_free(p);
}

/* What an evicted exporter counted stays in the totals. */
static void
test_totals_survive(void)
{
	struct parser_limits l = { .max_exporters = 2 };
	struct parser *p = fresh(&l);
	struct parser_counters t;

	for (uint32_t n = 1; n <= 3; n++) {
		ipfix_begin(d, 1700000000, 0, 1);
		tmpl(256);
		data(256, 1, 1);
		ipfix_end(d);
		feed_from(p, n, 1000 + n);
	}
	CHECK_EQ_U(parser_exporter_count(p), 2);
	CHECK(counters(p, 1) == NULL);
	CHECK_EQ_U(s.drops[PARSER_DROP_EXPORTER_EVICTED], 1);
	/* its template went with it, charged to it */
	CHECK_EQ_U(s.drops[PARSER_DROP_TEMPLATE_EVICTED], 1);
	parser_totals(p, &t);
	CHECK_EQ_U(t.datagrams, 3);
	CHECK_EQ_U(t.flows, 3);
	CHECK_EQ_U(t.drops[PARSER_DROP_EXPORTER_EVICTED], 1);
	CHECK_EQ_U(t.drops[PARSER_DROP_TEMPLATE_EVICTED], 1);
	CHECK_EQ_U(drops_of(p, 2, PARSER_DROP_TEMPLATE_EVICTED), 0);
	CHECK_EQ_U(drops_of(p, 3, PARSER_DROP_TEMPLATE_EVICTED), 0);
	parser_free(p);
}

/* Real exporters (templates, then data every round) among 3,000 spoofed
 * addresses sending data for templates they never announce: the spoofed
 * ones only push each other out, every real record is decoded. */
static void
test_spoofing(void)
{
	struct parser_limits l = { .max_exporters = 64 };
	struct parser *p = fresh(&l);
	const uint32_t real = 20, spoofed = 3000, rounds = 10;
	size_t budget = parser_memory_budget(&l), peak = 0;

	for (uint32_t n = 0; n < real; n++) {
		ipfix_begin(d, 1700000000, 0, 1);
		tmpl(256);
		ipfix_end(d);
		feed_from(p, n, 1000);
	}
	for (uint32_t r = 0; r < rounds; r++) {
		for (uint32_t i = 0; i < spoofed; i++) {
			ipfix_begin(d, 1700000000, i, 1);
			data(300 + i % 7, 1, 1);
			ipfix_end(d);
			feed_from(p, 1000 + r * spoofed + i, 2000 + r);
			if (parser_memory_usage(p) > peak)
				peak = parser_memory_usage(p);
		}
		for (uint32_t n = 0; n < real; n++) {
			ipfix_begin(d, 1700000000, r, 1);
			data(256, 1, 1);
			ipfix_end(d);
			feed_from(p, n, 2000 + r);
		}
	}
	CHECK_EQ_U(s.nrec < SINK_MAX_RECORDS ? s.nrec : real * rounds,
	    real * rounds);
	for (uint32_t n = 0; n < real; n++) {
		const struct parser_counters *k = counters(p, n);

		CHECK(k != NULL);
		if (k != NULL)
			CHECK_EQ_U(k->flows, rounds);
	}
	CHECK(s.drops[PARSER_DROP_EXPORTER_EVICTED] >=
	    rounds * spoofed - l.max_exporters);
	CHECK(peak <= budget);
	parser_free(p);

	/* a table full of established exporters: a newcomer evicts one of
	 * them, then only pushes out newcomers */
	l.max_exporters = 8;
	p = fresh(&l);
	for (uint32_t n = 0; n < 8; n++) {
		ipfix_begin(d, 1700000000, 0, 1);
		tmpl(256);
		ipfix_end(d);
		feed_from(p, n, 1000 + n);
	}
	for (uint32_t i = 0; i < 100; i++) {
		ipfix_begin(d, 1700000000, 0, 1);
		ipfix_end(d);
		feed_from(p, 5000 + i, 2000);
	}
	CHECK_EQ_U(s.drops[PARSER_DROP_EXPORTER_EVICTED], 100);
	CHECK(counters(p, 0) == NULL);  /* the least recently heard */
	for (uint32_t n = 1; n < 8; n++)
		CHECK(counters(p, n) != NULL);
	parser_free(p);
}

/* 10.0.0.1 from source port port */
static void
feed_port(struct parser *p, uint16_t port, int64_t ms)
{
	struct parser_source src = from(1, ms);

	src.port = port;
	parser_feed(p, d->b, d->len, &src);
}

/* An interface-name options template (500) and its record, ifindex 3 */
static void
ifname_options(const char *name)
{
	size_t at = set_begin(d, 3);

	put16(d, 500);
	put16(d, 2);
	put16(d, 1);
	field(10, 4);
	field(82, 0xffff);
	set_end(d, at);
	at = set_begin(d, 500);
	put32(d, 3);
	put8(d, (uint8_t)strlen(name));
	putbytes(d, name, strlen(name));
	set_end(d, at);
}

/* template id: sourceIPv4Address, destinationIPv4Address,
 * ingressInterface, octetDeltaCount (wide: 8 bytes when wide) */
static void
tmpl_if(uint16_t id, bool wide)
{
	size_t at = set_begin(d, 2);

	put16(d, id);
	put16(d, 4);
	field(8, 4);
	field(12, 4);
	field(10, 4);
	field(1, wide ? 8 : 4);
	set_end(d, at);
}

static void
data_if(uint16_t id, bool wide, uint32_t bytes)
{
	size_t at = set_begin(d, id);

	put32(d, 0xc0000201);
	put32(d, 0xc0000202);
	put32(d, 3);
	if (wide)
		put64(d, bytes);
	else
		put32(d, bytes);
	set_end(d, at);
}

static bool
named(const struct sink_record *r, const char *name)
{
	const struct sink_field *x = sink_named(r, "in_if_name");

	return x != NULL && x->f.len == strlen(name) &&
	    memcmp(x->data, name, x->f.len) == 0;
}

/* Two exporter processes on one address (softflowd and pmacctd): each
 * source port is a session of its own: templates, interface names and
 * sequence numbers apart, counters added up per address. */
static void
test_sessions(void)
{
	struct parser *p = fresh(NULL);
	const struct parser_counters *k;

	/* A (port 1000): names and a 4-byte octet count */
	ipfix_begin(d, 1700000000, 0, 1);
	ifname_options("eth3");
	tmpl_if(256, false);
	data_if(256, false, 111);
	ipfix_end(d);
	feed_port(p, 1000, 1000);
	/* B (port 2000), same domain id and template id, 8-byte count */
	ipfix_begin(d, 1700000000, 0, 1);
	tmpl_if(256, true);
	data_if(256, true, 222);
	ipfix_end(d);
	feed_port(p, 2000, 1001);
	/* interleaved, each its own sequence: A at 2, B at 1 */
	for (uint32_t i = 0; i < 10; i++) {
		ipfix_begin(d, 1700000000, 2 + i, 1);
		data_if(256, false, 111);
		ipfix_end(d);
		feed_port(p, 1000, 1002 + i);
		ipfix_begin(d, 1700000000, 1 + i, 1);
		data_if(256, true, 222);
		ipfix_end(d);
		feed_port(p, 2000, 1002 + i);
	}
	CHECK_EQ_U(s.nrec, 1 + 1 + 1 + 20);
	for (size_t i = 0; i < s.nrec; i++) {
		const struct sink_record *r = &s.recs[i];

		if (r->rec.kind != FLOW_KIND_DATA)
			continue;
		if (r->src.port == 1000) {
			CHECK_EQ_U(r->rec.num[FLOW_BYTES], 111);
			CHECK(named(r, "eth3"));
		} else {
			CHECK_EQ_U(r->rec.num[FLOW_BYTES], 222);
			CHECK(sink_named(r, "in_if_name") == NULL);
		}
	}
	CHECK_EQ_U(parser_lost_total(p), 0);
	CHECK_EQ_U(sink_total_drops(&s), 0);
	k = counters(p, 1);
	CHECK(k != NULL);
	if (k != NULL) {
		/* one exporter (address) in the counters */
		CHECK_EQ_U(k->datagrams, 22);
		CHECK_EQ_U(k->flows, 23);
		CHECK_EQ_U(k->lost, 0);
		CHECK_EQ_U(k->resets, 0);
		CHECK_EQ_U(k->borrowed, 0);
	}
	CHECK_EQ_U(parser_exporter_count(p), 1);
	parser_free(p);
}

/* An exporter that comes back from a new source port with data for a
 * template it announced from the old one: taken over when unambiguous
 * (with the old session's interface names), held otherwise. */
static void
test_port_change(void)
{
	struct parser *p = fresh(NULL);
	const struct parser_counters *k;

	ipfix_begin(d, 1700000000, 0, 1);
	ifname_options("eth3");
	tmpl_if(256, false);
	ipfix_end(d);
	feed_port(p, 1000, 1000);
	/* restarted, new port, data first: decoded at once */
	ipfix_begin(d, 1700000000, 0, 1);
	data_if(256, false, 7);
	ipfix_end(d);
	feed_port(p, 1001, 2000);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(parser_held_count(p), 0);
	if (s.nrec == 2) {
		CHECK_EQ_U(s.recs[1].rec.num[FLOW_BYTES], 7);
		CHECK(named(&s.recs[1], "eth3"));
	}
	k = counters(p, 1);
	CHECK(k != NULL && k->borrowed == 1);
	/* its sequence is a new one: nothing lost, no reset either */
	CHECK_EQ_U(parser_lost_total(p), 0);
	CHECK(k != NULL && k->resets == 0);

	/* a second exporter with template 256 of its own (port 2000):
	 * a third port's data for 256 is ambiguous and waits */
	ipfix_begin(d, 1700000000, 0, 1);
	tmpl_if(256, true);
	ipfix_end(d);
	feed_port(p, 2000, 3000);
	ipfix_begin(d, 1700000000, 0, 1);
	data_if(256, true, 9);
	ipfix_end(d);
	feed_port(p, 3000, 3001);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(parser_held_count(p), 1);
	/* ... until its own template comes */
	ipfix_begin(d, 1700000000, 1, 1);
	tmpl_if(256, true);
	ipfix_end(d);
	feed_port(p, 3000, 3002);
	CHECK_EQ_U(s.nrec, 3);
	CHECK_EQ_U(parser_held_count(p), 0);
	if (s.nrec == 3) {
		CHECK_EQ_U(s.recs[2].rec.num[FLOW_BYTES], 9);
		CHECK(sink_named(&s.recs[2], "in_if_name") == NULL);
	}

	/* a session that announced a template of its own is another
	 * process: it takes over nothing */
	ipfix_begin(d, 1700000000, 0, 2);
	tmpl_if(300, false);
	ipfix_end(d);
	feed_port(p, 4000, 4000);
	ipfix_begin(d, 1700000000, 0, 2);
	tmpl_if(301, false);
	data_if(300, false, 1);
	ipfix_end(d);
	feed_port(p, 5000, 4001);
	CHECK_EQ_U(s.nrec, 3);
	CHECK_EQ_U(parser_held_count(p), 1);
	k = counters(p, 1);
	CHECK(k != NULL && k->borrowed == 1);

	/* the other way round: data waiting on one port (which announced
	 * nothing) for the template another port then brings */
	ipfix_begin(d, 1700000000, 0, 3);
	data_if(400, false, 5);
	ipfix_end(d);
	feed_port(p, 7000, 5000);
	CHECK_EQ_U(parser_held_count(p), 2);
	ipfix_begin(d, 1700000000, 0, 3);
	tmpl_if(400, false);
	ipfix_end(d);
	feed_port(p, 7001, 5001);
	CHECK_EQ_U(parser_held_count(p), 1);
	CHECK_EQ_U(s.nrec, 4);
	if (s.nrec == 4) {
		CHECK_EQ_U(s.recs[3].rec.num[FLOW_BYTES], 5);
		CHECK_EQ_U(s.recs[3].src.port, 7000);
	}
	k = counters(p, 1);
	CHECK(k != NULL && k->borrowed == 2);
	parser_free(p);
}

/* v9 from one session: what each sequence number counts as. */
static void
test_sequence_rules(void)
{
	static const struct {
		uint32_t seq, lost, resets;
		const char *what;
	} steps[] = {
		{ 1, 0, 0, "first" },
		{ 2, 0, 0, "next" },
		{ 5, 2, 0, "two lost" },
		{ 3, 0, 0, "late" },
		{ 6, 0, 0, "after the late one" },
		{ 3000000, 0, 1, "far ahead: a new session" },
		{ 7, 0, 1, "far behind again: a restart" },
		{ 8, 0, 0, "continues" },
		{ 1000, 0, 0, "a jump: waits for the next" },
		{ 9, 0, 1, "the old sequence goes on: the jump was a stray" },
		{ 10, 0, 0, "continues" },
		{ 100, 0, 0, "a jump" },
		{ 101, 89, 0, "confirmed: the jump was loss" },
		{ 102, 0, 0, "continues" },
		{ 5000, 0, 0, "a jump" },
		{ 70000, 0, 1, "neither: restart" },
		{ 70001, 0, 0, "continues" },
		{ 0, 0, 1, "back to a small number: a restarted exporter" },
		{ 1, 0, 0, "continues" },
		{ 0xfffffff0u, 0, 0, "18 behind (modulo 2^32): late" },
		{ 0xc0000000u, 0, 1, "far" },
		{ 0xfffffff0u, 0, 1, "far again" },
		{ 0xfffffff1u, 0, 0, "continues" },
		{ 3, 17, 0, "loss across the wrap" },
	};
	struct parser *p = fresh(NULL);
	uint64_t lost = 0, resets = 0;
	struct parser_counters t;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		v9_begin(d, 0, 1, 1700000000, steps[i].seq, 0);
		feed_from(p, 1, 1000 + (int64_t)i);
		if (s.last_pkt.lost != steps[i].lost ||
		    s.last_pkt.resets != steps[i].resets)
			fprintf(stderr, "step %zu (%s): lost %u resets %u\n", i,
			    steps[i].what, s.last_pkt.lost, s.last_pkt.resets);
		CHECK_EQ_U(s.last_pkt.lost, steps[i].lost);
		CHECK_EQ_U(s.last_pkt.resets, steps[i].resets);
		lost += steps[i].lost;
		resets += steps[i].resets;
	}
	parser_totals(p, &t);
	CHECK_EQ_U(t.lost, lost);
	CHECK_EQ_U(t.resets, resets);
	CHECK_EQ_U(parser_lost_total(p), lost);
	parser_free(p);
}

static void
v5_begin(struct dgram *g, uint16_t count, uint32_t uptime, uint32_t secs,
    uint32_t nsecs, uint32_t seq)
{
	g->len = 0;
	put16(g, 5);
	put16(g, count);
	put32(g, uptime);
	put32(g, secs);
	put32(g, nsecs);
	put32(g, seq);
	put32(g, 0);    /* engine type and id, sampling */
}

static void
v5_record(struct dgram *g)
{
	put32(g, 0x0a000001);
	put32(g, 0x0a000002);
	for (int i = 0; i < 10; i++)
		put32(g, i == 3 || i == 4 ? 99000 : 0);
}

/*
 * Issue 24: flow_record.unproven, what fair shedding groups by. An
 * exporter proves its address by a datagram that continues an earlier
 * one's sequence, or decodes data with a template an earlier one stored;
 * until then (and a spoofer whose every datagram starts over never
 * does) its records are unproven.
 */
/* One IPFIX message of exporter 3 with template 256's data, the template
 * before it when with_template. */
static void
proof_message(struct parser *p, uint32_t seq, bool with_template, int64_t ms)
{
	ipfix_begin(d, 1700000000, seq, 1);
	if (with_template)
		tmpl(256);
	data(256, 100, 1);
	ipfix_end(d);
	feed_from(p, 3, ms);
}

static void
test_proven(void)
{
	struct parser_limits l = { 0 };
	struct parser *p = fresh(&l);
	int64_t ms = 1700000000000LL;

	/* v5: the first datagram unproven, the one continuing it proven */
	v5_begin(d, 2, 1000, 1700000000, 0, 0);
	v5_record(d);
	v5_record(d);
	feed_from(p, 1, ms);
	CHECK_EQ_U(s.nrec, 2);
	CHECK(s.recs[0].rec.unproven && s.recs[1].rec.unproven);
	/* a datagram of another address that starts over each time */
	v5_begin(d, 1, 1000, 1700000000, 0, 1000);
	v5_record(d);
	feed_from(p, 2, ms);
	v5_begin(d, 1, 1000, 1700000000, 0, 0x80000000u);
	v5_record(d);
	feed_from(p, 2, ms);
	v5_begin(d, 1, 1000, 1700000000, 0, 7);
	v5_record(d);
	feed_from(p, 2, ms);
	CHECK_EQ_U(s.nrec, 5);
	for (size_t i = 2; i < 5; i++)
		CHECK(s.recs[i].rec.unproven);
	v5_begin(d, 1, 1000, 1700000000, 0, 2);
	v5_record(d);
	feed_from(p, 1, ms);
	CHECK_EQ_U(s.nrec, 6);
	CHECK(!s.recs[5].rec.unproven);
	/* IPFIX: template and data in one message prove nothing (a spoofer
	 * can send both each time); data with the earlier template does,
	 * even with a sequence number that starts over */
	proof_message(p, 0, true, ms);
	CHECK_EQ_U(s.nrec, 7);
	CHECK(s.recs[6].rec.unproven);
	/* the same template again, with data: still nothing proven */
	proof_message(p, 0x50000000u, true, ms);
	CHECK_EQ_U(s.nrec, 8);
	CHECK(s.recs[7].rec.unproven);
	proof_message(p, 0x90000000u, false, ms);
	proof_message(p, 0x10000000u, false, ms);
	CHECK_EQ_U(s.nrec, 10);
	/* (proven after the datagram that proves it) */
	CHECK(s.recs[8].rec.unproven);
	CHECK(!s.recs[9].rec.unproven);
	parser_free(p);
}

/* A stream of v5 datagrams (30 flows each) with a forged datagram of a
 * random sequence number after each: never more loss than the strays
 * that land within 64 datagrams' worth could claim (none, with random
 * numbers), and every stray counted as a reset. */
static void
test_forged_sequences(void)
{
	struct parser *p = fresh(NULL);
	struct parser_counters t;
	uint64_t x = 88172645463325252ULL;
	const uint32_t n = 20000;

	for (uint32_t i = 0; i < n; i++) {
		v5_begin(d, 30, 100000, 1700000000, 0, i * 30);
		for (int r = 0; r < 30; r++)
			v5_record(d);
		feed_from(p, 1, 1000 + i);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v5_begin(d, 30, 100000, 1700000000, 0, (uint32_t)x);
		for (int r = 0; r < 30; r++)
			v5_record(d);
		feed_from(p, 1, 1000 + i);
	}
	parser_totals(p, &t);
	CHECK_EQ_U(t.lost, 0);
	CHECK(t.resets >= n);
	CHECK(t.resets <= 2 * n);
	parser_free(p);
}

/* The attack of issue 25: 3,000 spoofed addresses, each with one valid
 * template per datagram, 5,000 datagrams/s for 20 s, against a router
 * that has sent 2 datagrams/s for a minute: the router keeps its state
 * (every record decoded, nothing charged to it), the spoofers push out
 * only each other. */
static void
test_template_spoofing(void)
{
	struct parser *p = fresh(NULL);
	const struct parser_counters *k;
	uint32_t seq = 0, router_flows = 0, router = 70000;
	int64_t ms = 1000;
	size_t before;

	for (int i = 0; i < 120; i++, ms += 500) {
		ipfix_begin(d, 1700000000, seq, 1);
		if (i % 20 == 0)
			tmpl(256);
		data(256, 1, 1);
		ipfix_end(d);
		feed_from(p, router, ms);
		seq++;
		router_flows++;
	}
	k = counters(p, router);
	CHECK(k != NULL);
	before = s.nrec;
	/* 100,000 spoofed datagrams, 2 per ms (10 s), then 1 per 0.2 ms */
	for (uint32_t i = 0; i < 100000; i++) {
		int64_t at = ms + i / 5;

		ipfix_begin(d, 1700000000, 0, 1);
		tmpl(256);
		ipfix_end(d);
		feed_from(p, i % 3000, at);
		/* the router, every 500 ms: templates every 20 datagrams */
		if (i % 2500 == 2499) {
			ipfix_begin(d, 1700000000, seq, 1);
			if (i % 50000 == 49999)
				tmpl(256);
			data(256, 1, 1);
			ipfix_end(d);
			feed_from(p, router, at);
			seq++;
			router_flows++;
		}
	}
	k = counters(p, router);
	CHECK(k != NULL);
	if (k != NULL) {
		CHECK_EQ_U(k->flows, router_flows);
		CHECK_EQ_U(k->drops[PARSER_DROP_EXPORTER_EVICTED], 0);
		CHECK_EQ_U(k->drops[PARSER_DROP_TEMPLATE_EVICTED], 0);
		CHECK_EQ_U(k->drops[PARSER_DROP_HELD_EXPIRED], 0);
		CHECK_EQ_U(k->lost, 0);
		CHECK(!parser_exporter_evicted(parser_exporter_first(p)));
	}
	CHECK(parser_exporter_established(parser_exporter_first(p)));
	/* the spoofers' datagrams had templates only */
	CHECK_EQ_U(s.nrec - before, 40);
	CHECK(s.drops[PARSER_DROP_EXPORTER_EVICTED] > 90000);
	parser_free(p);
}

/* An established exporter evicted anyway (more established exporters
 * than max_exporters) keeps its counters: /metrics never goes back. */
static void
test_husk(void)
{
	struct parser_limits l = { .max_exporters = 2 };
	struct parser *p = fresh(&l);
	const struct parser_counters *k;
	struct parser_counters t;

	for (uint32_t n = 1; n <= 2; n++)
		for (int i = 0; i < EARN; i++) {
			ipfix_begin(d, 1700000000, (uint32_t)i, 1);
			tmpl(256);
			data(256, 1, 1);
			ipfix_end(d);
			feed_from(p, n, 1000 + i * 5000);
		}
	/* a third: 1 is the least recently heard */
	ipfix_begin(d, 1700000000, 0, 1);
	tmpl(256);
	ipfix_end(d);
	feed_from(p, 3, 100000);
	k = counters(p, 1);
	CHECK(k != NULL);
	if (k != NULL)
		CHECK_EQ_U(k->flows, EARN);
	CHECK_EQ_U(drops_of(p, 1, PARSER_DROP_EXPORTER_EVICTED), 1);
	CHECK_EQ_U(parser_exporter_count(p), 2);
	/* it comes back: its counters go on */
	ipfix_begin(d, 1700000000, 0, 1);
	tmpl(256);
	data(256, 1, 1);
	ipfix_end(d);
	feed_from(p, 1, 100001);
	k = counters(p, 1);
	CHECK(k != NULL);
	if (k != NULL) {
		CHECK_EQ_U(k->flows, EARN + 1);
		CHECK_EQ_U(k->datagrams, EARN + 1);
	}
	parser_totals(p, &t);
	CHECK_EQ_U(t.flows, 2 * EARN + 1);
	CHECK_EQ_U(t.datagrams, 2 * EARN + 2);
	parser_free(p);
}

/* 4,096 exporters whose data arrives before their template: with
 * max_exporters and the held budget sized for them (README), every
 * record is decoded; with the defaults, exporters thrash. */
static uint64_t
many_exporters(const struct parser_limits *l, uint32_t n)
{
	struct parser *p = fresh(l);
	struct parser_counters t;

	for (uint32_t i = 0; i < n; i++) {
		ipfix_begin(d, 1700000000, 0, 1);
		data(256, 1, 1);
		ipfix_end(d);
		feed_from(p, i, 1000);
	}
	for (uint32_t i = 0; i < n; i++) {
		ipfix_begin(d, 1700000000, 1, 1);
		tmpl(256);
		ipfix_end(d);
		feed_from(p, i, 2000);
	}
	parser_totals(p, &t);
	CHECK(parser_memory_usage(p) <= parser_memory_budget(l));
	parser_free(p);
	return t.flows;
}

static void
test_sizing(void)
{
	struct parser_limits l = { .max_exporters = 4096 };

	CHECK_EQ_U(many_exporters(&l, 4096), 4096);
	CHECK(many_exporters(NULL, 4096) < 4096);
}

int
main(void)
{
	sink_init(&s);
	d = calloc(1, sizeof(*d));
	test_proven();
	test_counters();
	test_template_eviction();
	test_held_attribution();
	test_totals_survive();
	test_spoofing();
	test_sizing();
	test_sessions();
	test_port_change();
	test_sequence_rules();
	test_forged_sequences();
	test_template_spoofing();
	test_husk();
	free(d);
	sink_finish(&s);
	return test_result("parser-exporters");
}
