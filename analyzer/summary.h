/* summary: totals and top-N tables (talkers, conversations, services,
 * protocols) over the filtered flows. */
#ifndef ANALYZER_SUMMARY_H
#define ANALYZER_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "conn.h"
#include "flow.h"
#include "resolver.h"
#include "services.h"
#include "stats.h"

struct summary;

struct summary *summary_new(unsigned top);
void summary_free(struct summary *s);
/* service: the flow's services_label(). */
void summary_add_flow(struct summary *s, const struct flow *f, const char *service);
void summary_add_conn(struct summary *s, const struct conn *c);
/* Fix the top-N rows and start looking up their names (res may be NULL). */
void summary_request_names(struct summary *s, struct resolver *res);
bool summary_names_ready(const struct summary *s);
void summary_print(struct summary *s, FILE *out, bool json, const struct stats *st);

#endif
