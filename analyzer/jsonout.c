#include "jsonout.h"

#include <inttypes.h>
#include <string.h>

#include "timeutil.h"

static void
print_cb(void *ctx, const char *s, size_t len)
{
	fwrite(s, 1, len, ctx);
}

yajl_gen
jsonout_new(FILE *out)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (!g)
		return NULL;
	yajl_gen_config(g, yajl_gen_print_callback, print_cb, out);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

void
jsonout_free(yajl_gen g)
{
	if (g)
		yajl_gen_free(g);
}

void
jsonout_end_line(yajl_gen g)
{
	yajl_gen_map_close(g);
	/* The print callback's context is the stream. */
	yajl_gen_clear(g);
	yajl_gen_reset(g, "\n");
}

void
jsonout_key(yajl_gen g, const char *key)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

void
jsonout_str(yajl_gen g, const char *key, const char *value)
{
	jsonout_key(g, key);
	yajl_gen_string(g, (const unsigned char *)value, strlen(value));
}

void
jsonout_uint(yajl_gen g, const char *key, uint64_t value)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, value);
	jsonout_key(g, key);
	yajl_gen_number(g, buf, (size_t)n);
}

void
jsonout_int(yajl_gen g, const char *key, int64_t value)
{
	jsonout_key(g, key);
	yajl_gen_integer(g, value);
}

void
jsonout_bool(yajl_gen g, const char *key, int value)
{
	jsonout_key(g, key);
	yajl_gen_bool(g, value);
}

void
jsonout_time(yajl_gen g, const char *key, int64_t ms)
{
	char buf[40];
	time_format_rfc3339(ms, buf, sizeof(buf));
	jsonout_str(g, key, buf);
}
