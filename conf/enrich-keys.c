/*
 * [enrich]: the files that add AS numbers and names, countries and
 * interface names to each record. Only the keys are checked here; the
 * files themselves are opened and checked by the daemon (also under -n),
 * whose messages carry this file's line of each key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-private.h"
#include "conf.h"
#include "enrich.h"

enum { K_ASN, K_COUNTRY, K_IFS, K_ASN_FIELD, K_NAME_FIELD, K_CC_FIELD,
	K_SOURCE, K_CHECK, K__COUNT };

static const char *const names[K__COUNT] = {
	"asn_database", "country_database", "interfaces", "asn_field",
	"as_name_field", "country_field", "as_source", "check_interval",
};

static const char *const sources[] = {
	[ENRICH_AS_EXPORTER_THEN_DATABASE] = "exporter-then-database",
	[ENRICH_AS_EXPORTER] = "exporter",
	[ENRICH_AS_DATABASE] = "database",
};

static char **
slot(struct config_enrich *e, int k)
{
	char **s[] = { &e->asn_database, &e->country_database, &e->interfaces,
	    &e->asn_field, &e->as_name_field, &e->country_field };

	return k < 6 ? s[k] : NULL;
}

/* a field path list: letters, digits, '_', '-', '/' and ',' */
static bool
field_ok(const char *v)
{
	if (*v == '\0' || strlen(v) > 200)
		return false;
	for (; *v; v++)
		if (!(*v == '_' || *v == '-' || *v == '/' || *v == ',' ||
		    (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		    (*v >= '0' && *v <= '9')))
			return false;
	return true;
}

int
config_enrich_key(struct config_enrich **ep, const char *name,
    const char *v, int line, char **err)
{
	struct config_enrich *e = *ep;
	int k;

	for (k = 0; k < K__COUNT && strcmp(names[k], name) != 0; k++)
		;
	if (k == K__COUNT)
		return conf_fail(err, "unknown key '%s' in [enrich]", name);
	if (e == NULL) {
		if ((e = *ep = calloc(1, sizeof(*e))) == NULL)
			return conf_fail(err, "out of memory");
		e->check_interval = 60;
	}
	if (e->line[k] != 0)
		return conf_fail(err, "duplicate key '%s' (first set on line %d)",
		    name, e->line[k]);
	e->line[k] = line;
	if (k == K_SOURCE) {
		for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
			if (strcmp(v, sources[i]) == 0) {
				e->as_source = (int)i;
				return 0;
			}
		return conf_fail(err, "bad as_source '%s' (exporter, database, "
		    "exporter-then-database)", v);
	}
	if (k == K_CHECK) {
		if (strcmp(v, "off") == 0) {
			e->check_interval = 0;
			return 0;
		}
		if (config_parse_duration(v, &e->check_interval) < 0 ||
		    e->check_interval == 0 || e->check_interval > 86400)
			return conf_fail(err, "bad check_interval '%s' (1s to 1d, "
			    "or off)", v);
		return 0;
	}
	if (v[0] == '\0')
		return conf_fail(err, "empty %s", name);
	if (k >= K_ASN_FIELD && !field_ok(v))
		return conf_fail(err, "bad %s '%s' (map keys separated by '/', "
		    "alternatives by ',')", name, v);
	if (strlen(v) > 3072)
		return conf_fail(err, "%s too long", name);
	if (config_set_string(slot(e, k), v) < 0)
		return conf_fail(err, "out of memory");
	return 0;
}

int
config_enrich_check(const struct config_enrich *e, char **err)
{
	if (e->asn_database == NULL && e->country_database == NULL &&
	    e->interfaces == NULL)
		return conf_fail(err, "[enrich] needs asn_database, "
		    "country_database or interfaces");
	return 0;
}

void
config_enrich_free(struct config_enrich *e)
{
	if (e == NULL)
		return;
	for (int k = 0; k < 6; k++)
		free(*slot(e, k));
	free(e);
}

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

bool
config_enrich_equal(const struct config_enrich *a,
    const struct config_enrich *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (int k = 0; k < 6; k++)
		if (!same(*slot((struct config_enrich *)a, k),
		    *slot((struct config_enrich *)b, k)))
			return false;
	return a->as_source == b->as_source &&
	    a->check_interval == b->check_interval;
}

void
config_enrich_print(const struct config_enrich *e, FILE *f)
{
	fprintf(f, "[enrich]\n");
	if (e->asn_database)
		fprintf(f, "asn_database = %s\n", e->asn_database);
	if (e->country_database)
		fprintf(f, "country_database = %s\n", e->country_database);
	if (e->interfaces)
		fprintf(f, "interfaces = %s\n", e->interfaces);
	fprintf(f, "as_source = %s\n", sources[e->as_source]);
	fprintf(f, "asn_field = %s\nas_name_field = %s\ncountry_field = %s\n",
	    e->asn_field ? e->asn_field : ENRICH_ASN_FIELD,
	    e->as_name_field ? e->as_name_field : ENRICH_AS_NAME_FIELD,
	    e->country_field ? e->country_field : ENRICH_COUNTRY_FIELD);
	if (e->check_interval)
		fprintf(f, "check_interval = %us\n", e->check_interval);
	else
		fprintf(f, "check_interval = off\n");
}

void
config_enrich_settings(const struct config_enrich *e, const char *config_path,
    struct enrich_config *out)
{
	*out = (struct enrich_config){
		.asn_database = e->asn_database,
		.country_database = e->country_database,
		.interfaces = e->interfaces,
		.as_source = (enum enrich_as_source)e->as_source,
		.asn_field = e->asn_field,
		.as_name_field = e->as_name_field,
		.country_field = e->country_field,
		.config_path = config_path,
		.asn_line = e->line[K_ASN],
		.country_line = e->line[K_COUNTRY],
		.interfaces_line = e->line[K_IFS],
	};
}
