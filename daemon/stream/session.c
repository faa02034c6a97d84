/*
 * Transport sessions: one per accepted connection, each with its own
 * parser (templates scoped to the session, gone with it), a framing
 * buffer of session_buffer bytes, and one event that reads it and times
 * it out (session_idle; tls_handshake while a TLS handshake runs).
 *
 * Back-pressure: before each message the session looks at the output;
 * when it is behind, the session is not read any more (the kernel's
 * receive window fills and TCP slows the exporter) until a poll finds it
 * caught up. Nothing a session sent is dropped for a slow output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "stream-private.h"

const char *
stream_close_name(enum stream_close r)
{
	static const char *const names[STREAM_CLOSE_MAX] = {
		[STREAM_CLOSE_PEER] = "peer_closed",
		[STREAM_CLOSE_IDLE] = "idle",
		[STREAM_CLOSE_MALFORMED] = "malformed",
		[STREAM_CLOSE_TOO_MANY] = "too_many",
		[STREAM_CLOSE_NOT_ALLOWED] = "not_allowed",
		[STREAM_CLOSE_ERROR] = "error",
		[STREAM_CLOSE_TLS] = "tls_failed",
		[STREAM_CLOSE_HANDSHAKE] = "handshake_timeout",
		[STREAM_CLOSE_LISTENER] = "listener_removed",
		[STREAM_CLOSE_SHUTDOWN] = "shutdown",
	};

	return (unsigned)r < STREAM_CLOSE_MAX ? names[r] : "unknown";
}

static void on_session(evutil_socket_t fd, short what, void *arg);

static int
watch(struct stream_session *ss)
{
	struct timeval tv = { ss->handshaking ? ss->s->handshake_s :
	    ss->s->idle_s, 0 };

	return event_add(ss->ev, &tv);
}

static bool
output_behind(struct stream *s)
{
	size_t max, depth = collector_output_backlog(s->c, &max);

	return depth >= (s->behind_blocks ? s->behind_blocks : max / 2);
}

static void
pause_session(struct stream_session *ss)
{
	struct stream *s = ss->s;
	struct timeval tv = { 0, STREAM_PAUSE_POLL_MS * 1000 };

	event_del(ss->ev);
	ss->paused = true;
	s->st.paused++;
	if (s->paused_since == 0) {
		s->paused_since = monotonic_ms();
		log_limited_fields(&s->log, LOG_NOTICE,
		    LOG_FIELDS({ "REASON", "output_behind" }),
		    "sessions: the output is behind: not reading sessions until "
		    "it catches up (their exporters are slowed, nothing is lost)");
	}
	if (s->pause_ev == NULL)
		s->pause_ev = event_new(s->c->base, -1, EV_PERSIST, on_pause_poll_cb,
		    s);
	if (s->pause_ev && !event_pending(s->pause_ev, EV_TIMEOUT, NULL))
		event_add(s->pause_ev, &tv);
}

/* A reload's new session_idle and tls_handshake, for sessions open now
 * too (the timer starts again from now). */
void
session_rearm_all(struct stream *s)
{
	struct stream_session *ss;

	TAILQ_FOREACH(ss, &s->sessions, entry)
		if (!ss->paused)
			watch(ss);
}

void
session_resume_all(struct stream *s)
{
	struct stream_session *ss;

	if (output_behind(s))
		return;
	if (s->pause_ev)
		event_del(s->pause_ev);
	if (s->paused_since) {
		s->st.paused_ms += (uint64_t)(monotonic_ms() - s->paused_since);
		s->paused_since = 0;
	}
	TAILQ_FOREACH(ss, &s->sessions, entry) {
		if (!ss->paused)
			continue;
		ss->paused = false;
		/* what the buffer holds is decoded at once */
		if (watch(ss) == 0)
			event_active(ss->ev, EV_READ, 0);
	}
}

void
on_pause_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_resume_all(arg);
}

