/*
 * A bounded pool of 1 MiB blocks and a FIFO of filled ones between one
 * producer and one or more consumer threads (the render thread; the
 * writer's compression threads, which put blocks back in order by the
 * sequence number blockq_pop gives them). The bound is the number of blocks in
 * existence: a producer that gets none either waits (lossless) or drops
 * and counts. Free blocks are kept for reuse up to OUTPUT_BLOCKS_SPARE.
 */
#include <stdlib.h>

#include "output-private.h"

void
blockq_init(struct blockq *q, size_t max, atomic_uint_fast64_t *peak)
{
	*q = (struct blockq){ .max = max, .peak = peak };
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->freed, NULL);
}

void
blockq_destroy(struct blockq *q)
{
	struct out_block *b;

	while ((b = q->spare) != NULL) {
		q->spare = b->next;
		free(b);
	}
	while ((b = q->head) != NULL) {
		q->head = b->next;
		free(b->who);
		free(b);
	}
	pthread_cond_destroy(&q->freed);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->lock);
}

struct out_block *
blockq_get(struct blockq *q, bool wait)
{
	struct out_block *b = NULL;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->spare) {
			b = q->spare;
			q->spare = b->next;
			q->nspare--;
			break;
		}
		if (q->nblocks < q->max) {
			if ((b = malloc(sizeof(*b) + OUTPUT_BLOCK_SIZE)) != NULL)
				q->nblocks++;
			break;
		}
		if (!wait)
			break;
		pthread_cond_wait(&q->freed, &q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	if (b != NULL)
		*b = (struct out_block){ 0 };
	return b;
}

void
blockq_push_marker(struct blockq *q, time_t slot, bool close)
{
	struct out_block *b = calloc(1, sizeof(*b));

	/* without memory, the next flush, the close or the next slot's first
	 * block does what it asked */
	if (b == NULL)
		return;
	b->marker = true;
	b->close = close;
	b->flush = true;
	b->slot = slot;
	blockq_push(q, b);
}

void
blockq_push(struct blockq *q, struct out_block *b)
{
	b->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	q->queued++;
	if (q->peak != NULL)
		blockq_peak(q->peak, q->queued);
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

struct out_block *
blockq_pop(struct blockq *q)
{
	struct out_block *b;

	pthread_mutex_lock(&q->lock);
	while (q->head == NULL && !q->stopping)
		pthread_cond_wait(&q->work, &q->lock);
	if ((b = q->head) != NULL) {
		if ((q->head = b->next) == NULL)
			q->tail = NULL;
		q->queued--;
		q->busy++;
		b->seq = q->popped++;
	}
	pthread_mutex_unlock(&q->lock);
	return b;
}

void
blockq_done(struct blockq *q, struct out_block *b)
{
	free(b->who);
	b->who = NULL;
	pthread_mutex_lock(&q->lock);
	q->busy--;
	if (b->marker) {
		free(b);
	} else if (q->nspare < OUTPUT_BLOCKS_SPARE) {
		b->next = q->spare;
		q->spare = b;
		q->nspare++;
	} else {
		free(b);
		q->nblocks--;
	}
	pthread_cond_broadcast(&q->freed);
	pthread_mutex_unlock(&q->lock);
}

void
blockq_drain(struct blockq *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->head != NULL || q->busy > 0)
		pthread_cond_wait(&q->freed, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

void
blockq_stop(struct blockq *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
}

size_t
blockq_depth(struct blockq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->queued;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void
blockq_peak(atomic_uint_fast64_t *peak, uint64_t v)
{
	uint_fast64_t old = atomic_load(peak);

	/* a plain load and store would let two queues (or two threads)
	 * undo each other's higher value */
	while (v > old && !atomic_compare_exchange_weak(peak, &old, v))
		;
}

void
blockq_consume(struct blockq *q, void (*fn)(void *, struct out_block *),
    void *arg)
{
	struct out_block *b;

	while ((b = blockq_pop(q)) != NULL) {
		fn(arg, b);
		blockq_done(q, b);
	}
}
