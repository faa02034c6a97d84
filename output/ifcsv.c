/*
 * The interfaces CSV: exporter,ifIndex,name,description,speed, one
 * interface a line, for exporters that send no interface options. Fields
 * may be double-quoted (RFC 4180: "" is a quote inside); '#' starts a
 * comment line; a first line naming the columns is skipped. Sorted once,
 * found by binary search. The file is the operator's, but it is parsed
 * with the care of packet bytes (a fuzz target replays it): bounded
 * lengths, every error a line number, nothing past len read.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich-private.h"

#define FIELDS 5
#define FIELD_MAX 256            /* bytes of one field */
#define ENTRIES_MAX (1u << 20)

struct iftable {
	struct ifentry *e;
	size_t n, cap;
};

struct cursor {
	const char *p, *end;
	unsigned line;
};

static int
err_line(char **err, unsigned line, const char *why)
{
	if (asprintf(err, "line %u: %s", line, why) < 0)
		*err = NULL;
	return -1;
}

/* One field into buf (NUL-terminated); stops at ',' (consumed) or at the
 * line's end (not consumed). 1 more fields follow, 0 last, -1 error. */
static int
field(struct cursor *c, char buf[FIELD_MAX], const char **why)
{
	size_t n = 0;
	bool quoted = c->p < c->end && *c->p == '"';

	if (quoted)
		c->p++;
	for (;;) {
		char ch;

		if (c->p == c->end) {
			if (quoted) {
				*why = "unterminated quoted field";
				return -1;
			}
			break;
		}
		ch = *c->p;
		if (quoted && ch == '"') {
			if (c->p + 1 < c->end && c->p[1] == '"') {
				c->p++;
			} else {
				c->p++;
				quoted = false;
				if (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
				    *c->p != '\r') {
					*why = "text after a closing quote";
					return -1;
				}
				continue;
			}
		} else if (!quoted && (ch == ',' || ch == '\n' || ch == '\r')) {
			break;
		} else if (ch == '\0' || (ch == '\n' && quoted)) {
			*why = ch == '\0' ? "NUL byte" : "line break inside quotes";
			return -1;
		}
		if (n + 1 >= FIELD_MAX) {
			*why = "field longer than 255 bytes";
			return -1;
		}
		buf[n++] = *c->p++;
	}
	buf[n] = '\0';
	if (c->p < c->end && *c->p == ',') {
		c->p++;
		return 1;
	}
	return 0;
}

static void
trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	memmove(s, s + i, n - i + 1);
}

static bool
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static int
add(struct iftable *t, char f[FIELDS][FIELD_MAX], size_t nf, const char **why)
{
	struct ifentry e = { 0 };
	uint64_t v;

	if (nf < 3) {
		*why = "expected exporter,ifIndex,name[,description[,speed]]";
		return -1;
	}
	if (inet_pton(AF_INET, f[0], e.exporter.bytes) == 1)
		e.exporter.family = 4;
	else if (inet_pton(AF_INET6, f[0], e.exporter.bytes) == 1)
		e.exporter.family = 6;
	else {
		*why = "bad exporter address";
		return -1;
	}
	if (!parse_u64(f[1], UINT32_MAX, &v)) {
		*why = "bad ifIndex (0 to 4294967295)";
		return -1;
	}
	e.ifindex = (uint32_t)v;
	if (f[2][0] == '\0') {
		*why = "empty interface name";
		return -1;
	}
	if (nf >= 5 && f[4][0] != '\0' && !parse_u64(f[4], UINT64_MAX, &e.speed)) {
		*why = "bad speed (bits per second)";
		return -1;
	}
	if (t->n == ENTRIES_MAX) {
		*why = "too many interfaces (at most 1048576)";
		return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct ifentry *p = realloc(t->e, cap * sizeof(*p));

		if (p == NULL)
			goto oom;
		t->e = p;
		t->cap = cap;
	}
	if ((e.name = strdup(f[2])) == NULL ||
	    (e.description = strdup(nf >= 4 ? f[3] : "")) == NULL) {
		free(e.name);
		goto oom;
	}
	t->e[t->n++] = e;
	return 0;
oom:
	*why = "out of memory";
	return -1;
}

