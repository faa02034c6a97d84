/*
 * The receive queue: a single-producer, single-consumer queue of datagrams
 * from the receive thread to the event loop. It lets a stall of the loop
 * (a burst of decoding, a slow disk behind a full output queue, the
 * scheduler) be absorbed in user space instead of overflowing the socket
 * buffers.
 *
 * The producer copies datagrams in with rxring_put and makes them visible
 * with rxring_publish; the consumer reads them in order with rxring_peek
 * and releases each with rxring_next. Neither side takes a lock per
 * datagram. Datagrams go into 256 KiB chunks, chained in order; chunks the
 * consumer is done with go to a free list, and those no burst needed for
 * 10 s go back to the kernel. So a queue that keeps up lives in a few
 * chunks, a burst takes memory up to the limit, and gives it back after.
 */
#ifndef NETFLOWD_RXRING_H
#define NETFLOWD_RXRING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

/* A datagram in the queue. */
struct rx_entry {
	uint32_t len;            /* payload bytes */
	uint32_t pad;
	struct parser_source src;
	uint8_t data[];
};

#define RXRING_CHUNK (256u << 10)
/* free chunks always kept for reuse; more are kept while bursts use them */
#define RXRING_SPARE 4
#define RXRING_MIN (1u << 20)

struct rx_chunk;

struct rxring {
	/* the consumer's */
	_Alignas(64) struct rx_chunk *rd;
	size_t rd_pos;
	_Atomic uint64_t out;    /* bytes released */
	atomic_bool sleeping;    /* the consumer waits for the eventfd */
	/* the producer's */
	_Alignas(64) struct rx_chunk *wr;
	size_t wr_pos;           /* where the next entry goes, unpublished */
	_Atomic uint64_t in;     /* bytes published */
	uint64_t put;            /* bytes put, published or not */
	/* both: chunks in existence, and the free ones */
	_Alignas(64) pthread_mutex_t lock;
	struct rx_chunk *free;
	size_t nfree;
	size_t nfree_low;        /* fewest free since the last trim */
	int64_t trimmed_ms;      /* the consumer's */
	_Atomic size_t nchunks, max_chunks;
	/* statistics, read by anyone */
	_Atomic uint64_t peak;   /* most bytes ever queued */
	_Atomic uint64_t full;   /* puts refused for lack of space */
	int efd;                 /* eventfd: readable when the consumer is wanted */
	/* the producer found the queue full and waits for room_efd (under
	 * lock, like the free list it waits for) */
	bool producer_waiting;
	int room_efd;            /* eventfd: readable when a chunk came free */
};

/* Holds up to size bytes (whole chunks, at least RXRING_MIN); -1 with
 * errno. */
int rxring_init(struct rxring *r, size_t size);
void rxring_destroy(struct rxring *r);
/* A new limit; what is queued stays. From the consumer's thread. */
void rxring_resize(struct rxring *r, size_t size);

/* Producer. Copies a datagram in; false when the queue is at its limit
 * (the consumer has to catch up first) or len > 65535. */
bool rxring_put(struct rxring *r, const void *data, uint32_t len,
    const struct parser_source *src);
/* Producer: makes what was put visible and wakes a sleeping consumer. */
void rxring_publish(struct rxring *r);

/* Producer, after rxring_put refused: arms the wake-up for room. True if
 * there is room already (no need to wait); else room_efd becomes readable
 * as soon as the consumer frees a chunk or the limit grows. */
bool rxring_wait_room(struct rxring *r);
/* Producer: clears room_efd after it fired. */
void rxring_room_woken(struct rxring *r);

/* Consumer: the oldest datagram, or NULL when there is none. */
const struct rx_entry *rxring_peek(struct rxring *r);
/* Consumer: releases what rxring_peek returned. */
void rxring_next(struct rxring *r);
/* Consumer, with nothing left to read: arms the wake-up. True if data
 * arrived meanwhile (the consumer goes on instead of sleeping). */
bool rxring_sleep(struct rxring *r);
/* Consumer: clears the eventfd after it fired. */
void rxring_woken(struct rxring *r);

/* Bytes queued right now (approximate from another thread). */
size_t rxring_used(struct rxring *r);
/* Bytes the queue may hold. */
size_t rxring_size(struct rxring *r);

#endif
