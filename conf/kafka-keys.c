/*
 * The [kafka] section. Every property goes through rd_kafka_conf_set as
 * its line is read, into a librdkafka conf object the producer later
 * duplicates, so a bad key or value (ours or an option.NAME pass-through)
 * is a "file:line: message" at `netflowd -n` and at reload, never a
 * producer that fails to start after the old one is gone.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conf-private.h"
#include "conf.h"

#ifdef HAVE_KAFKA
#include <librdkafka/rdkafka.h>

#define DEFAULT_QUEUE ((size_t)256 << 20)
#define DEFAULT_MESSAGE_TIMEOUT 300          /* seconds, librdkafka's own */
#define SECRET_MAX 4096

enum kafka_key {
	K_BROKERS, K_TOPIC, K_OPTIONS_TOPIC, K_KEY, K_COMPRESSION, K_ACKS,
	K_QUEUE, K_MESSAGE_TIMEOUT, K_CLIENT_ID, K_SASL_PASSWORD_FILE, K_MAX
};

static const char *const key_names[K_MAX] = {
	"brokers", "topic", "options_topic", "key", "compression", "acks",
	"queue", "message_timeout", "client_id", "sasl_password_file",
};

/* what `-n` prints of option.NAME, in file order */
struct kafka_option {
	char *name, *value;
	STAILQ_ENTRY(kafka_option) entry;
};

