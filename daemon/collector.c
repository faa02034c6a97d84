#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "collector.h"
#include "enrich.h"
#include "metrics.h"
#include "sdglue.h"
#include "state.h"
#include "stream.h"

int64_t
collector_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void switch_output(struct collector *c, int64_t now_ms);

static void
on_record(const struct flow_record *rec, void *arg)
{
	struct collector *c = arg;
	char buf[64], group[64];

	c->last_template_id = rec->template_id;
	/* the loop's clock: held data released now carries an older time
	 * (collector_output_boundary(), its test inline: every record) */
	if (c->next_output != NULL && c->now_ms >= c->next_output_ms)
		switch_output(c, c->now_ms);
	if (output_write(c->output, rec) == 0)
		return;
	/* counted in the output's lost records by reason, and against the
	 * exporter it came from */
	parser_record_dropped(c->feeding ? c->feeding : c->parser, 1);
	if (errno == EBUSY) {
		/* the address is formatted only for a line that is logged */
		if (!log_limited_pass(&c->shed_log, LOG_WARNING))
			return;
		exporter_text(&rec->src->addr, buf, sizeof(buf));
		output_shed_group(c->output, group, sizeof(group));
		log_fields(LOG_WARNING, LOG_FIELDS({ "EXPORTER", buf },
		    { "FAIR_GROUP", group }, { "OUTPUT_REASON", "fair_share" }),
		    "exporter %s (group %s): records shed: its group or it sends "
		    "more than its share of an output that does not keep up",
		    buf, group);
	} else if (errno == ENOBUFS)
		log_limited(&c->write_log, LOG_ERR, "record dropped: output "
		    "queue full (the disk does not keep up)");
	else
		log_limited(&c->write_log, LOG_ERR, "cannot write output: %s",
		    strerror(errno));
}

static void
on_drop(const struct parser_source *src, enum parser_drop why,
    uint32_t count, void *arg)
{
	struct collector *c = arg;
	char buf[64];

	exporter_text(&src->addr, buf, sizeof(buf));
	log_limited_fields(&c->drop_log, LOG_WARNING,
	    LOG_FIELDS({ "EXPORTER", buf }, { "DROP_REASON", parser_drop_name(why) }),
	    "exporter %s port %u: dropped: %s", buf, src->port,
	    parser_drop_name(why));
}

static void
on_packet(const struct parser_packet *pkt, void *arg)
{
	struct collector *c = arg;
	char buf[64];

	newcomers_packet(c->newcomers, pkt, c->last_template_id);
	if (!c->debug)
		return;
	exporter_text(&pkt->src->addr, buf, sizeof(buf));
	if (pkt->format == FLOW_FORMAT_SFLOW) {
		log_fields(LOG_DEBUG, LOG_FIELDS({ "EXPORTER", buf }),
		    "exporter %s port %u: sflow sub-agent %u sequence %u: "
		    "%u samples, %u datagrams and %u samples lost, %u resets",
		    buf, pkt->src->port, pkt->domain, pkt->sequence,
		    pkt->records, pkt->lost, pkt->samples_lost, pkt->resets);
		return;
	}
	log_fields(LOG_DEBUG, LOG_FIELDS({ "EXPORTER", buf }),
	    "exporter %s port %u: version %u domain %u sequence %u: %u records, "
	    "%u lost%s", buf, pkt->src->port, pkt->version, pkt->domain,
	    pkt->sequence, pkt->records, pkt->lost,
	    pkt->resets ? ", sequence reset" : "");
}

void
collector_datagram(struct collector *c, const uint8_t *buf, size_t len,
    struct parser_source *src)
{
	c->stats.datagrams++;
	c->stats.bytes += len;
	/* the loop's clock: the records of this datagram and those it
	 * releases (held for their template) are filed under its time */
	c->now_ms = src->received_ms;
	output_clock(c->output, src->received_ms);
	if (!config_allowed(c->config, src->addr.family, src->addr.bytes)) {
		c->stats.not_allowed++;
		return;
	}
	/* counted per exporter by the parser */
	parser_feed(c->parser, buf, len, src);
}

static const struct parser_ops collector_ops = {
	.record = on_record, .drop = on_drop, .packet = on_packet,
};

struct parser *
collector_parser_new(struct collector *c, const struct parser_limits *limits)
{
	return parser_new(limits, &collector_ops, c);
}

