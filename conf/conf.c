/*
 * The config file: every key validated as it is read; every error is
 * reported, one "file:line: message" a line (up to MAX_ERRORS of them),
 * so one edit fixes the whole file. Nothing is applied until the whole
 * file parsed, so a bad file never half-replaces a good config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "config.h"
#include "ini-private.h"
#include "output.h"

/* compress is handed to the output as it is */
_Static_assert((int)COMPRESS_NONE == (int)OUTPUT_COMPRESS_NONE &&
    (int)COMPRESS_GZIP == (int)OUTPUT_COMPRESS_GZIP &&
    (int)COMPRESS_ZSTD == (int)OUTPUT_COMPRESS_ZSTD &&
    (int)COMPRESS_LZ4 == (int)OUTPUT_COMPRESS_LZ4, "one order of codecs");

#define DEFAULT_RECEIVE_BUFFER (16u << 20)
#define DEFAULT_RECEIVE_QUEUE (64u << 20)
/* the parser's defaults (parser_limits_default()) */
#define DEFAULT_MAX_EXPORTERS 1024
#define DEFAULT_HELD_DATA (16u << 20)
/* errors reported of one file; the rest are counted */
#define MAX_ERRORS 20

/* Keys that may appear once; a repeat is an error that names the first. */
enum single_key {
	KEY_RECEIVE_BUFFER, KEY_RECEIVE_QUEUE, KEY_DIRECTORY, KEY_ROTATE,
	KEY_COMPRESS, KEY_DIRECT_IO, KEY_FAIR_PREFIX, KEY_FILES, KEY_OUTPUT_LEVEL, KEY_ADAPT,
	KEY_THREADS, KEY_STATE_FILE, KEY_LEVEL, KEY_METRICS_LISTEN,
	KEY_MAX_EXPORTERS, KEY_HELD_DATA, KEY_MAX_SESSIONS, KEY_SESSION_IDLE,
	KEY_SESSION_BUFFER, KEY_TLS_HANDSHAKE, KEY_TLS_CERTIFICATE, KEY_TLS_KEY,
	KEY_TLS_CLIENT_CA, KEY_MAX
};

struct load_state {
	struct config *c;
	const char *path;
	int line;
	bool listen_seen;        /* first listen= replaces the defaults */
	int kafka_line;          /* of the [kafka] header, 0 when none */
	int enrich_line;         /* of the [enrich] header, 0 when none */
	int key_line[KEY_MAX];
	char *err;               /* the errors so far, one a line */
	size_t nerrors;
};

static void
free_list(struct config_listen **list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*list)[i].text);
	free(*list);
	*list = NULL;
	*n = 0;
}

static void
free_listeners(struct config *c)
{
	free_list(&c->listen, &c->nlisten);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free_listeners(c);
	free(c->allow);
	free(c->path);
	free(c->directory);
	free(c->state_file);
	free(c->metrics.text);
	config_kafka_free(c->kafka);
	free_list(&c->listen_tcp, &c->nlisten_tcp);
	free_list(&c->listen_tls, &c->nlisten_tls);
	free(c->tls_certificate);
	free(c->tls_key);
	free(c->tls_client_ca);
	config_enrich_free(c->enrich);
	free(c);
}

static int
add_to(struct config_listen **list, size_t *n, const char *key,
    const char *text, char **err)
{
	struct config_listen l, *grown;

	if (config_parse_listen(text, &l, err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		if ((*list)[i].addrlen == l.addrlen &&
		    memcmp(&(*list)[i].addr, &l.addr, l.addrlen) == 0) {
			if (asprintf(err, "duplicate %s address '%s'", key,
			    text) < 0)
				*err = NULL;
			free(l.text);
			return -1;
		}
	}
	grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(l.text);
		return -1;
	}
	*list = grown;
	(*list)[(*n)++] = l;
	return 0;
}

static int
add_listen(struct config *c, const char *text, char **err)
{
	return add_to(&c->listen, &c->nlisten, "listen", text, err);
}

