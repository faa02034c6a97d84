/*
 * The receive queue: a single-producer, single-consumer byte ring that
 * carries datagrams from the receive thread to the event loop. It lets a
 * stall of the loop (a burst of decoding, a slow disk behind a full output
 * queue, the scheduler) be absorbed in user space instead of overflowing
 * the socket buffers.
 *
 * The producer copies datagrams in with rxring_put and makes them visible
 * with rxring_publish; the consumer reads them in order with rxring_peek
 * and releases each with rxring_next. Neither side takes a lock. The
 * memory is mapped once and pages are touched only as the ring fills: the
 * producer starts again from the front whenever the consumer has caught
 * up, and gives back what a burst touched beyond the first few MiB.
 */
#ifndef NETFLOWD_RXRING_H
#define NETFLOWD_RXRING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

/* A datagram in the ring. */
struct rx_entry {
	uint32_t len;            /* payload bytes; RXRING_WRAP: go to the front */
	uint32_t pad;
	struct parser_source src;
	uint8_t data[];
};

#define RXRING_WRAP UINT32_MAX
#define RXRING_MIN (1u << 20)

struct rxring {
	uint8_t *buf;
	size_t size;
	/* written by the consumer only */
	_Alignas(64) _Atomic size_t head;
	atomic_bool sleeping;    /* the consumer waits for the eventfd */
	size_t tail_seen;        /* consumer's cached tail */
	/* written by the producer only */
	_Alignas(64) _Atomic size_t tail;
	size_t pos;              /* where the next entry goes, unpublished */
	size_t head_seen;        /* producer's cached head */
	bool look;               /* a batch was published: head may have moved */
	size_t high;             /* highest offset touched since the last trim */
	_Atomic size_t wrapped_at; /* where the producer last went to the front */
	int64_t trimmed_ms;
	/* statistics, read by anyone */
	_Atomic uint64_t peak;   /* most bytes ever queued */
	_Atomic uint64_t full;   /* puts refused for lack of space */
	_Alignas(64) int efd;    /* eventfd: readable when the consumer is wanted */
};

/* size is rounded up to whole pages; returns -1 with errno. */
int rxring_init(struct rxring *r, size_t size);
void rxring_destroy(struct rxring *r);
/* A new buffer of another size, for an empty ring with neither side
 * running; the eventfd stays. */
int rxring_resize(struct rxring *r, size_t size);

/* Producer. Copies a datagram in; false when it does not fit now (the
 * consumer has to catch up first). Never fails for len <= 65535 on a
 * ring that is empty, as long as size >= RXRING_MIN. */
bool rxring_put(struct rxring *r, const void *data, uint32_t len,
    const struct parser_source *src);
/* Producer: makes what was put visible and wakes a sleeping consumer. */
void rxring_publish(struct rxring *r);

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

#endif
