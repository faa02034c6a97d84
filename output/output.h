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

struct output_config {
	const char *directory;
	unsigned rotate;         /* seconds, > 0 */
	bool to_stdout;
};

struct output_stats {
	uint64_t records;
	uint64_t bytes;
	uint64_t files;          /* files closed and renamed into place */
	uint64_t write_errors;
};

/* NULL with *err set (allocated, for a human) on failure. */
struct output *output_new(const struct output_config *cfg, char **err);
/* Flushes and closes the current slot, renaming it into place. */
void output_free(struct output *o);

/* Appends one record. -1 on a write error (errno set); the record is lost
 * but the output stays usable. */
int output_write(struct output *o, const struct flow_record *rec);
/* Pushes buffered lines to the kernel. */
int output_flush(struct output *o);
/* Closes the current slot if now_ms is past its end. */
int output_rotate(struct output *o, int64_t now_ms);
/* Milliseconds until the current slot ends (or the next slot boundary). */
int64_t output_next_rotation(const struct output *o, int64_t now_ms);

const struct output_stats *output_stats(const struct output *o);

/* Renames temporary files left by a crashed run into place; returns how
 * many it recovered, -1 when the directory cannot be read. */
int output_recover(const char *directory);

#endif
