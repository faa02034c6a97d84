/*
 * One generation of the enrichment files, and what the render thread does
 * per record: each distinct address is looked up once in a small
 * direct-mapped cache of the thread's (keyed by the address and the
 * generation, so a new generation never answers from the old one's), and
 * only on a miss in the databases. Nothing is allocated per record; names
 * point into the mapped database, which the generation keeps open while
 * any render thread holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich-private.h"

#define CACHE_LOG2 12
/* parser/options.c: in_if_name (1) and out_if_name (2) from options data */
#define ENRICH_PEN_NETFLOWD 0xffffffffu
#define CACHE_SIZE (1u << CACHE_LOG2)
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

/* An answer that holds for a whole /24 (IPv4) or /48 (IPv6) is cached
 * once for that network, so that its hosts share one entry: most of the
 * Internet is announced in networks that large. One level: a hit costs
 * one probe (a /16 level as well bought 0.7 % more hits in bench/run-bench
 * --enrich and cost a probe per address, each a likely cache-line miss). */
#define LEVELS 1
static const uint8_t wide4[LEVELS] = { 24 }, wide6[LEVELS] = { 48 };

struct cache_entry {
	uint64_t generation;     /* 0: empty */
	uint8_t wide;            /* 0: addr is one address; else the prefix
	                          * length of the network addr is */
	struct parser_addr addr;
	struct geodb_answer ans;
};

struct enrich_cache {
	struct cache_entry e[CACHE_SIZE];
};

/* at most one cache line each (the table is aligned to them): a probe is one
 * line, and the table is missed more than it is hit on a busy thread */
_Static_assert(sizeof(struct cache_entry) <= 64, "a cache entry is a line");

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

	if (c != NULL)
		memset(c, 0, sizeof(*c));
	return c;
}

void
enrich_cache_free(struct enrich_cache *c)
{
	free(c);
}

static inline uint32_t
addr_hash(const struct parser_addr *a, uint8_t wide)
{
	uint64_t x, y;

	memcpy(&x, a->bytes, 8);
	memcpy(&y, a->bytes + 8, 8);
	x = (x ^ y * 0x9e3779b97f4a7c15ull ^ a->family ^ (uint64_t)wide << 8) *
	    0xff51afd7ed558ccdull;
	return (uint32_t)(x >> (64 - CACHE_LOG2));
}

static inline bool
is(const struct cache_entry *ce, const struct enrich *e,
    const struct parser_addr *a, uint8_t wide)
{
	return ce->generation == e->generation && ce->wide == wide &&
	    ce->addr.family == a->family &&
	    memcmp(ce->addr.bytes, a->bytes, 16) == 0;
}

/* Both databases' answers for a, and the network they hold for. */
static void
look_up(struct enrich *e, const struct parser_addr *a,
    struct geodb_answer *ans, struct enrich_counters *n)
{
	memset(ans, 0, sizeof(*ans));
	ans->prefix = 128;
	n->lookups++;
	if (e->asn && geodb_lookup(e->asn, a, &e->num, &e->name,
	    e->country == NULL ? &e->cc : NULL, ans) < 0) {
		n->lookup_errors++;
		memset(ans, 0, sizeof(*ans));
		ans->prefix = 128;
	}
	if (e->country) {
		struct geodb_answer cc = { .prefix = 128 };

		if (geodb_lookup(e->country, a, NULL, NULL, &e->cc, &cc) < 0) {
			n->lookup_errors++;
			cc.has_country = false;
			cc.prefix = 128;
		}
		ans->has_country = cc.has_country;
		memcpy(ans->country, cc.country, 2);
		if (cc.prefix < ans->prefix)
			ans->prefix = cc.prefix;
	}
}

static const struct geodb_answer *
answer(struct enrich *e, struct enrich_cache *c, const struct parser_addr *a,
    struct enrich_counters *n)
{
	const uint8_t *wide = a->family == 4 ? wide4 : wide6;
	struct parser_addr net[LEVELS];
	struct cache_entry *ce;
	struct geodb_answer ans;
	int level;

	for (level = 0; level < LEVELS; level++) {
		memset(&net[level], 0, sizeof(net[level]));
		net[level].family = a->family;
		memcpy(net[level].bytes, a->bytes, wide[level] / 8);
		ce = &c->e[addr_hash(&net[level], wide[level])];
		if (is(ce, e, &net[level], wide[level])) {
			n->cache_hits++;
			return &ce->ans;
		}
	}
	ce = &c->e[addr_hash(a, 0)];
	if (is(ce, e, a, 0)) {
		n->cache_hits++;
		return &ce->ans;
	}
	look_up(e, a, &ans, n);
	for (level = 0; level < LEVELS && ans.prefix > wide[level]; level++)
		;
	if (level < LEVELS) {
		ce = &c->e[addr_hash(&net[level], wide[level])];
		ce->wide = wide[level];
		ce->addr = net[level];
	} else {
		ce->wide = 0;
		ce->addr = *a;
	}
	ce->generation = e->generation;
	ce->ans = ans;
	return &ce->ans;
}

/* The record's number, the database's, or the one after the other; the
 * name goes with the database's number only (it names that AS). */
static void
as_of(struct enrich *e, struct flow_record *rec, int k,
    const struct geodb_answer *a, bool *set, const char **name,
    size_t *name_len)
{
	bool has = (rec->has_num & (1u << k)) && rec->num[k] != 0;

	if (!a->has_asn)
		return;
	if (e->as_source == ENRICH_AS_DATABASE ||
	    (e->as_source == ENRICH_AS_EXPORTER_THEN_DATABASE && !has)) {
		*set = !has || rec->num[k] != a->asn;
		rec->num[k] = a->asn;
		rec->has_num |= 1u << k;
	}
	if (rec->num[k] == a->asn && (rec->has_num & (1u << k))) {
		*name = a->name;
		*name_len = a->name_len;
	}
}

void
enrich_record(struct enrich *e, struct enrich_cache *c,
    struct flow_record *rec, struct enrich_values *v,
    struct enrich_counters *n)
{
	const struct geodb_answer *a;

	memset(v, 0, sizeof(*v));
	if (rec->kind != FLOW_KIND_DATA)
		return;
	if (e->asn || e->country) {
		if (rec->has_addr & (1u << FLOW_SRC_ADDR)) {
			a = answer(e, c, &rec->addr[FLOW_SRC_ADDR], n);
			as_of(e, rec, FLOW_SRC_AS, a, &v->src_as_set,
			    &v->src_as_name, &v->src_as_name_len);
			if (a->has_country)
				memcpy(v->src_country, a->country, 2);
		}
		if (rec->has_addr & (1u << FLOW_DST_ADDR)) {
			a = answer(e, c, &rec->addr[FLOW_DST_ADDR], n);
			as_of(e, rec, FLOW_DST_AS, a, &v->dst_as_set,
			    &v->dst_as_name, &v->dst_as_name_len);
			if (a->has_country)
				memcpy(v->dst_country, a->country, 2);
		}
	}
	if (e->ifs) {
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
	v->any = v->src_as_set || v->dst_as_set || v->src_as_name ||
	    v->dst_as_name || v->src_country[0] || v->dst_country[0] ||
	    v->in_if || v->out_if;
	if (v->any)
		n->records++;
}
