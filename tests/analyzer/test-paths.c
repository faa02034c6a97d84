/* The fast scanner and the full JSON parser agree on every line: the
 * golden corpora (also with the spaces of tshark's normalised lines taken
 * out, so that real exporters' records take the fast path), the fuzz
 * corpora and hand-made odd lines. Usage: test-paths FILE...; exit 1 on any
 * disagreement, or when the fast path read none of netflowd's lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths-check.h"
#include "reader.h"

static unsigned long checked, fast, declined, failures;

static void
check(struct record_parser *rp, const char *what, const char *line, size_t len)
{
	int r = paths_check(rp, line, len);

	checked++;
	if (r > 0)
		fast++;
	else if (r == 0)
		declined++;
	else {
		failures++;
		fprintf(stderr, "%s: paths disagree on: %.*s\n", what, (int)len, line);
	}
}

/* The line without the blanks after ':' and ',' outside strings. */
static size_t
compact(const char *line, size_t len, char *out)
{
	bool in_str = false, esc = false;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		if (in_str) {
			in_str = esc || c != '"';
			esc = !esc && c == '\\';
		} else if (c == '"') {
			in_str = true;
		} else if (c == ' ' && n > 0 && (out[n - 1] == ':' || out[n - 1] == ',')) {
			continue;
		}
		out[n++] = c;
	}
	return n;
}

static const char *const odd[] = {
	"{}",
	/* times of a date the parser has seen: the clock's ranges still hold */
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T23:59:59.999Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T23:59:60.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T24:00:00.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:60:00.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:61.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:0a:00.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.00aZ\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-02-30T12:00:00.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-02-30T12:00:01.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01 12:00:00.000Z\"}",
	"{\"src_addr\":\"01.0.0.1\",\"dst_addr\":\"10.0.0.256\",\"start\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"10.0.0.1.\",\"dst_addr\":\"::ffff:10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3\",\"start\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"time_received\":\"2024-05-01T12:00:00.000Z\",\"time_received\":\"2024-05-01T12:00:01.000Z\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\"}",
	"{\"time_receivedX\":1,\"time_received\":\"2024-05-01T12:00:00.000Z\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\"}",
	"{\"time_received\":1,\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\"}",
	/* the eight-bytes-at-a-time string scan: each kind of byte it must stop
	 * at, at several offsets inside and across its words */
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"abcdefgh\\\"ijkl\"}",
	"{\"e9_1\":\"abcdefgh\\\"ijkl\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ababcdefgh\\\"ijkl\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcdeabcdefgh\\\"ijkl\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"abcdefghijklmno\x7f\"}",
	"{\"e9_1\":\"abcdefghijklmno\x7f\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ababcdefghijklmno\x7f\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcdeabcdefghijklmno\x7f\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"abcdefghijk\x1f\"}",
	"{\"e9_1\":\"abcdefghijk\x1f\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ababcdefghijk\x1f\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcdeabcdefghijk\x1f\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"abcdefghi\x01j\"}",
	"{\"e9_1\":\"abcdefghi\x01j\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ababcdefghi\x01j\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcdeabcdefghi\x01j\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"abcdefghijklm\xc3\xa9\"}",
	"{\"e9_1\":\"abcdefghijklm\xc3\xa9\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ababcdefghijklm\xc3\xa9\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcdeabcdefghijklm\xc3\xa9\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"abcdefghijklmnop\\u0041\"}",
	"{\"e9_1\":\"abcdefghijklmnop\\u0041\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ababcdefghijklmnop\\u0041\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcdeabcdefghijklmnop\\u0041\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"~~~~~~~~~~~~~~~~\"}",
	"{\"e9_1\":\"~~~~~~~~~~~~~~~~\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ab~~~~~~~~~~~~~~~~\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcde~~~~~~~~~~~~~~~~\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"        \x80       \"}",
	"{\"e9_1\":\"        \x80       \",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"ab        \x80       \",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_1\":\"abcde        \x80       \",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"0123456789abcdef",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\"} ",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\"}x",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\",}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"time_received\":\"2024-05-01T12:00:00.000Z\",\"bytes\":007}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"bytes\":18446744073709551615}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"bytes\":18446744073709551616}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"bytes\":1.5}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"bytes\":-1}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"bytes\":\"12\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"tcp_flags\":\"S\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"tcp_flags\":300,\"tos\":256,\"src_mask\":129}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"next_hop\":\"nonsense\",\"in_if\":4294967296}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"proto\":256}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"proto\":6,\"proto\":17}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"caf\\u00e9\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"caf\xc3\xa9\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":\"\xff\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":{\"a\":1}}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":[1,2]}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"e9_1\":true,\"e9_2\":null}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"vlanId\":{}}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"src_port\":null}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"not a time\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\",\"type\":\"options\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\",\"firewallEvent\":5}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\",\"initiatorOctets\":10,\"responderOctets\":20}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\",\"proto\":1,\"dst_port\":771}",
	"{\"src_addr\":\"::ffff:10.0.0.1\",\"dst_addr\":\"2001:db8::1\",\"start\":\"2024-05-01T12:00:00.000+02:00\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\"}}",
	"{\"src_addr\":\"10.0.0.1\"\"dst_addr\":\"10.0.0.2\"}",
	"{\"src_addr\"",
	"{\"src_addr\":",
	"{\"src_addr\":\"10.0.0.1",
	"{\"src_addr\":12",
	"{",
	"[]",
	"\"x\"",
	"{\"a\":1}{\"b\":2}",
	"\t {\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T12:00:00.000Z\"}\r",
	/* keys matched in place (the entries after the last key's, and keys
	 * the table lacks that were seen lately): a key the full parser
	 * decoded from an escape is never matched in a line's raw text */
	"{\"x\\\"y\":1,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"x\"y\":1,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9\\u005fz\":1,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_z\":1,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"e9_z\":1,\"e9_zz\":2,\"e9_\":3,\"e9_z\"1,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\",\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10}",
	"{\"flowDirection\":1,\"flowDirectio\":1,\"flowDirectionX\":1,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T12:00:00.000Z\"}",
	"{\"version\":9,\"domain\":1,\"start\":\"2024-05-01T12:00:00.000Z\",\"end\":\"2024-05-01T12:00:01.000Z\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"proto\":6,\"bytes\":5,\"packets\":1}",
	"{\"version\":9,\"domain\":1,\"start\":\"2024-05-01T12:00:00.000Z\",\"end\":\"2024-05-01T12:00:01.000Z\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"proto\":6,\"bytes\":5,\"bytes\":7,\"packets\":1}",
	"{\"version\":9,\"domain\":1,\"start\":\"2024-05-01T12:00:00.000Z\",\"end\":\"2024-05-01T12:00:01.000Z\",\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"1.2.3.5\",\"proto\":6,\"byte\":5,\"packets\":1}",
};

