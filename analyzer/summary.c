#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "format.h"
#include "jsonout.h"
#include "tally.h"
#include "timeutil.h"

/* Bounds on distinct keys; beyond them traffic is counted as "other". */
#define MAX_ADDRS 1000000
#define MAX_PAIRS 1000000
#define MAX_SERVICES 65536
#define MAX_EXPORTERS 4096

enum table { T_TALKERS, T_CONVERSATIONS, T_SERVICES, T_PROTOCOLS, T_COUNT };

static const char *const table_titles[T_COUNT] = {
	"Top talkers (bytes sent and received)", "Top conversations",
	"Top services", "Top protocols",
};
static const char *const table_types[T_COUNT] = {
	"talker", "conversation", "service", "protocol",
};

struct pair_key {
	struct addr a, b;
};

struct top {
	const struct tally_row **rows;
	size_t n;
	struct resolver_entry **names;	/* 2 per row */
};

struct summary {
	struct resolver *res;
	unsigned top_n;
	uint64_t flows, bytes, packets, paired, one_way;
	uint64_t versions[256];
	uint64_t sflow;
	int64_t first_ms, last_ms;
	struct tally *exporters;
	struct tally *tables[T_COUNT];
	struct top tops[T_COUNT];
};

struct summary *
summary_new(unsigned top)
{
	struct summary *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->top_n = top;
	s->exporters = tally_new(sizeof(struct addr), MAX_EXPORTERS);
	s->tables[T_TALKERS] = tally_new(sizeof(struct addr), MAX_ADDRS);
	s->tables[T_CONVERSATIONS] = tally_new(sizeof(struct pair_key), MAX_PAIRS);
	s->tables[T_SERVICES] = tally_new(TALLY_KEY_MAX, MAX_SERVICES);
	s->tables[T_PROTOCOLS] = tally_new(1, 256);
	for (int t = 0; t < T_COUNT; t++)
		if (!s->tables[t])
			goto fail;
	if (!s->exporters)
		goto fail;
	return s;
fail:
	summary_free(s);
	return NULL;
}

void
summary_free(struct summary *s)
{
	if (!s)
		return;
	for (int t = 0; t < T_COUNT; t++) {
		for (size_t i = 0; s->res && i < 2 * s->tops[t].n; i++)
			resolver_put(s->res, s->tops[t].names[i]);
		free(s->tops[t].names);
		free(s->tops[t].rows);
		tally_free(s->tables[t]);
	}
	tally_free(s->exporters);
	free(s);
}

void
summary_add_flow(struct summary *s, const struct flow *f, const char *service)
{
	struct pair_key pk;
	char label[TALLY_KEY_MAX] = { 0 };
	bool order = addr_compare(&f->src, &f->dst) <= 0;

	/* the big tables' slots first, so that their misses overlap */
	memset(&pk, 0, sizeof(pk));
	pk.a = order ? f->src : f->dst;
	pk.b = order ? f->dst : f->src;
	uint64_t hs = tally_hash(s->tables[T_TALKERS], &f->src);
	uint64_t hd = tally_hash(s->tables[T_TALKERS], &f->dst);
	uint64_t hp = tally_hash(s->tables[T_CONVERSATIONS], &pk);
	tally_prefetch(s->tables[T_TALKERS], hs);
	tally_prefetch(s->tables[T_TALKERS], hd);
	tally_prefetch(s->tables[T_CONVERSATIONS], hp);
	if (s->flows == 0 || f->start_ms < s->first_ms)
		s->first_ms = f->start_ms;
	if (s->flows == 0 || f->end_ms > s->last_ms)
		s->last_ms = f->end_ms;
	s->flows++;
	s->bytes = counter_add(s->bytes, f->bytes);
	s->packets = counter_add(s->packets, f->packets);
	if (f->sflow)
		s->sflow++;	/* also "version":5, but not NetFlow v5 */
	else
		s->versions[f->version]++;
	if (f->exporter.family)
		tally_add(s->exporters, &f->exporter, f->bytes, f->packets);
	tally_add_hashed(s->tables[T_TALKERS], &f->src, hs, f->bytes, f->packets);
	if (addr_compare(&f->src, &f->dst) != 0)
		tally_add_hashed(s->tables[T_TALKERS], &f->dst, hd, f->bytes, f->packets);
	tally_add_hashed(s->tables[T_CONVERSATIONS], &pk, hp, f->bytes, f->packets);
	strncpy(label, service, sizeof(label) - 1);
	tally_add(s->tables[T_SERVICES], label, f->bytes, f->packets);
	tally_add(s->tables[T_PROTOCOLS], &f->proto, f->bytes, f->packets);
}

void
summary_add_conn(struct summary *s, const struct conn *c)
{
	if (c->paired)
		s->paired++;
	else
		s->one_way++;
}

