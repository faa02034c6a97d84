/* report: the connection list, in text (the original tool's line) or JSON
 * lines. Lines wait, in order, until both host names are known. */
#ifndef ANALYZER_REPORT_H
#define ANALYZER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conn.h"
#include "resolver.h"
#include "services.h"

struct report;

/* res NULL: addresses only (-n). */
struct report *report_new(FILE *out, bool json, struct services *svc, struct resolver *res);
void report_free(struct report *r);
void report_add(struct report *r, const struct conn *c);
/* Print every line at the head of the queue whose names are known. */
void report_pump(struct report *r);
size_t report_backlog(const struct report *r);

#endif
