/* netflow-analyze: reads netflowd's JSON flow files and prints connections,
 * summaries and a traffic chart. One event loop drives both the reading (in
 * bounded batches) and the asynchronous name lookups, so slow DNS delays
 * only the lines that wait for it. */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chart.h"
#include "expr.h"
#include "filter.h"
#include "options.h"
#include "pairing.h"
#include "query.h"
#include "reader.h"
#include "geodb.h"
#include "intern.h"
#include "record.h"
#include "report.h"
#include "resolver.h"
#include "services.h"
#include "sources.h"
#include "stats.h"
#include "summary.h"

#define READ_BATCH 4096
/* Lines waiting for names before reading pauses, and where it resumes. */
#define BACKLOG_HIGH 20000
#define BACKLOG_LOW 10000
#define PAIRING_MAX_HELD 4000000
#define RESOLVER_CACHE_MAX 100000
#define PROGRESS_INTERVAL_MS 250

struct analyzer {
	struct options opt;
	struct stats stats;
	struct event_base *base;
	struct event *read_ev;
	struct sources sources;
	struct geodb *geo;		/* --asn-db, --country-db */
	struct geodb_cache *gcache;
	size_t next_source;
	bool reading;
	bool input_done;
	bool names_requested;
	struct reader *reader;
	struct record_parser *rp;
	struct services *svc;
	struct pairing *pairing;
	struct resolver *resolver;
	struct report *report;
	struct summary *summary;
	struct chart *chart;
	struct expr *expr;	/* --filter, --filter-file */
	uint64_t hidden;	/* connections below --min-bytes */
	int64_t progress_ms;
	bool progress_shown;
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
progress(struct analyzer *a, bool force)
{
	int64_t now;

	if (!a->opt.progress || (!force && (now = now_ms()) - a->progress_ms < PROGRESS_INTERVAL_MS))
		return;
	a->progress_ms = now_ms();
	fprintf(stderr, "\r\033[Knetflow-analyze: file %zu/%zu, %llu flows",
	    a->next_source, a->sources.count, (unsigned long long)a->stats.flows);
	a->progress_shown = true;
}

static void
on_conn(void *arg, const struct conn *c)
{
	struct analyzer *a = arg;

	if (a->summary)
		summary_add_conn(a->summary, c);
	if (a->report && c->bytes >= a->opt.min_bytes)
		report_add(a->report, c);
	else if (a->report)
		a->hidden++;
}

static void
handle_flow(struct analyzer *a, struct flow *f, const char *line, size_t len)
{
	struct expr_input in = { .flow = f, .flows = 1, .line = line, .len = len };

	a->stats.flows++;
	sampling_scale(&a->stats.sampling, f);
	if (a->geo)
		geodb_enrich(a->geo, a->gcache, f);
	if (!filter_match(&a->opt, f) || (a->expr && !expr_match(a->expr, &in))) {
		a->stats.filtered++;
		return;
	}
	sampling_count(&a->stats.sampling, f);
	pairing_prefetch(a->pairing, f);	/* its misses overlap the summary's work */
	if (a->summary || a->chart) {
		const char *service = services_label(a->svc, f);
		if (a->summary)
			summary_add_flow(a->summary, f, service);
		if (a->chart)
			chart_add(a->chart, f, service);
	}
	pairing_add(a->pairing, f);
}

static void
handle_line(struct analyzer *a, const char *line, size_t len, bool overlong)
{
	struct flow f;

	a->stats.lines++;
	if (overlong) {
		a->stats.malformed++;
		return;
	}
	switch (record_parse(a->rp, line, len, &f)) {
	case RECORD_FLOW: handle_flow(a, &f, line, len); break;
	case RECORD_NOT_FLOW: a->stats.not_flow++; break;
	case RECORD_MALFORMED: a->stats.malformed++; break;
	case RECORD_INCOMPLETE: a->stats.incomplete++; break;
	case RECORD_FW_UPDATE: a->stats.fw_updates++; break;
	case RECORD_EMPTY: case RECORD_NOT_FAST: break;
	}
}

/* One line of input; false once every source is read. */
static bool
step(struct analyzer *a)
{
	const char *line;
	size_t len;
	bool overlong;

	while (!a->reading) {
		if (a->next_source >= a->sources.count)
			return false;
		const char *path = a->sources.paths[a->next_source++];
		progress(a, true);
		if (reader_open(a->reader, path) < 0) {
			a->stats.input_errors++;
			continue;
		}
		a->reading = true;
	}
	switch (reader_next(a->reader, &line, &len, &overlong)) {
	case READER_LINE:
		handle_line(a, line, len, overlong);
		return true;
	case READER_ERROR:
		a->stats.input_errors++;
		/* fall through */
	case READER_EOF:
		reader_close(a->reader);
		a->reading = false;
	}
	return true;
}

static void
maybe_finish(struct analyzer *a)
{
	if (!a->input_done || (a->report && report_backlog(a->report) > 0))
		return;
	if (a->summary && !a->names_requested) {
		a->names_requested = true;
		summary_request_names(a->summary, a->resolver);
	}
	if (a->summary && !summary_names_ready(a->summary))
		return;
	event_base_loopbreak(a->base);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct analyzer *a = arg;

	for (int i = 0; i < READ_BATCH; i++) {
		if (a->report && report_backlog(a->report) >= BACKLOG_HIGH)
			return;		/* on_names resumes */
		if (!step(a)) {
			a->input_done = true;
			pairing_flush(a->pairing);
			maybe_finish(a);
			return;
		}
	}
	progress(a, false);
	event_active(a->read_ev, 0, 0);
}

static void
on_names(void *arg)
{
	struct analyzer *a = arg;

	if (a->report) {
		size_t before = report_backlog(a->report);
		report_pump(a->report);
		if (!a->input_done && before >= BACKLOG_HIGH &&
		    report_backlog(a->report) < BACKLOG_LOW)
			event_active(a->read_ev, 0, 0);
	}
	maybe_finish(a);
}

static int
setup(struct analyzer *a)
{
	const struct options *o = &a->opt;

	if (query_load_filter(o, &a->expr) < 0)
		return -2;
	if (o->asn_db || o->country_db) {
		char *err = NULL;
		if (!(a->geo = geodb_open(o->asn_db, o->country_db, &err))) {
			fprintf(stderr, "netflow-analyze: %s\n", err ? err : "out of memory");
			free(err);
			return -2;
		}
		if (!(a->gcache = geodb_cache_new()))
			return -1;
	}
	if (sources_init(&a->sources, o->inputs, o->n_inputs, &a->stats.input_errors) < 0 ||
	    !(a->base = event_base_new()) ||
	    !(a->read_ev = event_new(a->base, -1, 0, on_read, a)) ||
	    !(a->reader = reader_new()) || !(a->rp = record_parser_new()) ||
	    !(a->svc = services_new(o->services_file)) ||
	    !(a->pairing = pairing_new(o->window_ms, o->horizon_ms, PAIRING_MAX_HELD,
	    a->svc, on_conn, a)))
		return -1;
	if (!o->numeric) {
		struct resolver_config rc = {
			.hosts_file = o->hosts_file,
			.use_dns = !o->hosts_file || o->n_nameservers > 0,
			.nameservers = o->n_nameservers ? o->nameservers : NULL,
			.n_nameservers = o->n_nameservers,
			.timeout_s = o->dns_timeout_s,
			.max_inflight = o->dns_parallel,
			.cache_max = RESOLVER_CACHE_MAX,
		};
		if (!(a->resolver = resolver_new(a->base, &rc, on_names, a)))
			return -1;
	}
	if (o->summary && !(a->summary = summary_new(o->top)))
		return -1;
	/* The summary counts connections; nothing reads their flows. */
	if (o->summary && pairing_count_only(a->pairing) < 0)
		return -1;
	/* Nor does it read a line's lenient keys, unless a filter, the chart
	 * or enrichment does. */
	record_parser_core_only(a->rp, o->summary && !a->expr && !a->geo && !o->chart_file);
	if (!o->summary && !(a->report = report_new(stdout, o->json, a->svc, a->resolver)))
		return -1;
	if (o->chart_file && !(a->chart = chart_new()))
		return -1;
	return 0;
}

static void
teardown(struct analyzer *a)
{
	report_free(a->report);
	expr_free(a->expr);
	summary_free(a->summary);
	resolver_free(a->resolver);
	chart_free(a->chart);
	pairing_free(a->pairing);
	services_free(a->svc);
	record_parser_free(a->rp);
	reader_free(a->reader);
	if (a->read_ev)
		event_free(a->read_ev);
	if (a->base)
		event_base_free(a->base);
	sources_finish(&a->sources);
	geodb_cache_free(a->gcache);
	geodb_free(a->geo);
	intern_finish();
}

static void
report_skipped(const struct analyzer *a)
{
	const struct stats *st = &a->stats;
	char text[400];

	if (st->malformed)
		fprintf(stderr, "netflow-analyze: %llu malformed line%s skipped\n",
		    (unsigned long long)st->malformed, st->malformed == 1 ? "" : "s");
	if (st->incomplete)
		fprintf(stderr, "netflow-analyze: %llu flow record%s without addresses or times skipped\n",
		    (unsigned long long)st->incomplete, st->incomplete == 1 ? "" : "s");
	if (st->fw_updates)
		fprintf(stderr, "netflow-analyze: %llu firewall flow-update record%s skipped "
		    "(the flow-teardown record counts the whole connection)\n",
		    (unsigned long long)st->fw_updates, st->fw_updates == 1 ? "" : "s");
	if (a->hidden)
		fprintf(stderr, "netflow-analyze: %llu connection%s below --min-bytes %llu not listed "
		    "(--min-bytes 0 lists all)\n", (unsigned long long)a->hidden,
		    a->hidden == 1 ? "" : "s", (unsigned long long)a->opt.min_bytes);
	if (intern_refused())
		fprintf(stderr, "netflow-analyze: %llu AS or interface names not kept (more than %u "
		    "distinct, or out of memory): those records show none\n",
		    (unsigned long long)intern_refused(), INTERN_MAX);
	/* The summary says it in its totals; the connection list needs a word. */
	if (st->sampling.records && !a->summary) {
		sampling_describe(&st->sampling, text, sizeof(text));
		fprintf(stderr, "netflow-analyze: %s\n", text);
	}
}

int
main(int argc, char **argv)
{
	struct analyzer a;
	int rc = 0;

	memset(&a, 0, sizeof(a));
	switch (options_parse(&a.opt, argc, argv)) {
	case OPTIONS_EXIT_OK: return 0;
	case OPTIONS_EXIT_USAGE: return 2;
	case OPTIONS_RUN: break;
	}
	if (query_wanted(&a.opt))
		return query_main(&a.opt);
	sampling_init(&a.stats.sampling, !a.opt.no_scale);
	if ((rc = setup(&a)) == -2) {
		teardown(&a);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "netflow-analyze: start-up failed\n");
		teardown(&a);
		return 1;
	}
	rc = 0;
	event_active(a.read_ev, 0, 0);
	event_base_dispatch(a.base);
	if (a.progress_shown)
		fputs("\r\033[K", stderr);
	if (a.summary)
		summary_print(a.summary, stdout, a.opt.json, &a.stats);
	if (a.chart && chart_write(a.chart, a.opt.chart_file) < 0)
		rc = 1;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "netflow-analyze: writing the output failed\n");
		rc = 1;
	}
	report_skipped(&a);
	if (a.stats.input_errors)
		rc = 1;
	teardown(&a);
	return rc;
}
