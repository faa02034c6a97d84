/*
 * The daemon's side of the Kafka sink (output/kafka.c): opening it at
 * start-up, replacing it on reload, retiring old producers, and turning
 * its counters into the journal, SIGUSR1 stats, /metrics and STATUS=.
 *
 * A reload builds the new producer first (the same two passes as the
 * state file: everything validated and built, then applied) and a new
 * output with it; the switch to both is at the slot boundary, where the
 * new output's render thread waits until the old output rendered
 * everything and the old producer settled (output_follow): each
 * exporter's records stay in order in their partition. The old producer
 * closes when its last reference goes: the loop drops its own at the
 * reload, the old output's render thread its own when it ends. Its delivery
 * thread then flushes for at most KAFKA_RETIRE_MS, counts what it could
 * not deliver, destroys the producer and wakes the loop (the completion
 * eventfd), which only then frees what is left. The loop never asks
 * whether a producer is in use and never waits for a broker. Counters are
 * the sum over every producer this process had, so they never go back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>

#include "config.h"
#include "collector.h"

#ifdef HAVE_KAFKA
#include "kafka.h"

/* how long an old producer may flush after a reload; and at SIGTERM,
 * well below the unit's TimeoutStopSec=30 */
#define KAFKA_RETIRE_MS 10000
#define KAFKA_STOP_MS 10000

struct retiring {
	struct kafka *k;
	bool quiet;              /* never used (a failed reload's) */
	TAILQ_ENTRY(retiring) entry;
};

struct kafka_state {
	struct kafka *cur;
	TAILQ_HEAD(, retiring) retiring;
	struct kafka_stats retired;     /* counters of producers gone */
	uint64_t logged_failed[KAFKA_FAIL_MAX], logged_errors;
	int last_up;
	struct ratelimit log;
};

static struct kafka_state *
state(struct collector *c)
{
	struct kafka_state *ks = c->kafka;

	if (ks == NULL && (ks = c->kafka = calloc(1, sizeof(*ks))) != NULL) {
		TAILQ_INIT(&ks->retiring);
		ks->last_up = -1;
		ks->log = (struct ratelimit)RATELIMIT_INIT(10000, 5);
	}
	return ks;
}

struct kafka *
collector_kafka(const struct collector *c)
{
	return c->kafka ? c->kafka->cur : NULL;
}

/* the delivery thread: its producer is destroyed */
static void
wake(void *arg)
{
	collector_wake(arg);
}

struct kafka *
collector_kafka_new(struct collector *c, const struct config *config,
    char **err)
{
	const struct config_kafka *ck = config->kafka;
	struct kafka_config kc = {
		.conf = ck->rdconf, .topic = ck->topic,
		.options_topic = ck->options_topic,
		.key_exporter = ck->key_exporter, .lossless = c->args.offline,
		.done = wake, .done_arg = c,
	};

	return kafka_new(&kc, err);
}

/* start-up: a broker that is down is not an error, only reported */
void
collector_kafka_open(struct collector *c)
{
	struct kafka_state *ks;
	char *err = NULL;

	if (c->config->kafka == NULL)
		return;
	if ((ks = state(c)) == NULL)
		fatal("out of memory");
	if ((ks->cur = collector_kafka_new(c, c->config, &err)) == NULL)
		fatal("%s", err ? err : "kafka: cannot create the producer");
	log_fields(LOG_INFO, LOG_FIELDS({ "KAFKA_BROKER", kafka_brokers(ks->cur) },
	    { "KAFKA_TOPIC", kafka_topic(ks->cur) }),
	    "kafka: producing to topic %s via %s%s", kafka_topic(ks->cur),
	    kafka_brokers(ks->cur), c->config->files ? "" : " (files off)");
}

static void
add_stats(struct kafka_stats *sum, const struct kafka_stats *s)
{
	sum->produced += s->produced;
	sum->delivered += s->delivered;
	for (int i = 0; i < KAFKA_FAIL_MAX; i++)
		sum->failed[i] += s->failed[i];
	sum->queue_bytes += s->queue_bytes;
	sum->queue_msgs += s->queue_msgs;
	sum->errors += s->errors;
}

/* Every producer's counters; brokers of the current one. */
static void
totals(struct kafka_state *ks, struct kafka_stats *sum)
{
	struct kafka_stats s;
	struct retiring *r;

	*sum = ks->retired;
	sum->brokers = sum->brokers_up = -1;
	TAILQ_FOREACH(r, &ks->retiring, entry) {
		kafka_stats(r->k, &s);
		add_stats(sum, &s);
	}
	if (ks->cur) {
		kafka_stats(ks->cur, &s);
		add_stats(sum, &s);
		sum->brokers = s.brokers;
		sum->brokers_up = s.brokers_up;
	}
}

