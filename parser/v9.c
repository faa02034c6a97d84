/*
 * NetFlow v9 (RFC 3954): a header, then flowsets: templates (0), options
 * templates (1) and data (>= 256) for templates this exporter announced.
 */
#include <string.h>

#include "parser-private.h"

#define V9_TEMPLATE_SET 0
#define V9_OPTIONS_SET 1
#define V9_FIRST_DATA_SET 256

static bool
read_fields(struct parser *p, struct cursor *c, uint16_t first, uint16_t n,
    bool scope, bool *too_many)
{
	for (uint16_t i = 0; i < n; i++) {
		struct tfield f = { 0 };

		if (!cursor_u16(c, &f.id) || !cursor_u16(c, &f.len))
			return false;
		/* v9 has no variable-length encoding: 65535 cannot fit */
		if (f.len == VARLEN)
			return false;
		if ((size_t)first + i >= p->limits.max_fields) {
			*too_many = true;
			continue;
		}
		/* classified by template_store() */
		if (scope)
			f.flags = FLOW_FIELD_SCOPE;
		p->scratch[first + i] = f;
	}
	return true;
}

static void
template_set(struct parser *p, struct domain *d, struct cursor *set,
    struct tkey *key, const struct parser_source *src)
{
	while (cursor_left(set) >= 4 && !cursor_all_zero(set)) {
		uint16_t n;
		bool too_many = false;

		if (!cursor_u16(set, &key->id) || !cursor_u16(set, &n))
			break;
		if (key->id < V9_FIRST_DATA_SET) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		if (n == 0) {
			tcache_remove(p->templates, key);
			continue;
		}
		if (!read_fields(p, set, 0, n, false, &too_many)) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		template_store(p, d, src, key, false, n, too_many);
	}
}

static void
options_set(struct parser *p, struct domain *d, struct cursor *set,
    struct tkey *key, const struct parser_source *src)
{
	while (cursor_left(set) >= 6 && !cursor_all_zero(set)) {
		uint16_t scope_len, opt_len, nscope, nopt;
		bool too_many = false;

		if (!cursor_u16(set, &key->id) || !cursor_u16(set, &scope_len) ||
		    !cursor_u16(set, &opt_len))
			break;
		if (key->id < V9_FIRST_DATA_SET || scope_len % 4 || opt_len % 4) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		nscope = scope_len / 4;
		nopt = opt_len / 4;
		if (!read_fields(p, set, 0, nscope, true, &too_many) ||
		    !read_fields(p, set, nscope, nopt, false, &too_many)) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		if (nscope + nopt == 0 || nscope + nopt > 0xffff) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		template_store(p, d, src, key, true, (uint16_t)(nscope + nopt),
		    too_many);
	}
}

size_t
v9_decode(struct parser *p, struct cursor *c, const struct parser_source *src)
{
	uint16_t count;
	uint32_t secs;
	struct time_base tb = { .has_uptime = true };
	struct tkey key = { .exporter = src->addr, .port = src->port,
	    .proto = TPROTO_V9 };
	struct parser_packet pkt = { .src = src, .version = 9 };
	uint64_t before = p->delivered, resets = p->resets;
	struct domain *d;

	if (!cursor_u16(c, &count) || !cursor_u32(c, &tb.uptime_ms) ||
	    !cursor_u32(c, &secs) || !cursor_u32(c, &pkt.sequence) ||
	    !cursor_u32(c, &key.domain)) {
		parser_drop(p, src, PARSER_DROP_SHORT, 1);
		return 0;
	}
	if ((d = domain_get(p, &src->addr, src->port, TPROTO_V9,
	    key.domain)) == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return 0;
	}
	tb.export_ms = (int64_t)secs * 1000;
	pkt.domain = key.domain;
	/* v9 counts export packets */
	pkt.lost = domain_sequence(p, d, pkt.sequence, 1);
	while (cursor_left(c) >= 4 && !cursor_all_zero(c)) {
		uint16_t id, len;
		struct cursor set;

		cursor_u16(c, &id);
		cursor_u16(c, &len);
		if (len < 4 || !cursor_sub(c, len - 4u, &set)) {
			parser_drop(p, src, PARSER_DROP_SET_LENGTH, 1);
			break;
		}
		if (id == V9_TEMPLATE_SET) {
			template_set(p, d, &set, &key, src);
		} else if (id == V9_OPTIONS_SET) {
			options_set(p, d, &set, &key, src);
		} else if (id < V9_FIRST_DATA_SET) {
			parser_drop(p, src, PARSER_DROP_RESERVED_SET, 1);
		} else {
			key.id = id;
			record_data_set(p, d, &set, &key, &tb, src);
		}
	}
	held_release(p, d);
	pkt.records = (uint32_t)(p->delivered - before);
	pkt.resets = (uint32_t)(p->resets - resets);
	pkt.noted = &d->noted;
	if (p->ops.packet)
		p->ops.packet(&pkt, p->arg);
	return pkt.records;
}
