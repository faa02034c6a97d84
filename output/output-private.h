#ifndef NETFLOWD_OUTPUT_PRIVATE_H
#define NETFLOWD_OUTPUT_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
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
/* The same with the enrichment's keys after all the others (ev NULL or
 * with nothing: none). */
struct enrich_values;
size_t json_writer_render_enriched(struct json_writer *w,
    const struct flow_record *rec, const struct enrich_values *ev,
    char *dst, size_t room);
/* s (len bytes: a name from a database or the interfaces file) as the
 * JSON string the lines carry it as, quotes included, into dst; its
 * length, 0 when it does not fit in room (or memory ran out). */
size_t json_writer_text(struct json_writer *w, const char *s, size_t len,
    char *dst, size_t room);

/* ---- format.c ---- */

/* Decimal digits into buf (>= 21 bytes), NUL-terminated; returns length. */
size_t format_u64(char *buf, uint64_t v);
size_t format_i64(char *buf, int64_t v);

/* The tables of the inline writers below, which the JSON writer calls a
 * score of times per flow: a call each cost more than the digits. */
extern const char format_digit_pairs[201];
extern const uint64_t format_powers_of_10[20];

static inline void
format_put2(char *p, unsigned v)
{
	memcpy(p, format_digit_pairs + v * 2, 2);
}

/* The digits of v at p (>= 20 bytes), no NUL; returns the end. Knowing
 * the length first (from the bit length, corrected once) puts every digit
 * in place: no temporary, no variable-length copy. */
static inline char *
format_put_u64(char *p, uint64_t v)
{
	unsigned n;
	char *end;

	/* ports, protocols, flags, masks, interfaces: most numbers are small */
	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	if (v < 100) {
		format_put2(p, (unsigned)v);
		return p + 2;
	}
	n = (unsigned)(64 - __builtin_clzll(v)) * 1233 >> 12;
	end = p + n + (v >= format_powers_of_10[n]);
	p = end;
	while (v > UINT32_MAX) {
		p -= 2;
		format_put2(p, (unsigned)(v % 100));
		v /= 100;
	}
	/* 32-bit division is cheaper, and counters mostly fit */
	for (uint32_t u = (uint32_t)v; ; u /= 100) {
		if (u < 10) {
			p[-1] = (char)('0' + u);
			break;
		}
		p -= 2;
		format_put2(p, u % 100);
		if (u < 100)
			break;
	}
	return end;
}

/* The same with a sign (p >= 21 bytes). */
char *format_put_i64(char *p, int64_t v);

/* 0000-01-01 and 9999-12-31T23:59:59.999 in Unix milliseconds: what an
 * exporter sends outside that range is clamped to a valid timestamp. */
#define FORMAT_MS_MIN (-62167219200000LL)
#define FORMAT_MS_MAX (253402300799999LL)
/* "2024-05-01T12:00:03.250Z" into buf (>= 25 bytes); returns length (24).
 * Times before year 0 or after 9999 are clamped. */
size_t format_time_ms(char *buf, int64_t ms);
/* The pieces of it, for a writer that keeps the seconds: the 19 bytes
 * "2024-05-01T12:00:03" of a second of a clamped time (no NUL), and the
 * 5 bytes ".250Z" at p (returns p + 5). */
void format_time_sec(char *buf, int64_t sec);

static inline char *
format_put_millis(char *p, unsigned milli)
{
	p[0] = '.';
	p[1] = (char)('0' + milli / 100);
	format_put2(p + 2, milli % 100);
	p[4] = 'Z';
	return p + 5;
}

/* Address text; IPv4 dotted, IPv6 RFC 5952. Returns length, 0 (and an
 * empty string) when size < FORMAT_ADDR_ROOM. */
#define FORMAT_ADDR_ROOM 46
size_t format_addr(char *buf, size_t size, const struct parser_addr *a);
/* The same at p, no NUL; returns the end. p needs FORMAT_ADDR_ROOM bytes:
 * it may write up to 3 bytes past the end it returns. */
