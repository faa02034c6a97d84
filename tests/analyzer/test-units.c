/* Table-driven unit tests of the analyzer's pure helpers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "format.h"
#include "intern.h"
#include "oatab.h"
#include "pairing.h"
#include "record.h"
#include "sampling.h"
#include "tally.h"
#include "services.h"
#include "timeutil.h"
#include "test.h"

static void
test_sizes(void)
{
	static const struct { uint64_t in; const char *want; } cases[] = {
		{ 0, "0B" }, { 512, "512B" }, { 1023, "1023B" }, { 1024, "1.00K" },
		{ 4352, "4.25K" }, { 4456448, "4.25M" }, { 1048575, "1.00M" },
		{ 1048576, "1.00M" }, { 14763000, "14.08M" }, { 24470000000ULL, "22.79G" },
		{ 1024ULL * 1024 * 1024 * 5000, "5000.00G" },
		{ UINT64_MAX, "17179869184.00G" },
	};
	char buf[FORMAT_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		format_size(cases[i].in, buf, sizeof(buf));
		EXPECT(strcmp(buf, cases[i].want) == 0, "size %" PRIu64 ": '%s' want '%s'",
		    cases[i].in, buf, cases[i].want);
	}
}

static void
test_durations(void)
{
	static const struct { int64_t ms; const char *want; } cases[] = {
		{ -5, "0 sec" }, { 0, "0 sec" }, { 1, "<1 sec" }, { 999, "<1 sec" },
		{ 1000, "1 sec" }, { 3450, "3 sec" }, { 59999, "59 sec" },
		{ 60000, "01:00 min" }, { 927500, "15:27 min" }, { 3599999, "59:59 min" },
		{ 3600000, "1:00.00 hours" }, { 4989000, "1:23.09 hours" },
		{ 100 * 3600000LL + 61000, "100:01.01 hours" },
	};
	char buf[FORMAT_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		format_duration(cases[i].ms, buf, sizeof(buf));
		EXPECT(strcmp(buf, cases[i].want) == 0, "duration %" PRId64 ": '%s' want '%s'",
		    cases[i].ms, buf, cases[i].want);
	}
}

static void
test_times(void)
{
	static const struct { const char *in; bool ok; int64_t ms; } cases[] = {
		{ "2024-05-01T12:00:03.250Z", true, 1714564803250 },
		{ "2024-05-01T12:00:03Z", true, 1714564803000 },
		{ "2024-05-01T14:00:03.5+02:00", true, 1714564803500 },
		{ "1970-01-01T00:00:00.000Z", true, 0 },
		{ "2000-02-29T00:00:00Z", true, 951782400000 },
		{ "2024-05-01T12:00:03.250", false, 0 },	/* no zone */
		{ "2024-13-01T12:00:03Z", false, 0 },
		{ "2024-05-01 12:00", false, 0 },
		{ "", false, 0 },
		{ "2024-05-01T12:00:03.Z", false, 0 },
		{ "2026-02-30T00:00:00Z", false, 0 },
		{ "2023-02-29T00:00:00Z", false, 0 },
		{ "2024-02-29T00:00:00Z", true, 1709164800000 },
		{ "1900-02-29T00:00:00Z", false, 0 },
		{ "2024-04-31T00:00:00Z", false, 0 },
		{ "2024-12-31T23:59:59Z", true, 1735689599000 },
	};
	char buf[40];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int64_t ms = -1;
		bool ok = time_parse_rfc3339(cases[i].in, strlen(cases[i].in), &ms);
		EXPECT(ok == cases[i].ok && (!ok || ms == cases[i].ms), "time '%s': %d %" PRId64,
		    cases[i].in, ok, ms);
	}
	time_format_local(1714564803250, buf, sizeof(buf));
	EXPECT(strcmp(buf, "2024-05-01 12:00.03") == 0, "local '%s'", buf);
	time_format_rfc3339(1714564803250, buf, sizeof(buf));
	EXPECT(strcmp(buf, "2024-05-01T12:00:03.250Z") == 0, "rfc3339 '%s'", buf);
	int64_t ms;
	EXPECT(time_parse_user("2024-05-01 12:00", &ms) && ms == 1714564800000, "user time");
	EXPECT(time_parse_user("@1714564800.5", &ms) && ms == 1714564800500, "epoch");
	/* Issue 13: impossible dates were normalised by mktime(), not refused. */
	EXPECT(!time_parse_user("2026-02-30", &ms), "February 30 accepted");
	EXPECT(!time_parse_user("2026-06-31 12:00", &ms), "June 31 accepted");
	EXPECT(!time_parse_user("2025-02-29T00:00:00Z", &ms), "February 29, 2025 accepted");
	EXPECT(time_parse_user("2028-02-29", &ms), "leap day refused");
}