/* listen_tcp and listen_tls: a TCP port is one or the other */
static int
add_stream(struct config *c, bool tls, const char *text, int line,
    char **err)
{
	struct config_listen *other = tls ? c->listen_tcp : c->listen_tls;
	size_t nother = tls ? c->nlisten_tcp : c->nlisten_tls;
	struct config_listen **list = tls ? &c->listen_tls : &c->listen_tcp;
	size_t *n = tls ? &c->nlisten_tls : &c->nlisten_tcp;

	if (add_to(list, n, tls ? "listen_tls" : "listen_tcp", text, err) < 0)
		return -1;
	(*list)[*n - 1].line = line;
	for (size_t i = 0; i < nother; i++)
		if (config_listen_equal(&other[i], &(*list)[*n - 1])) {
			if (asprintf(err, "'%s' is both listen_tcp and "
			    "listen_tls", text) < 0)
				*err = NULL;
			return -1;
		}
	return 0;
}

struct config *
config_new_default(void)
{
	struct config *c = calloc(1, sizeof(*c));
	char *err = NULL;

	if (c == NULL)
		return NULL;
	c->receive_buffer = DEFAULT_RECEIVE_BUFFER;
	c->receive_queue = DEFAULT_RECEIVE_QUEUE;
	c->max_exporters = DEFAULT_MAX_EXPORTERS;
	c->held_data = DEFAULT_HELD_DATA;
	c->rotate = 60;
	c->direct_io = true;
	c->fair_prefix4 = 24;
	c->fair_prefix6 = 64;
	c->files = true;
	c->compress_adapt = true;
	c->log_level = 6;
	c->listen_default = true;
	c->max_sessions = CONFIG_DEFAULT_MAX_SESSIONS;
	c->session_idle = CONFIG_DEFAULT_SESSION_IDLE;
	c->session_buffer = CONFIG_DEFAULT_SESSION_BUFFER;
	c->tls_handshake = CONFIG_DEFAULT_TLS_HANDSHAKE;
	if (config_set_string(&c->directory, "./flows") < 0 ||
	    add_listen(c, "*:2055", &err) < 0 || add_listen(c, "*:4739", &err) < 0 ||
	    add_listen(c, "*:6343", &err) < 0)
		goto fail;
	return c;
fail:
	free(err);
	config_free(c);
	return NULL;
}

int
config_set_ports(struct config *c, const uint16_t *ports, size_t n, char **err)
{
	free_listeners(c);
	for (size_t i = 0; i < n; i++) {
		char text[16];

		snprintf(text, sizeof(text), "*:%u", ports[i]);
		if (add_listen(c, text, err) < 0)
			return -1;
	}
	return 0;
}

static int
parse_net(const char *text, struct config_net *n)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	unsigned long prefix;
	unsigned max;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	memset(n, 0, sizeof(*n));
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, n->bytes) == 1) {
		n->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->bytes) == 1) {
		n->family = 6;
		max = 128;
	} else {
		return -1;
	}
	prefix = max;
	if (slash) {
		/* digits only: strtoul would take "-0" (and "-1" as a huge
		 * number), and /0 allows everyone */
		if (*slash < '0' || *slash > '9')
			return -1;
		errno = 0;
		prefix = strtoul(slash, &end, 10);
		if (errno || *slash == '\0' || *end != '\0' || prefix > max)
			return -1;
	}
	n->prefix = (uint8_t)prefix;
	return 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff00 >> rest)) == 0;
}

bool
config_allowed(const struct config *c, uint8_t family, const uint8_t *bytes)
{
	if (c->nallow == 0)
		return true;
	for (size_t i = 0; i < c->nallow; i++)
		if (c->allow[i].family == family &&
		    prefix_match(c->allow[i].bytes, bytes, c->allow[i].prefix))
			return true;
	return false;
}

static int set_error(struct load_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A message that quotes the file is made printable: control bytes and
 * bytes outside ASCII become \xNN, so a binary file cannot write raw
 * bytes into the log (or the terminal). */
static char *
escape(const char *msg)
{
	size_t n = 0;
	char *out = malloc(strlen(msg) * 4 + 1);

	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			out[n++] = (char)*p;
		else
			n += (size_t)sprintf(out + n, "\\x%02x", *p);
	}
	out[n] = '\0';
	return out;
}

/* Adds one error line (already "file:..." when raw) to st->err. */
static void
add_error(struct load_state *st, const char *raw)
{
	char *line = raw ? escape(raw) : NULL, *joined;

	if (++st->nerrors > MAX_ERRORS) {
		free(line);
		return;
	}
	if (asprintf(&joined, "%s%s%s", st->err ? st->err : "",
	    st->err ? "\n" : "", line ? line : "out of memory") < 0) {
		free(line);
		return;
	}
	free(st->err);
	st->err = joined;
	free(line);
}

