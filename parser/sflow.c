/*
 * sFlow v5 (sflow.org, sflow_version_5.txt): a datagram header, then
 * samples, each (format, length, bytes); a flow or counter sample holds
 * records, each (format, length, bytes) again. Every sample and record is
 * a sub-cursor split off before it is read, so a lying inner length ends
 * that sample or record and never the walk over the rest.
 *
 * One flow sample becomes one record (one JSON line) in NetFlow's core
 * keys; one counter sample one record of kind counters. Formats are
 * (enterprise << 12 | format); only enterprise 0 is decoded, the rest is
 * skipped and counted as unknown_format.
 */
#include <stdio.h>
#include <string.h>

#include "sflow-private.h"

/* sample formats */
#define SAMPLE_FLOW 1
#define SAMPLE_COUNTERS 2
#define SAMPLE_FLOW_EXPANDED 3
#define SAMPLE_COUNTERS_EXPANDED 4
/* flow record formats */
#define FLOW_RAW_HEADER 1
#define FLOW_ETHERNET 2
#define FLOW_IPV4 3
#define FLOW_IPV6 4
#define FLOW_EXT_SWITCH 1001
#define FLOW_EXT_ROUTER 1002
#define FLOW_EXT_GATEWAY 1003
/* counter record formats */
#define COUNTERS_GENERIC 1
#define COUNTERS_ETHERNET 2

/* interface encodings in the top two bits (compact) or a word (expanded) */
#define IF_SINGLE 0
#define IF_DISCARDED 1
#define IF_MULTIPLE 2

/* an AS path longer than this is cut: what a line can hold */
#define AS_PATH_MAX 256

static const struct ie_info sflow_keys[SK_MAX] = {
	[SK_SAMPLE_POOL] = { SFLOW_PEN, SK_SAMPLE_POOL, IE_UNSIGNED, "sample_pool" },
	[SK_DROPS] = { SFLOW_PEN, SK_DROPS, IE_UNSIGNED, "drops" },
	[SK_SOURCE_ID_TYPE] = { SFLOW_PEN, SK_SOURCE_ID_TYPE, IE_UNSIGNED,
	    "source_id_type" },
	[SK_SOURCE_ID_INDEX] = { SFLOW_PEN, SK_SOURCE_ID_INDEX, IE_UNSIGNED,
	    "source_id_index" },
	[SK_IN_IF_DISCARDED] = { SFLOW_PEN, SK_IN_IF_DISCARDED, IE_UNSIGNED,
	    "in_if_discarded" },
	[SK_IN_IF_MULTIPLE] = { SFLOW_PEN, SK_IN_IF_MULTIPLE, IE_UNSIGNED,
	    "in_if_multiple" },
	[SK_OUT_IF_DISCARDED] = { SFLOW_PEN, SK_OUT_IF_DISCARDED, IE_UNSIGNED,
	    "out_if_discarded" },
	[SK_OUT_IF_MULTIPLE] = { SFLOW_PEN, SK_OUT_IF_MULTIPLE, IE_UNSIGNED,
	    "out_if_multiple" },
	[SK_SRC_PRIORITY] = { SFLOW_PEN, SK_SRC_PRIORITY, IE_UNSIGNED,
	    "src_priority" },
	[SK_DST_PRIORITY] = { SFLOW_PEN, SK_DST_PRIORITY, IE_UNSIGNED,
	    "dst_priority" },
	[SK_AS_PATH] = { SFLOW_PEN, SK_AS_PATH, IE_STRING, "as_path" },
	[SK_HEADER_PROTOCOL] = { SFLOW_PEN, SK_HEADER_PROTOCOL, IE_UNSIGNED,
	    "header_protocol" },
	[SK_COUNTERS_FORMAT] = { SFLOW_PEN, SK_COUNTERS_FORMAT, IE_UNSIGNED,
	    "counters_format" },
	[SK_COUNTERS_DATA] = { SFLOW_PEN, SK_COUNTERS_DATA, IE_OCTETS,
	    "counters_data" },
};

const struct ie_info *
sflow_key_info(enum sflow_key k)
{
	return &sflow_keys[k];
}

