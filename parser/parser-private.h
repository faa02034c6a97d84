#ifndef NETFLOWD_PARSER_PRIVATE_H
#define NETFLOWD_PARSER_PRIVATE_H

#include <string.h>
#include <sys/queue.h>

#include "cursor.h"
#include "parser.h"

#define VARLEN 0xffff
/* 9999-12-31T23:59:59.999Z: a time past it is not a time (and would
 * overflow the arithmetic); such a field is kept raw instead. */
#define TIME_MAX_MS 253402300799999LL
/* what malloc keeps per allocation, counted in the memory budget */
#define ALLOC_OVERHEAD 16
/* extra fields the parser adds to a record beyond its template's */
#define EXTRA_ADDED 2
#define IFNAME_MAX 64
#define SAMPLERS_MAX 8

/* What a template field feeds in the decoded record. */
enum core_kind {
	CORE_NONE,
	CORE_NUM,            /* slot = enum flow_num */
	CORE_NUM_FALLBACK,   /* slot = enum flow_num, only if not set otherwise */
	CORE_ADDR4,          /* slot = enum flow_addr_key */
	CORE_ADDR6,
	CORE_TIME,           /* slot = enum time_form; start or end by time_end */
	CORE_ICMP_TYPECODE,
	CORE_SYSINIT,        /* systemInitTimeMilliseconds */
};

enum time_form {
	TIME_UPTIME_MS, TIME_SECONDS, TIME_MS, TIME_NTP, TIME_DELTA_US,
	TIME_DURATION_MS, TIME_DURATION_US,
};

/* What decoding does with a field, decided once per template from the
 * fields before it (record_plan()): a core key that an earlier field
 * already set is kept as an extra field instead, or skipped (fallbacks). */
enum field_op {
	OP_EXTRA, OP_SKIP,
	OP_NUM1, OP_NUM2, OP_NUM4, OP_NUM8, OP_NUM,  /* by length */
	OP_ADDR4, OP_ADDR6, OP_ICMP_TYPECODE, OP_SYSINIT,
	OP_UPTIME, OP_DURATION, OP_TIME,
};

struct tfield {
	uint32_t pen;
	uint16_t id;
	uint16_t len;        /* VARLEN for IPFIX variable-length */
	uint8_t flags;       /* enum flow_field_flag */
	uint8_t core;        /* enum core_kind */
	uint8_t slot;
	bool time_end;
	uint8_t op;          /* enum field_op, set by record_plan() */
	const struct ie_info *ie;
};

/* protocols with their own state: the NetFlow version number; sFlow
 * (datagram sequence per agent and sub-agent) apart from NetFlow v5 */
enum tproto { TPROTO_V1 = 1, TPROTO_V5 = 5, TPROTO_V7 = 7, TPROTO_V9 = 9,
	TPROTO_IPFIX = 10, TPROTO_SFLOW = 0x53 };

/* RFC 7011's transport session: address and source port, then the
 * observation domain (source id, engine) within it. */
struct tkey {
	struct parser_addr exporter;
	uint16_t port;
	uint32_t domain;
	uint16_t id;
	uint8_t proto;       /* enum tproto: v9 and IPFIX caches are apart */
};

struct domain;

/* One sequence of numbers (sequence.c). */
struct seqtrack {
	uint32_t next;       /* the number expected */
	uint32_t inc;        /* what the last datagram advanced it by */
	uint32_t jump_next;  /* after a jump (state SEQ_JUMPED): what the
	                      * datagram after it must continue from ... */
	uint32_t jump_lost;  /* ... for the jump to count as this loss */
	uint8_t state;
};

/* Checks seq against s and advances; *lost is what went missing. True
 * when the sequence restarted (a reset: a new session, a restarted
 * exporter, a stray datagram), which never counts as loss. */
bool seq_check(struct seqtrack *s, uint32_t seq, uint32_t inc,
    uint32_t *lost);

enum { SEQ_NONE, SEQ_RUNNING, SEQ_JUMPED };   /* seqtrack.state */

/* seq_check()'s answer for the datagram every running sequence mostly
 * sees, the one expected: advanced, nothing lost, no reset. False (s as
 * it was) for any other: then seq_check() decides. */
static inline bool
seq_in_line(struct seqtrack *s, uint32_t seq, uint32_t inc)
{
	if (s->state != SEQ_RUNNING || seq != s->next)
		return false;
	s->next = seq + inc;
	s->inc = inc;
	return true;
}

