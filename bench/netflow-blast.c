/*
 * netflow-blast: a loopback-only NetFlow v5/v9/IPFIX load generator.
 *
 * It builds valid export datagrams itself (templates every N datagrams per
 * exporter, a configurable number of flows per datagram, a realistic mix of
 * IPv4 and IPv6 flows, many exporters with their own source address and
 * sequence numbers) or replays the UDP payloads of a pcap, and sends them
 * with sendmmsg at a fixed rate or flat out, for a count or a duration.
 * It refuses every destination outside 127.0.0.0/8 and ::1: it is a
 * benchmark tool, not a way to flood someone else's collector.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "parser.h"

#define BATCH_MAX 64
#define DGRAM_MAX 65507
#define EXPORTERS_MAX 65000

struct blast_exporter {
	struct in_addr addr;      /* 127.0.x.y */
	uint32_t source_id;
	uint32_t sequence;        /* v9: datagrams; IPFIX/v5: records */
	uint64_t sent;            /* datagrams sent by this exporter */
	int64_t boot_ms;          /* wall clock at the exporter's boot */
};

struct flow {
	bool v6;
	uint8_t src[16], dst[16], next_hop[16];
	uint16_t src_port, dst_port;
	uint8_t proto, tos, tcp_flags, src_mask, dst_mask, direction;
	uint32_t in_if, out_if, src_as, dst_as;
	uint64_t bytes, packets;
	int64_t start_ms, end_ms;
};

struct replay {
	uint8_t **payload;
	size_t *len;
	uint32_t *flows;
	size_t n, next;
};

struct opts {
	int version;
	int flows;                /* per datagram */
	int template_every;       /* datagrams per exporter */
	int exporters;
	int v6_percent;
	double rate;              /* datagrams/s, 0 = flat out */
	uint64_t count;           /* datagrams, 0 = unbounded */
	double duration;          /* seconds, 0 = unbounded */
	int batch;
	const char *replay;
	const char *write_pcap;
	bool quiet;
	bool seeded;
	uint64_t seed;
};

