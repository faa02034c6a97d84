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
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "output-private.h"
#include "writer-private.h"

/* The generation of the next writer (files_tmp_name). */
static atomic_uint writer_generations;

/* Tests put a failing one here: no filesystem at hand fails on demand. */
int (*writer_fdatasync)(int fd) = fdatasync;


/* ---- standard output ----
 *
 * A line is on standard output when its newline is; the books count those
 * as written and every other record of the block as lost, so that
 * received = written + lost to the record. A reader that stalls must not
 * be left half a line either: into a pipe (the usual case) every write is
 * one the kernel takes whole or not at all: whole lines within the room
 * that the pages our earlier writes may still hold leave (pipe_room), or
 * at most PIPE_BUF bytes of whole lines, which POSIX makes atomic; a
 * longer line waits for room. When the exit deadline passes, nothing
 * partial has been written. A socket or terminal gives no such
 * guarantee: there a line cut by the deadline is counted lost (it did not
 * arrive whole), and a regular file is cut back to its last whole line.
 */

/* How often a line longer than PIPE_BUF, with no room for it in the
 * pipe, looks again (poll would wake for one free page). */
#define STDOUT_EMPTY_POLL_MS 1
/* The pipe is grown to this (the default pipe-max-size, which needs no
 * privilege) where it is smaller: a line longer than PIPE_BUF waits for
 * room, and waiting for a 64 KiB pipe to empty held a reader of long
 * lines (IPFIX with hundreds of fields) to half its pace
 * (tests/integration/test_fairness.py) */
#define STDOUT_PIPE_SIZE (1 << 20)

/* Milliseconds left before the exit deadline, capped at cap; -1 when it
 * has passed. */
static int
time_left(struct writer *w, int cap)
{
	int64_t deadline = atomic_load(&w->deadline_ms), left;

	if (deadline == 0)
		return cap;
	if ((left = deadline - monotonic_ms()) <= 0)
		return -1;
	return left < cap ? (int)left : cap;
}

/* Waits until fd takes more, or the exit deadline passes. */
static bool
wait_writable(struct writer *w, int fd)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int timeout = time_left(w, 1000);

		if (timeout < 0)
			return false;
		if (poll(&p, 1, timeout) > 0)
			return true;
	}
}

/* Bytes waiting in the stdout pipe, -1 when unknown. */
static int
pipe_queued(void)
{
	int n;

	return ioctl(STDOUT_FILENO, FIONREAD, &n) < 0 ? -1 : n;
}

/* The longest run of whole lines at p (of len) within room bytes. */
static size_t
whole_lines(const char *p, size_t len, size_t room)
{
	const char *nl;

	if (room >= len)
		return len;
	nl = memrchr(p, '\n', room);
	return nl == NULL ? 0 : (size_t)(nl - p) + 1;
}

/*
 * Bytes a write into the pipe is taken whole for sure, with queued bytes
 * in it. A pipe is a ring of pipe_slots pages; a page is free again once
 * read to its end. A write of n bytes takes at most n / page + 1 new
 * pages (it fills pages, the first of them maybe shared with the write
 * before), so our writes not yet read to their end hold at most the sum
 * of theirs, and a write of (free pages - 1) pages fits. The bytes read
 * so far are ours less what is queued (only we write the pipe).
 */
static size_t
pipe_room(struct writer *w, int queued)
{
	uint64_t read_to;
	size_t held = 0;

	if (w->pw == NULL || (uint64_t)queued > w->pipe_total)
		return queued == 0 ? w->pipe_size : 0;
	read_to = w->pipe_total - (uint64_t)queued;
	while (w->pw_n > 0 && w->pw[w->pw_head].end <= read_to) {
		w->pw_head = (w->pw_head + 1) % w->pw_cap;
		w->pw_n--;
	}
	for (size_t i = 0; i < w->pw_n; i++)
		held += w->pw[(w->pw_head + i) % w->pw_cap].pages;
	return held + 1 >= w->pipe_slots ? 0 :
	    (w->pipe_slots - held - 1) * w->page;
}

/* n bytes went into the pipe. */
static void
pipe_wrote(struct writer *w, size_t n)
{
	size_t pages = n / w->page + 1;

	w->pipe_total += n;
	if (w->pw == NULL)
		return;
	if (w->pw_n == w->pw_cap) {
		/* more writes than pages in flight (short ones, merged): the
		 * last one stands for both, which only overcounts */
		struct pipe_write *last =
		    &w->pw[(w->pw_head + w->pw_n - 1) % w->pw_cap];

		last->end = w->pipe_total;
		last->pages += pages;
		return;
	}
	w->pw[(w->pw_head + w->pw_n++) % w->pw_cap] = (struct pipe_write){
		.end = w->pipe_total, .pages = pages,
	};
}

/*
 * How much of p (whole lines, len > 0) to write to the pipe now so that
 * the write is taken whole or not at all: whole lines within the room
 * pipe_room vouches for, or at most PIPE_BUF bytes of them, which POSIX
 * makes atomic; 0 after waiting, when nothing may go yet; -1 when the
 * deadline passed.
 */
static ssize_t
pipe_chunk(struct writer *w, const char *p, size_t len)
{
	int queued = pipe_queued();
	size_t n, room;

	if (queued < 0 || w->pipe_size == 0)
		return (ssize_t)len;  /* no way to know: as for a socket */
	room = pipe_room(w, queued);
	if ((n = whole_lines(p, len, room > PIPE_BUF ? room : PIPE_BUF)) > 0)
		return (ssize_t)n;
	if (queued == 0)
		/* a line longer than the pipe itself (a shrunk pipe): it
		 * cannot go whole, the rest of it follows */
		return (ssize_t)(memchr(p, '\n', len) ?
		    (size_t)((const char *)memchr(p, '\n', len) - p) + 1 : len);
	/* a long line waits for pages to be read */
	if (time_left(w, STDOUT_EMPTY_POLL_MS) < 0)
		return -1;
	poll(NULL, 0, time_left(w, STDOUT_EMPTY_POLL_MS));
	return 0;
}

