#ifndef NETFLOWD_CONF_PRIVATE_H
#define NETFLOWD_CONF_PRIVATE_H

/* *err = the formatted message (allocated; NULL without memory); returns
 * -1, for "return conf_fail(err, ...)". err may be NULL. */
int conf_fail(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
