/*
 * What a newcomer wants to see at info level between "ready" and the
 * first file: each new exporter, and the first records its templates
 * decode (v9/IPFIX). An exporter here is an address and source port (a
 * transport session, RFC 7011: a restarted exporter process is a new
 * one). A bounded table of those seen; past its size new exporters are
 * no longer logged, and that is said once. Lines are rate-limited.
 */
#include <stdlib.h>

#include "collector.h"

#define NEWCOMERS_MAX 4096       /* exporters remembered */

struct newcomer {
	struct parser_addr addr;     /* family 0: a free slot */
	uint16_t port;
	bool decoded;                /* its first template's records logged */
};

struct newcomers {
	struct newcomer slot[2 * NEWCOMERS_MAX];     /* at most half full */
	size_t n;
	bool full_said;
	struct ratelimit log;
};

struct newcomers *
newcomers_new(void)
{
	struct newcomers *nc = calloc(1, sizeof(*nc));

	if (nc != NULL)
		nc->log = (struct ratelimit)RATELIMIT_INIT(10000, 10);
	return nc;
}

/* Says how many lines the last full window suppressed (every second). */
void
newcomers_tick(struct newcomers *nc)
{
	if (nc != NULL)
		log_ratelimit_flush(&nc->log);
}

void
newcomers_free(struct newcomers *nc)
{
	free(nc);
}

/* The slot of addr and port, or the free one where it goes (the table
 * is at most half full: there is one). */
static struct newcomer *
lookup(struct newcomers *nc, const struct parser_addr *addr, uint16_t port)
{
	size_t size = sizeof(nc->slot) / sizeof(nc->slot[0]);
	size_t i = (size_t)parser_addr_hash(addr, port) % size;

	/* only until a session and domain is noted: not per datagram */
	while (nc->slot[i].addr.family != 0 &&
	    (nc->slot[i].port != port ||
	    !parser_addr_equal(&nc->slot[i].addr, addr)))
		i = (i + 1) % size;
	return &nc->slot[i];
}

static const char *
kind(const struct parser_packet *pkt)
{
	if (pkt->format == FLOW_FORMAT_SFLOW)
		return "sFlow v5";
	switch (pkt->version) {
	case 10: return "IPFIX";
	case 9: return "NetFlow v9";
	case 7: return "NetFlow v7";
	case 5: return "NetFlow v5";
	default: return "NetFlow v1";
	}
}

void
newcomers_packet(struct newcomers *nc, const struct parser_packet *pkt,
    uint16_t template_id)
{
	struct newcomer *e;
	char buf[64];

	/* a session and domain of which all is said skips the table */
	if (nc == NULL || (pkt->noted != NULL && *pkt->noted))
		return;
	e = lookup(nc, &pkt->src->addr, pkt->src->port);
	if (e->addr.family == 0) {
		if (nc->n == NEWCOMERS_MAX) {
			if (!nc->full_said)
				log_msg(LOG_INFO, "more than %d exporters: new "
				    "ones are no longer logged (see /metrics)",
				    NEWCOMERS_MAX);
			nc->full_said = true;
			/* the table never shrinks: it stays unlogged */
			if (pkt->noted != NULL)
				*pkt->noted = true;
			return;
		}
		e->addr = pkt->src->addr;
		e->port = pkt->src->port;
		nc->n++;
		exporter_text(&pkt->src->addr, buf, sizeof(buf));
		log_limited_fields(&nc->log, LOG_INFO, LOG_FIELDS({ "EXPORTER", buf }),
		    "new exporter %s port %u: %s, %s %u", buf, pkt->src->port,
		    kind(pkt), pkt->format == FLOW_FORMAT_SFLOW ? "sub-agent" :
		    "domain", pkt->domain);
	}
	if (e->decoded || pkt->format == FLOW_FORMAT_SFLOW || pkt->version < 9) {
		/* nothing more to say about this session */
		if (pkt->noted != NULL)
			*pkt->noted = true;
		return;
	}
	if (pkt->records == 0)
		return;
	e->decoded = true;
	if (pkt->noted != NULL)
		*pkt->noted = true;
	exporter_text(&pkt->src->addr, buf, sizeof(buf));
	log_limited_fields(&nc->log, LOG_INFO, LOG_FIELDS({ "EXPORTER", buf }),
	    "exporter %s port %u: first template in use: template %u "
	    "(%s domain %u) decoded %u records", buf, pkt->src->port,
	    template_id, kind(pkt), pkt->domain, pkt->records);
}
