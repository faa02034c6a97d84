/*
 * Unit tests of the cursor and the v1/v5/v7, v9 and IPFIX decoders against
 * the shared vectors (tests/parser/vectors/, expected values from
 * /work/shared/vectors/python-netflow-test-packets.md) and malformed input.
 */
#include <stdlib.h>

#include "cursor.h"
#include "helper.h"
#include "test.h"

static const char *vdir;
static struct sink s;

static struct parser *
fresh(void)
{
	sink_reset(&s);
	return parser_new(NULL, &sink_ops, &s);
}

static size_t
feed_hex(struct parser *p, const char *name, int64_t ms)
{
	static uint8_t buf[65536];
	size_t len = hex_file(vdir, name, buf, sizeof(buf));
	struct parser_source src = source4(127, 0, 0, 1, ms);

	CHECK(len > 0);
	return parser_feed(p, buf, len, &src);
}

static const uint8_t *
addr4(const struct sink_record *r, enum flow_addr_key k)
{
	return r->rec.addr[k].bytes;
}

static void
test_cursor(void)
{
	static const uint8_t b[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const struct { size_t len; bool ok; uint64_t v; } cases[] = {
		{ 0, false, 0 }, { 1, true, 0x01 }, { 2, true, 0x0102 },
		{ 3, true, 0x010203 }, { 5, true, 0x0102030405 },
		{ 7, true, 0x01020304050607 }, { 8, true, 0x0102030405060708 },
		{ 9, false, 0 },
	};
	struct cursor c, sub;
	uint64_t v;
	uint16_t v16 = 0xbeef;
	const uint8_t *p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cursor_init(&c, b, sizeof(b));
		v = 0xdead;
		CHECK_EQ_U(cursor_uint(&c, cases[i].len, &v), cases[i].ok);
		CHECK_EQ_U(v, cases[i].ok ? cases[i].v : 0xdead);
		CHECK_EQ_U(cursor_left(&c), sizeof(b) - (cases[i].ok ? cases[i].len : 0));
	}
	/* short reads leave output and position alone */
	cursor_init(&c, b, 1);
	CHECK(!cursor_u16(&c, &v16));
	CHECK_EQ_U(v16, 0xbeef);
	CHECK_EQ_U(cursor_left(&c), 1);
	CHECK(!cursor_skip(&c, 2));
	CHECK(!cursor_take(&c, 2, &p));
	CHECK(cursor_skip(&c, 1));
	CHECK_EQ_U(cursor_left(&c), 0);
	/* a sub-cursor moves the parent past the whole region */
	cursor_init(&c, b, sizeof(b));
	CHECK(cursor_sub(&c, 4, &sub));
	CHECK_EQ_U(cursor_left(&c), 5);
	CHECK_EQ_U(cursor_left(&sub), 4);
	CHECK(!cursor_sub(&c, 6, &sub));
	CHECK_EQ_U(cursor_left(&c), 5);
	cursor_init(&c, NULL, 10);
	CHECK_EQ_U(cursor_left(&c), 0);
	cursor_init(&c, (const uint8_t[]){ 0, 0, 0 }, 3);
	CHECK(cursor_all_zero(&c));
	cursor_init(&c, b, 2);
	CHECK(!cursor_all_zero(&c));
}

