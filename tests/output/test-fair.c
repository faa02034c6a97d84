/*
 * output/fair.c: who loses records when the render queue backs up.
 * Windows are driven by hand: each "window" below offers every
 * exporter's records in interleaved datagrams, then rolls with the queue
 * depth the scenario says.
 */
#include <string.h>

#include "output-private.h"
#include "test.h"

#define MAX OUTPUT_BLOCKS_MAX
#define HIGH (MAX * 3 / 4)

struct exporter {
	struct parser_addr addr;
	size_t record;           /* packed bytes of one record */
	unsigned per_window;     /* records offered a window */
	unsigned per_datagram;
	uint64_t offered, shed;  /* this window */
	uint64_t total_shed;
};

static void
exporter(struct exporter *e, int family, uint8_t last, size_t record,
    unsigned per_window, unsigned per_datagram)
{
	memset(e, 0, sizeof(*e));
	e->addr.family = (uint8_t)family;
	if (family == 4) {
		e->addr.bytes[0] = 10;
		e->addr.bytes[3] = last;
	} else {
		e->addr.bytes[0] = 0x20;
		e->addr.bytes[15] = last;
	}
	e->record = record;
	e->per_window = per_window;
	e->per_datagram = per_datagram;
}

/* One window at ms: rolls (the queue at depth), then the exporters'
 * datagrams in turn until each offered its records. */
static void
window(struct fair *f, int64_t ms, size_t depth, struct exporter *e, size_t n)
{
	bool more = true;

	CHECK(fair_window(f, ms));
	fair_roll(f, ms, depth, MAX);
	for (size_t i = 0; i < n; i++)
		e[i].offered = e[i].shed = 0;
	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			for (unsigned k = 0; k < e[i].per_datagram &&
			    e[i].offered < e[i].per_window; k++) {
				e[i].offered++;
				if (!fair_admit(f, &e[i].addr, e[i].record)) {
					e[i].shed++;
					e[i].total_shed++;
				}
			}
			if (e[i].offered < e[i].per_window)
				more = true;
		}
	}
}

/* A wide-template exporter (17 KB a record, 123 a datagram) next to a
 * NetFlow v5 one (300 bytes, 30 a datagram): while the queue is backed
 * up and still growing, the wide one loses records, the other none; once
 * the queue is short again the limit lifts. */
static void
test_wide_next_to_normal(void)
{
	static struct fair f;
	struct exporter e[2];
	int64_t ms = 1714564800000LL;
	uint64_t normal_level = 3000ull * 300 + 3000ull * 300 / 4;

	fair_init(&f);
	exporter(&e[0], 4, 1, 17 * 1024, 20 * 123, 123);
	exporter(&e[1], 6, 2, 300, 3000, 30);
	/* queue short: nobody loses anything */
	for (int i = 0; i < 5; i++, ms += FAIR_WINDOW_MS)
		window(&f, ms, 3, e, 2);
	CHECK_EQ_U(e[0].total_shed, 0);
	CHECK_EQ_U(e[1].total_shed, 0);
	CHECK_EQ_U(f.cap, 0);
	/* backed up: the wide one is cut down to a quarter above the
	 * normal one's level */
	window(&f, ms, HIGH, e, 2);
	ms += FAIR_WINDOW_MS;
	CHECK_EQ_U(f.cap, normal_level);
	CHECK_EQ_U(e[1].shed, 0);
	CHECK_EQ_U(e[0].offered - e[0].shed, normal_level / e[0].record);
	/* still growing: lower, but never below the floor */
	for (size_t d = HIGH + 1; d < MAX; d += 4, ms += FAIR_WINDOW_MS)
		window(&f, ms, d, e, 2);
	CHECK(f.cap >= FAIR_MIN_CAP);
	CHECK(f.cap < normal_level);
	CHECK(e[0].shed > 0);
	/* (the normal one is now above a level below its demand: it loses
	 * what exceeds it, and no more) */
	CHECK_EQ_U(e[1].offered - e[1].shed,
	    e[1].shed ? f.cap / e[1].record : e[1].offered);
	/* holding steady: the level stays */
	{
		uint64_t cap = f.cap;

		window(&f, ms, MAX - 1, e, 2);
		ms += FAIR_WINDOW_MS;
		window(&f, ms, MAX - 1, e, 2);
		ms += FAIR_WINDOW_MS;
		CHECK_EQ_U(f.cap, cap);
	}
	/* short again (below the mark, not growing): the level rises a
	 * quarter a window, then lifts */
	for (int i = 0; i < 40 && f.cap != 0; i++, ms += FAIR_WINDOW_MS)
		window(&f, ms, 1, e, 2);
	CHECK_EQ_U(f.cap, 0);
	window(&f, ms, 1, e, 2);
	ms += FAIR_WINDOW_MS;
	CHECK_EQ_U(e[0].shed, 0);
	CHECK_EQ_U(e[1].shed, 0);
}

/* One exporter alone is never shed (it would only lose earlier what the
 * full queue drops anyway: nobody to protect). */
