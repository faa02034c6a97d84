/*
 * Recovery of a crashed run's temporary files (output/recover.c), cut at
 * every byte: a file of three blocks, compressed as the writer compresses
 * them (one frame per block), is left as a temporary file cut to each
 * length from 0 to its whole size, and recovery must publish exactly the
 * frames (lines) that are whole before the cut, or remove the file when
 * none is; the published file then decodes completely. Also: a frame
 * whose checksum fails, an existing name, a codec that is not built in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "output-private.h"
#include "test.h"

#define NFRAMES 3
#define LINES_PER_FRAME 7

static char tmpdir[256];

/* thousands of cuts: the disk need not see each one */
static int
no_fdatasync(int fd)
{
	(void)fd;
	return 0;
}

struct sample {
	unsigned char *data;     /* the whole file */
	size_t len;
	size_t end[NFRAMES];     /* where each frame ends */
};

static void
build(enum output_compress c, struct sample *s)
{
	struct compressor *z = c == OUTPUT_COMPRESS_NONE ? NULL :
	    compressor_new(c);

	s->data = malloc(1 << 16);
	s->len = 0;
	for (int f = 0; f < NFRAMES; f++) {
		char block[4096];
		size_t n = 0, len;
		const void *out = block;

		for (int i = 0; i < LINES_PER_FRAME; i++)
			n += (size_t)snprintf(block + n, sizeof(block) - n,
			    "{\"frame\":%d,\"line\":%d,\"pad\":\"%.*s\"}\n", f,
			    i, i * 5, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		len = n;
		if (z != NULL)
			len = compressor_frame(z, output_compress_default_level(c),
			    block, n, &out);
		CHECK(len > 0);
		memcpy(s->data + s->len, out, len);
		s->len += len;
		s->end[f] = s->len;
	}
	compressor_free(z);
}

/* What recovery must keep of a file cut to len bytes. */
static size_t
expected_keep(enum output_compress c, const struct sample *s, size_t len)
{
	size_t keep = 0;

	if (c == OUTPUT_COMPRESS_NONE) {
		for (size_t i = 0; i < len; i++)
			if (s->data[i] == '\n')
				keep = i + 1;
		return keep;
	}
	for (int f = 0; f < NFRAMES; f++)
		if (s->end[f] <= len)
			keep = s->end[f];
	return keep;
}

static void
put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	unsigned char *buf = malloc(1 << 16);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, 1 << 16);

	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

static void
quiet(int prio, const char *reason, const char *path, const char *msg)
{
	(void)prio;
	(void)reason;
	(void)path;
	(void)msg;
}

/* One directory with the file cut to every length, as one slot each:
 * one recovery pass over them all, as at start. */
static void
every_cut(enum output_compress c)
{
	const char *ext = files_extension(c);
	char dir[300], path[400], name[64], slot[32];
	struct output_recovery r;
	struct sample s;
	unsigned cut = 0, removed = 0, whole = 0;
	uint64_t bytes_cut = 0;

	snprintf(dir, sizeof(dir), "%s/cut%s", tmpdir, ext);
	CHECK(files_mkdir_p(dir) == 0);
	build(c, &s);
	for (size_t len = 0; len <= s.len; len++) {
		files_tmp_name(name, sizeof(name), 1714564800 + 60 * (time_t)len,
		    c, 1 + (unsigned)len % 3);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		put_file(path, s.data, len);
	}
	CHECK_EQ_U((unsigned)output_recover(dir, &r, quiet),
	    r.published);
	CHECK_EQ_U(r.found, s.len + 1);
	for (size_t len = 0; len <= s.len; len++) {
		size_t keep = expected_keep(c, &s, len), got_len = 0;
		unsigned char *got;

		files_tmp_name(name, sizeof(name), 1714564800 + 60 * (time_t)len,
		    c, 1 + (unsigned)len % 3);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		CHECK(access(path, F_OK) < 0);
		format_slot_name(slot, sizeof(slot),
		    1714564800 + 60 * (time_t)len);
		snprintf(path, sizeof(path), "%s/%s%s", dir, slot, ext);
		bytes_cut += len - keep;
		if (keep == 0) {
			CHECK(access(path, F_OK) < 0);
			removed++;
			continue;
		}
		got = read_file(path, &got_len);
		CHECK(got != NULL);
		if (got != NULL) {
			CHECK_EQ_U(got_len, keep);
			CHECK(memcmp(got, s.data, keep) == 0);
		}
		if (got_len != keep)
			fprintf(stderr, "%s cut at %zu: kept %zu, want %zu\n",
			    ext, len, got_len, keep);
		free(got);
		if (keep < len)
			cut++;
		else
			whole++;
	}
	CHECK_EQ_U(r.removed, removed);
	CHECK_EQ_U(r.cut, cut);
	CHECK_EQ_U(r.published, cut + whole);
	CHECK_EQ_U(r.kept, 0);
	CHECK_EQ_U(r.bytes_cut, bytes_cut);
	/* every frame end is a whole file; the rest is cut or removed */
	CHECK_EQ_U(whole, c == OUTPUT_COMPRESS_NONE ?
	    NFRAMES * LINES_PER_FRAME : NFRAMES);
	CHECK(cut > 0 && removed > 0);
	free(s.data);
}

