/*
 * Prometheus text on [metrics] listen, served from the event loop.
 */
#ifndef NETFLOWD_METRICS_H
#define NETFLOWD_METRICS_H

#include "conf.h"

struct collector;
struct metrics;

struct metrics *metrics_new(struct collector *c,
    const struct config_listen *conf, char **err);
const struct config_listen *metrics_listen(const struct metrics *m);
void metrics_free(struct metrics *m);

#endif