static volatile sig_atomic_t stop;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static __attribute__((noreturn, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "netflow-blast: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- byte writers ---- */

struct out {
	uint8_t *p;
	size_t len;
};

static void
put8(struct out *o, uint8_t v)
{
	o->p[o->len++] = v;
}

static void
put16(struct out *o, uint16_t v)
{
	o->p[o->len++] = (uint8_t)(v >> 8);
	o->p[o->len++] = (uint8_t)v;
}

static void
put32(struct out *o, uint32_t v)
{
	put16(o, (uint16_t)(v >> 16));
	put16(o, (uint16_t)v);
}

static void
put64(struct out *o, uint64_t v)
{
	put32(o, (uint32_t)(v >> 32));
	put32(o, (uint32_t)v);
}

static void
putn(struct out *o, const uint8_t *b, size_t n)
{
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void
set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- a plausible flow ---- */

static const uint16_t services[] = {
	443, 443, 443, 443, 80, 80, 53, 53, 22, 25, 123, 993, 3389, 8080, 5060,
};

static void
make_flow(struct flow *f, int64_t now, int v6_percent)
{
	uint32_t r = rnd_below(100);
	bool reply = rnd() & 1;
	uint16_t service = services[rnd_below(sizeof(services) / sizeof(services[0]))];
	uint16_t client = (uint16_t)(1024 + rnd_below(64511));
	uint64_t pk;

	memset(f, 0, sizeof(*f));
	f->v6 = (int)r < v6_percent;
	if (f->v6) {
		static const uint8_t pfx_a[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };
		static const uint8_t pfx_b[] = { 0x2a, 0x00, 0x14, 0x50, 0x40, 0x01 };
		uint64_t a = rnd(), b = rnd();

		memcpy(f->src, pfx_a, 6);
		memcpy(f->dst, pfx_b, 6);
		memcpy(f->src + 8, &a, 8);
		memcpy(f->dst + 8, &b, 8);
		f->src[6] = (uint8_t)rnd_below(16);
		f->next_hop[0] = 0xfe;
		f->next_hop[1] = 0x80;
		f->next_hop[15] = 1;
		f->src_mask = 64;
		f->dst_mask = 48;
	} else {
		uint32_t a = 0x0a000000u | rnd_below(1u << 16);
		uint32_t b = rnd_below(4) ? 0xc6336400u | rnd_below(256) :
		    (uint32_t)rnd();

		a = htonl(a);
		b = htonl(b);
		memcpy(f->src, &a, 4);
		memcpy(f->dst, &b, 4);
		f->next_hop[0] = 10;
		f->next_hop[3] = 1;
		f->src_mask = 16;
		f->dst_mask = 24;
	}
	f->proto = service == 53 || service == 123 || service == 5060 ? 17 : 6;
	if (rnd_below(50) == 0) {
		f->proto = f->v6 ? 58 : 1;
		service = 0;
		client = (uint16_t)(rnd_below(2) ? 0x0800 : 0x0000);
	}
	f->src_port = reply ? service : client;
	f->dst_port = reply ? client : service;
	pk = 1 + (rnd() % 8 == 0 ? rnd_below(100000) : rnd_below(40));
	f->packets = pk;
	f->bytes = pk * (40 + rnd_below(1460));
	f->tcp_flags = f->proto == 6 ? (uint8_t)(0x10 | (rnd() & 0x0f)) : 0;
	f->tos = rnd_below(10) == 0 ? 0xb8 : 0;
	f->in_if = 1 + rnd_below(48);
	f->out_if = 1 + rnd_below(48);
	f->src_as = rnd_below(3) ? 64512 + rnd_below(1000) : 15169;
	f->dst_as = rnd_below(65000);
	f->direction = reply;
	f->end_ms = now - rnd_below(5000);
	f->start_ms = f->end_ms - rnd_below(120000);
}

/* ---- NetFlow v5 ---- */

static size_t
build_v5(struct blast_exporter *e, uint8_t *buf, int nflows, int64_t now)
{
	struct out o = { buf, 0 };
	uint32_t uptime = (uint32_t)(now - e->boot_ms);
	int n = 0;

	put16(&o, 5);
	put16(&o, 0);                 /* count, below */
	put32(&o, uptime);
	put32(&o, (uint32_t)(now / 1000));
	put32(&o, (uint32_t)(now % 1000) * 1000000u);
	put32(&o, e->sequence);
	put8(&o, 0);
	put8(&o, (uint8_t)e->source_id);
	put16(&o, 0);
	for (int i = 0; i < nflows; i++) {
		struct flow f;

		make_flow(&f, now, 0);
		putn(&o, f.src, 4);
		putn(&o, f.dst, 4);
		putn(&o, f.next_hop, 4);
		put16(&o, (uint16_t)f.in_if);
		put16(&o, (uint16_t)f.out_if);
		put32(&o, (uint32_t)f.packets);
		put32(&o, (uint32_t)f.bytes);
		put32(&o, (uint32_t)(f.start_ms - e->boot_ms));
		put32(&o, (uint32_t)(f.end_ms - e->boot_ms));
		put16(&o, f.src_port);
		put16(&o, f.dst_port);
		put8(&o, 0);
		put8(&o, f.tcp_flags);
		put8(&o, f.proto);
		put8(&o, f.tos);
		put16(&o, (uint16_t)f.src_as);
		put16(&o, (uint16_t)f.dst_as);
		put8(&o, f.src_mask);
		put8(&o, f.dst_mask);
		put16(&o, 0);
		n++;
	}
	set16(buf + 2, (uint16_t)n);
	e->sequence += (uint32_t)n;
	return o.len;
}

/* ---- NetFlow v9 and IPFIX share their templates ---- */

struct field { uint16_t id, len; };

/* what pmacct's nfprobe exports, roughly */
static const struct field v9_tpl4[] = {
	{ 1, 8 }, { 2, 8 }, { 4, 1 }, { 5, 1 }, { 6, 1 }, { 7, 2 }, { 8, 4 },
	{ 9, 1 }, { 10, 4 }, { 11, 2 }, { 12, 4 }, { 13, 1 }, { 14, 4 },
	{ 15, 4 }, { 16, 4 }, { 17, 4 }, { 21, 4 }, { 22, 4 }, { 61, 1 },
	{ 60, 1 },
};
static const struct field v9_tpl6[] = {
	{ 1, 8 }, { 2, 8 }, { 4, 1 }, { 5, 1 }, { 6, 1 }, { 7, 2 }, { 27, 16 },
	{ 29, 1 }, { 10, 4 }, { 11, 2 }, { 28, 16 }, { 30, 1 }, { 14, 4 },
	{ 62, 16 }, { 16, 4 }, { 17, 4 }, { 21, 4 }, { 22, 4 }, { 61, 1 },
	{ 60, 1 },
};
/* IPFIX: tcpControlBits is 2 bytes, times absolute milliseconds */
static const struct field ipfix_tpl4[] = {
	{ 1, 8 }, { 2, 8 }, { 4, 1 }, { 5, 1 }, { 6, 2 }, { 7, 2 }, { 8, 4 },
	{ 9, 1 }, { 10, 4 }, { 11, 2 }, { 12, 4 }, { 13, 1 }, { 14, 4 },
	{ 15, 4 }, { 16, 4 }, { 17, 4 }, { 152, 8 }, { 153, 8 }, { 136, 1 },
	{ 60, 1 },
};
static const struct field ipfix_tpl6[] = {
	{ 1, 8 }, { 2, 8 }, { 4, 1 }, { 5, 1 }, { 6, 2 }, { 7, 2 }, { 27, 16 },
	{ 29, 1 }, { 10, 4 }, { 11, 2 }, { 28, 16 }, { 30, 1 }, { 14, 4 },
	{ 62, 16 }, { 16, 4 }, { 17, 4 }, { 152, 8 }, { 153, 8 }, { 136, 1 },
	{ 60, 1 },
};
#define NFIELDS 20

static void
put_field(struct out *o, const struct field *fd, const struct flow *f,
    const struct blast_exporter *e)
{
	switch (fd->id) {
	case 1: put64(o, f->bytes); break;
	case 2: put64(o, f->packets); break;
	case 4: put8(o, f->proto); break;
	case 5: put8(o, f->tos); break;
	case 6:
		if (fd->len == 2)
			put16(o, f->tcp_flags);
		else
			put8(o, f->tcp_flags);
		break;
	case 7: put16(o, f->src_port); break;
	case 8: case 27: putn(o, f->src, fd->len); break;
	case 9: case 29: put8(o, f->src_mask); break;
	case 10: put32(o, f->in_if); break;
	case 11: put16(o, f->dst_port); break;
	case 12: case 28: putn(o, f->dst, fd->len); break;
	case 13: case 30: put8(o, f->dst_mask); break;
	case 14: put32(o, f->out_if); break;
	case 15: case 62: putn(o, f->next_hop, fd->len); break;
	case 16: put32(o, f->src_as); break;
	case 17: put32(o, f->dst_as); break;
	case 21: put32(o, (uint32_t)(f->end_ms - e->boot_ms)); break;
	case 22: put32(o, (uint32_t)(f->start_ms - e->boot_ms)); break;
	case 61: put8(o, f->direction); break;
	case 60: put8(o, f->v6 ? 6 : 4); break;
	case 152: put64(o, (uint64_t)f->start_ms); break;
	case 153: put64(o, (uint64_t)f->end_ms); break;
	case 136: put8(o, 3); break;   /* end of flow detected */
	default:
		memset(o->p + o->len, 0, fd->len);
		o->len += fd->len;
	}
}

static void
put_template(struct out *o, uint16_t id, const struct field *t)
{
	put16(o, id);
	put16(o, NFIELDS);
	for (int i = 0; i < NFIELDS; i++) {
		put16(o, t[i].id);
		put16(o, t[i].len);
	}
}

/* One data set with the flows of one address family; returns records. */
static int
put_data_set(struct out *o, uint16_t id, const struct field *t,
    const struct flow *flows, int n, bool v6, const struct blast_exporter *e,
    int align)
{
	size_t start = o->len;
	int count = 0;

	for (int i = 0; i < n; i++)
		count += flows[i].v6 == v6;
	if (count == 0)
		return 0;
	put16(o, id);
	put16(o, 0);
	for (int i = 0; i < n; i++) {
		if (flows[i].v6 != v6)
			continue;
		for (int k = 0; k < NFIELDS; k++)
			put_field(o, &t[k], &flows[i], e);
	}
	while ((o->len - start) % (size_t)align)
		put8(o, 0);              /* v9 pads flowsets to 32 bits */
	set16(o->p + start + 2, (uint16_t)(o->len - start));
	return count;
}

static size_t
build_v9(struct blast_exporter *e, uint8_t *buf, int nflows, bool tpl,
    int v6_percent, int64_t now, int *flows_out)
{
	struct flow flows[256];
	struct out o = { buf, 0 };
	int records = 0;

	put16(&o, 9);
	put16(&o, 0);
	put32(&o, (uint32_t)(now - e->boot_ms));
	put32(&o, (uint32_t)(now / 1000));
	put32(&o, e->sequence++);
	put32(&o, e->source_id);
	if (tpl) {
		size_t start = o.len;

		put16(&o, 0);
		put16(&o, 0);
		put_template(&o, 256, v9_tpl4);
		put_template(&o, 257, v9_tpl6);
		set16(buf + start + 2, (uint16_t)(o.len - start));
		records += 2;
	}
	for (int i = 0; i < nflows; i++)
		make_flow(&flows[i], now, v6_percent);
	*flows_out = put_data_set(&o, 256, v9_tpl4, flows, nflows, false, e, 4);
	*flows_out += put_data_set(&o, 257, v9_tpl6, flows, nflows, true, e, 4);
	records += *flows_out;
	set16(buf + 2, (uint16_t)records);
	return o.len;
}

static size_t
build_ipfix(struct blast_exporter *e, uint8_t *buf, int nflows, bool tpl,
    int v6_percent, int64_t now, int *flows_out)
{
	struct flow flows[256];
	struct out o = { buf, 0 };

	put16(&o, 10);
	put16(&o, 0);
	put32(&o, (uint32_t)(now / 1000));
	put32(&o, e->sequence);
	put32(&o, e->source_id);
	if (tpl) {
		size_t start = o.len;

		put16(&o, 2);
		put16(&o, 0);
		put_template(&o, 256, ipfix_tpl4);
		put_template(&o, 257, ipfix_tpl6);
		set16(buf + start + 2, (uint16_t)(o.len - start));
	}
	for (int i = 0; i < nflows; i++)
		make_flow(&flows[i], now, v6_percent);
	*flows_out = put_data_set(&o, 256, ipfix_tpl4, flows, nflows, false, e, 1);
	*flows_out += put_data_set(&o, 257, ipfix_tpl6, flows, nflows, true, e, 1);
	e->sequence += (uint32_t)*flows_out;
	set16(buf + 2, (uint16_t)o.len);
	return o.len;
}

/* ---- pcap replay ---- */

static void
count_record(const struct flow_record *rec, void *arg)
{
	(void)rec;
	(*(uint32_t *)arg)++;
}

static void
count_drop(const struct parser_source *src, enum parser_drop why,
    uint32_t count, void *arg)
{
	(void)src; (void)why; (void)count; (void)arg;
}

static void
replay_load(struct replay *r, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *frame;
	uint32_t counter = 0;
	struct parser_ops ops = { .record = count_record, .drop = count_drop };
	struct parser *p = parser_new(NULL, &ops, &counter);
	pcap_t *pc = pcap_open_offline(path, errbuf);
	size_t cap = 0;
	int linktype;

	if (pc == NULL || p == NULL)
		die("%s: %s", path, pc ? "out of memory" : errbuf);
	linktype = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &frame) == 1) {
		struct parser_source src = { 0 };
		const uint8_t *payload;
		size_t plen;

		if (!parser_frame_udp(frame, h->caplen, linktype, &src, &payload,
		    &plen) || plen < 2 || plen > DGRAM_MAX)
			continue;
		if (r->n == cap) {
			cap = cap ? cap * 2 : 1024;
			r->payload = realloc(r->payload, cap * sizeof(*r->payload));
			r->len = realloc(r->len, cap * sizeof(*r->len));
			r->flows = realloc(r->flows, cap * sizeof(*r->flows));
			if (!r->payload || !r->len || !r->flows)
				die("out of memory");
		}
		if ((r->payload[r->n] = malloc(plen)) == NULL)
			die("out of memory");
		memcpy(r->payload[r->n], payload, plen);
		r->len[r->n] = plen;
		src.received_ms = (int64_t)h->ts.tv_sec * 1000;
		counter = 0;
		parser_feed(p, payload, plen, &src);
		r->flows[r->n] = counter;
		r->n++;
	}
	pcap_close(pc);
	parser_free(p);
	if (r->n == 0)
		die("%s: no UDP datagrams", path);
}

/* ---- destinations ---- */

static void
parse_dest(const char *arg, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[256];
	const char *port;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	    .ai_socktype = SOCK_DGRAM }, *ai;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (end == NULL || end[1] != ':')
			die("bad destination %s (want [::1]:PORT)", arg);
		snprintf(host, sizeof(host), "%.*s", (int)(end - arg - 1), arg + 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(arg, ':');

		if (colon == NULL)
			die("bad destination %s (want 127.0.0.1:PORT)", arg);
		snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
		port = colon + 1;
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		die("bad destination %s: numeric loopback address and port only", arg);
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
			die("refusing %s: only 127.0.0.0/8 and ::1 are allowed", arg);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			die("refusing %s: only 127.0.0.0/8 and ::1 are allowed", arg);
	}
}

