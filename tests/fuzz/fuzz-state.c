/* libFuzzer target: state file loading. A file that loads must save again
 * and load into another parser. The checksum is fixed up when the first
 * byte asks for it, so the fuzzer gets past it to the content checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parser *p = fuzz_parser_small();
	uint8_t *buf = NULL, *copy;
	size_t blen;
	char *err = NULL;

	if (size < 1 || (copy = malloc(size)) == NULL) {
		parser_free(p);
		return 0;
	}
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_fix_checksum(copy, size - 1);
	if (parser_state_decode(p, copy, size - 1, &err) == 0) {
		struct parser *q = fuzz_parser_small();

		if (err != NULL || parser_state_encode(p, &buf, &blen) != 0 ||
		    parser_state_decode(q, buf, blen, NULL) != 0)
			abort();
		free(buf);
		parser_free(q);
	} else if (err == NULL) {
		abort();
	}
	free(err);
	free(copy);
	parser_free(p);
	return 0;
}
