/*
 * Test helpers for the parser: a sink that copies every delivered record
 * (the parser's record is only valid during the callback), counts drops by
 * reason, remembers packets, and reads hex vectors and builds datagrams.
 */
#ifndef NETFLOWD_TEST_PARSER_HELPER_H
#define NETFLOWD_TEST_PARSER_HELPER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#define SINK_MAX_RECORDS 512
#define SINK_MAX_EXTRA 64

struct sink_field {
	struct flow_field f;
	char name[64];
	uint8_t data[256];
};

struct sink_record {
	struct flow_record rec;
	struct parser_source src;
	size_t nextra;
	struct sink_field extra[SINK_MAX_EXTRA];
};

struct sink {
	size_t nrec;
	struct sink_record *recs;
	uint64_t drops[PARSER_DROP_MAX];
	size_t npkt;
	struct parser_packet last_pkt;
	uint64_t lost;
};

static inline void
sink_record(const struct flow_record *rec, void *arg)
{
	struct sink *s = arg;
	struct sink_record *r;

	if (s->nrec >= SINK_MAX_RECORDS)
		return;
	r = &s->recs[s->nrec++];
	r->rec = *rec;
	r->src = *rec->src;
	r->rec.src = &r->src;
	r->nextra = rec->nextra < SINK_MAX_EXTRA ? rec->nextra : SINK_MAX_EXTRA;
	for (size_t i = 0; i < r->nextra; i++) {
		const struct flow_field *f = &rec->extra[i];
		struct sink_field *x = &r->extra[i];
		size_t len = f->len < sizeof(x->data) ? f->len : sizeof(x->data);

		x->f = *f;
		memcpy(x->data, f->data, len);
		x->f.data = x->data;
		snprintf(x->name, sizeof(x->name), "%s",
		    f->ie ? f->ie->name : "");
	}
	r->rec.extra = NULL;
}

static inline void
sink_drop(const struct parser_source *src, enum parser_drop why,
    uint32_t count, void *arg)
{
	struct sink *s = arg;

	if (why < PARSER_DROP_MAX)
		s->drops[why] += count;
}

static inline void
sink_packet(const struct parser_packet *pkt, void *arg)
{
	struct sink *s = arg;

	s->npkt++;
	s->last_pkt = *pkt;
	s->last_pkt.src = NULL;
	s->lost += pkt->lost;
}

static inline void
sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->recs = calloc(SINK_MAX_RECORDS, sizeof(*s->recs));
}

static inline void
sink_reset(struct sink *s)
{
	struct sink_record *recs = s->recs;

	memset(s, 0, sizeof(*s));
	s->recs = recs;
}

static inline void
sink_finish(struct sink *s)
{
	free(s->recs);
}

static const struct parser_ops sink_ops = {
	.record = sink_record, .drop = sink_drop, .packet = sink_packet,
};

static inline uint64_t
sink_total_drops(const struct sink *s)
{
	uint64_t n = 0;

	for (int i = 0; i < PARSER_DROP_MAX; i++)
		n += s->drops[i];
	return n;
}

/* The extra field of record r named name (table name, or "" when
 * unknown: then by pen/id), the i-th occurrence. */
static inline const struct sink_field *
sink_field(const struct sink_record *r, uint32_t pen, uint16_t id, int nth)
{
	for (size_t i = 0; i < r->nextra; i++)
		if (r->extra[i].f.pen == pen && r->extra[i].f.id == id &&
		    nth-- == 0)
			return &r->extra[i];
	return NULL;
}

static inline const struct sink_field *
sink_named(const struct sink_record *r, const char *name)
{
	for (size_t i = 0; i < r->nextra; i++)
		if (strcmp(r->extra[i].name, name) == 0)
			return &r->extra[i];
	return NULL;
}

