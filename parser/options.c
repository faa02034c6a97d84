/*
 * Options data applied: what an exporter announces in options records
 * (sampling rates, sampler tables, interface names, its boot time) is kept
 * per exporter domain and applied to the flows that follow.
 */
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

/* Names for the fields the parser adds; the pen keeps them apart from
 * the IANA elements of the same meaning in the output's array grouping. */
#define PEN_NETFLOWD 0xffffffffu

static const struct ie_info in_if_name_ie = {
	.pen = PEN_NETFLOWD, .id = 1, .type = IE_STRING, .name = "in_if_name",
};
static const struct ie_info out_if_name_ie = {
	.pen = PEN_NETFLOWD, .id = 2, .type = IE_STRING, .name = "out_if_name",
};

/* a v9 options scope type (RFC 3954 6.1), not an information element */
#define V9_SCOPE_INTERFACE 2

/* What a field announces, from the IE table (ie-data/semantics.csv). */
static enum ie_option
option_of(const struct flow_field *f)
{
	return f->ie != NULL && f->ie->pen == 0 ? f->ie->option : IE_OPT_NONE;
}

size_t
ifname_buckets_size(size_t max)
{
	size_t n = 16;

	while (n < max && n < ((size_t)1 << 20))
		n <<= 1;
	return n * sizeof(struct ifname *) + ALLOC_OVERHEAD;
}

static size_t
ifhash(const struct parser *p, const struct domain *d, uint32_t index)
{
	uint64_t h = (uint64_t)(uintptr_t)d * 0x9e3779b97f4a7c15ULL;

	h ^= index * 0xff51afd7ed558ccdULL;
	return (size_t)(h ^ (h >> 31)) & p->ifmask;
}

static struct ifname *
ifname_find(const struct parser *p, const struct domain *d, uint32_t index)
{
	struct ifname *n = p->ifbuckets[ifhash(p, d, index)];

	for (; n != NULL; n = n->hnext)
		if (n->dom == d && n->index == index)
			return n;
	return NULL;
}

bool
ifname_set(struct parser *p, struct domain *d, uint32_t index,
    const uint8_t *name, size_t len)
{
	struct ifname *n = ifname_find(p, d, index);
	size_t b;

	/* names are NUL-padded to the field length */
	while (len > 0 && name[len - 1] == 0)
		len--;
	if (len > IFNAME_MAX)
		len = IFNAME_MAX;
	if (len == 0)
		return true;     /* nothing worth naming */
	if (n == NULL) {
		if (p->nifnames >= p->limits.max_if_names ||
		    d->nifnames >= p->limits.max_domain_if_names)
			return false;
		if ((n = parser_alloc(p, sizeof(*n))) == NULL)
			return false;
		n->dom = d;
		n->index = index;
		b = ifhash(p, d, index);
		n->hnext = p->ifbuckets[b];
		p->ifbuckets[b] = n;
		SLIST_INSERT_HEAD(&d->ifnames, n, dentry);
		d->nifnames++;
		p->nifnames++;
	}
	n->len = (uint8_t)len;
	memcpy(n->name, name, len);
	return true;
}

void
options_copy(struct parser *p, struct domain *to, const struct domain *from)
{
	const struct ifname *n;

	if (options_any(to) || to->has_sysinit)
		return;
	to->has_sampling = from->has_sampling;
	to->sampling = from->sampling;
	to->has_sysinit = from->has_sysinit;
	to->sysinit_ms = from->sysinit_ms;
	to->nsamplers = from->nsamplers;
	memcpy(to->samplers, from->samplers, sizeof(to->samplers));
	/* a full table keeps what fits, as when the exporter announces */
	SLIST_FOREACH(n, &from->ifnames, dentry)
		if (!ifname_set(p, to, n->index, (const uint8_t *)n->name,
		    n->len))
			break;
}

void
ifname_drop_domain(struct parser *p, struct domain *d)
{
	struct ifname *n;

	while ((n = SLIST_FIRST(&d->ifnames)) != NULL) {
		struct ifname **pp = &p->ifbuckets[ifhash(p, d, n->index)];

		while (*pp != n)
			pp = &(*pp)->hnext;
		*pp = n->hnext;
		SLIST_REMOVE_HEAD(&d->ifnames, dentry);
		d->nifnames--;
		p->nifnames--;
		parser_release(p, n, sizeof(*n));
	}
}

static void
set_sampler(struct domain *d, uint64_t id, uint64_t interval)
{
	size_t i;

	for (i = 0; i < d->nsamplers; i++)
		if (d->samplers[i].id == id)
			break;
	if (i == d->nsamplers) {
		if (d->nsamplers == SAMPLERS_MAX)
			memmove(d->samplers, d->samplers + 1,
			    (SAMPLERS_MAX - 1) * sizeof(d->samplers[0]));
		else
			d->nsamplers++;
		i = d->nsamplers - 1;
	}
	d->samplers[i].id = id;
	d->samplers[i].interval = interval;
}

/* What one options record says, gathered before it is applied. */
struct announce {
	bool has_ifindex, has_sampler, has_interval, has_space;
	bool has_size, has_population;
	uint32_t ifindex;
	uint64_t sampler, interval, packet_interval, packet_space;
	uint64_t size, population;
	const struct flow_field *name, *desc;
};

