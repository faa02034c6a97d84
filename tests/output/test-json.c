/*
 * output/json.c: the bytes of a rendered line. The expected lines are the
 * strict checker's view of them (tests/output/json-expected.py: Python's
 * json parses each line, refusing duplicate keys, NaN and bad UTF-8, and
 * writes it back compactly; the test json-expected keeps the file equal to
 * that view), so any change in the bytes shows here:
 * numbers at digit boundaries, times at second, day and year boundaries
 * and clamped, every extra-field type, names yajl must escape, repeated
 * elements, the per-second time cache going backwards, and the exact
 * refusal of a line one byte longer than its window.
 */
#include <stdlib.h>

#include "output-test.h"
#include "strict-json.h"

static const struct ie_info ie_u = { 0, 1, IE_UNSIGNED, "octetDeltaCount" };
static const struct ie_info ie_s = { 0, 9999, IE_SIGNED, "signedThing" };
static const struct ie_info ie_b = { 0, 9998, IE_BOOL, "boolThing" };
static const struct ie_info ie_mac = { 0, 56, IE_MAC, "sourceMacAddress" };
static const struct ie_info ie_str = { 0, 82, IE_STRING, "interfaceName" };
static const struct ie_info ie_f = { 0, 320, IE_FLOAT, "absoluteError" };
static const struct ie_info ie_v4 = { 0, 8, IE_IPV4, "sourceIPv4Address" };
static const struct ie_info ie_ds = { 0, 22, IE_DATE_S, "flowStartSeconds" };
static const struct ie_info ie_dms = { 0, 152, IE_DATE_MS, "flowStartMilliseconds" };
static const struct ie_info ie_dns = { 0, 156, IE_DATE_NS, "flowStartNanoseconds" };
static const struct ie_info ie_oct = { 0, 313, IE_OCTETS, "ipHeaderPacketSection" };
static const struct ie_info ie_pool = { 4300, 1, IE_UNSIGNED, "sample_pool" };
static const struct ie_info ie_path = { 4300, 11, IE_STRING, "as_path" };
static const struct ie_info ie_odd = { 0, 9997, IE_UNSIGNED, "we\"ird\\na\tme" };

static void
field(struct fixture *fx, const struct ie_info *ie, uint16_t id, uint8_t flags,
    const void *data, size_t len)
{
	fx->extra[fx->rec.nextra++] = (struct flow_field){ .ie = ie,
	    .pen = ie ? ie->pen : 0, .id = ie ? ie->id : id, .flags = flags,
	    .len = (uint16_t)len, .data = data };
}

