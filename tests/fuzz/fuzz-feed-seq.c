/* libFuzzer target: a sequence of datagrams split from one input (u16
 * length before each; then a byte whose low bits pick the exporter and
 * the next two its source port (its session); the clock moves), so templates, held data, options state, eviction and a
 * save/load in the middle all meet. The per-exporter counters add up to
 * every datagram fed, evicted exporters included. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parser *p = fuzz_parser_small();
	struct parser_counters totals;
	int64_t now = 1000;
	size_t off = 0;
	uint64_t fed = 0;
	int n = 0;

	while (off + 3 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		struct parser_source src = fuzz_source(now);

		src.addr.bytes[3] = data[off + 2] & 3;
		src.port = (uint16_t)(src.port + (data[off + 2] >> 2 & 3));
		off += 3;
		if (len > size - off)
			len = size - off;
		parser_feed(p, data + off, len, &src);
		fed++;
		off += len;
		now += 700;
		parser_expire(p, now);
		if (++n == 4) {
			uint8_t *buf;
			size_t blen;

			if (parser_state_encode(p, &buf, &blen) == 0) {
				struct parser *q = fuzz_parser_small();
				char *err = NULL;

				if (parser_state_decode(q, buf, blen, &err) != 0) {
					fprintf(stderr, "state does not load: %s\n", err);
					abort();
				}
				parser_free(p);
				p = q;
				free(buf);
				fed = 0;
			}
		}
	}
	if (parser_memory_usage(p) > fuzz_small_budget())
		abort();
	parser_totals(p, &totals);
	if (totals.datagrams != fed)
		abort();
	parser_free(p);
	return 0;
}
