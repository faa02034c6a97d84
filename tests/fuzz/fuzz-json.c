/*
 * libFuzzer target for output/json.c: a flow record built from the input
 * (any core keys, times and addresses; extra fields from the real element
 * table, unknown elements and a synthetic table with every element type
 * and awkward names; scope and reverse flags; repeated elements; any
 * lengths and bytes), rendered, and the line checked by the strict
 * validator of tests/strict-json.h (one object, strict UTF-8, no lone
 * surrogates, no NaN, no key twice). An invalid line, a line that renders
 * differently the second time, or one that a window of exactly its length
 * refuses, aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output-private.h"
#include "strict-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EXTRA 48
#define PEN_REVERSE 29305u

/* Every type, names that need escaping, non-ASCII, long (past the name
 * cache's slot), one name in two enterprises, two names that differ in
 * case. Not here, because the table has none and json.c relies on it: a
 * name twice within an enterprise, a core key's name, one that looks built
 * from numbers (ie7, e9_1), the empty name. */
static const struct ie_info synthetic[] = {
	{ 4294967294u, 1, IE_OCTETS, "fuzzOctets" },
	{ 4294967294u, 2, IE_UNSIGNED, "fuzzUnsigned" },
	{ 4294967294u, 3, IE_SIGNED, "fuzzSigned" },
	{ 4294967294u, 4, IE_FLOAT, "fuzzFloat" },
	{ 4294967294u, 5, IE_BOOL, "fuzzBool" },
	{ 4294967294u, 6, IE_MAC, "fuzzMac" },
	{ 4294967294u, 7, IE_STRING, "fuzzString" },
	{ 4294967294u, 8, IE_DATE_S, "fuzzSeconds" },
	{ 4294967294u, 9, IE_DATE_MS, "fuzzMilliseconds" },
	{ 4294967294u, 10, IE_DATE_US, "fuzzMicroseconds" },
	{ 4294967294u, 11, IE_DATE_NS, "fuzzNanoseconds" },
	{ 4294967294u, 12, IE_IPV4, "fuzzIPv4" },
	{ 4294967294u, 13, IE_IPV6, "fuzzIPv6" },
	{ 4294967294u, 14, IE_BASIC_LIST, "fuzzBasicList" },
	{ 4294967294u, 15, IE_SUBTEMPLATE_LIST, "fuzzSubTemplateList" },
	{ 4294967294u, 16, IE_SUBTEMPLATE_MULTILIST, "fuzzSubTemplateMultiList" },
	{ 4294967294u, 17, 200, "fuzzNoSuchType" },
	{ 4294967294u, 18, IE_STRING, "we\"ird\\na\tme/\x01" },
	{ 4294967294u, 19, IE_UNSIGNED, "caf\xc3\xa9\xe2\x82\xac" },
	{ 4294967294u, 20, IE_FLOAT,
	    "aVeryLongInformationElementNameThatDoesNotFitTheCachedNameSlot" },
	{ 4294967293u, 21, IE_SIGNED, "fuzzSigned" },
	{ 4294967294u, 22, IE_UNSIGNED, "x" },
	{ 4294967294u, 23, IE_UNSIGNED, "X" },
};

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t
take(struct input *in, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		v = v << 8;
		if (in->left > 0) {
			v |= *in->p++;
			in->left--;
		}
	}
	return v;
}

static void
take_addr(struct input *in, struct parser_addr *a)
{
	a->family = take(in, 1) & 1 ? 6 : 4;
	memset(a->bytes, 0, sizeof(a->bytes));
	for (int i = 0; i < (a->family == 4 ? 4 : 16); i++)
		a->bytes[i] = (uint8_t)take(in, 1);
}