/* An error of the current line; reading goes on (returns 1, for "return
 * set_error(...)" in a key handler). */
static int
set_error(struct load_state *st, const char *fmt, ...)
{
	va_list ap;
	char *msg, *raw;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		msg = NULL;
	if (asprintf(&raw, "%s:%d: %s", st->path, st->line,
	    msg ? msg : "out of memory") < 0)
		raw = NULL;
	add_error(st, raw);
	free(raw);
	free(msg);
	return 1;
}

/* Keeps a size or duration as written, for -n; one too long for the slot
 * (leading zeros, say) is printed from its value instead. */
static void
written(char slot[24], const char *v)
{
	if (strlen(v) < 24)
		strcpy(slot, v);
	else
		slot[0] = '\0';
}

/* A key that may appear once: remembers where, refuses a repeat. */
static bool
once(struct load_state *st, enum single_key k, const char *name)
{
	if (st->key_line[k] != 0) {
		set_error(st, "duplicate key '%s' (first set on line %d)", name,
		    st->key_line[k]);
		return false;
	}
	st->key_line[k] = st->line;
	return true;
}

static int
set_path(struct load_state *st, char **slot, const char *name, const char *v)
{
	if (v[0] == '\0')
		return set_error(st, "empty %s", name);
	if (strlen(v) > 3072)
		return set_error(st, "%s too long", name);
	if (config_set_string(slot, v) < 0)
		return set_error(st, "out of memory");
	return 1;
}

/* [collector]'s keys of IPFIX over TCP and TLS */
static int
stream_key(struct load_state *st, const char *name, const char *v)
{
	struct config *c = st->c;
	char *err = NULL;

	if (strcmp(name, "listen_tcp") == 0 || strcmp(name, "listen_tls") == 0) {
		if (add_stream(c, name[7] == 't' && name[8] == 'l', v, st->line,
		    &err) < 0) {
			set_error(st, "%s", err ? err : "out of memory");
			free(err);
		}
	} else if (strcmp(name, "max_sessions") == 0) {
		if (!once(st, KEY_MAX_SESSIONS, name))
			return 1;
		if (config_parse_count(v, &c->max_sessions) < 0 ||
		    c->max_sessions < 1 || c->max_sessions > 65536)
			return set_error(st, "bad number '%s' (from 1 to 65536)", v);
	} else if (strcmp(name, "session_idle") == 0) {
		if (!once(st, KEY_SESSION_IDLE, name))
			return 1;
		if (config_parse_duration(v, &c->session_idle) < 0 ||
		    c->session_idle < 1)
			return set_error(st, "bad duration '%s' (e.g. 90s, 10m; "
			    "at least 1 s)", v);
		written(c->session_idle_text, v);
	} else if (strcmp(name, "session_buffer") == 0) {
		if (!once(st, KEY_SESSION_BUFFER, name))
			return 1;
		/* the longest IPFIX message is 65535 bytes */
		if (config_parse_size(v, &c->session_buffer) < 0 ||
		    c->session_buffer < 16 || c->session_buffer > 65535)
			return set_error(st, "bad size '%s' (from 16 to 65535 "
			    "bytes: the longest message a session may send)", v);
		written(c->session_buffer_text, v);
	} else if (strcmp(name, "tls_handshake") == 0) {
		if (!once(st, KEY_TLS_HANDSHAKE, name))
			return 1;
		if (config_parse_duration(v, &c->tls_handshake) < 0 ||
		    c->tls_handshake < 1)
			return set_error(st, "bad duration '%s' (e.g. 10s)", v);
	} else if (strcmp(name, "tls_certificate") == 0) {
		if (!once(st, KEY_TLS_CERTIFICATE, name))
			return 1;
		return set_path(st, &c->tls_certificate, name, v);
	} else if (strcmp(name, "tls_key") == 0) {
		if (!once(st, KEY_TLS_KEY, name))
			return 1;
		return set_path(st, &c->tls_key, name, v);
	} else if (strcmp(name, "tls_client_ca") == 0) {
		if (!once(st, KEY_TLS_CLIENT_CA, name))
			return 1;
		return set_path(st, &c->tls_client_ca, name, v);
	} else {
		return set_error(st, "unknown key '%s' in [%s]", name, "collector");
	}
	return 1;
}

