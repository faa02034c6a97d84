#include "geodb.h"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "oatab.h"

#ifdef HAVE_MAXMINDDB

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct geodb {
	MMDB_s asn, country;
	bool have_asn, have_country;
};

/* Direct-mapped: a miss costs one lookup in each database, a hit none. */
#define CACHE_SLOTS 4096

struct answer {
	struct addr a;		/* family 0: slot empty */
	uint32_t asn;
	uint32_t as_name;
	uint16_t country;
};

struct geodb_cache {
	struct answer slot[CACHE_SLOTS];
};

static bool
open_one(MMDB_s *m, const char *opt, const char *path, char **err)
{
	errno = 0;
	int rc = MMDB_open(path, MMDB_MODE_MMAP, m);
	int e = errno;
	char buf[600];

	if (rc == MMDB_SUCCESS)
		return true;
	snprintf(buf, sizeof(buf), "%s %s: %s", opt, path,
	    (rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR) && e ? strerror(e) : MMDB_strerror(rc));
	*err = strdup(buf);
	return false;
}

struct geodb *
geodb_open(const char *asn_path, const char *country_path, char **err)
{
	struct geodb *db = calloc(1, sizeof(*db));

	*err = NULL;
	if (!db) {
		*err = strdup("out of memory");
		return NULL;
	}
	if (asn_path && !(db->have_asn = open_one(&db->asn, "--asn-db", asn_path, err)))
		goto fail;
	if (country_path &&
	    !(db->have_country = open_one(&db->country, "--country-db", country_path, err)))
		goto fail;
	return db;
fail:
	geodb_free(db);
	return NULL;
}

void
geodb_free(struct geodb *db)
{
	if (!db)
		return;
	if (db->have_asn)
		MMDB_close(&db->asn);
	if (db->have_country)
		MMDB_close(&db->country);
	free(db);
}

struct geodb_cache *
geodb_cache_new(void)
{
	return calloc(1, sizeof(struct geodb_cache));
}

void
geodb_cache_free(struct geodb_cache *c)
{
	free(c);
}

static bool
lookup(const MMDB_s *m, const struct addr *a, MMDB_entry_s *entry)
{
	struct sockaddr_storage ss;
	int mmdb = 0;

	memset(&ss, 0, sizeof(ss));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->bytes, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->bytes, 16);
	}
	/* MMDB_lookup_sockaddr takes a non-const MMDB_s but only reads it */
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr((MMDB_s *)m, (struct sockaddr *)&ss, &mmdb);
	if (mmdb != MMDB_SUCCESS || !r.found_entry)
		return false;
	*entry = r.entry;
	return true;
}

/* The value at path (NULL-terminated), or has_data false. */
static MMDB_entry_data_s
value(MMDB_entry_s *e, const char *const *path)
{
	MMDB_entry_data_s d;

	memset(&d, 0, sizeof(d));
	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS)
		d.has_data = false;
	return d;
}

/* "AS15169", "15169" or a number, as a uint32; 0 if none. */
static uint32_t
as_number(const MMDB_entry_data_s *d)
{
	if (!d->has_data)
		return 0;
	switch (d->type) {
	case MMDB_DATA_TYPE_UINT16: return d->uint16;
	case MMDB_DATA_TYPE_UINT32: return d->uint32;
	case MMDB_DATA_TYPE_UINT64: return d->uint64 <= UINT32_MAX ? (uint32_t)d->uint64 : 0;
	case MMDB_DATA_TYPE_INT32: return d->int32 > 0 ? (uint32_t)d->int32 : 0;
	case MMDB_DATA_TYPE_UTF8_STRING: break;
	default: return 0;
	}
	const char *s = d->utf8_string;
	size_t n = d->data_size, i = 0;
	uint64_t v = 0;
	if (n >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
		i = 2;
	if (i == n || n - i > 10)
		return 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v <= UINT32_MAX ? (uint32_t)v : 0;
}

static const char *const p_asn[] = { "autonomous_system_number", NULL };
static const char *const p_asn_ipinfo[] = { "asn", NULL };
static const char *const p_org[] = { "autonomous_system_organization", NULL };
static const char *const p_org_ipinfo[] = { "as_name", NULL };
static const char *const *const p_country[] = {
	(const char *const[]){ "country", "iso_code", NULL },
	(const char *const[]){ "registered_country", "iso_code", NULL },
	(const char *const[]){ "country_code", NULL },
	(const char *const[]){ "country", NULL },
};

static void
asn_answer(const MMDB_s *m, const struct addr *a, struct answer *ans)
{
	MMDB_entry_s e;

	if (!lookup(m, a, &e))
		return;
	MMDB_entry_data_s d = value(&e, p_asn);
	if (!(ans->asn = as_number(&d))) {
		d = value(&e, p_asn_ipinfo);
		ans->asn = as_number(&d);
	}
	d = value(&e, p_org);
	if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
		d = value(&e, p_org_ipinfo);
	if (d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
		ans->as_name = intern(d.utf8_string, d.data_size);
}

static void
country_answer(const MMDB_s *m, const struct addr *a, struct answer *ans)
{
	MMDB_entry_s e;

	if (!lookup(m, a, &e))
		return;
	for (size_t i = 0; i < sizeof(p_country) / sizeof(p_country[0]) && !ans->country; i++) {
		MMDB_entry_data_s d = value(&e, p_country[i]);
		if (d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
			ans->country = intern_country(d.utf8_string, d.data_size);
	}
}

static const struct answer *
answer(const struct geodb *db, struct geodb_cache *c, const struct addr *a)
{
	struct answer *s = &c->slot[oatab_hash(a, sizeof(*a)) & (CACHE_SLOTS - 1)];

	if (s->a.family && memcmp(&s->a, a, sizeof(*a)) == 0)
		return s;
	memset(s, 0, sizeof(*s));
	if (db->have_asn)
		asn_answer(&db->asn, a, s);
	if (db->have_country)
		country_answer(&db->country, a, s);
	s->a = *a;
	return s;
}

static void
fill(const struct answer *ans, uint32_t *asn, uint32_t *name, uint16_t *country)
{
	if (!*asn)
		*asn = ans->asn;
	if (!*name && *asn && *asn == ans->asn)
		*name = ans->as_name;
	if (!*country)
		*country = ans->country;
}

void
geodb_enrich(const struct geodb *db, struct geodb_cache *c, struct flow *f)
{
	if (f->src.family && (!f->src_as || !f->src_as_name || !f->src_country))
		fill(answer(db, c, &f->src), &f->src_as, &f->src_as_name, &f->src_country);
	if (f->dst.family && (!f->dst_as || !f->dst_as_name || !f->dst_country))
		fill(answer(db, c, &f->dst), &f->dst_as, &f->dst_as_name, &f->dst_country);
}

#else

struct geodb *
geodb_open(const char *asn_path, const char *country_path, char **err)
{
	(void)asn_path;
	(void)country_path;
	*err = strdup("--asn-db and --country-db need libmaxminddb, and this netflow-analyze "
	    "was built without it (meson -Dmaxminddb=enabled)");
	return NULL;
}

void geodb_free(struct geodb *db) { (void)db; }
struct geodb_cache *geodb_cache_new(void) { return NULL; }
void geodb_cache_free(struct geodb_cache *c) { (void)c; }
void geodb_enrich(const struct geodb *db, struct geodb_cache *c, struct flow *f)
{
	(void)db; (void)c; (void)f;
}

#endif