static inline uint64_t
field_uint(const struct sink_field *x)
{
	uint64_t v = 0;

	if (x == NULL)
		return ~(uint64_t)0;
	for (size_t i = 0; i < x->f.len && i < 8; i++)
		v = v << 8 | x->data[i];
	return v;
}

/* Parses hex (whitespace ignored) into buf; returns the length. */
static inline size_t
hex_parse(const char *hex, uint8_t *buf, size_t size)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p; p++) {
		int v;

		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v = *p - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n < size)
			buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return n;
}

/* Reads DIR/NAME.hex into buf; returns the length, 0 on failure. */
static inline size_t
hex_file(const char *dir, const char *name, uint8_t *buf, size_t size)
{
	char path[512], *text;
	FILE *f;
	long len;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s.hex", dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return 0;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)len + 1);
	if (text == NULL || fread(text, 1, (size_t)len, f) != (size_t)len) {
		free(text);
		fclose(f);
		return 0;
	}
	fclose(f);
	n = hex_parse(text, buf, size);
	free(text);
	return n;
}

/* A growable datagram under construction, big-endian writers. */
struct dgram {
	uint8_t b[65536];
	size_t len;
};

static inline void
put8(struct dgram *d, uint64_t v)
{
	if (d->len < sizeof(d->b))
		d->b[d->len++] = (uint8_t)v;
}

static inline void
put16(struct dgram *d, uint64_t v)
{
	put8(d, v >> 8);
	put8(d, v);
}

static inline void
put32(struct dgram *d, uint64_t v)
{
	put16(d, v >> 16);
	put16(d, v);
}

static inline void
put64(struct dgram *d, uint64_t v)
{
	put32(d, v >> 32);
	put32(d, v);
}

static inline void
putn(struct dgram *d, uint64_t v, size_t n)
{
	for (size_t i = n; i-- > 0;)
		put8(d, v >> (i * 8));
}

static inline void
putbytes(struct dgram *d, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(d, ((const uint8_t *)p)[i]);
}

static inline void
set16(struct dgram *d, size_t at, uint64_t v)
{
	d->b[at] = (uint8_t)(v >> 8);
	d->b[at + 1] = (uint8_t)v;
}

/* IPFIX message header; ipfix_end() fills the length. */
static inline void
ipfix_begin(struct dgram *d, uint32_t export_time, uint32_t seq,
    uint32_t domain)
{
	d->len = 0;
	put16(d, 10);
	put16(d, 0);
	put32(d, export_time);
	put32(d, seq);
	put32(d, domain);
}

static inline void
ipfix_end(struct dgram *d)
{
	set16(d, 2, d->len);
}

/* A template field: element id and length. */
static inline void
put_field(struct dgram *d, uint16_t id, uint16_t len)
{
	put16(d, id);
	put16(d, len);
}

/* Set header; set_end() fills the length. Returns the set's offset. */
static inline size_t
set_begin(struct dgram *d, uint16_t id)
{
	size_t at = d->len;

	put16(d, id);
	put16(d, 0);
	return at;
}

static inline void
set_end(struct dgram *d, size_t at)
{
	set16(d, at + 2, d->len - at);
}

/* v9 header; v9_end() has nothing to fill (count is informational). */
static inline void
v9_begin(struct dgram *d, uint16_t count, uint32_t uptime, uint32_t secs,
    uint32_t seq, uint32_t source_id)
{
	d->len = 0;
	put16(d, 9);
	put16(d, count);
	put32(d, uptime);
	put32(d, secs);
	put32(d, seq);
	put32(d, source_id);
}

static inline struct parser_source
source4(uint8_t a, uint8_t b, uint8_t c, uint8_t e, int64_t ms)
{
	struct parser_source s = { .addr = { .family = 4 }, .port = 9995,
	    .received_ms = ms };

	s.addr.bytes[0] = a;
	s.addr.bytes[1] = b;
	s.addr.bytes[2] = c;
	s.addr.bytes[3] = e;
	return s;
}

#endif
