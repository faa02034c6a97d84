/*
 * The HTTP/1.0 server behind /metrics (see httpd.h for why it is not
 * evhttp). One request per connection, answered with Connection: close.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "httpd.h"
#include "log.h"

/* connections accepted per wake-up, so a connect flood cannot hold the
 * loop (the rest wait in the kernel's backlog) */
#define ACCEPTS_PER_WAKEUP 16

struct conn {
	struct httpd *h;
	int fd;
	struct event *ev;
	int64_t accepted, deadline;     /* monotonic ms */
	struct evbuffer *out;    /* the answer; NULL while reading */
	size_t len;
	enum httpd_result result;   /* of the answer being written */
	char peer[64];
	char req[HTTPD_REQUEST_MAX];
	TAILQ_ENTRY(conn) entry; /* oldest first */
};

TAILQ_HEAD(conn_list, conn);

struct httpd {
	struct event_base *base;
	int fd;
	char *name;
	httpd_handler *handler;
	void *arg;
	struct event *accept_ev, *resume_ev, *flush_ev;
	bool paused;
	bool at_cap;             /* paused because of the cap, not an error */
	struct conn_list conns;
	struct httpd_stats stats;
	struct ratelimit log;
};

int httpd_test_sndbuf;

static void on_conn(evutil_socket_t fd, short what, void *arg);
static void resume(struct httpd *h);

static const char *const result_names[HTTPD_RESULT_MAX] = {
	[HTTPD_SERVED] = "served",
	[HTTPD_BAD_REQUEST] = "bad_request",
	[HTTPD_TIMEOUT] = "timeout",
	[HTTPD_EVICTED] = "evicted",
	[HTTPD_CLOSED] = "closed",
};

const char *
httpd_result_name(enum httpd_result r)
{
	return r < HTTPD_RESULT_MAX ? result_names[r] : "unknown";
}

size_t
httpd_connection_cap(void)
{
	struct rlimit rl;
	rlim_t cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return HTTPD_CONNECTIONS_MAX;
	cap = rl.rlim_cur > 2 * HTTPD_FDS_RESERVED ?
	    (rl.rlim_cur - HTTPD_FDS_RESERVED) / 4 : 4;
	return cap < HTTPD_CONNECTIONS_MAX ? (size_t)cap : HTTPD_CONNECTIONS_MAX;
}

static void
conn_end(struct conn *k, enum httpd_result why)
{
	struct httpd *h = k->h;

	h->stats.results[why]++;
	if (why == HTTPD_TIMEOUT || why == HTTPD_EVICTED)
		log_limited_fields(&h->log, LOG_WARNING,
		    LOG_FIELDS({ "HTTP_CLIENT", k->peer },
		    { "HTTP_RESULT", httpd_result_name(why) }),
		    "%s: connection from %s closed: %s", h->name, k->peer,
		    why == HTTPD_TIMEOUT ? "no complete exchange within the deadline" :
		    "evicted to make room (connection cap reached)");
	TAILQ_REMOVE(&h->conns, k, entry);
	h->stats.open--;
	event_free(k->ev);
	if (k->out)
		evbuffer_free(k->out);
	close(k->fd);
	free(k);
	if (h->at_cap) {
		/* room again: no need to wait for the timer */
		evtimer_del(h->resume_ev);
		resume(h);
	}
}

/* Waits for the next event or the rest of the deadline. */
static void
conn_wait(struct conn *k)
{
	int64_t left = k->deadline - monotonic_ms();
	struct timeval tv;

	if (left <= 0) {
		conn_end(k, HTTPD_TIMEOUT);
		return;
	}
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	event_del(k->ev);
	event_assign(k->ev, k->h->base, k->fd, k->out ? EV_WRITE : EV_READ,
	    on_conn, k);
	if (event_add(k->ev, &tv) < 0)
		conn_end(k, HTTPD_CLOSED);
}

static void
answer(struct conn *k, int status, const char *reason, struct evbuffer *body,
    bool head)
{
	size_t len = body ? evbuffer_get_length(body) : 0;

	evbuffer_add_printf(k->out, "HTTP/1.0 %d %s\r\nConnection: close\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", status, reason,
	    status == 200 ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", len);
	if (body && !head)
		evbuffer_add_buffer(k->out, body);
}

static void
answer_text(struct conn *k, int status, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b)
		evbuffer_add_printf(b, "%s\n", text);
	answer(k, status, reason, b, false);
	if (b)
		evbuffer_free(b);
}