/* ---- pcap writer (for the offline benchmark) ---- */

static void
pcap_write_header(FILE *f)
{
	uint32_t h[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 /* EN10MB */ };

	fwrite(h, sizeof(h), 1, f);
}

static uint16_t
ip_checksum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
pcap_write_frame(FILE *f, int64_t ms, struct in_addr src,
    const struct sockaddr_in *dst, const uint8_t *payload, size_t len)
{
	uint8_t hdr[14 + 20 + 8] = { 0 };
	uint32_t rec[4];
	uint16_t iplen = (uint16_t)(20 + 8 + len);

	if (len > 65535 - 28)
		return;
	hdr[12] = 0x08;
	hdr[14] = 0x45;
	set16(hdr + 16, iplen);
	hdr[22] = 64;
	hdr[23] = 17;
	memcpy(hdr + 26, &src, 4);
	memcpy(hdr + 30, &dst->sin_addr, 4);
	set16(hdr + 24, ip_checksum(hdr + 14, 20));
	set16(hdr + 34, 2055);
	memcpy(hdr + 36, &dst->sin_port, 2);
	set16(hdr + 38, (uint16_t)(8 + len));
	rec[0] = (uint32_t)(ms / 1000);
	rec[1] = (uint32_t)(ms % 1000) * 1000;
	rec[2] = rec[3] = (uint32_t)(sizeof(hdr) + len);
	fwrite(rec, sizeof(rec), 1, f);
	fwrite(hdr, sizeof(hdr), 1, f);
	fwrite(payload, len, 1, f);
}

