/*
 * One flow record -> one JSON line, written straight into the caller's
 * output buffer.
 *
 * Rendering is most of the CPU a flow costs, so the line is built here
 * rather than token by token through yajl (six print callbacks per pair,
 * a state walk per record):
 *
 * - The core keys have a fixed schema: constant ASCII keys and values this
 *   file formats (numbers, times, addresses). Their key fragments (,"name":)
 *   are precomputed and copied with fixed-size copies, which the compiler
 *   turns into a few moves instead of a variable-length memcpy call.
 * - Times are cached per second (a small direct-mapped table keyed by the
 *   second, so times going backwards are merely a miss): a record's three
 *   times mostly share a few seconds with the records around it.
 * - An extra field whose name comes from the element table (or is built
 *   from numbers) is plain ASCII; its ,"name": fragment is cached per
 *   element and checked once for anything JSON would escape. Values that
 *   are numbers, times, addresses, MACs, booleans or hex never need
 *   escaping and are written here too, as are the brackets and commas of
 *   a repeated element's array.
 * - yajl is engaged only for what needs it: strings from the packet (it
 *   escapes them), floats (its formatting), and a name that would need
 *   escaping. It renders one value at a time at the current position
 *   (reset, one value, its output counted in), and the structure around
 *   it is ours.
 *
 * The bytes are exactly those of generating the whole record with yajl
 * (no beautify, no escaped solidus): tests/output checks them. Writes
 * happen in place while the window has TOKEN_MAX bytes left; closer to its
 * end, small tokens go through a bounce buffer and are copied only if they
 * fit, so a record is refused (0) exactly when it is longer than room
 * (or room is under the 2 KiB the core is written into unchecked).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "enrich-private.h"
#include "output-private.h"

/* the largest token written in place, with what fixed-size copies write
 * past its end: a cached name fragment, an IPv6 address with its quotes */
#define TOKEN_MAX 80
/* ,"name": of a core key, copied whole */
#define KEY_SLOT 32
/* ,"name": of an extra field, cached and copied whole (IANA names are at
 * most 39 characters, "reverse" makes 46) */
#define NAME_SLOT 64
#define NAME_SETS_LOG2 6
#define NAME_CACHE (2 << NAME_SETS_LOG2)
#define TIME_CACHE 256

/* Where yajl prints: a window of the output buffer. */
struct sink {
	char *p;
	size_t len, room;
	bool overflow;
};

/* The output window of one render. */
struct out {
	char *p, *end;
	char *tok;               /* where the current token goes: p or bounce */
	char bounce[TOKEN_MAX];
};

struct name_entry {
	const struct ie_info *ie;
	bool reverse;
	uint8_t len;             /* 0: not cacheable, built per record */
	char frag[NAME_SLOT];
};

struct time_entry {
	int64_t sec;
	char text[24];           /* "2024-05-01T12:00:03 (opening quote, the
	                          * rest of the 24 bytes is scratch) */
};

struct json_writer {
	yajl_gen g;
	struct sink sink;
	/* grows to the largest string seen, then stays */
	char *scratch;
	size_t scratch_cap;
	char num_key[FLOW_NUM_MAX][KEY_SLOT], addr_key[FLOW_ADDR_MAX][KEY_SLOT];
	uint8_t num_key_len[FLOW_NUM_MAX], addr_key_len[FLOW_ADDR_MAX];
	struct time_entry times[TIME_CACHE];
	struct name_entry names[NAME_CACHE];
	/* grouping repeated elements of wide records (group_extras()) */
	uint32_t *slots, *next;
	size_t slots_cap, next_cap;
	/* the hash of each table row's name, computed once per row seen */
	struct {
		const struct ie_info *ie;
		uint32_t hash;
	} name_hash[256];
};

static void
sink_print(void *ctx, const char *s, size_t len)
{
	struct sink *k = ctx;

	if (len > k->room - k->len) {
		k->overflow = true;
		return;
	}
	memcpy(k->p + k->len, s, len);
	k->len += len;
}