/* "GET /metrics?x HTTP/1.1": the method and the path without the query. */
static int
request_line(char *line, const char **method, const char **path)
{
	char *sp = strchr(line, ' '), *end;

	if (sp == NULL)
		return -1;
	*sp = '\0';
	*method = line;
	*path = sp + 1;
	if ((end = strchr(sp + 1, ' ')) == NULL ||
	    strncmp(end + 1, "HTTP/1.", 7) != 0)
		return -1;
	*end = '\0';
	if ((end = strchr(sp + 1, '?')) != NULL)
		*end = '\0';
	return **path == '/' ? 0 : -1;
}

/* Starts an answer; false when out of memory (the connection ended). */
static bool
start_answer(struct conn *k, enum httpd_result result)
{
	if (k->out == NULL && (k->out = evbuffer_new()) == NULL) {
		conn_end(k, HTTPD_CLOSED);
		return false;
	}
	k->result = result;
	return true;
}

static bool
refuse(struct conn *k, int status, const char *reason, const char *text)
{
	if (!start_answer(k, HTTPD_BAD_REQUEST))
		return false;
	answer_text(k, status, reason, text);
	return true;
}

static bool
respond(struct conn *k)
{
	const char *method, *path;
	struct evbuffer *body;
	int status;

	k->req[strcspn(k->req, "\r\n")] = '\0';
	if (request_line(k->req, &method, &path) < 0)
		return refuse(k, 400, "Bad Request", "bad request");
	if (!start_answer(k, HTTPD_SERVED))
		return false;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		answer_text(k, 405, "Method Not Allowed", "GET or HEAD");
		return true;
	}
	if ((body = evbuffer_new()) == NULL) {
		conn_end(k, HTTPD_CLOSED);
		return false;
	}
	status = k->h->handler(path, body, k->h->arg);
	answer(k, status, status == 200 ? "OK" : "Not Found", body,
	    strcmp(method, "HEAD") == 0);
	evbuffer_free(body);
	return true;
}

static bool
request_complete(const struct conn *k)
{
	for (size_t i = 1; i < k->len; i++)
		if (k->req[i] == '\n' && (k->req[i - 1] == '\n' ||
		    (i >= 3 && memcmp(k->req + i - 3, "\r\n\r", 3) == 0)))
			return true;
	return false;
}

/* Reads what arrived; false when the connection was ended. */
static bool
conn_read(struct conn *k)
{
	ssize_t n = recv(k->fd, k->req + k->len, sizeof(k->req) - 1 - k->len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		conn_end(k, HTTPD_CLOSED);
		return false;
	}
	k->len += (size_t)n;
	k->req[k->len] = '\0';
	if (memchr(k->req, '\0', k->len) != NULL)
		return refuse(k, 400, "Bad Request", "bad request");
	if (request_complete(k))
		return respond(k);
	if (k->len == sizeof(k->req) - 1)
		return refuse(k, 431, "Request Header Fields Too Large",
		    "request too long");
	return true;
}

static void
on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;

	if (what & EV_TIMEOUT) {
		conn_end(k, HTTPD_TIMEOUT);
		return;
	}
	if (k->out == NULL) {
		if (!conn_read(k))
			return;
	} else if (evbuffer_write(k->out, fd) < 0 && errno != EAGAIN &&
	    errno != EINTR) {
		conn_end(k, HTTPD_CLOSED);
		return;
	}
	if (k->out && evbuffer_get_length(k->out) == 0)
		conn_end(k, k->result);
	else
		conn_wait(k);
}

static void
peer_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    addr, port);
}

static void
conn_new(struct httpd *h, int fd, const struct sockaddr_storage *ss)
{
	struct conn *k = calloc(1, sizeof(*k));

	if (k == NULL || (k->ev = event_new(h->base, -1, 0, on_conn, k)) == NULL) {
		free(k);
		close(fd);
		h->stats.results[HTTPD_CLOSED]++;
		return;
	}
	k->h = h;
	k->fd = fd;
	if (httpd_test_sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &httpd_test_sndbuf,
		    sizeof(httpd_test_sndbuf));
	k->accepted = monotonic_ms();
	k->deadline = k->accepted + HTTPD_DEADLINE_MS;
	peer_text(ss, k->peer, sizeof(k->peer));
	TAILQ_INSERT_TAIL(&h->conns, k, entry);
	h->stats.open++;
	conn_wait(k);
}

static void
pause_for(struct httpd *h, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (h->paused)
		return;
	h->paused = true;
	event_del(h->accept_ev);
	evtimer_add(h->resume_ev, &tv);
}