/* ---- main loop ---- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: netflow-blast [options] 127.0.0.1:PORT | [::1]:PORT\n"
	    "  -v, --version 5|9|10     export format (default 9)\n"
	    "  -f, --flows N            flows per datagram (default 7, v5 max 30)\n"
	    "  -t, --template-every N   templates every N datagrams per exporter (default 20)\n"
	    "  -e, --exporters N        exporters: 127.0.x.y source addresses, own source id (default 1)\n"
	    "  -6, --ipv6 PERCENT       share of IPv6 flows, v9/IPFIX (default 10)\n"
	    "  -r, --rate N             datagrams per second (default 0 = flat out)\n"
	    "  -n, --count N            stop after N datagrams\n"
	    "  -d, --duration SECONDS   stop after this long\n"
	    "  -b, --batch N            datagrams per sendmmsg, one burst when paced (default 32, max 64)\n"
	    "  -R, --replay FILE.pcap   send the UDP payloads of a capture (looped)\n"
	    "  -w, --write FILE.pcap    write the datagrams to a capture instead of sending\n"
	    "  -q, --quiet              only the final key=value line\n"
	    "  -S, --seed N             the same flows every run (default: by process id)\n"
	    "Prints one line: datagrams=N flows=N templates=N bytes=N seconds=S rate=R errors=N\n");
	exit(2);
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "version", required_argument, NULL, 'v' },
		{ "flows", required_argument, NULL, 'f' },
		{ "template-every", required_argument, NULL, 't' },
		{ "exporters", required_argument, NULL, 'e' },
		{ "ipv6", required_argument, NULL, '6' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'b' },
		{ "replay", required_argument, NULL, 'R' },
		{ "write", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct opts){ .version = 9, .flows = 7, .template_every = 20,
	    .exporters = 1, .v6_percent = 10, .batch = 32 };
	while ((ch = getopt_long(argc, argv, "v:f:t:e:6:r:n:d:b:R:w:qS:h",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'v': o->version = atoi(optarg); break;
		case 'f': o->flows = atoi(optarg); break;
		case 't': o->template_every = atoi(optarg); break;
		case 'e': o->exporters = atoi(optarg); break;
		case '6': o->v6_percent = atoi(optarg); break;
		case 'r': o->rate = atof(optarg); break;
		case 'n': o->count = strtoull(optarg, NULL, 10); break;
		case 'd': o->duration = atof(optarg); break;
		case 'b': o->batch = atoi(optarg); break;
		case 'R': o->replay = optarg; break;
		case 'w': o->write_pcap = optarg; break;
		case 'q': o->quiet = true; break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 10);
			o->seeded = true;
			break;
		default: usage();
		}
	}
	if (o->version != 5 && o->version != 9 && o->version != 10)
		die("version must be 5, 9 or 10");
	if (o->flows < 1 || o->flows > (o->version == 5 ? 30 : 256))
		die("flows per datagram out of range");
	if (o->exporters < 1 || o->exporters > EXPORTERS_MAX)
		die("exporters out of range (1..%d)", EXPORTERS_MAX);
	if (o->batch < 1 || o->batch > BATCH_MAX)
		die("batch out of range (1..%d)", BATCH_MAX);
	if (o->template_every < 1)
		o->template_every = 1;
	if (o->write_pcap && o->count == 0)
		die("--write needs --count");
	if (o->count == 0 && o->duration <= 0 && !o->write_pcap)
		die("give --count or --duration");
}

struct sender {
	int fd;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	bool v4;
	struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	char control[BATCH_MAX][CMSG_SPACE(sizeof(struct in_pktinfo))];
	uint8_t *bufs;
	int flows[BATCH_MAX];
	struct in_addr src[BATCH_MAX];
};

static void
sender_init(struct sender *s, const char *dest)
{
	int on = 1, sndbuf = 4 << 20;

	parse_dest(dest, &s->dst, &s->dstlen);
	s->v4 = s->dst.ss_family == AF_INET;
	s->fd = socket(s->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (s->v4)
		setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	if ((s->bufs = malloc((size_t)BATCH_MAX * DGRAM_MAX)) == NULL)
		die("out of memory");
}

/* Per-message source address: each exporter is its own 127.0.x.y. */
static void
set_source(struct sender *s, int i, struct in_addr src)
{
	struct msghdr *mh = &s->msgs[i].msg_hdr;
	struct cmsghdr *cm;
	struct in_pktinfo pi = { .ipi_spec_dst = src };

	s->src[i] = src;
	if (!s->v4) {
		mh->msg_control = NULL;
		mh->msg_controllen = 0;
		return;
	}
	mh->msg_control = s->control[i];
	mh->msg_controllen = sizeof(s->control[i]);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
}