void
collector_feed(struct collector *c, struct parser *p, const uint8_t *buf,
    size_t len, const struct parser_source *src)
{
	c->now_ms = src->received_ms;
	output_clock(c->output, src->received_ms);
	c->feeding = p;
	parser_feed(p, buf, len, src);
	c->feeding = NULL;
}

size_t
collector_output_backlog(struct collector *c, size_t *max)
{
	return output_backlog(c->output, max);
}

void
collector_output_boundary(struct collector *c, int64_t now_ms)
{
	if (c->next_output != NULL && now_ms >= c->next_output_ms)
		switch_output(c, now_ms);
}

static void
switch_output(struct collector *c, int64_t now_ms)
{
	struct kafka *was, *now;

	/* the old output closes and renames its slot on a thread of its own:
	 * every record written so far goes there, the next one opens a slot
	 * of the new output. With Kafka, the new output's render thread
	 * waits until the old one rendered (and produced) all it holds, and
	 * until the old producer settled when the producer changes: each
	 * exporter's records stay in order in their partition. The old
	 * output's threads say so themselves; the loop waits for nothing. */
	was = output_kafka(c->output);
	now = output_kafka(c->next_output);
	if (output_follow(c->next_output, c->output) < 0)
		log_msg(LOG_ERR, "output switch: out of memory: records of the "
		    "old and the new output may reach Kafka out of order");
	collector_retire_output(c, c->output);
	c->output = c->next_output;
	c->next_output = NULL;
	output_clock(c->output, now_ms);
	log_msg(LOG_NOTICE, "output now %s, rotation every %u s, compress %s",
	    c->to_stdout ? "standard output" : c->config->directory,
	    c->config->rotate, config_compress_name(c->config->compress));
	if (was != now)
		collector_kafka_switched(c, now);
}

/* Slots are named after wall-clock time, so a step of that clock ends the
 * open slot at once, also a step back (its end would otherwise be up to
 * the step away); records after it open the slot of their own time. */
static void
check_clock(struct collector *c, int64_t now)
{
	int64_t offset = now - monotonic_ms(), step = offset - c->clock_offset_ms;
	char ms[24];

	if (c->clock_offset_ms == 0 || (step < CLOCK_STEP_MS && -step < CLOCK_STEP_MS)) {
		c->clock_offset_ms = offset;
		return;
	}
	c->clock_offset_ms = offset;
	c->stats.clock_steps++;
	snprintf(ms, sizeof(ms), "%lld", (long long)step);
	log_fields(LOG_WARNING, LOG_FIELDS({ "CLOCK_STEP_MS", ms }),
	    "wall clock stepped %s by %lld.%03lld s: the open output slot ends "
	    "now, new records go into the slot of their own time",
	    step < 0 ? "back" : "forward", (long long)(step < 0 ? -step : step) / 1000,
	    (long long)(step < 0 ? -step : step) % 1000);
	if (output_end_slot(c->output) < 0)
		log_limited(&c->write_log, LOG_ERR, "cannot write output: %s",
		    strerror(errno));
	if (c->next_output)
		c->next_output_ms = now + output_next_rotation(c->output, now);
}

/* Once a second: push buffered lines out and close a finished slot. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	int64_t now = collector_realtime_ms();

	check_clock(c, now);
	collector_output_boundary(c, now);
	parser_expire(c->parser, now);
	stream_tick(c->stream, now);
	if (++c->ticks % TEMPLATES_SAVE_INTERVAL == 0)
		state_save(c);
	if (output_rotate(c->output, now) < 0 || output_flush(c->output) < 0)
		log_limited(&c->write_log, LOG_ERR, "cannot write output: %s",
		    strerror(errno));
	collector_output_check(c);
	for (struct listener *l = c->listeners; l; l = l->next)
		listener_log_errors(l, &c->receive_log);
	/* after a failed restart (reload) */
	if (receiver_start(c->receiver) < 0)
		log_limited(&c->receive_log, LOG_CRIT,
		    "cannot start the receive thread: %s", strerror(errno));
	log_ratelimit_flush(&c->drop_log);
	log_ratelimit_flush(&c->write_log);
	log_ratelimit_flush(&c->shed_log);
	log_ratelimit_flush(&c->receive_log);
	newcomers_tick(c->newcomers);
	collector_reap_outputs(c, false);
	collector_kafka_tick(c);
	collector_enrich_tick(c);
}

