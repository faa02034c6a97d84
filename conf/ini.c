/*
 * INI as netflowd.conf(5) describes it: [section], key = value, comments
 * from ';' or '#' at the start of a line or after a blank, blank lines.
 * An indented line right after a key is refused as a continuation (inih
 * would have joined it to the value). Lines are bounded; NUL and other
 * control bytes are refused with their position.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ini-private.h"

static bool
blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Reads one line without its newline into buf; -1 at the end of the
 * file, else 0 with r->error set when the line is bad. */
static int
read_line(FILE *f, char *buf, struct ini_result *r)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (r->error != INI_OK)
			continue;        /* the rest of a bad line */
		if (n == INI_LINE_MAX) {
			r->error = INI_TOO_LONG;
			continue;
		}
		if (ch == '\0' || (ch < 0x20 && ch != '\t' && ch != '\r') ||
		    ch == 0x7f) {
			r->error = ch == '\0' ? INI_NUL : INI_BINARY;
			r->column = (int)n + 1;
			r->byte = (unsigned char)ch;
			continue;
		}
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	if (ferror(f)) {
		r->error = INI_READ;
		if (errno == 0)
			errno = EIO;
		return 0;
	}
	return ch == EOF && n == 0 && r->error == INI_OK ? -1 : 0;
}

/* Cuts a comment (';' or '#' first or after a blank) and trailing blanks. */
static void
strip(char *s)
{
	size_t n;

	for (char *p = s; *p; p++)
		if ((*p == ';' || *p == '#') && (p == s || blank(p[-1]))) {
			*p = '\0';
			break;
		}
	for (n = strlen(s); n > 0 && (blank(s[n - 1]) || s[n - 1] == '\r'); n--)
		s[n - 1] = '\0';
}

static int
section_line(char *p, char *section, const struct ini_ops *ops, void *user,
    struct ini_result *r)
{
	char *end = strchr(p, ']');

	if (end == NULL || end[1 + strspn(end + 1, " \t")] != '\0') {
		r->error = INI_SYNTAX;
		return -1;
	}
	*end = '\0';
	snprintf(section, INI_LINE_MAX, "%s", p + 1);
	r->sections++;
	return ops->section(user, r->line, section) ? 0 : -1;
}

static int
key_line(char *p, const char *section, const struct ini_ops *ops,
    void *user, struct ini_result *r)
{
	char *eq = strchr(p, '='), *value;
	size_t n;

	if (eq == NULL || eq == p) {
		r->error = INI_SYNTAX;
		return -1;
	}
	for (n = (size_t)(eq - p); n > 0 && blank(p[n - 1]); n--)
		;
	p[n] = '\0';
	if (n == 0) {
		r->error = INI_SYNTAX;
		return -1;
	}
	value = eq + 1 + strspn(eq + 1, " \t");
	snprintf(r->key, sizeof(r->key), "%s", p);
	return ops->key(user, r->line, section, p, value) ? 0 : -1;
}

/* One line; -1 stops reading. */
static int
parse_line(char *buf, char *section, const struct ini_ops *ops, void *user,
    struct ini_result *r)
{
	char *p = buf;

	/* a UTF-8 byte order mark, as editors on other systems write one */
	if (r->line == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	if (*p == ';' || *p == '#')
		return 0;
	strip(p);
	if (blank(*p)) {
		p += strspn(p, " \t");
		if (*p != '\0' && r->key[0] != '\0') {
			r->error = INI_CONTINUATION;
			return -1;
		}
	}
	if (*p == '\0' || *p == ';' || *p == '#')
		return 0;
	if (*p == '[') {
		r->key[0] = '\0';
		return section_line(p, section, ops, user, r);
	}
	if (strcmp(section, INI_NO_SECTION) == 0)
		return 0;
	return key_line(p, section, ops, user, r);
}

int
ini_read(FILE *f, const struct ini_ops *ops, void *user, struct ini_result *r)
{
	char *buf = malloc(INI_LINE_MAX + 1), *section = calloc(1, INI_LINE_MAX);
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (buf == NULL || section == NULL) {
		r->error = INI_READ;
		errno = ENOMEM;
		rc = -1;
		goto out;
	}
	for (;;) {
		r->line++;
		if (read_line(f, buf, r) < 0) {
			r->line--;
			break;
		}
		if (r->error == INI_OK &&
		    parse_line(buf, section, ops, user, r) < 0 && r->error == INI_OK)
			break;           /* a callback said stop */
		if (r->error == INI_OK)
			continue;
		rc = -1;
		if (ops->error == NULL || r->error == INI_READ)
			break;
		/* a bad [section] line: no section until the next good one */
		if (buf[strspn(buf, " \t")] == '[')
			snprintf(section, INI_LINE_MAX, "%s", INI_NO_SECTION);
		ops->error(user, r);
		r->error = INI_OK;
		r->key[0] = '\0';
	}
out:
	free(buf);
	free(section);
	return rc;
}
