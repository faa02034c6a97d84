#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"

#define MAX_FIELDS 8

/* The process has one stderr and one journal: this is process state, not
 * collector state. */
/* set on the loop (start, reload), read by every thread that logs */
static atomic_int log_level = LOG_INFO;

static int
current_level(void)
{
	return atomic_load_explicit(&log_level, memory_order_relaxed);
}
static bool journal;

/* libevent logs one line per failed call (at EMFILE, an accept loop
 * logged 1.7 million a second): its messages take our rate limit too. */
static struct ratelimit libevent_log = RATELIMIT_INIT(10000, 10);
static uint64_t libevent_messages;

static void
on_libevent_log(int severity, const char *msg)
{
	int prio = severity >= EVENT_LOG_ERR ? LOG_ERR :
	    severity == EVENT_LOG_WARN ? LOG_WARNING :
	    severity == EVENT_LOG_MSG ? LOG_INFO : LOG_DEBUG;

	libevent_messages++;
	log_limited_fields(&libevent_log, prio,
	    LOG_FIELDS({ "SUBSYSTEM", "libevent" }), "libevent: %s", msg);
}

uint64_t
log_libevent_messages(void)
{
	return libevent_messages;
}

void
log_init(void)
{
	journal = log_journal_stream(STDERR_FILENO);
	event_set_log_callback(on_libevent_log);
}

int
log_to_journal(void)
{
	return journal;
}

void
log_set_level(int level)
{
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int
log_get_level(void)
{
	return current_level();
}

static void
send_journal(int prio, const char *line, const struct log_field *fields,
    size_t nfields)
{
	char buf[MAX_FIELDS][256];
	const char *ptrs[MAX_FIELDS];
	size_t n = 0;

	for (size_t i = 0; i < nfields && n < MAX_FIELDS; i++) {
		if (fields[i].value == NULL)
			continue;
		snprintf(buf[n], sizeof(buf[n]), "%s=%s", fields[i].name,
		    fields[i].value);
		ptrs[n] = buf[n];
		n++;
	}
	if (log_journal_send(prio, line, ptrs, n) < 0)
		fprintf(stderr, "<%d>%s\n", prio, line);
}

static void
vlog(int prio, const struct log_field *fields, size_t nfields,
    const char *fmt, va_list ap)
{
	char line[2048];

	if (prio > current_level())
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (journal)
		send_journal(prio, line, fields, nfields);
	else
		fprintf(stderr, "<%d>%s\n", prio, line);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, NULL, 0, fmt, ap);
	va_end(ap);
}

void
log_fields(int prio, const struct log_field *fields, size_t nfields,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fields, nfields, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, NULL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Opens a new interval when the current one is over; false when this
 * message must be suppressed. Windows run on the monotonic clock, so a
 * stepped wall clock neither floods nor silences the log. */
static bool
ratelimit_pass(struct ratelimit *rl, int prio)
{
	int64_t now = monotonic_ms();

	if (rl->window_start == 0 || now - rl->window_start >= rl->interval_ms) {
		log_ratelimit_flush(rl);
		rl->window_start = now;
		rl->printed = 0;
	}
	rl->prio = prio;
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->printed++;
	return true;
}

void
log_ratelimit_flush(struct ratelimit *rl)
{
	if (rl->suppressed == 0 ||
	    monotonic_ms() - rl->window_start < rl->interval_ms)
		return;
	log_msg(rl->prio, "suppressed %llu messages",
	    (unsigned long long)rl->suppressed);
	rl->suppressed = 0;
}

void
log_limited(struct ratelimit *rl, int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > current_level() || !ratelimit_pass(rl, prio))
		return;
	va_start(ap, fmt);
	vlog(prio, NULL, 0, fmt, ap);
	va_end(ap);
}

bool
log_limited_pass(struct ratelimit *rl, int prio)
{
	return prio <= current_level() && ratelimit_pass(rl, prio);
}

void
log_limited_fields(struct ratelimit *rl, int prio,
    const struct log_field *fields, size_t nfields, const char *fmt, ...)
{
	va_list ap;

	if (prio > current_level() || !ratelimit_pass(rl, prio))
		return;
	va_start(ap, fmt);
	vlog(prio, fields, nfields, fmt, ap);
	va_end(ap);
}
