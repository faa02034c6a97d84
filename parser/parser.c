#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

static const char *const drop_names[PARSER_DROP_MAX] = {
	[PARSER_DROP_SHORT] = "short_datagram",
	[PARSER_DROP_VERSION] = "bad_version",
	[PARSER_DROP_LENGTH] = "bad_length",
	[PARSER_DROP_SET_LENGTH] = "bad_set_length",
	[PARSER_DROP_BAD_TEMPLATE] = "bad_template",
	[PARSER_DROP_TEMPLATE_LIMIT] = "template_too_large",
	[PARSER_DROP_UNKNOWN_TEMPLATE] = "unknown_template",
	[PARSER_DROP_BAD_RECORD] = "bad_record",
	[PARSER_DROP_RESERVED_SET] = "reserved_set",
	[PARSER_DROP_HELD_EXPIRED] = "held_expired",
	[PARSER_DROP_HELD_OVERFLOW] = "held_overflow",
	[PARSER_DROP_TEMPLATE_EVICTED] = "template_evicted",
	[PARSER_DROP_DOMAIN_EVICTED] = "domain_evicted",
	[PARSER_DROP_EXPORTER_EVICTED] = "exporter_evicted",
	[PARSER_DROP_OPTION_LIMIT] = "option_limit",
	[PARSER_DROP_NO_MEMORY] = "no_memory",
	[PARSER_DROP_BAD_SAMPLE] = "bad_sample",
	[PARSER_DROP_UNKNOWN_FORMAT] = "unknown_format",
};

const char *
parser_drop_name(enum parser_drop why)
{
	return why < PARSER_DROP_MAX ? drop_names[why] : "unknown";
}

void
parser_limits_default(struct parser_limits *limits)
{
	*limits = (struct parser_limits){
		.max_templates = 16384,
		.max_fields = 512,
		.max_template_fields = 262144,
		.max_exporters = 1024,
		.max_domains = 16,
		.max_domain_templates = 512,
		.max_held_bytes = 16u << 20,
		.max_exporter_held_bytes = 1u << 20,
		.held_max_age_ms = 30000,
		.max_if_names = 65536,
		.max_domain_if_names = 4096,
		.max_sflow_sources = 4096,
	};
}

/* Zeros become defaults; the rest is made consistent. */
static void
limits_fill(struct parser_limits *l, const struct parser_limits *given)
{
	struct parser_limits d;

	parser_limits_default(&d);
	*l = given ? *given : d;
#define FILL(x) if (l->x == 0) l->x = d.x
	FILL(max_templates);
	FILL(max_fields);
	FILL(max_template_fields);
	FILL(max_exporters);
	FILL(max_domains);
	FILL(max_domain_templates);
	FILL(max_held_bytes);
	FILL(max_exporter_held_bytes);
	FILL(held_max_age_ms);
	FILL(max_if_names);
	FILL(max_domain_if_names);
	FILL(max_sflow_sources);
#undef FILL
	if (l->max_fields > 0xffff)
		l->max_fields = 0xffff;
	if (l->max_template_fields < l->max_fields)
		l->max_template_fields = l->max_fields;
	if (l->max_exporter_held_bytes > l->max_held_bytes)
		l->max_exporter_held_bytes = l->max_held_bytes;
}

size_t
parser_memory_budget(const struct parser_limits *given)
{
	struct parser_limits l;
	size_t fixed, templates, exporters, held, ifnames;

	limits_fill(&l, given);
	fixed = sizeof(struct parser) + ALLOC_OVERHEAD +
	    (l.max_fields + EXTRA_ADDED) * sizeof(struct flow_field) +
	    ALLOC_OVERHEAD + l.max_fields * sizeof(struct tfield) +
	    ALLOC_OVERHEAD + tcache_buckets_size(l.max_templates) +
	    etable_buckets_size(l.max_exporters) +
	    ifname_buckets_size(l.max_if_names);
	templates = l.max_templates * (sizeof(struct template) + ALLOC_OVERHEAD) +
	    l.max_template_fields * sizeof(struct tfield);
	/* and as many husks of evicted exporters, with counters only */
	exporters = l.max_exporters * (2 * (sizeof(struct parser_exporter) +
	    ALLOC_OVERHEAD) + l.max_domains * (sizeof(struct domain) +
	    ALLOC_OVERHEAD));
	held = l.max_held_bytes;
	ifnames = l.max_if_names * (sizeof(struct ifname) + ALLOC_OVERHEAD);
	return fixed + templates + exporters + held + ifnames +
	    sflow_sources_size(l.max_sflow_sources);
}

