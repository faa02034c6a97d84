/* jsonout: one JSON object per line on a stdio stream, through yajl. */
#ifndef ANALYZER_JSONOUT_H
#define ANALYZER_JSONOUT_H

#include <stdint.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>

yajl_gen jsonout_new(FILE *out);
void jsonout_free(yajl_gen g);
/* Close the current top-level object: newline, reset for the next one. */
void jsonout_end_line(yajl_gen g);
void jsonout_str(yajl_gen g, const char *key, const char *value);
void jsonout_uint(yajl_gen g, const char *key, uint64_t value);
void jsonout_int(yajl_gen g, const char *key, int64_t value);
void jsonout_bool(yajl_gen g, const char *key, int value);
void jsonout_time(yajl_gen g, const char *key, int64_t ms);
void jsonout_key(yajl_gen g, const char *key);

#endif
