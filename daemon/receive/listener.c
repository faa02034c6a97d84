/*
 * UDP listeners: non-blocking sockets with a large receive buffer and the
 * kernel's drop counter (SO_RXQ_OVFL), read by the receive thread
 * (receiver.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"

void
sockaddr_to_source(const struct sockaddr *sa, struct parser_source *src)
{
	memset(&src->addr, 0, sizeof(src->addr));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		src->addr.family = 4;
		memcpy(src->addr.bytes, &s4->sin_addr, 4);
		src->port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			src->addr.family = 4;
			memcpy(src->addr.bytes, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			src->addr.family = 6;
			memcpy(src->addr.bytes, &s6->sin6_addr, 16);
		}
		src->port = ntohs(s6->sin6_port);
	}
}

const char *
exporter_text(const struct parser_addr *a, char *buf, size_t size)
{
	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf,
	    (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
	return buf;
}

void
listener_log_errors(struct listener *l, struct ratelimit *rl)
{
	uint64_t errors = atomic_load_explicit(&l->errors, memory_order_relaxed);

	if (errors == l->errors_logged)
		return;
	log_limited_fields(rl, LOG_WARNING, LOG_FIELDS({ "LISTENER", l->conf.text }),
	    "listener %s: recvmmsg failed %llu times: %s", l->conf.text,
	    (unsigned long long)(errors - l->errors_logged),
	    strerror(atomic_load_explicit(&l->last_errno, memory_order_relaxed)));
	l->errors_logged = errors;
}

void
listener_set_receive_buffer(struct listener *l, size_t want)
{
	int v = want > (size_t)INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;
	int got = 0;
	socklen_t len = sizeof(got);

	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	/* the kernel doubles what it grants; root may exceed rmem_max */
	if ((size_t)got / 2 < want) {
		setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
		len = sizeof(got);
		getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	}
	if ((size_t)got / 2 < want)
		log_fields(LOG_WARNING, LOG_FIELDS({ "LISTENER", l->conf.text }),
		    "listener %s: receive buffer %d bytes, %zu requested "
		    "(raise sysctl net.core.rmem_max)", l->conf.text, got / 2, want);
	else
		log_fields(LOG_INFO, LOG_FIELDS({ "LISTENER", l->conf.text }),
		    "listener %s: receive buffer %d bytes", l->conf.text, got / 2);
}

/* Binds before anything else changes, so a reload can fail here and leave
 * the running listeners alone. */
int
listener_socket(const struct config_listen *conf, int type)
{
	int fd = socket(conf->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int v6only = conf->dual_stack ? 0 : 1;

	if (fd >= 0 && conf->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
listener_open(struct collector *c, const struct config_listen *conf,
    size_t receive_buffer, struct listener **out)
{
	struct listener *l = calloc(1, sizeof(*l));
	int on = 1;

	*out = NULL;
	if (l == NULL)
		return -1;
	l->c = c;
	l->fd = -1;
	l->conf = *conf;
	if ((l->conf.text = strdup(conf->text)) == NULL)
		goto fail;
	if ((l->fd = listener_socket(conf, SOCK_DGRAM)) < 0)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
	if (bind(l->fd, (const struct sockaddr *)&conf->addr, conf->addrlen) < 0)
		goto fail;
	listener_set_receive_buffer(l, receive_buffer);
	if (receiver_add(c->receiver, l) < 0)
		goto fail;
	l->watched = true;
	*out = l;
	return 0;
fail:
	{
		int saved = errno;

		listener_free(l);
		errno = saved;
	}
	return -1;
}

char *
listener_error(const struct config *config, const struct config_listen *conf,
    int errnum)
{
	char *msg;
	int rc;

	if (config->path != NULL && conf->line > 0)
		rc = asprintf(&msg, "%s:%d: cannot listen on %s: %s", config->path,
		    conf->line, conf->text, strerror(errnum));
	else
		rc = asprintf(&msg, "cannot listen on %s: %s", conf->text,
		    strerror(errnum));
	return rc < 0 ? NULL : msg;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->watched)
		receiver_remove(l->c->receiver, l);
	if (l->fd >= 0)
		close(l->fd);
	free(l->conf.text);
	free(l);
}