static int
collector_key(struct load_state *st, const char *name, const char *v)
{
	struct config *c = st->c;
	char *err = NULL;

	if (strcmp(name, "listen") == 0) {
		if (!st->listen_seen)
			free_listeners(c);
		st->listen_seen = true;
		c->listen_default = false;
		if (add_listen(c, v, &err) < 0) {
			set_error(st, "%s", err ? err : "out of memory");
			free(err);
		} else {
			c->listen[c->nlisten - 1].line = st->line;
		}
	} else if (strcmp(name, "allow") == 0) {
		struct config_net n, *grown;

		if (parse_net(v, &n) < 0)
			return set_error(st, "bad address or prefix '%s'", v);
		if ((grown = realloc(c->allow, (c->nallow + 1) * sizeof(n))) == NULL)
			return set_error(st, "out of memory");
		c->allow = grown;
		c->allow[c->nallow++] = n;
	} else if (strcmp(name, "receive_buffer") == 0) {
		if (!once(st, KEY_RECEIVE_BUFFER, name))
			return 1;
		if (config_parse_size(v, &c->receive_buffer) < 0 ||
		    c->receive_buffer < 4096 || c->receive_buffer > (1u << 30))
			return set_error(st, "bad size '%s' (e.g. 16M, from 4K to 1G)", v);
		written(c->receive_buffer_text, v);
	} else if (strcmp(name, "receive_queue") == 0) {
		if (!once(st, KEY_RECEIVE_QUEUE, name))
			return 1;
		if (config_parse_size(v, &c->receive_queue) < 0 ||
		    c->receive_queue < (1u << 20) || c->receive_queue > (1u << 30))
			return set_error(st, "bad size '%s' (e.g. 64M, from 1M to 1G)", v);
		written(c->receive_queue_text, v);
	} else if (strcmp(name, "max_exporters") == 0) {
		if (!once(st, KEY_MAX_EXPORTERS, name))
			return 1;
		if (config_parse_count(v, &c->max_exporters) < 0 ||
		    c->max_exporters < 1 || c->max_exporters > (1u << 20))
			return set_error(st, "bad number '%s' (from 1 to 1048576)", v);
	} else if (strcmp(name, "held_data") == 0) {
		if (!once(st, KEY_HELD_DATA, name))
			return 1;
		if (config_parse_size(v, &c->held_data) < 0 ||
		    c->held_data < (64u << 10) || c->held_data > (1u << 30))
			return set_error(st, "bad size '%s' (e.g. 16M, from 64K to 1G)", v);
		written(c->held_data_text, v);
	} else {
		return stream_key(st, name, v);
	}
	return 1;
}