static uint64_t
failed_total(const struct kafka_stats *s)
{
	uint64_t n = 0;

	for (int i = 0; i < KAFKA_FAIL_MAX; i++)
		n += s->failed[i];
	return n;
}

/* The loop lets go of k: it closes once no render thread holds it. */
static void
retire(struct kafka_state *ks, struct kafka *k, bool quiet)
{
	struct retiring *r;

	if (k == NULL)
		return;
	kafka_unref(k, KAFKA_RETIRE_MS);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		/* a render thread may still produce to k: never freed here;
		 * it closes itself, its counters are no longer summed */
		log_msg(LOG_ERR, "kafka: out of memory: the counters of the "
		    "producer for topic %s are no longer counted", kafka_topic(k));
		return;
	}
	r->k = k;
	r->quiet = quiet;
	TAILQ_INSERT_TAIL(&ks->retiring, r, entry);
}

/* Reload, after everything else was staged: the new producer, NULL when
 * the section is gone or did not change (*changed tells which). */
int
collector_kafka_stage(struct collector *c, const struct config *nc,
    struct kafka **out, bool *changed, char **err)
{
	*out = NULL;
	*changed = !config_kafka_equal(c->config->kafka, nc->kafka);
	if (!*changed || nc->kafka == NULL)
		return 0;
	*out = collector_kafka_new(c, nc, err);
	return *out ? 0 : -1;
}

/* A failed reload: the new producer never produced; it is destroyed on
 * its own thread like any other. */
void
collector_kafka_discard(struct collector *c, struct kafka *k)
{
	struct kafka_state *ks;

	if (k == NULL)
		return;
	if ((ks = state(c)) == NULL) {
		kafka_free(k);   /* nobody else ever held it */
		return;
	}
	retire(ks, k, true);
}

void
collector_kafka_commit(struct collector *c, struct kafka *k, bool changed)
{
	struct kafka_state *ks;

	if (!changed || (ks = state(c)) == NULL) {
		kafka_free(k);
		return;
	}
	/* the current output's render thread holds the old producer until
	 * the output switch; it closes when the last holder lets go */
	retire(ks, ks->cur, false);
	ks->cur = k;
	log_msg(LOG_NOTICE, "kafka: [kafka] changed: the new %s takes over with "
	    "the new output at the end of the current slot",
	    k ? "producer" : "configuration (no sink)");
}

/* At the output switch: the new output's producer is on. */
void
collector_kafka_switched(struct collector *c, struct kafka *k)
{
	if (k)
		log_fields(LOG_NOTICE, LOG_FIELDS({ "KAFKA_BROKER", kafka_brokers(k) },
		    { "KAFKA_TOPIC", kafka_topic(k) }),
		    "kafka: now producing to topic %s via %s", kafka_topic(k),
		    kafka_brokers(k));
	else
		log_msg(LOG_NOTICE, "kafka: sink removed");
}

static void
log_retired(const struct kafka *k, const struct kafka_stats *s)
{
	log_fields(LOG_INFO, LOG_FIELDS({ "KAFKA_BROKER", kafka_brokers(k) },
	    { "KAFKA_TOPIC", kafka_topic(k) }),
	    "kafka: producer for topic %s closed: %llu produced, %llu delivered, "
	    "%llu failed (%llu left at shutdown)", kafka_topic(k),
	    (unsigned long long)s->produced, (unsigned long long)s->delivered,
	    (unsigned long long)failed_total(s),
	    (unsigned long long)s->failed[KAFKA_FAIL_SHUTDOWN]);
}

/* Frees retired producers whose delivery thread is done (it destroyed
 * the producer and woke the loop). Never waits. */
static void
reap(struct kafka_state *ks)
{
	struct retiring *r, *next;
	struct kafka_stats s;

	for (r = TAILQ_FIRST(&ks->retiring); r; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (!kafka_done(r->k))
			continue;
		kafka_join(r->k);
		kafka_stats(r->k, &s);
		s.queue_bytes = s.queue_msgs = 0;
		add_stats(&ks->retired, &s);
		if (!r->quiet)
			log_retired(r->k, &s);
		TAILQ_REMOVE(&ks->retiring, r, entry);
		kafka_free(r->k);
		free(r);
	}
}

