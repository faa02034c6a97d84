/*
 * compress-bench: what a codec and level cost per CPU and per flow, on real
 * netflowd JSON. Reads JSON-lines files, cuts them into blocks the way the
 * render thread does (whole lines, at most 1 MiB) and compresses every block
 * into its own frame with output/compress.c, the writer's own code; prints
 * MB of JSON per CPU second (process CPU time, so it holds on a loaded
 * machine) and bytes per flow. With "zstd-mt" it compresses one zstd stream
 * with libzstd's own workers (ZSTD_c_nbWorkers = 2) instead, for the
 * comparison of the two ways to use more cores.
 *
 *     compress-bench FILE.json... -- zstd:1 zstd:-1 gzip:1 lz4:0 zstd-mt:1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "output-private.h"

struct corpus {
	char *data;
	size_t len, lines;
};

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
load(struct corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0) {
		perror(path);
		return -1;
	}
	rewind(f);
	c->data = realloc(c->data, c->len + (size_t)n);
	if (c->data == NULL ||
	    fread(c->data + c->len, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		fclose(f);
		return -1;
	}
	for (long i = 0; i < n; i++)
		c->lines += c->data[c->len + (size_t)i] == '\n';
	c->len += (size_t)n;
	fclose(f);
	return 0;
}

/* The next block: whole lines, at most OUTPUT_BLOCK_SIZE. */
static size_t
block_len(const struct corpus *c, size_t off)
{
	size_t len = c->len - off;

	if (len <= OUTPUT_BLOCK_SIZE)
		return len;
	len = OUTPUT_BLOCK_SIZE;
	while (len > 0 && c->data[off + len - 1] != '\n')
		len--;
	return len;
}

static int
per_block(const struct corpus *c, enum output_compress codec, int level,
    size_t *out)
{
	struct compressor *z = compressor_new(codec);

	*out = 0;
	if (z == NULL)
		return -1;
	for (size_t off = 0; off < c->len;) {
		size_t len = block_len(c, off), n;
		const void *frame;

		if ((n = compressor_frame(z, level, c->data + off, len,
		    &frame)) == 0) {
			compressor_free(z);
			return -1;
		}
		*out += n;
		off += len;
	}
	compressor_free(z);
	return 0;
}

static int
zstd_workers(const struct corpus *c, int level, size_t *out)
{
#ifdef HAVE_ZSTD
	ZSTD_CCtx *z = ZSTD_createCCtx();
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	ZSTD_inBuffer in = { c->data, c->len, 0 };
	size_t left;

	*out = 0;
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, 2)))
		fprintf(stderr, "libzstd without workers\n");
	do {
		ZSTD_outBuffer ob = { buf, cap, 0 };

		left = ZSTD_compressStream2(z, &ob, &in, ZSTD_e_end);
		if (ZSTD_isError(left))
			break;
		*out += ob.pos;
	} while (left != 0);
	free(buf);
	ZSTD_freeCCtx(z);
	return ZSTD_isError(left) ? -1 : 0;
#else
	(void)c;
	(void)level;
	(void)out;
	return -1;
#endif
}

static int
run(const struct corpus *c, const char *spec)
{
	static const struct { const char *name; enum output_compress c; } codecs[] = {
		{ "gzip", OUTPUT_COMPRESS_GZIP }, { "zstd", OUTPUT_COMPRESS_ZSTD },
		{ "lz4", OUTPUT_COMPRESS_LZ4 },
	};
	const char *colon = strchr(spec, ':');
	int level = colon ? atoi(colon + 1) : 1;
	size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec), out = 0;
	double t0 = cpu_seconds(), cpu;
	int rc = -1;

	if (nlen == 7 && strncmp(spec, "zstd-mt", 7) == 0) {
		rc = zstd_workers(c, level, &out);
	} else {
		for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
			if (strlen(codecs[i].name) == nlen &&
			    strncmp(spec, codecs[i].name, nlen) == 0 &&
			    output_compress_available(codecs[i].c))
				rc = per_block(c, codecs[i].c, level, &out);
	}
	cpu = cpu_seconds() - t0;
	if (rc < 0) {
		printf("| %s | (not available) | | | |\n", spec);
		return -1;
	}
	printf("| %s | %.0f | %.1f | %.1f | %.2f |\n", spec,
	    (double)c->len / 1e6 / cpu, (double)out / (double)c->lines,
	    (double)c->len / (double)out, cpu);
	return 0;
}

int
main(int argc, char **argv)
{
	struct corpus c = { 0 };
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (load(&c, argv[i]) < 0)
			return 1;
	if (c.lines == 0 || i >= argc - 1) {
		fprintf(stderr, "usage: compress-bench FILE.json... -- "
		    "zstd:1 gzip:1 lz4:0 zstd-mt:1 ...\n");
		return 2;
	}
	printf("%zu lines, %.1f MB of JSON, %.0f bytes per flow\n\n"
	    "| codec:level | MB JSON per CPU s | bytes per flow | ratio | "
	    "CPU s |\n|---|---:|---:|---:|---:|\n", c.lines, (double)c.len / 1e6,
	    (double)c.len / (double)c.lines);
	for (i++; i < argc; i++)
		run(&c, argv[i]);
	free(c.data);
	return 0;
}