static int
output_key(struct load_state *st, const char *name, const char *v)
{
	struct config *c = st->c;

	if (strcmp(name, "directory") == 0) {
		if (!once(st, KEY_DIRECTORY, name))
			return 1;
		return set_path(st, &c->directory, "directory", v);
	} else if (strcmp(name, "rotate") == 0) {
		if (!once(st, KEY_ROTATE, name))
			return 1;
		if (config_parse_duration(v, &c->rotate) < 0)
			return set_error(st, "bad duration '%s' (e.g. 60, 90s, 5m, 1h; at most 7 days)", v);
		written(c->rotate_text, v);
	} else if (strcmp(name, "compress") == 0) {
		if (!once(st, KEY_COMPRESS, name))
			return 1;
		if (strcmp(v, "none") == 0)
			c->compress = COMPRESS_NONE;
		else if (strcmp(v, "gzip") == 0)
			c->compress = COMPRESS_GZIP;
		else if (strcmp(v, "zstd") == 0)
			c->compress = COMPRESS_ZSTD;
		else if (strcmp(v, "lz4") == 0)
			c->compress = COMPRESS_LZ4;
		else
			return set_error(st, "bad compress '%s' (none, gzip, zstd or lz4)", v);
		if (!output_compress_available((enum output_compress)c->compress))
			return set_error(st, "compress = %s: this netflowd was built without it", v);
	} else if (strcmp(name, "direct_io") == 0) {
		if (!once(st, KEY_DIRECT_IO, name))
			return 1;
		if (strcmp(v, "yes") == 0)
			c->direct_io = true;
		else if (strcmp(v, "no") == 0)
			c->direct_io = false;
		else
			return set_error(st, "bad direct_io '%s' (yes or no)", v);
	} else if (strcmp(name, "fair_prefix") == 0) {
		unsigned long p4, p6;
		char *end;

		if (!once(st, KEY_FAIR_PREFIX, name))
			return 1;
		errno = 0;
		p4 = strtoul(v, &end, 10);
		if (end == v || *end != '/' || errno != 0 || p4 > 32 ||
		    v[0] == '-')
			return set_error(st, "bad fair_prefix '%s' (IPv4/IPv6 "
			    "prefix lengths, e.g. 24/64)", v);
		v = end + 1;
		p6 = strtoul(v, &end, 10);
		if (end == v || *end != '\0' || errno != 0 || p6 > 128 ||
		    v[0] == '-')
			return set_error(st, "bad fair_prefix (IPv6 length "
			    "'%s': 0 to 128)", v);
		c->fair_prefix4 = (unsigned)p4;
		c->fair_prefix6 = (unsigned)p6;
	} else if (strcmp(name, "files") == 0) {
		if (!once(st, KEY_FILES, name))
			return 1;
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return set_error(st, "bad files '%s' (yes or no)", v);
		c->files = strcmp(v, "yes") == 0;
	} else if (strcmp(name, "level") == 0) {
		char *end;
		long n;

		if (!once(st, KEY_OUTPUT_LEVEL, name))
			return 1;
		errno = 0;
		n = strtol(v, &end, 10);
		if (end == v || *end != '\0' || errno != 0 || n < INT_MIN ||
		    n > INT_MAX)
			return set_error(st, "bad level '%s' (a number)", v);
		/* checked against compress at the end: it may come later */
		c->compress_level = (int)n;
		c->compress_level_set = true;
	} else if (strcmp(name, "adapt") == 0) {
		if (!once(st, KEY_ADAPT, name))
			return 1;
		if (strcmp(v, "yes") == 0)
			c->compress_adapt = true;
		else if (strcmp(v, "no") == 0)
			c->compress_adapt = false;
		else
			return set_error(st, "bad adapt '%s' (yes or no)", v);
	} else if (strcmp(name, "threads") == 0) {
		char *end;
		unsigned long n;

		if (!once(st, KEY_THREADS, name))
			return 1;
		if (strcmp(v, "auto") == 0) {
			c->compress_threads = 0;
			return 1;
		}
		n = strtoul(v, &end, 10);
		if (end == v || *end != '\0' || v[0] == '-' || n < 1 || n > 8)
			return set_error(st, "bad threads '%s' (auto or 1 to 8)", v);
		c->compress_threads = (unsigned)n;
	} else {
		return set_error(st, "unknown key '%s' in [%s]", name, "output");
	}
	return 1;
}

static int
templates_key(struct load_state *st, const char *name, const char *v)
{
	if (strcmp(name, "state_file") != 0)
		return set_error(st, "unknown key '%s' in [%s]", name, "templates");
	if (!once(st, KEY_STATE_FILE, name))
		return 1;
	return set_path(st, &st->c->state_file, "state_file", v);
}

static int
log_key(struct load_state *st, const char *name, const char *v)
{
	if (strcmp(name, "level") != 0)
		return set_error(st, "unknown key '%s' in [%s]", name, "log");
	if (!once(st, KEY_LEVEL, name))
		return 1;
	if (config_parse_level(v, &st->c->log_level) < 0)
		return set_error(st, "bad log level '%s' (err, warning, notice, info, debug)", v);
	return 1;
}

static int
metrics_key(struct load_state *st, const char *name, const char *v)
{
	struct config *c = st->c;
	char *err = NULL;

	if (strcmp(name, "listen") != 0)
		return set_error(st, "unknown key '%s' in [%s]", name, "metrics");
	if (!once(st, KEY_METRICS_LISTEN, name))
		return 1;
	free(c->metrics.text);
	memset(&c->metrics, 0, sizeof(c->metrics));
	c->metrics_enabled = false;
	if (strcmp(v, "off") == 0)
		return 1;
	if (config_parse_listen(v, &c->metrics, &err) < 0) {
		set_error(st, "%s", err ? err : "out of memory");
		free(err);
		return 1;
	}
	c->metrics_enabled = true;
	c->metrics.line = st->line;
	return 1;
}

static int
kafka_key(struct load_state *st, const char *name, const char *v)
{
	char *err = NULL;

	if (config_kafka_key(&st->c->kafka, name, v, st->line, &err) < 0)
		set_error(st, "%s", err ? err : "out of memory");
	free(err);
	return 1;
}

