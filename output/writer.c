/*
 * The writer: everything that can block on the disk happens here, off the
 * event loop — compression, writes, fdatasync, close and rename. The
 * render thread fills 1 MiB blocks of JSON lines and queues them; the
 * queue is bounded (WRITER_BLOCKS_MAX), so when the disk cannot keep up
 * the render thread waits, its own queue fills, and the loop gets no block
 * and drops (and counts) records instead of waiting.
 *
 * Threads. One or more writer threads run the same loop: pop a block
 * (numbered by the queue), compress it into one independent frame
 * (compress.c) on their own, then wait for their turn and put the frame
 * into the file. Compression, the expensive part, runs on as many cores
 * as there are threads; the file sees the frames in queue order. The file
 * state below "owned by whoever has the turn" is touched only in turn.
 *
 * A finished slot is handed to the finisher thread, which waits for
 * fdatasync and then closes and renames it: the writers go on with the
 * next slot meanwhile, so a slow flush at rotation costs no buffer space.
 *
 * Files are written with O_DIRECT by default: the data goes from an
 * aligned staging buffer straight to the device, without the copy into the
 * page cache and the writeback behind it (a fifth of the process's CPU at
 * 150k datagrams/s when buffered). The unaligned tail of a file is written
 * buffered at close. Where the filesystem refuses O_DIRECT (EINVAL at open
 * or at a write), the writer falls back to buffered writes.
 *
 * Failures. A file holds whole frames only: every frame ends at a line
 * boundary, and the writer remembers where each one ends. When a write
 * fails (a full disk, EIO), the file is cut back to the end of the last
 * frame written whole, the block's records are counted lost with the
 * reason, and the next block tries again, so writing resumes by itself
 * when space returns. A slot that lost blocks is published truncated and
 * logged as such; one whose fdatasync failed is not published at all.
 *
 * This file: the queue, the threads and their turn, one block put in
 * turn. The rest: writer-dio.c (the open file's bytes), writer-slot.c (a
 * slot from open to publish), writer-stdout.c, writer-report.c (counters
 * and rate-limited lines); their shared state in writer-private.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "output-private.h"
#include "writer-private.h"

/* The generation of the next writer (files_tmp_name). */
static atomic_uint writer_generations;

/* Tests put a failing one here: no filesystem at hand fails on demand. */
int (*writer_fdatasync)(int fd) = fdatasync;


/* ---- one block, in turn ---- */

/* A block made ready off the turn: its lines counted, compressed. */
struct prepared {
	const void *data;
	size_t len;
	uint64_t records;
};

static void
put_frame(struct writer *w, struct out_block *b, const struct prepared *p)
{
	if (w->open && w->slot != b->slot)
		/* a block of a later slot closes the one before (in case its
		 * close marker could not be allocated) */
		writer_slot_close(w);
	if (!w->open && writer_slot_open(w, b->slot) < 0) {
		writer_lose_block(w, OUTPUT_LOST_OPEN_FAILED, p->records, b);
		return;
	}
	if (w->broken) {
		writer_lose_block(w, OUTPUT_LOST_IO_ERROR, p->records, b);
		return;
	}
	if (writer_file_write(w, p->data, p->len) < 0 ||
	    !writer_remember_frame(w, p->records, b)) {
		int err = errno;
		char path[4096];

		writer_failing(w);
		writer_path_of(w, w->tmp_name, path, sizeof(path));
		writer_lose_block(w, writer_reason_of(err), p->records, b);
		w->missing += p->records;
		writer_report(w, writer_reason_of(err), LOG_ERR,
		    output_lost_reason_name(writer_reason_of(err)), path,
		    "write %s: %s: %llu records lost, the file is cut back to "
		    "the last whole block", path, strerror(err),
		    (unsigned long long)p->records);
		writer_cut_back(w, w->nframes, writer_reason_of(err));
		return;
	}
	writer_healthy(w);
}

