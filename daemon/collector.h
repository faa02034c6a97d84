/*
 * The collector: one context that owns the event base, the current config,
 * the listeners, the parser, the output and the statistics. It is the arg
 * of every callback.
 */
#ifndef NETFLOWD_COLLECTOR_H
#define NETFLOWD_COLLECTOR_H

#include <stdatomic.h>
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

/* exporters tracked for statistics; the least recently heard is evicted */
#define EXPORTERS_MAX 4096
/* seconds between STATUS= updates */
#define STATUS_INTERVAL 5
/* seconds between saves of the template state */
#define TEMPLATES_SAVE_INTERVAL 300
#define MAX_PORTS 64

struct collector;

struct listener {
	struct collector *c;
	struct config_listen conf;
	int fd;
	/* counted by the receive thread, read by the loop */
	_Atomic uint64_t datagrams, bytes, kernel_drops;
	_Atomic uint64_t errors;        /* recvmmsg failures but EAGAIN/EINTR */
	atomic_int last_errno;
	uint64_t errors_logged;         /* the loop's */
	uint32_t last_ovfl;      /* the receive thread's */
	bool watched;            /* in the receive thread's epoll set */
	bool keep;               /* reload: taken over by the new config */
	struct listener *next;
};

struct collector_stats {
	uint64_t datagrams, bytes, records, not_allowed, write_errors;
	uint64_t drops[PARSER_DROP_MAX];
	uint64_t closed_kernel_drops;   /* of listeners closed by a reload */
	uint64_t reloads, reload_failures;
};

/* Counters of one exporter (by address). */
struct exporter {
	struct parser_addr addr;
	uint64_t datagrams, bytes, flows, packets;
	uint64_t drops[PARSER_DROP_MAX];
	int64_t last_ms;                /* last datagram, Unix ms */
	struct exporter *hnext;         /* hash chain */
	struct exporter *prev, *next;   /* most recently heard first */
};

struct exporter_table;

/* The command line: applied on top of every config file the daemon
 * loads, at start-up and at each reload. */
struct collector_args {
	const char *config_path;
	bool config_given;
	uint16_t ports[MAX_PORTS];
	size_t nports;
	const char *directory;
	unsigned rotate;
	bool debug, to_stdout;
	bool offline;            /* --read: the output may wait, never drop */
};

struct receiver;
struct metrics;

struct collector {
	struct event_base *base;
	struct collector_args args;
	struct config *config;
	struct listener *listeners;
	struct parser *parser;
	struct output *output;
	/* after a reload changed the output: takes over at next_output_ms,
	 * the end of the current slot */
	struct output *next_output;
	int64_t next_output_ms;
	struct receiver *receiver;
	struct metrics *metrics;
	struct event *sig_term, *sig_int, *sig_hup, *sig_usr1, *tick;
	struct event *reload_ev, *status_ev, *watchdog_ev;
	bool debug;
	bool to_stdout;
	bool reloading;
	char *reload_error;      /* why the last reload failed; NULL if it did not */
	struct collector_stats stats;
	struct exporter_table *exporters;
	struct exporter *exporter;      /* of the datagram being decoded */
	unsigned ticks;
	uint64_t status_records;        /* records at the last STATUS= */
	int64_t status_ms;
	double flows_per_second;
	struct ratelimit drop_log, write_log, receive_log;
};

/* The config file (or the built-in defaults) with the command line on top;
 * NULL with *err ("file:line: message") when the file is bad. */
struct config *collector_load_config(const struct collector_args *args,
    char **err);

/* output-health.c: how long the output may fail (every write, open or
 * publish) before the watchdog pings stop and systemd restarts netflowd;
 * a full disk that stays full a minute is not going to heal by waiting,
 * and a restart re-opens the directory and re-checks the file system. */
#define OUTPUT_DEAD_MS 60000
/* ... provided its last failure is this recent (it is still trying) */
#define OUTPUT_RECENT_MS 10000
/* The output's log callback (struct output_config.log). */
void collector_output_log(int prio, const char *reason, const char *path,
    const char *msg);
