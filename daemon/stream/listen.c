/*
 * Stream listeners: TCP sockets on the loop that accept sessions, opened
 * at start-up and staged by a reload like the UDP ones (a listener the new
 * config keeps keeps its socket and its sessions; one it drops closes
 * with them).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "stream-private.h"

/* connections taken per wake-up of a listener */
#define ACCEPTS_PER_WAKEUP 64

struct stream_staged {
	struct stream_listeners added;
	struct stream_tls_creds *creds;
	bool creds_changed;
};

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct stream_listener *l = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int s = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (s < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* the connection waits in the backlog; the
				 * tick tries again (no busy loop meanwhile) */
				log_limited_fields(&l->s->warn_log, LOG_ERR,
				    LOG_FIELDS({ "LISTENER", l->conf.text },
				    { "REASON", "descriptors" }),
				    "listener tcp %s: cannot accept: %s",
				    l->conf.text, strerror(errno));
				event_del(l->ev);
				l->stalled = true;
			}
			return;
		}
		l->accepted++;
		session_accept(l, s, &ss);
	}
}

static void
lst_free(struct stream_listener *l)
{
	if (l == NULL)
		return;
	if (l->ev)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	free(l->conf.text);
	free(l);
}

static int
lst_open(struct stream *s, const struct config_listen *conf, bool tls,
    struct stream_listener **out)
{
	struct stream_listener *l = calloc(1, sizeof(*l));
	int on = 1;

	*out = NULL;
	if (l == NULL)
		return -1;
	l->s = s;
	l->tls = tls;
	l->fd = -1;
	l->conf = *conf;
	if ((l->conf.text = strdup(conf->text)) == NULL)
		goto fail;
	if ((l->fd = listener_socket(conf, SOCK_STREAM)) < 0)
		goto fail;
	/* a restart binds again while old sessions sit in TIME_WAIT */
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(l->fd, (const struct sockaddr *)&conf->addr, conf->addrlen) < 0 ||
	    listen(l->fd, 128) < 0)
		goto fail;
	if ((l->ev = event_new(s->c->base, l->fd, EV_READ | EV_PERSIST, on_accept,
	    l)) == NULL)
		goto fail;
	*out = l;
	return 0;
fail:
	{
		int saved = errno;

		lst_free(l);
		errno = saved;
	}
	return -1;
}

static void
listener_watch(struct stream_listener *l)
{
	if (event_add(l->ev, NULL) < 0)
		log_msg(LOG_ERR, "listener %s %s: cannot watch it", l->tls ?
		    "tls" : "tcp", l->conf.text);
	log_fields(LOG_INFO, LOG_FIELDS({ "LISTENER", l->conf.text }),
	    "listening on %s %s%s", l->tls ? "tls" : "tcp", l->conf.text,
	    l->conf.dual_stack ? " (IPv4 and IPv6)" : "");
}

/* Its sessions close with it. */
static void
listener_close(struct stream *s, struct stream_listener *l)
{
	struct stream_session *ss, *next;

	for (ss = TAILQ_FIRST(&s->sessions); ss; ss = next) {
		next = TAILQ_NEXT(ss, entry);
		if (ss->l == l)
			session_close(ss, STREAM_CLOSE_LISTENER, NULL);
	}
	log_fields(LOG_INFO, LOG_FIELDS({ "LISTENER", l->conf.text }),
	    "no longer listening on %s %s", l->tls ? "tls" : "tcp",
	    l->conf.text);
	TAILQ_REMOVE(&s->listeners, l, entry);
	lst_free(l);
}

struct stream *
stream_new(struct collector *c)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->c = c;
	TAILQ_INIT(&s->listeners);
	TAILQ_INIT(&s->sessions);
	s->log = (struct ratelimit)RATELIMIT_INIT(10000, 10);
	s->warn_log = (struct ratelimit)RATELIMIT_INIT(10000, 10);
	s->behind_blocks = 0;
	if (getenv("NETFLOWD_TEST_STREAM_BEHIND") != NULL)
		s->behind_blocks = (size_t)strtoul(
		    getenv("NETFLOWD_TEST_STREAM_BEHIND"), NULL, 10);
	return s;
}

static void
apply_limits(struct stream *s, const struct config *config)
{
	s->max_sessions = config->max_sessions;
	s->idle_s = config->session_idle;
	s->handshake_s = config->tls_handshake;
	s->buffer = config->session_buffer;
}

static char *
open_error(const struct config *config, const struct config_listen *cl,
    bool tls, int errnum)
{
	char *msg;
	int rc;

	if (config->path != NULL && cl->line > 0)
		rc = asprintf(&msg, "%s:%d: cannot listen on %s %s: %s",
		    config->path, cl->line, tls ? "tls" : "tcp", cl->text,
		    strerror(errnum));
	else
		rc = asprintf(&msg, "cannot listen on %s %s: %s", tls ? "tls" :
		    "tcp", cl->text, strerror(errnum));
	return rc < 0 ? NULL : msg;
}

