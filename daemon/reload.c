/*
 * Configuration loading and SIGHUP reload, in the manner of OpenBSD's
 * bgpd: the new file is parsed and validated by the same function as at
 * start-up, new sockets are bound while the old ones keep receiving, and
 * only then is the new config swapped in. Anything that fails leaves the
 * running configuration untouched.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "collector.h"
#include "enrich.h"
#include "metrics.h"
#include "sdglue.h"
#include "stream.h"

struct config *
collector_load_config(const struct collector_args *a, char **err)
{
	struct config *c;

	*err = NULL;
	if (a->config_given || access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		const char *path = a->config_given ? a->config_path :
		    CONFIG_DEFAULT_PATH;

		if ((c = config_load(path, err)) == NULL)
			return NULL;
		if (c->listen_default && a->nports == 0)
			log_msg(LOG_WARNING, "%s: no listen address set: listening "
			    "on the defaults *:2055 and *:4739 (every address)", path);
	} else if ((c = config_new_default()) == NULL) {
		goto oom;
	}
	if (a->nports > 0 && config_set_ports(c, a->ports, a->nports, err) < 0) {
		config_free(c);
		return NULL;
	}
	if (a->directory && config_set_string(&c->directory, a->directory) < 0) {
		config_free(c);
		goto oom;
	}
	if (a->rotate)
		c->rotate = a->rotate;
	return c;
oom:
	*err = strdup("out of memory");
	return NULL;
}

/* Past the point of no return, so only logged; the next tick tries
 * again. */
static void
restart_receiver(struct collector *c)
{
	if (receiver_start(c->receiver) < 0)
		log_msg(LOG_CRIT, "cannot restart the receive thread: %s",
		    strerror(errno));
}

/* What a reload prepared; nothing of it is visible before commit. */
struct staged {
	struct config *config;
	struct listener **listeners;    /* in the new config's order */
	size_t added;
	size_t handovers;        /* listeners bound by stage_handovers() */
	struct stream_staged *stream;
	struct metrics *metrics;
	bool metrics_changed;
	struct output *output;
	struct kafka *kafka;     /* a new producer, when [kafka] changed */
	bool kafka_changed;
	/* [enrich] reopened (every reload: the files may have changed) */
	struct enrich *enrich;
	bool enrich_staged;
};

static void
unstage(struct collector *c, struct staged *s)
{
	/* new listeners are in the receive thread's set already */
	if (s->added)
		receiver_stop(c->receiver);
	for (size_t i = 0; s->listeners && i < s->config->nlisten; i++) {
		struct listener *l = s->listeners[i];

		if (l == NULL)
			continue;
		if (l->keep)
			l->keep = false;
		else
			listener_free(l);
	}
	if (s->added)
		restart_receiver(c);
	free(s->listeners);
	stream_unstage(c->stream, s->stream);
	if (s->metrics_changed)
		metrics_free(s->metrics);
	output_free(s->output);
	collector_kafka_discard(c, s->kafka);
	enrich_unref(s->enrich);
	config_free(s->config);
}

static int
stage_enrich(struct staged *s, char **err)
{
	if (collector_enrich_open(s->config, &s->enrich, err) < 0)
		return -1;
	s->enrich_staged = true;
	return 0;
}

static struct listener *
find_listener(struct collector *c, const struct config_listen *cl)
{
	for (struct listener *l = c->listeners; l; l = l->next)
		if (!l->keep && config_listen_equal(&l->conf, cl))
			return l;
	return NULL;
}

