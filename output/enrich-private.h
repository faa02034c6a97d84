/* The pieces of the enrichment (output/enrich.h), for the render thread
 * and the tests. */
#ifndef NETFLOWD_ENRICH_PRIVATE_H
#define NETFLOWD_ENRICH_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enrich.h"
#include "parser.h"

/* ---- geodb.c: one MaxMind-format database ---- */

struct geodb;

/* A field path list as enrich_config has it, parsed. */
#define GEODB_PATHS 4
#define GEODB_DEPTH 4
struct geodb_paths {
	size_t n;
	const char *path[GEODB_PATHS][GEODB_DEPTH + 1];   /* NULL-terminated */
	char *text;              /* what the pointers point into */
};
int geodb_paths_parse(struct geodb_paths *p, const char *spec, char **err);
void geodb_paths_finish(struct geodb_paths *p);

/* NULL with *err = "PATH: why" (allocated). */
struct geodb *geodb_open(const char *path, char **err);
void geodb_close(struct geodb *db);

/* What one record of a database says; strings point into the mapped
 * database (valid while it is open), not NUL-terminated. */
struct geodb_answer {
	bool has_asn;
	uint32_t asn;
	const char *name;
	size_t name_len;
	char country[2];
	bool has_country;
};
/* Where a is in the database's tree: 1 with *offset (its record, for
 * geodb_record), 0 when the tree has no record for it, -1: the database
 * is corrupt there. *prefix: the length of the network that holds for (in
 * the address's own bits; 128 for an address of a family the database
 * lacks): every address in it has the same record. */
int geodb_find(struct geodb *db, const struct parser_addr *a,
    uint32_t *offset, uint8_t *prefix);
/* The values of the record at offset into *ans (which the caller zeroed):
 * num: asn/name from num/name; country: the country. 0, or -1: the
 * database is corrupt there. Many networks share one record (all of an
 * AS's, all of a country's), so callers cache by offset. */
int geodb_record(struct geodb *db, uint32_t offset,
    const struct geodb_paths *num, const struct geodb_paths *name,
    const struct geodb_paths *country, struct geodb_answer *ans);

/* ---- ifcsv.c: the interfaces CSV ---- */

struct iftable;
struct ifentry {
	struct parser_addr exporter;
	uint32_t ifindex;
	uint64_t speed;          /* bits/s, 0: not given */
	char *name, *description;
};
/* The text of a file (len bytes, NUL or not). NULL with *err ("line N:
 * why", allocated). An empty table is fine. */
struct iftable *ifcsv_parse(const char *text, size_t len, char **err);
void iftable_free(struct iftable *t);
size_t iftable_size(const struct iftable *t);
/* The i-th entry (i < iftable_size), in key order. */
const struct ifentry *iftable_entry(const struct iftable *t, size_t i);
const struct ifentry *iftable_find(const struct iftable *t,
    const struct parser_addr *exporter, uint32_t ifindex);

/* ---- enrich.c: what the render thread calls ---- */

/* An AS name: the JSON string already (quotes, escapes), as the cache
 * keeps it, or (json false) as the database has it. s NULL: none. */
struct enrich_name {
	const char *s;
	size_t len;
	bool json;
};

/* Valid until the next enrich_record with the same cache. */
struct enrich_values {
	bool src_as_set, dst_as_set;     /* rec->num[] filled from the database */
	struct enrich_name src_as_name, dst_as_name;
	char src_country[2], dst_country[2];     /* [0] == 0: none */
	const struct ifentry *in_if, *out_if;    /* from the CSV, or NULL */
	bool any;
};

/* One render thread's cache of recent lookups. */
struct enrich_cache;
struct enrich_cache *enrich_cache_new(void);
void enrich_cache_free(struct enrich_cache *c);
/* The values of rec (a data record; others get none) under e: may fill
 * rec's src_as/dst_as (as_source). Lookups go through the cache. */
void enrich_record(struct enrich *e, struct enrich_cache *c,
    struct flow_record *rec, struct enrich_values *v,
    struct enrich_counters *n);

#endif
