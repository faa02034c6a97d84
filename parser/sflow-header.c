/*
 * The sampled packet header of an sFlow raw packet header record: the
 * first bytes of a frame as the switch saw it (typically 128), so any
 * layer may be cut short. Each layer is read through the header's cursor;
 * a read past the end stops the decoding there, and what the layers
 * before it said stays in the record. Only the first fragment of an IP
 * packet has ports.
 */
#include "sflow-private.h"

/* header_protocol values (sFlow v5, "header_protocol") */
#define HEADER_ETHERNET 1
#define HEADER_IPV4 11
#define HEADER_IPV6 12
#define HEADER_MPLS 13

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_MPLS 0x8847
#define ETH_MPLS_MULTICAST 0x8848

/* more tags or labels than this and the frame is not worth decoding */
#define TAGS_MAX 8
#define LABELS_MAX 16
/* IANA mplsTopLabelStackSection (70), then Section2..10 (71-79) */
#define LABELS_NAMED 10
#define IPV6_EXT_MAX 8

/* fragmentFlags bits, as IPv4 has them in its flags field */
#define FRAG_MORE 0x20

static void
field_uint(struct sflow_sample *s, enum sflow_iana k, uint64_t v, size_t len)
{
	sflow_field_uint(s, s->iana[k], v, len);
}

static void
transport(struct sflow_sample *s, struct cursor *c, uint8_t proto)
{
	uint16_t sport, dport;
	uint8_t type, code, flags;

	if (proto == 1 || proto == 58) {
		if (cursor_u8(c, &type) && cursor_u8(c, &code)) {
			sflow_num(s, FLOW_ICMP_TYPE, type);
			sflow_num(s, FLOW_ICMP_CODE, code);
		}
		return;
	}
	/* TCP, UDP, SCTP, UDP-Lite: the ports come first */
	if (proto != 6 && proto != 17 && proto != 132 && proto != 136)
		return;
	if (!cursor_u16(c, &sport) || !cursor_u16(c, &dport))
		return;
	sflow_num(s, FLOW_SRC_PORT, sport);
	sflow_num(s, FLOW_DST_PORT, dport);
	/* TCP flags: after sequence, acknowledgment and data offset */
	if (proto == 6 && cursor_skip(c, 9) && cursor_u8(c, &flags))
		sflow_num(s, FLOW_TCP_FLAGS, flags);
}

static void
fragment(struct sflow_sample *s, uint32_t id, size_t id_len, uint16_t offset,
    uint8_t flags)
{
	field_uint(s, SI_FRAGMENT_ID, id, id_len);
	field_uint(s, SI_FRAGMENT_OFFSET, offset, 2);
	field_uint(s, SI_FRAGMENT_FLAGS, flags, 1);
}

static void
ipv4(struct sflow_sample *s, struct cursor *c)
{
	uint8_t vihl, tos, ttl, proto;
	uint16_t total, id, frag;
	const uint8_t *src, *dst;
	size_t ihl;

	if (!cursor_u8(c, &vihl) || vihl >> 4 != 4)
		return;
	field_uint(s, SI_IP_VERSION, 4, 1);
	ihl = (size_t)(vihl & 15) * 4;
	if (ihl < 20 || !cursor_u8(c, &tos) || !cursor_u16(c, &total) ||
	    !cursor_u16(c, &id) || !cursor_u16(c, &frag) ||
	    !cursor_u8(c, &ttl) || !cursor_u8(c, &proto) || !cursor_skip(c, 2) ||
	    !cursor_take(c, 4, &src) || !cursor_take(c, 4, &dst))
		return;
	sflow_addr(s, FLOW_SRC_ADDR, 4, src);
	sflow_addr(s, FLOW_DST_ADDR, 4, dst);
	sflow_num(s, FLOW_PROTO, proto);
	sflow_num(s, FLOW_TOS, tos);
	field_uint(s, SI_TTL, ttl, 1);
	/* a fragment: more to come, or not the first */
	if (frag & 0x3fff)
		fragment(s, id, 2, frag & 0x1fff, (uint8_t)(frag >> 8) & 0xe0);
	if ((frag & 0x1fff) != 0 || !cursor_skip(c, ihl - 20))
		return;
	transport(s, c, proto);
}

/* Extension headers up to the upper layer; false when there is none to
 * read (a later fragment, or the header ends). */
static bool
ipv6_extensions(struct sflow_sample *s, struct cursor *c, uint8_t *next)
{
	uint8_t len;
	uint16_t frag;
	uint32_t id;

	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		switch (*next) {
		case 0:      /* hop-by-hop */
		case 43:     /* routing */
		case 60:     /* destination options */
		case 135:    /* mobility */
		case 139:    /* HIP */
		case 140:    /* shim6 */
			if (!cursor_u8(c, next) || !cursor_u8(c, &len) ||
			    !cursor_skip(c, 6 + (size_t)len * 8))
				return false;
			break;
		case 51:     /* authentication header: length in 4 bytes, -2 */
			if (!cursor_u8(c, next) || !cursor_u8(c, &len) ||
			    !cursor_skip(c, (size_t)len * 4 + 6))
				return false;
			break;
		case 44:     /* fragment */
			if (!cursor_u8(c, next) || !cursor_skip(c, 1) ||
			    !cursor_u16(c, &frag) || !cursor_u32(c, &id))
				return false;
			fragment(s, id, 4, frag >> 3, frag & 1 ? FRAG_MORE : 0);
			if (frag >> 3 != 0)
				return false;
			break;
		default:
			return true;
		}
	}
	return false;
}

