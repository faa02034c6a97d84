/*
 * Rotated JSON-lines files, or standard output. This side runs on the
 * event loop: it decides which slot a record belongs to and packs it into
 * a 1 MiB block; render.c turns the blocks into JSON lines on its own
 * thread, and writer.c owns the files on another.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "output-private.h"

struct output {
	unsigned rotate;
	bool to_stdout;
	bool lossless;
	bool slot_open;          /* a slot has records (queued or in cur) */
	time_t slot;             /* start of that slot */
	struct out_block *cur;   /* being filled; NULL when none */
	struct render *render;
	struct writer *writer;
	struct writer_counters counters;
	struct output_stats stats;
	uint64_t loop_dropped, loop_oversized, loop_shed;  /* of stats,
	                                                   * counted here */
	struct fair fair;        /* who loses records when rendering lags */
	int64_t now_ms;          /* the loop's clock (output_clock); 0: unset */
	uint64_t packed;         /* packed bytes of the records accepted */
	bool unflushed;          /* records packed since the last flush */
	bool lost_owned;         /* counters.by_exporter is this output's */
	struct kafka *kafka;     /* the render thread's producer (compared
	                          * only: the render thread holds it) */
	/* a successor under --stdout waits for this output's end */
	_Atomic(struct gate *) release_at_finish;
};

static char *errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
errorf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	return rc < 0 ? NULL : s;
}

/* files = no: a render thread without a writer, feeding Kafka alone */
static struct output *
kafka_only(struct output *o, const struct output_config *cfg, char **err)
{
	if ((o->render = render_new(NULL, &o->counters)) == NULL) {
		*err = strdup("out of memory");
		output_free(o);
		return NULL;
	}
	render_set_kafka(o->render, cfg->kafka);
	render_set_enrich(o->render, cfg->enrich);
	o->kafka = cfg->kafka;
	return o;
}

struct kafka *
output_kafka(const struct output *o)
{
	return o->kafka;
}

void
output_set_enrich(struct output *o, struct enrich *e)
{
	if (o != NULL && o->render != NULL)
		render_set_enrich(o->render, e);
}

int
output_follow(struct output *o, struct output *prev)
{
	bool kafka = o->kafka != NULL && prev->kafka != NULL;
	bool other = kafka && o->kafka != prev->kafka;
	struct gate *g;

	if (!kafka && !o->to_stdout)
		return 0;
	/* prev's end (or its render thread's), and its producer's */
	if ((g = gate_new(1 + other)) == NULL)
		return -1;
	render_wait_for(o->render, g);
	if (o->to_stdout)
		gate_hold(&prev->release_at_finish, g);
	else
		render_release_at_end(prev->render, g);
#ifdef HAVE_KAFKA
	if (other)
		kafka_release_when_settled(prev->kafka, g);
#endif
	gate_unref(g);
	return 0;
}


struct output *
output_new(const struct output_config *cfg, char **err)
{
	struct output *o = calloc(1, sizeof(*o));
	struct stat st;

	*err = NULL;
	if (o == NULL)
		goto fail;
	/* the caller's table outlives this output (a reload's generations
	 * add up in it); without one, this output's own */
	if ((o->counters.by_exporter = cfg->lost) == NULL) {
		if ((o->counters.by_exporter = output_lost_new()) == NULL)
			goto fail;
		o->lost_owned = true;
	}
	/* --read never sheds: its 560 KB of fair state stay untouched */
	if (!cfg->lossless)
		fair_init(&o->fair);
	if (cfg->fair_prefix_set)
		fair_set_prefix(&o->fair, cfg->fair_prefix4, cfg->fair_prefix6);
	o->rotate = cfg->rotate ? cfg->rotate : 60;
	o->to_stdout = cfg->to_stdout;
	o->lossless = cfg->lossless;
	if (!o->to_stdout && cfg->directory != NULL &&
	    cfg->directory[0] == '\0') {
		*err = strdup("output directory is empty");
		goto fail;
	}
	if (!o->to_stdout && !cfg->no_files) {
		if (files_mkdir_p(cfg->directory) < 0 ||
		    stat(cfg->directory, &st) < 0) {
			*err = errorf("cannot create output directory %s: %s",
			    cfg->directory, strerror(errno));
			goto fail;
		}
		/* a file there passes mkdir (EEXIST) and, when it is
		 * executable, access(); nothing could be created in it */
		if (!S_ISDIR(st.st_mode)) {
			*err = errorf("output directory %s is not a directory",
			    cfg->directory);
			goto fail;
		}
		if (access(cfg->directory, W_OK | X_OK) < 0) {
			*err = errorf("output directory %s is not writable: %s",
			    cfg->directory, strerror(errno));
			goto fail;
		}
	}
	if (!o->to_stdout && cfg->no_files)
		return kafka_only(o, cfg, err);
	if (!output_compress_available(cfg->compress)) {
		*err = errorf("compress %s: not built in",
		    files_extension(cfg->compress));
		goto fail;
	}
	o->writer = writer_new(cfg, &o->counters);
	if (o->writer == NULL)
		goto fail;
	if ((o->render = render_new(o->writer, &o->counters)) == NULL)
		goto fail;
	render_set_kafka(o->render, cfg->kafka);
	render_set_enrich(o->render, cfg->enrich);
	o->kafka = cfg->kafka;
	return o;
fail:
	if (*err == NULL)
		*err = strdup("out of memory");
	output_free(o);
	return NULL;
}

