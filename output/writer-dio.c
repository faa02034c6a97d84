/*
 * The bytes of the open file, in turn (the writer thread that has it):
 * appends through an aligned staging buffer with O_DIRECT, or buffered
 * with write-behind; where each frame ends, and who sent the records of
 * those still staged; after a failed write the file goes back to the end
 * of its last whole frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "output-private.h"
#include "writer-private.h"

/* ---- low-level writes ---- */

/* Buffered from here on: the filesystem refused a direct write, or the
 * unaligned tail of a file. */
static void
leave_direct(struct writer *w)
{
	int flags = fcntl(w->fd, F_GETFL);

	if (flags >= 0)
		fcntl(w->fd, F_SETFL, flags & ~O_DIRECT);
	w->fd_direct = false;
}

static void
writebehind(struct writer *w)
{
	if (w->fd_direct || w->written - w->flushed < (off_t)WRITEBEHIND)
		return;
	/* asynchronous: queues the range for writeback, no wait */
	sync_file_range(w->fd, w->flushed, w->written - w->flushed,
	    SYNC_FILE_RANGE_WRITE);
	w->flushed = w->written;
}

/* Frames now wholly in the file can no longer be cut off by a failed
 * write: who sent them is not needed any more. */
static void
settle(struct writer *w)
{
	while (w->settled < w->nframes &&
	    w->frames[w->settled].end <= w->written) {
		free(w->frames[w->settled].who);
		w->frames[w->settled++].who = NULL;
	}
}

void
writer_forget_frames(struct writer *w)
{
	for (size_t i = 0; i < w->nframes; i++) {
		free(w->frames[i].who);
		w->frames[i].who = NULL;
	}
	w->nframes = w->settled = 0;
}

/* Appends len bytes; -1 (errno) when not all of them went. What did go
 * is counted in written and disk_bytes, for cut_back to undo. */
static int
raw_write(struct writer *w, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && w->fd_direct) {
			/* not for this filesystem after all: buffered from
			 * now on, for this file and the next ones */
			w->direct = false;
			leave_direct(w);
			continue;
		}
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		atomic_fetch_add(&w->counters->disk_bytes, (uint64_t)n);
		if (w->fd_direct)
			atomic_fetch_add(&w->counters->direct_bytes, (uint64_t)n);
		w->written += n;
		p += n;
		len -= (size_t)n;
	}
	writebehind(w);
	settle(w);
	return 0;
}

/* Writes what is staged, in whole aligned blocks; at the end of a file
 * (tail) the rest too, buffered. */
int
writer_dio_flush(struct writer *w, bool tail)
{
	size_t len = w->dio_len - w->dio_len % DIO_ALIGN;

	w->dio_off = w->written;
	if (raw_write(w, w->dio, len) < 0)
		return -1;
	w->dio_len -= len;
	w->dio_off = w->written;
	if (w->dio_len == 0)
		return 0;
	if (tail) {
		if (w->fd_direct)
			leave_direct(w);
		if (raw_write(w, w->dio + len, w->dio_len) < 0)
			return -1;   /* the caller cuts back to w->written */
		w->dio_len = 0;
	} else {
		memmove(w->dio, w->dio + len, w->dio_len);
	}
	return 0;
}

/*
 * At a flush (once a second, from the loop's tick): what is staged goes to
 * the kernel, so that a crash of the process loses nothing flushed, as
 * with buffered writes. The aligned part is written direct; the tail
 * through the page cache at its offset, and it stays staged, to be written
 * again direct with what follows (the kernel writes back and drops the
 * cached pages of a range before a direct write to it).
 */
int
writer_dio_sync(struct writer *w)
{
	int flags;

	if (!w->fd_direct || w->dio_len == 0)
		return 0;
	if (writer_dio_flush(w, false) < 0)
		return -1;
	if (w->dio_len == 0 || !w->fd_direct ||
	    (flags = fcntl(w->fd, F_GETFL)) < 0)
		return 0;
	if (fcntl(w->fd, F_SETFL, flags & ~O_DIRECT) < 0)
		return 0;
	for (size_t done = 0; done < w->dio_len;) {
		ssize_t n = pwrite(w->fd, w->dio + done, w->dio_len - done,
		    w->written + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : ENOSPC;
			char path[4096];

			/* still staged, nothing lost: only the copy in the
			 * file is cut off, to keep its size honest */
			if (ftruncate(w->fd, w->written) < 0)
				w->broken = true;
			writer_path_of(w, w->tmp_name, path, sizeof(path));
			writer_report(w, writer_reason_of(err), LOG_WARNING,
			    output_lost_reason_name(writer_reason_of(err)), path,
			    "sync %s: %s: nothing lost yet, the tail stays "
			    "staged", path, strerror(err));
			break;
		}
		done += (size_t)n;
	}
	fcntl(w->fd, F_SETFL, flags);
	return 0;
}