static void
test_v1_v5(void)
{
	struct parser *p = fresh();

	CHECK_EQ_U(feed_hex(p, "packet_v1", 1000), 2);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(s.recs[0].rec.version, 1);
	CHECK(memcmp(addr4(&s.recs[0], FLOW_SRC_ADDR), "\xac\x11\x00\x02", 4) == 0);
	CHECK(memcmp(addr4(&s.recs[0], FLOW_DST_ADDR), "\xac\x11\x00\x01", 4) == 0);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_PACKETS], 10);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_BYTES], 840);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_PROTO], 1);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_ICMP_TYPE], 8);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_ICMP_CODE], 0);
	/* export 1585496876.802, uptime 71835, first 10183, last 19185 */
	CHECK_EQ_U(s.recs[0].rec.start_ms, 1585496876802LL - (71835 - 10183));
	CHECK_EQ_U(s.recs[0].rec.end_ms, 1585496876802LL - (71835 - 19185));
	CHECK_EQ_U(s.recs[1].rec.num[FLOW_ICMP_TYPE], 0);
	CHECK_EQ_U(s.recs[1].rec.has_domain, 0);

	sink_reset(&s);
	CHECK_EQ_U(feed_hex(p, "packet_v5", 1000), 3);
	CHECK_EQ_U(s.nrec, 3);
	CHECK_EQ_U(s.recs[0].rec.version, 5);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_DST_PORT], 2048);
	CHECK_EQ_U(s.recs[0].rec.start_ms, 1585497478581LL - (227747 - 12108));
	CHECK_EQ_U(s.recs[2].rec.num[FLOW_SRC_PORT], 5353);
	CHECK_EQ_U(s.recs[2].rec.num[FLOW_DST_PORT], 5353);
	CHECK_EQ_U(s.recs[2].rec.num[FLOW_PROTO], 17);
	CHECK_EQ_U(s.recs[2].rec.num[FLOW_BYTES], 169);
	CHECK(memcmp(addr4(&s.recs[2], FLOW_DST_ADDR), "\xe0\x00\x00\xfb", 4) == 0);
	CHECK(!(s.recs[2].rec.has_num & 1u << FLOW_SAMPLING_INTERVAL));
	CHECK_EQ_U(sink_total_drops(&s), 0);
	parser_free(p);
}

/* A v5 datagram of n records; count may lie. */
static void
v5_build(struct dgram *d, uint16_t count, size_t n, uint32_t uptime,
    uint32_t seq, uint16_t sampling, uint32_t first, uint32_t last)
{
	d->len = 0;
	put16(d, 5);
	put16(d, count);
	put32(d, uptime);
	put32(d, 1700000000);
	put32(d, 0);
	put32(d, seq);
	put8(d, 1);
	put8(d, 2);
	put16(d, sampling);
	for (size_t i = 0; i < n; i++) {
		put32(d, 0x0a000001);
		put32(d, 0x0a000002);
		put32(d, 0);
		put16(d, 1);
		put16(d, 2);
		put32(d, 3);
		put32(d, 300);
		put32(d, first);
		put32(d, last);
		put16(d, 1234);
		put16(d, 80);
		put8(d, 0);
		put8(d, 0x12);
		put8(d, 6);
		put8(d, 0);
		put16(d, 64512);
		put16(d, 64513);
		put8(d, 24);
		put8(d, 16);
		put16(d, 0);
	}
}

