/*
 * One generation of the enrichment files, and what the render thread does
 * per record: each distinct address (or /24, /48 network) is looked up once
 * in a small direct-mapped cache of the thread's, and only on a miss in the
 * databases; a miss walks the database's tree only, when the record it
 * finds (many networks share one: all of an AS's, all of a country's) is in
 * the thread's cache of records already. That one keeps the AS name as the
 * JSON string the lines carry (escaped once, copied per line). A thread's
 * caches hold one generation's answers: a new generation empties them.
 * Nothing is allocated per record; names not kept rendered point into the
 * mapped database, which the generation keeps open while any render thread
 * holds it.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich-private.h"
#include "output-private.h"

/* parser/options.c: in_if_name (1) and out_if_name (2) from options data */
#define ENRICH_PEN_NETFLOWD 0xffffffffu
/* an interfaces file larger than this is not a list of interfaces */
#define IFCSV_MAX (64u << 20)

struct enrich {
	atomic_uint refs;
	uint64_t generation;     /* unique per process */
	enum enrich_as_source as_source;
	struct geodb *asn, *country;
	struct iftable *ifs;
	struct geodb_paths num, name, cc;
	struct enrich_config cfg;        /* paths: copies owned here */
	char *paths[3];
	uint64_t sig[ENRICH_SIG_WORDS];
};

/*
 * A render thread's caches, direct-mapped:
 * - addresses: an answer that holds for a whole /24 (IPv4) or /48 (IPv6)
 *   is kept once for that network, so that its hosts share one entry
 *   (most of the Internet is announced in networks that large); else for
 *   the address. One level: a hit costs one probe (a /16 level as well
 *   bought 0.7 % more hits in bench/run-bench --enrich and cost a probe per
 *   address, each a likely cache-line miss). An entry has all a line needs
 *   of the address (number, country, where the name's JSON is): a hit
 *   reads one entry and nothing else. 8192 entries of 32 bytes: 256 KiB.
 * - AS records, by their offset in the ASN database's data section (many
 *   networks share one): a miss of the first level then costs only the
 *   walk down the database's tree. 4096 sets of two (a set is a line).
 * - the names as the JSON strings the lines carry (escaped once, a memcpy
 *   per line), in a store that is emptied with the AS records when it
 *   fills up; only ever between two records, so that a line's names stay
 *   where they are until it is rendered. An address entry names the
 *   store's epoch its name is from: one from before is a miss.
 * - countries, by their record's offset in the country database.
 * All of it holds one generation's answers: a new one empties it.
 */
#define CACHE_LOG2 13
#define WIDE4 24
#define WIDE6 48
#define SETS_LOG2 12
#define COUNTRIES_LOG2 10
#define NAMES_SIZE (256u << 10)
/* a name longer than this as JSON is rendered per line, as found */
#define NAME_JSON_MAX 2048u

/* HAS_JSON: the name is at .name in the store; HAS_RAW: it is not
 * rendered (too long), .name is its AS record's offset */
enum { HAS_ASN = 1, HAS_CC = 2, HAS_JSON = 4, HAS_RAW = 8 };

/* the tag of an address entry: 0 is empty */
#define TAG(family, wide) ((uint16_t)(0x8000u | (family) << 8 | (wide)))

struct cache_entry {
	uint64_t key[2];         /* the address, or its network (masked) */
	uint32_t asn;
	uint32_t name;           /* see HAS_JSON, HAS_RAW */
	uint16_t tag;            /* TAG(family, 0 or the network's length) */
	uint16_t name_len;       /* HAS_JSON */
	uint8_t has;             /* HAS_* */
	uint8_t epoch;           /* HAS_JSON: the store's */
	char country[2];
};
_Static_assert(sizeof(struct cache_entry) == 32, "two entries a line");

