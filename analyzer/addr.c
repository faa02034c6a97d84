#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Dotted quad as inet_pton takes it (four decimal octets of one to three
 * digits, no leading zeros); false, having decided nothing, for anything
 * else. Digit by digit without a loop per octet: it reads every address of
 * every line. */
static bool
fast_v4(struct addr *a, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint8_t out[4];

	for (int i = 0; i < 4; i++) {
		if (p == end || (unsigned)(*p - '0') > 9)
			return false;
		unsigned v = (unsigned)(*p++ - '0');
		if (p < end && (unsigned)(*p - '0') <= 9) {
			if (v == 0)
				return false;	/* leading zero */
			v = v * 10 + (unsigned)(*p++ - '0');
			if (p < end && (unsigned)(*p - '0') <= 9) {
				v = v * 10 + (unsigned)(*p++ - '0');
				if (v > 255)
					return false;
			}
		}
		out[i] = (uint8_t)v;
		if (i < 3 && (p == end || *p++ != '.'))
			return false;
	}
	if (p != end)
		return false;
	memcpy(a->bytes, out, 4);
	a->family = 4;
	return true;
}

bool
addr_parse(struct addr *a, const char *s, size_t len)
{
	char buf[ADDR_STRLEN];

	memset(a, 0, sizeof(*a));
	if (len >= 7 && len <= 15 && fast_v4(a, s, len))
		return true;
	memset(a, 0, sizeof(*a));
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a->bytes) == 1) {
		a->family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, buf, a->bytes) != 1) {
		memset(a, 0, sizeof(*a));
		return false;
	}
	a->family = 6;
	/* The collector never writes mapped addresses, but other tools do:
	 * treat them as the IPv4 address so both directions pair. */
	if (memcmp(a->bytes, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(a->bytes, a->bytes + 12, 4);
		memset(a->bytes + 4, 0, 12);
		a->family = 4;
	}
	return true;
}

void
addr_format(const struct addr *a, char *buf, size_t size)
{
	if (a->family == 4)
		inet_ntop(AF_INET, a->bytes, buf, size);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->bytes, buf, size);
	else if (size > 0)
		snprintf(buf, size, "-");
}

int
addr_compare(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

bool
prefix_parse(struct prefix *p, const char *s)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	if (!addr_parse(&p->addr, s, alen))
		return false;
	unsigned max = p->addr.family == 4 ? 32 : 128;
	p->len = max;
	if (slash) {
		char *end;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || l > max)
			return false;
		p->len = (unsigned)l;
	}
	return true;
}

bool
prefix_match(const struct prefix *p, const struct addr *a)
{
	if (a->family != p->addr.family)
		return false;
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(a->bytes, p->addr.bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->bytes[full] & mask) == (p->addr.bytes[full] & mask);
}
