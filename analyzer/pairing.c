#include "pairing.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "htab.h"

struct pkey {
	struct addr src;
	struct addr dst;
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t proto;
};

/* A flow waiting for its other direction (and then, paired or not, for its
 * turn to be emitted in start order). */
struct pending {
	struct conn conn;
	struct run *run;		/* while waiting */
	TAILQ_ENTRY(pending) in_run;
	TAILQ_ENTRY(pending) in_arrival;
	size_t heap_idx;
	uint64_t seq;
	bool waiting;		/* filed under its key, may get its answer */
};
TAILQ_HEAD(pending_list, pending);

/* The waiting flows of one key that start in the same millisecond, in
 * arrival order: of two equally close answers the earlier arrival wins. */
struct run {
	int64_t start_ms;
	struct group *group;
	struct pending_list flows;
	TAILQ_ENTRY(run) in_group;
};
TAILQ_HEAD(run_list, run);

/* All waiting flows of one key, as runs in start order. The table holds
 * one entry per key, not per flow, so a key that repeats 100,000 times
 * costs no more to look up than one that appears once. Flows of one key
 * come mostly in start order, so the search for a start begins where the
 * last one ended (the finger) and takes O(1) steps amortized. */
struct group {
	struct htab_node node;	/* first */
	struct pkey key;
	struct run_list runs;
	struct run *finger;
};

struct pairing {
	int64_t window_ms;
	int64_t horizon_ms;
	size_t max_held;
	struct services *svc;
	pairing_emit_fn emit;
	void *arg;
	struct htab table;	/* struct group by key */
	struct pending_list arrival;	/* waiting flows, oldest first */
	size_t n_waiting;
	struct pending **heap;	/* min-heap by (conn.start_ms, seq) */
	size_t heap_len, heap_cap;
	uint64_t seq;
	uint64_t work;		/* run steps; see pairing_work() */
	int64_t newest_seen;
	bool have_seen;
};

static void stop_waiting(struct pairing *p, struct pending *e);

static void
make_key(struct pkey *k, const struct flow *f, bool reversed)
{
	memset(k, 0, sizeof(*k));	/* padding takes part in memcmp */
	k->src = reversed ? f->dst : f->src;
	k->dst = reversed ? f->src : f->dst;
	k->proto = f->proto;
	/* ICMP has no ports; request and reply carry different types. */
	if (!flow_is_icmp(f)) {
		k->src_port = reversed ? f->dst_port : f->src_port;
		k->dst_port = reversed ? f->src_port : f->dst_port;
	}
}

struct pairing *
pairing_new(int64_t window_ms, int64_t horizon_ms, size_t max_held,
    struct services *svc, pairing_emit_fn emit, void *arg)
{
	struct pairing *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->window_ms = window_ms;
	p->horizon_ms = horizon_ms;
	p->max_held = max_held;
	p->svc = svc;
	p->emit = emit;
	p->arg = arg;
	htab_init(&p->table, offsetof(struct group, key), sizeof(struct pkey));
	TAILQ_INIT(&p->arrival);
	return p;
}

void
pairing_free(struct pairing *p)
{
	struct pending *e;

	if (!p)
		return;
	while ((e = TAILQ_FIRST(&p->arrival)))
		stop_waiting(p, e);	/* frees the runs and groups */
	for (size_t i = 0; i < p->heap_len; i++)
		free(p->heap[i]);
	free(p->heap);
	htab_finish(&p->table);
	free(p);
}

size_t
pairing_held(const struct pairing *p)
{
	return p->heap_len;
}

uint64_t
pairing_work(const struct pairing *p)
{
	return p->work + p->table.probes;
}

static bool
before(const struct pending *a, const struct pending *b)
{
	if (a->conn.start_ms != b->conn.start_ms)
		return a->conn.start_ms < b->conn.start_ms;
	return a->seq < b->seq;
}

static void
heap_set(struct pairing *p, size_t i, struct pending *e)
{
	p->heap[i] = e;
	e->heap_idx = i;
}

static void
sift_up(struct pairing *p, size_t i)
{
	struct pending *e = p->heap[i];
	while (i > 0 && before(e, p->heap[(i - 1) / 2])) {
		heap_set(p, i, p->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(p, i, e);
}

static void
sift_down(struct pairing *p, size_t i)
{
	struct pending *e = p->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= p->heap_len)
			break;
		if (c + 1 < p->heap_len && before(p->heap[c + 1], p->heap[c]))
			c++;
		if (!before(p->heap[c], e))
			break;
		heap_set(p, i, p->heap[c]);
		i = c;
	}
	heap_set(p, i, e);
}

