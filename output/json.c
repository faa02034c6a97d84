/*
 * One flow record -> one JSON line. yajl does the escaping and structure;
 * numbers, addresses and times are formatted here and handed over as
 * finished tokens.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "output-private.h"

static void
bytes_uint(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len && i < 8; i++)
		v = v << 8 | p[i];
	*out = v;
}

struct json_writer {
	yajl_gen g;
	char *line;
	size_t cap;
};

struct json_writer *
json_writer_new(void)
{
	struct json_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if ((w->g = yajl_gen_alloc(NULL)) == NULL) {
		free(w);
		return NULL;
	}
	return w;
}

void
json_writer_free(struct json_writer *w)
{
	if (w == NULL)
		return;
	yajl_gen_free(w->g);
	free(w->line);
	free(w);
}

static void
key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void
str(yajl_gen g, const char *s, size_t len)
{
	yajl_gen_string(g, (const unsigned char *)s, len);
}

static void
num_u64(yajl_gen g, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	yajl_gen_number(g, buf, (size_t)n);
}

static void
num_i64(yajl_gen g, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	yajl_gen_number(g, buf, (size_t)n);
}

static void
time_value(yajl_gen g, int64_t ms)
{
	char buf[32];

	str(g, buf, format_time_ms(buf, ms));
}

static void
addr_value(yajl_gen g, const struct parser_addr *a)
{
	char buf[64];

	str(g, buf, format_addr(buf, sizeof(buf), a));
}

static void
hex_value(yajl_gen g, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char stackbuf[256];
	char *buf;

	if (len == 0) {
		str(g, "", 0);
		return;
	}
	buf = len * 2 <= sizeof(stackbuf) ? stackbuf : malloc(len * 2);
	if (buf == NULL) {
		yajl_gen_null(g);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = digits[data[i] >> 4];
		buf[2 * i + 1] = digits[data[i] & 15];
	}
	str(g, buf, len * 2);
	if (buf != stackbuf)
		free(buf);
}

/* Length of a valid UTF-8 sequence at s (at most left bytes), 0 if none. */
static size_t
utf8_seq(const uint8_t *s, size_t left)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Exporters pad strings with NULs and do not promise UTF-8: trailing NULs
 * go, invalid bytes become U+FFFD, so the line is always valid JSON. */
static void
string_value(yajl_gen g, const uint8_t *data, size_t len)
{
	char stackbuf[512];
	char *buf;
	size_t out = 0;

	while (len > 0 && data[len - 1] == 0)
		len--;
	if (len == 0) {
		str(g, "", 0);
		return;
	}
	buf = len * 3 <= sizeof(stackbuf) ? stackbuf : malloc(len * 3);
	if (buf == NULL) {
		yajl_gen_null(g);
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(data + i, len - i);

		if (n == 0) {
			memcpy(buf + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		} else {
			memcpy(buf + out, data + i, n);
			out += n;
			i += n;
		}
	}
	str(g, buf, out);
	if (buf != stackbuf)
		free(buf);
}

static void
float_value(yajl_gen g, const uint8_t *data, size_t len)
{
	uint64_t bits;
	double d;

	bytes_uint(data, len, &bits);
	if (len == 4) {
		uint32_t b32 = (uint32_t)bits;
		float f;

		memcpy(&f, &b32, sizeof(f));
		d = f;
	} else {
		memcpy(&d, &bits, sizeof(d));
	}
	if (isfinite(d))
		yajl_gen_double(g, d);
	else
		yajl_gen_null(g);
}

static void
field_value(yajl_gen g, const struct flow_field *f)
{
	uint64_t v = 0;
	int type = f->ie ? f->ie->type : -1;
	bool small = f->len >= 1 && f->len <= 8;

	if (small)
		bytes_uint(f->data, f->len, &v);
	switch (type) {
	case IE_UNSIGNED:
	case -1:
		if (small)
			num_u64(g, v);
		else
			hex_value(g, f->data, f->len);
		return;
	case IE_SIGNED:
		if (!small)
			break;
		if (f->len < 8 && (v >> (f->len * 8 - 1)) & 1)
			v |= ~(uint64_t)0 << (f->len * 8);
		num_i64(g, (int64_t)v);
		return;
	case IE_FLOAT:
		if (f->len != 4 && f->len != 8)
			break;
		float_value(g, f->data, f->len);
		return;
	case IE_BOOL:
		if (f->len != 1)
			break;
		yajl_gen_bool(g, v == 1);
		return;
	case IE_MAC:
		if (f->len == 6) {
			char buf[18];
			snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
			    f->data[0], f->data[1], f->data[2], f->data[3],
			    f->data[4], f->data[5]);
			str(g, buf, 17);
			return;
		}
		break;
	case IE_STRING:
		string_value(g, f->data, f->len);
		return;
	case IE_DATE_S:
		if (!small)
			break;
		time_value(g, (int64_t)v * 1000);
		return;
	case IE_DATE_MS:
		if (!small)
			break;
		time_value(g, (int64_t)v);
		return;
	case IE_DATE_US:
	case IE_DATE_NS:
		if (f->len != 8)
			break;
		time_value(g, ((int64_t)(v >> 32) - 2208988800LL) * 1000 +
		    (int64_t)(((v & 0xffffffffu) * 1000) >> 32));
		return;
	case IE_IPV4:
	case IE_IPV6:
		if (f->len == 4 || f->len == 16) {
			struct parser_addr a = { .family = f->len == 4 ? 4 : 6 };
			memcpy(a.bytes, f->data, f->len);
			addr_value(g, &a);
			return;
		}
		break;
	default:
		break;
	}
	hex_value(g, f->data, f->len);
}