static void
take_field(struct input *in, uint8_t version, struct flow_field *f,
    const struct flow_field *prev, size_t nprev)
{
	unsigned sel = (unsigned)take(in, 1);
	size_t want;

	memset(f, 0, sizeof(*f));
	switch (sel & 3) {
	case 0:         /* an element the table knows */
		f->ie = &ie_table[take(in, 2) % ie_table_len];
		f->pen = f->ie->pen;
		f->id = f->ie->id;
		break;
	case 1:         /* any element, named as the parser would */
		f->pen = sel & 4 ? (uint32_t)take(in, 4) : 0;
		f->id = (uint16_t)take(in, 2);
		f->ie = ie_lookup(f->pen, f->id);
		break;
	case 2:
		f->ie = &synthetic[take(in, 1) %
		    (sizeof(synthetic) / sizeof(synthetic[0]))];
		f->pen = f->ie->pen;
		f->id = f->ie->id;
		break;
	default:        /* the element of an earlier field, again */
		if (nprev > 0) {
			*f = prev[take(in, 1) % nprev];
			sel &= ~0x30u;
		}
		break;
	}
	if (sel & 0x10)
		f->flags |= FLOW_FIELD_SCOPE;
	if (sel & 0x20) {
		/* as the parser has them: PEN 29305, named from PEN 0 */
		f->flags |= FLOW_FIELD_REVERSE;
		f->pen = PEN_REVERSE;
		f->ie = ie_lookup(0, f->id);
	}
	/* v9 field types have no enterprise bit: PEN 0, never reverse */
	if (version == 9) {
		f->pen = 0;
		f->flags &= ~FLOW_FIELD_REVERSE;
		f->ie = ie_lookup(0, f->id);
	}
	/* mostly the lengths elements have, sometimes anything */
	if (sel & 0x80)
		want = (size_t)take(in, 2) % 1024;
	else
		want = (size_t[]){ 0, 1, 2, 3, 4, 6, 8, 16 }[take(in, 1) & 7];
	if (want > in->left)
		want = in->left;
	f->len = (uint16_t)want;
	f->data = in->p;
	in->p += want;
	in->left -= want;
}

static void
fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "fuzz-json: %s\n%.*s\n", what, (int)len, line);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_writer *w;
	static char *out, *again;
	struct input in = { data, size };
	struct parser_source src = { 0 };
	struct flow_field extra[MAX_EXTRA];
	struct flow_record rec = { .src = &src, .extra = extra };
	const size_t cap = 1u << 20;
	char why[STRICT_JSON_WHY];
	unsigned flags, vsel;
	size_t len, room;

	/* one writer for the whole run: its name and time caches carry
	 * over from input to input, as they do in the daemon */
	if (w == NULL && ((w = json_writer_new()) == NULL ||
	    (out = malloc(cap)) == NULL || (again = malloc(cap)) == NULL))
		abort();

	flags = (unsigned)take(&in, 1);
	vsel = (unsigned)take(&in, 1);
	rec.version = vsel < 200 ? (uint8_t[]){ 1, 5, 7, 9, 10 }[vsel % 5] :
	    (uint8_t)vsel;
	rec.kind = flags & 1 ? FLOW_KIND_OPTIONS : FLOW_KIND_DATA;
	rec.has_domain = flags & 2;
	rec.has_start = flags & 4;
	rec.has_end = flags & 8;
	take_addr(&in, &src.addr);
	src.port = (uint16_t)take(&in, 2);
	src.received_ms = (int64_t)take(&in, 8);
	rec.template_id = (uint16_t)take(&in, 2);
	rec.domain = (uint32_t)take(&in, 4);
	rec.start_ms = (int64_t)take(&in, 8);
	rec.end_ms = (int64_t)take(&in, 8);
	rec.has_num = (uint32_t)take(&in, 2) & ((1u << FLOW_NUM_MAX) - 1);
	for (int k = 0; k < FLOW_NUM_MAX; k++)
		if (rec.has_num & (1u << k))
			rec.num[k] = take(&in, flags & 0x10 ? 8 : 2);
	rec.has_addr = (uint32_t)take(&in, 1) & 7;
	for (int k = 0; k < FLOW_ADDR_MAX; k++)
		if (rec.has_addr & (1u << k))
			take_addr(&in, &rec.addr[k]);
	rec.nextra = (size_t)take(&in, 1) % (MAX_EXTRA + 1);
	for (size_t i = 0; i < rec.nextra; i++)
		take_field(&in, rec.version, &extra[i], extra, i);

	/* the room: plenty, or what the input says (refusals are fine) */
	room = flags & 0x20 ? 2048 + (size_t)take(&in, 2) : cap;
	len = json_writer_render(w, &rec, out, room);
	if (len == 0) {
		if (room == cap)
			fail("refused with 1 MiB of room", "", 0);
		return 0;
	}
	if (len < 3 || out[len - 1] != '\n' || out[len - 2] != '}')
		fail("not a line ending in }\\n", out, len);
	if (!strict_json_line(out, len - 1, why))
		fail(why, out, len);
	/* the caches give the same bytes, and exactly len bytes of room do
	 * (json.c wants 2065 at least, for the core it writes unchecked) */
	if (json_writer_render(w, &rec, again, len < 2065 ? 2065 : len) != len ||
	    memcmp(out, again, len) != 0)
		fail("rendered differently the second time", again, len);
	return 0;
}
