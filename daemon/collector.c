#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "sdglue.h"

static const char *
addr_text(const struct parser_addr *a, char *buf, size_t size)
{
	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf,
	    (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
	return buf;
}

static void
on_record(const struct flow_record *rec, void *arg)
{
	struct collector *c = arg;

	c->stats.records++;
	if (output_write(c->output, rec) < 0) {
		c->stats.write_errors++;
		log_limited(&c->write_log, LOG_ERR, "cannot write output: %s",
		    strerror(errno));
	}
}

static void
on_drop(const struct parser_source *src, enum parser_drop why,
    uint32_t count, void *arg)
{
	struct collector *c = arg;
	char buf[64];

	c->stats.drops[why] += count;
	log_limited(&c->drop_log, LOG_WARNING, "exporter %s port %u: dropped: %s",
	    addr_text(&src->addr, buf, sizeof(buf)), src->port,
	    parser_drop_name(why));
}

static void
on_packet(const struct parser_packet *pkt, void *arg)
{
	struct collector *c = arg;
	char buf[64];

	if (!c->debug)
		return;
	log_msg(LOG_DEBUG, "exporter %s port %u: version %u domain %u sequence %u: %u records",
	    addr_text(&pkt->src->addr, buf, sizeof(buf)), pkt->src->port,
	    pkt->version, pkt->domain, pkt->sequence, pkt->records);
}

void
collector_datagram(struct collector *c, const uint8_t *buf, size_t len,
    struct parser_source *src)
{
	c->stats.datagrams++;
	c->stats.bytes += len;
	if (!config_allowed(c->config, src->addr.family, src->addr.bytes)) {
		c->stats.not_allowed++;
		return;
	}
	parser_feed(c->parser, buf, len, src);
}

static int64_t
realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Once a second: push buffered lines out and close a finished slot. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;

	if (output_rotate(c->output, realtime_ms()) < 0 ||
	    output_flush(c->output) < 0)
		log_limited(&c->write_log, LOG_ERR, "cannot write output: %s",
		    strerror(errno));
}

void
collector_log_stats(struct collector *c)
{
	const struct output_stats *os = output_stats(c->output);
	uint64_t drops = 0;

	for (int i = 0; i < PARSER_DROP_MAX; i++)
		drops += c->stats.drops[i];
	log_msg(LOG_INFO, "stats: %llu datagrams, %llu bytes, %llu records, "
	    "%llu drops, %llu not allowed, %zu templates, %llu files, "
	    "%llu write errors",
	    (unsigned long long)c->stats.datagrams,
	    (unsigned long long)c->stats.bytes,
	    (unsigned long long)c->stats.records, (unsigned long long)drops,
	    (unsigned long long)c->stats.not_allowed,
	    parser_template_count(c->parser), (unsigned long long)os->files,
	    (unsigned long long)os->write_errors);
	for (int i = 0; i < PARSER_DROP_MAX; i++)
		if (c->stats.drops[i])
			log_msg(LOG_INFO, "stats: drop %s: %llu", parser_drop_name(i),
			    (unsigned long long)c->stats.drops[i]);
	for (struct listener *l = c->listeners; l; l = l->next)
		log_msg(LOG_INFO, "stats: listener %s: %llu datagrams, %llu bytes, "
		    "%llu kernel drops", l->conf.text,
		    (unsigned long long)l->datagrams, (unsigned long long)l->bytes,
		    (unsigned long long)l->kernel_drops);
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
		log_msg(LOG_WARNING, "SIGHUP: reload is not supported yet, "
		    "configuration unchanged");
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

struct collector *
collector_new(struct config *config, bool debug, bool to_stdout)
{
	struct collector *c = calloc(1, sizeof(*c));
	struct parser_ops ops = {
		.record = on_record, .drop = on_drop, .packet = on_packet,
	};
	struct output_config oc;
	char *err = NULL;

	if (c == NULL)
		fatal("out of memory");
	c->config = config;
	c->debug = debug;
	c->to_stdout = to_stdout;
	c->drop_log = (struct ratelimit)RATELIMIT_INIT(10000, 10);
	c->write_log = (struct ratelimit)RATELIMIT_INIT(10000, 5);
	if ((c->parser = parser_new(NULL, &ops, c)) == NULL)
		fatal("out of memory");
	oc = (struct output_config){
		.directory = config->directory, .rotate = config->rotate,
		.to_stdout = to_stdout,
	};
	if (!to_stdout) {
		int n = output_recover(config->directory);

		if (n > 0)
			log_msg(LOG_NOTICE, "recovered %d unfinished output files in %s",
			    n, config->directory);
	}
	if ((c->output = output_new(&oc, &err)) == NULL)
		fatal("%s", err ? err : "cannot open output");
	return c;
}

static void
open_listeners(struct collector *c)
{
	struct listener **tail = &c->listeners;

	if ((c->rx = rx_buffers_new()) == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < c->config->nlisten; i++) {
		const struct config_listen *cl = &c->config->listen[i];
		struct listener *l;

		if (listener_open(c, cl, &l) < 0)
			fatal("cannot listen on %s: %s", cl->text, strerror(errno));
		log_msg(LOG_INFO, "listening on udp %s%s", cl->text,
		    cl->dual_stack ? " (IPv4 and IPv6)" : "");
		*tail = l;
		tail = &l->next;
	}
}

int
collector_run(struct collector *c)
{
	struct timeval one_second = { 1, 0 };

	if ((c->base = event_base_new()) == NULL)
		fatal("cannot create event base");
	open_listeners(c);
	c->sig_term = add_signal(c, SIGTERM);
	c->sig_int = add_signal(c, SIGINT);
	c->sig_hup = add_signal(c, SIGHUP);
	c->sig_usr1 = add_signal(c, SIGUSR1);
	c->tick = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	if (c->tick == NULL || event_add(c->tick, &one_second) < 0)
		fatal("cannot start timer");
	log_msg(LOG_NOTICE, "netflowd ready, writing %s", c->to_stdout ?
	    "to standard output" : c->config->directory);
	sdglue_notify("READY=1");
	if (event_base_dispatch(c->base) < 0)
		return -1;
	return 0;
}

void
collector_free(struct collector *c)
{
	struct listener *l, *next;

	if (c == NULL)
		return;
	for (l = c->listeners; l; l = next) {
		next = l->next;
		listener_free(l);
	}
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
	output_free(c->output);
	parser_free(c->parser);
	rx_buffers_free(c->rx);
	config_free(c->config);
	if (c->base)
		event_base_free(c->base);
	free(c);
}
