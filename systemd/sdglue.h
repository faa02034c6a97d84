/*
 * The small glue between netflowd and systemd: readiness, status and
 * watchdog notifications, and structured journal entries. Everything is
 * harmless without systemd (NOTIFY_SOCKET, WATCHDOG_USEC and
 * JOURNAL_STREAM unset).
 */
#ifndef NETFLOWD_SDGLUE_H
#define NETFLOWD_SDGLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sends one sd_notify state string, e.g. "READY=1" or several lines
 * "RELOADING=1\nMONOTONIC_USEC=...". */
void sdglue_notify(const char *state);
void sdglue_notifyf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* "RELOADING=1" and "MONOTONIC_USEC=<now>" in one message. */
void sdglue_notify_reloading(void);

/* The watchdog interval systemd asked for, in microseconds; 0 when the
 * watchdog is off or meant for another process. */
uint64_t sdglue_watchdog_usec(void);

/* True when fd is the stream systemd connected to the journal
 * (JOURNAL_STREAM=DEV:INODE matches fd). */
bool sdglue_journal_stream(int fd);

/* One journal entry: PRIORITY, MESSAGE, SYSLOG_IDENTIFIER and the given
 * "NAME=value" fields. -1 when journald could not be reached. */
int sdglue_journal_send(int prio, const char *message,
    const char *const *fields, size_t nfields);

#endif