static void
log_exporter(const struct parser_exporter *e)
{
	const struct parser_counters *k = parser_exporter_counters(e);
	char buf[64], drops[512];
	size_t n = 0;

	exporter_text(parser_exporter_addr(e), buf, sizeof(buf));
	drops[0] = '\0';
	for (int i = 0; i < PARSER_DROP_MAX && n < sizeof(drops); i++)
		if (k->drops[i])
			n += (size_t)snprintf(drops + n, sizeof(drops) - n, ", %s %llu",
			    parser_drop_name(i), (unsigned long long)k->drops[i]);
	log_fields(LOG_INFO, LOG_FIELDS({ "EXPORTER", buf }),
	    "stats: exporter %s: %llu datagrams, %llu bytes, %llu flows, "
	    "%llu lost in sequence, %llu sequence resets, %llu sFlow samples "
	    "lost, %llu flows the output could not keep%s%s", buf,
	    (unsigned long long)k->datagrams,
	    (unsigned long long)k->bytes, (unsigned long long)k->flows,
	    (unsigned long long)k->lost, (unsigned long long)k->resets,
	    (unsigned long long)k->samples_lost,
	    (unsigned long long)k->output_dropped, drops,
	    parser_exporter_evicted(e) ? " (evicted: counters only)" : "");
}

void
collector_log_stats(struct collector *c)
{
	struct output_stats sum;
	const struct output_stats *os = &sum;
	struct receiver_stats rs = { 0 };
	struct parser_counters t;
	uint64_t drops = 0;
	size_t shown = 0;

	collector_output_stats(c, &sum);
	/* the parser counts every record and drop, evicted exporters' too */
	parser_totals(c->parser, &t);
	for (int i = 0; i < PARSER_DROP_MAX; i++)
		drops += t.drops[i];
	log_msg(LOG_INFO, "stats: %llu datagrams, %llu bytes, %llu records, "
	    "%llu drops, %llu not allowed, %zu templates, %llu files, "
	    "%llu write errors, %zu exporters, %llu lost in sequence, "
	    "%llu sequence resets",
	    (unsigned long long)c->stats.datagrams,
	    (unsigned long long)c->stats.bytes,
	    (unsigned long long)t.flows, (unsigned long long)drops,
	    (unsigned long long)c->stats.not_allowed,
	    parser_template_count(c->parser), (unsigned long long)os->files,
	    (unsigned long long)os->write_errors,
	    parser_exporter_count(c->parser),
	    (unsigned long long)parser_lost_total(c->parser),
	    (unsigned long long)t.resets);
	log_msg(LOG_INFO, "stats: output: %llu records, %llu JSON bytes, %llu bytes "
	    "to disk (%llu direct), %llu lost to a full output queue, "
	    "%llu too large, queue peak %llu MiB",
	    (unsigned long long)os->records, (unsigned long long)os->bytes,
	    (unsigned long long)os->disk_bytes,
	    (unsigned long long)os->direct_bytes, (unsigned long long)os->dropped,
	    (unsigned long long)os->oversized,
	    (unsigned long long)os->queue_peak);
	collector_output_log_stats(c);
	collector_enrich_log_stats(c);
	if (c->receiver) {
		receiver_stats(c->receiver, &rs);
		log_msg(LOG_INFO, "stats: receive queue: %llu KiB queued, peak %llu "
		    "KiB of %llu MiB, full %llu times",
		    (unsigned long long)rs.used >> 10,
		    (unsigned long long)rs.peak >> 10,
		    (unsigned long long)rs.size >> 20, (unsigned long long)rs.full);
	}
	for (int i = 0; i < PARSER_DROP_MAX; i++)
		if (t.drops[i])
			log_fields(LOG_INFO,
			    LOG_FIELDS({ "DROP_REASON", parser_drop_name(i) }),
			    "stats: drop %s: %llu", parser_drop_name(i),
			    (unsigned long long)t.drops[i]);
	for (struct listener *l = c->listeners; l; l = l->next)
		log_fields(LOG_INFO, LOG_FIELDS({ "LISTENER", l->conf.text }),
		    "stats: listener %s: %llu datagrams, %llu bytes, "
		    "%llu kernel drops, %llu receive errors", l->conf.text,
		    (unsigned long long)l->datagrams, (unsigned long long)l->bytes,
		    (unsigned long long)l->kernel_drops,
		    (unsigned long long)l->errors);
	for (const struct parser_exporter *e = parser_exporter_first(c->parser);
	    e != NULL; e = parser_exporter_next(c->parser, e)) {
		if (shown++ == 256) {
			size_t more = 0;

			/* evicted exporters with counters are listed too */
			for (; e != NULL; e = parser_exporter_next(c->parser, e))
				more++;
			log_msg(LOG_INFO, "stats: %zu more exporters (see /metrics)",
			    more);
			break;
		}
		log_exporter(e);
	}
	stream_log_stats(c->stream);
	collector_kafka_log_stats(c);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct collector *c = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_msg(LOG_INFO, "received %s, shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		sdglue_notify("STOPPING=1");
		event_base_loopbreak(c->base);
		break;
	case SIGHUP:
		collector_signal_hup(c);
		break;
	case SIGUSR1:
		collector_log_stats(c);
		break;
	}
}

