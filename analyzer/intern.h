/* intern: the names enrichment puts on flows (AS names, interface names),
 * kept once each and referred to by a small number, so that a flow stays
 * a fixed-size value that tables, the pairing and the listing copy freely.
 *
 * One table for the process, not one per reader: an id travels in struct
 * flow from the thread that read the line into tables merged on the main
 * thread, so every thread must give one string the same id. Interning takes
 * a mutex; the record parser keeps a small cache in front of it, so a
 * name that repeats (nearly all do) costs a hash and a compare. Strings are
 * never freed before intern_finish, so intern_str's pointer stays valid.
 *
 * What goes in is made fit for any output: invalid UTF-8 becomes U+FFFD
 * (the JSON outputs must stay strict whatever a database holds), and a name
 * is cut at INTERN_LEN_MAX bytes on a character boundary. Bounded: past
 * INTERN_MAX names (or when memory runs out) intern returns 0, "no name",
 * and intern_refused counts it. */
#ifndef ANALYZER_INTERN_H
#define ANALYZER_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define INTERN_LEN_MAX 255
#define INTERN_MAX (1u << 20)

/* The id of s (len bytes; 1, 2, ...), 0 for an empty s or when refused. */
uint32_t intern(const char *s, size_t len);
/* The text of id; "" for 0 or an id never handed out. */
const char *intern_str(uint32_t id);
/* Names refused so far (limit or memory). */
uint64_t intern_refused(void);
/* Frees every string: ids handed out before are invalid afterwards. */
void intern_finish(void);

/* A country code as a flow holds it: two ASCII letters, upper case, packed
 * (first << 8 | second); 0 for anything else. */
static inline uint16_t
intern_country(const char *s, size_t len)
{
	if (len != 2)
		return 0;
	unsigned char a = (unsigned char)s[0], b = (unsigned char)s[1];
	if (a >= 'a' && a <= 'z')
		a = (unsigned char)(a - 32);
	if (b >= 'a' && b <= 'z')
		b = (unsigned char)(b - 32);
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return 0;
	return (uint16_t)(a << 8 | b);
}

/* "US" for a packed code, into buf[3]; "" for 0. */
static inline const char *
intern_country_text(uint16_t cc, char buf[3])
{
	buf[0] = cc ? (char)(cc >> 8) : '\0';
	buf[1] = cc ? (char)(cc & 0xff) : '\0';
	buf[2] = '\0';
	return buf;
}

#endif
