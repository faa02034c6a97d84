#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct civil {
	int year, mon, day, hour, min, sec, msec;
	bool has_zone;
	int zone_min;		/* offset east of UTC */
};

int64_t
time_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Howard Hinnant's days_from_civil: no dependency on TZ or timegm(). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = time_floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int year, int mon)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : days[mon - 1];
}

static bool
digits(const char **p, const char *end, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (*p >= end || (**p < '0' || **p > '9'))
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return true;
}

static bool
expect(const char **p, const char *end, const char *set)
{
	if (*p >= end || !strchr(set, **p) || **p == '\0')
		return false;
	(*p)++;
	return true;
}

static bool
parse_zone(const char **p, const char *end, struct civil *c)
{
	if (*p < end && (**p == 'Z' || **p == 'z')) {
		(*p)++;
		c->has_zone = true;
		return true;
	}
	if (*p < end && (**p == '+' || **p == '-')) {
		int sign = **p == '-' ? -1 : 1, hh, mm;
		(*p)++;
		if (!digits(p, end, 2, &hh) || !expect(p, end, ":") || !digits(p, end, 2, &mm))
			return false;
		c->has_zone = true;
		c->zone_min = sign * (hh * 60 + mm);
		return true;
	}
	return true;
}

/* Date, optional time (seconds and fraction optional), optional zone. */
static bool
parse_civil(const char *s, size_t len, struct civil *c)
{
	const char *p = s, *end = s + len;

	memset(c, 0, sizeof(*c));
	if (!digits(&p, end, 4, &c->year) || !expect(&p, end, "-") ||
	    !digits(&p, end, 2, &c->mon) || !expect(&p, end, "-") ||
	    !digits(&p, end, 2, &c->day))
		return false;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		if (!digits(&p, end, 2, &c->hour) || !expect(&p, end, ":") ||
		    !digits(&p, end, 2, &c->min))
			return false;
		if (p < end && *p == ':') {
			p++;
			if (!digits(&p, end, 2, &c->sec))
				return false;
			if (p < end && *p == '.') {
				int scale = 100;
				p++;
				if (p >= end || *p < '0' || *p > '9')
					return false;
				for (; p < end && *p >= '0' && *p <= '9'; p++, scale /= 10)
					c->msec += (*p - '0') * scale;
			}
		}
		if (!parse_zone(&p, end, c))
			return false;
	}
	/* mktime() would quietly turn February 30 into March 2. */
	return p == end && c->mon >= 1 && c->mon <= 12 && c->day >= 1 &&
	    c->day <= days_in_month(c->year, c->mon) && c->hour <= 23 &&
	    c->min <= 59 && c->sec <= 60;
}

static int64_t
civil_to_utc_ms(const struct civil *c)
{
	int64_t days = days_from_civil(c->year, c->mon, c->day);
	int64_t secs = days * 86400 + c->hour * 3600 + c->min * 60 + c->sec -
	    (int64_t)c->zone_min * 60;
	return secs * 1000 + c->msec;
}

bool
time_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
	struct civil c;

	if (!parse_civil(s, len, &c) || !c.has_zone)
		return false;
	*ms = civil_to_utc_ms(&c);
	return true;
}

bool
time_parse_user(const char *s, int64_t *ms)
{
	struct civil c;

	if (s[0] == '@') {
		char *end;
		double v = strtod(s + 1, &end);
		if (s[1] == '\0' || *end != '\0' || v < 0 || v > 1e15)
			return false;
		*ms = (int64_t)(v * 1000.0);
		return true;
	}
	if (!parse_civil(s, strlen(s), &c))
		return false;
	if (c.has_zone) {
		*ms = civil_to_utc_ms(&c);
		return true;
	}
	struct tm tm = {
		.tm_year = c.year - 1900, .tm_mon = c.mon - 1, .tm_mday = c.day,
		.tm_hour = c.hour, .tm_min = c.min, .tm_sec = c.sec, .tm_isdst = -1,
	};
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*ms = (int64_t)t * 1000 + c.msec;
	return true;
}

void
time_format_local(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)time_floor_div(ms, 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M.%S", &tm) == 0)
		snprintf(buf, size, "?");
}

void
time_format_rfc3339(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)time_floor_div(ms, 1000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&t, &tm) || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "%s.%03dZ", base, (int)(ms - time_floor_div(ms, 1000) * 1000));
}
