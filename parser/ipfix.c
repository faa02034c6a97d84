/*
 * IPFIX (RFC 7011): a message header with its own length, then sets:
 * templates (2), options templates (3) and data (>= 256). Elements may be
 * enterprise-specific and variable-length.
 */
#include <string.h>

#include "parser-private.h"

#define IPFIX_HEADER_LEN 16
#define IPFIX_TEMPLATE_SET 2
#define IPFIX_OPTIONS_SET 3
#define IPFIX_FIRST_DATA_SET 256
#define ENTERPRISE_BIT 0x8000

static bool
read_fields(struct parser *p, struct cursor *c, uint16_t n, uint16_t nscope,
    bool *too_many)
{
	for (uint16_t i = 0; i < n; i++) {
		struct tfield f = { 0 };

		if (!cursor_u16(c, &f.id) || !cursor_u16(c, &f.len))
			return false;
		if (f.id & ENTERPRISE_BIT) {
			f.id &= ~ENTERPRISE_BIT;
			if (!cursor_u32(c, &f.pen))
				return false;
		}
		if (i >= p->limits.max_fields) {
			*too_many = true;
			continue;
		}
		/* classified by template_store() */
		if (i < nscope)
			f.flags = FLOW_FIELD_SCOPE;
		p->scratch[i] = f;
	}
	return true;
}

static void
template_set(struct parser *p, struct domain *d, struct cursor *set,
    struct tkey *key, bool options, const struct parser_source *src)
{
	uint16_t set_id = options ? IPFIX_OPTIONS_SET : IPFIX_TEMPLATE_SET;

	while (cursor_left(set) >= 4 && !cursor_all_zero(set)) {
		uint16_t n, nscope = 0;
		bool too_many = false;

		if (!cursor_u16(set, &key->id) || !cursor_u16(set, &n))
			break;
		if (n == 0 && key->id == set_id) {
			tcache_remove_domain(p->templates, d, options);
			continue;
		}
		if (key->id < IPFIX_FIRST_DATA_SET) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		if (n == 0) {
			tcache_remove(p->templates, key);
			continue;
		}
		if (options && (!cursor_u16(set, &nscope) || nscope == 0 ||
		    nscope > n)) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		if (!read_fields(p, set, n, nscope, &too_many)) {
			parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
			return;
		}
		template_store(p, d, src, key, options, n, too_many);
	}
}

/* The sets of one message; true when a data set had to be held. */
static bool
ipfix_sets(struct parser *p, struct domain *d, struct cursor *msg,
    struct tkey *key, const struct time_base *tb,
    const struct parser_source *src)
{
	size_t held = p->held_count;

	while (cursor_left(msg) >= 4 && !cursor_all_zero(msg)) {
		uint16_t id, len;
		struct cursor set;

		cursor_u16(msg, &id);
		cursor_u16(msg, &len);
		if (len < 4 || !cursor_sub(msg, len - 4u, &set)) {
			parser_drop(p, src, PARSER_DROP_SET_LENGTH, 1);
			break;
		}
		if (id == IPFIX_TEMPLATE_SET || id == IPFIX_OPTIONS_SET) {
			template_set(p, d, &set, key, id == IPFIX_OPTIONS_SET,
			    src);
		} else if (id < IPFIX_FIRST_DATA_SET) {
			parser_drop(p, src, PARSER_DROP_RESERVED_SET, 1);
		} else {
			key->id = id;
			record_data_set(p, d, &set, key, tb, src);
		}
	}
	held_release(p, d);
	return p->held_count != held;
}

size_t
ipfix_decode(struct parser *p, struct cursor *c, const struct parser_source *src)
{
	uint16_t length;
	uint32_t export_time;
	struct cursor msg;
	struct time_base tb = { .has_uptime = false };
	struct tkey key = { .exporter = src->addr, .port = src->port,
	    .proto = TPROTO_IPFIX };
	struct parser_packet pkt = { .src = src, .version = 10 };
	uint64_t before = p->delivered, released = p->released;
	uint64_t resets = p->resets;
	struct domain *d;
	bool held;

	if (!cursor_u16(c, &length) || !cursor_u32(c, &export_time) ||
	    !cursor_u32(c, &pkt.sequence) || !cursor_u32(c, &key.domain)) {
		parser_drop(p, src, PARSER_DROP_SHORT, 1);
		return 0;
	}
	if (length < IPFIX_HEADER_LEN ||
	    !cursor_sub(c, length - IPFIX_HEADER_LEN, &msg)) {
		parser_drop(p, src, PARSER_DROP_LENGTH, 1);
		return 0;
	}
	if ((d = domain_get(p, &src->addr, src->port, TPROTO_IPFIX,
	    key.domain)) == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return 0;
	}
	tb.export_ms = (int64_t)export_time * 1000;
	pkt.domain = key.domain;
	held = ipfix_sets(p, d, &msg, &key, &tb, src);
	pkt.records = (uint32_t)(p->delivered - before);
	/* IPFIX counts data records; a held set's are not known yet, so the
	 * next message cannot be checked against this one */
	pkt.lost = domain_sequence(p, d, pkt.sequence, pkt.records -
	    (uint32_t)(p->released - released));
	if (held)
		domain_sequence_unknown(d);
	pkt.resets = (uint32_t)(p->resets - resets);
	pkt.noted = &d->noted;
	if (p->ops.packet)
		p->ops.packet(&pkt, p->arg);
	return pkt.records;
}
