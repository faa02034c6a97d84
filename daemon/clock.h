/*
 * Milliseconds from the monotonic clock, for intervals (rate limits,
 * trimming); collector_realtime_ms() gives wall-clock time.
 */
#ifndef NETFLOWD_CLOCK_H
#define NETFLOWD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