static void
test_prefixes(void)
{
	static const struct { const char *prefix, *addr; bool match; } cases[] = {
		{ "192.0.2.0/24", "192.0.2.77", true },
		{ "192.0.2.0/24", "192.0.3.1", false },
		{ "192.0.2.1", "192.0.2.1", true },
		{ "10.0.0.0/7", "11.255.0.1", true },
		{ "2001:db8::/32", "2001:db8:1::1", true },
		{ "2001:db8::/32", "192.0.2.1", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "::ffff:192.0.2.1", "192.0.2.1", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct prefix p;
		struct addr a;
		EXPECT(prefix_parse(&p, cases[i].prefix) &&
		    addr_parse(&a, cases[i].addr, strlen(cases[i].addr)) &&
		    prefix_match(&p, &a) == cases[i].match, "prefix %s / %s",
		    cases[i].prefix, cases[i].addr);
	}
	struct prefix p;
	EXPECT(!prefix_parse(&p, "192.0.2.0/33") && !prefix_parse(&p, "192.0.2.0/") &&
	    !prefix_parse(&p, "example.com"), "bad prefixes accepted");
}

/* Dotted quads of every octet form (leading zeros, out of range, empty,
 * four digits) and with trailing text parse exactly as inet_pton says:
 * addr_parse's own reader of them may not accept what inet_pton refuses,
 * nor read another value. */
static void
test_addr_v4(void)
{
	static const char *const octets[] = {
		"0", "00", "01", "1", "9", "10", "09", "99", "100", "199", "200", "249",
		"250", "255", "256", "299", "300", "999", "1000", "", "a",
	};
	static const char *const tails[] = { "", ".", "x", " ", ".1", "/24" };
	const size_t n = sizeof(octets) / sizeof(octets[0]);
	char text[64];
	unsigned long compared = 0;

	for (size_t i = 0; i < n * n * n * n; i++) {
		for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
			if (t > 0 && i % 13 != 0)
				continue;
			snprintf(text, sizeof(text), "%s.%s.%s.%s%s", octets[i % n],
			    octets[i / n % n], octets[i / n / n % n], octets[i / n / n / n], tails[t]);
			struct addr a;
			unsigned char want[4];
			bool ok = inet_pton(AF_INET, text, want) == 1;
			bool got = addr_parse(&a, text, strlen(text));
			compared++;
			EXPECT(got == ok && (!ok || (a.family == 4 && memcmp(a.bytes, want, 4) == 0)),
			    "\"%s\": addr_parse %d, inet_pton %d", text, got, ok);
		}
	}
	EXPECT(compared > 200000, "%lu compared", compared);
}

