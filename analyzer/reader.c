#include "config.h"
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HAVE_LZ4
#include <lz4frame.h>
#endif

#define IN_SIZE (64 * 1024)
#define OUT_SIZE (256 * 1024)

enum codec { CODEC_UNKNOWN, CODEC_PLAIN, CODEC_GZIP, CODEC_ZSTD, CODEC_LZ4 };

struct reader {
	int fd;
	const char *name;
	enum codec codec;
	bool in_eof;
	bool failed;
	bool frame_open;	/* compressed stream not finished */
	unsigned char in[IN_SIZE];
	size_t in_pos, in_len;
	unsigned char out[OUT_SIZE];
	size_t out_pos, out_len;
	char *line;		/* partial line spanning buffers */
	size_t line_len;
	bool skipping;		/* inside an overlong line */
	z_stream z;
	bool z_ready;
#ifdef HAVE_ZSTD
	ZSTD_DStream *zstd;
#endif
#ifdef HAVE_LZ4
	LZ4F_dctx *lz4;
#endif
};

struct reader *
reader_new(void)
{
	struct reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->line = malloc(READER_MAX_LINE);
	if (!r->line)
		goto fail;
#ifdef HAVE_ZSTD
	if (!(r->zstd = ZSTD_createDStream()))
		goto fail;
#endif
#ifdef HAVE_LZ4
	if (LZ4F_isError(LZ4F_createDecompressionContext(&r->lz4, LZ4F_VERSION)))
		goto fail;
#endif
	return r;
fail:
	reader_free(r);
	return NULL;
}

void
reader_free(struct reader *r)
{
	if (!r)
		return;
	reader_close(r);
	free(r->line);
#ifdef HAVE_ZSTD
	ZSTD_freeDStream(r->zstd);
#endif
#ifdef HAVE_LZ4
	LZ4F_freeDecompressionContext(r->lz4);
#endif
	free(r);
}

static enum reader_status
fail(struct reader *r, const char *what)
{
	fprintf(stderr, "netflow-analyze: %s: %s\n", r->name, what);
	r->failed = true;
	return READER_ERROR;
}

int
reader_open(struct reader *r, const char *path)
{
	reader_close(r);
	r->name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	r->fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		fail(r, strerror(errno));
		return -1;
	}
	return 0;
}

void
reader_close(struct reader *r)
{
	if (r->fd > STDIN_FILENO)
		close(r->fd);
	if (r->z_ready)
		inflateEnd(&r->z);
	r->fd = -1;
	r->codec = CODEC_UNKNOWN;
	r->in_eof = r->failed = r->frame_open = r->z_ready = r->skipping = false;
	r->in_pos = r->in_len = r->out_pos = r->out_len = r->line_len = 0;
}

/* Refill the raw buffer; false at end of file or on error. */
static bool
read_in(struct reader *r)
{
	if (r->in_eof)
		return false;
	if (r->in_pos > 0 && r->in_pos == r->in_len)
		r->in_pos = r->in_len = 0;
	for (;;) {
		ssize_t n = read(r->fd, r->in + r->in_len, IN_SIZE - r->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(r, strerror(errno));
			return false;
		}
		if (n == 0)
			r->in_eof = true;
		r->in_len += (size_t)n;
		return n > 0;
	}
}

/* Compressed kinds told by their first four bytes; gzip has two. */
static const struct {
	unsigned char magic[4];
	enum codec codec;
	const char *name;
} framed[] = {
	{ { 0x28, 0xb5, 0x2f, 0xfd }, CODEC_ZSTD, "zstd" },
	{ { 0x04, 0x22, 0x4d, 0x18 }, CODEC_LZ4, "lz4" },	/* LZ4 frame */
};

/* A decoder ready for a new stream; false when this build has none. */
static bool
start_codec(struct reader *r, enum codec codec)
{
	switch (codec) {
#ifdef HAVE_ZSTD
	case CODEC_ZSTD:
		ZSTD_initDStream(r->zstd);
		return true;
#endif
#ifdef HAVE_LZ4
	case CODEC_LZ4:
		LZ4F_resetDecompressionContext(r->lz4);
		return true;
#endif
	default:
		return false;
	}
}

/* A compressed file this build cannot read is an error that says why. */
static int
missing_codec(struct reader *r, const char *name)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%s-compressed, but this netflow-analyze was built "
	    "without %s support (meson -D%s=enabled)", name, name, name);
	fail(r, msg);
	return -1;
}

/* By content, not by name: a renamed file or standard input reads the same. */
static int
detect(struct reader *r)
{
	while (r->in_len < 4 && read_in(r))
		;
	if (r->failed)
		return -1;
	r->codec = CODEC_PLAIN;
	if (r->in_len >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b) {
		if (inflateInit2(&r->z, 15 + 32) != Z_OK)
			return fail(r, "zlib initialisation failed"), -1;
		r->z_ready = true;
		r->codec = CODEC_GZIP;
		return 0;
	}
	for (size_t i = 0; i < sizeof(framed) / sizeof(framed[0]); i++) {
		if (r->in_len < 4 || memcmp(r->in, framed[i].magic, 4) != 0)
			continue;
		if (!start_codec(r, framed[i].codec))
			return missing_codec(r, framed[i].name);
		r->codec = framed[i].codec;
		break;
	}
	return 0;
}

/* 0 at a clean end, -1 on a read error or inside a compressed frame. */
static int
end_of_input(struct reader *r, const char *truncated)
{
	if (r->failed)
		return -1;
	if (r->frame_open) {
		fail(r, truncated);
		return -1;
	}
	return 0;
}