char *format_put_addr(char *p, const struct parser_addr *a);
/* "20240501T120000Z" for a slot start. */
void format_slot_name(char *buf, size_t size, time_t slot);

/* ---- files.c: names, publishing, recovery ---- */

/* ".json", ".json.gz", ".json.zst" or ".json.lz4" */
const char *files_extension(enum output_compress c);
/* Hidden temporary name of a slot written by writer generation gen:
 * ".20240501T120000Z.json.gz.7.tmp" */
void files_tmp_name(char *buf, size_t size, time_t slot, enum output_compress c,
    unsigned gen);
/* ".NAME.EXT.GEN.tmp" (or ".NAME.EXT.tmp", left by older versions) ->
 * base NAME and its extension; false if not ours. */
bool files_split_tmp_name(const char *tmp_name, char *base, size_t size,
    const char **ext);
/* recover.c: output_recover for one leftover, dir/tmp_name, which is in
 * the way of a slot being opened again: cut back and published (or
 * removed) as at start; counted in *r. 0, or -1 (errno). */
int files_recover(const char *dir, const char *tmp_name,
    struct output_recovery *r,
    void (*log)(int, const char *, const char *, const char *));
/* Renames dir/.NAME.EXT[.GEN].tmp to dir/NAME.EXT, or NAME-1.EXT ... when that
 * exists: nothing is ever overwritten. 0 or -1 (errno). */
int files_publish(const char *dir, const char *tmp_name);
/* The same, and the path it got in *path (size bytes). */
int files_publish_named(const char *dir, const char *tmp_name, char *path,
    size_t size);
/* Creates the directory and its parents; -1 (errno) also for "". */
int files_mkdir_p(const char *path);
/* rename without replacing: renameat2(RENAME_NOREPLACE), or where the
 * filesystem refuses that flag (NFS, some FUSE: EINVAL) link + unlink.
 * 0, or -1 with errno (EEXIST when to exists). */
int files_rename_noreplace(const char *from, const char *to);
/* Tests: behave as if renameat2 had no RENAME_NOREPLACE here. */
extern bool files_no_renameat2;

/* ---- writer.c: the thread that owns the files ---- */

#define OUTPUT_BLOCK_SIZE (1u << 20)
/* blocks in existence at most (the bound of the queue), and how many
 * free ones are kept around instead of being returned to malloc: enough
 * for the queue depth of a busy stream (a few blocks while a direct write
 * is in flight), since a block given back is unmapped and every page of
 * its successor faults in again (6 % of the loop's time at 150k
 * datagrams/s with 3) */
/* Packed records queued for rendering: 256 MiB in all with the writer's
 * queue, about 0.6 s of a 150k datagrams/s stream (1M flows/s) when the
 * disk stalls; this VM's disk was seen stalling 0.75 s after a rotation's
 * fdatasync, and 128 MiB lost records there. */
#define OUTPUT_BLOCKS_MAX 224
/* JSON blocks queued for the writer */
#define WRITER_BLOCKS_MAX 32
#define OUTPUT_BLOCKS_SPARE 8

struct out_block {
	struct out_block *next;
	uint64_t seq;            /* order of blockq_pop, for in-order writes */
	time_t slot;             /* the slot its lines belong to */
	bool close;              /* finish the slot after these lines */
	bool flush;              /* hand everything so far to the kernel, so
	                          * that a crash of the process loses none */
	bool marker;             /* header only, no data (close or flush) */
	size_t len;
	uint64_t lines;          /* JSON blocks: the lines (records) in data,
	                          * counted by render as it writes them */
	struct lost_runs *who;   /* JSON blocks: their exporters (render's;
	                          * NULL in a block made elsewhere) */
	char data[];
};

/* ---- lost.c: the writer's lost records by exporter ---- */

#define LOST_EXPORTERS 4096      /* addresses told apart (power of two) */

struct lost_slot {
	char exporter[FORMAT_ADDR_ROOM];
	uint64_t records;        /* 0: free */
};

