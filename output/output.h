/*
 * output: the only module that knows JSON and files. Decoded records go in,
 * one JSON object per line comes out, into rotated files named after the
 * UTC start of their slot, or onto standard output.
 */
#ifndef NETFLOWD_OUTPUT_H
#define NETFLOWD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

struct output;
struct kafka;

enum output_compress {
	OUTPUT_COMPRESS_NONE,
	OUTPUT_COMPRESS_GZIP,    /* .json.gz, zlib level 1 by default */
	OUTPUT_COMPRESS_ZSTD,    /* .json.zst, zstd level 1 by default */
	OUTPUT_COMPRESS_LZ4,     /* .json.lz4 (LZ4 frame), fast mode */
};

/* Is the codec built in (HAVE_ZSTD, HAVE_LZ4)? none and gzip always are. */
bool output_compress_available(enum output_compress c);
/* The level used when none is configured, and the accepted range. */
int output_compress_default_level(enum output_compress c);
bool output_compress_level_ok(enum output_compress c, int level);

/*
 * Why records that reached the output never reached a published file.
 * Every record accepted by output_write() is either in a published file
 * (or on standard output) or counted under exactly one of these.
 */
enum output_lost_reason {
	OUTPUT_LOST_QUEUE_FULL,      /* the writer could not keep up */
	OUTPUT_LOST_FAIR_SHARE,      /* shed while the queue backed up: the
	                              * exporter sent more than its share */
	OUTPUT_LOST_OVERSIZED,       /* a line larger than a block */
	OUTPUT_LOST_DISK_FULL,       /* ENOSPC / EDQUOT */
	OUTPUT_LOST_IO_ERROR,        /* EIO and other write or sync errors */
	OUTPUT_LOST_OPEN_FAILED,     /* the slot's file could not be created */
	OUTPUT_LOST_NOT_PUBLISHED,   /* written, but the rename failed */
	OUTPUT_LOST_PIPE_CLOSED,     /* --stdout reader went away (EPIPE) */
	OUTPUT_LOST_SHUTDOWN_TIMEOUT,/* not written before the exit deadline */
	OUTPUT_LOST_COMPRESS_FAILED, /* the compressor refused a block */
	OUTPUT_LOST__COUNT
};

/* "queue_full", "disk_full" ...: metric labels and log fields */
const char *output_lost_reason_name(enum output_lost_reason r);

struct output_config {
	const char *directory;
	unsigned rotate;         /* seconds, > 0 */
	bool to_stdout;
	enum output_compress compress;   /* files only; stdout is plain */
	/* codec level (see output_compress_level_ok); 0 = the default */
	int level;
	bool level_set;          /* level given (0 is a valid zstd level) */
	/* drop to faster levels while the writer's queue backs up */
	bool adapt;
	/* compression threads; 0 = one per online CPU, at most 8 */
	unsigned threads;
	/* Failures of the writer threads, already rate-limited, for the log:
	 * reason is a lost-reason name or a short word, path the file or
	 * directory. Called from the writer's threads; NULL: stderr. */
	void (*log)(int prio, const char *reason, const char *path,
	    const char *msg);
	/* Wait for the writer thread instead of dropping records when its
	 * queue is full: for --read, where nothing is lost by waiting. Live
	 * receiving never waits (the socket would overflow instead). */
	bool lossless;
	/* Write files with O_DIRECT (bypassing the page cache) where the
	 * filesystem supports it; buffered otherwise. */
	bool direct_io;
	/* [output] files = no: render for Kafka only, no writer, no files */
	bool no_files;
	struct kafka *kafka;     /* the Kafka sink, or NULL (not owned) */
	/* [enrich]: the generation records start with, or NULL (the output
	 * takes a reference); output_set_enrich switches */
	struct enrich *enrich;
	/* where the writer's lost records are charged by exporter: the
	 * caller's table (not owned), so that the outputs a reload replaces
	 * add up in one; NULL: the output's own */
	struct lost_table *lost;
	/* [output] fair_prefix: fair shedding groups exporters that proved
	 * their address by these prefixes; fair_prefix_set false: 24, 64 */
	bool fair_prefix_set;
	unsigned fair_prefix4, fair_prefix6;
};

