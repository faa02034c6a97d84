/* The filter language: every error case (message and caret position),
 * and evaluation of the primitives the nfdump oracle cannot reach (keys
 * nfdump's captures lack, the beyond-nfdump keys, `field`, big lists). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "prefixset.h"
#include "record.h"
#include "test.h"

static void
test_errors(void)
{
	static const struct { const char *text, *message; size_t pos; } cases[] = {
		{ "", "the filter is empty", 0 },
		{ "   ", "the filter is empty", 3 },
		{ "proto", "expected a protocol name or number, found the end", 5 },
		{ "proto foo", "expected a protocol name or number, found 'foo'", 6 },
		{ "proto 256", "256 is out of range (at most 255)", 6 },
		{ "port 65536", "65536 is out of range (at most 65535)", 5 },
		{ "dst port x", "expected a port number, found 'x'", 9 },
		{ "proto tcp and", "expected a filter term", 13 },
		{ "proto tcp and and", "expected a filter term", 14 },
		{ "proto tcp or", "expected a filter term", 12 },
		{ "proto tcp port 80", "expected 'and', 'or' or the end, found 'port'", 10 },
		{ "(proto tcp", "expected ')' to close the '(' at 1, found the end", 10 },
		{ "proto tcp)", "expected 'and', 'or' or the end, found ')'", 9 },
		{ "()", "expected a filter term", 1 },
		{ "src", "'src' must be followed by ip, host, net, port, as, mask, vlan, geo or if", 0 },
		{ "src foo 1", "'src ' must be followed by ip, host, net, port, as, mask, vlan, geo or if", 0 },
		{ "geo USA", "expected a country code (ISO 3166-1 alpha-2: US, DE, ...), found 'USA'", 4 },
		{ "dst geo in [US 12]", "expected a country code (ISO 3166-1 alpha-2: US, DE, ...), found '12'", 15 },
		{ "geo in []", "expected a country code, found ']'", 8 },
		{ "geo in US", "expected '[' to open the list, found 'US'", 7 },
		{ "in if name", "expected an interface name, found the end", 10 },
		{ "if name (", "expected an interface name, found '('", 8 },
		{ "host 10.0.0.256", "expected an IP address, found '10.0.0.256'", 5 },
		{ "host 10.0.0.0/8", "expected an IP address, found '10.0.0.0/8'", 5 },
		{ "net 10.0.0.0/33", "expected a network (ADDR/BITS or ADDR MASK)", 4 },
		{ "net 10.0.0.0 255.0.255.0", "255.0.255.0 is not a netmask", 13 },
		{ "ip in [ 10.0.0.1 x ]", "expected an address or prefix in the list, found 'x'", 17 },
		{ "ip in [ 10.0.0.1", "expected an address or prefix in the list, found the end", 16 },
		{ "ip in 10.0.0.1", "expected '[' to open the list, found '10.0.0.1'", 6 },
		{ "port in [ 1 70000 ]", "70000 is out of range (at most 65535)", 12 },
		{ "port != 80", "unknown comparator '!='", 5 },
		{ "port => 80", "unknown comparator '=>'", 5 },
		{ "bytes > 1x", "expected a byte count, found '1x'", 8 },
		{ "flags SZ", "'Z' is not a TCP flag", 7 },
		{ "flags", "expected TCP flags", 5 },
		{ "icmp 8", "expected 'type' or 'code', found '8'", 5 },
		{ "in foo", "expected 'if', 'packets' or 'bytes', found 'foo'", 3 },
		{ "next hop 1.2.3.4", "expected 'ip' or 'as', found 'hop'", 5 },
		{ "prev ip 1.2.3.4", "expected 'as', found 'ip'", 5 },
		{ "bgp ip 1.2.3.4", "expected 'next', found 'ip'", 4 },
		{ "router 1.2.3.4", "expected 'ip', found '1.2.3.4'", 7 },
		{ "format cflow", "expected netflow, ipfix or sflow, found 'cflow'", 7 },
		{ "field", "expected a key name, found the end", 5 },
		{ "field x > \"a\"", "a string compares with = only", 8 },
		{ "field x = y", "expected a number or a \"string\", found 'y'", 10 },
		{ "field x = \"open", "unterminated string", 10 },
		{ "first seen > yesterday", "expected a time", 13 },
		{ "first 2024-01-01", "expected 'seen', found '2024-01-01'", 6 },
		{ "proto tcp and $", "unexpected character '$'", 14 },
		{ "not", "expected a filter term", 3 },
		{ "proto tcp\nand port\n", "expected a port number, found the end", 19 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expr_error err;
		struct expr *e = expr_parse(cases[i].text, &err);
		EXPECT(e == NULL, "'%s' parsed", cases[i].text);
		expr_free(e);
		if (e)
			continue;
		EXPECT(strstr(err.message, cases[i].message) != NULL, "'%s': message '%s', want '%s'",
		    cases[i].text, err.message, cases[i].message);
		EXPECT(err.pos == cases[i].pos, "'%s': caret at %zu, want %zu (%s)", cases[i].text,
		    err.pos, cases[i].pos, err.message);
	}
}

static void
test_nesting(void)
{
	char deep[4 * EXPR_MAX_DEPTH + 64];
	struct expr_error err;
	size_t n = 0;

	for (int i = 0; i < EXPR_MAX_DEPTH + 5; i++)
		deep[n++] = '(';
	strcpy(deep + n, "any");
	struct expr *e = expr_parse(deep, &err);
	EXPECT(!e && strstr(err.message, "nests more than"), "deep nesting: %s", err.message);
	expr_free(e);
}

static void
test_caret_print(void)
{
	char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct expr_error err;
	const char *text = "proto tcp and dst prot 80";

	EXPECT(!expr_parse(text, &err), "parsed");
	expr_print_error(f, "--filter", text, &err);
	fclose(f);
	EXPECT(strcmp(buf, "netflow-analyze: --filter: 'dst ' must be followed by ip, host, net, "
	    "port, as, mask, vlan, geo or if\n  proto tcp and dst prot 80\n                ^\n") == 0,
	    "printed: %s", buf);

	f = fmemopen(buf, sizeof(buf), "w");
	text = "# web\nproto tcp\nand port 99999\n";
	EXPECT(!expr_parse(text, &err), "parsed");
	expr_print_error(f, "--filter-file F", text, &err);
	fclose(f);
	EXPECT(strcmp(buf, "netflow-analyze: --filter-file F, line 3: 99999 is out of range "
	    "(at most 65535)\n  and port 99999\n           ^\n") == 0, "printed: %s", buf);
}

static const char line_tpl[] =
	"{\"time_received\":\"2024-05-01T12:00:10.000Z\",\"exporter\":\"192.0.2.1\","
	"\"exporter_port\":2055,\"version\":10,\"domain\":1,\"start\":\"2024-05-01T12:00:00.000Z\","
	"\"end\":\"2024-05-01T12:00:04.000Z\",\"src_addr\":\"10.1.2.3\",\"dst_addr\":\"192.0.2.80\","
	"\"src_port\":50000,\"dst_port\":443,\"proto\":6,\"bytes\":400000,\"packets\":400,"
	"\"tcp_flags\":27,\"tos\":32,\"in_if\":3,\"out_if\":7,\"next_hop\":\"192.0.2.254\","
	"\"src_as\":64500,\"dst_as\":15169,\"src_mask\":16,\"dst_mask\":24,"
	"\"sampling_interval\":100,\"vlanId\":10,\"postVlanId\":20,"
	"\"bgpPrevAdjacentAsNumber\":64501,\"bgpNextAdjacentAsNumber\":3356,"
	"\"bgpNextHopIPv4Address\":\"198.51.100.1\",\"applicationName\":\"https\","
	"\"e9_12235\":7,\"initiatorOctets\":0,\"in_if_name\":\"Gi0/0/1\",\"out_if_name\":\"up link\","
	"\"src_as_name\":\"EXAMPLE\",\"dst_as_name\":\"GOOGLE\",\"src_country\":\"de\","
	"\"dst_country\":\"US\"}";

static void
test_eval(void)
{
	static const struct { const char *text; int want; } cases[] = {
		{ "any", 1 }, { "proto tcp", 1 }, { "proto udp", 0 }, { "proto 6", 1 },
		{ "src port 50000 and dst port 443", 1 }, { "port in [ 1 443 ]", 1 },
		{ "dst port > 443", 0 }, { "dst port >= 443", 1 }, { "port le 443", 1 },
		{ "src net 10.1.0.0/16", 1 }, { "src net 10.0.0.0 255.0.0.0", 1 },
		{ "dst net 10.0.0.0/8", 0 }, { "host 192.0.2.80", 1 }, { "src host 192.0.2.80", 0 },
		{ "src or dst ip 192.0.2.80", 1 }, { "src and dst net 10.0.0.0/8", 0 },
		{ "ipv4", 1 }, { "ipv6", 0 }, { "tos 32", 1 }, { "flags SA", 1 }, { "flags R", 0 },
		{ "flags X", 0 }, { "in if 3", 1 }, { "out if 3", 0 }, { "if 7", 1 },
		{ "src as 64500", 1 }, { "dst as 15169", 1 }, { "as 3356", 0 },
		{ "as in [ 1 2 15169 ]", 1 }, { "prev as 64501", 1 }, { "next as 3356", 1 },
		{ "next as > 4000", 0 }, { "src mask 16", 1 }, { "dst mask 24", 1 }, { "mask 8", 0 },
		{ "src vlan 10", 1 }, { "dst vlan 20", 1 }, { "vlan 20", 1 }, { "vlan 30", 0 },
		{ "router ip 192.0.2.1", 1 }, { "exporter 192.0.2.0/24", 1 },
		{ "next ip 192.0.2.254", 1 }, { "bgp next ip 198.51.100.1", 1 },
		{ "bgpnext ip 198.51.100.2", 0 },
		{ "bytes 400000", 1 }, { "bytes > 399k", 1 }, { "bytes > 1m", 0 },
		{ "packets >= 400", 1 }, { "duration 4000", 1 }, { "duration > 4000", 0 },
		{ "pps 100", 1 }, { "bps 800000", 1 }, { "bpp 1000", 1 }, { "flows 1", 1 },
		{ "out bytes 0", 1 }, { "sampled", 1 }, { "format ipfix", 1 }, { "format netflow", 0 },
		{ "format sflow", 0 },
		{ "field applicationName = \"https\"", 1 }, { "field applicationName = 'http'", 0 },
		{ "field e9_12235 > 0", 1 }, { "field e9_12235 = 7", 1 }, { "field e9_99 > 0", 0 },
		{ "field src_port 50000", 1 },
		{ "first seen >= 2024-05-01T12:00:00Z", 1 }, { "first seen > 2024-05-01T12:00:00Z", 0 },
		{ "last seen < '2024-05-01 12:00:05'", 1 }, { "first seen > @1714564799", 1 },
		{ "not proto tcp or port 443", 1 }, { "! (proto tcp and port 443)", 0 },
		{ "proto udp or proto tcp and port 443", 1 }, { "(proto udp or proto tcp) and port 80", 0 },
		{ "PROTO TCP AND NOT DST NET 10.0.0.0/8", 1 },
		{ "src geo DE", 1 }, { "dst geo us", 1 }, { "src geo US", 0 }, { "geo DE", 1 },
		{ "geo FR", 0 }, { "geo in [ FR, US ]", 1 }, { "src geo in [US FR]", 0 },
		{ "src and dst geo DE", 0 }, { "src or dst geo US", 1 },
		{ "in if name Gi0/0/1", 1 }, { "out if name \"up link\"", 1 }, { "if name Gi0/0/1", 1 },
		{ "src if name Gi0/0/1", 1 }, { "dst if name Gi0/0/1", 0 }, { "if name gi0/0/1", 0 },
		{ "src if 3", 1 }, { "dst if 7", 1 }, { "not geo CN and as 15169", 1 },
	};
	struct record_parser *rp = record_parser_new();
	struct flow f;

	EXPECT(record_parse(rp, line_tpl, strlen(line_tpl), &f) == RECORD_FLOW, "line");
	struct expr_input in = { .flow = &f, .flows = 1, .line = line_tpl, .len = strlen(line_tpl) };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expr_error err;
		struct expr *e = expr_parse(cases[i].text, &err);
		EXPECT(e != NULL, "'%s': %s at %zu", cases[i].text, err.message, err.pos);
		if (!e)
			continue;
		EXPECT(expr_match(e, &in) == (cases[i].want == 1), "'%s' gave %d", cases[i].text,
		    !cases[i].want);
		expr_free(e);
	}
	record_parser_free(rp);
}

/* A list of thousands of prefixes against a loop over the same prefixes. */
static void
test_big_list(void)
{
	struct prefixset *s = prefixset_new();
	struct prefix list[5000];
	char text[5000 * 24 + 32], *p = text;
	unsigned seed = 12345;

	p += sprintf(p, "src ip in [");
	for (int i = 0; i < 5000; i++) {
		seed = seed * 1103515245 + 12345;
		unsigned a = seed, len = 8 + (seed >> 7) % 25;
		char buf[32];
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		    a & 255, len);
		EXPECT(prefix_parse(&list[i], buf), "%s", buf);
		prefixset_add(s, &list[i]);
		p += sprintf(p, " %s", buf);
	}
	strcpy(p, " ]");
	prefixset_seal(s);
	struct expr_error err;
	struct expr *e = expr_parse(text, &err);
	EXPECT(e, "big list: %s", err.message);
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		struct flow f = { 0 };
		f.src.family = 4;
		f.src.bytes[0] = (uint8_t)(seed >> 24);
		f.src.bytes[1] = (uint8_t)(seed >> 16);
		f.src.bytes[2] = (uint8_t)(seed >> 8);
		f.src.bytes[3] = (uint8_t)seed;
		bool want = false;
		for (int j = 0; j < 5000 && !want; j++)
			want = prefix_match(&list[j], &f.src);
		EXPECT(prefixset_contains(s, &f.src) == want, "prefixset disagrees with the loop");
		struct expr_input in = { .flow = &f, .flows = 1 };
		EXPECT(!e || expr_match(e, &in) == want, "ip in [...] disagrees with the loop");
	}
	expr_free(e);
	prefixset_free(s);
}

int
main(void)
{
	test_errors();
	test_nesting();
	test_caret_print();
	test_eval();
	test_big_list();
	return test_result("analyzer-expr");
}
