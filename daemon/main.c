/*
 * netflowd: NetFlow v1/v5/v7/v9 and IPFIX collector.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "collector.h"
#include "enrich.h"
#include "stream.h"
#include "offline.h"

struct options {
	struct collector_args args;
	bool check;
	bool quiet;              /* -q: -n prints only the errors */
	const char *read_path;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: netflowd [-DnqV] [-c FILE] [-p PORT]... [-o DIR] [-r SECONDS]\n"
	    "                [--stdout] [--read FILE.pcap]\n"
	    "  -c FILE        config file (default " CONFIG_DEFAULT_PATH " if it exists)\n"
	    "  -p PORT        listen on UDP PORT, IPv4 and IPv6; repeatable; replaces\n"
	    "                 the config's listeners (default 2055, 4739, 6343)\n"
	    "  -o DIR         output directory (default ./flows)\n"
	    "  -r SECONDS     rotation interval (default 60)\n"
	    "  -D             debug: log every export packet\n"
	    "  -n             check the config, print the effective settings, exit\n"
	    "  -q             with -n: print only the errors (systemctl reload)\n"
	    "  --stdout       write JSON lines to standard output instead of files\n"
	    "  --read FILE    decode the exports in a pcap file, write them, exit\n"
	    "  -V             print the version\n");
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "stdout", no_argument, NULL, 'S' },
		{ "read", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:p:o:r:DnqVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->args.config_path = optarg;
			o->args.config_given = true;
			break;
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v == 0 || v > 65535)
				fatal("-p: bad port '%s'", optarg);
			if (o->args.nports == MAX_PORTS)
				fatal("-p: at most %d ports", MAX_PORTS);
			o->args.ports[o->args.nports++] = (uint16_t)v;
			break;
		}
		case 'o':
			if (*optarg == '\0')
				fatal("-o: empty directory");
			o->args.directory = optarg;
			break;
		case 'r':
			if (config_parse_duration(optarg, &o->args.rotate) < 0)
				fatal("-r: bad interval '%s' (seconds, or 90s, 5m, 1h)", optarg);
			break;
		case 'D':
			o->args.debug = true;
			break;
		case 'n':
			o->check = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'S':
			o->args.to_stdout = true;
			break;
		case 'R':
			o->read_path = optarg;
			o->args.offline = true;
			break;
		case 'V':
			printf("netflowd %s\n", NETFLOWD_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct collector *c;
	struct config *config;
	char *err = NULL;
	int rc = 0;

	log_init();
	parse_args(argc, argv, &o);
	if ((config = collector_load_config(&o.args, &err)) == NULL) {
		/* a config error a line, each with its file:line */
		for (const char *p = err ? err : "out of memory"; *p; ) {
			int n = (int)strcspn(p, "\n");

			log_msg(LOG_ERR, "%.*s", n, p);
			p += n + (p[n] == '\n');
		}
		free(err);
		return 1;
	}
	if (o.check) {
		struct enrich *e = NULL;

		if (stream_check_tls(config, &err) < 0) {
			log_msg(LOG_ERR, "%s%s%s", config->path ? config->path : "",
			    config->path ? ": " : "", err ? err : "out of memory");
			free(err);
			config_free(config);
			return 1;
		}
		/* the databases are checked as the daemon opens them */
		if (collector_enrich_open(config, &e, &err) < 0) {
			log_msg(LOG_ERR, "%s", err ? err : "out of memory");
			free(err);
			config_free(config);
			return 1;
		}
		enrich_unref(e);
		if (!o.quiet)
			config_print(config, stdout);
		config_free(config);
		return 0;
	}
	log_set_level(o.args.debug ? LOG_DEBUG : config->log_level);
	signal(SIGPIPE, SIG_IGN);
	collector_test_hooks();
	c = collector_new(config, &o.args);
	if (o.read_path)
		rc = offline_read(c, o.read_path) < 0 ? 1 : 0;
	else
		rc = collector_run(c) < 0 ? 1 : 0;
	/* the last file renamed into place first: the final stats count it
	 * and all its bytes */
	output_close(c->output);
	if (!o.read_path || o.args.debug)
		collector_log_stats(c);
	collector_free(c);
	return rc;
}
