/*
 * Sample sequence numbers per sFlow source (agent, sub-agent, source id,
 * flow or counter samples). A switch has a source per port or VLAN, so
 * the NetFlow domains (16 per exporter) would thrash: the sources live in
 * a table of their own (max_sflow_sources, rounded down to a power of two
 * of 4-way sets), least recently used evicted within a set (counted as
 * domain_evicted). Allocated on the first sFlow datagram, so NetFlow-only
 * collectors pay nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "sflow-private.h"

#define WAYS 4
struct sflow_source {
	struct sflow_source_key key;  /* key.kind 0: free slot */
	struct seqtrack seq;
	uint64_t used;                /* tick of the last sample */
};

struct sflow_sources {
	const struct ie_info *iana[SI_MAX];
	uint64_t tick;
	size_t sets;                  /* a power of two */
	struct sflow_source slot[];
};

static size_t
nsets(size_t max)
{
	size_t n = 1;

	while (n * 2 * WAYS <= max && n < ((size_t)1 << 20))
		n *= 2;
	return n;
}

static size_t
table_size(size_t max)
{
	return sizeof(struct sflow_sources) +
	    nsets(max) * WAYS * sizeof(struct sflow_source);
}

size_t
sflow_sources_size(size_t max)
{
	return table_size(max) + ALLOC_OVERHEAD;
}

void
sflow_sources_free(struct parser *p)
{
	if (p->sflow != NULL)
		parser_release(p, p->sflow,
		    table_size(p->limits.max_sflow_sources));
	p->sflow = NULL;
}

static bool
key_equal(const struct sflow_source_key *a, const struct sflow_source_key *b)
{
	return a->kind == b->kind && a->sub_agent == b->sub_agent &&
	    a->port == b->port &&
	    a->type == b->type && a->index == b->index &&
	    parser_addr_equal(&a->agent, &b->agent);
}

/* The source's slot, or the one to give it: free, else least recent. */
static struct sflow_source *
lookup(struct sflow_sources *t, const struct sflow_source_key *k)
{
	uint64_t h = parser_addr_hash(&k->agent, (uint64_t)k->sub_agent << 40 ^
	    (uint64_t)k->type << 32 ^ k->index ^ (uint64_t)k->kind << 62 ^
	    (uint64_t)k->port << 16);
	struct sflow_source *set = &t->slot[(h & (t->sets - 1)) * WAYS];
	struct sflow_source *victim = set;

	for (int i = 0; i < WAYS; i++) {
		if (set[i].key.kind != 0 && key_equal(&set[i].key, k))
			return &set[i];
		if (set[i].used < victim->used)
			victim = &set[i];
	}
	return victim;
}

const struct ie_info *const *
sflow_iana(struct parser *p, const struct parser_source *src)
{
	struct sflow_sources *t = p->sflow;
	size_t size;

	if (t != NULL)
		return t->iana;
	size = table_size(p->limits.max_sflow_sources);
	if ((t = parser_alloc(p, size)) == NULL) {
		parser_drop(p, src, PARSER_DROP_NO_MEMORY, 1);
		return NULL;
	}
	memset(t, 0, size);
	t->sets = nsets(p->limits.max_sflow_sources);
	sflow_iana_resolve(t->iana);
	p->sflow = t;
	return t->iana;
}

/* Called only after sflow_iana() succeeded for the datagram. */
uint32_t
sflow_source_sequence(struct parser *p, const struct parser_source *src,
    const struct sflow_source_key *k, uint32_t seq)
{
	struct sflow_sources *t = p->sflow;
	struct sflow_source *s;
	uint32_t lost;

	s = lookup(t, k);
	s->used = ++t->tick;
	if (s->key.kind == 0 || !key_equal(&s->key, k)) {
		if (s->key.kind != 0)
			parser_drop(p, src, PARSER_DROP_DOMAIN_EVICTED, 1);
		s->key = *k;
		memset(&s->seq, 0, sizeof(s->seq));
	}
	/* the rules of the datagram sequence (sequence.c), one per sample */
	if (seq_check(&s->seq, seq, 1, &lost)) {
		p->resets++;
		p->cur->counters.resets++;
	}
	return lost;
}
