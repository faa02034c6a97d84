/*
 * Hand-built IPFIX and v9 vectors for what the real exporters here do not
 * send: variable-length fields (both length forms), reduced-size integers,
 * enterprise and repeated elements, biflow, every time form, withdrawal,
 * options with sampling and interface names, data ahead of its template,
 * sequence loss, and a flood of templates against the memory budget.
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

static void
feed(struct parser *p, int64_t ms)
{
	struct parser_source src = source4(198, 51, 100, 7, ms);

	parser_feed(p, d->b, d->len, &src);
}

static void
field(uint16_t id, uint16_t len)
{
	put_field(d, id, len);
}

static void
efield(uint16_t id, uint16_t len, uint32_t pen)
{
	put16(d, id | 0x8000);
	put16(d, len);
	put32(d, pen);
}

/* template 256: everything unusual in one record */
static void
rich_template(void)
{
	size_t at = set_begin(d, 2);

	put16(d, 256);
	put16(d, 13);
	field(8, 4);             /* sourceIPv4Address */
	field(12, 4);            /* destinationIPv4Address */
	field(7, 2);
	field(11, 2);
	field(4, 1);
	field(1, 3);             /* octetDeltaCount, reduced to 3 bytes */
	field(2, 5);             /* packetDeltaCount, reduced to 5 bytes */
	field(96, 0xffff);       /* applicationName, variable, short form */
	field(82, 0xffff);       /* interfaceName, variable, long form */
	efield(12235, 4, 9);     /* Cisco element */
	efield(4242, 2, 99999);  /* unknown enterprise element */
	field(136, 1);           /* flowEndReason, ... */
	field(136, 1);           /* ... repeated */
	set_end(d, at);
	at = set_begin(d, 2);
	put16(d, 257);           /* biflow: forward + reverse counters */
	put16(d, 4);
	field(1, 8);
	field(2, 4);
	efield(1, 8, 29305);     /* reverseOctetDeltaCount */
	efield(2, 4, 29305);
	set_end(d, at);
}

static void
rich_data(void)
{
	size_t at = set_begin(d, 256);

	put32(d, 0x0a000001);
	put32(d, 0x0a000002);
	put16(d, 1000);
	put16(d, 443);
	put8(d, 6);
	putn(d, 0x123456, 3);
	putn(d, 0x0100000002ULL, 5);
	put8(d, 4);
	putbytes(d, "http", 4);
	put8(d, 255);
	put16(d, 300);
	for (int i = 0; i < 300; i++)
		put8(d, 'a' + i % 26);
	put32(d, 77);
	put16(d, 0xbeef);
	put8(d, 1);
	put8(d, 3);
	put8(d, 0);              /* padding: one byte, less than a record */
	set_end(d, at);
	at = set_begin(d, 257);
	put64(d, 1000);
	put32(d, 10);
	put64(d, 5000);
	put32(d, 20);
	set_end(d, at);
}

