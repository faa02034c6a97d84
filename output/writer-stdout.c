/*
 * Standard output (--stdout): whole lines only, so that the books hold
 * to the record (written = the lines whose newline went out); a pipe is
 * grown and written in pieces it takes whole; a reader that stalls gets
 * the exit deadline, not forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "output-private.h"
#include "writer-private.h"

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
