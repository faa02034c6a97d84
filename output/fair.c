/*
 * Fair shedding: when the render queue backs up, the exporter that sends
 * more than the others loses its records first, not everyone.
 *
 * Without it the queue fills and every record is dropped alike, so one
 * exporter with a 512-field template (each record costs the render
 * thread a hundred times a NetFlow v5 record) takes the records of every
 * other exporter down with its own. Here the loop charges each record's
 * packed size to its exporter in windows of FAIR_WINDOW_MS. While the
 * queue is backed up (and at least two exporters send), an exporter may
 * queue at most `cap` bytes a window: max-min fairness by water level.
 * The level starts a quarter above the second largest exporter's recent
 * demand (the largest is cut down to the next one), is lowered by a
 * quarter each window the queue still grows above its mark, raised by a
 * quarter each window it is below the mark and not growing, and lifted
 * altogether once it limits no one.
 * An exporter below the level loses nothing; the one above it loses
 * exactly what exceeds it, counted as "fair_share" and against it.
 *
 * The cost is a compare of the exporter's address with the previous
 * record's (records come in datagrams) and a few additions per record;
 * the table is looked at once a window.
 */
#include <string.h>

#include "output-private.h"

/* a slot is taken by the exporter that hashed there first; when all
 * FAIR_PROBE slots of an address are taken by others that sent in this
 * window, it shares the least busy one (its records are then judged by
 * their sum: still bounded, at worst a little strict) */
#define FAIR_PROBE 8
/* blocks the queue may grow by in a window before the level is lowered:
 * what was packed before the level took effect, a marker or two */
#define FAIR_SLACK 2

void
fair_init(struct fair *f)
{
	memset(f, 0, sizeof(*f));
	f->window = INT64_MIN;
}

/* The slot of addr in this window (its counts zeroed when it is the
 * first record of the window). */
static struct fair_slot *
slot_of(struct fair *f, const struct parser_addr *addr)
{
	size_t h = (size_t)parser_addr_hash(addr, 0);
	struct fair_slot *best = NULL;

	for (size_t i = 0; i < FAIR_PROBE; i++) {
		struct fair_slot *s = &f->slot[(h + i) & (FAIR_SLOTS - 1)];

		if (s->window == f->window && parser_addr_equal(&s->addr, addr))
			return s;
		if (s->window != f->window) {
			/* free or stale: reuse it */
			s->addr = *addr;
			s->window = f->window;
			s->offered = s->queued = 0;
			f->active++;
			return s;
		}
		if (best == NULL || s->offered < best->offered)
			best = s;
	}
	return best;
}

void
fair_roll(struct fair *f, int64_t ms, size_t depth, size_t max)
{
	bool two = f->active >= 2;
	uint64_t top1 = f->top1;

	/* the second largest demand of the last windows, decaying by an
	 * eighth a window: one window in which a steady exporter's datagrams
	 * came late does not make its demand look smaller */
	f->second -= f->second / 8;
	if (f->top2 > f->second)
		f->second = f->top2;
	f->window = ms / FAIR_WINDOW_MS;
	f->prev_active = f->active;
	f->active = 0;
	f->top1 = f->top2 = 0;
	f->top1_slot = NULL;
	f->last = NULL;
	if (depth >= max * 3 / 4 && two) {
		/* backed up: the largest exporter is cut down to a little
		 * above the next one; while the queue still grows, everyone
		 * a little more */
		if (f->cap == 0)
			f->cap = f->second + f->second / 4;
		else if (depth > f->depth + FAIR_SLACK)
			f->cap -= f->cap / 4;
		if (f->cap < FAIR_MIN_CAP)
			f->cap = FAIR_MIN_CAP;
	} else if (f->cap != 0 && depth < max * 3 / 4) {
		/* below the mark and not growing: a little more for all,
		 * no limit once it limits no one */
		if (depth <= f->depth)
			f->cap += f->cap / 4;
		if (f->cap > top1)
			f->cap = 0;
	}
	f->depth = depth;
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
fair_admit(struct fair *f, const struct parser_addr *addr, size_t size)
{
	struct fair_slot *s = f->last;

	if (s == NULL || !parser_addr_equal(&s->addr, addr))
		f->last = s = slot_of(f, addr);
	s->offered += size;
	if (s == f->top1_slot)
		f->top1 = s->offered;
	else if (s->offered > f->top1) {
		f->top2 = f->top1;
		f->top1 = s->offered;
		f->top1_slot = s;
	} else if (s->offered > f->top2)
		f->top2 = s->offered;
	if (f->cap != 0 && (f->active >= 2 || f->prev_active >= 2) &&
	    s->queued + size > f->cap)
		return false;
	s->queued += size;
	return true;
}