struct lost_table {
	pthread_mutex_t lock;
	struct lost_slot *slot;  /* LOST_EXPORTERS, made at the first loss */
	size_t used;
	uint64_t unattributed;   /* lines gone, or more exporters */
};

/* Charges every line of data (the last one may be cut) to the exporter
 * its JSON names. */
void lost_charge_lines(struct lost_table *t, const char *data, size_t len);
/* Who the lines of a JSON block are from, in order: runs of lines of one
 * exporter, noted by the render thread as it renders them (it knows each
 * line's exporter; finding it again in the text cost the writer 270
 * instructions a flow). The block owns it (blockq frees it with the
 * block); the writer keeps it with a frame for as long as the frame may
 * still be cut off the file (see writer.c's frame_end). Lines it does not
 * name (no memory to grow it) are the block's lines less its runs. */
struct lost_runs {
	size_t n, cap;
	struct lost_run {
		struct parser_addr addr;
		uint64_t records;
	} run[];
};

/* A new run of addr's at the end of *rp, grown (or made) as needed;
 * without memory the line stays unnamed. */
void lost_runs_push(struct lost_runs **rp, const struct parser_addr *a);

/* One more line of addr's: a datagram's records come one after another,
 * so mostly one compare and an increment. */
static inline void
lost_runs_add(struct lost_runs **rp, const struct parser_addr *a)
{
	struct lost_runs *r = *rp;

	if (r != NULL && r->n > 0 && parser_addr_equal(&r->run[r->n - 1].addr, a))
		r->run[r->n - 1].records++;
	else
		lost_runs_push(rp, a);
}

/* Charges the records lines of runs r (NULL: none named): the runs to
 * their exporters, the rest unattributed. */
void lost_charge_runs(struct lost_table *t, const struct lost_runs *r,
    uint64_t records);
/* One record of the exporter at a lost (never rendered). */
void lost_charge_addr(struct lost_table *t, const struct parser_addr *a);
/* Records lost whose lines are gone. */
void lost_charge_unknown(struct lost_table *t, uint64_t n);
/* output.c: o's table */
struct lost_table *output_lost_table(struct output *o);

/* Counters the render and writer threads update and the loop reads. */
struct writer_counters {
	atomic_uint_fast64_t files, write_errors, disk_bytes, direct_bytes;
	/* records in published files, or whole lines on standard output */
	atomic_uint_fast64_t written;
	/* one per queue: the render thread's input, the writer's input */
	atomic_uint_fast64_t render_queue_peak, queue_peak;
	atomic_uint_fast64_t lost[OUTPUT_LOST__COUNT];
	atomic_uint_fast64_t dir_recreated, truncated_files, level_changes;
	/* a crashed run's temporary file in the way of a slot opened again */
	atomic_uint_fast64_t recovered_cut, recovered_removed;
	atomic_int level;
	atomic_int_fast64_t failing_since_ms, last_failure_ms;
	atomic_bool closed;      /* stdout's reader went away */
	/* render thread: JSON bytes, lines larger than a block, lines lost
	 * without memory for a block */
	atomic_uint_fast64_t json_bytes, oversized, render_lost;
	/* render thread: the enrichment (struct enrich_counters) */
	atomic_uint_fast64_t enrich_lookups, enrich_hits, enrich_errors,
	    enrich_records;
	/* the writer's lost records, by exporter (output_config.lost, or
	 * the output's own) */
	struct lost_table *by_exporter;
};

/* ---- blockq.c: a bounded block pool + FIFO, one producer, one or more
 * consumers (numbered pops, so that they can put results back in order) ---- */

struct blockq {
	pthread_mutex_t lock;
	pthread_cond_t work;     /* a block queued, or stopping */
	pthread_cond_t freed;    /* a block came back, or the consumer is idle */
	struct out_block *head, *tail, *spare;
	size_t queued, nspare, nblocks, max;
	size_t busy;             /* blocks the consumers hold */
	uint64_t popped;         /* sequence number of the next pop */
	bool stopping;
	atomic_uint_fast64_t *peak;   /* most blocks queued at once, or NULL */
};