struct as_record {
	const char *raw;         /* the name as found; NULL: none */
	uint32_t offset;
	uint32_t asn;
	uint32_t raw_len;
	uint32_t json_at;        /* in the store */
	uint16_t json_len;       /* 0: not rendered (raw is used) */
	uint8_t used;
	uint8_t has;             /* HAS_ASN, HAS_CC (no country database) */
	char country[2];
};
_Static_assert(sizeof(struct as_record) == 32, "a set is a line");

struct cc_record {
	uint32_t offset;
	uint8_t used, has;
	char country[2];
};

struct enrich_cache {
	/* on lines; and aligned_alloc wants a size that is a multiple */
	_Alignas(64) struct cache_entry e[1u << CACHE_LOG2];
	struct as_record as[1u << SETS_LOG2][2];
	struct cc_record cc[1u << COUNTRIES_LOG2];
	uint64_t generation;     /* the entries' (0: none yet) */
	size_t names_used;
	uint8_t epoch;           /* the store's, counted up when it empties */
	char names[NAMES_SIZE];
	struct json_writer *json;        /* renders the names */
};

static atomic_uint_fast64_t generations = 1;

static char *
where(const struct enrich_config *cfg, int line, const char *key,
    const char *msg)
{
	char *s;
	int rc = cfg->config_path && line > 0 ?
	    asprintf(&s, "%s:%d: %s: %s", cfg->config_path, line, key, msg) :
	    asprintf(&s, "%s: %s", key, msg);

	return rc < 0 ? NULL : s;
}

static void
stat_one(const char *path, uint64_t *w)
{
	struct stat st;

	w[0] = w[1] = w[2] = w[3] = 0;
	if (path == NULL || stat(path, &st) < 0)
		return;
	w[0] = (uint64_t)st.st_ino ^ (uint64_t)st.st_dev << 48;
	w[1] = (uint64_t)st.st_size;
	w[2] = (uint64_t)st.st_mtim.tv_sec;
	w[3] = (uint64_t)st.st_mtim.tv_nsec;
}

void
enrich_signature(const struct enrich_config *cfg,
    uint64_t sig[ENRICH_SIG_WORDS])
{
	stat_one(cfg->asn_database, sig);
	stat_one(cfg->country_database, sig + 4);
	stat_one(cfg->interfaces, sig + 8);
}

const uint64_t *
enrich_opened_signature(const struct enrich *e)
{
	return e->sig;
}

bool
enrich_changed(const struct enrich *e)
{
	uint64_t now[ENRICH_SIG_WORDS];

	enrich_signature(&e->cfg, now);
	return memcmp(now, e->sig, sizeof(now)) != 0;
}

static struct iftable *
read_interfaces(const char *path, char **err)
{
	struct iftable *t = NULL;
	struct stat st;
	char *buf = NULL, *msg = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > IFCSV_MAX) {
		if (asprintf(err, "%s: %s", path, S_ISREG(st.st_mode) ?
		    "larger than 64 MiB" : "not a regular file") < 0)
			*err = NULL;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (asprintf(err, "%s: %s", path, n < 0 ? strerror(errno) :
			    "shorter than it was a moment ago") < 0)
				*err = NULL;
			goto out;
		}
		len += (size_t)n;
	}
	if ((t = ifcsv_parse(buf, len, &msg)) == NULL &&
	    asprintf(err, "%s: %s", path, msg ? msg : "out of memory") < 0)
		*err = NULL;
out:
	free(msg);
	free(buf);
	if (fd >= 0)
		close(fd);
	return t;
}

static int
copy_path(struct enrich *e, int i, const char **slot)
{
	if (*slot == NULL)
		return 0;
	if ((e->paths[i] = strdup(*slot)) == NULL)
		return -1;
	*slot = e->paths[i];
	return 0;
}

