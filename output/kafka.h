/*
 * The Kafka sink: one librdkafka producer and the thread that serves its
 * delivery reports. The render thread produces each JSON line (copied:
 * librdkafka owns its queue), the daemon reads the counters. Nothing here
 * runs on the event loop, and nothing here waits on a broker except
 * kafka_free after kafka_close, which is bounded (and does not wait at
 * all once kafka_done).
 *
 * Every record handed to kafka_produce is counted once as produced and,
 * later, once as delivered or failed (by reason), so that
 * produced == delivered + failed + in flight, exactly.
 */
#ifndef NETFLOWD_KAFKA_H
#define NETFLOWD_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

struct kafka;
struct rd_kafka_conf_s;

enum kafka_fail {
	KAFKA_FAIL_QUEUE_FULL,          /* the local queue (queue =) was full */
	KAFKA_FAIL_TIMEOUT,             /* not delivered within message_timeout */
	KAFKA_FAIL_TOO_LARGE,           /* larger than message.max.bytes */
	KAFKA_FAIL_UNKNOWN_TOPIC,       /* the topic does not exist */
	KAFKA_FAIL_DELIVERY,            /* any other broker or client error */
	KAFKA_FAIL_SHUTDOWN,            /* still queued when the flush ran out */
	KAFKA_FAIL_MAX
};

struct kafka_stats {
	uint64_t produced, delivered;
	uint64_t failed[KAFKA_FAIL_MAX];
	uint64_t queue_bytes, queue_msgs;       /* waiting in librdkafka */
	int brokers, brokers_up;                /* -1 until first known */
	uint64_t errors;         /* client errors reported (see kafka_error) */
};

struct kafka_config {
	struct rd_kafka_conf_s *conf;   /* duplicated; the caller keeps it */
	const char *topic;
	const char *options_topic;      /* NULL: options records go to topic */
	bool key_exporter;
	/* wait for room instead of dropping when the queue is full (--read) */
	bool lossless;
	/* called on the delivery thread once it destroyed the producer
	 * (kafka_done is true): kafka_free will not wait. May be NULL. */
	void (*done)(void *arg);
	void *done_arg;
};

/* NULL with *err (allocated) on failure. Does not wait for a broker. */
struct kafka *kafka_new(const struct kafka_config *kc, char **err);
/* line: the JSON text without its newline. Render thread only. */
void kafka_produce(struct kafka *k, const struct flow_record *rec,
    const char *line, size_t len);
/* Asks the delivery thread to flush for at most timeout_ms, then to give
 * up on what is left (counted as failed: shutdown), destroy the producer
 * and stop. Only when nothing produces to k any more. */
void kafka_close(struct kafka *k, unsigned timeout_ms);
/* References: kafka_new returns one. Any thread. The last unref closes
 * k (kafka_close with timeout_ms); k stays allocated for kafka_free. */
void kafka_ref(struct kafka *k);
void kafka_unref(struct kafka *k, unsigned timeout_ms);
/* The delivery thread has stopped: kafka_free will not wait. */
bool kafka_done(struct kafka *k);
/* Waits for the delivery thread (after kafka_close: bounded); what was
 * still in flight then is counted as failed: shutdown. */
void kafka_join(struct kafka *k);
/* Closes with timeout 0 unless closed already; joins; frees. */
void kafka_free(struct kafka *k);
void kafka_stats(struct kafka *k, struct kafka_stats *s);
/* The newest client error (copied into buf) and how many there were. */
uint64_t kafka_error(struct kafka *k, char *buf, size_t size);
const char *kafka_fail_name(enum kafka_fail f);
const char *kafka_topic(const struct kafka *k);
const char *kafka_brokers(const struct kafka *k);

#endif
