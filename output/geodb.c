/*
 * One MaxMind-format database through libmaxminddb, memory-mapped. Opening
 * checks more than MMDB_open does: the search tree must answer a few
 * lookups without an error, so a file cut short or damaged inside (which
 * MMDB_open may accept when its metadata survived) is refused before it
 * replaces a good one.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config.h"
#include "enrich-private.h"

int
geodb_paths_parse(struct geodb_paths *p, const char *spec, char **err)
{
	char *s, *alt, *save = NULL;

	memset(p, 0, sizeof(*p));
	if ((p->text = s = strdup(spec)) == NULL)
		return -1;
	for (alt = strtok_r(s, ",", &save); alt != NULL;
	    alt = strtok_r(NULL, ",", &save)) {
		char *part, *save2 = NULL;
		size_t depth = 0;

		if (p->n == GEODB_PATHS) {
			if (asprintf(err, "'%s': at most %d alternatives", spec,
			    GEODB_PATHS) < 0)
				*err = NULL;
			goto fail;
		}
		for (part = strtok_r(alt, "/", &save2); part != NULL;
		    part = strtok_r(NULL, "/", &save2)) {
			if (depth == GEODB_DEPTH) {
				if (asprintf(err, "'%s': at most %d levels", spec,
				    GEODB_DEPTH) < 0)
					*err = NULL;
				goto fail;
			}
			p->path[p->n][depth++] = part;
		}
		if (depth > 0)
			p->path[p->n++][depth] = NULL;
	}
	if (p->n == 0) {
		if (asprintf(err, "'%s': no field path", spec) < 0)
			*err = NULL;
		goto fail;
	}
	return 0;
fail:
	geodb_paths_finish(p);
	return -1;
}

void
geodb_paths_finish(struct geodb_paths *p)
{
	free(p->text);
	memset(p, 0, sizeof(*p));
}

#ifndef HAVE_MAXMINDDB
/* built without libmaxminddb: [enrich] databases are refused at start */
struct geodb *
geodb_open(const char *path, char **err)
{
	if (asprintf(err, "%s: netflowd was built without libmaxminddb "
	    "(meson -Dmaxminddb=enabled)", path) < 0)
		*err = NULL;
	return NULL;
}

void
geodb_close(struct geodb *db)
{
	(void)db;
}

int
geodb_find(struct geodb *db, const struct parser_addr *a, uint32_t *offset,
    uint8_t *prefix)
{
	(void)db, (void)a, (void)offset;
	*prefix = 128;
	return 0;
}

int
geodb_record(struct geodb *db, uint32_t offset, const struct geodb_paths *num,
    const struct geodb_paths *name, const struct geodb_paths *country,
    struct geodb_answer *ans)
{
	(void)db, (void)offset, (void)num, (void)name, (void)country, (void)ans;
	return 0;
}
#else
#include <maxminddb.h>

struct geodb {
	MMDB_s mmdb;
	bool open;
};

static char *
fail(const char *path, const char *why)
{
	char *msg;

	if (asprintf(&msg, "%s: %s", path, why) < 0)
		return NULL;
	return msg;
}

/* The tree answers without an error for a few addresses of both kinds. */
static int
probe(struct geodb *db, const char *path, char **err)
{
	static const char *const probes[] = { "1.1.1.1", "8.8.8.8",
	    "192.0.2.1", "2001:db8::1", "2a00:1450::1" };

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int gai, rc;
		MMDB_lookup_result_s r;
		MMDB_entry_data_list_s *list = NULL;

		if (db->mmdb.metadata.ip_version == 4 && strchr(probes[i], ':'))
			continue;
		r = MMDB_lookup_string(&db->mmdb, probes[i], &gai, &rc);
		if (gai != 0)
			continue;
		if (rc == MMDB_SUCCESS && r.found_entry)
			rc = MMDB_get_entry_data_list(&r.entry, &list);
		MMDB_free_entry_data_list(list);
		if (rc != MMDB_SUCCESS) {
			*err = fail(path, MMDB_strerror(rc));
			return -1;
		}
	}
	return 0;
}

struct geodb *
geodb_open(const char *path, char **err)
{
	struct geodb *db = calloc(1, sizeof(*db));
	struct stat st;
	int rc;

	*err = NULL;
	if (db == NULL)
		return NULL;
	/* mmap refuses an empty file with EINVAL, which says nothing */
	if (stat(path, &st) < 0) {
		*err = fail(path, strerror(errno));
		free(db);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		*err = fail(path, S_ISREG(st.st_mode) ?
		    "empty file (not a MaxMind DB file)" : "not a regular file");
		free(db);
		return NULL;
	}
	if ((rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb)) != MMDB_SUCCESS) {
		if ((rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR) &&
		    errno != 0)
			*err = fail(path, strerror(errno));
		else if (rc == MMDB_INVALID_METADATA_ERROR ||
		    rc == MMDB_UNKNOWN_DATABASE_FORMAT_ERROR) {
			char why[256];

			snprintf(why, sizeof(why), "%s (truncated, or not a "
			    "MaxMind DB file?)", MMDB_strerror(rc));
			*err = fail(path, why);
		} else
			*err = fail(path, MMDB_strerror(rc));
		free(db);
		return NULL;
	}
	db->open = true;
	if (db->mmdb.metadata.node_count == 0) {
		*err = fail(path, "the database has no networks");
		goto fail;
	}
	if (probe(db, path, err) < 0)
		goto fail;
	return db;