void collector_output_log_stats(struct collector *c);
struct evbuffer;
void collector_output_metrics(struct collector *c, struct evbuffer *b);
/* Appends the output's trouble, if any, to a STATUS= text. */
void collector_output_status(struct collector *c, char *buf, size_t size);
/* False (and logged) once the output has failed for OUTPUT_DEAD_MS. */
bool collector_output_alive(struct collector *c);
/* --stdout whose reader went away: logs and stops the loop (false). */
bool collector_output_check(struct collector *c);

/* The output settings of a config. */
void collector_output_config(const struct collector *c,
    const struct config *config, struct output_config *oc);

/* Takes ownership of config. */
struct collector *collector_new(struct config *config,
    const struct collector_args *args);
void collector_free(struct collector *c);
int collector_run(struct collector *c);
void collector_signal_hup(struct collector *c);
/* Switches to next_output once now_ms reached its slot boundary. */
void collector_output_boundary(struct collector *c, int64_t now_ms);
int64_t collector_realtime_ms(void);
/* Decodes one datagram as if it had been received now (or at src's time). */
void collector_datagram(struct collector *c, const uint8_t *buf, size_t len,
    struct parser_source *src);
/* Writes counters to the log. */
void collector_log_stats(struct collector *c);

/* Binds and hands the socket to the receive thread's set. */
int listener_open(struct collector *c, const struct config_listen *conf,
    size_t receive_buffer, struct listener **out);
void listener_set_receive_buffer(struct listener *l, size_t want);
/* Only while the receive thread is stopped. */
void listener_free(struct listener *l);
/* Logs the receive thread's recvmmsg failures since the last call. */
void listener_log_errors(struct listener *l, struct ratelimit *rl);

/* receiver.c: the receive thread and its queue to the loop. */
struct receiver_stats {
	uint64_t size, used, peak, full;
};
struct receiver *receiver_new(struct collector *c, size_t queue_size);
void receiver_free(struct receiver *r);
int receiver_start(struct receiver *r);
/* Returns once the thread is gone; the queue keeps what it held. */
void receiver_stop(struct receiver *r);
/* The epoll set: add any time, remove only while stopped. */
int receiver_add(struct receiver *r, struct listener *l);
void receiver_remove(struct receiver *r, struct listener *l);
/* Stopped: decodes what is queued and what the sockets still hold. */
void receiver_drain(struct receiver *r);
/* A new limit for the queue; what it holds stays. */
void receiver_resize(struct receiver *r, size_t queue_size);
void receiver_stats(struct receiver *r, struct receiver_stats *s);

/* reload.c */
void collector_reload_start(struct collector *c);
void collector_reload_finish(struct collector *c);

/* status.c: STATUS= and WATCHDOG=1 timers, and the status line. */
int collector_status_start(struct collector *c);
void collector_status_text(struct collector *c, char *buf, size_t size);
void collector_status_finish(struct collector *c);

/* templates.c: [templates] state_file */
void collector_templates_load(struct collector *c);
void collector_templates_save(struct collector *c);

/* exporters.c */
struct exporter_table *exporters_new(size_t max);
void exporters_free(struct exporter_table *t);
/* The exporter's counters, created (evicting the least recently heard
 * one when full) if needed; NULL only when out of memory. */
struct exporter *exporters_get(struct exporter_table *t,
    const struct parser_addr *addr, int64_t now_ms);
struct exporter *exporters_first(const struct exporter_table *t);
size_t exporters_count(const struct exporter_table *t);
uint64_t exporters_evicted(const struct exporter_table *t);
const char *exporter_text(const struct parser_addr *a, char *buf,
    size_t size);

/* metrics.c: Prometheus text on [metrics] listen */
struct metrics *metrics_new(struct collector *c,
    const struct config_listen *conf, char **err);
const struct config_listen *metrics_listen(const struct metrics *m);
void metrics_free(struct metrics *m);

/* --read: decode the NetFlow/IPFIX datagrams of a pcap file. */
int offline_read(struct collector *c, const char *path);

/* sockaddr -> parser_addr; IPv4-mapped IPv6 becomes plain IPv4. */
void sockaddr_to_source(const struct sockaddr *sa, struct parser_source *src);

#endif