size_t
parser_memory_usage(const struct parser *p)
{
	return p->mem;
}

void *
parser_alloc(struct parser *p, size_t size)
{
	void *ptr = malloc(size);

	if (ptr != NULL)
		p->mem += size + ALLOC_OVERHEAD;
	return ptr;
}

void
parser_release(struct parser *p, void *ptr, size_t size)
{
	if (ptr == NULL)
		return;
	p->mem -= size + ALLOC_OVERHEAD;
	free(ptr);
}

struct parser *
parser_new(const struct parser_limits *limits, const struct parser_ops *ops,
    void *arg)
{
	struct parser *p;
	size_t nb;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	limits_fill(&p->limits, limits);
	p->ops = *ops;
	p->arg = arg;
	p->mem = sizeof(*p) + ALLOC_OVERHEAD;
	p->cur = &p->gone;
	TAILQ_INIT(&p->gone.domains);
	TAILQ_INIT(&p->held);
	nb = (ifname_buckets_size(p->limits.max_if_names) - ALLOC_OVERHEAD) /
	    sizeof(struct ifname *);
	p->extra = calloc(p->limits.max_fields + EXTRA_ADDED, sizeof(*p->extra));
	p->scratch = calloc(p->limits.max_fields, sizeof(*p->scratch));
	p->ifbuckets = calloc(nb, sizeof(*p->ifbuckets));
	if (p->extra == NULL || p->scratch == NULL || p->ifbuckets == NULL)
		goto fail;
	p->ifmask = nb - 1;
	p->mem += (p->limits.max_fields + EXTRA_ADDED) * sizeof(*p->extra) +
	    ALLOC_OVERHEAD + p->limits.max_fields * sizeof(*p->scratch) +
	    ALLOC_OVERHEAD + ifname_buckets_size(p->limits.max_if_names);
	p->templates = tcache_new(p, p->limits.max_templates,
	    p->limits.max_template_fields);
	if (p->templates == NULL)
		goto fail;
	if ((p->exporters = etable_new(p)) == NULL)
		goto fail;
	return p;
fail:
	parser_free(p);
	return NULL;
}

void
parser_free(struct parser *p)
{
	if (p == NULL)
		return;
	p->quiet = true;
	/* exporters first: their domains own templates, held data, names */
	if (p->templates != NULL)
		etable_free(p->exporters);
	held_free_all(p);
	sflow_sources_free(p);
	tcache_free(p->templates);
	free(p->ifbuckets);
	free(p->extra);
	free(p->scratch);
	free(p);
}

void
exporter_drop(struct parser *p, struct parser_exporter *e,
    const struct parser_source *src, enum parser_drop why, uint32_t count)
{
	if (p->quiet)
		return;
	e->counters.drops[why] += count;
	if (p->ops.drop)
		p->ops.drop(src, why, count, p->arg);
}

void
exporter_drop_state(struct parser *p, struct parser_exporter *e,
    enum parser_drop why, uint32_t count)
{
	struct parser_source src = { .addr = e->addr, .received_ms = p->now_ms };

	exporter_drop(p, e, &src, why, count);
}

void
parser_drop(struct parser *p, const struct parser_source *src,
    enum parser_drop why, uint32_t count)
{
	exporter_drop(p, p->cur, src, why, count);
}

/* Whether template t has the fields just read into scratch (not yet
 * classified: classifying depends on nothing else). */
static bool
template_same(const struct parser *p, const struct template *t, bool options,
    uint16_t nfields)
{
	if (t->options != options || t->nfields != nfields)
		return false;
	for (uint16_t i = 0; i < nfields; i++) {
		const struct tfield *a = &t->fields[i], *b = &p->scratch[i];

		if (a->id != b->id || a->len != b->len || a->pen != b->pen ||
		    (a->flags & FLOW_FIELD_SCOPE) != b->flags)
			return false;
	}
	return true;
}

