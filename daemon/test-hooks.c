/*
 * Conditions the integration tests cannot make happen on demand without
 * root (a disk that stalls, an fdatasync that fails), injected when the
 * environment asks: NETFLOWD_TEST_FDATASYNC=DIR makes the output's
 * fdatasync wait while DIR/hold exists, and fail with EIO for files
 * under the directory named in DIR/fail; NETFLOWD_TEST_HTTP_SNDBUF=N
 * gives /metrics connections a send buffer of N bytes, so that an
 * answer is still being written while its client does not read (on
 * loopback the kernel's buffer would take it whole). Without the
 * variables nothing here runs; the daemon's behaviour under a hook is the
 * real one from the hooked call on.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "httpd.h"

static const char *control;

static bool
exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", control, name);
	return access(path, F_OK) == 0;
}

/* The directory named in DIR/fail holds fd's file. */
static bool
failing(int fd)
{
	char path[PATH_MAX], link[64], dir[PATH_MAX];
	ssize_t n;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/fail", control);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	len = fread(dir, 1, sizeof(dir) - 1, f);
	fclose(f);
	dir[len] = '\0';
	dir[strcspn(dir, "\n")] = '\0';
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return false;
	path[n] = '\0';
	len = strlen(dir);
	return len > 0 && strncmp(path, dir, len) == 0 && path[len] == '/';
}

static int
hooked_fdatasync(int fd)
{
	struct timespec ts = { 0, 10 * 1000000 };

	while (exists("hold"))
		nanosleep(&ts, NULL);
	if (failing(fd)) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

void
collector_test_hooks(void)
{
	const char *sndbuf = getenv("NETFLOWD_TEST_HTTP_SNDBUF");

	if (sndbuf != NULL && atoi(sndbuf) > 0) {
		httpd_test_sndbuf = atoi(sndbuf);
		log_msg(LOG_WARNING, "test hook: /metrics send buffer %d bytes",
		    httpd_test_sndbuf);
	}
	if ((control = getenv("NETFLOWD_TEST_FDATASYNC")) == NULL ||
	    control[0] == '\0')
		return;
	output_set_fdatasync(hooked_fdatasync);
	log_msg(LOG_WARNING, "test hook: fdatasync controlled by %s", control);
}
