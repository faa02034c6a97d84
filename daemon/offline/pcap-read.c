/*
 * --read: the NetFlow/IPFIX/sFlow datagrams of a pcap file, decoded as if
 * they had just arrived (exporter = IP source, receive time = capture time).
 */
#include "config.h"

#ifdef HAVE_PCAP
#include <pcap/pcap.h>
#endif

#include "collector.h"
#include "offline.h"

#ifdef HAVE_PCAP

static bool
looks_like_export(const uint8_t *p, size_t len)
{
	uint16_t version;

	if (len < 2)
		return false;
	version = (uint16_t)(p[0] << 8 | p[1]);
	/* sFlow: a 32-bit version 5, 0x00000005 */
	if (version == 0)
		return len >= 4 && p[2] == 0 && p[3] == 5;
	return version == 1 || version == 5 || version == 7 || version == 9 ||
	    version == 10;
}

int
offline_read(struct collector *c, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *frame;
	pcap_t *pc;
	int linktype, rc;
	uint64_t frames = 0, skipped = 0;
	int64_t last_expire = INT64_MIN / 2;

	if ((pc = pcap_open_offline(path, errbuf)) == NULL) {
		log_msg(LOG_ERR, "%s", errbuf);
		return -1;
	}
	linktype = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &frame)) == 1) {
		struct parser_source src = { 0 };
		const uint8_t *payload;
		size_t plen;

		frames++;
		if (!parser_frame_udp(frame, h->caplen, linktype, &src, &payload,
		    &plen) || !looks_like_export(payload, plen)) {
			skipped++;
			continue;
		}
		src.received_ms = (int64_t)h->ts.tv_sec * 1000 + h->ts.tv_usec / 1000;
		/* held data ages in capture time, as it would have live */
		if (src.received_ms >= last_expire + 1000) {
			parser_expire(c->parser, src.received_ms);
			last_expire = src.received_ms;
		}
		collector_datagram(c, payload, plen, &src);
	}
	parser_expire(c->parser, INT64_MAX);
	if (rc == -1)
		log_msg(LOG_ERR, "%s: %s", path, pcap_geterr(pc));
	pcap_close(pc);
	log_msg(LOG_INFO, "%s: %llu frames, %llu not NetFlow/IPFIX/sFlow over UDP",
	    path, (unsigned long long)frames, (unsigned long long)skipped);
	return rc == -1 ? -1 : 0;
}
#else
int
offline_read(struct collector *c, const char *path)
{
	log_msg(LOG_ERR, "%s: netflowd was built without pcap: --read is not "
	    "available", path);
	return -1;
}
#endif