static const uint16_t iana_ids[SI_MAX] = {
	[SI_SRC_MAC] = 56, [SI_DST_MAC] = 80, [SI_ETHERNET_TYPE] = 256,
	[SI_VLAN] = 58, [SI_POST_VLAN] = 59, [SI_NEXT_ADJACENT_AS] = 128,
	[SI_PREV_ADJACENT_AS] = 129, [SI_BGP_NEXT_HOP4] = 18,
	[SI_BGP_NEXT_HOP6] = 63, [SI_FRAGMENT_ID] = 54, [SI_IP_VERSION] = 60,
	[SI_FLOW_LABEL] = 31, [SI_FRAGMENT_OFFSET] = 88, [SI_TTL] = 192,
	[SI_FRAGMENT_FLAGS] = 197, [SI_DOT1Q_VLAN] = 243,
	[SI_DOT1Q_PRIORITY] = 244, [SI_DOT1Q_CUSTOMER_VLAN] = 245,
	[SI_DOT1Q_CUSTOMER_PRIORITY] = 246,
	[SI_MPLS] = 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
};

void
sflow_iana_resolve(const struct ie_info **ie)
{
	for (int i = 0; i < SI_MAX; i++)
		ie[i] = ie_lookup(0, iana_ids[i]);
}

/* ---- building the record ---- */

static void
sample_begin(struct sflow_sample *s, const struct parser_source *src,
    const struct parser_addr *agent, uint32_t sub_agent, uint8_t kind)
{
	struct flow_record *rec = &s->rec;

	memset(rec, 0, sizeof(*rec));
	rec->src = src;
	rec->kind = kind;
	rec->version = 5;
	rec->format = FLOW_FORMAT_SFLOW;
	rec->has_domain = true;
	rec->domain = sub_agent;
	rec->extra = s->fields;
	if (agent->family != 0) {
		rec->addr[FLOW_AGENT] = *agent;
		rec->has_addr = 1u << FLOW_AGENT;
	}
	s->used = 0;
}

void
sflow_field(struct sflow_sample *s, const struct ie_info *ie,
    const uint8_t *data, size_t len)
{
	struct flow_field *f;

	if (s->rec.nextra >= SFLOW_FIELDS_MAX || ie == NULL)
		return;
	f = &s->fields[s->rec.nextra++];
	f->ie = ie;
	f->pen = ie->pen;
	f->id = ie->id;
	f->len = (uint16_t)len;
	f->flags = 0;
	f->data = data;
}

void
sflow_field_once(struct sflow_sample *s, const struct ie_info *ie,
    const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < s->rec.nextra; i++)
		if (s->fields[i].ie == ie)
			return;
	sflow_field(s, ie, data, len);
}

void
sflow_field_uint(struct sflow_sample *s, const struct ie_info *ie,
    uint64_t v, size_t len)
{
	uint8_t *b = s->scratch + s->used;

	if (len == 0 || len > 8 || len > SFLOW_SCRATCH - s->used)
		return;
	for (size_t i = len; i-- > 0; v >>= 8)
		b[i] = (uint8_t)v;
	s->used += len;
	sflow_field(s, ie, b, len);
}

void
sflow_field_copy(struct sflow_sample *s, const struct ie_info *ie,
    const uint8_t *data, size_t len)
{
	uint8_t *b = s->scratch + s->used;

	if (len > SFLOW_SCRATCH - s->used)
		return;
	memcpy(b, data, len);
	s->used += len;
	sflow_field(s, ie, b, len);
}

void
sflow_num(struct sflow_sample *s, enum flow_num k, uint64_t v)
{
	if (s->rec.has_num & (1u << k))
		return;
	s->rec.num[k] = v;
	s->rec.has_num |= 1u << k;
}

void
sflow_addr(struct sflow_sample *s, enum flow_addr_key k, uint8_t family,
    const uint8_t *bytes)
{
	struct parser_addr *a = &s->rec.addr[k];

	if (s->rec.has_addr & (1u << k))
		return;
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->bytes, bytes, family == 4 ? 4 : 16);
	s->rec.has_addr |= 1u << k;
}

/* ---- reading ---- */

/* sFlow address: type 1 IPv4, 2 IPv6, 0 unknown (family 0). */
static bool
read_address(struct cursor *c, struct parser_addr *a)
{
	uint32_t type;
	const uint8_t *b;

	memset(a, 0, sizeof(*a));
	if (!cursor_u32(c, &type))
		return false;
	if (type == 0)
		return true;
	if ((type != 1 && type != 2) || !cursor_take(c, type == 1 ? 4 : 16, &b))
		return false;
	a->family = type == 1 ? 4 : 6;
	memcpy(a->bytes, b, type == 1 ? 4 : 16);
	return true;
}