struct template {
	struct tkey key;
	struct domain *dom;
	struct template *hnext;
	TAILQ_ENTRY(template) lru;      /* all templates, most recent first */
	TAILQ_ENTRY(template) dentry;   /* this domain's, most recent first */
	bool options;
	bool fixed;          /* no VARLEN field: every record is min_len long */
	uint16_t nfields;
	uint16_t num_mask;   /* flow_record.has_num of every record */
	uint8_t addr_mask;   /* ... and has_addr */
	size_t min_len;      /* smallest record: fixed lengths + 1 per VARLEN */
	struct tfield fields[];
};

/* What a record's time fields are relative to. */
struct time_base {
	int64_t export_ms;   /* header export time */
	uint32_t uptime_ms;  /* exporter uptime at export_ms (v5, v9) */
	bool has_uptime;
	bool has_sysinit;    /* IPFIX: systemInitTimeMilliseconds announced */
	int64_t sysinit_ms;
};

TAILQ_HEAD(template_list, template);

/* A data set that arrived before its template, copied. */
struct held {
	TAILQ_ENTRY(held) dentry;     /* this domain's, oldest first */
	TAILQ_ENTRY(held) gentry;     /* all, oldest first */
	struct domain *dom;
	struct parser_source src;
	struct time_base tb;
	uint16_t template_id;
	size_t len;
	uint8_t data[];
};

TAILQ_HEAD(held_list, held);

struct ifname {
	struct ifname *hnext;
	SLIST_ENTRY(ifname) dentry;   /* this domain's */
	const struct domain *dom;
	uint32_t index;
	uint8_t len;
	char name[IFNAME_MAX];
};

SLIST_HEAD(ifname_list, ifname);

struct sampler {
	uint64_t id;
	uint64_t interval;
};

/* State of one transport session (source port) and source id /
 * observation domain / engine of an exporter. */
struct domain {
	struct parser_exporter *exp;
	TAILQ_ENTRY(domain) entry;    /* the exporter's, most recent first */
	uint32_t id;
	uint16_t port;
	uint8_t proto;
	bool unbound;        /* loaded from a state file without ports: the
	                      * first session of its proto and id claims it */
	bool announced;      /* the session sent a template of its own */
	bool borrowed;       /* ... or took one over from another port */
	bool noted;          /* parser_packet's noted */
	struct seqtrack seq;
	bool has_sampling, has_sysinit;
	bool release;        /* a template came for held data: decode it at
	                      * the end of the datagram (held_release()) */
	uint64_t sampling;
	int64_t sysinit_ms;
	uint8_t nsamplers;
	struct sampler samplers[SAMPLERS_MAX];
	struct template_list templates;   /* most recent first */
	size_t ntemplates;
	struct held_list held;            /* oldest first */
	struct ifname_list ifnames;
	size_t nifnames;
};

TAILQ_HEAD(domain_list, domain);

/* How much an exporter has earned protection from eviction (exporters.c);
 * the order is the eviction order. */
enum exporter_class {
	CLASS_PROBATION,     /* nothing valid yet */
	CLASS_TRIAL,         /* valid, but not for long or not much yet */
	CLASS_ESTABLISHED,   /* sustained valid traffic */
	CLASS_HUSK,          /* evicted after it was established: counters only */
	CLASS_MAX
};

/* Protection is earned by EARN_DATAGRAMS datagrams with a valid template
 * or record over at least EARN_MS (of receive time). */
#define EARN_DATAGRAMS 8
#define EARN_MS 30000

/* The one object per exporter address: its sessions and domains and what
 * they cost, and the counters the caller reads (parser_exporter_counters()),
 * which are per address: a host's exporter processes add up. */
struct parser_exporter {
	struct parser_addr addr;
	struct parser_exporter *hnext;
	/* in etable's list of its class, most recent first */
	TAILQ_ENTRY(parser_exporter) lru;
	uint8_t cls;        /* enum exporter_class */
	uint32_t valid;     /* datagrams with a valid template or record */
	/* a datagram continued an earlier one's sequence, or decoded data
	 * with a template an earlier one stored (flow_record.unproven) */
	bool proven;
	int64_t first_valid_ms;
	struct domain_list domains;
	size_t ndomains;
	size_t held_bytes;
	struct parser_counters counters;
};

struct tcache;
struct etable;
struct sflow_sources;