static struct stream_listener *
find_listener(struct stream *s, const struct config_listen *cl, bool tls)
{
	struct stream_listener *l;

	TAILQ_FOREACH(l, &s->listeners, entry)
		if (!l->keep && l->tls == tls && config_listen_equal(&l->conf, cl))
			return l;
	return NULL;
}

void
stream_unstage(struct stream *s, struct stream_staged *st)
{
	struct stream_listener *l;

	if (st == NULL)
		return;
	while ((l = TAILQ_FIRST(&st->added)) != NULL) {
		TAILQ_REMOVE(&st->added, l, entry);
		lst_free(l);
	}
	TAILQ_FOREACH(l, &s->listeners, entry)
		l->keep = false;
	if (st->creds_changed)
		stream_tls_creds_free(st->creds);
	free(st);
}

static int
stage_list(struct stream *s, struct stream_staged *st, const struct config *nc,
    bool tls, char **err)
{
	const struct config_listen *list = tls ? nc->listen_tls : nc->listen_tcp;
	size_t n = tls ? nc->nlisten_tls : nc->nlisten_tcp;

	for (size_t i = 0; i < n; i++) {
		struct stream_listener *l = find_listener(s, &list[i], tls);

		if (l != NULL) {
			l->keep = true;
			continue;
		}
		/* a port that moves between addresses (or from tcp to tls)
		 * in one reload fails here: its old socket still holds it */
		if (lst_open(s, &list[i], tls, &l) < 0) {
			*err = open_error(nc, &list[i], tls, errno);
			return -1;
		}
		TAILQ_INSERT_TAIL(&st->added, l, entry);
	}
	return 0;
}

int
stream_stage(struct stream *s, const struct config *nc,
    struct stream_staged **out, char **err)
{
	struct stream_staged *st = calloc(1, sizeof(*st));

	*out = st;
	*err = NULL;
	if (st == NULL)
		return -1;
	TAILQ_INIT(&st->added);
	st->creds = s->creds;
	/* read again at every reload: a renewed certificate under the same
	 * name is what a reload is for */
	if (nc->nlisten_tls > 0) {
		if (stream_tls_creds_new(nc, &st->creds, err) < 0)
			return -1;
		st->creds_changed = true;
	} else if (nc->nlisten_tls == 0 && s->creds != NULL) {
		st->creds = NULL;
		st->creds_changed = true;
	}
	if (stage_list(s, st, nc, false, err) < 0 ||
	    stage_list(s, st, nc, true, err) < 0)
		return -1;
	return 0;
}

void
stream_commit(struct stream *s, struct stream_staged *st,
    const struct config *nc)
{
	struct stream_listener *l, *next;

	for (l = TAILQ_FIRST(&s->listeners); l; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (!l->keep)
			listener_close(s, l);
		else
			l->keep = false;
	}
	/* sessions that are up keep the credentials they shook hands with
	 * (each holds a reference), new ones take the new credentials */
	if (st->creds_changed) {
		stream_tls_creds_free(s->creds);
		s->creds = st->creds;
	}
	while ((l = TAILQ_FIRST(&st->added)) != NULL) {
		TAILQ_REMOVE(&st->added, l, entry);
		TAILQ_INSERT_TAIL(&s->listeners, l, entry);
		listener_watch(l);
	}
	if (s->idle_s != nc->session_idle || s->handshake_s != nc->tls_handshake) {
		apply_limits(s, nc);
		session_rearm_all(s);
	} else {
		apply_limits(s, nc);
	}
	free(st);
}

int
stream_open(struct stream *s, const struct config *config, char **err)
{
	struct stream_staged *st;

	apply_limits(s, config);
	if (stream_stage(s, config, &st, err) < 0) {
		stream_unstage(s, st);
		return -1;
	}
	stream_commit(s, st, config);
	return 0;
}

void
stream_free(struct stream *s)
{
	struct stream_listener *l;
	struct stream_session *ss;

	if (s == NULL)
		return;
	while ((ss = TAILQ_FIRST(&s->sessions)) != NULL)
		session_close(ss, STREAM_CLOSE_SHUTDOWN, NULL);
	while ((l = TAILQ_FIRST(&s->listeners)) != NULL) {
		TAILQ_REMOVE(&s->listeners, l, entry);
		lst_free(l);
	}
	if (s->pause_ev)
		event_free(s->pause_ev);
	stream_tls_creds_free(s->creds);
	free(s);
}

size_t
stream_listener_count(const struct stream *s)
{
	const struct stream_listener *l;
	size_t n = 0;

	TAILQ_FOREACH(l, &s->listeners, entry)
		n++;
	return n;
}

void
stream_tick(struct stream *s, int64_t now_ms)
{
	struct stream_listener *l;
	struct stream_session *ss;

	if (s == NULL)
		return;
	TAILQ_FOREACH(l, &s->listeners, entry)
		if (l->stalled) {
			l->stalled = false;
			event_add(l->ev, NULL);
		}
	TAILQ_FOREACH(ss, &s->sessions, entry) {
		s->c->feeding = ss->parser;
		parser_expire(ss->parser, now_ms);
	}
	s->c->feeding = NULL;
	log_ratelimit_flush(&s->log);
	log_ratelimit_flush(&s->warn_log);
}

