#include "resolver.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hosts.h"
#include "oatab.h"

#define NAME_MAX_LEN 253

enum entry_state { E_QUEUED, E_INFLIGHT, E_DONE };

struct resolver_entry {
	struct addr addr;
	enum entry_state state;
	unsigned refs;
	char *name;
	struct query *query;		/* while in flight */
	/* in the queue (E_QUEUED) or the LRU list (E_DONE, refs == 0) */
	TAILQ_ENTRY(resolver_entry) link;
};
TAILQ_HEAD(entry_list, resolver_entry);

/* Outlives its entry when our timer gave up first: evdns always calls back
 * (answer, its own timeout or shutdown), and only then is this freed. */
struct query {
	struct resolver *r;
	struct resolver_entry *entry;	/* NULL once given up */
	struct event *timer;
	LIST_ENTRY(query) link;	/* all live queries */
};

struct resolver {
	struct event_base *base;
	struct evdns_base *dns;
	struct hosts *hosts;
	struct resolver_config cfg;
	resolver_done_fn done;
	void *arg;
	struct oatab cache;
	struct entry_list queue;
	struct entry_list lru;
	LIST_HEAD(, query) queries;
	unsigned inflight;
};

static int
setup_dns(struct resolver *r)
{
	char timeout[32];

	r->dns = evdns_base_new(r->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE |
	    (r->cfg.nameservers ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS));
	if (!r->dns)
		return -1;
	for (size_t i = 0; r->cfg.nameservers && i < r->cfg.n_nameservers; i++) {
		if (evdns_base_nameserver_ip_add(r->dns, r->cfg.nameservers[i]) != 0) {
			fprintf(stderr, "netflow-analyze: bad name server '%s'\n",
			    r->cfg.nameservers[i]);
			return -1;
		}
	}
	snprintf(timeout, sizeof(timeout), "%.3f", r->cfg.timeout_s);
	evdns_base_set_option(r->dns, "timeout:", timeout);
	evdns_base_set_option(r->dns, "attempts:", "1");
	return 0;
}

struct resolver *
resolver_new(struct event_base *base, const struct resolver_config *cfg,
    resolver_done_fn done, void *arg)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base = base;
	r->cfg = *cfg;
	r->done = done;
	r->arg = arg;
	oatab_init(&r->cache, offsetof(struct resolver_entry, addr), sizeof(struct addr));
	TAILQ_INIT(&r->queue);
	TAILQ_INIT(&r->lru);
	LIST_INIT(&r->queries);
	r->hosts = hosts_new(cfg->hosts_file ? cfg->hosts_file : "/etc/hosts",
	    cfg->hosts_file != NULL);
	if (!r->hosts || (cfg->use_dns && setup_dns(r) < 0))
		goto fail;
	return r;
fail:
	resolver_free(r);
	return NULL;
}

static void
free_query(struct query *q)
{
	LIST_REMOVE(q, link);
	event_free(q->timer);
	q->r->inflight--;
	free(q);
}

void
resolver_free(struct resolver *r)
{
	struct resolver_entry *e;
	size_t pos = 0;

	if (!r)
		return;
	if (r->dns) {
		/* Fails every outstanding request; the callbacks run deferred, so
		 * let the loop deliver them before the queries go away. */
		evdns_base_free(r->dns, 1);
		for (int i = 0; !LIST_EMPTY(&r->queries) && i < 100; i++)
			event_base_loop(r->base, EVLOOP_NONBLOCK);
	}
	while ((e = oatab_next(&r->cache, &pos))) {
		free(e->name);
		free(e);
	}
	oatab_finish(&r->cache);
	hosts_free(r->hosts);
	free(r);
}

