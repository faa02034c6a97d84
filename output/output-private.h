#ifndef NETFLOWD_OUTPUT_PRIVATE_H
#define NETFLOWD_OUTPUT_PRIVATE_H

#include <time.h>

#include "output.h"

struct json_writer;

struct json_writer *json_writer_new(void);
void json_writer_free(struct json_writer *w);
/* Renders rec as one JSON line (with '\n'); the pointer stays valid until
 * the next call. */
const char *json_writer_record(struct json_writer *w,
    const struct flow_record *rec, size_t *len);

/* "2024-05-01T12:00:03.250Z" into buf (>= 32 bytes); returns length. */
size_t format_time_ms(char *buf, int64_t ms);
/* Address text; IPv4 dotted, IPv6 RFC 5952. Returns length. */
size_t format_addr(char *buf, size_t size, const struct parser_addr *a);
/* "20240501T120000Z" for a slot start. */
void format_slot_name(char *buf, size_t size, time_t slot);

#endif
