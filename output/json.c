/*
 * One flow record -> one JSON line, generated straight into the caller's
 * output buffer. yajl does the structure and the escaping of keys and of
 * strings from the packet; numbers, addresses and times are formatted here
 * and handed over as finished tokens. Tokens that never need escaping
 * (times, addresses, MACs, hex) are passed with their quotes through
 * yajl_gen_number, which copies them verbatim: the output is the same as
 * yajl_gen_string's without scanning every byte for escapes.
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

/* Where yajl prints: a window of the output buffer. */
struct sink {
	char *p;
	size_t len, room;
	bool overflow;
};

struct json_writer {
	yajl_gen g;
	struct sink sink;
	/* grows to the largest string or octet array seen, then stays */
	char *scratch;
	size_t scratch_cap;
	/* ,"name": of each core key */
	char num_key[FLOW_NUM_MAX][40], addr_key[FLOW_ADDR_MAX][40];
	size_t num_key_len[FLOW_NUM_MAX], addr_key_len[FLOW_ADDR_MAX];
};

static void
sink_print(void *ctx, const char *s, size_t len)
{
	struct sink *k = ctx;

	if (len > k->room - k->len) {
		k->overflow = true;
		return;
	}
	/* most pieces are one byte: a quote, a comma, a colon */
	if (len == 1)
		k->p[k->len] = s[0];
	else
		memcpy(k->p + k->len, s, len);
	k->len += len;
}

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
	yajl_gen_config(w->g, yajl_gen_print_callback, sink_print, &w->sink);
	for (int k = 0; k < FLOW_NUM_MAX; k++)
		w->num_key_len[k] = (size_t)snprintf(w->num_key[k],
		    sizeof(w->num_key[k]), ",\"%s\":", flow_num_name(k));
	for (int k = 0; k < FLOW_ADDR_MAX; k++)
		w->addr_key_len[k] = (size_t)snprintf(w->addr_key[k],
		    sizeof(w->addr_key[k]), ",\"%s\":", flow_addr_name(k));
	return w;
}

void
json_writer_free(struct json_writer *w)
{
	if (w == NULL)
		return;
	yajl_gen_free(w->g);
	free(w->scratch);
	free(w);
}

static char *
scratch(struct json_writer *w, size_t size)
{
	if (size > w->scratch_cap) {
		char *p = realloc(w->scratch, size);

		if (p == NULL)
			return NULL;
		w->scratch = p;
		w->scratch_cap = size;
	}
	return w->scratch;
}

/* keys are literals: no strlen per record */
#define KEY(g, lit) \
	yajl_gen_string((g), (const unsigned char *)(lit), sizeof(lit) - 1)

static void
str(yajl_gen g, const char *s, size_t len)
{
	yajl_gen_string(g, (const unsigned char *)s, len);
}

static void
num_u64(yajl_gen g, uint64_t v)
{
	char buf[24];

	yajl_gen_number(g, buf, format_u64(buf, v));
}

static void
num_i64(yajl_gen g, int64_t v)
{
	char buf[24];

	yajl_gen_number(g, buf, format_i64(buf, v));
}

/* A string that needs no escaping, quoted here, copied verbatim. */
static void
quoted(yajl_gen g, char *buf, size_t len)
{
	buf[0] = '"';
	buf[len + 1] = '"';
	yajl_gen_number(g, buf, len + 2);
}

static void
time_value(yajl_gen g, int64_t ms)
{
	char buf[32];

	quoted(g, buf, format_time_ms(buf + 1, ms));
}

static void
addr_value(yajl_gen g, const struct parser_addr *a)
{
	char buf[64];

	quoted(g, buf, format_addr(buf + 1, sizeof(buf) - 2, a));
}

