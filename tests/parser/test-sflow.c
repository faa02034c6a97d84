/*
 * sFlow v5 decoding against hand-built datagrams: every flow record
 * format, the sampled header's layers (VLAN, QinQ, MPLS, IPv6 extension
 * headers, fragments, truncation), counter samples, and malformed input
 * (unknown formats, lying lengths, zero and huge sample counts), each
 * decoded or dropped with a counted reason. Then sequence numbers and the
 * bound on the sources tracked.
 */
#include <stdlib.h>

#include "helper.h"
#include "test.h"

static struct sink s;

/* ---- building datagrams ---- */

static void
set32(struct dgram *d, size_t at, uint32_t v)
{
	set16(d, at, v >> 16);
	set16(d, at + 2, v & 0xffff);
}

/* Header with an IPv4 agent 192.0.2.9; the sample count is patched by
 * sf_count() or left as given. */
static void
sf_begin(struct dgram *d, uint32_t sub_agent, uint32_t seq, uint32_t nsamples)
{
	d->len = 0;
	put32(d, 5);
	put32(d, 1);
	put32(d, 0xc0000209);
	put32(d, sub_agent);
	put32(d, seq);
	put32(d, 360000);
	put32(d, nsamples);
}

/* (format, length, ...): begin returns where the length goes */
static size_t
elem_begin(struct dgram *d, uint32_t format)
{
	size_t at;

	put32(d, format);
	at = d->len;
	put32(d, 0);
	return at;
}

static void
elem_end(struct dgram *d, size_t at)
{
	while ((d->len - at) % 4 != 0)
		put8(d, 0);
	set32(d, at, (uint32_t)(d->len - at - 4));
}

/* Compact flow sample header: records follow, flow_end() closes it. */
static size_t
flow_begin(struct dgram *d, uint32_t seq, uint32_t source, uint32_t rate,
    uint32_t in, uint32_t out, uint32_t nrecords)
{
	size_t at = elem_begin(d, 1);

	put32(d, seq);
	put32(d, source);
	put32(d, rate);
	put32(d, 4000);      /* sample pool */
	put32(d, 3);         /* drops */
	put32(d, in);
	put32(d, out);
	put32(d, nrecords);
	return at;
}

/* ---- sampled packets ---- */

static void
eth(struct dgram *d, uint16_t type)
{
	putbytes(d, "\x66\x77\x88\x99\xaa\xbb\x00\x11\x22\x33\x44\x55", 12);
	put16(d, type);
}

static void
ipv4_hdr(struct dgram *d, uint8_t proto, uint16_t frag, uint32_t src,
    uint32_t dst)
{
	put8(d, 0x45);
	put8(d, 0x28);       /* tos */
	put16(d, 60);
	put16(d, 0x1234);    /* id */
	put16(d, frag);
	put8(d, 63);         /* ttl */
	put8(d, proto);
	put16(d, 0);
	put32(d, src);
	put32(d, dst);
}

static void
tcp_hdr(struct dgram *d, uint16_t sport, uint16_t dport, uint8_t flags)
{
	put16(d, sport);
	put16(d, dport);
	put32(d, 1);
	put32(d, 0);
	put8(d, 0x50);
	put8(d, flags);
	put16(d, 8192);
	put32(d, 0);
}

static void
udp_hdr(struct dgram *d, uint16_t sport, uint16_t dport)
{
	put16(d, sport);
	put16(d, dport);
	put16(d, 8);
	put16(d, 0);
}

static const uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static void
ipv6_hdr(struct dgram *d, uint8_t next, uint32_t flow_label)
{
	put32(d, 6u << 28 | 0x2eu << 20 | flow_label);
	put16(d, 40);
	put8(d, next);
	put8(d, 64);
	putbytes(d, v6a, 16);
	putbytes(d, v6b, 16);
}

/* Raw packet header record around the packet built by fn; cut > 0
 * truncates the header to that many bytes. */
static void
raw_record(struct dgram *d, uint32_t protocol, void (*fn)(struct dgram *),
    size_t cut)
{
	size_t at = elem_begin(d, 1), hl_at, start;

	put32(d, protocol);
	put32(d, 1514);      /* frame length */
	put32(d, 4);         /* stripped */
	hl_at = d->len;
	put32(d, 0);
	start = d->len;
	fn(d);
	if (cut > 0 && d->len - start > cut)
		d->len = start + cut;
	set32(d, hl_at, (uint32_t)(d->len - start));
	elem_end(d, at);
}

static void
pkt_tcp4(struct dgram *d)
{
	eth(d, 0x0800);
	ipv4_hdr(d, 6, 0x4000, 0x0a000001, 0x0a000002);
	tcp_hdr(d, 40000, 443, 0x12);
}

static void
pkt_qinq(struct dgram *d)
{
	eth(d, 0x88a8);
	put16(d, 1u << 13 | 10);
	put16(d, 0x8100);
	put16(d, 2u << 13 | 20);
	put16(d, 0x0800);
	ipv4_hdr(d, 17, 0, 0x0a000003, 0x0a000004);
	udp_hdr(d, 5000, 53);
}