/* A last frame whose bytes are all there but do not check out (a flipped
 * byte near its end): recovery keeps the frames before it. */
static void
bad_checksum(enum output_compress c)
{
	const char *ext = files_extension(c);
	char dir[300], tmp[400], pub[400], name[64];
	struct output_recovery r;
	struct sample s;
	unsigned char *got;
	size_t got_len = 0;

	snprintf(dir, sizeof(dir), "%s/bad%s", tmpdir, ext);
	CHECK(files_mkdir_p(dir) == 0);
	build(c, &s);
	s.data[s.len - 2] ^= 0x55;
	files_tmp_name(name, sizeof(name), 1714564800, c, 4294967295u);
	snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
	snprintf(pub, sizeof(pub), "%s/20240501T120000Z%s", dir, ext);
	put_file(tmp, s.data, s.len);
	CHECK_EQ_U(output_recover(dir, &r, NULL), 1);
	CHECK_EQ_U(r.cut, 1);
	got = read_file(pub, &got_len);
	CHECK(got != NULL);
	CHECK_EQ_U(got_len, s.end[NFRAMES - 2]);
	free(got);
	free(s.data);
}

static int logged;

static void
count_log(int prio, const char *reason, const char *path, const char *msg)
{
	(void)prio;
	(void)msg;
	CHECK(path != NULL && strstr(path, tmpdir) == path);
	CHECK(strncmp(reason, "recovery_", 9) == 0);
	logged++;
}

/* A cut file whose slot name exists is published beside it; the log
 * names the path; many files are logged a few at a time, then counted. */
static void
names_and_log(void)
{
	char dir[300], path[400];
	struct output_recovery r;

	snprintf(dir, sizeof(dir), "%s/names", tmpdir);
	CHECK(files_mkdir_p(dir) == 0);
	snprintf(path, sizeof(path), "%s/20240501T120000Z.json", dir);
	put_file(path, "{\"old\":1}\n", 10);
	snprintf(path, sizeof(path), "%s/.20240501T120000Z.json.tmp", dir);
	put_file(path, "{\"a\":1}\n{\"b\":", 13);
	for (int i = 0; i < 30; i++) {
		snprintf(path, sizeof(path), "%s/.20240501T12%02d00Z.json.tmp",
		    dir, i + 10);
		put_file(path, "{\"half", 6);
	}
	logged = 0;
	CHECK_EQ_U(output_recover(dir, &r, count_log), 1);
	CHECK_EQ_U(r.found, 31);
	CHECK_EQ_U(r.removed, 30);
	CHECK_EQ_U(r.cut, 1);
	/* ten one by one and the summary */
	CHECK_EQ_U(logged, 11);
	snprintf(path, sizeof(path), "%s/20240501T120000Z-1.json", dir);
	CHECK(access(path, F_OK) == 0);
}

/* An empty leftover (the slot had just opened) is removed silently. */
static void
empty(void)
{
	char dir[300], path[400];
	struct output_recovery r;

	snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
	CHECK(files_mkdir_p(dir) == 0);
	snprintf(path, sizeof(path), "%s/.20240501T120000Z.json.zst.tmp", dir);
	put_file(path, "", 0);
	logged = 0;
	CHECK_EQ_U(output_recover(dir, &r, count_log), 0);
#ifdef HAVE_ZSTD
	CHECK_EQ_U(r.removed, 1);
	CHECK(access(path, F_OK) < 0);
#endif
	CHECK_EQ_U(logged, 0);
}

int
main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	enum output_compress codecs[] = { OUTPUT_COMPRESS_NONE,
	    OUTPUT_COMPRESS_GZIP, OUTPUT_COMPRESS_ZSTD, OUTPUT_COMPRESS_LZ4 };

	snprintf(tmpdir, sizeof(tmpdir), "%s/netflowd-recover-XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		if (!output_compress_available(codecs[i]))
			continue;
		writer_fdatasync = no_fdatasync;
		every_cut(codecs[i]);
		writer_fdatasync = fdatasync;
		if (codecs[i] != OUTPUT_COMPRESS_NONE)
			bad_checksum(codecs[i]);
	}
	names_and_log();
	empty();
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return test_failures ? 1 : 0;
}
