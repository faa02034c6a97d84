/*
 * daemon/stream/frame.c: IPFIX messages out of a TCP byte stream. Every
 * split of a stream into reads gives the same messages; framing errors
 * (version, length 0, 15, over the bound) stop the stream for good.
 */
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "test.h"

static size_t
put_msg(uint8_t *p, uint16_t len, uint8_t fill)
{
	p[0] = 0;
	p[1] = 10;
	p[2] = len >> 8;
	p[3] = len & 0xff;
	memset(p + 4, fill, len - 4);
	return len;
}

/* Feeds s in reads of at most chunk bytes (cuts: split points instead,
 * when given); returns the messages, -1 after a framing error. */
static int
run(const uint8_t *s, size_t n, size_t bound, const size_t *cuts,
    size_t ncuts, size_t chunk, size_t *lens, enum stream_frame_error *err)
{
	struct stream_frame f;
	size_t at = 0, ci = 0;
	int count = 0, rc = 0;

	CHECK(stream_frame_init(&f, bound) == 0);
	while (at < n && rc >= 0) {
		size_t room, want = chunk;
		uint8_t *p = stream_frame_space(&f, &room);
		const uint8_t *msg;
		size_t len;

		if (cuts)
			want = (ci < ncuts ? cuts[ci++] : n) - at;
		if (want > n - at)
			want = n - at;
		if (want > room)
			want = room;
		CHECK(room > 0);
		memcpy(p, s + at, want);
		stream_frame_commit(&f, want);
		at += want;
		while ((rc = stream_frame_next(&f, &msg, &len)) == 1) {
			CHECK(msg[1] == 10);
			lens[count++] = len;
		}
	}
	*err = f.error;
	stream_frame_finish(&f);
	return rc < 0 ? -1 : count;
}

static void
test_every_split(void)
{
	uint8_t s[200];
	size_t n = 0, lens[16];
	enum stream_frame_error err;

	n += put_msg(s + n, 16, 1);
	n += put_msg(s + n, 40, 2);
	n += put_msg(s + n, 100, 3);
	/* one read, then every pair of cut points */
	CHECK_EQ_U(run(s, n, 65535, NULL, 0, n, lens, &err), 3);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b < n; b++) {
			size_t cuts[2] = { a, b };
			int got = run(s, n, 65535, cuts, 2, 0, lens, &err);

			CHECK_EQ_U(got, 3);
			if (got == 3)
				CHECK(lens[0] == 16 && lens[1] == 40 &&
				    lens[2] == 100);
		}
	/* a byte a read */
	CHECK_EQ_U(run(s, n, 65535, NULL, 0, 1, lens, &err), 3);
}

static void
test_errors(void)
{
	static const struct {
		const char *name;
		uint8_t head[4];
		enum stream_frame_error want;
	} cases[] = {
		{ "length 0", { 0, 10, 0, 0 }, STREAM_FRAME_SHORT },
		{ "length 15", { 0, 10, 0, 15 }, STREAM_FRAME_SHORT },
		{ "version 9", { 0, 9, 0, 20 }, STREAM_FRAME_VERSION },
		{ "version 0x4745 (GET )", { 'G', 'E', 'T', ' ' },
		    STREAM_FRAME_VERSION },
	};
	uint8_t s[64];
	size_t lens[4];
	enum stream_frame_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = put_msg(s, 20, 0);

		memcpy(s + n, cases[i].head, 4);
		memset(s + n + 4, 0, 20);
		/* the valid message comes out, then the error */
		for (size_t chunk = 1; chunk <= n + 24; chunk++) {
			CHECK_EQ_U(run(s, n + 24, 65535, NULL, 0, chunk, lens,
			    &err), (unsigned long long)-1);
			CHECK_EQ_U(err, cases[i].want);
		}
		fprintf(stderr, "%s: %s\n", cases[i].name,
		    stream_frame_error_name(err));
	}
}

static void
test_long(void)
{
	static uint8_t s[70000];
	size_t lens[4];
	enum stream_frame_error err;
	struct stream_frame f;
	const uint8_t *msg;
	size_t len, room;

	/* 65535 with a short body: waits, holding what came, no more */
	put_msg(s, 65535, 7);
	CHECK(stream_frame_init(&f, 65535) == 0);
	memcpy(stream_frame_space(&f, &room), s, 100);
	stream_frame_commit(&f, 100);
	CHECK(stream_frame_next(&f, &msg, &len) == 0);
	CHECK_EQ_U(stream_frame_pending(&f), 100);
	stream_frame_space(&f, &room);
	CHECK_EQ_U(room, 65535 - 100);
	stream_frame_finish(&f);
	/* the whole of it is one message */
	CHECK_EQ_U(run(s, 65535, 65535, NULL, 0, 4096, lens, &err), 1);
	CHECK_EQ_U(lens[0], 65535);
	/* over a smaller bound: an error as soon as the header is in */
	CHECK_EQ_U(run(s, 100, 8192, NULL, 0, 4, lens, &err),
	    (unsigned long long)-1);
	CHECK_EQ_U(err, STREAM_FRAME_LONG);
	/* exactly the bound fits */
	put_msg(s, 8192, 1);
	CHECK_EQ_U(run(s, 8192, 8192, NULL, 0, 1000, lens, &err), 1);
}

int
main(void)
{
	test_every_split();
	test_errors();
	test_long();
	return test_result("stream-frame");
}
