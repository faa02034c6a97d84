/*
 * Compression, one block at a time. Every 1 MiB block of JSON lines
 * becomes one complete, independent frame: a zstd frame, a gzip member or
 * an LZ4 frame. A file is the concatenation of its blocks' frames, which
 * zstdcat, zcat and lz4cat (and netflow-analyze) read as one stream.
 *
 * Independent frames are what let the writer compress on several threads
 * at once and still write in order, and what lets it cut a file back to
 * the end of the last frame that reached the disk when the disk fills:
 * a file is valid after every frame. They cost next to nothing in size:
 * zstd's window at the fast levels (512 KiB at level 1) and deflate's
 * (32 KiB) are smaller than a block anyway.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "config.h"

#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HAVE_LZ4
#include <lz4frame.h>
#endif

#include "output-private.h"

/* Ranges accepted by [output] level. zstd's negative levels are its
 * "fast" ones; -50 is already mostly literal copies (ZSTD_minCLevel() is
 * far below anything useful). lz4: 0-2 is the fast mode, 3-12 HC, and
 * negative values are the fast mode's acceleration (-1 .. -65537). */
#define ZSTD_MIN_LEVEL (-50)
#define ZSTD_MAX_LEVEL 19
/* what adapting steps down to: beyond these the output grows quickly
 * while the speed hardly does */
#define ZSTD_ADAPT_FLOOR (-5)
#define ZSTD_HASHLOG_JSON 11
#define LZ4_ADAPT_FLOOR (-8)

struct compressor {
	enum output_compress c;
	z_stream z;
	bool z_ready;
#ifdef HAVE_ZSTD
	ZSTD_CCtx *zstd;
#endif
#ifdef HAVE_LZ4
	LZ4F_cctx *lz4;
#endif
	uint8_t *out;
	size_t cap;
};

bool
output_compress_available(enum output_compress c)
{
	switch (c) {
	case OUTPUT_COMPRESS_NONE:
	case OUTPUT_COMPRESS_GZIP:
		return true;
	case OUTPUT_COMPRESS_ZSTD:
#ifdef HAVE_ZSTD
		return true;
#else
		return false;
#endif
	case OUTPUT_COMPRESS_LZ4:
#ifdef HAVE_LZ4
		return true;
#else
		return false;
#endif
	}
	return false;
}

int
output_compress_default_level(enum output_compress c)
{
	/* the fast ends: line rate first, and -1/1 already beat nfcapd's
	 * lz4 binary records on size */
	return c == OUTPUT_COMPRESS_ZSTD || c == OUTPUT_COMPRESS_GZIP ? 1 : 0;
}

bool
output_compress_level_ok(enum output_compress c, int level)
{
	switch (c) {
	case OUTPUT_COMPRESS_GZIP:
		return level >= 1 && level <= 9;
	case OUTPUT_COMPRESS_ZSTD:
		return level >= ZSTD_MIN_LEVEL && level <= ZSTD_MAX_LEVEL;
	case OUTPUT_COMPRESS_LZ4:
		return level >= -65537 && level <= 12;
	default:
		return level == 0;
	}
}

int
compressor_fastest_level(enum output_compress c)
{
	switch (c) {
	case OUTPUT_COMPRESS_GZIP:
		return 1;
	case OUTPUT_COMPRESS_ZSTD:
		return ZSTD_ADAPT_FLOOR;
	case OUTPUT_COMPRESS_LZ4:
		return LZ4_ADAPT_FLOOR;
	default:
		return 0;
	}
}

int
compressor_step(enum output_compress c, int level, int dir)
{
	int fastest = compressor_fastest_level(c);

	/* zstd: level 1 (with its small hash table) is as fast as -1 to
	 * -3, at two thirds of their size (bench/compress-bench: 810-860 MB
	 * of JSON per CPU second, 52 bytes a flow; -1: 768, 72.5; -3: 879,
	 * 85.4; -5: 992, 95.4): from 1 the step goes to the floor and back */
	if (c == OUTPUT_COMPRESS_ZSTD && dir > 0 && level < 1)
		return 1;
	if (dir > 0)
		return level + 1;
	if (c == OUTPUT_COMPRESS_ZSTD && level <= 1)
		return fastest;
	/* lz4 0-2 are all the plain fast mode, and the HC levels slow
	 * enough to go straight to it */
	if (c == OUTPUT_COMPRESS_LZ4 && level > 0)
		level = 1;
	return level - 1 < fastest ? fastest : level - 1;
}

