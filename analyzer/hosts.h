/* hosts: address -> name from a hosts(5) file. evdns consults its hosts
 * table only for forward lookups, so reverse lookups read the file here. */
#ifndef ANALYZER_HOSTS_H
#define ANALYZER_HOSTS_H

#include <stdbool.h>

#include "addr.h"

struct hosts;

/* A missing file is an empty table unless required (then NULL + message). */
struct hosts *hosts_new(const char *file, bool required);
void hosts_free(struct hosts *h);
/* The first name of the first line listing the address, or NULL. */
const char *hosts_lookup(struct hosts *h, const struct addr *a);

#endif
