/*
 * The receive queue (see rxring.h). A chunk holds entries back to back;
 * its used count says how far the consumer may read, and next, set once
 * the producer moved on, where it goes after that. An entry never
 * straddles two chunks. The consumer frees a chunk (to the free list or
 * the kernel) when it has read all of it and the producer has moved on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "rxring.h"

struct rx_chunk {
	_Atomic size_t used;             /* bytes of data the consumer may read */
	_Atomic(struct rx_chunk *) next; /* set when the producer moved on */
	struct rx_chunk *free_next;
	_Alignas(8) uint8_t data[];
};

#define CHUNK_DATA (RXRING_CHUNK - offsetof(struct rx_chunk, data))
/* free chunks that stayed unused this long go back to the kernel */
#define TRIM_INTERVAL_MS 10000


static size_t
entry_size(uint32_t len)
{
	return (sizeof(struct rx_entry) + len + 7) & ~(size_t)7;
}

static size_t
chunks_for(size_t size)
{
	if (size < RXRING_MIN)
		size = RXRING_MIN;
	return (size + RXRING_CHUNK - 1) / RXRING_CHUNK;
}

/* Chunks come from the kernel and go back to it, so a drained burst does
 * not stay in the process; populated at once, since all of it is used. */
static struct rx_chunk *
chunk_new(void)
{
	struct rx_chunk *c = mmap(NULL, RXRING_CHUNK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return c == MAP_FAILED ? NULL : c;
}

/* Producer: a chunk from the free list, or a new one within the limit. */
static struct rx_chunk *
chunk_get(struct rxring *r)
{
	struct rx_chunk *c = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->free != NULL) {
		c = r->free;
		r->free = c->free_next;
		if (--r->nfree < r->nfree_low)
			r->nfree_low = r->nfree;
	} else if (atomic_load(&r->nchunks) < atomic_load(&r->max_chunks)) {
		if ((c = chunk_new()) != NULL)
			atomic_fetch_add(&r->nchunks, 1);
	}
	pthread_mutex_unlock(&r->lock);
	if (c != NULL) {
		atomic_init(&c->used, 0);
		atomic_init(&c->next, NULL);
	}
	return c;
}

/* Under lock: a producer waiting for room gets it now. */
static void
wake_producer(struct rxring *r)
{
	uint64_t one = 1;

	if (!r->producer_waiting)
		return;
	r->producer_waiting = false;
	(void)!write(r->room_efd, &one, sizeof(one));
}

/* Consumer: done with a chunk. It is kept for the next burst; returning
 * it at once would make every burst pay for mapping and faulting its
 * memory in again. */
static void
chunk_put(struct rxring *r, struct rx_chunk *c)
{
	pthread_mutex_lock(&r->lock);
	if (atomic_load(&r->nchunks) <= atomic_load(&r->max_chunks)) {
		c->free_next = r->free;
		r->free = c;
		r->nfree++;
		c = NULL;
		wake_producer(r);
	} else {
		atomic_fetch_sub(&r->nchunks, 1);
	}
	pthread_mutex_unlock(&r->lock);
	if (c != NULL)
		munmap(c, RXRING_CHUNK);
}

/* Consumer, going to sleep: free chunks that none of the last interval
 * needed (beyond a few) go back to the kernel. */
static void
trim(struct rxring *r)
{
	struct rx_chunk *gone = NULL, *c;
	int64_t now = monotonic_ms();

	if (now - r->trimmed_ms < TRIM_INTERVAL_MS)
		return;
	pthread_mutex_lock(&r->lock);
	while (r->nfree > RXRING_SPARE && r->nfree_low > RXRING_SPARE) {
		c = r->free;
		r->free = c->free_next;
		c->free_next = gone;
		gone = c;
		r->nfree--;
		r->nfree_low--;
		atomic_fetch_sub(&r->nchunks, 1);
	}
	r->nfree_low = r->nfree;
	pthread_mutex_unlock(&r->lock);
	r->trimmed_ms = now;
	for (; gone != NULL; gone = c) {
		c = gone->free_next;
		munmap(gone, RXRING_CHUNK);
	}
}