static void
pkt_mpls(struct dgram *d)
{
	eth(d, 0x8847);
	put32(d, 100u << 12 | 3u << 9 | 64);        /* label 100, EXP 3 */
	put32(d, 200u << 12 | 1u << 8 | 64);        /* label 200, bottom */
	ipv4_hdr(d, 17, 0, 0x0a000005, 0x0a000006);
	udp_hdr(d, 4789, 4789);
}

static void
pkt_ipv6_ext(struct dgram *d)
{
	eth(d, 0x86dd);
	ipv6_hdr(d, 0, 0x12345);
	put8(d, 60);         /* hop-by-hop, then destination options */
	put8(d, 0);
	put32(d, 0);
	put16(d, 0);
	put8(d, 6);          /* destination options (16 bytes), then TCP */
	put8(d, 1);
	putbytes(d, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 14);
	tcp_hdr(d, 22, 50000, 0x18);
}

static void
pkt_ipv6_frag(struct dgram *d)
{
	eth(d, 0x86dd);
	ipv6_hdr(d, 44, 0);
	put8(d, 17);
	put8(d, 0);
	put16(d, 185u << 3);        /* offset 185 (1480 bytes), last */
	put32(d, 0xabcdef01);
	udp_hdr(d, 1, 2);           /* payload bytes, not a header */
}

static void
pkt_ipv4_frag(struct dgram *d)
{
	eth(d, 0x0800);
	ipv4_hdr(d, 17, 0x2000 | 185, 0x0a000007, 0x0a000008);
	udp_hdr(d, 1, 2);
}

static void
pkt_icmp6_raw_ip(struct dgram *d)
{
	ipv6_hdr(d, 58, 0);
	put8(d, 128);
	put8(d, 0);
	put16(d, 0);
}

static void
pkt_icmp4_vlan(struct dgram *d)
{
	eth(d, 0x8100);
	put16(d, 5u << 13 | 42);
	put16(d, 0x0800);
	ipv4_hdr(d, 1, 0, 0x0a000009, 0x0a00000a);
	put8(d, 3);
	put8(d, 1);
	put16(d, 0);
}

/* ---- the cases ---- */

/* A datagram of one compact flow sample of one raw header record. */
static void
single(struct dgram *d, uint32_t protocol, void (*pkt)(struct dgram *),
    size_t cut)
{
	size_t at;

	sf_begin(d, 0, 1, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 1);
	raw_record(d, protocol, pkt, cut);
	elem_end(d, at);
}


struct sflow_case {
	const char *name;
	void (*build)(struct dgram *d);
	size_t records;
	enum parser_drop drop;   /* PARSER_DROP_MAX: none expected */
	uint32_t drops;
	void (*check)(const struct sink_record *r);
};

static uint64_t
num(const struct sink_record *r, enum flow_num k)
{
	return r->rec.has_num & (1u << k) ? r->rec.num[k] : ~(uint64_t)0;
}

static uint64_t
named(const struct sink_record *r, const char *name)
{
	return field_uint(sink_named(r, name));
}

static uint32_t
be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

static bool
has_addr4(const struct sink_record *r, enum flow_addr_key k, uint32_t v)
{
	const uint8_t *b = r->rec.addr[k].bytes;

	return (r->rec.has_addr & (1u << k)) && r->rec.addr[k].family == 4 &&
	    be32(b) == v;
}

static void
b_tcp4(struct dgram *d)
{
	size_t at;

	sf_begin(d, 7, 100, 1);
	at = flow_begin(d, 1, 5, 512, 5, 6, 1);
	raw_record(d, 1, pkt_tcp4, 0);
	elem_end(d, at);
}

static void
c_tcp4(const struct sink_record *r)
{
	CHECK_EQ_U(r->rec.version, 5);
	CHECK_EQ_U(r->rec.format, FLOW_FORMAT_SFLOW);
	CHECK_EQ_U(r->rec.kind, FLOW_KIND_DATA);
	CHECK(r->rec.has_domain && r->rec.domain == 7);
	CHECK(has_addr4(r, FLOW_AGENT, 0xc0000209));
	CHECK(has_addr4(r, FLOW_SRC_ADDR, 0x0a000001));
	CHECK(has_addr4(r, FLOW_DST_ADDR, 0x0a000002));
	CHECK_EQ_U(num(r, FLOW_SRC_PORT), 40000);
	CHECK_EQ_U(num(r, FLOW_DST_PORT), 443);
	CHECK_EQ_U(num(r, FLOW_PROTO), 6);
	CHECK_EQ_U(num(r, FLOW_TCP_FLAGS), 0x12);
	CHECK_EQ_U(num(r, FLOW_TOS), 0x28);
	CHECK_EQ_U(num(r, FLOW_BYTES), 1514);
	CHECK_EQ_U(num(r, FLOW_PACKETS), 1);
	CHECK_EQ_U(num(r, FLOW_SAMPLING_INTERVAL), 512);
	CHECK_EQ_U(num(r, FLOW_IN_IF), 5);
	CHECK_EQ_U(num(r, FLOW_OUT_IF), 6);
	CHECK(r->rec.has_start && r->rec.has_end);
	CHECK_EQ_U(r->rec.start_ms, 5000);
	CHECK_EQ_U(r->rec.end_ms, 5000);
	CHECK_EQ_U(named(r, "sample_pool"), 4000);
	CHECK_EQ_U(named(r, "drops"), 3);
	CHECK_EQ_U(named(r, "ethernetType"), 0x0800);
	CHECK_EQ_U(named(r, "ipVersion"), 4);
	CHECK_EQ_U(named(r, "ipTTL"), 63);
	CHECK_EQ_U(named(r, "sourceMacAddress"), 0x001122334455);
	CHECK_EQ_U(named(r, "destinationMacAddress"), 0x66778899aabb);
	/* DF alone is not a fragment */
	CHECK(sink_named(r, "fragmentOffset") == NULL);
}

