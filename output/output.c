/*
 * Rotated JSON-lines files. The slot being written lives under a hidden
 * temporary name and is renamed into place when the slot closes, so a
 * reader never sees a partial file; a name that exists is never replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output-private.h"

#define BUF_SIZE (1u << 20)
#define TMP_SUFFIX ".tmp"

struct output {
	char *dir;
	unsigned rotate;
	bool to_stdout;
	int fd;                  /* -1 when no slot is open */
	time_t slot;             /* start of the open slot */
	char tmp_name[64];
	char *buf;
	size_t used;
	struct json_writer *json;
	struct output_stats stats;
};

static char *errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
errorf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	return rc < 0 ? NULL : s;
}

static int
mkdir_p(const char *path)
{
	char *tmp = strdup(path);
	int rc = 0;

	if (tmp == NULL)
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

struct output *
output_new(const struct output_config *cfg, char **err)
{
	struct output *o = calloc(1, sizeof(*o));
	struct stat st;

	*err = NULL;
	if (o == NULL)
		goto fail;
	o->fd = -1;
	o->rotate = cfg->rotate ? cfg->rotate : 60;
	o->to_stdout = cfg->to_stdout;
	if ((o->buf = malloc(BUF_SIZE)) == NULL ||
	    (o->json = json_writer_new()) == NULL)
		goto fail;
	if (o->to_stdout) {
		o->fd = STDOUT_FILENO;
		return o;
	}
	if ((o->dir = strdup(cfg->directory)) == NULL)
		goto fail;
	if (mkdir_p(o->dir) < 0 || stat(o->dir, &st) < 0) {
		*err = errorf("cannot create output directory %s: %s", o->dir, strerror(errno));
		goto fail;
	}
	if (access(o->dir, W_OK | X_OK) < 0) {
		*err = errorf("output directory %s is not writable: %s", o->dir, strerror(errno));
		goto fail;
	}
	return o;
fail:
	if (*err == NULL)
		*err = strdup("out of memory");
	output_free(o);
	return NULL;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
output_flush(struct output *o)
{
	int rc = 0;

	if (o->used == 0 || o->fd < 0)
		return 0;
	if (write_all(o->fd, o->buf, o->used) < 0) {
		o->stats.write_errors++;
		rc = -1;
	}
	o->used = 0;
	return rc;
}

/* Renames "dir/.NAME.json.tmp" to "dir/NAME.json", or NAME-1.json ... when
 * that exists: a restart never overwrites an existing file. */
static int
publish(const char *dir, const char *tmp_name)
{
	char from[4096], to[4096], base[64];
	size_t len = strlen(tmp_name);

	if (tmp_name[0] != '.' || len < 1 + 5 + strlen(TMP_SUFFIX) ||
	    len - 1 >= sizeof(base))
		return -1;
	/* NAME.json out of .NAME.json.tmp */
	memcpy(base, tmp_name + 1, len - 1 - strlen(TMP_SUFFIX));
	base[len - 1 - strlen(TMP_SUFFIX) - 5] = '\0';
	snprintf(from, sizeof(from), "%s/%s", dir, tmp_name);
	for (int i = 0; i < 1000; i++) {
		if (i == 0)
			snprintf(to, sizeof(to), "%s/%s.json", dir, base);
		else
			snprintf(to, sizeof(to), "%s/%s-%d.json", dir, base, i);
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static int
close_slot(struct output *o)
{
	int rc = 0;

	if (o->to_stdout || o->fd < 0)
		return output_flush(o);
	if (output_flush(o) < 0)
		rc = -1;
	if (fdatasync(o->fd) < 0)
		rc = -1;
	if (close(o->fd) < 0)
		rc = -1;
	o->fd = -1;
	if (publish(o->dir, o->tmp_name) < 0) {
		o->stats.write_errors++;
		return -1;
	}
	o->stats.files++;
	return rc;
}

static int
open_slot(struct output *o, time_t slot)
{
	char name[48], path[4096];

	format_slot_name(name, sizeof(name), slot);
	snprintf(o->tmp_name, sizeof(o->tmp_name), ".%s.json" TMP_SUFFIX, name);
	snprintf(path, sizeof(path), "%s/%s", o->dir, o->tmp_name);
	for (int attempt = 0; attempt < 2; attempt++) {
		o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (o->fd >= 0 || errno != EEXIST)
			break;
		/* left by a run that died: put it in place, then start anew */
		publish(o->dir, o->tmp_name);
	}
	if (o->fd < 0) {
		o->stats.write_errors++;
		return -1;
	}
	o->slot = slot;
	return 0;
}

static time_t
slot_of(const struct output *o, int64_t ms)
{
	time_t sec = (time_t)(ms / 1000);

	return sec - sec % (time_t)o->rotate;
}

int
output_write(struct output *o, const struct flow_record *rec)
{
	const char *line;
	size_t len;

	if (!o->to_stdout) {
		time_t slot = slot_of(o, rec->src->received_ms);

		/* a record never goes back into a closed slot */
		if (o->fd >= 0 && slot > o->slot && close_slot(o) < 0)
			return -1;
		if (o->fd < 0 && open_slot(o, slot > o->slot ? slot : o->slot) < 0)
			return -1;
	}
	if ((line = json_writer_record(o->json, rec, &len)) == NULL)
		return -1;
	if (o->used + len > BUF_SIZE && output_flush(o) < 0)
		return -1;
	if (len > BUF_SIZE) {
		if (write_all(o->fd, line, len) < 0)
			return -1;
	} else {
		memcpy(o->buf + o->used, line, len);
		o->used += len;
	}
	o->stats.records++;
	o->stats.bytes += len;
	return 0;
}

int
output_rotate(struct output *o, int64_t now_ms)
{
	if (o->to_stdout || o->fd < 0)
		return output_flush(o);
	if (slot_of(o, now_ms) > o->slot)
		return close_slot(o);
	return 0;
}

int64_t
output_next_rotation(const struct output *o, int64_t now_ms)
{
	int64_t period = (int64_t)o->rotate * 1000;

	return period - now_ms % period;
}

const struct output_stats *
output_stats(const struct output *o)
{
	return &o->stats;
}

void
output_free(struct output *o)
{
	if (o == NULL)
		return;
	if (o->to_stdout)
		output_flush(o);
	else if (o->fd >= 0)
		close_slot(o);
	json_writer_free(o->json);
	free(o->buf);
	free(o->dir);
	free(o);
}

int
output_recover(const char *directory)
{
	DIR *d = opendir(directory);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		size_t sl = strlen(".json" TMP_SUFFIX);

		if (e->d_name[0] != '.' || len <= sl + 1 ||
		    strcmp(e->d_name + len - sl, ".json" TMP_SUFFIX) != 0)
			continue;
		if (publish(directory, e->d_name) == 0)
			n++;
	}
	closedir(d);
	return n;
}
