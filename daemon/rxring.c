/*
 * The receive queue (see rxring.h). Offsets run from 0 to size; the ring
 * is empty when head == tail. An entry never straddles the end: where the
 * next one does not fit, the producer leaves a wrap marker (or nothing,
 * when it stopped exactly at the end) and goes on at offset 0, and the
 * consumer follows. The producer never lets tail catch up with head from
 * behind, so head == tail always means empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rxring.h"

/* Once the consumer has caught up at or beyond this offset, the producer
 * starts again from the front, so a ring that keeps up stays in its first
 * pages. Until the consumer follows the wrap marker, the producer has only
 * this much room: it must hold the largest datagram, and what arrives while
 * the loop wakes up. */
#define RESTART_AT (4u << 20)
/* What a burst touched beyond this is given back to the kernel ... */
#define TRIM_KEEP RESTART_AT
/* ... at most this often. */
#define TRIM_INTERVAL_MS 10000

static size_t
entry_size(uint32_t len)
{
	return (sizeof(struct rx_entry) + len + 7) & ~(size_t)7;
}

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reserved, not committed: pages cost memory once they are used. */
static uint8_t *
map(size_t *size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (*size < RXRING_MIN)
		*size = RXRING_MIN;
	*size = (*size + page - 1) & ~(page - 1);
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int
rxring_init(struct rxring *r, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->efd = -1;
	if ((r->buf = map(&size)) == NULL)
		return -1;
	r->size = size;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->sleeping, true);
	atomic_init(&r->wrapped_at, 0);
	atomic_init(&r->peak, 0);
	atomic_init(&r->full, 0);
	r->trimmed_ms = monotonic_ms();
	if ((r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		int saved = errno;

		munmap(r->buf, r->size);
		r->buf = NULL;
		errno = saved;
		return -1;
	}
	return 0;
}

int
rxring_resize(struct rxring *r, size_t size)
{
	uint8_t *buf = map(&size);

	if (buf == NULL)
		return -1;
	munmap(r->buf, r->size);
	r->buf = buf;
	r->size = size;
	atomic_store(&r->head, 0);
	atomic_store(&r->tail, 0);
	atomic_store(&r->wrapped_at, 0);
	r->pos = r->head_seen = r->tail_seen = r->high = 0;
	return 0;
}

void
rxring_destroy(struct rxring *r)
{
	if (r->buf)
		munmap(r->buf, r->size);
	if (r->efd >= 0)
		close(r->efd);
	r->buf = NULL;
	r->efd = -1;
}

static void
dontneed(struct rxring *r, size_t from, size_t to)
{
	if (to > from)
		madvise(r->buf + from, to - from, MADV_DONTNEED);
}

/* Producer: gives back the pages a burst touched; only while the ring is
 * empty, so no entry lives there. The page of pos, where the wrap marker
 * goes next, is kept. */
static void
trim(struct rxring *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t end = (r->high + page - 1) & ~(page - 1);
	size_t mark = r->pos & ~(page - 1);
	int64_t now;

	if (r->high <= TRIM_KEEP)
		return;
	now = monotonic_ms();
	if (now - r->trimmed_ms < TRIM_INTERVAL_MS)
		return;
	if (end > r->size)
		end = r->size;
	if (mark < TRIM_KEEP || mark >= end) {
		dontneed(r, TRIM_KEEP, end);
	} else {
		dontneed(r, TRIM_KEEP, mark);
		dontneed(r, mark + page, end);
	}
	r->trimmed_ms = now;
	r->high = 0;
}

static void
wrap(struct rxring *r)
{
	if (r->pos < r->size) {
		struct rx_entry *e = (struct rx_entry *)(r->buf + r->pos);

		e->len = RXRING_WRAP;
	}
	atomic_store_explicit(&r->wrapped_at, r->pos, memory_order_relaxed);
	r->pos = 0;
}

/* Where an entry of need bytes can go with head at h, or SIZE_MAX. */
static size_t
place(const struct rxring *r, size_t h, size_t need, bool *wraps)
{
	*wraps = false;
	if (r->pos >= h) {
		if (r->size - r->pos >= need)
			return r->pos;
		/* in front of head, never up to it */
		if (need < h) {
			*wraps = true;
			return 0;
		}
		return SIZE_MAX;
	}
	return h - r->pos > need ? r->pos : SIZE_MAX;
}

bool
rxring_put(struct rxring *r, const void *data, uint32_t len,
    const struct parser_source *src)
{
	size_t need = entry_size(len), at;
	struct rx_entry *e;
	bool wraps;

	if (len == RXRING_WRAP || need > r->size / 2)
		return false;
	/* everything published was consumed: start again from the front
	 * (head looked at once per batch) */
	if (r->pos >= RESTART_AT && r->look) {
		r->look = false;
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (r->pos == r->head_seen) {
			trim(r);
			wrap(r);
		}
	}
	if ((at = place(r, r->head_seen, need, &wraps)) == SIZE_MAX) {
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (r->pos >= RESTART_AT && r->pos == r->head_seen) {
			trim(r);
			wrap(r);
		}
		if ((at = place(r, r->head_seen, need, &wraps)) == SIZE_MAX) {
			atomic_store_explicit(&r->full,
			    atomic_load_explicit(&r->full, memory_order_relaxed) + 1,
			    memory_order_relaxed);
			return false;
		}
	}
	if (wraps)
		wrap(r);
	e = (struct rx_entry *)(r->buf + at);
	e->len = len;
	e->pad = 0;
	e->src = *src;
	memcpy(e->data, data, len);
	r->pos = at + need;
	if (r->pos > r->high)
		r->high = r->pos;
	return true;
}

void
rxring_publish(struct rxring *r)
{
	size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t h, used;

	if (r->pos == t)
		return;
	/* seq_cst: ordered against the load of sleeping below, as the
	 * consumer orders its store of sleeping before its load of tail */
	atomic_store(&r->tail, r->pos);
	if (atomic_load(&r->sleeping) && atomic_exchange(&r->sleeping, false)) {
		uint64_t one = 1;

		/* a full counter (never here) or EAGAIN still wakes it */
		(void)!write(r->efd, &one, sizeof(one));
	}
	r->look = true;
	h = r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
	/* behind the producer, the consumer still has to reach the wrap */
	used = r->pos >= h ? r->pos - h :
	    atomic_load_explicit(&r->wrapped_at, memory_order_relaxed) - h + r->pos;
	if (used > atomic_load_explicit(&r->peak, memory_order_relaxed))
		atomic_store_explicit(&r->peak, used, memory_order_relaxed);
}

const struct rx_entry *
rxring_peek(struct rxring *r)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	for (;;) {
		const struct rx_entry *e;

		if (h == r->tail_seen) {
			r->tail_seen = atomic_load_explicit(&r->tail,
			    memory_order_acquire);
			if (h == r->tail_seen)
				return NULL;
		}
		if (h == r->size) {
			h = 0;
		} else {
			e = (const struct rx_entry *)(r->buf + h);
			if (e->len != RXRING_WRAP)
				return e;
			h = 0;
		}
		atomic_store_explicit(&r->head, h, memory_order_release);
	}
}

void
rxring_next(struct rxring *r)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	const struct rx_entry *e = (const struct rx_entry *)(r->buf + h);

	atomic_store_explicit(&r->head, h + entry_size(e->len),
	    memory_order_release);
}

bool
rxring_sleep(struct rxring *r)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	atomic_store(&r->sleeping, true);
	if (atomic_load(&r->tail) == h)
		return false;
	/* it came meanwhile; if the producer already took the flag, one
	 * spurious wake-up follows, which finds nothing */
	atomic_store(&r->sleeping, false);
	return true;
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
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	/* approximate when read while both move */
	return t >= h ? t - h :
	    atomic_load_explicit(&r->wrapped_at, memory_order_relaxed) - h + t;
}
