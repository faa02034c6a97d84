/*
 * Outputs a reload replaced: at the slot boundary the loop switches to
 * the new output at once and hands the old one to a thread of its own
 * (netflowd/retire), which renders, writes, syncs and renames what the
 * old one still holds, joins its threads and frees it. The loop never
 * touches the old output again: the thread answers with its final
 * counters in the hand-over record (which the loop owns) and a write to
 * the completion eventfd; the loop then adds them to the process-lifetime
 * totals. What the old output counted up to the hand-over is in the totals
 * from that moment (the record's start), so no counter ever goes back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "collector.h"

struct retiring_output {
	TAILQ_ENTRY(retiring_output) entry;
	struct output *o;        /* the thread's, until it is done */
	struct collector *c;
	pthread_t thread;
	struct output_stats start;      /* counted at the hand-over */
	struct output_stats final;      /* written by the thread, then done */
	atomic_bool done;
};

void
collector_wake(struct collector *c)
{
	uint64_t one = 1;

	/* a full counter (never in practice) has a wake-up pending anyway */
	if (c->done_fd >= 0 && write(c->done_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		return;
}

static void *
run(void *arg)
{
	struct retiring_output *r = arg;

	output_finish(r->o);
	r->final = *output_stats(r->o);
	output_free(r->o);
	r->o = NULL;
	atomic_store_explicit(&r->done, true, memory_order_release);
	collector_wake(r->c);
	return NULL;
}

/* The loop's own finish of an output (no thread to be had): the same
 * counting, at once. */
static void
finish_here(struct collector *c, struct output *o)
{
	output_finish(o);
	output_stats_add(&c->output_totals, output_stats(o), 1);
	output_free(o);
}

void
collector_retire_output(struct collector *c, struct output *o)
{
	struct retiring_output *r = calloc(1, sizeof(*r));
	int err;

	if (r == NULL) {
		/* no memory for the hand-over: finish it here, as before */
		finish_here(c, o);
		return;
	}
	r->o = o;
	r->c = c;
	r->start = *output_stats(o);
	atomic_init(&r->done, false);
	if ((err = pthread_create(&r->thread, NULL, run, r)) != 0) {
		log_msg(LOG_WARNING, "finishing the old output on the loop: %s",
		    strerror(err));
		free(r);
		finish_here(c, o);
		return;
	}
	output_stats_add(&c->output_totals, &r->start, 1);
	pthread_setname_np(r->thread, "netflowd/retire");
	TAILQ_INSERT_TAIL(&c->retiring, r, entry);
}

void
collector_reap_outputs(struct collector *c, bool wait)
{
	struct retiring_output *r, *next;

	for (r = TAILQ_FIRST(&c->retiring); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (!wait && !atomic_load_explicit(&r->done, memory_order_acquire))
			continue;
		pthread_join(r->thread, NULL);
		/* what it counted after the hand-over, its end included */
		output_stats_add(&c->output_totals, &r->final, 1);
		output_stats_add(&c->output_totals, &r->start, -1);
		TAILQ_REMOVE(&c->retiring, r, entry);
		free(r);
	}
}

void
collector_output_stats(struct collector *c, struct output_stats *s)
{
	*s = *output_stats(c->output);
	output_stats_add(s, &c->output_totals, 1);
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_msg(LOG_ERR, "completion eventfd: %s", strerror(errno));
	collector_reap_outputs(c, false);
	collector_kafka_reap(c);
}

int
collector_completion_open(struct collector *c)
{
	c->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return c->done_fd < 0 ? -1 : 0;
}

int
collector_completion_start(struct collector *c)
{
	c->done_ev = event_new(c->base, c->done_fd, EV_READ | EV_PERSIST,
	    on_done, c);
	return c->done_ev == NULL || event_add(c->done_ev, NULL) < 0 ? -1 : 0;
}

void
collector_completion_close(struct collector *c)
{
	if (c->done_ev)
		event_free(c->done_ev);
	c->done_ev = NULL;
	if (c->done_fd >= 0)
		close(c->done_fd);
	c->done_fd = -1;
}
