/*
 * Exporters and their domains: per transport session (source port) the
 * v9 source id, IPFIX observation domain, v5 engine or sFlow sub-agent,
 * each with the state packets create: templates, held data,
 * options-derived state, the expected sequence number. Bounded: exporters
 * in all and domains per exporter, least recently used evicted first.
 */
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

TAILQ_HEAD(exporter_list, parser_exporter);

/*
 * Classes, so that addresses which never sent much valid traffic
 * (spoofed sources, scanners, garbage, one valid template each) only
 * ever push each other out: a new exporter evicts the least recently
 * heard of the lowest class there is (probation, then trial, then
 * established). An established exporter that is evicted anyway leaves a
 * husk with its counters (max_exporters of them, least recent freed
 * first, into the totals), so that what it counted goes on where it
 * left off when it comes back.
 */
struct etable {
	struct parser *p;
	struct parser_exporter **buckets;
	size_t mask;
	size_t count, nhusks, ndomains;
	struct exporter_list lists[CLASS_MAX];
};

static size_t
nbuckets(size_t max)
{
	size_t n = 16;

	/* husks as many again */
	while (n < 2 * max && n < ((size_t)1 << 21))
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
	for (int i = 0; i < CLASS_MAX; i++)
		TAILQ_INIT(&et->lists[i]);
	p->mem += etable_buckets_size(p->limits.max_exporters);
	return et;
}

static void
set_class(struct etable *et, struct parser_exporter *e, uint8_t cls)
{
	TAILQ_REMOVE(&et->lists[e->cls], e, lru);
	e->cls = cls;
	TAILQ_INSERT_HEAD(&et->lists[cls], e, lru);
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
	to->resets += k->resets;
	to->borrowed += k->borrowed;
	to->clamped += k->clamped;
	to->output_dropped += k->output_dropped;
	for (int i = 0; i < PARSER_DROP_MAX; i++)
		to->drops[i] += k->drops[i];
	if (k->last_ms > to->last_ms)
		to->last_ms = k->last_ms;
}

static void
free_domains(struct etable *et, struct parser_exporter *e)
{
	while (!TAILQ_EMPTY(&e->domains))
		domain_free(et, e, TAILQ_FIRST(&e->domains));
}

static void
exporter_free(struct etable *et, struct parser_exporter *e)
{
	struct parser_exporter **pp =
	    &et->buckets[parser_addr_hash(&e->addr, 0) & et->mask];

	free_domains(et, e);
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	TAILQ_REMOVE(&et->lists[e->cls], e, lru);
	if (e->cls == CLASS_HUSK)
		et->nhusks--;
	else
		et->count--;
	counters_add(&et->p->gone.counters, &e->counters);
	parser_release(et->p, e, sizeof(*e));
}

void
etable_free(struct etable *et)
{
	if (et == NULL)
		return;
	for (int i = 0; i < CLASS_MAX; i++)
		while (!TAILQ_EMPTY(&et->lists[i]))
			exporter_free(et, TAILQ_FIRST(&et->lists[i]));
	et->p->mem -= etable_buckets_size(et->p->limits.max_exporters);
	free(et->buckets);
	free(et);
}

/* The lowest class first; never the exporter whose datagram is being
 * decoded. */
static struct parser_exporter *
victim(struct etable *et)
{
	for (int i = 0; i < CLASS_HUSK; i++) {
		struct parser_exporter *e = TAILQ_LAST(&et->lists[i],
		    exporter_list);

		if (e != NULL && e == et->p->cur)
			e = TAILQ_PREV(e, exporter_list, lru);
		if (e != NULL)
			return e;
	}
	return NULL;
}

/* An established exporter keeps its counters as a husk. */
static void
make_husk(struct etable *et, struct parser_exporter *e)
{
	struct parser_exporter *old;

	free_domains(et, e);
	e->held_bytes = 0;
	set_class(et, e, CLASS_HUSK);
	et->count--;
	et->nhusks++;
	while (et->nhusks > et->p->limits.max_exporters &&
	    (old = TAILQ_LAST(&et->lists[CLASS_HUSK], exporter_list)) != NULL)
		exporter_free(et, old);
}

static void
evict_one(struct etable *et)
{
	struct parser_exporter *e = victim(et);

	if (e == NULL)
		return;
	/* charged before its counters join the totals */
	exporter_drop_state(et->p, e, PARSER_DROP_EXPORTER_EVICTED, 1);
	if (e->cls == CLASS_ESTABLISHED)
		make_husk(et, e);
	else
		exporter_free(et, e);
}

/* Room for one more exporter with state. */
static void
make_room(struct etable *et)
{
	while (et->count >= et->p->limits.max_exporters && et->count > 0) {
		size_t before = et->count;

		evict_one(et);
		if (et->count == before)
			break;
	}
}