static int
set(struct config_kafka *k, const char *name, const char *value, char **err)
{
	char errstr[512];

	if (rd_kafka_conf_set(k->rdconf, name, value, errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK)
		return conf_fail(err, "%s", errstr);
	return 0;
}

/* Our defaults, which keys and option.NAME lines below may override:
 * an idempotent producer (acks=all), lz4, a queue bounded in bytes only
 * (librdkafka's default of 100000 messages is a tenth of a second of a
 * busy collector). */
static struct config_kafka *
kafka_new_defaults(int line, char **err)
{
	struct config_kafka *k = calloc(1, sizeof(*k));
	char kbytes[32];

	if (k == NULL || (k->rdconf = rd_kafka_conf_new()) == NULL)
		goto oom;
	STAILQ_INIT(&k->options);
	k->line = line;
	k->key_exporter = true;
	k->queue = DEFAULT_QUEUE;
	k->message_timeout = DEFAULT_MESSAGE_TIMEOUT;
	snprintf(k->compression, sizeof(k->compression), "lz4");
	snprintf(k->acks, sizeof(k->acks), "all");
	snprintf(kbytes, sizeof(kbytes), "%zu", k->queue >> 10);
	if (set(k, "compression.codec", "lz4", err) < 0 ||
	    set(k, "acks", "all", err) < 0 ||
	    set(k, "enable.idempotence", "true", err) < 0 ||
	    set(k, "queue.buffering.max.kbytes", kbytes, err) < 0 ||
	    set(k, "queue.buffering.max.messages", "2147483647", err) < 0 ||
	    set(k, "message.timeout.ms", "300000", err) < 0 ||
	    set(k, "client.id", "netflowd", err) < 0) {
		config_kafka_free(k);
		return NULL;
	}
	return k;
oom:
	config_kafka_free(k);
	*err = strdup("out of memory");
	return NULL;
}

void
config_kafka_free(struct config_kafka *k)
{
	struct kafka_option *o;

	if (k == NULL)
		return;
	while ((o = STAILQ_FIRST(&k->options)) != NULL) {
		STAILQ_REMOVE_HEAD(&k->options, entry);
		free(o->name);
		free(o->value);
		free(o);
	}
	if (k->rdconf)
		rd_kafka_conf_destroy(k->rdconf);
	free(k->brokers);
	free(k->topic);
	free(k->options_topic);
	free(k->client_id);
	free(k->sasl_password_file);
	free(k);
}

static int
one_of(const char *v, const char *const *allowed, char *out, size_t size)
{
	for (; *allowed; allowed++) {
		if (strcmp(v, *allowed) == 0) {
			snprintf(out, size, "%s", v);
			return 0;
		}
	}
	return -1;
}

/* The secret never enters the config's printable fields: it goes
 * straight into the librdkafka conf, and the buffer is wiped. */
static int
read_secret(struct config_kafka *k, const char *path, char **err)
{
	char buf[SECRET_MAX];
	size_t n;
	FILE *f = fopen(path, "re");
	int rc;

	if (f == NULL)
		return conf_fail(err, "sasl_password_file %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	rc = ferror(f) ? -1 : 0;
	fclose(f);
	if (rc < 0 || n == sizeof(buf) - 1) {
		explicit_bzero(buf, sizeof(buf));
		return conf_fail(err, "sasl_password_file %s: %s", path,
		    rc < 0 ? "read error" : "too long");
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	rc = set(k, "sasl.password", buf, err);
	explicit_bzero(buf, sizeof(buf));
	if (rc == 0 && config_set_string(&k->sasl_password_file, path) < 0)
		return conf_fail(err, "out of memory");
	return rc;
}

static int
add_option(struct config_kafka *k, const char *name, const char *v, char **err)
{
	struct kafka_option *o;

	if (strcmp(name, "sasl.password") == 0)
		return conf_fail(err, "option.sasl.password: put the secret in a file "
		    "and name it in sasl_password_file");
	if (strcmp(name, "bootstrap.servers") == 0 ||
	    strcmp(name, "metadata.broker.list") == 0)
		return conf_fail(err, "option.%s: use brokers =", name);
	if (set(k, name, v, err) < 0) {
		char *msg = *err;

		conf_fail(err, "option.%s: %s", name, msg ? msg : "out of memory");
		free(msg);
		return -1;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->name = strdup(name)) == NULL || (o->value = strdup(v)) == NULL) {
		if (o)
			free(o->name);
		free(o);
		return conf_fail(err, "out of memory");
	}
	STAILQ_INSERT_TAIL(&k->options, o, entry);
	return 0;
}

static int
size_key(struct config_kafka *k, const char *v, char **err)
{
	char kbytes[32];

	if (config_parse_size(v, &k->queue) < 0 || k->queue < (1u << 20) ||
	    k->queue > ((size_t)2 << 30))
		return conf_fail(err, "bad queue size '%s' (e.g. 256M, from 1M to 2G)", v);
	snprintf(kbytes, sizeof(kbytes), "%zu", k->queue >> 10);
	return set(k, "queue.buffering.max.kbytes", kbytes, err);
}

static int
timeout_key(struct config_kafka *k, const char *v, char **err)
{
	char ms[32];

	if (config_parse_duration(v, &k->message_timeout) < 0 ||
	    k->message_timeout > 86400)
		return conf_fail(err, "bad message_timeout '%s' (e.g. 30s, 5m; at most 1 day)", v);
	snprintf(ms, sizeof(ms), "%u", k->message_timeout * 1000);
	return set(k, "message.timeout.ms", ms, err);
}

static int
choice_key(struct config_kafka *k, enum kafka_key key, const char *v,
    char **err)
{
	static const char *const codecs[] = {
		"none", "gzip", "snappy", "lz4", "zstd", NULL };
	static const char *const acks[] = { "all", "1", "0", NULL };
	static const char *const keys[] = { "exporter", "none", NULL };
	char word[16];

	switch (key) {
	case K_KEY:
		if (one_of(v, keys, word, sizeof(word)) < 0)
			return conf_fail(err, "bad key '%s' (exporter or none)", v);
		k->key_exporter = strcmp(v, "exporter") == 0;
		return 0;
	case K_COMPRESSION:
		if (one_of(v, codecs, k->compression, sizeof(k->compression)) < 0)
			return conf_fail(err, "bad compression '%s' (none, gzip, snappy, lz4 or zstd)", v);
		return set(k, "compression.codec", v, err);
	default:
		if (one_of(v, acks, k->acks, sizeof(k->acks)) < 0)
			return conf_fail(err, "bad acks '%s' (all, 1 or 0)", v);
		/* the idempotent producer needs acks=all; with fewer acks
		 * retries may duplicate, which the operator chose */
		if (set(k, "enable.idempotence", strcmp(v, "all") == 0 ?
		    "true" : "false", err) < 0)
			return -1;
		return set(k, "acks", v, err);
	}
}

static int
string_key(struct config_kafka *k, enum kafka_key key, const char *v,
    char **err)
{
	char **slot = key == K_BROKERS ? &k->brokers : key == K_TOPIC ?
	    &k->topic : key == K_OPTIONS_TOPIC ? &k->options_topic : &k->client_id;

	if (v[0] == '\0')
		return conf_fail(err, "empty %s", key_names[key]);
	if (config_set_string(slot, v) < 0)
		return conf_fail(err, "out of memory");
	if (key == K_BROKERS)
		return set(k, "bootstrap.servers", v, err);
	if (key == K_CLIENT_ID)
		return set(k, "client.id", v, err);
	return 0;
}

static int
apply(struct config_kafka *k, enum kafka_key key, const char *v, char **err)
{
	switch (key) {
	case K_QUEUE:
		return size_key(k, v, err);
	case K_MESSAGE_TIMEOUT:
		return timeout_key(k, v, err);
	case K_KEY:
	case K_COMPRESSION:
	case K_ACKS:
		return choice_key(k, key, v, err);
	case K_SASL_PASSWORD_FILE:
		return read_secret(k, v, err);
	default:
		return string_key(k, key, v, err);
	}
}

int
config_kafka_key(struct config_kafka **kp, const char *name, const char *v,
    int line, char **err)
{
	struct config_kafka *k = *kp;

	*err = NULL;
	if (k == NULL && (k = *kp = kafka_new_defaults(line, err)) == NULL)
		return -1;
	if (strncmp(name, "option.", 7) == 0 && name[7] != '\0')
		return add_option(k, name + 7, v, err);
	for (int i = 0; i < K_MAX; i++) {
		if (strcmp(name, key_names[i]) != 0)
			continue;
		if (k->key_line[i] != 0)
			return conf_fail(err, "duplicate key '%s' (first set on line %d)",
			    name, k->key_line[i]);
		k->key_line[i] = line;
		return apply(k, (enum kafka_key)i, v, err);
	}
	return conf_fail(err, "unknown key '%s' in [kafka]", name);
}

int
config_kafka_check(const struct config_kafka *k, char **err)
{
	*err = NULL;
	if (k == NULL || k->brokers == NULL)
		return conf_fail(err, "[kafka] needs brokers = HOST:PORT,...");
	if (k->topic == NULL)
		return conf_fail(err, "[kafka] needs topic =");
	return 0;
}

/* Anything that looks like a secret is shown as such. */
static bool
secret_name(const char *name)
{
	return strstr(name, "password") || strstr(name, "secret") ||
	    strstr(name, "sasl.oauthbearer.config");
}

void
config_kafka_print(const struct config_kafka *k, FILE *f)
{
	const struct kafka_option *o;

	fprintf(f, "[kafka]\nbrokers = %s\ntopic = %s\n", k->brokers, k->topic);
	if (k->options_topic)
		fprintf(f, "options_topic = %s\n", k->options_topic);
	fprintf(f, "key = %s\ncompression = %s\nacks = %s\nqueue = %zu\n"
	    "message_timeout = %u\n", k->key_exporter ? "exporter" : "none",
	    k->compression, k->acks, k->queue, k->message_timeout);
	if (k->client_id)
		fprintf(f, "client_id = %s\n", k->client_id);
	if (k->sasl_password_file)
		fprintf(f, "sasl_password_file = %s\n", k->sasl_password_file);
	STAILQ_FOREACH(o, &k->options, entry)
		fprintf(f, "option.%s = %s\n", o->name,
		    secret_name(o->name) ? "(secret, not shown)" : o->value);
}

/* Name, value pairs; pointer properties (the default topic conf, an
 * opaque) differ between two copies of the same settings. */
static bool
dumps_equal(const char **da, size_t na, const char **db, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i + 1 < na; i += 2) {
		if (strcmp(da[i], db[i]) != 0)
			return false;
		if (strcmp(da[i], "default_topic_conf") == 0 ||
		    strcmp(da[i], "opaque") == 0)
			continue;
		if (strcmp(da[i + 1], db[i + 1]) != 0)
			return false;
	}
	return true;
}

/* Every effective librdkafka property, global and topic (the secret
 * included), and ours. */
bool
config_kafka_equal(const struct config_kafka *a, const struct config_kafka *b)
{
	const char **da, **db;
	size_t na, nb;
	bool same;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->key_exporter != b->key_exporter || strcmp(a->topic, b->topic) ||
	    (a->options_topic == NULL) != (b->options_topic == NULL) ||
	    (a->options_topic && strcmp(a->options_topic, b->options_topic)))
		return false;
	da = rd_kafka_conf_dump(a->rdconf, &na);
	db = rd_kafka_conf_dump(b->rdconf, &nb);
	same = dumps_equal(da, na, db, nb);
	rd_kafka_conf_dump_free(da, na);
	rd_kafka_conf_dump_free(db, nb);
	if (!same)
		return false;
	da = rd_kafka_topic_conf_dump(
	    rd_kafka_conf_get_default_topic_conf(a->rdconf), &na);
	db = rd_kafka_topic_conf_dump(
	    rd_kafka_conf_get_default_topic_conf(b->rdconf), &nb);
	same = dumps_equal(da, na, db, nb);
	rd_kafka_conf_dump_free(da, na);
	rd_kafka_conf_dump_free(db, nb);
	return same;
}

#else /* !HAVE_KAFKA */

int
config_kafka_key(struct config_kafka **kp, const char *name, const char *v,
    int line, char **err)
{
	*err = strdup("built without Kafka support (librdkafka); "
	    "remove the [kafka] section");
	return -1;
}

int
config_kafka_check(const struct config_kafka *k, char **err)
{
	*err = strdup("built without Kafka support (librdkafka); "
	    "remove the [kafka] section");
	return -1;
}

void
config_kafka_free(struct config_kafka *k)
{
}

void
config_kafka_print(const struct config_kafka *k, FILE *f)
{
}

bool
config_kafka_equal(const struct config_kafka *a, const struct config_kafka *b)
{
	return a == b;
}

#endif
