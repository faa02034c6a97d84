#include "ie.h"

const struct ie_info *
ie_lookup(uint32_t pen, uint16_t id)
{
	size_t lo = 0, hi = ie_table_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ie_info *e = &ie_table[mid];

		if (e->pen == pen && e->id == id)
			return e;
		if (e->pen < pen || (e->pen == pen && e->id < id))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
