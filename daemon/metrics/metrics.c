/*
 * Prometheus text exposition on [metrics] listen, served by httpd.c from
 * the collector's own loop (no thread, no lock: the counters are read
 * between two datagrams).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "collector.h"
#include "metrics.h"
#include "config.h"
#include "httpd.h"
#include "stream.h"

struct metrics {
	struct collector *c;
	struct config_listen conf;
	struct httpd *httpd;
};

/* Label values: backslash, double quote and newline escaped. */
static void
label(struct evbuffer *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void
head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
listener_metric(struct evbuffer *b, struct collector *c, const char *name,
    const char *help, size_t offset)
{
	head(b, name, "counter", help);
	for (struct listener *l = c->listeners; l; l = l->next) {
		uint64_t v = atomic_load_explicit(
		    (_Atomic uint64_t *)((char *)l + offset), memory_order_relaxed);

		evbuffer_add_printf(b, "%s{listener=\"", name);
		label(b, l->conf.text);
		evbuffer_add_printf(b, "\"} %llu\n", (unsigned long long)v);
	}
}

/* The per-exporter counters of struct parser_counters, one metric each. */
static const struct exporter_counter {
	const char *name, *help;
	size_t offset;
} exporter_counters[] = {
	{ "netflowd_exporter_datagrams_total",
	    "Datagrams received, by exporter.",
	    offsetof(struct parser_counters, datagrams) },
	{ "netflowd_exporter_bytes_total",
	    "Bytes of datagrams received, by exporter.",
	    offsetof(struct parser_counters, bytes) },
	{ "netflowd_flows_total",
	    "Flow records decoded, by exporter.",
	    offsetof(struct parser_counters, flows) },
	{ "netflowd_sequence_lost_total",
	    "Export packets (v9), flows (v5/v7) or data records (IPFIX) missing "
	    "from the sequence numbers, by exporter.",
	    offsetof(struct parser_counters, lost) },
	{ "netflowd_sequence_resets_total",
	    "Sequences that restarted instead of continuing (a new exporter "
	    "session, a restarted exporter, a jump past the bound, a stray "
	    "datagram), never counted as lost, by exporter.",
	    offsetof(struct parser_counters, resets) },
	{ "netflowd_templates_borrowed_total",
	    "Templates a new source port of an exporter took over from its "
	    "previous port before it resent them, by exporter.",
	    offsetof(struct parser_counters, borrowed) },
	{ "netflowd_sflow_samples_lost_total",
	    "sFlow flow and counter samples missing from the sample sequence "
	    "numbers of their sources, by exporter.",
	    offsetof(struct parser_counters, samples_lost) },
	{ "netflowd_header_time_clamped_total",
	    "NetFlow v1/v5/v7 headers whose unix_nsecs was 1e9 or more, "
	    "taken as 999999999, by exporter.",
	    offsetof(struct parser_counters, clamped) },
	{ "netflowd_exporter_output_dropped_total",
	    "Flow records decoded but dropped by the output (queue full, or "
	    "shed above the exporter's fair share of a backed-up output), by "
	    "exporter.", offsetof(struct parser_counters, output_dropped) },
};

static void
exporter_metric(struct evbuffer *b, struct collector *c,
    const struct exporter_counter *m)
{
	char addr[64];

	head(b, m->name, "counter", m->help);
	for (const struct parser_exporter *e = parser_exporter_first(c->parser);
	    e != NULL; e = parser_exporter_next(c->parser, e)) {
		uint64_t v;

		memcpy(&v, (const char *)parser_exporter_counters(e) + m->offset,
		    sizeof(v));
		evbuffer_add_printf(b, "%s{exporter=\"%s\"} %llu\n", m->name,
		    exporter_text(parser_exporter_addr(e), addr, sizeof(addr)),
		    (unsigned long long)v);
	}
}

static void
drops_metric(struct evbuffer *b, struct collector *c)
{
	char addr[64];

	head(b, "netflowd_drops_total", "counter",
	    "Datagrams, sets or records the parser could not decode, by exporter and reason.");
	for (const struct parser_exporter *e = parser_exporter_first(c->parser);
	    e != NULL; e = parser_exporter_next(c->parser, e)) {
		const struct parser_counters *k = parser_exporter_counters(e);

		exporter_text(parser_exporter_addr(e), addr, sizeof(addr));
		for (int i = 0; i < PARSER_DROP_MAX; i++)
			if (k->drops[i])
				evbuffer_add_printf(b, "netflowd_drops_total{exporter=\"%s\","
				    "reason=\"%s\"} %llu\n", addr, parser_drop_name(i),
				    (unsigned long long)k->drops[i]);
	}
}

static void
gauge(struct evbuffer *b, const char *name, const char *type, const char *help,
    unsigned long long v)
{
	head(b, name, type, help);
	evbuffer_add_printf(b, "%s %llu\n", name, v);
}

static void
render(struct evbuffer *b, struct collector *c)
{
	struct output_stats sum;
	const struct output_stats *os = &sum;
	uint64_t kdrops = c->stats.closed_kernel_drops;
	struct parser_counters totals;
	struct receiver_stats rs;

	collector_output_stats(c, &sum);
	receiver_stats(c->receiver, &rs);
	for (struct listener *l = c->listeners; l; l = l->next)
		kdrops += l->kernel_drops;
	head(b, "netflowd_build_info", "gauge", "Version of netflowd.");
	evbuffer_add_printf(b, "netflowd_build_info{version=\"%s\"} 1\n",
	    NETFLOWD_VERSION);
	listener_metric(b, c, "netflowd_datagrams_total",
	    "Datagrams received, by listener.", offsetof(struct listener, datagrams));
	listener_metric(b, c, "netflowd_bytes_total",
	    "Bytes of datagrams received, by listener.", offsetof(struct listener, bytes));
	listener_metric(b, c, "netflowd_listener_kernel_drops_total",
	    "Datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL), by listener.",
	    offsetof(struct listener, kernel_drops));
	gauge(b, "netflowd_kernel_drops_total", "counter",
	    "Datagrams the kernel dropped because a socket buffer was full, all listeners.",
	    (unsigned long long)kdrops);
	gauge(b, "netflowd_receive_queue_bytes", "gauge",
	    "Bytes of datagrams received and not yet decoded.",
	    (unsigned long long)rs.used);
	gauge(b, "netflowd_receive_queue_peak_bytes", "gauge",
	    "The most bytes the receive queue has held.",
	    (unsigned long long)rs.peak);
	gauge(b, "netflowd_receive_queue_size_bytes", "gauge",
	    "Size of the receive queue ([collector] receive_queue).",
	    (unsigned long long)rs.size);
	gauge(b, "netflowd_receive_queue_full_total", "counter",
	    "Times the receive thread found the queue full and paused reading "
	    "(what the sockets cannot hold meanwhile is counted as kernel drops).",
	    (unsigned long long)rs.full);
	for (size_t i = 0; i < sizeof(exporter_counters) /
	    sizeof(exporter_counters[0]); i++)
		exporter_metric(b, c, &exporter_counters[i]);
	drops_metric(b, c);
	gauge(b, "netflowd_not_allowed_total", "counter",
	    "Datagrams from sources outside the allow-list.",
	    (unsigned long long)c->stats.not_allowed);
	parser_totals(c->parser, &totals);
	gauge(b, "netflowd_records_total", "counter", "Flow records decoded.",
	    (unsigned long long)totals.flows);
	gauge(b, "netflowd_templates", "gauge", "Templates in the cache.",
	    (unsigned long long)parser_template_count(c->parser));
	gauge(b, "netflowd_exporters", "gauge",
	    "Exporters the parser keeps state for (evicted ones keep only "
	    "their counters, which the per-exporter metrics go on showing).",
	    (unsigned long long)parser_exporter_count(c->parser));
	gauge(b, "netflowd_exporters_evicted_total", "counter",
	    "Exporters evicted from the parser's table ([collector] "
	    "max_exporters; those that never sent sustained valid traffic go "
	    "first), their state with them; an established one keeps its "
	    "counters.",
	    (unsigned long long)totals.drops[PARSER_DROP_EXPORTER_EVICTED]);
	gauge(b, "netflowd_sequence_lost_all_total", "counter",
	    "Sequence loss of all exporters, evicted ones included.",
	    (unsigned long long)totals.lost);
	gauge(b, "netflowd_sequence_resets_all_total", "counter",
	    "Sequence resets of all exporters, evicted ones included.",
	    (unsigned long long)totals.resets);
	gauge(b, "netflowd_output_records_total", "counter",
	    "Records written by the current output.", (unsigned long long)os->records);
	gauge(b, "netflowd_output_files_total", "counter",
	    "Files closed and renamed into place by the current output.",
	    (unsigned long long)os->files);
	gauge(b, "netflowd_output_dropped_total", "counter",
	    "Records the current output lost because the disk could not keep up "
	    "or they were too large.",
	    (unsigned long long)(os->dropped + os->oversized));
	gauge(b, "netflowd_output_disk_bytes_total", "counter",
	    "Bytes the current output wrote to files (after compression).",
	    (unsigned long long)os->disk_bytes);
	gauge(b, "netflowd_output_direct_bytes_total", "counter",
	    "Of those, bytes written with O_DIRECT (bypassing the page cache).",
	    (unsigned long long)os->direct_bytes);
	gauge(b, "netflowd_write_errors_total", "counter",
	    "Failed writes, syncs, renames and opens of output files (the "
	    "records they cost are in netflowd_records_lost_total).",
	    (unsigned long long)os->write_errors);
	collector_output_metrics(c, b);
	head(b, "netflowd_reloads_total", "counter", "Configuration reloads.");
	evbuffer_add_printf(b, "netflowd_reloads_total{result=\"ok\"} %llu\n"
	    "netflowd_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)c->stats.reloads,
	    (unsigned long long)c->stats.reload_failures);
	collector_kafka_metrics(c, b);
	stream_metrics(c->stream, b);
	collector_enrich_metrics(c, b);
}

/* The server's own figures: how connections ended, descriptor trouble. */
static void
http_metrics(struct evbuffer *b, const struct httpd *h)
{
	struct httpd_stats st;

	httpd_stats(h, &st);
	head(b, "netflowd_http_connections_total", "counter",
	    "Connections to the metrics server, by how they ended (timeout: no "
	    "complete exchange within the deadline; evicted: closed to make room "
	    "at the connection cap).");
	for (int i = 0; i < HTTPD_RESULT_MAX; i++)
		evbuffer_add_printf(b, "netflowd_http_connections_total{result=\"%s\"}"
		    " %llu\n", httpd_result_name(i),
		    (unsigned long long)st.results[i]);
	gauge(b, "netflowd_http_connections", "gauge",
	    "Connections to the metrics server open now.",
	    (unsigned long long)st.open);
	gauge(b, "netflowd_http_connections_max", "gauge",
	    "The connection cap (from RLIMIT_NOFILE).", (unsigned long long)st.max);
	gauge(b, "netflowd_http_accept_errors_total", "counter",
	    "accept() failures (EMFILE, ENFILE ...); each pauses accepting briefly.",
	    (unsigned long long)st.accept_errors);
	gauge(b, "netflowd_libevent_messages_total", "counter",
	    "Warnings and errors libevent reported (logged at most 10 per 10 s).",
	    (unsigned long long)log_libevent_messages());
}

static int
on_request(const char *path, struct evbuffer *b, void *arg)
{
	struct metrics *m = arg;

	if (strcmp(path, "/metrics") != 0) {
		evbuffer_add_printf(b, "try /metrics\n");
		return 404;
	}
	render(b, m->c);
	gauge(b, "netflowd_clock_steps_total", "counter",
	    "Steps of the wall clock (more than 2 s against the monotonic clock); "
	    "each ends the open output slot.",
	    (unsigned long long)m->c->stats.clock_steps);
	http_metrics(b, m->httpd);
	return 200;
}

static int
listen_socket(const struct config_listen *l)
{
	int fd, on = 1, v6only;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->addr.ss_family == AF_INET6) {
		v6only = l->dual_stack ? 0 : 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0 ||
	    listen(fd, 128) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

struct metrics *
metrics_new(struct collector *c, const struct config_listen *conf, char **err)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int fd = -1;

	*err = NULL;
	if (m == NULL)
		goto fail;
	m->c = c;
	m->conf = *conf;
	if ((m->conf.text = strdup(conf->text)) == NULL)
		goto fail;
	if ((fd = listen_socket(conf)) < 0) {
		if (asprintf(err, "metrics: cannot listen on %s: %s", conf->text,
		    strerror(errno)) < 0)
			*err = NULL;
		goto fail;
	}
	m->httpd = httpd_new(c->base, fd, "metrics", on_request, m);
	/* the listening socket belongs to httpd now, also on failure */
	fd = -1;
	if (m->httpd == NULL)
		goto fail;
	log_msg(LOG_INFO, "metrics: at most %zu connections (from the descriptor "
	    "limit), %d s for each", httpd_connection_cap(),
	    HTTPD_DEADLINE_MS / 1000);
	return m;
fail:
	if (fd >= 0)
		close(fd);
	if (*err == NULL)
		*err = strdup("metrics: out of memory");
	metrics_free(m);
	return NULL;
}

const struct config_listen *
metrics_listen(const struct metrics *m)
{
	return &m->conf;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	httpd_free(m->httpd);
	free(m->conf.text);
	free(m);
}
