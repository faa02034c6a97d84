#include "report.h"

#include <stdlib.h>
#include <sys/queue.h>

#include "format.h"
#include "intern.h"
#include "jsonout.h"
#include "timeutil.h"

struct item {
	struct conn conn;
	const char *service;
	struct resolver_entry *src_name, *dst_name;
	STAILQ_ENTRY(item) link;
};

struct report {
	FILE *out;
	yajl_gen json;
	struct services *svc;
	struct resolver *res;
	STAILQ_HEAD(, item) items;	/* waiting for their names, in order */
	size_t backlog;
};

struct report *
report_new(FILE *out, bool json, struct services *svc, struct resolver *res)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->out = out;
	r->svc = svc;
	r->res = res;
	STAILQ_INIT(&r->items);
	if (json && !(r->json = jsonout_new(out))) {
		free(r);
		return NULL;
	}
	return r;
}

static void
drop(struct report *r, struct item *it)
{
	if (r->res) {
		resolver_put(r->res, it->src_name);
		resolver_put(r->res, it->dst_name);
	}
	free(it);
}

void
report_free(struct report *r)
{
	struct item *it;

	if (!r)
		return;
	while ((it = STAILQ_FIRST(&r->items))) {
		STAILQ_REMOVE_HEAD(&r->items, link);
		drop(r, it);
	}
	jsonout_free(r->json);
	free(r);
}

size_t
report_backlog(const struct report *r)
{
	return r->backlog;
}

void
report_add(struct report *r, const struct conn *c)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it)
		return;
	it->conn = *c;
	it->service = services_label(r->svc, &c->fwd);
	if (r->res) {
		it->src_name = resolver_get(r->res, &c->fwd.src);
		it->dst_name = resolver_get(r->res, &c->fwd.dst);
	}
	STAILQ_INSERT_TAIL(&r->items, it, link);
	r->backlog++;
	report_pump(r);
}

/* ", AS15169 GOOGLE, US" after an address: what enrichment found for it
 * (an AS shown where its name is known), or "". */
static void
side_extra(uint32_t asn, uint32_t name, uint16_t country, char *buf, size_t size)
{
	char as[INTERN_LEN_MAX + 16], cc[3];
	size_t n = 0;

	buf[0] = '\0';
	if (name) {
		format_as(asn, intern_str(name), as, sizeof(as));
		n = (size_t)snprintf(buf, size, ", %s", as);
	}
	if (country && n < size)
		snprintf(buf + n, size - n, ", %s", intern_country_text(country, cc));
}

static void
print_text(struct report *r, const struct item *it)
{
	const struct conn *c = &it->conn;
	char when[40], size[FORMAT_LEN], dur[FORMAT_LEN], src[ADDR_STRLEN], dst[ADDR_STRLEN];
	const char *sname = resolver_entry_name(it->src_name);
	const char *dname = resolver_entry_name(it->dst_name);

	time_format_local(c->start_ms, when, sizeof(when));
	format_size(c->bytes, size, sizeof(size));
	format_duration(c->end_ms - c->start_ms, dur, sizeof(dur));
	addr_format(&c->fwd.src, src, sizeof(src));
	addr_format(&c->fwd.dst, dst, sizeof(dst));
	char sx[INTERN_LEN_MAX + 32], dx[INTERN_LEN_MAX + 32];
	side_extra(c->fwd.src_as, c->fwd.src_as_name, c->fwd.src_country, sx, sizeof(sx));
	side_extra(c->fwd.dst_as, c->fwd.dst_as_name, c->fwd.dst_country, dx, sizeof(dx));
	fprintf(r->out, "%s: %-7s | %-8s | %-9s | %s (%s%s) to %s (%s%s)%s\n",
	    when, it->service, size, dur, sname ? sname : src, src, sx,
	    dname ? dname : dst, dst, dx, c->paired ? "" : " [one-way]");
}

/* The enrichment of one side, each key where it has a value. */
static void
json_enrichment(yajl_gen g, const char *prefix, uint32_t asn, uint32_t name, uint16_t country)
{
	char key[32], cc[3];

	if (name) {
		snprintf(key, sizeof(key), "%s_as", prefix);
		jsonout_uint(g, key, asn);
		snprintf(key, sizeof(key), "%s_as_name", prefix);
		jsonout_str(g, key, intern_str(name));
	}
	if (country) {
		snprintf(key, sizeof(key), "%s_country", prefix);
		jsonout_str(g, key, intern_country_text(country, cc));
	}
}

static void
json_side(yajl_gen g, const char *prefix, const struct flow *f, const struct addr *a,
    uint16_t port, const struct resolver_entry *name)
{
	char key[32], buf[ADDR_STRLEN];

	addr_format(a, buf, sizeof(buf));
	snprintf(key, sizeof(key), "%s_addr", prefix);
	jsonout_str(g, key, buf);
	if (!flow_is_icmp(f)) {
		snprintf(key, sizeof(key), "%s_port", prefix);
		jsonout_uint(g, key, port);
	}
	if (resolver_entry_name(name)) {
		snprintf(key, sizeof(key), "%s_host", prefix);
		jsonout_str(g, key, resolver_entry_name(name));
	}
}

static void
print_json(struct report *r, const struct item *it)
{
	const struct conn *c = &it->conn;
	yajl_gen g = r->json;
	char exporter[ADDR_STRLEN];

	yajl_gen_map_open(g);
	jsonout_time(g, "start", c->start_ms);
	jsonout_time(g, "end", c->end_ms);
	jsonout_int(g, "duration_ms", c->end_ms - c->start_ms);
	jsonout_str(g, "service", it->service);
	jsonout_uint(g, "proto", c->fwd.proto);
	json_side(g, "src", &c->fwd, &c->fwd.src, c->fwd.src_port, it->src_name);
	json_side(g, "dst", &c->fwd, &c->fwd.dst, c->fwd.dst_port, it->dst_name);
	json_enrichment(g, "src", c->fwd.src_as, c->fwd.src_as_name, c->fwd.src_country);
	json_enrichment(g, "dst", c->fwd.dst_as, c->fwd.dst_as_name, c->fwd.dst_country);
	jsonout_uint(g, "bytes", c->bytes);
	jsonout_uint(g, "packets", c->packets);
	jsonout_uint(g, "bytes_out", c->bytes_out);
	jsonout_uint(g, "bytes_in", c->bytes_in);
	jsonout_bool(g, "paired", c->paired);
	jsonout_str(g, "initiator_by", conn_by_name(c->by));
	if (c->fwd.exporter.family) {
		addr_format(&c->fwd.exporter, exporter, sizeof(exporter));
		jsonout_str(g, "exporter", exporter);
	}
	jsonout_end_line(g);
}

void
report_pump(struct report *r)
{
	struct item *it;

	while ((it = STAILQ_FIRST(&r->items)) && resolver_entry_done(it->src_name) &&
	    resolver_entry_done(it->dst_name)) {
		if (r->json)
			print_json(r, it);
		else
			print_text(r, it);
		STAILQ_REMOVE_HEAD(&r->items, link);
		r->backlog--;
		drop(r, it);
	}
}
