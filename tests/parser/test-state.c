/*
 * Template state across a restart: save, new parser, load, decode data
 * whose template only the old parser saw; options-derived state too. A
 * corrupt, truncated or foreign file is refused with a message and
 * changes nothing.
 */
#include <stdlib.h>
#include <unistd.h>

#include "helper.h"
#include "test.h"

static struct sink s;
static struct dgram *d;

static void
feed(struct parser *p, int64_t ms)
{
	struct parser_source src = source4(203, 0, 113, 5, ms);

	parser_feed(p, d->b, d->len, &src);
}

static void
field(uint16_t id, uint16_t len)
{
	put_field(d, id, len);
}

/* Templates (v9 and IPFIX), sampling, an interface name, sysinit. */
static void
announce(struct parser *p)
{
	size_t at;

	ipfix_begin(d, 1700000000, 0, 3);
	at = set_begin(d, 3);
	put16(d, 600);
	put16(d, 4);
	put16(d, 1);
	field(10, 4);
	field(82, 0xffff);
	field(34, 4);
	field(160, 8);
	set_end(d, at);
	at = set_begin(d, 2);
	put16(d, 601);
	put16(d, 4);
	field(10, 4);
	field(22, 4);
	field(1, 4);
	put16(d, 0x8000 | 7);
	put16(d, 2);
	put32(d, 12345);
	set_end(d, at);
	at = set_begin(d, 600);
	put32(d, 5);
	put8(d, 3);
	putbytes(d, "wan", 3);
	put32(d, 64);
	put64(d, 1699990000000ULL);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 1000);
	v9_begin(d, 1, 1000, 1700000000, 0, 77);
	at = set_begin(d, 0);
	put16(d, 700);
	put16(d, 2);
	field(8, 4);
	field(2, 4);
	set_end(d, at);
	feed(p, 1000);
}

static void
data(struct parser *p)
{
	size_t at;

	ipfix_begin(d, 1700000000, 1, 3);
	at = set_begin(d, 601);
	put32(d, 5);
	put32(d, 2000);
	put32(d, 99);
	put16(d, 0xabcd);
	set_end(d, at);
	ipfix_end(d);
	feed(p, 2000);
	v9_begin(d, 1, 1000, 1700000000, 1, 77);
	at = set_begin(d, 700);
	put32(d, 0x01020304);
	put32(d, 42);
	set_end(d, at);
	feed(p, 2000);
}

static void
check_data(void)
{
	const struct sink_field *x;

	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_BYTES], 99);
	CHECK_EQ_U(s.recs[0].rec.num[FLOW_SAMPLING_INTERVAL], 64);
	CHECK_EQ_U(s.recs[0].rec.start_ms, 1699990000000LL + 2000);
	x = sink_named(&s.recs[0], "in_if_name");
	CHECK(x != NULL && x->f.len == 3 && memcmp(x->data, "wan", 3) == 0);
	x = sink_field(&s.recs[0], 12345, 7, 0);
	CHECK(x != NULL && field_uint(x) == 0xabcd);
	CHECK_EQ_U(s.recs[1].rec.num[FLOW_PACKETS], 42);
	CHECK_EQ_U(s.recs[1].rec.version, 9);
}

static void
test_restart(void)
{
	struct parser *p = parser_new(NULL, &sink_ops, &s);
	uint8_t *buf = NULL;
	size_t len = 0;
	char *err = NULL;

	announce(p);
	sink_reset(&s);
	data(p);
	check_data();
	CHECK_EQ_U(parser_state_encode(p, &buf, &len), 0);
	parser_free(p);

	/* restart: the data comes before any template is resent */
	p = parser_new(NULL, &sink_ops, &s);
	CHECK_EQ_U(parser_state_decode(p, buf, len, &err), 0);
	if (err)
		fprintf(stderr, "load: %s\n", err);
	free(err);
	free(buf);
	err = NULL;
	CHECK_EQ_U(parser_template_count(p), 3);
	sink_reset(&s);
	data(p);
	check_data();
	/* fresh templates replace loaded ones */
	announce(p);
	CHECK_EQ_U(parser_template_count(p), 3);
	parser_free(p);
}

static void
test_corrupt(void)
{
	struct parser *p = parser_new(NULL, &sink_ops, &s);
	uint8_t *buf, *bad;
	size_t len, ok = 0;
	char *err = NULL;

	announce(p);
	CHECK_EQ_U(parser_state_encode(p, &buf, &len), 0);
	parser_free(p);
	bad = malloc(len);

	/* every truncation is refused and leaves the parser empty */
	for (size_t n = 0; n < len; n++) {
		p = parser_new(NULL, &sink_ops, &s);
		CHECK(parser_state_decode(p, buf, n, &err) == -1);
		CHECK(err != NULL);
		free(err);
		err = NULL;
		CHECK_EQ_U(parser_template_count(p), 0);
		parser_free(p);
	}
	/* every flipped byte is caught (magic, version, length, checksum) */
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, buf, len);
		bad[i] ^= 0x5a;
		p = parser_new(NULL, &sink_ops, &s);
		if (parser_state_decode(p, bad, len, &err) == 0)
			ok++;
		free(err);
		err = NULL;
		CHECK_EQ_U(parser_template_count(p), 0);
		parser_free(p);
	}
	CHECK_EQ_U(ok, 0);
	/* corrupt payload with a valid checksum is refused by the checks */
	{
		static const char *const foreign[] = {
			"", "NFDSTATE", "hello world, not a state file",
			"NFDSTATE\x00\x00\x00\x02\x00\x00\x00\x00",
		};

		for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
			p = parser_new(NULL, &sink_ops, &s);
			CHECK(parser_state_decode(p, (const uint8_t *)foreign[i],
			    strlen(foreign[i]) + (i == 3 ? 4 : 0), &err) == -1);
			CHECK(err != NULL);
			free(err);
			err = NULL;
			parser_free(p);
		}
	}
	/* a state that fails to load leaves earlier state in place */
	p = parser_new(NULL, &sink_ops, &s);
	announce(p);
	CHECK(parser_state_decode(p, buf, len / 2, &err) == -1);
	CHECK(err != NULL);
	free(err);
	CHECK_EQ_U(parser_template_count(p), 3);
	parser_free(p);
	free(bad);
	free(buf);
}