/* Builds case i; false past the last. */
static bool
build_case(int i, struct fixture *fx)
{
	static const uint64_t nums[FLOW_NUM_MAX] = { 0, 9, 10, 99, 100, 999,
	    1000, 4294967295u, 4294967296u, 9999999999u, 10000000000u,
	    UINT64_MAX, 10000000000000000000u, 12345678901234567u, 65535, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 1, 0, 0, 0, 0, 0, 1 };
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 192, 0, 2, 255 };
	static const uint8_t b1[] = { 1 }, b2[] = { 2 }, neg1[] = { 0xff },
	    neg2[] = { 0x80, 0 }, neg8[] = { 0x80, 0, 0, 0, 0, 0, 0, 0 },
	    nine[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 },
	    mac[] = { 0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc },
	    str[] = "a\"b\\c/\x01\n\xff\xc3\x28\xe2\x82\xac\x00z\x00\x00",
	    nuls[] = { 0, 0, 0 }, f64[] = { 0x3f, 0xf8, 0, 0, 0, 0, 0, 0 },
	    f32[] = { 0x42, 0x28, 0, 0 }, f64i[] = { 0x43, 0x30, 0, 0, 0, 0, 0, 1 },
	    nan[] = { 0x7f, 0xf8, 0, 0, 0, 0, 0, 1 },
	    secs[] = { 0x66, 0x32, 0x2f, 0x80 }, huge_s[] = { 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff }, ms6[] = { 0x01, 0x8f, 0x33, 0x79,
	    0x04, 0x00 }, ntp[] = { 0xe9, 0xdb, 0x5a, 0x00, 0x80, 0, 0, 0 };

	switch (i) {
	case 0:         /* every core key; numbers at digit boundaries */
		fixture_init(fx, T0, 10);
		fx->rec.version = 9;
		fx->rec.kind = FLOW_KIND_OPTIONS;
		fx->rec.template_id = 256;
		fx->rec.has_domain = true;
		fx->rec.domain = UINT32_MAX;
		fx->rec.has_start = fx->rec.has_end = true;
		fx->rec.start_ms = T0 - 999;
		fx->rec.end_ms = T0 - 1000;
		fx->rec.has_num = (1u << FLOW_NUM_MAX) - 1;
		memcpy(fx->rec.num, nums, sizeof(nums));
		fx->rec.has_addr = 7;
		fx->rec.addr[0].family = 4;
		memcpy(fx->rec.addr[0].bytes, "\x00\x09\x0a\xff", 4);
		fx->rec.addr[1].family = 6;
		memcpy(fx->rec.addr[1].bytes, v6, 16);
		fx->rec.addr[2].family = 6;
		memcpy(fx->rec.addr[2].bytes, mapped, 16);
		return true;
	case 1:         /* next_hop without out_if; sparse numbers */
		fixture_init(fx, T0 + 1, 10);
		fx->rec.has_num = 1u << FLOW_PROTO | 1u << FLOW_SAMPLING_INTERVAL;
		fx->rec.num[FLOW_PROTO] = 17;
		fx->rec.num[FLOW_SAMPLING_INTERVAL] = 1000;
		fx->rec.has_addr = 1u << FLOW_NEXT_HOP;
		fx->rec.addr[2].family = 4;
		return true;
	case 2:         /* year and day boundaries, before 1970 */
		fixture_init(fx, 1704067199999LL, 10);
		fx->rec.has_start = fx->rec.has_end = true;
		fx->rec.start_ms = 1704067200000LL;
		fx->rec.end_ms = -1;
		return true;
	case 3:         /* clamped both ways, and just inside */
		fixture_init(fx, INT64_MAX, 10);
		fx->rec.has_start = fx->rec.has_end = true;
		fx->rec.start_ms = INT64_MIN;
		fx->rec.end_ms = FORMAT_MS_MAX;
		return true;
	case 4:
		fixture_init(fx, FORMAT_MS_MIN - 1, 10);
		fx->rec.has_start = true;
		fx->rec.start_ms = FORMAT_MS_MIN;
		return true;
	case 5:         /* values written directly */
		fixture_init(fx, T0, 10);
		field(fx, &ie_b, 0, 0, b1, 1);
		field(fx, &ie_b, 0, FLOW_FIELD_REVERSE, b2, 1);
		field(fx, &ie_s, 0, 0, neg1, 1);
		field(fx, &ie_s, 0, FLOW_FIELD_SCOPE, neg2, 2);
		field(fx, &ie_s, 0, FLOW_FIELD_REVERSE, neg8, 8);
		field(fx, &ie_u, 0, 0, nine, 9);
		field(fx, &ie_mac, 0, 0, mac, 6);
		field(fx, &ie_mac, 0, FLOW_FIELD_REVERSE, mac, 5);
		field(fx, &ie_v4, 0, 0, v6, 16);
		field(fx, &ie_ds, 0, 0, secs, 4);
		field(fx, &ie_ds, 0, FLOW_FIELD_REVERSE, huge_s, 8);
		field(fx, &ie_dms, 0, 0, ms6, 6);
		field(fx, &ie_dns, 0, 0, ntp, 8);
		field(fx, &ie_oct, 0, 0, nine, 0);
		field(fx, NULL, 4000, 0, nine, 3);
		field(fx, NULL, 77, 0, nine, 9);
		return true;
	case 6:         /* what yajl renders: strings, floats, odd names */
		fixture_init(fx, T0, 10);
		field(fx, &ie_str, 0, 0, str, sizeof(str) - 1);
		field(fx, &ie_str, 0, FLOW_FIELD_REVERSE, nuls, 3);
		field(fx, &ie_f, 0, 0, f64, 8);
		field(fx, &ie_f, 0, FLOW_FIELD_REVERSE, f32, 4);
		field(fx, &ie_f, 0, FLOW_FIELD_SCOPE, f64i, 8);
		field(fx, &ie_odd, 0, 0, nan, 8);
		field(fx, &ie_f, 1, 0, nan, 8);
		fx->extra[fx->rec.nextra - 1].pen = 9;
		fx->extra[fx->rec.nextra - 1].ie = NULL;
		return true;
	case 7:         /* repeated elements and v9 scopes */
		fixture_init(fx, T0, 10);
		fx->rec.version = 9;
		fx->rec.kind = FLOW_KIND_OPTIONS;
		field(fx, &ie_u, 1, FLOW_FIELD_SCOPE, b1, 1);
		field(fx, NULL, 3, FLOW_FIELD_SCOPE, b2, 1);
		field(fx, NULL, 9, FLOW_FIELD_SCOPE, nine, 4);
		field(fx, &ie_str, 0, 0, str, 3);
		field(fx, &ie_u, 0, 0, b2, 1);
		field(fx, &ie_str, 0, 0, nuls, 1);
		field(fx, &ie_u, 0, 0, nine, 9);
		field(fx, &ie_str, 0, 0, mac, 2);
		field(fx, &ie_f, 0, 0, f64, 8);
		field(fx, &ie_f, 0, 0, nan, 8);
		return true;
	case 8:         /* an sFlow flow sample: format and agent */
		fixture_init(fx, T0, 5);
		fx->rec.format = FLOW_FORMAT_SFLOW;
		fx->rec.has_domain = true;
		fx->rec.domain = 3;
		fx->rec.has_start = fx->rec.has_end = true;
		fx->rec.start_ms = fx->rec.end_ms = T0;
		fx->rec.has_addr = 1u << FLOW_AGENT | 1u << FLOW_SRC_ADDR;
		fx->rec.addr[FLOW_AGENT].family = 6;
		memcpy(fx->rec.addr[FLOW_AGENT].bytes, v6, 16);
		fx->rec.addr[FLOW_SRC_ADDR].family = 4;
		fx->rec.has_num = 1u << FLOW_PACKETS | 1u << FLOW_SAMPLING_INTERVAL;
		fx->rec.num[FLOW_PACKETS] = 1;
		fx->rec.num[FLOW_SAMPLING_INTERVAL] = 4096;
		field(fx, &ie_pool, 0, 0, secs, 4);
		field(fx, &ie_path, 0, 0, "64500 {1,2}", 11);
		field(fx, &ie_mac, 0, 0, mac, 6);
		return true;
	case 9:         /* an sFlow counter sample */
		fixture_init(fx, T0, 5);
		fx->rec.format = FLOW_FORMAT_SFLOW;
		fx->rec.kind = FLOW_KIND_COUNTERS;
		fx->rec.has_domain = true;
		fx->rec.has_addr = 1u << FLOW_AGENT;
		fx->rec.addr[FLOW_AGENT].family = 4;
		field(fx, &ie_pool, 0, 0, secs, 4);
		return true;
	default:
		return false;
	}
}