/* Several u32 in a row; false (outputs partly set) when they do not fit. */
static bool
read_u32s(struct cursor *c, uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!cursor_u32(c, &v[i]))
			return false;
	return true;
}

/* One length-prefixed element: its format and its bytes as a sub-cursor. */
static bool
read_element(struct cursor *c, uint32_t *format, struct cursor *sub)
{
	uint32_t len;

	return cursor_u32(c, format) && cursor_u32(c, &len) &&
	    cursor_sub(c, len, sub);
}

/* ---- flow records ---- */

static bool
raw_header(struct sflow_sample *s, struct cursor *c)
{
	uint32_t v[4];   /* protocol, frame length, stripped, header length */
	struct cursor hdr;

	if (!read_u32s(c, v, 4) || !cursor_sub(c, v[3], &hdr))
		return false;
	sflow_num(s, FLOW_BYTES, v[1]);
	sflow_header_decode(s, v[0], &hdr);
	return true;
}

static bool
ethernet(struct sflow_sample *s, struct cursor *c)
{
	uint32_t len, type;
	const uint8_t *src, *dst;

	/* MACs are XDR opaque[6]: padded to 8 */
	if (!cursor_u32(c, &len) || !cursor_take(c, 6, &src) ||
	    !cursor_skip(c, 2) || !cursor_take(c, 6, &dst) ||
	    !cursor_skip(c, 2) || !cursor_u32(c, &type))
		return false;
	sflow_num(s, FLOW_BYTES, len);
	sflow_field_once(s, s->iana[SI_SRC_MAC], src, 6);
	sflow_field_once(s, s->iana[SI_DST_MAC], dst, 6);
	if (type <= 0xffff) {
		bool seen = false;

		for (size_t i = 0; i < s->rec.nextra; i++)
			seen |= s->fields[i].ie == s->iana[SI_ETHERNET_TYPE];
		if (!seen)
			sflow_field_uint(s, s->iana[SI_ETHERNET_TYPE], type, 2);
	}
	return true;
}

/* Sampled IPv4 (format 3) and IPv6 (4): the same fields, two address
 * sizes. The IP length is the frame length only if nothing better came. */
static bool
sampled_ip(struct sflow_sample *s, struct cursor *c, uint8_t family)
{
	size_t alen = family == 4 ? 4 : 16;
	uint32_t len, proto, v[4];  /* ports, TCP flags, tos / priority */
	const uint8_t *src, *dst;

	if (!cursor_u32(c, &len) || !cursor_u32(c, &proto) ||
	    !cursor_take(c, alen, &src) || !cursor_take(c, alen, &dst) ||
	    !read_u32s(c, v, 4))
		return false;
	sflow_num(s, FLOW_BYTES, len);
	sflow_addr(s, FLOW_SRC_ADDR, family, src);
	sflow_addr(s, FLOW_DST_ADDR, family, dst);
	sflow_num(s, FLOW_PROTO, proto);
	if (proto == 1 || proto == 58) {
		sflow_num(s, FLOW_ICMP_TYPE, v[0]);
		sflow_num(s, FLOW_ICMP_CODE, v[1]);
	} else {
		sflow_num(s, FLOW_SRC_PORT, v[0]);
		sflow_num(s, FLOW_DST_PORT, v[1]);
	}
	if (proto == 6)
		sflow_num(s, FLOW_TCP_FLAGS, v[2]);
	sflow_num(s, FLOW_TOS, v[3]);
	return true;
}

static bool
ext_switch(struct sflow_sample *s, struct cursor *c)
{
	uint32_t v[4];   /* src vlan, src priority, dst vlan, dst priority */

	if (!read_u32s(c, v, 4))
		return false;
	sflow_field_uint(s, s->iana[SI_VLAN], v[0], 2);
	sflow_field_uint(s, s->iana[SI_POST_VLAN], v[2], 2);
	sflow_field_uint(s, sflow_key_info(SK_SRC_PRIORITY), v[1], 1);
	sflow_field_uint(s, sflow_key_info(SK_DST_PRIORITY), v[3], 1);
	return true;
}

