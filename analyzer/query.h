/* query: the operator's query modes (nfdump's -s statistics, -A
 * aggregation with -P post-filter, the flow listing), over files read in
 * parallel and merged exactly: sums and minima/maxima do not depend on the
 * order they were taken in, and every sort breaks ties on the key, so the
 * output is the same byte for byte whatever --threads says. */
#ifndef ANALYZER_QUERY_H
#define ANALYZER_QUERY_H

#include <stdbool.h>

#include "expr.h"
#include "options.h"

/* True when the command line asks for --stat, --aggregate or --flows. */
bool query_wanted(const struct options *o);
/* The exit status: 0, 1 (input errors, a limit hit), 2 (bad usage). */
int query_main(const struct options *o);
/* --filter / --filter-file compiled into *out (NULL when neither is
 * given); -1 after printing the error with its caret. */
int query_load_filter(const struct options *o, struct expr **out);

#endif
