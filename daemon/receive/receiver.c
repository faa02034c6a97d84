/*
 * The receive thread: it only reads the listeners' sockets (recvmmsg into
 * buffers preallocated once) and copies each datagram, with its exporter
 * and arrival time, into the receive queue (rxring.c). The event loop
 * decodes from the queue. A loop that falls behind for a moment (a burst
 * of decoding, the scheduler, an output queue waiting for the disk) then
 * costs queue space instead of datagrams: the thread is light enough to be
 * scheduled promptly, and the queue is far larger than a socket buffer.
 *
 * When the queue is full the thread stops reading until there is room, so
 * what cannot be held is dropped by the kernel and counted there
 * (SO_RXQ_OVFL), as without the thread.
 *
 * New listeners join the thread's epoll set at any time; one leaves it
 * only while the thread is stopped (receiver_stop), since the thread may
 * hold a pointer to it. Stopped is also when the loop may read the
 * sockets itself (receiver_drain at shutdown).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "rxring.h"

/* datagrams the loop decodes per callback before others get a turn */
#define CONSUME_BUDGET 512
/* After a wake-up that found fewer datagrams than this, the thread waits
 * this long for more. Every wake-up of this thread and of the loop costs
 * more than a few datagrams do (on a VM, an interrupt between cores each):
 * without it the two threads cost 40-60 % more CPU than one at 50k
 * datagrams/s; with it, no more. 2 ms of datagrams is far below what a
 * socket buffer holds (at 200k datagrams/s, about 1 MB of its 16M). */
#define COALESCE_BELOW 32
#define COALESCE_NS 2000000L
/* how far below the loop's nice value the thread asks to run: it wants
 * little CPU, but promptly, or the socket buffers overflow while it waits
 * its turn */
#define RX_NICE_BOOST 10
#define BATCH_BYTES ((size_t)RX_BATCH * RX_DATAGRAM_MAX)

struct receiver {
	struct collector *c;
	struct rxring ring;
	struct event *ev;        /* the ring's eventfd, on the loop */
	int epfd;
	int ctlfd;               /* eventfd: wakes the thread to stop */
	pthread_t thread;
	bool running;
	sem_t started;
	int nice_want, nice_errno;   /* the thread's priority, and its result */
	bool nice_logged;
	atomic_bool stop;
	/* the batch last received; [next, n) is not in the queue yet */
	int n, next;
	int64_t batch_ms;
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_storage names[RX_BATCH];
	char control[RX_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	uint8_t *data;
};

static void
add_relaxed(_Atomic uint64_t *v, uint64_t n)
{
	atomic_fetch_add_explicit(v, n, memory_order_relaxed);
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
		add_relaxed(&l->kernel_drops, (uint32_t)(ovfl - l->last_ovfl));
		l->last_ovfl = ovfl;
	}
}

/* Reads one batch; only when the previous one is all in the queue. */
static int
receive(struct receiver *r, struct listener *l)
{
	uint64_t bytes = 0;
	int n;

	for (int i = 0; i < RX_BATCH; i++) {
		r->msgs[i].msg_hdr.msg_namelen = sizeof(r->names[i]);
		r->msgs[i].msg_hdr.msg_controllen = sizeof(r->control[i]);
	}
	n = recvmmsg(l->fd, r->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		atomic_store_explicit(&l->last_errno, errno, memory_order_relaxed);
		add_relaxed(&l->errors, 1);
	}
	if (n <= 0)
		return n;
	r->batch_ms = collector_realtime_ms();
	for (int i = 0; i < n; i++) {
		kernel_drops(l, &r->msgs[i].msg_hdr);
		bytes += r->msgs[i].msg_len;
	}
	add_relaxed(&l->datagrams, (uint64_t)n);
	add_relaxed(&l->bytes, bytes);
	r->n = n;
	r->next = 0;
	return n;
}

/* Moves the rest of the batch into the queue; false when it is full. */
static bool
put_batch(struct receiver *r)
{
	bool done = true;

	for (; r->next < r->n; r->next++) {
		struct msghdr *mh = &r->msgs[r->next].msg_hdr;
		struct parser_source src;

		sockaddr_to_source((struct sockaddr *)mh->msg_name, &src);
		src.received_ms = r->batch_ms;
		if (!rxring_put(&r->ring, r->iov[r->next].iov_base,
		    r->msgs[r->next].msg_len, &src)) {
			done = false;
			break;
		}
	}
	rxring_publish(&r->ring);
	return done;
}

