/* libFuzzer target: one sFlow v5 datagram (the input is what follows the
 * version word 0x00000005, so no mutation is spent finding it), fed twice
 * into a parser with small limits: from two exporters, then again from
 * the first, so sequences meet state they made. The memory the parser
 * holds must stay within its budget. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"

#define DGRAM_MAX 65535

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[DGRAM_MAX];
	struct parser *p = fuzz_parser_small();
	struct parser_source src = fuzz_source(1000);

	if (size > DGRAM_MAX - 4)
		size = DGRAM_MAX - 4;
	memcpy(buf, "\0\0\0\5", 4);
	memcpy(buf + 4, data, size);
	parser_feed(p, buf, size + 4, &src);
	src.addr.bytes[3] = 2;
	parser_feed(p, buf, size + 4, &src);
	src.addr.bytes[3] = 1;
	src.received_ms += 1000;
	parser_feed(p, buf, size + 4, &src);
	if (parser_memory_usage(p) > fuzz_small_budget())
		abort();
	parser_free(p);
	return 0;
}