/* 203.0.113.5 from port port */
static void
feed_port(struct parser *p, uint16_t port, int64_t ms)
{
	struct parser_source src = source4(203, 0, 113, 5, ms);

	src.port = port;
	parser_feed(p, d->b, d->len, &src);
}

/* template 256 of port: octetDeltaCount of len bytes */
static void
session_template(struct parser *p, uint16_t port, uint16_t len)
{
	size_t at;

	ipfix_begin(d, 1700000000, 0, 1);
	at = set_begin(d, 2);
	put16(d, 256);
	put16(d, 1);
	field(1, len);
	set_end(d, at);
	ipfix_end(d);
	feed_port(p, port, 1000);
}

static void
session_data(struct parser *p, uint16_t port, uint16_t len, uint64_t bytes)
{
	size_t at;

	ipfix_begin(d, 1700000000, 0, 1);
	at = set_begin(d, 256);
	putn(d, bytes, len);
	set_end(d, at);
	ipfix_end(d);
	feed_port(p, port, 2000);
}

/* Two sessions of one address with different templates of one id come
 * back from the file each with its own. */
static void
test_sessions(void)
{
	struct parser *p = parser_new(NULL, &sink_ops, &s);
	uint8_t *buf = NULL;
	size_t len = 0;
	char *err = NULL;

	session_template(p, 1000, 4);
	session_template(p, 2000, 8);
	CHECK_EQ_U(parser_state_encode(p, &buf, &len), 0);
	parser_free(p);
	p = parser_new(NULL, &sink_ops, &s);
	CHECK_EQ_U(parser_state_decode(p, buf, len, &err), 0);
	free(err);
	free(buf);
	CHECK_EQ_U(parser_template_count(p), 2);
	sink_reset(&s);
	session_data(p, 2000, 8, 0x100000001ULL);
	session_data(p, 1000, 4, 7);
	CHECK_EQ_U(s.nrec, 2);
	if (s.nrec == 2) {
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_BYTES], 0x100000001ULL);
		CHECK_EQ_U(s.recs[1].rec.num[FLOW_BYTES], 7);
	}
	CHECK_EQ_U(parser_held_count(p), 0);
	parser_free(p);
}

static uint64_t
fnv1a(const uint8_t *b, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* A state file of version 1 (no ports) still loads: the first session
 * of the exporter claims its domain; a second port of the address takes
 * the template over as from any old port. */
static void
test_version1(void)
{
	struct parser *p = parser_new(NULL, &sink_ops, &s);
	static const uint8_t addr[16] = { 203, 0, 113, 5 };
	struct dgram *f = calloc(1, sizeof(*f));
	char *err = NULL;
	size_t at;

	putbytes(f, "NFDSTATE", 8);
	put32(f, 1);
	put32(f, 0);              /* payload length, below */
	at = f->len;
	put32(f, 1);              /* one domain */
	put8(f, 4);
	putbytes(f, addr, 16);
	put8(f, 10);              /* IPFIX */
	put32(f, 1);              /* domain 1 */
	put8(f, 0);
	put64(f, 0);
	put64(f, 0);
	put8(f, 0);               /* samplers */
	put32(f, 0);              /* names */
	put32(f, 1);              /* templates */
	put16(f, 256);
	put8(f, 0);
	put16(f, 1);
	put32(f, 0);
	put16(f, 1);
	put16(f, 4);
	put8(f, 0);
	f->b[12] = (uint8_t)((f->len - at) >> 24);
	f->b[13] = (uint8_t)((f->len - at) >> 16);
	f->b[14] = (uint8_t)((f->len - at) >> 8);
	f->b[15] = (uint8_t)(f->len - at);
	put64(f, fnv1a(f->b + at, f->len - at));
	CHECK_EQ_U(parser_state_decode(p, f->b, f->len, &err), 0);
	if (err)
		fprintf(stderr, "load: %s\n", err);
	free(err);
	CHECK_EQ_U(parser_template_count(p), 1);
	sink_reset(&s);
	session_data(p, 5555, 4, 11);
	CHECK_EQ_U(s.nrec, 1);
	/* claimed, not borrowed: the template is that session's */
	CHECK_EQ_U(parser_template_count(p), 1);
	session_data(p, 6666, 4, 12);
	CHECK_EQ_U(s.nrec, 2);
	CHECK_EQ_U(parser_template_count(p), 2);
	if (s.nrec == 2) {
		CHECK_EQ_U(s.recs[0].rec.num[FLOW_BYTES], 11);
		CHECK_EQ_U(s.recs[1].rec.num[FLOW_BYTES], 12);
	}
	parser_free(p);
	free(f);
}

int
main(void)
{
	sink_init(&s);
	d = calloc(1, sizeof(*d));
	test_restart();
	test_corrupt();
	test_sessions();
	test_version1();
	free(d);
	sink_finish(&s);
	return test_result("parser-state");
}
