#include "services.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

enum { T_TCP, T_UDP, T_SCTP, T_COUNT };

static const char *const transport_names[T_COUNT] = { "tcp", "udp", "sctp" };
static const char unknown[] = "UNKNOWN";
static const char no_name[] = "";	/* looked up, nothing there */

struct services {
	bool from_file;
	bool db_loaded;
	/* Per transport: 65536 labels, NULL = not looked up yet. Filled from
	 * the system database in one getservent() pass on the first lookup:
	 * getservbyport() rereads the whole database on every call, which cost
	 * a tenth of --summary's time on flows with random ports. */
	const char **names[T_COUNT];
};

static const char *const icmp4_types[] = {
	[0] = "ICMP/ECHO-REPLY", [3] = "ICMP/UNREACH", [4] = "ICMP/SOURCE-QUENCH",
	[5] = "ICMP/REDIRECT", [8] = "ICMP/ECHO", [9] = "ICMP/ROUTER-ADV",
	[10] = "ICMP/ROUTER-SOL", [11] = "ICMP/TIME-EXCEEDED",
	[12] = "ICMP/PARAM-PROBLEM", [13] = "ICMP/TIMESTAMP",
	[14] = "ICMP/TIMESTAMP-REPLY", [15] = "ICMP/INFO", [16] = "ICMP/INFO-REPLY",
	[17] = "ICMP/MASK", [18] = "ICMP/MASK-REPLY",
};

static const char *const icmp6_types[] = {
	[1] = "ICMP6/UNREACH", [2] = "ICMP6/TOO-BIG", [3] = "ICMP6/TIME-EXCEEDED",
	[4] = "ICMP6/PARAM-PROBLEM", [128] = "ICMP6/ECHO", [129] = "ICMP6/ECHO-REPLY",
	[130] = "ICMP6/MLD-QUERY", [131] = "ICMP6/MLD-REPORT", [132] = "ICMP6/MLD-DONE",
	[133] = "ICMP6/ROUTER-SOL", [134] = "ICMP6/ROUTER-ADV",
	[135] = "ICMP6/NEIGHBOR-SOL", [136] = "ICMP6/NEIGHBOR-ADV",
	[137] = "ICMP6/REDIRECT", [143] = "ICMP6/MLD2-REPORT",
};

/* Protocols without ports, named by the protocol itself. A fixed table rather
 * than /etc/protocols keeps output identical across systems. */
static const char *const proto_names[256] = {
	[1] = "ICMP", [2] = "IGMP", [4] = "IPIP", [6] = "TCP", [17] = "UDP",
	[41] = "IPV6", [47] = "GRE", [50] = "ESP", [51] = "AH", [58] = "ICMP6",
	[89] = "OSPF", [103] = "PIM", [112] = "VRRP", [115] = "L2TP", [132] = "SCTP",
};

const char *
services_proto_name(uint8_t proto)
{
	return proto_names[proto];
}

static int
transport(uint8_t proto)
{
	switch (proto) {
	case PROTO_TCP: return T_TCP;
	case PROTO_UDP: return T_UDP;
	case 132: return T_SCTP;
	default: return -1;
	}
}

