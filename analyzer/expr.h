/* expr: nfdump's filter language over netflowd's flow records
 * (`proto tcp and dst port 443 and not net 10.0.0.0/8`), parsed by
 * recursive descent into a tree that is evaluated per flow. The grammar is
 * in netflow-analyze(1). The same language filters aggregated records
 * (--post-filter), where `flows` counts the flows summed into one. */
#ifndef ANALYZER_EXPR_H
#define ANALYZER_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"

#define EXPR_MAX_DEPTH 200

struct expr;

struct expr_error {
	char message[200];
	size_t pos;		/* byte offset of the offending token */
};

/* What one evaluation looks at: line/len are the record's JSON text, read
 * only by `field NAME ...` (NULL where there is none: aggregated records). */
struct expr_input {
	const struct flow *flow;
	uint64_t flows;
	const char *line;
	size_t len;
};

/* NULL and *err filled in when the text is not a filter. */
struct expr *expr_parse(const char *text, struct expr_error *err);
void expr_free(struct expr *e);
bool expr_match(const struct expr *e, const struct expr_input *in);
/* True when some `field` test needs the record's text. */
bool expr_needs_line(const struct expr *e);
/* "what: message", the text's line holding the error and a caret under
 * the offending token (with "LINE n" for a multi-line --filter-file). */
void expr_print_error(FILE *out, const char *what, const char *text,
    const struct expr_error *err);

#endif
