/*
 * The writer's reports: its counters of failures, the health mark the
 * watchdog reads, lost records charged to their exporters, and log lines
 * limited to one per kind and REPORT_INTERVAL_MS, whose held-back "(and
 * N more ...)" is said once the interval is over (writer_report_flush,
 * once a second and at the end), so a failure that stops is never left
 * unsaid.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "clock.h"
#include "output-private.h"
#include "writer-private.h"

/* ---- reporting: counters, the health mark, rate-limited log lines ---- */

/* kind: a lost reason or a KIND_: each is limited on its own. */
void
writer_report(struct writer *w, int kind, int prio, const char *reason,
    const char *path, const char *fmt, ...)
{
	struct report_state *rs = &w->reports[kind];
	int64_t now = monotonic_ms();
	char msg[600], line[700];
	uint64_t suppressed;
	va_list ap;

	pthread_mutex_lock(&w->report_lock);
	rs->reason = reason;
	rs->prio = prio;
	snprintf(rs->path, sizeof(rs->path), "%s", path ? path : "");
	if (rs->last_ms != 0 && now - rs->last_ms < REPORT_INTERVAL_MS) {
		rs->suppressed++;
		pthread_mutex_unlock(&w->report_lock);
		return;
	}
	rs->last_ms = now;
	suppressed = rs->suppressed;
	rs->suppressed = 0;
	pthread_mutex_unlock(&w->report_lock);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed > 0)
		snprintf(line, sizeof(line), "%s (and %llu more like it)", msg,
		    (unsigned long long)suppressed);
	else
		snprintf(line, sizeof(line), "%s", msg);
	if (w->log != NULL)
		w->log(prio, reason, path, line);
	else
		fprintf(stderr, "<%d>%s\n", prio, line);
}

/* The lines writer_report() held back, said once their interval is over (or at
 * the end, all): a failure that stops does not leave them unsaid. */
void
writer_report_flush(struct writer *w, bool all)
{
	int64_t now = monotonic_ms();
	char line[400];

	for (int k = 0; k < KIND__COUNT; k++) {
		struct report_state *rs = &w->reports[k];
		uint64_t n;
		int prio;
		char path[sizeof(rs->path)];
		const char *reason;

		pthread_mutex_lock(&w->report_lock);
		n = rs->suppressed;
		if (n == 0 || (!all && now - rs->last_ms < REPORT_INTERVAL_MS)) {
			pthread_mutex_unlock(&w->report_lock);
			continue;
		}
		rs->suppressed = 0;
		rs->last_ms = now;
		prio = rs->prio;
		reason = rs->reason;
		memcpy(path, rs->path, sizeof(path));
		pthread_mutex_unlock(&w->report_lock);
		snprintf(line, sizeof(line), "(and %llu more %s like the last, the "
		    "latest at %s)", (unsigned long long)n, reason, path);
		if (w->log != NULL)
			w->log(prio, reason, path, line);
		else
			fprintf(stderr, "<%d>%s\n", prio, line);
	}
}

void
writer_failing(struct writer *w)
{
	int_fast64_t zero = 0, now = monotonic_ms();

	atomic_fetch_add(&w->counters->write_errors, 1);
	atomic_store(&w->counters->last_failure_ms, now);
	atomic_compare_exchange_strong(&w->counters->failing_since_ms, &zero,
	    now);
}

void
writer_healthy(struct writer *w)
{
	if (atomic_load(&w->counters->failing_since_ms) != 0) {
		atomic_store(&w->counters->failing_since_ms, 0);
		writer_report(w, KIND_RECOVERED, LOG_NOTICE, "recovered", w->dir,
		    "output writes again%s%s", w->dir ? " to " : "",
		    w->dir ? w->dir : "");
	}
}

/* Records lost whose lines are no longer at hand (already in the file):
 * counted, their exporters unknown. */
void
writer_lose(struct writer *w, enum output_lost_reason r, uint64_t records)
{
	if (records == 0)
		return;
	atomic_fetch_add(&w->counters->lost[r], records);
	lost_charge_unknown(w->counters->by_exporter, records);
}

/* The records of the lines at data (len bytes) lost: charged to the
 * exporters the lines name. */
void
writer_lose_lines(struct writer *w, enum output_lost_reason r,
    uint64_t records, const char *data, size_t len)
{
	if (records == 0)
		return;
	atomic_fetch_add(&w->counters->lost[r], records);
	lost_charge_lines(w->counters->by_exporter, data, len);
}

/* A whole block's records lost: charged to the exporters render noted
 * for it (or, in a block made elsewhere, that its lines name). */
void
writer_lose_block(struct writer *w, enum output_lost_reason r,
    uint64_t records, const struct out_block *b)
{
	if (b->who == NULL) {
		writer_lose_lines(w, r, records, b->data, b->len);
		return;
	}
	if (records == 0)
		return;
	atomic_fetch_add(&w->counters->lost[r], records);
	lost_charge_runs(w->counters->by_exporter, b->who, records);
}

enum output_lost_reason
writer_reason_of(int err)
{
	return err == ENOSPC || err == EDQUOT ? OUTPUT_LOST_DISK_FULL :
	    err == EPIPE ? OUTPUT_LOST_PIPE_CLOSED : OUTPUT_LOST_IO_ERROR;
}

size_t
writer_count_lines(const char *p, size_t len)
{
	const char *end = p + len;
	size_t n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}
