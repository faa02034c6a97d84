#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chart.h"
#include "chart-private.h"
#include "format.h"
#include "svg.h"
#include "tally.h"
#include "timeutil.h"

#define WIDTH 1000
#define HEIGHT 540
#define PLOT_X0 90.0
#define PLOT_X1 770.0
#define PLOT_Y0 70.0
#define PLOT_Y1 470.0

static const char *const colors[CHART_SERIES + 1] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#bab0ac",
};

struct layout {
	const struct chart *c;
	size_t nseries;		/* named series, then maybe "other" */
	bool other;
	const char *names[CHART_SERIES + 1];
	double totals[CHART_SERIES + 1];
	double *values;		/* c->n x (CHART_SERIES + 1) */
	double ymax;		/* top of the y axis, bytes */
	double ystep;
	double unit;		/* 1, 1024, 1024^2, 1024^3 */
	char unit_name[4];
};

static double
value(const struct layout *l, size_t bucket, size_t series)
{
	return l->values[bucket * (CHART_SERIES + 1) + series];
}

/* Top services become series 0..k-1; everything else "other" (series k). */
static int
build_series(struct layout *l)
{
	const struct chart *c = l->c;
	const struct tally_row *top[CHART_SERIES];
	size_t count = tally_count(c->services);
	size_t *map = calloc(count ? count : 1, sizeof(*map));

	l->values = calloc(c->n ? c->n * (CHART_SERIES + 1) : 1, sizeof(*l->values));
	if (!map || !l->values) {
		free(map);
		return -1;
	}
	size_t k = tally_top(c->services, top, CHART_SERIES);
	for (size_t i = 0; i < count; i++)
		map[i] = k;
	for (size_t i = 0; i < k; i++) {
		map[top[i]->id] = i;
		l->names[i] = (const char *)top[i]->key;
	}
	l->nseries = k;
	for (size_t b = 0; b < c->n; b++) {
		for (uint32_t j = 0; j < c->b[b].n; j++) {
			const struct bval *v = &c->b[b].v[j];
			size_t s = v->id < count ? map[v->id] : k;
			l->values[b * (CHART_SERIES + 1) + s] += v->bytes;
			l->totals[s] += v->bytes;
			l->other = l->other || s == k;
		}
	}
	if (l->other) {
		l->names[k] = "other";
		l->nseries = k + 1;
	}
	free(map);
	return 0;
}

/* A round axis top: 1, 2 or 5 x 10^n in the largest fitting 1024 unit. */
static void
scale_axis(struct layout *l)
{
	static const char *const units[] = { "B", "K", "M", "G" };
	double max = 0;

	for (size_t b = 0; b < l->c->n; b++) {
		double sum = 0;
		for (size_t s = 0; s < l->nseries; s++)
			sum += value(l, b, s);
		if (sum > max)
			max = sum;
	}
	int u = 0;
	l->unit = 1;
	while (u < 3 && max / l->unit >= 1024) {
		l->unit *= 1024;
		u++;
	}
	snprintf(l->unit_name, sizeof(l->unit_name), "%s", units[u]);
	double m = max / l->unit, mag = pow(10, floor(log10(m > 0 ? m : 1)));
	double step = mag;
	if (m / step > 5)
		step = 2 * mag;
	if (m / step > 5)
		step = 5 * mag;
	if (m / step <= 2)
		step /= 2;
	l->ystep = step * l->unit;
	l->ymax = ceil(m / step) * step * l->unit;
	if (l->ymax <= 0)
		l->ymax = l->ystep = l->unit;
}

static double
ypos(const struct layout *l, double bytes)
{
	return PLOT_Y1 - (PLOT_Y1 - PLOT_Y0) * bytes / l->ymax;
}