static void
test_rich(void)
{
	struct parser *p = fresh(NULL);
	const struct sink_record *r;
	const struct sink_field *x;

	ipfix_begin(d, 1700000000, 0, 1);
	rich_template();
	rich_data();
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(sink_total_drops(&s), 0);
	r = &s.recs[0];
	CHECK_EQ_U(r->rec.version, 10);
	CHECK_EQ_U(r->rec.domain, 1);
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 0x123456);
	CHECK_EQ_U(r->rec.num[FLOW_PACKETS], 0x0100000002ULL);
	CHECK_EQ_U(r->rec.num[FLOW_DST_PORT], 443);
	x = sink_named(r, "applicationName");
	CHECK(x != NULL && x->f.len == 4 && memcmp(x->data, "http", 4) == 0);
	x = sink_named(r, "interfaceName");
	CHECK(x != NULL && x->f.len == 300 && x->data[0] == 'a' && x->data[26] == 'a');
	x = sink_field(r, 9, 12235, 0);
	CHECK(x != NULL && x->f.ie != NULL && field_uint(x) == 77);
	x = sink_field(r, 99999, 4242, 0);
	CHECK(x != NULL && x->f.ie == NULL && field_uint(x) == 0xbeef);
	CHECK_EQ_U(field_uint(sink_field(r, 0, 136, 0)), 1);
	CHECK_EQ_U(field_uint(sink_field(r, 0, 136, 1)), 3);
	r = &s.recs[1];
	CHECK_EQ_U(r->rec.num[FLOW_BYTES], 1000);
	CHECK_EQ_U(r->rec.num[FLOW_PACKETS], 10);
	x = sink_field(r, 29305, 1, 0);
	CHECK(x != NULL && (x->f.flags & FLOW_FIELD_REVERSE) &&
	    strcmp(x->name, "octetDeltaCount") == 0 && field_uint(x) == 5000);
	CHECK_EQ_U(field_uint(sink_field(r, 29305, 2, 0)), 20);

	/* a variable-length field running past its set is a bad record */
	sink_reset(&s);
	ipfix_begin(d, 1700000000, 0, 1);
	{
		size_t at = set_begin(d, 256);

		put32(d, 1);
		put32(d, 2);
		put16(d, 3);
		put16(d, 4);
		put8(d, 6);
		putn(d, 1, 3);
		putn(d, 1, 5);
		put8(d, 200);    /* claims 200 bytes */
		putbytes(d, "xyzxyzxyzxyz", 12);
		set_end(d, at);
	}
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 0);
	CHECK_EQ_U(s.drops[PARSER_DROP_BAD_RECORD], 1);
	parser_free(p);
}

/* Each time form: template 300 + n, one record. */
static void
test_times(void)
{
	static const struct {
		const char *what;
		uint16_t ids[3], lens[3];
		uint64_t vals[3];
		int64_t start, end;
	} cases[] = {
		{ "seconds", { 150, 151 }, { 4, 4 }, { 1700000000, 1700000005 },
		    1700000000000LL, 1700000005000LL },
		{ "milliseconds", { 152, 153 }, { 8, 8 },
		    { 1700000000123ULL, 1700000000456ULL },
		    1700000000123LL, 1700000000456LL },
		{ "microseconds NTP", { 154, 155 }, { 8, 8 },
		    { (1700000000ULL + 2208988800ULL) << 32 | 0x80000000u,
		      (1700000001ULL + 2208988800ULL) << 32 },
		    1700000000500LL, 1700000001000LL },
		{ "nanoseconds NTP", { 156, 157 }, { 8, 8 },
		    { (1700000000ULL + 2208988800ULL) << 32 | 0x40000000u,
		      (1700000002ULL + 2208988800ULL) << 32 },
		    1700000000250LL, 1700000002000LL },
		{ "delta microseconds", { 158, 159 }, { 4, 4 },
		    { 3000000, 1000000 }, 1700000100000LL - 3000,
		    1700000100000LL - 1000 },
		{ "sysuptime with own init time", { 160, 22, 21 }, { 8, 4, 4 },
		    { 1699990000000ULL, 1000, 61000 }, 1699990001000LL,
		    1699990061000LL },
		/* started 60 days before the export: the 32-bit uptime
		 * wrapped once (5184000000 - 2^32 = 889032704 at export) */
		{ "sysuptime after the uptime wrapped", { 160, 22, 21 },
		    { 8, 4, 4 }, { 1700000100000ULL - 5184000000ULL,
		    889032704 - 10000, 889032704 - 1000 },
		    1700000100000LL - 10000, 1700000100000LL - 1000 },
		{ "start + duration ms", { 152, 161 }, { 8, 4 },
		    { 1700000000000ULL, 2500 }, 1700000000000LL, 1700000002500LL },
		{ "start + duration us", { 150, 162 }, { 4, 4 },
		    { 1700000000ULL, 1500000 }, 1700000000000LL, 1700000001500LL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parser *p = fresh(NULL);
		size_t n = cases[i].ids[2] ? 3 : 2, at;

		ipfix_begin(d, 1700000100, 0, 0);
		at = set_begin(d, 2);
		put16(d, 300);
		put16(d, n);
		for (size_t j = 0; j < n; j++)
			field(cases[i].ids[j], cases[i].lens[j]);
		set_end(d, at);
		at = set_begin(d, 300);
		for (size_t j = 0; j < n; j++)
			putn(d, cases[i].vals[j], cases[i].lens[j]);
		set_end(d, at);
		ipfix_end(d);
		feed(p, 1);
		CHECK_EQ_U(s.nrec, 1);
		if (s.nrec == 1 && (s.recs[0].rec.start_ms != cases[i].start ||
		    s.recs[0].rec.end_ms != cases[i].end))
			fprintf(stderr, "time case %s\n", cases[i].what);
		CHECK(s.recs[0].rec.has_start && s.recs[0].rec.has_end);
		CHECK_EQ_U(s.recs[0].rec.start_ms, cases[i].start);
		CHECK_EQ_U(s.recs[0].rec.end_ms, cases[i].end);
		parser_free(p);
	}
}

/* A date of 2^63 ms or more is no time: start stays unset and the
 * field is kept raw (never a 1969 or year-0 date). */
static void
test_time_range(void)
{
	struct parser *p = fresh(NULL);
	const struct sink_field *x;
	size_t at;

	ipfix_begin(d, 1700000100, 0, 0);
	at = set_begin(d, 2);
	put16(d, 300);
	put16(d, 2);
	field(152, 8);
	field(153, 8);
	set_end(d, at);
	at = set_begin(d, 300);
	put64(d, 1ULL << 63);
	put64(d, 1700000000000ULL);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 1);
	CHECK_EQ_U(s.nrec, 1);
	CHECK(!s.recs[0].rec.has_start);
	CHECK(s.recs[0].rec.has_end);
	x = sink_field(&s.recs[0], 0, 152, 0);
	CHECK(x != NULL && field_uint(x) == 1ULL << 63);
	parser_free(p);
}