static void
hex_value(struct json_writer *w, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *buf = scratch(w, len * 2 + 2);

	if (buf == NULL) {
		yajl_gen_null(w->g);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		buf[1 + 2 * i] = digits[data[i] >> 4];
		buf[2 + 2 * i] = digits[data[i] & 15];
	}
	quoted(w->g, buf, len * 2);
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
string_value(struct json_writer *w, const uint8_t *data, size_t len)
{
	yajl_gen g = w->g;
	char *buf;
	size_t out = 0;

	while (len > 0 && data[len - 1] == 0)
		len--;
	if (len == 0) {
		str(g, "", 0);
		return;
	}
	if ((buf = scratch(w, len * 3)) == NULL) {
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
field_value(struct json_writer *w, const struct flow_field *f)
{
	yajl_gen g = w->g;
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
			hex_value(w, f->data, f->len);
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
			static const char digits[] = "0123456789abcdef";
			char buf[20];

			for (int i = 0; i < 6; i++) {
				buf[1 + 3 * i] = digits[f->data[i] >> 4];
				buf[2 + 3 * i] = digits[f->data[i] & 15];
				buf[3 + 3 * i] = ':';
			}
			quoted(g, buf, 17);
			return;
		}
		break;
	case IE_STRING:
		string_value(w, f->data, f->len);
		return;
	case IE_DATE_S:
		if (!small)
			break;
		/* the formatter clamps; keep the product in range */
		time_value(g, v > (uint64_t)INT64_MAX / 1000 ? INT64_MAX :
		    (int64_t)v * 1000);
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
	hex_value(w, f->data, f->len);
}

static const char *const v9_scope_names[] = {
	NULL, "scope_system", "scope_interface", "scope_line_card",
	"scope_cache", "scope_template",
};

/* The key of an extra field: a table name as it is (the common case, no
 * copy), else built into buf. */
static const char *
field_name(char *buf, const struct flow_record *rec,
    const struct flow_field *f, size_t *len)
{
	const char *name = f->ie ? f->ie->name : NULL;
	char *p = buf;

	if ((f->flags & FLOW_FIELD_SCOPE) && rec->version == 9) {
		if (f->id < sizeof(v9_scope_names) / sizeof(v9_scope_names[0]) &&
		    f->id > 0) {
			*len = strlen(v9_scope_names[f->id]);
			return v9_scope_names[f->id];
		}
		memcpy(p, "scope_", 6);
		p += 6;
		p += format_u64(p, f->id);
	} else if (f->flags & FLOW_FIELD_REVERSE) {
		size_t n = name ? strlen(name) : 0;

		memcpy(p, "reverse", 7);
		p += 7;
		if (name && n < 80) {
			*p++ = (char)(name[0] & ~0x20);
			memcpy(p, name + 1, n - 1);
			p += n - 1;
		} else {
			memcpy(p, "Ie", 2);
			p += 2;
			p += format_u64(p, f->id);
		}
	} else if (name) {
		*len = strlen(name);
		return name;
	} else if (f->pen) {
		*p++ = 'e';
		p += format_u64(p, f->pen);
		*p++ = '_';
		p += format_u64(p, f->id);
	} else {
		memcpy(p, "ie", 2);
		p += 2;
		p += format_u64(p, f->id);
	}
	*len = (size_t)(p - buf);
	return buf;
}

static bool
same_element(const struct flow_field *a, const struct flow_field *b)
{
	return a->id == b->id && a->pen == b->pen && a->flags == b->flags;
}

/* A template may repeat an element: all its values are kept, as an array
 * under the one name, in template order. */
static void
extras(struct json_writer *w, const struct flow_record *rec)
{
	yajl_gen g = w->g;
	char buf[96];

	for (size_t i = 0; i < rec->nextra; i++) {
		const struct flow_field *f = &rec->extra[i];
		bool seen = false, repeated = false;
		size_t len;

		for (size_t j = 0; j < i && !seen; j++)
			seen = same_element(f, &rec->extra[j]);
		if (seen)
			continue;
		for (size_t j = i + 1; j < rec->nextra && !repeated; j++)
			repeated = same_element(f, &rec->extra[j]);
		const char *name = field_name(buf, rec, f, &len);

		str(g, name, len);
		if (!repeated) {
			field_value(w, f);
			continue;
		}
		yajl_gen_array_open(g);
		for (size_t j = i; j < rec->nextra; j++)
			if (same_element(f, &rec->extra[j]))
				field_value(w, &rec->extra[j]);
		yajl_gen_array_close(g);
	}
}

/*
 * The core keys have a fixed schema: constant ASCII keys and values this
 * file formats itself. Going through yajl token by token cost six print
 * callbacks per key/value pair, about 40 % of the time per flow, for no
 * escaping and no structure yajl could add. So they are rendered here as
 * one finished fragment — the value of the first key and every pair after
 * it — written straight into the output; yajl is told about it as one
 * value (see json_writer_render), so the extras that follow go through
 * yajl as usual with their separators right.
 */
#define PUT_KEY(p, lit) do { \
	memcpy((p), ",\"" lit "\":", sizeof(lit) + 3); \
	(p) += sizeof(lit) + 3; \
} while (0)

static char *
put_time(char *p, int64_t ms)
{
	*p++ = '"';
	p += format_time_ms(p, ms);
	*p++ = '"';
	return p;
}

static char *
put_addr(char *p, const struct parser_addr *a)
{
	*p++ = '"';
	p += format_addr(p, 64, a);
	*p++ = '"';
	return p;
}

/* At most 3 times, 3 addresses, 21 numbers with their keys: < 2 KiB. */
#define CORE_MAX 2048

static size_t
core(struct json_writer *w, const struct flow_record *rec, char *buf)
{
	char *p = buf;

	p = put_time(p, rec->src->received_ms);
	PUT_KEY(p, "exporter");
	p = put_addr(p, &rec->src->addr);
	PUT_KEY(p, "exporter_port");
	p += format_u64(p, rec->src->port);
	PUT_KEY(p, "version");
	p += format_u64(p, rec->version);
	if (rec->has_domain) {
		PUT_KEY(p, "domain");
		p += format_u64(p, rec->domain);
	}
	if (rec->kind == FLOW_KIND_OPTIONS) {
		PUT_KEY(p, "type");
		memcpy(p, "\"options\"", 9);
		p += 9;
		PUT_KEY(p, "template_id");
		p += format_u64(p, rec->template_id);
	}
	if (rec->has_start) {
		PUT_KEY(p, "start");
		p = put_time(p, rec->start_ms);
	}
	if (rec->has_end) {
		PUT_KEY(p, "end");
		p = put_time(p, rec->end_ms);
	}
	for (int k = FLOW_SRC_ADDR; k <= FLOW_DST_ADDR; k++) {
		if (rec->has_addr & (1u << k)) {
			memcpy(p, w->addr_key[k], w->addr_key_len[k]);
			p += w->addr_key_len[k];
			p = put_addr(p, &rec->addr[k]);
		}
	}
	for (int k = 0; k < FLOW_NUM_MAX; k++) {
		if (rec->has_num & (1u << k)) {
			memcpy(p, w->num_key[k], w->num_key_len[k]);
			p += w->num_key_len[k];
			p += format_u64(p, rec->num[k]);
		}
		if (k == FLOW_OUT_IF && rec->has_addr & (1u << FLOW_NEXT_HOP)) {
			memcpy(p, w->addr_key[FLOW_NEXT_HOP],
			    w->addr_key_len[FLOW_NEXT_HOP]);
			p += w->addr_key_len[FLOW_NEXT_HOP];
			p = put_addr(p, &rec->addr[FLOW_NEXT_HOP]);
		}
	}
	return (size_t)(p - buf);
}

size_t
json_writer_render(struct json_writer *w, const struct flow_record *rec,
    char *dst, size_t room)
{
	static const char head[] = "{\"time_received\":";
	yajl_gen g = w->g;
	struct sink *k = &w->sink;

	/* yajl is walked through '{', the first key and a stand-in value with
	 * its output discarded, so its state is "after a value in a map";
	 * the head and the core fragment are written straight into dst */
	*k = (struct sink){ .p = dst, .room = 0 };
	yajl_gen_reset(g, NULL);
	yajl_gen_map_open(g);
	KEY(g, "time_received");
	yajl_gen_number(g, "0", 1);
	*k = (struct sink){ .p = dst, .room = room };
	if (room < sizeof(head) - 1 + CORE_MAX)
		return 0;
	memcpy(dst, head, sizeof(head) - 1);
	k->len = sizeof(head) - 1;
	k->len += core(w, rec, dst + k->len);
	extras(w, rec);
	yajl_gen_map_close(g);
	sink_print(k, "\n", 1);
	if (k->overflow)
		return 0;
	return k->len;
}