static struct event *
add_signal(struct collector *c, int sig)
{
	struct event *ev = evsignal_new(c->base, sig, on_signal, c);

	if (ev == NULL || event_add(ev, NULL) < 0)
		fatal("cannot install handler for signal %d", sig);
	return ev;
}

void
collector_output_config(const struct collector *c, const struct config *config,
    struct output_config *oc)
{
	*oc = (struct output_config){
		.directory = config->directory, .rotate = config->rotate,
		.to_stdout = c->to_stdout, .lossless = c->args.offline,
		.compress = (enum output_compress)config->compress,
		.direct_io = config->direct_io,
		.no_files = !config->files, .kafka = collector_kafka(c),
		.level = config->compress_level,
		.level_set = config->compress_level_set,
		.adapt = config->compress_adapt,
		.threads = config->compress_threads,
		.log = collector_output_log,
		.lost = c->lost,
		.enrich = c->enrich,
		.fair_prefix_set = true,
		.fair_prefix4 = config->fair_prefix4,
		.fair_prefix6 = config->fair_prefix6,
	};
}

struct collector *
collector_new(struct config *config, const struct collector_args *args)
{
	struct collector *c = calloc(1, sizeof(*c));
	struct parser_limits limits = {
		.max_exporters = config->max_exporters,
		.max_held_bytes = config->held_data,
	};
	struct output_config oc;
	char *err = NULL;

	if (c == NULL)
		fatal("out of memory");
	TAILQ_INIT(&c->retiring);
	c->done_fd = -1;
	if (collector_completion_open(c) < 0)
		fatal("cannot create an eventfd: %s", strerror(errno));
	c->args = *args;
	c->config = config;
	c->debug = args->debug;
	c->to_stdout = args->to_stdout;
	c->drop_log = (struct ratelimit)RATELIMIT_INIT(10000, 10);
	if ((c->newcomers = newcomers_new()) == NULL)
		fatal("out of memory");
	c->write_log = (struct ratelimit)RATELIMIT_INIT(10000, 5);
	c->shed_log = (struct ratelimit)RATELIMIT_INIT(10000, 5);
	c->receive_log = (struct ratelimit)RATELIMIT_INIT(10000, 5);
	if ((c->parser = parser_new(&limits, &collector_ops, c)) == NULL)
		fatal("out of memory");
	/* one table for every output a reload makes: its counts only grow */
	if ((c->lost = output_lost_new()) == NULL)
		fatal("out of memory");
	collector_kafka_open(c);
	if (collector_enrich_open(config, &c->enrich, &err) < 0)
		fatal("%s", err ? err : "out of memory");
	collector_output_config(c, config, &oc);
	if (!c->to_stdout && config->files) {
		struct output_recovery *r = &c->recovery;

		/* before the output exists: its slot may be one of them */
		output_recover(config->directory, r, collector_output_log);
		if (r->found > 0)
			log_msg(LOG_NOTICE, "recovery: %u unfinished output files "
			    "in %s: %u published (%u of them cut back to their "
			    "last whole line or frame), %u removed (nothing "
			    "whole), %u left as they were; %llu bytes cut",
			    r->found, config->directory, r->published, r->cut,
			    r->removed, r->kept,
			    (unsigned long long)r->bytes_cut);
	}
	if ((c->output = output_new(&oc, &err)) == NULL)
		fatal("%s", err ? err : "cannot open output");
	return c;
}

