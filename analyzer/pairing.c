#include "pairing.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

struct pkey {
	struct addr src;
	struct addr dst;
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t proto;
};

struct pending {
	struct htab_node node;	/* first: in the table while unpaired */
	struct pkey key;
	struct conn conn;
	struct pending *older, *newer;	/* arrival order, while unpaired */
	size_t heap_idx;
	uint64_t seq;
	bool waiting;		/* still in the table, may get its answer */
};

struct pairing {
	int64_t window_ms;
	int64_t horizon_ms;
	size_t max_held;
	struct services *svc;
	pairing_emit_fn emit;
	void *arg;
	struct htab table;
	struct pending *oldest, *newest;
	struct pending **heap;	/* min-heap by (conn.start_ms, seq) */
	size_t heap_len, heap_cap;
	uint64_t seq;
	int64_t newest_seen;
	bool have_seen;
};

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
	htab_init(&p->table, offsetof(struct pending, key), sizeof(struct pkey));
	return p;
}

void
pairing_free(struct pairing *p)
{
	if (!p)
		return;
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

/* No answer will be accepted any more. */
static void
stop_waiting(struct pairing *p, struct pending *e)
{
	htab_remove(&p->table, &e->node);
	if (e->older)
		e->older->newer = e->newer;
	else
		p->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		p->newest = e->older;
	e->older = e->newer = NULL;
	e->waiting = false;
}

static struct pending *
find_answer(struct pairing *p, const struct flow *f)
{
	struct pkey rkey;
	struct pending *best = NULL;
	int64_t best_diff = 0;

	make_key(&rkey, f, true);
	for (struct htab_node *n = htab_find(&p->table, &rkey); n;
	    n = htab_next_match(&p->table, n)) {
		struct pending *e = (struct pending *)n;
		int64_t diff = e->conn.fwd.start_ms - f->start_ms;
		if (diff < 0)
			diff = -diff;
		if (diff <= p->window_ms && (!best || diff < best_diff)) {
			best = e;
			best_diff = diff;
		}
	}
	return best;
}

static void
add_waiting(struct pairing *p, const struct flow *f)
{
	struct pending *e = calloc(1, sizeof(*e));

	if (!e)
		return;		/* out of memory: the flow is lost, not the run */
	make_key(&e->key, f, false);
	conn_init_single(&e->conn, f);
	e->seq = p->seq++;
	if (heap_push(p, e) < 0) {
		free(e);
		return;
	}
	if (htab_insert(&p->table, &e->node) < 0)
		return;		/* stays in the heap, just cannot pair */
	e->waiting = true;
	e->older = p->newest;
	if (p->newest)
		p->newest->newer = e;
	else
		p->oldest = e;
	p->newest = e;
}

static void
release(struct pairing *p, bool all)
{
	int64_t limit = p->newest_seen - p->horizon_ms;

	while (p->oldest && (all || p->oldest->conn.fwd.seen_ms < limit ||
	    p->table.count > p->max_held))
		stop_waiting(p, p->oldest);
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
	struct pending *e = find_answer(p, f);
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