static bool
key_fragment(char *slot, uint8_t *len, const char *name)
{
	size_t n = strlen(name);

	if (n + 4 > KEY_SLOT)
		return false;
	memset(slot, 0, KEY_SLOT);
	slot[0] = ',';
	slot[1] = '"';
	memcpy(slot + 2, name, n);
	slot[n + 2] = '"';
	slot[n + 3] = ':';
	*len = (uint8_t)(n + 4);
	return true;
}

/* The JSON keys of the core fields: the format is the output's (the
 * parser only fills enum flow_num / flow_addr_key slots). */
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
	[FLOW_AGENT] = "agent",
};

struct json_writer *
json_writer_new(void)
{
	struct json_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if ((w->g = yajl_gen_alloc(NULL)) == NULL)
		goto fail;
	yajl_gen_config(w->g, yajl_gen_print_callback, sink_print, &w->sink);
	/* the core key names are short: a longer one is a bug */
	for (int k = 0; k < FLOW_NUM_MAX; k++)
		if (!key_fragment(w->num_key[k], &w->num_key_len[k], num_names[k]))
			goto fail;
	for (int k = 0; k < FLOW_ADDR_MAX; k++)
		if (!key_fragment(w->addr_key[k], &w->addr_key_len[k],
		    addr_names[k]))
			goto fail;
	/* never a clamped time's second */
	for (int i = 0; i < TIME_CACHE; i++)
		w->times[i].sec = INT64_MIN;
	return w;
fail:
	json_writer_free(w);
	return NULL;
}

void
json_writer_free(struct json_writer *w)
{
	if (w == NULL)
		return;
	if (w->g != NULL)
		yajl_gen_free(w->g);
	free(w->scratch);
	free(w->slots);
	free(w->next);
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

/* ---- the output window ---- */

static inline char *
tok_start(struct out *o)
{
	o->tok = o->end - o->p >= TOKEN_MAX ? o->p : o->bounce;
	return o->tok;
}

/* The token ends at q: counted in, or copied from the bounce buffer when
 * it fits; false when it does not. */
static inline bool
tok_done(struct out *o, const char *q)
{
	size_t n = (size_t)(q - o->tok);

	if (o->tok != o->p) {
		if (n > (size_t)(o->end - o->p))
			return false;
		memcpy(o->p, o->bounce, n);
	}
	o->p += n;
	return true;
}

static bool
put_bytes(struct out *o, const char *s, size_t len)
{
	if (len > (size_t)(o->end - o->p))
		return false;
	memcpy(o->p, s, len);
	o->p += len;
	return true;
}

/* yajl renders one value at o->p. */
static yajl_gen
yajl_begin(struct json_writer *w, struct out *o)
{
	yajl_gen_reset(w->g, NULL);
	w->sink = (struct sink){ .p = o->p, .room = (size_t)(o->end - o->p) };
	return w->g;
}

static bool
yajl_done(struct json_writer *w, struct out *o)
{
	if (w->sink.overflow)
		return false;
	o->p += w->sink.len;
	return true;
}

/* ---- tokens ---- */

#define PUT_LIT(p, lit) do { \
	memcpy((p), (lit), sizeof(lit) - 1); \
	(p) += sizeof(lit) - 1; \
} while (0)

/* "2024-05-01T12:00:03.250Z": 26 bytes */
static char *
put_time(struct json_writer *w, char *p, int64_t ms)
{
	struct time_entry *e;
	int64_t sec;

	if (ms < FORMAT_MS_MIN)
		ms = FORMAT_MS_MIN;
	else if (ms > FORMAT_MS_MAX)
		ms = FORMAT_MS_MAX;
	sec = ms / 1000;
	if (ms % 1000 < 0)
		sec--;
	e = &w->times[(uint64_t)sec % TIME_CACHE];
	if (e->sec != sec) {
		e->text[0] = '"';
		format_time_sec(e->text + 1, sec);
		e->sec = sec;
	}
	memcpy(p, e->text, sizeof(e->text));
	p = format_put_millis(p + 20, (unsigned)(ms - sec * 1000));
	*p++ = '"';
	return p;
}

