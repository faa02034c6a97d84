/*
 * The render thread: turns packed records into JSON lines, between the
 * event loop and the writer thread.
 *
 * Rendering JSON was about half of the event loop's time per flow. The
 * loop now only packs each record (a fixed-size copy of the decoded
 * record, its exporter and its extra fields with their bytes) into a 1 MiB
 * block; this thread renders the blocks into JSON blocks for the writer.
 * So receiving and decoding keep a core to themselves, and a burst the
 * disk cannot absorb backs up here (the render thread waits for the
 * writer), then into the loop's pool, where records are dropped and
 * counted, never the socket's datagrams behind them.
 *
 * Order is kept: one FIFO from the loop, one to the writer. A block of
 * packed records carries its slot and its close flag through to the JSON
 * blocks made from it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "enrich-private.h"
#include "kafka.h"
#include "output-private.h"

struct render {
	pthread_t thread;
	bool started;
	struct blockq q;         /* packed records from the loop */
	struct writer *writer;
	struct writer_counters *counters;
	struct json_writer *json;
	struct out_block *cur;   /* JSON lines being filled */
	bool note_who;           /* the writer stages: cur->who is wanted */
	/* no writer (files = no): lines are rendered here, for Kafka only */
	struct out_block *scratch;
	/* the loop's choice, not yet taken (pending); a reference each */
	pthread_mutex_t kafka_lock;
	struct kafka *kafka_next;
	bool kafka_pending;
	atomic_bool kafka_switch;       /* kafka_pending, read without the lock */
	struct kafka *kafka;     /* this thread's: the one it produces to */
	/* order across an output switch (output_follow): what this thread
	 * waits for before its first block, and what it lets go of once it
	 * has rendered everything */
	_Atomic(struct gate *) wait_for, release_at_end;
	/* [enrich]: the loop's choice (pending, under enrich_lock) and this
	 * thread's, with its cache of recent lookups */
	pthread_mutex_t enrich_lock;
	struct enrich *enrich_next;
	bool enrich_pending;
	atomic_bool enrich_switch;
	struct enrich *enrich;
	struct enrich_cache *cache;
	struct enrich_counters ecount;   /* this block's, added at its end */
};

/* ---- the Kafka sink: one line each, switched between two blocks ---- */

#ifdef HAVE_KAFKA
/* how long a producer nothing holds any more may flush (kafka_unref) */
#define RENDER_KAFKA_CLOSE_MS 10000
#define unref(k) kafka_unref(k, RENDER_KAFKA_CLOSE_MS)
#else
#define unref(k) ((void)(k))
#define kafka_ref(k) ((void)(k))
#endif

/* The loop's choice takes effect here, at a block boundary; the producer
 * left behind is let go of on this thread: the last reference closes it
 * (the loop never asks whether it is still in use). */
static void
switch_kafka(struct render *r)
{
	struct kafka *old = r->kafka;

	if (!atomic_load_explicit(&r->kafka_switch, memory_order_acquire))
		return;
	pthread_mutex_lock(&r->kafka_lock);
	r->kafka = r->kafka_next;
	r->kafka_next = NULL;
	r->kafka_pending = false;
	atomic_store(&r->kafka_switch, false);
	pthread_mutex_unlock(&r->kafka_lock);
	unref(old);
}

/* line ends in '\n': the message is the same bytes without it */
static void
kafka_line(struct render *r, const struct flow_record *rec, const char *line,
    size_t len)
{
#ifdef HAVE_KAFKA
	if (r->kafka != NULL)
		kafka_produce(r->kafka, rec, line, len - 1);
#endif
}

void
render_set_kafka(struct render *r, struct kafka *k)
{
	struct kafka *skipped = NULL;

	kafka_ref(k);
	pthread_mutex_lock(&r->kafka_lock);
	/* a choice the thread never took is let go of here */
	if (r->kafka_pending)
		skipped = r->kafka_next;
	r->kafka_next = k;
	r->kafka_pending = true;
	atomic_store_explicit(&r->kafka_switch, true, memory_order_release);
	pthread_mutex_unlock(&r->kafka_lock);
	unref(skipped);
}

/* ---- enrichment: switched at a block boundary, like the producer ---- */

