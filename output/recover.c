/*
 * Recovery at start: the temporary files a run that died (kill -9, a
 * crash, power loss) left behind. Such a file ends wherever the process
 * stopped: in the middle of a line, of a zstd or LZ4 frame or of a gzip
 * member, or it is empty. Publishing it as it is would hand readers the
 * partial file the temporary name exists to hide, so each one is checked
 * first and cut back to what is whole: the last complete line of a plain
 * file, the last frame (member) of a compressed one that decodes
 * completely, checksum included, and ends at a line. A file with nothing
 * whole in it is removed. What was cut is counted and logged, then the
 * file is published under its slot's name like any other (never over an
 * existing file).
 *
 * The writer puts one independent frame per block and every block ends
 * at a line (compress.c), so a cut at a frame boundary is a cut at a line
 * boundary too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <zlib.h>

#include "config.h"

#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HAVE_LZ4
#include <lz4frame.h>
#endif

#include "output-private.h"

/* files logged one by one; the rest in the summary line */
#define RECOVER_LOG_MAX 10
/* decompressed bytes looked at a time (a frame is a 1 MiB block) */
#define SCRATCH_SIZE (64u << 10)

struct recover_ctx {
	const char *dir;
	struct output_recovery *r;
	void (*log)(int, const char *, const char *, const char *);
	unsigned logged, unlogged;
	unsigned char *scratch;
	/* decoders, made at first use and kept for the next file */
	z_stream z;
	bool z_ready;
#ifdef HAVE_ZSTD
	ZSTD_DCtx *zstd;
#endif
#ifdef HAVE_LZ4
	LZ4F_dctx *lz4;
#endif
};

static void say(struct recover_ctx *x, int prio, const char *reason,
    const char *path, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
say(struct recover_ctx *x, int prio, const char *reason, const char *path,
    const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	/* one file after another at start: a count limits it, not a time */
	if (x->logged == RECOVER_LOG_MAX) {
		x->unlogged++;
		return;
	}
	x->logged++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->log != NULL)
		x->log(prio, reason, path, msg);
	else
		fprintf(stderr, "<%d>%s\n", prio, msg);
}

/* The end of the last whole line. */
static size_t
plain_whole(const unsigned char *p, size_t len)
{
	const unsigned char *nl = len ? memrchr(p, '\n', len) : NULL;

	return nl == NULL ? 0 : (size_t)(nl - p) + 1;
}

/* The end of the last gzip member that inflates completely (its CRC and
 * length checked by zlib) and ends at a line. */
static size_t
gzip_whole(struct recover_ctx *x, const unsigned char *p, size_t len)
{
	z_stream *z = &x->z;
	size_t good = 0;

	if (!x->z_ready && inflateInit2(z, 15 + 16) != Z_OK)
		return 0;
	x->z_ready = true;
	while (good < len) {
		int rc = Z_OK;
		unsigned char last = 0;

		inflateReset(z);
		z->next_in = (Bytef *)(uintptr_t)(p + good);
		/* a member is 1 MiB of lines at most; a file may pass 4 GiB */
		z->avail_in = (uInt)(len - good > UINT32_MAX ? UINT32_MAX :
		    len - good);
		while (rc == Z_OK) {
			z->next_out = x->scratch;
			z->avail_out = SCRATCH_SIZE;
			rc = inflate(z, Z_NO_FLUSH);
			if (z->avail_out < SCRATCH_SIZE)
				last = x->scratch[SCRATCH_SIZE - z->avail_out - 1];
			if (rc == Z_OK && z->avail_in == 0)
				rc = Z_BUF_ERROR;   /* cut in the middle */
		}
		if (rc != Z_STREAM_END || last != '\n')
			break;
		good = (size_t)(z->next_in - p);
	}
	return good;
}

#ifdef HAVE_ZSTD
/* The end of the last zstd frame that decodes completely (checksum too)
 * and ends at a line. */