/*
 * Records are packed on the caller's thread into 1 MiB blocks; a render
 * thread turns them into JSON lines and a writer thread writes,
 * compresses, syncs and renames those, so neither rendering, a slow disk
 * nor a rotation stalls receiving. When all blocks are queued (rendering
 * or the disk cannot keep up) records are dropped and counted here, never
 * silently. The JSON figures (bytes, oversized) are the render thread's
 * and complete after output_sync().
 */
struct output_stats {
	uint64_t records;        /* records accepted and queued for rendering */
	uint64_t bytes;          /* JSON bytes rendered */
	uint64_t files;          /* files closed and renamed into place */
	/* records in those files, or whole lines on standard output: once
	 * the output is closed, records = written + the writer's lost, and
	 * what output_write refused is lost too (lost_total) */
	uint64_t written;
	uint64_t write_errors;   /* failed writes, syncs, renames, opens */
	uint64_t dropped;        /* records lost: writer queue full */
	uint64_t oversized;      /* records lost: larger than a block */
	uint64_t disk_bytes;     /* bytes written to files (compressed) */
	uint64_t direct_bytes;   /* of those, written with O_DIRECT */
	uint64_t queue_peak;     /* most blocks queued at once (writer) */
	uint64_t render_queue_peak;   /* the same for the render queue */
	uint64_t lost[OUTPUT_LOST__COUNT];   /* records lost, by reason */
	uint64_t lost_total;     /* their sum */
	uint64_t dir_recreated;  /* output directory found gone, made again */
	uint64_t truncated_files;/* published without the blocks that failed */
	/* a crashed run's temporary file found in the way of a slot (besides
	 * output_recover at start): cut back before publishing, removed */
	uint64_t recovered_cut, recovered_removed;
	/* [enrich] on the render thread: database lookups, answers from
	 * its cache, unreadable answers, records that got a value */
	uint64_t enrich_lookups, enrich_hits, enrich_errors, enrich_records;
	int level;               /* compression level in use now */
	uint64_t level_changes;  /* adaptive level steps, down and up */
	/* CLOCK_MONOTONIC milliseconds since which every attempt to write
	 * has failed; 0 while the output is healthy */
	int64_t failing_since_ms;
	/* the same clock: the latest failure (0: none yet); an output that
	 * failed once and then had nothing to write is not "failing now" */
	int64_t last_failure_ms;
	/* --stdout only: the reader went away (EPIPE); nothing written from
	 * now on can arrive */
	bool closed;
};

/* The records the writer lost after output_write took them (standard
 * output given up or closed, a full disk, a failed open or compressor),
 * by the exporter address their lines name: fn once per address, then
 * once with exporter NULL for those whose lines were gone (a file whose
 * fdatasync or rename failed). What output_write refused is the
 * caller's to charge. Either way, per exporter: records received =
 * written + lost. */
struct lost_table;
/* A table for output_config.lost; thread-safe. */
struct lost_table *output_lost_new(void);
void output_lost_free(struct lost_table *t);
void output_lost_by_exporter(struct output *o,
    void (*fn)(const char *exporter, uint64_t records, void *arg), void *arg);

/* NULL with *err set (allocated, for a human) on failure. */
struct output *output_new(const struct output_config *cfg, char **err);
/* Flushes and closes the current slot, renaming it into place. */
void output_free(struct output *o);
/* All of output_free but the free: the threads are joined, and
 * output_stats is final (what the end lost included). */
void output_finish(struct output *o);

/* The caller's clock (Unix ms): the slot and the fairness window of the
 * records written from now on (the time of the datagram being decoded,
 * also for records it releases that were held for their template). Until
 * it is set, each record's received time. */
void output_clock(struct output *o, int64_t now_ms);
/* The fairness group of the record output_write last took or shed:
 * "unproven" or its exporter's prefix ("192.0.2.0/24"), for the log. */
