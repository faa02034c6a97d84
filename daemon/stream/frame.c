/*
 * Framing an IPFIX message stream (RFC 7011 10.4.1): each message starts
 * with its 16-byte header, whose length field says where the next one
 * starts. The header is checked as soon as its first four bytes are in,
 * before the body is buffered: a length under 16 (which could never make
 * progress) or over the session's bound, or a version that is not 10,
 * is a framing error, and the stream cannot be resynchronised (10.4.2.2).
 * The buffer is one bound long and compacted between reads, so a peer
 * that promises 65535 bytes and stops holds one buffer, no more.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "stream.h"

#define IPFIX_VERSION 10
#define IPFIX_HEADER 16

const char *
stream_frame_error_name(enum stream_frame_error e)
{
	switch (e) {
	case STREAM_FRAME_OK:
		return "ok";
	case STREAM_FRAME_VERSION:
		return "bad_version";
	case STREAM_FRAME_SHORT:
		return "length_short";
	case STREAM_FRAME_LONG:
		return "length_long";
	}
	return "unknown";
}

int
stream_frame_init(struct stream_frame *f, size_t bound)
{
	*f = (struct stream_frame){ .cap = bound };
	if (bound < IPFIX_HEADER || (f->buf = malloc(bound)) == NULL)
		return -1;
	return 0;
}

void
stream_frame_finish(struct stream_frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->off = 0;
}

uint8_t *
stream_frame_space(struct stream_frame *f, size_t *room)
{
	/* what was taken goes; the unfinished message moves to the front */
	if (f->off > 0) {
		memmove(f->buf, f->buf + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	*room = f->error == STREAM_FRAME_OK ? f->cap - f->len : 0;
	return f->buf + f->len;
}

void
stream_frame_commit(struct stream_frame *f, size_t n)
{
	f->len += n;
}

size_t
stream_frame_pending(const struct stream_frame *f)
{
	return f->len - f->off;
}

int
stream_frame_next(struct stream_frame *f, const uint8_t **msg, size_t *len)
{
	struct cursor c;
	uint16_t version, length;

	if (f->error != STREAM_FRAME_OK)
		return -1;
	cursor_init(&c, f->buf + f->off, f->len - f->off);
	if (!cursor_u16(&c, &version) || !cursor_u16(&c, &length))
		return 0;
	if (version != IPFIX_VERSION)
		f->error = STREAM_FRAME_VERSION;
	else if (length < IPFIX_HEADER)
		f->error = STREAM_FRAME_SHORT;
	else if (length > f->cap)
		f->error = STREAM_FRAME_LONG;
	if (f->error != STREAM_FRAME_OK)
		return -1;
	if (f->len - f->off < length)
		return 0;
	*msg = f->buf + f->off;
	*len = length;
	f->off += length;
	return 1;
}
