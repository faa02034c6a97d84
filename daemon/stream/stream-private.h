/*
 * The stream module's insides: listeners, sessions and the TLS glue.
 */
#ifndef NETFLOWD_STREAM_PRIVATE_H
#define NETFLOWD_STREAM_PRIVATE_H

#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>

#include "collector.h"
#include "stream.h"

/* the reads (of up to the session's buffer) one session gets per wake-up
 * before the others get a turn */
#define STREAM_READS_PER_WAKEUP 4
/* how often a stopped session looks whether the output caught up */
#define STREAM_PAUSE_POLL_MS 5
/* what a session's parser may hold: one exporter, its domains and
 * templates (a session is one exporter process). With these a parser
 * takes 40 KB when it starts and at most 1.3 MB (parser_memory_budget),
 * besides the session_buffer; the defaults would take 560 KB at start. */
#define STREAM_MAX_TEMPLATES 1024
#define STREAM_MAX_TEMPLATE_FIELDS 32768
#define STREAM_MAX_DOMAINS 64
#define STREAM_MAX_IF_NAMES 256
#define STREAM_MAX_SFLOW_SOURCES 16
#define STREAM_HELD_BYTES (256u << 10)

struct stream_tls;
struct stream_session;
TAILQ_HEAD(stream_sessions, stream_session);

struct stream_listener {
	struct stream *s;
	struct config_listen conf;
	bool tls;
	int fd;
	struct event *ev;
	bool keep;               /* reload: the new config has it too */
	bool stalled;            /* out of descriptors: the tick retries */
	uint64_t accepted;
	TAILQ_ENTRY(stream_listener) entry;
};
TAILQ_HEAD(stream_listeners, stream_listener);

struct stream_session {
	struct stream *s;
	struct stream_listener *l;
	int fd;
	struct event *ev;        /* read, with the idle (or handshake) timeout */
	struct parser *parser;
	struct parser_source src;
	struct stream_frame frame;
	char peer[80];           /* "ADDR port PORT" for the log */
	struct stream_tls *tls;  /* NULL: plain TCP */
	bool handshaking;
	bool paused;             /* output behind: not read */
	uint64_t bytes, messages;
	TAILQ_ENTRY(stream_session) entry;
};

struct stream {
	struct collector *c;
	struct stream_listeners listeners;
	struct stream_sessions sessions;
	size_t nsessions;
	size_t max_sessions;
	unsigned idle_s, handshake_s;
	size_t buffer;
	struct stream_tls_creds *creds;   /* NULL: no listen_tls */
	struct event *pause_ev;  /* polls the output while sessions wait */
	int64_t paused_since;    /* monotonic ms; 0 when none waits */
	/* render queue depth (blocks) from which sessions are not read;
	 * NETFLOWD_TEST_STREAM_BEHIND sets it for tests, 0: half the queue */
	size_t behind_blocks;
	struct stream_stats st;
	/* closed sessions' parser counters */
	uint64_t closed_records, closed_drops;
	/* sessions opening and closing (info); their failures (warning),
	 * apart so that a flood of the first hides none of the second */
	struct ratelimit log, warn_log;
};

/* session.c */
void session_accept(struct stream_listener *l, int fd,
    const struct sockaddr_storage *ss);
void session_close(struct stream_session *ss, enum stream_close why,
    const char *detail);
void session_resume_all(struct stream *s);
void session_rearm_all(struct stream *s);
void on_pause_poll_cb(evutil_socket_t fd, short what, void *arg);

/* tls.c: GnuTLS, or refusals when built without it */
struct stream_tls_creds;
int stream_tls_creds_new(const struct config *config,
    struct stream_tls_creds **out, char **err);
void stream_tls_creds_free(struct stream_tls_creds *cr);
struct stream_tls *stream_tls_new(struct stream_tls_creds *cr, int fd);
void stream_tls_free(struct stream_tls *t);
/* 1 done, 0 wants more I/O, -1 failed (*err: the reason, static) */
int stream_tls_handshake(struct stream_tls *t, const char **err);
/* read(2)'s contract: > 0 bytes, 0 end of stream, -1 with errno (EAGAIN
 * when nothing is there yet; EPROTO with *err on a TLS failure) */
ssize_t stream_tls_read(struct stream_tls *t, void *buf, size_t len,
    const char **err);
/* bytes decrypted and not yet returned (read them before polling) */
bool stream_tls_pending(struct stream_tls *t);

#endif
