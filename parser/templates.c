/*
 * Template cache: keyed by exporter address and source port (RFC 7011's
 * transport session) + source id / observation domain + template id
 * (+ protocol), never by template id alone. Bounded
 * three ways: templates in all, fields in all, templates per domain; when
 * a bound is reached the least recently used template is evicted.
 */
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

struct tcache {
	struct parser *p;
	struct template **buckets;
	size_t mask;
	size_t count, max;
	size_t fields, max_fields;
	struct template_list lru;    /* most recent first */
};

static uint64_t
tkey_hash(const struct tkey *k)
{
	return parser_addr_hash(&k->exporter, ((uint64_t)k->domain << 32 |
	    (uint64_t)k->id << 16 | (uint64_t)k->proto << 8) ^
	    (uint64_t)k->port << 40);
}

static bool
tkey_equal(const struct tkey *a, const struct tkey *b)
{
	return a->id == b->id && a->proto == b->proto && a->port == b->port &&
	    a->domain == b->domain && parser_addr_equal(&a->exporter, &b->exporter);
}

static size_t
nbuckets(size_t max)
{
	size_t n = 64;

	while (n < max && n < ((size_t)1 << 22))
		n <<= 1;
	return n;
}

size_t
tcache_buckets_size(size_t max)
{
	return sizeof(struct tcache) + ALLOC_OVERHEAD +
	    nbuckets(max) * sizeof(struct template *) + ALLOC_OVERHEAD;
}

struct tcache *
tcache_new(struct parser *p, size_t max, size_t max_fields)
{
	struct tcache *tc;
	size_t n = nbuckets(max);

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return NULL;
	if ((tc->buckets = calloc(n, sizeof(*tc->buckets))) == NULL) {
		free(tc);
		return NULL;
	}
	tc->p = p;
	tc->mask = n - 1;
	TAILQ_INIT(&tc->lru);
	tc->max = max ? max : 1;
	tc->max_fields = max_fields;
	p->mem += tcache_buckets_size(max);
	return tc;
}

static size_t
template_size(uint16_t nfields)
{
	return sizeof(struct template) + (size_t)nfields * sizeof(struct tfield);
}

void
tcache_free(struct tcache *tc)
{
	struct template *t;

	if (tc == NULL)
		return;
	while ((t = TAILQ_FIRST(&tc->lru)) != NULL) {
		TAILQ_REMOVE(&tc->lru, t, lru);
		parser_release(tc->p, t, template_size(t->nfields));
	}
	tc->p->mem -= tcache_buckets_size(tc->max);
	free(tc->buckets);
	free(tc);
}

static void
unhash(struct tcache *tc, struct template *t)
{
	struct template **pp = &tc->buckets[tkey_hash(&t->key) & tc->mask];

	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
}

static void
rehash(struct tcache *tc, struct template *t)
{
	size_t bucket = tkey_hash(&t->key) & tc->mask;

	t->hnext = tc->buckets[bucket];
	tc->buckets[bucket] = t;
}

/* Unlinks t from its hash chain and both LRU lists and frees it. */
static void
evict(struct tcache *tc, struct template *t)
{
	unhash(tc, t);
	TAILQ_REMOVE(&tc->lru, t, lru);
	TAILQ_REMOVE(&t->dom->templates, t, dentry);
	t->dom->ntemplates--;
	tc->count--;
	tc->fields -= t->nfields;
	parser_release(tc->p, t, template_size(t->nfields));
}

/* Charged to the template's exporter, whoever needed the room. */
static void
evict_counted(struct tcache *tc, struct template *t)
{
	struct parser_exporter *e = t->dom->exp;

	evict(tc, t);
	exporter_drop_state(tc->p, e, PARSER_DROP_TEMPLATE_EVICTED, 1);
}

/* A template just used moves to the front of both its LRU lists. */
static void
touch(struct tcache *tc, struct template *t)
{
	struct template_list *dl = &t->dom->templates;

	if (TAILQ_FIRST(&tc->lru) != t) {
		TAILQ_REMOVE(&tc->lru, t, lru);
		TAILQ_INSERT_HEAD(&tc->lru, t, lru);
	}
	if (TAILQ_FIRST(dl) != t) {
		TAILQ_REMOVE(dl, t, dentry);
		TAILQ_INSERT_HEAD(dl, t, dentry);
	}
}

struct template *
tcache_get(struct tcache *tc, const struct tkey *key)
{
	struct template *t = tc->buckets[tkey_hash(key) & tc->mask];

	for (; t != NULL; t = t->hnext) {
		if (tkey_equal(&t->key, key)) {
			touch(tc, t);
			return t;
		}
	}
	return NULL;
}

