#include "record.h"

#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "bytes.h"
#include "counter.h"
#include "intern.h"
#include "oatab.h"
#include "timeutil.h"

enum field {
	F_NONE, F_TIME_RECEIVED, F_EXPORTER, F_VERSION, F_START, F_END,
	F_SRC_ADDR, F_DST_ADDR, F_SRC_PORT, F_DST_PORT, F_PROTO, F_ICMP_TYPE,
	F_ICMP_CODE, F_BYTES, F_PACKETS, F_TYPE, F_INIT_OCTETS, F_RESP_OCTETS,
	F_INIT_PACKETS, F_RESP_PACKETS, F_SAMPLING, F_FORMAT, F_FW_EVENT,
	/* Read for the filter and the statistics only: a value of the wrong
	 * type or range there is ignored (taken as missing), never a reason to
	 * drop the flow, since the connection list never needed them. */
	F_TCP_FLAGS, F_TOS, F_IN_IF, F_OUT_IF, F_SRC_AS, F_DST_AS, F_SRC_MASK,
	F_DST_MASK, F_NEXT_HOP, F_SRC_VLAN, F_DST_VLAN, F_PREV_AS, F_NEXT_AS,
	F_BGP_NEXT_HOP,
	/* Enrichment (issue 20): names interned, countries packed. */
	F_IN_IF_NAME, F_OUT_IF_NAME, F_SRC_AS_NAME, F_DST_AS_NAME, F_SRC_COUNTRY,
	F_DST_COUNTRY,
};

#define FW_EVENT_UPDATE 5	/* IANA firewallEvent, as ASA NSEL numbers it */

enum have {
	H_RECV = 1 << 0, H_START = 1 << 1, H_END = 1 << 2, H_SRC = 1 << 3,
	H_DST = 1 << 4, H_ICMP_TYPE = 1 << 5, H_ICMP_CODE = 1 << 6,
	H_BYTES = 1 << 7, H_PACKETS = 1 << 8, H_BIFLOW = 1 << 9,
};

/* In the order netflowd writes its core keys, so that the next key of a
 * line is nearly always the entry after the last one found (see lookup).
 * Keys listed with F_NONE are netflowd's own that nothing reads: listed so
 * the guess stays on track. */