static int
enrich_key(struct load_state *st, const char *name, const char *v)
{
	char *err = NULL;

	if (config_enrich_key(&st->c->enrich, name, v, st->line, &err) < 0)
		set_error(st, "%s", err ? err : "out of memory");
	free(err);
	return 1;
}

static int
on_key(void *user, int line, const char *section, const char *name,
    const char *v)
{
	struct load_state *st = user;

	st->line = line;
	if (strcmp(section, "collector") == 0)
		return collector_key(st, name, v);
	if (strcmp(section, "output") == 0)
		return output_key(st, name, v);
	if (strcmp(section, "templates") == 0)
		return templates_key(st, name, v);
	if (strcmp(section, "log") == 0)
		return log_key(st, name, v);
	if (strcmp(section, "metrics") == 0)
		return metrics_key(st, name, v);
	if (strcmp(section, "kafka") == 0)
		return kafka_key(st, name, v);
	if (strcmp(section, "enrich") == 0)
		return enrich_key(st, name, v);
	if (section[0] == '\0')
		return set_error(st, "key '%s' outside any section", name);
	return 1;        /* of an unknown section: its header was reported */
}

static const char *const sections[] = {
	"collector", "output", "templates", "log", "metrics", "kafka",
	"enrich",
};

/* Every section header, also of a section with no keys. */
static int
on_section(void *user, int line, const char *section)
{
	struct load_state *st = user;

	st->line = line;
	if (strcmp(section, "kafka") == 0 && st->kafka_line == 0)
		st->kafka_line = line;
	if (strcmp(section, "enrich") == 0 && st->enrich_line == 0)
		st->enrich_line = line;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(section, sections[i]) == 0)
			return 1;
	return set_error(st, "unknown section [%s]", section);
}

/* What the reader refused, as "file:line: message"; it goes on with the
 * next line. */
static void
reader_error(void *user, const struct ini_result *r)
{
	struct load_state *st = user;

	st->line = r->line;
	switch (r->error) {
	case INI_SYNTAX:
		set_error(st, "syntax error (expected key = value or [section])");
		break;
	case INI_TOO_LONG:
		set_error(st, "line too long (at most %d bytes)", INI_LINE_MAX);
		break;
	case INI_NUL:
		set_error(st, "NUL byte at column %d (not a text file?)", r->column);
		break;
	case INI_BINARY:
		set_error(st, "control character 0x%02x at column %d (not a text "
		    "file?)", r->byte, r->column);
		break;
	case INI_CONTINUATION:
		set_error(st, "indented line continues '%s' (write one key = value "
		    "per line)", r->key);
		break;
	case INI_READ: {
		char *msg;

		if (asprintf(&msg, "%s: %s", st->path, strerror(errno)) < 0)
			msg = NULL;
		add_error(st, msg);
		free(msg);
		break;
	}
	case INI_OK:
		break;
	}
}

/* level against the codec, once both are known */
static void
check_level(struct load_state *st)
{
	struct config *c = st->c;
	enum output_compress oc = (enum output_compress)c->compress;

	if (!c->compress_level_set ||
	    output_compress_level_ok(oc, c->compress_level))
		return;
	st->line = st->key_line[KEY_OUTPUT_LEVEL];
	if (c->compress == COMPRESS_NONE)
		set_error(st, "level without compress");
	else
		set_error(st, "bad level %d for compress = %s (zstd -50 to 19, "
		    "gzip 1 to 9, lz4 -65537 to 12)", c->compress_level,
		    config_compress_name(c->compress));
}

/* An error of the whole file (no line, or a line of its own). */
static void
file_error(struct load_state *st, int line, const char *msg)
{
	char *raw;
	int rc = line > 0 ? asprintf(&raw, "%s:%d: %s", st->path, line, msg) :
	    asprintf(&raw, "%s: %s", st->path, msg);

	add_error(st, rc < 0 ? NULL : raw);
	if (rc >= 0)
		free(raw);
}

/* listen_tls needs its certificate and key; the files are read (and
 * checked) when the listener opens, so -n and a reload see them too. */
static void
check_tls(struct load_state *st)
{
	const struct config *c = st->c;

	if (c->nlisten_tls == 0)
		return;
	if (c->tls_certificate == NULL)
		file_error(st, c->listen_tls[0].line,
		    "listen_tls needs tls_certificate");
	if (c->tls_key == NULL)
		file_error(st, c->listen_tls[0].line, "listen_tls needs tls_key");
}