void
summary_request_names(struct summary *s, struct resolver *res)
{
	s->res = res;
	for (int t = 0; t < T_COUNT; t++) {
		struct top *tp = &s->tops[t];
		tp->rows = calloc(s->top_n ? s->top_n : 1, sizeof(*tp->rows));
		tp->names = calloc(2 * (s->top_n ? s->top_n : 1), sizeof(*tp->names));
		if (!tp->rows || !tp->names)
			continue;
		tp->n = tally_top(s->tables[t], tp->rows, s->top_n);
		for (size_t i = 0; res && i < tp->n; i++) {
			const void *key = tp->rows[i]->key;
			if (t == T_TALKERS) {
				tp->names[2 * i] = resolver_get(res, key);
			} else if (t == T_CONVERSATIONS) {
				const struct pair_key *pk = key;
				tp->names[2 * i] = resolver_get(res, &pk->a);
				tp->names[2 * i + 1] = resolver_get(res, &pk->b);
			}
		}
	}
}

bool
summary_names_ready(const struct summary *s)
{
	for (int t = 0; t < T_COUNT; t++)
		for (size_t i = 0; s->tops[t].names && i < 2 * s->tops[t].n; i++)
			if (!resolver_entry_done(s->tops[t].names[i]))
				return false;
	return true;
}

/* "host (ip)" or "ip" */
static void
host_text(const struct addr *a, const struct resolver_entry *e, char *buf, size_t size)
{
	char ip[ADDR_STRLEN];
	const char *name = resolver_entry_name(e);

	addr_format(a, ip, sizeof(ip));
	if (name)
		snprintf(buf, size, "%s (%s)", name, ip);
	else
		snprintf(buf, size, "%s", ip);
}

static void
proto_text(uint8_t proto, char *buf, size_t size)
{
	const char *name = services_proto_name(proto);
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "PROTO-%u", proto);
}

/* The label of row i of table t. */
static void
row_label(const struct summary *s, int t, size_t i, char *buf, size_t size)
{
	const struct tally_row *row = s->tops[t].rows[i];
	struct resolver_entry *const *names = s->tops[t].names + 2 * i;
	char a[320], b[320];

	switch (t) {
	case T_TALKERS:
		host_text((const struct addr *)row->key, names[0], buf, size);
		break;
	case T_CONVERSATIONS: {
		const struct pair_key *pk = (const struct pair_key *)row->key;
		host_text(&pk->a, names[0], a, sizeof(a));
		host_text(&pk->b, names[1], b, sizeof(b));
		snprintf(buf, size, "%s <-> %s", a, b);
		break;
	}
	case T_SERVICES:
		snprintf(buf, size, "%s", (const char *)row->key);
		break;
	default:
		proto_text(row->key[0], buf, size);
	}
}

static void
print_versions(const struct summary *s, FILE *out)
{
	const char *sep = " (";
	for (int v = 0; v < 256; v++) {
		if (!s->versions[v])
			continue;
		if (v == 0)
			fprintf(out, "%sunknown version %" PRIu64, sep, s->versions[v]);
		else
			fprintf(out, "%sv%d %" PRIu64, sep, v, s->versions[v]);
		sep = ", ";
	}
	if (s->sflow) {
		fprintf(out, "%ssFlow %" PRIu64, sep, s->sflow);
		sep = ", ";
	}
	fputs(*sep == ',' ? ")\n" : "\n", out);
}

static void
print_exporters(const struct summary *s, FILE *out)
{
	size_t n = tally_count(s->exporters);
	const struct tally_row **rows = calloc(n ? n : 1, sizeof(*rows));
	char ip[ADDR_STRLEN];

	fprintf(out, "Exporters        %zu", n);
	n = rows ? tally_top(s->exporters, rows, n) : 0;
	for (size_t i = 0; i < n; i++) {
		addr_format((const struct addr *)rows[i]->key, ip, sizeof(ip));
		fprintf(out, "%s%s (%" PRIu64 " flows)", i ? ", " : ": ", ip, rows[i]->flows);
	}
	fputc('\n', out);
	free(rows);
}

/* A total that reached the counter's limit is a lower bound. */
static const char *
or_more(uint64_t v)
{
	return counter_saturated(v) ? " or more" : "";
}

static void
print_totals_text(const struct summary *s, FILE *out, const struct stats *st)
{
	char size[FORMAT_LEN], t1[40], t2[40], dur[FORMAT_LEN], text[400];

	fprintf(out, "Flows            %" PRIu64, s->flows);
	print_versions(s, out);
	fprintf(out, "Connections      %" PRIu64 " (%" PRIu64 " paired, %" PRIu64 " one-way)\n",
	    s->paired + s->one_way, s->paired, s->one_way);
	format_size(s->bytes, size, sizeof(size));
	fprintf(out, "Bytes            %s (%" PRIu64 "%s)\n", size, s->bytes, or_more(s->bytes));
	fprintf(out, "Packets          %" PRIu64 "%s\n", s->packets, or_more(s->packets));
	if (st->sampling.records) {
		sampling_describe(&st->sampling, text, sizeof(text));
		fprintf(out, "Sampling         %s\n", text);
	}
	if (s->flows) {
		time_format_local(s->first_ms, t1, sizeof(t1));
		time_format_local(s->last_ms, t2, sizeof(t2));
		format_duration(s->last_ms - s->first_ms, dur, sizeof(dur));
		fprintf(out, "Time span        %s to %s (%s)\n", t1, t2, dur);
	}
	print_exporters(s, out);
	fprintf(out, "Malformed lines  %" PRIu64 "\n", st->malformed);
}

