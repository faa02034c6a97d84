/* libFuzzer target: a captured frame down to UDP (first byte picks the
 * link type), then the payload into the parser. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int linktypes[] = { 0, 1, 101, 108, 113, 228, 229, 276 };
	struct parser_source src = fuzz_source(1000);
	const uint8_t *payload;
	size_t plen;

	if (size < 1)
		return 0;
	if (parser_frame_udp(data + 1, size - 1, linktypes[data[0] % 8], &src,
	    &payload, &plen)) {
		struct parser *p = fuzz_parser();

		parser_feed(p, payload, plen, &src);
		parser_free(p);
	}
	return 0;
}