/* What only the whole file can tell. */
static void
check_file(struct load_state *st, const struct ini_result *r)
{
	/* an empty or cut-off file would silently be the built-in defaults
	 * (listening on every address): a file says at least one section */
	if (st->err == NULL && r->sections == 0)
		file_error(st, 0, "no [section] at all (empty or not a netflowd "
		    "config?); a file that wants the defaults says [collector]");
	if (st->kafka_line) {
		char *msg = NULL;

		if (config_kafka_check(st->c->kafka, &msg) < 0)
			file_error(st, st->kafka_line, msg ? msg : "out of memory");
		free(msg);
	}
	if (st->enrich_line) {
		char *msg = NULL;

		if (st->c->enrich == NULL)
			file_error(st, st->enrich_line, "[enrich] needs "
			    "asn_database, country_database or interfaces");
		else if (config_enrich_check(st->c->enrich, &msg) < 0)
			file_error(st, st->enrich_line, msg ? msg : "out of memory");
		free(msg);
	}
	if (!st->c->files && st->c->kafka == NULL && st->kafka_line == 0)
		file_error(st, st->key_line[KEY_FILES],
		    "files = no needs a [kafka] section");
	check_level(st);
	if (st->err == NULL && st->c->nlisten == 0 && st->c->nlisten_tcp == 0 &&
	    st->c->nlisten_tls == 0)
		file_error(st, 0, "no listen address");
	check_tls(st);
}

struct config *
config_load(const char *path, char **err)
{
	struct load_state st = { .path = path };
	const struct ini_ops ops = { .section = on_section, .key = on_key,
	    .error = reader_error };
	struct ini_result r;
	FILE *f;

	*err = NULL;
	if ((st.c = config_new_default()) == NULL ||
	    config_set_string(&st.c->path, path) < 0) {
		*err = strdup("out of memory");
		goto fail;
	}
	if ((f = fopen(path, "r")) == NULL) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		goto fail;
	}
	if (ini_read(f, &ops, &st, &r) < 0 && r.error == INI_READ)
		reader_error(&st, &r);
	fclose(f);
	if (r.error != INI_READ)
		check_file(&st, &r);
	if (st.nerrors > MAX_ERRORS && st.err != NULL) {
		/* the last line kept gives way to the count of the rest */
		char *nl = strrchr(st.err, '\n'), msg[96];

		if (nl != NULL)
			*nl = '\0';
		snprintf(msg, sizeof(msg), "%zu more errors not shown",
		    st.nerrors - (MAX_ERRORS - 1));
		st.nerrors = MAX_ERRORS - 1;     /* so that this one is added */
		file_error(&st, 0, msg);
	}
	if (st.err != NULL) {
		*err = st.err;
		goto fail;
	}
	return st.c;
fail:
	if (*err == NULL)
		*err = strdup("out of memory");
	config_free(st.c);
	return NULL;
}

/* A size as the file wrote it, when that is still the value (a command
 * line may have changed it since), else in the largest unit that
 * divides it: 16M, not 16777216. */
static const char *
size_text(size_t v, const char *text, char buf[32])
{
	size_t parsed;

	if (text[0] != '\0' && config_parse_size(text, &parsed) == 0 && parsed == v)
		return text;
	if (v != 0 && v % (1u << 30) == 0)
		snprintf(buf, 32, "%zuG", v >> 30);
	else if (v != 0 && v % (1u << 20) == 0)
		snprintf(buf, 32, "%zuM", v >> 20);
	else if (v != 0 && v % (1u << 10) == 0)
		snprintf(buf, 32, "%zuK", v >> 10);
	else
		snprintf(buf, 32, "%zu", v);
	return buf;
}

/* The same for a duration: 5m, 1h, 90s. */
static const char *
duration_text(unsigned v, const char *text, char buf[32])
{
	unsigned parsed;

	if (text[0] != '\0' && config_parse_duration(text, &parsed) == 0 &&
	    parsed == v)
		return text;
	if (v != 0 && v % 3600 == 0)
		snprintf(buf, 32, "%uh", v / 3600);
	else if (v != 0 && v % 60 == 0)
		snprintf(buf, 32, "%um", v / 60);
	else
		snprintf(buf, 32, "%us", v);
	return buf;
}

