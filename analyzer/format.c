#include "format.h"

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
