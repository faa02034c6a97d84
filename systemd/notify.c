#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "sdglue.h"

#define MAX_FIELDS 16

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

#ifdef HAVE_SYSTEMD
bool
sdglue_journal_stream(int fd)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

int
sdglue_journal_send(int prio, const char *message, const char *const *fields,
    size_t nfields)
{
	struct iovec iov[MAX_FIELDS + 3];
	char pbuf[16];
	char *msg;
	size_t n = 0;
	int rc;

	if (asprintf(&msg, "MESSAGE=%s", message) < 0)
		return -1;
	snprintf(pbuf, sizeof(pbuf), "PRIORITY=%d", prio & 7);
	iov[n++] = (struct iovec){ pbuf, strlen(pbuf) };
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=netflowd",
	    strlen("SYSLOG_IDENTIFIER=netflowd") };
	for (size_t i = 0; i < nfields && i < MAX_FIELDS; i++)
		iov[n++] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };
	rc = sd_journal_sendv(iov, (int)n);
	free(msg);
	return rc < 0 ? -1 : 0;
}
#else
/* Without libsystemd, log lines go to stderr with <N> priority prefixes,
 * which journald reads from a service's stream all the same (without the
 * structured fields). */
bool
sdglue_journal_stream(int fd)
{
	return false;
}

int
sdglue_journal_send(int prio, const char *message, const char *const *fields,
    size_t nfields)
{
	return -1;
}
#endif
