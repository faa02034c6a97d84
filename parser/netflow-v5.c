/*
 * NetFlow v1, v5 and v7: a fixed header and a count of fixed-size records.
 * The three share everything but the header tail and a few record bytes.
 */
#include <string.h>

#include "parser-private.h"

struct fixed_header {
	uint16_t count;
	uint32_t uptime, secs, nsecs, sequence;
	uint8_t engine_type, engine_id;
	uint16_t sampling;
};

enum fixed_version { FIXED_V1 = 1, FIXED_V5 = 5, FIXED_V7 = 7 };

static size_t
record_len(enum fixed_version v)
{
	return v == FIXED_V7 ? 52 : 48;
}

/* c is positioned after the version field. */
static bool
read_header(struct cursor *c, enum fixed_version v, struct fixed_header *h)
{
	memset(h, 0, sizeof(*h));
	if (!cursor_u16(c, &h->count) || !cursor_u32(c, &h->uptime) ||
	    !cursor_u32(c, &h->secs) || !cursor_u32(c, &h->nsecs))
		return false;
	if (v == FIXED_V1)
		return true;
	if (!cursor_u32(c, &h->sequence))
		return false;
	if (v == FIXED_V7)
		return cursor_skip(c, 4);
	return cursor_u8(c, &h->engine_type) && cursor_u8(c, &h->engine_id) &&
	    cursor_u16(c, &h->sampling);
}

static bool
read_addr4(struct cursor *c, struct flow_record *rec, enum flow_addr_key k)
{
	const uint8_t *p;

	if (!cursor_take(c, 4, &p))
		return false;
	memset(&rec->addr[k], 0, sizeof(rec->addr[k]));
	rec->addr[k].family = 4;
	memcpy(rec->addr[k].bytes, p, 4);
	return true;
}

/* The keys read are collected in has, which stays in a register; the
 * record's bitmaps are set once it is complete. */
static bool
read_num(struct cursor *c, size_t len, struct flow_record *rec,
    enum flow_num k, uint32_t *has)
{
	uint64_t v;

	if (!cursor_uint(c, len, &v))
		return false;
	rec->num[k] = v;
	*has |= 1u << k;
	return true;
}

/* The record tail after the ports differs per version. */
static bool
read_tail(struct cursor *c, enum fixed_version v, struct flow_record *rec,
    uint32_t *has)
{
	if (v == FIXED_V1) {
		return cursor_skip(c, 2) &&
		    read_num(c, 1, rec, FLOW_PROTO, has) &&
		    read_num(c, 1, rec, FLOW_TOS, has) &&
		    read_num(c, 1, rec, FLOW_TCP_FLAGS, has) && cursor_skip(c, 7);
	}
	if (!(cursor_skip(c, 1) && read_num(c, 1, rec, FLOW_TCP_FLAGS, has) &&
	    read_num(c, 1, rec, FLOW_PROTO, has) &&
	    read_num(c, 1, rec, FLOW_TOS, has) &&
	    read_num(c, 2, rec, FLOW_SRC_AS, has) &&
	    read_num(c, 2, rec, FLOW_DST_AS, has) &&
	    read_num(c, 1, rec, FLOW_SRC_MASK, has) &&
	    read_num(c, 1, rec, FLOW_DST_MASK, has)))
		return false;
	return cursor_skip(c, v == FIXED_V7 ? 6 : 2);
}

static bool
read_record(struct cursor *c, enum fixed_version v, const struct time_base *tb,
    struct flow_record *rec)
{
	uint32_t first, last, has = 0;

