/* The initiator of a paired connection, rule by rule (conn_pair), from
 * records as netflowd writes them. Each case is the initiator's record and
 * the responder's; it runs in both arrival orders, and the answer must not
 * depend on the order unless no evidence is left (then the first wins). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conn.h"
#include "record.h"
#include "services.h"
#include "test.h"

#define REC(extra) "{\"time_received\":\"2024-05-01T12:00:10.000Z\",\"exporter\":\"192.0.2.1\"," extra "}"
#define T(ms) "\"2024-05-01T12:00:00." #ms "Z\""
#define TCP(src, sp, dst, dp, start, bytes, flags) REC("\"start\":" start ",\"src_addr\":\"" src \
	"\",\"dst_addr\":\"" dst "\",\"src_port\":" #sp ",\"dst_port\":" #dp \
	",\"proto\":6,\"bytes\":" #bytes ",\"packets\":1,\"tcp_flags\":" #flags)
#define C "10.0.0.1"
#define S "10.0.0.2"

static const struct {
	const char *what;
	const char *initiator, *responder;
	enum conn_by by;
} cases[] = {
	{ "OR of flags: both sides SYN+ACK, same start; the port decides, not the bytes",
	  TCP(C, 40000, S, 443, T(100), 300, 27), TCP(S, 443, C, 40000, T(100), 9000, 27),
	  CONN_BY_PORT },
	{ "SYN answered by RST/ACK, unnamed ports, equal bytes",
	  TCP(C, 45000, S, 33000, T(100), 40, 2), TCP(S, 33000, C, 45000, T(100), 40, 20),
	  CONN_BY_TCP_FLAGS },
	{ "half-open: SYN+RST against SYN+ACK, the client sent more",
	  TCP(C, 2000, S, 60000, T(100), 80, 6), TCP(S, 60000, C, 2000, T(100), 40, 18),
	  CONN_BY_TCP_FLAGS },
	{ "SYN without ACK beats an earlier start and the port",
	  TCP(C, 443, S, 40000, T(200), 40, 2), TCP(S, 40000, C, 443, T(100), 40, 18),
	  CONN_BY_TCP_FLAGS },
	{ "SYN+ACK against ACK only says nothing (a sampled SYN+ACK is the responder's)",
	  TCP(C, 40000, S, 80, T(100), 40, 16), TCP(S, 80, C, 40000, T(100), 40, 18),
	  CONN_BY_PORT },
	{ "both SYN without ACK (simultaneous open) says nothing",
	  TCP(C, 40000, S, 22, T(100), 40, 2), TCP(S, 22, C, 40000, T(100), 40, 2),
	  CONN_BY_PORT },
	{ "SYN without ACK against a record without tcp_flags (another exporter's)",
	  TCP(C, 45000, S, 33000, T(100), 40, 2),
	  REC("\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C "\",\"src_port\":33000,"
	      "\"dst_port\":45000,\"proto\":6,\"bytes\":40,\"packets\":1"),
	  CONN_BY_TCP_FLAGS },
	{ "records without tcp_flags: no flag evidence",
	  REC("\"start\":" T(100) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S "\",\"src_port\":40000,"
	      "\"dst_port\":80,\"proto\":6,\"bytes\":40,\"packets\":1"),
	  REC("\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C "\",\"src_port\":80,"
	      "\"dst_port\":40000,\"proto\":6,\"bytes\":40,\"packets\":1"),
	  CONN_BY_PORT },
	{ "an earlier start on one clock beats the port (a privileged client port)",
	  TCP(C, 700, S, 2049, T(100), 900, 27), TCP(S, 2049, C, 700, T(105), 100, 27),
	  CONN_BY_START },
	{ "TCP flags 0 (an exporter that leaves them out): the start still counts",
	  TCP(C, 40000, S, 34567, T(100), 900, 0), TCP(S, 34567, C, 40000, T(101), 100, 0),
	  CONN_BY_START },
	{ "continuation records (ACK, no SYN): the start is chance, the port decides",
	  TCP(C, 40000, S, 443, T(300), 500, 24), TCP(S, 443, C, 40000, T(100), 90000, 24),
	  CONN_BY_PORT },
	{ "two exporters: two clocks, the port decides",
	  TCP(C, 40000, S, 443, T(300), 500, 27),
	  REC("\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C "\",\"src_port\":443,"
	      "\"dst_port\":40000,\"proto\":6,\"bytes\":9000,\"packets\":9,\"tcp_flags\":27,"
	      "\"exporter\":\"192.0.2.9\""),
	  CONN_BY_PORT },
	{ "NetFlow v9, two datagrams, 400 ms apart: within the header's second, no evidence",
	  REC("\"version\":9,\"start\":" T(500) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S
	      "\",\"src_port\":40000,\"dst_port\":53,\"proto\":17,\"bytes\":60,\"packets\":1"),
	  "{\"time_received\":\"2024-05-01T12:00:11.000Z\",\"exporter\":\"192.0.2.1\",\"version\":9,"
	  "\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C "\",\"src_port\":53,"
	  "\"dst_port\":40000,\"proto\":17,\"bytes\":200,\"packets\":1}",
	  CONN_BY_PORT },
	{ "NetFlow v9, one datagram (same receive time): 4 ms is evidence",
	  REC("\"version\":9,\"start\":" T(100) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S
	      "\",\"src_port\":1023,\"dst_port\":4000,\"proto\":17,\"bytes\":60,\"packets\":1"),
	  REC("\"version\":9,\"start\":" T(104) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C
	      "\",\"src_port\":4000,\"dst_port\":1023,\"proto\":17,\"bytes\":20,\"packets\":1"),
	  CONN_BY_START },
	{ "NetFlow v9, two datagrams, 1.5 s apart: evidence",
	  REC("\"version\":9,\"start\":\"2024-05-01T12:00:00.100Z\",\"src_addr\":\"" C
	      "\",\"dst_addr\":\"" S "\",\"src_port\":1023,\"dst_port\":4000,\"proto\":17,"
	      "\"bytes\":60,\"packets\":1"),
	  "{\"time_received\":\"2024-05-01T12:00:11.000Z\",\"exporter\":\"192.0.2.1\",\"version\":9,"
	  "\"start\":\"2024-05-01T12:00:01.600Z\",\"src_addr\":\"" S "\",\"dst_addr\":\"" C
	  "\",\"src_port\":4000,\"dst_port\":1023,\"proto\":17,\"bytes\":20,\"packets\":1}",
	  CONN_BY_START },
	{ "sFlow samples: their times are when they were sampled; the port decides",
	  REC("\"format\":\"sflow\",\"start\":" T(900) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S
	      "\",\"src_port\":40000,\"dst_port\":443,\"proto\":6,\"bytes\":1500,\"packets\":1,"
	      "\"tcp_flags\":16"),
	  REC("\"format\":\"sflow\",\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C
	      "\",\"src_port\":443,\"dst_port\":40000,\"proto\":6,\"bytes\":1500,\"packets\":1,"
	      "\"tcp_flags\":16"),
	  CONN_BY_PORT },
	{ "sFlow: a sampled SYN against a sampled SYN+ACK",
	  REC("\"format\":\"sflow\",\"start\":" T(900) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S
	      "\",\"src_port\":40000,\"dst_port\":40001,\"proto\":6,\"bytes\":60,\"packets\":1,"
	      "\"tcp_flags\":2"),
	  REC("\"format\":\"sflow\",\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C
	      "\",\"src_port\":40001,\"dst_port\":40000,\"proto\":6,\"bytes\":60,\"packets\":1,"
	      "\"tcp_flags\":18"),
	  CONN_BY_TCP_FLAGS },
	{ "both ports below 1024: the lower one is the server",
	  TCP(C, 1021, S, 514, T(100), 900, 27), TCP(S, 514, C, 1021, T(100), 10, 27),
	  CONN_BY_PORT },
	{ "a named registered port against an unnamed one (the client uploads)",
	  TCP(C, 50000, S, 3306, T(100), 90000, 27), TCP(S, 3306, C, 50000, T(100), 100, 27),
	  CONN_BY_PORT },
	{ "two unnamed ports from 1024 up say nothing, not 'the lower one': fewer bytes sent",
	  TCP(C, 33100, S, 45678, T(100), 500, 27), TCP(S, 45678, C, 33100, T(100), 9000, 27),
	  CONN_BY_BYTES },
	{ "UDP on equal ports: fewer bytes sent",
	  REC("\"start\":" T(100) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S "\",\"src_port\":123,"
	      "\"dst_port\":123,\"proto\":17,\"bytes\":48,\"packets\":1"),
	  REC("\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C "\",\"src_port\":123,"
	      "\"dst_port\":123,\"proto\":17,\"bytes\":96,\"packets\":1"),
	  CONN_BY_BYTES },
	{ "ICMP: the echo request, though the reply's record starts earlier",
	  REC("\"start\":" T(101) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S "\",\"proto\":1,"
	      "\"icmp_type\":8,\"icmp_code\":0,\"bytes\":84,\"packets\":1"),
	  REC("\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C "\",\"proto\":1,"
	      "\"icmp_type\":0,\"icmp_code\":0,\"bytes\":84,\"packets\":1"),
	  CONN_BY_ICMP_TYPE },
	{ "ICMPv6 (softflowd v5/pmacct style: type << 8 in dst_port)",
	  REC("\"start\":" T(100) ",\"src_addr\":\"2001:db8::1\",\"dst_addr\":\"2001:db8::2\","
	      "\"src_port\":0,\"dst_port\":32768,\"proto\":58,\"bytes\":104,\"packets\":1"),
	  REC("\"start\":" T(100) ",\"src_addr\":\"2001:db8::2\",\"dst_addr\":\"2001:db8::1\","
	      "\"src_port\":0,\"dst_port\":33024,\"proto\":58,\"bytes\":104,\"packets\":1"),
	  CONN_BY_ICMP_TYPE },
	{ "no evidence at all: the record read first",
	  REC("\"start\":" T(100) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S "\",\"proto\":47,"
	      "\"bytes\":100,\"packets\":1"),
	  REC("\"start\":" T(100) ",\"src_addr\":\"" S "\",\"dst_addr\":\"" C "\",\"proto\":47,"
	      "\"bytes\":100,\"packets\":1"),
	  CONN_BY_ARRIVAL },
};

static void
parse(struct record_parser *rp, const char *line, struct flow *f, const char *what)
{
	enum record_result r = record_parse(rp, line, strlen(line), f);
	EXPECT(r == RECORD_FLOW, "%s: record %s: result %d", what, line, (int)r);
}

static void
test_cases(struct services *svc)
{
	struct record_parser *rp = record_parser_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct flow fi, fr;
		parse(rp, cases[i].initiator, &fi, cases[i].what);
		parse(rp, cases[i].responder, &fr, cases[i].what);
		for (int order = 0; order < 2; order++) {
			struct conn c;
			conn_init_single(&c, order ? &fr : &fi);
			conn_pair(&c, order ? &fi : &fr, svc);
			/* Without evidence the first read wins, whichever it is. */
			const struct flow *want = cases[i].by == CONN_BY_ARRIVAL && order ? &fr : &fi;
			char got[ADDR_STRLEN];
			addr_format(&c.fwd.src, got, sizeof(got));
			EXPECT(addr_compare(&c.fwd.src, &want->src) == 0 &&
			    c.fwd.src_port == want->src_port,
			    "%s (order %d): initiator %s port %u", cases[i].what, order, got,
			    c.fwd.src_port);
			EXPECT(c.by == cases[i].by, "%s (order %d): decided by %s, want %s",
			    cases[i].what, order, conn_by_name(c.by), conn_by_name(cases[i].by));
			EXPECT(c.paired && c.bytes_out == c.fwd.bytes && c.bytes_in == c.rev.bytes,
			    "%s: counters", cases[i].what);
		}
	}
	record_parser_free(rp);
}

