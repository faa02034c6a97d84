/*
 * The parser's exporter object: per-exporter counters, drops charged to
 * the exporter whose state is dropped (not the one whose datagram caused
 * it), totals that survive evictions, and the exporter table under a
 * flood of spoofed source addresses. Counting, never timing.
 */
#include <stdlib.h>

#include "helper.h"
#include "test.h"

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
	test_counters();
	test_template_eviction();
	test_held_attribution();
	test_totals_survive();
	test_spoofing();
	test_sizing();
	free(d);
	sink_finish(&s);
	return test_result("parser-exporters");
}
