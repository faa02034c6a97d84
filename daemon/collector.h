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
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "output.h"
#include "parser.h"
#include "receive.h"

/* seconds between STATUS= updates */
#define STATUS_INTERVAL 5
/* seconds between saves of the template state */
#define TEMPLATES_SAVE_INTERVAL 300
#define MAX_PORTS 64
/* a change of the wall clock against the monotonic one between two ticks
 * larger than this is a step (settimeofday, NTP stepping, a VM resumed) */
#define CLOCK_STEP_MS 2000

struct collector;

struct collector_stats {
	/* records and parser drops are the parser's (parser_totals()) */
	uint64_t datagrams, bytes, not_allowed;
	uint64_t closed_kernel_drops;   /* of listeners closed by a reload */
	uint64_t reloads, reload_failures;
	uint64_t clock_steps;           /* wall clock steps seen */
	/* [enrich] files reopened because they changed on disk, and
	 * changes that could not be used (the old ones stayed) */
	uint64_t enrich_reloads, enrich_reload_failures;
};

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
struct state_saver;
struct retiring_output;
TAILQ_HEAD(retiring_outputs, retiring_output);
struct kafka;
struct kafka_state;
struct evbuffer;

struct collector {
	struct event_base *base;
	struct collector_args args;
	struct config *config;
	struct listener *listeners;
	struct stream *stream;   /* IPFIX over TCP and TLS (stream/) */
	struct parser *parser;
	/* the parser decoding now: a session's, or NULL for c->parser */
	struct parser *feeding;
	struct output *output;
	/* after a reload changed the output: takes over at next_output_ms,
	 * the end of the current slot */
	struct output *next_output;
	int64_t next_output_ms;
	/* outputs replaced by a reload, finishing on threads (retire.c) */
	struct retiring_outputs retiring;
	/* the counters of every output this process had but the current
	 * one: what stats, /metrics and STATUS= add to it */
	struct output_stats output_totals;
	struct lost_table *lost;  /* lost records by exporter, all outputs */
	/* threads say "done" here (a retired output, a closed producer) */
	int done_fd;
	struct event *done_ev;
	struct receiver *receiver;
	struct metrics *metrics;
	struct state_saver *state_saver;   /* a template state save in flight */
	struct event *sig_term, *sig_int, *sig_hup, *sig_usr1, *tick;
	struct event *reload_ev, *status_ev, *watchdog_ev;
	bool debug;
	/* newcomers.c: new exporters and first templates, logged at info */
	struct newcomers *newcomers;
	uint16_t last_template_id;   /* of the latest record decoded */
	bool to_stdout;
	bool reloading;
	char *reload_error;      /* why the last reload failed; NULL if it did not */
	struct collector_stats stats;
	unsigned ticks;
	int64_t now_ms;          /* the loop's clock: the datagram decoded now */
	int64_t clock_offset_ms;        /* wall minus monotonic, last tick */
	uint64_t status_records;        /* records at the last STATUS= */
	int64_t status_ms;
	double flows_per_second;
	struct ratelimit drop_log, write_log, receive_log, shed_log;
	struct kafka_state *kafka;      /* kafka-sink.c; NULL until [kafka] is used */
	struct output_recovery recovery;   /* what recovery at start did */
	/* enrich-files.c: the generation the outputs enrich with (NULL:
	 * none), seconds since the files were last looked at, and what a
	 * change that failed to open looked like */
	struct enrich *enrich;
	unsigned enrich_ticks;
	uint64_t enrich_bad_sig[12];
};

/* enrich-files.c. The config's [enrich] opened and checked: 0 (*out NULL
 * when there is none), or -1 with *err ("file:line: key: PATH: why"). */
struct enrich;
int collector_enrich_open(const struct config *config, struct enrich **out,
    char **err);