/* Gives up on standard output: why (errno, or EAGAIN for the deadline). */
static void
stdout_fail(struct writer *w, int err)
{
	writer_failing(w);
	w->stdout_dead = true;
	if (err == EAGAIN) {
		w->dead_reason = OUTPUT_LOST_SHUTDOWN_TIMEOUT;
		writer_report(w, w->dead_reason, LOG_ERR, "shutdown_timeout", "-",
		    "standard output has taken nothing for %d ms at exit: "
		    "giving up, the rest is lost", WRITER_STOP_TIMEOUT_MS);
		return;
	}
	/* nothing later can reach a reader that went away */
	w->dead_reason = writer_reason_of(err);
	atomic_store(&w->counters->closed, true);
	writer_report(w, w->dead_reason, LOG_ERR,
	    output_lost_reason_name(w->dead_reason), "-",
	    "standard output: %s: everything from now on is lost",
	    strerror(err));
}

/* A line half written when standard output failed: a regular file goes
 * back to where it began (the line is lost whole); anywhere else it
 * stays cut, and is counted lost like the lines after it. */
static void
stdout_unwrite(struct writer *w, size_t partial)
{
	off_t at;

	if (partial == 0 || w->stdout_kind != STDOUT_FILE)
		return;
	if ((at = lseek(STDOUT_FILENO, 0, SEEK_CUR)) >= (off_t)partial &&
	    ftruncate(STDOUT_FILENO, at - (off_t)partial) == 0)
		lseek(STDOUT_FILENO, at - (off_t)partial, SEEK_SET);
}

void
writer_stdout_put(struct writer *w, const char *p, size_t len,
    uint64_t records)
{
	const char *rest = p;    /* the first line not written whole */
	const char *end = p + len;
	size_t partial = 0;      /* bytes of an unfinished line written */
	uint64_t lines = 0;      /* whole lines written */

	while (len > 0 && !w->stdout_dead) {
		ssize_t want = (ssize_t)len, n;
		int err;

		if (w->stdout_kind == STDOUT_PIPE && partial == 0 &&
		    (want = pipe_chunk(w, p, len)) <= 0) {
			if (want < 0)
				stdout_fail(w, EAGAIN);
			continue;
		}
		n = write(STDOUT_FILENO, p, (size_t)want);
		err = errno;
		if (n > 0 && w->stdout_kind == STDOUT_PIPE)
			pipe_wrote(w, (size_t)n);
		if (n > 0) {
			/* records less lines is the number of newlines in
			 * p..end (render's blocks end each line in one): the
			 * lines written are counted on the shorter side of the
			 * cut, none when the rest went whole (the usual case) */
			size_t after = len - (size_t)n;
			size_t left = end[-1] == '\n' && records >= lines ?
			    (size_t)(records - lines) : 0;
			size_t c = left > 0 && after < (size_t)n ?
			    writer_count_lines(p + n, after) : left + 1;
			size_t k = c <= left ? left - c :
			    writer_count_lines(p, (size_t)n);
			const char *nl = p[n - 1] == '\n' ? p + n - 1 :
			    memrchr(p, '\n', (size_t)n);

			lines += k;
			partial = nl ? (size_t)(p + n - nl - 1) : partial +
			    (size_t)n;
			if (nl != NULL)
				rest = nl + 1;
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && err == EINTR)
			continue;
		if (n < 0 && err == EAGAIN && wait_writable(w, STDOUT_FILENO))
			continue;
		stdout_fail(w, n < 0 ? err : EIO);
	}
	if (w->stdout_dead)
		stdout_unwrite(w, partial);
	atomic_fetch_add(&w->counters->written, lines);
	if (records > lines)
		writer_lose_lines(w, w->dead_reason, records - lines, rest,
		    (size_t)(end - rest));
	if (!w->stdout_dead)
		writer_healthy(w);
}

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

static bool
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A pipe or socket on stdout becomes non-blocking, so that a reader that
 * stops reading cannot hold the exit (a terminal or a file is left as it
 * is: its flags are shared with the shell). A pipe's capacity is what an
 * empty one takes in one write. */
void
writer_stdout_setup(struct writer *w)
{
	struct stat st;
	int flags, size;

	if (fstat(STDOUT_FILENO, &st) < 0)
		return;
	if (S_ISREG(st.st_mode))
		w->stdout_kind = STDOUT_FILE;
	if (!(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	if ((flags = fcntl(STDOUT_FILENO, F_GETFL)) >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, flags | O_NONBLOCK);
	if (S_ISFIFO(st.st_mode) &&
	    (size = fcntl(STDOUT_FILENO, F_GETPIPE_SZ)) > 0) {
		int grown;

		/* F_SETPIPE_SZ returns the size it set */
		if (size < STDOUT_PIPE_SIZE && (grown = fcntl(STDOUT_FILENO,
		    F_SETPIPE_SZ, STDOUT_PIPE_SIZE)) > size)
			size = grown;
		w->stdout_kind = STDOUT_PIPE;
		w->pipe_size = (size_t)size;
		w->page = (size_t)sysconf(_SC_PAGESIZE);
		w->pipe_slots = w->pipe_size / w->page;
		if (!same_file(STDOUT_FILENO, STDERR_FILENO)) {
			w->pw_cap = w->pipe_slots + 2;
			w->pw = calloc(w->pw_cap, sizeof(*w->pw));
		}
	}
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
