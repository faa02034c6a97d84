/* htab: intrusive chained hash table keyed by a fixed-size byte blob.
 *
 * The caller embeds a struct htab_node at the start of its entry and keeps
 * the key at a fixed offset (key_off, key_len) inside the same entry; keys
 * are compared with memcmp, so padding inside a key must be zeroed.
 * Duplicate keys are allowed: htab_find() returns the first, htab_next_match()
 * the following ones. The table never owns entries. */
#ifndef ANALYZER_HTAB_H
#define ANALYZER_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_node {
	struct htab_node *next;
	uint64_t hash;
};

struct htab {
	struct htab_node **slots;
	size_t nslots;
	size_t count;
	size_t key_off;
	size_t key_len;
	/* Chain nodes looked at, summed over every call: a work counter that
	 * tests read to check that cost stays linear in the input. */
	uint64_t probes;
};

struct htab_iter {
	size_t slot;
	struct htab_node *node;
};

void htab_init(struct htab *h, size_t key_off, size_t key_len);
void htab_finish(struct htab *h);
uint64_t htab_hash(const void *key, size_t len);
struct htab_node *htab_find(struct htab *h, const void *key);
struct htab_node *htab_next_match(struct htab *h, struct htab_node *prev);
int htab_insert(struct htab *h, struct htab_node *node);
void htab_remove(struct htab *h, struct htab_node *node);
/* Iterate: struct htab_iter it = {0}; while ((n = htab_iterate(h, &it))) ...
 * The returned node may be removed and freed before the next call. */
struct htab_node *htab_iterate(const struct htab *h, struct htab_iter *it);

#endif
