/*
 * IPFIX over TCP and TLS (RFC 7011 10.4): stream listeners on the loop,
 * one transport session per connection. A session has a parser of its
 * own, so its templates and options are scoped to the connection (never
 * shared with a UDP exporter of the same address, nor with another
 * session) and withdrawn when it ends; its records go to the same output
 * as UDP's, with "transport":"tcp" or "tls".
 */
#ifndef NETFLOWD_STREAM_H
#define NETFLOWD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct collector;
struct config;
struct evbuffer;
struct stream;
struct stream_staged;

/* ---- frame.c: messages out of a byte stream (pure, no I/O) ---- */

/* Why a stream cannot be framed (RFC 7011 10.4.2.2: the session closes). */
enum stream_frame_error {
	STREAM_FRAME_OK,
	STREAM_FRAME_VERSION,    /* the header's version is not 10 */
	STREAM_FRAME_SHORT,      /* its length is under the 16-byte header */
	STREAM_FRAME_LONG,       /* ... or over the session's buffer bound */
};

const char *stream_frame_error_name(enum stream_frame_error e);

/* A buffer as long as the longest message a session may send; a message
 * is checked against its header before its body is buffered. */
struct stream_frame {
	uint8_t *buf;
	size_t len, cap;
	size_t off;              /* start of the next message in buf */
	enum stream_frame_error error;
};

int stream_frame_init(struct stream_frame *f, size_t bound);
void stream_frame_finish(struct stream_frame *f);
/* Where the next read goes and how much fits (never 0 while the stream
 * is framable: a whole message always fits). */
uint8_t *stream_frame_space(struct stream_frame *f, size_t *room);
/* n bytes were read into the space. */
void stream_frame_commit(struct stream_frame *f, size_t n);
/* The next whole message: 1 with *msg and *len (valid until the next call
 * of space or commit), 0 when more bytes are needed, -1 on a framing
 * error (f->error; the stream cannot go on). */
int stream_frame_next(struct stream_frame *f, const uint8_t **msg,
    size_t *len);
/* Bytes of an unfinished message held. */
size_t stream_frame_pending(const struct stream_frame *f);

/* ---- session.c, listen.c: the listeners and their sessions ---- */

enum stream_close {
	STREAM_CLOSE_PEER,       /* the exporter closed (or reset) */
	STREAM_CLOSE_IDLE,       /* session_idle without a byte */
	STREAM_CLOSE_MALFORMED,  /* a framing error */
	STREAM_CLOSE_TOO_MANY,   /* max_sessions open already: refused */
	STREAM_CLOSE_NOT_ALLOWED,/* outside [collector] allow: refused */
	STREAM_CLOSE_ERROR,      /* a read error but EOF, or no memory */
	STREAM_CLOSE_TLS,        /* TLS handshake or record failed */
	STREAM_CLOSE_HANDSHAKE,  /* the TLS handshake took too long */
	STREAM_CLOSE_LISTENER,   /* its listener was removed by a reload */
	STREAM_CLOSE_SHUTDOWN,
	STREAM_CLOSE_MAX
};

const char *stream_close_name(enum stream_close r);

struct stream_stats {
	uint64_t accepted;       /* sessions accepted (refused ones included) */
	uint64_t closed[STREAM_CLOSE_MAX];
	uint64_t open, peak;     /* sessions open now, the most at once */
	uint64_t bytes, messages;/* of every session, closed ones included */
	uint64_t records;        /* records decoded by every session */
	uint64_t drops;          /* parser drops of every session */
	uint64_t paused;         /* times reading stopped: output behind */
	uint64_t paused_now;     /* sessions not read now because of it */
	uint64_t paused_ms;      /* how long reading was stopped, in all */
};

struct stream *stream_new(struct collector *c);
/* Closes every session (STREAM_CLOSE_SHUTDOWN) and listener. */
void stream_free(struct stream *s);
/* Start-up: the config's stream listeners and TLS credentials; -1 with
 * *err (allocated, "FILE:LINE: cannot listen on ...") on failure. */
int stream_open(struct stream *s, const struct config *config, char **err);
/* Reload, in two steps: stage binds what is new and loads the TLS
 * credentials again (nothing visible yet), commit swaps them in and closes the
 * listeners (and their sessions) the new config dropped; unstage undoes a
 * stage that will not be committed. Sessions of kept listeners stay. */
int stream_stage(struct stream *s, const struct config *nc,
    struct stream_staged **out, char **err);
void stream_commit(struct stream *s, struct stream_staged *st,
    const struct config *nc);
void stream_unstage(struct stream *s, struct stream_staged *st);
void stream_stats(const struct stream *s, struct stream_stats *out);
void stream_log_stats(struct stream *s);
void stream_metrics(struct stream *s, struct evbuffer *b);
/* Once a second: held data ages out in the sessions' parsers. */
void stream_tick(struct stream *s, int64_t now_ms);
size_t stream_listener_count(const struct stream *s);
/* -n: the TLS certificate, key and client CAs load; -1 with *err. */
int stream_check_tls(const struct config *config, char **err);

#endif