struct totals {
	uint64_t datagrams, flows, templates, bytes, errors;
};

/* Fills up to n messages; returns how many. */
static int
fill_batch(struct sender *s, const struct opts *o, struct blast_exporter *ex,
    struct replay *r, int n, uint64_t *next_exporter, struct totals *t)
{
	int64_t now = now_ms();

	for (int i = 0; i < n; i++) {
		uint8_t *buf = s->bufs + (size_t)i * DGRAM_MAX;
		struct msghdr *mh = &s->msgs[i].msg_hdr;
		size_t len;
		int flows = 0;

		if (r->n) {
			len = r->len[r->next];
			memcpy(buf, r->payload[r->next], len);
			flows = (int)r->flows[r->next];
			r->next = (r->next + 1) % r->n;
			set_source(s, i, ex[0].addr);
		} else {
			struct blast_exporter *e = &ex[*next_exporter % (uint64_t)o->exporters];
			bool tpl = e->sent % (uint64_t)o->template_every == 0;

			(*next_exporter)++;
			if (o->version == 5)
				len = build_v5(e, buf, flows = o->flows, now);
			else if (o->version == 9)
				len = build_v9(e, buf, o->flows, tpl, o->v6_percent,
				    now, &flows);
			else
				len = build_ipfix(e, buf, o->flows, tpl,
				    o->v6_percent, now, &flows);
			t->templates += tpl && o->version != 5;
			e->sent++;
			set_source(s, i, e->addr);
		}
		s->iov[i] = (struct iovec){ buf, len };
		mh->msg_name = &s->dst;
		mh->msg_namelen = s->dstlen;
		mh->msg_iov = &s->iov[i];
		mh->msg_iovlen = 1;
		s->flows[i] = flows;
	}
	return n;
}