struct compressor *
compressor_new(enum output_compress c)
{
	struct compressor *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return NULL;
	z->c = c;
	switch (c) {
	case OUTPUT_COMPRESS_GZIP:
		/* 15 + 16: a gzip wrapper, so gzip -d and zcat read it */
		if (deflateInit2(&z->z, 1, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail;
		z->z_ready = true;
		z->cap = deflateBound(&z->z, OUTPUT_BLOCK_SIZE);
		break;
#ifdef HAVE_ZSTD
	case OUTPUT_COMPRESS_ZSTD:
		if ((z->zstd = ZSTD_createCCtx()) == NULL)
			goto fail;
		z->cap = ZSTD_compressBound(OUTPUT_BLOCK_SIZE);
		break;
#endif
#ifdef HAVE_LZ4
	case OUTPUT_COMPRESS_LZ4:
		if (LZ4F_isError(LZ4F_createCompressionContext(&z->lz4,
		    LZ4F_VERSION)))
			goto fail;
		z->cap = LZ4F_compressFrameBound(OUTPUT_BLOCK_SIZE,
		    &(LZ4F_preferences_t){ .frameInfo = {
		    .blockSizeID = LZ4F_max4MB,
		    .contentChecksumFlag = LZ4F_contentChecksumEnabled } });
		break;
#endif
	default:
		goto fail;
	}
	if ((z->out = malloc(z->cap)) == NULL)
		goto fail;
	return z;
fail:
	compressor_free(z);
	return NULL;
}

void
compressor_free(struct compressor *z)
{
	if (z == NULL)
		return;
	if (z->z_ready)
		deflateEnd(&z->z);
#ifdef HAVE_ZSTD
	ZSTD_freeCCtx(z->zstd);
#endif
#ifdef HAVE_LZ4
	if (z->lz4 != NULL)
		LZ4F_freeCompressionContext(z->lz4);
#endif
	free(z->out);
	free(z);
}

static size_t
gzip_frame(struct compressor *z, int level, const void *in, size_t len)
{
	if (deflateReset(&z->z) != Z_OK ||
	    deflateParams(&z->z, level, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z->z.next_in = (Bytef *)(uintptr_t)in;
	z->z.avail_in = (uInt)len;
	z->z.next_out = z->out;
	z->z.avail_out = (uInt)z->cap;
	/* the output has room for the bound: one call finishes */
	if (deflate(&z->z, Z_FINISH) != Z_STREAM_END)
		return 0;
	return z->cap - z->z.avail_out;
}

#ifdef HAVE_ZSTD
static size_t
zstd_frame(struct compressor *z, int level, const void *in, size_t len)
{
	size_t n;

	ZSTD_CCtx_reset(z->zstd, ZSTD_reset_session_only);
	ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_compressionLevel, level);
	/* Levels 1 and 2 look matches up in a 2^11-entry table instead of
	 * their 2^13 and 2^15 (0: the level's own): JSON lines repeat the
	 * line before more than anything further back, and the small table
	 * keeps just those. 3.9 % smaller at level 1 (8.60x -> 8.93x on
	 * bench/run-bench's stream, 1 MiB frames) at the same speed or
	 * better, which takes it below nfcapd's lz4 per flow; the fast
	 * (negative) levels get larger with it, so they keep theirs. */
	ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_hashLog,
	    level == 1 || level == 2 ? ZSTD_HASHLOG_JSON : 0);
	ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(z->zstd, z->out, z->cap, in, len);
	return ZSTD_isError(n) ? 0 : n;
}
#endif

#ifdef HAVE_LZ4
static size_t
lz4_frame(struct compressor *z, int level, const void *in, size_t len)
{
	LZ4F_preferences_t prefs = {
		.frameInfo = {
			.blockSizeID = LZ4F_max4MB,
			.contentChecksumFlag = LZ4F_contentChecksumEnabled,
			.contentSize = len,
		},
		.compressionLevel = level,
	};
	size_t head, body, tail;

	head = LZ4F_compressBegin(z->lz4, z->out, z->cap, &prefs);
	if (LZ4F_isError(head))
		return 0;
	body = LZ4F_compressUpdate(z->lz4, z->out + head, z->cap - head, in,
	    len, NULL);
	if (LZ4F_isError(body))
		return 0;
	tail = LZ4F_compressEnd(z->lz4, z->out + head + body,
	    z->cap - head - body, NULL);
	return LZ4F_isError(tail) ? 0 : head + body + tail;
}
#endif

size_t
compressor_frame(struct compressor *z, int level, const void *in, size_t len,
    const void **out)
{
	size_t n = 0;

	*out = z->out;
	switch (z->c) {
	case OUTPUT_COMPRESS_GZIP:
		n = gzip_frame(z, level, in, len);
		break;
#ifdef HAVE_ZSTD
	case OUTPUT_COMPRESS_ZSTD:
		n = zstd_frame(z, level, in, len);
		break;
#endif
#ifdef HAVE_LZ4
	case OUTPUT_COMPRESS_LZ4:
		n = lz4_frame(z, level, in, len);
		break;
#endif
	default:
		break;
	}
	return n;
}
