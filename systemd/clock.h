/*
 * Milliseconds from the monotonic clock, for intervals and deadlines
 * (rate limits, queue trimming, the writer's failure marks); the daemon's
 * collector_realtime_ms() gives wall-clock time. Header only: output/
 * and daemon/ include it too.
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