/* Names come off the wire: keep them printable and short. */
static char *
clean_name(const char *name)
{
	size_t len = strnlen(name, NAME_MAX_LEN + 1);

	if (len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	while (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return NULL;
	char *s = malloc(len + 1);
	for (size_t i = 0; s && i < len; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
		s[i] = ok ? c : '?';
	}
	if (s)
		s[len] = '\0';
	return s;
}

static void start_queued(struct resolver *r);

static void
finish_entry(struct resolver *r, struct resolver_entry *e, const char *name)
{
	if (e->query)
		e->query->entry = NULL;
	e->query = NULL;
	e->name = name ? clean_name(name) : NULL;
	e->state = E_DONE;
	if (e->refs == 0)
		TAILQ_INSERT_TAIL(&r->lru, e, link);
}

static void
on_reply(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct query *q = arg;
	struct resolver *r = q->r;
	struct resolver_entry *e = q->entry;

	if (e) {
		const char *name = NULL;
		if (result == DNS_ERR_NONE && type == DNS_PTR && count > 0 && addresses)
			name = *(char **)addresses;
		finish_entry(r, e, name);
	}
	free_query(q);
	if (result != DNS_ERR_SHUTDOWN) {
		start_queued(r);
		if (e)
			r->done(r->arg);
	}
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct query *q = arg;

	/* Give up on the name now; the query itself ends in evdns soon. */
	if (q->entry) {
		finish_entry(q->r, q->entry, NULL);
		q->r->done(q->r->arg);
	}
}

static void
send_query(struct resolver *r, struct resolver_entry *e)
{
	struct query *q = calloc(1, sizeof(*q));
	struct evdns_request *req;
	struct timeval tv = {
		.tv_sec = (time_t)r->cfg.timeout_s,
		.tv_usec = (suseconds_t)((r->cfg.timeout_s - (double)(time_t)r->cfg.timeout_s) * 1e6),
	};

	if (!q || !(q->timer = evtimer_new(r->base, on_timeout, q))) {
		free(q);
		finish_entry(r, e, NULL);
		return;
	}
	q->r = r;
	q->entry = e;
	e->query = q;
	e->state = E_INFLIGHT;
	LIST_INSERT_HEAD(&r->queries, q, link);
	r->inflight++;
	evtimer_add(q->timer, &tv);
	if (e->addr.family == 4)
		req = evdns_base_resolve_reverse(r->dns, (const struct in_addr *)e->addr.bytes,
		    DNS_QUERY_NO_SEARCH, on_reply, q);
	else
		req = evdns_base_resolve_reverse_ipv6(r->dns, (const struct in6_addr *)e->addr.bytes,
		    DNS_QUERY_NO_SEARCH, on_reply, q);
	if (!req) {
		finish_entry(r, e, NULL);
		free_query(q);
	}
}

static void
start_queued(struct resolver *r)
{
	struct resolver_entry *e;

	while ((e = TAILQ_FIRST(&r->queue)) && r->inflight < r->cfg.max_inflight) {
		TAILQ_REMOVE(&r->queue, e, link);
		send_query(r, e);
	}
}

static void
evict(struct resolver *r)
{
	struct resolver_entry *e;

	while (r->cache.count > r->cfg.cache_max && (e = TAILQ_FIRST(&r->lru))) {
		TAILQ_REMOVE(&r->lru, e, link);
		oatab_remove(&r->cache, e, oatab_hash(&e->addr, sizeof(e->addr)));
		free(e->name);
		free(e);
	}
}

struct resolver_entry *
resolver_get(struct resolver *r, const struct addr *a)
{
	uint64_t hash = oatab_hash(a, sizeof(*a));
	struct resolver_entry *e = oatab_find(&r->cache, a, hash);

	if (e) {
		if (e->state == E_DONE && e->refs == 0)
			TAILQ_REMOVE(&r->lru, e, link);
		e->refs++;
		return e;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return NULL;
	e->addr = *a;
	e->refs = 1;
	if (oatab_insert(&r->cache, e, hash) < 0) {
		free(e);
		return NULL;
	}
	const char *name = hosts_lookup(r->hosts, a);
	if (name || !r->dns) {
		finish_entry(r, e, name);
	} else {
		e->state = E_QUEUED;
		TAILQ_INSERT_TAIL(&r->queue, e, link);
		start_queued(r);
	}
	evict(r);
	return e;
}

void
resolver_put(struct resolver *r, struct resolver_entry *e)
{
	if (!e || --e->refs > 0)
		return;
	if (e->state == E_DONE) {
		TAILQ_INSERT_TAIL(&r->lru, e, link);
		evict(r);
	}
}

bool
resolver_entry_done(const struct resolver_entry *e)
{
	return !e || e->state == E_DONE;
}

const char *
resolver_entry_name(const struct resolver_entry *e)
{
	return e ? e->name : NULL;
}