void blockq_init(struct blockq *q, size_t max, atomic_uint_fast64_t *peak);
/* Frees the spare and any queued blocks. */
void blockq_destroy(struct blockq *q);
/* A free block (header zeroed); NULL when max are in use, unless wait is
 * set: then it waits until the consumer returns one. */
struct out_block *blockq_get(struct blockq *q, bool wait);
/* Queues a header-only block asking to close slot (close) or only to
 * flush (nothing without memory). */
void blockq_push_marker(struct blockq *q, time_t slot, bool close);
void blockq_push(struct blockq *q, struct out_block *b);
/* The consumer's next block, waiting for one; NULL once stopped and empty.
 * Its seq counts pops from 0. */
struct out_block *blockq_pop(struct blockq *q);
/* Blocks queued now. */
size_t blockq_depth(struct blockq *q);
/* Raises *peak to v if it is higher, atomically. */
void blockq_peak(atomic_uint_fast64_t *peak, uint64_t v);
/* The body of a consumer thread: pops until stopped and empty, calls
 * fn(arg, block) for each, gives the block back. */
void blockq_consume(struct blockq *q, void (*fn)(void *, struct out_block *),
    void *arg);
/* The consumer is done with b (back to the pool, or freed). */
void blockq_done(struct blockq *q, struct out_block *b);
/* Waits until everything queued has been consumed. */
void blockq_drain(struct blockq *q);
/* blockq_pop returns NULL once the queue is empty. */
void blockq_stop(struct blockq *q);

struct writer;

/* How long the final drain may wait on a reader that does not read
 * (--stdout into a stalled pipe) before what is left is counted lost. */
#define WRITER_STOP_TIMEOUT_MS 5000

/* Files under cfg->directory (or standard output), compressed as cfg says,
 * with O_DIRECT where the filesystem allows it and cfg->direct_io. */
struct writer *writer_new(const struct output_config *cfg,
    struct writer_counters *counters);
/* From now on, a write that cannot go on for WRITER_STOP_TIMEOUT_MS gives
 * up, and the rest is counted lost: call before the final drain. */
void writer_stopping(struct writer *w);
/* Writes everything queued, finishes the open slot, joins the threads. */
void writer_free(struct writer *w);
/* w stages frames for direct writes: only then do its blocks need their
 * exporter runs (out_block.who), for a cut of a frame still staged. */
bool writer_stages(const struct writer *w);
/* A free block; NULL when WRITER_BLOCKS_MAX are in use, unless wait is
 * set: then it waits for the writer to return one. */
struct out_block *writer_block(struct writer *w, bool wait);
/* Hands a block to the writer thread (which returns it to the pool). */
void writer_submit(struct writer *w, struct out_block *b);
/* fdatasync(2), or what a test puts here instead */
extern int (*writer_fdatasync)(int fd);
/* Asks the writer to finish slot (rename it into place) once the blocks
 * before have been written. */
void writer_close_slot(struct writer *w, time_t slot);
/* Asks the writer to hand everything before to the kernel (with O_DIRECT
 * the staged tail goes through the page cache). */
void writer_flush(struct writer *w);
/* Waits until every submitted block has been written. */
void writer_drain(struct writer *w);

/* ---- compress.c: one independent frame (zstd frame, gzip member, LZ4
 * frame) per block, so that blocks can be compressed on several threads,
 * and a file cut after any frame is still valid ---- */

struct compressor;

struct compressor *compressor_new(enum output_compress c);
void compressor_free(struct compressor *z);
/* Compresses len bytes at level into one complete frame; returns its
 * size with *out pointing at it (valid until the next call), 0 on error. */
size_t compressor_frame(struct compressor *z, int level, const void *in,
    size_t len, const void **out);
/* The fastest level adapting may step down to, and one step faster or
 * slower from level (clamped to [fastest, configured]). */