void
config_print(const struct config *c, FILE *f)
{
	char buf[32];

	fprintf(f, "# effective configuration%s%s\n", c->path ? " from " : "",
	    c->path ? c->path : " (built-in defaults)");
	fprintf(f, "[collector]\n");
	for (size_t i = 0; i < c->nlisten; i++)
		fprintf(f, "listen = %s\n", c->listen[i].text);
	for (size_t i = 0; i < c->nallow; i++) {
		char addr[INET6_ADDRSTRLEN];

		inet_ntop(c->allow[i].family == 4 ? AF_INET : AF_INET6,
		    c->allow[i].bytes, addr, sizeof(addr));
		fprintf(f, "allow = %s/%u\n", addr, c->allow[i].prefix);
	}
	fprintf(f, "receive_buffer = %s\n", size_text(c->receive_buffer,
	    c->receive_buffer_text, buf));
	fprintf(f, "receive_queue = %s\n", size_text(c->receive_queue,
	    c->receive_queue_text, buf));
	fprintf(f, "max_exporters = %zu\n", c->max_exporters);
	fprintf(f, "held_data = %s\n", size_text(c->held_data,
	    c->held_data_text, buf));
	for (size_t i = 0; i < c->nlisten_tcp; i++)
		fprintf(f, "listen_tcp = %s\n", c->listen_tcp[i].text);
	for (size_t i = 0; i < c->nlisten_tls; i++)
		fprintf(f, "listen_tls = %s\n", c->listen_tls[i].text);
	fprintf(f, "max_sessions = %zu\n", c->max_sessions);
	fprintf(f, "session_idle = %s\n", duration_text(c->session_idle,
	    c->session_idle_text, buf));
	fprintf(f, "session_buffer = %s\n", size_text(c->session_buffer,
	    c->session_buffer_text, buf));
	if (c->nlisten_tls > 0 || c->tls_certificate)
		fprintf(f, "tls_certificate = %s\ntls_key = %s\n"
		    "tls_client_ca = %s\ntls_handshake = %us\n",
		    c->tls_certificate ? c->tls_certificate : "",
		    c->tls_key ? c->tls_key : "",
		    c->tls_client_ca ? c->tls_client_ca : "none",
		    c->tls_handshake);
	fprintf(f, "[output]\ndirectory = %s\nrotate = %s\ncompress = %s\n"
	    "direct_io = %s\nfiles = %s\nfair_prefix = %u/%u\n", c->directory,
	    duration_text(c->rotate, c->rotate_text, buf),
	    config_compress_name(c->compress), c->direct_io ? "yes" : "no",
	    c->files ? "yes" : "no", c->fair_prefix4, c->fair_prefix6);
	if (c->compress != COMPRESS_NONE)
		fprintf(f, "level = %d\nadapt = %s\n", c->compress_level_set ?
		    c->compress_level : output_compress_default_level(
		    (enum output_compress)c->compress),
		    c->compress_adapt ? "yes" : "no");
	if (c->compress_threads)
		fprintf(f, "threads = %u\n", c->compress_threads);
	else
		fprintf(f, "threads = auto\n");
	if (c->state_file)
		fprintf(f, "[templates]\nstate_file = %s\n", c->state_file);
	fprintf(f, "[log]\nlevel = %s\n", config_level_name(c->log_level));
	fprintf(f, "[metrics]\nlisten = %s\n",
	    c->metrics_enabled ? c->metrics.text : "off");
	if (c->kafka)
		config_kafka_print(c->kafka, f);
	if (c->enrich)
		config_enrich_print(c->enrich, f);
}

bool
config_listen_equal(const struct config_listen *a, const struct config_listen *b)
{
	return a->addrlen == b->addrlen && a->dual_stack == b->dual_stack &&
	    memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

bool
config_output_equal(const struct config *a, const struct config *b)
{
	return strcmp(a->directory, b->directory) == 0 &&
	    a->rotate == b->rotate && a->compress == b->compress &&
	    a->direct_io == b->direct_io && a->files == b->files &&
	    a->compress_level_set == b->compress_level_set &&
	    a->compress_level == b->compress_level &&
	    a->compress_adapt == b->compress_adapt &&
	    a->compress_threads == b->compress_threads &&
	    a->fair_prefix4 == b->fair_prefix4 &&
	    a->fair_prefix6 == b->fair_prefix6;
}
