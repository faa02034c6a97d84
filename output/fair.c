/*
 * Fair shedding: when the render queue backs up, those that send more
 * than their share lose their records first, not everyone, and a
 * spoofer cannot make the honest exporter the one that pays.
 *
 * Without it the queue fills and every record is dropped alike, so one
 * exporter with a 512-field template (each record costs the render
 * thread a hundred times a NetFlow v5 record) takes the records of every
 * other exporter down with its own. Here the loop charges each record's
 * packed size to its exporter and, beside it, to its group, in windows
 * of FAIR_WINDOW_MS:
 *
 * - a group is the exporters of one prefix (/24, /64 by default) that
 *   proved their address (a datagram continued an earlier one's sequence,
 *   or decoded data with an earlier one's template); all those that did
 *   not are one group, "unproven". Spoofed sources are free to multiply;
 *   groups are not: a flood spread over thousands of fresh addresses is
 *   one group.
 * - while the queue is backed up (at least two exporters sending), all
 *   may queue a budget a window: what the render thread took off the
 *   queue a window lately (its capacity), squeezed by a quarter each
 *   window the queue still grows above its mark;
 * - the group level is max-min fairness of that budget over the groups'
 *   demand in the last window: groups that asked less than the level
 *   keep all of it, the others get the level; within a prefix group
 *   above it, its exporters share the level max-min alike (not in the
 *   unproven class: its addresses mean nothing).
 *
 * A steady exporter whose group asks less than its share loses nothing,
 * however the excess of the others is spread; one above it loses exactly
 * what exceeds it, counted as "fair_share" and against it.
 *
 * The cost is a compare of the exporter's address with the previous
 * record's (records come in datagrams) and a few additions per record;
 * the tables are walked once a window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output-private.h"

/* a slot is taken by the key that hashed there first; when all
 * FAIR_PROBE slots of a key are taken by others that sent in this
 * window, it shares the least busy one (its records are then judged by
 * their sum: still bounded, at worst a little strict) */
#define FAIR_PROBE 8
/* blocks the queue may grow by in a window before the budget is
 * squeezed: what was packed before the level took effect, a marker */
#define FAIR_SLACK 2
#define SQUEEZE_FULL 16
#define SQUEEZE_MIN 2

void
fair_init(struct fair *f)
{
	memset(f, 0, sizeof(*f));
	f->window = INT64_MIN;
	f->prefix4 = FAIR_PREFIX4;
	f->prefix6 = FAIR_PREFIX6;
	for (size_t i = 0; i < FAIR_SLOTS; i++)
		f->slot[i].window = INT64_MIN;
	for (size_t i = 0; i < FAIR_GROUPS; i++)
		f->group[i].window = f->group[i].inner_window = INT64_MIN;
}

void
fair_set_prefix(struct fair *f, unsigned prefix4, unsigned prefix6)
{
	f->prefix4 = prefix4 > 32 ? 32 : prefix4;
	f->prefix6 = prefix6 > 128 ? 128 : prefix6;
}

static void
group_key(const struct fair *f, const struct parser_addr *addr,
    bool unproven, struct parser_addr *key)
{
	unsigned bits = addr->family == 4 ? f->prefix4 : f->prefix6;
	unsigned full = bits / 8, rest = bits % 8;

	memset(key, 0, sizeof(*key));
	if (unproven)
		return;
	key->family = addr->family;
	memcpy(key->bytes, addr->bytes, full);
	if (rest != 0 && full < 16)
		key->bytes[full] = (uint8_t)(addr->bytes[full] &
		    (0xff << (8 - rest)));
}

