#include "filter.h"

static bool
any_prefix(const struct prefix *list, size_t n, const struct addr *a, const struct addr *b)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_match(&list[i], a) || (b && prefix_match(&list[i], b)))
			return true;
	return false;
}

static bool
any_port(const struct options *o, const struct flow *f)
{
	for (size_t i = 0; i < o->n_ports; i++)
		if (f->src_port == o->ports[i] || f->dst_port == o->ports[i])
			return true;
	return false;
}

bool
filter_match(const struct options *o, const struct flow *f)
{
	if (o->has_since && f->start_ms < o->since_ms)
		return false;
	if (o->has_until && f->start_ms >= o->until_ms)
		return false;
	if (o->n_hosts && !any_prefix(o->hosts, o->n_hosts, &f->src, &f->dst))
		return false;
	if (o->n_exporters && !any_prefix(o->exporters, o->n_exporters, &f->exporter, NULL))
		return false;
	if (o->n_ports && (flow_is_icmp(f) || !any_port(o, f)))
		return false;
	return true;
}