static void
test_records(void)
{
	static const struct { const char *line; enum record_result want; } cases[] = {
		{ "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-05-01T00:00:00Z\"}", RECORD_FLOW },
		{ "{\"type\":\"options\",\"src_addr\":\"10.0.0.1\"}", RECORD_NOT_FLOW },
		{ "   ", RECORD_EMPTY },
		{ "{\"src_addr\":\"10.0.0.1\"}", RECORD_INCOMPLETE },
		{ "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\"}", RECORD_INCOMPLETE },
		{ "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"end\":\"2024-05-01T00:00:00Z\",\"bytes\":null}", RECORD_FLOW },
		{ "{\"src_addr\":1}", RECORD_MALFORMED },
		{ "{\"proto\":\"6\"}", RECORD_MALFORMED },
		{ "{\"proto\":256}", RECORD_MALFORMED },
		{ "{\"bytes\":18446744073709551616}", RECORD_MALFORMED },
		{ "{\"src_addr\":{\"x\":1}}", RECORD_MALFORMED },
		{ "\"string\"", RECORD_MALFORMED },
		{ "{}{}", RECORD_MALFORMED },
		{ "{\"a\":[[[[[[]]]]]],\"src_addr\":\"::1\",\"dst_addr\":\"::2\",\"start\":\"2024-05-01T00:00:00Z\"}", RECORD_FLOW },
	};
	struct record_parser *rp = record_parser_new();
	struct flow f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		enum record_result r = record_parse(rp, cases[i].line, strlen(cases[i].line), &f);
		EXPECT(r == cases[i].want, "record '%s': %d want %d", cases[i].line, r, cases[i].want);
	}
	const char *v5icmp = "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"proto\":1,"
	    "\"dst_port\":771,\"start\":\"2024-05-01T00:00:01Z\",\"end\":\"2024-05-01T00:00:00Z\","
	    "\"bytes\":18446744073709551615}";
	EXPECT(record_parse(rp, v5icmp, strlen(v5icmp), &f) == RECORD_FLOW &&
	    f.icmp_type == 3 && f.icmp_code == 3 && f.end_ms == f.start_ms &&
	    f.bytes == UINT64_MAX && f.seen_ms == f.end_ms, "v5 icmp in dst_port");
	const char *nsel = "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\","
	    "\"start\":\"2024-05-01T00:00:00Z\",\"initiatorOctets\":18446744073709551615,"
	    "\"responderOctets\":7,\"initiatorPackets\":3,\"responderPackets\":4,"
	    "\"firewallEvent\":2}";
	EXPECT(record_parse(rp, nsel, strlen(nsel), &f) == RECORD_FLOW && f.biflow &&
	    f.bytes == UINT64_MAX && f.rev_bytes == 7 && f.packets == 7 && f.rev_packets == 4,
	    "NSEL teardown: %" PRIu64 " %" PRIu64, f.bytes, f.packets);
	const char *both = "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\","
	    "\"start\":\"2024-05-01T00:00:00Z\",\"bytes\":5,\"responderOctets\":7}";
	EXPECT(record_parse(rp, both, strlen(both), &f) == RECORD_FLOW && !f.biflow &&
	    f.bytes == 5 && f.rev_bytes == 0, "bytes win over responderOctets");
	const char *update = "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\","
	    "\"start\":\"2024-05-01T00:00:00Z\",\"initiatorOctets\":1,\"firewallEvent\":5}";
	EXPECT(record_parse(rp, update, strlen(update), &f) == RECORD_FW_UPDATE, "NSEL update");
	const char *sflow = "{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\","
	    "\"start\":\"2024-05-01T00:00:00Z\",\"version\":5,\"format\":\"sflow\","
	    "\"bytes\":1514,\"packets\":1,\"sampling_interval\":1000,\"sample_pool\":9}";
	EXPECT(record_parse(rp, sflow, strlen(sflow), &f) == RECORD_FLOW && f.sflow &&
	    f.sampling_interval == 1000 && f.bytes == 1514, "sFlow sample");
	const char *counters = "{\"type\":\"counters\",\"format\":\"sflow\",\"ifIndex\":3}";
	EXPECT(record_parse(rp, counters, strlen(counters), &f) == RECORD_NOT_FLOW,
	    "sFlow counters");
	record_parser_free(rp);
}

