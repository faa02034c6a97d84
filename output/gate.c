/*
 * A gate: a thread waits until every party holding it has let go. The
 * order across an output switch (output_follow) is one: the new output's
 * render thread waits until the old one has rendered everything and,
 * when the producer changed, until the old producer has settled all it
 * was given. Each party holds a reference; the last one frees the gate.
 */
#include <stdlib.h>

#include "output-private.h"

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t opened;
	unsigned holds;          /* parties still to let go */
	atomic_uint refs;
};

struct gate *
gate_new(unsigned holds)
{
	struct gate *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->opened, NULL);
	g->holds = holds;
	atomic_init(&g->refs, 1);
	return g;
}

void
gate_ref(struct gate *g)
{
	atomic_fetch_add(&g->refs, 1);
}

void
gate_unref(struct gate *g)
{
	if (g == NULL || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	pthread_cond_destroy(&g->opened);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void
gate_release(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	if (g->holds > 0 && --g->holds == 0)
		pthread_cond_broadcast(&g->opened);
	pthread_mutex_unlock(&g->lock);
}

void
gate_wait(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->holds > 0)
		pthread_cond_wait(&g->opened, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void
gate_hold(_Atomic(struct gate *) *slot, struct gate *g)
{
	gate_ref(g);
	gate_let_go_of(atomic_exchange(slot, g));
}

void
gate_let_go(_Atomic(struct gate *) *slot)
{
	gate_let_go_of(atomic_exchange(slot, NULL));
}

void
gate_let_go_of(struct gate *g)
{
	if (g == NULL)
		return;
	gate_release(g);
	gate_unref(g);
}

bool
gate_open(struct gate *g)
{
	bool open;

	pthread_mutex_lock(&g->lock);
	open = g->holds == 0;
	pthread_mutex_unlock(&g->lock);
	return open;
}
