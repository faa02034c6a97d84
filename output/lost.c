/*
 * The writer's lost records, charged to their exporters. What the loop
 * refuses (queue full, fair share) the daemon charges to the exporter at
 * hand; what the writer loses afterwards (standard output given up at the
 * exit deadline or closed, a full disk, a failed open or compressor) it
 * charges here, from the lost lines themselves: every line starts with
 * {"time_received":"...","exporter":"ADDR" (json.c's fixed order), so the
 * rare path of a loss pays for finding the exporter, not every record.
 * Frames still staged for a direct write, which a failed write may yet
 * cut off, keep the runs of exporters the render thread noted for their
 * block (lost_runs). Records whose lines are gone by then (a file whose fdatasync or rename
 * failed, frames already handed to the disk) are counted as unattributed.
 */
#include <stdlib.h>
#include <string.h>

#include "output-private.h"

static uint32_t
hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

struct lost_table *
output_lost_new(void)
{
	struct lost_table *t = calloc(1, sizeof(*t));

	if (t != NULL)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

void
output_lost_free(struct lost_table *t)
{
	if (t == NULL)
		return;
	free(t->slot);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The exporter's text in a line: what follows "exporter":" up to the
 * closing quote, within the line's first bytes. */
static bool
line_exporter(const char *line, size_t len, const char **addr, size_t *n)
{
	static const char key[] = ",\"exporter\":\"";
	/* where json.c puts it after a four-digit year's time_received */
	enum { AT = sizeof("{\"time_received\":\"2024-05-01T12:00:41.052Z\"") - 1 };
	size_t look = len < 96 ? len : 96;
	const char *k = look >= AT + sizeof(key) - 1 &&
	    memcmp(line + AT, key, sizeof(key) - 1) == 0 ? line + AT :
	    memmem(line, look, key, sizeof(key) - 1);
	const char *end;

	if (k == NULL)
		return false;
	*addr = k + sizeof(key) - 1;
	end = memchr(*addr, '"', (size_t)(line + len - *addr));
	if (end == NULL || end - *addr >= FORMAT_ADDR_ROOM)
		return false;
	*n = (size_t)(end - *addr);
	return true;
}

static void
charge(struct lost_table *t, const char *addr, size_t len, uint64_t n)
{
	uint32_t h;

	if (t->slot == NULL &&
	    (t->slot = calloc(LOST_EXPORTERS, sizeof(*t->slot))) == NULL) {
		t->unattributed += n;
		return;
	}
	h = hash(addr, len);
	for (uint32_t i = 0; i < LOST_EXPORTERS; i++) {
		struct lost_slot *s = &t->slot[(h + i) & (LOST_EXPORTERS - 1)];

		if (s->records == 0) {
			memcpy(s->exporter, addr, len);
			s->exporter[len] = '\0';
			t->used++;
		} else if (strlen(s->exporter) != len ||
		    memcmp(s->exporter, addr, len) != 0) {
			continue;
		}
		s->records += n;
		return;
	}
	/* more exporters lost records than the table holds */
	t->unattributed += n;
}

void
lost_charge_lines(struct lost_table *t, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	const char *run = NULL;
	size_t run_len = 0;
	uint64_t run_n = 0;

	pthread_mutex_lock(&t->lock);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		const char *addr;
		size_t n;

		if (!line_exporter(p, line, &addr, &n)) {
			t->unattributed++;
		} else if (run != NULL && n == run_len &&
		    memcmp(addr, run, n) == 0) {
			run_n++;   /* a datagram's records come one after another */
		} else {
			if (run_n > 0)
				charge(t, run, run_len, run_n);
			run = addr;
			run_len = n;
			run_n = 1;
		}
		p += line;
	}
	if (run_n > 0)
		charge(t, run, run_len, run_n);
	pthread_mutex_unlock(&t->lock);
}

void
lost_charge_addr(struct lost_table *t, const struct parser_addr *a)
{
	char buf[FORMAT_ADDR_ROOM];
	size_t n = format_addr(buf, sizeof(buf), a);

	pthread_mutex_lock(&t->lock);
	if (n > 0)
		charge(t, buf, n, 1);
	else
		t->unattributed++;
	pthread_mutex_unlock(&t->lock);
}

void
lost_runs_push(struct lost_runs **rp, const struct parser_addr *a)
{
	struct lost_runs *r = *rp;

	if (r == NULL || r->n == r->cap) {
		/* a block of one exporter's datagrams of 7 flows, from
		 * interleaved exporters, has some 400 runs */
		size_t cap = r == NULL ? 64 : r->cap * 2;
		struct lost_runs *g = realloc(r, sizeof(*r) +
		    cap * sizeof(r->run[0]));

		if (g == NULL)
			return;   /* the line stays unnamed: unattributed */
		if (r == NULL)
			g->n = 0;
		g->cap = cap;
		*rp = r = g;
	}
	r->run[r->n++] = (struct lost_run){ .addr = *a, .records = 1 };
}

void
lost_charge_runs(struct lost_table *t, const struct lost_runs *r,
    uint64_t records)
{
	uint64_t named = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; r != NULL && i < r->n; i++) {
		char buf[FORMAT_ADDR_ROOM];
		size_t n = format_addr(buf, sizeof(buf), &r->run[i].addr);
		uint64_t k = r->run[i].records;

		/* never more than the lines it stands for */
		if (k > records - named)
			k = records - named;
		if (n > 0)
			charge(t, buf, n, k);
		else
			t->unattributed += k;
		named += k;
	}
	t->unattributed += records - named;
	pthread_mutex_unlock(&t->lock);
}

void
lost_charge_unknown(struct lost_table *t, uint64_t n)
{
	pthread_mutex_lock(&t->lock);
	t->unattributed += n;
	pthread_mutex_unlock(&t->lock);
}

void
output_lost_by_exporter(struct output *o,
    void (*fn)(const char *exporter, uint64_t records, void *arg), void *arg)
{
	struct lost_table *t = output_lost_table(o);
	struct lost_slot *copy = NULL;
	size_t n = 0;
	uint64_t unknown;

	/* a copy: fn logs, and the writer must not wait for that */
	pthread_mutex_lock(&t->lock);
	if (t->used > 0 && (copy = malloc(t->used * sizeof(*copy))) != NULL)
		for (uint32_t i = 0; i < LOST_EXPORTERS && n < t->used; i++)
			if (t->slot[i].records > 0)
				copy[n++] = t->slot[i];
	unknown = t->unattributed;
	if (t->used > 0 && copy == NULL)
		for (uint32_t i = 0; i < LOST_EXPORTERS; i++)
			unknown += t->slot[i].records;
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < n; i++)
		fn(copy[i].exporter, copy[i].records, arg);
	if (unknown > 0)
		fn(NULL, unknown, arg);
	free(copy);
}