static int
cmp_key(const struct parser_addr *a, uint32_t ia, const struct ifentry *b)
{
	int c;

	if (a->family != b->exporter.family)
		return a->family < b->exporter.family ? -1 : 1;
	if ((c = memcmp(a->bytes, b->exporter.bytes, a->family == 4 ? 4 : 16)))
		return c;
	return ia < b->ifindex ? -1 : ia > b->ifindex;
}

static int
cmp_entry(const void *x, const void *y)
{
	const struct ifentry *a = x;

	return cmp_key(&a->exporter, a->ifindex, y);
}

/* Reads one line's fields; false at the end of the text. */
static int
line(struct cursor *c, char f[FIELDS][FIELD_MAX], size_t *nf,
    const char **why)
{
	int more = 1;

	*nf = 0;
	while (more == 1) {
		if (*nf == FIELDS) {
			*why = "more than 5 fields";
			return -1;
		}
		if ((more = field(c, f[*nf], why)) < 0)
			return -1;
		trim(f[(*nf)++]);
	}
	/* the line's end */
	if (c->p < c->end && *c->p == '\r')
		c->p++;
	if (c->p < c->end && *c->p == '\n')
		c->p++;
	else if (c->p < c->end) {
		*why = "stray carriage return";
		return -1;
	}
	return 0;
}

struct iftable *
ifcsv_parse(const char *text, size_t len, char **err)
{
	struct iftable *t = calloc(1, sizeof(*t));
	struct cursor c = { .p = text, .end = text + len };
	char (*f)[FIELD_MAX] = malloc(FIELDS * FIELD_MAX);
	const char *why = NULL;
	size_t nf;

	*err = NULL;
	if (t == NULL || f == NULL)
		goto fail;
	while (c.p < c.end) {
		c.line++;
		if (*c.p == '#' || *c.p == '\n' || *c.p == '\r') {
			while (c.p < c.end && *c.p++ != '\n')
				;
			continue;
		}
		if (line(&c, f, &nf, &why) < 0)
			goto bad;
		if (nf == 1 && f[0][0] == '\0')
			continue;       /* blanks only */
		if (t->n == 0 && strcasecmp(f[0], "exporter") == 0)
			continue;
		if (add(t, f, nf, &why) < 0)
			goto bad;
	}
	if (t->n > 0)
		qsort(t->e, t->n, sizeof(*t->e), cmp_entry);
	for (size_t i = 1; i < t->n; i++)
		if (cmp_entry(&t->e[i - 1], &t->e[i]) == 0) {
			char addr[64];

			inet_ntop(t->e[i].exporter.family == 4 ? AF_INET : AF_INET6,
			    t->e[i].exporter.bytes, addr, sizeof(addr));
			if (asprintf(err, "%s ifIndex %u listed twice", addr,
			    t->e[i].ifindex) < 0)
				*err = NULL;
			goto fail;
		}
	free(f);
	return t;
bad:
	if (why == NULL)
		why = "expected exporter,ifIndex,name[,description[,speed]]";
	err_line(err, c.line, why);
fail:
	if (*err == NULL)
		*err = strdup("out of memory");
	free(f);
	iftable_free(t);
	return NULL;
}

void
iftable_free(struct iftable *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].name);
		free(t->e[i].description);
	}
	free(t->e);
	free(t);
}

size_t
iftable_size(const struct iftable *t)
{
	return t ? t->n : 0;
}

const struct ifentry *
iftable_entry(const struct iftable *t, size_t i)
{
	return &t->e[i];
}

const struct ifentry *
iftable_find(const struct iftable *t, const struct parser_addr *exporter,
    uint32_t ifindex)
{
	size_t lo = 0, hi;

	if (t == NULL)
		return NULL;
	hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(exporter, ifindex, &t->e[mid]);

		if (c == 0)
			return &t->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
