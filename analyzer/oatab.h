/* oatab: open-addressing hash table of entries keyed by a fixed-size byte
 * blob, for tables that are looked up and emptied at a high rate (pairing).
 *
 * Linear probing over one array of (hash, entry) slots: a lookup that finds
 * nothing reads only that array, never an entry whose full hash differs.
 * Removal shifts the following slots back (no tombstones), so probe runs
 * stay as short as the load allows however many entries come and go. The
 * array doubles at 3/4 full and never shrinks. Keys are compared with
 * memcmp (zero the padding); at most one entry per key. The caller passes
 * the key's hash (oatab_hash) so that a lookup and the insert that follows
 * it hash once. The table never owns entries. */
#ifndef ANALYZER_OATAB_H
#define ANALYZER_OATAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oatab_slot {
	uint64_t hash;
	void *entry;		/* NULL: free */
};

struct oatab {
	struct oatab_slot *slots;
	size_t nslots;		/* 0 or a power of two */
	size_t count;
	size_t key_off;
	size_t key_len;
	/* Slots looked at, summed over every call: a work counter that tests
	 * read to check that cost stays linear in the input. */
	uint64_t probes;
};

void oatab_init(struct oatab *t, size_t key_off, size_t key_len);
/* Frees the slots; the table is then empty, and usable again. */
void oatab_finish(struct oatab *t);
uint64_t oatab_hash(const void *key, size_t len);
void *oatab_find(struct oatab *t, const void *key, uint64_t hash);
/* entry's key must not be in the table; -1 when memory ran out. */
int oatab_insert(struct oatab *t, void *entry, uint64_t hash);
/* Removes entry (found by its key's hash); false when it is not there. */
bool oatab_remove(struct oatab *t, const void *entry, uint64_t hash);
/* Every entry once, in no order: size_t pos = 0; void *e;
 * while ((e = oatab_next(t, &pos))) ... Nothing may be inserted or removed
 * meanwhile (a removal shifts entries back over the cursor). */
void *oatab_next(const struct oatab *t, size_t *pos);

/* Start loading the slot a lookup of hash reads first: a caller with other
 * work before the lookup overlaps the cache miss with it (the tables of
 * --summary are far bigger than the cache). */
static inline void
oatab_prefetch(const struct oatab *t, uint64_t hash)
{
	if (t->nslots)
		__builtin_prefetch(&t->slots[hash & (t->nslots - 1)]);
}

#endif
