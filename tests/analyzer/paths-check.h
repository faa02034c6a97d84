/* paths-check: one line through the fast path and through the full
 * parser; the two must agree on the result and on every field. Shared by
 * test-paths (corpora and hand-made lines) and the fuzz target. */
#ifndef TESTS_ANALYZER_PATHS_CHECK_H
#define TESTS_ANALYZER_PATHS_CHECK_H

#include <stdbool.h>
#include <string.h>

#include "record.h"

/* 1: the fast path read the line and agreed; 0: it declined (the full
 * parser reads such lines); -1: they disagree. A parser that has read
 * earlier lines (rp: its time cache warm) must also agree with a fresh one. */
static inline int
paths_check(struct record_parser *rp, const char *line, size_t len)
{
	struct flow fast, full, cold;
	enum record_result rf, rs, rc;
	struct record_parser *fresh = record_parser_new();

	if (!fresh)
		return -1;
	rc = record_parse_path(fresh, line, len, &cold, RECORD_PATH_FULL);
	record_parser_free(fresh);
	rf = record_parse_path(rp, line, len, &fast, RECORD_PATH_FAST);
	rs = record_parse_path(rp, line, len, &full, RECORD_PATH_FULL);
	if (rc != rs || (rc == RECORD_FLOW && memcmp(&cold, &full, sizeof(cold)) != 0))
		return -1;
	if (rf == RECORD_NOT_FAST)
		return 0;
	if (rf != rs)
		return -1;
	if (rf == RECORD_FLOW && memcmp(&fast, &full, sizeof(fast)) != 0)
		return -1;
	return 1;
}

#endif
