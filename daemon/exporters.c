/*
 * Per-exporter counters in a bounded table: a hash on the address for the
 * lookup once per datagram, a list in order of the last datagram for
 * eviction. Exporters are whatever sends to us, so the table is bounded.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

struct exporter_table {
	size_t max, count, nbuckets;
	uint64_t evicted;
	struct exporter **buckets;
	struct exporter *head, *tail;   /* most / least recently heard */
};

struct exporter_table *
exporters_new(size_t max)
{
	struct exporter_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->max = max ? max : 1;
	for (t->nbuckets = 64; t->nbuckets < t->max * 2; t->nbuckets *= 2)
		;
	if ((t->buckets = calloc(t->nbuckets, sizeof(*t->buckets))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
exporters_free(struct exporter_table *t)
{
	struct exporter *e, *next;

	if (t == NULL)
		return;
	for (e = t->head; e; e = next) {
		next = e->next;
		free(e);
	}
	free(t->buckets);
	free(t);
}

static size_t
hash(const struct exporter_table *t, const struct parser_addr *a)
{
	uint32_t h = 2166136261u ^ a->family;
	size_t n = a->family == 6 ? 16 : 4;

	for (size_t i = 0; i < n; i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return h & (t->nbuckets - 1);
}

static bool
same(const struct parser_addr *a, const struct parser_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->bytes, b->bytes, a->family == 6 ? 16 : 4) == 0;
}

static void
unlink_lru(struct exporter_table *t, struct exporter *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
push_front(struct exporter_table *t, struct exporter *e)
{
	e->prev = NULL;
	e->next = t->head;
	if (t->head)
		t->head->prev = e;
	t->head = e;
	if (t->tail == NULL)
		t->tail = e;
}

static void
evict_oldest(struct exporter_table *t)
{
	struct exporter *e = t->tail, **pp;

	unlink_lru(t, e);
	for (pp = &t->buckets[hash(t, &e->addr)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	free(e);
	t->count--;
	t->evicted++;
}

struct exporter *
exporters_get(struct exporter_table *t, const struct parser_addr *addr,
    int64_t now_ms)
{
	size_t b = hash(t, addr);
	struct exporter *e;

	for (e = t->buckets[b]; e; e = e->hnext)
		if (same(&e->addr, addr))
			break;
	if (e == NULL) {
		if (t->count >= t->max)
			evict_oldest(t);
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return NULL;
		e->addr = *addr;
		e->hnext = t->buckets[b];
		t->buckets[b] = e;
		t->count++;
		push_front(t, e);
	} else if (t->head != e) {
		unlink_lru(t, e);
		push_front(t, e);
	}
	e->last_ms = now_ms;
	return e;
}

struct exporter *
exporters_first(const struct exporter_table *t)
{
	return t->head;
}

size_t
exporters_count(const struct exporter_table *t)
{
	return t->count;
}

uint64_t
exporters_evicted(const struct exporter_table *t)
{
	return t->evicted;
}

const char *
exporter_text(const struct parser_addr *a, char *buf, size_t size)
{
	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf,
	    (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
	return buf;
}
