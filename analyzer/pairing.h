/* pairing: joins the two directions of a connection (reversed 5-tuple,
 * starts within a window) and hands out connections in start order.
 *
 * Streaming: a flow waits for its other direction until the newest flow
 * seen is more than the horizon later (by receive time); a finished
 * connection waits until nothing earlier can still arrive, within the same
 * horizon. Memory is bounded by the flows of one horizon (and a hard cap).
 *
 * Cost per flow is O(1) however often a key repeats, plus the steps over
 * start times of the same key that lie between this flow's start and the
 * last one looked up for that key (few: exporters write flows nearly in
 * start order), plus O(log held) for the output order. */
#ifndef ANALYZER_PAIRING_H
#define ANALYZER_PAIRING_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "flow.h"
#include "services.h"

typedef void (*pairing_emit_fn)(void *arg, const struct conn *c);

struct pairing;

struct pairing *pairing_new(int64_t window_ms, int64_t horizon_ms, size_t max_held,
    struct services *svc, pairing_emit_fn emit, void *arg);
void pairing_free(struct pairing *p);
void pairing_add(struct pairing *p, const struct flow *f);
/* Only the number of connections, paired or not, is wanted (--summary): the
 * flows are not kept, and the conns emitted carry only paired and start_ms
 * (the rest zero). Pairs the same flows, in the same order, as a pairing
 * that keeps them. Before the first flow; -1 after it. */
int pairing_count_only(struct pairing *p);
/* pairing_add(p, f) follows soon: start loading the table slots it reads
 * (its key's and its answer's), so that the misses overlap other work. */
void pairing_prefetch(const struct pairing *p, const struct flow *f);
/* End of input: every waiting flow is final. */
void pairing_flush(struct pairing *p);
size_t pairing_held(const struct pairing *p);
/* Steps taken to match and file flows (hash probes, list steps), summed:
 * tests check that it grows linearly with the input. */
uint64_t pairing_work(const struct pairing *p);

#endif