static const char *const v9_scope_names[] = {
	NULL, "scope_system", "scope_interface", "scope_line_card",
	"scope_cache", "scope_template",
};

static void
field_name(char *buf, size_t size, const struct flow_record *rec,
    const struct flow_field *f)
{
	const char *name = f->ie ? f->ie->name : NULL;

	if ((f->flags & FLOW_FIELD_SCOPE) && rec->version == 9) {
		if (f->id < sizeof(v9_scope_names) / sizeof(v9_scope_names[0]) &&
		    f->id > 0)
			snprintf(buf, size, "%s", v9_scope_names[f->id]);
		else
			snprintf(buf, size, "scope_%u", f->id);
		return;
	}
	if (f->flags & FLOW_FIELD_REVERSE) {
		if (name)
			snprintf(buf, size, "reverse%c%s", name[0] & ~0x20, name + 1);
		else
			snprintf(buf, size, "reverseIe%u", f->id);
		return;
	}
	if (name)
		snprintf(buf, size, "%s", name);
	else if (f->pen)
		snprintf(buf, size, "e%u_%u", f->pen, f->id);
	else
		snprintf(buf, size, "ie%u", f->id);
}

static bool
same_element(const struct flow_field *a, const struct flow_field *b)
{
	return a->id == b->id && a->pen == b->pen && a->flags == b->flags;
}

/* A template may repeat an element: all its values are kept, as an array
 * under the one name, in template order. */
static void
extras(yajl_gen g, const struct flow_record *rec)
{
	char name[96];

	for (size_t i = 0; i < rec->nextra; i++) {
		const struct flow_field *f = &rec->extra[i];
		bool seen = false, repeated = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = same_element(f, &rec->extra[j]);
		if (seen)
			continue;
		for (size_t j = i + 1; j < rec->nextra && !repeated; j++)
			repeated = same_element(f, &rec->extra[j]);
		field_name(name, sizeof(name), rec, f);
		key(g, name);
		if (!repeated) {
			field_value(g, f);
			continue;
		}
		yajl_gen_array_open(g);
		for (size_t j = i; j < rec->nextra; j++)
			if (same_element(f, &rec->extra[j]))
				field_value(g, &rec->extra[j]);
		yajl_gen_array_close(g);
	}
}

static void
core(yajl_gen g, const struct flow_record *rec)
{
	static const enum flow_addr_key addr_order[] = {
		FLOW_SRC_ADDR, FLOW_DST_ADDR,
	};

	if (rec->has_start) {
		key(g, "start");
		time_value(g, rec->start_ms);
	}
	if (rec->has_end) {
		key(g, "end");
		time_value(g, rec->end_ms);
	}
	for (size_t i = 0; i < 2; i++) {
		enum flow_addr_key k = addr_order[i];

		if (rec->has_addr & (1u << k)) {
			key(g, flow_addr_name(k));
			addr_value(g, &rec->addr[k]);
		}
	}
	for (int k = 0; k < FLOW_NUM_MAX; k++) {
		if (rec->has_num & (1u << k)) {
			key(g, flow_num_name(k));
			num_u64(g, rec->num[k]);
		}
		if (k == FLOW_OUT_IF && rec->has_addr & (1u << FLOW_NEXT_HOP)) {
			key(g, flow_addr_name(FLOW_NEXT_HOP));
			addr_value(g, &rec->addr[FLOW_NEXT_HOP]);
		}
	}
}

const char *
json_writer_record(struct json_writer *w, const struct flow_record *rec,
    size_t *len)
{
	yajl_gen g = w->g;
	const unsigned char *buf;
	size_t n;

	yajl_gen_clear(g);
	yajl_gen_reset(g, NULL);
	yajl_gen_map_open(g);
	key(g, "time_received");
	time_value(g, rec->src->received_ms);
	key(g, "exporter");
	addr_value(g, &rec->src->addr);
	key(g, "exporter_port");
	num_u64(g, rec->src->port);
	key(g, "version");
	num_u64(g, rec->version);
	if (rec->has_domain) {
		key(g, "domain");
		num_u64(g, rec->domain);
	}
	if (rec->kind == FLOW_KIND_OPTIONS) {
		key(g, "type");
		str(g, "options", 7);
		key(g, "template_id");
		num_u64(g, rec->template_id);
	}
	core(g, rec);
	extras(g, rec);
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &n);
	if (n + 1 > w->cap) {
		size_t cap = (n + 1) * 2;
		char *line = realloc(w->line, cap);

		if (line == NULL)
			return NULL;
		w->line = line;
		w->cap = cap;
	}
	memcpy(w->line, buf, n);
	w->line[n] = '\n';
	*len = n + 1;
	return w->line;
}
