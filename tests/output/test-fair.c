/*
 * output/fair.c: who loses records when the render queue backs up.
 * Windows are driven by hand: each "window" below offers every
 * exporter's records in interleaved datagrams, then rolls with the queue
 * depth and the bytes the render thread took that the scenario says.
 */
#include <string.h>

#include "output-private.h"
#include "test.h"

#define MAX OUTPUT_BLOCKS_MAX
#define HIGH (MAX * 3 / 4)

struct exporter {
	struct parser_addr addr;
	bool unproven;
	size_t record;           /* packed bytes of one record */
	unsigned per_window;     /* records offered a window */
	unsigned per_datagram;
	uint64_t offered, shed;  /* this window */
	uint64_t total_offered, total_shed;
};

static uint64_t drained;     /* what the render thread took, so far */

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

/* A spoofed source: 127.x.y.z of i, never proven. */
static void
spoofer(struct exporter *e, size_t i, unsigned per_window)
{
	exporter(e, 4, 0, 300, per_window, 30);
	e->addr.bytes[0] = 127;
	e->addr.bytes[1] = (uint8_t)(i >> 16);
	e->addr.bytes[2] = (uint8_t)(i >> 8);
	e->addr.bytes[3] = (uint8_t)i;
	e->unproven = true;
}

/* One window at ms: rolls (the queue at depth, cap bytes taken off it
 * since the last), then the exporters' datagrams in turn until each
 * offered its records. */
static void
window_cap(struct fair *f, int64_t ms, size_t depth, uint64_t cap,
    struct exporter *e, size_t n)
{
	bool more = true;

	CHECK(fair_window(f, ms));
	drained += cap;
	fair_roll(f, ms, depth, MAX, drained);
	for (size_t i = 0; i < n; i++)
		e[i].offered = e[i].shed = 0;
	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			for (unsigned k = 0; k < e[i].per_datagram &&
			    e[i].offered < e[i].per_window; k++) {
				e[i].offered++;
				e[i].total_offered++;
				if (!fair_admit(f, &e[i].addr, e[i].unproven,
				    e[i].record)) {
					e[i].shed++;
					e[i].total_shed++;
				}
			}
			if (e[i].offered < e[i].per_window)
				more = true;
		}
	}
}

/* 2 MB a window taken off the queue */
#define CAP ((uint64_t)2 << 20)

static void
window(struct fair *f, int64_t ms, size_t depth, struct exporter *e, size_t n)
{
	window_cap(f, ms, depth, CAP, e, n);
}

static uint64_t
queued(const struct exporter *e, size_t from, size_t to)
{
	uint64_t sum = 0;

	for (size_t i = from; i < to; i++)
		sum += (e[i].offered - e[i].shed) * e[i].record;
	return sum;
}

/* A wide-template exporter (17 KB a record, 123 a datagram) next to a
 * NetFlow v5 one (300 bytes, 30 a datagram): while the queue is backed
 * up, the wide one loses records, the other none; all queue the queue's
 * capacity; once the queue is short again the limit lifts. */