static struct fair_group *
group_of(struct fair *f, const struct parser_addr *key)
{
	size_t h = (size_t)parser_addr_hash(key, 1);
	struct fair_group *stale = NULL, *best = NULL;

	for (size_t i = 0; i < FAIR_PROBE; i++) {
		struct fair_group *g = &f->group[(h + i) & (FAIR_GROUPS - 1)];

		/* its own slot, also from an earlier window: it keeps the
		 * inner level the roll computed for it */
		if (g->window != INT64_MIN && parser_addr_equal(&g->key, key)) {
			if (g->window != f->window) {
				g->window = f->window;
				g->offered = g->queued = 0;
				g->members = 0;
			}
			return g;
		}
		if (g->window != f->window && stale == NULL)
			stale = g;
		if (best == NULL || g->offered < best->offered)
			best = g;
	}
	if (stale == NULL)
		return best;
	stale->key = *key;
	stale->window = f->window;
	stale->offered = stale->queued = 0;
	stale->members = 0;
	stale->inner_window = INT64_MIN;
	return stale;
}

/* The slot of addr in this window (its counts zeroed when it is the
 * first record of the window). */
static struct fair_slot *
slot_of(struct fair *f, const struct parser_addr *addr, bool unproven)
{
	size_t h = (size_t)parser_addr_hash(addr, unproven);
	struct fair_slot *best = NULL;
	struct parser_addr key;

	for (size_t i = 0; i < FAIR_PROBE; i++) {
		struct fair_slot *s = &f->slot[(h + i) & (FAIR_SLOTS - 1)];

		if (s->window == f->window && s->unproven == unproven &&
		    parser_addr_equal(&s->addr, addr))
			return s;
		if (s->window != f->window) {
			/* free or stale: reuse it */
			s->addr = *addr;
			s->unproven = unproven;
			s->window = f->window;
			s->offered = s->queued = 0;
			group_key(f, addr, unproven, &key);
			s->group = group_of(f, &key);
			s->group->members++;
			f->active++;
			return s;
		}
		if (best == NULL || s->offered < best->offered)
			best = s;
	}
	return best;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Max-min: the level at which min(d[i], level) adds up to budget, for
 * n demands sorted ascending; at least the largest demand when all fit. */
static uint64_t
water_level(const uint64_t *d, size_t n, uint64_t budget)
{
	uint64_t left = budget;

	for (size_t i = 0; i < n; i++) {
		uint64_t share = left / (n - i);

		if (d[i] > share)
			return share;
		left -= d[i];
	}
	return n ? d[n - 1] + left : budget;
}

static int
cmp_member(const void *a, const void *b)
{
	const struct fair_member *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->offered < y->offered ? -1 : x->offered > y->offered;
}

/* The levels of the window after old from the demand seen in old. */
static void
levels(struct fair *f, int64_t old, int64_t now)
{
	size_t n = 0, m = 0;

	for (size_t i = 0; i < FAIR_GROUPS; i++)
		if (f->group[i].window == old && f->group[i].offered > 0)
			f->demand[n++] = f->group[i].offered;
	qsort(f->demand, n, sizeof(f->demand[0]), cmp_u64);
	f->level = water_level(f->demand, n, f->budget);
	/* within each group above the level, its exporters alike */
	for (size_t i = 0; i < FAIR_SLOTS; i++) {
		const struct fair_slot *s = &f->slot[i];

		if (s->window != old || s->offered == 0 ||
		    s->group->window != old || s->group->offered <= f->level ||
		    s->group->members < 2 || s->group->key.family == 0)
			continue;
		f->member[m].group = (uint32_t)(s->group - f->group);
		f->member[m++].offered = s->offered;
	}
	qsort(f->member, m, sizeof(f->member[0]), cmp_member);
	for (size_t i = 0; i < m;) {
		size_t j = i;
		uint64_t left = f->level;
		struct fair_group *g = &f->group[f->member[i].group];

		while (j < m && f->member[j].group == f->member[i].group)
			j++;
		/* water_level over the run, without copying it */
		g->inner = 0;
		for (size_t q = i; q < j; q++) {
			uint64_t share = left / (j - q);

			if (f->member[q].offered > share) {
				g->inner = share;
				break;
			}
			left -= f->member[q].offered;
		}
		g->inner_window = g->inner ? now : INT64_MIN;
		i = j;
	}
}

void
fair_roll(struct fair *f, int64_t ms, size_t depth, size_t max,
    uint64_t drained)
{
	bool two = f->active >= 2;
	int64_t old = f->window, now = ms / FAIR_WINDOW_MS;
	uint64_t demand = 0;

	/* what the render thread took off the queue a window, on average
	 * over the last few (blocks leave it whole: one window alone says
	 * little) */
	if (f->drained_set && drained >= f->drained && now > old) {
		uint64_t per = (drained - f->drained) / (uint64_t)(now - old);

		f->rate = f->rate == 0 ? per : f->rate - f->rate / 4 + per / 4;
	}
	f->drained = drained;
	f->drained_set = true;
	for (size_t i = 0; i < FAIR_GROUPS; i++)
		if (f->group[i].window == old)
			demand += f->group[i].offered;
	f->window = now;
	f->prev_active = f->active;
	f->active = 0;
	f->last = NULL;
	if (depth >= max * 3 / 4 && two) {
		/* backed up: all may queue what the queue drains; while it
		 * still grows, a quarter less each window */
		if (f->budget == 0)
			f->squeeze = SQUEEZE_FULL;
		else if (depth > f->depth + FAIR_SLACK)
			f->squeeze -= f->squeeze / 4;
		else if (depth <= f->depth && f->squeeze < SQUEEZE_FULL)
			f->squeeze++;
		if (f->squeeze < SQUEEZE_MIN)
			f->squeeze = SQUEEZE_MIN;
		f->budget = f->rate * f->squeeze / SQUEEZE_FULL;
		if (f->budget < FAIR_MIN_CAP)
			f->budget = FAIR_MIN_CAP;
	} else if (f->budget != 0 && depth < max * 3 / 4) {
		/* below the mark and not growing: a little more for all,
		 * no limit once it limits no one */
		if (depth <= f->depth)
			f->budget += f->budget / 4;
		if (f->budget > demand)
			f->budget = 0;
	}
	f->depth = depth;
	if (f->budget != 0)
		levels(f, old, now);
}

bool
fair_window(const struct fair *f, int64_t ms)
{
	int64_t w = ms / FAIR_WINDOW_MS;

	/* windows only go forward: a time from before (data held for its
	 * template, released late with the time of its own datagram) rolling
	 * the window back and forth would restart the counts and cut the
	 * level at every roll; only a step back of the wall clock larger than
	 * any such delay starts over */
	return w > f->window || w < f->window - FAIR_STEP_BACK_MS / FAIR_WINDOW_MS;
}

bool
fair_admit(struct fair *f, const struct parser_addr *addr, bool unproven,
    size_t size)
{
	struct fair_slot *s = f->last;
	struct fair_group *g;

	if (s == NULL || s->unproven != unproven ||
	    !parser_addr_equal(&s->addr, addr))
		f->last = s = slot_of(f, addr, unproven);
	g = s->group;
	s->offered += size;
	g->offered += size;
	if (f->budget != 0 && (f->active >= 2 || f->prev_active >= 2)) {
		if (g->queued + size > f->level)
			return false;
		if (g->inner_window == f->window && s->queued + size > g->inner)
			return false;
	}
	s->queued += size;
	g->queued += size;
	return true;
}

void
fair_group_text(const struct fair *f, char *buf, size_t len)
{
	const struct fair_group *g = f->last ? f->last->group : NULL;
	const uint8_t *b;

	if (g == NULL || g->key.family == 0) {
		snprintf(buf, len, "unproven");
		return;
	}
	b = g->key.bytes;
	if (g->key.family == 4) {
		snprintf(buf, len, "%u.%u.%u.%u/%u", b[0], b[1], b[2], b[3],
		    f->prefix4);
		return;
	}
	snprintf(buf, len, "%x:%x:%x:%x:%x:%x:%x:%x/%u",
	    b[0] << 8 | b[1], b[2] << 8 | b[3], b[4] << 8 | b[5],
	    b[6] << 8 | b[7], b[8] << 8 | b[9], b[10] << 8 | b[11],
	    b[12] << 8 | b[13], b[14] << 8 | b[15], f->prefix6);
}