static void
test_sampling(void)
{
	struct sampling s;
	struct flow f = { .bytes = 1514, .packets = 1, .sampling_interval = 1000 };
	char text[200];

	sampling_init(&s, true);
	sampling_apply(&s, &f);
	EXPECT(f.bytes == 1514000 && f.packets == 1000, "scaled %" PRIu64, f.bytes);
	f = (struct flow){ .bytes = UINT64_MAX / 2, .packets = 3, .sampling_interval = 3 };
	sampling_apply(&s, &f);
	EXPECT(f.bytes == UINT64_MAX && f.packets == 9, "saturated %" PRIu64, f.bytes);
	f = (struct flow){ .bytes = 10, .packets = 1, .sampling_interval = 1 };
	sampling_apply(&s, &f);
	EXPECT(f.bytes == 10 && s.records == 2, "1:1 is not sampled");
	for (uint64_t i = 2; i < 2 + SAMPLING_MAX_INTERVALS + 2; i++) {
		f = (struct flow){ .bytes = 1, .sampling_interval = i };
		sampling_apply(&s, &f);
	}
	sampling_describe(&s, text, sizeof(text));
	EXPECT(strstr(text, "12 records scaled by their sampling interval: 1 at 1:1000, 2 at 1:3")
	    == text && strstr(text, ", 3 at other intervals"), "'%s'", text);
	sampling_init(&s, false);
	f = (struct flow){ .bytes = 7, .packets = 1, .sampling_interval = 100 };
	sampling_apply(&s, &f);
	EXPECT(f.bytes == 7 && s.records == 1, "--no-scale scaled");
}

/* The system database read in one getservent() pass names every port as
 * getservbyport() does (the names are read once on the first lookup). */
static void
test_services_system(void)
{
	static const struct { uint8_t proto; const char *name; } tr[] = {
		{ 6, "tcp" }, { 17, "udp" }, { 132, "sctp" },
	};
	struct services *s = services_new(NULL);
	unsigned bad = 0, named = 0;

	EXPECT(s != NULL, "services_new(NULL)");
	for (size_t i = 0; s && i < sizeof(tr) / sizeof(tr[0]); i++) {
		for (unsigned port = 0; port < 65536; port += port < 1200 ? 1 : 29) {
			struct flow f = { .proto = tr[i].proto, .src_port = (uint16_t)port,
			    .dst_port = (uint16_t)port };
			struct servent *se = getservbyport(htons((uint16_t)port), tr[i].name);
			char want[256] = "UNKNOWN";
			if (se) {
				snprintf(want, sizeof(want), "%s", se->s_name);
				for (char *c = want; *c; c++)
					*c = (char)toupper((unsigned char)*c);
				named++;
			}
			if (strcmp(services_label(s, &f), want) != 0 && bad++ < 5)
				fprintf(stderr, "%s port %u: %s, getservbyport says %s\n",
				    tr[i].name, port, services_label(s, &f), want);
		}
	}
	EXPECT(bad == 0, "system services names differ from getservbyport");
	fprintf(stderr, "system services: %u named ports compared\n", named);
	services_free(s);
}

static void
test_services(void)
{
	struct services *s = services_new(SERVICES_FILE);
	static const struct { uint8_t proto; uint16_t a, b, want; } cases[] = {
		{ 6, 50000, 22, 22 }, { 6, 22, 50000, 22 }, { 6, 50000, 3306, 3306 },
		{ 6, 40000, 50000, 40000 }, { 17, 53, 123, 53 }, { 17, 5353, 5353, 5353 },
		{ 17, 3306, 50000, 3306 },	/* mysql is tcp only: lower port */
	};
	EXPECT(s != NULL, "services file");
	for (size_t i = 0; s && i < sizeof(cases) / sizeof(*cases); i++)
		EXPECT(services_pick_port(s, cases[i].proto, cases[i].a, cases[i].b) == cases[i].want,
		    "pick %u/%u %u", cases[i].a, cases[i].b, cases[i].proto);
	struct flow f = { .proto = 17, .src_port = 40000, .dst_port = 3306, .icmp_type = -1 };
	EXPECT(s && strcmp(services_label(s, &f), "UNKNOWN") == 0, "udp 3306");
	f.proto = 6;
	EXPECT(s && strcmp(services_label(s, &f), "MYSQL") == 0, "tcp 3306");
	f = (struct flow){ .proto = 58, .icmp_type = 135 };
	EXPECT(s && strcmp(services_label(s, &f), "ICMP6/NEIGHBOR-SOL") == 0, "icmp6");
	f = (struct flow){ .proto = 1, .icmp_type = 200 };
	EXPECT(s && strcmp(services_label(s, &f), "ICMP") == 0, "icmp unknown type");
	f = (struct flow){ .proto = 50 };
	EXPECT(s && strcmp(services_label(s, &f), "ESP") == 0, "esp");
	f = (struct flow){ .proto = 200 };
	EXPECT(s && strcmp(services_label(s, &f), "UNKNOWN") == 0, "proto 200");
	services_free(s);
	services_free(NULL);
}

