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

	if (h->dprev)
		h->dprev->dnext = h->dnext;
	else
		d->held_head = h->dnext;
	if (h->dnext)
		h->dnext->dprev = h->dprev;
	else
		d->held_tail = h->dprev;
	if (h->gprev)
		h->gprev->gnext = h->gnext;
	else
		p->held_head = h->gnext;
	if (h->gnext)
		h->gnext->gprev = h->gprev;
	else
		p->held_tail = h->gprev;
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
	struct held *best = NULL;

	const struct domain *d;

	TAILQ_FOREACH(d, &e->domains, entry)
		if (d->held_head != NULL && (best == NULL ||
		    d->held_head->src.received_ms < best->src.received_ms))
			best = d->held_head;
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
	    p->held_head != NULL)
		drop_held(p, p->held_head, PARSER_DROP_HELD_OVERFLOW);
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
	h->dnext = NULL;
	h->dprev = d->held_tail;
	if (d->held_tail)
		d->held_tail->dnext = h;
	else
		d->held_head = h;
	d->held_tail = h;
	h->gnext = NULL;
	h->gprev = p->held_tail;
	if (p->held_tail)
		p->held_tail->gnext = h;
	else
		p->held_head = h;
	p->held_tail = h;
	e->held_bytes += need;
	p->held_bytes += need;
	p->held_count++;
}

/* Oldest first, so records come out in the order they were exported.
 * The held copy is unlinked before decoding (decoding cannot add or
 * remove held data of this domain: records go to the caller only). A set
 * whose template was withdrawn again later in the datagram waits on. */
void
held_release(struct parser *p, struct domain *d)
{
	struct tkey key = { .exporter = d->exp->addr, .domain = d->id,
	    .proto = d->proto };
	struct held *h, *next;

	if (!d->release)
		return;
	d->release = false;
	for (h = d->held_head; h != NULL; h = next) {
		const struct template *t;
		struct cursor set;

		next = h->dnext;
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
	while (d->held_head != NULL)
		drop_held(p, d->held_head, PARSER_DROP_HELD_EXPIRED);
}

void
held_free_all(struct parser *p)
{
	while (p->held_head != NULL)
		free_held(p, p->held_head);
}

void
parser_expire(struct parser *p, int64_t now_ms)
{
	while (p->held_head != NULL &&
	    now_ms - p->held_head->src.received_ms >= p->limits.held_max_age_ms)
		drop_held(p, p->held_head, PARSER_DROP_HELD_EXPIRED);
}

size_t
parser_held_count(const struct parser *p)
{
	return p->held_count;
}