static void
log_brokers(struct kafka_state *ks, const struct kafka_stats *s)
{
	const char *topic = kafka_topic(ks->cur), *brokers = kafka_brokers(ks->cur);

	if (s->brokers_up < 0 || s->brokers_up == ks->last_up)
		return;
	if (s->brokers_up == 0)
		log_fields(LOG_WARNING, LOG_FIELDS({ "KAFKA_BROKER", brokers },
		    { "KAFKA_TOPIC", topic }),
		    "kafka: no broker reachable (%s); records wait in the queue "
		    "(%llu now) until message_timeout", brokers,
		    (unsigned long long)s->queue_msgs);
	else if (ks->last_up <= 0)
		/* librdkafka connects only to the brokers it needs (the
		 * leaders of the partitions produced to): the others are not
		 * down, just not used */
		log_fields(LOG_NOTICE, LOG_FIELDS({ "KAFKA_BROKER", brokers },
		    { "KAFKA_TOPIC", topic }),
		    "kafka: connected to %d broker%s (the cluster has %d)",
		    s->brokers_up, s->brokers_up == 1 ? "" : "s", s->brokers);
	ks->last_up = s->brokers_up;
}

/* New failures and client errors since the last tick, rate-limited. */
static void
log_failures(struct kafka_state *ks, const struct kafka_stats *s)
{
	const char *topic = ks->cur ? kafka_topic(ks->cur) : "";
	const char *brokers = ks->cur ? kafka_brokers(ks->cur) : "";
	char text[256];

	for (int i = 0; i < KAFKA_FAIL_MAX; i++) {
		if (s->failed[i] == ks->logged_failed[i])
			continue;
		log_limited_fields(&ks->log, LOG_ERR, LOG_FIELDS(
		    { "KAFKA_BROKER", brokers }, { "KAFKA_TOPIC", topic },
		    { "DROP_REASON", kafka_fail_name(i) }),
		    "kafka: %llu records lost (%s), %llu in all",
		    (unsigned long long)(s->failed[i] - ks->logged_failed[i]),
		    kafka_fail_name(i), (unsigned long long)s->failed[i]);
		ks->logged_failed[i] = s->failed[i];
	}
	if (ks->cur && s->errors != ks->logged_errors) {
		kafka_error(ks->cur, text, sizeof(text));
		log_limited_fields(&ks->log, LOG_WARNING, LOG_FIELDS(
		    { "KAFKA_BROKER", brokers }, { "KAFKA_TOPIC", topic }),
		    "kafka: %s", text);
	}
	ks->logged_errors = s->errors;
}

void
collector_kafka_reap(struct collector *c)
{
	if (c->kafka)
		reap(c->kafka);
}

void
collector_kafka_tick(struct collector *c)
{
	struct kafka_state *ks = c->kafka;
	struct kafka_stats s;

	if (ks == NULL)
		return;
	reap(ks);
	totals(ks, &s);
	if (ks->cur)
		log_brokers(ks, &s);
	log_failures(ks, &s);
	log_ratelimit_flush(&ks->log);
}

/* SIGTERM, after the output was flushed (the render thread is gone):
 * every producer flushes for at most KAFKA_STOP_MS, at the same time. */
void
collector_kafka_finish(struct collector *c)
{
	struct kafka_state *ks = c->kafka;
	struct retiring *r;

	if (ks == NULL)
		return;
	/* the outputs are gone, and their references with them */
	if (ks->cur)
		retire(ks, ks->cur, false);
	ks->cur = NULL;
	TAILQ_FOREACH(r, &ks->retiring, entry)
		kafka_close(r->k, KAFKA_STOP_MS);
	while ((r = TAILQ_FIRST(&ks->retiring)) != NULL) {
		struct kafka_stats s;

		kafka_join(r->k);
		kafka_stats(r->k, &s);
		log_retired(r->k, &s);
		TAILQ_REMOVE(&ks->retiring, r, entry);
		kafka_free(r->k);
		free(r);
	}
	free(ks);
	c->kafka = NULL;
}