static void
test_v5_cases(void)
{
	static const struct {
		const char *what;
		uint16_t count;
		size_t n, trunc;
		size_t records;
		enum parser_drop drop;
	} cases[] = {
		{ "ok", 2, 2, 0, 2, PARSER_DROP_MAX },
		{ "count larger than datagram", 3, 2, 0, 0, PARSER_DROP_LENGTH },
		{ "count 65535", 65535, 1, 0, 0, PARSER_DROP_LENGTH },
		{ "truncated record", 2, 2, 1, 0, PARSER_DROP_LENGTH },
		{ "truncated header", 0, 0, 5, 0, PARSER_DROP_SHORT },
		{ "trailing padding", 1, 2, 0, 1, PARSER_DROP_MAX },
		{ "zero count", 0, 0, 0, 0, PARSER_DROP_MAX },
	};
	struct dgram *d = malloc(sizeof(*d));
	struct parser_source src = source4(10, 0, 0, 9, 5000);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parser *p = fresh();

		v5_build(d, cases[i].count, cases[i].n, 100000, 0, 0, 90000, 95000);
		d->len -= cases[i].trunc;
		CHECK_EQ_U(parser_feed(p, d->b, d->len, &src), cases[i].records);
		if (cases[i].drop != PARSER_DROP_MAX)
			CHECK_EQ_U(s.drops[cases[i].drop], 1);
		else
			CHECK_EQ_U(sink_total_drops(&s), 0);
		if (s.nrec != cases[i].records)
			fprintf(stderr, "case %s\n", cases[i].what);
		parser_free(p);
	}
	/* values, domain from engine type/id, sampling from the header */
	{
		struct parser *p = fresh();

		v5_build(d, 1, 1, 100000, 7, 0x4000 | 100, 90000, 95000);
		parser_feed(p, d->b, d->len, &src);
		CHECK_EQ_U(s.nrec, 1);
		CHECK_EQ_U(s.recs[0].rec.domain, 0x0102);
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_SAMPLING_INTERVAL], 100);
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_SRC_AS], 64512);
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_DST_MASK], 16);
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_TCP_FLAGS], 0x12);
		CHECK_EQ_U(s.recs[0].rec.start_ms, 1700000000000LL - 10000);
		CHECK_EQ_U(s.recs[0].rec.end_ms, 1700000000000LL - 5000);
		/* uptime wrap: export uptime small after the wrap, first and
		 * last from before it */
		sink_reset(&s);
		v5_build(d, 1, 1, 1000, 8, 0, 0xffffff00u, 0xfffffff0u);
		parser_feed(p, d->b, d->len, &src);
		CHECK_EQ_U(s.recs[0].rec.start_ms, 1700000000000LL - 1000 - 256);
		CHECK_EQ_U(s.recs[0].rec.end_ms, 1700000000000LL - 1000 - 16);
		/* sequence: v5 counts flows; 7 + 1 expected 8, now 8 + 1 =
		 * 9 expected, send 12: 3 flows lost */
		sink_reset(&s);
		v5_build(d, 1, 1, 2000, 12, 0, 1000, 1500);
		parser_feed(p, d->b, d->len, &src);
		CHECK_EQ_U(s.last_pkt.lost, 3);
		CHECK_EQ_U(parser_lost_total(p), 3);
		/* late (reordered) datagram: no loss, expectation kept */
		sink_reset(&s);
		v5_build(d, 1, 1, 2000, 10, 0, 1000, 1500);
		parser_feed(p, d->b, d->len, &src);
		CHECK_EQ_U(s.last_pkt.lost, 0);
		v5_build(d, 1, 1, 2000, 13, 0, 1000, 1500);
		parser_feed(p, d->b, d->len, &src);
		CHECK_EQ_U(s.last_pkt.lost, 0);
		/* sequence wrap */
		v5_build(d, 2, 2, 2000, 0xffffffffu, 0, 1000, 1500);
		parser_feed(p, d->b, d->len, &src);
		v5_build(d, 1, 1, 2000, 1, 0, 1000, 1500);
		parser_feed(p, d->b, d->len, &src);
		CHECK_EQ_U(s.last_pkt.lost, 0);
		parser_free(p);
	}
	/* v7: 52-byte records, no engine */
	{
		struct parser *p = fresh();

		d->len = 0;
		put16(d, 7);
		put16(d, 1);
		put32(d, 5000);
		put32(d, 1700000000);
		put32(d, 0);
		put32(d, 1);
		put32(d, 0);
		put32(d, 0xc0000201);
		put32(d, 0xc0000202);
		put32(d, 0);
		put16(d, 3);
		put16(d, 4);
		put32(d, 5);
		put32(d, 500);
		put32(d, 4000);
		put32(d, 4500);
		put16(d, 53);
		put16(d, 5353);
		put8(d, 0);
		put8(d, 0);
		put8(d, 17);
		put8(d, 0);
		put16(d, 0);
		put16(d, 0);
		put8(d, 0);
		put8(d, 0);
		put16(d, 0);
		put32(d, 0);
		CHECK_EQ_U(d->len, 24 + 52);
		CHECK_EQ_U(parser_feed(p, d->b, d->len, &src), 1);
		CHECK_EQ_U(s.recs[0].rec.version, 7);
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_DST_PORT], 5353);
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_IN_IF], 3);
		CHECK_EQ_U(parser_feed(p, d->b, d->len - 1, &src), 0);
		CHECK_EQ_U(s.drops[PARSER_DROP_LENGTH], 1);
		parser_free(p);
	}
	free(d);
}

