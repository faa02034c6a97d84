/*
 * Sequence numbers that one datagram cannot poison. Wrap-safe: every
 * distance is taken modulo 2^32, in units of what the previous datagram
 * advanced the sequence by (v9 and sFlow: 1; v5/v7: its flows; IPFIX: its
 * data records), at least 1.
 *
 * - Ahead by up to SEQ_CONFIRM units: loss, counted at once.
 * - Ahead by up to SEQ_BOUND units: a jump. Counted as loss only when the
 *   next datagram continues from it; one that continues the old sequence
 *   instead shows the jump was a single stray (forged, corrupt) datagram:
 *   the old expectation is kept and the stray counted as a reset. A
 *   datagram that continues neither restarts the sequence (a reset).
 * - Further ahead: a new session (another exporter process, a reset
 *   counter): restart there, counted as a reset, never as loss.
 * - Behind by up to SEQ_LATE units: a late (reordered) datagram, counted
 *   nowhere, expectation kept. Further behind (a jump back to a small
 *   number: a restarted exporter): restart, a reset.
 */
#include "parser-private.h"

#define SEQ_LATE 64
#define SEQ_CONFIRM 64
#define SEQ_BOUND 65536

static void
start(struct seqtrack *s, uint32_t seq, uint32_t inc)
{
	s->state = SEQ_RUNNING;
	s->next = seq + inc;
	s->inc = inc;
}

/* Where seq stands from an expected number, in units. */
enum { AT_NEAR, AT_AHEAD, AT_FAR, AT_LATE };

static int
where(uint32_t seq, uint32_t expected, uint64_t unit, uint32_t *gap)
{
	*gap = seq - expected;
	if (*gap < 0x80000000u) {
		if (*gap <= unit * SEQ_CONFIRM)
			return AT_NEAR;
		return *gap <= unit * SEQ_BOUND ? AT_AHEAD : AT_FAR;
	}
	return (uint32_t)-*gap <= unit * SEQ_LATE ? AT_LATE : AT_FAR;
}

bool
seq_check(struct seqtrack *s, uint32_t seq, uint32_t inc, uint32_t *lost)
{
	uint64_t unit = s->inc ? s->inc : 1;
	uint32_t gap, gap2;
	int at;

	*lost = 0;
	if (s->state == SEQ_NONE) {
		start(s, seq, inc);
		return false;
	}
	at = where(seq, s->next, unit, &gap);
	if (s->state == SEQ_JUMPED) {
		/* the datagram after a jump decides what the jump was */
		if (where(seq, s->jump_next, unit, &gap2) == AT_NEAR) {
			*lost = s->jump_lost + gap2;
			start(s, seq, inc);
			return false;
		}
		s->state = SEQ_RUNNING;
		if (at == AT_NEAR || at == AT_LATE) {
			/* the stray is the reset; this one continues */
			if (at == AT_NEAR) {
				*lost = gap;
				start(s, seq, inc);
			}
			return true;
		}
		start(s, seq, inc);
		return true;
	}
	switch (at) {
	case AT_NEAR:
		*lost = gap;
		start(s, seq, inc);
		return false;
	case AT_LATE:
		return false;
	case AT_AHEAD:
		s->state = SEQ_JUMPED;
		s->jump_next = seq + inc;
		s->jump_lost = gap;
		return false;
	default:
		start(s, seq, inc);
		return true;
	}
}