static void
check_file(struct record_parser *rp, struct reader *r, const char *path)
{
	const char *line;
	size_t len;
	bool overlong;
	char *buf = malloc(READER_MAX_LINE);

	if (!buf || reader_open(r, path) < 0) {
		failures++;
		free(buf);
		return;
	}
	while (reader_next(r, &line, &len, &overlong) == READER_LINE) {
		if (overlong)
			continue;
		check(rp, path, line, len);
		size_t n = compact(line, len, buf);
		if (n != len)
			check(rp, path, buf, n);
	}
	reader_close(r);
	free(buf);
}

int
main(int argc, char **argv)
{
	struct record_parser *rp = record_parser_new();
	struct reader *r = reader_new();

	if (!rp || !r)
		return 1;
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		check(rp, "odd", odd[i], strlen(odd[i]));
	/* every prefix of a real line: truncated input takes either path */
	const char *full = odd[18];
	for (size_t n = 0; n <= strlen(full); n++)
		check(rp, "prefix", full, n);
	unsigned long odd_fast = fast;
	for (int i = 1; i < argc; i++)
		check_file(rp, r, argv[i]);
	printf("%lu lines checked: %lu read by the fast path (%lu of the hand-made), "
	    "%lu declined to the full parser, %lu disagreements\n",
	    checked, fast, odd_fast, declined, failures);
	if (fast - odd_fast == 0 && argc > 1) {
		fprintf(stderr, "the fast path read none of the corpus lines\n");
		failures++;
	}
	reader_free(r);
	record_parser_free(rp);
	return failures ? 1 : 0;
}