static uint64_t
sum_bytes(void)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s.nrec; i++)
		n += s.recs[i].rec.num[FLOW_BYTES];
	return n;
}

static void
test_v9_vectors(void)
{
	struct parser *p = fresh();
	const struct sink_record *r;

	/* data before the template: held, then decoded */
	CHECK_EQ_U(feed_hex(p, "packets_v9_0", 1000), 0);
	CHECK_EQ_U(s.nrec, 0);
	CHECK_EQ_U(parser_held_count(p), 1);
	CHECK_EQ_U(sink_total_drops(&s), 0);
	CHECK_EQ_U(feed_hex(p, "packet_v9_template", 2000), 8 + 12);
	CHECK_EQ_U(parser_template_count(p), 2);
	CHECK_EQ_U(parser_held_count(p), 0);
	CHECK_EQ_U(s.nrec, 20);
	/* the template packet's own records, then the held set, decoded
	 * once the whole datagram that brought its template is, with its
	 * original receive time */
	CHECK_EQ_U(s.recs[8].rec.num[FLOW_BYTES], 328);
	CHECK_EQ_U(s.recs[8].rec.num[FLOW_PACKETS], 2);
	CHECK_EQ_U(s.recs[8].rec.num[FLOW_SRC_PORT], 53);
	CHECK_EQ_U(s.recs[8].rec.num[FLOW_DST_PORT], 60034);
	CHECK_EQ_U(s.recs[8].rec.num[FLOW_PROTO], 17);
	CHECK_EQ_U(s.recs[8].src.received_ms, 1000);
	CHECK_EQ_U(s.recs[8].rec.template_id, 1024);
	CHECK_EQ_U(s.recs[19].rec.num[FLOW_SRC_PORT], 57954);
	CHECK_EQ_U(s.recs[19].src.received_ms, 1000);
	r = &s.recs[0];
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 102416);
	CHECK_EQ_U(r->rec.num[FLOW_PACKETS], 75);
	CHECK_EQ_U(r->rec.num[FLOW_SRC_PORT], 80);
	CHECK_EQ_U(r->rec.num[FLOW_DST_PORT], 37932);
	CHECK_EQ_U(r->rec.num[FLOW_TCP_FLAGS], 27);
	CHECK_EQ_U(r->src.received_ms, 2000);
	/* uptime 3 ms, stamps from before the 2^32 wrap */
	CHECK_EQ_U(r->rec.start_ms,
	    1553946008000LL - (int64_t)(3 + 4294967296LL - 4215019773LL));
	CHECK_EQ_U(r->rec.end_ms,
	    1553946008000LL - (int64_t)(3 + 4294967296LL - 4215020202LL));
	CHECK_EQ_U(s.recs[7].rec.num[FLOW_PROTO], 17);
	CHECK_EQ_U(s.recs[7].rec.num[FLOW_DST_PORT], 53);
	/* ipVersion kept as an extra */
	CHECK_EQ_U(field_uint(sink_field(r, 0, 60, 0)), 4);
	CHECK_EQ_U(s.last_pkt.records, 20);
	sink_reset(&s);
	CHECK_EQ_U(feed_hex(p, "packets_v9_1", 3000), 12);
	CHECK_EQ_U(sum_bytes(), 435942);
	sink_reset(&s);
	CHECK_EQ_U(feed_hex(p, "packets_v9_2", 3000), 12);
	CHECK_EQ_U(sum_bytes(), 113510);
	CHECK_EQ_U(s.recs[11].rec.num[FLOW_BYTES], 1436);
	CHECK_EQ_U(sink_total_drops(&s), 0);
	/* sequence: 2, 1 (template packet, late), 3, 4: nothing lost */
	CHECK_EQ_U(parser_lost_total(p), 0);
	parser_free(p);

	p = fresh();
	CHECK_EQ_U(feed_hex(p, "packet_v9_template_mixed", 1000), 8);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_PROTO], 6);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_SRC_PORT], 80);
	CHECK_EQ_U(s.recs[7].rec.num[FLOW_DST_PORT], 53);
	CHECK_EQ_U(parser_template_count(p), 2);
	CHECK_EQ_U(s.last_pkt.records, 8);
	sink_reset(&s);
	CHECK_EQ_U(feed_hex(p, "packets_v9_0", 1000), 12);
	CHECK_EQ_U(sum_bytes(), 8843);
	parser_free(p);

	/* zero tail: terminates, nothing decoded, data held */
	p = fresh();
	CHECK_EQ_U(feed_hex(p, "packet_v9_with_zeros", 1000), 0);
	CHECK_EQ_U(s.nrec, 0);
	parser_expire(p, 1000 + 30000);
	CHECK_EQ_U(parser_held_count(p), 0);
	CHECK_EQ_U(s.drops[PARSER_DROP_HELD_EXPIRED], 5);
	sink_reset(&s);
	CHECK_EQ_U(feed_hex(p, "packet_invalid", 1000), 0);
	CHECK_EQ_U(s.drops[PARSER_DROP_VERSION], 1);
	parser_free(p);
}