struct parser_exporter *
exporter_get(struct parser *p, const struct parser_addr *addr)
{
	struct etable *et = p->exporters;
	size_t b = parser_addr_hash(addr, 0) & et->mask;
	struct parser_exporter *e;

	for (e = et->buckets[b]; e != NULL; e = e->hnext) {
		if (!parser_addr_equal(&e->addr, addr))
			continue;
		if (e->cls == CLASS_HUSK) {
			/* back: its counters go on, its state starts over */
			make_room(et);
			set_class(et, e, CLASS_ESTABLISHED);
			et->nhusks--;
			et->count++;
		} else if (TAILQ_FIRST(&et->lists[e->cls]) != e) {
			set_class(et, e, e->cls);
		}
		return e;
	}
	make_room(et);
	if ((e = parser_alloc(p, sizeof(*e))) == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	e->cls = CLASS_PROBATION;
	TAILQ_INIT(&e->domains);
	e->hnext = et->buckets[b];
	et->buckets[b] = e;
	TAILQ_INSERT_HEAD(&et->lists[CLASS_PROBATION], e, lru);
	et->count++;
	return e;
}

void
exporter_credit(struct parser *p, struct parser_exporter *e, int64_t now_ms)
{
	struct etable *et = p->exporters;

	if (e == &p->gone || e->cls == CLASS_ESTABLISHED)
		return;
	if (e->valid++ == 0) {
		e->first_valid_ms = now_ms;
		set_class(et, e, CLASS_TRIAL);
	}
	if (e->valid >= EARN_DATAGRAMS && now_ms - e->first_valid_ms >= EARN_MS)
		set_class(et, e, CLASS_ESTABLISHED);
}

/* Loading a state file: the exporter had earned its place before. */
void
exporter_restore(struct parser *p, struct parser_exporter *e)
{
	if (e != &p->gone && e->cls != CLASS_ESTABLISHED) {
		e->valid = EARN_DATAGRAMS;
		e->proven = true;
		set_class(p->exporters, e, CLASS_ESTABLISHED);
	}
}

static struct domain *
domain_new(struct parser *p, struct parser_exporter *e, uint16_t port,
    uint8_t proto, uint32_t id)
{
	struct etable *et = p->exporters;
	struct domain *d;

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
	d->port = port;
	d->proto = proto;
	TAILQ_INIT(&d->templates);
	TAILQ_INIT(&d->held);
	SLIST_INIT(&d->ifnames);
	TAILQ_INSERT_HEAD(&e->domains, d, entry);
	e->ndomains++;
	et->ndomains++;
	return d;
}

struct domain *
domain_get(struct parser *p, const struct parser_addr *addr, uint16_t port,
    uint8_t proto, uint32_t id)
{
	struct parser_exporter *e = p->cur;
	struct domain *d, *unbound = NULL;

	/* the datagram's exporter, looked up once by parser_feed() */
	if (e == &p->gone || !parser_addr_equal(&e->addr, addr))
		e = exporter_get(p, addr);
	if (e == NULL)
		return NULL;
	TAILQ_FOREACH(d, &e->domains, entry) {
		if (d->id != id || d->proto != proto)
			continue;
		if (d->port == port && !d->unbound)
			break;
		if (d->unbound && unbound == NULL)
			unbound = d;
	}
	/* state saved without ports: the first session claims it */
	if (d == NULL && unbound != NULL) {
		d = unbound;
		d->unbound = false;
		d->port = port;
		/* its templates are keyed by the port too */
		tcache_rekey_domain(p->templates, d);
	}
	if (d == NULL)
		return domain_new(p, e, port, proto, id);
	if (TAILQ_FIRST(&e->domains) != d) {
		TAILQ_REMOVE(&e->domains, d, entry);
		TAILQ_INSERT_HEAD(&e->domains, d, entry);
	}
	return d;
}

struct domain *
domain_sibling(struct domain *d, uint16_t id)
{
	struct domain *o, *found = NULL;
	const struct template *t;

	TAILQ_FOREACH(o, &d->exp->domains, entry) {
		if (o == d || o->id != d->id || o->proto != d->proto)
			continue;
		TAILQ_FOREACH(t, &o->templates, dentry) {
			if (t->key.id != id)
				continue;
			if (found != NULL)
				return NULL;    /* ambiguous */
			found = o;
			break;
		}
	}
	return found;
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

	/* lowest class and oldest first, so that loading the result
	 * restores the order */
	for (int i = 0; i < CLASS_HUSK; i++)
		TAILQ_FOREACH_REVERSE(e, &et->lists[i], exporter_list, lru)
			each_domain_of(e, fn, arg);
}

size_t
etable_domain_count(const struct etable *et)
{
	return et->ndomains;
}

/* Highest class first, husks last. */
static const int order[CLASS_MAX] = {
	CLASS_ESTABLISHED, CLASS_TRIAL, CLASS_PROBATION, CLASS_HUSK,
};

static const struct parser_exporter *
first_from(const struct parser *p, int k)
{
	for (; k < CLASS_MAX; k++) {
		const struct parser_exporter *e =
		    TAILQ_FIRST(&p->exporters->lists[order[k]]);

		if (e != NULL)
			return e;
	}
	return NULL;
}

const struct parser_exporter *
parser_exporter_first(const struct parser *p)
{
	return first_from(p, 0);
}

const struct parser_exporter *
parser_exporter_next(const struct parser *p, const struct parser_exporter *e)
{
	const struct parser_exporter *next = TAILQ_NEXT(e, lru);
	int k = 0;

	if (next != NULL)
		return next;
	while (order[k] != e->cls)
		k++;
	return first_from(p, k + 1);
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

bool
parser_exporter_evicted(const struct parser_exporter *e)
{
	return e->cls == CLASS_HUSK;
}

bool
parser_exporter_established(const struct parser_exporter *e)
{
	return e->cls == CLASS_ESTABLISHED;
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

uint32_t
domain_sequence(struct parser *p, struct domain *d, uint32_t seq,
    uint32_t inc)
{
	uint32_t lost;
	bool running = d->seq.state != SEQ_NONE;

	if (seq_in_line(&d->seq, seq, inc)) {
		/* seq_check()'s way for it, without the call */
		d->exp->proven = true;
		return 0;
	}
	if (seq_check(&d->seq, seq, inc, &lost)) {
		p->resets++;
		d->exp->counters.resets++;
	} else if (running && d->seq.next == seq + inc) {
		/* it continued an earlier datagram's sequence */
		d->exp->proven = true;
	}
	p->lost += lost;
	d->exp->counters.lost += lost;
	return lost;
}

void
domain_sequence_unknown(struct domain *d)
{
	d->seq.state = SEQ_NONE;    /* the next datagram starts over */
}
