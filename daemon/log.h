/*
 * Logging: one small API for the whole daemon. Messages carry a syslog
 * priority; on stderr they get the "<N>" prefix that journald and
 * systemd understand.
 */
#ifndef NETFLOWD_LOG_H
#define NETFLOWD_LOG_H

#include <stdint.h>
#include <syslog.h>

void log_set_level(int level);
int log_get_level(void);
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* At most burst messages per interval; the rest are counted and reported
 * as "suppressed N messages" when the next interval opens. */
struct ratelimit {
	int64_t interval_ms;
	unsigned burst;
	int64_t window_start;
	unsigned printed;
	uint64_t suppressed;
};

#define RATELIMIT_INIT(ms, n) { .interval_ms = (ms), .burst = (n) }

void log_limited(struct ratelimit *rl, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