struct oa_item {
	uint64_t key;
	uint64_t hash;		/* what the test says the key hashes to */
	bool in;		/* the model: should the table hold it */
};

/* Every item is found iff the model holds it, and count agrees. */
static void
oatab_check(struct oatab *t, struct oa_item *items, size_t n, const char *what)
{
	size_t in = 0;

	for (size_t i = 0; i < n; i++) {
		void *got = oatab_find(t, &items[i].key, items[i].hash);
		in += items[i].in;
		EXPECT(got == (items[i].in ? &items[i] : NULL), "%s: key %" PRIu64 " %s",
		    what, items[i].key, items[i].in ? "lost" : "found after removal");
	}
	EXPECT(t->count == in, "%s: count %zu, model %zu", what, t->count, in);
}

/* Hashes chosen by the test: one value for many keys (a single probe run),
 * hashes that wrap past the array's end, and random ones, under growth and
 * random removal checked against a model after every phase. */
static void
test_oatab(void)
{
	enum { N = 3000 };
	static struct oa_item items[N];
	struct oatab t;
	uint64_t x = 88172645463325252ULL;

	oatab_init(&t, offsetof(struct oa_item, key), sizeof(uint64_t));
	EXPECT(oatab_find(&t, &x, 1) == NULL, "empty table");
	EXPECT(!oatab_remove(&t, &items[0], 0), "remove from an empty table");
	for (size_t i = 0; i < N; i++) {
		items[i].key = i * 7919 + 1;
		if (i < 200)
			items[i].hash = 5;			/* one long collision run */
		else if (i < 400)
			items[i].hash = UINT64_MAX - i % 3;	/* wraps past the last slot */
		else
			items[i].hash = oatab_hash(&items[i].key, sizeof(items[i].key));
		items[i].in = false;
	}
	/* Growth: 64 slots to 4096, checked at every doubling. */
	for (size_t i = 0; i < N; i++) {
		size_t before = t.nslots;
		EXPECT(oatab_insert(&t, &items[i], items[i].hash) == 0, "insert %zu", i);
		items[i].in = true;
		if (t.nslots != before)
			oatab_check(&t, items, N, "after growth");
		EXPECT(4 * t.count <= 3 * t.nslots, "load %zu/%zu", t.count, t.nslots);
	}
	oatab_check(&t, items, N, "all inserted");
	EXPECT(oatab_hash(&items[0].key, 8) == oatab_hash(&items[0].key, 8) &&
	    oatab_hash(&items[1].key, 8) != oatab_hash(&items[0].key, 8), "hash");
	/* Deletion: random removals and reinsertions, inside runs and across
	 * the wrap, so the backward shift moves entries of every kind. */
	for (int round = 0; round < 20000; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		struct oa_item *it = &items[x % N];
		if (it->in) {
			EXPECT(oatab_remove(&t, it, it->hash), "remove %" PRIu64, it->key);
			it->in = false;
		} else {
			EXPECT(!oatab_remove(&t, it, it->hash), "remove absent %" PRIu64, it->key);
			EXPECT(oatab_insert(&t, it, it->hash) == 0, "reinsert");
			it->in = true;
		}
		if (round % 4000 == 0)
			oatab_check(&t, items, N, "removal rounds");
	}
	oatab_check(&t, items, N, "after removal rounds");
	/* oatab_next visits each entry the table holds exactly once. */
	static unsigned char seen[N];
	size_t pos = 0, visited = 0, in = 0;
	for (struct oa_item *e; (e = oatab_next(&t, &pos)); visited++)
		seen[e - items]++;
	for (size_t i = 0; i < N; i++) {
		in += items[i].in;
		EXPECT(seen[i] == items[i].in, "key %" PRIu64 " visited %u times",
		    items[i].key, seen[i]);
	}
	EXPECT(visited == in && visited == t.count, "visited %zu of %zu", visited, in);
	/* A key equal in hash but not in bytes is not found. */
	uint64_t other = 424242;
	EXPECT(oatab_find(&t, &other, 5) == NULL, "same hash, other key");
	for (size_t i = 0; i < N; i++)
		if (items[i].in) {
			EXPECT(oatab_remove(&t, &items[i], items[i].hash), "drain %zu", i);
			items[i].in = false;
		}
	oatab_check(&t, items, N, "drained");
	for (size_t i = 0; i < t.nslots; i++)
		EXPECT(t.slots[i].entry == NULL, "slot %zu left behind", i);
	oatab_finish(&t);
}