void output_shed_group(const struct output *o, char *buf, size_t len);
/* Appends one record. -1 when the record is lost (errno ENOBUFS: queue
 * full; EBUSY: shed, its exporter above its fair share of a backed-up
 * queue; EMSGSIZE: larger than a block); the output stays usable.
 * Errors of the writer thread are counted in output_stats. */
int output_write(struct output *o, const struct flow_record *rec);
/* Blocks of packed records queued for the render thread now, of *max:
 * a producer that can wait (a TCP session) stops before records would
 * be dropped or shed. */
size_t output_backlog(struct output *o, size_t *max);
/* Hands buffered lines to the writer thread (does not wait); while
 * blocks are backed up before rendering, a partly filled block stays for
 * later (a backlog is not made shorter by more, emptier blocks). */
int output_flush(struct output *o);
/* Flushes and waits until the writer has written everything so far. */
void output_sync(struct output *o);
/* Closes the current slot now, whatever the time (the wall clock
 * stepped); does not wait. */
int output_end_slot(struct output *o);
/* At shutdown: closes the current slot (renamed into place) and waits for
 * the writer, so that output_stats counts the last file. A reader of
 * standard output that stalls gets the writer's exit deadline. */
void output_close(struct output *o);
/* Closes the current slot if now_ms is past its end. */
int output_rotate(struct output *o, int64_t now_ms);
/* Milliseconds until the current slot ends (or the next slot boundary). */
int64_t output_next_rotation(const struct output *o, int64_t now_ms);

/* A snapshot, valid until the next call. */
const struct output_stats *output_stats(struct output *o);
/* sum += s (sign 1) or sum -= s (sign -1), the counters only (records,
 * bytes, files, errors, lost ..., not the gauges: level, peaks, health). */
void output_stats_add(struct output_stats *sum, const struct output_stats *s,
    int sign);
/* Tests: fdatasync(2) of the files is fn from now on (NULL: fdatasync). */
void output_set_fdatasync(int (*fn)(int fd));

/* Records o renders from its next block on are enriched with e (NULL:
 * none): a reload or a database replaced on disk; o takes a reference. */
struct enrich;
void output_set_enrich(struct output *o, struct enrich *e);

/* The Kafka producer o's lines go to (output_config.kafka, for its whole
 * life), or NULL. */
struct kafka *output_kafka(const struct output *o);
/* An output switch (a reload) keeps each exporter's order: o, the output
 * replacing prev, renders nothing until prev has rendered (and produced)
 * everything, and, when the two produce to different producers, until
 * prev's producer has settled all it was given (delivered, or failed
 * when its bounded flush ran out), so no record of prev can reach a
 * partition after one of o. Under --stdout o waits for prev to be
 * finished altogether (one standard output). Messages between threads:
 * the caller waits for none of it; call before o gets its first record
 * and before prev is finished. -1 (errno) without memory, when o does
 * not wait. Nothing to wait for (no Kafka, no standard output): 0. */
int output_follow(struct output *o, struct output *prev);

/* What output_recover found and did. */
struct output_recovery {
	unsigned found;          /* temporary files a crashed run left */
	unsigned published;      /* renamed into place (whole or cut back) */
	unsigned cut;            /* of those, cut back to their last whole
	                          * line (plain) or frame (compressed) */
	unsigned removed;        /* nothing whole in them: removed */
	unsigned kept;           /* not checked or not published (codec not
	                          * built in, I/O error): left as they are */
	uint64_t bytes_cut;      /* bytes cut off or removed */
};

/* Checks the temporary files a crashed run left in directory (.json.tmp,
 * .json.gz.tmp, .json.zst.tmp, .json.lz4.tmp), cuts each back to its last
 * whole line or last frame that decodes completely, removes those with
 * nothing whole, and renames the rest into place (never over an existing
 * file). Each file cut, removed or left is logged through log (NULL:
 * stderr; the first few one by one, then a count). Fills *r (may be
 * NULL); returns how many were published, -1 when the directory cannot be
 * read. */
int output_recover(const char *directory, struct output_recovery *r,
    void (*log)(int prio, const char *reason, const char *path,
    const char *msg));

#endif