	if (!(read_addr4(c, rec, FLOW_SRC_ADDR) &&
	    read_addr4(c, rec, FLOW_DST_ADDR) &&
	    read_addr4(c, rec, FLOW_NEXT_HOP) &&
	    read_num(c, 2, rec, FLOW_IN_IF, &has) &&
	    read_num(c, 2, rec, FLOW_OUT_IF, &has) &&
	    read_num(c, 4, rec, FLOW_PACKETS, &has) &&
	    read_num(c, 4, rec, FLOW_BYTES, &has) &&
	    cursor_u32(c, &first) && cursor_u32(c, &last) &&
	    read_num(c, 2, rec, FLOW_SRC_PORT, &has) &&
	    read_num(c, 2, rec, FLOW_DST_PORT, &has) &&
	    read_tail(c, v, rec, &has)))
		return false;
	rec->has_num |= has;
	rec->has_addr |= 1u << FLOW_SRC_ADDR | 1u << FLOW_DST_ADDR |
	    1u << FLOW_NEXT_HOP;
	rec->start_ms = tb->export_ms - (int64_t)(int32_t)(tb->uptime_ms - first);
	rec->end_ms = tb->export_ms - (int64_t)(int32_t)(tb->uptime_ms - last);
	rec->has_start = rec->has_end = true;
	return true;
}

static size_t
fixed_decode(struct parser *p, struct cursor *c, const struct parser_source *src,
    enum fixed_version v)
{
	struct flow_record *rec = &p->rec;
	struct fixed_header h;
	struct time_base tb;
	struct cursor records;
	struct domain *d;
	uint32_t lost = 0;
	uint64_t resets = p->resets;
	size_t n = 0;

	if (!read_header(c, v, &h)) {
		parser_drop(p, src, PARSER_DROP_SHORT, 1);
		return 0;
	}
	/* count must be backed by bytes; anything after the records is
	 * tolerated as padding. */
	if (!cursor_sub(c, (size_t)h.count * record_len(v), &records)) {
		parser_drop(p, src, PARSER_DROP_LENGTH, 1);
		return 0;
	}
	d = domain_get(p, &src->addr, src->port, (uint8_t)v,
	    (uint32_t)h.engine_type << 8 | h.engine_id);
	if (d == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return 0;
	}
	/* v5 and v7 count flows; v1 has no sequence number */
	if (v != FIXED_V1)
		lost = domain_sequence(p, d, h.sequence, h.count);
	/* nanoseconds past 999999999 would move every time by up to 4.3 s */
	if (h.nsecs > 999999999u) {
		h.nsecs = 999999999u;
		p->cur->counters.clamped++;
	}
	tb.export_ms = (int64_t)h.secs * 1000 + h.nsecs / 1000000;
	tb.uptime_ms = h.uptime;
	tb.has_uptime = true;

	memset(rec, 0, sizeof(*rec));
	rec->src = src;
	rec->kind = FLOW_KIND_DATA;
	rec->version = (uint8_t)v;
	rec->has_domain = v == FIXED_V5;
	rec->domain = (uint32_t)h.engine_type << 8 | h.engine_id;
	for (uint16_t i = 0; i < h.count; i++) {
		struct cursor r;

		record_reset(rec);
		/* a record of its own, so that reads within it are checked
		 * against a length the compiler knows */
		if (!cursor_sub(&records, record_len(v), &r) ||
		    !read_record(&r, v, &tb, rec))
			break;  /* cannot happen: the region was sized for count */
		/* top two bits: sampling mode; the rest: the interval */
		if (v == FIXED_V5 && (h.sampling & 0x3fff) != 0) {
			rec->num[FLOW_SAMPLING_INTERVAL] = h.sampling & 0x3fff;
			rec->has_num |= 1u << FLOW_SAMPLING_INTERVAL;
		}
		record_finish(rec);
		record_deliver(p, rec);
		n++;
	}
	if (p->ops.packet) {
		struct parser_packet pkt = {
			.src = src, .version = (uint16_t)v, .domain = rec->domain,
			.sequence = h.sequence, .records = (uint32_t)n,
			.lost = lost, .resets = (uint32_t)(p->resets - resets),
			.noted = &d->noted,
		};
		p->ops.packet(&pkt, p->arg);
	}
	return n;
}

size_t
netflow_v1_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src)
{
	return fixed_decode(p, c, src, FIXED_V1);
}

size_t
netflow_v5_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src)
{
	return fixed_decode(p, c, src, FIXED_V5);
}

size_t
netflow_v7_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src)
{
	return fixed_decode(p, c, src, FIXED_V7);
}