static void
switch_enrich(struct render *r)
{
	struct enrich *old = r->enrich;

	if (!atomic_load_explicit(&r->enrich_switch, memory_order_acquire))
		return;
	pthread_mutex_lock(&r->enrich_lock);
	r->enrich = r->enrich_next;
	r->enrich_next = NULL;
	r->enrich_pending = false;
	atomic_store(&r->enrich_switch, false);
	pthread_mutex_unlock(&r->enrich_lock);
	enrich_unref(old);
	/* the cache is made when it is first needed, and kept: its entries
	 * name their generation */
	if (r->enrich != NULL && r->cache == NULL)
		r->cache = enrich_cache_new();
}

void
render_set_enrich(struct render *r, struct enrich *e)
{
	struct enrich *skipped = NULL;

	enrich_ref(e);
	pthread_mutex_lock(&r->enrich_lock);
	if (r->enrich_pending)
		skipped = r->enrich_next;
	r->enrich_next = e;
	r->enrich_pending = true;
	atomic_store_explicit(&r->enrich_switch, true, memory_order_release);
	pthread_mutex_unlock(&r->enrich_lock);
	enrich_unref(skipped);
}

static void
count_enrich(struct render *r)
{
	struct enrich_counters *n = &r->ecount;

	if (n->lookups)
		atomic_fetch_add(&r->counters->enrich_lookups, n->lookups);
	if (n->cache_hits)
		atomic_fetch_add(&r->counters->enrich_hits, n->cache_hits);
	if (n->lookup_errors)
		atomic_fetch_add(&r->counters->enrich_errors, n->lookup_errors);
	if (n->records)
		atomic_fetch_add(&r->counters->enrich_records, n->records);
	memset(n, 0, sizeof(*n));
}

/* Hands the JSON block to the writer. */
static void
submit(struct render *r, bool close)
{
	if (r->cur == NULL)
		return;
	if (r->writer == NULL) {
		r->cur->len = 0;
		r->cur->lines = 0;
		if (r->cur->who != NULL)
			r->cur->who->n = 0;
		r->cur = NULL;
		return;
	}
	r->cur->close = close;
	writer_submit(r->writer, r->cur);
	r->cur = NULL;
}

/* The same, asking the writer to flush after it. */
static void
submit_flush(struct render *r)
{
	if (r->cur == NULL) {
		if (r->writer != NULL)
			writer_flush(r->writer);
		return;
	}
	r->cur->flush = true;
	submit(r, false);
}

static bool
take(struct render *r, time_t slot)
{
	/* waits for the writer: back-pressure goes to the loop's pool */
	if (r->cur == NULL && (r->cur = r->writer == NULL ? r->scratch :
	    writer_block(r->writer, true)) == NULL)
		return false;
	r->cur->slot = slot;
	return true;
}

/* Renders one line into the current block; returns its length, 0 when
 * it is lost (counted). */
static size_t
line(struct render *r, const struct flow_record *rec, time_t slot,
    const struct enrich_values *ev)
{
	size_t len;

	if (!take(r, slot)) {
		atomic_fetch_add(&r->counters->render_lost, 1);
		lost_charge_addr(r->counters->by_exporter, &rec->src->addr);
		return 0;
	}
	len = json_writer_render_enriched(r->json, rec, ev,
	    r->cur->data + r->cur->len, OUTPUT_BLOCK_SIZE - r->cur->len);
	if (len == 0 && r->cur->len > 0) {
		submit(r, false);
		if (!take(r, slot)) {
			atomic_fetch_add(&r->counters->render_lost, 1);
			lost_charge_addr(r->counters->by_exporter,
			    &rec->src->addr);
			return 0;
		}
		len = json_writer_render_enriched(r->json, rec, ev,
		    r->cur->data, OUTPUT_BLOCK_SIZE);
	}
	if (len == 0) {
		atomic_fetch_add(&r->counters->oversized, 1);
		lost_charge_addr(r->counters->by_exporter, &rec->src->addr);
		return 0;
	}
	kafka_line(r, rec, r->cur->data + r->cur->len, len);
	r->cur->len += len;
	r->cur->lines++;
	if (r->note_who)
		lost_runs_add(&r->cur->who, &rec->src->addr);
	return len;
}

/* The output before this one has rendered all it had (and its producer
 * settled, when it was another): only then do this one's lines go to
 * Kafka behind them. */
static void
wait_turn(struct render *r)
{
	struct gate *g;

	if (atomic_load_explicit(&r->wait_for, memory_order_relaxed) == NULL ||
	    (g = atomic_exchange(&r->wait_for, NULL)) == NULL)
		return;
	gate_wait(g);
	gate_unref(g);
}

/* Everything this thread was given is rendered and produced. */
static void
let_go(struct render *r)
{
	gate_let_go(&r->release_at_end);
}