/* The queue is full: sleep until the loop frees a chunk (or the thread is
 * asked to stop), instead of polling. Meanwhile the sockets fill, and the
 * kernel counts what they cannot hold. */
static void
wait_room(struct receiver *r)
{
	struct pollfd fds[2] = {
		{ .fd = r->ring.room_efd, .events = POLLIN },
		{ .fd = r->ctlfd, .events = POLLIN },
	};

	if (rxring_wait_room(&r->ring))
		return;
	if (poll(fds, 2, -1) > 0 && (fds[0].revents & POLLIN))
		rxring_room_woken(&r->ring);
}

static void *
run(void *arg)
{
	struct receiver *r = arg;
	struct epoll_event evs[16];
	sigset_t all;

	/* signals are the loop's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* nice is per thread on Linux */
	r->nice_errno = setpriority(PRIO_PROCESS, (id_t)gettid(), r->nice_want) < 0 ?
	    errno : 0;
	sem_post(&r->started);
	while (!atomic_load(&r->stop)) {
		int nev, got;

		if (r->next < r->n && !put_batch(r)) {
			wait_room(r);
			continue;
		}
		nev = epoll_wait(r->epfd, evs, 16, -1);
		got = 0;
		for (int i = 0; i < nev && r->next == r->n; i++) {
			struct listener *l = evs[i].data.ptr;

			if (l == NULL) {
				uint64_t v;

				(void)!read(r->ctlfd, &v, sizeof(v));
				continue;
			}
			/* a bounded amount per listener, then the others get a
			 * turn (level-triggered: it comes back) */
			for (int b = 0; b < RX_BATCHES_PER_WAKEUP; b++) {
				int n = receive(r, l);

				if (n > 0)
					got += n;
				if (n <= 0 || !put_batch(r) || n < RX_BATCH)
					break;
			}
		}
		/* a trickle: let it gather into larger batches, a few
		 * datagrams per wake-up cost more than the datagrams */
		if (got > 0 && got < COALESCE_BELOW) {
			struct timespec ts = { 0, COALESCE_NS };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* Decodes up to budget datagrams from the queue. */
static size_t
consume(struct receiver *r, size_t budget)
{
	const struct rx_entry *e;
	size_t n = 0;

	while (n < budget && (e = rxring_peek(&r->ring)) != NULL) {
		struct parser_source src = e->src;

		collector_datagram(r->c, e->data, e->len, &src);
		rxring_next(&r->ring);
		n++;
	}
	return n;
}

static void
on_queue(evutil_socket_t fd, short what, void *arg)
{
	struct receiver *r = arg;

	if (what & EV_READ)
		rxring_woken(&r->ring);
	for (;;) {
		if (consume(r, CONSUME_BUDGET) == CONSUME_BUDGET) {
			/* more after the timers, signals and other sockets */
			event_active(r->ev, EV_TIMEOUT, 0);
			break;
		}
		if (!rxring_sleep(&r->ring))
			break;
	}
	if (r->c->to_stdout)
		output_flush(r->c->output);
}

/* Room for a batch of the largest datagrams, of which only the first
 * bytes of each slot are touched by the usual ones: no huge pages, or
 * those few bytes would make all of it resident. */
static uint8_t *
batch_buffers(void)
{
	void *p = mmap(NULL, BATCH_BYTES, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, BATCH_BYTES, MADV_NOHUGEPAGE);
	return p;
}

struct receiver *
receiver_new(struct collector *c, size_t queue_size)
{
	struct receiver *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (r == NULL)
		return NULL;
	if (sem_init(&r->started, 0, 0) < 0) {
		free(r);
		return NULL;
	}
	r->c = c;
	r->epfd = r->ctlfd = -1;
	r->ring.efd = -1;
	atomic_init(&r->stop, false);
	if ((r->data = batch_buffers()) == NULL ||
	    rxring_init(&r->ring, queue_size) < 0 ||
	    (r->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (r->ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->ctlfd, &ev) < 0)
		goto fail;
	/* pointers set once; receive only resets what the kernel changes */
	for (int i = 0; i < RX_BATCH; i++) {
		r->iov[i].iov_base = r->data + (size_t)i * RX_DATAGRAM_MAX;
		r->iov[i].iov_len = RX_DATAGRAM_MAX;
		r->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &r->names[i],
			.msg_iov = &r->iov[i],
			.msg_iovlen = 1,
			.msg_control = r->control[i],
		};
	}
	r->ev = event_new(c->base, r->ring.efd, EV_READ | EV_PERSIST, on_queue, r);
	if (r->ev == NULL || event_add(r->ev, NULL) < 0)
		goto fail;
	return r;
fail:
	receiver_free(r);
	return NULL;
}

void
receiver_free(struct receiver *r)
{
	if (r == NULL)
		return;
	receiver_stop(r);
	if (r->ev)
		event_free(r->ev);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->ctlfd >= 0)
		close(r->ctlfd);
	rxring_destroy(&r->ring);
	sem_destroy(&r->started);
	if (r->data != NULL)
		munmap(r->data, BATCH_BYTES);
	free(r);
}

int
receiver_add(struct receiver *r, struct listener *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, l->fd, &ev);
}

void
receiver_remove(struct receiver *r, struct listener *l)
{
	/* what was received from it is counted, and queued or in hand */
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, l->fd, NULL);
}

