/*
 * File names. The slot being written lives under a hidden temporary name
 * (".20240501T120000Z.json.7.tmp", 7 the writer's generation) and is
 * renamed into place when the slot closes, so a reader never sees a
 * partial file; a name that exists is never replaced (NAME-1.json,
 * NAME-2.json ... instead). The generation keeps two outputs of one
 * process (a retiring one still finishing a slot, and its replacement)
 * off each other's temporary file; recovery reads the name with or
 * without it (".NAME.EXT.tmp" is what versions before it left).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output-private.h"

#define TMP_SUFFIX ".tmp"

static const char *const extensions[] = {
	[OUTPUT_COMPRESS_NONE] = ".json",
	[OUTPUT_COMPRESS_GZIP] = ".json.gz",
	[OUTPUT_COMPRESS_ZSTD] = ".json.zst",
	[OUTPUT_COMPRESS_LZ4] = ".json.lz4",
};
#define NEXTENSIONS (sizeof(extensions) / sizeof(extensions[0]))

const char *
files_extension(enum output_compress c)
{
	return (unsigned)c < NEXTENSIONS ? extensions[c] : extensions[0];
}

void
files_tmp_name(char *buf, size_t size, time_t slot, enum output_compress c,
    unsigned gen)
{
	char name[48];

	format_slot_name(name, sizeof(name), slot);
	snprintf(buf, size, ".%s%s.%u" TMP_SUFFIX, name, files_extension(c),
	    gen);
}

static bool
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* ".NAME.EXT.GEN.tmp" or ".NAME.EXT.tmp" -> base NAME and its
 * extension; false if not ours. */
bool
files_split_tmp_name(const char *tmp_name, char *base, size_t size, const char **ext)
{
	size_t len = strlen(tmp_name), digits = 0;

	if (tmp_name[0] != '.' || !ends_with(tmp_name, len, TMP_SUFFIX))
		return false;
	len -= strlen(TMP_SUFFIX);
	while (digits < len && digits < 10 &&
	    tmp_name[len - 1 - digits] >= '0' && tmp_name[len - 1 - digits] <= '9')
		digits++;
	if (digits > 0 && digits < len && tmp_name[len - 1 - digits] == '.')
		len -= digits + 1;
	/* ".json" last: it is a suffix of none of the others, but checking
	 * it last keeps the rule obvious */
	for (int c = (int)NEXTENSIONS - 1; c >= OUTPUT_COMPRESS_NONE; c--) {
		const char *e = extensions[c];
		size_t n;

		if (!ends_with(tmp_name, len, e))
			continue;
		n = len - strlen(e) - 1;
		if (n == 0 || n >= size)
			return false;
		memcpy(base, tmp_name + 1, n);
		base[n] = '\0';
		*ext = e;
		return true;
	}
	return false;
}

int
files_publish(const char *dir, const char *tmp_name)
{
	char path[4096];

	return files_publish_named(dir, tmp_name, path, sizeof(path));
}

int
files_publish_named(const char *dir, const char *tmp_name, char *path,
    size_t size)
{
	char from[4096], to[4096], base[256];
	const char *ext;

	if (!files_split_tmp_name(tmp_name, base, sizeof(base), &ext)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(from, sizeof(from), "%s/%s", dir, tmp_name);
	for (int i = 0; i < 1000; i++) {
		if (i == 0)
			snprintf(to, sizeof(to), "%s/%s%s", dir, base, ext);
		else
			snprintf(to, sizeof(to), "%s/%s-%d%s", dir, base, i, ext);
		if (files_rename_noreplace(from, to) == 0) {
			snprintf(path, size, "%s", to);
			return 0;
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/* Tests set this to take the fallback on any filesystem. */
bool files_no_renameat2;

int
files_rename_noreplace(const char *from, const char *to)
{
	if (!files_no_renameat2) {
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
			return 0;
		/* EINVAL: this filesystem (NFS, some FUSE) has no NOREPLACE */
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
	}
	/* link() fails with EEXIST instead of replacing, atomically */
	if (link(from, to) == 0) {
		if (unlink(from) < 0 && errno != ENOENT)
			return -1;
		return 0;
	}
	if (errno == EEXIST || (errno != EPERM && errno != ENOTSUP &&
	    errno != EOPNOTSUPP))
		return -1;
	/* no hard links either (vfat, some FUSE): only this process writes
	 * the directory, so a check right before the rename has no race
	 * that matters */
	if (access(to, F_OK) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

int
files_mkdir_p(const char *path)
{
	char *tmp;
	int rc = 0;

	/* "" has no first character to skip: the loop below would start
	 * past its end */
	if (path[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if ((tmp = strdup(path)) == NULL)
		return -1;
	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(tmp);
	return rc;
}
