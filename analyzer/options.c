#include "options.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "timeutil.h"

enum {
	OPT_HOSTS = 256, OPT_NAMESERVER, OPT_DNS_TIMEOUT, OPT_DNS_PARALLEL,
	OPT_SINCE, OPT_UNTIL, OPT_HOST, OPT_PORT, OPT_EXPORTER, OPT_SERVICES,
	OPT_HORIZON, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_NO_SCALE,
	OPT_FILTER, OPT_FILTER_FILE, OPT_STAT, OPT_FLOWS, OPT_CSV, OPT_EVERY,
	OPT_THREADS, OPT_MAX_KEYS, OPT_ASN_DB, OPT_COUNTRY_DB,
};

static const struct option long_options[] = {
	{ "numeric", no_argument, NULL, 'n' },
	{ "hosts", required_argument, NULL, OPT_HOSTS },
	{ "nameserver", required_argument, NULL, OPT_NAMESERVER },
	{ "dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT },
	{ "dns-parallel", required_argument, NULL, OPT_DNS_PARALLEL },
	{ "window", required_argument, NULL, 'w' },
	{ "horizon", required_argument, NULL, OPT_HORIZON },
	{ "min-bytes", required_argument, NULL, 'm' },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "exporter", required_argument, NULL, OPT_EXPORTER },
	{ "summary", no_argument, NULL, 's' },
	{ "top", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "chart", required_argument, NULL, 'c' },
	{ "services", required_argument, NULL, OPT_SERVICES },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "no-scale", no_argument, NULL, OPT_NO_SCALE },
	{ "filter", required_argument, NULL, OPT_FILTER },
	{ "filter-file", required_argument, NULL, OPT_FILTER_FILE },
	{ "post-filter", required_argument, NULL, 'P' },
	{ "stat", required_argument, NULL, OPT_STAT },
	{ "aggregate", required_argument, NULL, 'A' },
	{ "flows", no_argument, NULL, OPT_FLOWS },
	{ "order", required_argument, NULL, 'O' },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "every", required_argument, NULL, OPT_EVERY },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "max-keys", required_argument, NULL, OPT_MAX_KEYS },
	{ "asn-db", required_argument, NULL, OPT_ASN_DB },
	{ "country-db", required_argument, NULL, OPT_COUNTRY_DB },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fputs(
"usage: netflow-analyze [options] FILE|DIR|- ...\n"
"\n"
"Reads netflowd's JSON flow files (.json, .json.gz, .json.zst, .json.lz4;\n"
"directories in name order; - for standard input), pairs the two directions\n"
"of every connection and prints one line per connection. Sampled records\n"
"count sampling_interval times their bytes and packets (see --no-scale).\n"
"\n"
"Output:\n"
"  -s, --summary          totals and top-N tables instead of the connection list\n"
"  -t, --top N            rows per table in --summary and --stat (default 10;\n"
"                         0: all in --stat); records listed by --flows\n"
"  -j, --json             JSON lines instead of text\n"
"  -c, --chart FILE.svg   also write an SVG chart of traffic by service\n"
"      --progress, --no-progress\n"
"                         progress on stderr (default: when stderr is a terminal)\n"
"      --no-scale         bytes and packets as exported, not multiplied by the\n"
"                         record's sampling_interval\n"
"Filters:\n"
"  -m, --min-bytes N      list connections of at least N bytes (K/M/G suffixes;\n"
"                         default 1M; 0 lists all)\n"
"      --since TIME       flows starting at or after TIME\n"
"      --until TIME       flows starting before TIME (RFC 3339, or local\n"
"                         'YYYY-MM-DD[ HH:MM[:SS]]', or @EPOCH)\n"
"      --host ADDR[/LEN]  flows from or to this address or prefix (repeatable)\n"
"      --port N           flows from or to this port (repeatable)\n"
"      --exporter ADDR[/LEN]  flows from this exporter (repeatable)\n"
"      --filter EXPR      nfdump's filter language: 'proto tcp and dst port 443\n"
"                         and not net 10.0.0.0/8' (see netflow-analyze(1))\n"
"      --filter-file FILE the filter from FILE (# comments)\n"
"Queries (nfdump's -s, -A, -P and listing; addresses numeric):\n"
"      --stat TYPE[:p][/ORDER[/ORDER]]  top-N table of TYPE (srcip dstip ip\n"
"                         srcport dstport port proto srcas dstas as inif outif\n"
"                         if exporter nhip tos flags srcmask dstmask srcvlan\n"
"                         dstvlan vlan srcgeo dstgeo geo inifname outifname\n"
"                         ifname, srcip4/24-style masks, record); :p\n"
"                         splits by protocol; ORDER flows packets bytes pps\n"
"                         bps bpp (default flows); repeatable; --top N rows\n"
"  -A, --aggregate KEYS   aggregate flows on KEYS (srcip,dstport,... srcip4/24;\n"
"                         5tuple), then list them or --stat record/ORDER\n"
"  -P, --post-filter EXPR filter the aggregated records (flows > 10 ...)\n"
"      --flows            list the matching flow records\n"
"  -O, --order KEY        order of --flows: tstart tend bytes packets flows\n"
"                         duration (largest first, tstart/tend earliest)\n"
"      --csv              CSV instead of the text table\n"
"      --every DURATION   each --stat per time bucket (5m, 1h, 30s)\n"
"      --threads N        files read in parallel (default: the cores)\n"
"      --max-keys N       distinct keys a table holds at most (default 10M)\n"
"Enrichment (for files written without the collector's [enrich]):\n"
"      --asn-db FILE      AS numbers and names from a MaxMind-format database\n"
"                         (GeoLite2-ASN, DB-IP lite ASN, IPinfo) where a record\n"
"                         has none\n"
"      --country-db FILE  countries likewise (GeoLite2-Country, DB-IP, IPinfo)\n"
"Pairing:\n"
"  -w, --window SEC       max start difference of two directions (default 5)\n"
"      --horizon SEC      how long a flow waits for its answer, in receive\n"
"                         time (default 600)\n"
"Names:\n"
"  -n, --numeric          no name resolution\n"
"      --hosts FILE       names from FILE instead of /etc/hosts, and no DNS\n"
"                         unless --nameserver is given\n"
"      --nameserver IP[:PORT]  DNS server instead of /etc/resolv.conf (repeatable)\n"
"      --dns-timeout SEC  give up on a name after SEC (default 2)\n"
"      --dns-parallel N   DNS queries in flight at most (default 32)\n"
"      --services FILE    port names from FILE instead of the system's database\n"
"  -h, --help             this text\n"
"  -V, --version          version\n", f);
}

