/* addr: IPv4/IPv6 addresses as fixed-size, memcmp-able values. */
#ifndef ANALYZER_ADDR_H
#define ANALYZER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Big enough for any IPv6 text form. */
#define ADDR_STRLEN 48

struct addr {
	uint8_t family;		/* 0 (none), 4 or 6 */
	uint8_t bytes[16];	/* IPv4 in the first 4, rest zero */
};

struct prefix {
	struct addr addr;
	unsigned len;
};

bool addr_parse(struct addr *a, const char *s, size_t len);
void addr_format(const struct addr *a, char *buf, size_t size);
int addr_compare(const struct addr *a, const struct addr *b);
/* "192.0.2.1", "2001:db8::/32", "192.0.2.0/24" */
bool prefix_parse(struct prefix *p, const char *s);
bool prefix_match(const struct prefix *p, const struct addr *a);

#endif
