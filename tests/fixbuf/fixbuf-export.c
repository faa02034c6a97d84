/*
 * An IPFIX exporter that is not ours: libfixbuf (CERT's, what YAF and
 * super_mediator export with) sends N records over TCP to HOST PORT, in
 * observation domain 42, one template, then closes. Debian's libfixbuf
 * is built without OpenSSL, so its FB_TLS_TCP transport is not there.
 *
 * usage: fixbuf-export HOST PORT RECORDS
 * record i: 10.1.(i/256).(i%256) -> 192.0.2.1, ports 1024+i%60000 -> 443,
 * proto 6, bytes 1000+i, packets 1+i%10, start 1700000000000+i ms,
 * end start+500.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fixbuf/public.h>

static fbInfoElementSpec_t spec[] = {
	{ "flowStartMilliseconds", 8, 0 },
	{ "flowEndMilliseconds", 8, 0 },
	{ "octetDeltaCount", 8, 0 },
	{ "packetDeltaCount", 8, 0 },
	{ "sourceIPv4Address", 4, 0 },
	{ "destinationIPv4Address", 4, 0 },
	{ "sourceTransportPort", 2, 0 },
	{ "destinationTransportPort", 2, 0 },
	{ "protocolIdentifier", 1, 0 },
	FB_IESPEC_NULL
};

struct rec {
	uint64_t start, end, bytes, packets;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
};

static int
fail(const char *what, GError *err)
{
	fprintf(stderr, "fixbuf-export: %s: %s\n", what, err ? err->message : "?");
	return 1;
}

int
main(int argc, char **argv)
{
	GError *err = NULL;
	fbInfoModel_t *model;
	fbTemplate_t *t;
	fbSession_t *s;
	fbExporter_t *x;
	fbConnSpec_t cs = FB_CONNSPEC_INIT;
	fBuf_t *b;
	uint16_t tid;
	unsigned long n;

	if (argc != 4) {
		fprintf(stderr, "usage: fixbuf-export HOST PORT RECORDS\n");
		return 2;
	}
	n = strtoul(argv[3], NULL, 10);
	model = fbInfoModelAlloc();
	t = fbTemplateAlloc(model);
	if (!fbTemplateAppendSpecArray(t, spec, UINT32_MAX, &err))
		return fail("template", err);
	s = fbSessionAlloc(model);
	/* external templates belong to a domain: set it first */
	fbSessionSetDomain(s, 42);
	if ((tid = fbSessionAddTemplate(s, TRUE, 256, t, &err)) == 0 ||
	    fbSessionAddTemplate(s, FALSE, 256, t, &err) == 0)
		return fail("session template", err);
	cs.transport = FB_TCP;
	cs.host = argv[1];
	cs.svc = argv[2];
	if ((x = fbExporterAllocNet(&cs)) == NULL)
		return fail("exporter", NULL);
	b = fBufAllocForExport(s, x);
	if (!fbSessionExportTemplates(s, &err))
		return fail("export templates", err);
	if (!fBufSetInternalTemplate(b, tid, &err) ||
	    !fBufSetExportTemplate(b, tid, &err))
		return fail("set template", err);
	for (unsigned long i = 0; i < n; i++) {
		struct rec r = {
			.start = 1700000000000ULL + i, .end = 1700000000500ULL + i,
			.bytes = 1000 + i, .packets = 1 + i % 10,
			.src = 0x0a010000u | (uint32_t)(i & 0xffff),
			.dst = 0xc0000201u,
			.sport = (uint16_t)(1024 + i % 60000), .dport = 443,
			.proto = 6,
		};
		uint8_t buf[45];

		/* the internal template's layout: packed, host order */
		memcpy(buf, &r.start, 8);
		memcpy(buf + 8, &r.end, 8);
		memcpy(buf + 16, &r.bytes, 8);
		memcpy(buf + 24, &r.packets, 8);
		memcpy(buf + 32, &r.src, 4);
		memcpy(buf + 36, &r.dst, 4);
		memcpy(buf + 40, &r.sport, 2);
		memcpy(buf + 42, &r.dport, 2);
		buf[44] = r.proto;
		if (!fBufAppend(b, buf, sizeof(buf), &err))
			return fail("append", err);
	}
	if (!fBufEmit(b, &err))
		return fail("emit", err);
	fBufFree(b);
	fbInfoModelFree(model);
	return 0;
}