static int
open_files(struct enrich *e, char **err)
{
	const struct enrich_config *cfg = &e->cfg;
	char *msg = NULL;
	int line = 0;
	const char *key = NULL;

	if (cfg->asn_database &&
	    (e->asn = geodb_open(cfg->asn_database, &msg)) == NULL) {
		line = cfg->asn_line;
		key = "asn_database";
	} else if (cfg->country_database &&
	    (e->country = geodb_open(cfg->country_database, &msg)) == NULL) {
		line = cfg->country_line;
		key = "country_database";
	} else if (cfg->interfaces &&
	    (e->ifs = read_interfaces(cfg->interfaces, &msg)) == NULL) {
		line = cfg->interfaces_line;
		key = "interfaces";
	}
	if (key == NULL)
		return 0;
	*err = where(cfg, line, key, msg ? msg : "out of memory");
	free(msg);
	return -1;
}

static int
parse_paths(struct enrich *e, char **err)
{
	const struct enrich_config *cfg = &e->cfg;
	const char *spec[3] = {
		cfg->asn_field ? cfg->asn_field : ENRICH_ASN_FIELD,
		cfg->as_name_field ? cfg->as_name_field : ENRICH_AS_NAME_FIELD,
		cfg->country_field ? cfg->country_field : ENRICH_COUNTRY_FIELD,
	};
	struct geodb_paths *p[3] = { &e->num, &e->name, &e->cc };
	static const char *const keys[3] = { "asn_field", "as_name_field",
	    "country_field" };

	for (int i = 0; i < 3; i++) {
		char *msg = NULL;

		if (geodb_paths_parse(p[i], spec[i], &msg) < 0) {
			*err = where(cfg, 0, keys[i], msg ? msg : "out of memory");
			free(msg);
			return -1;
		}
	}
	return 0;
}

struct enrich *
enrich_new(const struct enrich_config *cfg, char **err)
{
	struct enrich *e = calloc(1, sizeof(*e));

	*err = NULL;
	if (e == NULL)
		goto fail;
	atomic_init(&e->refs, 1);
	e->cfg = *cfg;
	e->cfg.config_path = NULL;
	e->cfg.asn_field = e->cfg.as_name_field = e->cfg.country_field = NULL;
	e->as_source = cfg->as_source;
	if (copy_path(e, 0, &e->cfg.asn_database) < 0 ||
	    copy_path(e, 1, &e->cfg.country_database) < 0 ||
	    copy_path(e, 2, &e->cfg.interfaces) < 0)
		goto fail;
	e->cfg.config_path = cfg->config_path;
	e->cfg.asn_field = cfg->asn_field;
	e->cfg.as_name_field = cfg->as_name_field;
	e->cfg.country_field = cfg->country_field;
	/* the files as they are before they are read: a change while they
	 * are read is seen at the next check */
	enrich_signature(&e->cfg, e->sig);
	if (parse_paths(e, err) < 0 || open_files(e, err) < 0)
		goto fail;
	/* the caller's strings are not kept past here */
	e->cfg.config_path = NULL;
	e->cfg.asn_field = e->cfg.as_name_field = e->cfg.country_field = NULL;
	e->generation = atomic_fetch_add(&generations, 1);
	return e;
fail:
	if (*err == NULL)
		*err = strdup("out of memory");
	enrich_unref(e);
	return NULL;
}

void
enrich_ref(struct enrich *e)
{
	if (e != NULL)
		atomic_fetch_add(&e->refs, 1);
}

void
enrich_unref(struct enrich *e)
{
	if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	geodb_close(e->asn);
	geodb_close(e->country);
	iftable_free(e->ifs);
	geodb_paths_finish(&e->num);
	geodb_paths_finish(&e->name);
	geodb_paths_finish(&e->cc);
	for (int i = 0; i < 3; i++)
		free(e->paths[i]);
	free(e);
}


/* ---- per record, on the render thread ---- */

