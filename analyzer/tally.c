#include "tally.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "counter.h"
#include "oatab.h"

struct tally_entry {
	struct tally_row row;
};

/* Entries live until tally_free, so they come from blocks rather than a
 * malloc each (a calloc per distinct key was a visible part of --summary's
 * time); the block size doubles from 16 to BLOCK_MAX entries, the big
 * ones in huge pages (bigmem.h). */
struct tally_block {
	struct tally_block *next;
	size_t used, cap;
	struct tally_entry entries[];
};

#define BLOCK_MAX ((BIGMEM_HUGE_PAGE - sizeof(struct tally_block)) / sizeof(struct tally_entry))

struct tally {
	struct tally_block *blocks;	/* newest first */
	size_t key_len;
	size_t max_keys;
	struct oatab table;	/* struct tally_entry by row.key */
	struct tally_entry **by_id;
	size_t cap;
	struct tally_row overflow;
};

struct tally *
tally_new(size_t key_len, size_t max_keys)
{
	struct tally *t = calloc(1, sizeof(*t));

	if (!t || key_len > TALLY_KEY_MAX) {
		free(t);
		return NULL;
	}
	t->key_len = key_len;
	t->max_keys = max_keys;
	oatab_init(&t->table, offsetof(struct tally_entry, row.key), key_len);
	return t;
}

void
tally_free(struct tally *t)
{
	if (!t)
		return;
	for (struct tally_block *b = t->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(t->by_id);
	oatab_finish(&t->table);
	free(t);
}

static struct tally_entry *
new_entry(struct tally *t)
{
	struct tally_block *b = t->blocks;

	if (!b || b->used == b->cap) {
		size_t cap = !b ? 16 : 2 * b->cap < BLOCK_MAX ? 2 * b->cap : BLOCK_MAX;
		struct tally_block *n = bigmem_zalloc(sizeof(*n) + cap * sizeof(n->entries[0]));
		if (!n)
			return NULL;
		n->cap = cap;
		n->next = b;
		t->blocks = b = n;
	}
	return &b->entries[b->used++];
}

static struct tally_entry *
insert(struct tally *t, const void *key, uint64_t hash)
{
	if (t->table.count >= t->max_keys)
		return NULL;
	if (t->table.count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct tally_entry **p = bigmem_grow(t->by_id, t->cap * sizeof(*p),
		    cap * sizeof(*p));
		if (!p)
			return NULL;
		t->by_id = p;
		t->cap = cap;
	}
	struct tally_entry *e = new_entry(t);
	if (!e)
		return NULL;
	memcpy(e->row.key, key, t->key_len);
	e->row.id = t->table.count;
	if (oatab_insert(&t->table, e, hash) < 0) {
		t->blocks->used--;	/* e was the last one handed out */
		memset(e, 0, sizeof(*e));
		return NULL;
	}
	t->by_id[e->row.id] = e;
	return e;
}

uint64_t
tally_hash(const struct tally *t, const void *key)
{
	return oatab_hash(key, t->key_len);
}

size_t
tally_add(struct tally *t, const void *key, uint64_t bytes, uint64_t packets)
{
	return tally_add_hashed(t, key, oatab_hash(key, t->key_len), bytes, packets);
}

size_t
tally_add_hashed(struct tally *t, const void *key, uint64_t hash, uint64_t bytes,
    uint64_t packets)
{
	struct tally_entry *e = oatab_find(&t->table, key, hash);
	struct tally_row *row;

	if (!e)
		e = insert(t, key, hash);
	row = e ? &e->row : &t->overflow;
	row->bytes = counter_add(row->bytes, bytes);
	row->packets = counter_add(row->packets, packets);
	row->flows++;
	return e ? e->row.id : (size_t)-1;
}

void
tally_prefetch(const struct tally *t, uint64_t hash)
{
	oatab_prefetch(&t->table, hash);
}

size_t
tally_count(const struct tally *t)
{
	return t->table.count;
}

const struct tally_row *
tally_overflow(const struct tally *t)
{
	return &t->overflow;
}

const struct tally_row *
tally_row(const struct tally *t, size_t id)
{
	return id < t->table.count ? &t->by_id[id]->row : NULL;
}

static int
compare_rows(const void *a, const void *b)
{
	const struct tally_row *x = *(const struct tally_row *const *)a;
	const struct tally_row *y = *(const struct tally_row *const *)b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	/* Bytes past key_len are zero in every row. */
	return memcmp(x->key, y->key, TALLY_KEY_MAX);
}

/* Order of rows[] as a heap whose top is the row that ranks last. */
static void
sift_worst(const struct tally_row **h, size_t n, size_t i)
{
	const struct tally_row *x = h[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && compare_rows(&h[c + 1], &h[c]) > 0)
			c++;
		if (compare_rows(&h[c], &x) <= 0)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/* The n best rows are kept in a heap of n, not found by sorting them all:
 * --summary asks for 10 of a million conversations. */
size_t
tally_top(const struct tally *t, const struct tally_row **out, size_t n)
{
	size_t count = t->table.count;

	if (n > count)
		n = count;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = &t->by_id[i]->row;
	for (size_t i = n / 2; i-- > 0;)
		sift_worst(out, n, i);
	for (size_t i = n; i < count; i++) {
		const struct tally_row *row = &t->by_id[i]->row;
		if (compare_rows(&row, &out[0]) < 0) {
			out[0] = row;
			sift_worst(out, n, 0);
		}
	}
	qsort(out, n, sizeof(*out), compare_rows);
	return n;
}
