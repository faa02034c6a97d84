/*
 * sFlow v5 internals shared by sflow.c (datagram, samples, flow and
 * counter records), sflow-header.c (the sampled packet header) and
 * sflow-sources.c (sample sequence numbers per source).
 */
#ifndef NETFLOWD_SFLOW_PRIVATE_H
#define NETFLOWD_SFLOW_PRIVATE_H

#include "parser-private.h"

/* Extra fields of one sample's line and the bytes of the values computed
 * for them (VLAN ids out of tag words, the AS path as text). A sample that
 * would need more keeps what fitted: both bound the work per sample. */
#define SFLOW_FIELDS_MAX 64
#define SFLOW_SCRATCH 1024

/* Keys sFlow has and the IANA registry does not: rows of our own beside
 * the IE table, under InMon's enterprise number so that they can never
 * collide with an element a template names. */
#define SFLOW_PEN 4300

enum sflow_key {
	SK_SAMPLE_POOL = 1, SK_DROPS, SK_SOURCE_ID_TYPE, SK_SOURCE_ID_INDEX,
	SK_IN_IF_DISCARDED, SK_IN_IF_MULTIPLE, SK_OUT_IF_DISCARDED,
	SK_OUT_IF_MULTIPLE, SK_SRC_PRIORITY, SK_DST_PRIORITY, SK_AS_PATH,
	SK_HEADER_PROTOCOL, SK_COUNTERS_FORMAT, SK_COUNTERS_DATA,
	SK_MAX
};

/* The IANA elements sFlow records feed, looked up in the IE table once
 * per parser (sflow_iana()) rather than once per field. */
enum sflow_iana {
	SI_SRC_MAC, SI_DST_MAC, SI_ETHERNET_TYPE, SI_VLAN, SI_POST_VLAN,
	SI_NEXT_ADJACENT_AS, SI_PREV_ADJACENT_AS, SI_BGP_NEXT_HOP4,
	SI_BGP_NEXT_HOP6, SI_FRAGMENT_ID, SI_IP_VERSION, SI_FLOW_LABEL,
	SI_FRAGMENT_OFFSET, SI_TTL, SI_FRAGMENT_FLAGS, SI_DOT1Q_VLAN,
	SI_DOT1Q_PRIORITY, SI_DOT1Q_CUSTOMER_VLAN, SI_DOT1Q_CUSTOMER_PRIORITY,
	SI_MPLS,                 /* mplsTopLabelStackSection, then 2..10 */
	SI_MAX = SI_MPLS + 10
};

/* Fills the table of element rows (at the sFlow state's allocation). */
void sflow_iana_resolve(const struct ie_info **ie);
/* The rows, allocating the sFlow state on the first call; NULL (and a
 * no_memory drop) when that fails. */
const struct ie_info *const *sflow_iana(struct parser *p,
    const struct parser_source *src);

/* One sample being turned into a record. */
struct sflow_sample {
	const struct ie_info *const *iana;
	struct flow_record rec;
	struct flow_field fields[SFLOW_FIELDS_MAX];
	uint8_t scratch[SFLOW_SCRATCH];
	size_t used;             /* of scratch */
};

const struct ie_info *sflow_key_info(enum sflow_key k);

/* An extra field whose bytes stay valid while the sample is delivered
 * (the datagram or the sample's scratch). */
void sflow_field(struct sflow_sample *s, const struct ie_info *ie,
    const uint8_t *data, size_t len);
/* ... only if the sample has no field of that element yet: the records
 * that repeat what the sampled header said (Ethernet, IPv4, IPv6). */
void sflow_field_once(struct sflow_sample *s, const struct ie_info *ie,
    const uint8_t *data, size_t len);
/* An unsigned value of len (1-8) bytes, stored big-endian in scratch. */
void sflow_field_uint(struct sflow_sample *s, const struct ie_info *ie,
    uint64_t v, size_t len);
/* A copy of len bytes in scratch (from memory that does not last). */
void sflow_field_copy(struct sflow_sample *s, const struct ie_info *ie,
    const uint8_t *data, size_t len);
/* The first record to give a core key sets it. */
void sflow_num(struct sflow_sample *s, enum flow_num k, uint64_t v);
void sflow_addr(struct sflow_sample *s, enum flow_addr_key k, uint8_t family,
    const uint8_t *bytes);

/* The sampled header of a raw packet header record (format 1), by its
 * header_protocol; what a truncated header does not reach is left out. */
void sflow_header_decode(struct sflow_sample *s, uint32_t protocol,
    struct cursor *hdr);

/* Who a sample sequence belongs to. */
struct sflow_source_key {
	struct parser_addr agent;
	uint16_t port;           /* the UDP source: another agent process */
	uint32_t sub_agent;
	uint32_t type, index;    /* source id */
	uint8_t kind;            /* SFLOW_FLOWS or SFLOW_COUNTERS */
};

enum { SFLOW_FLOWS = 1, SFLOW_COUNTERS = 2 };

/* Samples missing before seq in this source's sequence (0 for the first,
 * a late or a restarted one; a restart is counted as a reset). */
uint32_t sflow_source_sequence(struct parser *p,
    const struct parser_source *src, const struct sflow_source_key *k,
    uint32_t seq);

#endif
