/* resolver: asynchronous reverse DNS with libevent's evdns, a hosts file
 * consulted first, a bounded LRU cache, a per-query timeout and a bounded
 * number of queries in flight. */
#ifndef ANALYZER_RESOLVER_H
#define ANALYZER_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct event_base;

struct resolver_config {
	const char *hosts_file;		/* NULL: /etc/hosts */
	bool use_dns;			/* false: names only from the hosts file */
	const char *const *nameservers;	/* NULL: from /etc/resolv.conf */
	size_t n_nameservers;
	double timeout_s;
	unsigned max_inflight;
	size_t cache_max;
};

/* Called (from the event loop) whenever some lookup finished. */
typedef void (*resolver_done_fn)(void *arg);

struct resolver;
struct resolver_entry;

struct resolver *resolver_new(struct event_base *base, const struct resolver_config *cfg,
    resolver_done_fn done, void *arg);
void resolver_free(struct resolver *r);
/* Pins the cache entry for the address and starts a lookup if needed. */
struct resolver_entry *resolver_get(struct resolver *r, const struct addr *a);
void resolver_put(struct resolver *r, struct resolver_entry *e);
bool resolver_entry_done(const struct resolver_entry *e);
/* The name, or NULL when there is none (or it took too long). */
const char *resolver_entry_name(const struct resolver_entry *e);

#endif