/* The top n are the first n of the whole order (bytes down, ties by key),
 * for n below, at and above the number of rows, with many ties. */
static void
test_tally_top(void)
{
	enum { KEYS = 5000 };
	struct tally *t = tally_new(sizeof(uint32_t), KEYS);
	static const struct tally_row *all[KEYS], *top[KEYS + 1];
	uint32_t x = 2463534242u;

	for (int i = 0; i < 4 * KEYS; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		uint32_t key = x % KEYS;
		tally_add(t, &key, x % 7 * 1000, 1);
	}
	size_t count = tally_count(t);
	EXPECT(tally_top(t, all, count) == count, "all rows");
	for (size_t i = 1; i < count; i++)
		EXPECT(all[i - 1]->bytes > all[i]->bytes || (all[i - 1]->bytes == all[i]->bytes &&
		    memcmp(all[i - 1]->key, all[i]->key, TALLY_KEY_MAX) < 0), "order at %zu", i);
	const size_t ns[] = { 0, 1, 2, 10, 333, count - 1, count, count + 1 };
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k], got = tally_top(t, top, n);
		EXPECT(got == (n < count ? n : count), "top %zu: %zu rows", n, got);
		for (size_t i = 0; i < got; i++)
			EXPECT(top[i] == all[i], "top %zu: row %zu differs", n, i);
	}
	tally_free(t);
}

/* Flow i of n in one of the shapes that used to cost O(n^2). */
enum shape { SAME_FLOW, ICMP_SKEWED, PAIRS_SHARED_KEY, JITTER, SHAPES };

static const char *const shape_names[SHAPES] = {
	"identical flows", "ICMP between two hosts, answers 10 s late",
	"one 5-tuple reused, every flow answered",
	"one key, starts out of order by up to 8 flows",
};

static void
shape_flow(enum shape s, size_t i, struct flow *f)
{
	struct addr a, b;

	addr_parse(&a, "10.0.0.1", 8);
	addr_parse(&b, "10.0.0.2", 8);
	*f = (struct flow){ .src = a, .dst = b, .src_port = 40000, .dst_port = 80,
	    .proto = 6, .bytes = 100, .packets = 1, .icmp_type = -1, .icmp_code = -1,
	    .start_ms = 1714608000000, .seen_ms = 1714608000000 };
	switch (s) {
	case SAME_FLOW:
		break;
	case ICMP_SKEWED:
		/* Requests one way every 20 s, replies 10 s late the other
		 * way (outside the window): nothing pairs, all wait. */
		f->proto = PROTO_ICMP;
		f->src_port = f->dst_port = 0;
		f->icmp_type = i % 2 ? 0 : 8;
		f->start_ms += (int64_t)(i / 2) * 20000 + (i % 2 ? 10000 : 0);
		if (i % 2) {
			f->src = b;
			f->dst = a;
		}
		break;
	case JITTER:
		/* As exporters write them: ordered by export, not by start,
		 * so a flow of one key may start before the few read before
		 * it; half are answered. */
		f->proto = PROTO_ICMP;
		f->icmp_type = 8;
		f->start_ms += (int64_t)i * 1000 - (int64_t)((i * 7919) % 8) * 1000;
		if (i % 4 == 1) {
			f->src = b;
			f->dst = a;
			f->icmp_type = 0;
			f->start_ms += 3000;
		}
		break;
	case PAIRS_SHARED_KEY:
		/* The same 5-tuple every 10 ms, each answered 1 ms later. */
		f->start_ms += (int64_t)(i / 2) * 10 + (int64_t)(i % 2);
		if (i % 2) {
			f->src = b;
			f->dst = a;
			f->src_port = 80;
			f->dst_port = 40000;
		}
		break;
	default:
		break;
	}
	f->end_ms = f->start_ms;
	f->seen_ms += (int64_t)i;
}

