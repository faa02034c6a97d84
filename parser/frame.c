/*
 * Captured frames (pcap link types) down to the UDP payload, for reading
 * exports offline. Same bounded cursor as the live decoders.
 */
#include <string.h>

#include "parser-private.h"

/* pcap link-layer header types (LINKTYPE_* values in the file format) */
#define LT_NULL 0
#define LT_EN10MB 1
#define LT_RAW 101
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8

/* Leaves c at the network header; *ethertype says which one. */
static bool
link_header(struct cursor *c, int linktype, uint16_t *ethertype)
{
	uint32_t af;
	const uint8_t *p;

	switch (linktype) {
	case LT_EN10MB:
		if (!cursor_skip(c, 12) || !cursor_u16(c, ethertype))
			return false;
		while (*ethertype == ETH_VLAN || *ethertype == ETH_QINQ)
			if (!cursor_skip(c, 2) || !cursor_u16(c, ethertype))
				return false;
		return true;
	case LT_LINUX_SLL:
		return cursor_skip(c, 14) && cursor_u16(c, ethertype);
	case LT_LINUX_SLL2:
		return cursor_u16(c, ethertype) && cursor_skip(c, 18);
	case LT_NULL:
	case LT_LOOP:
		/* address family in the capturing host's byte order (NULL)
		 * or network order (LOOP): 2 is AF_INET everywhere, the
		 * IPv6 values differ per OS */
		if (!cursor_take(c, 4, &p))
			return false;
		af = p[0] | p[3];
		*ethertype = af == 2 ? ETH_IPV4 : ETH_IPV6;
		return true;
	case LT_RAW:
	case LT_IPV4:
	case LT_IPV6:
		*ethertype = 0;  /* decided by the IP version nibble */
		return true;
	}
	return false;
}

static bool
ipv4(struct cursor *c, struct parser_source *src, struct cursor *l4)
{
	uint8_t vihl, proto;
	uint16_t total, frag;
	const uint8_t *addr;
	struct cursor ip;

	if (!cursor_u8(c, &vihl) || (vihl >> 4) != 4 || (vihl & 15) < 5 ||
	    !cursor_skip(c, 1) || !cursor_u16(c, &total) || total < (vihl & 15) * 4u)
		return false;
	/* the IP total length bounds the packet: Ethernet pads short frames */
	if (!cursor_sub(c, total - 4u, &ip) || !cursor_skip(&ip, 2) ||
	    !cursor_u16(&ip, &frag) || !cursor_skip(&ip, 1) ||
	    !cursor_u8(&ip, &proto) || !cursor_skip(&ip, 2) ||
	    !cursor_take(&ip, 4, &addr) || !cursor_skip(&ip, 4) ||
	    !cursor_skip(&ip, (vihl & 15) * 4u - 20))
		return false;
	/* fragments (offset or more-fragments set) cannot be decoded alone */
	if (proto != 17 || (frag & 0x3fff) != 0)
		return false;
	memset(&src->addr, 0, sizeof(src->addr));
	src->addr.family = 4;
	memcpy(src->addr.bytes, addr, 4);
	*l4 = ip;
	return true;
}

static bool
ipv6(struct cursor *c, struct parser_source *src, struct cursor *l4)
{
	uint8_t v, next;
	uint16_t plen;
	const uint8_t *addr;

	if (!cursor_u8(c, &v) || (v >> 4) != 6 || !cursor_skip(c, 3) ||
	    !cursor_u16(c, &plen) || !cursor_u8(c, &next) || !cursor_skip(c, 1) ||
	    !cursor_take(c, 16, &addr) || !cursor_skip(c, 16) ||
	    !cursor_sub(c, plen, l4))
		return false;
	/* extension headers are not followed: exports do not carry them */
	if (next != 17)
		return false;
	memset(&src->addr, 0, sizeof(src->addr));
	src->addr.family = 6;
	memcpy(src->addr.bytes, addr, 16);
	return true;
}

bool
parser_frame_udp(const uint8_t *frame, size_t len, int linktype,
    struct parser_source *src, const uint8_t **payload, size_t *plen)
{
	struct cursor c, l4, udp;
	uint16_t ethertype, ulen;
	bool ok;

	cursor_init(&c, frame, len);
	if (!link_header(&c, linktype, &ethertype))
		return false;
	if (ethertype == 0) {
		struct cursor peek = c;
		uint8_t v;

		if (!cursor_u8(&peek, &v))
			return false;
		ethertype = (v >> 4) == 6 ? ETH_IPV6 : ETH_IPV4;
	}
	if (ethertype == ETH_IPV4)
		ok = ipv4(&c, src, &l4);
	else if (ethertype == ETH_IPV6)
		ok = ipv6(&c, src, &l4);
	else
		ok = false;
	if (!ok || !cursor_u16(&l4, &src->port) || !cursor_skip(&l4, 2) ||
	    !cursor_u16(&l4, &ulen) || !cursor_skip(&l4, 2) || ulen < 8 ||
	    !cursor_sub(&l4, ulen - 8u, &udp))
		return false;
	*plen = cursor_left(&udp);
	return cursor_take(&udp, *plen, payload);
}