/* at most 48 bytes, and 3 more written past them */
static char *
put_addr(char *p, const struct parser_addr *a)
{
	*p++ = '"';
	p = format_put_addr(p, a);
	*p++ = '"';
	return p;
}

static char *
put_mac(char *p, const uint8_t *b)
{
	static const char digits[] = "0123456789abcdef";

	*p++ = '"';
	for (int i = 0; i < 6; i++) {
		p[0] = digits[b[i] >> 4];
		p[1] = digits[b[i] & 15];
		p[2] = ':';
		p += 3;
	}
	p[-1] = '"';
	return p;
}

static bool
put_hex(struct out *o, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *p = o->p;

	if (2 * len + 2 > (size_t)(o->end - o->p))
		return false;
	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		p[0] = digits[data[i] >> 4];
		p[1] = digits[data[i] & 15];
		p += 2;
	}
	*p++ = '"';
	o->p = p;
	return true;
}

static bool
put_null(struct out *o)
{
	return put_bytes(o, "null", 4);
}

/* ---- extra fields ---- */

static uint64_t
bytes_uint(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len && i < 8; i++)
		v = v << 8 | p[i];
	return v;
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
 * go, invalid bytes become U+FFFD, and yajl escapes the rest, so the line
 * is always valid JSON. */
static bool
string_value(struct json_writer *w, struct out *o, const uint8_t *data,
    size_t len)
{
	char *buf;
	size_t out = 0;

	while (len > 0 && data[len - 1] == 0)
		len--;
	if (len == 0)
		return put_bytes(o, "\"\"", 2);
	if ((buf = scratch(w, len * 3)) == NULL)
		return put_null(o);
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
	yajl_gen_string(yajl_begin(w, o), (const unsigned char *)buf, out);
	return yajl_done(w, o);
}

static bool
float_value(struct json_writer *w, struct out *o, const uint8_t *data,
    size_t len)
{
	uint64_t bits = bytes_uint(data, len);
	double d;

	if (len == 4) {
		uint32_t b32 = (uint32_t)bits;
		float f;

		memcpy(&f, &b32, sizeof(f));
		d = f;
	} else {
		memcpy(&d, &bits, sizeof(d));
	}
	if (!isfinite(d))
		return put_null(o);
	yajl_gen_double(yajl_begin(w, o), d);
	return yajl_done(w, o);
}

/* A value small enough to be a token, written at p; NULL when the field
 * needs more (hex, strings, floats). */
static char *
small_value(struct json_writer *w, char *p, const struct flow_field *f)
{
	int type = f->ie ? f->ie->type : -1;
	bool small = f->len >= 1 && f->len <= 8;
	uint64_t v = small ? bytes_uint(f->data, f->len) : 0;

	switch (type) {
	case IE_UNSIGNED:
	case -1:
		return small ? format_put_u64(p, v) : NULL;
	case IE_SIGNED:
		if (!small)
			return NULL;
		if (f->len < 8 && (v >> (f->len * 8 - 1)) & 1)
			v |= ~(uint64_t)0 << (f->len * 8);
		return format_put_i64(p, (int64_t)v);
	case IE_BOOL:
		if (f->len != 1)
			return NULL;
		if (v == 1)
			PUT_LIT(p, "true");
		else
			PUT_LIT(p, "false");
		return p;
	case IE_MAC:
		return f->len == 6 ? put_mac(p, f->data) : NULL;
	case IE_DATE_S:
		if (!small)
			return NULL;
		/* past 9999-12-31 (2^63 ms and more among them) it is no date
		 * anyone can read back: the number as sent, not a clamped or
		 * wrapped one */
		if (v > (uint64_t)FORMAT_MS_MAX / 1000)
			return format_put_u64(p, v);
		return put_time(w, p, (int64_t)v * 1000);
	case IE_DATE_MS:
		if (!small)
			return NULL;
		if (v > (uint64_t)FORMAT_MS_MAX)
			return format_put_u64(p, v);
		return put_time(w, p, (int64_t)v);
	case IE_DATE_US:
	case IE_DATE_NS:
		if (f->len != 8)
			return NULL;
		return put_time(w, p, ((int64_t)(v >> 32) - 2208988800LL) * 1000 +
		    (int64_t)(((v & 0xffffffffu) * 1000) >> 32));
	case IE_IPV4:
	case IE_IPV6:
		if (f->len == 4 || f->len == 16) {
			struct parser_addr a = { .family = f->len == 4 ? 4 : 6 };

			memcpy(a.bytes, f->data, f->len);
			return put_addr(p, &a);
		}
		return NULL;
	default:
		return NULL;
	}
}

