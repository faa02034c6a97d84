/* timeutil: times as int64 milliseconds since the Unix epoch. */
#ifndef ANALYZER_TIMEUTIL_H
#define ANALYZER_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 3339 with an explicit zone ("2024-05-01T12:00:03.250Z",
 * "...+02:00"), as netflowd writes them. */
bool time_parse_rfc3339(const char *s, size_t len, int64_t *ms);
/* Command-line times: RFC 3339 with zone, or local time as
 * "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DDTHH:MM[:SS]",
 * or "@SECONDS" since the epoch. */
bool time_parse_user(const char *s, int64_t *ms);
/* Local time as the original tool printed it: "%Y-%m-%d %H:%M.%S". */
void time_format_local(int64_t ms, char *buf, size_t size);
/* "%Y-%m-%dT%H:%M:%S.mmmZ" */
void time_format_rfc3339(int64_t ms, char *buf, size_t size);
int64_t time_floor_div(int64_t a, int64_t b);

#endif