static void
count_conn(void *arg, const struct conn *c)
{
	(*(size_t *)arg)++;
}

static uint64_t
pairing_cost(struct services *svc, enum shape s, size_t n, size_t *conns)
{
	struct pairing *p = pairing_new(5000, 600000, 4000000, svc, count_conn, conns);
	struct flow f;
	uint64_t work;

	*conns = 0;
	for (size_t i = 0; p && i < n; i++) {
		shape_flow(s, i, &f);
		pairing_add(p, &f);
	}
	if (!p)
		return 0;
	pairing_flush(p);
	work = pairing_work(p);
	pairing_free(p);
	return work;
}

/* Issue 13: repeated connection keys made pairing quadratic. Counted, not
 * timed: twice the flows may cost at most 2.2 times the work. */
static void
test_pairing_linear(void)
{
	struct services *svc = services_new(SERVICES_FILE);
	const size_t n = 20000;

	for (int s = 0; s < SHAPES; s++) {
		size_t c1, c2;
		uint64_t w1 = pairing_cost(svc, s, n, &c1);
		uint64_t w2 = pairing_cost(svc, s, 2 * n, &c2);
		if (getenv("SHOW_WORK"))
			fprintf(stderr, "%s: %" PRIu64 " %" PRIu64 "\n", shape_names[s], w1, w2);
		EXPECT(w2 <= w1 * 22 / 10 + 1000, "%s: work %" PRIu64 " for %zu flows, %"
		    PRIu64 " for %zu", shape_names[s], w1, n, w2, 2 * n);
		EXPECT(s == JITTER || c2 == (s == PAIRS_SHARED_KEY ? n : 2 * n),
		    "%s: %zu connections", shape_names[s], c2);
	}
	services_free(svc);
}

struct conn_log {
	size_t n, paired;
	uint64_t digest;	/* of (paired, start_ms) in emission order */
	int64_t last_start;
	size_t backwards;	/* connections that start before the one emitted last */
};

static void
log_conn(void *arg, const struct conn *c)
{
	struct conn_log *l = arg;

	if (l->n && c->start_ms < l->last_start)
		l->backwards++;
	l->last_start = c->start_ms;
	l->n++;
	l->paired += c->paired;
	l->digest = (l->digest ^ (uint64_t)c->start_ms ^ ((uint64_t)c->paired << 63)) *
	    0x100000001b3ULL;
}

/* A pairing that only counts pairs the same flows, and emits in the same
 * order, as one that keeps the flows: for every shape above, a mix with
 * biflows, and with a max_held small enough that flows are forced out. */