static void
b_qinq(struct dgram *d)
{
	single(d, 1, pkt_qinq, 0);
}

static void
c_qinq(const struct sink_record *r)
{
	CHECK_EQ_U(named(r, "dot1qVlanId"), 10);
	CHECK_EQ_U(named(r, "dot1qPriority"), 1);
	CHECK_EQ_U(named(r, "dot1qCustomerVlanId"), 20);
	CHECK_EQ_U(named(r, "dot1qCustomerPriority"), 2);
	CHECK_EQ_U(named(r, "ethernetType"), 0x0800);
	CHECK_EQ_U(num(r, FLOW_SRC_PORT), 5000);
	CHECK_EQ_U(num(r, FLOW_DST_PORT), 53);
	CHECK_EQ_U(num(r, FLOW_PROTO), 17);
	CHECK(has_addr4(r, FLOW_DST_ADDR, 0x0a000004));
}

static void
b_mpls(struct dgram *d)
{
	single(d, 1, pkt_mpls, 0);
}

static void
c_mpls(const struct sink_record *r)
{
	/* label << 4 | EXP << 1 | S, three bytes */
	CHECK_EQ_U(named(r, "mplsTopLabelStackSection"), 100u << 4 | 3u << 1);
	CHECK_EQ_U(named(r, "mplsLabelStackSection2"), 200u << 4 | 1);
	CHECK_EQ_U(named(r, "ethernetType"), 0x8847);
	CHECK(has_addr4(r, FLOW_SRC_ADDR, 0x0a000005));
	CHECK_EQ_U(num(r, FLOW_DST_PORT), 4789);
}

static void
b_ipv6_ext(struct dgram *d)
{
	single(d, 1, pkt_ipv6_ext, 0);
}

static void
c_ipv6_ext(const struct sink_record *r)
{
	CHECK_EQ_U(r->rec.addr[FLOW_SRC_ADDR].family, 6);
	CHECK(memcmp(r->rec.addr[FLOW_SRC_ADDR].bytes, v6a, 16) == 0);
	CHECK(memcmp(r->rec.addr[FLOW_DST_ADDR].bytes, v6b, 16) == 0);
	CHECK_EQ_U(num(r, FLOW_PROTO), 6);
	CHECK_EQ_U(num(r, FLOW_SRC_PORT), 22);
	CHECK_EQ_U(num(r, FLOW_DST_PORT), 50000);
	CHECK_EQ_U(num(r, FLOW_TCP_FLAGS), 0x18);
	CHECK_EQ_U(num(r, FLOW_TOS), 0x2e);
	CHECK_EQ_U(named(r, "ipVersion"), 6);
	CHECK_EQ_U(named(r, "flowLabelIPv6"), 0x12345);
}

static void
b_ipv6_frag(struct dgram *d)
{
	single(d, 1, pkt_ipv6_frag, 0);
}

static void
c_ipv6_frag(const struct sink_record *r)
{
	CHECK_EQ_U(num(r, FLOW_PROTO), 17);
	CHECK_EQ_U(num(r, FLOW_SRC_PORT), ~(uint64_t)0);
	CHECK_EQ_U(named(r, "fragmentOffset"), 185);
	CHECK_EQ_U(named(r, "fragmentIdentification"), 0xabcdef01);
	CHECK_EQ_U(named(r, "fragmentFlags"), 0);
}

static void
b_ipv4_frag(struct dgram *d)
{
	single(d, 1, pkt_ipv4_frag, 0);
}

static void
c_ipv4_frag(const struct sink_record *r)
{
	CHECK_EQ_U(num(r, FLOW_PROTO), 17);
	CHECK_EQ_U(num(r, FLOW_DST_PORT), ~(uint64_t)0);
	CHECK_EQ_U(named(r, "fragmentOffset"), 185);
	CHECK_EQ_U(named(r, "fragmentIdentification"), 0x1234);
	CHECK_EQ_U(named(r, "fragmentFlags"), 0x20);
}

/* cut inside the IPv4 header: the MACs and type stay, no addresses */
static void
b_truncated(struct dgram *d)
{
	single(d, 1, pkt_tcp4, 14 + 12);
}

static void
c_truncated(const struct sink_record *r)
{
	CHECK_EQ_U(named(r, "ethernetType"), 0x0800);
	CHECK_EQ_U(named(r, "ipVersion"), 4);
	CHECK_EQ_U(r->rec.has_addr & (1u << FLOW_SRC_ADDR), 0);
	CHECK_EQ_U(num(r, FLOW_BYTES), 1514);
}