static bool
ext_router(struct sflow_sample *s, struct cursor *c)
{
	struct parser_addr nh;
	uint32_t masks[2];

	if (!read_address(c, &nh) || !read_u32s(c, masks, 2))
		return false;
	if (nh.family != 0)
		sflow_addr(s, FLOW_NEXT_HOP, nh.family, nh.bytes);
	sflow_num(s, FLOW_SRC_MASK, masks[0]);
	sflow_num(s, FLOW_DST_MASK, masks[1]);
	return true;
}

/* Appends text to the AS path being built in scratch; once something
 * does not fit, nothing more does (a cut path, never a garbled one). */
static void
path_put(char *path, size_t *len, bool *cut, const char *text)
{
	size_t n = strlen(text);

	if (*cut || *len + n > AS_PATH_MAX) {
		*cut = true;
		return;
	}
	memcpy(path + *len, text, n);
	*len += n;
}

/* The AS path as text, as pmacct writes it: "64500 64501 {64502,64503}"
 * (AS_SET in braces). dst_as is its last AS, bgpNextAdjacentAsNumber its
 * first. */
static bool
as_path(struct sflow_sample *s, struct cursor *c)
{
	char *path = (char *)s->scratch + s->used, num[16];
	uint32_t nseg, type, n, as, first = 0, last = 0;
	size_t len = 0;
	/* a sample full of other fields still gets dst_as */
	bool any = false, cut = SFLOW_SCRATCH - s->used < AS_PATH_MAX;

	if (!cursor_u32(c, &nseg))
		return false;
	for (uint32_t i = 0; i < nseg; i++) {
		bool set;

		if (!cursor_u32(c, &type) || !cursor_u32(c, &n))
			return false;
		set = type == 1;
		if (len > 0)
			path_put(path, &len, &cut, " ");
		for (uint32_t j = 0; j < n; j++) {
			if (!cursor_u32(c, &as))
				return false;
			snprintf(num, sizeof(num), "%s%u",
			    j == 0 ? (set ? "{" : "") : (set ? "," : " "), as);
			path_put(path, &len, &cut, num);
			first = any ? first : as;
			last = as;
			any = true;
		}
		if (set && n > 0)
			path_put(path, &len, &cut, "}");
	}
	if (!any)
		return true;
	if (len > 0) {
		s->used += len;
		sflow_field(s, sflow_key_info(SK_AS_PATH), (const uint8_t *)path,
		    len);
	}
	sflow_num(s, FLOW_DST_AS, last);
	sflow_field_uint(s, s->iana[SI_NEXT_ADJACENT_AS], first, 4);
	return true;
}

static bool
ext_gateway(struct sflow_sample *s, struct cursor *c)
{
	struct parser_addr nh;
	uint32_t v[3];   /* router AS, src AS, src peer AS */

	if (!read_address(c, &nh) || !read_u32s(c, v, 3))
		return false;
	if (nh.family != 0)
		sflow_field_copy(s, s->iana[nh.family == 4 ? SI_BGP_NEXT_HOP4 :
		    SI_BGP_NEXT_HOP6],
		    nh.bytes, nh.family == 4 ? 4 : 16);
	sflow_num(s, FLOW_SRC_AS, v[1]);
	sflow_field_uint(s, s->iana[SI_PREV_ADJACENT_AS], v[2], 4);
	/* communities and local preference follow; not decoded */
	return as_path(s, c);
}

static void
flow_record(struct parser *p, struct sflow_sample *s, uint32_t format,
    struct cursor *c)
{
	bool ok;

	switch (format) {
	case FLOW_RAW_HEADER:
		ok = raw_header(s, c);
		break;
	case FLOW_ETHERNET:
		ok = ethernet(s, c);
		break;
	case FLOW_IPV4:
		ok = sampled_ip(s, c, 4);
		break;
	case FLOW_IPV6:
		ok = sampled_ip(s, c, 6);
		break;
	case FLOW_EXT_SWITCH:
		ok = ext_switch(s, c);
		break;
	case FLOW_EXT_ROUTER:
		ok = ext_router(s, c);
		break;
	case FLOW_EXT_GATEWAY:
		ok = ext_gateway(s, c);
		break;
	default:
		parser_drop(p, s->rec.src, PARSER_DROP_UNKNOWN_FORMAT, 1);
		return;
	}
	/* shorter than its format: what was read before the end stays */
	if (!ok)
		parser_drop(p, s->rec.src, PARSER_DROP_BAD_RECORD, 1);
}

/* ---- counter records ---- */

