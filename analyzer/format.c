#include "format.h"

#include <inttypes.h>
#include <stdio.h>

void
format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMG";
	double v = (double)bytes;
	int u = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%uB", (unsigned)bytes);
		return;
	}
	v /= 1024.0;
	/* 1023.996K would print as "1024.00K": move to the next unit instead. */
	while (u < 2 && v >= 1023.995) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, size, "%.2f%c", v, units[u]);
}

void
format_duration(int64_t ms, char *buf, size_t size)
{
	if (ms <= 0) {
		snprintf(buf, size, "0 sec");
		return;
	}
	if (ms < 1000) {
		snprintf(buf, size, "<1 sec");
		return;
	}
	long long s = ms / 1000;
	if (s < 60)
		snprintf(buf, size, "%lld sec", s);
	else if (s < 3600)
		snprintf(buf, size, "%02lld:%02lld min", s / 60, s % 60);
	else
		snprintf(buf, size, "%lld:%02lld.%02lld hours", s / 3600, s % 3600 / 60, s % 60);
}

void
format_clean(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	if (size == 0)
		return;
	for (; *s && i + 1 < size; s++, i++)
		buf[i] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	buf[i] = '\0';
}

void
format_as(uint32_t asn, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "AS%" PRIu32 "%s", asn, name && *name ? " " : "");

	if (name && *name && n > 0 && (size_t)n < size)
		format_clean(name, buf + n, size - (size_t)n);
}