static int
heap_push(struct pairing *p, struct pending *e)
{
	if (p->heap_len == p->heap_cap) {
		size_t cap = p->heap_cap ? p->heap_cap * 2 : 1024;
		struct pending **h = realloc(p->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		p->heap = h;
		p->heap_cap = cap;
	}
	heap_set(p, p->heap_len++, e);
	sift_up(p, p->heap_len - 1);
	return 0;
}

static struct pending *
heap_pop(struct pairing *p)
{
	struct pending *top = p->heap[0];
	if (--p->heap_len > 0) {
		heap_set(p, 0, p->heap[p->heap_len]);
		sift_down(p, 0);
	}
	return top;
}

/* The run of g with the latest start at or before start_ms, or NULL; moves
 * the finger there. */
static struct run *
locate(struct pairing *p, struct group *g, int64_t start_ms)
{
	struct run *r = g->finger ? g->finger : TAILQ_LAST(&g->runs, run_list);
	struct run *next;

	while (r && r->start_ms > start_ms) {
		p->work++;
		r = TAILQ_PREV(r, run_list, in_group);
	}
	next = r ? TAILQ_NEXT(r, in_group) : TAILQ_FIRST(&g->runs);
	while (next && next->start_ms <= start_ms) {
		p->work++;
		r = next;
		next = TAILQ_NEXT(r, in_group);
	}
	g->finger = r ? r : next;
	return r;
}

static void
drop_group_if_empty(struct pairing *p, struct group *g)
{
	if (TAILQ_EMPTY(&g->runs)) {
		htab_remove(&p->table, &g->node);
		free(g);
	}
}

static void
drop_run(struct pairing *p, struct run *r)
{
	struct group *g = r->group;

	if (g->finger == r) {
		g->finger = TAILQ_PREV(r, run_list, in_group);
		if (!g->finger)
			g->finger = TAILQ_NEXT(r, in_group);
	}
	TAILQ_REMOVE(&g->runs, r, in_group);
	free(r);
	drop_group_if_empty(p, g);
}

/* No answer will be accepted any more. */
static void
stop_waiting(struct pairing *p, struct pending *e)
{
	struct run *r = e->run;

	TAILQ_REMOVE(&r->flows, e, in_run);
	if (TAILQ_EMPTY(&r->flows))
		drop_run(p, r);
	TAILQ_REMOVE(&p->arrival, e, in_arrival);
	p->n_waiting--;
	e->run = NULL;
	e->waiting = false;
}

/* Of a run starting at or before start and one starting after it, the one
 * within the window and closest; on a tie, the one that arrived first. */
static struct run *
closer(const struct pairing *p, int64_t start, struct run *a, struct run *b)
{
	int64_t da = a ? start - a->start_ms : 0, db = b ? b->start_ms - start : 0;

	if (da > p->window_ms)
		a = NULL;
	if (db > p->window_ms)
		b = NULL;
	if (!a || !b)
		return a ? a : b;
	if (da != db)
		return da < db ? a : b;
	return TAILQ_FIRST(&a->flows)->seq < TAILQ_FIRST(&b->flows)->seq ? a : b;
}

static struct pending *
find_answer(struct pairing *p, const struct flow *f)
{
	struct pkey rkey;
	struct group *g;

	make_key(&rkey, f, true);
	if (!(g = (struct group *)htab_find(&p->table, &rkey)))
		return NULL;
	struct run *a = locate(p, g, f->start_ms);
	struct run *b = a ? TAILQ_NEXT(a, in_group) : TAILQ_FIRST(&g->runs);
	struct run *best = closer(p, f->start_ms, a, b);
	return best ? TAILQ_FIRST(&best->flows) : NULL;
}

static struct group *
get_group(struct pairing *p, const struct flow *f)
{
	struct pkey key;
	struct group *g;

	make_key(&key, f, false);
	if ((g = (struct group *)htab_find(&p->table, &key)))
		return g;
	if (!(g = calloc(1, sizeof(*g))))
		return NULL;
	g->key = key;
	TAILQ_INIT(&g->runs);
	if (htab_insert(&p->table, &g->node) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

/* File e under its key and start; -1 when memory ran out. */
static int
file_waiting(struct pairing *p, struct pending *e)
{
	struct group *g = get_group(p, &e->conn.fwd);
	int64_t start = e->conn.fwd.start_ms;
	struct run *r, *n;

	if (!g)
		return -1;
	r = locate(p, g, start);
	if (!r || r->start_ms != start) {
		if (!(n = calloc(1, sizeof(*n)))) {
			drop_group_if_empty(p, g);
			return -1;
		}
		n->start_ms = start;
		n->group = g;
		TAILQ_INIT(&n->flows);
		if (r)
			TAILQ_INSERT_AFTER(&g->runs, r, n, in_group);
		else
			TAILQ_INSERT_HEAD(&g->runs, n, in_group);
		r = n;
	}
	TAILQ_INSERT_TAIL(&r->flows, e, in_run);
	e->run = r;
	return 0;
}

static void
add_waiting(struct pairing *p, const struct flow *f)
{
	struct pending *e = calloc(1, sizeof(*e));

	if (!e)
		return;		/* out of memory: the flow is lost, not the run */
	conn_init_single(&e->conn, f);
	e->seq = p->seq++;
	if (heap_push(p, e) < 0) {
		free(e);
		return;
	}
	if (f->biflow || file_waiting(p, e) < 0)
		return;		/* complete already, or cannot pair: just in the heap */
	e->waiting = true;
	TAILQ_INSERT_TAIL(&p->arrival, e, in_arrival);
	p->n_waiting++;
}

static void
release(struct pairing *p, bool all)
{
	int64_t limit = p->newest_seen - p->horizon_ms;
	struct pending *e;

	while ((e = TAILQ_FIRST(&p->arrival)) && (all || e->conn.fwd.seen_ms < limit ||
	    p->n_waiting > p->max_held))
		stop_waiting(p, e);
	while (p->heap_len > 0) {
		struct pending *top = p->heap[0];
		bool over = p->heap_len > p->max_held;
		if (!all && !over && (top->waiting || top->conn.start_ms >= limit))
			break;
		if (top->waiting)
			stop_waiting(p, top);
		heap_pop(p);
		p->emit(p->arg, &top->conn);
		free(top);
	}
}

void
pairing_add(struct pairing *p, const struct flow *f)
{
	if (!p->have_seen || f->seen_ms > p->newest_seen) {
		p->newest_seen = f->seen_ms;
		p->have_seen = true;
	}
	struct pending *e = f->biflow ? NULL : find_answer(p, f);
	if (e) {
		stop_waiting(p, e);
		conn_pair(&e->conn, f, p->svc);
		sift_up(p, e->heap_idx);	/* the start can only move earlier */
	} else {
		add_waiting(p, f);
	}
	release(p, false);
}

void
pairing_flush(struct pairing *p)
{
	release(p, true);
}