static bool
field_value(struct json_writer *w, struct out *o, const struct flow_field *f)
{
	int type = f->ie ? f->ie->type : -1;
	char *q;

	if ((q = small_value(w, tok_start(o), f)) != NULL)
		return tok_done(o, q);
	if (type == IE_STRING)
		return string_value(w, o, f->data, f->len);
	if (type == IE_FLOAT && (f->len == 4 || f->len == 8))
		return float_value(w, o, f->data, f->len);
	return put_hex(o, f->data, f->len);
}

static const char *const v9_scope_names[] = {
	NULL, "scope_system", "scope_interface", "scope_line_card",
	"scope_cache", "scope_template",
};

/* The key of an extra field: a table name as it is (no copy), else built
 * into buf (>= 96 bytes). */
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
		PUT_LIT(p, "scope_");
		p = format_put_u64(p, f->id);
	} else if (f->flags & FLOW_FIELD_REVERSE) {
		size_t n = name ? strlen(name) : 0;

		PUT_LIT(p, "reverse");
		if (name && n < 80) {
			*p++ = (char)(name[0] & ~0x20);
			memcpy(p, name + 1, n - 1);
			p += n - 1;
		} else {
			PUT_LIT(p, "Ie");
			p = format_put_u64(p, f->id);
		}
	} else if (name) {
		*len = strlen(name);
		return name;
	} else if (f->pen) {
		*p++ = 'e';
		p = format_put_u64(p, f->pen);
		*p++ = '_';
		p = format_put_u64(p, f->id);
	} else {
		PUT_LIT(p, "ie");
		p = format_put_u64(p, f->id);
	}
	*len = (size_t)(p - buf);
	return buf;
}

/* Bytes yajl_gen_string copies as they are (no beautify, no escaped
 * solidus); ASCII only, to be safe. */
