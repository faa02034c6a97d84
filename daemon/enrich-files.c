/*
 * [enrich] on the loop's side: the generation of databases and interfaces
 * file the outputs enrich with. A generation is opened and checked
 * completely before it replaces the running one (at start, at a reload,
 * and when a file was replaced on disk: geoipupdate renames a new one into
 * place); a bad file keeps the old generation and is logged with its path
 * and libmaxminddb's message. The look at the files (stat, every
 * check_interval seconds) is on the loop's tick; opening maps the file and
 * walks a few lookups, well under a millisecond, never on the receive
 * thread.
 */
#include <stdlib.h>
#include <event2/buffer.h>
#include <string.h>

#include "collector.h"
#include "enrich.h"

int
collector_enrich_open(const struct config *config, struct enrich **out,
    char **err)
{
	struct enrich_config ec;

	*out = NULL;
	*err = NULL;
	if (config->enrich == NULL)
		return 0;
	config_enrich_settings(config->enrich, config->path, &ec);
	return (*out = enrich_new(&ec, err)) != NULL ? 0 : -1;
}

/* The outputs render with e from their next block on. */
void
collector_enrich_commit(struct collector *c, struct enrich *e)
{
	struct enrich *old = c->enrich;

	c->enrich = e;
	output_set_enrich(c->output, e);
	output_set_enrich(c->next_output, e);
	enrich_unref(old);
	memset(c->enrich_bad_sig, 0, sizeof(c->enrich_bad_sig));
}

void
collector_enrich_tick(struct collector *c)
{
	const struct config_enrich *ce = c->config->enrich;
	struct enrich_config ec;
	struct enrich *e;
	uint64_t sig[ENRICH_SIG_WORDS];
	char *err = NULL;

	if (ce == NULL || c->enrich == NULL || ce->check_interval == 0 ||
	    ++c->enrich_ticks < ce->check_interval)
		return;
	c->enrich_ticks = 0;
	config_enrich_settings(ce, c->config->path, &ec);
	enrich_signature(&ec, sig);
	/* unchanged, or the same bad file as last time (logged once) */
	if (memcmp(sig, enrich_opened_signature(c->enrich), sizeof(sig)) == 0 ||
	    memcmp(sig, c->enrich_bad_sig, sizeof(sig)) == 0)
		return;
	if ((e = enrich_new(&ec, &err)) == NULL) {
		log_fields(LOG_ERR, LOG_FIELDS({ "ENRICH", "failed" }),
		    "enrichment file changed on disk but cannot be used, the "
		    "old one stays: %s", err ? err : "out of memory");
		free(err);
		memcpy(c->enrich_bad_sig, sig, sizeof(sig));
		c->stats.enrich_reload_failures++;
		return;
	}
	log_msg(LOG_NOTICE, "enrichment files changed on disk: reopened");
	collector_enrich_commit(c, e);
	c->stats.enrich_reloads++;
}

void
collector_enrich_metrics(struct collector *c, struct evbuffer *b)
{
	struct output_stats sum;

	if (c->config->enrich == NULL)
		return;
	collector_output_stats(c, &sum);
	evbuffer_add_printf(b,
	    "# HELP netflowd_enrich_lookups_total Addresses looked up in the "
	    "[enrich] databases (cache misses).\n"
	    "# TYPE netflowd_enrich_lookups_total counter\n"
	    "netflowd_enrich_lookups_total %llu\n"
	    "# HELP netflowd_enrich_cache_hits_total Addresses answered by the "
	    "render thread's cache of recent lookups.\n"
	    "# TYPE netflowd_enrich_cache_hits_total counter\n"
	    "netflowd_enrich_cache_hits_total %llu\n"
	    "# HELP netflowd_enrich_lookup_errors_total Lookups a database "
	    "could not answer (damaged inside): no value written.\n"
	    "# TYPE netflowd_enrich_lookup_errors_total counter\n"
	    "netflowd_enrich_lookup_errors_total %llu\n"
	    "# HELP netflowd_enrich_records_total Records that got at least "
	    "one value from [enrich].\n"
	    "# TYPE netflowd_enrich_records_total counter\n"
	    "netflowd_enrich_records_total %llu\n"
	    "# HELP netflowd_enrich_file_reloads_total [enrich] files reopened "
	    "because they changed on disk, and changes refused.\n"
	    "# TYPE netflowd_enrich_file_reloads_total counter\n"
	    "netflowd_enrich_file_reloads_total{result=\"ok\"} %llu\n"
	    "netflowd_enrich_file_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)sum.enrich_lookups,
	    (unsigned long long)sum.enrich_hits,
	    (unsigned long long)sum.enrich_errors,
	    (unsigned long long)sum.enrich_records,
	    (unsigned long long)c->stats.enrich_reloads,
	    (unsigned long long)c->stats.enrich_reload_failures);
}

void
collector_enrich_log_stats(struct collector *c)
{
	struct output_stats sum;
	uint64_t all;

	if (c->config->enrich == NULL)
		return;
	collector_output_stats(c, &sum);
	all = sum.enrich_lookups + sum.enrich_hits;
	log_msg(LOG_INFO, "stats: enrich: %llu records enriched, %llu "
	    "addresses (%llu looked up, %llu from the cache: %.1f %%), %llu "
	    "lookup errors, files reopened %llu times (%llu refused)",
	    (unsigned long long)sum.enrich_records, (unsigned long long)all,
	    (unsigned long long)sum.enrich_lookups,
	    (unsigned long long)sum.enrich_hits,
	    all ? 100.0 * (double)sum.enrich_hits / (double)all : 0.0,
	    (unsigned long long)sum.enrich_errors,
	    (unsigned long long)c->stats.enrich_reloads,
	    (unsigned long long)c->stats.enrich_reload_failures);
}