static size_t
zstd_whole(struct recover_ctx *x, const unsigned char *p, size_t len)
{
	ZSTD_DCtx *d;
	size_t good = 0;

	if (x->zstd == NULL && (x->zstd = ZSTD_createDCtx()) == NULL)
		return 0;
	d = x->zstd;
	while (good < len) {
		size_t n = ZSTD_findFrameCompressedSize(p + good, len - good);
		ZSTD_inBuffer in;
		size_t rc = 1;
		unsigned char last = 0;

		if (ZSTD_isError(n) || n > len - good)
			break;
		in = (ZSTD_inBuffer){ p + good, n, 0 };
		ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
		while (rc != 0) {
			ZSTD_outBuffer out = { x->scratch, SCRATCH_SIZE, 0 };

			rc = ZSTD_decompressStream(d, &out, &in);
			if (ZSTD_isError(rc))
				break;
			if (out.pos > 0)
				last = x->scratch[out.pos - 1];
			if (rc != 0 && in.pos == in.size && out.pos < out.size)
				break;   /* wants more than the frame has */
		}
		if (rc != 0 || last != '\n')
			break;
		good += n;
	}
	return good;
}
#endif

#ifdef HAVE_LZ4
/* The end of the last LZ4 frame that decodes completely (content
 * checksum too) and ends at a line. */
static size_t
lz4_whole(struct recover_ctx *x, const unsigned char *p, size_t len)
{
	LZ4F_dctx *d;
	size_t good = 0, at = 0;
	unsigned char last = 0;

	if (x->lz4 == NULL && LZ4F_isError(
	    LZ4F_createDecompressionContext(&x->lz4, LZ4F_VERSION))) {
		x->lz4 = NULL;
		return 0;
	}
	d = x->lz4;
	/* what the last file left half decoded */
	LZ4F_resetDecompressionContext(d);
	while (at < len) {
		size_t in = len - at, out = SCRATCH_SIZE;
		size_t rc = LZ4F_decompress(d, x->scratch, &out, p + at, &in,
		    NULL);

		if (LZ4F_isError(rc))
			break;
		at += in;
		if (out > 0)
			last = x->scratch[out - 1];
		if (rc == 0) {
			/* a frame ended; the context is ready for the next */
			if (last != '\n')
				break;
			good = at;
			last = 0;
		} else if (in == 0 && out == 0) {
			break;   /* no progress: the rest is cut off */
		}
	}
	return good;
}
#endif

/* How much of the file at p is whole; false when its codec is not built
 * in (the file cannot be checked). */
static bool
whole_part(struct recover_ctx *x, const char *ext, const unsigned char *p,
    size_t len, size_t *good)
{
	if (strcmp(ext, files_extension(OUTPUT_COMPRESS_NONE)) == 0) {
		*good = plain_whole(p, len);
		return true;
	}
	if (strcmp(ext, files_extension(OUTPUT_COMPRESS_GZIP)) == 0) {
		*good = gzip_whole(x, p, len);
		return true;
	}
#ifdef HAVE_ZSTD
	if (strcmp(ext, files_extension(OUTPUT_COMPRESS_ZSTD)) == 0) {
		*good = zstd_whole(x, p, len);
		return true;
	}
#endif
#ifdef HAVE_LZ4
	if (strcmp(ext, files_extension(OUTPUT_COMPRESS_LZ4)) == 0) {
		*good = lz4_whole(x, p, len);
		return true;
	}
#endif
	return false;
}

/* Cuts fd back to good bytes, durably, before the rename publishes it. */
static int
cut_to(int fd, size_t good)
{
	if (ftruncate(fd, (off_t)good) < 0 || writer_fdatasync(fd) < 0)
		return -1;
	return 0;
}

