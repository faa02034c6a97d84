/*
 * The config file: every key validated as it is read; the first error
 * wins and is reported as "file:line: message". Nothing is applied until
 * the whole file parsed, so a bad file never half-replaces a good config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "conf.h"
#include "config.h"

#define DEFAULT_RECEIVE_BUFFER (16u << 20)
#define DEFAULT_RECEIVE_QUEUE (64u << 20)

/* Keys that may appear once; a repeat is an error that names the first. */
enum single_key {
	KEY_RECEIVE_BUFFER, KEY_RECEIVE_QUEUE, KEY_DIRECTORY, KEY_ROTATE,
	KEY_COMPRESS, KEY_DIRECT_IO,
	KEY_STATE_FILE, KEY_LEVEL, KEY_METRICS_LISTEN, KEY_MAX
};

struct load_state {
	struct config *c;
	const char *path;
	FILE *f;
	int line;
	bool indented;           /* current line starts with blanks */
	bool listen_seen;        /* first listen= replaces the defaults */
	char prev_section[64], prev_name[64];
	int key_line[KEY_MAX];
	int read_errno;          /* reading the file failed */
	char *err;
	int err_line;
};

static void
free_listeners(struct config *c)
{
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen[i].text);
	free(c->listen);
	c->listen = NULL;
	c->nlisten = 0;
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
	free(c);
}