int
receiver_start(struct receiver *r)
{
	sigset_t all, old;
	int err;

	if (r->running)
		return 0;
	atomic_store(&r->stop, false);
	/* the last stop's wake-up, not read if the thread was waiting for
	 * room: left there, it would wake every wait at once */
	(void)!read(r->ctlfd, &(uint64_t){ 0 }, sizeof(uint64_t));
	errno = 0;
	r->nice_want = getpriority(PRIO_PROCESS, 0);
	r->nice_want = errno ? -RX_NICE_BOOST : r->nice_want - RX_NICE_BOOST;
	if (r->nice_want < -20)
		r->nice_want = -20;
	/* the thread starts with every signal blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&r->thread, NULL, run, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		errno = err;
		return -1;
	}
	pthread_setname_np(r->thread, "netflowd/rx");
	r->running = true;
	while (sem_wait(&r->started) < 0 && errno == EINTR)
		;
	if (!r->nice_logged) {
		r->nice_logged = true;
		if (r->nice_errno == 0)
			log_msg(LOG_INFO, "receive thread at nice %d", r->nice_want);
		else
			log_msg(LOG_NOTICE, "receive thread at the process's priority: "
			    "nice %d refused (%s); it needs CAP_SYS_NICE or "
			    "RLIMIT_NICE (systemd: LimitNICE=%d), or socket buffers "
			    "may overflow on a busy machine", r->nice_want,
			    strerror(r->nice_errno), r->nice_want);
	}
	return 0;
}

void
receiver_stop(struct receiver *r)
{
	uint64_t one = 1;

	if (!r->running)
		return;
	atomic_store(&r->stop, true);
	(void)!write(r->ctlfd, &one, sizeof(one));
	pthread_join(r->thread, NULL);
	r->running = false;
}

/* With the thread stopped: decodes everything queued, and what the batch
 * in hand still holds. */
static void
consume_all(struct receiver *r)
{
	consume(r, SIZE_MAX);
	while (!put_batch(r))
		consume(r, SIZE_MAX);
	consume(r, SIZE_MAX);
}

void
receiver_drain(struct receiver *r)
{
	consume_all(r);
	/* what sits in the sockets arrived before we were told to stop;
	 * bounded by what they hold, plus a cap against a sender that never
	 * pauses */
	for (struct listener *l = r->c->listeners; l; l = l->next)
		for (int i = 0; i < 4096; i++) {
			int got = receive(r, l);

			if (got <= 0)
				break;
			consume_all(r);
			if (got < RX_BATCH)
				break;
		}
}

void
receiver_resize(struct receiver *r, size_t queue_size)
{
	rxring_resize(&r->ring, queue_size);
}

void
receiver_stats(struct receiver *r, struct receiver_stats *s)
{
	s->size = rxring_size(&r->ring);
	s->used = rxring_used(&r->ring);
	s->peak = atomic_load_explicit(&r->ring.peak, memory_order_relaxed);
	s->full = atomic_load_explicit(&r->ring.full, memory_order_relaxed);
}
