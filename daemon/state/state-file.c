/*
 * Template state across restarts ([templates] state_file): loaded before
 * READY so the first datagrams decode at once, saved every few minutes
 * and at shutdown. The parser turns its state into bytes and back; the
 * file is ours: written to a temporary name, fsynced and renamed, so a
 * crash leaves the old or the new file, never half of one. A missing file
 * is normal (first start); a bad one is logged and ignored, never fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "state.h"

/* Reads a whole regular file of at most max bytes. */
static int
read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t off = 0;
	int fd, saved;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if ((*buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return 0;
fail:
	saved = errno;
	close(fd);
	free(*buf);
	*buf = NULL;
	errno = saved;
	return -1;
}

static int
write_file_atomic(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[4096];
	size_t off = 0;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

void
state_load(struct collector *c)
{
	const char *path = c->config->state_file;
	uint8_t *buf;
	size_t len;
	char *err = NULL;

	if (path == NULL || access(path, F_OK) < 0)
		return;
	if (read_file(path, parser_memory_budget(NULL), &buf, &len) < 0) {
		log_msg(LOG_WARNING, "templates not restored: %s: %s", path,
		    strerror(errno));
		return;
	}
	if (parser_state_decode(c->parser, buf, len, &err) < 0) {
		log_msg(LOG_WARNING, "templates not restored: %s: %s", path,
		    err ? err : "out of memory");
		free(err);
	} else {
		log_msg(LOG_INFO, "restored %zu templates from %s",
		    parser_template_count(c->parser), path);
	}
	free(buf);
}

/* A save in flight: the loop encodes the parser's state (memory only),
 * a thread of its own writes, fsyncs and renames it, since the loop must
 * never wait on the disk. */
struct state_saver {
	pthread_t thread;
	atomic_bool done;
	char *path;
	uint8_t *buf;
	size_t len;
	int err;                 /* errno of the write, 0 when it worked */
};

static void *
save_thread(void *arg)
{
	struct state_saver *s = arg;

	s->err = write_file_atomic(s->path, s->buf, s->len) < 0 ? errno : 0;
	atomic_store(&s->done, true);
	return NULL;
}

/* Joins a finished save (or, with wait, any) and logs how it went;
 * false while one is still writing. */
static bool
reap(struct collector *c, bool wait)
{
	struct state_saver *s = c->state_saver;

	if (s == NULL)
		return true;
	if (!wait && !atomic_load(&s->done))
		return false;
	pthread_join(s->thread, NULL);
	if (s->err != 0)
		log_limited(&c->write_log, LOG_ERR, "templates not saved: %s: %s",
		    s->path, strerror(s->err));
	free(s->path);
	free(s->buf);
	free(s);
	c->state_saver = NULL;
	return true;
}

static struct state_saver *
saver_new(const char *path, uint8_t *buf, size_t len)
{
	struct state_saver *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		free(buf);
		return NULL;
	}
	atomic_init(&s->done, false);
	s->buf = buf;
	s->len = len;
	return s;
}

void
state_save(struct collector *c)
{
	const char *path = c->config->state_file;
	struct state_saver *s;
	uint8_t *buf;
	size_t len;
	int err;

	if (path == NULL)
		return;
	if (!reap(c, false)) {
		log_limited(&c->write_log, LOG_WARNING, "templates not saved: "
		    "the previous save to %s is still writing", path);
		return;
	}
	if (parser_state_encode(c->parser, &buf, &len) < 0 ||
	    (s = saver_new(path, buf, len)) == NULL) {
		log_limited(&c->write_log, LOG_ERR, "templates not saved: out of memory");
		return;
	}
	if ((err = pthread_create(&s->thread, NULL, save_thread, s)) != 0) {
		log_limited(&c->write_log, LOG_ERR, "templates not saved: %s",
		    strerror(err));
		free(s->path);
		free(s->buf);
		free(s);
		return;
	}
	pthread_setname_np(s->thread, "netflowd/state");
	c->state_saver = s;
}

void
state_save_now(struct collector *c)
{
	const char *path = c->config->state_file;
	uint8_t *buf;
	size_t len;

	reap(c, true);
	if (path == NULL)
		return;
	if (parser_state_encode(c->parser, &buf, &len) < 0) {
		log_limited(&c->write_log, LOG_ERR, "templates not saved: out of memory");
		return;
	}
	if (write_file_atomic(path, buf, len) < 0)
		log_limited(&c->write_log, LOG_ERR, "templates not saved: %s: %s",
		    path, strerror(errno));
	free(buf);
}

void
state_finish(struct collector *c)
{
	reap(c, true);
}