static bool
plain(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* ,"name": as yajl writes it after a value in a map. */
static bool
put_name(struct json_writer *w, struct out *o, const char *name, size_t len)
{
	if (plain(name, len)) {
		if (len + 4 > (size_t)(o->end - o->p))
			return false;
		o->p[0] = ',';
		o->p[1] = '"';
		memcpy(o->p + 2, name, len);
		o->p[len + 2] = '"';
		o->p[len + 3] = ':';
		o->p += len + 4;
		return true;
	}
	if (!put_bytes(o, ",", 1))
		return false;
	yajl_gen_string(yajl_begin(w, o), (const unsigned char *)name, len);
	return yajl_done(w, o) && put_bytes(o, ":", 1);
}

/* The fragment of a field named from the table, cached per element. */
static struct name_entry *
cached_name(struct json_writer *w, const struct flow_record *rec,
    const struct flow_field *f)
{
	bool reverse = f->flags & FLOW_FIELD_REVERSE;
	struct name_entry *e;
	char buf[96];
	const char *name;
	size_t len;

	/* other names depend on more than the element */
	if (f->ie == NULL || f->ie->name == NULL ||
	    ((f->flags & FLOW_FIELD_SCOPE) && rec->version == 9))
		return NULL;
	/* two ways per set, the newest first: rows of different tables
	 * (and sFlow's) may share a set */
	e = &w->names[(uint64_t)(((uintptr_t)f->ie >> 3) * 2 + reverse) *
	    0x9e3779b97f4a7c15ull >> (64 - NAME_SETS_LOG2) << 1];
	if (e->ie == f->ie && e->reverse == reverse)
		return e->len ? e : NULL;
	if (e[1].ie == f->ie && e[1].reverse == reverse)
		return e[1].len ? &e[1] : NULL;
	e[1] = e[0];
	name = field_name(buf, rec, f, &len);
	e->ie = f->ie;
	e->reverse = reverse;
	e->len = 0;
	if (len + 4 <= NAME_SLOT && plain(name, len)) {
		memset(e->frag, 0, NAME_SLOT);
		e->frag[0] = ',';
		e->frag[1] = '"';
		memcpy(e->frag + 2, name, len);
		e->frag[len + 2] = '"';
		e->frag[len + 3] = ':';
		e->len = (uint8_t)(len + 4);
	}
	return e->len ? e : NULL;
}

static bool
field_key(struct json_writer *w, struct out *o, const struct flow_record *rec,
    const struct flow_field *f)
{
	struct name_entry *e = cached_name(w, rec, f);
	const char *name;
	char buf[96];
	size_t len;

	if (e != NULL) {
		char *q = tok_start(o);

		memcpy(q, e->frag, NAME_SLOT);
		return tok_done(o, q + e->len);
	}
	name = field_name(buf, rec, f, &len);
	return put_name(w, o, name, len);
}

/* Whether two fields get the same key (field_name()), so that they share
 * it as an array and no key is written twice. named: the flags that name
 * (the scope flag only in v9, where scopes are named by type; an IPFIX
 * scope field is named as its element). Within an enterprise the table's
 * names are unique; a few elements of different enterprises share one
 * (httpContentType). */
static inline bool
same_element(uint8_t named, const struct flow_field *a,
    const struct flow_field *b)
{
	if (a->pen == b->pen)
		return a->id == b->id && !((a->flags ^ b->flags) & named);
	if ((a->flags ^ b->flags) & named)
		return false;
	if (a->flags & named & FLOW_FIELD_SCOPE)
		return a->id == b->id;
	/* the first letters differ for almost every pair: no call */
	return a->ie != NULL && b->ie != NULL &&
	    a->ie->name[0] == b->ie->name[0] &&
	    strcmp(a->ie->name, b->ie->name) == 0;
}

/* A hash that two fields of the same element (same_element()) share: by
 * name where the table names them, since elements of different
 * enterprises may share a name. A prefilter only: equal hashes are
 * compared with same_element(). */
static uint32_t
element_hash(struct json_writer *w, uint8_t named, const struct flow_field *f)
{
	uint32_t h = (uint32_t)(f->flags & named) * 0x9e3779b1u;

	if (f->ie != NULL && f->ie->name != NULL) {
		size_t i = (size_t)(((uintptr_t)f->ie >> 3) * 0x9e3779b97f4a7c15ull
		    >> 56);

		if (w->name_hash[i].ie != f->ie) {
			uint32_t n = 2166136261u;

			for (const char *p = f->ie->name; *p; p++)
				n = (n ^ (uint8_t)*p) * 16777619u;
			w->name_hash[i].ie = f->ie;
			w->name_hash[i].hash = n;
		}
		h ^= w->name_hash[i].hash;
	} else {
		h ^= ((uint32_t)f->id ^ f->pen * 0x85ebca6bu) * 0xc2b2ae35u;
	}
	return h ^ h >> 15;
}

#define NO_FIELD UINT32_MAX
/* Below this many extra fields the pairwise look is cheaper than a table. */
#define GROUP_MIN 8

/* The fields of each element chained in template order: next[i] is the
 * next field of i's element (NO_FIELD at the end), and first fields are
 * the ones no chain reaches. One open-addressing table per record: linear
 * in the fields, where comparing every pair made a 512-field template
 * cost 130,000 comparisons per record. */
static uint32_t *
group_extras(struct json_writer *w, const struct flow_record *rec,
    uint8_t named)
{
	size_t n = rec->nextra, cap = 2 * GROUP_MIN, mask;
	uint32_t *tail;

	while (cap < 2 * n)
		cap *= 2;
	if (cap > w->slots_cap) {
		uint32_t *p = realloc(w->slots, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		w->slots = p;
		w->slots_cap = cap;
	}
	/* next[] and, behind it, tail[]: tail[i] of a first field is its
	 * element's last field so far, NO_FIELD for the others */
	if (2 * n > w->next_cap) {
		uint32_t *p = realloc(w->next, 2 * n * sizeof(*p));

		if (p == NULL)
			return NULL;
		w->next = p;
		w->next_cap = 2 * n;
	}
	tail = w->next + n;
	mask = cap - 1;
	memset(w->slots, 0xff, cap * sizeof(*w->slots));
	for (uint32_t i = 0; i < n; i++) {
		const struct flow_field *f = &rec->extra[i];
		size_t h = element_hash(w, named, f) & mask;
		uint32_t j;

		w->next[i] = NO_FIELD;
		while ((j = w->slots[h]) != NO_FIELD &&
		    !same_element(named, f, &rec->extra[j]))
			h = (h + 1) & mask;
		if (j == NO_FIELD) {
			w->slots[h] = i;
			tail[i] = i;
		} else {
			w->next[tail[j]] = i;
			tail[j] = i;
			tail[i] = NO_FIELD;
		}
	}
	return tail;
}

static bool
put_element(struct json_writer *w, struct out *o, const struct flow_record *rec,
    uint32_t i)
{
	if (!field_key(w, o, rec, &rec->extra[i]))
		return false;
	if (w->next[i] == NO_FIELD)
		return field_value(w, o, &rec->extra[i]);
	for (bool first = true; i != NO_FIELD; i = w->next[i], first = false)
		if (!put_bytes(o, first ? "[" : ",", 1) ||
		    !field_value(w, o, &rec->extra[i]))
			return false;
	return put_bytes(o, "]", 1);
}

/* A template may repeat an element: all its values are kept, as an array
 * under the one name, in template order. */
static bool
extras(struct json_writer *w, struct out *o, const struct flow_record *rec)
{
	uint8_t named = rec->version == 9 ? 0xff : (uint8_t)~FLOW_FIELD_SCOPE;
	uint32_t *tail;

	if (rec->nextra >= GROUP_MIN) {
		if ((tail = group_extras(w, rec, named)) == NULL)
			return false;
		for (uint32_t i = 0; i < rec->nextra; i++)
			if (tail[i] != NO_FIELD && !put_element(w, o, rec, i))
				return false;
		return true;
	}
	for (size_t i = 0; i < rec->nextra; i++) {
		const struct flow_field *f = &rec->extra[i];
		bool seen = false, repeated = false, first = true;

		for (size_t j = 0; j < i && !seen; j++)
			seen = same_element(named, f, &rec->extra[j]);
		if (seen)
			continue;
		for (size_t j = i + 1; j < rec->nextra && !repeated; j++)
			repeated = same_element(named, f, &rec->extra[j]);
		if (!field_key(w, o, rec, f))
			return false;
		if (!repeated) {
			if (!field_value(w, o, f))
				return false;
			continue;
		}
		for (size_t j = i; j < rec->nextra; j++) {
			if (!same_element(named, f, &rec->extra[j]))
				continue;
			if (!put_bytes(o, first ? "[" : ",", 1) ||
			    !field_value(w, o, &rec->extra[j]))
				return false;
			first = false;
		}
		if (!put_bytes(o, "]", 1))
			return false;
	}
	return true;
}

/* ---- the core keys ---- */

#define PUT_KEY(p, lit) PUT_LIT(p, ",\"" lit "\":")

static char *
put_num_key(const struct json_writer *w, char *p, int k, uint64_t v)
{
	memcpy(p, w->num_key[k], KEY_SLOT);
	return format_put_u64(p + w->num_key_len[k], v);
}

static char *
put_addr_key(const struct json_writer *w, char *p, int k,
    const struct parser_addr *a)
{
	memcpy(p, w->addr_key[k], KEY_SLOT);
	return put_addr(p + w->addr_key_len[k], a);
}

/* At most 3 times, 5 addresses, 21 numbers with their keys: < 2 KiB. */
#define CORE_MAX 2048

static char *
core(struct json_writer *w, const struct flow_record *rec, char *p)
{
	/* the numbers before next_hop, and after it */
	const uint32_t before = (2u << FLOW_OUT_IF) - 1;
	uint32_t m;

	PUT_LIT(p, "{\"time_received\":");
	p = put_time(w, p, rec->src->received_ms);
	PUT_KEY(p, "exporter");
	p = put_addr(p, &rec->src->addr);
	PUT_KEY(p, "exporter_port");
	p = format_put_u64(p, rec->src->port);
	PUT_KEY(p, "version");
	p = format_put_u64(p, rec->version);
	if (rec->format == FLOW_FORMAT_SFLOW) {
		PUT_KEY(p, "format");
		PUT_LIT(p, "\"sflow\"");
	}
	if (rec->has_addr & (1u << FLOW_AGENT))
		p = put_addr_key(w, p, FLOW_AGENT, &rec->addr[FLOW_AGENT]);
	if (rec->has_domain) {
		PUT_KEY(p, "domain");
		p = format_put_u64(p, rec->domain);
	}
	if (rec->kind == FLOW_KIND_OPTIONS) {
		PUT_KEY(p, "type");
		PUT_LIT(p, "\"options\"");
		PUT_KEY(p, "template_id");
		p = format_put_u64(p, rec->template_id);
	} else if (rec->kind == FLOW_KIND_COUNTERS) {
		PUT_KEY(p, "type");
		PUT_LIT(p, "\"counters\"");
	}
	if (rec->has_start) {
		PUT_KEY(p, "start");
		p = put_time(w, p, rec->start_ms);
	}
	if (rec->has_end) {
		PUT_KEY(p, "end");
		p = put_time(w, p, rec->end_ms);
	}
	for (int k = FLOW_SRC_ADDR; k <= FLOW_DST_ADDR; k++)
		if (rec->has_addr & (1u << k))
			p = put_addr_key(w, p, k, &rec->addr[k]);
	for (m = rec->has_num & before; m != 0; m &= m - 1) {
		int k = __builtin_ctz(m);

		p = put_num_key(w, p, k, rec->num[k]);
	}
	if (rec->has_addr & (1u << FLOW_NEXT_HOP))
		p = put_addr_key(w, p, FLOW_NEXT_HOP, &rec->addr[FLOW_NEXT_HOP]);
	for (m = rec->has_num & ~before & ((1u << FLOW_NUM_MAX) - 1); m != 0;
	    m &= m - 1) {
		int k = __builtin_ctz(m);

		p = put_num_key(w, p, k, rec->num[k]);
	}
	return p;
}

/* ---- the enrichment's keys, after all the others ---- */

/* Valid UTF-8 with nothing yajl_gen_string would escape: it would copy
 * these bytes as they are (names like "Zürich" need no detour). */
static bool
plain_utf8(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;

	if (len > 0 && u[len - 1] == 0)
		return false;    /* string_value drops trailing NULs */
	for (size_t i = 0; i < len;) {
		size_t n;

		if (u[i] < 0x80) {
			if (u[i] < 0x20 || u[i] == '"' || u[i] == '\\' ||
			    u[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		if ((n = utf8_seq(u + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

/* A string from a database or the interfaces file as a JSON value: plain
 * ASCII as it is, anything else through string_value (invalid UTF-8
 * replaced, escaped). */
static bool
text_value(struct json_writer *w, struct out *o, const char *s, size_t len)
{
	if (len + 2 <= (size_t)(o->end - o->p) && plain_utf8(s, len)) {
		o->p[0] = '"';
		memcpy(o->p + 1, s, len);
		o->p[len + 1] = '"';
		o->p += len + 2;
		return true;
	}
	return string_value(w, o, (const uint8_t *)s, len);
}

size_t
json_writer_text(struct json_writer *w, const char *s, size_t len, char *dst,
    size_t room)
{
	struct out o = { .p = dst, .end = dst + room };

	/* string_value writes null when its scratch cannot grow: that is no
	 * rendering to keep */
	if (scratch(w, len * 3 + 1) == NULL || !text_value(w, &o, s, len))
		return 0;
	return (size_t)(o.p - dst);
}

static bool
put_text(struct json_writer *w, struct out *o, const char *key, size_t klen,
    const char *s, size_t len)
{
	return put_bytes(o, key, klen) && text_value(w, o, s, len);
}

#define TEXT(w, o, key, s, len) \
	put_text(w, o, ",\"" key "\":", sizeof(",\"" key "\":") - 1, s, len)

/* An AS name: rendered already (the enrichment's cache keeps it as JSON),
 * or as found */
static bool
put_as_name(struct json_writer *w, struct out *o, const char *key,
    size_t klen, const struct enrich_name *n)
{
	if (!n->json)
		return put_text(w, o, key, klen, n->s, n->len);
	return put_bytes(o, key, klen) && put_bytes(o, n->s, n->len);
}

#define AS_NAME(w, o, key, n) \
	put_as_name(w, o, ",\"" key "\":", sizeof(",\"" key "\":") - 1, n)

/* ,"key":"CC": the enrichment keeps A-Z only */
static bool
put_country(struct out *o, const char *key, size_t klen, const char *cc)
{
	if (klen + 4 > (size_t)(o->end - o->p))
		return false;
	memcpy(o->p, key, klen);
	o->p[klen] = '"';
	o->p[klen + 1] = cc[0];
	o->p[klen + 2] = cc[1];
	o->p[klen + 3] = '"';
	o->p += klen + 4;
	return true;
}

#define COUNTRY(o, key, cc) \
	put_country(o, ",\"" key "\":", sizeof(",\"" key "\":") - 1, cc)

static bool
put_speed(struct out *o, const char *key, size_t klen, uint64_t v)
{
	char buf[24];

	return put_bytes(o, key, klen) &&
	    put_bytes(o, buf, (size_t)(format_put_u64(buf, v) - buf));
}

#define SPEED(o, key, v) \
	put_speed(o, ",\"" key "\":", sizeof(",\"" key "\":") - 1, v)

static bool
enriched(struct json_writer *w, struct out *o, const struct enrich_values *v)
{
	if (v->src_as_name.s && !AS_NAME(w, o, "src_as_name", &v->src_as_name))
		return false;
	if (v->dst_as_name.s && !AS_NAME(w, o, "dst_as_name", &v->dst_as_name))
		return false;
	if (v->src_country[0] && !COUNTRY(o, "src_country", v->src_country))
		return false;
	if (v->dst_country[0] && !COUNTRY(o, "dst_country", v->dst_country))
		return false;
	if (v->in_if && !TEXT(w, o, "in_if_name", v->in_if->name,
	    strlen(v->in_if->name)))
		return false;
	if (v->out_if && !TEXT(w, o, "out_if_name", v->out_if->name,
	    strlen(v->out_if->name)))
		return false;
	if (v->in_if && v->in_if->speed && !SPEED(o, "in_if_speed",
	    v->in_if->speed))
		return false;
	if (v->out_if && v->out_if->speed && !SPEED(o, "out_if_speed",
	    v->out_if->speed))
		return false;
	return true;
}

size_t
json_writer_render_enriched(struct json_writer *w,
    const struct flow_record *rec, const struct enrich_values *ev,
    char *dst, size_t room)
{
	struct out o;

	/* not an initializer: it would clear the bounce buffer, every line */
	o.p = dst;
	o.end = dst + room;
	o.tok = dst;
	/* the core is written without checks into a window this large */
	if (room < sizeof("{\"time_received\":") - 1 + CORE_MAX)
		return 0;
	o.p = core(w, rec, o.p);
	if (!extras(w, &o, rec) ||
	    (ev != NULL && ev->any && !enriched(w, &o, ev)))
		return 0;
	/* after every other key: UDP lines stay byte for byte as they were */
	if (rec->src->transport == PARSER_TRANSPORT_TCP &&
	    !put_bytes(&o, ",\"transport\":\"tcp\"", 18))
		return 0;
	if (rec->src->transport == PARSER_TRANSPORT_TLS &&
	    !put_bytes(&o, ",\"transport\":\"tls\"", 18))
		return 0;
	if (!put_bytes(&o, "}\n", 2))
		return 0;
	return (size_t)(o.p - dst);
}

size_t
json_writer_render(struct json_writer *w, const struct flow_record *rec,
    char *dst, size_t room)
{
	return json_writer_render_enriched(w, rec, NULL, dst, room);
}
