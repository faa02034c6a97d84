/*
 * daemon/receive/rxring.c: the receive queue between the receive thread and the
 * loop. Order and content across chunks, refusal at the limit, memory
 * taken and given back, the sleep/wake protocol, and a two-thread run that
 * would hang on a lost wake-up and fail on a torn or reordered entry.
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "rxring.h"
#include "test.h"

#define MIB (1u << 20)

static uint8_t scratch[65536];

/* Content and source derived from a sequence number. */
static uint32_t
len_of(uint64_t seq)
{
	uint64_t x = seq * 0x9E3779B97F4A7C15ull;

	if (seq % 997 == 0)
		return 65535;
	if (seq % 101 == 0)
		return 0;
	return (uint32_t)(x >> 40) % 1500 + 1;
}

static void
fill(uint64_t seq, uint8_t *buf, uint32_t len, struct parser_source *src)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i);
	memset(src, 0, sizeof(*src));
	src->addr.family = 4;
	memcpy(src->addr.bytes, &seq, 4);
	src->port = (uint16_t)seq;
	src->received_ms = (int64_t)seq;
}

static bool
put_seq(struct rxring *r, uint64_t seq)
{
	struct parser_source src;
	uint32_t len = len_of(seq);

	fill(seq, scratch, len, &src);
	return rxring_put(r, scratch, len, &src);
}

/* The entry is datagram seq, byte for byte (or its ends only, when fast). */
static bool
entry_is(const struct rx_entry *e, uint64_t seq, bool fast)
{
	uint32_t len = len_of(seq);

	if (e->len != len || e->src.received_ms != (int64_t)seq ||
	    e->src.port != (uint16_t)seq || e->src.addr.family != 4)
		return false;
	for (uint32_t i = 0; i < len; i++) {
		if (fast && i == 8 && len > 16)
			i = len - 8;
		if (e->data[i] != (uint8_t)(seq * 31 + i))
			return false;
	}
	return true;
}

static void
test_basic(void)
{
	struct rxring r;
	const struct rx_entry *e;

	CHECK(rxring_init(&r, 1000) == 0);
	CHECK_EQ_U(rxring_size(&r), RXRING_MIN);
	CHECK(rxring_peek(&r) == NULL);
	for (uint64_t s = 1; s <= 5; s++)
		CHECK(put_seq(&r, s));
	/* nothing is visible before publish */
	CHECK(rxring_peek(&r) == NULL);
	rxring_publish(&r);
	for (uint64_t s = 1; s <= 5; s++) {
		CHECK((e = rxring_peek(&r)) != NULL);
		CHECK(e && entry_is(e, s, false));
		/* peek without next returns the same entry */
		CHECK(rxring_peek(&r) == e);
		rxring_next(&r);
	}
	CHECK(rxring_peek(&r) == NULL);
	CHECK_EQ_U(rxring_used(&r), 0);
	/* the largest datagram fits, a larger one never does */
	CHECK(rxring_put(&r, scratch, 65535, &(struct parser_source){ 0 }));
	CHECK(!rxring_put(&r, scratch, 65536, &(struct parser_source){ 0 }));
	rxring_publish(&r);
	CHECK((e = rxring_peek(&r)) != NULL && e->len == 65535);
	rxring_next(&r);
	rxring_destroy(&r);
}

static bool
readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Filling without consuming stops short of the consumer, counts the
 * refusal, and goes on once the consumer made room. */
static void
test_full(void)
{
	struct rxring r;
	uint64_t put = 0, got = 0;
	const struct rx_entry *e;

	CHECK(rxring_init(&r, RXRING_MIN) == 0);
	while (put_seq(&r, put + 1))
		put++;
	rxring_publish(&r);
	CHECK(put > 100);
	CHECK_EQ_U(atomic_load(&r.full), 1);
	CHECK(atomic_load(&r.peak) > RXRING_MIN - 70000);
	CHECK(atomic_load(&r.peak) <= RXRING_MIN);
	/* still full from the producer's side */
	CHECK(!put_seq(&r, put + 1));
	CHECK_EQ_U(atomic_load(&r.full), 2);
	/* the producer arms its wake-up; nothing fires while it is full */
	CHECK(!rxring_wait_room(&r));
	CHECK(!readable(r.room_efd, 0));
	/* consume half, then the producer gets room again, wrapping; the
	 * first chunk the consumer frees wakes it, once */
	for (; got < put / 2; got++) {
		CHECK((e = rxring_peek(&r)) != NULL && entry_is(e, got + 1, false));
		rxring_next(&r);
	}
	CHECK(readable(r.room_efd, 0));
	rxring_room_woken(&r);
	CHECK(!readable(r.room_efd, 0));
	CHECK(rxring_wait_room(&r));
	CHECK(put_seq(&r, ++put));
	rxring_publish(&r);
	while ((e = rxring_peek(&r)) != NULL) {
		CHECK(entry_is(e, ++got, false));
		rxring_next(&r);
	}
	CHECK_EQ_U(got, put);
	rxring_destroy(&r);
}

