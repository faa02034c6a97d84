/*
 * [templates] state_file: the parser's template and options state kept
 * across restarts (loaded before READY, saved periodically and at
 * shutdown).
 */
#ifndef NETFLOWD_STATE_H
#define NETFLOWD_STATE_H

struct collector;

void state_load(struct collector *c);
/* Periodic: encodes on the loop, writes on a thread of its own (skipped,
 * and logged, while the previous save still writes). */
void state_save(struct collector *c);
/* At shutdown: waits for a save in flight, then writes and waits. */
void state_save_now(struct collector *c);
/* Waits for a save in flight. */
void state_finish(struct collector *c);

#endif