static void
open_listeners(struct collector *c)
{
	struct listener **tail = &c->listeners;

	if ((c->receiver = receiver_new(c, c->config->receive_queue)) == NULL)
		fatal("cannot set up the receive queue: %s", strerror(errno));
	for (size_t i = 0; i < c->config->nlisten; i++) {
		const struct config_listen *cl = &c->config->listen[i];
		struct listener *l;

		if (listener_open(c, cl, c->config->receive_buffer, &l) < 0) {
			char *msg = listener_error(c->config, cl, errno);

			fatal("%s", msg ? msg : "cannot listen: out of memory");
		}
		log_fields(LOG_INFO, LOG_FIELDS({ "LISTENER", cl->text }),
		    "listening on udp %s%s", cl->text,
		    cl->dual_stack ? " (IPv4 and IPv6)" : "");
		*tail = l;
		tail = &l->next;
	}
	if (receiver_start(c->receiver) < 0)
		fatal("cannot start the receive thread: %s", strerror(errno));
}

static void
open_streams(struct collector *c)
{
	char *err = NULL;

	if ((c->stream = stream_new(c)) == NULL)
		fatal("out of memory");
	if (stream_open(c->stream, c->config, &err) < 0)
		fatal("%s", err ? err : "cannot listen: out of memory");
}

static void
open_metrics(struct collector *c)
{
	char *err = NULL;

	if (!c->config->metrics_enabled)
		return;
	if ((c->metrics = metrics_new(c, &c->config->metrics, &err)) == NULL) {
		if (c->config->path && c->config->metrics.line > 0)
			fatal("%s:%d: %s", c->config->path, c->config->metrics.line,
			    err ? err : "out of memory");
		fatal("%s", err ? err : "out of memory");
	}
	log_msg(LOG_INFO, "serving metrics on http://%s/metrics",
	    c->config->metrics.text);
}

int
collector_run(struct collector *c)
{
	struct timeval one_second = { 1, 0 };
	char status[256];

	if ((c->base = event_base_new()) == NULL)
		fatal("cannot create event base");
	state_load(c);
	open_listeners(c);
	open_streams(c);
	open_metrics(c);
	c->sig_term = add_signal(c, SIGTERM);
	c->sig_int = add_signal(c, SIGINT);
	c->sig_hup = add_signal(c, SIGHUP);
	c->sig_usr1 = add_signal(c, SIGUSR1);
	c->tick = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	if (c->tick == NULL || event_add(c->tick, &one_second) < 0)
		fatal("cannot start timer");
	if (collector_status_start(c) < 0 || collector_completion_start(c) < 0)
		fatal("cannot start timer");
	log_msg(LOG_NOTICE, "netflowd ready, writing %s", c->to_stdout ?
	    "to standard output" : c->config->files ? c->config->directory :
	    "to Kafka only");
	/* every listener is bound and the output is open */
	collector_status_text(c, status, sizeof(status));
	sdglue_notifyf("READY=1\nSTATUS=%s", status);
	if (event_base_dispatch(c->base) < 0)
		return -1;
	receiver_stop(c->receiver);
	receiver_drain(c->receiver);
	state_save_now(c);
	/* data still waiting for its template will not see it now */
	parser_expire(c->parser, INT64_MAX);
	return output_stats(c->output)->closed ? -1 : 0;
}

void
collector_free(struct collector *c)
{
	struct listener *l, *next;

	if (c == NULL)
		return;
	/* stop reading first, then flush and close the output */
	if (c->receiver)
		receiver_stop(c->receiver);
	for (l = c->listeners; l; l = next) {
		next = l->next;
		listener_free(l);
	}
	/* what sessions hold for templates is counted before the output
	 * closes */
	stream_free(c->stream);
	c->stream = NULL;
	metrics_free(c->metrics);
	state_finish(c);
	collector_reload_finish(c);
	collector_status_finish(c);
	if (c->tick)
		event_free(c->tick);
	if (c->sig_term)
		event_free(c->sig_term);
	if (c->sig_int)
		event_free(c->sig_int);
	if (c->sig_hup)
		event_free(c->sig_hup);
	if (c->sig_usr1)
		event_free(c->sig_usr1);
	collector_reap_outputs(c, true);
	output_free(c->output);
	output_free(c->next_output);
	enrich_unref(c->enrich);
	output_lost_free(c->lost);
	collector_kafka_finish(c);
	collector_completion_close(c);
	parser_free(c->parser);
	newcomers_free(c->newcomers);
	receiver_free(c->receiver);
	config_free(c->config);
	if (c->base)
		event_base_free(c->base);
	free(c);
}