static void
interval_text(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;
	if (s < 60)
		snprintf(buf, size, "%lld s", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lld min", (long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, size, "%lld h", (long long)(s / 3600));
	else
		snprintf(buf, size, "%lld day%s", (long long)(s / 86400), s >= 2 * 86400 ? "s" : "");
}

static void
draw_y_axis(struct svg *svg, const struct layout *l, int64_t res_ms)
{
	char label[64], interval[32];

	for (double v = 0; v <= l->ymax + l->ystep / 2; v += l->ystep) {
		double y = ypos(l, v);
		svg_line(svg, PLOT_X0, y, PLOT_X1, y, "#dddddd", 1);
		snprintf(label, sizeof(label), "%g%s", round(v / l->unit * 100) / 100,
		    v == 0 ? "" : l->unit_name);
		svg_text(svg, PLOT_X0 - 8, y + 4, "end", 12, "normal", 0, label);
	}
	interval_text(res_ms, interval, sizeof(interval));
	snprintf(label, sizeof(label), "bytes per %s", interval);
	svg_text(svg, 24, (PLOT_Y0 + PLOT_Y1) / 2, "middle", 13, "normal", -90, label);
}

/* Local-time offset east of UTC at t, in ms. */
static int64_t
local_offset(int64_t ms)
{
	time_t t = (time_t)time_floor_div(ms, 1000);
	struct tm tm;
	return localtime_r(&t, &tm) ? (int64_t)tm.tm_gmtoff * 1000 : 0;
}

static void
draw_x_axis(struct svg *svg, const struct layout *l)
{
	const struct chart *c = l->c;
	int64_t span = (int64_t)c->n * c->res_ms, step = c->res_ms;
	int64_t off = local_offset(c->origin_ms);
	char label[64], zone[48];

	while (span / step > 8)
		step = chart_next_res(step);
	enum { F_TIME, F_DAY_TIME, F_DATE } fmt = step >= 86400000 ? F_DATE :
	    span > 86400000 ? F_DAY_TIME : F_TIME;
	int64_t first = (time_floor_div(c->origin_ms + off, step) + 1) * step - off;
	if (c->origin_ms == time_floor_div(c->origin_ms + off, step) * step - off)
		first = c->origin_ms;
	for (int64_t t = first; t <= c->origin_ms + span; t += step) {
		double x = PLOT_X0 + (PLOT_X1 - PLOT_X0) * (double)(t - c->origin_ms) / (double)span;
		time_t tt = (time_t)time_floor_div(t, 1000);
		struct tm tm;
		if (!localtime_r(&tt, &tm))
			continue;
		if (fmt == F_DATE)
			strftime(label, sizeof(label), "%Y-%m-%d", &tm);
		else if (fmt == F_DAY_TIME)
			strftime(label, sizeof(label), "%m-%d %H:%M", &tm);
		else
			strftime(label, sizeof(label), "%H:%M", &tm);
		svg_line(svg, x, PLOT_Y1, x, PLOT_Y1 + 5, "#444444", 1);
		svg_text(svg, x, PLOT_Y1 + 20, "middle", 12, "normal", 0, label);
	}
	time_t t0 = (time_t)time_floor_div(c->origin_ms, 1000);
	struct tm tm;
	if (!localtime_r(&t0, &tm) || !strftime(zone, sizeof(zone), "local time (UTC%z)", &tm))
		snprintf(zone, sizeof(zone), "local time");
	svg_text(svg, (PLOT_X0 + PLOT_X1) / 2, PLOT_Y1 + 45, "middle", 13, "normal", 0, zone);
}

static void
draw_bars(struct svg *svg, const struct layout *l)
{
	const struct chart *c = l->c;
	double w = (PLOT_X1 - PLOT_X0) / (double)c->n;
	double gap = w > 4 ? 1 : 0;
	double *base = calloc(c->n, sizeof(*base));
	char id[32];

	if (!base)
		return;
	for (size_t s = 0; s < l->nseries; s++) {
		snprintf(id, sizeof(id), "series-%zu", s);
		svg_group_open(svg, id, l->names[s]);
		for (size_t b = 0; b < c->n; b++) {
			double v = value(l, b, s);
			if (v <= 0)
				continue;
			double y0 = ypos(l, base[b]), y1 = ypos(l, base[b] + v);
			svg_rect(svg, PLOT_X0 + (double)b * w + gap / 2, y1, w - gap, y0 - y1, colors[s]);
			base[b] += v;
		}
		svg_group_close(svg);
	}
	free(base);
}

static void
draw_legend(struct svg *svg, const struct layout *l)
{
	char label[96], size[FORMAT_LEN];
	double x = PLOT_X1 + 30, y = PLOT_Y0 + 10;

	svg_text(svg, x, y, "start", 13, "bold", 0, "Service (total)");
	for (size_t s = 0; s < l->nseries; s++) {
		y += 24;
		svg_rect(svg, x, y - 11, 14, 14, colors[s]);
		format_size((uint64_t)llround(l->totals[s]), size, sizeof(size));
		snprintf(label, sizeof(label), "%s (%s)", l->names[s], size);
		svg_text(svg, x + 22, y + 1, "start", 12, "normal", 0, label);
	}
}

static void
draw_title(struct svg *svg, const struct chart *c)
{
	char t0[40], t1[40], sub[120];

	svg_text(svg, PLOT_X0, 28, "start", 18, "bold", 0, "Traffic by service");
	if (c->n == 0)
		return;
	time_format_local(c->origin_ms, t0, sizeof(t0));
	time_format_local(c->origin_ms + (int64_t)c->n * c->res_ms, t1, sizeof(t1));
	snprintf(sub, sizeof(sub), "%s to %s", t0, t1);
	svg_text(svg, PLOT_X0, 50, "start", 12, "normal", 0, sub);
}

int
chart_render(const struct chart *c, FILE *out)
{
	struct layout l = { .c = c };
	struct svg *svg = svg_new(out, WIDTH, HEIGHT);

	if (!svg || build_series(&l) < 0) {
		free(l.values);
		svg_finish(svg);
		return -1;
	}
	draw_title(svg, c);
	if (c->n == 0 || l.nseries == 0) {
		svg_text(svg, WIDTH / 2.0, HEIGHT / 2.0, "middle", 16, "normal", 0,
		    "No traffic in the selected flows");
	} else {
		scale_axis(&l);
		draw_y_axis(svg, &l, c->res_ms);
		draw_bars(svg, &l);
		svg_line(svg, PLOT_X0, PLOT_Y1, PLOT_X1, PLOT_Y1, "#444444", 1);
		draw_x_axis(svg, &l);
		draw_legend(svg, &l);
	}
	free(l.values);
	return svg_finish(svg);
}
