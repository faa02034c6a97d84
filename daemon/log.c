#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

static int log_level = LOG_INFO;

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char line[2048];

	if (prio > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "<%d>%s\n", prio, line);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
log_limited(struct ratelimit *rl, int prio, const char *fmt, ...)
{
	int64_t now = now_ms();
	va_list ap;

	if (prio > log_level)
		return;
	if (rl->window_start == 0 || now - rl->window_start >= rl->interval_ms) {
		if (rl->suppressed > 0)
			log_msg(prio, "suppressed %llu similar messages",
			    (unsigned long long)rl->suppressed);
		rl->window_start = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}
