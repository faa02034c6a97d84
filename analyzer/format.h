/* format: the human-readable sizes and durations of the connection line. */
#ifndef ANALYZER_FORMAT_H
#define ANALYZER_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define FORMAT_LEN 32

/* 512B, 4.25K, 4.25M, 22.79G (1024 steps; G is the largest unit, as in the
 * original tool). */
void format_size(uint64_t bytes, char *buf, size_t size);
/* "0 sec" (no duration), "<1 sec", "3 sec", "15:27 min", "1:23.09 hours";
 * whole seconds, truncated. */
void format_duration(int64_t ms, char *buf, size_t size);

/* s with every control byte (and DEL) as '?': names from a database or
 * an export, safe to print on a terminal or in a CSV field. */
void format_clean(const char *s, char *buf, size_t size);
/* "AS15169 GOOGLE", or "AS15169" with no name (name "" or NULL). */
void format_as(uint32_t asn, const char *name, char *buf, size_t size);

#endif
