/* Parsing of single config values: addresses, sizes, durations, levels. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf-private.h"
#include "conf.h"

/* The one error-message helper of the config's value parsers. */
int
conf_fail(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
config_parse_listen(const char *text, struct config_listen *out, char **err)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port_text;
	uint16_t port;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return conf_fail(err, "bad listen address '%s' (expected [IPv6]:PORT)", text);
		hlen = (size_t)(close - text - 1);
		port_text = close + 2;
		if (hlen >= sizeof(host))
			return conf_fail(err, "bad listen address '%s'", text);
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
	} else {
		const char *colon = strrchr(text, ':');

		if (colon == NULL) {
			snprintf(host, sizeof(host), "*");
			port_text = text;
		} else {
			hlen = (size_t)(colon - text);
			if (hlen >= sizeof(host) || memchr(text, ':', hlen))
				return conf_fail(err, "bad listen address '%s' (write IPv6 as [ADDR]:PORT)", text);
			memcpy(host, text, hlen);
			host[hlen] = '\0';
			port_text = colon + 1;
		}
	}
	if (parse_port(port_text, &port) < 0)
		return conf_fail(err, "bad port in listen address '%s'", text);
	if (strcmp(host, "*") == 0 || host[0] == '\0') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(port);
		out->addrlen = sizeof(*s6);
		out->dual_stack = true;
	} else if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return conf_fail(err, "bad IPv6 address in listen address '%s'", text);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		out->addrlen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return conf_fail(err, "bad IPv4 address in listen address '%s'", text);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		out->addrlen = sizeof(*s4);
	}
	if ((out->text = strdup(text)) == NULL)
		return conf_fail(err, "out of memory");
	return 0;
}

int
config_parse_size(const char *text, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > (SIZE_MAX >> shift))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

int
config_parse_count(const char *text, size_t *out)
{
	char *end;
	unsigned long long v;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end != '\0' || v > SIZE_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

int
config_parse_duration(const char *text, unsigned *out)
{
	char *end;
	unsigned long v, mult = 1;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0': break;
	case 's': end++; break;
	case 'm': mult = 60; end++; break;
	case 'h': mult = 3600; end++; break;
	default: return -1;
	}
	if (*end != '\0' || v == 0 || v > 86400 / mult * 7)
		return -1;
	*out = (unsigned)(v * mult);
	return 0;
}

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

int
config_parse_level(const char *text, int *out)
{
	for (int i = 0; i < 8; i++) {
		if (strcasecmp(text, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	if (strcasecmp(text, "error") == 0) {
		*out = 3;
		return 0;
	}
	if (strcasecmp(text, "warn") == 0) {
		*out = 4;
		return 0;
	}
	return -1;
}

const char *
config_level_name(int level)
{
	return level >= 0 && level < 8 ? level_names[level] : "debug";
}

const char *
config_compress_name(enum config_compress c)
{
	switch (c) {
	case COMPRESS_GZIP: return "gzip";
	case COMPRESS_ZSTD: return "zstd";
	case COMPRESS_LZ4: return "lz4";
	default: return "none";
	}
}

int
config_set_string(char **slot, const char *value)
{
	char *s = strdup(value);

	if (s == NULL)
		return -1;
	free(*slot);
	*slot = s;
	return 0;
}
