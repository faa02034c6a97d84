/*
 * Exporters and their domains (v9 source id, IPFIX observation domain,
 * v5 engine), each with the state packets create: templates, held data,
 * options-derived state, the expected sequence number. Bounded: exporters
 * in all and domains per exporter, least recently used evicted first.
 */
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

struct etable {
	struct parser *p;
	struct exporter **buckets;
	size_t mask;
	size_t count, ndomains;
	struct exporter *lru_head, *lru_tail;  /* head = most recent */
};

static size_t
nbuckets(size_t max)
{
	size_t n = 16;

	while (n < max && n < ((size_t)1 << 20))
		n <<= 1;
	return n;
}

size_t
etable_buckets_size(size_t max_exporters)
{
	return sizeof(struct etable) + ALLOC_OVERHEAD +
	    nbuckets(max_exporters) * sizeof(struct exporter *) + ALLOC_OVERHEAD;
}

static uint64_t
addr_hash(const struct parser_addr *a)
{
	return addr_hash64(a, 0);
}

static bool
addr_equal(const struct parser_addr *a, const struct parser_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

struct etable *
etable_new(struct parser *p)
{
	struct etable *et;
	size_t n = nbuckets(p->limits.max_exporters);

	if ((et = calloc(1, sizeof(*et))) == NULL)
		return NULL;
	if ((et->buckets = calloc(n, sizeof(*et->buckets))) == NULL) {
		free(et);
		return NULL;
	}
	et->p = p;
	et->mask = n - 1;
	p->mem += etable_buckets_size(p->limits.max_exporters);
	return et;
}

static void
lru_unlink(struct etable *et, struct exporter *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		et->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		et->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push(struct etable *et, struct exporter *e)
{
	e->lru_prev = NULL;
	e->lru_next = et->lru_head;
	if (et->lru_head)
		et->lru_head->lru_prev = e;
	et->lru_head = e;
	if (et->lru_tail == NULL)
		et->lru_tail = e;
}

static void
domain_unlink(struct exporter *e, struct domain *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		e->domains = d->next;
	if (d->next)
		d->next->prev = d->prev;
	d->prev = d->next = NULL;
}

static void
domain_push(struct exporter *e, struct domain *d)
{
	d->prev = NULL;
	d->next = e->domains;
	if (e->domains)
		e->domains->prev = d;
	e->domains = d;
}

static void
domain_free(struct etable *et, struct exporter *e, struct domain *d)
{
	struct parser *p = et->p;

	tcache_drop_domain(p->templates, d);
	held_drop_domain(p, d);
	ifname_drop_domain(p, d);
	domain_unlink(e, d);
	e->ndomains--;
	et->ndomains--;
	parser_release(p, d, sizeof(*d));
}

static void
exporter_free(struct etable *et, struct exporter *e)
{
	struct exporter **pp = &et->buckets[addr_hash(&e->addr) & et->mask];

	while (e->domains != NULL)
		domain_free(et, e, e->domains);
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(et, e);
	et->count--;
	parser_release(et->p, e, sizeof(*e));
}

void
etable_free(struct etable *et)
{
	if (et == NULL)
		return;
	while (et->lru_head != NULL)
		exporter_free(et, et->lru_head);
	et->p->mem -= etable_buckets_size(et->p->limits.max_exporters);
	free(et->buckets);
	free(et);
}

static struct exporter *
exporter_get(struct etable *et, const struct parser_addr *addr)
{
	struct parser *p = et->p;
	size_t b = addr_hash(addr) & et->mask;
	struct exporter *e;

	for (e = et->buckets[b]; e != NULL; e = e->hnext) {
		if (addr_equal(&e->addr, addr)) {
			if (et->lru_head != e) {
				lru_unlink(et, e);
				lru_push(et, e);
			}
			return e;
		}
	}
	while (et->count >= p->limits.max_exporters && et->lru_tail != NULL) {
		struct parser_addr gone = et->lru_tail->addr;

		exporter_free(et, et->lru_tail);
		parser_drop_addr(p, &gone, PARSER_DROP_EXPORTER_EVICTED, 1);
	}
	if ((e = parser_alloc(p, sizeof(*e))) == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	e->hnext = et->buckets[b];
	et->buckets[b] = e;
	lru_push(et, e);
	et->count++;
	return e;
}

struct domain *
domain_get(struct parser *p, const struct parser_addr *addr, uint8_t proto,
    uint32_t id)
{
	struct etable *et = p->exporters;
	struct exporter *e = exporter_get(et, addr);
	struct domain *d;

	if (e == NULL)
		return NULL;
	for (d = e->domains; d != NULL; d = d->next) {
		if (d->id == id && d->proto == proto) {
			if (e->domains != d) {
				domain_unlink(e, d);
				domain_push(e, d);
			}
			return d;
		}
	}
	while (e->ndomains >= p->limits.max_domains && e->domains != NULL) {
		struct domain *last = e->domains;

		while (last->next != NULL)
			last = last->next;
		domain_free(et, e, last);
		parser_drop_addr(p, addr, PARSER_DROP_DOMAIN_EVICTED, 1);
	}
	if ((d = parser_alloc(p, sizeof(*d))) == NULL)
		return NULL;
	memset(d, 0, sizeof(*d));
	d->exp = e;
	d->id = id;
	d->proto = proto;
	domain_push(e, d);
	e->ndomains++;
	et->ndomains++;
	return d;
}

void
etable_each(const struct etable *et,
    void (*fn)(const struct domain *d, void *arg), void *arg)
{
	/* oldest first, so that loading the result restores the order */
	for (const struct exporter *e = et->lru_tail; e; e = e->lru_prev) {
		const struct domain *d = e->domains;

		while (d && d->next)
			d = d->next;
		for (; d != NULL; d = d->prev)
			fn(d, arg);
	}
}

size_t
etable_domain_count(const struct etable *et)
{
	return et->ndomains;
}

/*
 * Wrap-safe: the distance from the expected number is taken modulo 2^32.
 * Ahead by less than 2^31 is loss. A little behind (within 64 datagrams'
 * worth) is a late, reordered datagram: counted nowhere, expectation kept.
 * Further behind is an exporter that restarted: start over from here.
 */
uint32_t
domain_sequence(struct parser *p, struct domain *d, uint32_t seq,
    uint32_t inc)
{
	uint32_t lost = 0, gap = seq - d->next_seq;
	uint64_t window = (uint64_t)(d->last_inc ? d->last_inc : 1) * 64;

	if (d->has_seq && gap != 0) {
		if (gap < 0x80000000u) {
			lost = gap;
		} else if ((uint32_t)-gap <= window) {
			d->last_inc = inc;
			return 0;
		}
	}
	d->has_seq = true;
	d->next_seq = seq + inc;
	d->last_inc = inc;
	p->lost += lost;
	return lost;
}

void
domain_sequence_unknown(struct domain *d)
{
	d->has_seq = false;
}
