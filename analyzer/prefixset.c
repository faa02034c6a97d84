#include "prefixset.h"

#include <stdlib.h>
#include <string.h>

/* A range of one family: lo..hi inclusive, as big-endian 16 bytes (IPv4 in
 * the first 4, the rest zero, as struct addr holds them). */
struct range {
	uint8_t family;
	uint8_t lo[16], hi[16];
};

struct prefixset {
	struct range *r;
	size_t n, cap;
};

struct prefixset *
prefixset_new(void)
{
	return calloc(1, sizeof(struct prefixset));
}

void
prefixset_free(struct prefixset *s)
{
	if (!s)
		return;
	free(s->r);
	free(s);
}

bool
prefixset_add(struct prefixset *s, const struct prefix *p)
{
	unsigned bits = p->addr.family == 4 ? 32 : 128;
	struct range *r;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct range *nr = realloc(s->r, cap * sizeof(*nr));
		if (!nr)
			return false;
		s->r = nr;
		s->cap = cap;
	}
	r = &s->r[s->n++];
	memset(r, 0, sizeof(*r));
	r->family = p->addr.family;
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = p->len >= 8 * (i + 1) ? 8 : p->len > 8 * i ? p->len - 8 * i : 0;
		uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;
		r->lo[i] = p->addr.bytes[i] & mask;
		r->hi[i] = (uint8_t)(r->lo[i] | (uint8_t)~mask);
	}
	return true;
}

static int
cmp_key(uint8_t fa, const uint8_t *a, uint8_t fb, const uint8_t *b)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return memcmp(a, b, 16);
}

static int
cmp_range(const void *x, const void *y)
{
	const struct range *a = x, *b = y;
	return cmp_key(a->family, a->lo, b->family, b->lo);
}

void
prefixset_seal(struct prefixset *s)
{
	size_t out = 0;

	if (s->n == 0)
		return;
	if (s->n > 1)	/* qsort's base may not be NULL, even for 0 */
		qsort(s->r, s->n, sizeof(*s->r), cmp_range);
	for (size_t i = 1; i < s->n; i++) {
		struct range *last = &s->r[out];
		/* prefixes nest or are disjoint: a later start inside the last
		 * range lies wholly inside it */
		if (s->r[i].family == last->family && memcmp(s->r[i].lo, last->hi, 16) <= 0) {
			if (memcmp(s->r[i].hi, last->hi, 16) > 0)
				memcpy(last->hi, s->r[i].hi, 16);
			continue;
		}
		s->r[++out] = s->r[i];
	}
	s->n = out + 1;
}

bool
prefixset_contains(const struct prefixset *s, const struct addr *a)
{
	size_t lo = 0, hi = s->n;

	/* the last range starting at or before a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_key(s->r[mid].family, s->r[mid].lo, a->family, a->bytes) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const struct range *r = &s->r[lo - 1];
	return r->family == a->family && memcmp(a->bytes, r->hi, 16) <= 0;
}

size_t
prefixset_ranges(const struct prefixset *s)
{
	return s->n;
}
