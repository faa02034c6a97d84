/*
 * The small glue between netflowd and systemd: readiness and status
 * notifications. Harmless without systemd (NOTIFY_SOCKET unset).
 */
#ifndef NETFLOWD_SDGLUE_H
#define NETFLOWD_SDGLUE_H

/* Sends one sd_notify state string, e.g. "READY=1". */
void sdglue_notify(const char *state);

#endif