static const struct field_def {
	const char *name;
	unsigned char len;
	enum field field;
	uint64_t max;		/* for numbers */
} fields[] = {
#define FD(n, f, m) { n, sizeof(n) - 1, f, m }
	FD("time_received", F_TIME_RECEIVED, 0),
	FD("exporter", F_EXPORTER, 0),
	FD("exporter_port", F_NONE, 0),
	FD("version", F_VERSION, 255),
	FD("format", F_FORMAT, 0),
	FD("agent", F_NONE, 0),
	FD("domain", F_NONE, 0),
	FD("type", F_TYPE, 0),
	FD("start", F_START, 0),
	FD("end", F_END, 0),
	FD("src_addr", F_SRC_ADDR, 0),
	FD("dst_addr", F_DST_ADDR, 0),
	FD("src_port", F_SRC_PORT, 65535),
	FD("dst_port", F_DST_PORT, 65535),
	FD("proto", F_PROTO, 255),
	FD("icmp_type", F_ICMP_TYPE, 255),
	FD("icmp_code", F_ICMP_CODE, 255),
	FD("bytes", F_BYTES, UINT64_MAX),
	FD("packets", F_PACKETS, UINT64_MAX),
	FD("tcp_flags", F_TCP_FLAGS, 65535),	/* IPFIX tcpControlBits is 16 bits */
	FD("tos", F_TOS, 255),
	FD("in_if", F_IN_IF, UINT32_MAX),
	FD("out_if", F_OUT_IF, UINT32_MAX),
	FD("next_hop", F_NEXT_HOP, 0),
	FD("src_as", F_SRC_AS, UINT32_MAX),
	FD("dst_as", F_DST_AS, UINT32_MAX),
	FD("src_mask", F_SRC_MASK, 128),
	FD("dst_mask", F_DST_MASK, 128),
	FD("sampling_interval", F_SAMPLING, UINT64_MAX),
	FD("initiatorOctets", F_INIT_OCTETS, UINT64_MAX),
	FD("responderOctets", F_RESP_OCTETS, UINT64_MAX),
	FD("initiatorPackets", F_INIT_PACKETS, UINT64_MAX),
	FD("responderPackets", F_RESP_PACKETS, UINT64_MAX),
	FD("firewallEvent", F_FW_EVENT, 255),
	FD("vlanId", F_SRC_VLAN, 65535),
	FD("postVlanId", F_DST_VLAN, 65535),
	FD("bgpPrevAdjacentAsNumber", F_PREV_AS, UINT32_MAX),
	FD("bgpNextAdjacentAsNumber", F_NEXT_AS, UINT32_MAX),
	FD("bgpNextHopIPv4Address", F_BGP_NEXT_HOP, 0),
	FD("bgpNextHopIPv6Address", F_BGP_NEXT_HOP, 0),
	/* written after the core keys, where a value was found */
	FD("in_if_name", F_IN_IF_NAME, 0),
	FD("out_if_name", F_OUT_IF_NAME, 0),
	FD("src_as_name", F_SRC_AS_NAME, 0),
	FD("dst_as_name", F_DST_AS_NAME, 0),
	FD("src_country", F_SRC_COUNTRY, 0),
	FD("dst_country", F_DST_COUNTRY, 0),
#undef FD
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define UNKNOWN_KEYS 8
#define UNKNOWN_KEY_MAX 31
#define NAME_CACHE 64
#define NAME_CACHE_LEN 47

struct record_parser {
	struct flow *flow;
	int depth;
	enum field current;	/* key whose value comes next (depth 1 only) */
	unsigned have;
	int64_t recv_ms;
	uint64_t init_octets, resp_octets, init_packets, resp_packets;
	uint64_t fw_event;
	bool not_flow;
	bool seen_object;
	const struct field_def *def;	/* of current */
	size_t hint;		/* where lookup looks first */
	/* Kept across lines (reset() spares them): */
	uint64_t fast, slow;	/* lines each path read */
	bool core_only;		/* record_parser_core_only() */
	/* Keys lookup found in no entry lately (netflowd writes a template's
	 * other IEs by name: flowDirection, ipVersion ...), so that each one
	 * costs a comparison, not a walk over the whole table. */
	struct {
		unsigned char len;
		char name[UNKNOWN_KEY_MAX];
	} unknown[UNKNOWN_KEYS];
	unsigned next_unknown;
	/* Names seen lately and their intern ids, so that a repeated name
	 * does not take intern's lock (direct-mapped by hash). */
	struct {
		uint32_t id;
		unsigned char len;
		char text[NAME_CACHE_LEN];
	} names[NAME_CACHE];
	struct {
		char date[10];		/* "YYYY-MM-DD" */
		int64_t ms;		/* its midnight */
		bool valid;
	} tcache;
};

struct record_parser *
record_parser_new(void)
{
	return calloc(1, sizeof(struct record_parser));
}

void
record_parser_free(struct record_parser *rp)
{
	free(rp);
}

/* No byte that ends or escapes a string, no control character, ASCII. */
static bool
plain_text(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static bool
lenient(enum field f)
{
	return f >= F_TCP_FLAGS;
}

/* The field a key names, as far as this parser decodes it. */
static enum field
wanted(const struct record_parser *rp, enum field f)
{
	return rp->core_only && f >= F_TCP_FLAGS && f <= F_BGP_NEXT_HOP ? F_NONE : f;
}

void
record_parser_core_only(struct record_parser *rp, bool on)
{
	rp->core_only = on;
}

/* The key's table entry, trying first the one after the previous key's:
 * on netflowd's own lines that guess is right for nearly every key. */
static void
lookup(struct record_parser *rp, const unsigned char *key, size_t len)
{
	rp->def = NULL;
	rp->current = F_NONE;
	for (size_t u = 0; u < UNKNOWN_KEYS; u++)
		if (rp->unknown[u].len == len && bytes_equal(rp->unknown[u].name, key, len))
			return;
	for (size_t n = 0; n < N_FIELDS; n++) {
		size_t i = rp->hint + n < N_FIELDS ? rp->hint + n : rp->hint + n - N_FIELDS;
		if (fields[i].len == len && fields[i].name[0] == key[0] &&
		    bytes_equal(fields[i].name, key, len)) {
			rp->hint = i + 1;
			rp->def = &fields[i];
			rp->current = wanted(rp, fields[i].field);
			return;
		}
	}
	/* Only keys the fast path could read in place (fast_string_end's
	 * bytes): a key the full parser decoded from escapes may not be
	 * matched in a line's raw text. */
	if (len > 0 && len <= UNKNOWN_KEY_MAX && plain_text(key, len)) {
		unsigned u = rp->next_unknown++ % UNKNOWN_KEYS;
		rp->unknown[u].len = (unsigned char)len;
		memcpy(rp->unknown[u].name, key, len);
	}
}

/* A value at depth 1 for a field we read; anything deeper is ignored. */
static bool
top_value(struct record_parser *rp)
{
	return rp->depth == 1 && rp->current != F_NONE;
}

static int
on_null(void *ctx)
{
	struct record_parser *rp = ctx;
	if (rp->depth == 0)
		return 0;
	rp->current = F_NONE;	/* null is the same as missing */
	return 1;
}

static int
on_boolean(void *ctx, int v)
{
	struct record_parser *rp = ctx;
	(void)v;
	if (rp->depth == 0 || (top_value(rp) && !lenient(rp->current)))
		return 0;
	return 1;
}

static int
set_number(struct record_parser *rp, uint64_t v)
{
	struct flow *f = rp->flow;

	if (v > rp->def->max)
		return lenient(rp->current);
	switch (rp->current) {
	case F_VERSION: f->version = (uint8_t)v; break;
	case F_SRC_PORT: f->src_port = (uint16_t)v; break;
	case F_DST_PORT: f->dst_port = (uint16_t)v; break;
	case F_PROTO: f->proto = (uint8_t)v; break;
	case F_ICMP_TYPE: f->icmp_type = (int16_t)v; rp->have |= H_ICMP_TYPE; break;
	case F_ICMP_CODE: f->icmp_code = (int16_t)v; rp->have |= H_ICMP_CODE; break;
	case F_BYTES: f->bytes = v; rp->have |= H_BYTES; break;
	case F_PACKETS: f->packets = v; rp->have |= H_PACKETS; break;
	case F_INIT_OCTETS: rp->init_octets = v; rp->have |= H_BIFLOW; break;
	case F_RESP_OCTETS: rp->resp_octets = v; rp->have |= H_BIFLOW; break;
	case F_INIT_PACKETS: rp->init_packets = v; rp->have |= H_BIFLOW; break;
	case F_RESP_PACKETS: rp->resp_packets = v; rp->have |= H_BIFLOW; break;
	case F_SAMPLING: f->sampling_interval = v; break;
	case F_FW_EVENT: rp->fw_event = v; break;
	case F_TCP_FLAGS: f->tcp_flags = (uint16_t)v; f->has_tcp_flags = true; break;
	case F_TOS: f->tos = (uint8_t)v; break;
	case F_IN_IF: f->in_if = (uint32_t)v; break;
	case F_OUT_IF: f->out_if = (uint32_t)v; break;
	case F_SRC_AS: f->src_as = (uint32_t)v; break;
	case F_DST_AS: f->dst_as = (uint32_t)v; break;
	case F_PREV_AS: f->prev_as = (uint32_t)v; break;
	case F_NEXT_AS: f->next_as = (uint32_t)v; break;
	case F_SRC_MASK: f->src_mask = (uint8_t)v; break;
	case F_DST_MASK: f->dst_mask = (uint8_t)v; break;
	case F_SRC_VLAN: f->src_vlan = (uint16_t)v; break;
	case F_DST_VLAN: f->dst_vlan = (uint16_t)v; break;
	default: return lenient(rp->current);	/* a number where a string belongs */
	}
	return 1;
}

/* A number for a key we read; 0 makes the line malformed. */
static int
number_value(struct record_parser *rp, const char *s, size_t len)
{
	char buf[32], *end;

	/* Counters are unsigned 64-bit: parse the text ourselves, since yajl's
	 * integer callback stops at INT64_MAX. */
	if (len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9')
		return lenient(rp->current);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strspn(buf, "0123456789") != len)
		return lenient(rp->current);
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return lenient(rp->current);
	return set_number(rp, v);
}

static int
on_number(void *ctx, const char *s, size_t len)
{
	struct record_parser *rp = ctx;

	if (rp->depth == 0)
		return 0;
	if (!top_value(rp))
		return 1;
	return number_value(rp, s, len);
}

/* A string for a key we read; 0 makes the line malformed. */
static int
two(const char *c)
{
	return (c[0] - '0') * 10 + (c[1] - '0');
}

static bool
all_digits(const char *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i] < '0' || c[i] > '9')
			return false;
	return true;
}

