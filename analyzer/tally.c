#include "tally.h"

#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "htab.h"

struct tally_entry {
	struct htab_node node;
	struct tally_row row;
};

struct tally {
	size_t key_len;
	size_t max_keys;
	struct htab table;
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
	htab_init(&t->table, offsetof(struct tally_entry, row.key), key_len);
	return t;
}

void
tally_free(struct tally *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->table.count; i++)
		free(t->by_id[i]);
	free(t->by_id);
	htab_finish(&t->table);
	free(t);
}

static struct tally_entry *
insert(struct tally *t, const void *key)
{
	if (t->table.count >= t->max_keys)
		return NULL;
	if (t->table.count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct tally_entry **p = realloc(t->by_id, cap * sizeof(*p));
		if (!p)
			return NULL;
		t->by_id = p;
		t->cap = cap;
	}
	struct tally_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->row.key, key, t->key_len);
	e->row.id = t->table.count;
	if (htab_insert(&t->table, &e->node) < 0) {
		free(e);
		return NULL;
	}
	t->by_id[e->row.id] = e;
	return e;
}

size_t
tally_add(struct tally *t, const void *key, uint64_t bytes, uint64_t packets)
{
	struct tally_entry *e = (struct tally_entry *)htab_find(&t->table, key);
	struct tally_row *row;

	if (!e)
		e = insert(t, key);
	row = e ? &e->row : &t->overflow;
	row->bytes = counter_add(row->bytes, bytes);
	row->packets = counter_add(row->packets, packets);
	row->flows++;
	return e ? e->row.id : (size_t)-1;
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

size_t
tally_top(const struct tally *t, const struct tally_row **out, size_t n)
{
	size_t count = t->table.count;
	const struct tally_row **all = malloc((count ? count : 1) * sizeof(*all));

	if (!all)
		return 0;
	for (size_t i = 0; i < count; i++)
		all[i] = &t->by_id[i]->row;
	qsort(all, count, sizeof(*all), compare_rows);
	if (n > count)
		n = count;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}
