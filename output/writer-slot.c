/*
 * A slot's file from open to publish: the directory (made again when
 * removed), the temporary file (a leftover in its way recovered first),
 * and at close the hand-over to the finisher thread, which waits for
 * fdatasync and then renames it into place, so that the writers go on
 * with the next slot meanwhile. Only what reached the disk is published.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <syslog.h>
#include <unistd.h>

#include "output-private.h"
#include "writer-private.h"

/* ---- the directory ---- */

void
writer_path_of(const struct writer *w, const char *name, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s/%s", w->dir, name);
}

/* Makes the directory again when someone removed it (logrotate run wild,
 * an operator's rm -r): true when it exists now. */
bool
writer_ensure_dir(struct writer *w)
{
	if (access(w->dir, F_OK) == 0)
		return true;
	if (errno != ENOENT)
		return false;
	if (files_mkdir_p(w->dir) < 0) {
		writer_report(w, OUTPUT_LOST_OPEN_FAILED, LOG_ERR, "open_failed", w->dir,
		    "output directory %s is gone and cannot be created: %s",
		    w->dir, strerror(errno));
		return false;
	}
	atomic_fetch_add(&w->counters->dir_recreated, 1);
	writer_report(w, KIND_DIR, LOG_WARNING, "dir_recreated", w->dir,
	    "output directory %s was removed while running: created it again",
	    w->dir);
	return true;
}

/* ---- slots ---- */

static void
recover_leftover(struct writer *w)
{
	struct output_recovery r = { 0 };

	files_recover(w->dir, w->tmp_name, &r, w->log);
	if (r.cut > 0)
		atomic_fetch_add(&w->counters->recovered_cut, r.cut);
	if (r.removed > 0)
		atomic_fetch_add(&w->counters->recovered_removed, r.removed);
}

static int
open_tmp(struct writer *w, const char *path)
{
	/* O_RDWR: cutting back a direct file reads its last partial block,
	 * and rescuing a file from a removed directory copies it */
	int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;
	bool waited = false;
	int fd;

	for (int attempt = 0; attempt < 4; attempt++) {
		fd = open(path, flags | (w->direct ? O_DIRECT : 0), 0644);
		if (fd >= 0)
			return fd;
		if (errno == EINVAL && w->direct) {
			/* no O_DIRECT on this filesystem */
			w->direct = false;
		} else if (errno == EEXIST && !waited) {
			/* the slot opens again (a record of an earlier slot
			 * after a clock step) while its previous file is being
			 * finished */
			writer_wait_finisher(w);
			waited = true;
		} else if (errno == EEXIST) {
			/* left by a run that died (the name holds this
			 * writer's generation: no live writer of this process
			 * has it): checked, cut back and put in place first,
			 * as recovery at start does */
			recover_leftover(w);
		} else if (errno != ENOENT || !writer_ensure_dir(w)) {
			return -1;
		}
	}
	return -1;
}

int
writer_slot_open(struct writer *w, time_t slot)
{
	char path[4096];

	files_tmp_name(w->tmp_name, sizeof(w->tmp_name), slot, w->compress,
	    w->gen);
	writer_path_of(w, w->tmp_name, path, sizeof(path));
	if ((w->fd = open_tmp(w, path)) < 0) {
		int err = errno;

		writer_failing(w);
		writer_report(w, OUTPUT_LOST_OPEN_FAILED, LOG_ERR, "open_failed", path,
		    "cannot create %s: %s: its records are lost", path,
		    strerror(err));
		return -1;
	}
	w->open = true;
	w->slot = slot;
	w->written = w->flushed = 0;
	w->fd_direct = w->direct;
	w->dio_len = 0;
	w->dio_off = 0;
	writer_forget_frames(w);
	w->missing = 0;
	w->broken = false;
	return 0;
}

uint64_t
writer_file_records(const struct writer *w)
{
	uint64_t n = 0;

	for (size_t i = 0; i < w->nframes; i++)
		n += w->frames[i].records;
	return n;
}

/* The file of a removed directory lives on in its descriptor: copied into
 * the directory made again, nothing in it is lost. */