void
session_close(struct stream_session *ss, enum stream_close why,
    const char *detail)
{
	struct stream *s = ss->s;
	struct parser_counters t;
	int prio = why == STREAM_CLOSE_MALFORMED || why == STREAM_CLOSE_TLS ||
	    why == STREAM_CLOSE_ERROR ? LOG_WARNING : LOG_INFO;

	s->st.closed[why]++;
	if (ss->ev)
		event_free(ss->ev);
	stream_tls_free(ss->tls);
	close(ss->fd);
	if (ss->parser) {
		/* held data will not see its template now: counted */
		s->c->feeding = ss->parser;
		parser_expire(ss->parser, INT64_MAX);
		s->c->feeding = NULL;
		parser_totals(ss->parser, &t);
		s->closed_records += t.flows;
		for (int i = 0; i < PARSER_DROP_MAX; i++)
			s->closed_drops += t.drops[i];
		parser_free(ss->parser);
	}
	log_limited_fields(prio == LOG_INFO ? &s->log : &s->warn_log, prio,
	    LOG_FIELDS({ "EXPORTER", ss->peer },
	    { "REASON", stream_close_name(why) }),
	    "session %s %s closed: %s%s%s (%llu bytes, %llu messages%s)",
	    ss->tls ? "tls" : "tcp", ss->peer, stream_close_name(why),
	    detail ? ": " : "", detail ? detail : "",
	    (unsigned long long)ss->bytes, (unsigned long long)ss->messages,
	    stream_frame_pending(&ss->frame) ? ", a message unfinished" : "");
	stream_frame_finish(&ss->frame);
	TAILQ_REMOVE(&s->sessions, ss, entry);
	s->nsessions--;
	if (ss->paused) {
		struct stream_session *o;
		bool any = false;

		TAILQ_FOREACH(o, &s->sessions, entry)
			any |= o->paused;
		if (!any && s->paused_since) {
			s->st.paused_ms += (uint64_t)(monotonic_ms() -
			    s->paused_since);
			s->paused_since = 0;
		}
	}
	free(ss);
}

/* An accepted socket that gets no session is closed at once. */
static void
refuse(struct stream *s, int fd, const char *peer, enum stream_close why)
{
	s->st.closed[why]++;
	close(fd);
	log_limited_fields(&s->warn_log, LOG_WARNING,
	    LOG_FIELDS({ "EXPORTER", peer },
	    { "REASON", stream_close_name(why) }),
	    "session from %s refused: %s (max_sessions %zu)", peer,
	    stream_close_name(why), s->max_sessions);
}

void
session_accept(struct stream_listener *l, int fd,
    const struct sockaddr_storage *sa)
{
	struct stream *s = l->s;
	struct stream_session *ss;
	struct parser_limits limits = {
		.max_exporters = 1, .max_domains = STREAM_MAX_DOMAINS,
		.max_templates = STREAM_MAX_TEMPLATES,
		.max_template_fields = STREAM_MAX_TEMPLATE_FIELDS,
		.max_if_names = STREAM_MAX_IF_NAMES,
		.max_domain_if_names = STREAM_MAX_IF_NAMES,
		.max_sflow_sources = STREAM_MAX_SFLOW_SOURCES,
		.max_held_bytes = STREAM_HELD_BYTES,
		.max_exporter_held_bytes = STREAM_HELD_BYTES,
	};
	struct parser_source src = { .transport = l->tls ?
	    PARSER_TRANSPORT_TLS : PARSER_TRANSPORT_TCP };
	char addr[64], peer[80];

	s->st.accepted++;
	sockaddr_to_source((const struct sockaddr *)sa, &src);
	snprintf(peer, sizeof(peer), "%s port %u", exporter_text(&src.addr, addr,
	    sizeof(addr)), src.port);
	if (!config_allowed(s->c->config, src.addr.family, src.addr.bytes)) {
		s->c->stats.not_allowed++;
		refuse(s, fd, peer, STREAM_CLOSE_NOT_ALLOWED);
		return;
	}
	if (s->nsessions >= s->max_sessions) {
		refuse(s, fd, peer, STREAM_CLOSE_TOO_MANY);
		return;
	}
	if ((ss = calloc(1, sizeof(*ss))) == NULL) {
		refuse(s, fd, peer, STREAM_CLOSE_ERROR);
		return;
	}
	ss->s = s;
	ss->l = l;
	ss->fd = fd;
	ss->src = src;
	snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
	TAILQ_INSERT_TAIL(&s->sessions, ss, entry);
	if (++s->nsessions > s->st.peak)
		s->st.peak = s->nsessions;
	if (l->tls) {
		if ((ss->tls = stream_tls_new(s->creds, fd)) == NULL) {
			session_close(ss, STREAM_CLOSE_TLS, "cannot set up TLS");
			return;
		}
		ss->handshaking = true;
	}
	if (stream_frame_init(&ss->frame, s->buffer) < 0 ||
	    (ss->parser = collector_parser_new(s->c, &limits)) == NULL ||
	    (ss->ev = event_new(s->c->base, fd, EV_READ | EV_PERSIST, on_session,
	    ss)) == NULL || watch(ss) < 0) {
		session_close(ss, STREAM_CLOSE_ERROR, "out of memory");
		return;
	}
	log_limited_fields(&s->log, LOG_INFO, LOG_FIELDS({ "EXPORTER", ss->peer }),
	    "session %s %s accepted on %s", l->tls ? "tls" : "tcp", ss->peer,
	    l->conf.text);
}

