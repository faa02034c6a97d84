/*
 * What the output tests share: a record with its exporter and room for
 * extra fields, and reading files back (plain, gzip, zstd).
 */
#ifndef NETFLOWD_OUTPUT_TEST_H
#define NETFLOWD_OUTPUT_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "config.h"
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "output-private.h"
#include "strict-json.h"
#include "test.h"

/* 2024-05-01T12:00:00Z */
#define T0 1714564800000LL

struct fixture {
	struct parser_source src;
	struct flow_record rec;
	struct flow_field extra[20];
};

/* An empty record of version from exporter 192.0.2.1:2055. */
static inline void
fixture_init(struct fixture *fx, int64_t received_ms, uint8_t version)
{
	memset(fx, 0, sizeof(*fx));
	fx->src.addr.family = 4;
	memcpy(fx->src.addr.bytes, "\xc0\x00\x02\x01", 4);
	fx->src.port = 2055;
	fx->src.received_ms = received_ms;
	fx->rec.src = &fx->src;
	fx->rec.version = version;
	fx->rec.extra = fx->extra;
}

/* dir/name, NUL-terminated; NULL when it cannot be read. */
static inline char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	*len = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static inline size_t
count_lines(const char *s, size_t len)
{
	size_t n = 0;

	/* every line the output tests read back passes the strict checker */
	CHECK_EQ_U(strict_json_lines("output file", s, len), 0);

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

/* The content of a complete gzip file. */
static inline char *
gunzip_file(const char *dir, const char *name, size_t *len)
{
	char path[512];
	size_t cap = 1 << 20, used = 0;
	char *out = malloc(cap);
	gzFile gz;
	int n;

	*len = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((gz = gzopen(path, "rb")) == NULL) {
		free(out);
		return NULL;
	}
	while ((n = gzread(gz, out + used, (unsigned)(cap - used))) > 0) {
		used += (size_t)n;
		if (used == cap)
			out = realloc(out, cap *= 2);
	}
	CHECK(n == 0);
	gzclose(gz);
	*len = used;
	return out;
}

#ifdef HAVE_ZSTD
/* The content of a zstd file, checked to end with a complete frame. */
static inline char *
unzstd_file(const char *dir, const char *name, size_t *len)
{
	size_t clen, cap = 1 << 20;
	char *in = slurp(dir, name, &clen), *out;
	ZSTD_DStream *ds;
	ZSTD_inBuffer ib;
	ZSTD_outBuffer ob;
	size_t rc = 1;

	*len = 0;
	if (in == NULL)
		return NULL;
	out = malloc(cap);
	ds = ZSTD_createDStream();
	ib = (ZSTD_inBuffer){ in, clen, 0 };
	ob = (ZSTD_outBuffer){ out, cap, 0 };
	while (ib.pos < ib.size) {
		if (ob.pos == ob.size) {
			out = realloc(out, cap *= 2);
			ob.dst = out;
			ob.size = cap;
		}
		rc = ZSTD_decompressStream(ds, &ob, &ib);
		if (ZSTD_isError(rc))
			break;
	}
	CHECK(rc == 0);          /* 0: a complete frame */
	ZSTD_freeDStream(ds);
	free(in);
	*len = ob.pos;
	return out;
}
#endif /* HAVE_ZSTD */

/* The temporary file a live writer holds for NAME.EXT (".NAME.EXT.GEN.tmp",
 * its generation whatever it is) in *out; false when there is none or
 * more than one. */
static inline bool
live_tmp(const char *dir, const char *name_ext, char *out, size_t size)
{
	size_t n = strlen(name_ext);
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (d == NULL)
		return false;
	while ((e = readdir(d)) != NULL) {
		const char *p = e->d_name + 1 + n;
		size_t digits;

		if (e->d_name[0] != '.' || strncmp(e->d_name + 1, name_ext, n) != 0 ||
		    *p != '.')
			continue;
		digits = strspn(p + 1, "0123456789");
		if (digits == 0 || strcmp(p + 1 + digits, ".tmp") != 0)
			continue;
		if (strlen(e->d_name) >= size)
			continue;
		memcpy(out, e->d_name, strlen(e->d_name) + 1);
		found++;
	}
	closedir(d);
	return found == 1;
}

#endif
