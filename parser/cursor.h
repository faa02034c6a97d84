/*
 * The one bounded reader of packet memory. Every read checks the remaining
 * length first, assembles the value in network byte order, advances, and
 * leaves its output untouched on failure.
 */
#ifndef NETFLOWD_CURSOR_H
#define NETFLOWD_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const uint8_t *p;
	size_t left;
};

static inline void
cursor_init(struct cursor *c, const void *buf, size_t len)
{
	c->p = buf;
	c->left = buf ? len : 0;
}

static inline size_t
cursor_left(const struct cursor *c)
{
	return c->left;
}

static inline bool
cursor_skip(struct cursor *c, size_t len)
{
	if (len > c->left)
		return false;
	c->p += len;
	c->left -= len;
	return true;
}

/* Hands out a pointer to the next len bytes, which stay valid as long as
 * the buffer does. */
static inline bool
cursor_take(struct cursor *c, size_t len, const uint8_t **out)
{
	if (len > c->left)
		return false;
	*out = c->p;
	c->p += len;
	c->left -= len;
	return true;
}

/* Splits off the next len bytes as a child cursor; the parent moves past
 * the whole region before the child is looked at. */
static inline bool
cursor_sub(struct cursor *c, size_t len, struct cursor *sub)
{
	const uint8_t *p;

	if (!cursor_take(c, len, &p))
		return false;
	cursor_init(sub, p, len);
	return true;
}

/* Big-endian unsigned integer of 1 to 8 bytes (IPFIX reduced-size
 * encoding means any of those lengths can appear). */
static inline bool
cursor_uint(struct cursor *c, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 8 || len > c->left)
		return false;
	for (size_t i = 0; i < len; i++)
		v = (v << 8) | c->p[i];
	c->p += len;
	c->left -= len;
	*out = v;
	return true;
}

static inline bool
cursor_u8(struct cursor *c, uint8_t *out)
{
	uint64_t v;

	if (!cursor_uint(c, 1, &v))
		return false;
	*out = (uint8_t)v;
	return true;
}

static inline bool
cursor_u16(struct cursor *c, uint16_t *out)
{
	uint64_t v;

	if (!cursor_uint(c, 2, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

static inline bool
cursor_u32(struct cursor *c, uint32_t *out)
{
	uint64_t v;

	if (!cursor_uint(c, 4, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* True when every remaining byte is zero: what exporters pad sets with. */
static inline bool
cursor_all_zero(const struct cursor *c)
{
	for (size_t i = 0; i < c->left; i++)
		if (c->p[i] != 0)
			return false;
	return true;
}

/* Decodes a whole field value already bounded by its template length. */
static inline bool
bytes_uint(const uint8_t *p, size_t len, uint64_t *out)
{
	struct cursor c;

	cursor_init(&c, p, len);
	return cursor_uint(&c, len, out);
}

#endif
