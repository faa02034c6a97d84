/* flow: one decoded flow record (one JSON line of netflowd's output). */
#ifndef ANALYZER_FLOW_H
#define ANALYZER_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

struct flow {
	int64_t start_ms;
	int64_t end_ms;
	/* When the collector received the record (else end): orders arrival
	 * and ages unpaired flows out of the pairing table. */
	int64_t seen_ms;
	struct addr src;
	struct addr dst;
	struct addr exporter;
	uint64_t bytes;		/* both directions of a biflow */
	uint64_t packets;
	/* The part of bytes/packets that went from dst to src: a biflow record
	 * (Cisco ASA NSEL's initiator/responder counters) holds a whole
	 * connection, which then needs no pairing. */
	uint64_t rev_bytes;
	uint64_t rev_packets;
	uint64_t sampling_interval;	/* 0 or 1: every packet counted */
	bool biflow;
	bool sflow;		/* an sFlow sample ("format":"sflow") */
	bool has_tcp_flags;	/* the record carried tcp_flags */
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t tcp_flags;	/* as exported: the OR of the packets' flags */
	uint8_t proto;
	uint8_t version;
	int16_t icmp_type;	/* -1 when not ICMP or unknown */
	int16_t icmp_code;
	/* The keys the filter language and the statistics read; 0 (or family
	 * 0) where the line has none, as nfdump reads a missing field
	 * (tcp_flags too, above). */
	uint8_t tos;
	uint8_t src_mask;
	uint8_t dst_mask;
	uint16_t src_vlan;	/* vlanId */
	uint16_t dst_vlan;	/* postVlanId */
	uint32_t in_if;
	uint32_t out_if;
	uint32_t src_as;
	uint32_t dst_as;
	uint32_t prev_as;	/* bgpPrevAdjacentAsNumber */
	uint32_t next_as;	/* bgpNextAdjacentAsNumber */
	struct addr next_hop;
	struct addr bgp_next_hop;	/* bgpNextHopIPv4Address / IPv6 */
	/* Enrichment (the collector's [enrich], or --asn-db/--country-db):
	 * names as intern ids, countries as intern_country packs them; 0
	 * where none was found. */
	uint32_t src_as_name;
	uint32_t dst_as_name;
	uint32_t in_if_name;
	uint32_t out_if_name;
	uint16_t src_country;
	uint16_t dst_country;
};

static inline bool
flow_is_icmp(const struct flow *f)
{
	return f->proto == PROTO_ICMP || f->proto == PROTO_ICMPV6;
}

/* The ports as nfdump sees them: an ICMP flow has source port 0 and
 * destination port type * 256 + code (what v5 carries in dst_port), which
 * `port` filters, port statistics and aggregation compare. */
static inline uint16_t
flow_src_port(const struct flow *f)
{
	return flow_is_icmp(f) && f->icmp_type >= 0 ? 0 : f->src_port;
}

static inline uint16_t
flow_dst_port(const struct flow *f)
{
	if (flow_is_icmp(f) && f->icmp_type >= 0)
		return (uint16_t)(f->icmp_type * 256 + (f->icmp_code > 0 ? f->icmp_code : 0));
	return f->dst_port;
}

#endif
