#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "sdglue.h"

#ifdef HAVE_SYSTEMD
void
sdglue_notify(const char *state)
{
	sd_notify(0, state);
}
#else
/* Built without libsystemd: the notify protocol is one datagram to the
 * AF_UNIX socket named by NOTIFY_SOCKET ('@' for the abstract namespace),
 * so Type=notify, the watchdog and STATUS= keep working. */
void
sdglue_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (const struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}
#endif

void
sdglue_notifyf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return;
	sdglue_notify(s);
	free(s);
}

void
sdglue_notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdglue_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000);
}

uint64_t
sdglue_watchdog_usec(void)
{
	uint64_t usec = 0;

#ifdef HAVE_SYSTEMD
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
#else
	/* what sd_watchdog_enabled() reads */
	const char *s = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");

	if (s == NULL || (pid != NULL && strtol(pid, NULL, 10) != getpid()))
		return 0;
	usec = strtoull(s, NULL, 10);
#endif
	return usec;
}