/* One thread, interleaved: many times around a small ring, with the
 * producer ahead by a varying amount. */
static void
test_wraps(void)
{
	struct rxring r;
	uint64_t put = 0, got = 0, bad = 0;
	unsigned x = 12345;

	CHECK(rxring_init(&r, RXRING_MIN) == 0);
	while (put < 200000) {
		unsigned burst = (x = x * 1103515245 + 12345) >> 16 & 1023;
		const struct rx_entry *e;

		for (unsigned i = 0; i < burst && put_seq(&r, put + 1); i++)
			put++;
		rxring_publish(&r);
		burst = (x = x * 1103515245 + 12345) >> 16 & 1023;
		for (unsigned i = 0; i < burst && (e = rxring_peek(&r)); i++) {
			if (!entry_is(e, ++got, false))
				bad++;
			rxring_next(&r);
		}
	}
	for (const struct rx_entry *e; (e = rxring_peek(&r)) != NULL;) {
		if (!entry_is(e, ++got, false))
			bad++;
		rxring_next(&r);
	}
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(got, put);
	rxring_destroy(&r);
}

static size_t
chunks(struct rxring *r)
{
	return atomic_load(&r->nchunks);
}

/* A queue that keeps up lives in a chunk or two; a burst takes memory up
 * to the limit and gives back all but a few spare chunks once drained; a
 * lower limit stops new chunks until the consumer is under it. */
static void
test_memory(void)
{
	struct rxring r;
	uint64_t put = 0, got = 0, bytes = 0;
	const struct rx_entry *e;

	CHECK(rxring_init(&r, 32 * MIB) == 0);
	CHECK_EQ_U(rxring_size(&r), 32 * MIB);
	for (int i = 0; i < 50000; i++) {
		CHECK(put_seq(&r, ++put));
		rxring_publish(&r);
		CHECK((e = rxring_peek(&r)) != NULL && entry_is(e, ++got, true));
		rxring_next(&r);
	}
	CHECK(chunks(&r) <= 2);
	/* a burst of 20 MiB the consumer does not keep up with */
	while (rxring_used(&r) < 20 * MIB) {
		CHECK(put_seq(&r, ++put));
		rxring_publish(&r);
	}
	CHECK(chunks(&r) >= 20 * MIB / RXRING_CHUNK);
	CHECK(atomic_load(&r.peak) >= 20 * MIB);
	while ((e = rxring_peek(&r)) != NULL) {
		CHECK(entry_is(e, ++got, true));
		rxring_next(&r);
	}
	CHECK_EQ_U(rxring_used(&r), 0);
	/* kept for the next burst ... */
	CHECK(chunks(&r) >= 20 * MIB / RXRING_CHUNK);
	CHECK(!rxring_sleep(&r));
	CHECK(chunks(&r) >= 20 * MIB / RXRING_CHUNK);
	/* ... until a whole interval went by without needing them: the
	 * first trim after the burst sees them used, the next frees them */
	r.trimmed_ms -= 20000;
	CHECK(!rxring_sleep(&r));
	CHECK(chunks(&r) >= 20 * MIB / RXRING_CHUNK);
	r.trimmed_ms -= 20000;
	CHECK(!rxring_sleep(&r));
	CHECK(chunks(&r) <= RXRING_SPARE + 1);
	atomic_store(&r.sleeping, false);
	/* 8 MiB queued, then the limit drops to 2 MiB: what is queued
	 * stays, and at most the rest of the current chunk fits */
	while (rxring_used(&r) < 8 * MIB) {
		CHECK(put_seq(&r, ++put));
		rxring_publish(&r);
	}
	rxring_resize(&r, 2 * MIB);
	CHECK_EQ_U(rxring_size(&r), 2 * MIB);
	while (put_seq(&r, put + 1)) {
		bytes += len_of(++put);
		if (bytes > RXRING_CHUNK)
			break;
	}
	rxring_publish(&r);
	CHECK(bytes <= RXRING_CHUNK);
	while ((e = rxring_peek(&r)) != NULL) {
		CHECK(entry_is(e, ++got, true));
		rxring_next(&r);
	}
	CHECK_EQ_U(got, put);
	CHECK(chunks(&r) <= 2 * MIB / RXRING_CHUNK);
	CHECK(put_seq(&r, ++put));
	rxring_publish(&r);
	CHECK((e = rxring_peek(&r)) != NULL && entry_is(e, ++got, false));
	rxring_next(&r);
	rxring_destroy(&r);
}

