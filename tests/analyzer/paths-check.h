/* paths-check: one line through the fast path and through the full
 * parser; the two must agree on the result and on every field. Shared by
 * test-paths (corpora and hand-made lines) and the fuzz target. */
#ifndef TESTS_ANALYZER_PATHS_CHECK_H
#define TESTS_ANALYZER_PATHS_CHECK_H

#include <stdbool.h>
#include <string.h>

#include "record.h"

/* f as a parser set to record_parser_core_only() reads it. */
static inline void
paths_core_of(struct flow *f)
{
	f->has_tcp_flags = false;
	f->tcp_flags = 0;
	f->tos = f->src_mask = f->dst_mask = 0;
	f->src_vlan = f->dst_vlan = 0;
	f->in_if = f->out_if = f->src_as = f->dst_as = f->prev_as = f->next_as = 0;
	memset(&f->next_hop, 0, sizeof(f->next_hop));
	memset(&f->bgp_next_hop, 0, sizeof(f->bgp_next_hop));
}

/* A parser left with the core only gives every line the same result, by
 * either path, and the same flow less the keys it leaves out. */
static inline bool
paths_core_agree(const char *line, size_t len, enum record_result want,
    const struct flow *full)
{
	struct record_parser *core = record_parser_new();
	struct flow cf, cs, expect = *full;
	enum record_result rf, rs;

	if (!core)
		return false;
	record_parser_core_only(core, true);
	rf = record_parse_path(core, line, len, &cf, RECORD_PATH_FAST);
	rs = record_parse_path(core, line, len, &cs, RECORD_PATH_FULL);
	record_parser_free(core);
	paths_core_of(&expect);
	if (rs != want || (rf != RECORD_NOT_FAST && rf != want))
		return false;
	if (want != RECORD_FLOW)
		return true;
	return memcmp(&cs, &expect, sizeof(cs)) == 0 &&
	    (rf == RECORD_NOT_FAST || memcmp(&cf, &expect, sizeof(cf)) == 0);
}

/* 1: the fast path read the line and agreed; 0: it declined (the full
 * parser reads such lines); -1: they disagree. A parser that has read
 * earlier lines (rp: its time cache warm) must also agree with a fresh one,
 * and a fresh core-only one with both (paths_core_agree). */
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
	if (!paths_core_agree(line, len, rs, &full))
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
