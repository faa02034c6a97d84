/* Shared between chart.c (the buckets) and chart-render.c (the drawing). */
#ifndef ANALYZER_CHART_PRIVATE_H
#define ANALYZER_CHART_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHART_MAX_BARS 120

struct bval {
	uint32_t id;		/* service id in chart->services, or UINT32_MAX */
	double bytes;
};

struct bucket {
	struct bval *v;
	uint32_t n, cap;
};

struct chart {
	struct tally *services;
	int64_t res_ms;		/* bucket width */
	int64_t origin_ms;	/* start of bucket 0 */
	size_t n;		/* buckets in use */
	struct bucket *b;	/* CHART_CAP of them */
};

int64_t chart_next_res(int64_t res_ms);
void chart_coarsen(struct chart *c);
int chart_render(const struct chart *c, FILE *out);

#endif
