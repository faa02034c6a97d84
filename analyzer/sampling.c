#include "sampling.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "counter.h"
#include "jsonout.h"

void
sampling_init(struct sampling *s, bool scale)
{
	memset(s, 0, sizeof(*s));
	s->scale = scale;
}

static void
count_n(struct sampling *s, uint64_t interval, uint64_t k)
{
	s->records += k;
	for (size_t i = 0; i < s->n; i++) {
		if (s->by[i].interval == interval) {
			s->by[i].records += k;
			return;
		}
	}
	if (s->n == SAMPLING_MAX_INTERVALS) {
		s->other += k;
		return;
	}
	s->by[s->n].interval = interval;
	s->by[s->n++].records = k;
}

static void
count(struct sampling *s, uint64_t interval)
{
	count_n(s, interval, 1);
}

void
sampling_scale(const struct sampling *s, struct flow *f)
{
	uint64_t n = f->sampling_interval;

	if (n <= 1 || !s->scale)
		return;
	f->bytes = counter_mul(f->bytes, n);
	f->packets = counter_mul(f->packets, n);
	f->rev_bytes = counter_mul(f->rev_bytes, n);
	f->rev_packets = counter_mul(f->rev_packets, n);
}

void
sampling_count(struct sampling *s, const struct flow *f)
{
	if (f->sampling_interval > 1)
		count(s, f->sampling_interval);
}

void
sampling_apply(struct sampling *s, struct flow *f)
{
	sampling_scale(s, f);
	sampling_count(s, f);
}

void
sampling_merge(struct sampling *a, const struct sampling *b)
{
	for (size_t i = 0; i < b->n; i++)
		count_n(a, b->by[i].interval, b->by[i].records);
	a->records += b->other;
	a->other += b->other;
}

void
sampling_describe(const struct sampling *s, char *buf, size_t size)
{
	size_t len;

	snprintf(buf, size, "%" PRIu64 " record%s %s", s->records,
	    s->records == 1 ? "" : "s", s->scale ?
	    "scaled by their sampling interval" : "sampled, shown as exported (--no-scale)");
	for (size_t i = 0; i < s->n && (len = strlen(buf)) < size; i++)
		snprintf(buf + len, size - len, "%s%" PRIu64 " at 1:%" PRIu64, i ? ", " : ": ",
		    s->by[i].records, s->by[i].interval);
	if (s->other && (len = strlen(buf)) < size)
		snprintf(buf + len, size - len, ", %" PRIu64 " at other intervals", s->other);
}

void
sampling_json(const struct sampling *s, yajl_gen g)
{
	jsonout_uint(g, "sampled_records", s->records);
	jsonout_bool(g, "scaled", s->scale);
	jsonout_key(g, "sampling_intervals");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < s->n; i++) {
		yajl_gen_map_open(g);
		jsonout_uint(g, "interval", s->by[i].interval);
		jsonout_uint(g, "records", s->by[i].records);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}