/* Hands the current block (if it has lines) to the writer. */
static void
submit_current(struct output *o, bool close)
{
	struct out_block *b = o->cur;

	if (b == NULL || (b->len == 0 && !close)) {
		if (close)
			render_close_slot(o->render, o->slot);
		return;
	}
	o->cur = NULL;
	b->slot = o->slot;
	b->close = close;
	render_submit(o->render, b);
}

/* Blocks queued for rendering from which a flush no longer hands on a
 * partly filled block: the lines would not get out sooner behind the
 * others, and blocks of a few lines each (--stdout flushes after every
 * batch of datagrams) would fill the queue's 224 blocks with a fraction
 * of their bytes. */
#define FLUSH_BACKLOG 4

static int
flush(struct output *o, bool force)
{
	if (!force && render_depth(o->render) >= FLUSH_BACKLOG)
		return 0;
	if (o->cur != NULL && o->cur->len > 0) {
		o->cur->flush = true;
		submit_current(o, false);
	} else if (o->unflushed) {
		/* full blocks went on since the last flush */
		render_flush(o->render);
	}
	o->unflushed = false;
	return 0;
}

int
output_flush(struct output *o)
{
	return flush(o, false);
}

void
output_sync(struct output *o)
{
	flush(o, true);
	render_drain(o->render);
	writer_drain(o->writer);
}

static void
close_slot(struct output *o)
{
	if (!o->slot_open)
		return;
	submit_current(o, true);
	o->slot_open = false;
}

static time_t
slot_of(const struct output *o, int64_t ms)
{
	time_t sec = (time_t)(ms / 1000);

	return sec - sec % (time_t)o->rotate;
}

static bool
take_block(struct output *o)
{
	if (o->cur == NULL)
		o->cur = render_block(o->render, o->lossless);
	return o->cur != NULL;
}

static int
lost(struct output *o, uint64_t *counter, int err)
{
	(*counter)++;
	errno = err;
	return -1;
}

void
output_shed_group(const struct output *o, char *buf, size_t len)
{
	fair_group_text(&o->fair, buf, len);
}

void
output_clock(struct output *o, int64_t now_ms)
{
	o->now_ms = now_ms;
}

size_t
output_backlog(struct output *o, size_t *max)
{
	*max = OUTPUT_BLOCKS_MAX;
	return render_depth(o->render);
}

