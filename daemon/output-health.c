/*
 * What the daemon shows of the output's health: records lost by reason in
 * the SIGUSR1 stats, /metrics and STATUS=, the writer's failures in the
 * journal, and the watchdog held back when the output has been failing
 * for OUTPUT_DEAD_MS, so that systemd restarts a netflowd that receives
 * everything and writes nothing. Kept apart from collector.c, metrics.c
 * and status.c, which call in here with one line each.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "clock.h"
#include "collector.h"

void
collector_output_log(int prio, const char *reason, const char *path,
    const char *msg)
{
	/* already rate-limited by the writer, per reason */
	log_fields(prio, LOG_FIELDS({ "OUTPUT_REASON", reason },
	    { "OUTPUT_PATH", path }), "output: %s", msg);
}

/* ", disk_full 120, io_error 3" */
static void
lost_text(const struct output_stats *os, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int r = 0; r < OUTPUT_LOST__COUNT && n < size; r++) {
		int k;

		if (os->lost[r] == 0)
			continue;
		k = snprintf(buf + n, size - n, "%s%s %llu", n ? ", " : "",
		    output_lost_reason_name(r), (unsigned long long)os->lost[r]);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}

/* Exporters with a stats line of their own; the rest are in /metrics */
#define LOST_LINES_MAX 256

struct lost_lines {
	unsigned shown, more;
};

static void
log_lost_exporter(const char *exporter, uint64_t records, void *arg)
{
	struct lost_lines *l = arg;

	if (exporter != NULL && l->shown == LOST_LINES_MAX) {
		l->more++;
		return;
	}
	l->shown++;
	if (exporter == NULL)
		log_msg(LOG_INFO, "stats: output: %llu records lost after "
		    "writing began, exporter unknown (their lines were gone)",
		    (unsigned long long)records);
	else
		log_fields(LOG_INFO, LOG_FIELDS({ "EXPORTER", exporter }),
		    "stats: output: exporter %s: %llu records lost after "
		    "writing began", exporter, (unsigned long long)records);
}

static void
metric_lost_exporter(const char *exporter, uint64_t records, void *arg)
{
	evbuffer_add_printf(arg, "netflowd_output_exporter_records_lost_total"
	    "{exporter=\"%s\"} %llu\n", exporter ? exporter : "unknown",
	    (unsigned long long)records);
}

void
collector_output_log_stats(struct collector *c)
{
	struct lost_lines lines = { 0 };
	struct output_stats sum;
	const struct output_stats *os = &sum;
	char lost[512];

	collector_output_stats(c, &sum);
	lost_text(os, lost, sizeof(lost));
	log_msg(LOG_INFO, "stats: output: %llu records lost%s%s%s, %llu "
	    "written (in published files or on standard output), %s, "
	    "compression level %d (%llu adaptive changes), %llu files "
	    "published truncated, output directory recreated %llu times, "
	    "render queue peak %llu MiB, recovery: %u files published, "
	    "%llu cut back, %llu removed, %u left",
	    (unsigned long long)os->lost_total, lost[0] ? " (" : "", lost,
	    lost[0] ? ")" : "", (unsigned long long)os->written,
	    os->failing_since_ms ? "FAILING" : "healthy",
	    os->level, (unsigned long long)os->level_changes,
	    (unsigned long long)os->truncated_files,
	    (unsigned long long)os->dir_recreated,
	    (unsigned long long)os->render_queue_peak,
	    c->recovery.published,
	    (unsigned long long)(c->recovery.cut + os->recovered_cut),
	    (unsigned long long)(c->recovery.removed + os->recovered_removed),
	    c->recovery.kept);
	/* the loop's losses are in each exporter's own line ("flows the
	 * output could not keep"); these are the writer's */
	output_lost_by_exporter(c->output, log_lost_exporter, &lines);
	if (lines.more > 0)
		log_msg(LOG_INFO, "stats: output: %u more exporters lost records "
		    "(see /metrics)", lines.more);
}

