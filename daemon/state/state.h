/*
 * [templates] state_file: the parser's template and options state kept
 * across restarts (loaded before READY, saved periodically and at
 * shutdown).
 */
#ifndef NETFLOWD_STATE_H
#define NETFLOWD_STATE_H

struct collector;

void state_load(struct collector *c);
void state_save(struct collector *c);

#endif