/* e (a reference handed over) replaces the current generation. */
void collector_enrich_commit(struct collector *c, struct enrich *e);
/* Once a second: every check_interval, reopens files changed on disk. */
void collector_enrich_tick(struct collector *c);
/* Its counters for /metrics and the stats log line. */
void collector_enrich_metrics(struct collector *c, struct evbuffer *b);
void collector_enrich_log_stats(struct collector *c);

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
/* A parser with the collector's callbacks (a stream session's). */
struct parser *collector_parser_new(struct collector *c,
    const struct parser_limits *limits);
/* Decodes one message of a stream session with its parser p. */
void collector_feed(struct collector *c, struct parser *p,
    const uint8_t *buf, size_t len, const struct parser_source *src);
/* Blocks of packed records waiting for the render thread, and how many
 * there may be (*max): how far behind the output is. */
size_t collector_output_backlog(struct collector *c, size_t *max);
/* Writes counters to the log. */
void collector_log_stats(struct collector *c);

/* retire.c: an output a reload replaced is finished off the loop */
void collector_retire_output(struct collector *c, struct output *o);
/* Joins the retirements that are done (all of them, waiting, with wait)
 * and adds their final counters to the totals. */
void collector_reap_outputs(struct collector *c, bool wait);
/* The output's counters over the process's life: every output's, the
 * retired ones' included (gauges and health: the current one's). */
void collector_output_stats(struct collector *c, struct output_stats *s);
/* Any thread: something is done, the loop reaps (the completion
 * eventfd; open before any thread that calls it, started with the loop). */
void collector_wake(struct collector *c);
int collector_completion_open(struct collector *c);
int collector_completion_start(struct collector *c);
void collector_completion_close(struct collector *c);

/* test-hooks.c: NETFLOWD_TEST_FDATASYNC (tests only; see there) */
void collector_test_hooks(void);

/* reload.c */
void collector_reload_start(struct collector *c);
void collector_reload_finish(struct collector *c);

/* status.c: STATUS= and WATCHDOG=1 timers, and the status line. */
int collector_status_start(struct collector *c);
void collector_status_text(struct collector *c, char *buf, size_t size);
void collector_status_finish(struct collector *c);

/* newcomers.c: "new exporter ..." and "first template in use ..." at
 * info, once per exporter address, rate-limited; called per datagram. */
struct newcomers *newcomers_new(void);
void newcomers_free(struct newcomers *nc);
void newcomers_tick(struct newcomers *nc);
void newcomers_packet(struct newcomers *nc, const struct parser_packet *pkt,
    uint16_t template_id);

/* The exporter address as text (per-exporter counters are the parser's:
 * parser_exporter_first()). */
const char *exporter_text(const struct parser_addr *a, char *buf,
    size_t size);

/* kafka-sink.c: the [kafka] sink's producers, counters and reports */
struct kafka *collector_kafka(const struct collector *c);
struct kafka *collector_kafka_new(struct collector *c,
    const struct config *config, char **err);
void collector_kafka_open(struct collector *c);
int collector_kafka_stage(struct collector *c, const struct config *nc,
    struct kafka **out, bool *changed, char **err);
/* A reload's new producer becomes the current one (the loop's choice
 * for outputs made from now on); the outputs switch to it at the slot
 * boundary, with the next output, which was staged with it. */
void collector_kafka_commit(struct collector *c, struct kafka *k,
    bool changed);
/* The output switch made k (NULL: none) the producer records go to. */
void collector_kafka_switched(struct collector *c, struct kafka *k);
void collector_kafka_discard(struct collector *c, struct kafka *k);
void collector_kafka_tick(struct collector *c);
/* Frees the producers whose delivery thread is done (the loop, woken). */
void collector_kafka_reap(struct collector *c);
void collector_kafka_finish(struct collector *c);
void collector_kafka_log_stats(struct collector *c);
void collector_kafka_status(struct collector *c, char *buf, size_t size);
void collector_kafka_metrics(struct collector *c, struct evbuffer *b);

/* sockaddr -> parser_addr; IPv4-mapped IPv6 becomes plain IPv4. */
void sockaddr_to_source(const struct sockaddr *sa, struct parser_source *src);

#endif