static const char *const expected[] = {
#include "test-json.expected"
};

static void
test_lines(void)
{
	struct json_writer *w = json_writer_new();
	char *out = malloc(1 << 16);
	struct fixture fx;
	int i;

	CHECK(w != NULL);
	for (i = 0; build_case(i, &fx); i++) {
		size_t len = json_writer_render(w, &fx.rec, out, 1 << 16);
		char why[STRICT_JSON_WHY];

		CHECK(i < (int)(sizeof(expected) / sizeof(expected[0])));
		CHECK(len > 0 && strict_json_line(out, len - 1, why));
		out[len] = '\0';
		if (i < (int)(sizeof(expected) / sizeof(expected[0])))
			CHECK_STR(out, expected[i]);
	}
	CHECK_EQ_U(i, sizeof(expected) / sizeof(expected[0]));
	json_writer_free(w);
	free(out);
}

/* The cache is keyed by the second: backwards, forwards, and seconds that
 * share a slot must each come out as format_time_ms writes them. */
static void
test_time_cache(void)
{
	static const int64_t steps[] = { 0, -1, 1000, -1000, 999, 256000,
	    -256000, 256000 * 2 + 1, 86400000, -86400000 * 366LL, 1, -1,
	    512000, 0 };
	struct json_writer *w = json_writer_new();
	char out[4096], want[64], got[64];
	struct fixture fx;

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			int64_t t = T0 + steps[i] + round * 7;

			fixture_init(&fx, t, 10);
			fx.rec.has_start = true;
			fx.rec.start_ms = t - 256000;
			CHECK(json_writer_render(w, &fx.rec, out, sizeof(out)) > 0);
			format_time_ms(want, t);
			memcpy(got, out + 18, 24);
			got[24] = '\0';
			CHECK_STR(got, want);
			format_time_ms(want, t - 256000);
			CHECK(strstr(out, want) != NULL);
		}
	}
	json_writer_free(w);
}