static void
gather(const struct flow_record *rec, const struct flow_field *f, uint64_t v,
    struct announce *a, struct domain *d)
{
	if (f->flags & FLOW_FIELD_SCOPE && rec->version == 9) {
		/* v9 scope types are not information elements */
		if (f->id == V9_SCOPE_INTERFACE && f->len <= 4) {
			a->ifindex = (uint32_t)v;
			a->has_ifindex = true;
		}
		return;
	}
	switch (option_of(f)) {
	case IE_OPT_NONE:
		break;
	case IE_OPT_IFINDEX:
		if (!a->has_ifindex && f->len <= 4) {
			a->ifindex = (uint32_t)v;
			a->has_ifindex = true;
		}
		break;
	case IE_OPT_SAMPLER_ID:
		a->sampler = v;
		a->has_sampler = true;
		break;
	case IE_OPT_INTERVAL:
		a->interval = v;
		a->has_interval = v != 0;
		break;
	case IE_OPT_PACKET_INTERVAL:
		a->packet_interval = v;
		break;
	case IE_OPT_PACKET_SPACE:
		a->packet_space = v;
		a->has_space = true;
		break;
	case IE_OPT_SAMPLING_SIZE:
		a->size = v;
		a->has_size = v != 0;
		break;
	case IE_OPT_SAMPLING_POPULATION:
		a->population = v;
		a->has_population = true;
		break;
	case IE_OPT_IF_NAME:
		a->name = f;
		break;
	case IE_OPT_IF_DESC:
		a->desc = f;
		break;
	case IE_OPT_SYSINIT:
		if (f->len == 8 && v <= (uint64_t)TIME_MAX_MS) {
			d->sysinit_ms = (int64_t)v;
			d->has_sysinit = true;
		}
		break;
	}
}

/* 1-in-N: systematic count-based (305/306) selects interval packets of
 * every interval + space; random n-out-of-N (309/310) size of population. */
static uint64_t
rate_of(const struct announce *a)
{
	if (a->has_interval)
		return a->interval;
	if (a->has_space && a->packet_interval != 0)
		return (a->packet_interval + a->packet_space) / a->packet_interval;
	if (a->has_size && a->has_population)
		return a->population / a->size;
	return 0;
}

void
options_learn(struct parser *p, struct domain *d, const struct flow_record *rec)
{
	struct announce a = { 0 };
	const struct flow_field *name;
	uint64_t rate;

	for (size_t i = 0; i < rec->nextra; i++) {
		const struct flow_field *f = &rec->extra[i];
		uint64_t v = 0;

		if (f->pen != 0 || f->flags & FLOW_FIELD_REVERSE)
			continue;
		if (f->len >= 1 && f->len <= 8)
			bytes_uint(f->data, f->len, &v);
		gather(rec, f, v, &a, d);
	}
	if ((rate = rate_of(&a)) != 0) {
		if (a.has_sampler)
			set_sampler(d, a.sampler, rate);
		else {
			d->sampling = rate;
			d->has_sampling = true;
		}
	}
	name = a.name && a.name->len > 0 ? a.name : a.desc;
	if (a.has_ifindex && name != NULL && name->len > 0 &&
	    !ifname_set(p, d, a.ifindex, name->data, name->len))
		parser_drop(p, rec->src, PARSER_DROP_OPTION_LIMIT, 1);
}

static bool
sampler_rate(const struct domain *d, const struct flow_record *rec,
    uint64_t *rate)
{
	for (size_t i = 0; i < rec->nextra; i++) {
		const struct flow_field *f = &rec->extra[i];
		uint64_t id = 0;

		if (f->pen != 0 || option_of(f) != IE_OPT_SAMPLER_ID ||
		    f->len < 1 || f->len > 8)
			continue;
		bytes_uint(f->data, f->len, &id);
		for (size_t j = 0; j < d->nsamplers; j++) {
			if (d->samplers[j].id == id) {
				*rate = d->samplers[j].interval;
				return true;
			}
		}
	}
	return false;
}

static void
add_name(struct parser *p, const struct domain *d, struct flow_record *rec,
    enum flow_num k, const struct ie_info *ie)
{
	const struct ifname *n;
	struct flow_field *x;

	if (!(rec->has_num & (1u << k)) || rec->num[k] > UINT32_MAX)
		return;
	if ((n = ifname_find(p, d, (uint32_t)rec->num[k])) == NULL)
		return;
	x = &p->extra[rec->nextra++];
	x->ie = ie;
	x->pen = ie->pen;
	x->id = ie->id;
	x->len = n->len;
	x->flags = 0;
	x->data = (const uint8_t *)n->name;
}

void
options_apply(struct parser *p, const struct domain *d,
    struct flow_record *rec)
{
	uint64_t rate = 0;

	if (!(rec->has_num & (1u << FLOW_SAMPLING_INTERVAL))) {
		if ((d->nsamplers > 0 && sampler_rate(d, rec, &rate)) ||
		    (d->has_sampling && (rate = d->sampling) != 0)) {
			rec->num[FLOW_SAMPLING_INTERVAL] = rate;
			rec->has_num |= 1u << FLOW_SAMPLING_INTERVAL;
		}
	}
	if (d->nifnames > 0) {
		add_name(p, d, rec, FLOW_IN_IF, &in_if_name_ie);
		add_name(p, d, rec, FLOW_OUT_IF, &out_if_name_ie);
	}
}