int
output_write(struct output *o, const struct flow_record *rec)
{
	/* the loop's clock, not the record's: data held for its template
	 * and released late carries the time of its own datagram */
	int64_t now = o->now_ms ? o->now_ms : rec->src->received_ms;
	struct pack_plan plan;
	size_t len;

	if (!o->to_stdout) {
		time_t slot = slot_of(o, now);

		/* a record of another slot (the next, or an earlier one after
		 * the wall clock stepped back) closes the open slot and opens
		 * its own; an earlier slot's file that exists gets a -1 name */
		if (o->slot_open && slot != o->slot)
			close_slot(o);
		if (!o->slot_open) {
			o->slot = slot;
			o->slot_open = true;
		}
	}
	record_pack_plan(rec, &plan);
	len = plan.size;
	if (len > OUTPUT_BLOCK_SIZE)
		return lost(o, &o->loop_oversized, EMSGSIZE);
	/* --read waits for room instead: nothing to share */
	if (!o->lossless) {
		if (fair_window(&o->fair, now)) {
			size_t depth = render_depth(o->render);
			/* what the render thread took: blocks leave the
			 * queue whole, and backed up they are full */
			uint64_t queued = (uint64_t)depth * OUTPUT_BLOCK_SIZE +
			    (o->cur != NULL ? o->cur->len : 0);

			fair_roll(&o->fair, now, depth, OUTPUT_BLOCKS_MAX,
			    o->packed > queued ? o->packed - queued : 0);
		}
		if (!fair_admit(&o->fair, &rec->src->addr, rec->unproven, len))
			return lost(o, &o->loop_shed, EBUSY);
	}
	if (o->cur != NULL && len > OUTPUT_BLOCK_SIZE - o->cur->len)
		submit_current(o, false);
	if (!take_block(o))
		return lost(o, &o->loop_dropped, ENOBUFS);
	record_pack(rec, &plan, o->cur->data + o->cur->len);
	o->cur->len += len;
	o->packed += len;
	o->stats.records++;
	o->unflushed = true;
	return 0;
}

int
output_end_slot(struct output *o)
{
	if (!o->to_stdout)
		close_slot(o);
	return flush(o, true);
}

void
output_close(struct output *o)
{
	output_end_slot(o);
	/* the end: a reader that stalls gets a deadline, not forever */
	writer_stopping(o->writer);
	output_sync(o);
}

int
output_rotate(struct output *o, int64_t now_ms)
{
	if (!o->to_stdout && o->slot_open && slot_of(o, now_ms) > o->slot)
		close_slot(o);
	return output_flush(o);
}

int64_t
output_next_rotation(const struct output *o, int64_t now_ms)
{
	int64_t period = (int64_t)o->rotate * 1000;
	int64_t into = now_ms % period;

	return period - (into < 0 ? into + period : into);
}

struct lost_table *
output_lost_table(struct output *o)
{
	return o->counters.by_exporter;
}

const struct output_stats *
output_stats(struct output *o)
{
	o->stats.bytes = atomic_load(&o->counters.json_bytes);
	o->stats.oversized = o->loop_oversized +
	    atomic_load(&o->counters.oversized);
	o->stats.dropped = o->loop_dropped +
	    atomic_load(&o->counters.render_lost);
	o->stats.files = atomic_load(&o->counters.files);
	o->stats.written = atomic_load(&o->counters.written);
	o->stats.write_errors = atomic_load(&o->counters.write_errors);
	o->stats.disk_bytes = atomic_load(&o->counters.disk_bytes);
	o->stats.direct_bytes = atomic_load(&o->counters.direct_bytes);
	o->stats.queue_peak = atomic_load(&o->counters.queue_peak);
	o->stats.render_queue_peak =
	    atomic_load(&o->counters.render_queue_peak);
	o->stats.lost_total = 0;
	for (int r = 0; r < OUTPUT_LOST__COUNT; r++) {
		o->stats.lost[r] = atomic_load(&o->counters.lost[r]);
		o->stats.lost_total += o->stats.lost[r];
	}
	/* the three the loop and render count on their own */
	o->stats.lost[OUTPUT_LOST_QUEUE_FULL] += o->stats.dropped;
	o->stats.lost[OUTPUT_LOST_OVERSIZED] += o->stats.oversized;
	o->stats.lost[OUTPUT_LOST_FAIR_SHARE] += o->loop_shed;
	o->stats.lost_total += o->stats.dropped + o->stats.oversized +
	    o->loop_shed;
	o->stats.enrich_lookups = atomic_load(&o->counters.enrich_lookups);
	o->stats.enrich_hits = atomic_load(&o->counters.enrich_hits);
	o->stats.enrich_errors = atomic_load(&o->counters.enrich_errors);
	o->stats.enrich_records = atomic_load(&o->counters.enrich_records);
	o->stats.dir_recreated = atomic_load(&o->counters.dir_recreated);
	o->stats.truncated_files = atomic_load(&o->counters.truncated_files);
	o->stats.recovered_cut = atomic_load(&o->counters.recovered_cut);
	o->stats.recovered_removed =
	    atomic_load(&o->counters.recovered_removed);
	o->stats.level = atomic_load(&o->counters.level);
	o->stats.level_changes = atomic_load(&o->counters.level_changes);
	o->stats.failing_since_ms =
	    atomic_load(&o->counters.failing_since_ms);
	o->stats.last_failure_ms = atomic_load(&o->counters.last_failure_ms);
	o->stats.closed = atomic_load(&o->counters.closed);
	return &o->stats;
}