/* v5 with unix_nsecs of 1e9 or more: clamped to 999999999, counted. */
static void
test_v5_nsecs(void)
{
	static const uint32_t nsecs[] = { 999999999u, 4294967295u };
	struct parser *p = fresh(NULL);
	struct parser_counters t;

	for (size_t i = 0; i < 2; i++) {
		d->len = 0;
		put16(d, 5);
		put16(d, 1);
		put32(d, 100000);        /* uptime */
		put32(d, 1700000000);
		put32(d, nsecs[i]);
		put32(d, i);
		put32(d, 0);
		put32(d, 0xc0000201);
		put32(d, 0xc0000202);
		put32(d, 0);
		put32(d, 0);
		put32(d, 1);             /* packets */
		put32(d, 100);           /* bytes */
		put32(d, 99000);         /* first */
		put32(d, 100000);        /* last */
		put32(d, 0);
		put32(d, 6 << 8);        /* pad, flags, proto, tos */
		put32(d, 0);
		put32(d, 0);
		feed(p, 1);
	}
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(s.recs[0].rec.end_ms, 1700000000999LL);
	CHECK_EQ_U(s.recs[1].rec.end_ms, 1700000000999LL);
	parser_totals(p, &t);
	CHECK_EQ_U(t.clamped, 1);
	parser_free(p);
}

static void
simple_template(uint16_t id)
{
	size_t at = set_begin(d, 2);

	put16(d, id);
	put16(d, 3);
	field(8, 4);
	field(12, 4);
	field(1, 4);
	set_end(d, at);
}

static void
simple_data(uint16_t id, uint32_t bytes)
{
	size_t at = set_begin(d, id);

	put32(d, 0xc0000201);
	put32(d, 0xc0000202);
	put32(d, bytes);
	set_end(d, at);
}