static uint16_t
listen_port(const struct config_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

/* A listener the new config drops holds cl's port: the two cannot be
 * bound at once (0.0.0.0:2055 -> *:2055), cl takes its place last. */
static bool
port_held_by_leaving(struct collector *c, const struct config_listen *cl)
{
	for (struct listener *l = c->listeners; l; l = l->next)
		if (!l->keep && listen_port(&l->conf) == listen_port(cl))
			return true;
	return false;
}

static int
stage_listeners(struct collector *c, struct staged *s, char **err)
{
	const struct config *nc = s->config;

	if ((s->listeners = calloc(nc->nlisten, sizeof(*s->listeners))) == NULL)
		return -1;
	/* first what stays, so that what leaves is known */
	for (size_t i = 0; i < nc->nlisten; i++)
		if ((s->listeners[i] = find_listener(c, &nc->listen[i])) != NULL)
			s->listeners[i]->keep = true;
	for (size_t i = 0; i < nc->nlisten; i++) {
		const struct config_listen *cl = &nc->listen[i];
		struct listener *l;

		if (s->listeners[i] != NULL)
			continue;
		if (listener_open(c, cl, nc->receive_buffer, &l) == 0) {
			s->listeners[i] = l;
			s->added++;
			continue;
		}
		if (errno == EADDRINUSE && port_held_by_leaving(c, cl)) {
			s->handovers++;
			continue;
		}
		*err = listener_error(nc, cl, errno);
		return -1;
	}
	return 0;
}

/* Closes the leaving listeners on port; the receive thread is stopped
 * and what their sockets held has been decoded. */
static void
close_leaving(struct collector *c, uint16_t port, const char *successor)
{
	struct listener **pl = &c->listeners, *l;

	while ((l = *pl) != NULL) {
		if (l->keep || listen_port(&l->conf) != port) {
			pl = &l->next;
			continue;
		}
		*pl = l->next;
		log_fields(LOG_NOTICE, LOG_FIELDS({ "LISTENER", l->conf.text }),
		    "udp port %u moves from %s to %s: closing the old socket right "
		    "before binding the new one (both cannot be bound at once)",
		    port, l->conf.text, successor);
		c->stats.closed_kernel_drops += l->kernel_drops;
		listener_free(l);
	}
}

/* A failed handover: the old config's listeners that are not open are
 * bound again (their ports were free a moment ago). */
static void
reopen_old(struct collector *c)
{
	for (size_t i = 0; i < c->config->nlisten; i++) {
		const struct config_listen *cl = &c->config->listen[i];
		struct listener *l;

		for (l = c->listeners; l && !config_listen_equal(&l->conf, cl);)
			l = l->next;
		if (l != NULL)
			continue;
		if (listener_open(c, cl, c->config->receive_buffer, &l) < 0) {
			log_fields(LOG_CRIT, LOG_FIELDS({ "LISTENER", cl->text }),
			    "cannot listen on %s again: %s", cl->text, strerror(errno));
			continue;
		}
		log_fields(LOG_NOTICE, LOG_FIELDS({ "LISTENER", cl->text }),
		    "listening on udp %s again", cl->text);
		l->next = c->listeners;
		c->listeners = l;
	}
}

/* The listeners that take a port over from one the new config drops:
 * the old socket is read empty and closed right before the new one binds.
 * Last of the stages, since the old sockets cannot come back for free. */
static int
stage_handovers(struct collector *c, struct staged *s, char **err)
{
	const struct config *nc = s->config;
	int rc = 0;

	if (s->handovers == 0)
		return 0;
	receiver_stop(c->receiver);
	receiver_drain(c->receiver);
	for (size_t i = 0; i < nc->nlisten && rc == 0; i++) {
		const struct config_listen *cl = &nc->listen[i];

		if (s->listeners[i] != NULL)
			continue;
		close_leaving(c, listen_port(cl), cl->text);
		if (listener_open(c, cl, nc->receive_buffer, &s->listeners[i]) < 0) {
			*err = listener_error(nc, cl, errno);
			rc = -1;
		} else {
			s->added++;
		}
	}
	if (rc < 0) {
		/* unstage() closes the new ones; the old ones come back */
		for (size_t i = 0; i < nc->nlisten; i++)
			if (s->listeners[i] && !s->listeners[i]->keep) {
				listener_free(s->listeners[i]);
				s->listeners[i] = NULL;
			}
		reopen_old(c);
	}
	restart_receiver(c);
	return rc;
}

static int
stage_metrics(struct collector *c, struct staged *s, char **err)
{
	const struct config *nc = s->config;
	const struct config_listen *old = c->metrics ? metrics_listen(c->metrics) :
	    NULL;

	if (!nc->metrics_enabled) {
		s->metrics_changed = c->metrics != NULL;
		return 0;
	}
	if (old && config_listen_equal(old, &nc->metrics)) {
		s->metrics = c->metrics;
		return 0;
	}
	s->metrics_changed = true;
	s->metrics = metrics_new(c, &nc->metrics, err);
	return s->metrics ? 0 : -1;
}

static int
stage_output(struct collector *c, struct staged *s, char **err)
{
	struct output_config oc;

	/* a [kafka] change takes effect with a new output at the slot
	 * boundary, after the old one rendered everything (output_follow):
	 * each exporter's records stay in order across the producers */
	if (!s->kafka_changed &&
	    (c->to_stdout || config_output_equal(c->config, s->config)))
		return 0;
	collector_output_config(c, s->config, &oc);
	if (s->kafka_changed)
		oc.kafka = s->kafka;
	s->output = output_new(&oc, err);
	return s->output ? 0 : -1;
}

/* Past this point nothing can fail. */
static void
commit(struct collector *c, struct staged *s)
{
	struct listener *l, *next, *gone = NULL, **tail = &c->listeners;
	size_t removed = 0;
	bool rcvbuf = s->config->receive_buffer != c->config->receive_buffer;
	int64_t now = collector_realtime_ms();

	/* the listeners the new config no longer has, closed after the swap */
	for (l = c->listeners; l; l = next) {
		next = l->next;
		if (!l->keep) {
			l->next = gone;
			gone = l;
		}
	}
	for (size_t i = 0; i < s->config->nlisten; i++) {
		l = s->listeners[i];
		if (l->keep && rcvbuf)
			listener_set_receive_buffer(l, s->config->receive_buffer);
		if (!l->keep)
			log_fields(LOG_INFO, LOG_FIELDS({ "LISTENER", l->conf.text }),
			    "listening on udp %s%s", l->conf.text,
			    l->conf.dual_stack ? " (IPv4 and IPv6)" : "");
		l->keep = false;
		*tail = l;
		tail = &l->next;
	}
	*tail = NULL;
	if (s->metrics_changed) {
		metrics_free(c->metrics);
		c->metrics = s->metrics;
	}
	stream_commit(c->stream, s->stream, s->config);
	if (s->output) {
		/* a second reload before the boundary replaces the first */
		if (c->next_output == NULL)
			c->next_output_ms = now + output_next_rotation(c->output, now);
		else
			output_free(c->next_output);
		c->next_output = s->output;
	}
	if (s->enrich_staged) {
		collector_enrich_commit(c, s->enrich);
		s->enrich = NULL;
	}
	/* the new producer is the next output's (staged with it) */
	collector_kafka_commit(c, s->kafka, s->kafka_changed);
	/* the parser's state is sized once, at start */
	if (s->config->max_exporters != c->config->max_exporters ||
	    s->config->held_data != c->config->held_data)
		log_msg(LOG_NOTICE, "max_exporters and held_data take effect "
		    "at the next start");
	/* datagrams queued before this point are decoded under the new
	 * config, as are those still in the sockets */
	config_free(c->config);
	c->config = s->config;
	free(s->listeners);
	if (gone)
		receiver_stop(c->receiver);
	for (l = gone; l; l = next) {
		next = l->next;
		log_fields(LOG_INFO, LOG_FIELDS({ "LISTENER", l->conf.text }),
		    "no longer listening on udp %s", l->conf.text);
		c->stats.closed_kernel_drops += l->kernel_drops;
		listener_free(l);
		removed++;
	}
	if (gone)
		restart_receiver(c);
	receiver_resize(c->receiver, c->config->receive_queue);
	log_set_level(c->debug ? LOG_DEBUG : c->config->log_level);
	log_msg(LOG_NOTICE, "reloaded configuration%s%s: %zu listeners "
	    "(%zu new, %zu closed)%s", c->config->path ? " from " : "",
	    c->config->path ? c->config->path : "", c->config->nlisten,
	    s->added, removed, s->output ?
	    "; output changes at the end of the current slot" : "");
}

static void
on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	struct staged s = { 0 };
	char *err = NULL, status[256];

	/* every stage that can fail runs before the handovers, the one step
	 * that cannot be taken back for free (a port's old socket closed) */
	if ((s.config = collector_load_config(&c->args, &err)) == NULL ||
	    stage_listeners(c, &s, &err) < 0 ||
	    stream_stage(c->stream, s.config, &s.stream, &err) < 0 ||
	    stage_metrics(c, &s, &err) < 0 || stage_enrich(&s, &err) < 0 ||
	    collector_kafka_stage(c, s.config, &s.kafka, &s.kafka_changed,
	    &err) < 0 || stage_output(c, &s, &err) < 0 ||
	    stage_handovers(c, &s, &err) < 0) {
		unstage(c, &s);
		free(c->reload_error);
		c->reload_error = err ? err : strdup("out of memory");
		c->stats.reload_failures++;
		/* one entry per error: a config file's errors are one a line */
		for (const char *p = c->reload_error ? c->reload_error :
		    "out of memory"; *p; ) {
			int n = (int)strcspn(p, "\n");

			log_fields(LOG_ERR, LOG_FIELDS({ "RELOAD", "failed" }),
			    "reload failed, configuration unchanged: %.*s", n, p);
			p += n + (p[n] == '\n');
		}
	} else {
		commit(c, &s);
		free(c->reload_error);
		c->reload_error = NULL;
		c->stats.reloads++;
	}
	c->reloading = false;
	collector_status_text(c, status, sizeof(status));
	sdglue_notifyf("READY=1\nSTATUS=%s", status);
}

void
collector_signal_hup(struct collector *c)
{
	if (c->reloading) {
		log_msg(LOG_WARNING, "SIGHUP: a reload is already in progress, "
		    "this one is refused");
		return;
	}
	if (c->reload_ev == NULL &&
	    (c->reload_ev = event_new(c->base, -1, 0, on_reload, c)) == NULL) {
		log_msg(LOG_ERR, "SIGHUP: out of memory, configuration unchanged");
		return;
	}
	log_msg(LOG_INFO, "SIGHUP: reloading configuration");
	c->reloading = true;
	sdglue_notify_reloading();
	/* the reload runs from the loop, after the signal callback returned */
	event_active(c->reload_ev, EV_TIMEOUT, 0);
}

void
collector_reload_finish(struct collector *c)
{
	if (c->reload_ev)
		event_free(c->reload_ev);
	c->reload_ev = NULL;
	free(c->reload_error);
	c->reload_error = NULL;
}
