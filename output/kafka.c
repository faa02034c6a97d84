/*
 * The Kafka sink. Threads: the render thread calls kafka_produce (the
 * only producer); librdkafka's own threads talk to the brokers; the
 * delivery thread here polls the producer, so the delivery report,
 * error and statistics callbacks run on it and count into atomics that
 * the event loop reads. Closing is the delivery thread's last job: flush
 * for a bounded time, purge what is left, count it, destroy the producer
 * (rd_kafka_destroy joins librdkafka's threads: never on the loop), and
 * say so through kc->done.
 *
 * Lifetime: references. The creator holds one; each render thread that
 * was handed the sink holds one until it switched away from it (on its
 * own thread). The last kafka_unref closes the sink.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <yajl/yajl_tree.h>

#include "kafka.h"
#include "output-private.h"

#define POLL_MS 100
/* the delivery thread's view of the brokers: once a second */
#define STATS_INTERVAL "1000"

struct kafka {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt, *options_rkt;
	char *topic, *brokers;
	bool key_exporter, lossless;
	pthread_t thread;
	bool started;
	atomic_bool closing, done;
	bool joined;
	atomic_bool settled;     /* counted for good: late reports ignored */
	atomic_uint close_ms;
	atomic_int refs;
	/* let go of once settled and destroyed (an output switch waits for
	 * it: kafka_release_when_settled) */
	_Atomic(struct gate *) gate;
	void (*on_done)(void *arg);
	void *done_arg;
	atomic_uint_fast64_t produced, delivered, failed[KAFKA_FAIL_MAX];
	atomic_uint_fast64_t queue_bytes, queue_msgs, errors;
	atomic_int brokers_total, brokers_up;
	pthread_mutex_t error_lock;     /* the newest error text */
	char error[256];
};

static const char *const fail_names[KAFKA_FAIL_MAX] = {
	[KAFKA_FAIL_QUEUE_FULL] = "queue_full",
	[KAFKA_FAIL_TIMEOUT] = "timeout",
	[KAFKA_FAIL_TOO_LARGE] = "msg_too_large",
	[KAFKA_FAIL_UNKNOWN_TOPIC] = "unknown_topic",
	[KAFKA_FAIL_DELIVERY] = "delivery_failed",
	[KAFKA_FAIL_SHUTDOWN] = "shutdown",
};

const char *
kafka_fail_name(enum kafka_fail f)
{
	return f < KAFKA_FAIL_MAX ? fail_names[f] : "unknown";
}

static enum kafka_fail
reason(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
		return KAFKA_FAIL_QUEUE_FULL;
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
		return KAFKA_FAIL_TIMEOUT;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		return KAFKA_FAIL_TOO_LARGE;
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
		return KAFKA_FAIL_UNKNOWN_TOPIC;
	case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
	case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
		return KAFKA_FAIL_SHUTDOWN;
	default:
		return KAFKA_FAIL_DELIVERY;
	}
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka *k = opaque;

	if (atomic_load(&k->settled))
		return;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		atomic_fetch_add(&k->delivered, 1);
	else
		atomic_fetch_add(&k->failed[reason(m->err)], 1);
}

static void
on_error(rd_kafka_t *rk, int err, const char *text, void *opaque)
{
	struct kafka *k = opaque;

	pthread_mutex_lock(&k->error_lock);
	snprintf(k->error, sizeof(k->error), "%s", text);
	pthread_mutex_unlock(&k->error_lock);
	atomic_fetch_add(&k->errors, 1);
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		atomic_store(&k->brokers_up, 0);
}

static int64_t
number(yajl_val root, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_number);

	return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
}

/* Brokers the cluster told us of (node id >= 0) and how many of them we
 * are connected to; before any answered, the bootstrap addresses. */
static void
count_brokers(struct kafka *k, yajl_val root)
{
	const char *path[] = { "brokers", NULL };
	yajl_val brokers = yajl_tree_get(root, path, yajl_t_object);
	int total = 0, up = 0, bootstrap = 0, bootstrap_up = 0;

	for (size_t i = 0; brokers && i < brokers->u.object.len; i++) {
		yajl_val b = brokers->u.object.values[i];
		const char *state_path[] = { "state", NULL };
		yajl_val state = yajl_tree_get(b, state_path, yajl_t_string);
		bool is_up = YAJL_IS_STRING(state) &&
		    strcmp(state->u.string, "UP") == 0;

		if (number(b, "nodeid") < 0) {
			bootstrap++;
			bootstrap_up += is_up;
			continue;
		}
		total++;
		up += is_up;
	}
	atomic_store(&k->brokers_total, total ? total : bootstrap);
	atomic_store(&k->brokers_up, total ? up : bootstrap_up);
}