struct counter_def {
	struct ie_info ie;
	uint8_t len;
};

#define GENERIC(id, len, name) { { SFLOW_PEN, 100 + (id), IE_UNSIGNED, name }, len }
#define DOT3(id, name) { { SFLOW_PEN, 200 + (id), IE_UNSIGNED, name }, 4 }

/* generic interface counters (format 1): the IF-MIB's, in its order */
static const struct counter_def generic_counters[] = {
	GENERIC(0, 4, "if_index"), GENERIC(1, 4, "if_type"),
	GENERIC(2, 8, "if_speed"), GENERIC(3, 4, "if_direction"),
	GENERIC(4, 4, "if_status"), GENERIC(5, 8, "if_in_octets"),
	GENERIC(6, 4, "if_in_ucast_pkts"), GENERIC(7, 4, "if_in_multicast_pkts"),
	GENERIC(8, 4, "if_in_broadcast_pkts"), GENERIC(9, 4, "if_in_discards"),
	GENERIC(10, 4, "if_in_errors"), GENERIC(11, 4, "if_in_unknown_protos"),
	GENERIC(12, 8, "if_out_octets"), GENERIC(13, 4, "if_out_ucast_pkts"),
	GENERIC(14, 4, "if_out_multicast_pkts"),
	GENERIC(15, 4, "if_out_broadcast_pkts"), GENERIC(16, 4, "if_out_discards"),
	GENERIC(17, 4, "if_out_errors"), GENERIC(18, 4, "if_promiscuous_mode"),
};

/* Ethernet counters (format 2): EtherLike-MIB's dot3Stats */
static const struct counter_def ethernet_counters[] = {
	DOT3(0, "dot3_stats_alignment_errors"), DOT3(1, "dot3_stats_fcs_errors"),
	DOT3(2, "dot3_stats_single_collision_frames"),
	DOT3(3, "dot3_stats_multiple_collision_frames"),
	DOT3(4, "dot3_stats_sqe_test_errors"),
	DOT3(5, "dot3_stats_deferred_transmissions"),
	DOT3(6, "dot3_stats_late_collisions"),
	DOT3(7, "dot3_stats_excessive_collisions"),
	DOT3(8, "dot3_stats_internal_mac_transmit_errors"),
	DOT3(9, "dot3_stats_carrier_sense_errors"),
	DOT3(10, "dot3_stats_frame_too_longs"),
	DOT3(11, "dot3_stats_internal_mac_receive_errors"),
	DOT3(12, "dot3_stats_symbol_errors"),
};

#define NDEFS(a) (sizeof(a) / sizeof((a)[0]))

/* Fields straight from the datagram's bytes; false when it is short. */
static bool
counter_fields(struct sflow_sample *s, struct cursor *c,
    const struct counter_def *defs, size_t n)
{
	const uint8_t *b;

	for (size_t i = 0; i < n; i++) {
		if (!cursor_take(c, defs[i].len, &b))
			return false;
		sflow_field(s, &defs[i].ie, b, defs[i].len);
	}
	return true;
}

/* Known formats by name; any other is kept raw: its format number
 * (enterprise << 12 | format) and its bytes as hex. */
static void
counter_record(struct parser *p, struct sflow_sample *s, uint32_t format,
    struct cursor *c)
{
	const uint8_t *b;
	bool ok = true;

	if (format == COUNTERS_GENERIC) {
		ok = counter_fields(s, c, generic_counters,
		    NDEFS(generic_counters));
	} else if (format == COUNTERS_ETHERNET) {
		ok = counter_fields(s, c, ethernet_counters,
		    NDEFS(ethernet_counters));
	} else {
		size_t len = cursor_left(c);

		/* flow_field.len is 16 bits; a datagram never holds more */
		if (len <= 0xffff && cursor_take(c, len, &b)) {
			sflow_field_uint(s, sflow_key_info(SK_COUNTERS_FORMAT),
			    format, 4);
			sflow_field(s, sflow_key_info(SK_COUNTERS_DATA), b, len);
		}
	}
	if (!ok)
		parser_drop(p, s->rec.src, PARSER_DROP_BAD_RECORD, 1);
}

/* ---- samples ---- */

/* What a flow sample says before its records, both encodings. */
struct flow_head {
	uint32_t seq, type, index, rate, pool, drops;
	uint32_t in_format, in_value, out_format, out_value, nrecords;
};

