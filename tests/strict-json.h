/*
 * A strict JSON validator for the C tests and the fuzzer, written from
 * RFC 8259 and not from output/json.c: one line must be exactly one
 * object; strings are UTF-8 without overlong forms, surrogates or code
 * points past U+10FFFF, \u escapes pair their surrogates, no raw control
 * characters; numbers follow the grammar (no NaN, Infinity, leading
 * zeros, hex); no object has a key twice (keys compared after unescaping).
 * tests/tools/strictjson.py is the same oracle in Python, built on
 * Python's json module; tests/fuzz/fuzz-json.c holds both to one corpus.
 *
 * strict_json_line(s, len, why) -> true, or false with the reason in why.
 */
#ifndef NETFLOWD_STRICT_JSON_H
#define NETFLOWD_STRICT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRICT_JSON_DEPTH 32

struct sj {
	const unsigned char *start, *p, *end;
	char *why;               /* STRICT_JSON_WHY bytes */
	int depth;
};

#define STRICT_JSON_WHY 128

static inline bool
sj_fail(struct sj *s, const char *what)
{
	if (s->why[0] == '\0')
		snprintf(s->why, STRICT_JSON_WHY, "%s at byte %td", what,
		    (ptrdiff_t)(s->p - s->start));
	return false;
}

static inline void
sj_ws(struct sj *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* One UTF-8 sequence at p (strict: shortest form, no surrogates, at most
 * U+10FFFF); its code point, or -1. */
static inline long
sj_utf8(struct sj *s)
{
	const unsigned char *p = s->p;
	size_t n;
	long cp;

	if (p[0] < 0x80)
		n = 1, cp = p[0];
	else if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return -1;
	if ((size_t)(s->end - p) < n)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	s->p += n;
	return cp;
}

static inline int
sj_hex4(struct sj *s)
{
	int v = 0;

	if (s->end - s->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = s->p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	s->p += 4;
	return v;
}

static inline void
sj_put(char *out, size_t *len, long cp)
{
	if (out == NULL)
		return;
	if (cp < 0x80) {
		out[(*len)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*len)++] = (char)(0xc0 | cp >> 6);
		out[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*len)++] = (char)(0xe0 | cp >> 12);
		out[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*len)++] = (char)(0xf0 | cp >> 18);
		out[(*len)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*len)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* A string at p ('"' ...); its unescaped bytes into out (room for the
 * raw length) when out is not NULL. */
static inline bool
sj_string(struct sj *s, char *out, size_t *len)
{
	*len = 0;
	if (s->p >= s->end || *s->p != '"')
		return sj_fail(s, "expected a string");
	s->p++;
	for (;;) {
		long cp;

		if (s->p >= s->end)
			return sj_fail(s, "unterminated string");
		if (*s->p == '"') {
			s->p++;
			return true;
		}
		if (*s->p < 0x20)
			return sj_fail(s, "raw control character in a string");
		if (*s->p != '\\') {
			if ((cp = sj_utf8(s)) < 0)
				return sj_fail(s, "invalid UTF-8");
			sj_put(out, len, cp);
			continue;
		}
		if (++s->p >= s->end)
			return sj_fail(s, "unterminated escape");
		switch (*s->p++) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if ((cp = sj_hex4(s)) < 0)
				return sj_fail(s, "bad \\u escape");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return sj_fail(s, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				int lo;

				if (s->end - s->p < 2 || s->p[0] != '\\' ||
				    s->p[1] != 'u')
					return sj_fail(s, "lone high surrogate");
				s->p += 2;
				lo = sj_hex4(s);
				if (lo < 0xdc00 || lo > 0xdfff)
					return sj_fail(s, "lone high surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			break;
		default:
			return sj_fail(s, "bad escape");
		}
		sj_put(out, len, cp);
	}
}

static inline bool
sj_digits(struct sj *s)
{
	const unsigned char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

static inline bool
sj_number(struct sj *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!sj_digits(s))
		return sj_fail(s, "bad number");
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!sj_digits(s))
			return sj_fail(s, "bad fraction");
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!sj_digits(s))
			return sj_fail(s, "bad exponent");
	}
	return true;
}

static inline bool sj_value(struct sj *s);

static inline bool
sj_literal(struct sj *s, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return sj_fail(s, "unexpected character");
	s->p += n;
	return true;
}