/* netflowd writes "YYYY-MM-DDTHH:MM:SS.mmmZ": for that form, once a date
 * has been parsed whole by time_parse_rfc3339, the same date's other times
 * are its midnight plus the clock, with the clock's ranges checked as
 * time_parse_rfc3339 checks them: the same result, exactly. */
static bool
parse_time(struct record_parser *rp, const char *c, size_t len, int64_t *ms)
{
	bool simple = len == 24 && c[4] == '-' && c[7] == '-' && c[10] == 'T' && c[13] == ':' &&
	    c[16] == ':' && c[19] == '.' && c[23] == 'Z' && all_digits(c + 11, 2) &&
	    all_digits(c + 14, 2) && all_digits(c + 17, 2) && all_digits(c + 20, 3);

	if (simple && rp->tcache.valid && bytes_equal(rp->tcache.date, c, 10)) {
		int h = two(c + 11), m = two(c + 14), sec = two(c + 17);
		if (h > 23 || m > 59 || sec > 60)
			return false;
		*ms = rp->tcache.ms + ((int64_t)h * 3600 + m * 60 + sec) * 1000 +
		    (c[20] - '0') * 100 + (c[21] - '0') * 10 + (c[22] - '0');
		return true;
	}
	if (!time_parse_rfc3339(c, len, ms))
		return false;
	if (simple) {
		int h = two(c + 11), m = two(c + 14), sec = two(c + 17);
		memcpy(rp->tcache.date, c, 10);
		rp->tcache.ms = *ms - (((int64_t)h * 3600 + m * 60 + sec) * 1000 +
		    (c[20] - '0') * 100 + (c[21] - '0') * 10 + (c[22] - '0'));
		rp->tcache.valid = true;
	}
	return true;
}

