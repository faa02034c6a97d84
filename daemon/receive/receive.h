/*
 * The receive path: UDP listeners, the receive thread that reads them
 * (recvmmsg) and the queue (rxring.h) that hands datagrams to the event
 * loop. The loop owns the listeners; the thread only reads them and
 * bumps their atomic counters.
 */
#ifndef NETFLOWD_RECEIVE_H
#define NETFLOWD_RECEIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "log.h"

#define RX_BATCH 64
#define RX_DATAGRAM_MAX 65536
/* batches one listener may read per wake-up before others get a turn */
#define RX_BATCHES_PER_WAKEUP 8

struct collector;
struct receiver;

struct listener {
	struct collector *c;
	struct config_listen conf;
	int fd;
	/* counted by the receive thread, read by the loop */
	_Atomic uint64_t datagrams, bytes, kernel_drops;
	_Atomic uint64_t errors;        /* recvmmsg failures but EAGAIN/EINTR */
	atomic_int last_errno;
	uint64_t errors_logged;         /* the loop's */
	uint32_t last_ovfl;      /* the receive thread's */
	bool watched;            /* in the receive thread's epoll set */
	bool keep;               /* reload: taken over by the new config */
	struct listener *next;
};

/* A non-blocking, close-on-exec socket of type (SOCK_DGRAM, SOCK_STREAM)
 * for conf's family, an IPv6 one dual-stack or not as conf says; -1 with
 * errno set. */
int listener_socket(const struct config_listen *conf, int type);
/* Binds and hands the socket to the receive thread's set. */
int listener_open(struct collector *c, const struct config_listen *conf,
    size_t receive_buffer, struct listener **out);
void listener_set_receive_buffer(struct listener *l, size_t want);
/* Only while the receive thread is stopped. */
void listener_free(struct listener *l);
/* "FILE:LINE: cannot listen on ADDR: REASON", naming the line of the
 * config file that asked for the address (no FILE:LINE for -p and the
 * built-in defaults); allocated, NULL without memory. */
char *listener_error(const struct config *config,
    const struct config_listen *conf, int errnum);
/* Logs the receive thread's recvmmsg failures since the last call. */
void listener_log_errors(struct listener *l, struct ratelimit *rl);

/* receiver.c: the receive thread and its queue to the loop. */
struct receiver_stats {
	uint64_t size, used, peak, full;
};
struct receiver *receiver_new(struct collector *c, size_t queue_size);
void receiver_free(struct receiver *r);
int receiver_start(struct receiver *r);
/* Returns once the thread is gone; the queue keeps what it held. */
void receiver_stop(struct receiver *r);
/* The epoll set: add any time, remove only while stopped. */
int receiver_add(struct receiver *r, struct listener *l);
void receiver_remove(struct receiver *r, struct listener *l);
/* Stopped: decodes what is queued and what the sockets still hold. */
void receiver_drain(struct receiver *r);
/* A new limit for the queue; what it holds stays. */
void receiver_resize(struct receiver *r, size_t queue_size);
void receiver_stats(struct receiver *r, struct receiver_stats *s);

#endif