/* cut inside TCP: ports, no flags */
static void
b_truncated_tcp(struct dgram *d)
{
	single(d, 1, pkt_tcp4, 14 + 20 + 6);
}

static void
c_truncated_tcp(const struct sink_record *r)
{
	CHECK_EQ_U(num(r, FLOW_DST_PORT), 443);
	CHECK_EQ_U(num(r, FLOW_TCP_FLAGS), ~(uint64_t)0);
}

static void
b_icmp6(struct dgram *d)
{
	single(d, 12, pkt_icmp6_raw_ip, 0);
}

static void
c_icmp6(const struct sink_record *r)
{
	CHECK_EQ_U(num(r, FLOW_PROTO), 58);
	CHECK_EQ_U(num(r, FLOW_ICMP_TYPE), 128);
	CHECK_EQ_U(num(r, FLOW_ICMP_CODE), 0);
	CHECK(sink_named(r, "sourceMacAddress") == NULL);
}

static void
b_icmp4_vlan(struct dgram *d)
{
	single(d, 1, pkt_icmp4_vlan, 0);
}

static void
c_icmp4_vlan(const struct sink_record *r)
{
	CHECK_EQ_U(named(r, "dot1qVlanId"), 42);
	CHECK_EQ_U(named(r, "dot1qPriority"), 5);
	CHECK(sink_named(r, "dot1qCustomerVlanId") == NULL);
	CHECK_EQ_U(num(r, FLOW_ICMP_TYPE), 3);
	CHECK_EQ_U(num(r, FLOW_ICMP_CODE), 1);
}

/* Ethernet frame data, sampled IPv4, extended switch/router/gateway */
static void
b_records(struct dgram *d)
{
	size_t at, r;

	sf_begin(d, 0, 1, 1);
	at = flow_begin(d, 1, 5, 100, 5, 6, 5);
	r = elem_begin(d, 2);
	put32(d, 1000);
	putbytes(d, "\x00\x11\x22\x33\x44\x55\0\0\x66\x77\x88\x99\xaa\xbb\0\0", 16);
	put32(d, 0x0800);
	elem_end(d, r);
	r = elem_begin(d, 3);
	put32(d, 986);
	put32(d, 6);
	put32(d, 0x0a000001);
	put32(d, 0x0a000002);
	put32(d, 1234);
	put32(d, 80);
	put32(d, 0x02);
	put32(d, 0x10);
	elem_end(d, r);
	r = elem_begin(d, 1001);
	put32(d, 100);
	put32(d, 3);
	put32(d, 200);
	put32(d, 5);
	elem_end(d, r);
	r = elem_begin(d, 1002);
	put32(d, 1);
	put32(d, 0x0a0000fe);
	put32(d, 24);
	put32(d, 16);
	elem_end(d, r);
	r = elem_begin(d, 1003);
	put32(d, 2);
	putbytes(d, v6a, 16);
	put32(d, 65000);     /* router AS */
	put32(d, 65001);     /* src AS */
	put32(d, 65002);     /* src peer AS */
	put32(d, 2);         /* segments */
	put32(d, 2);         /* AS_SEQUENCE */
	put32(d, 2);
	put32(d, 65003);
	put32(d, 65004);
	put32(d, 1);         /* AS_SET */
	put32(d, 2);
	put32(d, 65005);
	put32(d, 65006);
	put32(d, 0);         /* communities */
	put32(d, 100);       /* local pref */
	elem_end(d, r);
	elem_end(d, at);
}

static void
c_records(const struct sink_record *r)
{
	const struct sink_field *path = sink_named(r, "as_path");

	CHECK_EQ_U(num(r, FLOW_BYTES), 1000);
	CHECK_EQ_U(named(r, "sourceMacAddress"), 0x001122334455);
	CHECK_EQ_U(named(r, "destinationMacAddress"), 0x66778899aabb);
	CHECK_EQ_U(named(r, "ethernetType"), 0x0800);
	CHECK(has_addr4(r, FLOW_SRC_ADDR, 0x0a000001));
	CHECK_EQ_U(num(r, FLOW_SRC_PORT), 1234);
	CHECK_EQ_U(num(r, FLOW_TCP_FLAGS), 2);
	CHECK_EQ_U(num(r, FLOW_TOS), 0x10);
	CHECK_EQ_U(named(r, "vlanId"), 100);
	CHECK_EQ_U(named(r, "postVlanId"), 200);
	CHECK_EQ_U(named(r, "src_priority"), 3);
	CHECK_EQ_U(named(r, "dst_priority"), 5);
	CHECK(has_addr4(r, FLOW_NEXT_HOP, 0x0a0000fe));
	CHECK_EQ_U(num(r, FLOW_SRC_MASK), 24);
	CHECK_EQ_U(num(r, FLOW_DST_MASK), 16);
	CHECK_EQ_U(num(r, FLOW_SRC_AS), 65001);
	CHECK_EQ_U(num(r, FLOW_DST_AS), 65006);
	CHECK_EQ_U(named(r, "bgpPrevAdjacentAsNumber"), 65002);
	CHECK_EQ_U(named(r, "bgpNextAdjacentAsNumber"), 65003);
	CHECK(sink_named(r, "bgpNextHopIPv6Address") != NULL);
	CHECK(path != NULL && path->f.len == 25 &&
	    memcmp(path->data, "65003 65004 {65005,65006}", 25) == 0);
}