struct parser {
	struct parser_limits limits;
	struct parser_ops ops;
	void *arg;
	struct tcache *templates;
	struct etable *exporters;
	struct sflow_sources *sflow; /* sample sequences, allocated on the
	                              * first sFlow datagram */
	struct flow_record rec;
	struct flow_field *extra;   /* limits.max_fields + EXTRA_ADDED */
	struct tfield *scratch;     /* template fields while parsing */
	/* held data, all exporters, oldest first */
	struct held_list held;
	size_t held_bytes, held_count;
	/* interface names: one hash over all domains */
	struct ifname **ifbuckets;
	size_t ifmask, nifnames;
	uint64_t delivered;         /* records delivered, ever */
	uint64_t released;          /* ... of them from held data */
	uint64_t lost;
	uint64_t resets;            /* sequence resets, datagrams and samples */
	bool release_others;        /* held_adopt() marked other sessions */
	bool stored;                /* the datagram being decoded stored a
	                             * template (exporter_credit()) */
	bool announced;             /* ... carried a valid template, new or
	                             * the same again (exporter proven) */
	/* the exporter of the datagram being decoded; between datagrams (and
	 * when it could not be allocated) &gone, which also keeps the
	 * counters of evicted exporters, so the totals survive evictions */
	struct parser_exporter *cur;
	struct parser_exporter gone;
	size_t mem;                 /* heap held, as parser_memory_usage */
	int64_t now_ms;             /* latest receive time seen */
	bool quiet;                 /* freeing: nothing is reported */
};

/* A drop while decoding src's datagram, charged to its exporter. */
void parser_drop(struct parser *p, const struct parser_source *src,
    enum parser_drop why, uint32_t count);
/* A drop of state that belongs to exporter e (evictions, held data),
 * whichever datagram, or timer, caused it; src as the callback sees it. */
void exporter_drop(struct parser *p, struct parser_exporter *e,
    const struct parser_source *src, enum parser_drop why, uint32_t count);
/* ... when no datagram of e is at hand. */
void exporter_drop_state(struct parser *p, struct parser_exporter *e,
    enum parser_drop why, uint32_t count);
void *parser_alloc(struct parser *p, size_t size);
void parser_release(struct parser *p, void *ptr, size_t size);

/* Template cache (templates.c) */
struct tcache *tcache_new(struct parser *p, size_t max, size_t max_fields);
void tcache_free(struct tcache *tc);
size_t tcache_buckets_size(size_t max);
struct template *tcache_get(struct tcache *tc, const struct tkey *key);
/* tcache_get() for a key of domain d (its exporter, proto and id), which
 * looks at d's most recently used templates before hashing. */
struct template *tcache_get_domain(struct tcache *tc, struct domain *d,
    const struct tkey *key);
/* Adds or replaces; evicts the least recently used when full. */
struct template *tcache_put(struct tcache *tc, struct domain *dom,
    const struct tkey *key, bool options, const struct tfield *fields,
    uint16_t nfields);
void tcache_remove(struct tcache *tc, const struct tkey *key);
/* IPFIX withdraw-all: every template of one exporter and domain. */
void tcache_remove_domain(struct tcache *tc, struct domain *dom,
    bool options);
/* Every template of a domain that is going away. */
void tcache_drop_domain(struct tcache *tc, struct domain *dom);
/* A domain's port changed (an unbound one claimed): its templates' keys
 * follow. */
void tcache_rekey_domain(struct tcache *tc, struct domain *dom);
/* Session d has no template id: take a copy of the one of the exporter's
 * other session with d's proto and domain id, if exactly one has it, and
 * what that session's options announced if d has announced nothing. */
const struct template *template_borrow(struct parser *p, struct domain *d,
    const struct tkey *key, const struct parser_source *src);
size_t tcache_count(const struct tcache *tc);

/* Exporters and their domains (exporters.c) */
struct etable *etable_new(struct parser *p);
/* The exporter at addr, created (evicting) if new; NULL only when out of
 * memory. */
struct parser_exporter *exporter_get(struct parser *p,
    const struct parser_addr *addr);
/* A datagram of e at now_ms had a valid template or record: enough of
 * them over long enough, and e is evicted only after every exporter that
 * has not earned as much. */
void exporter_credit(struct parser *p, struct parser_exporter *e,
    int64_t now_ms);
/* Loading a state file: e had earned its place before the restart. */
void exporter_restore(struct parser *p, struct parser_exporter *e);
void etable_free(struct etable *et);
size_t etable_buckets_size(size_t max_exporters);
/* The state of (exporter, source port, proto, domain id), created
 * (evicting) if new; NULL only when out of memory. */
