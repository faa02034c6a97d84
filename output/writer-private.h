/*
 * The writer's own header: the state its files share (writer.c: the
 * queue, the threads and their turn; writer-report.c: counting and
 * rate-limited reports; writer-dio.c: the file's bytes, direct I/O
 * staging and cutting back; writer-slot.c: a slot's file from open to
 * publish; writer-stdout.c: standard output).
 */
#ifndef NETFLOWD_WRITER_PRIVATE_H
#define NETFLOWD_WRITER_PRIVATE_H

#include <sys/types.h>

#include "output-private.h"

/* write-behind: start writeback of every this many bytes as they are
 * written, so dirty pages never pile up and the fdatasync at rotation has
 * only the tail left, instead of a whole slot to push out at once */
#define WRITEBEHIND (8u << 20)
/* direct I/O: staging buffer size, and the alignment of memory, file
 * offsets and lengths (4 KiB covers 512-byte and 4K-sector devices) */
#define DIO_CHUNK (2u << 20)
#define DIO_ALIGN 4096u
_Static_assert(DIO_CHUNK % DIO_ALIGN == 0, "a full chunk is written whole");
#define WRITER_THREADS_MAX 8
/* the same failure is logged at most once in this long (with a count of
 * what was not logged) */
#define REPORT_INTERVAL_MS 10000
/* adaptive level: a step faster when this many blocks wait, a step back
 * when no more than ADAPT_LOW do */
#define ADAPT_HIGH (WRITER_BLOCKS_MAX / 2)
#define ADAPT_LOW (WRITER_BLOCKS_MAX / 8)
/* what report() limits besides the lost reasons */
enum { KIND_RECOVERED = OUTPUT_LOST__COUNT, KIND_DIR, KIND_TRUNCATED,
	KIND_PUBLISHED, KIND__COUNT };

/* A closed slot waiting for fdatasync and its rename. */
struct finished {
	struct finished *next;
	int fd;
	uint64_t records;        /* in the file */
	uint64_t missing;        /* lost from it (it is published truncated) */
	char tmp_name[96];
};

/* Where a frame ends in the file, and how many records it holds; while
 * it is not wholly in the file yet (staged for a direct write), who sent
 * them, so that a cut that drops it charges its exporters. */
struct frame_end {
	off_t end;
	uint64_t records;
	struct lost_runs *who;
};

/* One writer thread and what it compresses with. */
struct worker {
	struct writer *w;
	pthread_t thread;
	bool started;
	struct compressor *z;
};

struct report_state {
	int64_t last_ms;
	uint64_t suppressed;
	const char *reason;      /* of the last line, for report_flush */
	int prio;
	char path[256];
};

struct writer {
	struct blockq q;         /* JSON lines to write */
	struct worker workers[WRITER_THREADS_MAX];
	unsigned nworkers;
	pthread_mutex_t turn_lock;
	pthread_cond_t turn_cond;
	uint64_t turn;           /* seq of the block that may be put next */

	pthread_t finisher;
	bool finisher_started;
	pthread_mutex_t fin_lock;
	pthread_cond_t fin_work; /* a slot to finish, or stopping */
	pthread_cond_t fin_done; /* a slot finished */
	struct finished *fin_head, *fin_tail;
	bool fin_busy;
	bool fin_stopping;

	struct writer_counters *counters;
	void (*log)(int, const char *, const char *, const char *);
	pthread_mutex_t report_lock;
	struct report_state reports[KIND__COUNT];
	atomic_int_fast64_t deadline_ms;   /* 0 until writer_stopping */

	/* set up by writer_new, then read only */
	char *dir;
	bool to_stdout;
	enum output_compress compress;
	int level;               /* configured */
	bool adapt;

	/* owned by whoever has the turn */
	bool direct;             /* try O_DIRECT for new files */
	int fd;
	bool fd_direct;          /* fd is open with O_DIRECT */
	bool stdout_dead;        /* the reader went away, or the exit
	                          * deadline passed: why in dead_reason */
	enum output_lost_reason dead_reason;
	int stdout_kind;         /* enum stdout_kind */
	size_t pipe_size;        /* STDOUT_PIPE: its capacity */
	/* STDOUT_PIPE: our writes still (partly) in the pipe, oldest first,
	 * for a bound on the pages they hold (pipe_room); none when another
	 * process writes the pipe too (stderr into it) */
	struct pipe_write {
		uint64_t end;    /* offset in all we wrote */
		size_t pages;    /* at most this many pages it took */
	} *pw;
	size_t pw_head, pw_n, pw_cap;
	uint64_t pipe_total;     /* bytes we wrote to the pipe */
	size_t pipe_slots, page;
	char *dio;               /* staging buffer, DIO_CHUNK, aligned */
	size_t dio_len;
	off_t dio_off;           /* file offset of dio[0] */
	bool open;
	time_t slot;
	off_t written, flushed;  /* file offsets: end, writeback started to */
	struct frame_end *frames;
	size_t nframes, frames_cap;
	size_t settled;          /* frames before it are wholly in the file */
	uint64_t missing;        /* records of this slot lost */
	bool broken;             /* cannot be cut back: not to be published */
	char tmp_name[96];
	unsigned gen;            /* in tmp_name: no other writer of this
	                          * process ever opens this one's files */
};

/* How stdout's reader may be written to (see stdout_setup). */
enum stdout_kind { STDOUT_OTHER, STDOUT_PIPE, STDOUT_FILE };

/* writer-report.c: counters, the health mark, rate-limited log lines */
void writer_report(struct writer *w, int kind, int prio, const char *reason,
    const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void writer_report_flush(struct writer *w, bool all);
void writer_failing(struct writer *w);
void writer_healthy(struct writer *w);
void writer_lose(struct writer *w, enum output_lost_reason r,
    uint64_t records);
void writer_lose_lines(struct writer *w, enum output_lost_reason r,
    uint64_t records, const char *data, size_t len);
void writer_lose_block(struct writer *w, enum output_lost_reason r,
    uint64_t records, const struct out_block *b);
enum output_lost_reason writer_reason_of(int err);
size_t writer_count_lines(const char *p, size_t len);

/* writer-dio.c: the file's bytes */
void writer_forget_frames(struct writer *w);
int writer_file_write(struct writer *w, const void *buf, size_t len);
int writer_dio_sync(struct writer *w);
int writer_dio_flush(struct writer *w, bool tail);
void writer_cut_back(struct writer *w, size_t keep_frames,
    enum output_lost_reason r);
bool writer_remember_frame(struct writer *w, uint64_t records,
    struct out_block *b);

/* writer-slot.c: the directory, and a slot's file from open to publish */
void writer_path_of(const struct writer *w, const char *name, char *buf,
    size_t size);
bool writer_ensure_dir(struct writer *w);
int writer_slot_open(struct writer *w, time_t slot);
void writer_slot_close(struct writer *w);
uint64_t writer_file_records(const struct writer *w);
void writer_wait_finisher(struct writer *w);
void *writer_run_finisher(void *arg);

/* writer-stdout.c */
void writer_stdout_put(struct writer *w, const char *p, size_t len,
    uint64_t records);
void writer_stdout_setup(struct writer *w);

#endif