static void
init_exporters(struct blast_exporter *ex, int n)
{
	int64_t now = now_ms();

	for (int i = 0; i < n; i++) {
		uint32_t host = (127u << 24) | ((uint32_t)(i / 254) << 8) |
		    (uint32_t)(1 + i % 254);

		ex[i].addr.s_addr = htonl(host);
		ex[i].source_id = (uint32_t)i + 1;
		ex[i].sequence = rnd_below(1u << 30);
		/* up 1 hour to 40 days: some exporters see the uptime wrap */
		ex[i].boot_ms = now - 3600000 - (int64_t)rnd_below(40u * 86400000u);
	}
}

static void
report(const struct opts *o, const struct totals *t, double secs)
{
	printf("datagrams=%" PRIu64 " flows=%" PRIu64 " templates=%" PRIu64
	    " bytes=%" PRIu64 " seconds=%.3f rate=%.0f errors=%" PRIu64 "\n",
	    t->datagrams, t->flows, t->templates, t->bytes, secs,
	    secs > 0 ? (double)t->datagrams / secs : 0.0, t->errors);
	if (!o->quiet)
		fprintf(stderr, "netflow-blast: %" PRIu64 " datagrams (%" PRIu64
		    " flows) in %.2f s = %.0f datagrams/s, %.0f flows/s\n",
		    t->datagrams, t->flows, secs, (double)t->datagrams / secs,
		    (double)t->flows / secs);
}

