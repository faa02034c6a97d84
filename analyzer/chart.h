/* chart: traffic over time (bytes per interval), stacked by the top
 * services, written as an SVG bar chart. Memory is a fixed number of time
 * buckets whose width grows (1 s, 5 s, 10 s, 30 s, 1 min ... 1 day, 1 week)
 * as the data's time span does. */
#ifndef ANALYZER_CHART_H
#define ANALYZER_CHART_H

#include "flow.h"

#define CHART_SERIES 8

struct chart;

struct chart *chart_new(void);
void chart_free(struct chart *c);
/* The flow's bytes are spread evenly over its duration. */
void chart_add(struct chart *c, const struct flow *f, const char *service);
/* Prints the reason and returns -1 on failure. */
int chart_write(struct chart *c, const char *path);

#endif
