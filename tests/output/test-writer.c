/*
 * output/writer.c: files written with O_DIRECT (staged in aligned chunks,
 * the unaligned tail written buffered at close) hold exactly the same bytes
 * as buffered ones, plain and compressed, across several slots; and the
 * direct path really is taken where the filesystem supports it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output-test.h"

/* enough for several 2 MiB direct chunks and an unaligned tail per file */
#define RECORDS 40000

static char tmpdir[128];

static void
make_record(struct fixture *fx, int64_t ms, uint64_t id)
{
	fixture_init(fx, ms, 9);
	fx->rec.has_addr = 1u << FLOW_SRC_ADDR | 1u << FLOW_DST_ADDR;
	fx->rec.addr[FLOW_SRC_ADDR].family = 4;
	memcpy(fx->rec.addr[FLOW_SRC_ADDR].bytes, "\x0a\x00\x00\x01", 4);
	fx->rec.addr[FLOW_DST_ADDR].family = 4;
	memcpy(fx->rec.addr[FLOW_DST_ADDR].bytes, "\x0a\x00\x00\x02", 4);
	/* varying lengths, so chunk and line boundaries fall anywhere */
	fx->rec.has_num = 1u << FLOW_BYTES | 1u << FLOW_PACKETS;
	fx->rec.num[FLOW_BYTES] = id;
	fx->rec.num[FLOW_PACKETS] = id * id * 7919u;
}

/* The lines of a slot hold the ids first..first+n-1 in order. */
static void
check_lines(const char *data, size_t len, uint64_t first, uint64_t n)
{
	const char *p = data, *end = data + len;
	uint64_t id = first, lines = 0;

	CHECK_EQ_U(strict_json_lines("writer output", data, len), 0);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *b;
		char *num_end;

		if (nl == NULL) {
			CHECK(!"last line without newline");
			return;
		}
		b = memmem(p, (size_t)(nl - p), "\"bytes\":", 8);
		if (b == NULL || strtoull(b + 8, &num_end, 10) != id ||
		    *num_end != ',') {
			CHECK(!"line out of order or damaged");
			return;
		}
		id++;
		lines++;
		p = nl + 1;
	}
	CHECK_EQ_U(lines, n);
}

static char *
read_slot(const char *dir, const char *name, enum output_compress c,
    size_t *len)
{
	char file[128];

	snprintf(file, sizeof(file), "%s%s", name, files_extension(c));
	if (c == OUTPUT_COMPRESS_GZIP)
		return gunzip_file(dir, file, len);
#ifdef HAVE_ZSTD
	if (c == OUTPUT_COMPRESS_ZSTD)
		return unzstd_file(dir, file, len);
#endif
	return slurp(dir, file, len);
}

/* Does this directory's filesystem take O_DIRECT writes at all? */
static bool
dir_takes_direct(const char *dir)
{
	char path[512];
	void *buf;
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/.probe", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0)
		return false;
	if (posix_memalign(&buf, 4096, 4096) != 0) {
		close(fd);
		return false;
	}
	memset(buf, 'x', 4096);
	ok = write(fd, buf, 4096) == 4096;
	free(buf);
	close(fd);
	unlink(path);
	return ok;
}

static void
run(enum output_compress c, bool direct)
{
	static const char *const names[] = {
		"20240501T120000Z", "20240501T120100Z", "20240501T120200Z",
	};
	/* records per slot: the second one smaller than one direct chunk */
	static const uint64_t per_slot[] = { RECORDS, 3000, RECORDS / 2 };
	struct output_config cfg = {
		.rotate = 60, .compress = c, .lossless = true, .direct_io = direct,
	};
	char dir[256], *err = NULL;
	struct output *o;
	uint64_t id = 0;

	snprintf(dir, sizeof(dir), "%s/%s-%s", tmpdir,
	    c == OUTPUT_COMPRESS_NONE ? "plain" : c == OUTPUT_COMPRESS_GZIP ?
	    "gzip" : "zstd", direct ? "direct" : "buffered");
	mkdir(dir, 0755);
	cfg.directory = dir;
	o = output_new(&cfg, &err);
	CHECK(o != NULL);
	if (o == NULL) {
		fprintf(stderr, "output_new: %s\n", err ? err : "?");
		free(err);
		return;
	}
	for (int s = 0; s < 3; s++) {
		for (uint64_t i = 0; i < per_slot[s]; i++) {
			struct fixture fx;

			make_record(&fx, T0 + s * 60000 + (int64_t)(i % 60000), id++);
			CHECK(output_write(o, &fx.rec) == 0);
		}
		if (s == 0 && c == OUTPUT_COMPRESS_NONE) {
			/* a flush (the daemon's tick) puts every line in the
			 * open file, the staged tail of a direct one too, so a
			 * crash of the process would lose none of them */
			char tmp[64];
			size_t len;
			char *data;

			output_sync(o);
			snprintf(tmp, sizeof(tmp), ".%s.json.tmp", names[0]);
			data = slurp(dir, tmp, &len);
			CHECK(data != NULL && len % 4096 != 0);
			if (data != NULL)
				check_lines(data, len, 0, per_slot[0]);
			free(data);
		}
	}
	output_sync(o);
	if (direct && dir_takes_direct(dir))
		CHECK(output_stats(o)->direct_bytes > 0);
	if (!direct)
		CHECK_EQ_U(output_stats(o)->direct_bytes, 0);
	CHECK_EQ_U(output_stats(o)->write_errors, 0);
	output_free(o);

	id = 0;
	for (int s = 0; s < 3; s++) {
		size_t len;
		char *data = read_slot(dir, names[s], c, &len);

		CHECK(data != NULL);
		if (data != NULL)
			check_lines(data, len, id, per_slot[s]);
		free(data);
		id += per_slot[s];
	}
}

/* Direct and buffered files are byte for byte the same. */
static void
compare(enum output_compress c)
{
	const char *kind = c == OUTPUT_COMPRESS_NONE ? "plain" :
	    c == OUTPUT_COMPRESS_GZIP ? "gzip" : "zstd";
	char a[256], b[256];
	DIR *d;
	struct dirent *e;
	int files = 0;

	snprintf(a, sizeof(a), "%s/%s-direct", tmpdir, kind);
	snprintf(b, sizeof(b), "%s/%s-buffered", tmpdir, kind);
	if ((d = opendir(a)) == NULL) {
		CHECK(!"no direct output");
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t la, lb;
		char *da, *db;

		if (e->d_name[0] == '.')
			continue;
		da = slurp(a, e->d_name, &la);
		db = slurp(b, e->d_name, &lb);
		CHECK(da != NULL && db != NULL && la == lb &&
		    memcmp(da, db, la) == 0);
		free(da);
		free(db);
		files++;
	}
	closedir(d);
	CHECK_EQ_U(files, 3);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/netflowd-test-writer-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (int c = OUTPUT_COMPRESS_NONE; c <= OUTPUT_COMPRESS_ZSTD; c++) {
#ifndef HAVE_ZSTD
		if (c == OUTPUT_COMPRESS_ZSTD)
			continue;
#endif
		run((enum output_compress)c, true);
		run((enum output_compress)c, false);
		compare((enum output_compress)c);
	}
	if (test_failures == 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return test_result("output-writer");
}
