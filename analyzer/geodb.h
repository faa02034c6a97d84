/* geodb: --asn-db and --country-db, the collector's [enrich] at read time
 * for files written without it (libmaxminddb, memory-mapped).
 *
 * The databases are opened once and read by every thread (libmaxminddb's
 * lookups only read the map); each reader keeps its own cache of recent
 * addresses, since flows repeat addresses far more than they vary.
 *
 * A flow keeps what it carries: the AS comes from the database only where
 * the record has none (0), the AS name only where the record has none and
 * the AS is the database's, the country only where the record has none.
 * Field paths, tried in order (the first that holds a value wins):
 *   AS number  autonomous_system_number (GeoLite2-ASN, DB-IP lite ASN),
 *              asn ("AS15169" or a number: IPinfo)
 *   AS name    autonomous_system_organization, as_name
 *   country    country.iso_code (GeoLite2-Country, DB-IP lite),
 *              registered_country.iso_code (GeoLite2 where the address has
 *              no country), country_code (IPinfo lite), country (IPinfo's
 *              country_asn: a two-letter code) */
#ifndef ANALYZER_GEODB_H
#define ANALYZER_GEODB_H

#include <stdbool.h>

#include "flow.h"

struct geodb;
struct geodb_cache;

/* NULL with *err (allocated, for a human) when a file does not open or
 * this build has no libmaxminddb; either path may be NULL. */
struct geodb *geodb_open(const char *asn_path, const char *country_path, char **err);
void geodb_free(struct geodb *db);
struct geodb_cache *geodb_cache_new(void);
void geodb_cache_free(struct geodb_cache *c);
/* Fills in what f lacks from the databases. */
void geodb_enrich(const struct geodb *db, struct geodb_cache *c, struct flow *f);

#endif
