/*
 * UDP listeners: non-blocking sockets with a large receive buffer, read in
 * batches with recvmmsg into buffers preallocated once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"

struct rx_buffers {
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_storage names[RX_BATCH];
	char control[RX_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	uint8_t *data;
};

struct rx_buffers *
rx_buffers_new(void)
{
	struct rx_buffers *rx = calloc(1, sizeof(*rx));

	if (rx == NULL)
		return NULL;
	if ((rx->data = malloc((size_t)RX_BATCH * RX_DATAGRAM_MAX)) == NULL) {
		free(rx);
		return NULL;
	}
	/* pointers set once; read_batch only resets what the kernel changes */
	for (int i = 0; i < RX_BATCH; i++) {
		rx->iov[i].iov_base = rx->data + (size_t)i * RX_DATAGRAM_MAX;
		rx->iov[i].iov_len = RX_DATAGRAM_MAX;
		rx->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &rx->names[i],
			.msg_iov = &rx->iov[i],
			.msg_iovlen = 1,
			.msg_control = rx->control[i],
		};
	}
	return rx;
}

void
rx_buffers_free(struct rx_buffers *rx)
{
	if (rx == NULL)
		return;
	free(rx->data);
	free(rx);
}

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

static void
kernel_drops(struct listener *l, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		uint32_t ovfl;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&ovfl, CMSG_DATA(cm), sizeof(ovfl));
		/* a running total for the socket */
		l->kernel_drops += (uint32_t)(ovfl - l->last_ovfl);
		l->last_ovfl = ovfl;
	}
}

static int
read_batch(struct listener *l)
{
	struct collector *c = l->c;
	struct rx_buffers *rx = c->rx;
	struct parser_source src;
	int n;

	for (int i = 0; i < RX_BATCH; i++) {
		rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->names[i]);
		rx->msgs[i].msg_hdr.msg_controllen = sizeof(rx->control[i]);
	}
	n = recvmmsg(l->fd, rx->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return n;
	src.received_ms = collector_realtime_ms();
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &rx->msgs[i].msg_hdr;

		kernel_drops(l, mh);
		sockaddr_to_source((struct sockaddr *)mh->msg_name, &src);
		l->datagrams++;
		l->bytes += rx->msgs[i].msg_len;
		collector_datagram(c, rx->iov[i].iov_base, rx->msgs[i].msg_len, &src);
	}
	return n;
}

/* At shutdown: what already sits in the socket's queue arrived before we
 * were told to stop, so it is decoded and written too. Bounded by what
 * the queue can hold, plus a cap against a sender that never pauses. */
void
listener_drain(struct listener *l)
{
	for (int i = 0; i < 4096; i++)
		if (read_batch(l) < RX_BATCH)
			break;
}

/* Reads a bounded amount, then yields so one busy listener cannot starve
 * the others (the event is level-triggered and fires again). */
static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	for (int i = 0; i < RX_BATCHES_PER_WAKEUP; i++) {
		int n = read_batch(l);

		if (n < RX_BATCH) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_limited(&l->c->drop_log, LOG_WARNING,
				    "listener %s: recvmmsg: %s", l->conf.text,
				    strerror(errno));
			break;
		}
	}
	if (l->c->to_stdout)
		output_flush(l->c->output);
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
listener_open(struct collector *c, const struct config_listen *conf,
    size_t receive_buffer, struct listener **out)
{
	struct listener *l = calloc(1, sizeof(*l));
	int on = 1, v6only;

	*out = NULL;
	if (l == NULL)
		return -1;
	l->c = c;
	l->fd = -1;
	l->conf = *conf;
	if ((l->conf.text = strdup(conf->text)) == NULL)
		goto fail;
	l->fd = socket(conf->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail;
	if (conf->addr.ss_family == AF_INET6) {
		v6only = conf->dual_stack ? 0 : 1;
		if (setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only)) < 0)
			goto fail;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
	if (bind(l->fd, (const struct sockaddr *)&conf->addr, conf->addrlen) < 0)
		goto fail;
	listener_set_receive_buffer(l, receive_buffer);
	l->ev = event_new(c->base, l->fd, EV_READ | EV_PERSIST, on_readable, l);
	if (l->ev == NULL || event_add(l->ev, NULL) < 0)
		goto fail;
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

void
listener_free(struct listener *l)
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