static void
test_wide_next_to_normal(void)
{
	static struct fair f;
	struct exporter e[2];
	int64_t ms = 1714564800000LL;

	fair_init(&f);
	exporter(&e[0], 4, 1, 17 * 1024, 20 * 123, 123);
	exporter(&e[1], 6, 2, 300, 3000, 30);
	/* queue short: nobody loses anything */
	for (int i = 0; i < 5; i++, ms += FAIR_WINDOW_MS)
		window(&f, ms, 3, e, 2);
	CHECK_EQ_U(e[0].total_shed, 0);
	CHECK_EQ_U(e[1].total_shed, 0);
	CHECK_EQ_U(f.budget, 0);
	/* backed up: the budget is what the queue drains, the wide one
	 * gets what the normal one leaves */
	for (int i = 0; i < 5; i++, ms += FAIR_WINDOW_MS) {
		window(&f, ms, HIGH, e, 2);
		CHECK_EQ_U(f.budget, CAP);
		CHECK_EQ_U(f.level, CAP - 3000 * 300);
		CHECK_EQ_U(e[1].shed, 0);
		CHECK_EQ_U(e[0].offered - e[0].shed, f.level / e[0].record);
		CHECK(queued(e, 0, 2) <= CAP);
	}
	/* still growing: squeezed, never below the floor */
	for (size_t d = HIGH + 3; d < MAX; d += 4, ms += FAIR_WINDOW_MS)
		window(&f, ms, d, e, 2);
	CHECK(f.budget >= FAIR_MIN_CAP);
	CHECK(f.budget < CAP);
	CHECK(e[0].shed > 0);
	/* (the normal one, if its share fell below its demand, loses what
	 * exceeds it, and no more) */
	CHECK_EQ_U(e[1].offered - e[1].shed,
	    e[1].shed ? f.level / e[1].record : e[1].offered);
	/* short again (below the mark, not growing): the budget rises a
	 * quarter a window, then lifts */
	for (int i = 0; i < 60 && f.budget != 0; i++, ms += FAIR_WINDOW_MS)
		window(&f, ms, 1, e, 2);
	CHECK_EQ_U(f.budget, 0);
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

/* Equal exporters share alike: in one prefix (one group, shared among
 * its exporters) and in four. */
static void
test_equal_exporters(void)
{
	for (int spread = 0; spread < 2; spread++) {
		static struct fair f;
		struct exporter e[4];
		int64_t ms = 1714564800000LL;

		fair_init(&f);
		for (int i = 0; i < 4; i++) {
			exporter(&e[i], 4, (uint8_t)(i + 1), 1000, 1000, 50);
			if (spread)
				e[i].addr.bytes[2] = (uint8_t)i;
		}
		window(&f, ms, 0, e, 4);
		ms += FAIR_WINDOW_MS;
		for (int w = 0; w < 5; w++, ms += FAIR_WINDOW_MS) {
			window(&f, ms, HIGH, e, 4);
			for (int i = 0; i < 4; i++)
				CHECK_EQ_U(e[i].offered - e[i].shed,
				    CAP / 4 / 1000);
		}
	}
}

/* Many exporters (more than the tables have slots) are still all judged,
 * and those that send little lose nothing next to a large one. (In one
 * prefix they would be one group: its share is then the large one's.) */
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
		/* each in a /64 of its own (more than the group table
		 * has slots, too) */
		e[i].addr.bytes[6] = (uint8_t)(i >> 8);
		e[i].addr.bytes[7] = (uint8_t)i;
	}
	window_cap(&f, ms, 0, (uint64_t)20 << 20, e, n);
	ms += FAIR_WINDOW_MS;
	for (int w = 0; w < 3; w++, ms += FAIR_WINDOW_MS)
		window_cap(&f, ms, HIGH, (uint64_t)20 << 20, e, n);
	CHECK(e[0].total_shed > 0);
	for (size_t i = 1; i < n; i++)
		small_shed += e[i].total_shed;
	CHECK_EQ_U(small_shed, 0);
}

/*
 * Issue 24: an honest NetFlow v5 router (2,900 records/s, 290 a window,
 * its address proven) beside an attacker sending 60,000 records/s from
 * n spoofed sources, each never proven, evenly or unevenly spread, into
 * an output that takes 1,700 records a window. The old rule (a quarter
 * above the second largest exporter) shed the router alone: it was the
 * largest single sender. Now the spoofers are one group: the router,
 * within its share, loses nothing; the attack loses what exceeds the
 * rest of the capacity.
 */
static void
attack(size_t n, bool uneven)
{
	static struct fair f;
	static struct exporter e[5001];
	int64_t ms = 1714564800000LL;
	uint64_t cap = 1700 * 300, attack_shed = 0;
	unsigned left = 6000;

	fair_init(&f);
	exporter(&e[0], 4, 1, 300, 290, 29);
	for (size_t i = 1; i <= n; i++) {
		/* uneven: the first sources send 20 times as much */
		unsigned per = uneven && i <= n / 20 ? 6000 / (unsigned)n * 10 :
		    uneven ? (6000 - 6000 / (unsigned)n * 10 * (unsigned)(n / 20)) /
		    (unsigned)(n - n / 20) : 6000 / (unsigned)n;

		if (per == 0)
			per = 1;
		spoofer(&e[i], i, per);
		left -= per < left ? per : left;
	}
	window_cap(&f, ms, 3, cap, e, n + 1);
	ms += FAIR_WINDOW_MS;
	for (int w = 0; w < 50; w++, ms += FAIR_WINDOW_MS) {
		window_cap(&f, ms, HIGH, cap, e, n + 1);
		CHECK_EQ_U(e[0].shed, 0);
		CHECK(queued(e, 0, n + 1) <= cap + 300);
		CHECK(queued(e, 1, n + 1) + 300 > cap - 290 * 300);
	}
	for (size_t i = 1; i <= n; i++)
		attack_shed += e[i].total_shed;
	CHECK_EQ_U(e[0].total_shed, 0);
	CHECK(attack_shed > 0);
	CHECK_EQ_U(f.level, cap - 290 * 300);
}

static void
test_spoofed_attack(void)
{
	attack(500, false);
	attack(500, true);
	attack(5000, false);
	attack(5000, true);
}

/* The router bursts to five times its rate for one window: it loses
 * exactly what exceeds its share, in that window only. */