static int
decode_gzip(struct reader *r)
{
	if (r->in_pos == r->in_len && !read_in(r))
		return end_of_input(r, "truncated gzip data");
	r->z.next_in = r->in + r->in_pos;
	r->z.avail_in = (uInt)(r->in_len - r->in_pos);
	r->z.next_out = r->out;
	r->z.avail_out = OUT_SIZE;
	int ret = inflate(&r->z, Z_NO_FLUSH);
	r->in_pos = r->in_len - r->z.avail_in;
	r->out_len = OUT_SIZE - r->z.avail_out;
	if (ret == Z_STREAM_END) {
		inflateReset(&r->z);	/* concatenated members may follow */
		r->frame_open = false;
	} else if (ret == Z_OK || ret == Z_BUF_ERROR) {
		r->frame_open = true;
	} else {
		return fail(r, r->z.msg ? r->z.msg : "corrupt gzip data"), -1;
	}
	return 1;
}

#ifdef HAVE_ZSTD
static int
decode_zstd(struct reader *r)
{
	if (r->in_pos == r->in_len && !read_in(r))
		return end_of_input(r, "truncated zstd data");
	ZSTD_inBuffer in = { r->in, r->in_len, r->in_pos };
	ZSTD_outBuffer out = { r->out, OUT_SIZE, 0 };
	size_t ret = ZSTD_decompressStream(r->zstd, &out, &in);
	if (ZSTD_isError(ret))
		return fail(r, ZSTD_getErrorName(ret)), -1;
	r->in_pos = in.pos;
	r->out_len = out.pos;
	r->frame_open = ret != 0;
	return 1;
}
#endif

#ifdef HAVE_LZ4
/* LZ4 frames, as lz4cat reads them; after a frame ends (0) the context
 * takes the next one, so concatenated frames read as one stream. */
static int
decode_lz4(struct reader *r)
{
	if (r->in_pos == r->in_len && !read_in(r))
		return end_of_input(r, "truncated lz4 data");
	size_t in_size = r->in_len - r->in_pos, out_size = OUT_SIZE;
	size_t ret = LZ4F_decompress(r->lz4, r->out, &out_size, r->in + r->in_pos,
	    &in_size, NULL);
	if (LZ4F_isError(ret))
		return fail(r, LZ4F_getErrorName(ret)), -1;
	r->in_pos += in_size;
	r->out_len = out_size;
	r->frame_open = ret != 0;
	return 1;
}
#endif

/* Plain text straight into the output buffer: one copy less. */
static int
read_plain(struct reader *r)
{
	if (r->in_eof)
		return r->failed ? -1 : 0;
	for (;;) {
		ssize_t n = read(r->fd, r->out, OUT_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(r, strerror(errno));
			return -1;
		}
		if (n == 0) {
			r->in_eof = true;
			return 0;
		}
		r->out_len = (size_t)n;
		return 1;
	}
}

/* Make decoded bytes available: 1 = some (possibly zero this round), 0 = end. */
static int
fill(struct reader *r)
{
	r->out_pos = r->out_len = 0;
	if (r->codec == CODEC_UNKNOWN && detect(r) < 0)
		return -1;
	switch (r->codec) {
	case CODEC_GZIP:
		return decode_gzip(r);
#ifdef HAVE_ZSTD
	case CODEC_ZSTD:
		return decode_zstd(r);
#endif
#ifdef HAVE_LZ4
	case CODEC_LZ4:
		return decode_lz4(r);
#endif
	default:
		if (r->in_pos < r->in_len) {	/* what detect() read */
			r->out_len = r->in_len - r->in_pos;
			memcpy(r->out, r->in + r->in_pos, r->out_len);
			r->in_pos = r->in_len;
			return 1;
		}
		return read_plain(r);
	}
}

static void
append(struct reader *r, const unsigned char *p, size_t n)
{
	if (r->skipping)
		return;
	if (r->line_len + n > READER_MAX_LINE) {
		r->skipping = true;
		return;
	}
	memcpy(r->line + r->line_len, p, n);
	r->line_len += n;
}

static enum reader_status
take_line(struct reader *r, const char **line, size_t *len, bool *overlong)
{
	*overlong = r->skipping;
	*line = r->line;
	*len = r->skipping ? 0 : r->line_len;
	r->line_len = 0;
	r->skipping = false;
	return READER_LINE;
}

enum reader_status
reader_next(struct reader *r, const char **line, size_t *len, bool *overlong)
{
	if (r->fd < 0 || r->failed)
		return READER_EOF;
	for (;;) {
		unsigned char *p = r->out + r->out_pos;
		size_t avail = r->out_len - r->out_pos;
		unsigned char *nl = avail ? memchr(p, '\n', avail) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - p);
			r->out_pos += n + 1;
			if (r->line_len == 0 && !r->skipping) {
				*line = (const char *)p;	/* zero-copy */
				*len = n;
				*overlong = n > READER_MAX_LINE;
				if (*overlong)
					*len = 0;
				return READER_LINE;
			}
			append(r, p, n);
			return take_line(r, line, len, overlong);
		}
		append(r, p, avail);
		r->out_pos = r->out_len;
		int got = fill(r);
		if (got < 0)
			return READER_ERROR;
		if (got == 0) {
			if (r->line_len > 0 || r->skipping)
				return take_line(r, line, len, overlong);
			return READER_EOF;
		}
	}
}