int
writer_file_write(struct writer *w, const void *buf, size_t len)
{
	const char *p = buf;

	if (!w->fd_direct) {
		if (w->dio_len > 0 && writer_dio_flush(w, true) < 0)
			return -1;
		return raw_write(w, buf, len);
	}
	while (len > 0) {
		size_t n = DIO_CHUNK - w->dio_len;

		if (n > len)
			n = len;
		memcpy(w->dio + w->dio_len, p, n);
		w->dio_len += n;
		p += n;
		len -= n;
		if (w->dio_len == DIO_CHUNK && writer_dio_flush(w, false) < 0)
			return -1;
	}
	return 0;
}

/* ---- cutting a file back to a frame boundary ---- */

/* Brings the bytes of keep's partial aligned block back into the staging
 * buffer, so direct writes go on at an aligned offset. */
static int
restage(struct writer *w, off_t keep)
{
	off_t base = keep - keep % DIO_ALIGN;
	size_t want = (size_t)(keep - base);
	size_t got = 0;

	while (got < want) {
		/* whole aligned blocks: O_DIRECT reads need them */
		ssize_t n = pread(w->fd, w->dio + got, DIO_ALIGN,
		    base + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	w->written = base;
	w->dio_len = want;
	return 0;
}

/*
 * After a failed write: the file goes back to the end of the last whole
 * frame, and the file offset with it (write() appends at the offset, and
 * the first version pwrote the staged tail at a stale one). Frames after
 * frame index keep are dropped, their records counted lost.
 */
void
writer_cut_back(struct writer *w, size_t keep_frames,
    enum output_lost_reason r)
{
	off_t old = w->written;
	off_t keep = keep_frames > 0 ? w->frames[keep_frames - 1].end : 0;
	uint64_t gone = 0;

	for (size_t i = keep_frames; i < w->nframes; i++) {
		struct frame_end *f = &w->frames[i];

		gone += f->records;
		if (f->who != NULL) {
			atomic_fetch_add(&w->counters->lost[r], f->records);
			lost_charge_runs(w->counters->by_exporter, f->who,
			    f->records);
			free(f->who);
			f->who = NULL;
		} else {
			writer_lose(w, r, f->records);
		}
	}
	w->missing += gone;
	w->nframes = keep_frames;
	if (w->settled > keep_frames)
		w->settled = keep_frames;
	if (w->dio_len > 0 && keep >= w->dio_off) {
		/* the end is still staged: the rest of the stage goes */
		w->dio_len = (size_t)(keep - w->dio_off);
		w->written = w->dio_off;
	} else if (w->fd_direct && keep % DIO_ALIGN != 0) {
		if (restage(w, keep) < 0)
			w->broken = true;
	} else {
		w->written = keep;
		w->dio_len = 0;
	}
	w->dio_off = w->written;
	if (ftruncate(w->fd, w->written) < 0 ||
	    lseek(w->fd, w->written, SEEK_SET) < 0)
		w->broken = true;
	if (w->flushed > w->written)
		w->flushed = w->written;
	if (old > w->written)
		atomic_fetch_sub(&w->counters->disk_bytes,
		    (uint64_t)(old - w->written));
}

/* The frame of block b, just put into the file (or its stage). */
bool
writer_remember_frame(struct writer *w, uint64_t records, struct out_block *b)
{
	off_t end = w->written + (off_t)w->dio_len;

	if (w->nframes == w->frames_cap) {
		size_t cap = w->frames_cap ? w->frames_cap * 2 : 256;
		struct frame_end *f = realloc(w->frames, cap * sizeof(*f));

		if (f == NULL)
			return false;
		w->frames = f;
		w->frames_cap = cap;
	}
	/* staged: a failing write may still cut it off, so it keeps the
	 * block's exporters (a block made elsewhere has none: its records
	 * would be lost without an exporter) */
	w->frames[w->nframes++] = (struct frame_end){
		.end = end, .records = records,
		.who = end > w->written ? b->who : NULL,
	};
	if (end > w->written)
		b->who = NULL;   /* the frame's now */
	settle(w);
	return true;
}