int compressor_fastest_level(enum output_compress c);
int compressor_step(enum output_compress c, int level, int dir);

/* ---- fair.c: who loses records when the render queue backs up ---- */

#define FAIR_SLOTS 4096          /* exporters told apart (power of two) */
#define FAIR_GROUPS 4096         /* groups told apart (power of two) */
#define FAIR_WINDOW_MS 100
/* an earlier time than this behind the window is the wall clock stepping
 * back, not late data (held data waits at most 30 s) */
#define FAIR_STEP_BACK_MS 60000
/* the budget never goes below this many packed bytes a window (about
 * 2,000 NetFlow v5 records a second) */
#define FAIR_MIN_CAP ((uint64_t)64 << 10)
/* the prefixes exporters are grouped by, by default */
#define FAIR_PREFIX4 24
#define FAIR_PREFIX6 64

/* A group: the exporters of one prefix that proved their address, or
 * (key family 0) all those that did not, the "unproven" class. */
struct fair_group {
	struct parser_addr key;  /* the prefix, masked; family 0: unproven */
	int64_t window;          /* the window its counts are of */
	uint64_t offered, queued;
	unsigned members;        /* exporters seen in it this window */
	/* the most one of its exporters may queue in inner_window (max-min
	 * among them, of the group's level) */
	uint64_t inner;
	int64_t inner_window;
};

struct fair_slot {
	struct parser_addr addr;
	bool unproven;
	int64_t window;          /* the window its counts are of */
	uint64_t offered;        /* packed bytes of its records this window */
	uint64_t queued;         /* of those, admitted */
	struct fair_group *group;
};

struct fair {
	struct fair_slot slot[FAIR_SLOTS];
	struct fair_group group[FAIR_GROUPS];
	struct fair_slot *last;  /* the previous record's exporter */
	int64_t window;          /* now: the loop's ms / FAIR_WINDOW_MS */
	size_t active, prev_active;   /* exporters this and the last window */
	unsigned prefix4, prefix6;
	uint64_t drained;        /* drained bytes at the last roll */
	bool drained_set;
	uint64_t rate;           /* bytes the queue drains a window (average) */
	unsigned squeeze;        /* budget = rate * squeeze / 16 */
	uint64_t budget;         /* bytes all may queue a window; 0: no limit
	                          * (the queue is not backed up) */
	uint64_t level;          /* bytes a group may queue a window (max-min
	                          * of budget over the last window's demand) */
	size_t depth;            /* render queue depth at the last roll */
	/* scratch of fair_roll */
	uint64_t demand[FAIR_GROUPS];
	struct fair_member { uint32_t group; uint64_t offered; } member[FAIR_SLOTS];
};

void fair_init(struct fair *f);
/* Prefix lengths exporters that proved their address are grouped by
 * (IPv4 0..32, IPv6 0..128). */
void fair_set_prefix(struct fair *f, unsigned prefix4, unsigned prefix6);
/* ms (the loop's clock, never a record's time) is in a later window than
 * the current one (or far enough before it: the wall clock stepped back). */
bool fair_window(const struct fair *f, int64_t ms);
/* Starts ms's window and sets its levels from the render queue's depth
 * (of max blocks) and the packed bytes the render thread has taken off
 * it so far (drained, growing). */
void fair_roll(struct fair *f, int64_t ms, size_t depth, size_t max,
    uint64_t drained);
/* Charges a record of size packed bytes to the exporter at addr (and its
 * group); false when it is to be shed (its group or, within the group,
 * the exporter above its level). */
bool fair_admit(struct fair *f, const struct parser_addr *addr,
    bool unproven, size_t size);
/* The group of the exporter last admitted or shed: "unproven" or the
 * prefix, e.g. "192.0.2.0/24". */
void fair_group_text(const struct fair *f, char *buf, size_t len);

/* ---- pack.c: records copied into blocks for the render thread ---- */

/* How record_pack copies a record: the bytes it needs, and the span of
 * the datagram its extra fields' bytes are copied from at once (none
 * when hi == lo: then field by field). */