void
output_finish(struct output *o)
{
	if (o == NULL)
		return;
	if (o->render != NULL) {
		if (o->to_stdout)
			flush(o, true);
		else
			close_slot(o);
		/* a reader that stalls gets a deadline, not forever */
		writer_stopping(o->writer);
	}
	/* the render thread hands its last lines to the writer first */
	render_free(o->render);
	writer_free(o->writer);
	o->render = NULL;
	o->writer = NULL;
	/* a successor on standard output may write now */
	gate_let_go(&o->release_at_finish);
}

void
output_free(struct output *o)
{
	if (o == NULL)
		return;
	output_finish(o);
	if (o->lost_owned)
		output_lost_free(o->counters.by_exporter);
	free(o->cur);
	free(o);
}

void
output_stats_add(struct output_stats *sum, const struct output_stats *s,
    int sign)
{
	/* unsigned arithmetic: a sum less what was added earlier (sign -1)
	 * is exact however the terms moved (disk_bytes shrinks when a file
	 * is cut back) */
	uint64_t m = sign < 0 ? (uint64_t)-1 : 1;

	sum->records += m * s->records;
	sum->written += m * s->written;
	sum->recovered_cut += m * s->recovered_cut;
	sum->recovered_removed += m * s->recovered_removed;
	sum->bytes += m * s->bytes;
	sum->files += m * s->files;
	sum->write_errors += m * s->write_errors;
	sum->dropped += m * s->dropped;
	sum->oversized += m * s->oversized;
	sum->disk_bytes += m * s->disk_bytes;
	sum->direct_bytes += m * s->direct_bytes;
	for (int r = 0; r < OUTPUT_LOST__COUNT; r++)
		sum->lost[r] += m * s->lost[r];
	sum->lost_total += m * s->lost_total;
	sum->dir_recreated += m * s->dir_recreated;
	sum->enrich_lookups += m * s->enrich_lookups;
	sum->enrich_hits += m * s->enrich_hits;
	sum->enrich_errors += m * s->enrich_errors;
	sum->enrich_records += m * s->enrich_records;
	sum->truncated_files += m * s->truncated_files;
	sum->level_changes += m * s->level_changes;
}

void
output_set_fdatasync(int (*fn)(int fd))
{
	writer_fdatasync = fn ? fn : fdatasync;
}

static const char *const lost_names[OUTPUT_LOST__COUNT] = {
	[OUTPUT_LOST_QUEUE_FULL] = "queue_full",
	[OUTPUT_LOST_FAIR_SHARE] = "fair_share",
	[OUTPUT_LOST_OVERSIZED] = "oversized",
	[OUTPUT_LOST_DISK_FULL] = "disk_full",
	[OUTPUT_LOST_IO_ERROR] = "io_error",
	[OUTPUT_LOST_OPEN_FAILED] = "open_failed",
	[OUTPUT_LOST_NOT_PUBLISHED] = "not_published",
	[OUTPUT_LOST_PIPE_CLOSED] = "pipe_closed",
	[OUTPUT_LOST_SHUTDOWN_TIMEOUT] = "shutdown_timeout",
	[OUTPUT_LOST_COMPRESS_FAILED] = "compress_failed",
};

const char *
output_lost_reason_name(enum output_lost_reason r)
{
	return (unsigned)r < OUTPUT_LOST__COUNT ? lost_names[r] : "unknown";
}
