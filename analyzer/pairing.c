#include "pairing.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "bigmem.h"
#include "oatab.h"

struct pkey {
	struct addr src;
	struct addr dst;
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t proto;
};

/* A flow waiting for its other direction (and then, paired or not, for its
 * turn to be emitted in start order). It holds the flows, not the struct
 * conn (twice a flow): the connection is made when it is emitted, and the
 * answer is allocated when it comes. A pairing that only counts
 * (pairing_count_only) keeps neither flow. */
struct pending {
	struct flow *answer;	/* the other direction, once paired */
	int64_t start_ms;	/* the connection's: the earlier start of the two */
	int64_t seen_ms;	/* the first flow's: it stops waiting by this */
	struct run *run;		/* while waiting */
	TAILQ_ENTRY(pending) in_run;
	TAILQ_ENTRY(pending) in_arrival;
	uint64_t seq;
	uint8_t in_heap;	/* heap entries that point here: 1, or 2 (see heap_entry) */
	bool waiting;		/* filed under its key, may get its answer */
	bool emitted;
	bool paired;		/* what the connection will say */
	struct flow first[];	/* the direction that arrived first; none when counting */
};

/* The output order: (start, seq) kept in the heap's own array, so sifting
 * never reads the flows. An answer that starts earlier moves the
 * connection's start earlier; instead of moving its entry (which would need
 * the entry's index kept up to date in the flow on every sift) a second
 * entry is pushed. That one sorts first, so the first entry popped is the
 * live one; the later, stale one only lets go of the memory. */
struct heap_entry {
	int64_t start_ms;
	uint64_t seq;
	struct pending *e;
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
	uint64_t hash;		/* of key, in the table */
	struct pkey key;
	struct run_list runs;
	struct run *finger;
	/* Most keys have one run: the group's own, not allocated apart. */
	struct run own;
	bool own_used;
};

/* Fixed-size objects of one kind from blocks, with a free list: a
 * waiting flow costs a group, a pending and often a run, made and freed at
 * the input's rate, which malloc's bins and consolidation made a tenth of
 * --summary's time. Memory goes back when the pairing is freed. The first
 * blocks are 64 KiB; a pool past POOL_SMALL_BLOCKS of them takes huge-page
 * blocks (bigmem.h), since a million waiting flows are hundreds of
 * megabytes touched once each. */
#define POOL_BLOCK (64 * 1024)
#define POOL_BIG_BLOCK BIGMEM_HUGE_PAGE
#define POOL_SMALL_BLOCKS 16

/* Under AddressSanitizer a freed object stays poisoned until it is handed
 * out again, so a use after free is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct pool_block {
	struct pool_block *next;
	size_t size;
	max_align_t align[];
};

struct pool {
	size_t size;		/* rounded up to max_align_t */
	void *free;		/* the last object freed; each holds the one before */
	char *next, *end;	/* the newest block's unused part */
	struct pool_block *blocks;
	size_t n_blocks;
};

static void
pool_init(struct pool *pl, size_t size)
{
	size_t a = _Alignof(max_align_t);

	memset(pl, 0, sizeof(*pl));
	pl->size = (size + a - 1) / a * a;
}

static void *
pool_get(struct pool *pl)
{
	void *o = pl->free;

	if (o) {
		POOL_UNPOISON(o, pl->size);
		memcpy(&pl->free, o, sizeof(void *));
		return o;
	}
	if ((size_t)(pl->end - pl->next) < pl->size) {
		size_t size = pl->n_blocks < POOL_SMALL_BLOCKS ? POOL_BLOCK : POOL_BIG_BLOCK;
		struct pool_block *b = bigmem_alloc(size);
		if (!b)
			return NULL;
		b->next = pl->blocks;
		b->size = size;
		pl->blocks = b;
		pl->n_blocks++;
		pl->next = (char *)b->align;
		pl->end = (char *)b + size;
	}
	o = pl->next;
	pl->next += pl->size;
	return o;
}

static void
pool_put(struct pool *pl, void *o)
{
	memcpy(o, &pl->free, sizeof(void *));
	pl->free = o;
	POOL_POISON(o, pl->size);
}

