/*
 * Exporters and their domains (v9 source id, IPFIX observation domain,
 * v5 engine), each with the state packets create: templates, held data,
 * options-derived state, the expected sequence number. Bounded: exporters
 * in all and domains per exporter, least recently used evicted first.
 */
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

TAILQ_HEAD(exporter_list, parser_exporter);

/*
 * Two LRU classes, so that addresses which never sent anything valid
 * (spoofed sources, scanners, garbage) only ever push each other out:
 * a new exporter evicts the least recently heard of the probation list
 * first, and an established exporter only when none is on probation.
 */
struct etable {
	struct parser *p;
	struct parser_exporter **buckets;
	size_t mask;
	size_t count, ndomains;
	struct exporter_list established, probation;
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
	return sizeof(struct etable) + ALLOC_OVERHEAD + nbuckets(max_exporters) *
	    sizeof(struct parser_exporter *) + ALLOC_OVERHEAD;
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
	TAILQ_INIT(&et->established);
	TAILQ_INIT(&et->probation);
	p->mem += etable_buckets_size(p->limits.max_exporters);
	return et;
}

static struct exporter_list *
class_of(struct etable *et, const struct parser_exporter *e)
{
	return e->established ? &et->established : &et->probation;
}

static void
domain_free(struct etable *et, struct parser_exporter *e, struct domain *d)
{
	struct parser *p = et->p;

	tcache_drop_domain(p->templates, d);
	held_drop_domain(p, d);
	ifname_drop_domain(p, d);
	TAILQ_REMOVE(&e->domains, d, entry);
	e->ndomains--;
	et->ndomains--;
	parser_release(p, d, sizeof(*d));
}

/* What e counted goes to the totals of the exporters that are gone. */
static void
counters_add(struct parser_counters *to, const struct parser_counters *k)
{
	to->datagrams += k->datagrams;
	to->bytes += k->bytes;
	to->flows += k->flows;
	to->packets += k->packets;
	to->lost += k->lost;
	to->samples_lost += k->samples_lost;
	to->clamped += k->clamped;
	to->output_dropped += k->output_dropped;
	for (int i = 0; i < PARSER_DROP_MAX; i++)
		to->drops[i] += k->drops[i];
	if (k->last_ms > to->last_ms)
		to->last_ms = k->last_ms;
}

static void
exporter_free(struct etable *et, struct parser_exporter *e)
{
	struct parser_exporter **pp =
	    &et->buckets[parser_addr_hash(&e->addr, 0) & et->mask];

	while (!TAILQ_EMPTY(&e->domains))
		domain_free(et, e, TAILQ_FIRST(&e->domains));
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	TAILQ_REMOVE(class_of(et, e), e, lru);
	et->count--;
	counters_add(&et->p->gone.counters, &e->counters);
	parser_release(et->p, e, sizeof(*e));
}

void
etable_free(struct etable *et)
{
	struct parser_exporter *e;

	if (et == NULL)
		return;
	while ((e = TAILQ_FIRST(&et->probation)) != NULL)
		exporter_free(et, e);
	while ((e = TAILQ_FIRST(&et->established)) != NULL)
		exporter_free(et, e);
	et->p->mem -= etable_buckets_size(et->p->limits.max_exporters);
	free(et->buckets);
	free(et);
}

/* Probation first; never the exporter whose datagram is being decoded. */
static struct parser_exporter *
victim(struct etable *et)
{
	struct exporter_list *lists[] = { &et->probation, &et->established };

	for (size_t i = 0; i < 2; i++) {
		struct parser_exporter *e = TAILQ_LAST(lists[i], exporter_list);

		if (e != NULL && e == et->p->cur)
			e = TAILQ_PREV(e, exporter_list, lru);
		if (e != NULL)
			return e;
	}
	return NULL;
}

static void
evict_one(struct etable *et)
{
	struct parser_exporter *e = victim(et);

	/* charged before its counters join the totals */
	if (e != NULL) {
		exporter_drop_state(et->p, e, PARSER_DROP_EXPORTER_EVICTED, 1);
		exporter_free(et, e);
	}
}

