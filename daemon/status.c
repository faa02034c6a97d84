/*
 * What systemd sees while netflowd runs: STATUS= with live figures every
 * few seconds, and WATCHDOG=1 from the event loop itself, so a loop that
 * hangs stops the pings and systemd restarts the service.
 */
#include <stdio.h>
#include <string.h>

#include "collector.h"
#include "sdglue.h"

void
collector_status_text(struct collector *c, char *buf, size_t size)
{
	uint64_t drops = c->stats.closed_kernel_drops;
	struct parser_counters t;
	size_t nlisten = 0;
	int n;

	parser_totals(c->parser, &t);
	for (int i = 0; i < PARSER_DROP_MAX; i++)
		drops += t.drops[i];
	for (struct listener *l = c->listeners; l; l = l->next) {
		nlisten++;
		drops += l->kernel_drops;
	}
	n = snprintf(buf, size, "%zu listeners, %zu exporters, %.0f flows/s, "
	    "%llu flows, %llu drops", nlisten, parser_exporter_count(c->parser),
	    c->flows_per_second, (unsigned long long)t.flows,
	    (unsigned long long)drops);
	if (n > 0 && (size_t)n < size) {
		collector_kafka_status(c, buf + n, size - (size_t)n);
		n += (int)strlen(buf + n);
	}
	if (c->reload_error && n > 0 && (size_t)n < size)
		/* the first error; STATUS= is one line */
		snprintf(buf + n, size - (size_t)n, "; reload failed: %.*s%s",
		    (int)strcspn(c->reload_error, "\n"), c->reload_error,
		    strchr(c->reload_error, '\n') ? " (and more, see the log)" : "");
	collector_output_status(c, buf, size);
}

static void
on_status(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	int64_t now = collector_realtime_ms();
	struct parser_counters t;
	char status[512];

	parser_totals(c->parser, &t);
	if (c->status_ms && now > c->status_ms)
		c->flows_per_second = (double)(t.flows - c->status_records) *
		    1000.0 / (double)(now - c->status_ms);
	c->status_ms = now;
	c->status_records = t.flows;
	collector_status_text(c, status, sizeof(status));
	sdglue_notifyf("STATUS=%s", status);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	/* a loop that runs but an output that has been dead for a minute
	 * is a hung service too */
	if (collector_output_alive(arg))
		sdglue_notify("WATCHDOG=1");
}

int
collector_status_start(struct collector *c)
{
	struct timeval every = { STATUS_INTERVAL, 0 };
	uint64_t usec = sdglue_watchdog_usec();

	c->status_ms = collector_realtime_ms();
	c->status_ev = event_new(c->base, -1, EV_PERSIST, on_status, c);
	if (c->status_ev == NULL || event_add(c->status_ev, &every) < 0)
		return -1;
	if (usec == 0)
		return 0;
	/* half the interval, as sd_watchdog_enabled(3) recommends */
	usec /= 2;
	every = (struct timeval){ (time_t)(usec / 1000000),
	    (suseconds_t)(usec % 1000000) };
	c->watchdog_ev = event_new(c->base, -1, EV_PERSIST, on_watchdog, c);
	if (c->watchdog_ev == NULL || event_add(c->watchdog_ev, &every) < 0)
		return -1;
	sdglue_notify("WATCHDOG=1");
	log_msg(LOG_INFO, "watchdog: ping every %llu ms",
	    (unsigned long long)usec / 1000);
	return 0;
}

void
collector_status_finish(struct collector *c)
{
	if (c->status_ev)
		event_free(c->status_ev);
	if (c->watchdog_ev)
		event_free(c->watchdog_ev);
	c->status_ev = c->watchdog_ev = NULL;
}