/* An exporter sends data for the few templates it uses, over and over:
 * those are at the front of its domain's list. */
#define RECENT_TEMPLATES 4

struct template *
tcache_get_domain(struct tcache *tc, struct domain *d, const struct tkey *key)
{
	struct template *t = TAILQ_FIRST(&d->templates);

	for (int i = 0; i < RECENT_TEMPLATES && t != NULL;
	    i++, t = TAILQ_NEXT(t, dentry)) {
		if (tkey_equal(&t->key, key)) {
			touch(tc, t);
			return t;
		}
	}
	return tcache_get(tc, key);
}

void
tcache_remove(struct tcache *tc, const struct tkey *key)
{
	struct template *t = tcache_get(tc, key);

	if (t != NULL)
		evict(tc, t);
}

void
tcache_remove_domain(struct tcache *tc, struct domain *dom, bool options)
{
	struct template *t, *next;

	for (t = TAILQ_FIRST(&dom->templates); t != NULL; t = next) {
		next = TAILQ_NEXT(t, dentry);
		if (t->options == options)
			evict(tc, t);
	}
}

void
tcache_drop_domain(struct tcache *tc, struct domain *dom)
{
	struct template *t;

	while ((t = TAILQ_FIRST(&dom->templates)) != NULL)
		evict_counted(tc, t);
}

void
tcache_rekey_domain(struct tcache *tc, struct domain *dom)
{
	struct template *t;

	TAILQ_FOREACH(t, &dom->templates, dentry) {
		unhash(tc, t);
		t->key.port = dom->port;
		rehash(tc, t);
	}
}

/* Makes room for one more template of nfields in dom. */
static void
make_room(struct tcache *tc, struct domain *dom, uint16_t nfields)
{
	size_t per_domain = tc->p->limits.max_domain_templates;

	while (dom->ntemplates >= per_domain && !TAILQ_EMPTY(&dom->templates))
		evict_counted(tc, TAILQ_LAST(&dom->templates, template_list));
	while ((tc->count >= tc->max ||
	    tc->fields + nfields > tc->max_fields) && !TAILQ_EMPTY(&tc->lru))
		evict_counted(tc, TAILQ_LAST(&tc->lru, template_list));
}

struct template *
tcache_put(struct tcache *tc, struct domain *dom, const struct tkey *key,
    bool options, const struct tfield *fields, uint16_t nfields)
{
	struct template *t;

	tcache_remove(tc, key);
	make_room(tc, dom, nfields);
	t = parser_alloc(tc->p, template_size(nfields));
	if (t == NULL)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->key = *key;
	t->dom = dom;
	t->options = options;
	t->nfields = nfields;
	memcpy(t->fields, fields, (size_t)nfields * sizeof(t->fields[0]));
	record_plan(t);
	rehash(tc, t);
	TAILQ_INSERT_HEAD(&tc->lru, t, lru);
	TAILQ_INSERT_HEAD(&dom->templates, t, dentry);
	dom->ntemplates++;
	tc->count++;
	tc->fields += nfields;
	tc->p->stored = true;
	return t;
}

size_t
tcache_count(const struct tcache *tc)
{
	return tc->count;
}

/*
 * An exporter that changes its source port (a restart, a new socket)
 * sends data from the new port for templates it announced from the old
 * one until it resends them. Its templates are taken over only when that
 * is unambiguous: the new session has announced no template of its own
 * (a session that has is another exporter process, with templates of its
 * own), and exactly one other session of the address, proto and domain
 * id has the template id. Otherwise the data waits for its template as
 * any data does.
 */
const struct template *
template_borrow(struct parser *p, struct domain *d, const struct tkey *key,
    const struct parser_source *src)
{
	struct tkey okey = *key;
	const struct template *o;
	struct template *t;
	struct domain *from;

	if (d->announced || (from = domain_sibling(d, key->id)) == NULL)
		return NULL;
	okey.port = from->port;
	if ((o = tcache_get_domain(p->templates, from, &okey)) == NULL)
		return NULL;
	if (!d->borrowed)
		options_copy(p, d, from);
	d->borrowed = true;
	/* making room may evict o */
	memcpy(p->scratch, o->fields, (size_t)o->nfields * sizeof(o->fields[0]));
	t = tcache_put(p->templates, d, key, o->options, p->scratch, o->nfields);
	if (t == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return NULL;
	}
	d->exp->counters.borrowed++;
	return t;
}