static void
test_ipfix_vectors(void)
{
	struct parser *p = fresh();
	const struct sink_record *r;

	CHECK_EQ_U(feed_hex(p, "packet_ipfix", 1000), 0);
	CHECK_EQ_U(parser_held_count(p), 2);
	CHECK_EQ_U(feed_hex(p, "packet_ipfix_template", 2000), 20 + 3);
	CHECK_EQ_U(parser_template_count(p), 5);
	CHECK_EQ_U(sink_total_drops(&s), 0);
	r = &s.recs[0 + 0];
	CHECK_EQ_U(r->rec.kind, FLOW_KIND_OPTIONS);
	CHECK_EQ_U(field_uint(sink_named(r, "meteringProcessId")), 2649);
	CHECK(sink_named(r, "meteringProcessId")->f.flags & FLOW_FIELD_SCOPE);
	CHECK_EQ_U(field_uint(sink_named(r, "selectorAlgorithm")), 1);
	CHECK_EQ_U(field_uint(sink_named(r, "systemInitTimeMilliseconds")),
	    1585735165729ULL);
	r = &s.recs[0 + 1];
	CHECK_EQ_U(r->rec.kind, FLOW_KIND_DATA);
	CHECK(memcmp(addr4(r, FLOW_DST_ADDR), "\xac\x11\x00\x02", 4) == 0);
	CHECK(memcmp(addr4(r, FLOW_SRC_ADDR), "\x7f\x00\x00\x01", 4) == 0);
	CHECK_EQ_U(r->rec.num[FLOW_PROTO], 6);
	CHECK_EQ_U(r->rec.num[FLOW_SRC_PORT], 443);
	CHECK_EQ_U(r->rec.num[FLOW_DST_PORT], 57766);
	CHECK_EQ_U(r->rec.num[FLOW_TCP_FLAGS], 0x1b);
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 5575);
	CHECK_EQ_U(r->rec.num[FLOW_PACKETS], 13);
	/* sysUpTime stamps resolved with the options' system init time */
	CHECK_EQ_U(r->rec.has_start, 1);
	CHECK_EQ_U(r->rec.start_ms, 1585735165729LL + 4286502536LL);
	CHECK_EQ_U(r->rec.end_ms, 1585735165729LL + 4286502714LL);
	/* sampling: interval 1, space 0 announced: 1 in 1 */
	CHECK_EQ_U(r->rec.num[FLOW_SAMPLING_INTERVAL], 1);
	r = &s.recs[0 + 3];
	CHECK_EQ_U(r->rec.num[FLOW_ICMP_TYPE], 8);
	CHECK_EQ_U(r->rec.num[FLOW_ICMP_CODE], 0);
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 252);
	r = &s.recs[0 + 17];
	CHECK_EQ_U(r->rec.num[FLOW_PROTO], 17);
	CHECK_EQ_U(r->rec.addr[FLOW_SRC_ADDR].family, 6);
	CHECK(memcmp(r->rec.addr[FLOW_SRC_ADDR].bytes,
	    "\xfd\xe6\x6f\x14\xe0\xf1\x96\x09\x00\x00\xaf\xfe\xaf\xfe\xaf\xfe", 16) == 0);
	CHECK_EQ_U(r->rec.num[FLOW_SRC_PORT], 45543);
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 74);
	/* the held message's sets are decoded after the whole template
	 * message, in the order they came (2049's set, then 2048's), with
	 * their own receive time and the system init time that message's
	 * options data announced */
	r = &s.recs[22];
	CHECK_EQ_U(r->src.received_ms, 1000);
	CHECK_EQ_U(r->rec.template_id, 2048);
	CHECK_EQ_U(r->rec.num[FLOW_DST_PORT], 443);
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 320);
	CHECK_EQ_U(r->rec.num[FLOW_PACKETS], 4);
	CHECK_EQ_U(r->rec.num[FLOW_TCP_FLAGS], 2);
	r = &s.recs[20];
	CHECK_EQ_U(r->src.received_ms, 1000);
	CHECK_EQ_U(r->rec.template_id, 2049);
	CHECK_EQ_U(r->rec.num[FLOW_ICMP_TYPE], 0x87);
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 72);
	r = &s.recs[21];
	CHECK_EQ_U(r->rec.num[FLOW_ICMP_TYPE], 0x88);
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 64);
	for (int i = 20; i < 23; i++)
		CHECK(s.recs[i].rec.has_start && s.recs[i].rec.has_end);
	sink_reset(&s);
	CHECK_EQ_U(feed_hex(p, "packet_ipfix", 3000), 3);
	parser_free(p);

	p = fresh();
	CHECK_EQ_U(feed_hex(p, "packet_ipfix_template_ether", 1000), 14);
	CHECK_EQ_U(field_uint(sink_named(&s.recs[0], "meteringProcessId")), 9);
	CHECK_EQ_U(field_uint(sink_named(&s.recs[0], "systemInitTimeMilliseconds")),
	    759538800000ULL);
	CHECK_EQ_U(field_uint(sink_named(&s.recs[1], "sourceMacAddress")),
	    0x123456affefeULL);
	CHECK_EQ_U(field_uint(sink_named(&s.recs[1], "postDestinationMacAddress")),
	    0xaffeaffeaffeULL);
	sink_reset(&s);
	CHECK_EQ_U(feed_hex(p, "packet_ipfix_ether", 1000), 9);
	parser_free(p);

	p = fresh();
	CHECK_EQ_U(feed_hex(p, "packet_ipfix_padding", 1000), 3);
	CHECK_EQ_U(sink_total_drops(&s), 0);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_ICMP_TYPE], 8);
	CHECK_EQ_U(s.recs[1].rec.num[FLOW_ICMP_TYPE], 0);
	CHECK_EQ_U(field_uint(sink_named(&s.recs[0], "flowEndReason")), 1);
	r = &s.recs[2];
	CHECK_EQ_U(r->rec.kind, FLOW_KIND_OPTIONS);
	CHECK_EQ_U(field_uint(sink_named(r, "meteringProcessId")), 45786);
	CHECK_EQ_U(field_uint(sink_named(r, "systemInitTimeMilliseconds")),
	    1692447120686ULL);
	CHECK(memcmp(sink_named(r, "interfaceName")->data, "testcapture_sing", 16) == 0);
	parser_free(p);
}

