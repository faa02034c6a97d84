#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

static const char *const drop_names[PARSER_DROP_MAX] = {
	[PARSER_DROP_SHORT] = "short_datagram",
	[PARSER_DROP_VERSION] = "bad_version",
	[PARSER_DROP_LENGTH] = "bad_length",
	[PARSER_DROP_SET_LENGTH] = "bad_set_length",
	[PARSER_DROP_BAD_TEMPLATE] = "bad_template",
	[PARSER_DROP_TEMPLATE_LIMIT] = "template_too_large",
	[PARSER_DROP_UNKNOWN_TEMPLATE] = "unknown_template",
	[PARSER_DROP_BAD_RECORD] = "bad_record",
	[PARSER_DROP_RESERVED_SET] = "reserved_set",
};

const char *
parser_drop_name(enum parser_drop why)
{
	return why < PARSER_DROP_MAX ? drop_names[why] : "unknown";
}

static const char *const num_names[FLOW_NUM_MAX] = {
	[FLOW_SRC_PORT] = "src_port",
	[FLOW_DST_PORT] = "dst_port",
	[FLOW_PROTO] = "proto",
	[FLOW_ICMP_TYPE] = "icmp_type",
	[FLOW_ICMP_CODE] = "icmp_code",
	[FLOW_BYTES] = "bytes",
	[FLOW_PACKETS] = "packets",
	[FLOW_TCP_FLAGS] = "tcp_flags",
	[FLOW_TOS] = "tos",
	[FLOW_IN_IF] = "in_if",
	[FLOW_OUT_IF] = "out_if",
	[FLOW_SRC_AS] = "src_as",
	[FLOW_DST_AS] = "dst_as",
	[FLOW_SRC_MASK] = "src_mask",
	[FLOW_DST_MASK] = "dst_mask",
	[FLOW_SAMPLING_INTERVAL] = "sampling_interval",
};

static const char *const addr_names[FLOW_ADDR_MAX] = {
	[FLOW_SRC_ADDR] = "src_addr",
	[FLOW_DST_ADDR] = "dst_addr",
	[FLOW_NEXT_HOP] = "next_hop",
};

const char *
flow_num_name(enum flow_num k)
{
	return k < FLOW_NUM_MAX ? num_names[k] : NULL;
}

const char *
flow_addr_name(enum flow_addr_key k)
{
	return k < FLOW_ADDR_MAX ? addr_names[k] : NULL;
}

void
parser_limits_default(struct parser_limits *limits)
{
	limits->max_templates = 65536;
	limits->max_fields = 512;
}

struct parser *
parser_new(const struct parser_limits *limits, const struct parser_ops *ops,
    void *arg)
{
	struct parser *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (limits)
		p->limits = *limits;
	else
		parser_limits_default(&p->limits);
	if (p->limits.max_fields == 0 || p->limits.max_fields > 0xffff)
		p->limits.max_fields = 0xffff;
	p->ops = *ops;
	p->arg = arg;
	p->templates = tcache_new(p->limits.max_templates);
	p->extra = calloc(p->limits.max_fields, sizeof(*p->extra));
	p->scratch = calloc(p->limits.max_fields, sizeof(*p->scratch));
	if (p->templates == NULL || p->extra == NULL || p->scratch == NULL)
		goto fail;
	return p;
fail:
	parser_free(p);
	return NULL;
}

void
parser_free(struct parser *p)
{
	if (p == NULL)
		return;
	tcache_free(p->templates);
	free(p->extra);
	free(p->scratch);
	free(p);
}

void
parser_drop(struct parser *p, const struct parser_source *src,
    enum parser_drop why, uint32_t count)
{
	if (p->ops.drop)
		p->ops.drop(src, why, count, p->arg);
}

bool
template_store(struct parser *p, const struct parser_source *src,
    const struct tkey *key, bool options, uint16_t nfields, bool too_many)
{
	size_t min_len = 0;

	if (too_many) {
		parser_drop(p, src, PARSER_DROP_TEMPLATE_LIMIT, 1);
		return false;
	}
	for (uint16_t i = 0; i < nfields; i++)
		min_len += p->scratch[i].len == VARLEN ? 1 : p->scratch[i].len;
	/* a record of zero bytes would never advance the data cursor */
	if (min_len == 0) {
		parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
		return false;
	}
	return tcache_put(p->templates, key, options, p->scratch, nfields) != NULL;
}

size_t
parser_feed(struct parser *p, const uint8_t *buf, size_t len,
    const struct parser_source *src)
{
	struct cursor c;
	uint16_t version;

	cursor_init(&c, buf, len);
	if (!cursor_u16(&c, &version)) {
		parser_drop(p, src, PARSER_DROP_SHORT, 1);
		return 0;
	}
	switch (version) {
	case 1:
		return netflow_v1_decode(p, &c, src);
	case 5:
		return netflow_v5_decode(p, &c, src);
	case 7:
		return netflow_v7_decode(p, &c, src);
	case 9:
		return v9_decode(p, &c, src);
	case 10:
		return ipfix_decode(p, &c, src);
	default:
		parser_drop(p, src, PARSER_DROP_VERSION, 1);
		return 0;
	}
}

size_t
parser_template_count(const struct parser *p)
{
	return tcache_count(p->templates);
}