static void
process(struct render *r, struct out_block *b)
{
	uint64_t bytes = 0;

	wait_turn(r);
	switch_kafka(r);
	switch_enrich(r);
	/* every block ends with its JSON handed on (below), so the lines
	 * rendered here start a JSON block of b's slot */
	for (size_t off = 0; off < b->len;) {
		size_t size;
		const struct flow_record *rec = record_unpack(b->data + off, &size);
		struct enrich_values ev, *evp = NULL;

		if (r->enrich != NULL && r->cache != NULL) {
			/* the packed copy is this thread's until the block
			 * goes back: src_as/dst_as are filled in place */
			enrich_record(r->enrich, r->cache,
			    (struct flow_record *)(uintptr_t)rec, &ev, &r->ecount);
			evp = &ev;
		}
		/* one call: line() is inlined into this loop */
		bytes += line(r, rec, b->slot, evp);
		off += size;
	}
	if (bytes > 0)
		atomic_fetch_add(&r->counters->json_bytes, bytes);
	if (r->enrich != NULL)
		count_enrich(r);
	if (!b->close) {
		/* what the loop handed over goes on now */
		if (b->flush)
			submit_flush(r);
		else
			submit(r, false);
		return;
	}
	if (r->cur != NULL && r->cur->slot == b->slot) {
		submit(r, true);
		return;
	}
	submit(r, false);
	if (r->writer != NULL)
		writer_close_slot(r->writer, b->slot);
}

static void
consume(void *arg, struct out_block *b)
{
	process(arg, b);
}

static void *
run(void *arg)
{
	struct render *r = arg;

	blockq_consume(&r->q, consume, r);
	submit(r, false);
	let_go(r);
	return NULL;
}

struct render *
render_new(struct writer *w, struct writer_counters *counters)
{
	struct render *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	pthread_mutex_init(&r->kafka_lock, NULL);
	pthread_mutex_init(&r->enrich_lock, NULL);
	blockq_init(&r->q, OUTPUT_BLOCKS_MAX, &counters->render_queue_peak);
	r->writer = w;
	r->note_who = w != NULL && writer_stages(w);
	r->counters = counters;
	if ((r->json = json_writer_new()) == NULL)
		goto fail;
	if (w == NULL && (r->scratch = calloc(1, sizeof(*r->scratch) +
	    OUTPUT_BLOCK_SIZE)) == NULL)
		goto fail;
	if (pthread_create(&r->thread, NULL, run, r) != 0)
		goto fail;
	pthread_setname_np(r->thread, "netflowd/render");
	r->started = true;
	return r;
fail:
	render_free(r);
	return NULL;
}

void
render_free(struct render *r)
{
	if (r == NULL)
		return;
	if (r->started) {
		blockq_stop(&r->q);
		pthread_join(r->thread, NULL);
	}
	blockq_destroy(&r->q);
	/* the thread is gone (or never ran): nothing more of it to wait for */
	let_go(r);
	gate_unref(atomic_exchange(&r->wait_for, NULL));
	/* its producer and a choice it never took */
	unref(r->kafka);
	if (r->kafka_pending)
		unref(r->kafka_next);
	pthread_mutex_destroy(&r->kafka_lock);
	enrich_unref(r->enrich);
	if (r->enrich_pending)
		enrich_unref(r->enrich_next);
	pthread_mutex_destroy(&r->enrich_lock);
	enrich_cache_free(r->cache);
	json_writer_free(r->json);
	if (r->scratch != NULL)
		free(r->scratch->who);
	free(r->scratch);
	free(r);
}

size_t
render_depth(struct render *r)
{
	return blockq_depth(&r->q);
}

struct out_block *
render_block(struct render *r, bool wait)
{
	return blockq_get(&r->q, wait);
}

void
render_submit(struct render *r, struct out_block *b)
{
	blockq_push(&r->q, b);
}

void
render_close_slot(struct render *r, time_t slot)
{
	blockq_push_marker(&r->q, slot, true);
}

void
render_flush(struct render *r)
{
	blockq_push_marker(&r->q, 0, false);
}

void
render_wait_for(struct render *r, struct gate *g)
{
	gate_ref(g);
	gate_unref(atomic_exchange(&r->wait_for, g));
}

void
render_release_at_end(struct render *r, struct gate *g)
{
	gate_hold(&r->release_at_end, g);
}

void
render_drain(struct render *r)
{
	blockq_drain(&r->q);
}
