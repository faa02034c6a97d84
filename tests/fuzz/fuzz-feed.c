/* libFuzzer target: one datagram of any version into a fresh parser. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parser *p = fuzz_parser();
	struct parser_source src = fuzz_source(1000);

	parser_feed(p, data, size, &src);
	parser_expire(p, 1000 + 60000);
	parser_free(p);
	return 0;
}