/* expanded flow sample, sampled IPv6, discarded and multiple outputs */
static void
b_expanded(struct dgram *d)
{
	size_t at, r;

	sf_begin(d, 0, 1, 2);
	for (uint32_t i = 0; i < 2; i++) {
		at = elem_begin(d, 3);
		put32(d, 10 + i);
		put32(d, 0);             /* source id type */
		put32(d, 70000);         /* source id index: > 24 bits allowed */
		put32(d, 2048);
		put32(d, 9000);
		put32(d, 0);
		put32(d, 0);             /* input: ifIndex 70000 */
		put32(d, 70000);
		put32(d, i == 0 ? 1 : 2);    /* output: discarded / multiple */
		put32(d, i == 0 ? 258 : 0);
		put32(d, 1);
		r = elem_begin(d, 4);
		put32(d, 1280);
		put32(d, 17);
		putbytes(d, v6a, 16);
		putbytes(d, v6b, 16);
		put32(d, 53);
		put32(d, 1053);
		put32(d, 0);
		put32(d, 0);
		elem_end(d, r);
		elem_end(d, at);
	}
}

static void
c_expanded(const struct sink_record *r)
{
	CHECK_EQ_U(num(r, FLOW_IN_IF), 70000);
	CHECK_EQ_U(num(r, FLOW_OUT_IF), ~(uint64_t)0);
	CHECK_EQ_U(num(r, FLOW_SAMPLING_INTERVAL), 2048);
	CHECK_EQ_U(num(r, FLOW_BYTES), 1280);
	CHECK_EQ_U(r->rec.addr[FLOW_DST_ADDR].family, 6);
	CHECK_EQ_U(num(r, FLOW_DST_PORT), 1053);
	CHECK_EQ_U(named(r, "out_if_discarded"), 258);
	CHECK(sink_named(r, "out_if_multiple") == NULL);
	CHECK_EQ_U(named(r, "sample_pool"), 9000);
}

/* counters: compact generic + Ethernet, expanded with an unknown one */
static void
b_counters(struct dgram *d)
{
	size_t at, r;

	sf_begin(d, 0, 1, 2);
	at = elem_begin(d, 2);
	put32(d, 1);
	put32(d, 3u << 24 | 7);
	put32(d, 2);
	r = elem_begin(d, 1);
	put32(d, 7);
	put32(d, 6);
	put64(d, 10000000000ULL);
	put32(d, 1);
	put32(d, 3);
	put64(d, 123456789012ULL);
	for (int i = 0; i < 6; i++)
		put32(d, 100 + i);
	put64(d, 987654321098ULL);
	for (int i = 0; i < 6; i++)
		put32(d, 200 + i);
	elem_end(d, r);
	r = elem_begin(d, 2);
	for (int i = 0; i < 13; i++)
		put32(d, 300 + i);
	elem_end(d, r);
	elem_end(d, at);
	at = elem_begin(d, 4);
	put32(d, 1);
	put32(d, 0);
	put32(d, 9);
	put32(d, 1);
	r = elem_begin(d, 1005);
	put32(d, 0xdeadbeef);
	elem_end(d, r);
	elem_end(d, at);
}

static void
c_counters(const struct sink_record *r)
{
	CHECK_EQ_U(r->rec.kind, FLOW_KIND_COUNTERS);
	CHECK_EQ_U(r->rec.format, FLOW_FORMAT_SFLOW);
	CHECK(!r->rec.has_start);
	CHECK_EQ_U(named(r, "source_id_type"), 3);
	CHECK_EQ_U(named(r, "source_id_index"), 7);
	CHECK_EQ_U(named(r, "if_index"), 7);
	CHECK_EQ_U(named(r, "if_speed"), 10000000000ULL);
	CHECK_EQ_U(named(r, "if_in_octets"), 123456789012ULL);
	CHECK_EQ_U(named(r, "if_in_errors"), 104);
	CHECK_EQ_U(named(r, "if_out_octets"), 987654321098ULL);
	CHECK_EQ_U(named(r, "if_promiscuous_mode"), 205);
	CHECK_EQ_U(named(r, "dot3_stats_alignment_errors"), 300);
	CHECK_EQ_U(named(r, "dot3_stats_symbol_errors"), 312);
}

static void
c_counters_raw(const struct sink_record *r)
{
	CHECK_EQ_U(r->rec.kind, FLOW_KIND_COUNTERS);
	CHECK_EQ_U(named(r, "source_id_index"), 9);
	CHECK_EQ_U(named(r, "counters_format"), 1005);
	CHECK_EQ_U(named(r, "counters_data"), 0xdeadbeef);
}

