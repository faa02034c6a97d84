/* options: the command line of netflow-analyze. */
#ifndef ANALYZER_OPTIONS_H
#define ANALYZER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define OPTIONS_MAX_LIST 32

struct options {
	bool numeric;
	bool summary;
	bool json;
	bool progress;
	bool no_scale;
	const char *hosts_file;
	const char *services_file;
	const char *chart_file;
	const char *nameservers[OPTIONS_MAX_LIST];
	size_t n_nameservers;
	double dns_timeout_s;
	unsigned dns_parallel;
	int64_t window_ms;
	int64_t horizon_ms;
	uint64_t min_bytes;
	bool has_since, has_until;
	int64_t since_ms, until_ms;
	struct prefix hosts[OPTIONS_MAX_LIST];
	size_t n_hosts;
	uint16_t ports[OPTIONS_MAX_LIST];
	size_t n_ports;
	struct prefix exporters[OPTIONS_MAX_LIST];
	size_t n_exporters;
	unsigned top;
	bool top_given;
	/* the query tool (issue 18) */
	const char *filter;		/* --filter EXPR */
	const char *filter_file;	/* --filter-file FILE */
	const char *post_filter;	/* --post-filter EXPR */
	const char *stats[OPTIONS_MAX_LIST];	/* --stat TYPE[:p][/ORDER] */
	size_t n_stats;
	const char *aggregate;		/* --aggregate KEYS */
	bool flows;			/* --flows */
	const char *order;		/* --order KEY */
	bool csv;
	int64_t every_ms;		/* --every; 0: no time series */
	unsigned threads;		/* 0: the cores */
	uint64_t max_keys;		/* distinct keys per table, at most */
	const char *asn_db;		/* --asn-db FILE */
	const char *country_db;		/* --country-db FILE */
	char *const *inputs;
	size_t n_inputs;
};

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_USAGE };

enum options_result options_parse(struct options *o, int argc, char **argv);

#endif