static char *
upper_dup(const char *s)
{
	char *u = strdup(s);
	for (char *p = u; p && *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

static void
set_name(struct services *s, int t, unsigned port, const char *name)
{
	if (!s->names[t][port] || s->names[t][port] == no_name)
		s->names[t][port] = upper_dup(name);
}

/* One services(5) line: "name port/proto [aliases...] [# comment]". */
static void
parse_line(struct services *s, char *line)
{
	char *save, *name, *pp, *slash, *end;

	line[strcspn(line, "#\n")] = '\0';
	name = strtok_r(line, " \t", &save);
	pp = name ? strtok_r(NULL, " \t", &save) : NULL;
	if (!pp || !(slash = strchr(pp, '/')))
		return;
	*slash = '\0';
	unsigned long port = strtoul(pp, &end, 10);
	if (*end != '\0' || end == pp || port > 65535)
		return;
	for (int t = 0; t < T_COUNT; t++)
		if (strcmp(slash + 1, transport_names[t]) == 0 && !s->names[t][port])
			set_name(s, t, (unsigned)port, name);
}

static int
load_file(struct services *s, const char *file)
{
	FILE *f = fopen(file, "re");
	char line[1024];

	if (!f) {
		fprintf(stderr, "netflow-analyze: %s: %s\n", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		parse_line(s, line);
	fclose(f);
	return 0;
}

struct services *
services_new(const char *file)
{
	struct services *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	for (int t = 0; t < T_COUNT; t++)
		if (!(s->names[t] = calloc(65536, sizeof(*s->names[t]))))
			goto fail;
	if (file) {
		s->from_file = true;
		if (load_file(s, file) < 0)
			goto fail;
	}
	return s;
fail:
	services_free(s);
	return NULL;
}

void
services_free(struct services *s)
{
	if (!s)
		return;
	for (int t = 0; t < T_COUNT; t++) {
		for (unsigned p = 0; s->names[t] && p < 65536; p++)
			if (s->names[t][p] != no_name)
				free((char *)s->names[t][p]);
		free(s->names[t]);
	}
	free(s);
}

/* Every entry of the system database, the first one of each port and
 * transport winning, as getservbyport() would answer (it returns the first
 * match in the same order). */
static void
load_db(struct services *s)
{
	struct servent *se;

	s->db_loaded = true;
	setservent(0);
	while ((se = getservent())) {
		unsigned port = ntohs((uint16_t)se->s_port);
		for (int t = 0; t < T_COUNT; t++)
			if (se->s_proto && strcmp(se->s_proto, transport_names[t]) == 0 &&
			    !s->names[t][port])
				s->names[t][port] = upper_dup(se->s_name);
	}
	endservent();
}

/* The upper-case name of a port, or NULL. */
static const char *
port_name(struct services *s, uint8_t proto, uint16_t port)
{
	int t = transport(proto);

	if (t < 0)
		return NULL;
	if (!s->names[t][port] && !s->from_file && !s->db_loaded)
		load_db(s);
	if (!s->names[t][port])
		s->names[t][port] = no_name;
	return s->names[t][port] == no_name ? NULL : s->names[t][port];
}

uint16_t
services_pick_port(struct services *s, uint8_t proto, uint16_t a, uint16_t b)
{
	if ((a < 1024) != (b < 1024))
		return a < 1024 ? a : b;
	if (a >= 1024) {
		bool ka = port_name(s, proto, a) != NULL, kb = port_name(s, proto, b) != NULL;
		if (ka != kb)
			return ka ? a : b;
	}
	return a < b ? a : b;
}

int
services_server_port(struct services *s, uint8_t proto, uint16_t a, uint16_t b)
{
	if (a == b || a == 0 || b == 0 || transport(proto) < 0)
		return -1;
	if ((a < 1024) != (b < 1024))
		return a < 1024 ? a : b;
	if (a >= 1024) {
		bool ka = port_name(s, proto, a) != NULL, kb = port_name(s, proto, b) != NULL;
		if (ka != kb)
			return ka ? a : b;
		if (!ka)
			return -1;
	}
	return a < b ? a : b;
}

const char *
services_label(struct services *s, const struct flow *f)
{
	if (f->proto == PROTO_ICMP || f->proto == PROTO_ICMPV6) {
		const char *const *table = f->proto == PROTO_ICMP ? icmp4_types : icmp6_types;
		size_t n = f->proto == PROTO_ICMP ? sizeof(icmp4_types) / sizeof(*icmp4_types) :
		    sizeof(icmp6_types) / sizeof(*icmp6_types);
		if (f->icmp_type >= 0 && (size_t)f->icmp_type < n && table[f->icmp_type])
			return table[f->icmp_type];
		return proto_names[f->proto];
	}
	if (transport(f->proto) < 0)
		return proto_names[f->proto] ? proto_names[f->proto] : unknown;
	const char *name = port_name(s, f->proto,
	    services_pick_port(s, f->proto, f->src_port, f->dst_port));
	return name ? name : unknown;
}