/* an unknown sample format between two flow samples */
static void
b_unknown_sample(struct dgram *d)
{
	size_t at;

	sf_begin(d, 7, 1, 3);
	at = flow_begin(d, 1, 5, 512, 5, 6, 1);
	raw_record(d, 1, pkt_tcp4, 0);
	elem_end(d, at);
	at = elem_begin(d, 4300u << 12 | 1);
	put32(d, 1);
	put32(d, 2);
	elem_end(d, at);
	at = flow_begin(d, 2, 5, 1, 5, 6, 1);
	raw_record(d, 1, pkt_qinq, 0);
	elem_end(d, at);
}

/* unknown flow record formats (enterprise 0 and another) in a sample */
static void
b_unknown_record(struct dgram *d)
{
	size_t at, r;

	sf_begin(d, 0, 1, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 3);
	r = elem_begin(d, 1010);
	put32(d, 1);
	elem_end(d, r);
	r = elem_begin(d, 9u << 12 | 1);
	elem_end(d, r);
	raw_record(d, 1, pkt_tcp4, 0);
	elem_end(d, at);
}

/* the second sample's length runs past the datagram */
static void
b_lying_sample(struct dgram *d)
{
	size_t at;

	b_tcp4(d);
	set32(d, 24, 2);
	at = flow_begin(d, 2, 5, 1, 5, 6, 1);
	raw_record(d, 1, pkt_tcp4, 0);
	elem_end(d, at);
	set32(d, at, 4000);
}

/* a record's length runs past its sample: the sample keeps the records
 * before it */
static void
b_lying_record(struct dgram *d)
{
	size_t at, r;

	sf_begin(d, 0, 1, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 2);
	raw_record(d, 1, pkt_tcp4, 0);
	r = elem_begin(d, 1001);
	put32(d, 1);
	elem_end(d, r);
	set32(d, r, 400);
	elem_end(d, at);
}

/* a record shorter than its format */
static void
b_short_record(struct dgram *d)
{
	size_t at, r;

	sf_begin(d, 0, 1, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 1);
	r = elem_begin(d, 1001);
	put32(d, 1);
	put32(d, 2);
	elem_end(d, r);
	elem_end(d, at);
}

/* a header length past its record */
static void
b_lying_header(struct dgram *d)
{
	size_t at, r;

	sf_begin(d, 0, 1, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 1);
	r = elem_begin(d, 1);
	put32(d, 1);
	put32(d, 100);
	put32(d, 0);
	put32(d, 1000);
	put32(d, 0);
	elem_end(d, r);
	elem_end(d, at);
}

/* a flow sample too short for its own fields */
static void
b_short_sample(struct dgram *d)
{
	size_t at;

	sf_begin(d, 0, 1, 1);
	at = elem_begin(d, 1);
	put32(d, 1);
	put32(d, 2);
	elem_end(d, at);
}

/* a record count the sample's bytes do not back */
static void
b_huge_records(struct dgram *d)
{
	size_t at;

	sf_begin(d, 0, 1, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 0xffffffff);
	raw_record(d, 1, pkt_tcp4, 0);
	elem_end(d, at);
}

static void
b_zero(struct dgram *d)
{
	sf_begin(d, 0, 1, 0);
}

static void
b_huge_count(struct dgram *d)
{
	b_tcp4(d);
	set32(d, 24, 0xffffffff);
}

static void
b_bad_version(struct dgram *d)
{
	b_tcp4(d);
	set32(d, 0, 4);
}

static void
b_short(struct dgram *d)
{
	b_tcp4(d);
	d->len = 20;
}

static void
b_bad_agent(struct dgram *d)
{
	b_tcp4(d);
	set32(d, 4, 7);
}

/* an IPv6 agent; an unknown header protocol (PPP) says so */
static void
b_v6_agent(struct dgram *d)
{
	size_t at;

	d->len = 0;
	put32(d, 5);
	put32(d, 2);
	putbytes(d, v6b, 16);
	put32(d, 1);
	put32(d, 1);
	put32(d, 1);
	put32(d, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 1);
	raw_record(d, 7, pkt_tcp4, 0);
	elem_end(d, at);
}

static void
c_v6_agent(const struct sink_record *r)
{
	CHECK_EQ_U(r->rec.addr[FLOW_AGENT].family, 6);
	CHECK(memcmp(r->rec.addr[FLOW_AGENT].bytes, v6b, 16) == 0);
	CHECK_EQ_U(named(r, "header_protocol"), 7);
	CHECK_EQ_U(r->rec.has_addr & (1u << FLOW_SRC_ADDR), 0);
}

/* an unknown agent address type 0: keyed by the UDP source, no "agent" */
static void
b_no_agent(struct dgram *d)
{
	size_t at;

	d->len = 0;
	put32(d, 5);
	put32(d, 0);
	put32(d, 0);
	put32(d, 1);
	put32(d, 1);
	put32(d, 1);
	at = flow_begin(d, 1, 5, 1, 5, 6, 1);
	raw_record(d, 1, pkt_tcp4, 0);
	elem_end(d, at);
}

static void
c_no_agent(const struct sink_record *r)
{
	CHECK_EQ_U(r->rec.has_addr & (1u << FLOW_AGENT), 0);
	CHECK(has_addr4(r, FLOW_SRC_ADDR, 0x0a000001));
}

#define NONE PARSER_DROP_MAX

