#ifndef NETFLOWD_PARSER_PRIVATE_H
#define NETFLOWD_PARSER_PRIVATE_H

#include "cursor.h"
#include "parser.h"

#define VARLEN 0xffff

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
};

struct tfield {
	uint32_t pen;
	uint16_t id;
	uint16_t len;        /* VARLEN for IPFIX variable-length */
	uint8_t flags;       /* enum flow_field_flag */
	uint8_t core;        /* enum core_kind */
	uint8_t slot;
	bool time_end;
	const struct ie_info *ie;
};

enum tproto { TPROTO_V9 = 9, TPROTO_IPFIX = 10 };

struct tkey {
	struct parser_addr exporter;
	uint32_t domain;
	uint16_t id;
	uint8_t proto;       /* enum tproto: v9 and IPFIX caches are apart */
};

struct template {
	struct tkey key;
	struct template *hnext;
	struct template *lru_prev, *lru_next;
	bool options;
	uint16_t nfields;
	size_t min_len;      /* smallest record: fixed lengths + 1 per VARLEN */
	struct tfield fields[];
};

struct tcache;

struct tcache *tcache_new(size_t max);
void tcache_free(struct tcache *tc);
struct template *tcache_get(struct tcache *tc, const struct tkey *key);
/* Adds or replaces; evicts the least recently used when full. */
struct template *tcache_put(struct tcache *tc, const struct tkey *key,
    bool options, const struct tfield *fields, uint16_t nfields);
void tcache_remove(struct tcache *tc, const struct tkey *key);
/* IPFIX withdraw-all: every template of one exporter and domain. */
void tcache_remove_domain(struct tcache *tc, const struct tkey *key,
    bool options);
size_t tcache_count(const struct tcache *tc);

/* Fills core/slot/ie of a field from its (pen, id, len). */
void tfield_classify(struct tfield *f, bool scope);

/* What a record's time fields are relative to. */
struct time_base {
	int64_t export_ms;   /* header export time */
	uint32_t uptime_ms;  /* exporter uptime at export_ms (v9) */
	bool has_uptime;
};

struct parser {
	struct parser_limits limits;
	struct parser_ops ops;
	void *arg;
	struct tcache *templates;
	struct flow_record rec;
	struct flow_field *extra;   /* limits.max_fields entries */
	struct tfield *scratch;     /* template fields while parsing */
};

void parser_drop(struct parser *p, const struct parser_source *src,
    enum parser_drop why, uint32_t count);

/* Decodes one record of template t; false when it does not fit. */
bool record_decode(struct parser *p, const struct template *t,
    struct cursor *c, const struct time_base *tb, struct flow_record *rec);
/* Decodes every record of a data set; returns records delivered. */
size_t record_decode_set(struct parser *p, const struct template *t,
    struct cursor *set, const struct time_base *tb, struct flow_record *rec);
/* Looks up the data set's template (key->id is the set id) and decodes. */
size_t record_data_set(struct parser *p, struct cursor *set,
    const struct tkey *key, const struct time_base *tb,
    const struct parser_source *src);
/* Stores a parsed template; false (and a drop) when it cannot be used. */
bool template_store(struct parser *p, const struct parser_source *src,
    const struct tkey *key, bool options, uint16_t nfields, bool too_many);
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

#endif