static void
test_single_exporter(void)
{
	static struct fair f;
	struct exporter e[1];
	int64_t ms = 1714564800000LL;

	fair_init(&f);
	exporter(&e[0], 4, 1, 17 * 1024, 20 * 123, 123);
	for (size_t d = HIGH; d < MAX; d++, ms += FAIR_WINDOW_MS)
		window(&f, ms, d, e, 1);
	CHECK_EQ_U(e[0].total_shed, 0);
}

/* Equal exporters share alike: the level cuts them evenly. */
static void
test_equal_exporters(void)
{
	static struct fair f;
	struct exporter e[4];
	int64_t ms = 1714564800000LL;

	fair_init(&f);
	for (int i = 0; i < 4; i++)
		exporter(&e[i], 4, (uint8_t)(i + 1), 1000, 1000, 50);
	window(&f, ms, 0, e, 4);
	ms += FAIR_WINDOW_MS;
	for (size_t d = HIGH; d < HIGH + 36; d += 3, ms += FAIR_WINDOW_MS)
		window(&f, ms, d, e, 4);
	CHECK(e[0].shed > 0);
	for (int i = 1; i < 4; i++)
		CHECK_EQ_U(e[i].shed, e[0].shed);
}

/* Many exporters (more than the table has slots) are still all judged,
 * and those that send little lose nothing next to a large one. */
static void
test_many_exporters(void)
{
	static struct fair f;
	static struct exporter e[FAIR_SLOTS + 100];
	size_t n = sizeof(e) / sizeof(e[0]);
	int64_t ms = 1714564800000LL;
	uint64_t small_shed = 0;

	fair_init(&f);
	exporter(&e[0], 4, 1, 17 * 1024, 2000, 100);
	for (size_t i = 1; i < n; i++) {
		exporter(&e[i], 6, 0, 300, 10, 10);
		e[i].addr.bytes[13] = (uint8_t)(i >> 8);
		e[i].addr.bytes[14] = (uint8_t)i;
	}
	window(&f, ms, 0, e, n);
	ms += FAIR_WINDOW_MS;
	for (int w = 0; w < 3; w++, ms += FAIR_WINDOW_MS)
		window(&f, ms, HIGH + (size_t)w, e, n);
	CHECK(e[0].total_shed > 0);
	for (size_t i = 1; i < n; i++)
		small_shed += e[i].total_shed;
	CHECK_EQ_U(small_shed, 0);
}

/*
 * Issue 19 item 6: data held for its template and released late, next to
 * a steady exporter, while the queue is backed up. The held records carry
 * the time of their own datagram, 30 s old; output_write used to take
 * each record's time for the window, so every held record rolled the
 * window back and the next steady record forward again: the counts
 * restarted at every roll, the level limited nobody for long, and the
 * exporter above its share was not held to it. Windows go forward only
 * (and output_write passes the loop's clock): in the backed-up window the
 * wide exporter queues exactly the level, the steady one, within its
 * share, loses nothing.
 */
static void
test_held_release_next_to_steady(void)
{
	static struct fair f;
	struct exporter e[2], held;
	int64_t ms = 1714564800000LL;
	uint64_t level = 300ull * 300 + 300ull * 300 / 4;
	bool more = true;

	fair_init(&f);
	/* a wide exporter above its share, a steady v5 one below */
	exporter(&e[0], 4, 1, 17 * 1024, 20 * 123, 123);
	exporter(&e[1], 6, 2, 300, 300, 30);
	exporter(&held, 4, 3, 300, 0, 0);
	window(&f, ms, 3, e, 2);
	ms += FAIR_WINDOW_MS;
	/* backed up: the window as output_write drives it, record by record */
	CHECK(fair_window(&f, ms));
	fair_roll(&f, ms, HIGH, MAX);
	for (int i = 0; i < 2; i++)
		e[i].offered = e[i].shed = 0;
	while (more) {
		more = false;
		for (int i = 0; i < 2; i++) {
			for (unsigned k = 0; k < e[i].per_datagram &&
			    e[i].offered < e[i].per_window; k++) {
				e[i].offered++;
				if (fair_window(&f, ms))
					fair_roll(&f, ms, HIGH, MAX);
				if (!fair_admit(&f, &e[i].addr, e[i].record))
					e[i].shed++;
			}
			if (e[i].offered < e[i].per_window)
				more = true;
		}
		/* a held record released after its template, with its own
		 * datagram's time: it starts no window */
		CHECK(!fair_window(&f, ms - 30000));
		if (fair_window(&f, ms - 30000))
			fair_roll(&f, ms - 30000, HIGH, MAX);
		fair_admit(&f, &held.addr, held.record);
	}
	CHECK_EQ_U(f.cap, level);
	CHECK_EQ_U(e[1].shed, 0);
	CHECK_EQ_U(e[0].offered - e[0].shed, level / e[0].record);
	/* a step back of the wall clock larger than any hold starts over */
	CHECK(fair_window(&f, ms - FAIR_STEP_BACK_MS - FAIR_WINDOW_MS));
}

int
main(void)
{
	test_held_release_next_to_steady();
	test_wide_next_to_normal();
	test_single_exporter();
	test_equal_exporters();
	test_many_exporters();
	return test_result("output-fair");
}
