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
	/* not cursor_init(): p is only NULL when len is 0, and a length the
	 * compiler can see lets it drop checks on reads within */
	sub->p = p;
	sub->left = len;
	return true;
}

/* Big-endian values from bytes the caller has bounded already; the
 * compiler turns each into one load and a byte swap. */
static inline uint16_t
bytes_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
bytes_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
bytes_be64(const uint8_t *p)
{
	return (uint64_t)bytes_be32(p) << 32 | bytes_be32(p + 4);
}

/* An unsigned integer of 1 to 8 bytes (len checked by the caller). */
static inline uint64_t
bytes_be(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	switch (len) {
	case 1:
		return p[0];
	case 2:
		return bytes_be16(p);
	case 4:
		return bytes_be32(p);
	case 8:
		return bytes_be64(p);
	}
	for (size_t i = 0; i < len; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Big-endian unsigned integer of 1 to 8 bytes (IPFIX reduced-size
 * encoding means any of those lengths can appear). */
static inline bool
cursor_uint(struct cursor *c, size_t len, uint64_t *out)
{
	if (len == 0 || len > 8 || len > c->left)
		return false;
	*out = bytes_be(c->p, len);
	c->p += len;
	c->left -= len;
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

/* How many of the remaining bytes, counted from the end, are zero: once
 * cursor_left() is no more than this, the rest is padding. One backward
 * scan per set instead of a forward one per record. */
static inline size_t
cursor_zero_tail(const struct cursor *c)
{
	size_t n = c->left;

	while (n > 0 && c->p[n - 1] == 0)
		n--;
	return c->left - n;
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
