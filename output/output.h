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

enum output_compress {
	OUTPUT_COMPRESS_NONE,
	OUTPUT_COMPRESS_GZIP,    /* .json.gz, zlib level 1 */
	OUTPUT_COMPRESS_ZSTD,    /* .json.zst, zstd level 1 */
};

struct output_config {
	const char *directory;
	unsigned rotate;         /* seconds, > 0 */
	bool to_stdout;
	enum output_compress compress;   /* files only; stdout is plain */
	/* Wait for the writer thread instead of dropping records when its
	 * queue is full: for --read, where nothing is lost by waiting. Live
	 * receiving never waits (the socket would overflow instead). */
	bool lossless;
	/* Write files with O_DIRECT (bypassing the page cache) where the
	 * filesystem supports it; buffered otherwise. */
	bool direct_io;
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
	uint64_t write_errors;   /* failed writes, syncs, renames, opens */
	uint64_t dropped;        /* records lost: writer queue full */
	uint64_t oversized;      /* records lost: larger than a block */
	uint64_t disk_bytes;     /* bytes written to files (compressed) */
	uint64_t direct_bytes;   /* of those, written with O_DIRECT */
	uint64_t queue_peak;     /* most blocks queued at once */
};

/* NULL with *err set (allocated, for a human) on failure. */
struct output *output_new(const struct output_config *cfg, char **err);
/* Flushes and closes the current slot, renaming it into place. */
void output_free(struct output *o);

/* Appends one record. -1 when the record is lost (errno ENOBUFS: writer
 * queue full; EMSGSIZE: larger than a block); the output stays usable.
 * Errors of the writer thread are counted in output_stats. */
int output_write(struct output *o, const struct flow_record *rec);
/* Hands buffered lines to the writer thread (does not wait). */
int output_flush(struct output *o);
/* Flushes and waits until the writer has written everything so far. */
void output_sync(struct output *o);
/* Closes the current slot now, whatever the time (the wall clock
 * stepped); does not wait. */
int output_end_slot(struct output *o);
/* Closes the current slot (renamed into place) and waits for the writer,
 * so that output_stats counts the last file; the output stays usable. */
void output_close(struct output *o);
/* Closes the current slot if now_ms is past its end. */
int output_rotate(struct output *o, int64_t now_ms);
/* Milliseconds until the current slot ends (or the next slot boundary). */
int64_t output_next_rotation(const struct output *o, int64_t now_ms);

/* A snapshot, valid until the next call. */
const struct output_stats *output_stats(struct output *o);

/* Renames temporary files left by a crashed run into place (.json.tmp,
 * .json.gz.tmp, .json.zst.tmp; never over an existing file); returns how
 * many it recovered, -1 when the directory cannot be read. */
int output_recover(const char *directory);

#endif
