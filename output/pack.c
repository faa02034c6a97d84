/*
 * Packing: the event loop's half of the render stage. A decoded record
 * (a flow_record pointing into its datagram) is copied, with its source
 * and the bytes of its extra fields, into a block that goes to the render
 * thread, which reads it back in place (record_unpack).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "output-private.h"

#define PACK_ALIGN _Alignof(struct packed)

void
record_pack_plan(const struct flow_record *rec, struct pack_plan *plan)
{
	size_t size = offsetof(struct packed, extra) +
	    rec->nextra * sizeof(struct flow_field), sum = 0;
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	for (size_t i = 0; i < rec->nextra; i++) {
		const struct flow_field *f = &rec->extra[i];

		if (f->len == 0)
			continue;
		sum += f->len;
		if ((uintptr_t)f->data < lo)
			lo = (uintptr_t)f->data;
		if ((uintptr_t)f->data + f->len > hi)
			hi = (uintptr_t)f->data + f->len;
	}
	/* the fields of a record lie side by side in its datagram, with the
	 * core keys' bytes between: one copy of the span instead of one
	 * per field (512 of them in a wide template), unless it is mostly
	 * holes (fields from elsewhere) */
	if (sum > 0 && hi - lo <= sum + sum / 4 + 64) {
		plan->lo = lo;
		plan->hi = hi;
		size += hi - lo;
	} else {
		plan->lo = plan->hi = 0;
		size += sum;
	}
	plan->size = (size + PACK_ALIGN - 1) & ~(PACK_ALIGN - 1);
}

void
record_pack(const struct flow_record *rec, const struct pack_plan *plan,
    char *dst)
{
	struct packed *pk = (struct packed *)(void *)dst;
	uint8_t *bytes;
	size_t n = rec->nextra;

	pk->size = plan->size;
	pk->rec = *rec;
	pk->src = *rec->src;
	/* pointers into the block itself: it does not move on its way to
	 * the render thread */
	pk->rec.src = &pk->src;
	pk->rec.extra = pk->extra;
	bytes = (uint8_t *)&pk->extra[n];
	if (n > 0)
		memcpy(pk->extra, rec->extra, n * sizeof(struct flow_field));
	if (plan->hi > plan->lo) {
		memcpy(bytes, (const void *)plan->lo, plan->hi - plan->lo);
		for (size_t i = 0; i < n; i++)
			pk->extra[i].data = bytes + (pk->extra[i].len == 0 ? 0 :
			    (uintptr_t)pk->extra[i].data - plan->lo);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (rec->extra[i].len > 0)
			memcpy(bytes, rec->extra[i].data, rec->extra[i].len);
		pk->extra[i].data = bytes;
		bytes += rec->extra[i].len;
	}
}
