/* services: the service a flow belongs to, as the upper-case label the
 * connection line shows ("SSH", "HTTPS", "ICMP/ECHO", "GRE", "UNKNOWN"). */
#ifndef ANALYZER_SERVICES_H
#define ANALYZER_SERVICES_H

#include <stdint.h>

#include "flow.h"

struct services;

/* file NULL: the system's database through getservbyport(3) (normally
 * /etc/services). Otherwise names come only from that file, in
 * services(5) format. Returns NULL and prints the reason on failure. */
struct services *services_new(const char *file);
void services_free(struct services *s);
/* Label for a flow or a connection seen from its initiator's flow. The
 * returned string lives as long as *s. */
const char *services_label(struct services *s, const struct flow *f);
/* The port that names the service: the one below 1024, else the one with a
 * known name, else the lower one. */
uint16_t services_pick_port(struct services *s, uint8_t proto, uint16_t a, uint16_t b);
/* Of the two ports of a TCP, UDP or SCTP flow, the one a server listens on:
 * the one below 1024 when the other is not, else the one with a name when
 * the other has none, else, when both are below 1024 or both have a name,
 * the lower one. -1 when the ports say nothing: equal, 0, two unnamed ports
 * from 1024 up, or a protocol without ports. */
int services_server_port(struct services *s, uint8_t proto, uint16_t a, uint16_t b);
const char *services_proto_name(uint8_t proto);

#endif