/* Checks one leftover, cuts, removes or publishes it. */
static void
recover_one(struct recover_ctx *x, const char *name, const char *ext)
{
	char path[4096];
	struct stat st;
	unsigned char *map = NULL;
	size_t len, good = 0;
	bool known;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", x->dir, name);
	x->r->found++;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		say(x, LOG_ERR, "recovery_failed", path, "recovery: cannot open "
		    "%s: %s: left as it is", path, strerror(errno));
		x->r->kept++;
		if (fd >= 0)
			close(fd);
		return;
	}
	len = (size_t)st.st_size;
	if (len > 0 && (map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		say(x, LOG_ERR, "recovery_failed", path, "recovery: cannot read "
		    "%s: %s: left as it is", path, strerror(errno));
		x->r->kept++;
		close(fd);
		return;
	}
	known = len == 0 || whole_part(x, ext, map, len, &good);
	if (map != NULL)
		munmap(map, len);
	if (!known) {
		say(x, LOG_WARNING, "recovery_failed", path, "recovery: %s "
		    "cannot be checked (%s is not built in): left unpublished",
		    path, ext);
		x->r->kept++;
		close(fd);
		return;
	}
	if (good == 0) {
		/* nothing whole: no file is better than a broken one */
		unlink(path);
		close(fd);
		x->r->removed++;
		x->r->bytes_cut += len;
		if (len > 0)
			say(x, LOG_WARNING, "recovery_removed", path, "recovery: "
			    "%s held no whole %s (%zu bytes): removed", path,
			    strcmp(ext, ".json") == 0 ? "line" : "frame", len);
		return;
	}
	if (good < len && cut_to(fd, good) < 0) {
		say(x, LOG_ERR, "recovery_failed", path, "recovery: cannot cut "
		    "%s back: %s: left unpublished", path, strerror(errno));
		x->r->kept++;
		close(fd);
		return;
	}
	close(fd);
	if (files_publish(x->dir, name) < 0) {
		say(x, LOG_ERR, "recovery_failed", path, "recovery: cannot "
		    "publish %s: %s: left as it is", path, strerror(errno));
		x->r->kept++;
		return;
	}
	x->r->published++;
	if (good < len) {
		x->r->cut++;
		x->r->bytes_cut += len - good;
		say(x, LOG_WARNING, "recovery_cut", path, "recovery: %s ended "
		    "in %s: cut back by %zu bytes to %zu and published", path,
		    strcmp(ext, ".json") == 0 ? "the middle of a line" :
		    "a partial or damaged frame", len - good, good);
	}
}

static int
recover_ctx_init(struct recover_ctx *x, const char *dir,
    struct output_recovery *r,
    void (*log)(int, const char *, const char *, const char *))
{
	*x = (struct recover_ctx){ .dir = dir, .r = r, .log = log };
	x->scratch = malloc(SCRATCH_SIZE);
	return x->scratch == NULL ? -1 : 0;
}

static void
recover_ctx_finish(struct recover_ctx *x)
{
	if (x->z_ready)
		inflateEnd(&x->z);
#ifdef HAVE_ZSTD
	ZSTD_freeDCtx(x->zstd);
#endif
#ifdef HAVE_LZ4
	if (x->lz4 != NULL)
		LZ4F_freeDecompressionContext(x->lz4);
#endif
	free(x->scratch);
}

int
files_recover(const char *dir, const char *tmp_name,
    struct output_recovery *r,
    void (*log)(int, const char *, const char *, const char *))
{
	struct recover_ctx x;
	char base[256];
	const char *ext;

	if (!files_split_tmp_name(tmp_name, base, sizeof(base), &ext)) {
		errno = EINVAL;
		return -1;
	}
	if (recover_ctx_init(&x, dir, r, log) < 0) {
		recover_ctx_finish(&x);
		return -1;
	}
	recover_one(&x, tmp_name, ext);
	recover_ctx_finish(&x);
	return 0;
}

int
output_recover(const char *directory, struct output_recovery *r,
    void (*log)(int prio, const char *reason, const char *path,
    const char *msg))
{
	struct output_recovery local;
	struct recover_ctx x;
	struct dirent *e;
	DIR *d;

	if (r == NULL)
		r = &local;
	*r = (struct output_recovery){ 0 };
	if ((d = opendir(directory)) == NULL)
		return -1;
	if (recover_ctx_init(&x, directory, r, log) < 0) {
		recover_ctx_finish(&x);
		closedir(d);
		return -1;
	}
	/* renaming while reading the directory: a published name may come
	 * up again in readdir, but it is no temporary name any more */
	while ((e = readdir(d)) != NULL) {
		char base[256];
		const char *ext;

		if (files_split_tmp_name(e->d_name, base, sizeof(base), &ext))
			recover_one(&x, e->d_name, ext);
	}
	closedir(d);
	if (x.unlogged > 0)
		say(&(struct recover_ctx){ .log = log }, LOG_WARNING,
		    "recovery_cut", directory, "recovery: %u more files in %s "
		    "cut back, removed or left (not logged one by one)", x.unlogged,
		    directory);
	recover_ctx_finish(&x);
	return (int)r->published;
}