static void
test_pairing_count_only(void)
{
	struct services *svc = services_new(SERVICES_FILE);
	const size_t n = 5000;

	for (int s = 0; s <= SHAPES; s++) {
		for (size_t max_held = 64; max_held <= 4000000; max_held *= 62500) {
			struct conn_log full = { 0 }, count = { 0 };
			struct pairing *pf = pairing_new(5000, 600000, max_held, svc, log_conn, &full);
			struct pairing *pc = pairing_new(5000, 600000, max_held, svc, log_conn, &count);
			struct flow f;
			EXPECT(pf && pc && pairing_count_only(pc) == 0, "new");
			for (size_t i = 0; pf && pc && i < n; i++) {
				if (s < SHAPES) {
					shape_flow(s, i, &f);
				} else {
					/* the shapes interleaved, every 7th a biflow */
					shape_flow(i % SHAPES, i / SHAPES, &f);
					f.src.bytes[3] += (uint8_t)(i % SHAPES);
					f.dst.bytes[3] += (uint8_t)(i % SHAPES);
					if (i % 7 == 0) {
						f.biflow = true;
						f.rev_bytes = i % 14 ? 10 : 0;
					}
				}
				pairing_add(pf, &f);
				pairing_add(pc, &f);
			}
			EXPECT(!pc || pairing_count_only(pc) == -1, "count_only after a flow");
			pairing_flush(pf);
			pairing_flush(pc);
			/* in start order unless flows were forced out */
			EXPECT(max_held < n || (full.backwards == 0 && count.backwards == 0),
			    "shape %d, max_held %zu: "
			    "%zu, %zu connections out of start order", s, max_held, full.backwards,
			    count.backwards);
			EXPECT(full.n == count.n && full.paired == count.paired &&
			    full.digest == count.digest, "shape %d, max_held %zu: %zu conns (%zu paired) "
			    "kept, %zu (%zu) counted", s, max_held, full.n, full.paired, count.n,
			    count.paired);
			EXPECT(full.paired > 0 || s == ICMP_SKEWED || s == SAME_FLOW, "shape %d: nothing paired", s);
			pairing_free(pf);
			pairing_free(pc);
		}
	}
	services_free(svc);
}

static void
test_intern(void)
{
	static const struct { const char *in; size_t len; const char *want; } cases[] = {
		{ "GOOGLE", 6, "GOOGLE" },
		{ "R\xc3\xa9seau", 7, "R\xc3\xa9seau" },
		{ "bad\xff" "end", 7, "bad\xef\xbf\xbd" "end" },
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },		/* overlong '/' */
		{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* a surrogate */
		{ "\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "cut \xe6\x97", 6, "cut \xef\xbf\xbd\xef\xbf\xbd" },
	};
	char big[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		uint32_t id = intern(cases[i].in, cases[i].len);
		EXPECT(id && strcmp(intern_str(id), cases[i].want) == 0, "intern case %zu: '%s'", i,
		    intern_str(id));
		EXPECT(intern(cases[i].in, cases[i].len) == id, "same string, other id (%zu)", i);
	}
	EXPECT(intern("", 0) == 0 && strcmp(intern_str(0), "") == 0, "empty name");
	EXPECT(intern("GOOGLE", 6) != intern("GOOGLE ", 7), "prefix shares an id");
	/* cut at 255 bytes, on a character boundary */
	for (size_t i = 0; i < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	const char *t = intern_str(intern(big, sizeof(big)));
	EXPECT(strlen(t) == 254, "cut to %zu bytes", strlen(t));
	EXPECT(intern_country("us", 2) == ('U' << 8 | 'S') && !intern_country("USA", 3) &&
	    !intern_country("U1", 2) && !intern_country("", 0), "country codes");
	char cc[3];
	EXPECT(strcmp(intern_country_text(intern_country("de", 2), cc), "DE") == 0, "country text");
	/* many names: ids dense, each name its own */
	uint32_t first = intern("name-0", 6);
	for (unsigned i = 1; i < 20000; i++) {
		char n[32];
		int len = snprintf(n, sizeof(n), "name-%u", i);
		uint32_t id = intern(n, (size_t)len);
		EXPECT(id == first + i && strcmp(intern_str(id), n) == 0, "name %u: id %u", i, id);
	}
	EXPECT(intern_refused() == 0, "refused %" PRIu64, intern_refused());
	intern_finish();
	EXPECT(intern("again", 5) == 1, "ids after intern_finish");
	intern_finish();
}

int
main(void)
{
	test_sizes();
	test_services_system();
	test_durations();
	test_times();
	test_prefixes();
	test_addr_v4();
	test_records();
	test_services();
	test_oatab();
	test_intern();
	test_tally_top();
	test_pairing_linear();
	test_pairing_count_only();
	test_sampling();
	return test_result("analyzer-units");
}