static void
test_withdrawal(void)
{
	struct parser *p = fresh(NULL);
	size_t at;

	ipfix_begin(d, 1700000000, 0, 5);
	simple_template(256);
	simple_template(257);
	simple_data(256, 1);
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 1);
	CHECK_EQ_U(parser_template_count(p), 2);
	/* withdraw 256: its data is held again, 257 still decodes */
	ipfix_begin(d, 1700000000, 1, 5);
	at = set_begin(d, 2);
	put16(d, 256);
	put16(d, 0);
	set_end(d, at);
	simple_data(256, 2);
	simple_data(257, 3);
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(s.recs[1].rec.num[FLOW_BYTES], 3);
	CHECK_EQ_U(parser_template_count(p), 1);
	CHECK_EQ_U(parser_held_count(p), 1);
	/* redefinition: 256 comes back with another layout; the held
	 * record decodes with it */
	ipfix_begin(d, 1700000000, 2, 5);
	at = set_begin(d, 2);
	put16(d, 256);
	put16(d, 1);
	field(2, 4);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 5);   /* held set: 12 bytes = 3 records of 4 */
	CHECK_EQ_U(s.recs[2].rec.num[FLOW_PACKETS], 0xc0000201);
	/* withdraw-all (template id 2 = the set id, count 0) */
	ipfix_begin(d, 1700000000, 3, 5);
	at = set_begin(d, 2);
	put16(d, 2);
	put16(d, 0);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(parser_template_count(p), 0);
	/* v9: a template of zero fields withdraws it, never divides */
	v9_begin(d, 1, 100, 1700000000, 0, 0);
	at = set_begin(d, 0);
	put16(d, 300);
	put16(d, 1);
	field(1, 4);
	set_end(d, at);
	at = set_begin(d, 0);
	put16(d, 300);
	put16(d, 0);
	set_end(d, at);
	feed(p, 1000);
	CHECK_EQ_U(parser_template_count(p), 0);
	parser_free(p);
}

static void
test_options_v9(void)
{
	struct parser *p = fresh(NULL);
	size_t at;

	/* options template 400: scope system, samplingInterval, algorithm;
	 * 401: sampler id + random interval; data template 402 */
	v9_begin(d, 4, 100, 1700000000, 0, 3);
	at = set_begin(d, 1);
	put16(d, 400);
	put16(d, 4);
	put16(d, 8);
	field(1, 4);
	field(34, 4);
	field(35, 1);
	put8(d, 0);
	put8(d, 0);              /* padding to 4 bytes */
	set_end(d, at);
	at = set_begin(d, 1);
	put16(d, 401);
	put16(d, 4);
	put16(d, 8);
	field(1, 4);
	field(48, 1);
	field(50, 4);
	set_end(d, at);
	at = set_begin(d, 0);
	put16(d, 402);
	put16(d, 3);
	field(8, 4);
	field(1, 4);
	field(48, 1);
	set_end(d, at);
	at = set_begin(d, 402);  /* before any options: no sampling */
	put32(d, 1);
	put32(d, 10);
	put8(d, 0);
	set_end(d, at);
	at = set_begin(d, 400);
	put32(d, 0);
	put32(d, 100);
	put8(d, 2);
	set_end(d, at);
	at = set_begin(d, 401);
	put32(d, 0);
	put8(d, 7);
	put32(d, 1000);
	set_end(d, at);
	at = set_begin(d, 402);
	put32(d, 1);
	put32(d, 10);
	put8(d, 0);              /* sampler 0: not announced: exporter's */
	put32(d, 1);
	put32(d, 10);
	put8(d, 7);              /* sampler 7: 1 in 1000 */
	set_end(d, at);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 5);
	CHECK(!(s.recs[0].rec.has_num & 1u << FLOW_SAMPLING_INTERVAL));
	CHECK_EQ_U(s.recs[1].rec.kind, FLOW_KIND_OPTIONS);
	CHECK(s.recs[1].extra[0].f.flags & FLOW_FIELD_SCOPE);
	CHECK_EQ_U(s.recs[2].rec.kind, FLOW_KIND_OPTIONS);
	CHECK_EQ_U(s.recs[3].rec.num[FLOW_SAMPLING_INTERVAL], 100);
	CHECK_EQ_U(s.recs[4].rec.num[FLOW_SAMPLING_INTERVAL], 1000);
	/* another source id of the same exporter has its own */
	sink_reset(&s);
	v9_begin(d, 1, 100, 1700000000, 0, 4);
	at = set_begin(d, 0);
	put16(d, 402);
	put16(d, 2);
	field(8, 4);
	field(1, 4);
	set_end(d, at);
	at = set_begin(d, 402);
	put32(d, 1);
	put32(d, 10);
	set_end(d, at);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 1);
	CHECK(!(s.recs[0].rec.has_num & 1u << FLOW_SAMPLING_INTERVAL));
	parser_free(p);
}

