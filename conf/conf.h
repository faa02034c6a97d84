/*
 * conf: the INI configuration file (libinih), validated completely into a
 * struct config that the daemon swaps in as a whole. Errors are for a
 * human: "file:line: message".
 */
#ifndef NETFLOWD_CONF_H
#define NETFLOWD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/socket.h>

/* the same order as enum output_compress (checked in conf.c) */
enum config_compress { COMPRESS_NONE, COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_LZ4 };

struct config_listen {
	char *text;              /* as written, e.g. "[::]:4739" */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool dual_stack;         /* "*:PORT": IPv6 socket that takes IPv4 too */
	int line;                /* where the file says it; 0: -p, defaults */
};

struct config_net {
	uint8_t family;          /* 4 or 6 */
	uint8_t bytes[16];
	uint8_t prefix;
};

struct config {
	char *path;              /* file it came from, NULL for built-in */
	struct config_listen *listen;
	size_t nlisten;
	struct config_net *allow;
	size_t nallow;
	size_t receive_buffer;   /* bytes */
	size_t receive_queue;    /* bytes, between receive thread and loop */
	size_t max_exporters;    /* parser state kept for this many exporters */
	size_t held_data;        /* bytes of data waiting for its template */
	char *directory;
	unsigned rotate;         /* seconds */
	enum config_compress compress;
	bool direct_io;          /* O_DIRECT output files (default yes) */
	int compress_level;      /* [output] level; meaningful when set */
	bool compress_level_set;
	bool compress_adapt;     /* [output] adapt (default yes) */
	unsigned compress_threads;   /* [output] threads; 0 = auto */
	/* [output] fair_prefix: the prefixes fair shedding groups exporters
	 * by (default 24 and 64) */
	unsigned fair_prefix4, fair_prefix6;
	char *state_file;
	int log_level;           /* syslog priority: 0 emerg .. 7 debug */
	bool listen_default;     /* the built-in listeners: no listen = set */
	bool metrics_enabled;    /* [metrics] listen set (off by default) */
	struct config_listen metrics;
	bool files;              /* [output] files = no: Kafka only */
	/* sizes and durations as the file wrote them ("16M", "5m"), so that
	 * -n prints them so; "" where the file did not set them (-n prints
	 * the value in the largest unit that divides it) */
	char receive_buffer_text[24], receive_queue_text[24];
	char held_data_text[24], rotate_text[24];
	struct config_kafka *kafka;     /* [kafka], NULL when absent */
	/* IPFIX over TCP and TLS (RFC 7011 10.4): stream listeners, the
	 * limits of their sessions and the TLS credentials */
	struct config_listen *listen_tcp, *listen_tls;
	size_t nlisten_tcp, nlisten_tls;
	size_t max_sessions;     /* TCP and TLS sessions open at once */
	unsigned session_idle;   /* seconds without a byte before a close */
	size_t session_buffer;   /* bytes: the longest message a session takes */
	unsigned tls_handshake;  /* seconds a TLS handshake may take */
	char *tls_certificate, *tls_key, *tls_client_ca;
	char session_idle_text[24], session_buffer_text[24];
	struct config_enrich *enrich;   /* [enrich], NULL when absent */
};

#define CONFIG_DEFAULT_MAX_SESSIONS 256
#define CONFIG_DEFAULT_SESSION_IDLE 600
#define CONFIG_DEFAULT_SESSION_BUFFER 65535
#define CONFIG_DEFAULT_TLS_HANDSHAKE 10

/* ---- enrich-keys.c: the [enrich] section ---- */

struct config_enrich {
	char *asn_database, *country_database, *interfaces;
	char *asn_field, *as_name_field, *country_field;
	int as_source;           /* enum enrich_as_source */
	unsigned check_interval; /* seconds between looks at the files; 0: off */
	/* where each key was set (0: not set) */
	int line[9];
};

int config_enrich_key(struct config_enrich **e, const char *name,
    const char *value, int line, char **err);
/* Something to enrich with, once the file is read. */
int config_enrich_check(const struct config_enrich *e, char **err);
void config_enrich_free(struct config_enrich *e);
bool config_enrich_equal(const struct config_enrich *a,
    const struct config_enrich *b);
void config_enrich_print(const struct config_enrich *e, FILE *f);
/* The settings for enrich_new (output/enrich.h); strings are e's. */
struct enrich_config;
void config_enrich_settings(const struct config_enrich *e,
    const char *config_path, struct enrich_config *out);

/* ---- kafka-keys.c: the [kafka] section ---- */

struct rd_kafka_conf_s;
struct kafka_option;

struct config_kafka {
	char *brokers, *topic, *options_topic, *client_id;
	char *sasl_password_file;       /* the path; the secret is in rdconf only */
	bool key_exporter;       /* key = exporter (default) | none */
	char compression[8], acks[4];
	size_t queue;            /* bytes */
	unsigned message_timeout;       /* seconds */
	/* every property set, ready for rd_kafka_conf_dup */
	struct rd_kafka_conf_s *rdconf;
	STAILQ_HEAD(, kafka_option) options;    /* option.NAME, for -n */
	int line;                /* where the section started */
	int key_line[10];        /* where each single key was set */
};

/* One key of [kafka] (created with its defaults on the first); -1 with
 * *err (allocated, without file:line) when it is bad. */
int config_kafka_key(struct config_kafka **k, const char *name,
    const char *value, int line, char **err);
/* The keys that must be there, once the file is read. */
int config_kafka_check(const struct config_kafka *k, char **err);
void config_kafka_free(struct config_kafka *k);
/* Everything the producer is built from (a reload builds a new one only
 * when this differs). */
bool config_kafka_equal(const struct config_kafka *a,
    const struct config_kafka *b);
/* The effective settings, never the secret. */
void config_kafka_print(const struct config_kafka *k, FILE *f);

#define CONFIG_DEFAULT_PATH NETFLOWD_SYSCONFDIR "/netflowd/netflowd.conf"

/* The built-in defaults: *:2055, *:4739 and *:6343 (sFlow), ./flows, 60 s. */
struct config *config_new_default(void);
/* Parses and validates path completely; NULL with *err ("file:line: ...")
 * when anything is wrong. */
struct config *config_load(const char *path, char **err);
void config_free(struct config *c);

/* "0.0.0.0:2055", "[::1]:4739", "*:2055" or "2055". */
int config_parse_listen(const char *text, struct config_listen *out,
    char **err);
/* Replaces c's listeners with "*:PORT" for each port (-p). */
int config_set_ports(struct config *c, const uint16_t *ports, size_t n,
    char **err);
int config_set_string(char **slot, const char *value);
/* "16M" -> bytes, "90s"/"5m"/"1h" -> seconds; -1 on error. */
int config_parse_size(const char *text, size_t *out);
/* A plain decimal number; -1 on error. */
int config_parse_count(const char *text, size_t *out);
int config_parse_duration(const char *text, unsigned *out);
int config_parse_level(const char *text, int *out);
const char *config_level_name(int level);
const char *config_compress_name(enum config_compress c);

/* Same address and socket options: a listener that can be kept. */
bool config_listen_equal(const struct config_listen *a,
    const struct config_listen *b);
/* Settings that need a new struct output when they change. */
bool config_output_equal(const struct config *a, const struct config *b);

/* True when addr (4 or 16 bytes) is allowed by the allow-list. */
bool config_allowed(const struct config *c, uint8_t family,
    const uint8_t *bytes);

/* The effective settings, as an INI file. */
void config_print(const struct config *c, FILE *f);

#endif