static void
print_tables_text(const struct summary *s, FILE *out)
{
	char label[700], size[FORMAT_LEN];

	for (int t = 0; t < T_COUNT; t++) {
		fprintf(out, "\n%s\n%4s  %-9s %12s %10s  %s\n", table_titles[t],
		    "#", "BYTES", "PACKETS", "FLOWS", t == T_SERVICES ? "SERVICE" :
		    t == T_PROTOCOLS ? "PROTOCOL" : "HOSTS");
		for (size_t i = 0; i < s->tops[t].n; i++) {
			const struct tally_row *row = s->tops[t].rows[i];
			format_size(row->bytes, size, sizeof(size));
			row_label(s, t, i, label, sizeof(label));
			fprintf(out, "%4zu  %-9s %12" PRIu64 " %10" PRIu64 "  %s\n",
			    i + 1, size, row->packets, row->flows, label);
		}
	}
}

static void
json_host(yajl_gen g, const char *addr_key, const char *host_key, const struct addr *a,
    const struct resolver_entry *e)
{
	char ip[ADDR_STRLEN];

	addr_format(a, ip, sizeof(ip));
	jsonout_str(g, addr_key, ip);
	if (resolver_entry_name(e))
		jsonout_str(g, host_key, resolver_entry_name(e));
}

static void
json_row_key(const struct summary *s, yajl_gen g, int t, size_t i)
{
	const struct tally_row *row = s->tops[t].rows[i];
	struct resolver_entry *const *names = s->tops[t].names + 2 * i;
	char proto[32];

	switch (t) {
	case T_TALKERS:
		json_host(g, "addr", "host", (const struct addr *)row->key, names[0]);
		break;
	case T_CONVERSATIONS: {
		const struct pair_key *pk = (const struct pair_key *)row->key;
		json_host(g, "addr_a", "host_a", &pk->a, names[0]);
		json_host(g, "addr_b", "host_b", &pk->b, names[1]);
		break;
	}
	case T_SERVICES:
		jsonout_str(g, "service", (const char *)row->key);
		break;
	default:
		proto_text(row->key[0], proto, sizeof(proto));
		jsonout_uint(g, "proto", row->key[0]);
		jsonout_str(g, "name", proto);
	}
}

static void
print_json(const struct summary *s, FILE *out, const struct stats *st)
{
	yajl_gen g = jsonout_new(out);

	if (!g)
		return;
	yajl_gen_map_open(g);
	jsonout_str(g, "type", "totals");
	jsonout_uint(g, "flows", s->flows);
	jsonout_uint(g, "connections", s->paired + s->one_way);
	jsonout_uint(g, "paired", s->paired);
	jsonout_uint(g, "one_way", s->one_way);
	jsonout_uint(g, "bytes", s->bytes);
	jsonout_uint(g, "packets", s->packets);
	if (counter_saturated(s->bytes))
		jsonout_bool(g, "bytes_saturated", 1);
	if (counter_saturated(s->packets))
		jsonout_bool(g, "packets_saturated", 1);
	if (st->sampling.records)
		sampling_json(&st->sampling, g);
	if (s->flows) {
		jsonout_time(g, "first", s->first_ms);
		jsonout_time(g, "last", s->last_ms);
	}
	jsonout_uint(g, "exporters", tally_count(s->exporters));
	jsonout_uint(g, "malformed", st->malformed);
	jsonout_end_line(g);
	for (int t = 0; t < T_COUNT; t++) {
		for (size_t i = 0; i < s->tops[t].n; i++) {
			const struct tally_row *row = s->tops[t].rows[i];
			yajl_gen_map_open(g);
			jsonout_str(g, "type", table_types[t]);
			jsonout_uint(g, "rank", i + 1);
			json_row_key(s, g, t, i);
			jsonout_uint(g, "bytes", row->bytes);
			jsonout_uint(g, "packets", row->packets);
			jsonout_uint(g, "flows", row->flows);
			jsonout_end_line(g);
		}
	}
	jsonout_free(g);
}

void
summary_print(struct summary *s, FILE *out, bool json, const struct stats *st)
{
	if (json) {
		print_json(s, out, st);
		return;
	}
	print_totals_text(s, out, st);
	print_tables_text(s, out);
}