static bool
parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

/* "1048576", "1M", "1.5G", "512K" */
static bool
parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	double mult = 1;

	if (end == s || v < 0 || !isfinite(v))
		return false;
	switch (*end) {
	case 'K': case 'k': mult = 1024.0; end++; break;
	case 'M': case 'm': mult = 1024.0 * 1024; end++; break;
	case 'G': case 'g': mult = 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v * mult > 1.8e19)
		return false;
	*out = (uint64_t)(v * mult);
	return true;
}

static bool
push_prefix(struct prefix *list, size_t *n, const char *s)
{
	return *n < OPTIONS_MAX_LIST && prefix_parse(&list[(*n)++], s);
}

static void
set_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->progress = isatty(STDERR_FILENO);
	o->dns_timeout_s = 2.0;
	o->dns_parallel = 32;
	o->window_ms = 5000;
	o->horizon_ms = 600000;
	o->min_bytes = 1024 * 1024;
	o->top = 10;
	o->max_keys = 10000000;
}

/* "5m", "1h", "30s", "300" (seconds) */
static bool
parse_duration(const char *s, int64_t *ms)
{
	char *end;
	double v = strtod(s, &end), mult = 1000;

	if (end == s || !isfinite(v) || v <= 0)
		return false;
	switch (*end) {
	case 's': end++; break;
	case 'm': mult = 60000; end++; break;
	case 'h': mult = 3600000; end++; break;
	case 'd': mult = 86400000; end++; break;
	}
	if (*end != '\0' || v * mult > 366.0 * 86400000 || v * mult < 1000)
		return false;
	*ms = (int64_t)(v * mult);
	return true;
}

