/*
 * Outputs a reload replaced: at the slot boundary the loop switches to
 * the new output at once and hands the old one to a thread of its own
 * (netflowd/retire), which renders, writes, syncs and renames what the
 * old one still holds and joins its threads. The loop never waits for
 * that disk work; it reaps finished retirements on its tick.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

struct retiring_output {
	TAILQ_ENTRY(retiring_output) entry;
	struct output *o;
	pthread_t thread;
	atomic_bool done;
};

static void *
run(void *arg)
{
	struct retiring_output *r = arg;

	output_free(r->o);
	atomic_store(&r->done, true);
	return NULL;
}

void
collector_retire_output(struct collector *c, struct output *o)
{
	struct retiring_output *r = calloc(1, sizeof(*r));
	int err;

	if (r == NULL) {
		/* no memory for the hand-over: finish it here, as before */
		output_free(o);
		return;
	}
	r->o = o;
	atomic_init(&r->done, false);
	if ((err = pthread_create(&r->thread, NULL, run, r)) != 0) {
		log_msg(LOG_WARNING, "finishing the old output on the loop: %s",
		    strerror(err));
		free(r);
		output_free(o);
		return;
	}
	pthread_setname_np(r->thread, "netflowd/retire");
	TAILQ_INSERT_TAIL(&c->retiring, r, entry);
}

void
collector_reap_outputs(struct collector *c, bool wait)
{
	struct retiring_output *r, *next;

	for (r = TAILQ_FIRST(&c->retiring); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (!wait && !atomic_load(&r->done))
			continue;
		pthread_join(r->thread, NULL);
		TAILQ_REMOVE(&c->retiring, r, entry);
		free(r);
	}
}

bool
collector_retiring_uses_kafka(const struct collector *c, const struct kafka *k)
{
	const struct retiring_output *r;

	TAILQ_FOREACH(r, &c->retiring, entry)
		if (!atomic_load(&r->done) && output_uses_kafka(r->o, k))
			return true;
	return false;
}
