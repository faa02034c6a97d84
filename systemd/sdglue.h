/*
 * The small glue between netflowd and systemd's service manager:
 * readiness, status and watchdog notifications. Harmless without systemd
 * (NOTIFY_SOCKET and WATCHDOG_USEC unset). The journal is log.h's.
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

#endif
