/*
 * Template cache: keyed by exporter address + source id / observation
 * domain + template id (+ protocol), never by template id alone. Bounded:
 * when full, the least recently used template is evicted.
 */
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

struct tcache {
	struct template **buckets;
	size_t mask;
	size_t count, max;
	struct template *lru_head, *lru_tail;  /* head = most recent */
};

static uint64_t
tkey_hash(const struct tkey *k)
{
	uint64_t h = 1469598103934665603ULL;
	uint8_t buf[24];
	size_t n = 0;

	buf[n++] = k->exporter.family;
	memcpy(buf + n, k->exporter.bytes, 16);
	n += 16;
	memcpy(buf + n, &k->domain, 4);
	n += 4;
	memcpy(buf + n, &k->id, 2);
	n += 2;
	buf[n++] = k->proto;
	for (size_t i = 0; i < n; i++) {
		h ^= buf[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static bool
tkey_same_domain(const struct tkey *a, const struct tkey *b)
{
	return a->proto == b->proto && a->domain == b->domain &&
	    a->exporter.family == b->exporter.family &&
	    memcmp(a->exporter.bytes, b->exporter.bytes, 16) == 0;
}

static bool
tkey_equal(const struct tkey *a, const struct tkey *b)
{
	return a->id == b->id && tkey_same_domain(a, b);
}

struct tcache *
tcache_new(size_t max)
{
	struct tcache *tc;
	size_t n = 64;

	if (max == 0)
		max = 1;
	while (n < max && n < ((size_t)1 << 22))
		n <<= 1;
	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return NULL;
	if ((tc->buckets = calloc(n, sizeof(*tc->buckets))) == NULL) {
		free(tc);
		return NULL;
	}
	tc->mask = n - 1;
	tc->max = max;
	return tc;
}

void
tcache_free(struct tcache *tc)
{
	struct template *t, *next;

	if (tc == NULL)
		return;
	for (t = tc->lru_head; t != NULL; t = next) {
		next = t->lru_next;
		free(t);
	}
	free(tc->buckets);
	free(tc);
}

static void
lru_unlink(struct tcache *tc, struct template *t)
{
	if (t->lru_prev)
		t->lru_prev->lru_next = t->lru_next;
	else
		tc->lru_head = t->lru_next;
	if (t->lru_next)
		t->lru_next->lru_prev = t->lru_prev;
	else
		tc->lru_tail = t->lru_prev;
	t->lru_prev = t->lru_next = NULL;
}

static void
lru_push(struct tcache *tc, struct template *t)
{
	t->lru_prev = NULL;
	t->lru_next = tc->lru_head;
	if (tc->lru_head)
		tc->lru_head->lru_prev = t;
	tc->lru_head = t;
	if (tc->lru_tail == NULL)
		tc->lru_tail = t;
}

/* Unlinks t from its hash chain and the LRU list and frees it. */
static void
evict(struct tcache *tc, struct template *t)
{
	struct template **pp = &tc->buckets[tkey_hash(&t->key) & tc->mask];

	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	lru_unlink(tc, t);
	tc->count--;
	free(t);
}

struct template *
tcache_get(struct tcache *tc, const struct tkey *key)
{
	struct template *t = tc->buckets[tkey_hash(key) & tc->mask];

	for (; t != NULL; t = t->hnext) {
		if (tkey_equal(&t->key, key)) {
			if (tc->lru_head != t) {
				lru_unlink(tc, t);
				lru_push(tc, t);
			}
			return t;
		}
	}
	return NULL;
}

void
tcache_remove(struct tcache *tc, const struct tkey *key)
{
	struct template *t = tcache_get(tc, key);

	if (t != NULL)
		evict(tc, t);
}

void
tcache_remove_domain(struct tcache *tc, const struct tkey *key, bool options)
{
	struct template *t, *next;

	for (t = tc->lru_head; t != NULL; t = next) {
		next = t->lru_next;
		if (t->options == options && tkey_same_domain(&t->key, key))
			evict(tc, t);
	}
}

struct template *
tcache_put(struct tcache *tc, const struct tkey *key, bool options,
    const struct tfield *fields, uint16_t nfields)
{
	struct template *t;
	size_t bucket;

	tcache_remove(tc, key);
	while (tc->count >= tc->max && tc->lru_tail != NULL)
		evict(tc, tc->lru_tail);
	t = calloc(1, sizeof(*t) + (size_t)nfields * sizeof(t->fields[0]));
	if (t == NULL)
		return NULL;
	t->key = *key;
	t->options = options;
	t->nfields = nfields;
	memcpy(t->fields, fields, (size_t)nfields * sizeof(t->fields[0]));
	for (uint16_t i = 0; i < nfields; i++)
		t->min_len += fields[i].len == VARLEN ? 1 : fields[i].len;
	bucket = tkey_hash(key) & tc->mask;
	t->hnext = tc->buckets[bucket];
	tc->buckets[bucket] = t;
	lru_push(tc, t);
	tc->count++;
	return t;
}

size_t
tcache_count(const struct tcache *tc)
{
	return tc->count;
}
