/* libFuzzer target: the interfaces CSV ([enrich] interfaces). Whatever it
 * is given, a table that parses has every entry findable under its key,
 * with a name that is not empty and no longer than a field. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enrich-private.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct iftable *t = ifcsv_parse((const char *)data, size, &err);

	if (t == NULL) {
		if (err == NULL)
			abort();
		free(err);
		return 0;
	}
	if (err != NULL)
		abort();
	for (size_t i = 0; i < iftable_size(t); i++) {
		const struct ifentry *e = iftable_entry(t, i);

		if (e->name[0] == '\0' || strlen(e->name) > 255 ||
		    iftable_find(t, &e->exporter, e->ifindex) != e)
			abort();
	}
	iftable_free(t);
	return 0;
}