/* The decoders leave scratch fields raw: pen, id, len and the scope flag. */
bool
template_store(struct parser *p, struct domain *d,
    const struct parser_source *src, const struct tkey *key, bool options,
    uint16_t nfields, bool too_many)
{
	size_t min_len = 0;
	struct template *t;

	if (too_many) {
		parser_drop(p, src, PARSER_DROP_TEMPLATE_LIMIT, 1);
		return false;
	}
	for (uint16_t i = 0; i < nfields; i++)
		min_len += p->scratch[i].len == VARLEN ? 1 : p->scratch[i].len;
	/* a record of zero bytes would never advance the data cursor */
	if (min_len == 0) {
		parser_drop(p, src, PARSER_DROP_BAD_TEMPLATE, 1);
		return false;
	}
	/* Exporters resend their templates every few seconds, mostly
	 * unchanged: replacing one with its copy would only make it the most
	 * recently used, which looking it up has just done. */
	t = tcache_get_domain(p->templates, d, key);
	if (t == NULL || !template_same(p, t, options, nfields)) {
		/* v9 scope types (system, interface, ...) are not
		 * information elements even where the ids collide */
		for (uint16_t i = 0; i < nfields; i++)
			if (!(key->proto == TPROTO_V9 &&
			    p->scratch[i].flags & FLOW_FIELD_SCOPE))
				tfield_classify(&p->scratch[i], options);
		t = tcache_put(p->templates, d, key, options, p->scratch,
		    nfields);
	}
	if (t == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return false;
	}
	d->announced = true;
	p->announced = true;
	if (!TAILQ_EMPTY(&d->held))
		d->release = true;
	if (d->exp->ndomains > 1)
		held_adopt(p, d, key, src);
	return true;
}

static size_t
decode(struct parser *p, struct cursor *c, const struct parser_source *src)
{
	uint16_t version;

	if (!cursor_u16(c, &version)) {
		parser_drop(p, src, PARSER_DROP_SHORT, 1);
		return 0;
	}
	switch (version) {
	case 0:
		/* sFlow's version is 32 bits: 0x0000 0x0005 */
		return sflow_decode(p, c, src);
	case 1:
		return netflow_v1_decode(p, c, src);
	case 5:
		return netflow_v5_decode(p, c, src);
	case 7:
		return netflow_v7_decode(p, c, src);
	case 9:
		return v9_decode(p, c, src);
	case 10:
		return ipfix_decode(p, c, src);
	default:
		parser_drop(p, src, PARSER_DROP_VERSION, 1);
		return 0;
	}
}

size_t
parser_feed(struct parser *p, const uint8_t *buf, size_t len,
    const struct parser_source *src)
{
	struct parser_exporter *e;
	struct cursor c;
	size_t n;

	if (src->received_ms > p->now_ms)
		p->now_ms = src->received_ms;
	/* everything this datagram causes is charged to its exporter; out
	 * of memory, only to the totals */
	if ((e = exporter_get(p, &src->addr)) == NULL)
		e = &p->gone;
	p->cur = e;
	p->stored = p->announced = false;
	e->counters.datagrams++;
	e->counters.bytes += len;
	e->counters.last_ms = src->received_ms;
	cursor_init(&c, buf, len);
	n = decode(p, &c, src);
	if (n > 0 || p->stored)
		exporter_credit(p, e, src->received_ms);
	/* v9/IPFIX data decoded in a datagram that carried no template:
	 * with the template an earlier datagram stored */
	if (n > 0 && !p->announced && len >= 2 && buf[0] == 0 &&
	    (buf[1] == 9 || buf[1] == 10) && e != &p->gone)
		e->proven = true;
	p->cur = &p->gone;
	return n;
}

void
parser_record_dropped(struct parser *p, uint32_t count)
{
	p->cur->counters.output_dropped += count;
}

size_t
parser_template_count(const struct parser *p)
{
	return tcache_count(p->templates);
}

uint64_t
parser_lost_total(const struct parser *p)
{
	return p->lost;
}
