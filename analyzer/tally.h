/* tally: bytes/packets/flows counted per key (an address, a pair of
 * addresses, a service name ...), bounded, with a sorted top-N. */
#ifndef ANALYZER_TALLY_H
#define ANALYZER_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TALLY_KEY_MAX 40

struct tally_row {
	unsigned char key[TALLY_KEY_MAX];
	size_t id;		/* order of first appearance: 0, 1, 2 ... */
	uint64_t bytes;
	uint64_t packets;
	uint64_t flows;
};

struct tally;

/* Keys are key_len bytes; past max_keys new keys are counted in "overflow". */
struct tally *tally_new(size_t key_len, size_t max_keys);
void tally_free(struct tally *t);
/* The row's id, or (size_t)-1 when the key did not fit. */
size_t tally_add(struct tally *t, const void *key, uint64_t bytes, uint64_t packets);
size_t tally_count(const struct tally *t);
/* A tally_add of key follows soon: start loading what it reads. */
/* A key's hash, for a tally_prefetch() whose lookup comes later (its
 * misses overlap other work) and the tally_add_hashed() that does it. */
uint64_t tally_hash(const struct tally *t, const void *key);
void tally_prefetch(const struct tally *t, uint64_t hash);
size_t tally_add_hashed(struct tally *t, const void *key, uint64_t hash, uint64_t bytes,
    uint64_t packets);
/* Rows lost to the key limit, summed. */
const struct tally_row *tally_overflow(const struct tally *t);
/* The n largest rows by bytes (ties by key), into out[]; returns how many. */
size_t tally_top(const struct tally *t, const struct tally_row **out, size_t n);
/* Key of row id (ids are dense), or NULL. */
const struct tally_row *tally_row(const struct tally *t, size_t id);

#endif