static void
test_tcp_flags_parsed(void)
{
	struct record_parser *rp = record_parser_new();
	struct flow f;
	const char *ipfix = REC("\"start\":" T(100) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S
	    "\",\"proto\":6,\"bytes\":1,\"packets\":1,\"tcp_flags\":65535");
	const char *over = REC("\"start\":" T(100) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S
	    "\",\"proto\":6,\"bytes\":1,\"packets\":1,\"tcp_flags\":65536");
	const char *none = REC("\"start\":" T(100) ",\"src_addr\":\"" C "\",\"dst_addr\":\"" S
	    "\",\"proto\":6,\"bytes\":1,\"packets\":1");

	EXPECT(record_parse(rp, ipfix, strlen(ipfix), &f) == RECORD_FLOW &&
	    f.has_tcp_flags && f.tcp_flags == 0xffff, "16-bit tcpControlBits");
	/* a key only the filter, the statistics and the direction read: out
	 * of range it is taken as missing, the flow is kept */
	EXPECT(record_parse(rp, over, strlen(over), &f) == RECORD_FLOW && !f.has_tcp_flags,
	    "tcp_flags > 16 bits ignored");
	EXPECT(record_parse(rp, none, strlen(none), &f) == RECORD_FLOW && !f.has_tcp_flags,
	    "no tcp_flags");
	record_parser_free(rp);
}