/* A line that fits exactly is written; one byte less, and it is refused,
 * wherever the end of the window falls (numbers, names, times, hex). */
static void
test_exact_room(void)
{
	static const uint8_t pad[1200];
	struct json_writer *w = json_writer_new();
	char *ref = malloc(1 << 16), *out = malloc(1 << 16);
	struct fixture fx;

	for (int i = 0; build_case(i, &fx); i++) {
		size_t len, min;

		/* a long field first, so the window ends among the tokens */
		memmove(fx.extra + 1, fx.extra, fx.rec.nextra * sizeof(fx.extra[0]));
		fx.extra[0] = (struct flow_field){ .ie = &ie_oct, .id = 313,
		    .len = sizeof(pad), .data = pad };
		fx.rec.nextra++;
		len = json_writer_render(w, &fx.rec, ref, 1 << 16);
		min = len - 400;
		CHECK(min >= 2065);

		for (size_t room = min; room <= len + 2; room++) {
			size_t got = json_writer_render(w, &fx.rec, out, room);

			if (room < len) {
				CHECK_EQ_U(got, 0);
			} else {
				CHECK_EQ_U(got, len);
				CHECK(memcmp(out, ref, len) == 0);
			}
		}
	}
	/* the core needs its 2 KiB window even when the line is short */
	fixture_init(&fx, T0, 10);
	CHECK_EQ_U(json_writer_render(w, &fx.rec, out, 2064), 0);
	CHECK(json_writer_render(w, &fx.rec, out, 2065) > 0);
	json_writer_free(w);
	free(ref);
	free(out);
}

/* The validator the fuzzer trusts: what it must refuse and take (the
 * same cases as tests/tools/test_strictjson.py). */
