/*
 * The journald transport of the log: structured entries with fields, and
 * whether stderr is the journal systemd connected (JOURNAL_STREAM).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "config.h"
#ifdef HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "log.h"

#define MAX_FIELDS 16

#ifdef HAVE_SYSTEMD
bool
log_journal_stream(int fd)
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
log_journal_send(int prio, const char *message, const char *const *fields,
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
log_journal_stream(int fd)
{
	return false;
}

int
log_journal_send(int prio, const char *message, const char *const *fields,
    size_t nfields)
{
	return -1;
}
#endif