static void
test_honest_burst(void)
{
	static struct fair f;
	static struct exporter e[501];
	int64_t ms = 1714564800000LL;
	uint64_t cap = 1700 * 300, level;

	fair_init(&f);
	exporter(&e[0], 4, 1, 300, 290, 29);
	for (size_t i = 1; i <= 500; i++)
		spoofer(&e[i], i, 12);
	window_cap(&f, ms, 3, cap, e, 501);
	ms += FAIR_WINDOW_MS;
	for (int w = 0; w < 5; w++, ms += FAIR_WINDOW_MS) {
		window_cap(&f, ms, HIGH, cap, e, 501);
		CHECK_EQ_U(e[0].shed, 0);
	}
	e[0].per_window = 290 * 5;
	window_cap(&f, ms, HIGH, cap, e, 501);
	ms += FAIR_WINDOW_MS;
	level = cap - 290 * 300;
	CHECK_EQ_U(f.level, level);
	CHECK_EQ_U(e[0].shed, 290 * 5 - level / 300);
	CHECK_EQ_U(e[0].total_shed, e[0].shed);
	/* back to its rate: its share is computed from the burst's demand
	 * now (max-min), it loses nothing */
	e[0].per_window = 290;
	for (int w = 0; w < 5; w++, ms += FAIR_WINDOW_MS) {
		window_cap(&f, ms, HIGH, cap, e, 501);
		CHECK_EQ_U(e[0].shed, 0);
	}
	CHECK_EQ_U(e[0].total_shed, 290 * 5 - level / 300);
}

/* Groups are prefixes: spoofers that proved themselves inside one /24
 * are one group, beside the router in another. */
static void
test_proven_prefix(void)
{
	static struct fair f;
	static struct exporter e[501];
	int64_t ms = 1714564800000LL;
	uint64_t cap = 1700 * 300;
	char text[64];

	fair_init(&f);
	exporter(&e[0], 4, 1, 300, 290, 29);
	for (size_t i = 1; i <= 500; i++) {
		spoofer(&e[i], i, 12);
		e[i].unproven = false;
		e[i].addr.bytes[1] = e[i].addr.bytes[2] = 0;
		e[i].addr.bytes[3] = (uint8_t)i;
		e[i].addr.bytes[2] = (uint8_t)(i & 1);   /* two /24s */
	}
	window_cap(&f, ms, 3, cap, e, 501);
	ms += FAIR_WINDOW_MS;
	for (int w = 0; w < 5; w++, ms += FAIR_WINDOW_MS) {
		window_cap(&f, ms, HIGH, cap, e, 501);
		CHECK_EQ_U(e[0].shed, 0);
	}
	CHECK_EQ_U(f.level, (cap - 290 * 300) / 2);
	fair_group_text(&f, text, sizeof(text));
	fair_admit(&f, &e[2].addr, false, 300);
	fair_group_text(&f, text, sizeof(text));
	CHECK_STR(text, "127.0.0.0/24");
	/* prefixes are configurable: /16 makes the spoofers one group */
	fair_set_prefix(&f, 16, 48);
	for (int w = 0; w < 5; w++, ms += FAIR_WINDOW_MS)
		window_cap(&f, ms, HIGH, cap, e, 501);
	CHECK_EQ_U(f.level, cap - 290 * 300);
	fair_admit(&f, &e[0].addr, false, 300);
	fair_group_text(&f, text, sizeof(text));
	CHECK_STR(text, "10.0.0.0/16");
	fair_admit(&f, &e[0].addr, true, 300);
	fair_group_text(&f, text, sizeof(text));
	CHECK_STR(text, "unproven");
}

/*
 * Issue 19 item 6: data held for its template and released late, next to
 * a steady exporter, while the queue is backed up. The held records carry
 * the time of their own datagram, 30 s old: they start no window.
 */
static void
test_held_release_next_to_steady(void)
{
	static struct fair f;
	struct exporter e[2], held;
	int64_t ms = 1714564800000LL;
	bool more = true;

	fair_init(&f);
	exporter(&e[0], 4, 1, 17 * 1024, 20 * 123, 123);
	exporter(&e[1], 6, 2, 300, 300, 30);
	exporter(&held, 4, 3, 300, 0, 0);
	window(&f, ms, 3, e, 2);
	ms += FAIR_WINDOW_MS;
	CHECK(fair_window(&f, ms));
	drained += CAP;
	fair_roll(&f, ms, HIGH, MAX, drained);
	for (int i = 0; i < 2; i++)
		e[i].offered = e[i].shed = 0;
	while (more) {
		more = false;
		for (int i = 0; i < 2; i++) {
			for (unsigned k = 0; k < e[i].per_datagram &&
			    e[i].offered < e[i].per_window; k++) {
				e[i].offered++;
				if (fair_window(&f, ms))
					fair_roll(&f, ms, HIGH, MAX, drained);
				if (!fair_admit(&f, &e[i].addr, false, e[i].record))
					e[i].shed++;
			}
			if (e[i].offered < e[i].per_window)
				more = true;
		}
		CHECK(!fair_window(&f, ms - 30000));
		if (fair_window(&f, ms - 30000))
			fair_roll(&f, ms - 30000, HIGH, MAX, drained);
		fair_admit(&f, &held.addr, false, held.record);
	}
	CHECK_EQ_U(e[1].shed, 0);
	CHECK(e[0].shed > 0);
	CHECK_EQ_U(e[0].offered - e[0].shed, f.level / e[0].record);
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
	test_spoofed_attack();
	test_honest_burst();
	test_proven_prefix();
	return test_result("output-fair");
}