static void
test_wake(void)
{
	struct rxring r;

	CHECK(rxring_init(&r, RXRING_MIN) == 0);
	/* an idle consumer starts asleep: the first publish wakes it */
	CHECK(put_seq(&r, 1));
	rxring_publish(&r);
	CHECK(readable(r.efd, 0));
	rxring_woken(&r);
	CHECK(!readable(r.efd, 0));
	/* awake (it has not slept again): no further wake-up */
	CHECK(put_seq(&r, 2));
	rxring_publish(&r);
	CHECK(!readable(r.efd, 0));
	/* it cannot sleep while data waits */
	CHECK(rxring_sleep(&r));
	for (int i = 0; i < 2; i++) {
		CHECK(rxring_peek(&r) != NULL);
		rxring_next(&r);
	}
	CHECK(!rxring_sleep(&r));
	/* asleep: the next publish wakes it, once */
	CHECK(put_seq(&r, 3));
	rxring_publish(&r);
	CHECK(put_seq(&r, 4));
	rxring_publish(&r);
	CHECK(readable(r.efd, 0));
	rxring_woken(&r);
	CHECK(!readable(r.efd, 0));
	/* a publish with nothing new wakes nobody */
	while (rxring_peek(&r) != NULL)
		rxring_next(&r);
	CHECK(!rxring_sleep(&r));
	rxring_publish(&r);
	CHECK(!readable(r.efd, 0));
	rxring_destroy(&r);
}

/* RXRING_STRESS=N runs fewer (the ThreadSanitizer pass of .ci/run,
 * where each access costs some 10 times more) */
static uint64_t stress_count = 3000000;

static uint64_t room_waits, room_timeouts;

/* Waits for room as the receive thread does; after a lost wake-up it
 * polls, to finish and report. */
static void
producer_wait(struct rxring *r)
{
	if (rxring_wait_room(r))
		return;
	room_waits++;
	if (!readable(r->room_efd, room_timeouts ? 1 : 5000))
		room_timeouts++;
	else
		rxring_room_woken(r);
}

static void *
producer(void *arg)
{
	struct rxring *r = arg;
	unsigned x = 777;

	for (uint64_t seq = 1; seq <= stress_count;) {
		unsigned burst = ((x = x * 1103515245 + 12345) >> 16 & 63) + 1;

		for (unsigned i = 0; i < burst && seq <= stress_count; i++) {
			if (!put_seq(r, seq)) {
				rxring_publish(r);
				producer_wait(r);
				break;
			}
			seq++;
		}
		rxring_publish(r);
	}
	return NULL;
}

/* Two threads as in the daemon; the consumer sleeps on the eventfd and
 * would time out on a lost wake-up. */
static void
test_threads(void)
{
	struct rxring r;
	pthread_t t;
	uint64_t got = 0, bad = 0, sleeps = 0, timeouts = 0;

	CHECK(rxring_init(&r, RXRING_MIN) == 0);
	CHECK(pthread_create(&t, NULL, producer, &r) == 0);
	while (got < stress_count) {
		const struct rx_entry *e = rxring_peek(&r);

		if (e == NULL) {
			if (rxring_sleep(&r))
				continue;
			sleeps++;
			/* after a lost wake-up, it polls, to finish and report */
			if (!readable(r.efd, timeouts ? 1 : 5000))
				timeouts++;
			else
				rxring_woken(&r);
			continue;
		}
		got++;
		if (!entry_is(e, got, got % 1000 != 0))
			bad++;
		rxring_next(&r);
	}
	pthread_join(t, NULL);
	CHECK_EQ_U(timeouts, 0);
	CHECK_EQ_U(room_timeouts, 0);
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(got, stress_count);
	CHECK(rxring_peek(&r) == NULL);
	CHECK(sleeps > 0);
	rxring_destroy(&r);
}

int
main(void)
{
	const char *n = getenv("RXRING_STRESS");

	if (n != NULL && strtoull(n, NULL, 10) > 0)
		stress_count = strtoull(n, NULL, 10);
	test_basic();
	test_full();
	test_wraps();
	test_memory();
	test_wake();
	test_threads();
	return test_result("test-rxring");
}
