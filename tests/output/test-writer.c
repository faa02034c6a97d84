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

#include <zlib.h>
#include <zstd.h>

#include "output-private.h"
#include "test.h"

/* 2024-05-01T12:00:00Z */
#define T0 1714564800000LL
/* enough for several 2 MiB direct chunks and an unaligned tail per file */
#define RECORDS 40000

static char tmpdir[128];

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (*len == cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 1 << 20);

			if (p == NULL)
				break;
			buf = p;
		}
		size_t n = fread(buf + *len, 1, cap - *len, f);

		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	return buf;
}

static char *
gunzip(const char *in, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = len * 20 + 1024;
	char *out = malloc(cap);

	*out_len = 0;
	if (out == NULL || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) != Z_STREAM_END) {
		inflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = z.total_out;
	inflateEnd(&z);
	return out;
}

static char *
unzstd(const char *in, size_t len, size_t *out_len)
{
	size_t cap = len * 40 + 1024;
	char *out = malloc(cap);
	size_t n;

	*out_len = 0;
	if (out == NULL)
		return NULL;
	n = ZSTD_decompress(out, cap, in, len);
	if (ZSTD_isError(n)) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}

struct fixture {
	struct parser_source src;
	struct flow_record rec;
};

static void
make_record(struct fixture *fx, int64_t ms, uint64_t id)
{
	memset(fx, 0, sizeof(*fx));
	fx->src.addr.family = 4;
	memcpy(fx->src.addr.bytes, "\xc0\x00\x02\x01", 4);
	fx->src.port = 2055;
	fx->src.received_ms = ms;
	fx->rec.src = &fx->src;
	fx->rec.version = 9;
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
	char path[512];
	size_t raw_len;
	char *raw, *out;

	snprintf(path, sizeof(path), "%s/%s%s", dir, name, files_extension(c));
	raw = slurp(path, &raw_len);
	if (raw == NULL || c == OUTPUT_COMPRESS_NONE) {
		*len = raw_len;
		return raw;
	}
	out = c == OUTPUT_COMPRESS_GZIP ? gunzip(raw, raw_len, len) :
	    unzstd(raw, raw_len, len);
	free(raw);
	return out;
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
			char tmp[512];
			size_t len;
			char *data;

			output_sync(o);
			snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", dir, names[0]);
			data = slurp(tmp, &len);
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
		char pa[600], pb[600];
		size_t la, lb;
		char *da, *db;

		if (e->d_name[0] == '.')
			continue;
		snprintf(pa, sizeof(pa), "%s/%s", a, e->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, e->d_name);
		da = slurp(pa, &la);
		db = slurp(pb, &lb);
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
