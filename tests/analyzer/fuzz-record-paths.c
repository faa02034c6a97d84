/* libFuzzer target: a JSON line through the fast scanner and the full
 * parser; a line on which they disagree aborts. */
#include <stdint.h>
#include <stdlib.h>

#include "paths-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct record_parser *rp;

	if (!rp && !(rp = record_parser_new()))
		return 0;
	if (paths_check(rp, (const char *)data, size) < 0)
		abort();
	return 0;
}