struct pack_plan {
	size_t size;             /* aligned */
	uintptr_t lo, hi;
};

void record_pack_plan(const struct flow_record *rec, struct pack_plan *plan);
/* Copies rec, its source and its extra fields (with their bytes) to dst,
 * which has room for plan->size bytes. */
void record_pack(const struct flow_record *rec, const struct pack_plan *plan,
    char *dst);
/* One record in a block, at an offset aligned for it. */
struct packed {
	size_t size;             /* of the whole entry, aligned */
	struct flow_record rec;
	struct parser_source src;
	struct flow_field extra[];
	/* then the bytes of the extra fields */
};

/* The record packed at src (in a block's data), and the size of its
 * entry: the next one starts size bytes further. Inline: the render
 * thread calls it for every record. */
static inline const struct flow_record *
record_unpack(const char *src, size_t *size)
{
	const struct packed *pk = (const void *)src;

	*size = pk->size;
	return &pk->rec;
}

/* ---- gate.c: a thread waits until its holders let go ---- */

struct gate;

/* A gate held by holds parties (each lets go once), with one reference. */
struct gate *gate_new(unsigned holds);
void gate_ref(struct gate *g);
/* The last reference frees it (NULL: nothing). */
void gate_unref(struct gate *g);
/* One holder lets go; the last one opens the gate. */
void gate_release(struct gate *g);
/* Until every holder let go. */
void gate_wait(struct gate *g);
bool gate_open(struct gate *g);
/* A party's hold kept in an atomic slot: gate_hold puts g there (with a
 * reference), letting go of one already there; gate_let_go lets go of
 * what is there (nothing: no-op); gate_let_go_of, of g and its
 * reference. */
void gate_hold(_Atomic(struct gate *) *slot, struct gate *g);
void gate_let_go(_Atomic(struct gate *) *slot);
void gate_let_go_of(struct gate *g);

/* kafka.c: lets go of g (one hold) once k has settled everything it was
 * given (delivered or failed) and is destroyed, on its delivery thread:
 * at once if it is done already. Takes a reference to g. */
void kafka_release_when_settled(struct kafka *k, struct gate *g);

/* ---- render.c: the thread that turns packed records into JSON lines ---- */

struct render;

/* Renders blocks of packed records and hands the lines to w. */
struct render *render_new(struct writer *w, struct writer_counters *counters);
/* Renders everything queued, then joins the thread (w stays). */
void render_free(struct render *r);
/* Blocks of packed records queued now (of OUTPUT_BLOCKS_MAX). */
size_t render_depth(struct render *r);
/* A free block for packed records; NULL when OUTPUT_BLOCKS_MAX are in
 * use, unless wait is set. */
struct out_block *render_block(struct render *r, bool wait);
void render_submit(struct render *r, struct out_block *b);
/* Asks for slot to be closed after the blocks before. */
void render_close_slot(struct render *r, time_t slot);
/* Asks for everything before to be handed to the kernel. */
void render_flush(struct render *r);
/* Waits until everything queued has been rendered and handed on. */
void render_drain(struct render *r);
/* Lines of the blocks after the next one go to k too (NULL: none):
 * output_new sets its output's producer once, before the first block (a
 * reload's new producer comes with a new output: output_follow). The
 * render thread takes a reference to k here and lets go of it when it
 * switches away (or ends): the last one closes k. */
void render_set_kafka(struct render *r, struct kafka *k);
/* Records of the blocks after the next one are enriched with e (NULL:
 * none); a reference is taken, the thread lets go of the one it leaves. */
struct enrich;
void render_set_enrich(struct render *r, struct enrich *e);
/* Before its next block the thread waits for g to open (a reference is
 * taken; call before the first block of those to wait). */
void render_wait_for(struct render *r, struct gate *g);
/* The thread lets go of g (one hold) once it has rendered (and produced)
 * everything it was given and stopped. Takes a reference. */
void render_release_at_end(struct render *r, struct gate *g);

#endif