static void
write_capture(const struct opts *o, struct sender *s, struct blast_exporter *ex,
    struct replay *r, struct totals *t)
{
	FILE *f = fopen(o->write_pcap, "wb");
	uint64_t next = 0;
	int64_t ms = now_ms();

	if (f == NULL)
		die("%s: %s", o->write_pcap, strerror(errno));
	pcap_write_header(f);
	while (t->datagrams < o->count) {
		int n = (int)(o->count - t->datagrams < BATCH_MAX ?
		    o->count - t->datagrams : BATCH_MAX);

		fill_batch(s, o, ex, r, n, &next, t);
		for (int i = 0; i < n; i++) {
			/* the capture advances at --rate (default 100k/s) */
			double step = o->rate > 0 ? 1000.0 / o->rate : 0.01;
			int64_t when = ms + (int64_t)((double)t->datagrams * step);

			pcap_write_frame(f, when, s->src[i], (const struct sockaddr_in *)&s->dst, s->iov[i].iov_base,
			    s->iov[i].iov_len);
			t->datagrams++;
			t->flows += (uint64_t)s->flows[i];
			t->bytes += s->iov[i].iov_len;
		}
	}
	if (fclose(f) != 0)
		die("%s: %s", o->write_pcap, strerror(errno));
}

int
main(int argc, char **argv)
{
	static struct sender s;
	struct opts o;
	struct blast_exporter *ex;
	struct replay r = { 0 };
	struct totals t = { 0 };
	uint64_t next_exporter = 0;
	double start, end_at;

	parse_opts(argc, argv, &o);
	if (optind + 1 != argc)
		usage();
	rng_state ^= o.seeded ? o.seed << 20 : (uint64_t)getpid() << 20;
	sender_init(&s, argv[optind]);
	if (o.write_pcap && !s.v4)
		die("--write needs an IPv4 destination");
	if ((ex = calloc((size_t)o.exporters, sizeof(*ex))) == NULL)
		die("out of memory");
	init_exporters(ex, o.exporters);
	if (o.replay)
		replay_load(&r, o.replay);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	start = mono();
	if (o.write_pcap) {
		write_capture(&o, &s, ex, &r, &t);
		report(&o, &t, mono() - start);
		return 0;
	}
	end_at = o.duration > 0 ? start + o.duration : 0;
	while (!stop) {
		double now = mono();
		int want = o.batch, sent;

		if (end_at > 0 && now >= end_at)
			break;
		if (o.count && t.datagrams >= o.count)
			break;
		if (o.rate > 0) {
			double due = (now - start) * o.rate - (double)t.datagrams;

			/* whole batches, as exporters send bursts: a sleep per
			 * datagram would cost the sender more CPU than the
			 * collector under test gets on a small machine */
			if (due < want) {
				struct timespec ts = { 0, (long)((want - due) / o.rate * 1e9) };

				if (ts.tv_nsec > 1000000)
					ts.tv_nsec = 1000000;
				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (o.count && o.count - t.datagrams < (uint64_t)want)
			want = (int)(o.count - t.datagrams);
		fill_batch(&s, &o, ex, &r, want, &next_exporter, &t);
		sent = sendmmsg(s.fd, s.msgs, (unsigned)want, 0);
		if (sent < 0) {
			t.errors++;
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR &&
			    errno != ECONNREFUSED)
				die("sendmmsg: %s", strerror(errno));
			continue;
		}
		for (int i = 0; i < sent; i++) {
			t.datagrams++;
			t.flows += (uint64_t)s.flows[i];
			t.bytes += s.msgs[i].msg_len;
		}
		/* a short send: the rest of the batch is built anew next time */
	}
	report(&o, &t, mono() - start);
	for (size_t i = 0; i < r.n; i++)
		free(r.payload[i]);
	free(r.payload);
	free(r.len);
	free(r.flows);
	free(ex);
	free(s.bufs);
	close(s.fd);
	return 0;
}