void
collector_kafka_log_stats(struct collector *c)
{
	struct kafka_stats s;
	char reasons[256];
	size_t n = 0;

	if (c->kafka == NULL)
		return;
	totals(c->kafka, &s);
	reasons[0] = '\0';
	for (int i = 0; i < KAFKA_FAIL_MAX && n < sizeof(reasons); i++)
		if (s.failed[i])
			n += (size_t)snprintf(reasons + n, sizeof(reasons) - n,
			    ", %s %llu", kafka_fail_name(i),
			    (unsigned long long)s.failed[i]);
	log_msg(LOG_INFO, "stats: kafka: %llu produced, %llu delivered, %llu failed, "
	    "%llu in flight (%llu bytes queued), connected to %d of the "
	    "cluster's %d brokers%s",
	    (unsigned long long)s.produced, (unsigned long long)s.delivered,
	    (unsigned long long)failed_total(&s),
	    (unsigned long long)(s.produced - s.delivered - failed_total(&s)),
	    (unsigned long long)s.queue_bytes, s.brokers_up, s.brokers, reasons);
}

void
collector_kafka_status(struct collector *c, char *buf, size_t size)
{
	struct kafka_stats s;

	buf[0] = '\0';
	if (c->kafka == NULL || c->kafka->cur == NULL)
		return;
	totals(c->kafka, &s);
	if (s.brokers_up < 0)
		snprintf(buf, size, "; kafka: connecting, %llu queued",
		    (unsigned long long)s.queue_msgs);
	else
		snprintf(buf, size, "; kafka: connected to %d of %d brokers, "
		    "%llu queued, %llu lost", s.brokers_up, s.brokers,
		    (unsigned long long)s.queue_msgs,
		    (unsigned long long)failed_total(&s));
}

static void
metric(struct evbuffer *b, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
	    help, name, type, name, v);
}

void
collector_kafka_metrics(struct collector *c, struct evbuffer *b)
{
	struct kafka_stats s;

	if (c->kafka == NULL)
		return;
	totals(c->kafka, &s);
	metric(b, "netflowd_kafka_produced_total", "counter",
	    "Records handed to the Kafka producer.", s.produced);
	metric(b, "netflowd_kafka_delivered_total", "counter",
	    "Records the brokers acknowledged.", s.delivered);
	evbuffer_add_printf(b, "# HELP netflowd_kafka_failed_total Records that "
	    "will never reach Kafka, by reason.\n"
	    "# TYPE netflowd_kafka_failed_total counter\n");
	for (int i = 0; i < KAFKA_FAIL_MAX; i++)
		evbuffer_add_printf(b, "netflowd_kafka_failed_total{reason=\"%s\"} "
		    "%llu\n", kafka_fail_name(i), (unsigned long long)s.failed[i]);
	metric(b, "netflowd_kafka_in_flight", "gauge",
	    "Records produced and not yet delivered or failed.",
	    s.produced - s.delivered - failed_total(&s));
	metric(b, "netflowd_kafka_queue_bytes", "gauge",
	    "Bytes waiting in the producer's queue (librdkafka statistics).",
	    s.queue_bytes);
	metric(b, "netflowd_kafka_queue_messages", "gauge",
	    "Messages waiting in the producer's queue (librdkafka statistics).",
	    s.queue_msgs);
	metric(b, "netflowd_kafka_brokers", "gauge",
	    "Brokers the cluster reported.", s.brokers < 0 ? 0 : (unsigned)s.brokers);
	metric(b, "netflowd_kafka_brokers_up", "gauge",
	    "Brokers the producer is connected to (only those it needs: the "
	    "leaders of the partitions it produces to).",
	    s.brokers_up < 0 ? 0 : (unsigned)s.brokers_up);
	metric(b, "netflowd_kafka_errors_total", "counter",
	    "Client errors librdkafka reported (connection refused, all brokers "
	    "down ...).", s.errors);
}

#else /* !HAVE_KAFKA: a [kafka] section never loads, so there is none */

struct kafka *
collector_kafka(const struct collector *c)
{
	return NULL;
}

void collector_kafka_open(struct collector *c) {}

int
collector_kafka_stage(struct collector *c, const struct config *nc,
    struct kafka **out, bool *changed, char **err)
{
	*out = NULL;
	*changed = false;
	return 0;
}

void collector_kafka_commit(struct collector *c, struct kafka *k, bool changed) {}
void collector_kafka_switched(struct collector *c, struct kafka *k) {}
void collector_kafka_discard(struct collector *c, struct kafka *k) {}
void collector_kafka_reap(struct collector *c) {}
void collector_kafka_tick(struct collector *c) {}
void collector_kafka_finish(struct collector *c) {}
void collector_kafka_log_stats(struct collector *c) {}

void
collector_kafka_status(struct collector *c, char *buf, size_t size)
{
	buf[0] = '\0';
}

void collector_kafka_metrics(struct collector *c, struct evbuffer *b) {}

#endif
