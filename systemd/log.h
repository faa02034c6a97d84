/*
 * Logging: one small API for the whole daemon. Messages carry a syslog
 * priority. When stderr is connected to the journal (JOURNAL_STREAM) they
 * go to journald as structured entries, so that for instance
 * `journalctl -u netflowd EXPORTER=192.0.2.1` works; otherwise they go to
 * stderr with the "<N>" prefix that journald and systemd understand.
 */
#ifndef NETFLOWD_LOG_H
#define NETFLOWD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* A structured journal field: name in upper case (EXPORTER, LISTENER,
 * DROP_REASON ...), value as text. On stderr only the message is shown. */
struct log_field {
	const char *name;
	const char *value;
};

/* A compound literal array and its length, for the *_fields calls. */
#define LOG_FIELDS(...) \
	(const struct log_field[]){ __VA_ARGS__ }, \
	sizeof((const struct log_field[]){ __VA_ARGS__ }) / sizeof(struct log_field)

/* Chooses journald or stderr and routes libevent's messages through a
 * rate limit; call once at start-up. */
void log_init(void);
/* libevent messages seen (logged or suppressed). */
uint64_t log_libevent_messages(void);
/* True when messages go to journald. */
int log_to_journal(void);
void log_set_level(int level);
int log_get_level(void);
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_fields(int prio, const struct log_field *fields, size_t nfields,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
_Noreturn void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* At most burst messages per interval; the rest are counted and reported
 * as "suppressed N messages" when the interval is over (at the next
 * message or at the next log_ratelimit_flush). */
struct ratelimit {
	int64_t interval_ms;
	unsigned burst;
	int64_t window_start;
	unsigned printed;
	uint64_t suppressed;
	int prio;
};

#define RATELIMIT_INIT(ms, n) { .interval_ms = (ms), .burst = (n) }

void log_limited(struct ratelimit *rl, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_limited_fields(struct ratelimit *rl, int prio,
    const struct log_field *fields, size_t nfields, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same decision alone, for a message that is costly to make: true
 * when it is to be logged now (then log without a limit), false when it
 * is counted as suppressed. */
bool log_limited_pass(struct ratelimit *rl, int prio);
/* Reports what an expired interval suppressed; called from a timer so the
 * count appears even when the flood stopped. */
void log_ratelimit_flush(struct ratelimit *rl);

/* journal.c: the journald transport. True when fd is the stream systemd
 * connected to the journal (JOURNAL_STREAM=DEV:INODE matches fd). */
bool log_journal_stream(int fd);
/* One entry: PRIORITY, MESSAGE, SYSLOG_IDENTIFIER and the given
 * "NAME=value" fields. -1 when journald could not be reached. */
int log_journal_send(int prio, const char *message,
    const char *const *fields, size_t nfields);

#endif