/* One option; false when its argument is bad. */
static bool
apply(struct options *o, int c, const char *arg)
{
	unsigned long long u;
	double d;

	switch (c) {
	case 'n': o->numeric = true; return true;
	case 's': o->summary = true; return true;
	case 'j': o->json = true; return true;
	case 'c': o->chart_file = arg; return true;
	case OPT_HOSTS: o->hosts_file = arg; return true;
	case OPT_SERVICES: o->services_file = arg; return true;
	case OPT_PROGRESS: o->progress = true; return true;
	case OPT_NO_PROGRESS: o->progress = false; return true;
	case OPT_NO_SCALE: o->no_scale = true; return true;
	case OPT_NAMESERVER:
		if (o->n_nameservers >= OPTIONS_MAX_LIST)
			return false;
		o->nameservers[o->n_nameservers++] = arg;
		return true;
	case OPT_DNS_TIMEOUT:
		return parse_seconds(arg, 0.001, 3600, &o->dns_timeout_s);
	case OPT_DNS_PARALLEL:
		if (!parse_uint(arg, 4096, &u) || u == 0)
			return false;
		o->dns_parallel = (unsigned)u;
		return true;
	case 'w':
		if (!parse_seconds(arg, 0, 86400, &d))
			return false;
		o->window_ms = (int64_t)llround(d * 1000);
		return true;
	case OPT_HORIZON:
		if (!parse_seconds(arg, 0, 30 * 86400, &d))
			return false;
		o->horizon_ms = (int64_t)llround(d * 1000);
		return true;
	case 'm': return parse_size(arg, &o->min_bytes);
	case 't':
		if (!parse_uint(arg, 100000000, &u))
			return false;
		o->top = (unsigned)u;
		o->top_given = true;
		return true;
	case OPT_FILTER: o->filter = arg; return true;
	case OPT_FILTER_FILE: o->filter_file = arg; return true;
	case 'P': o->post_filter = arg; return true;
	case OPT_STAT:
		if (o->n_stats >= OPTIONS_MAX_LIST)
			return false;
		o->stats[o->n_stats++] = arg;
		return true;
	case 'A': o->aggregate = arg; return true;
	case OPT_FLOWS: o->flows = true; return true;
	case 'O': o->order = arg; return true;
	case OPT_CSV: o->csv = true; return true;
	case OPT_EVERY: return parse_duration(arg, &o->every_ms);
	case OPT_THREADS:
		if (!parse_uint(arg, 256, &u) || u == 0)
			return false;
		o->threads = (unsigned)u;
		return true;
	case OPT_ASN_DB: o->asn_db = arg; return true;
	case OPT_COUNTRY_DB: o->country_db = arg; return true;
	case OPT_MAX_KEYS:
		if (!parse_uint(arg, 1000000000, &u) || u == 0)
			return false;
		o->max_keys = u;
		return true;
	case OPT_SINCE: return (o->has_since = time_parse_user(arg, &o->since_ms));
	case OPT_UNTIL: return (o->has_until = time_parse_user(arg, &o->until_ms));
	case OPT_HOST: return push_prefix(o->hosts, &o->n_hosts, arg);
	case OPT_EXPORTER: return push_prefix(o->exporters, &o->n_exporters, arg);
	case OPT_PORT:
		if (o->n_ports >= OPTIONS_MAX_LIST || !parse_uint(arg, 65535, &u))
			return false;
		o->ports[o->n_ports++] = (uint16_t)u;
		return true;
	default:
		return false;
	}
}

static const char *
option_name(int c)
{
	for (const struct option *lo = long_options; lo->name; lo++)
		if (lo->val == c)
			return lo->name;
	return "?";
}

enum options_result
options_parse(struct options *o, int argc, char **argv)
{
	int c;

	set_defaults(o);
	while ((c = getopt_long(argc, argv, "nsjc:w:m:t:A:O:P:hV", long_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return OPTIONS_EXIT_OK;
		}
		if (c == 'V') {
			printf("netflow-analyze %s\n", NETFLOWD_VERSION);
			return OPTIONS_EXIT_OK;
		}
		if (c == '?') {
			usage(stderr);
			return OPTIONS_EXIT_USAGE;
		}
		if (!apply(o, c, optarg)) {
			fprintf(stderr, "netflow-analyze: bad value for --%s: '%s'\n",
			    option_name(c), optarg);
			return OPTIONS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "netflow-analyze: no input (give FILE, DIR or - for stdin)\n");
		usage(stderr);
		return OPTIONS_EXIT_USAGE;
	}
	o->inputs = argv + optind;
	o->n_inputs = (size_t)(argc - optind);
	return OPTIONS_RUN;
}
