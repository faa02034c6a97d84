/*
 * Data that arrives before its template. Only the data set that failed is
 * copied (never the datagram, so nothing is decoded twice), with its
 * source and receive time, and decoded the moment its template is stored.
 * Bounded in bytes per exporter and in all, and in age; what is pushed out
 * or ages out is counted.
 */
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

static size_t
held_size(size_t len)
{
	return sizeof(struct held) + len;
}

static void
unlink_held(struct parser *p, struct held *h)
{
	struct domain *d = h->dom;

	TAILQ_REMOVE(&d->held, h, dentry);
	TAILQ_REMOVE(&p->held, h, gentry);
	d->exp->held_bytes -= held_size(h->len) + ALLOC_OVERHEAD;
	p->held_bytes -= held_size(h->len) + ALLOC_OVERHEAD;
	p->held_count--;
}

static void
free_held(struct parser *p, struct held *h)
{
	unlink_held(p, h);
	parser_release(p, h, held_size(h->len));
}

/* Charged to the exporter that sent it, also when another exporter's
 * data pushed it out or the timer aged it out. */
static void
drop_held(struct parser *p, struct held *h, enum parser_drop why)
{
	struct parser_source src = h->src;
	struct parser_exporter *e = h->dom->exp;

	free_held(p, h);
	exporter_drop(p, e, &src, why, 1);
}

/* The oldest held set of exporter e: the oldest head of its (few)
 * domains' lists. */
static struct held *
oldest_of(const struct parser_exporter *e)
{
	struct held *best = NULL, *h;
	const struct domain *d;

	TAILQ_FOREACH(d, &e->domains, entry)
		if ((h = TAILQ_FIRST(&d->held)) != NULL && (best == NULL ||
		    h->src.received_ms < best->src.received_ms))
			best = h;
	return best;
}

void
held_add(struct parser *p, struct domain *d, uint16_t template_id,
    struct cursor *set, const struct parser_source *src,
    const struct time_base *tb)
{
	size_t len = cursor_left(set);
	size_t need = held_size(len) + ALLOC_OVERHEAD;
	struct parser_exporter *e = d->exp;
	const uint8_t *data = NULL;
	struct held *h;

	if (need > p->limits.max_exporter_held_bytes ||
	    need > p->limits.max_held_bytes) {
		parser_drop(p, src, PARSER_DROP_HELD_OVERFLOW, 1);
		return;
	}
	while (e->held_bytes + need > p->limits.max_exporter_held_bytes &&
	    (h = oldest_of(e)) != NULL)
		drop_held(p, h, PARSER_DROP_HELD_OVERFLOW);
	while (p->held_bytes + need > p->limits.max_held_bytes &&
	    (h = TAILQ_FIRST(&p->held)) != NULL)
		drop_held(p, h, PARSER_DROP_HELD_OVERFLOW);
	if ((h = parser_alloc(p, held_size(len))) == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return;
	}
	h->dom = d;
	h->src = *src;
	h->tb = *tb;
	h->template_id = template_id;
	h->len = len;
	if (cursor_take(set, len, &data) && len > 0)
		memcpy(h->data, data, len);
	TAILQ_INSERT_TAIL(&d->held, h, dentry);
	TAILQ_INSERT_TAIL(&p->held, h, gentry);
	e->held_bytes += need;
	p->held_bytes += need;
	p->held_count++;
}

/* Oldest first, so records come out in the order they were exported.
 * The held copy is unlinked before decoding (decoding cannot add or
 * remove held data of this domain: records go to the caller only). A set
 * whose template was withdrawn again later in the datagram waits on. */
static void release_one(struct parser *p, struct domain *d);

/*
 * The other way round of template_borrow(): a session whose data waits
 * for a template it never announced (it has sent none), while this
 * session d, the only one of the address with d's proto and domain id to
 * have it, just stored it (an exporter that sent data and templates from
 * two sockets, or a data set in flight from its old port): the waiting
 * session takes the template over and its data is decoded with d's.
 */
void
held_adopt(struct parser *p, struct domain *d, const struct tkey *key,
    const struct parser_source *src)
{
	struct domain *o;

	TAILQ_FOREACH(o, &d->exp->domains, entry) {
		struct tkey okey = *key;
		struct held *h;

		if (o == d || o->proto != d->proto || o->id != d->id ||
		    o->announced || TAILQ_EMPTY(&o->held))
			continue;
		TAILQ_FOREACH(h, &o->held, dentry)
			if (h->template_id == key->id)
				break;
		if (h == NULL)
			continue;
		okey.port = o->port;
		if (template_borrow(p, o, &okey, src) != NULL) {
			o->release = true;
			p->release_others = true;
		}
	}
}

void
held_release(struct parser *p, struct domain *d)
{
	if (!d->release && !p->release_others)
		return;
	release_one(p, d);
	if (p->release_others) {
		struct domain *o;

		p->release_others = false;
		TAILQ_FOREACH(o, &d->exp->domains, entry)
			if (o != d)
				release_one(p, o);
	}
}

static void
release_one(struct parser *p, struct domain *d)
{
	struct tkey key;
	struct held *h, *next;

	/* every datagram asks; almost none has anything to release */
	if (!d->release)
		return;
	d->release = false;
	key = (struct tkey){ .exporter = d->exp->addr, .port = d->port,
	    .domain = d->id, .proto = d->proto };
	for (h = TAILQ_FIRST(&d->held); h != NULL; h = next) {
		const struct template *t;
		struct cursor set;

		next = TAILQ_NEXT(h, dentry);
		key.id = h->template_id;
		if ((t = tcache_get_domain(p->templates, d, &key)) == NULL)
			continue;
		unlink_held(p, h);
		cursor_init(&set, h->data, h->len);
		p->released += record_template_set(p, d, t, &set, &h->tb,
		    &h->src);
		parser_release(p, h, held_size(h->len));
	}
}

void
held_drop_domain(struct parser *p, struct domain *d)
{
	struct held *h;

	while ((h = TAILQ_FIRST(&d->held)) != NULL)
		drop_held(p, h, PARSER_DROP_HELD_EXPIRED);
}

void
held_free_all(struct parser *p)
{
	struct held *h;

	while ((h = TAILQ_FIRST(&p->held)) != NULL)
		free_held(p, h);
}

void
parser_expire(struct parser *p, int64_t now_ms)
{
	struct held *h;

	while ((h = TAILQ_FIRST(&p->held)) != NULL &&
	    now_ms - h->src.received_ms >= p->limits.held_max_age_ms)
		drop_held(p, h, PARSER_DROP_HELD_EXPIRED);
}

size_t
parser_held_count(const struct parser *p)
{
	return p->held_count;
}