static void
pool_finish(struct pool *pl)
{
	for (struct pool_block *b = pl->blocks, *next; b; b = next) {
		next = b->next;
		POOL_UNPOISON(b, b->size);
		free(b);
	}
	memset(pl, 0, sizeof(*pl));
}

struct pairing {
	int64_t window_ms;
	int64_t horizon_ms;
	size_t max_held;
	struct services *svc;
	pairing_emit_fn emit;
	void *arg;
	struct oatab table;	/* struct group by key */
	struct pending_list arrival;	/* waiting flows, oldest first */
	size_t n_waiting;
	struct heap_entry *heap;	/* min-heap by (start_ms, seq) */
	size_t heap_len, heap_cap;
	size_t held;		/* pendings not yet emitted */
	size_t allocated;	/* pendings not yet freed (2 heap entries each, at most) */
	uint64_t seq;
	uint64_t work;		/* run steps; see pairing_work() */
	int64_t newest_seen;
	bool have_seen;
	bool count_only;	/* pairing_count_only() */
	struct pool groups, runs, pendings;
};

static void drop_all_waiting(struct pairing *p);

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
	oatab_init(&p->table, offsetof(struct group, key), sizeof(struct pkey));
	pool_init(&p->groups, sizeof(struct group));
	pool_init(&p->runs, sizeof(struct run));
	pool_init(&p->pendings, sizeof(struct pending) + sizeof(struct flow));
	TAILQ_INIT(&p->arrival);
	return p;
}

void
pairing_free(struct pairing *p)
{
	struct pending *e;

	if (!p)
		return;
	drop_all_waiting(p);
	for (size_t i = 0; i < p->heap_len; i++) {
		e = p->heap[i].e;
		if (--e->in_heap == 0)
			free(e->answer);
	}
	free(p->heap);
	oatab_finish(&p->table);
	pool_finish(&p->groups);
	pool_finish(&p->runs);
	pool_finish(&p->pendings);
	free(p);
}

size_t
pairing_held(const struct pairing *p)
{
	return p->held;
}

uint64_t
pairing_work(const struct pairing *p)
{
	return p->work + p->table.probes;
}

static bool
before(const struct heap_entry *a, const struct heap_entry *b)
{
	if (a->start_ms != b->start_ms)
		return a->start_ms < b->start_ms;
	return a->seq < b->seq;
}

static void
sift_up(struct pairing *p, size_t i)
{
	struct heap_entry x = p->heap[i];

	while (i > 0 && before(&x, &p->heap[(i - 1) / 2])) {
		p->heap[i] = p->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	p->heap[i] = x;
}

static void
sift_down(struct pairing *p, size_t i)
{
	struct heap_entry x = p->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= p->heap_len)
			break;
		if (c + 1 < p->heap_len && before(&p->heap[c + 1], &p->heap[c]))
			c++;
		if (!before(&p->heap[c], &x))
			break;
		p->heap[i] = p->heap[c];
		i = c;
	}
	p->heap[i] = x;
}

/* Room for two entries of every pending (one more than allocated now). */
static int
heap_reserve(struct pairing *p)
{
	size_t need = 2 * (p->allocated + 1);

	if (need <= p->heap_cap)
		return 0;
	size_t cap = p->heap_cap ? p->heap_cap : 1024;
	while (cap < need)
		cap *= 2;
	struct heap_entry *h = bigmem_grow(p->heap, p->heap_cap * sizeof(*h),
	    cap * sizeof(*h));
	if (!h)
		return -1;
	p->heap = h;
	p->heap_cap = cap;
	return 0;
}

/* Never fails: heap_reserve made the room when e was allocated. */
static void
heap_push(struct pairing *p, struct pending *e)
{
	p->heap[p->heap_len++] = (struct heap_entry){ e->start_ms, e->seq, e };
	e->in_heap++;
	sift_up(p, p->heap_len - 1);
}

static void
heap_pop(struct pairing *p)
{
	if (--p->heap_len > 0) {
		p->heap[0] = p->heap[p->heap_len];
		sift_down(p, 0);
	}
}