static int
rescue(struct writer *w, int fd, const char *tmp_name)
{
	char path[4096];
	off_t off = 0, size = lseek(fd, 0, SEEK_END);
	int out;

	if (size < 0 || !writer_ensure_dir(w))
		return -1;
	/* sendfile reads through the page cache */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT);
	writer_path_of(w, tmp_name, path, sizeof(path));
	if ((out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	while (off < size) {
		ssize_t n = sendfile(out, fd, &off, (size_t)(size - off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	if (off < size || fdatasync(out) < 0) {
		close(out);
		unlink(path);
		return -1;
	}
	close(out);
	return files_publish(w->dir, tmp_name);
}

/* A file that cannot be trusted keeps a name recovery never publishes. */
static void
set_aside(struct writer *w, const char *tmp_name)
{
	char from[4096], to[4200];

	writer_path_of(w, tmp_name, from, sizeof(from));
	snprintf(to, sizeof(to), "%s.failed", from);
	rename(from, to);
}

/* fdatasync, rename, close: on the finisher thread (or, without memory
 * for the hand-over, on the writer). Only what reached the disk is
 * published. */
static void
finish(struct writer *w, struct finished *f)
{
	char path[4096], published[4096] = "";
	int rc = 0;

	writer_path_of(w, f->tmp_name, path, sizeof(path));
	if (writer_fdatasync(f->fd) < 0) {
		enum output_lost_reason r = writer_reason_of(errno);

		writer_failing(w);
		writer_lose(w, r, f->records);
		writer_report(w, r, LOG_ERR, output_lost_reason_name(r), path,
		    "fdatasync %s: %s: not published, %llu records lost (file "
		    "kept as %s.failed)", path, strerror(errno),
		    (unsigned long long)f->records, path);
		set_aside(w, f->tmp_name);
		close(f->fd);
		return;
	}
	if (files_publish_named(w->dir, f->tmp_name, published,
	    sizeof(published)) < 0 &&
	    (errno != ENOENT || (rc = rescue(w, f->fd, f->tmp_name)) < 0)) {
		writer_failing(w);
		writer_lose(w, OUTPUT_LOST_NOT_PUBLISHED, f->records);
		writer_report(w, OUTPUT_LOST_NOT_PUBLISHED, LOG_ERR, "not_published",
		    path, "cannot publish %s: %s: %llu records lost", path,
		    strerror(errno), (unsigned long long)f->records);
		close(f->fd);
		return;
	}
	close(f->fd);
	atomic_fetch_add(&w->counters->files, 1);
	atomic_fetch_add(&w->counters->written, f->records);
	if (f->missing > 0) {
		atomic_fetch_add(&w->counters->truncated_files, 1);
		writer_report(w, KIND_TRUNCATED, LOG_WARNING, "truncated", path,
		    "published the slot of %s truncated: %llu records in it, "
		    "%llu could not be written", path,
		    (unsigned long long)f->records,
		    (unsigned long long)f->missing);
	} else {
		/* info: a newcomer sees that records arrive (at most one
		 * line per 10 s) */
		writer_report(w, KIND_PUBLISHED, LOG_INFO, "published", published[0] ?
		    published : path, "published %s: %llu records", published[0] ?
		    published : path, (unsigned long long)f->records);
	}
}

/* Until every closed file is renamed into place. */
void
writer_wait_finisher(struct writer *w)
{
	pthread_mutex_lock(&w->fin_lock);
	while (w->fin_head != NULL || w->fin_busy)
		pthread_cond_wait(&w->fin_done, &w->fin_lock);
	pthread_mutex_unlock(&w->fin_lock);
}

void *
writer_run_finisher(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->fin_lock);
	for (;;) {
		struct finished *f;

		while (w->fin_head == NULL && !w->fin_stopping)
			pthread_cond_wait(&w->fin_work, &w->fin_lock);
		if ((f = w->fin_head) == NULL)
			break;
		if ((w->fin_head = f->next) == NULL)
			w->fin_tail = NULL;
		w->fin_busy = true;
		pthread_mutex_unlock(&w->fin_lock);
		finish(w, f);
		free(f);
		pthread_mutex_lock(&w->fin_lock);
		w->fin_busy = false;
		pthread_cond_broadcast(&w->fin_done);
	}
	pthread_mutex_unlock(&w->fin_lock);
	return NULL;
}

/* The tail of a direct file could not be written: the frames that lie
 * wholly before it are on disk, the rest go. */
static void
cut_tail(struct writer *w, int err)
{
	size_t keep = w->nframes;

	while (keep > 0 && w->frames[keep - 1].end > w->written)
		keep--;
	/* closing: nothing is staged any more, the file ends at keep */
	w->dio_len = 0;
	w->fd_direct = false;
	writer_cut_back(w, keep, writer_reason_of(err));
}

static void
discard(struct writer *w, const char *why)
{
	char path[4096];

	writer_path_of(w, w->tmp_name, path, sizeof(path));
	if (why != NULL) {
		writer_lose(w, OUTPUT_LOST_IO_ERROR, writer_file_records(w));
		writer_report(w, OUTPUT_LOST_IO_ERROR, LOG_ERR, "io_error", path,
		    "%s: %s: not published, %llu records lost", path, why,
		    (unsigned long long)writer_file_records(w));
	}
	unlink(path);
	close(w->fd);
	w->fd = -1;
}

void
writer_slot_close(struct writer *w)
{
	struct finished *f;

	if (!w->open)
		return;
	w->open = false;
	if (writer_dio_flush(w, true) < 0) {
		int err = errno;
		uint64_t before = writer_file_records(w);
		char path[4096];

		writer_failing(w);
		cut_tail(w, err);
		writer_path_of(w, w->tmp_name, path, sizeof(path));
		writer_report(w, writer_reason_of(err), LOG_ERR,
		    output_lost_reason_name(writer_reason_of(err)), path,
		    "close %s: writing the tail: %s: %llu records lost, the file "
		    "is cut back to the last whole block", path, strerror(err),
		    (unsigned long long)(before - writer_file_records(w)));
	}
	if (w->broken) {
		discard(w, "cannot be cut back to a whole record");
		return;
	}
	if (w->nframes == 0) {
		/* every block failed: an empty slot makes no file */
		if (w->missing > 0) {
			char path[4096];

			writer_path_of(w, w->tmp_name, path, sizeof(path));
			writer_report(w, KIND_TRUNCATED, LOG_WARNING, "truncated", path,
			    "%s: none of its %llu records could be written: "
			    "removed, not published", path,
			    (unsigned long long)w->missing);
		}
		discard(w, NULL);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		struct finished local = {
			.fd = w->fd, .records = writer_file_records(w),
			.missing = w->missing,
		};

		memcpy(local.tmp_name, w->tmp_name, sizeof(local.tmp_name));
		w->fd = -1;
		finish(w, &local);
		return;
	}
	f->fd = w->fd;
	f->records = writer_file_records(w);
	f->missing = w->missing;
	memcpy(f->tmp_name, w->tmp_name, sizeof(f->tmp_name));
	w->fd = -1;
	pthread_mutex_lock(&w->fin_lock);
	if (w->fin_tail)
		w->fin_tail->next = f;
	else
		w->fin_head = f;
	w->fin_tail = f;
	pthread_cond_signal(&w->fin_work);
	pthread_mutex_unlock(&w->fin_lock);
}
