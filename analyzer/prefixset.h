/* prefixset: a set of IPv4/IPv6 addresses and prefixes (the filter's
 * `ip in [ ... ]`), looked up in O(log n): the prefixes become disjoint
 * sorted address ranges, searched by bisection. */
#ifndef ANALYZER_PREFIXSET_H
#define ANALYZER_PREFIXSET_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct prefixset;

struct prefixset *prefixset_new(void);
void prefixset_free(struct prefixset *s);
/* false when out of memory */
bool prefixset_add(struct prefixset *s, const struct prefix *p);
/* After the last add: sort and merge. */
void prefixset_seal(struct prefixset *s);
bool prefixset_contains(const struct prefixset *s, const struct addr *a);
size_t prefixset_ranges(const struct prefixset *s);

#endif