static void
test_server_port(struct services *svc)
{
	static const struct { uint8_t proto; uint16_t a, b; int want; } ports[] = {
		{ 6, 40000, 443, 443 }, { 6, 443, 40000, 443 }, { 6, 1021, 514, 514 },
		{ 6, 50000, 3306, 3306 }, { 17, 5353, 3306, 5353 },	/* 3306 is named for tcp only */
		{ 17, 5353, 40000, 5353 }, { 6, 33100, 45678, -1 }, { 17, 123, 123, -1 },
		{ 6, 0, 80, -1 }, { 47, 0, 0, -1 }, { 1, 0, 2048, -1 },
	};

	for (size_t i = 0; i < sizeof(ports) / sizeof(*ports); i++) {
		int got = services_server_port(svc, ports[i].proto, ports[i].a, ports[i].b);
		EXPECT(got == ports[i].want, "server port of %u/%u/%u: %d, want %d",
		    ports[i].proto, ports[i].a, ports[i].b, got, ports[i].want);
	}
}

int
main(void)
{
	struct services *svc = services_new(SERVICES_FILE);

	if (!svc)
		return 1;
	test_cases(svc);
	test_tcp_flags_parsed();
	test_server_port(svc);
	services_free(svc);
	return test_result("analyzer-direction");
}