static int
on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kafka *k = opaque;
	yajl_val root = yajl_tree_parse(json, NULL, 0);

	if (root == NULL)
		return 0;
	atomic_store(&k->queue_bytes, (uint64_t)number(root, "msg_size"));
	atomic_store(&k->queue_msgs, (uint64_t)number(root, "msg_cnt"));
	count_brokers(k, root);
	yajl_tree_free(root);
	return 0;       /* librdkafka frees json */
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* After the bounded flush: whatever librdkafka still holds is purged,
 * and its delivery reports (purged) are counted before we stop. */
static void
give_up(struct kafka *k)
{
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
	    RD_KAFKA_PURGE_F_NON_BLOCKING);
	for (int i = 0; i < 50 && rd_kafka_outq_len(k->rk) > 0; i++)
		rd_kafka_poll(k->rk, 10);
}

/* What is still neither delivered nor failed once the reports stopped:
 * failed, shutdown. Nothing produces any more (no reference is left). */
static void
settle(struct kafka *k)
{
	uint64_t settled;

	atomic_store(&k->settled, true);
	settled = atomic_load(&k->delivered);
	for (int i = 0; i < KAFKA_FAIL_MAX; i++)
		settled += atomic_load(&k->failed[i]);
	atomic_fetch_add(&k->failed[KAFKA_FAIL_SHUTDOWN],
	    atomic_load(&k->produced) - settled);
}

static void
destroy(struct kafka *k)
{
	if (k->options_rkt)
		rd_kafka_topic_destroy(k->options_rkt);
	if (k->rkt)
		rd_kafka_topic_destroy(k->rkt);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	k->options_rkt = k->rkt = NULL;
	k->rk = NULL;
}

/* The output after the one this producer served may produce now. */
static void
release_gate(struct kafka *k)
{
	gate_let_go(&k->gate);
}

static void *
run(void *arg)
{
	struct kafka *k = arg;

	while (!atomic_load(&k->closing))
		rd_kafka_poll(k->rk, POLL_MS);
	rd_kafka_flush(k->rk, (int)atomic_load(&k->close_ms));
	give_up(k);
	settle(k);
	destroy(k);
	atomic_store(&k->done, true);
	release_gate(k);
	if (k->on_done)
		k->on_done(k->done_arg);
	return NULL;
}

static int
set(rd_kafka_conf_t *conf, const char *name, const char *value, char **err)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) ==
	    RD_KAFKA_CONF_OK)
		return 0;
	if (asprintf(err, "kafka: %s", errstr) < 0)
		*err = NULL;
	return -1;
}

static size_t
conf_get(rd_kafka_conf_t *conf, const char *name, char *buf, size_t size)
{
	size_t n = size;

	if (rd_kafka_conf_get(conf, name, buf, &n) != RD_KAFKA_CONF_OK)
		buf[0] = '\0';
	return n;
}

static void
quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

