/*
 * output/: token formatting, file naming, rotation slots, never
 * overwriting, recovery of temporary files, empty slots, compressed files,
 * and JSON that stays valid whatever a packet contains.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "output-test.h"

static char tmpdir[128];

static void
fresh_dir(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
	mkdir(out, 0755);
}

static int
count_files(const char *dir, char names[][128], int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n < max)
			snprintf(names[n], 128, "%.127s", e->d_name);
		n++;
	}
	closedir(d);
	/* sorted, so tests can compare */
	for (int i = 0; i < n && i < max; i++)
		for (int j = i + 1; j < n && j < max; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char t[128];

				memcpy(t, names[i], 128);
				memcpy(names[i], names[j], 128);
				memcpy(names[j], t, 128);
			}
	return n;
}

static bool
exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void
touch(const char *dir, const char *name, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
}

/* ---- records ---- */

static void
make_record(struct fixture *fx, int64_t received_ms, uint16_t port)
{
	fixture_init(fx, received_ms, 9);
	fx->rec.has_domain = true;
	fx->rec.domain = 7;
	fx->rec.has_start = fx->rec.has_end = true;
	fx->rec.start_ms = received_ms - 1500;
	fx->rec.end_ms = received_ms - 250;
	fx->rec.has_addr = 1u << FLOW_SRC_ADDR | 1u << FLOW_DST_ADDR;
	fx->rec.addr[FLOW_SRC_ADDR].family = 4;
	memcpy(fx->rec.addr[FLOW_SRC_ADDR].bytes, "\x0a\x00\x00\x01", 4);
	fx->rec.addr[FLOW_DST_ADDR].family = 6;
	memcpy(fx->rec.addr[FLOW_DST_ADDR].bytes,
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	fx->rec.has_num = 1u << FLOW_SRC_PORT | 1u << FLOW_DST_PORT |
	    1u << FLOW_PROTO | 1u << FLOW_BYTES | 1u << FLOW_PACKETS;
	fx->rec.num[FLOW_SRC_PORT] = port;
	fx->rec.num[FLOW_DST_PORT] = 443;
	fx->rec.num[FLOW_PROTO] = 6;
	fx->rec.num[FLOW_BYTES] = UINT64_MAX;
	fx->rec.num[FLOW_PACKETS] = 0;
}

static struct output *
open_output(const char *dir, unsigned rotate, enum output_compress c)
{
	struct output_config cfg = {
		.directory = dir, .rotate = rotate, .compress = c, .lossless = true,
	};
	char *err = NULL;
	struct output *o = output_new(&cfg, &err);

	if (o == NULL)
		fprintf(stderr, "output_new: %s\n", err ? err : "?");
	free(err);
	return o;
}

static void
write_n(struct output *o, int64_t ms, int n)
{
	struct fixture fx;

	for (int i = 0; i < n; i++) {
		make_record(&fx, ms, (uint16_t)(1024 + i));
		CHECK(output_write(o, &fx.rec) == 0);
	}
}

/* ---- format.c ---- */

static void
test_format_numbers(void)
{
	static const struct { uint64_t v; const char *s; } u[] = {
		{ 0, "0" }, { 9, "9" }, { 10, "10" }, { 99, "99" }, { 100, "100" },
		{ 999, "999" }, { 1000, "1000" }, { 65535, "65535" },
		{ 4294967295u, "4294967295" }, { 4294967296u, "4294967296" },
		{ 9999999999u, "9999999999" }, { 10000000000u, "10000000000" },
		{ 9999999999999999999u, "9999999999999999999" },
		{ 10000000000000000000u, "10000000000000000000" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		CHECK_EQ_U(format_u64(buf, u[i].v), strlen(u[i].s));
		CHECK_STR(buf, u[i].s);
		/* in place: exactly the digits, nothing after them */
		memset(buf, 'x', sizeof(buf));
		CHECK(format_put_u64(buf, u[i].v) == buf + strlen(u[i].s));
		CHECK(buf[strlen(u[i].s)] == 'x');
	}
	/* every length from 1 to 20 digits, and each power's neighbours */
	for (uint64_t p = 1, i = 0; i < 20; i++, p *= 10) {
		char want[32];

		snprintf(want, sizeof(want), "%" PRIu64, p - 1);
		format_u64(buf, p - 1);
		CHECK_STR(buf, want);
		snprintf(want, sizeof(want), "%" PRIu64, p);
		format_u64(buf, p);
		CHECK_STR(buf, want);
	}
	format_i64(buf, INT64_MAX);
	CHECK_STR(buf, "9223372036854775807");
	format_i64(buf, INT64_MIN);
	CHECK_STR(buf, "-9223372036854775808");
	format_i64(buf, -1);
	CHECK_STR(buf, "-1");
}

static void
test_format_time(void)
{
	static const struct { int64_t ms; const char *s; } t[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ -1, "1969-12-31T23:59:59.999Z" },
		{ T0 + 3250, "2024-05-01T12:00:03.250Z" },
		{ 1709164800000LL + 86399999, "2024-02-29T23:59:59.999Z" },
		{ 951782400000LL, "2000-02-29T00:00:00.000Z" },
		{ 4107542400000LL, "2100-03-01T00:00:00.000Z" },
		/* an exporter's nonsense stays a valid timestamp */
		{ INT64_MAX, "9999-12-31T23:59:59.999Z" },
		{ INT64_MIN, "0000-01-01T00:00:00.000Z" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_EQ_U(format_time_ms(buf, t[i].ms), 24);
		CHECK_STR(buf, t[i].s);
	}
	/* the same as gmtime for a spread of days */
	for (int64_t day = -719000; day < 2932000; day += 997) {
		time_t sec = (time_t)day * 86400 + 45296;
		struct tm tm;
		char want[80];

		gmtime_r(&sec, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT12:34:56.789Z",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		format_time_ms(buf, (int64_t)sec * 1000 + 789);
		if (strcmp(buf, want) != 0) {
			CHECK_STR(buf, want);
			break;
		}
	}
}

static void
test_format_addr(void)
{
	char buf[64], want[64];
	unsigned seed = 1;

	/* glibc's inet_ntop is the reference, including ::ffff:a.b.c.d */
	for (int n = 0; n < 200000; n++) {
		struct parser_addr a = { .family = 6 };

		for (int i = 0; i < 16; i++)
			a.bytes[i] = rand_r(&seed) % 3 == 0 ? (uint8_t)rand_r(&seed) : 0;
		if (n % 5 == 0) {
			memset(a.bytes, 0, 10);
			a.bytes[10] = a.bytes[11] = n % 2 ? 0xff : 0;
		}
		if (n % 13 == 0)
			memset(a.bytes, 0, 16);
		format_addr(buf, sizeof(buf), &a);
		inet_ntop(AF_INET6, a.bytes, want, sizeof(want));
		if (strcmp(buf, want) != 0) {
			CHECK_STR(buf, want);
			break;
		}
		a.family = 4;
		format_addr(buf, sizeof(buf), &a);
		inet_ntop(AF_INET, a.bytes, want, sizeof(want));
		if (strcmp(buf, want) != 0) {
			CHECK_STR(buf, want);
			break;
		}
	}
	format_slot_name(buf, sizeof(buf), (time_t)(T0 / 1000));
	CHECK_STR(buf, "20240501T120000Z");
}

/* ---- files ---- */

static void
test_rotation_slots(void)
{
	char dir[300], names[8][128];
	struct output *o;

	fresh_dir("rotation", dir, sizeof(dir));
	o = open_output(dir, 60, OUTPUT_COMPRESS_NONE);
	write_n(o, T0 + 1000, 3);
	write_n(o, T0 + 59999, 2);
	/* while a slot is open it is hidden */
	output_sync(o);
	{
		char tmp[128];

		CHECK(live_tmp(dir, "20240501T120000Z.json", tmp, sizeof(tmp)));
	}
	CHECK(!exists(dir, "20240501T120000Z.json"));
	write_n(o, T0 + 60000, 4);       /* next slot: the first closes */
	/* late (held data, or the wall clock stepped back): the name never
	 * lies, its slot opens again under a -1 name */
	write_n(o, T0 + 1000, 1);
	output_sync(o);
	CHECK(exists(dir, "20240501T120000Z.json"));
	CHECK(exists(dir, "20240501T120100Z.json"));
	CHECK_EQ_U(output_rotate(o, T0 + 125000), 0);   /* timer closes it */
	output_sync(o);
	CHECK_EQ_U(output_stats(o)->files, 3);
	CHECK_EQ_U(output_stats(o)->records, 10);
	CHECK_EQ_U(output_stats(o)->dropped, 0);
	CHECK_EQ_U(output_next_rotation(o, T0 + 15000), 45000);
	output_free(o);
	CHECK_EQ_U(count_files(dir, names, 8), 3);
	CHECK_STR(names[0], "20240501T120000Z-1.json");
	CHECK_STR(names[1], "20240501T120000Z.json");
	CHECK_STR(names[2], "20240501T120100Z.json");
	{
		size_t len;
		char *a = slurp(dir, names[0], &len);

		CHECK_EQ_U(count_lines(a, len), 1);
		free(a);
		a = slurp(dir, names[1], &len);
		CHECK_EQ_U(count_lines(a, len), 5);
		free(a);
		a = slurp(dir, names[2], &len);
		CHECK_EQ_U(count_lines(a, len), 4);
		free(a);
	}
}

static void
test_empty_slot(void)
{
	char dir[300], names[4][128];
	struct output *o;

	fresh_dir("empty", dir, sizeof(dir));
	o = open_output(dir, 10, OUTPUT_COMPRESS_NONE);
	output_rotate(o, T0 + 20000);
	output_flush(o);
	output_free(o);
	CHECK_EQ_U(count_files(dir, names, 4), 0);
	/* one slot with records, the next without: one file */
	o = open_output(dir, 10, OUTPUT_COMPRESS_NONE);
	write_n(o, T0, 1);
	output_rotate(o, T0 + 10000);
	output_rotate(o, T0 + 20000);
	output_free(o);
	CHECK_EQ_U(count_files(dir, names, 4), 1);
	CHECK_STR(names[0], "20240501T120000Z.json");
}

static void
test_no_overwrite(void)
{
	char dir[300], names[8][128];
	struct output *o;
	size_t len;
	char *s;

	fresh_dir("nooverwrite", dir, sizeof(dir));
	touch(dir, "20240501T120000Z.json", "old\n");
	touch(dir, "20240501T120000Z-1.json", "older\n");
	o = open_output(dir, 60, OUTPUT_COMPRESS_NONE);
	write_n(o, T0, 2);
	output_free(o);
	CHECK_EQ_U(count_files(dir, names, 8), 3);
	CHECK_STR(names[1], "20240501T120000Z-2.json");
	s = slurp(dir, "20240501T120000Z.json", &len);
	CHECK_STR(s, "old\n");
	free(s);
	/* and with compression the suffix goes before the extension */
	o = open_output(dir, 60, OUTPUT_COMPRESS_GZIP);
	write_n(o, T0, 1);
	output_free(o);
	o = open_output(dir, 60, OUTPUT_COMPRESS_GZIP);
	write_n(o, T0, 1);
	output_free(o);
	CHECK(exists(dir, "20240501T120000Z.json.gz"));
	CHECK(exists(dir, "20240501T120000Z-1.json.gz"));
}

static void
test_recover(void)
{
	char dir[300], names[16][128];
	struct output *o;
	size_t len;
	char *s;

	fresh_dir("recover", dir, sizeof(dir));
	touch(dir, ".20240501T120000Z.json.tmp", "a\n");
	/* no whole frame in them: removed (test-recover.c cuts real ones) */
	touch(dir, ".20240501T120100Z.json.gz.tmp", "b");
	touch(dir, ".20240501T120200Z.json.zst.tmp", "c");
	touch(dir, "20240501T120300Z.json", "kept\n");
	touch(dir, ".20240501T120300Z.json.tmp", "d\n");
	touch(dir, ".unrelated", "x");
	touch(dir, ".x.tmp", "x");
	touch(dir, "..json.tmp", "x");
	CHECK_EQ_U(output_recover(dir, NULL, NULL), 2);
	CHECK(exists(dir, "20240501T120000Z.json"));
	CHECK(!exists(dir, "20240501T120100Z.json.gz"));
	CHECK(!exists(dir, ".20240501T120100Z.json.gz.tmp"));
	CHECK(!exists(dir, "20240501T120200Z.json.zst"));
#ifdef HAVE_ZSTD
	CHECK(!exists(dir, ".20240501T120200Z.json.zst.tmp"));
#else
	/* it cannot be checked without zstd: left, never published */
	CHECK(exists(dir, ".20240501T120200Z.json.zst.tmp"));
#endif
	CHECK(exists(dir, "20240501T120300Z-1.json"));
	s = slurp(dir, "20240501T120300Z.json", &len);
	CHECK_STR(s, "kept\n");
	free(s);
	CHECK(exists(dir, ".unrelated"));
	CHECK(exists(dir, ".x.tmp"));
	CHECK_EQ_U(output_recover(dir, NULL, NULL), 0);
	CHECK_EQ_U((unsigned)output_recover("/nonexistent/netflowd", NULL,
	    NULL), (unsigned)-1);
	/* a leftover of the slot being opened is not in the way: a writer
	 * only ever opens names of its own generation, so it never takes
	 * another output's file (a retiring one's, still being written) for
	 * a dead run's; the leftover waits for recovery at start */
	touch(dir, ".20240501T120500Z.json.tmp", "crashed\n");
	o = open_output(dir, 60, OUTPUT_COMPRESS_NONE);
	write_n(o, T0 + 300000, 1);
	output_free(o);
	CHECK(exists(dir, "20240501T120500Z.json"));
	CHECK(exists(dir, ".20240501T120500Z.json.tmp"));
	CHECK_EQ_U(output_recover(dir, NULL, NULL), 1);
	CHECK(exists(dir, "20240501T120500Z-1.json"));
	CHECK(count_files(dir, names, 16) > 0);
}

static void
test_compression(void)
{
	char plain_dir[300], gz_dir[300], zst_dir[300];
	char *plain, *gz, *zst;
	size_t plen = 0, glen = 0, zlen = 0;
	struct output *o;

	fresh_dir("plain", plain_dir, sizeof(plain_dir));
	fresh_dir("gzip", gz_dir, sizeof(gz_dir));
	fresh_dir("zstd", zst_dir, sizeof(zst_dir));
	/* > 1 MiB of lines: several blocks */
	o = open_output(plain_dir, 60, OUTPUT_COMPRESS_NONE);
	write_n(o, T0, 9000);
	output_free(o);
	o = open_output(gz_dir, 60, OUTPUT_COMPRESS_GZIP);
	write_n(o, T0, 9000);
	output_free(o);
#ifdef HAVE_ZSTD
	o = open_output(zst_dir, 60, OUTPUT_COMPRESS_ZSTD);
	write_n(o, T0, 9000);
	output_free(o);
#endif
	plain = slurp(plain_dir, "20240501T120000Z.json", &plen);
	gz = gunzip_file(gz_dir, "20240501T120000Z.json.gz", &glen);
#ifdef HAVE_ZSTD
	zst = unzstd_file(zst_dir, "20240501T120000Z.json.zst", &zlen);
#else
	/* built without zstd: the plain file stands in */
	zst = slurp(plain_dir, "20240501T120000Z.json", &zlen);
#endif
	CHECK(plain != NULL && gz != NULL && zst != NULL);
	CHECK(plen > (1u << 20));
	CHECK_EQ_U(count_lines(plain, plen), 9000);
	CHECK_EQ_U(glen, plen);
	CHECK_EQ_U(zlen, plen);
	CHECK(gz && memcmp(gz, plain, plen) == 0);
	CHECK(zst && memcmp(zst, plain, plen) == 0);
	free(plain);
	free(gz);
	free(zst);
}

/* ---- JSON validity ---- */

static yajl_val
parse_line(const char *line, size_t len)
{
	char *copy = strndup(line, len), err[256];
	yajl_val v;

	CHECK(strict_json_line(line, len, err));
	v = yajl_tree_parse(copy, err, sizeof(err));
	if (v == NULL)
		fprintf(stderr, "invalid JSON: %s: %.200s\n", err, copy);
	free(copy);
	return v;
}

static const char *
get_str(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val x = yajl_tree_get(v, path, yajl_t_string);

	return x ? YAJL_GET_STRING(x) : NULL;
}

static long long
get_int(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val x = yajl_tree_get(v, path, yajl_t_number);

	return x && YAJL_IS_INTEGER(x) ? YAJL_GET_INTEGER(x) : -1;
}

static bool
is_null(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val x = yajl_tree_get(v, path, yajl_t_null);

	return x != NULL;
}

static void
test_json_odd_values(void)
{
	static const struct ie_info s_ie = { 0, 82, IE_STRING, "interfaceName" };
	static const struct ie_info f_ie = { 0, 320, IE_FLOAT, "absoluteError" };
	static const struct ie_info f4_ie = { 0, 999, IE_FLOAT, "floatie" };
	static const struct ie_info o_ie = { 0, 313, IE_OCTETS, "ipHeaderPacketSection" };
	static const struct ie_info m_ie = { 0, 56, IE_MAC, "sourceMacAddress" };
	static const uint8_t bad_utf8[] = "a\"b\\c\x01\xff\xc3\x28\xe2\x82\xac\x00d\x00\x00";
	static const uint8_t nan_bits[] = { 0x7f, 0xf8, 0, 0, 0, 0, 0, 1 };
	static const uint8_t inf4[] = { 0x7f, 0x80, 0, 0 };
	static const uint8_t mac[] = { 0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc };
	uint8_t *huge = malloc(65535);
	struct json_writer *w = json_writer_new();
	char *out = malloc(1 << 20);
	struct fixture fx;
	size_t len;
	yajl_val v;

	for (int i = 0; i < 65535; i++)
		huge[i] = (uint8_t)i;
	make_record(&fx, T0, 1);
	fx.extra[0] = (struct flow_field){ .ie = &s_ie, .id = 82,
	    .len = sizeof(bad_utf8) - 1, .data = bad_utf8 };
	fx.extra[1] = (struct flow_field){ .ie = &f_ie, .id = 320, .len = 8,
	    .data = nan_bits };
	fx.extra[2] = (struct flow_field){ .ie = &f4_ie, .id = 999, .len = 4,
	    .data = inf4 };
	fx.extra[3] = (struct flow_field){ .ie = &o_ie, .id = 313, .len = 65535,
	    .data = huge };
	fx.extra[4] = (struct flow_field){ .ie = &m_ie, .id = 56, .len = 6,
	    .data = mac };
	fx.extra[5] = (struct flow_field){ .ie = NULL, .pen = 9, .id = 77,
	    .len = 2, .data = mac };
	fx.extra[6] = (struct flow_field){ .ie = NULL, .id = 4000, .len = 3,
	    .data = mac, .flags = FLOW_FIELD_REVERSE };
	fx.extra[7] = (struct flow_field){ .ie = &m_ie, .id = 56, .len = 6,
	    .data = mac + 0 };
	fx.rec.extra = fx.extra;
	fx.rec.nextra = 8;
	len = json_writer_render(w, &fx.rec, out, 1 << 20);
	CHECK(len > 131070);
	CHECK(out[len - 1] == '\n');
	CHECK(memchr(out, '\n', len) == out + len - 1);
	v = parse_line(out, len - 1);
	CHECK(v != NULL);
	if (v != NULL) {
		const char *s = get_str(v, "interfaceName");
		const char *hex = get_str(v, "ipHeaderPacketSection");
		const char *path[] = { "sourceMacAddress", NULL };
		yajl_val arr = yajl_tree_get(v, path, yajl_t_array);

		/* quotes, backslash, control char kept; bad bytes become U+FFFD;
		 * the NUL inside stays (escaped), trailing NULs go */
		CHECK(s != NULL && memcmp(s, "a\"b\\c\x01\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac",
		    16) == 0);
		CHECK(is_null(v, "absoluteError"));
		CHECK(is_null(v, "floatie"));
		CHECK(hex != NULL && strlen(hex) == 131070 &&
		    strncmp(hex, "000102", 6) == 0);
		CHECK(arr != NULL && YAJL_GET_ARRAY(arr)->len == 2);
		/* unknown elements up to 8 bytes are numbers */
		CHECK_EQ_U(get_int(v, "e9_77"), 0x001b);
		CHECK_EQ_U(get_int(v, "reverseIe4000"), 0x001b21);
		CHECK_STR(get_str(v, "time_received"), "2024-05-01T12:00:00.000Z");
		CHECK_STR(get_str(v, "dst_addr"), "2001:db8::1");
		yajl_tree_free(v);
	}
	/* too small a window: 0, never a partial line */
	CHECK_EQ_U(json_writer_render(w, &fx.rec, out, 1000), 0);
	/* a record with no extras and the core only */
	make_record(&fx, T0, 2);
	len = json_writer_render(w, &fx.rec, out, 1 << 20);
	out[len] = '\0';
	CHECK_STR(out, "{\"time_received\":\"2024-05-01T12:00:00.000Z\","
	    "\"exporter\":\"192.0.2.1\",\"exporter_port\":2055,\"version\":9,"
	    "\"domain\":7,\"start\":\"2024-05-01T11:59:58.500Z\","
	    "\"end\":\"2024-05-01T11:59:59.750Z\",\"src_addr\":\"10.0.0.1\","
	    "\"dst_addr\":\"2001:db8::1\",\"src_port\":2,\"dst_port\":443,"
	    "\"proto\":6,\"bytes\":18446744073709551615,\"packets\":0}\n");
	json_writer_free(w);
	free(out);
	free(huge);
}

static void
test_oversized(void)
{
	static const struct ie_info o_ie = { 0, 313, IE_OCTETS, "ipHeaderPacketSection" };
	uint8_t *huge = calloc(1, 65535);
	struct flow_field f[9];
	char dir[300], names[4][128];
	struct fixture fx;
	struct output *o;

	fresh_dir("oversized", dir, sizeof(dir));
	o = open_output(dir, 60, OUTPUT_COMPRESS_NONE);
	make_record(&fx, T0, 1);
	for (int i = 0; i < 9; i++)
		f[i] = (struct flow_field){ .ie = &o_ie, .id = (uint16_t)(313 + i),
		    .len = 65535, .data = huge };
	fx.rec.extra = f;
	fx.rec.nextra = 9;           /* 9 x 128 KiB of hex: more than a block */
	/* accepted by the loop (its packed form fits), lost and counted by
	 * the render thread; the next record is written */
	CHECK(output_write(o, &fx.rec) == 0);
	write_n(o, T0, 1);
	output_sync(o);
	CHECK_EQ_U(output_stats(o)->oversized, 1);
	CHECK_EQ_U(output_stats(o)->records, 2);
	output_free(o);
	CHECK_EQ_U(count_files(dir, names, 4), 1);
	{
		size_t len;
		char *a = slurp(dir, names[0], &len);

		CHECK_EQ_U(count_lines(a, len), 1);
		free(a);
	}
	free(huge);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/netflowd-test-output-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_format_numbers();
	test_format_time();
	test_format_addr();
	test_rotation_slots();
	test_empty_slot();
	test_no_overwrite();
	test_recover();
	test_compression();
	test_json_odd_values();
	test_oversized();
	if (test_failures == 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	} else {
		fprintf(stderr, "files kept in %s\n", tmpdir);
	}
	return test_result("output");
}
