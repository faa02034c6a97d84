/*
 * A small HTTP/1.0 server for /metrics, on the collector's loop. evhttp
 * (libevent 2.1) has no connection cap, restarts its read timeout on every
 * header line (a client that sends one every few seconds is never timed
 * out) and spins in accept() at EMFILE, logging each failure; this server
 * bounds all three: at most `max` connections (derived from
 * RLIMIT_NOFILE, so the output and the listeners always find a
 * descriptor; at the cap the oldest connection still reading its request
 * makes room, never one being answered, or accept waits), one deadline
 * per connection for the whole exchange, and accept paused for a moment
 * when the process is out of descriptors. The handler renders the whole
 * answer synchronously, on the loop: its cost is bounded by what it
 * renders (for /metrics, the exporter table's bound).
 */
#ifndef NETFLOWD_HTTPD_H
#define NETFLOWD_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* the whole exchange, from accept to the last byte of the answer */
#define HTTPD_DEADLINE_MS 5000
/* a request (line and headers) longer than this is refused */
#define HTTPD_REQUEST_MAX 4096
/* upper bound of the connection cap; a scraper needs one */
#define HTTPD_CONNECTIONS_MAX 64
/* descriptors left for everything else (listeners, output files,
 * compression, the journal, libevent) */
#define HTTPD_FDS_RESERVED 256
/* at the cap, a connection this old may be closed for a new one */
#define HTTPD_EVICT_AGE_MS 100
/* how long accept pauses after EMFILE/ENFILE */
#define HTTPD_ACCEPT_PAUSE_MS 250

/* How each connection ended (netflowd_http_connections_total{result}). */
enum httpd_result {
	HTTPD_SERVED,            /* answered (200, 404, 405) */
	HTTPD_BAD_REQUEST,       /* malformed or too long: 400/431 */
	HTTPD_TIMEOUT,           /* deadline passed */
	HTTPD_EVICTED,           /* closed to make room at the cap */
	HTTPD_CLOSED,            /* the client went away first */
	HTTPD_RESULT_MAX
};

struct httpd_stats {
	uint64_t results[HTTPD_RESULT_MAX];
	uint64_t accept_errors;  /* accept() failures (EMFILE, ENFILE ...) */
	uint64_t accept_pauses;  /* times accept was paused for them */
	uint64_t cap_pauses;     /* times it waited at the cap */
	size_t open, max;
};

/* Fills body for path; returns the HTTP status (200, or 404). */
typedef int httpd_handler(const char *path, struct evbuffer *body, void *arg);

/* Tests only (daemon/test-hooks.c): accepted connections get this
 * SO_SNDBUF (0: the kernel's, which on loopback grows to take a whole
 * answer), so that an answer stays partly unsent while its client does
 * not read. */
extern int httpd_test_sndbuf;

/* Takes the listening socket (also on failure); NULL when out of memory. */
struct httpd *httpd_new(struct event_base *base, int listen_fd,
    const char *name, httpd_handler *handler, void *arg);
void httpd_free(struct httpd *h);
void httpd_stats(const struct httpd *h, struct httpd_stats *s);
const char *httpd_result_name(enum httpd_result r);
/* The connection cap for the current RLIMIT_NOFILE. */
size_t httpd_connection_cap(void);

#endif
