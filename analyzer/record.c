#include "record.h"

#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "counter.h"
#include "timeutil.h"

enum field {
	F_NONE, F_TIME_RECEIVED, F_EXPORTER, F_VERSION, F_START, F_END,
	F_SRC_ADDR, F_DST_ADDR, F_SRC_PORT, F_DST_PORT, F_PROTO, F_ICMP_TYPE,
	F_ICMP_CODE, F_BYTES, F_PACKETS, F_TYPE, F_INIT_OCTETS, F_RESP_OCTETS,
	F_INIT_PACKETS, F_RESP_PACKETS, F_SAMPLING, F_FORMAT, F_FW_EVENT, F_TCP_FLAGS,
};

#define FW_EVENT_UPDATE 5	/* IANA firewallEvent, as ASA NSEL numbers it */

enum have {
	H_RECV = 1 << 0, H_START = 1 << 1, H_END = 1 << 2, H_SRC = 1 << 3,
	H_DST = 1 << 4, H_ICMP_TYPE = 1 << 5, H_ICMP_CODE = 1 << 6,
	H_BYTES = 1 << 7, H_PACKETS = 1 << 8, H_BIFLOW = 1 << 9,
};

static const struct {
	const char *name;
	enum field field;
	uint64_t max;		/* for numbers */
} fields[] = {
	{ "time_received", F_TIME_RECEIVED, 0 },
	{ "exporter", F_EXPORTER, 0 },
	{ "version", F_VERSION, 255 },
	{ "start", F_START, 0 },
	{ "end", F_END, 0 },
	{ "src_addr", F_SRC_ADDR, 0 },
	{ "dst_addr", F_DST_ADDR, 0 },
	{ "src_port", F_SRC_PORT, 65535 },
	{ "dst_port", F_DST_PORT, 65535 },
	{ "proto", F_PROTO, 255 },
	{ "icmp_type", F_ICMP_TYPE, 255 },
	{ "icmp_code", F_ICMP_CODE, 255 },
	{ "bytes", F_BYTES, UINT64_MAX },
	{ "packets", F_PACKETS, UINT64_MAX },
	{ "type", F_TYPE, 0 },
	{ "initiatorOctets", F_INIT_OCTETS, UINT64_MAX },
	{ "responderOctets", F_RESP_OCTETS, UINT64_MAX },
	{ "initiatorPackets", F_INIT_PACKETS, UINT64_MAX },
	{ "responderPackets", F_RESP_PACKETS, UINT64_MAX },
	{ "sampling_interval", F_SAMPLING, UINT64_MAX },
	{ "format", F_FORMAT, 0 },
	{ "firewallEvent", F_FW_EVENT, 255 },
	{ "tcp_flags", F_TCP_FLAGS, 65535 },	/* IPFIX tcpControlBits is 16 bits */
};

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

static enum field
lookup_field(const unsigned char *key, size_t len)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == len && memcmp(fields[i].name, key, len) == 0)
			return fields[i].field;
	return F_NONE;
}

static uint64_t
field_max(enum field f)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].field == f)
			return fields[i].max;
	return 0;
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
	if (rp->depth == 0 || top_value(rp))
		return 0;
	return 1;
}

static int
set_number(struct record_parser *rp, uint64_t v)
{
	struct flow *f = rp->flow;

	if (v > field_max(rp->current))
		return 0;
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
	default: return 0;	/* a number where a string belongs */
	}
	return 1;
}

static int
on_number(void *ctx, const char *s, size_t len)
{
	struct record_parser *rp = ctx;
	char buf[32], *end;

	if (rp->depth == 0)
		return 0;
	if (!top_value(rp))
		return 1;
	/* Counters are unsigned 64-bit: parse the text ourselves, since yajl's
	 * integer callback stops at INT64_MAX. */
	if (len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9')
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strspn(buf, "0123456789") != len)
		return 0;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return 0;
	return set_number(rp, v);
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct record_parser *rp = ctx;
	struct flow *f = rp->flow;
	const char *c = (const char *)s;

	if (rp->depth == 0)
		return 0;
	if (!top_value(rp))
		return 1;
	switch (rp->current) {
	case F_TIME_RECEIVED: rp->have |= H_RECV; return time_parse_rfc3339(c, len, &rp->recv_ms);
	case F_START: rp->have |= H_START; return time_parse_rfc3339(c, len, &f->start_ms);
	case F_END: rp->have |= H_END; return time_parse_rfc3339(c, len, &f->end_ms);
	case F_SRC_ADDR: rp->have |= H_SRC; return addr_parse(&f->src, c, len);
	case F_DST_ADDR: rp->have |= H_DST; return addr_parse(&f->dst, c, len);
	case F_EXPORTER: return addr_parse(&f->exporter, c, len);
	case F_TYPE: rp->not_flow = !(len == 4 && memcmp(c, "flow", 4) == 0); return 1;
	case F_FORMAT: f->sflow = len == 5 && memcmp(c, "sflow", 5) == 0; return 1;
	default: return 0;	/* a string where a number belongs */
	}
}

static int
on_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct record_parser *rp = ctx;
	rp->current = rp->depth == 1 ? lookup_field(key, len) : F_NONE;
	return 1;
}

static int
on_start_container(void *ctx, bool map)
{
	struct record_parser *rp = ctx;
	if (rp->depth == 0 && (!map || rp->seen_object))
		return 0;
	if (top_value(rp))
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

enum record_result
record_parse(struct record_parser *rp, const char *line, size_t len, struct flow *flow)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == len)
		return RECORD_EMPTY;
	memset(flow, 0, sizeof(*flow));
	flow->icmp_type = flow->icmp_code = -1;
	memset(rp, 0, sizeof(*rp));
	rp->flow = flow;

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