static const struct sflow_case cases[] = {
	{ "ethernet ipv4 tcp", b_tcp4, 1, NONE, 0, c_tcp4 },
	{ "qinq udp", b_qinq, 1, NONE, 0, c_qinq },
	{ "mpls udp", b_mpls, 1, NONE, 0, c_mpls },
	{ "ipv6 extension headers", b_ipv6_ext, 1, NONE, 0, c_ipv6_ext },
	{ "ipv6 later fragment", b_ipv6_frag, 1, NONE, 0, c_ipv6_frag },
	{ "ipv4 later fragment", b_ipv4_frag, 1, NONE, 0, c_ipv4_frag },
	{ "truncated in ip", b_truncated, 1, NONE, 0, c_truncated },
	{ "truncated in tcp", b_truncated_tcp, 1, NONE, 0, c_truncated_tcp },
	{ "icmpv6 raw ip header", b_icmp6, 1, NONE, 0, c_icmp6 },
	{ "icmp vlan", b_icmp4_vlan, 1, NONE, 0, c_icmp4_vlan },
	{ "frame, ipv4, switch, router, gateway", b_records, 1, NONE, 0,
	    c_records },
	{ "expanded, ipv6, discarded", b_expanded, 2, NONE, 0, c_expanded },
	{ "counters", b_counters, 2, NONE, 0, c_counters },
	{ "unknown sample", b_unknown_sample, 2, PARSER_DROP_UNKNOWN_FORMAT, 1,
	    c_tcp4 },
	{ "unknown records", b_unknown_record, 1, PARSER_DROP_UNKNOWN_FORMAT, 2,
	    NULL },
	{ "lying sample length", b_lying_sample, 1, PARSER_DROP_LENGTH, 1,
	    c_tcp4 },
	{ "lying record length", b_lying_record, 1, PARSER_DROP_BAD_SAMPLE, 1,
	    NULL },
	{ "record shorter than its format", b_short_record, 1,
	    PARSER_DROP_BAD_RECORD, 1, NULL },
	{ "header length past record", b_lying_header, 1,
	    PARSER_DROP_BAD_RECORD, 1, NULL },
	{ "sample shorter than its fields", b_short_sample, 0,
	    PARSER_DROP_BAD_SAMPLE, 1, NULL },
	{ "huge record count", b_huge_records, 1, PARSER_DROP_BAD_SAMPLE, 1,
	    NULL },
	{ "zero samples", b_zero, 0, NONE, 0, NULL },
	{ "huge sample count", b_huge_count, 1, PARSER_DROP_LENGTH, 1, c_tcp4 },
	{ "version 4", b_bad_version, 0, PARSER_DROP_VERSION, 1, NULL },
	{ "short header", b_short, 0, PARSER_DROP_SHORT, 1, NULL },
	{ "bad agent address type", b_bad_agent, 0, PARSER_DROP_BAD_SAMPLE, 1,
	    NULL },
	{ "ipv6 agent, ppp header", b_v6_agent, 1, NONE, 0, c_v6_agent },
	{ "unknown agent address", b_no_agent, 1, NONE, 0, c_no_agent },
};

static void
test_cases(void)
{
	static struct dgram d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sflow_case *c = &cases[i];
		struct parser *p;
		struct parser_source src = source4(192, 0, 2, 9, 5000);
		size_t n;

		sink_reset(&s);
		p = parser_new(NULL, &sink_ops, &s);
		c->build(&d);
		n = parser_feed(p, d.b, d.len, &src);
		if (n != c->records || s.nrec != c->records)
			fprintf(stderr, "case %s:\n", c->name);
		CHECK_EQ_U(n, c->records);
		CHECK_EQ_U(s.nrec, c->records);
		if (sink_total_drops(&s) != c->drops ||
		    (c->drop != NONE && s.drops[c->drop] != c->drops))
			fprintf(stderr, "case %s: drops\n", c->name);
		CHECK_EQ_U(sink_total_drops(&s), c->drops);
		if (c->drop != NONE)
			CHECK_EQ_U(s.drops[c->drop], c->drops);
		if (c->check != NULL && s.nrec > 0)
			c->check(&s.recs[0]);
		if (c->check == c_counters && s.nrec > 1)
			c_counters_raw(&s.recs[1]);
		if (c->check == c_expanded && s.nrec > 1)
			CHECK_EQ_U(named(&s.recs[1], "out_if_multiple"), 0);
		/* every datagram with a header reports itself */
		if (c->drop != PARSER_DROP_VERSION && c->drop != PARSER_DROP_SHORT &&
		    !(c->drop == PARSER_DROP_BAD_SAMPLE && c->records == 0 &&
		    c->build == b_bad_agent)) {
			CHECK_EQ_U(s.npkt, 1);
			CHECK_EQ_U(s.last_pkt.format, FLOW_FORMAT_SFLOW);
			CHECK_EQ_U(s.last_pkt.records, c->records);
		}
		parser_free(p);
	}
}

/* One flow sample per datagram: datagram sequence per agent/sub-agent,
 * sample sequence per source. */