static void
ipv6(struct sflow_sample *s, struct cursor *c)
{
	uint32_t vtf;
	uint16_t plen;
	uint8_t next, hops;
	const uint8_t *src, *dst;
	bool upper;

	if (!cursor_u32(c, &vtf) || vtf >> 28 != 6)
		return;
	field_uint(s, SI_IP_VERSION, 6, 1);
	if (!cursor_u16(c, &plen) || !cursor_u8(c, &next) ||
	    !cursor_u8(c, &hops) || !cursor_take(c, 16, &src) ||
	    !cursor_take(c, 16, &dst))
		return;
	sflow_addr(s, FLOW_SRC_ADDR, 6, src);
	sflow_addr(s, FLOW_DST_ADDR, 6, dst);
	sflow_num(s, FLOW_TOS, (vtf >> 20) & 0xff);
	field_uint(s, SI_TTL, hops, 1);
	if ((vtf & 0xfffff) != 0)
		field_uint(s, SI_FLOW_LABEL, vtf & 0xfffff, 4);
	upper = ipv6_extensions(s, c, &next);
	/* the protocol is known even where the ports are not */
	sflow_num(s, FLOW_PROTO, next);
	if (upper)
		transport(s, c, next);
}

/* Whatever IP version the first nibble says (after MPLS, which does not
 * name its payload). */
static void
ip_packet(struct sflow_sample *s, struct cursor *c)
{
	struct cursor peek = *c;
	uint8_t v;

	if (!cursor_u8(&peek, &v))
		return;
	if (v >> 4 == 4)
		ipv4(s, c);
	else if (v >> 4 == 6)
		ipv6(s, c);
}

/* The label stack down to bottom of stack; labels go out as IANA's
 * label stack sections (label, EXP and S bits: the entry without TTL). */
static void
mpls(struct sflow_sample *s, struct cursor *c)
{
	const uint8_t *entry;

	for (int i = 0; i < LABELS_MAX; i++) {
		if (!cursor_take(c, 4, &entry))
			return;
		if (i < LABELS_NAMED)
			sflow_field(s, s->iana[SI_MPLS + i],
			    entry, 3);
		if (entry[2] & 1) {
			ip_packet(s, c);
			return;
		}
	}
}

/* 802.1Q tags: the outer one is dot1qVlanId, a second (QinQ) the
 * customer's; more are skipped. */
static bool
vlan_tag(struct sflow_sample *s, struct cursor *c, int n, uint16_t *type)
{
	uint16_t tci;

	if (!cursor_u16(c, &tci) || !cursor_u16(c, type))
		return false;
	if (n == 0) {
		field_uint(s, SI_DOT1Q_VLAN, tci & 0xfff, 2);
		field_uint(s, SI_DOT1Q_PRIORITY, tci >> 13, 1);
	} else if (n == 1) {
		field_uint(s, SI_DOT1Q_CUSTOMER_VLAN, tci & 0xfff, 2);
		field_uint(s, SI_DOT1Q_CUSTOMER_PRIORITY, tci >> 13, 1);
	}
	return true;
}

static void
ethernet(struct sflow_sample *s, struct cursor *c)
{
	const uint8_t *dst, *src;
	uint16_t type;
	int tags = 0;

	if (!cursor_take(c, 6, &dst) || !cursor_take(c, 6, &src))
		return;
	sflow_field(s, s->iana[SI_DST_MAC], dst, 6);
	sflow_field(s, s->iana[SI_SRC_MAC], src, 6);
	if (!cursor_u16(c, &type))
		return;
	while ((type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) &&
	    tags < TAGS_MAX)
		if (!vlan_tag(s, c, tags++, &type))
			return;
	field_uint(s, SI_ETHERNET_TYPE, type, 2);
	if (type == ETH_IPV4)
		ipv4(s, c);
	else if (type == ETH_IPV6)
		ipv6(s, c);
	else if (type == ETH_MPLS || type == ETH_MPLS_MULTICAST)
		mpls(s, c);
}

void
sflow_header_decode(struct sflow_sample *s, uint32_t protocol,
    struct cursor *hdr)
{
	switch (protocol) {
	case HEADER_ETHERNET:
		ethernet(s, hdr);
		break;
	case HEADER_IPV4:
		ipv4(s, hdr);
		break;
	case HEADER_IPV6:
		ipv6(s, hdr);
		break;
	case HEADER_MPLS:
		mpls(s, hdr);
		break;
	default:
		/* token ring, FDDI, PPP, 802.11...: the line says why it has
		 * no addresses */
		sflow_field_uint(s, sflow_key_info(SK_HEADER_PROTOCOL), protocol,
		    4);
	}
}