void
collector_output_metrics(struct collector *c, struct evbuffer *b)
{
	struct output_stats sum;
	const struct output_stats *os = &sum;
	int64_t since;

	collector_output_stats(c, &sum);
	since = os->failing_since_ms;
	evbuffer_add_printf(b, "# HELP netflowd_records_lost_total Records "
	    "decoded that did not reach a published file (or standard output), "
	    "by reason.\n# TYPE netflowd_records_lost_total counter\n");
	for (int r = 0; r < OUTPUT_LOST__COUNT; r++)
		evbuffer_add_printf(b,
		    "netflowd_records_lost_total{reason=\"%s\"} %llu\n",
		    output_lost_reason_name(r), (unsigned long long)os->lost[r]);
	evbuffer_add_printf(b, "# HELP netflowd_records_written_total Records "
	    "in published files, or whole lines on standard output.\n"
	    "# TYPE netflowd_records_written_total counter\n"
	    "netflowd_records_written_total %llu\n",
	    (unsigned long long)os->written);
	evbuffer_add_printf(b, "# HELP netflowd_output_exporter_records_lost_total"
	    " Records lost after output_write took them (standard output, "
	    "disk, open, compressor), by the exporter their lines name.\n"
	    "# TYPE netflowd_output_exporter_records_lost_total counter\n");
	output_lost_by_exporter(c->output, metric_lost_exporter, b);
	evbuffer_add_printf(b, "# HELP netflowd_output_healthy 1 while the "
	    "output writes, 0 while every attempt fails.\n"
	    "# TYPE netflowd_output_healthy gauge\nnetflowd_output_healthy %d\n"
	    "# HELP netflowd_output_failing_seconds How long every attempt to "
	    "write has failed.\n# TYPE netflowd_output_failing_seconds gauge\n"
	    "netflowd_output_failing_seconds %lld\n", since == 0,
	    since ? (long long)(monotonic_ms() - since) / 1000 : 0LL);
	evbuffer_add_printf(b, "# HELP netflowd_output_compress_level "
	    "Compression level in use.\n# TYPE netflowd_output_compress_level "
	    "gauge\nnetflowd_output_compress_level %d\n"
	    "# HELP netflowd_output_level_changes_total Adaptive compression "
	    "level steps (down under backlog, back up after).\n"
	    "# TYPE netflowd_output_level_changes_total counter\n"
	    "netflowd_output_level_changes_total %llu\n", os->level,
	    (unsigned long long)os->level_changes);
	evbuffer_add_printf(b, "# HELP netflowd_output_truncated_files_total "
	    "Files published without the blocks that could not be written.\n"
	    "# TYPE netflowd_output_truncated_files_total counter\n"
	    "netflowd_output_truncated_files_total %llu\n"
	    "# HELP netflowd_output_dir_recreated_total Times the output "
	    "directory was found removed and created again.\n"
	    "# TYPE netflowd_output_dir_recreated_total counter\n"
	    "netflowd_output_dir_recreated_total %llu\n",
	    (unsigned long long)os->truncated_files,
	    (unsigned long long)os->dir_recreated);
	evbuffer_add_printf(b, "# HELP netflowd_output_recovered_files_total "
	    "Temporary files of a crashed run found at start (or in the way "
	    "of a slot), by what recovery did with them.\n"
	    "# TYPE netflowd_output_recovered_files_total counter\n"
	    "netflowd_output_recovered_files_total{action=\"published\"} %u\n"
	    "netflowd_output_recovered_files_total{action=\"cut\"} %llu\n"
	    "netflowd_output_recovered_files_total{action=\"removed\"} %llu\n"
	    "netflowd_output_recovered_files_total{action=\"kept\"} %u\n"
	    "# HELP netflowd_output_recovered_bytes_cut_total Bytes of "
	    "partial lines or frames cut off (or removed) by recovery.\n"
	    "# TYPE netflowd_output_recovered_bytes_cut_total counter\n"
	    "netflowd_output_recovered_bytes_cut_total %llu\n",
	    c->recovery.published,
	    (unsigned long long)(c->recovery.cut + os->recovered_cut),
	    (unsigned long long)(c->recovery.removed + os->recovered_removed),
	    c->recovery.kept, (unsigned long long)c->recovery.bytes_cut);
}

void
collector_output_status(struct collector *c, char *buf, size_t size)
{
	struct output_stats sum;
	const struct output_stats *os = &sum;
	size_t n = strlen(buf);

	collector_output_stats(c, &sum);
	if (n >= size)
		return;
	if (os->failing_since_ms != 0)
		snprintf(buf + n, size - n, "; OUTPUT FAILING for %lld s, "
		    "%llu records lost",
		    (long long)(monotonic_ms() - os->failing_since_ms) / 1000,
		    (unsigned long long)os->lost_total);
	else if (os->lost_total > 0)
		snprintf(buf + n, size - n, "; %llu records lost in output",
		    (unsigned long long)os->lost_total);
}

bool
collector_output_alive(struct collector *c)
{
	struct output_stats sum;
	const struct output_stats *os = &sum;
	int64_t since, now = monotonic_ms();

	collector_output_stats(c, &sum);
	since = os->failing_since_ms;

	/* failing for a minute, and still failing: a collector that failed
	 * once and then had nothing to write is no reason for a restart */
	if (since == 0 || now - since < OUTPUT_DEAD_MS ||
	    now - os->last_failure_ms > OUTPUT_RECENT_MS)
		return true;
	log_limited(&c->write_log, LOG_CRIT, "output has failed for %lld s: "
	    "no watchdog ping, so that systemd restarts netflowd",
	    (long long)(monotonic_ms() - since) / 1000);
	return false;
}

bool
collector_output_check(struct collector *c)
{
	if (!c->to_stdout || !output_stats(c->output)->closed)
		return true;
	/* like any filter whose reader went away: nothing more can arrive */
	log_msg(LOG_ERR, "standard output was closed: exiting");
	event_base_loopbreak(c->base);
	return false;
}