static uint32_t
name_id(struct record_parser *rp, const char *c, size_t len)
{
	if (len == 0 || len > NAME_CACHE_LEN)
		return intern(c, len);
	unsigned i = (unsigned)oatab_hash(c, len) & (NAME_CACHE - 1);
	if (rp->names[i].len == len && rp->names[i].id &&
	    bytes_equal(rp->names[i].text, c, len))
		return rp->names[i].id;
	uint32_t id = intern(c, len);
	if (id) {
		rp->names[i].id = id;
		rp->names[i].len = (unsigned char)len;
		memcpy(rp->names[i].text, c, len);
	}
	return id;
}

static int
string_value(struct record_parser *rp, const char *c, size_t len)
{
	struct flow *f = rp->flow;

	switch (rp->current) {
	case F_TIME_RECEIVED: rp->have |= H_RECV; return parse_time(rp, c, len, &rp->recv_ms);
	case F_START: rp->have |= H_START; return parse_time(rp, c, len, &f->start_ms);
	case F_END: rp->have |= H_END; return parse_time(rp, c, len, &f->end_ms);
	case F_SRC_ADDR: rp->have |= H_SRC; return addr_parse(&f->src, c, len);
	case F_DST_ADDR: rp->have |= H_DST; return addr_parse(&f->dst, c, len);
	case F_EXPORTER: return addr_parse(&f->exporter, c, len);
	case F_TYPE: rp->not_flow = !(len == 4 && memcmp(c, "flow", 4) == 0); return 1;
	case F_FORMAT: f->sflow = len == 5 && memcmp(c, "sflow", 5) == 0; return 1;
	case F_NEXT_HOP:
		if (!addr_parse(&f->next_hop, c, len))
			memset(&f->next_hop, 0, sizeof(f->next_hop));
		return 1;
	case F_BGP_NEXT_HOP:
		if (!addr_parse(&f->bgp_next_hop, c, len))
			memset(&f->bgp_next_hop, 0, sizeof(f->bgp_next_hop));
		return 1;
	case F_IN_IF_NAME: f->in_if_name = name_id(rp, c, len); return 1;
	case F_OUT_IF_NAME: f->out_if_name = name_id(rp, c, len); return 1;
	case F_SRC_AS_NAME: f->src_as_name = name_id(rp, c, len); return 1;
	case F_DST_AS_NAME: f->dst_as_name = name_id(rp, c, len); return 1;
	case F_SRC_COUNTRY: f->src_country = intern_country(c, len); return 1;
	case F_DST_COUNTRY: f->dst_country = intern_country(c, len); return 1;
	default: return lenient(rp->current);	/* a string where a number belongs */
	}
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct record_parser *rp = ctx;

	if (rp->depth == 0)
		return 0;
	if (!top_value(rp))
		return 1;
	return string_value(rp, (const char *)s, len);
}