static rd_kafka_conf_t *
make_conf(struct kafka *k, const struct kafka_config *kc, char **err)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_dup(kc->conf);
	char debug[256];

	if (conf == NULL)
		return NULL;
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_stats_cb(conf, on_stats);
	/* its errors reach the journal through on_error, with fields and
	 * rate-limited; its own log lines only when asked (option.debug) */
	if (conf_get(conf, "debug", debug, sizeof(debug)) <= 1)
		rd_kafka_conf_set_log_cb(conf, quiet);
	if (set(conf, "statistics.interval.ms", STATS_INTERVAL, err) < 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

static int
open_topics(struct kafka *k, const struct kafka_config *kc, char **err)
{
	if ((k->rkt = rd_kafka_topic_new(k->rk, kc->topic, NULL)) == NULL)
		goto fail;
	if (kc->options_topic && strcmp(kc->options_topic, kc->topic) != 0 &&
	    (k->options_rkt = rd_kafka_topic_new(k->rk, kc->options_topic,
	    NULL)) == NULL)
		goto fail;
	return 0;
fail:
	if (asprintf(err, "kafka: topic: %s",
	    rd_kafka_err2str(rd_kafka_last_error())) < 0)
		*err = NULL;
	return -1;
}

struct kafka *
kafka_new(const struct kafka_config *kc, char **err)
{
	struct kafka *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf = NULL;
	char errstr[512], brokers[1024];

	*err = NULL;
	if (k == NULL)
		goto fail;
	pthread_mutex_init(&k->error_lock, NULL);
	atomic_store(&k->brokers_total, -1);
	atomic_store(&k->brokers_up, -1);
	atomic_init(&k->refs, 1);
	k->on_done = kc->done;
	k->done_arg = kc->done_arg;
	k->key_exporter = kc->key_exporter;
	k->lossless = kc->lossless;
	conf_get(kc->conf, "bootstrap.servers", brokers, sizeof(brokers));
	if ((k->topic = strdup(kc->topic)) == NULL ||
	    (k->brokers = strdup(brokers)) == NULL ||
	    (conf = make_conf(k, kc, err)) == NULL)
		goto fail;
	/* rd_kafka_new owns conf only when it succeeds */
	if ((k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		if (asprintf(err, "kafka: %s", errstr) < 0)
			*err = NULL;
		goto fail;
	}
	if (open_topics(k, kc, err) < 0)
		goto fail;
	if (pthread_create(&k->thread, NULL, run, k) != 0)
		goto fail;
	pthread_setname_np(k->thread, "netflowd/kafka");
	k->started = true;
	return k;
fail:
	if (*err == NULL)
		*err = strdup("kafka: out of memory");
	kafka_free(k);
	return NULL;
}

static rd_kafka_resp_err_t
produce(struct kafka *k, rd_kafka_topic_t *rkt, const char *key, size_t klen,
    const char *line, size_t len, int64_t ms)
{
	return rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(rkt),
	    RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_VALUE((void *)(uintptr_t)line, len),
	    RD_KAFKA_V_KEY(klen ? key : NULL, klen),
	    RD_KAFKA_V_TIMESTAMP(ms), RD_KAFKA_V_END);
}

void
kafka_produce(struct kafka *k, const struct flow_record *rec, const char *line,
    size_t len)
{
	char key[FORMAT_ADDR_ROOM];
	size_t klen = 0;
	rd_kafka_topic_t *rkt = rec->kind == FLOW_KIND_OPTIONS &&
	    k->options_rkt ? k->options_rkt : k->rkt;
	rd_kafka_resp_err_t err;

	/* the same text as the "exporter" key of the line */
	if (k->key_exporter)
		klen = format_addr(key, sizeof(key), &rec->src->addr);
	atomic_fetch_add(&k->produced, 1);
	while ((err = produce(k, rkt, key, klen, line, len,
	    rec->src->received_ms)) == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
	    k->lossless && !atomic_load(&k->closing))
		sleep_ms(10);   /* the delivery thread makes room */
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		atomic_fetch_add(&k->failed[reason(err)], 1);
}

void
kafka_release_when_settled(struct kafka *k, struct gate *g)
{
	gate_hold(&k->gate, g);
	/* done before it saw g: let go here */
	if (kafka_done(k))
		release_gate(k);
}

void
kafka_close(struct kafka *k, unsigned timeout_ms)
{
	if (k == NULL || atomic_load(&k->closing))
		return;
	atomic_store(&k->close_ms, timeout_ms);
	atomic_store(&k->closing, true);
}

void
kafka_ref(struct kafka *k)
{
	if (k != NULL)
		atomic_fetch_add(&k->refs, 1);
}

void
kafka_unref(struct kafka *k, unsigned timeout_ms)
{
	if (k != NULL && atomic_fetch_sub(&k->refs, 1) == 1)
		kafka_close(k, timeout_ms);
}

bool
kafka_done(struct kafka *k)
{
	return !k->started || atomic_load(&k->done);
}

void
kafka_join(struct kafka *k)
{
	if (!k->started || k->joined)
		return;
	kafka_close(k, 0);
	pthread_join(k->thread, NULL);
	k->joined = true;
}

void
kafka_free(struct kafka *k)
{
	if (k == NULL)
		return;
	kafka_join(k);
	/* only when the delivery thread never started (kafka_new failed) */
	destroy(k);
	release_gate(k);
	pthread_mutex_destroy(&k->error_lock);
	free(k->topic);
	free(k->brokers);
	free(k);
}

void
kafka_stats(struct kafka *k, struct kafka_stats *s)
{
	memset(s, 0, sizeof(*s));
	/* delivered and failed first: then produced >= their sum */
	s->delivered = atomic_load(&k->delivered);
	for (int i = 0; i < KAFKA_FAIL_MAX; i++)
		s->failed[i] = atomic_load(&k->failed[i]);
	s->produced = atomic_load(&k->produced);
	s->queue_bytes = atomic_load(&k->queue_bytes);
	s->queue_msgs = atomic_load(&k->queue_msgs);
	s->brokers = atomic_load(&k->brokers_total);
	s->brokers_up = atomic_load(&k->brokers_up);
	s->errors = atomic_load(&k->errors);
	if (atomic_load(&k->done))
		s->queue_bytes = s->queue_msgs = 0;
}

uint64_t
kafka_error(struct kafka *k, char *buf, size_t size)
{
	pthread_mutex_lock(&k->error_lock);
	snprintf(buf, size, "%s", k->error);
	pthread_mutex_unlock(&k->error_lock);
	return atomic_load(&k->errors);
}

const char *
kafka_topic(const struct kafka *k)
{
	return k->topic;
}

const char *
kafka_brokers(const struct kafka *k)
{
	return k->brokers;
}