static void
test_options_ipfix(void)
{
	struct parser *p = fresh(NULL);
	const struct sink_field *x;
	size_t at;

	ipfix_begin(d, 1700000000, 0, 9);
	at = set_begin(d, 3);    /* interface table: ifIndex -> name */
	put16(d, 500);
	put16(d, 3);
	put16(d, 1);
	field(10, 4);
	field(82, 0xffff);
	field(83, 0xffff);
	set_end(d, at);
	at = set_begin(d, 3);    /* sampling: selector id, interval, space */
	put16(d, 501);
	put16(d, 3);
	put16(d, 1);
	field(302, 4);
	field(305, 4);
	field(306, 4);
	set_end(d, at);
	at = set_begin(d, 2);
	put16(d, 502);
	put16(d, 4);
	field(10, 4);
	field(14, 4);
	field(1, 4);
	field(302, 4);
	set_end(d, at);
	at = set_begin(d, 500);
	put32(d, 3);
	put8(d, 4);
	putbytes(d, "eth3", 4);
	put8(d, 6);
	putbytes(d, "uplink", 6);
	put32(d, 4);
	put8(d, 0);              /* no name: the description serves */
	put8(d, 9);
	putbytes(d, "customer\0", 9);
	set_end(d, at);
	at = set_begin(d, 501);
	put32(d, 42);
	put32(d, 1);
	put32(d, 99);
	set_end(d, at);
	at = set_begin(d, 502);
	put32(d, 3);
	put32(d, 4);
	put32(d, 1500);
	put32(d, 42);
	put32(d, 5);
	put32(d, 3);
	put32(d, 1500);
	put32(d, 41);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 5);
	CHECK_EQ_U(s.recs[0].rec.kind, FLOW_KIND_OPTIONS);
	x = sink_named(&s.recs[3], "in_if_name");
	CHECK(x != NULL && x->f.len == 4 && memcmp(x->data, "eth3", 4) == 0);
	x = sink_named(&s.recs[3], "out_if_name");
	CHECK(x != NULL && x->f.len == 8 && memcmp(x->data, "customer", 8) == 0);
	CHECK(x != NULL && x->f.ie && x->f.ie->type == IE_STRING);
	CHECK_EQ_U(s.recs[3].rec.num[FLOW_SAMPLING_INTERVAL], 100);
	CHECK(sink_named(&s.recs[4], "in_if_name") == NULL);
	CHECK(sink_named(&s.recs[4], "out_if_name") != NULL);
	CHECK(!(s.recs[4].rec.has_num & 1u << FLOW_SAMPLING_INTERVAL));
	parser_free(p);

	/* a full name table is counted, never grows */
	{
		struct parser_limits l = { .max_if_names = 1 };

		p = fresh(&l);
		ipfix_begin(d, 1700000000, 0, 9);
		at = set_begin(d, 3);
		put16(d, 500);
		put16(d, 2);
		put16(d, 1);
		field(10, 4);
		field(82, 4);
		set_end(d, at);
		at = set_begin(d, 500);
		for (uint32_t i = 0; i < 3; i++) {
			put32(d, i);
			putbytes(d, "ethX", 4);
		}
		set_end(d, at);
		ipfix_end(d);
		feed(p, 1000);
		CHECK_EQ_U(s.drops[PARSER_DROP_OPTION_LIMIT], 2);
		parser_free(p);
	}
}