static int
on_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct record_parser *rp = ctx;
	if (rp->depth == 1)
		lookup(rp, key, len);
	else
		rp->current = F_NONE;
	return 1;
}

static int
on_start_container(void *ctx, bool map)
{
	struct record_parser *rp = ctx;
	if (rp->depth == 0 && (!map || rp->seen_object))
		return 0;
	if (top_value(rp) && !lenient(rp->current))
		return 0;	/* a known key holding an object or array */
	if (rp->depth == 0)
		rp->seen_object = true;
	if (rp->depth >= 64)
		return 0;
	rp->depth++;
	return 1;
}

static int on_start_map(void *ctx) { return on_start_container(ctx, true); }
static int on_start_array(void *ctx) { return on_start_container(ctx, false); }

static int
on_end_container(void *ctx)
{
	struct record_parser *rp = ctx;
	rp->depth--;
	rp->current = F_NONE;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end_container,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_container,
};

/* Cisco ASA (NSEL) exports initiator and responder counters instead of
 * bytes and packets: one record for both directions of a connection. A
 * record that has bytes or packets is taken as the one direction it says. */
static void
take_biflow(struct record_parser *rp, struct flow *f)
{
	if (!(rp->have & H_BIFLOW) || (rp->have & (H_BYTES | H_PACKETS)))
		return;
	f->biflow = true;
	f->bytes = counter_add(rp->init_octets, rp->resp_octets);
	f->packets = counter_add(rp->init_packets, rp->resp_packets);
	f->rev_bytes = rp->resp_octets;
	f->rev_packets = rp->resp_packets;
}

static enum record_result
finish(struct record_parser *rp, struct flow *f)
{
	if (rp->not_flow)
		return RECORD_NOT_FLOW;
	if (rp->fw_event == FW_EVENT_UPDATE)
		return RECORD_FW_UPDATE;
	if ((rp->have & (H_SRC | H_DST)) != (H_SRC | H_DST))
		return RECORD_INCOMPLETE;
	if (!(rp->have & H_START))
		f->start_ms = (rp->have & H_END) ? f->end_ms : rp->recv_ms;
	if (!(rp->have & H_END))
		f->end_ms = f->start_ms;
	if (!(rp->have & (H_START | H_END | H_RECV)))
		return RECORD_INCOMPLETE;
	if (f->end_ms < f->start_ms)
		f->end_ms = f->start_ms;
	f->seen_ms = (rp->have & H_RECV) ? rp->recv_ms : f->end_ms;
	take_biflow(rp, f);
	if (flow_is_icmp(f) && !(rp->have & H_ICMP_TYPE)) {
		/* v1/v5 (and softflowd's v9) carry type << 8 | code in dst_port. */
		f->icmp_type = f->dst_port >> 8;
		f->icmp_code = f->dst_port & 0xff;
	} else if (flow_is_icmp(f) && !(rp->have & H_ICMP_CODE)) {
		f->icmp_code = 0;
	}
	return RECORD_FLOW;
}

static void
reset(struct record_parser *rp, struct flow *flow)
{
	memset(flow, 0, sizeof(*flow));
	flow->icmp_type = flow->icmp_code = -1;
	memset(rp, 0, offsetof(struct record_parser, fast));
	rp->flow = flow;
}

/* The length of the UTF-8 sequence at p as yajl's lexer accepts it (its
 * check is looser than the standard's: overlong forms and surrogates
 * pass, and the bytes then go as they are to both paths alike), or 0 for
 * one it refuses or that the text cuts off. */
