#include "htab.h"

#include <stdlib.h>
#include <string.h>

#define HTAB_MIN_SLOTS 64

static const void *
node_key(const struct htab *h, const struct htab_node *n)
{
	return (const char *)n + h->key_off;
}

void
htab_init(struct htab *h, size_t key_off, size_t key_len)
{
	memset(h, 0, sizeof(*h));
	h->key_off = key_off;
	h->key_len = key_len;
}

void
htab_finish(struct htab *h)
{
	free(h->slots);
	h->slots = NULL;
	h->nslots = 0;
	h->count = 0;
}

/* FNV-1a with a final avalanche; keys are short and not adversarial enough to
 * need a keyed hash (they come from files the user chose to read). */
uint64_t
htab_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t x = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		x ^= p[i];
		x *= 0x100000001b3ULL;
	}
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

struct htab_node *
htab_find(struct htab *h, const void *key)
{
	if (h->nslots == 0)
		return NULL;
	uint64_t hash = htab_hash(key, h->key_len);
	for (struct htab_node *n = h->slots[hash & (h->nslots - 1)]; n; n = n->next)
		if (h->probes++, n->hash == hash && memcmp(node_key(h, n), key, h->key_len) == 0)
			return n;
	return NULL;
}

struct htab_node *
htab_next_match(struct htab *h, struct htab_node *prev)
{
	const void *key = node_key(h, prev);

	for (struct htab_node *n = prev->next; n; n = n->next)
		if (h->probes++, n->hash == prev->hash && memcmp(node_key(h, n), key, h->key_len) == 0)
			return n;
	return NULL;
}

static int
grow(struct htab *h)
{
	size_t nslots = h->nslots ? h->nslots * 2 : HTAB_MIN_SLOTS;
	struct htab_node **slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < h->nslots; i++) {
		struct htab_node *n = h->slots[i], *next;
		for (; n; n = next) {
			next = n->next;
			struct htab_node **s = &slots[n->hash & (nslots - 1)];
			n->next = *s;
			*s = n;
		}
	}
	free(h->slots);
	h->slots = slots;
	h->nslots = nslots;
	return 0;
}

int
htab_insert(struct htab *h, struct htab_node *node)
{
	if (h->count >= h->nslots && grow(h) < 0)
		return -1;
	node->hash = htab_hash(node_key(h, node), h->key_len);
	/* Append at the chain's end so duplicates are found in insertion order. */
	struct htab_node **s = &h->slots[node->hash & (h->nslots - 1)];
	while (*s) {
		h->probes++;
		s = &(*s)->next;
	}
	node->next = NULL;
	*s = node;
	h->count++;
	return 0;
}

void
htab_remove(struct htab *h, struct htab_node *node)
{
	struct htab_node **s = &h->slots[node->hash & (h->nslots - 1)];

	for (; *s; s = &(*s)->next) {
		h->probes++;
		if (*s == node) {
			*s = node->next;
			h->count--;
			return;
		}
	}
}

struct htab_node *
htab_iterate(const struct htab *h, struct htab_iter *it)
{
	/* it->node holds the node to return next, so the caller may unlink and
	 * free the node it was just given. */
	while (!it->node && it->slot < h->nslots)
		it->node = h->slots[it->slot++];
	struct htab_node *n = it->node;
	if (n)
		it->node = n->next;
	return n;
}