static void
test_held(void)
{
	struct parser_limits l = { .max_held_bytes = 4096,
	    .max_exporter_held_bytes = 2048 };
	struct parser *p = fresh(&l);

	/* data at t=1000, its template one second later */
	ipfix_begin(d, 1700000000, 0, 1);
	simple_data(256, 11);
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(s.nrec, 0);
	CHECK_EQ_U(sink_total_drops(&s), 0);
	parser_expire(p, 1999);
	ipfix_begin(d, 1700000001, 1, 1);
	simple_template(256);
	ipfix_end(d);
	feed(p, 2000);
	CHECK_EQ_U(s.nrec, 1);
	CHECK_EQ_U(s.recs[0].src.received_ms, 1000);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_BYTES], 11);
	CHECK_EQ_U(s.last_pkt.records, 1);
	CHECK_EQ_U(parser_held_count(p), 0);
	/* ages out after 30 s, counted */
	ipfix_begin(d, 1700000000, 2, 1);
	simple_data(300, 1);
	ipfix_end(d);
	feed(p, 5000);
	parser_expire(p, 34999);
	CHECK_EQ_U(parser_held_count(p), 1);
	parser_expire(p, 35000);
	CHECK_EQ_U(parser_held_count(p), 0);
	CHECK_EQ_U(s.drops[PARSER_DROP_HELD_EXPIRED], 1);
	/* bounded per exporter: the oldest make way, counted */
	for (int i = 0; i < 100; i++) {
		ipfix_begin(d, 1700000000, 3, 1);
		simple_data(300, i);
		ipfix_end(d);
		feed(p, 6000);
	}
	CHECK(parser_held_count(p) < 100);
	CHECK(parser_held_count(p) > 0);
	CHECK_EQ_U(s.drops[PARSER_DROP_HELD_OVERFLOW], 100 - parser_held_count(p));
	/* a set bigger than the per-exporter bound is not held at all */
	ipfix_begin(d, 1700000000, 3, 1);
	{
		size_t at = set_begin(d, 301);

		for (int i = 0; i < 3000; i++)
			put8(d, 1);
		set_end(d, at);
	}
	ipfix_end(d);
	feed(p, 6000);
	CHECK_EQ_U(s.drops[PARSER_DROP_HELD_OVERFLOW],
	    100 - parser_held_count(p) + 1);
	CHECK(parser_memory_usage(p) <= parser_memory_budget(&l));
	parser_free(p);
}

/* softflowd after a collector restart: data, then a message with the
 * templates and the options data that announces the system init time.
 * The held data is decoded after that whole message, so its uptime
 * stamps become absolute times. */
static void
test_held_sysinit(void)
{
	struct parser *p = fresh(NULL);
	size_t at;

	ipfix_begin(d, 1700000000, 0, 1);
	at = set_begin(d, 256);
	put32(d, 1000);          /* flowStartSysUpTime */
	put32(d, 61000);         /* flowEndSysUpTime */
	put32(d, 77);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 1000);
	CHECK_EQ_U(parser_held_count(p), 1);
	ipfix_begin(d, 1700000001, 1, 1);
	at = set_begin(d, 2);
	put16(d, 256);
	put16(d, 3);
	field(22, 4);
	field(21, 4);
	field(1, 4);
	set_end(d, at);
	at = set_begin(d, 3);
	put16(d, 257);
	put16(d, 2);
	put16(d, 1);
	field(149, 4);
	field(160, 8);
	set_end(d, at);
	at = set_begin(d, 257);
	put32(d, 1);
	put64(d, 1699990000000ULL);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 2000);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(s.recs[0].rec.kind, FLOW_KIND_OPTIONS);
	CHECK_EQ_U(s.recs[1].rec.num[FLOW_BYTES], 77);
	CHECK_EQ_U(s.recs[1].src.received_ms, 1000);
	CHECK(s.recs[1].rec.has_start && s.recs[1].rec.has_end);
	CHECK_EQ_U(s.recs[1].rec.start_ms, 1699990001000LL);
	CHECK_EQ_U(s.recs[1].rec.end_ms, 1699990061000LL);
	/* a template withdrawn later in the same message: the data waits */
	ipfix_begin(d, 1700000000, 0, 2);
	simple_data(300, 5);
	ipfix_end(d);
	feed(p, 3000);
	ipfix_begin(d, 1700000000, 1, 2);
	simple_template(300);
	at = set_begin(d, 2);
	put16(d, 300);
	put16(d, 0);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 3001);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(parser_held_count(p), 1);
	parser_free(p);
}