static void
one_sample(struct dgram *d, uint32_t sub_agent, uint32_t dseq, uint32_t source,
    uint32_t sseq)
{
	size_t at;

	sf_begin(d, sub_agent, dseq, 1);
	at = flow_begin(d, sseq, source, 1, 5, 6, 1);
	raw_record(d, 1, pkt_tcp4, 0);
	elem_end(d, at);
}

static void
test_sequences(void)
{
	static const struct {
		uint32_t sub, dseq, source, sseq, lost, samples_lost, resets;
	} steps[] = {
		{ 0, 1, 5, 10, 0, 0, 0 },
		{ 0, 2, 5, 11, 0, 0, 0 },
		{ 0, 5, 5, 15, 2, 3, 0 },    /* two datagrams, three samples */
		{ 0, 6, 6, 1, 0, 0, 0 },     /* a new source starts its own */
		{ 1, 100, 5, 500, 0, 0, 0 }, /* so does another sub-agent */
		{ 0, 7, 5, 16, 0, 0, 0 },
		{ 0, 4, 5, 14, 0, 0, 0 },    /* late: counts nothing */
		{ 0, 8, 5, 17, 0, 0, 0 },
		/* far behind (modulo 2^32): the agent restarted, both
		 * sequences reset */
		{ 0, 0x90000000, 5, 0x90000000, 0, 0, 2 },
		{ 0, 0x90000001, 5, 0x90000001, 0, 0, 0 },
		/* far ahead: a new session, never 1.9 billion lost */
		{ 0, 0xffffffff, 5, 0xffffffff, 0, 0, 2 },
		{ 0, 0, 5, 0, 0, 0, 0 },     /* wraps */
		/* a jump past 64: loss only once the next one confirms it */
		{ 0, 1000, 5, 1000, 0, 0, 0 },
		{ 0, 1001, 5, 1001, 999, 999, 0 },
	};
	struct parser *p;
	static struct dgram d;
	uint64_t lost = 0, samples_lost = 0, resets = 0;
	struct parser_counters tot;

	sink_reset(&s);
	p = parser_new(NULL, &sink_ops, &s);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct parser_source src = source4(192, 0, 2, 9, 1000);

		lost += steps[i].lost;
		samples_lost += steps[i].samples_lost;
		resets += steps[i].resets;
		one_sample(&d, steps[i].sub, steps[i].dseq, steps[i].source,
		    steps[i].sseq);
		parser_feed(p, d.b, d.len, &src);
		if (s.last_pkt.lost != steps[i].lost ||
		    s.last_pkt.samples_lost != steps[i].samples_lost ||
		    s.last_pkt.resets != steps[i].resets)
			fprintf(stderr, "sequence step %zu\n", i);
		CHECK_EQ_U(s.last_pkt.resets, steps[i].resets);
		CHECK_EQ_U(s.last_pkt.lost, steps[i].lost);
		CHECK_EQ_U(s.last_pkt.samples_lost, steps[i].samples_lost);
		CHECK_EQ_U(s.last_pkt.domain, steps[i].sub);
		CHECK_EQ_U(s.last_pkt.sequence, steps[i].dseq);
	}
	CHECK_EQ_U(sink_total_drops(&s), 0);
	/* the exporter's counters (what /metrics and the stats show) add the
	 * datagrams and the samples lost up */
	parser_totals(p, &tot);
	CHECK_EQ_U(tot.lost, lost);
	CHECK_EQ_U(tot.samples_lost, samples_lost);
	CHECK_EQ_U(tot.resets, resets);
	parser_free(p);
}

/* A flood of sources from one agent: the table stays within its size,
 * the oldest are evicted and counted, memory stays within the budget. */
static void
test_source_bound(void)
{
	struct parser_limits small = { .max_exporters = 4, .max_domains = 2,
	    .max_sflow_sources = 100 };
	struct parser *p;
	static struct dgram d;
	size_t peak = 0;

	sink_reset(&s);
	p = parser_new(&small, &sink_ops, &s);
	for (uint32_t i = 0; i < 20000; i++) {
		struct parser_source src = source4(192, 0, 2, 9, 1000);

		one_sample(&d, i % 3, i, i, 1);
		parser_feed(p, d.b, d.len, &src);
		if (parser_memory_usage(p) > peak)
			peak = parser_memory_usage(p);
	}
	/* 100 rounds down to 16 sets of 4 */
	CHECK(s.drops[PARSER_DROP_DOMAIN_EVICTED] >= 20000 - 64);
	CHECK(peak <= parser_memory_budget(&small));
	parser_free(p);
}

/* With a directory: writes each case's datagram there, less its version
 * word, as seeds of the fuzz target (tests/fuzz/corpus/sflow). */
static void
write_seeds(const char *dir)
{
	static struct dgram d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512];
		FILE *f;

		cases[i].build(&d);
		snprintf(path, sizeof(path), "%s/case-%02zu", dir, i);
		if ((f = fopen(path, "wb")) == NULL)
			continue;
		fwrite(d.b + 4, 1, d.len - 4, f);
		fclose(f);
	}
}

int
main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--seeds") == 0) {
		write_seeds(argv[2]);
		return 0;
	}
	sink_init(&s);
	test_cases();
	test_sequences();
	test_source_bound();
	sink_finish(&s);
	return test_result("parser-sflow");
}
