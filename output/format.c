/*
 * Finished tokens for the JSON writer: numbers, addresses and times are
 * formatted here without stdio, because snprintf and gmtime_r dominated the
 * profile of the first version (≈ 30 % of the time per flow).
 *
 * The format_put_* functions write at p, without a NUL, and return the end:
 * the writer places tokens straight into its output, and knowing the
 * length up front (digits counted, octets from a table) spares the
 * variable-length memcpy of a formatted temporary. Some write a few bytes
 * past the end they return (see output-private.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "output-private.h"

const char format_digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

const uint64_t format_powers_of_10[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
	10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
	100000000000ull, 1000000000000ull, 10000000000000ull,
	100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull,
	10000000000000000000ull,
};

char *
format_put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		/* negate in unsigned arithmetic: INT64_MIN has no positive twin */
		return format_put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return format_put_u64(p, (uint64_t)v);
}

size_t
format_u64(char *buf, uint64_t v)
{
	char *end = format_put_u64(buf, v);

	*end = '\0';
	return (size_t)(end - buf);
}

size_t
format_i64(char *buf, int64_t v)
{
	char *end = format_put_i64(buf, v);

	*end = '\0';
	return (size_t)(end - buf);
}

/* Days since 1970-01-01 -> civil date (H. Hinnant's algorithm). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static int64_t
clamp_ms(int64_t ms)
{
	if (ms < FORMAT_MS_MIN)
		return FORMAT_MS_MIN;
	if (ms > FORMAT_MS_MAX)
		return FORMAT_MS_MAX;
	return ms;
}

void
format_time_sec(char *buf, int64_t sec)
{
	int64_t day = sec / 86400, sec_of_day = sec % 86400, y;
	unsigned m, d;

	if (sec_of_day < 0) {
		day--;
		sec_of_day += 86400;
	}
	civil_from_days(day, &y, &m, &d);
	format_put2(buf, (unsigned)(y / 100));
	format_put2(buf + 2, (unsigned)(y % 100));
	buf[4] = '-';
	format_put2(buf + 5, m);
	buf[7] = '-';
	format_put2(buf + 8, d);
	buf[10] = 'T';
	format_put2(buf + 11, (unsigned)(sec_of_day / 3600));
	buf[13] = ':';
	format_put2(buf + 14, (unsigned)(sec_of_day / 60 % 60));
	buf[16] = ':';
	format_put2(buf + 17, (unsigned)(sec_of_day % 60));
}

size_t
format_time_ms(char *buf, int64_t ms)
{
	int64_t sec;

	ms = clamp_ms(ms);
	sec = ms / 1000;
	if (ms % 1000 < 0)
		sec--;
	format_time_sec(buf, sec);
	format_put_millis(buf + 19, (unsigned)(ms - sec * 1000));
	buf[24] = '\0';
	return 24;
}

/* Each octet's digits and a dot, and that length: an address is four
 * fixed 4-byte copies. */
#define OCT(n) { #n ".", sizeof(#n) }
#define OCT10(t) OCT(t##0), OCT(t##1), OCT(t##2), OCT(t##3), OCT(t##4), \
	OCT(t##5), OCT(t##6), OCT(t##7), OCT(t##8), OCT(t##9)

static const struct {
	char s[5];
	uint8_t len;
} octets[256] = {
	OCT(0), OCT(1), OCT(2), OCT(3), OCT(4), OCT(5), OCT(6), OCT(7),
	OCT(8), OCT(9), OCT10(1), OCT10(2), OCT10(3), OCT10(4), OCT10(5),
	OCT10(6), OCT10(7), OCT10(8), OCT10(9), OCT10(10), OCT10(11),
	OCT10(12), OCT10(13), OCT10(14), OCT10(15), OCT10(16), OCT10(17),
	OCT10(18), OCT10(19), OCT10(20), OCT10(21), OCT10(22), OCT10(23),
	OCT10(24), OCT(250), OCT(251), OCT(252), OCT(253), OCT(254), OCT(255),
};

static char *
put_ipv4(char *p, const uint8_t *b)
{
	for (int i = 0; i < 4; i++) {
		memcpy(p, octets[b[i]].s, 4);
		p += octets[b[i]].len;
	}
	return p - 1;
}

/* RFC 5952, and exactly what glibc's inet_ntop writes (whose sprintf per
 * group was the single most expensive call per IPv6 flow): the longest run
 * of two or more zero groups (the first of equals) becomes "::", hex in
 * lower case without leading zeros, ::ffff:a.b.c.d and ::a.b.c.d for the
 * IPv4-mapped and -compatible forms. */
static char *
put_ipv6(char *p, const uint8_t *b)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	char t[12] = { 0 };
	int best = -1, best_len = 0, cur = -1, cur_len = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned)(b[2 * i] << 8 | b[2 * i + 1]);
		if (w[i] == 0) {
			if (cur < 0)
				cur = i, cur_len = 0;
			if (++cur_len > best_len)
				best = cur, best_len = cur_len;
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		unsigned n;

		if (i == best) {
			*p++ = ':';
			if (i == 0)
				*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i == 6 && best == 0 && (best_len == 6 ||
		    (best_len == 5 && w[5] == 0xffff)))
			return put_ipv4(p, b + 12);
		/* all four digits, then from the first significant one */
		t[4] = hex[w[i] >> 12];
		t[5] = hex[(w[i] >> 8) & 15];
		t[6] = hex[(w[i] >> 4) & 15];
		t[7] = hex[w[i] & 15];
		n = (unsigned)(35 - __builtin_clz(w[i] | 1)) / 4;
		memcpy(p, t + 8 - n, 4);
		p += n;
		if (i < 7)
			*p++ = ':';
	}
	return p;
}

char *
format_put_addr(char *p, const struct parser_addr *a)
{
	return a->family == 6 ? put_ipv6(p, a->bytes) : put_ipv4(p, a->bytes);
}

size_t
format_addr(char *buf, size_t size, const struct parser_addr *a)
{
	char *end;

	if (size < FORMAT_ADDR_ROOM) {
		buf[0] = '\0';
		return 0;
	}
	end = format_put_addr(buf, a);
	*end = '\0';
	return (size_t)(end - buf);
}

void
format_slot_name(char *buf, size_t size, time_t slot)
{
	struct tm tm;

	gmtime_r(&slot, &tm);
	strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
}