static void
test_sequence(void)
{
	struct parser *p = fresh(NULL);

	/* IPFIX counts data records: 3 records at 10, next expected 13 */
	ipfix_begin(d, 1700000000, 10, 1);
	simple_template(256);
	simple_data(256, 1);
	simple_data(256, 2);
	simple_data(256, 3);
	ipfix_end(d);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.lost, 0);
	ipfix_begin(d, 1700000000, 13, 1);
	simple_data(256, 4);
	ipfix_end(d);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.lost, 0);
	ipfix_begin(d, 1700000000, 20, 1);
	simple_data(256, 4);
	ipfix_end(d);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.lost, 6);
	/* other domain: its own count */
	ipfix_begin(d, 1700000000, 500, 2);
	ipfix_end(d);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.lost, 0);
	/* v9 counts packets, wrap-safe */
	v9_begin(d, 0, 1, 1700000000, 0xfffffffeu, 0);
	feed(p, 1);
	v9_begin(d, 0, 1, 1700000000, 0xffffffffu, 0);
	feed(p, 1);
	v9_begin(d, 0, 1, 1700000000, 2, 0);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.lost, 2);
	/* a jump of 99,997 packets is a new session, not loss; an exporter
	 * restart (far behind) resynchronises */
	v9_begin(d, 0, 1, 1700000000, 100000, 0);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.resets, 1);
	v9_begin(d, 0, 1, 1700000000, 0, 0);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.resets, 1);
	v9_begin(d, 0, 1, 1700000000, 1, 0);
	feed(p, 1);
	CHECK_EQ_U(s.last_pkt.lost, 0);
	CHECK_EQ_U(s.last_pkt.resets, 0);
	CHECK_EQ_U(parser_lost_total(p), 6 + 2);
	parser_free(p);
}

/* One exporter announcing 100,000 distinct templates (and many domains):
 * memory stays under the budget all along, and state stays bounded. */
static void
test_flood(void)
{
	struct parser_limits l;
	struct parser *p = fresh(NULL);
	size_t budget = parser_memory_budget(NULL), peak = 0;

	parser_limits_default(&l);
	for (uint32_t i = 0; i < 100000; i++) {
		size_t at;

		ipfix_begin(d, 1700000000, i, i / 1000);
		at = set_begin(d, 2);
		put16(d, 256 + i % 1000);
		put16(d, 40);
		for (int j = 0; j < 40; j++)
			field(1000 + j, 4);
		set_end(d, at);
		simple_data(256 + (i + 7) % 1000, i);   /* held, mostly */
		ipfix_end(d);
		feed(p, 1000 + i / 10);
		if (parser_memory_usage(p) > peak)
			peak = parser_memory_usage(p);
		if (i % 10000 == 0)
			parser_expire(p, 1000 + i / 10);
	}
	fprintf(stderr, "flood: budget %zu bytes, peak usage %zu bytes, "
	    "%zu templates, %zu held\n", budget, peak, parser_template_count(p),
	    parser_held_count(p));
	CHECK(peak <= budget);
	CHECK(parser_template_count(p) <= l.max_templates);
	CHECK(s.drops[PARSER_DROP_TEMPLATE_EVICTED] > 0);
	CHECK(s.drops[PARSER_DROP_DOMAIN_EVICTED] > 0);
	parser_free(p);

	/* tight limits: everything bounded, budget still holds */
	{
		struct parser_limits t = { .max_templates = 100,
		    .max_template_fields = 1000, .max_exporters = 4,
		    .max_domains = 2, .max_domain_templates = 30,
		    .max_held_bytes = 10000, .max_exporter_held_bytes = 5000 };

		p = fresh(&t);
		budget = parser_memory_budget(&t);
		peak = 0;
		for (uint32_t i = 0; i < 20000; i++) {
			struct parser_source src = source4(10, 0, i % 7, 1, 1);
			size_t at;

			ipfix_begin(d, 1700000000, i, i % 5);
			at = set_begin(d, 2);
			put16(d, 256 + i % 300);
			put16(d, 1 + i % 50);
			for (uint32_t j = 0; j < 1 + i % 50; j++)
				field(1000 + j, 1);
			set_end(d, at);
			simple_data(256 + (i + 1) % 300, i);
			ipfix_end(d);
			parser_feed(p, d->b, d->len, &src);
			if (parser_memory_usage(p) > peak)
				peak = parser_memory_usage(p);
		}
		CHECK(peak <= budget);
		CHECK(parser_template_count(p) <= 100);
		CHECK(s.drops[PARSER_DROP_EXPORTER_EVICTED] > 0);
		parser_free(p);
	}
}

int
main(void)
{
	sink_init(&s);
	d = calloc(1, sizeof(*d));
	test_rich();
	test_times();
	test_time_range();
	test_v5_nsecs();
	test_withdrawal();
	test_options_v9();
	test_options_ipfix();
	test_held();
	test_held_sysinit();
	test_sequence();
	test_flood();
	free(d);
	sink_finish(&s);
	return test_result("parser-features");
}