static bool
read_flow_head(struct cursor *c, bool expanded, struct flow_head *h)
{
	uint32_t v[11];

	if (expanded) {
		if (!read_u32s(c, v, 11))
			return false;
	} else {
		if (!read_u32s(c, v, 8))
			return false;
		/* source id: type in the top byte; interfaces: format in the
		 * top two bits */
		v[10] = v[7];
		v[8] = v[6] >> 30;
		v[9] = v[6] & 0x3fffffff;
		v[6] = v[5] >> 30;
		v[7] = v[5] & 0x3fffffff;
		v[5] = v[4];
		v[4] = v[3];
		v[3] = v[2];
		v[2] = v[1] & 0xffffff;
		v[1] >>= 24;
	}
	*h = (struct flow_head){ v[0], v[1], v[2], v[3], v[4], v[5], v[6],
	    v[7], v[8], v[9], v[10] };
	return true;
}

/* in_if/out_if for a single interface; the discarded (reason code) and
 * multiple (interface count, 0 unknown) encodings get keys of their own. */
static void
interface(struct sflow_sample *s, enum flow_num k, uint32_t format,
    uint32_t value)
{
	bool in = k == FLOW_IN_IF;

	if (format == IF_SINGLE)
		sflow_num(s, k, value);
	else if (format == IF_DISCARDED)
		sflow_field_uint(s, sflow_key_info(in ? SK_IN_IF_DISCARDED :
		    SK_OUT_IF_DISCARDED), value, 4);
	else if (format == IF_MULTIPLE)
		sflow_field_uint(s, sflow_key_info(in ? SK_IN_IF_MULTIPLE :
		    SK_OUT_IF_MULTIPLE), value, 4);
}

/* The records of a sample: each skipped by its length before it is read.
 * A count the bytes do not back ends the walk with a counted drop; what
 * decoded so far stays. */
static void
records(struct parser *p, struct sflow_sample *s, struct cursor *c,
    uint32_t n, bool flows)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t format;
		struct cursor r;

		if (!read_element(c, &format, &r)) {
			parser_drop(p, s->rec.src, PARSER_DROP_BAD_SAMPLE, 1);
			return;
		}
		if (flows)
			flow_record(p, s, format, &r);
		else
			counter_record(p, s, format, &r);
	}
}

/* The datagram being decoded. */
struct sflow_dgram {
	const struct parser_source *src;
	struct parser_addr agent;    /* family 0: the agent did not say */
	struct parser_addr key;      /* agent, else the UDP source */
	uint32_t sub_agent, seq, nsamples;
	uint32_t delivered, samples_lost;
};

static void
track(struct parser *p, struct sflow_dgram *g, uint8_t kind, uint32_t type,
    uint32_t index, uint32_t seq)
{
	struct sflow_source_key k = { .agent = g->key, .port = g->src->port,
	    .sub_agent = g->sub_agent, .type = type, .index = index,
	    .kind = kind };

	g->samples_lost += sflow_source_sequence(p, g->src, &k, seq);
}

static void
flow_sample(struct parser *p, struct sflow_dgram *g, struct sflow_sample *s,
    struct cursor *c, bool expanded)
{
	struct flow_head h;

	if (!read_flow_head(c, expanded, &h)) {
		parser_drop(p, g->src, PARSER_DROP_BAD_SAMPLE, 1);
		return;
	}
	track(p, g, SFLOW_FLOWS, h.type, h.index, h.seq);
	sample_begin(s, g->src, &g->agent, g->sub_agent, FLOW_KIND_DATA);
	/* sFlow has no flow times: a sample is one packet seen now */
	s->rec.start_ms = s->rec.end_ms = g->src->received_ms;
	s->rec.has_start = s->rec.has_end = true;
	sflow_num(s, FLOW_PACKETS, 1);
	if (h.rate != 0)
		sflow_num(s, FLOW_SAMPLING_INTERVAL, h.rate);
	interface(s, FLOW_IN_IF, h.in_format, h.in_value);
	interface(s, FLOW_OUT_IF, h.out_format, h.out_value);
	sflow_field_uint(s, sflow_key_info(SK_SAMPLE_POOL), h.pool, 4);
	sflow_field_uint(s, sflow_key_info(SK_DROPS), h.drops, 4);
	records(p, s, c, h.nrecords, true);
	record_deliver(p, &s->rec);
	g->delivered++;
}