static void
put(struct writer *w, struct out_block *b, const struct prepared *p)
{
	if (w->to_stdout) {
		if (p->len > 0)
			writer_stdout_put(w, p->data, p->len, p->records);
		return;
	}
	if (p->len > 0)
		put_frame(w, b, p);
	if (b->close && w->open && w->slot == b->slot) {
		writer_slot_close(w);
	} else if (b->flush) {
		/* once a second: notice a removed directory soon */
		writer_ensure_dir(w);
		if (w->open && writer_dio_sync(w) < 0) {
			int err = errno;
			uint64_t before = writer_file_records(w);
			char path[4096];

			writer_failing(w);
			writer_cut_back(w, w->nframes, writer_reason_of(err));
			writer_path_of(w, w->tmp_name, path, sizeof(path));
			writer_report(w, writer_reason_of(err), LOG_ERR,
			    output_lost_reason_name(writer_reason_of(err)), path,
			    "sync %s: %s: %llu records lost, the file is cut back "
			    "to the last whole block", path, strerror(err),
			    (unsigned long long)(before - writer_file_records(w)));
		}
		writer_report_flush(w, false);
	}
}

/* A step faster while blocks pile up, a step back once they are gone. */
static int
adapted_level(struct writer *w)
{
	int level = atomic_load(&w->counters->level), next = level;
	size_t depth;

	if (!w->adapt)
		return level;
	depth = blockq_depth(&w->q);
	if (depth >= ADAPT_HIGH && level > compressor_fastest_level(w->compress))
		next = compressor_step(w->compress, level, -1);
	else if (depth <= ADAPT_LOW && level < w->level) {
		next = compressor_step(w->compress, level, +1);
		if (next > w->level)
			next = w->level;
	}
	if (next != level &&
	    atomic_compare_exchange_strong(&w->counters->level, &level, next))
		atomic_fetch_add(&w->counters->level_changes, 1);
	return next;
}

static void
prepare(struct worker *wk, const struct out_block *b, struct prepared *p)
{
	struct writer *w = wk->w;

	p->data = b->data;
	p->len = b->len;
	/* render counts its lines; a block made elsewhere (the tests) is
	 * counted here */
	p->records = b->lines ? b->lines : writer_count_lines(b->data, b->len);
	if (wk->z == NULL || b->len == 0)
		return;
	p->len = compressor_frame(wk->z, adapted_level(w), b->data, b->len,
	    &p->data);
	if (p->len == 0) {
		writer_lose_block(w, OUTPUT_LOST_COMPRESS_FAILED, p->records, b);
		writer_report(w, OUTPUT_LOST_COMPRESS_FAILED, LOG_ERR,
		    "compress_failed", w->dir, "%s compressor failed: %llu "
		    "records lost", files_extension(w->compress),
		    (unsigned long long)p->records);
	}
}

static void
consume(void *arg, struct out_block *b)
{
	struct worker *wk = arg;
	struct writer *w = wk->w;
	struct prepared p;

	prepare(wk, b, &p);
	pthread_mutex_lock(&w->turn_lock);
	while (w->turn != b->seq)
		pthread_cond_wait(&w->turn_cond, &w->turn_lock);
	pthread_mutex_unlock(&w->turn_lock);
	put(w, b, &p);
	pthread_mutex_lock(&w->turn_lock);
	w->turn++;
	pthread_cond_broadcast(&w->turn_cond);
	pthread_mutex_unlock(&w->turn_lock);
}

static void *
run(void *arg)
{
	struct worker *wk = arg;

	blockq_consume(&wk->w->q, consume, wk);
	return NULL;
}

/* ---- the queue ---- */

struct out_block *
writer_block(struct writer *w, bool wait)
{
	return blockq_get(&w->q, wait);
}

void
writer_submit(struct writer *w, struct out_block *b)
{
	blockq_push(&w->q, b);
}

void
writer_close_slot(struct writer *w, time_t slot)
{
	blockq_push_marker(&w->q, slot, true);
}

void
writer_flush(struct writer *w)
{
	blockq_push_marker(&w->q, 0, false);
}

void
writer_drain(struct writer *w)
{
	if (w == NULL)
		return;
	blockq_drain(&w->q);
	writer_wait_finisher(w);
}

