#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "output-private.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

size_t
format_time_ms(char *buf, int64_t ms)
{
	/* one gmtime_r per second is enough: records arrive in bursts that
	 * share their second */
	static __thread int64_t cached_sec = INT64_MIN;
	static __thread char cached[80];
	int64_t sec = floor_div(ms, 1000);
	int milli = (int)(ms - sec * 1000);

	if (sec != cached_sec) {
		struct tm tm;
		time_t t = (time_t)sec;

		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		cached_sec = sec;
	}
	memcpy(buf, cached, 19);
	buf[19] = '.';
	buf[20] = (char)('0' + milli / 100);
	buf[21] = (char)('0' + milli / 10 % 10);
	buf[22] = (char)('0' + milli % 10);
	buf[23] = 'Z';
	buf[24] = '\0';
	return 24;
}

size_t
format_addr(char *buf, size_t size, const struct parser_addr *a)
{
	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf,
	    (socklen_t)size) == NULL) {
		buf[0] = '\0';
		return 0;
	}
	return strlen(buf);
}

void
format_slot_name(char *buf, size_t size, time_t slot)
{
	struct tm tm;

	gmtime_r(&slot, &tm);
	strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
}
