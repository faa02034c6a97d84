#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "sdglue.h"

#define MAX_FIELDS 16

void
sdglue_notify(const char *state)
{
	sd_notify(0, state);
}

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
	sd_notify(0, s);
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

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

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