fail:
	geodb_close(db);
	return NULL;
}

void
geodb_close(struct geodb *db)
{
	if (db == NULL)
		return;
	if (db->open)
		MMDB_close(&db->mmdb);
	free(db);
}

/* The first alternative that the record has. */
static int
value(MMDB_entry_s *entry, const struct geodb_paths *p,
    MMDB_entry_data_s *d)
{
	for (size_t i = 0; i < p->n; i++) {
		int rc = MMDB_aget_value(entry, d, p->path[i]);

		if (rc == MMDB_SUCCESS && d->has_data)
			return 1;
		/* a path the record lacks is no error */
		if (rc != MMDB_SUCCESS && rc != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR &&
		    rc != MMDB_INVALID_LOOKUP_PATH_ERROR)
			return -1;
	}
	return 0;
}

static bool
number(const MMDB_entry_data_s *d, uint32_t *out)
{
	uint64_t v = 0;

	switch (d->type) {
	case MMDB_DATA_TYPE_UINT16:
		*out = d->uint16;
		return true;
	case MMDB_DATA_TYPE_UINT32:
		*out = d->uint32;
		return true;
	case MMDB_DATA_TYPE_INT32:
		if (d->int32 < 0)
			return false;
		*out = (uint32_t)d->int32;
		return true;
	case MMDB_DATA_TYPE_UINT64:
		if (d->uint64 > UINT32_MAX)
			return false;
		*out = (uint32_t)d->uint64;
		return true;
	case MMDB_DATA_TYPE_UTF8_STRING: {
		/* IPinfo: "AS64500" */
		const char *s = d->utf8_string;
		uint32_t n = d->data_size, i = 0;

		if (n >= 2 && (s[0] == 'A' || s[0] == 'a') &&
		    (s[1] == 'S' || s[1] == 's'))
			i = 2;
		if (i == n)
			return false;
		for (; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			v = v * 10 + (uint64_t)(s[i] - '0');
			if (v > UINT32_MAX)
				return false;
		}
		*out = (uint32_t)v;
		return true;
	}
	default:
		return false;
	}
}

int
geodb_find(struct geodb *db, const struct parser_addr *a, uint32_t *offset,
    uint8_t *prefix)
{
	struct sockaddr_storage ss = { 0 };
	MMDB_lookup_result_s r;
	int rc;

	*prefix = 128;
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->bytes, 4);
	} else if (a->family == 6 && db->mmdb.metadata.ip_version == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->bytes, 16);
	} else {
		return 0;
	}
	r = MMDB_lookup_sockaddr(&db->mmdb, (struct sockaddr *)&ss, &rc);
	if (rc != MMDB_SUCCESS)
		return -1;
	/* an IPv4 address in an IPv6 tree: the netmask counts the 96 bits
	 * of ::/96 in front of it */
	*prefix = (uint8_t)(a->family == 4 && r.netmask > 32 ?
	    r.netmask - 96 : r.netmask);
	if (!r.found_entry)
		return 0;
	*offset = r.entry.offset;
	return 1;
}

int
geodb_record(struct geodb *db, uint32_t offset, const struct geodb_paths *num,
    const struct geodb_paths *name, const struct geodb_paths *country,
    struct geodb_answer *ans)
{
	/* what MMDB_lookup_sockaddr's result holds: the database and the
	 * record's offset in its data section */
	MMDB_entry_s entry = { .mmdb = &db->mmdb, .offset = offset };
	MMDB_entry_data_s d;
	int found;

	if (num != NULL) {
		if ((found = value(&entry, num, &d)) < 0)
			return -1;
		if (found && number(&d, &ans->asn) && ans->asn != 0)
			ans->has_asn = true;
		if ((found = value(&entry, name, &d)) < 0)
			return -1;
		if (found && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
		    d.data_size > 0) {
			ans->name = d.utf8_string;
			ans->name_len = d.data_size;
		}
	}
	if (country != NULL) {
		if ((found = value(&entry, country, &d)) < 0)
			return -1;
		/* ISO 3166-1 alpha-2 only: anything else is no country */
		if (found && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
		    d.data_size == 2 && d.utf8_string[0] >= 'A' &&
		    d.utf8_string[0] <= 'Z' && d.utf8_string[1] >= 'A' &&
		    d.utf8_string[1] <= 'Z') {
			memcpy(ans->country, d.utf8_string, 2);
			ans->has_country = true;
		}
	}
	return 0;
}
#endif