static size_t
yajl_utf8_len(const char *p, const char *end)
{
	unsigned char c = (unsigned char)*p;
	size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;

	if (n == 0 || end - p < (ptrdiff_t)n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (((unsigned char)p[i] >> 6) != 0x2)
			return 0;
	return n;
}

/* The end of a string's text from p (just past its opening quote), or NULL
 * where the fast path does not read it: an escape, a control character,
 * DEL, or bytes outside ASCII that yajl would refuse (names from the
 * collector's enrichment are UTF-8: AS names often are not ASCII). */
static const char *
fast_string_end(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;

	/* eight bytes at a time while none is a quote, a backslash, a control
	 * character or outside ASCII (0x7f included); in the word that has
	 * one, the lowest flagged byte is the first such byte (borrows and
	 * carries only run upwards from a byte that is one itself): a quote
	 * ends the string, a UTF-8 sequence is stepped over */
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
		uint64_t special = (((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) |
		    (w - ones * 0x20) | (w + ones * 0x01) | w) & highs;
		if (special) {
			p += __builtin_ctzll(special) / 8;
			if (*p == '"')
				return p;
			size_t n = (unsigned char)*p >= 0x80 ? yajl_utf8_len(p, end) : 0;
			if (n == 0)
				return NULL;
			p += n;
			continue;
		}
		p += 8;
	}
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p;
		if (c < 0x20 || c == 0x7f || c == '\\')
			return NULL;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n = yajl_utf8_len(p, end);
		if (n == 0)
			return NULL;
		p += n;
	}
	return NULL;
}

/* The end of an unsigned integer from p, or NULL for any other number
 * (sign, fraction, exponent, leading zero: the full parser's business). */
static const char *
fast_number_end(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && *q >= '0' && *q <= '9')
		q++;
	if (q == p || (*p == '0' && q - p > 1))
		return NULL;
	if (q < end && (*q == '.' || *q == 'e' || *q == 'E'))
		return NULL;
	return q;
}

/* number_value for text fast_number_end accepted (digits only, no leading
 * zero): up to 19 digits cannot overflow; longer ones take the general way. */
static int
fast_number(struct record_parser *rp, const char *s, size_t len)
{
	uint64_t v = 0;

	if (len > 19)
		return number_value(rp, s, len);
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return set_number(rp, v);
}

/* Whether the text at key is "name": (name being plain_text). */
static inline bool
key_is(const char *key, const char *end, const char *name, size_t len)
{
	return end - key > (ptrdiff_t)len + 1 && key[len] == '"' && key[len + 1] == ':' &&
	    bytes_equal(key, name, len);
}

/* The key at key matched in place against what netflowd writes next most
 * of the time: the entry after the last key's, or one of the two after it
 * (keys an exporter does not send), or a key lookup found in no entry
 * lately. Returns the key's closing quote with rp->def and rp->current
 * set as lookup sets them (table names are unique, so which entry matches
 * first does not matter), or NULL for lookup to decide. */
static const char *
guess_key(struct record_parser *rp, const char *key, const char *end)
{
	for (size_t i = rp->hint; i < rp->hint + 3 && i < N_FIELDS; i++) {
		const struct field_def *d = &fields[i];
		if (key_is(key, end, d->name, d->len)) {
			rp->def = d;
			rp->current = wanted(rp, d->field);
			rp->hint = i + 1;
			return key + d->len;
		}
	}
	for (size_t u = 0; u < UNKNOWN_KEYS; u++) {
		size_t len = rp->unknown[u].len;
		if (len && key_is(key, end, rp->unknown[u].name, len)) {
			rp->def = NULL;
			rp->current = F_NONE;
			return key + len;
		}
	}
	return NULL;
}

/* netflowd's own lines: one flat object, no spaces, keys and strings
 * without escapes, values strings or unsigned integers. Reads them with the
 * same value handlers as the yajl path, so a line gets the same result
 * whichever path reads it. Returns false, having decided nothing, for any
 * line it does not read; *res is the result otherwise. */
static bool
fast_parse(struct record_parser *rp, const char *p, const char *end,
    enum record_result *res)
{
	if (p == end || *p++ != '{')
		return false;
	if (p < end && *p == '}') {
		p++;
		goto close;
	}
	for (;;) {
		if (p == end || *p != '"')
			return false;
		const char *key = ++p, *q;
		if (!(q = guess_key(rp, key, end))) {
			if (!(q = fast_string_end(p, end)) || q + 1 >= end || q[1] != ':')
				return false;
			lookup(rp, (const unsigned char *)key, (size_t)(q - key));
		}
		p = q + 2;
		if (p == end)
			return false;
		if (*p == '"') {
			const char *v = p + 1;
			if (!(q = fast_string_end(v, end)))
				return false;
			if (rp->current != F_NONE && !string_value(rp, v, (size_t)(q - v))) {
				*res = RECORD_MALFORMED;
				return true;
			}
			p = q + 1;
		} else {
			if (!(q = fast_number_end(p, end)))
				return false;
			if (rp->current != F_NONE && !fast_number(rp, p, (size_t)(q - p))) {
				*res = RECORD_MALFORMED;
				return true;
			}
			p = q;
		}
		if (p == end)
			return false;
		if (*p == '}') {
			p++;
			break;
		}
		if (*p++ != ',')
			return false;
	}
close:
	if (p != end)
		return false;
	rp->seen_object = true;
	*res = finish(rp, rp->flow);
	return true;
}

