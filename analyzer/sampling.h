/* sampling: a sampled record's counters multiplied by its sampling
 * interval (1:N means each counted packet stands for N), and a count of the
 * records that carried one, by interval, so the output can say so. */
#ifndef ANALYZER_SAMPLING_H
#define ANALYZER_SAMPLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "flow.h"

/* Intervals listed by name; records of further ones are summed as other. */
#define SAMPLING_MAX_INTERVALS 8

struct sampling {
	bool scale;
	uint64_t records;	/* with an interval > 1 */
	size_t n;
	struct {
		uint64_t interval;
		uint64_t records;
	} by[SAMPLING_MAX_INTERVALS];
	uint64_t other;
};

void sampling_init(struct sampling *s, bool scale);
/* Scale f (unless --no-scale) and count it. */
void sampling_apply(struct sampling *s, struct flow *f);
/* The two halves of sampling_apply: scale first, so that filters see the
 * counters the output shows, and count only the flows that passed. */
void sampling_scale(const struct sampling *s, struct flow *f);
void sampling_count(struct sampling *s, const struct flow *f);
/* Add b's counts to a's. */
void sampling_merge(struct sampling *a, const struct sampling *b);
/* "1200 records scaled by their sampling interval: 1000 at 1:100, ..." */
void sampling_describe(const struct sampling *s, char *buf, size_t size);
/* "sampled_records", "scaled" and "sampling_intervals" keys. */
void sampling_json(const struct sampling *s, yajl_gen g);

#endif
