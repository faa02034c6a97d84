/* counter: 64-bit counters that stop at their limit instead of wrapping, so
 * a sum that no longer fits reads as "at least this much", never as a small
 * number. */
#ifndef ANALYZER_COUNTER_H
#define ANALYZER_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#define COUNTER_MAX UINT64_MAX

static inline uint64_t
counter_add(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? COUNTER_MAX : r;
}

static inline uint64_t
counter_mul(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? COUNTER_MAX : r;
}

static inline bool
counter_saturated(uint64_t v)
{
	return v == COUNTER_MAX;
}

#endif