struct domain *domain_get(struct parser *p, const struct parser_addr *addr,
    uint16_t port, uint8_t proto, uint32_t id);
/* The domain of another session (source port) of d's exporter with d's
 * proto and id that has template id, if exactly one has: the session an
 * exporter that changed its source port came from. */
struct domain *domain_sibling(struct domain *d, uint16_t id);
/* Visits every domain (for saving). */
void etable_each(const struct etable *et,
    void (*fn)(const struct domain *d, void *arg), void *arg);
size_t etable_domain_count(const struct etable *et);

/* Sequence numbers (exporters.c, sequence.c): lost since the previous
 * datagram (resets counted); inc is what the next sequence number should
 * have grown by. */
uint32_t domain_sequence(struct parser *p, struct domain *d, uint32_t seq,
    uint32_t inc);
void domain_sequence_unknown(struct domain *d);

/* Data before its template (held.c) */
void held_add(struct parser *p, struct domain *d, uint16_t template_id,
    struct cursor *set, const struct parser_source *src,
    const struct time_base *tb);
/* Decodes what waited for templates that came in the datagram just
 * decoded; called once the whole datagram is, so that what its options
 * data announced (systemInitTimeMilliseconds) applies to held data too. */
void held_release(struct parser *p, struct domain *d);
void held_drop_domain(struct parser *p, struct domain *d);
/* d just stored the template of key: other sessions of its exporter
 * whose held data waits for it take it over (held.c). */
void held_adopt(struct parser *p, struct domain *d, const struct tkey *key,
    const struct parser_source *src);
void held_free_all(struct parser *p);

/* Options data (options.c) */
void options_learn(struct parser *p, struct domain *d,
    const struct flow_record *rec);
void options_apply(struct parser *p, const struct domain *d,
    struct flow_record *rec);
/* Whether options_apply() can add anything to d's records: most domains
 * announce nothing, and their records skip the call. */
static inline bool
options_any(const struct domain *d)
{
	return d->has_sampling || d->nsamplers > 0 || d->nifnames > 0;
}
bool ifname_set(struct parser *p, struct domain *d, uint32_t index,
    const uint8_t *name, size_t len);
void ifname_drop_domain(struct parser *p, struct domain *d);
/* What from's options announced, for a session that announced nothing
 * (template_borrow()). */
void options_copy(struct parser *p, struct domain *to,
    const struct domain *from);
size_t ifname_buckets_size(size_t max);

/* Fills core/slot/ie of a field from its (pen, id, len). */
void tfield_classify(struct tfield *f, bool options);

/* Decides each field's op and the template's fixed, min_len and masks
 * (for tcache_put(), once the fields are in place). */
void record_plan(struct template *t);
/* Decodes one record of template t; false when it does not fit. */
bool record_decode(struct parser *p, const struct template *t,
    struct cursor *c, const struct time_base *tb, struct flow_record *rec);
/* Decodes every record of a data set; returns records delivered. */
size_t record_decode_set(struct parser *p, const struct template *t,
    struct domain *d, struct cursor *set, const struct time_base *tb,
    struct flow_record *rec);
/* Decodes a data set with template t (which must be d's). */
size_t record_template_set(struct parser *p, struct domain *d,
    const struct template *t, struct cursor *set, const struct time_base *tb,
    const struct parser_source *src);
/* Looks up the data set's template (key->id is the set id) and decodes,
 * or holds the set until the template comes. */
size_t record_data_set(struct parser *p, struct domain *d, struct cursor *set,
    const struct tkey *key, const struct time_base *tb,
    const struct parser_source *src);
/* Delivers a decoded record to the caller. */
void record_deliver(struct parser *p, struct flow_record *rec);
/* Stores a parsed template; false (and a drop) when it cannot be used. */
bool template_store(struct parser *p, struct domain *d,
    const struct parser_source *src, const struct tkey *key, bool options,
    uint16_t nfields, bool too_many);
void record_reset(struct flow_record *rec);
void record_finish(struct flow_record *rec);

size_t netflow_v1_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src);
size_t netflow_v5_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src);
size_t netflow_v7_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src);
size_t v9_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src);
size_t ipfix_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src);
/* c is past the first 16 bits (zero) of the 32-bit version (sflow.c) */
size_t sflow_decode(struct parser *p, struct cursor *c,
    const struct parser_source *src);
/* sample sequences per source (sflow-sources.c) */
size_t sflow_sources_size(size_t max);
void sflow_sources_free(struct parser *p);

#endif
