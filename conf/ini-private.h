/*
 * The INI reader under config_load(). libinih (its Debian build) cuts
 * lines at 200 bytes although paths may be 3,072, reports a NUL byte as a
 * long line and passes binary bytes through; this reader knows the
 * difference and says which.
 */
#ifndef NETFLOWD_CONF_INI_PRIVATE_H
#define NETFLOWD_CONF_INI_PRIVATE_H

#include <stdio.h>

/* longest line: a 3,072-byte path with its key and some comment */
#define INI_LINE_MAX 4096
/* the section after a bad [section] line (a file cannot name it: control
 * bytes are refused) */
#define INI_NO_SECTION "\x01"

enum ini_error {
	INI_OK,
	INI_SYNTAX,              /* neither [section] nor key = value */
	INI_TOO_LONG,            /* longer than INI_LINE_MAX */
	INI_NUL,                 /* a NUL byte */
	INI_BINARY,              /* a control byte other than tab and CR */
	INI_CONTINUATION,        /* an indented line after a key */
	INI_READ,                /* reading failed (errno) */
};

struct ini_result;

struct ini_ops {
	/* a [section] line; 0 stops reading */
	int (*section)(void *user, int line, const char *section);
	/* key = value (comment and blanks stripped); 0 stops reading */
	int (*key)(void *user, int line, const char *section, const char *name,
	    const char *value);
	/* a bad line (r->error, r->line ...); reading goes on with the next
	 * one, except after INI_READ. NULL: the first bad line stops. */
	void (*error)(void *user, const struct ini_result *r);
};

struct ini_result {
	enum ini_error error;
	int line;                /* of the error */
	int column;              /* of a bad byte, from 1 */
	unsigned char byte;      /* the bad byte */
	char key[64];            /* INI_CONTINUATION: the key it continues */
	int sections;            /* [section] lines seen */
};

/* Reads f to its end, or to a stop, a read error or (without ops->error)
 * the first bad line; 0, or -1 when a line was bad (the last one in *r).
 * The keys after a bad [section] line are skipped up to the next good
 * one: they would be taken for keys of the section before. */
int ini_read(FILE *f, const struct ini_ops *ops, void *user,
    struct ini_result *r);

#endif