static enum record_result
slow_parse(struct record_parser *rp, const char *line, size_t len, struct flow *flow)
{
	yajl_handle h = yajl_alloc(&callbacks, NULL, rp);
	if (!h)
		return RECORD_MALFORMED;
	bool ok = yajl_parse(h, (const unsigned char *)line, len) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok && rp->seen_object;
	yajl_free(h);
	if (!ok)
		return RECORD_MALFORMED;
	return finish(rp, flow);
}

static size_t
skip_blank(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	return i;
}

enum record_result
record_parse_path(struct record_parser *rp, const char *line, size_t len,
    struct flow *flow, enum record_path path)
{
	size_t i = skip_blank(line, len);
	enum record_result res;

	if (i == len)
		return RECORD_EMPTY;
	reset(rp, flow);
	if (path != RECORD_PATH_FULL && fast_parse(rp, line + i, line + len, &res)) {
		rp->fast++;
		return res;
	}
	if (path == RECORD_PATH_FAST)
		return RECORD_NOT_FAST;
	reset(rp, flow);
	rp->slow++;
	return slow_parse(rp, line, len, flow);
}

enum record_result
record_parse(struct record_parser *rp, const char *line, size_t len, struct flow *flow)
{
	return record_parse_path(rp, line, len, flow, RECORD_PATH_AUTO);
}

void
record_parser_paths(const struct record_parser *rp, uint64_t *fast, uint64_t *slow)
{
	*fast = rp->fast;
	*slow = rp->slow;
}

/* ---- one key's value, for the filter's `field NAME` ---- */

struct field_lookup {
	const char *name;
	int depth;
	bool want;		/* the next value at depth 1 is the key's */
	bool found;
	struct record_value *v;
};

static int
fl_value(struct field_lookup *fl, bool is_string, const char *s, size_t len)
{
	if (fl->depth == 1 && fl->want) {
		fl->v->is_string = is_string;
		if (len >= RECORD_VALUE_MAX)
			len = RECORD_VALUE_MAX - 1;
		memcpy(fl->v->text, s, len);
		fl->v->text[len] = '\0';
		fl->found = true;
	}
	fl->want = false;
	return 1;
}

static int fl_null(void *ctx) { ((struct field_lookup *)ctx)->want = false; return 1; }
static int fl_bool(void *ctx, int b) { return fl_value(ctx, false, b ? "1" : "0", 1); }
static int fl_number(void *ctx, const char *s, size_t len) { return fl_value(ctx, false, s, len); }
static int
fl_string(void *ctx, const unsigned char *s, size_t len)
{
	return fl_value(ctx, true, (const char *)s, len);
}

static int
fl_key(void *ctx, const unsigned char *key, size_t len)
{
	struct field_lookup *fl = ctx;
	fl->want = fl->depth == 1 && strlen(fl->name) == len && memcmp(fl->name, key, len) == 0;
	return 1;
}

static int
fl_start(void *ctx)
{
	struct field_lookup *fl = ctx;
	if (fl->depth == 1)
		fl->want = false;
	return ++fl->depth < 64;
}

static int
fl_end(void *ctx)
{
	((struct field_lookup *)ctx)->depth--;
	return 1;
}

static const yajl_callbacks fl_callbacks = {
	.yajl_null = fl_null, .yajl_boolean = fl_bool, .yajl_number = fl_number,
	.yajl_string = fl_string, .yajl_start_map = fl_start, .yajl_map_key = fl_key,
	.yajl_end_map = fl_end, .yajl_start_array = fl_start, .yajl_end_array = fl_end,
};

bool
record_field(const char *line, size_t len, const char *name, struct record_value *v)
{
	struct field_lookup fl = { .name = name, .v = v };
	yajl_handle h = yajl_alloc(&fl_callbacks, NULL, &fl);

	if (!h)
		return false;
	bool ok = yajl_parse(h, (const unsigned char *)line, len) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok && fl.found;
}
