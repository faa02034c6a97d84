/*
 * The collector: one context that owns the event base, the current config,
 * the listeners, the parser, the output and the statistics. It is the arg
 * of every callback.
 */
#ifndef NETFLOWD_COLLECTOR_H
#define NETFLOWD_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "output.h"
#include "parser.h"

#define RX_BATCH 64
#define RX_DATAGRAM_MAX 65536
/* batches one listener may read per wake-up before others get a turn */
#define RX_BATCHES_PER_WAKEUP 8

struct collector;

struct listener {
	struct collector *c;
	struct config_listen conf;
	int fd;
	struct event *ev;
	uint64_t datagrams, bytes, kernel_drops;
	uint32_t last_ovfl;
	struct listener *next;
};

struct collector_stats {
	uint64_t datagrams, bytes, records, not_allowed, write_errors;
	uint64_t drops[PARSER_DROP_MAX];
};

struct rx_buffers;

struct collector {
	struct event_base *base;
	struct config *config;
	struct listener *listeners;
	struct parser *parser;
	struct output *output;
	struct rx_buffers *rx;
	struct event *sig_term, *sig_int, *sig_hup, *sig_usr1, *tick;
	bool debug;
	bool to_stdout;
	struct collector_stats stats;
	struct ratelimit drop_log, write_log;
};

/* Takes ownership of config. */
struct collector *collector_new(struct config *config, bool debug,
    bool to_stdout);
void collector_free(struct collector *c);
int collector_run(struct collector *c);
/* Decodes one datagram as if it had been received now (or at src's time). */
void collector_datagram(struct collector *c, const uint8_t *buf, size_t len,
    struct parser_source *src);
/* Writes counters to the log. */
void collector_log_stats(struct collector *c);

int listener_open(struct collector *c, const struct config_listen *conf,
    struct listener **out);
void listener_free(struct listener *l);
struct rx_buffers *rx_buffers_new(void);
void rx_buffers_free(struct rx_buffers *rx);

/* --read: decode the NetFlow/IPFIX datagrams of a pcap file. */
int offline_read(struct collector *c, const char *path);

/* sockaddr -> parser_addr; IPv4-mapped IPv6 becomes plain IPv4. */
void sockaddr_to_source(const struct sockaddr *sa, struct parser_source *src);

#endif
