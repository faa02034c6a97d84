#include "oatab.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "bytes.h"

#define OATAB_MIN_SLOTS 64

void
oatab_init(struct oatab *t, size_t key_off, size_t key_len)
{
	memset(t, 0, sizeof(*t));
	t->key_off = key_off;
	t->key_len = key_len;
}

void
oatab_finish(struct oatab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->nslots = 0;
	t->count = 0;
}

/* 64-bit words mixed by multiplication; keys are short, fixed and come from
 * files the user chose to read (not adversarial enough for a keyed hash). */
uint64_t
oatab_hash(const void *key, size_t len)
{
	const unsigned char *k = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

	for (; len >= 8; k += 8, len -= 8) {
		memcpy(&w, k, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, k, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static const void *
entry_key(const struct oatab *t, const void *entry)
{
	return (const char *)entry + t->key_off;
}

void *
oatab_find(struct oatab *t, const void *key, uint64_t hash)
{
	size_t mask = t->nslots - 1;

	if (t->nslots == 0)
		return NULL;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		const struct oatab_slot *s = &t->slots[i];
		t->probes++;
		if (!s->entry)
			return NULL;
		if (s->hash == hash && bytes_equal(entry_key(t, s->entry), key, t->key_len))
			return s->entry;
	}
}

static void
place(struct oatab_slot *slots, size_t mask, uint64_t hash, void *entry)
{
	size_t i = hash & mask;

	while (slots[i].entry)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].entry = entry;
}

static int
grow(struct oatab *t)
{
	size_t nslots = t->nslots ? 2 * t->nslots : OATAB_MIN_SLOTS;
	/* Huge pages where the array is megabytes: it is read at random, a
	 * TLB miss per lookup with 4 KiB pages. Zeroed by writing (bigmem.h):
	 * the rehash below reads a slot before it writes it. */
	struct oatab_slot *slots = bigmem_zalloc(nslots * sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < t->nslots; i++)
		if (t->slots[i].entry)
			place(slots, nslots - 1, t->slots[i].hash, t->slots[i].entry);
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

int
oatab_insert(struct oatab *t, void *entry, uint64_t hash)
{
	if (4 * (t->count + 1) > 3 * t->nslots && grow(t) < 0)
		return -1;
	place(t->slots, t->nslots - 1, hash, entry);
	t->count++;
	return 0;
}

bool
oatab_remove(struct oatab *t, const void *entry, uint64_t hash)
{
	size_t mask = t->nslots - 1, i;

	if (t->nslots == 0)
		return false;
	for (i = hash & mask; t->slots[i].entry != entry; i = (i + 1) & mask) {
		t->probes++;
		if (!t->slots[i].entry)
			return false;
	}
	/* Backward shift: a later slot of the run moves into the hole unless
	 * its home lies cyclically in (hole, slot], where it already is
	 * reachable from. */
	for (size_t j = (i + 1) & mask; t->slots[j].entry; j = (j + 1) & mask) {
		size_t home = t->slots[j].hash & mask;
		t->probes++;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].entry = NULL;
	t->slots[i].hash = 0;
	t->count--;
	return true;
}

void *
oatab_next(const struct oatab *t, size_t *pos)
{
	while (*pos < t->nslots) {
		void *e = t->slots[(*pos)++].entry;
		if (e)
			return e;
	}
	return NULL;
}