/* Malformed v9/IPFIX: each case is one datagram (hex) into a fresh
 * parser that already knows no templates. */
static void
test_malformed(void)
{
	static const struct {
		const char *what, *hex;
		enum parser_drop drop;
	} cases[] = {
		{ "empty", "", PARSER_DROP_SHORT },
		{ "one byte", "00", PARSER_DROP_SHORT },
		{ "v9 short header", "0009000100000001", PARSER_DROP_SHORT },
		{ "v9 set length 0", "000900010000000100000001000000010000000001000000",
		    PARSER_DROP_SET_LENGTH },
		{ "v9 set length 3", "000900010000000100000001000000010000000001000003",
		    PARSER_DROP_SET_LENGTH },
		{ "v9 set length huge", "00090001000000010000000100000001000000000100ffff0000",
		    PARSER_DROP_SET_LENGTH },
		{ "v9 template id < 256", "0009000100000001000000010000000100000000"
		    "000000080010000100080004", PARSER_DROP_BAD_TEMPLATE },
		{ "v9 template truncated", "0009000100000001000000010000000100000000"
		    "0000000c0100000200080004", PARSER_DROP_BAD_TEMPLATE },
		{ "v9 template field length 0", "0009000100000001000000010000000100000000"
		    "0000000c0100000100080000", PARSER_DROP_BAD_TEMPLATE },
		{ "v9 options odd scope length", "0009000100000001000000010000000100000000"
		    "0001000e010000030004000100040000", PARSER_DROP_BAD_TEMPLATE },
		{ "v9 reserved set", "0009000100000001000000010000000100000000"
		    "00050008deadbeef", PARSER_DROP_RESERVED_SET },
		{ "ipfix short header", "000a0010000000000000", PARSER_DROP_SHORT },
		{ "ipfix length < 16", "000a000c0000000000000000000000000000", PARSER_DROP_LENGTH },
		{ "ipfix length > datagram", "000a00400000000000000000000000000000",
		    PARSER_DROP_LENGTH },
		{ "ipfix set length 0", "000a0018000000000000000000000000"
		    "0100000000000000", PARSER_DROP_SET_LENGTH },
		{ "ipfix set past message", "000a0018000000000000000000000000"
		    "0100001000000000", PARSER_DROP_SET_LENGTH },
		{ "ipfix options scope 0", "000a001e000000000000000000000000"
		    "0003000e010000010000000400040000", PARSER_DROP_BAD_TEMPLATE },
		{ "ipfix options scope > count", "000a001e000000000000000000000000"
		    "0003000e010000010002000400040000", PARSER_DROP_BAD_TEMPLATE },
		{ "ipfix enterprise field truncated", "000a001c000000000000000000000000"
		    "0002000c010000018001000400000000", PARSER_DROP_BAD_TEMPLATE },
		{ "ipfix reserved set", "000a0018000000000000000000000000"
		    "00040008deadbeef", PARSER_DROP_RESERVED_SET },
		{ "ipfix template all varlen 0 length not zero-sized",
		    "000a0018000000000000000000000000000200080100000000",
		    PARSER_DROP_MAX },
	};
	uint8_t buf[256];
	struct parser_source src = source4(192, 0, 2, 1, 1);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parser *p = fresh();
		size_t len = hex_parse(cases[i].hex, buf, sizeof(buf));

		CHECK_EQ_U(parser_feed(p, buf, len, &src), 0);
		if (cases[i].drop != PARSER_DROP_MAX &&
		    s.drops[cases[i].drop] != 1)
			fprintf(stderr, "malformed case \"%s\": %s not counted\n",
			    cases[i].what, parser_drop_name(cases[i].drop));
		if (cases[i].drop != PARSER_DROP_MAX)
			CHECK_EQ_U(s.drops[cases[i].drop], 1);
		CHECK_EQ_U(parser_template_count(p), 0);
		parser_free(p);
	}
	CHECK_STR(parser_drop_name(PARSER_DROP_HELD_EXPIRED), "held_expired");
	CHECK_STR(parser_drop_name(PARSER_DROP_MAX), "unknown");
	for (int i = 0; i < PARSER_DROP_MAX; i++)
		CHECK(parser_drop_name(i) != NULL);
}

int
main(int argc, char **argv)
{
	vdir = argc > 1 ? argv[1] : "tests/parser/vectors";
	sink_init(&s);
	test_cursor();
	test_v1_v5();
	test_v5_cases();
	test_v9_vectors();
	test_ipfix_vectors();
	test_malformed();
	sink_finish(&s);
	return test_result("parser-decode");
}
