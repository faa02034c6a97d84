/*
 * parser: pure NetFlow v1/v5/v7/v9, IPFIX and sFlow v5 decoding.
 *
 * Bytes, the exporter's identity and the receive time go in; decoded
 * records come out through a callback, and every datagram, set or record
 * that cannot be decoded is reported with a reason. No sockets, no files,
 * no logging: the caller decides what to do with records and drops.
 * The parser owns the template cache.
 */
#ifndef NETFLOWD_PARSER_H
#define NETFLOWD_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ie.h"

struct parser;

struct parser_addr {
	uint8_t family;          /* 4, 6, or 0 when absent */
	uint8_t bytes[16];       /* IPv4 in the first 4 bytes */
};

/* Addresses as the parser keys its tables by them (an IPv4 address has
 * zeros after its 4 bytes); callers keying their own tables by exporter
 * use the same two. */
static inline bool
parser_addr_equal(const struct parser_addr *a, const struct parser_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* Finalizer of MurmurHash3: every input bit reaches the low bits a hash
 * table masks with. */
static inline uint64_t
parser_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* An address as a hash; callers mix in what else keys them. */
static inline uint64_t
parser_addr_hash(const struct parser_addr *a, uint64_t more)
{
	uint64_t lo, hi;

	memcpy(&lo, a->bytes, 8);
	memcpy(&hi, a->bytes + 8, 8);
	return parser_mix64(lo ^ parser_mix64(hi ^ parser_mix64(more ^
	    a->family)));
}

/* What the exporter's messages came over; the parser does not look at
 * it (a TCP or TLS session has a parser of its own, daemon/stream/), the
 * output writes "transport" for the stream ones. */
enum parser_transport {
	PARSER_TRANSPORT_UDP,
	PARSER_TRANSPORT_TCP,
	PARSER_TRANSPORT_TLS,
};

struct parser_source {
	struct parser_addr addr; /* the exporter */
	uint16_t port;
	uint8_t transport;       /* enum parser_transport */
	int64_t received_ms;     /* Unix time in milliseconds */
};

enum parser_drop {
	PARSER_DROP_SHORT,            /* datagram shorter than its header */
	PARSER_DROP_VERSION,          /* unknown version */
	PARSER_DROP_LENGTH,           /* header count/length disagrees with the datagram */
	PARSER_DROP_SET_LENGTH,       /* set/flowset length < 4 or past the end */
	PARSER_DROP_BAD_TEMPLATE,     /* malformed template record */
	PARSER_DROP_TEMPLATE_LIMIT,   /* template refused: too many fields */
	PARSER_DROP_UNKNOWN_TEMPLATE, /* data set for a template we do not have */
	PARSER_DROP_BAD_RECORD,       /* record whose variable length runs past its set */
	PARSER_DROP_RESERVED_SET,     /* set id reserved by the protocol */
	PARSER_DROP_HELD_EXPIRED,     /* data set held for its template aged out */
	PARSER_DROP_HELD_OVERFLOW,    /* data set not held / pushed out: held bytes full */
	PARSER_DROP_TEMPLATE_EVICTED, /* template evicted to make room (count: templates) */
	PARSER_DROP_DOMAIN_EVICTED,   /* exporter domain state evicted to make room */
	PARSER_DROP_EXPORTER_EVICTED, /* exporter state evicted to make room */
	PARSER_DROP_OPTION_LIMIT,     /* interface name not kept: table full */
	PARSER_DROP_NO_MEMORY,        /* allocation failed */
	PARSER_DROP_BAD_SAMPLE,       /* sFlow: bad agent address, or a sample
	                               * whose fields or records overrun it */
	PARSER_DROP_UNKNOWN_FORMAT,   /* sFlow: sample or record of a format not
	                               * decoded, skipped by its length */
	PARSER_DROP_MAX
};

const char *parser_drop_name(enum parser_drop why);

/* Core keys with a numeric value; flow_record.num[] is indexed by these. */
enum flow_num {
	FLOW_SRC_PORT, FLOW_DST_PORT, FLOW_PROTO, FLOW_ICMP_TYPE,
	FLOW_ICMP_CODE, FLOW_BYTES, FLOW_PACKETS, FLOW_TCP_FLAGS, FLOW_TOS,
	FLOW_IN_IF, FLOW_OUT_IF, FLOW_SRC_AS, FLOW_DST_AS, FLOW_SRC_MASK,
	FLOW_DST_MASK, FLOW_SAMPLING_INTERVAL,
	FLOW_NUM_MAX
};

/* FLOW_AGENT: the sFlow agent address, written after "format" */
enum flow_addr_key { FLOW_SRC_ADDR, FLOW_DST_ADDR, FLOW_NEXT_HOP, FLOW_AGENT,
	FLOW_ADDR_MAX };


enum flow_field_flag {
	FLOW_FIELD_SCOPE = 1 << 0,   /* an options-template scope field */
	FLOW_FIELD_REVERSE = 1 << 1, /* RFC 5103 reverse element (PEN 29305) */
};

/* A field the core keys do not absorb; data points into the datagram. */
struct flow_field {
	const struct ie_info *ie; /* NULL when the table does not know it */
	uint32_t pen;
	uint16_t id;
	uint16_t len;
	uint8_t flags;
	const uint8_t *data;
};

enum flow_kind { FLOW_KIND_DATA, FLOW_KIND_OPTIONS, FLOW_KIND_COUNTERS };

/* What the record came in: sFlow's version is 5 too, so its lines say
 * "format":"sflow" (NetFlow/IPFIX lines have no such key). */
enum flow_format { FLOW_FORMAT_NETFLOW, FLOW_FORMAT_SFLOW };

/* One decoded record; valid only during the callback. */
struct flow_record {
	const struct parser_source *src;
	uint8_t kind;            /* enum flow_kind */
	uint8_t version;         /* 1, 5, 7, 9, 10; sFlow: 5 */
	uint8_t format;          /* enum flow_format */
	bool has_domain;
	bool has_start, has_end;
	/* its exporter never proved its address: no datagram of it continued
	 * an earlier one's sequence or decoded data with an earlier one's
	 * template (spoofed sources look like this; fair shedding groups
	 * such exporters into one class) */
	bool unproven;
	uint16_t template_id;    /* v9/IPFIX */
	uint32_t domain;
	int64_t start_ms, end_ms;
	uint32_t has_num;        /* bit (1 << enum flow_num) */
	uint32_t has_addr;       /* bit (1 << enum flow_addr_key) */
	uint64_t num[FLOW_NUM_MAX];
	struct parser_addr addr[FLOW_ADDR_MAX];
	size_t nextra;
	const struct flow_field *extra;
};

struct parser_packet {
	const struct parser_source *src;
	uint8_t format;          /* enum flow_format */
	uint16_t version;
	uint32_t domain;
	uint32_t sequence;
	uint32_t records;        /* records delivered while decoding this datagram
	                          * (including held ones it released) */
	uint32_t lost;           /* export packets (v9), flows (v5/v7) or data
	                          * records (IPFIX) missing since the previous
	                          * datagram of this exporter/domain; sFlow:
	                          * datagrams of this agent/sub-agent */
	uint32_t samples_lost;   /* sFlow: samples missing from the sequences
	                          * of this datagram's sources */
	uint32_t resets;         /* sequences this datagram restarted (a new
	                          * session, a restarted exporter, a stray
	                          * datagram): never counted as lost */
	bool *noted;             /* the packet callback's own flag in the
	                          * parser's state of this session and domain:
	                          * false where the parser made that state
	                          * (new, evicted and back, loaded); NULL: none
	                          * (sFlow) */
};

struct parser_ops {
	void (*record)(const struct flow_record *rec, void *arg);
	void (*drop)(const struct parser_source *src, enum parser_drop why,
	    uint32_t count, void *arg);
	/* optional: once per datagram that had a valid header */
	void (*packet)(const struct parser_packet *pkt, void *arg);
};

/* Every piece of state that packets create is bounded by these; when a
 * limit is reached the least recently used entry is evicted (and counted
 * as a drop). A zero means the default. parser/README.md has the budget. */
struct parser_limits {
	size_t max_templates;        /* all exporters and domains together */
	size_t max_fields;           /* per template */
	size_t max_template_fields;  /* fields of all templates together */
	size_t max_exporters;
	size_t max_domains;          /* per exporter (source ids, observation
	                              * domains, v5 engines) */
	size_t max_domain_templates; /* per exporter domain */
	size_t max_held_bytes;       /* data waiting for its template, total */
	size_t max_exporter_held_bytes; /* ... per exporter */
	int64_t held_max_age_ms;     /* how long held data waits */
	size_t max_if_names;         /* interface names, all exporters */
	size_t max_domain_if_names;  /* interface names per exporter domain */
	size_t max_sflow_sources;    /* sFlow sample sequences tracked (agent,
	                              * sub-agent, source id), all agents */
};

void parser_limits_default(struct parser_limits *limits);

/* Worst-case heap memory of a parser with these limits (NULL: defaults),
 * allocator overhead of 16 bytes per allocation included. */
size_t parser_memory_budget(const struct parser_limits *limits);
/* What the parser holds now, counted the same way. */
size_t parser_memory_usage(const struct parser *p);

struct parser *parser_new(const struct parser_limits *limits,
    const struct parser_ops *ops, void *arg);
void parser_free(struct parser *p);

/* Decodes one datagram. Returns the number of records delivered. */
size_t parser_feed(struct parser *p, const uint8_t *buf, size_t len,
    const struct parser_source *src);

size_t parser_template_count(const struct parser *p);

/* Sum of parser_packet.lost over every datagram so far. */
uint64_t parser_lost_total(const struct parser *p);

/* What an exporter sent and what became of it, counted by the parser. */
struct parser_counters {
	uint64_t datagrams, bytes;  /* given to parser_feed() */
	uint64_t flows;             /* records delivered (options included) */
	uint64_t packets;           /* their FLOW_PACKETS, summed */
	uint64_t lost;              /* parser_packet.lost, summed */
	uint64_t samples_lost;      /* sFlow: parser_packet.samples_lost, summed */
	uint64_t resets;            /* parser_packet.resets, summed */
	uint64_t borrowed;          /* templates a new source port of the
	                             * address took over from its old one */
	uint64_t clamped;           /* v1/v5/v7 headers with unix_nsecs of 1e9
	                             * or more, taken as 999999999 */
	uint64_t output_dropped;    /* of flows, records the caller could not
	                             * keep (parser_record_dropped) */
	uint64_t drops[PARSER_DROP_MAX]; /* as reported to ops.drop, charged
	                             * to the exporter the dropped state
	                             * belonged to */
	int64_t last_ms;            /* received_ms of its latest datagram */
};

/* Called from ops.record: the caller could not keep count records of
 * the exporter of the datagram being decoded; counted against it. */
void parser_record_dropped(struct parser *p, uint32_t count);

/* The exporters (addresses) the parser counts for: those it keeps state
 * for (max_exporters at most), the established ones (sustained valid
 * traffic) first, then those on trial (some valid templates or records),
 * then those that sent nothing valid, each group most recently heard
 * first; then the evicted ones that had been established, which keep
 * their counters (max_exporters more at most). Valid until the next
 * parser_feed(), parser_expire() or parser_state_decode(). */
struct parser_exporter;
const struct parser_exporter *parser_exporter_first(const struct parser *p);
const struct parser_exporter *parser_exporter_next(const struct parser *p,
    const struct parser_exporter *e);
const struct parser_addr *parser_exporter_addr(
    const struct parser_exporter *e);
const struct parser_counters *parser_exporter_counters(
    const struct parser_exporter *e);
/* Evicted: no state, only its counters, until it sends again. */
bool parser_exporter_evicted(const struct parser_exporter *e);
bool parser_exporter_established(const struct parser_exporter *e);
/* Those with state (not the evicted ones). */
size_t parser_exporter_count(const struct parser *p);
/* Every exporter's counters summed, evicted ones included (drops that
 * belong to no exporter the parser could keep, too). */
void parser_totals(const struct parser *p, struct parser_counters *out);

/* Data sets waiting for their template. */
size_t parser_held_count(const struct parser *p);

/* Drops held data older than held_max_age_ms at now_ms (Unix ms), each
 * counted as PARSER_DROP_HELD_EXPIRED. Call about once a second. */
void parser_expire(struct parser *p, int64_t now_ms);

/* Template and options-derived state (sampling, system init time,
 * interface names) as bytes and back, so a restart decodes at once (the
 * daemon keeps them in [templates] state_file). encode gives a malloc'd
 * buffer. decode replaces nothing on failure: corrupt, truncated or
 * foreign bytes return -1 with *err set (free() it) and leave the parser
 * as it was; entries loaded are replaced by fresh ones as exporters
 * resend them. */
int parser_state_encode(const struct parser *p, uint8_t **buf, size_t *len);
int parser_state_decode(struct parser *p, const uint8_t *buf, size_t len,
    char **err);

/* A captured frame of pcap link type linktype down to its UDP payload;
 * fills src's address and port (not its time). False for anything that is
 * not a whole, unfragmented UDP datagram. */
bool parser_frame_udp(const uint8_t *frame, size_t len, int linktype,
    struct parser_source *src, const uint8_t **payload, size_t *plen);

#endif