void
stream_stats(const struct stream *s, struct stream_stats *out)
{
	const struct stream_session *ss;

	*out = s->st;
	out->open = s->nsessions;
	out->records = s->closed_records;
	out->drops = s->closed_drops;
	out->paused_now = 0;
	TAILQ_FOREACH(ss, &s->sessions, entry) {
		struct parser_counters t;

		parser_totals(ss->parser, &t);
		out->records += t.flows;
		for (int i = 0; i < PARSER_DROP_MAX; i++)
			out->drops += t.drops[i];
		out->paused_now += ss->paused;
	}
	if (s->paused_since)
		out->paused_ms += (uint64_t)(monotonic_ms() - s->paused_since);
}

void
stream_log_stats(struct stream *s)
{
	struct stream_stats t;
	char reasons[512];
	size_t n = 0;

	/* --read has no stream listeners */
	if (s == NULL || (TAILQ_EMPTY(&s->listeners) && s->st.accepted == 0))
		return;
	stream_stats(s, &t);
	reasons[0] = '\0';
	for (int i = 0; i < STREAM_CLOSE_MAX && n < sizeof(reasons); i++)
		if (t.closed[i])
			n += (size_t)snprintf(reasons + n, sizeof(reasons) - n,
			    ", closed %s %llu", stream_close_name(i),
			    (unsigned long long)t.closed[i]);
	log_msg(LOG_INFO, "stats: sessions: %llu open (peak %llu), %llu "
	    "accepted%s; %llu bytes, %llu messages, %llu records, %llu drops; "
	    "reading stopped %llu times (%llu ms) for the output",
	    (unsigned long long)t.open, (unsigned long long)t.peak,
	    (unsigned long long)t.accepted, reasons,
	    (unsigned long long)t.bytes, (unsigned long long)t.messages,
	    (unsigned long long)t.records, (unsigned long long)t.drops,
	    (unsigned long long)t.paused, (unsigned long long)t.paused_ms);
}

static void
counter(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
	    help, name, type, name, (unsigned long long)v);
}

void
stream_metrics(struct stream *s, struct evbuffer *b)
{
	struct stream_stats t;
	struct stream_listener *l;

	if (s == NULL)
		return;
	stream_stats(s, &t);
	counter(b, "netflowd_sessions_open", "gauge",
	    "IPFIX sessions (TCP and TLS) open now.", t.open);
	counter(b, "netflowd_sessions_accepted_total", "counter",
	    "IPFIX sessions accepted (those refused by max_sessions included).",
	    t.accepted);
	evbuffer_add_printf(b, "# HELP netflowd_sessions_closed_total IPFIX "
	    "sessions closed, by reason.\n# TYPE netflowd_sessions_closed_total "
	    "counter\n");
	for (int i = 0; i < STREAM_CLOSE_MAX; i++)
		evbuffer_add_printf(b, "netflowd_sessions_closed_total{reason="
		    "\"%s\"} %llu\n", stream_close_name(i),
		    (unsigned long long)t.closed[i]);
	evbuffer_add_printf(b, "# HELP netflowd_session_listener_accepted_total "
	    "Sessions accepted, by stream listener.\n# TYPE "
	    "netflowd_session_listener_accepted_total counter\n");
	TAILQ_FOREACH(l, &s->listeners, entry)
		evbuffer_add_printf(b, "netflowd_session_listener_accepted_total"
		    "{listener=\"%s\",transport=\"%s\"} %llu\n", l->conf.text,
		    l->tls ? "tls" : "tcp", (unsigned long long)l->accepted);
	counter(b, "netflowd_session_bytes_total", "counter",
	    "Bytes received by IPFIX sessions (after TLS).", t.bytes);
	counter(b, "netflowd_session_messages_total", "counter",
	    "IPFIX messages framed from sessions.", t.messages);
	counter(b, "netflowd_session_records_total", "counter",
	    "Flow records decoded from sessions (not in netflowd_records_total, "
	    "which is UDP's).", t.records);
	counter(b, "netflowd_session_drops_total", "counter",
	    "Sets, records and templates of sessions the decoder dropped.",
	    t.drops);
	counter(b, "netflowd_session_read_paused_total", "counter",
	    "Times sessions stopped being read because the output was behind "
	    "(back-pressure: TCP flow control slows the exporters, nothing is "
	    "dropped).", t.paused);
	counter(b, "netflowd_session_read_paused", "gauge",
	    "Sessions not read now because the output is behind.", t.paused_now);
	counter(b, "netflowd_session_read_paused_ms_total", "counter",
	    "Milliseconds sessions were not read because the output was behind.",
	    t.paused_ms);
}

int
stream_check_tls(const struct config *config, char **err)
{
	struct stream_tls_creds *cr;

	*err = NULL;
	if (config->nlisten_tls == 0)
		return 0;
	if (stream_tls_creds_new(config, &cr, err) < 0)
		return -1;
	stream_tls_creds_free(cr);
	return 0;
}