/* At the cap the oldest connection still reading its request goes, once
 * it had HTTPD_EVICT_AGE_MS to send it: a client that holds connections
 * open cannot keep a scraper out, one that churns them cannot evict a
 * scraper before it was answered, and the descriptors stay bounded. A
 * connection whose answer is being written is never evicted (its reader
 * would get a cut answer): it ends when written or at its deadline. False
 * when accept must wait (paused until the oldest reader is old enough, or
 * until the first writer's deadline when every connection is writing). */
static bool
make_room(struct httpd *h)
{
	struct conn *oldest = NULL, *k;
	int64_t now, wait = HTTPD_DEADLINE_MS;

	if (h->stats.open < h->stats.max || TAILQ_EMPTY(&h->conns))
		return true;
	now = monotonic_ms();
	TAILQ_FOREACH(k, &h->conns, entry) {
		if (k->out == NULL) {
			oldest = k;
			break;
		}
		if (k->deadline - now < wait)
			wait = k->deadline - now;
	}
	if (oldest != NULL && now - oldest->accepted < HTTPD_EVICT_AGE_MS &&
	    HTTPD_EVICT_AGE_MS - (now - oldest->accepted) < wait)
		wait = HTTPD_EVICT_AGE_MS - (now - oldest->accepted);
	if (oldest == NULL || now - oldest->accepted < HTTPD_EVICT_AGE_MS) {
		h->stats.cap_pauses++;
		pause_for(h, wait > 1 ? wait : 1);
		h->at_cap = true;
		return false;
	}
	conn_end(oldest, HTTPD_EVICTED);
	return true;
}

static void
pause_accept(struct httpd *h, int err)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", err);
	h->stats.accept_errors++;
	log_limited_fields(&h->log, LOG_ERR, LOG_FIELDS({ "ERRNO", num }),
	    "%s: cannot accept a connection: %s (%zu open); pausing accept "
	    "for %d ms", h->name, strerror(err), h->stats.open,
	    HTTPD_ACCEPT_PAUSE_MS);
	if (!h->paused)
		h->stats.accept_pauses++;
	pause_for(h, HTTPD_ACCEPT_PAUSE_MS);
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;

	for (int i = 0; i < ACCEPTS_PER_WAKEUP && make_room(h); i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd >= 0) {
			conn_new(h, cfd, &ss);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		/* EMFILE, ENFILE, ENOBUFS, ENOMEM or worse: the connection
		 * stays queued; retrying at once would only spin */
		pause_accept(h, errno);
		return;
	}
}

static void
resume(struct httpd *h)
{
	h->paused = false;
	h->at_cap = false;
	if (event_add(h->accept_ev, NULL) < 0)
		pause_accept(h, errno);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	resume(arg);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;

	log_ratelimit_flush(&h->log);
}

struct httpd *
httpd_new(struct event_base *base, int listen_fd, const char *name,
    httpd_handler *handler, void *arg)
{
	struct httpd *h = calloc(1, sizeof(*h));
	struct timeval ten = { 10, 0 };

	if (h == NULL) {
		close(listen_fd);
		return NULL;
	}
	h->base = base;
	h->fd = listen_fd;
	h->handler = handler;
	h->arg = arg;
	h->log = (struct ratelimit)RATELIMIT_INIT(10000, 10);
	h->stats.max = httpd_connection_cap();
	TAILQ_INIT(&h->conns);
	if ((h->name = strdup(name)) == NULL ||
	    (h->accept_ev = event_new(base, listen_fd, EV_READ | EV_PERSIST,
	    on_accept, h)) == NULL ||
	    (h->resume_ev = evtimer_new(base, on_resume, h)) == NULL ||
	    (h->flush_ev = event_new(base, -1, EV_PERSIST, on_flush, h)) == NULL ||
	    event_add(h->accept_ev, NULL) < 0 || event_add(h->flush_ev, &ten) < 0) {
		httpd_free(h);
		return NULL;
	}
	return h;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->conns))
		conn_end(TAILQ_FIRST(&h->conns), HTTPD_CLOSED);
	if (h->accept_ev)
		event_free(h->accept_ev);
	if (h->resume_ev)
		event_free(h->resume_ev);
	if (h->flush_ev)
		event_free(h->flush_ev);
	log_ratelimit_flush(&h->log);
	close(h->fd);
	free(h->name);
	free(h);
}

void
httpd_stats(const struct httpd *h, struct httpd_stats *s)
{
	*s = h->stats;
}
