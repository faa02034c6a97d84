/* libFuzzer target: daemon/stream/frame.c, the reassembly of IPFIX
 * messages from a TCP stream. The first two bytes pick the buffer bound
 * and the read sizes; the rest is the stream. Every message framed must
 * be a whole, checked message that is the next piece of the stream, and
 * goes into a parser as a session's would. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "stream.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parser_source src = fuzz_source(1000);
	struct stream_frame f;
	struct parser *p;
	size_t bound, at = 0, framed = 0, step;

	if (size < 2)
		return 0;
	bound = 16 + (size_t)data[0] * 257;
	step = 1 + data[1];
	data += 2;
	size -= 2;
	if (stream_frame_init(&f, bound) < 0)
		abort();
	p = fuzz_parser();
	while (at < size) {
		size_t room, n;
		uint8_t *dst = stream_frame_space(&f, &room);
		const uint8_t *msg;
		size_t len;
		int rc;

		if (room == 0)
			break;
		n = size - at < step ? size - at : step;
		n = n < room ? n : room;
		memcpy(dst, data + at, n);
		stream_frame_commit(&f, n);
		at += n;
		while ((rc = stream_frame_next(&f, &msg, &len)) == 1) {
			if (len < 16 || len > bound || msg[0] != 0 ||
			    msg[1] != 10 || (size_t)(msg[2] << 8 | msg[3]) != len ||
			    memcmp(msg, data + framed, len) != 0)
				abort();
			framed += len;
			parser_feed(p, msg, len, &src);
		}
		if (rc < 0) {
			if (f.error == STREAM_FRAME_OK)
				abort();
			break;
		}
		if (framed + stream_frame_pending(&f) != at)
			abort();
	}
	parser_free(p);
	stream_frame_finish(&f);
	return 0;
}