static void
counter_sample(struct parser *p, struct sflow_dgram *g,
    struct sflow_sample *s, struct cursor *c, bool expanded)
{
	uint32_t v[4];   /* sequence, source id (type, index), records */

	if (!read_u32s(c, v, expanded ? 4 : 3)) {
		parser_drop(p, g->src, PARSER_DROP_BAD_SAMPLE, 1);
		return;
	}
	if (!expanded) {
		v[3] = v[2];
		v[2] = v[1] & 0xffffff;
		v[1] >>= 24;
	}
	track(p, g, SFLOW_COUNTERS, v[1], v[2], v[0]);
	sample_begin(s, g->src, &g->agent, g->sub_agent, FLOW_KIND_COUNTERS);
	sflow_field_uint(s, sflow_key_info(SK_SOURCE_ID_TYPE), v[1], 1);
	sflow_field_uint(s, sflow_key_info(SK_SOURCE_ID_INDEX), v[2], 4);
	records(p, s, c, v[3], false);
	record_deliver(p, &s->rec);
	g->delivered++;
}

static void
sample(struct parser *p, struct sflow_dgram *g, struct sflow_sample *s,
    uint32_t format, struct cursor *c)
{
	switch (format) {
	case SAMPLE_FLOW:
	case SAMPLE_FLOW_EXPANDED:
		flow_sample(p, g, s, c, format == SAMPLE_FLOW_EXPANDED);
		break;
	case SAMPLE_COUNTERS:
	case SAMPLE_COUNTERS_EXPANDED:
		counter_sample(p, g, s, c, format == SAMPLE_COUNTERS_EXPANDED);
		break;
	default:
		parser_drop(p, g->src, PARSER_DROP_UNKNOWN_FORMAT, 1);
	}
}

/* After the version: agent address, sub-agent, sequence, uptime, count. */
static bool
read_dgram_head(struct parser *p, struct cursor *c, struct sflow_dgram *g)
{
	uint32_t v[4];

	if (!read_address(c, &g->agent)) {
		parser_drop(p, g->src, cursor_left(c) < 8 ? PARSER_DROP_SHORT :
		    PARSER_DROP_BAD_SAMPLE, 1);
		return false;
	}
	if (!read_u32s(c, v, 4)) {
		parser_drop(p, g->src, PARSER_DROP_SHORT, 1);
		return false;
	}
	g->sub_agent = v[0];
	g->seq = v[1];
	g->nsamples = v[3];
	g->key = g->agent.family != 0 ? g->agent : g->src->addr;
	return true;
}

static void
report(struct parser *p, const struct sflow_dgram *g, uint32_t lost,
    uint64_t resets)
{
	struct parser_packet pkt = {
		.src = g->src, .format = FLOW_FORMAT_SFLOW, .version = 5,
		.domain = g->sub_agent, .sequence = g->seq,
		.records = g->delivered, .lost = lost,
		.samples_lost = g->samples_lost,
		.resets = (uint32_t)(p->resets - resets),
	};

	p->cur->counters.samples_lost += g->samples_lost;
	if (p->ops.packet)
		p->ops.packet(&pkt, p->arg);
}

size_t
sflow_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src)
{
	struct sflow_dgram g = { .src = src };
	struct sflow_sample s;
	struct domain *d;
	uint16_t low;
	uint32_t lost;
	uint64_t resets = p->resets;

	if (!cursor_u16(c, &low)) {
		parser_drop(p, src, PARSER_DROP_SHORT, 1);
		return 0;
	}
	if (low != 5) {
		parser_drop(p, src, PARSER_DROP_VERSION, 1);
		return 0;
	}
	if (!read_dgram_head(p, c, &g))
		return 0;
	if ((s.iana = sflow_iana(p, src)) == NULL)
		return 0;
	if ((d = domain_get(p, &g.key, src->port, TPROTO_SFLOW,
	    g.sub_agent)) == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return 0;
	}
	lost = domain_sequence(p, d, g.seq, 1);
	/* every sample takes at least 8 bytes: a huge count ends with them */
	for (uint32_t i = 0; i < g.nsamples; i++) {
		uint32_t format;
		struct cursor sc;

		if (!read_element(c, &format, &sc)) {
			parser_drop(p, src, PARSER_DROP_LENGTH, 1);
			break;
		}
		sample(p, &g, &s, format, &sc);
	}
	report(p, &g, lost, resets);
	return g.delivered;
}