static void
test_validator(void)
{
	static const char *const bad[] = {
		"{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":1}}",
		"{\"a\":1,\"\\u0061\":2}", "{\"a\":NaN}", "{\"a\":Infinity}",
		"{\"a\":-Infinity}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}",
		"{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\\ud800\"}",
		"{\"a\":\"\\udc00x\"}", "{\"\\ud800\":1}", "[1]", "1", "\"x\"", "",
		"{\"a\":1} {\"b\":2}", "{\"a\":1,}", "{'a':1}", "{\"a\":01}",
		"{\"a\":\"\x01\"}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":\"\\x\"}",
		"{\"a\":tru}", "{\"a\"}", "{\"a\":1\n}",
	};
	static const char *const good[] = {
		"{}", "{\"a\":[1,2,{\"a\":1}]}", "{\"a\":\"\\ud83d\\ude00\"}",
		"{\"a\":\"\xef\xbf\xbd\xe2\x82\xac\"}",
		"{\"a\":1.5e300,\"b\":-0,\"c\":null,\"d\":[true,false],\"e\":\"\\/\"}",
		"{\"a\":{\"a\":1},\"b\":{\"a\":1}}",
	};
	char why[STRICT_JSON_WHY];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!strict_json_line(bad[i], strlen(bad[i]), why));
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(strict_json_line(good[i], strlen(good[i]), why));
}

/* --print: the rendered lines as they are, for json-expected.py. */
/* A wide record (the 512 fields of a template at the parser's limit, each
 * element five times or so, interleaved): every element once, as an
 * array of its values in template order, however the fields fall; the
 * grouping is linear (json.c group_extras()), the old pairwise look was
 * 130,000 comparisons per such record. */
static void
test_wide(void)
{
	enum { NFIELDS = 512, NIDS = 100 };
	static struct flow_field extra[NFIELDS];
	static uint8_t vals[NFIELDS];
	const struct ie_info *ies[NIDS];
	struct json_writer *w = json_writer_new();
	size_t room = 1 << 20, len, nies = 0, at = 0;
	char *out = malloc(room), *want = malloc(room), why[STRICT_JSON_WHY];
	struct fixture fx;

	CHECK(w != NULL && out != NULL && want != NULL);
	if (w == NULL || out == NULL || want == NULL)
		goto done;
	/* unsigned IANA elements of the real table */
	for (uint16_t id = 1; id < 1000 && nies < NIDS; id++) {
		const struct ie_info *ie = ie_lookup(0, id);

		if (ie != NULL && ie->type == IE_UNSIGNED)
			ies[nies++] = ie;
	}
	CHECK_EQ_U(nies, NIDS);
	fixture_init(&fx, 1714564800000, 10);
	fx.rec.extra = extra;
	for (size_t k = 0; k < NFIELDS; k++) {
		/* a stride co-prime with NIDS scatters the repeats */
		const struct ie_info *ie = ies[(k * 37) % NIDS];

		vals[k] = (uint8_t)k;
		extra[k] = (struct flow_field){ .ie = ie, .pen = 0, .id = ie->id,
		    .len = 1, .data = &vals[k] };
	}
	fx.rec.nextra = NFIELDS;
	len = json_writer_render(w, &fx.rec, out, room);
	CHECK(len > 0 && strict_json_line(out, len - 1, why));
	/* the extras, element by element in order of first appearance */
	for (size_t k = 0; k < NIDS && k < NFIELDS; k++) {
		const struct ie_info *ie = ies[(k * 37) % NIDS];

		at += (size_t)snprintf(want + at, room - at, ",\"%s\":[", ie->name);
		for (size_t j = k; j < NFIELDS; j += NIDS)
			at += (size_t)snprintf(want + at, room - at, "%s%u",
			    j == k ? "" : ",", vals[j]);
		at += (size_t)snprintf(want + at, room - at, "]");
	}
	CHECK(len > 0 && memmem(out, len, want, at) != NULL);
done:
	json_writer_free(w);
	free(out);
	free(want);
}

static int
print_lines(void)
{
	struct json_writer *w = json_writer_new();
	char *out = malloc(1 << 16);
	struct fixture fx;

	if (w == NULL || out == NULL)
		return 1;
	for (int i = 0; build_case(i, &fx); i++)
		fwrite(out, 1, json_writer_render(w, &fx.rec, out, 1 << 16), stdout);
	json_writer_free(w);
	free(out);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--print") == 0)
		return print_lines();
	test_validator();
	test_lines();
	test_time_cache();
	test_exact_room();
	test_wide();
	return test_result("json");
}