/* The whole messages the buffer holds, while the output keeps up: 0, or
 * -1 when the session closed or was paused. */
static int
decode(struct stream_session *ss)
{
	const uint8_t *msg;
	size_t len;
	int rc;

	for (;;) {
		if (output_behind(ss->s)) {
			pause_session(ss);
			return -1;
		}
		if ((rc = stream_frame_next(&ss->frame, &msg, &len)) == 0)
			return 0;
		if (rc < 0) {
			session_close(ss, STREAM_CLOSE_MALFORMED,
			    stream_frame_error_name(ss->frame.error));
			return -1;
		}
		ss->messages++;
		ss->s->st.messages++;
		ss->src.received_ms = collector_realtime_ms();
		collector_feed(ss->s->c, ss->parser, msg, len, &ss->src);
	}
}

static ssize_t
session_read(struct stream_session *ss, void *buf, size_t len,
    const char **err)
{
	if (ss->tls)
		return stream_tls_read(ss->tls, buf, len, err);
	return read(ss->fd, buf, len);
}

/* 0: go on reading; -1: the session closed */
static int
handshake(struct stream_session *ss)
{
	const char *err = NULL;
	int rc = stream_tls_handshake(ss->tls, &err);

	if (rc < 0) {
		session_close(ss, STREAM_CLOSE_TLS, err);
		return -1;
	}
	if (rc == 0)
		return 1;
	ss->handshaking = false;
	/* from now on the idle timeout */
	if (watch(ss) < 0) {
		session_close(ss, STREAM_CLOSE_ERROR, "cannot watch the socket");
		return -1;
	}
	return 0;
}

static void
on_session(evutil_socket_t fd, short what, void *arg)
{
	struct stream_session *ss = arg;
	const char *err = NULL;

	(void)fd;
	if (what & EV_TIMEOUT) {
		session_close(ss, ss->handshaking ? STREAM_CLOSE_HANDSHAKE :
		    STREAM_CLOSE_IDLE, NULL);
		return;
	}
	if (ss->handshaking && handshake(ss) != 0)
		return;
	for (int i = 0; i < STREAM_READS_PER_WAKEUP; i++) {
		size_t room;
		uint8_t *p;
		ssize_t n;

		if (decode(ss) < 0)
			return;
		p = stream_frame_space(&ss->frame, &room);
		n = session_read(ss, p, room, &err);
		if (n == 0) {
			session_close(ss, STREAM_CLOSE_PEER, NULL);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNRESET) {
				session_close(ss, STREAM_CLOSE_PEER, "reset");
				return;
			}
			session_close(ss, ss->tls && errno == EPROTO ?
			    STREAM_CLOSE_TLS : STREAM_CLOSE_ERROR, err ? err :
			    strerror(errno));
			return;
		}
		stream_frame_commit(&ss->frame, (size_t)n);
		ss->bytes += (uint64_t)n;
		ss->s->st.bytes += (uint64_t)n;
	}
	if (decode(ss) < 0)
		return;
	/* TLS may hold decrypted bytes the socket no longer signals */
	if (ss->tls && stream_tls_pending(ss->tls))
		event_active(ss->ev, EV_READ, 0);
}