static inline bool
sj_array(struct sj *s)
{
	s->p++;
	sj_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return true;
	}
	for (;;) {
		if (!sj_value(s))
			return false;
		sj_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			return true;
		}
		return sj_fail(s, "expected , or ]");
	}
}

/* The bytes of the string at p, quotes included (unescaped, it is no
 * longer). */
static inline size_t
sj_raw_len(const struct sj *s)
{
	size_t n = (size_t)(s->end - s->p), i = 1;

	while (i < n) {
		if (s->p[i] == '\\')
			i += 2;
		else if (s->p[i++] == '"')
			return i;
	}
	return n;
}

struct sj_key {
	char *s;
	size_t len;
};

static inline bool
sj_object(struct sj *s)
{
	struct sj_key *keys = NULL;
	size_t nkeys = 0, cap = 0;
	bool ok = false;

	s->p++;
	sj_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return true;
	}
	for (;;) {
		char *k = malloc(sj_raw_len(s) + 1);
		size_t klen;

		if (k == NULL) {
			sj_fail(s, "out of memory");
			break;
		}
		if (!sj_string(s, k, &klen)) {
			free(k);
			break;
		}
		for (size_t i = 0; i < nkeys; i++)
			if (keys[i].len == klen && memcmp(keys[i].s, k, klen) == 0) {
				free(k);
				k = NULL;
				break;
			}
		if (k == NULL) {
			sj_fail(s, "duplicate key");
			break;
		}
		if (nkeys == cap) {
			struct sj_key *n = realloc(keys, (cap = cap ? 2 * cap : 16) *
			    sizeof(*keys));

			if (n == NULL) {
				free(k);
				sj_fail(s, "out of memory");
				break;
			}
			keys = n;
		}
		keys[nkeys++] = (struct sj_key){ k, klen };
		sj_ws(s);
		if (s->p >= s->end || *s->p != ':') {
			sj_fail(s, "expected :");
			break;
		}
		s->p++;
		if (!sj_value(s))
			break;
		sj_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			sj_ws(s);
			continue;
		}
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			ok = true;
		} else {
			sj_fail(s, "expected , or }");
		}
		break;
	}
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i].s);
	free(keys);
	return ok;
}

static inline bool
sj_value(struct sj *s)
{
	size_t len;
	bool ok;

	sj_ws(s);
	if (s->p >= s->end)
		return sj_fail(s, "expected a value");
	if (++s->depth > STRICT_JSON_DEPTH)
		return sj_fail(s, "nested too deep");
	switch (*s->p) {
	case '{': ok = sj_object(s); break;
	case '[': ok = sj_array(s); break;
	case '"': ok = sj_string(s, NULL, &len); break;
	case 't': ok = sj_literal(s, "true"); break;
	case 'f': ok = sj_literal(s, "false"); break;
	case 'n': ok = sj_literal(s, "null"); break;
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			ok = sj_number(s);
		else
			ok = sj_fail(s, "unexpected character");
	}
	s->depth--;
	return ok;
}

/* One line: exactly one object, nothing but whitespace around it, and no
 * newline inside (the caller strips the one at the end). */
static inline bool
strict_json_line(const char *line, size_t len, char why[STRICT_JSON_WHY])
{
	struct sj s = { (const unsigned char *)line, (const unsigned char *)line,
	    (const unsigned char *)line + len, why, 0 };

	why[0] = '\0';
	if (memchr(line, '\n', len) != NULL)
		return sj_fail(&s, "newline inside the line");
	sj_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return sj_fail(&s, "not an object");
	if (!sj_value(&s))
		return false;
	sj_ws(&s);
	if (s.p != s.end)
		return sj_fail(&s, "text after the object");
	return true;
}

/* Every '\n'-terminated line of buf; the number of bad lines (each told
 * on stderr). */
static inline size_t
strict_json_lines(const char *what, const char *buf, size_t len)
{
	char why[STRICT_JSON_WHY];
	size_t bad = 0, n = 0;

	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t l = nl ? (size_t)(nl - buf) : len;

		n++;
		if (nl == NULL) {
			fprintf(stderr, "%s:%zu: no newline at the end\n", what, n);
			return bad + 1;
		}
		if (!strict_json_line(buf, l, why)) {
			fprintf(stderr, "%s:%zu: not strict JSON: %s: %.*s\n", what,
			    n, why, (int)(l < 200 ? l : 200), buf);
			bad++;
		}
		buf += l + 1;
		len -= l + 1;
	}
	return bad;
}

#endif