int
rxring_init(struct rxring *r, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->efd = r->room_efd = -1;
	pthread_mutex_init(&r->lock, NULL);
	atomic_init(&r->out, 0);
	atomic_init(&r->in, 0);
	atomic_init(&r->sleeping, true);
	atomic_init(&r->nchunks, 0);
	atomic_init(&r->max_chunks, chunks_for(size));
	atomic_init(&r->peak, 0);
	atomic_init(&r->full, 0);
	r->trimmed_ms = monotonic_ms();
	if ((r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (r->room_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (r->wr = chunk_get(r)) == NULL) {
		int saved = errno;

		rxring_destroy(r);
		errno = saved;
		return -1;
	}
	r->rd = r->wr;
	return 0;
}

void
rxring_destroy(struct rxring *r)
{
	struct rx_chunk *c, *next;

	for (c = r->rd; c != NULL; c = next) {
		next = atomic_load(&c->next);
		munmap(c, RXRING_CHUNK);
	}
	for (c = r->free; c != NULL; c = next) {
		next = c->free_next;
		munmap(c, RXRING_CHUNK);
	}
	r->rd = r->wr = r->free = NULL;
	if (r->efd >= 0)
		close(r->efd);
	if (r->room_efd >= 0)
		close(r->room_efd);
	r->efd = r->room_efd = -1;
	pthread_mutex_destroy(&r->lock);
}

void
rxring_resize(struct rxring *r, size_t size)
{
	struct rx_chunk *gone = NULL, *c;

	/* free chunks above a lower limit go now, chunks in use as the
	 * consumer is done with them */
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->max_chunks, chunks_for(size));
	if (atomic_load(&r->nchunks) < atomic_load(&r->max_chunks))
		wake_producer(r);
	while (r->free != NULL &&
	    atomic_load(&r->nchunks) > atomic_load(&r->max_chunks)) {
		c = r->free;
		r->free = c->free_next;
		c->free_next = gone;
		gone = c;
		r->nfree--;
		atomic_fetch_sub(&r->nchunks, 1);
	}
	if (r->nfree_low > r->nfree)
		r->nfree_low = r->nfree;
	pthread_mutex_unlock(&r->lock);
	for (; gone != NULL; gone = c) {
		c = gone->free_next;
		munmap(gone, RXRING_CHUNK);
	}
}

bool
rxring_put(struct rxring *r, const void *data, uint32_t len,
    const struct parser_source *src)
{
	size_t need = entry_size(len);
	struct rx_entry *e;

	if (len > 65535)
		return false;
	if (r->wr_pos + need > CHUNK_DATA) {
		struct rx_chunk *c = chunk_get(r);

		if (c == NULL) {
			atomic_store_explicit(&r->full,
			    atomic_load_explicit(&r->full, memory_order_relaxed) + 1,
			    memory_order_relaxed);
			return false;
		}
		/* final size first: a consumer that sees next reads all of it */
		atomic_store(&r->wr->used, r->wr_pos);
		atomic_store(&r->wr->next, c);
		r->wr = c;
		r->wr_pos = 0;
	}
	e = (struct rx_entry *)(r->wr->data + r->wr_pos);
	e->len = len;
	e->pad = 0;
	e->src = *src;
	memcpy(e->data, data, len);
	r->wr_pos += need;
	r->put += need;
	return true;
}

void
rxring_publish(struct rxring *r)
{
	uint64_t used;

	if (r->put == atomic_load_explicit(&r->in, memory_order_relaxed))
		return;
	atomic_store_explicit(&r->in, r->put, memory_order_relaxed);
	/* seq_cst: ordered against the load of sleeping below, as the
	 * consumer orders its store of sleeping before its loads of used */
	atomic_store(&r->wr->used, r->wr_pos);
	if (atomic_load(&r->sleeping) && atomic_exchange(&r->sleeping, false)) {
		uint64_t one = 1;

		/* a full counter (never here) or EAGAIN still wakes it */
		(void)!write(r->efd, &one, sizeof(one));
	}
	used = r->put - atomic_load_explicit(&r->out, memory_order_relaxed);
	if (used > atomic_load_explicit(&r->peak, memory_order_relaxed))
		atomic_store_explicit(&r->peak, used, memory_order_relaxed);
}

const struct rx_entry *
rxring_peek(struct rxring *r)
{
	for (;;) {
		struct rx_chunk *next;

		if (r->rd_pos < atomic_load_explicit(&r->rd->used,
		    memory_order_acquire))
			return (const struct rx_entry *)(r->rd->data + r->rd_pos);
		if ((next = atomic_load(&r->rd->next)) == NULL)
			return NULL;
		/* the producer moved on: used is final now */
		if (r->rd_pos < atomic_load(&r->rd->used))
			continue;
		chunk_put(r, r->rd);
		r->rd = next;
		r->rd_pos = 0;
	}
}

void
rxring_next(struct rxring *r)
{
	const struct rx_entry *e =
	    (const struct rx_entry *)(r->rd->data + r->rd_pos);
	size_t n = entry_size(e->len);

	r->rd_pos += n;
	atomic_store_explicit(&r->out,
	    atomic_load_explicit(&r->out, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

bool
rxring_sleep(struct rxring *r)
{
	trim(r);
	atomic_store(&r->sleeping, true);
	if (r->rd_pos == atomic_load(&r->rd->used) &&
	    atomic_load(&r->rd->next) == NULL)
		return false;
	/* it came meanwhile; if the producer already took the flag, one
	 * spurious wake-up follows, which finds nothing */
	atomic_store(&r->sleeping, false);
	return true;
}

bool
rxring_wait_room(struct rxring *r)
{
	bool room;

	pthread_mutex_lock(&r->lock);
	room = r->free != NULL ||
	    atomic_load(&r->nchunks) < atomic_load(&r->max_chunks);
	r->producer_waiting = !room;
	pthread_mutex_unlock(&r->lock);
	return room;
}

void
rxring_room_woken(struct rxring *r)
{
	uint64_t v;

	(void)!read(r->room_efd, &v, sizeof(v));
}

void
rxring_woken(struct rxring *r)
{
	uint64_t v;

	(void)!read(r->efd, &v, sizeof(v));
}

size_t
rxring_used(struct rxring *r)
{
	uint64_t out = atomic_load_explicit(&r->out, memory_order_relaxed);
	uint64_t in = atomic_load_explicit(&r->in, memory_order_relaxed);

	return in > out ? in - out : 0;
}

size_t
rxring_size(struct rxring *r)
{
	return atomic_load(&r->max_chunks) * RXRING_CHUNK;
}