/* A heap entry let go of e. */
static void
unref(struct pairing *p, struct pending *e)
{
	if (--e->in_heap > 0)
		return;
	free(e->answer);
	pool_put(&p->pendings, e);
	p->allocated--;
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
		oatab_remove(&p->table, g, g->hash);
		pool_put(&p->groups, g);
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
	if (r == &g->own)
		g->own_used = false;
	else
		pool_put(&p->runs, r);
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
	if (!(g = oatab_find(&p->table, &rkey, oatab_hash(&rkey, sizeof(rkey)))))
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
	uint64_t hash = oatab_hash(&key, sizeof(key));
	if ((g = oatab_find(&p->table, &key, hash)))
		return g;
	if (!(g = pool_get(&p->groups)))
		return NULL;
	memset(g, 0, sizeof(*g));
	g->hash = hash;
	g->key = key;
	TAILQ_INIT(&g->runs);
	if (oatab_insert(&p->table, g, hash) < 0) {
		pool_put(&p->groups, g);
		return NULL;
	}
	return g;
}

/* File e under its key and start; -1 when memory ran out. */
static int
file_waiting(struct pairing *p, struct pending *e, const struct flow *f)
{
	struct group *g = get_group(p, f);
	int64_t start = f->start_ms;
	struct run *r, *n;

	if (!g)
		return -1;
	r = locate(p, g, start);
	if (!r || r->start_ms != start) {
		if (!g->own_used) {
			n = &g->own;
			g->own_used = true;
		} else if (!(n = pool_get(&p->runs))) {
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
	struct pending *e;

	if (heap_reserve(p) < 0 ||
	    !(e = pool_get(&p->pendings)))
		return;		/* out of memory: the flow is lost, not the run */
	if (!p->count_only)
		e->first[0] = *f;
	e->answer = NULL;
	e->start_ms = f->start_ms;
	e->seen_ms = f->seen_ms;
	e->paired = f->biflow && (f->rev_bytes > 0 || f->rev_packets > 0);
	e->run = NULL;
	e->seq = p->seq++;
	e->in_heap = 0;
	e->waiting = false;
	e->emitted = false;
	p->allocated++;
	p->held++;
	heap_push(p, e);
	if (f->biflow || file_waiting(p, e, f) < 0)
		return;		/* complete already, or cannot pair: just in the heap */
	e->waiting = true;
	TAILQ_INSERT_TAIL(&p->arrival, e, in_arrival);
	p->n_waiting++;
}

/* The connection of e, out: one flow as exported, or the pair. */
static void
emit(struct pairing *p, struct pending *e)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	if (p->count_only) {
		c.paired = e->paired;
		c.start_ms = e->start_ms;
	} else {
		conn_init_single(&c, e->first);
		if (e->answer)
			conn_pair(&c, e->answer, p->svc);
	}
	p->emit(p->arg, &c);
	free(e->answer);
	e->answer = NULL;
	e->emitted = true;
	p->held--;
}

/* Flows whose wait is over stop waiting; connections nothing earlier can
 * still come before are emitted. */
static void
release(struct pairing *p)
{
	int64_t limit = p->newest_seen - p->horizon_ms;
	struct pending *e;

	while ((e = TAILQ_FIRST(&p->arrival)) && (e->seen_ms < limit ||
	    p->n_waiting > p->max_held))
		stop_waiting(p, e);
	while (p->heap_len > 0) {
		struct heap_entry top = p->heap[0];
		e = top.e;
		if (!e->emitted) {
			bool over = p->held > p->max_held;
			if (!over && (e->waiting || top.start_ms >= limit))
				break;
			if (e->waiting)
				stop_waiting(p, e);
			emit(p, e);
		}
		heap_pop(p);
		unref(p, e);
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
	if (e && (p->count_only || (e->answer = malloc(sizeof(*e->answer))))) {
		if (e->answer)
			*e->answer = *f;
		e->paired = true;
		stop_waiting(p, e);
		if (f->start_ms < e->start_ms) {
			e->start_ms = f->start_ms;
			heap_push(p, e);	/* sorts before its first entry */
		}
	} else if (!e) {
		add_waiting(p, f);
	}
	release(p);
}

void
pairing_prefetch(const struct pairing *p, const struct flow *f)
{
	struct pkey key, rkey;

	if (f->biflow)
		return;
	make_key(&key, f, false);
	make_key(&rkey, f, true);
	oatab_prefetch(&p->table, oatab_hash(&key, sizeof(key)));
	oatab_prefetch(&p->table, oatab_hash(&rkey, sizeof(rkey)));
}

int
pairing_count_only(struct pairing *p)
{
	if (p->allocated > 0)
		return -1;
	p->count_only = true;
	pool_init(&p->pendings, sizeof(struct pending));
	return 0;
}

/* Every waiting flow stops waiting, and every run and group goes: all at
 * once, by walking the arrival list and the table, rather than unlinking
 * them one flow at a time (each a cache miss) as release() must. */
static void
drop_all_waiting(struct pairing *p)
{
	struct pending *e;

	TAILQ_FOREACH(e, &p->arrival, in_arrival) {
		e->run = NULL;
		e->waiting = false;
	}
	TAILQ_INIT(&p->arrival);
	p->n_waiting = 0;
	for (size_t i = 0; i < p->table.nslots; i++) {
		struct group *g = p->table.slots[i].entry;
		struct run *r, *next;
		if (!g)
			continue;
		for (r = TAILQ_FIRST(&g->runs); r; r = next) {
			next = TAILQ_NEXT(r, in_group);
			if (r != &g->own)
				pool_put(&p->runs, r);
		}
		pool_put(&p->groups, g);
	}
	oatab_finish(&p->table);	/* empty, and usable again */
}

static int
compare_entries(const void *a, const void *b)
{
	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

static void
swap_entries(struct heap_entry *a, struct heap_entry *b)
{
	struct heap_entry t = *a;
	*a = *b;
	*b = t;
}

/* Quicksort in place with the comparison inlined (median of three, the
 * smaller side first; past a depth of 2 log n, qsort): qsort's merge sort
 * called before() through a pointer and copied a million entries through
 * a temporary array of fresh pages, a tenth of --summary's time. */
static void
sort_entries(struct heap_entry *a, size_t n, int depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			qsort(a, n, sizeof(*a), compare_entries);
			return;
		}
		size_t m = n / 2;
		if (before(&a[m], &a[0]))
			swap_entries(&a[m], &a[0]);
		if (before(&a[n - 1], &a[0]))
			swap_entries(&a[n - 1], &a[0]);
		if (before(&a[n - 1], &a[m]))
			swap_entries(&a[n - 1], &a[m]);
		struct heap_entry pivot = a[m];
		size_t i = 0, j = n - 1;
		for (;;) {	/* Hoare: [0, j] <= pivot <= [j + 1, n) */
			while (before(&a[i], &pivot))
				i++;
			while (before(&pivot, &a[j]))
				j--;
			if (i >= j)
				break;
			swap_entries(&a[i++], &a[j--]);
		}
		size_t left = j + 1;
		if (left < n - left) {
			sort_entries(a, left, depth);
			a += left;
			n -= left;
		} else {
			sort_entries(a + left, n - left, depth);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct heap_entry x = a[i];
		size_t j = i;
		for (; j > 0 && before(&x, &a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* The heap's entries sorted are the order it would pop them in: no two
 * share (start, seq). Sorting the array streams through it; popping would
 * walk a path down a heap too big for the cache for every flow. */
void
pairing_flush(struct pairing *p)
{
	drop_all_waiting(p);
	if (p->heap_len == 0)
		return;		/* heap may still be NULL: qsort wants an array */
	int depth = 0;
	for (size_t n = p->heap_len; n > 1; n /= 2)
		depth += 2;
	sort_entries(p->heap, p->heap_len, depth);
	for (size_t i = 0; i < p->heap_len; i++) {
		struct pending *e = p->heap[i].e;
		if (!e->emitted)
			emit(p, e);
		unref(p, e);
	}
	p->heap_len = 0;
}