static int
add_listen(struct config *c, const char *text, char **err)
{
	struct config_listen l, *grown;

	if (config_parse_listen(text, &l, err) < 0)
		return -1;
	for (size_t i = 0; i < c->nlisten; i++) {
		if (c->listen[i].addrlen == l.addrlen &&
		    memcmp(&c->listen[i].addr, &l.addr, l.addrlen) == 0) {
			if (asprintf(err, "duplicate listen address '%s'", text) < 0)
				*err = NULL;
			free(l.text);
			return -1;
		}
	}
	grown = realloc(c->listen, (c->nlisten + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(l.text);
		return -1;
	}
	c->listen = grown;
	c->listen[c->nlisten++] = l;
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
	c->rotate = 60;
	c->direct_io = true;
	c->log_level = 6;
	if (config_set_string(&c->directory, "./flows") < 0 ||
	    add_listen(c, "*:2055", &err) < 0 || add_listen(c, "*:4739", &err) < 0)
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

static int
set_error(struct load_state *st, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;

	if (st->err != NULL)
		return 0;
	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		msg = NULL;
	if (asprintf(&st->err, "%s:%d: %s", st->path, st->line,
	    msg ? msg : "out of memory") < 0)
		st->err = NULL;
	st->err_line = st->line;
	free(msg);
	return 0;
}

/* "value   # comment": inih strips only ';' comments */
static void
strip_comment(char *v)
{
	for (char *p = v; *p; p++) {
		if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	for (size_t n = strlen(v); n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
		v[n - 1] = '\0';
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

static int
collector_key(struct load_state *st, const char *name, const char *v)
{
	struct config *c = st->c;
	char *err = NULL;

	if (strcmp(name, "listen") == 0) {
		if (!st->listen_seen)
			free_listeners(c);
		st->listen_seen = true;
		if (add_listen(c, v, &err) < 0) {
			set_error(st, "%s", err ? err : "out of memory");
			free(err);
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
			return 0;
		if (config_parse_size(v, &c->receive_buffer) < 0 ||
		    c->receive_buffer < 4096 || c->receive_buffer > (1u << 30))
			return set_error(st, "bad size '%s' (e.g. 16M, from 4K to 1G)", v);
	} else if (strcmp(name, "receive_queue") == 0) {
		if (!once(st, KEY_RECEIVE_QUEUE, name))
			return 0;
		if (config_parse_size(v, &c->receive_queue) < 0 ||
		    c->receive_queue < (1u << 20) || c->receive_queue > (1u << 30))
			return set_error(st, "bad size '%s' (e.g. 64M, from 1M to 1G)", v);
	} else {
		return set_error(st, "unknown key '%s' in [%s]", name, "collector");
	}
	return 1;
}

static int
output_key(struct load_state *st, const char *name, const char *v)
{
	struct config *c = st->c;

	if (strcmp(name, "directory") == 0) {
		if (!once(st, KEY_DIRECTORY, name))
			return 0;
		return set_path(st, &c->directory, "directory", v);
	} else if (strcmp(name, "rotate") == 0) {
		if (!once(st, KEY_ROTATE, name))
			return 0;
		if (config_parse_duration(v, &c->rotate) < 0)
			return set_error(st, "bad duration '%s' (e.g. 60, 90s, 5m, 1h; at most 7 days)", v);
	} else if (strcmp(name, "compress") == 0) {
		if (!once(st, KEY_COMPRESS, name))
			return 0;
		if (strcmp(v, "none") == 0)
			c->compress = COMPRESS_NONE;
		else if (strcmp(v, "gzip") == 0)
			c->compress = COMPRESS_GZIP;
		else if (strcmp(v, "zstd") == 0)
#ifdef HAVE_ZSTD
			c->compress = COMPRESS_ZSTD;
#else
			return set_error(st, "netflowd was built without zstd");
#endif
		else
			return set_error(st, "bad compress '%s' (none, gzip or zstd)", v);
	} else if (strcmp(name, "direct_io") == 0) {
		if (!once(st, KEY_DIRECT_IO, name))
			return 0;
		if (strcmp(v, "yes") == 0)
			c->direct_io = true;
		else if (strcmp(v, "no") == 0)
			c->direct_io = false;
		else
			return set_error(st, "bad direct_io '%s' (yes or no)", v);
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
		return 0;
	return set_path(st, &st->c->state_file, "state_file", v);
}

static int
log_key(struct load_state *st, const char *name, const char *v)
{
	if (strcmp(name, "level") != 0)
		return set_error(st, "unknown key '%s' in [%s]", name, "log");
	if (!once(st, KEY_LEVEL, name))
		return 0;
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
		return 0;
	free(c->metrics.text);
	memset(&c->metrics, 0, sizeof(c->metrics));
	c->metrics_enabled = false;
	if (strcmp(v, "off") == 0)
		return 1;
	if (config_parse_listen(v, &c->metrics, &err) < 0) {
		set_error(st, "%s", err ? err : "out of memory");
		free(err);
		return 0;
	}
	c->metrics_enabled = true;
	return 1;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	bool continuation;
	char v[512];

	if (st->err)
		return 1;
	/* inih joins an indented line to the key above it */
	continuation = st->indented && strcmp(section, st->prev_section) == 0 &&
	    strcmp(name, st->prev_name) == 0;
	snprintf(st->prev_section, sizeof(st->prev_section), "%s", section);
	snprintf(st->prev_name, sizeof(st->prev_name), "%s", name);
	if (continuation)
		return set_error(st, "indented line continues '%s' (write one key = value per line)", name);
	if (strlen(value) >= sizeof(v))
		return set_error(st, "value of '%s' too long", name);
	strcpy(v, value);
	strip_comment(v);
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
	if (section[0] == '\0')
		return set_error(st, "key '%s' outside any section", name);
	return set_error(st, "unknown section [%s]", section);
}

static const char *const sections[] = {
	"collector", "output", "templates", "log", "metrics",
};

/* A section header: inih reports sections only with their first key, so
 * an unknown empty section is caught here. */
static void
check_section(struct load_state *st, const char *line)
{
	const char *p = line + strspn(line, " \t"), *end;

	if (*p != '[' || (end = strchr(p, ']')) == NULL)
		return;
	p++;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strlen(sections[i]) == (size_t)(end - p) &&
		    strncmp(p, sections[i], (size_t)(end - p)) == 0)
			return;
	set_error(st, "unknown section [%.*s]", (int)(end - p), p);
}

/* inih hands lines to the handler right after reading them, so counting
 * lines here gives the handler its line number. */
static char *
reader(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	char *r = fgets(str, num, st->f);
	size_t len;

	if (r == NULL) {
		if (ferror(st->f))
			st->read_errno = errno ? errno : EIO;
		return NULL;
	}
	len = strlen(r);
	st->indented = (r[0] == ' ' || r[0] == '\t') &&
	    r[strspn(r, " \t\r\n")] != '\0';
	if (len > 0 && r[len - 1] == '\n') {
		st->line++;
	} else if (!feof(st->f)) {
		/* the rest comes as another chunk: report the line before
		 * the handler sees a piece of it */
		st->line++;
		set_error(st, "line too long");
		st->line--;
	} else {
		st->line++;
	}
	check_section(st, r);
	return r;
}

struct config *
config_load(const char *path, char **err)
{
	struct load_state st = { .path = path };
	int rc;

	*err = NULL;
	if ((st.c = config_new_default()) == NULL ||
	    config_set_string(&st.c->path, path) < 0) {
		*err = strdup("out of memory");
		goto fail;
	}
	if ((st.f = fopen(path, "r")) == NULL) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		goto fail;
	}
	rc = ini_parse_stream(reader, &st, handler, &st);
	fclose(st.f);
	/* inih goes on after a syntax error: the earliest error wins */
	if (rc > 0 && (st.err == NULL || rc < st.err_line)) {
		free(st.err);
		if (asprintf(&st.err, "%s:%d: syntax error (expected key = value or [section])",
		    path, rc) < 0)
			st.err = NULL;
	}
	if (st.read_errno && st.err == NULL) {
		if (asprintf(&st.err, "%s: %s", path, strerror(st.read_errno)) < 0)
			st.err = NULL;
	}
	if (st.err == NULL && st.c->nlisten == 0) {
		if (asprintf(&st.err, "%s: no listen address", path) < 0)
			st.err = NULL;
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

void
config_print(const struct config *c, FILE *f)
{
	fprintf(f, "# effective configuration%s%s\n", c->path ? " from " : "",
	    c->path ? c->path : " (built-in defaults)");
	fprintf(f, "[collector]\n");
	for (size_t i = 0; i < c->nlisten; i++)
		fprintf(f, "listen = %s\n", c->listen[i].text);
	for (size_t i = 0; i < c->nallow; i++) {
		char buf[INET6_ADDRSTRLEN];

		inet_ntop(c->allow[i].family == 4 ? AF_INET : AF_INET6,
		    c->allow[i].bytes, buf, sizeof(buf));
		fprintf(f, "allow = %s/%u\n", buf, c->allow[i].prefix);
	}
	fprintf(f, "receive_buffer = %zu\n", c->receive_buffer);
	fprintf(f, "receive_queue = %zu\n", c->receive_queue);
	fprintf(f, "[output]\ndirectory = %s\nrotate = %u\ncompress = %s\n"
	    "direct_io = %s\n", c->directory, c->rotate,
	    config_compress_name(c->compress), c->direct_io ? "yes" : "no");
	if (c->state_file)
		fprintf(f, "[templates]\nstate_file = %s\n", c->state_file);
	fprintf(f, "[log]\nlevel = %s\n", config_level_name(c->log_level));
	fprintf(f, "[metrics]\nlisten = %s\n",
	    c->metrics_enabled ? c->metrics.text : "off");
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
	    a->direct_io == b->direct_io;
}
