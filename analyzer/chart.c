#include "chart.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chart-private.h"
#include "tally.h"
#include "timeutil.h"

#define CHART_CAP 1000
#define MAX_SERVICES 4096
#define OTHER_ID UINT32_MAX

static const int64_t ladder_s[] = {
	1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 604800,
};

struct chart *
chart_new(void)
{
	struct chart *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->b = calloc(CHART_CAP, sizeof(*c->b));
	c->services = tally_new(TALLY_KEY_MAX, MAX_SERVICES);
	if (!c->b || !c->services) {
		chart_free(c);
		return NULL;
	}
	return c;
}

void
chart_free(struct chart *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->b && i < CHART_CAP; i++)
		free(c->b[i].v);
	free(c->b);
	tally_free(c->services);
	free(c);
}

int64_t
chart_next_res(int64_t res_ms)
{
	for (size_t i = 0; i + 1 < sizeof(ladder_s) / sizeof(*ladder_s); i++)
		if (ladder_s[i] * 1000 == res_ms)
			return ladder_s[i + 1] * 1000;
	return res_ms * 2;
}

static void
bucket_add(struct bucket *b, uint32_t id, double bytes)
{
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->v[i].id == id) {
			b->v[i].bytes += bytes;
			return;
		}
	}
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 4;
		struct bval *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct bval){ id, bytes };
}

/* Wider buckets: merge bucket i into j = its new index (j <= i). */
void
chart_coarsen(struct chart *c)
{
	int64_t res = chart_next_res(c->res_ms);
	int64_t origin = time_floor_div(c->origin_ms, res) * res;
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct bucket tmp = c->b[i];
		size_t j = (size_t)((c->origin_ms + (int64_t)i * c->res_ms - origin) / res);
		memset(&c->b[i], 0, sizeof(c->b[i]));
		if (c->b[j].n == 0 && !c->b[j].v) {
			c->b[j] = tmp;
		} else {
			for (uint32_t k = 0; k < tmp.n; k++)
				bucket_add(&c->b[j], tmp.v[k].id, tmp.v[k].bytes);
			free(tmp.v);
		}
		n = j + 1;
	}
	c->res_ms = res;
	c->origin_ms = origin;
	c->n = n;
}

/* Make [t0, t1] addressable, widening buckets until the span fits. */
static void
cover(struct chart *c, int64_t t0, int64_t t1)
{
	if (c->n == 0) {
		c->res_ms = 1000;
		c->origin_ms = time_floor_div(t0, c->res_ms) * c->res_ms;
	}
	for (;;) {
		int64_t lo = time_floor_div(t0, c->res_ms) * c->res_ms;
		if (lo > c->origin_ms)
			lo = c->origin_ms;
		int64_t hi = c->origin_ms + (int64_t)(c->n ? c->n - 1 : 0) * c->res_ms;
		if (t1 > hi)
			hi = t1;
		if ((hi - lo) / c->res_ms < CHART_CAP) {
			size_t shift = (size_t)((c->origin_ms - lo) / c->res_ms);
			if (shift > 0 && c->n > 0) {
				memmove(c->b + shift, c->b, c->n * sizeof(*c->b));
				memset(c->b, 0, shift * sizeof(*c->b));
			}
			c->n = c->n ? c->n + shift : 1;
			c->origin_ms = lo;
			size_t last = (size_t)((hi - lo) / c->res_ms) + 1;
			if (last > c->n)
				c->n = last;
			return;
		}
		chart_coarsen(c);
	}
}

void
chart_add(struct chart *c, const struct flow *f, const char *service)
{
	char key[TALLY_KEY_MAX] = { 0 };
	int64_t t0 = f->start_ms, t1 = f->end_ms > f->start_ms ? f->end_ms : f->start_ms;

	strncpy(key, service, sizeof(key) - 1);
	size_t id = tally_add(c->services, key, f->bytes, f->packets);
	uint32_t sid = id == (size_t)-1 ? OTHER_ID : (uint32_t)id;
	if (f->bytes == 0)
		return;
	cover(c, t0, t1);
	size_t i0 = (size_t)((t0 - c->origin_ms) / c->res_ms);
	size_t i1 = (size_t)((t1 - c->origin_ms) / c->res_ms);
	if (i0 == i1) {
		bucket_add(&c->b[i0], sid, (double)f->bytes);
		return;
	}
	for (size_t i = i0; i <= i1; i++) {
		int64_t b0 = c->origin_ms + (int64_t)i * c->res_ms, b1 = b0 + c->res_ms;
		int64_t o = (t1 < b1 ? t1 : b1) - (t0 > b0 ? t0 : b0);
		if (o > 0)
			bucket_add(&c->b[i], sid, (double)f->bytes * (double)o / (double)(t1 - t0));
	}
}

int
chart_write(struct chart *c, const char *path)
{
	FILE *out = fopen(path, "we");

	if (!out) {
		fprintf(stderr, "netflow-analyze: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (c->n > CHART_MAX_BARS)
		chart_coarsen(c);
	int r = chart_render(c, out);
	if (fclose(out) != 0)
		r = -1;
	if (r < 0)
		fprintf(stderr, "netflow-analyze: %s: write failed\n", path);
	return r;
}