struct parser_exporter *
exporter_get(struct parser *p, const struct parser_addr *addr)
{
	struct etable *et = p->exporters;
	size_t b = parser_addr_hash(addr, 0) & et->mask;
	struct parser_exporter *e;

	for (e = et->buckets[b]; e != NULL; e = e->hnext) {
		if (parser_addr_equal(&e->addr, addr)) {
			struct exporter_list *l = class_of(et, e);

			if (TAILQ_FIRST(l) != e) {
				TAILQ_REMOVE(l, e, lru);
				TAILQ_INSERT_HEAD(l, e, lru);
			}
			return e;
		}
	}
	while (et->count >= p->limits.max_exporters && et->count > 0) {
		size_t before = et->count;

		evict_one(et);
		if (et->count == before)
			break;
	}
	if ((e = parser_alloc(p, sizeof(*e))) == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	TAILQ_INIT(&e->domains);
	e->hnext = et->buckets[b];
	et->buckets[b] = e;
	TAILQ_INSERT_HEAD(&et->probation, e, lru);
	et->count++;
	return e;
}

void
exporter_establish(struct parser *p, struct parser_exporter *e)
{
	struct etable *et = p->exporters;

	if (e->established || e == &p->gone)
		return;
	TAILQ_REMOVE(&et->probation, e, lru);
	e->established = true;
	TAILQ_INSERT_HEAD(&et->established, e, lru);
}

struct domain *
domain_get(struct parser *p, const struct parser_addr *addr, uint8_t proto,
    uint32_t id)
{
	struct etable *et = p->exporters;
	struct parser_exporter *e = p->cur;
	struct domain *d;

	/* the datagram's exporter, looked up once by parser_feed() */
	if (e == &p->gone || !parser_addr_equal(&e->addr, addr))
		e = exporter_get(p, addr);
	if (e == NULL)
		return NULL;
	TAILQ_FOREACH(d, &e->domains, entry) {
		if (d->id == id && d->proto == proto) {
			if (TAILQ_FIRST(&e->domains) != d) {
				TAILQ_REMOVE(&e->domains, d, entry);
				TAILQ_INSERT_HEAD(&e->domains, d, entry);
			}
			return d;
		}
	}
	while (e->ndomains >= p->limits.max_domains &&
	    !TAILQ_EMPTY(&e->domains)) {
		domain_free(et, e, TAILQ_LAST(&e->domains, domain_list));
		exporter_drop_state(p, e, PARSER_DROP_DOMAIN_EVICTED, 1);
	}
	if ((d = parser_alloc(p, sizeof(*d))) == NULL)
		return NULL;
	memset(d, 0, sizeof(*d));
	d->exp = e;
	d->id = id;
	d->proto = proto;
	TAILQ_INIT(&d->templates);
	TAILQ_INIT(&d->held);
	SLIST_INIT(&d->ifnames);
	TAILQ_INSERT_HEAD(&e->domains, d, entry);
	e->ndomains++;
	et->ndomains++;
	return d;
}

static void
each_domain_of(const struct parser_exporter *e,
    void (*fn)(const struct domain *d, void *arg), void *arg)
{
	const struct domain *d;

	TAILQ_FOREACH_REVERSE(d, &e->domains, domain_list, entry)
		fn(d, arg);
}

void
etable_each(const struct etable *et,
    void (*fn)(const struct domain *d, void *arg), void *arg)
{
	const struct parser_exporter *e;

	/* oldest first, so that loading the result restores the order */
	TAILQ_FOREACH_REVERSE(e, &et->probation, exporter_list, lru)
		each_domain_of(e, fn, arg);
	TAILQ_FOREACH_REVERSE(e, &et->established, exporter_list, lru)
		each_domain_of(e, fn, arg);
}

size_t
etable_domain_count(const struct etable *et)
{
	return et->ndomains;
}

const struct parser_exporter *
parser_exporter_first(const struct parser *p)
{
	const struct parser_exporter *e = TAILQ_FIRST(&p->exporters->established);

	return e != NULL ? e : TAILQ_FIRST(&p->exporters->probation);
}

const struct parser_exporter *
parser_exporter_next(const struct parser *p, const struct parser_exporter *e)
{
	const struct parser_exporter *next = TAILQ_NEXT(e, lru);

	if (next == NULL && e->established)
		next = TAILQ_FIRST(&p->exporters->probation);
	return next;
}

const struct parser_addr *
parser_exporter_addr(const struct parser_exporter *e)
{
	return &e->addr;
}

const struct parser_counters *
parser_exporter_counters(const struct parser_exporter *e)
{
	return &e->counters;
}

size_t
parser_exporter_count(const struct parser *p)
{
	return p->exporters->count;
}

void
parser_totals(const struct parser *p, struct parser_counters *out)
{
	*out = p->gone.counters;
	for (const struct parser_exporter *e = parser_exporter_first(p);
	    e != NULL; e = parser_exporter_next(p, e))
		counters_add(out, &e->counters);
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
	d->exp->counters.lost += lost;
	return lost;
}

void
domain_sequence_unknown(struct domain *d)
{
	d->has_seq = false;
}