bool
writer_stages(const struct writer *w)
{
	return w->dio != NULL;
}

void
writer_stopping(struct writer *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->deadline_ms, monotonic_ms() + WRITER_STOP_TIMEOUT_MS);
}

static unsigned
threads_for(const struct output_config *cfg)
{
	long n = cfg->threads;

	if (cfg->to_stdout || cfg->compress == OUTPUT_COMPRESS_NONE)
		return 1;
	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > WRITER_THREADS_MAX ? WRITER_THREADS_MAX :
	    (unsigned)n;
}

static int
start_workers(struct writer *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct worker *wk = &w->workers[i];

		wk->w = w;
		if (w->compress != OUTPUT_COMPRESS_NONE &&
		    (wk->z = compressor_new(w->compress)) == NULL)
			return -1;
		w->nworkers = i + 1;
		if (pthread_create(&wk->thread, NULL, run, wk) != 0)
			return -1;
		pthread_setname_np(wk->thread, "netflowd/writer");
		wk->started = true;
	}
	return 0;
}

struct writer *
writer_new(const struct output_config *cfg, struct writer_counters *counters)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	blockq_init(&w->q, WRITER_BLOCKS_MAX, &counters->queue_peak);
	pthread_mutex_init(&w->fin_lock, NULL);
	pthread_cond_init(&w->fin_work, NULL);
	pthread_cond_init(&w->fin_done, NULL);
	pthread_mutex_init(&w->turn_lock, NULL);
	pthread_cond_init(&w->turn_cond, NULL);
	pthread_mutex_init(&w->report_lock, NULL);
	w->counters = counters;
	w->gen = atomic_fetch_add(&writer_generations, 1) + 1;
	w->log = cfg->log;
	w->to_stdout = cfg->to_stdout;
	w->compress = cfg->to_stdout ? OUTPUT_COMPRESS_NONE : cfg->compress;
	w->level = cfg->level_set ? cfg->level :
	    output_compress_default_level(w->compress);
	w->adapt = cfg->adapt && w->compress != OUTPUT_COMPRESS_NONE;
	atomic_store(&counters->level, w->level);
	w->fd = -1;
	if (w->to_stdout)
		writer_stdout_setup(w);
	else if ((w->dir = strdup(cfg->directory)) == NULL)
		goto fail;
	if (!w->to_stdout && cfg->direct_io &&
	    posix_memalign((void **)&w->dio, DIO_ALIGN, DIO_CHUNK) == 0)
		w->direct = true;
	if (pthread_create(&w->finisher, NULL, writer_run_finisher, w) != 0)
		goto fail;
	pthread_setname_np(w->finisher, "netflowd/finish");
	w->finisher_started = true;
	if (start_workers(w, threads_for(cfg)) < 0)
		goto fail;
	return w;
fail:
	writer_free(w);
	return NULL;
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	blockq_stop(&w->q);
	for (unsigned i = 0; i < w->nworkers; i++)
		if (w->workers[i].started)
			pthread_join(w->workers[i].thread, NULL);
	/* the threads are gone: the file state is this thread's now, and
	 * the last slot goes through the finisher too */
	writer_slot_close(w);
	if (w->finisher_started) {
		pthread_mutex_lock(&w->fin_lock);
		w->fin_stopping = true;
		pthread_cond_signal(&w->fin_work);
		pthread_mutex_unlock(&w->fin_lock);
		pthread_join(w->finisher, NULL);
	}
	writer_report_flush(w, true);
	for (unsigned i = 0; i < w->nworkers; i++)
		compressor_free(w->workers[i].z);
	blockq_destroy(&w->q);
	writer_forget_frames(w);
	free(w->pw);
	free(w->frames);
	free(w->dio);
	free(w->dir);
	pthread_mutex_destroy(&w->report_lock);
	pthread_cond_destroy(&w->turn_cond);
	pthread_mutex_destroy(&w->turn_lock);
	pthread_cond_destroy(&w->fin_done);
	pthread_cond_destroy(&w->fin_work);
	pthread_mutex_destroy(&w->fin_lock);
	free(w);
}