struct enrich_cache *
enrich_cache_new(void)
{
	struct enrich_cache *c = aligned_alloc(64, sizeof(*c));

	if (c == NULL)
		return NULL;
	memset(c, 0, offsetof(struct enrich_cache, names));
	if ((c->json = json_writer_new()) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
enrich_cache_free(struct enrich_cache *c)
{
	if (c == NULL)
		return;
	json_writer_free(c->json);
	free(c);
}

/* Entries of another generation are no answers. */
static void
empty(struct enrich_cache *c, uint64_t generation)
{
	memset(c->e, 0, sizeof(c->e));
	memset(c->as, 0, sizeof(c->as));
	memset(c->cc, 0, sizeof(c->cc));
	c->names_used = 0;
	c->generation = generation;
}

/* The store of names is full: it starts again, in a new epoch. */
static void
new_epoch(struct enrich_cache *c)
{
	memset(c->as, 0, sizeof(c->as));
	c->names_used = 0;
	/* an address entry of the epoch 256 before would pass for one of
	 * this */
	if (++c->epoch == 0)
		memset(c->e, 0, sizeof(c->e));
}

static inline uint32_t
slot(uint64_t x, int bits)
{
	return (uint32_t)((x * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static inline uint32_t
addr_slot(uint64_t k0, uint64_t k1, uint16_t tag)
{
	return slot(k0 ^ (k1 * 0xff51afd7ed558ccdull) ^ tag, CACHE_LOG2);
}

/* The ASN database's record at offset, decoded into r, its name rendered
 * into the store. */
static int
fill_record(struct enrich *e, struct enrich_cache *c, struct as_record *r,
    uint32_t offset)
{
	struct geodb_answer ans = { 0 };
	size_t len = 0, room = sizeof(c->names) - c->names_used;

	r->used = 0;
	if (geodb_record(e->asn, offset, &e->num, &e->name,
	    e->country == NULL ? &e->cc : NULL, &ans) < 0)
		return -1;
	r->offset = offset;
	r->asn = ans.asn;
	r->has = (uint8_t)((ans.has_asn ? HAS_ASN : 0) |
	    (ans.has_country ? HAS_CC : 0));
	memcpy(r->country, ans.country, 2);
	r->raw = ans.name;
	r->raw_len = (uint32_t)ans.name_len;     /* libmaxminddb's is 32 bits */
	if (r->raw != NULL && r->raw_len < NAME_JSON_MAX)
		len = json_writer_text(c->json, ans.name, ans.name_len,
		    c->names + c->names_used,
		    room < NAME_JSON_MAX ? room : NAME_JSON_MAX);
	r->json_at = (uint32_t)c->names_used;
	r->json_len = (uint16_t)len;
	c->names_used += len;
	r->used = 1;
	return 0;
}

/* The AS record at offset, from the cache or the database (NULL: the
 * database is corrupt there); the last one used first in its set. */
static const struct as_record *
as_record(struct enrich *e, struct enrich_cache *c, uint32_t offset)
{
	struct as_record *set = c->as[slot(offset, SETS_LOG2)], r;

	if (set[0].used && set[0].offset == offset)
		return &set[0];
	if (set[1].used && set[1].offset == offset) {
		r = set[1];
		set[1] = set[0];
		set[0] = r;
		return &set[0];
	}
	set[1] = set[0];
	if (fill_record(e, c, &set[0], offset) < 0)
		return NULL;
	return &set[0];
}

static const struct cc_record *
cc_record(struct enrich *e, struct enrich_cache *c, uint32_t offset)
{
	struct cc_record *r = &c->cc[slot(offset, COUNTRIES_LOG2)];
	struct geodb_answer ans = { 0 };

	if (r->used && r->offset == offset)
		return r;
	r->used = 0;
	if (geodb_record(e->country, offset, NULL, NULL, &e->cc, &ans) < 0)
		return NULL;
	r->offset = offset;
	r->has = ans.has_country;
	memcpy(r->country, ans.country, 2);
	r->used = 1;
	return r;
}

/* Both databases' answers for a into ce's values; returns the length of
 * the network they hold for. */
static uint8_t
look_up(struct enrich *e, struct enrich_cache *c, const struct parser_addr *a,
    struct cache_entry *ce, struct enrich_counters *n)
{
	uint8_t prefix = 128, cc_prefix;
	uint32_t off;
	int rc;

	n->lookups++;
	memset(ce, 0, sizeof(*ce));
	if (e->asn) {
		const struct as_record *r = NULL;

		if ((rc = geodb_find(e->asn, a, &off, &prefix)) > 0 &&
		    (r = as_record(e, c, off)) == NULL)
			rc = -1;
		if (rc < 0) {
			n->lookup_errors++;
			prefix = 128;
		} else if (r != NULL) {
			ce->asn = r->asn;
			ce->has = r->has;
			memcpy(ce->country, r->country, 2);
			if (r->json_len > 0) {
				ce->has |= HAS_JSON;
				ce->name = r->json_at;
				ce->name_len = r->json_len;
				ce->epoch = c->epoch;
			} else if (r->raw != NULL) {
				ce->has |= HAS_RAW;
				ce->name = off;
			}
		}
	}
	if (e->country) {
		const struct cc_record *r = NULL;

		if ((rc = geodb_find(e->country, a, &off, &cc_prefix)) > 0 &&
		    (r = cc_record(e, c, off)) == NULL)
			rc = -1;
		if (rc < 0) {
			n->lookup_errors++;
			cc_prefix = 128;
		}
		ce->has &= (uint8_t)~HAS_CC;
		if (r != NULL && r->has) {
			ce->has |= HAS_CC;
			memcpy(ce->country, r->country, 2);
		}
		if (cc_prefix < prefix)
			prefix = cc_prefix;
	}
	return prefix;
}

/* A miss: a looked up, and kept for its network or itself. */
static __attribute__((noinline)) const struct cache_entry *
miss(struct enrich *e, struct enrich_cache *c, const struct parser_addr *a,
    uint64_t w0, uint8_t wide, uint64_t k0, uint64_t k1,
    struct enrich_counters *n)
{
	struct cache_entry found, *ce;

	if (look_up(e, c, a, &found, n) <= wide) {
		found.tag = TAG(a->family, wide);
		found.key[0] = w0;
		found.key[1] = 0;
	} else {
		found.tag = TAG(a->family, 0);
		found.key[0] = k0;
		found.key[1] = k1;
	}
	ce = &c->e[addr_slot(found.key[0], found.key[1], found.tag)];
	*ce = found;
	return ce;
}

static inline bool
current(const struct enrich_cache *c, const struct cache_entry *ce)
{
	return !(ce->has & HAS_JSON) || ce->epoch == c->epoch;
}

static inline const struct cache_entry *
answer(struct enrich *e, struct enrich_cache *c, const struct parser_addr *a,
    struct enrich_counters *n)
{
	const struct cache_entry *ce;
	uint64_t k0, k1 = 0, w0;
	uint8_t wide;
	uint16_t tag;

	if (a->family == 4) {
		uint32_t x;

		memcpy(&x, a->bytes, 4);
		k0 = x;
		w0 = x & htonl(0xffffff00u);
		wide = WIDE4;
	} else {
		memcpy(&k0, a->bytes, 8);
		memcpy(&k1, a->bytes + 8, 8);
		w0 = k0 & htobe64(0xffffffffffff0000ull);
		wide = WIDE6;
	}
	tag = TAG(a->family, wide);
	ce = &c->e[addr_slot(w0, 0, tag)];
	if (ce->tag == tag && ce->key[0] == w0 && ce->key[1] == 0 &&
	    current(c, ce)) {
		n->cache_hits++;
		return ce;
	}
	tag = TAG(a->family, 0);
	ce = &c->e[addr_slot(k0, k1, tag)];
	if (ce->tag == tag && ce->key[0] == k0 && ce->key[1] == k1 &&
	    current(c, ce)) {
		n->cache_hits++;
		return ce;
	}
	return miss(e, c, a, w0, wide, k0, k1, n);
}

/* The record's number, the database's, or the one after the other; the
 * name goes with the database's number only (it names that AS). */
static inline bool
as_of(struct enrich *e, struct flow_record *rec, int k,
    const struct cache_entry *a, bool *set)
{
	bool has = (rec->has_num & (1u << k)) && rec->num[k] != 0;

	if (!(a->has & HAS_ASN))
		return false;
	if (e->as_source == ENRICH_AS_DATABASE ||
	    (e->as_source == ENRICH_AS_EXPORTER_THEN_DATABASE && !has)) {
		*set = !has || rec->num[k] != a->asn;
		rec->num[k] = a->asn;
		rec->has_num |= 1u << k;
	}
	return rec->num[k] == a->asn && (rec->has_num & (1u << k));
}

/* A name not rendered: as found, from its record. */
static __attribute__((noinline)) void
raw_name(struct enrich *e, struct enrich_cache *c, uint32_t offset,
    struct enrich_name *name)
{
	const struct as_record *r = as_record(e, c, offset);

	if (r != NULL && r->raw != NULL)
		*name = (struct enrich_name){ r->raw, r->raw_len, false };
}

static inline void
values(struct enrich *e, struct enrich_cache *c, struct flow_record *rec,
    int k, const struct cache_entry *a, bool *set, char *country,
    struct enrich_name *name)
{
	if (as_of(e, rec, k, a, set)) {
		if (a->has & HAS_JSON)
			*name = (struct enrich_name){ c->names + a->name,
			    a->name_len, true };
		else if (a->has & HAS_RAW)
			raw_name(e, c, a->name, name);
	}
	if (a->has & HAS_CC)
		memcpy(country, a->country, 2);
}

static void
interfaces(struct enrich *e, const struct flow_record *rec,
    struct enrich_values *v)
{
	bool named_in = false, named_out = false;

	/* names from the exporter's options templates win */
	for (size_t i = 0; i < rec->nextra; i++)
		if (rec->extra[i].pen == ENRICH_PEN_NETFLOWD) {
			named_in |= rec->extra[i].id == 1;
			named_out |= rec->extra[i].id == 2;
		}
	if (!named_in && (rec->has_num & (1u << FLOW_IN_IF)))
		v->in_if = iftable_find(e->ifs, &rec->src->addr,
		    (uint32_t)rec->num[FLOW_IN_IF]);
	if (!named_out && (rec->has_num & (1u << FLOW_OUT_IF)))
		v->out_if = iftable_find(e->ifs, &rec->src->addr,
		    (uint32_t)rec->num[FLOW_OUT_IF]);
}

void
enrich_record(struct enrich *e, struct enrich_cache *c,
    struct flow_record *rec, struct enrich_values *v,
    struct enrich_counters *n)
{
	memset(v, 0, sizeof(*v));
	if (rec->kind != FLOW_KIND_DATA)
		return;
	if (e->asn || e->country) {
		if (c->generation != e->generation)
			empty(c, e->generation);
		/* room for this record's names (one for each address, and
		 * again for a name not rendered whose record was put out):
		 * the store empties only here, between records */
		if (c->names_used > sizeof(c->names) - 4 * NAME_JSON_MAX)
			new_epoch(c);
		/* the source's entry is read before the destination's
		 * lookup may replace it */
		if (rec->has_addr & (1u << FLOW_SRC_ADDR))
			values(e, c, rec, FLOW_SRC_AS,
			    answer(e, c, &rec->addr[FLOW_SRC_ADDR], n),
			    &v->src_as_set, v->src_country, &v->src_as_name);
		if (rec->has_addr & (1u << FLOW_DST_ADDR))
			values(e, c, rec, FLOW_DST_AS,
			    answer(e, c, &rec->addr[FLOW_DST_ADDR], n),
			    &v->dst_as_set, v->dst_country, &v->dst_as_name);
	}
	if (e->ifs)
		interfaces(e, rec, v);
	v->any = v->src_as_set || v->dst_as_set || v->src_as_name.s ||
	    v->dst_as_name.s || v->src_country[0] || v->dst_country[0] ||
	    v->in_if || v->out_if;
	if (v->any)
		n->records++;
}
