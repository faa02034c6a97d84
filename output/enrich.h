/*
 * enrich: AS numbers and names, countries and interface names added to
 * each record on the render thread, from MaxMind-format databases
 * (libmaxminddb, memory-mapped) and an interfaces CSV. One struct enrich
 * is one generation of those files: built and checked completely before
 * it is handed to the render threads (reference counted), so a reload or
 * a database replaced on disk switches at a record boundary, and a bad
 * file keeps the old generation running.
 */
#ifndef NETFLOWD_ENRICH_H
#define NETFLOWD_ENRICH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum enrich_as_source {
	ENRICH_AS_EXPORTER_THEN_DATABASE,   /* the default */
	ENRICH_AS_EXPORTER,
	ENRICH_AS_DATABASE,
};

struct enrich_config {
	const char *asn_database, *country_database, *interfaces;   /* or NULL */
	enum enrich_as_source as_source;
	/* field paths inside a record: "a/b" for nested maps, alternatives
	 * separated by ","; NULL: the defaults (GeoLite2, DB-IP lite, IPinfo) */
	const char *asn_field, *as_name_field, *country_field;
	/* for messages: the config file and the line of each file's key */
	const char *config_path;
	int asn_line, country_line, interfaces_line;
};

#define ENRICH_ASN_FIELD "autonomous_system_number,asn"
#define ENRICH_AS_NAME_FIELD "autonomous_system_organization,as_name"
#define ENRICH_COUNTRY_FIELD "country/iso_code,country_code,country"

struct enrich;

/* Opens and checks every file; NULL with *err ("file:line: PATH: why",
 * allocated) when one is missing, unreadable, empty, truncated or not a
 * database (libmaxminddb's message), or the CSV has a bad line. */
struct enrich *enrich_new(const struct enrich_config *cfg, char **err);
void enrich_ref(struct enrich *e);
/* The last reference closes the databases. NULL: no-op. */
void enrich_unref(struct enrich *e);
/* Any of e's files replaced or changed on disk since it was opened (inode,
 * size, mtime): geoipupdate renames a new file into place. */
bool enrich_changed(const struct enrich *e);
/* The same signature, for a caller remembering a failed attempt: fills
 * sig (as many as ENRICH_SIG_WORDS) with what the files are now. */
#define ENRICH_SIG_WORDS 12
void enrich_signature(const struct enrich_config *cfg,
    uint64_t sig[ENRICH_SIG_WORDS]);
const uint64_t *enrich_opened_signature(const struct enrich *e);

/* Counters of the render threads, in struct output_stats. */
struct enrich_counters {
	uint64_t lookups;        /* addresses looked up in a database */
	uint64_t cache_hits;     /* addresses answered by the cache */
	uint64_t lookup_errors;  /* a database's answer unreadable (corrupt) */
	uint64_t records;        /* records that got at least one value */
};

#endif
