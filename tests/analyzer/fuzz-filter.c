/* libFuzzer target: the filter parser (--filter, --filter-file,
 * --post-filter). Any text either parses, and then evaluates on a few
 * flows, or fails with a caret inside the text; nothing crashes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char line[] = "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"2001:db8::1\","
	    "\"applicationName\":\"https\",\"e9_1\":7}";
	char *text = malloc(size + 1);
	struct expr_error err;
	struct flow f[3];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct expr *e = expr_parse(text, &err);
	if (!e) {
		size_t len = strlen(text);
		if (err.pos > len || err.message[0] == '\0')
			abort();
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			expr_print_error(null, "fuzz", text, &err);
			fclose(null);
		}
		free(text);
		return 0;
	}
	memset(f, 0, sizeof(f));
	f[0].src.family = f[0].dst.family = 4;
	f[0].proto = 6;
	f[0].bytes = 1000;
	f[0].packets = 3;
	f[0].end_ms = 2000;
	f[1].src.family = f[1].dst.family = 6;
	f[1].proto = 58;
	f[1].icmp_type = 128;
	f[1].icmp_code = 0;
	f[2].icmp_type = f[2].icmp_code = -1;
	f[2].bytes = UINT64_MAX;
	f[2].start_ms = INT64_MIN / 2;
	f[2].end_ms = INT64_MAX / 2;
	for (int i = 0; i < 3; i++) {
		struct expr_input in = { .flow = &f[i], .flows = (uint64_t)i,
		    .line = i == 1 ? line : NULL, .len = sizeof(line) - 1 };
		(void)expr_match(e, &in);
	}
	expr_free(e);
	free(text);
	return 0;
}
