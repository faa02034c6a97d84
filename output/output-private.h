#ifndef NETFLOWD_OUTPUT_PRIVATE_H
#define NETFLOWD_OUTPUT_PRIVATE_H

#include <stdatomic.h>
#include <time.h>

#include "output.h"

/* ---- json.c ---- */

struct json_writer;

struct json_writer *json_writer_new(void);
void json_writer_free(struct json_writer *w);
/* Renders rec as one JSON line ending in '\n' into dst; returns its length,
 * 0 when it does not fit in room bytes (dst then holds garbage). */
size_t json_writer_render(struct json_writer *w, const struct flow_record *rec,
    char *dst, size_t room);

/* ---- format.c ---- */

/* Decimal digits into buf (>= 21 bytes), NUL-terminated; returns length. */
size_t format_u64(char *buf, uint64_t v);
size_t format_i64(char *buf, int64_t v);
/* "2024-05-01T12:00:03.250Z" into buf (>= 25 bytes); returns length (24).
 * Times before year 0 or after 9999 are clamped. */
size_t format_time_ms(char *buf, int64_t ms);
/* Address text; IPv4 dotted, IPv6 RFC 5952. Returns length. */
size_t format_addr(char *buf, size_t size, const struct parser_addr *a);
/* "20240501T120000Z" for a slot start. */
void format_slot_name(char *buf, size_t size, time_t slot);

/* ---- files.c: names, publishing, recovery ---- */

/* ".json", ".json.gz" or ".json.zst" */
const char *files_extension(enum output_compress c);
/* Hidden temporary name of a slot: ".20240501T120000Z.json.gz.tmp" */
void files_tmp_name(char *buf, size_t size, time_t slot, enum output_compress c);
/* Renames dir/.NAME.EXT.tmp to dir/NAME.EXT, or NAME-1.EXT ... when that
 * exists: nothing is ever overwritten. 0 or -1 (errno). */
int files_publish(const char *dir, const char *tmp_name);
/* Creates the directory and its parents. */
int files_mkdir_p(const char *path);

/* ---- writer.c: the thread that owns the files ---- */

#define OUTPUT_BLOCK_SIZE (1u << 20)
/* blocks in existence at most (the bound of the queue), and how many
 * free ones are kept around instead of being returned to malloc: enough
 * for the queue depth of a busy stream (a few blocks while a direct write
 * is in flight), since a block given back is unmapped and every page of
 * its successor faults in again (6 % of the loop's time at 150k
 * datagrams/s with 3) */
#define OUTPUT_BLOCKS_MAX 128
#define OUTPUT_BLOCKS_SPARE 8

struct out_block {
	struct out_block *next;
	time_t slot;             /* the slot its lines belong to */
	bool close;              /* finish the slot after these lines */
	bool marker;             /* header only, no data (a close marker) */
	size_t len;
	char data[];
};

/* Counters the writer thread updates and the loop reads. */
struct writer_counters {
	atomic_uint_fast64_t files, write_errors, disk_bytes, direct_bytes,
	    queue_peak;
};

struct writer;

/* direct: write files with O_DIRECT where the filesystem allows it */
struct writer *writer_new(const char *dir, bool to_stdout,
    enum output_compress compress, bool direct,
    struct writer_counters *counters);
/* Writes everything queued, finishes the open slot, joins the thread. */
void writer_free(struct writer *w);
/* A free block; NULL when OUTPUT_BLOCKS_MAX are in use, unless wait is
 * set: then it waits for the writer to return one. */
struct out_block *writer_block(struct writer *w, bool wait);
/* Hands a block to the writer thread (which returns it to the pool). */
void writer_submit(struct writer *w, struct out_block *b);
/* Asks the writer to finish slot (rename it into place) once the blocks
 * before have been written. */
void writer_close_slot(struct writer *w, time_t slot);
/* Waits until every submitted block has been written. */
void writer_drain(struct writer *w);

#endif
