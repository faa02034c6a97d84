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

#define MAX_PORTS 64

struct options {
	const char *config_path;
	bool config_given;
	uint16_t ports[MAX_PORTS];
	size_t nports;
	const char *directory;
	unsigned rotate;
	bool debug, check, to_stdout;
	const char *read_path;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: netflowd [-DnV] [-c FILE] [-p PORT]... [-o DIR] [-r SECONDS]\n"
	    "                [--stdout] [--read FILE.pcap]\n"
	    "  -c FILE        config file (default " CONFIG_DEFAULT_PATH " if it exists)\n"
	    "  -p PORT        listen on UDP PORT, IPv4 and IPv6; repeatable; replaces\n"
	    "                 the config's listeners (default 2055 and 4739)\n"
	    "  -o DIR         output directory (default ./flows)\n"
	    "  -r SECONDS     rotation interval (default 60)\n"
	    "  -D             debug: log every export packet\n"
	    "  -n             check the config, print the effective settings, exit\n"
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

	while ((ch = getopt_long(argc, argv, "c:p:o:r:DnVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			o->config_given = true;
			break;
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v == 0 || v > 65535)
				fatal("-p: bad port '%s'", optarg);
			if (o->nports == MAX_PORTS)
				fatal("-p: at most %d ports", MAX_PORTS);
			o->ports[o->nports++] = (uint16_t)v;
			break;
		}
		case 'o':
			o->directory = optarg;
			break;
		case 'r':
			if (config_parse_duration(optarg, &o->rotate) < 0)
				fatal("-r: bad interval '%s' (seconds, or 90s, 5m, 1h)", optarg);
			break;
		case 'D':
			o->debug = true;
			break;
		case 'n':
			o->check = true;
			break;
		case 'S':
			o->to_stdout = true;
			break;
		case 'R':
			o->read_path = optarg;
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

/* The config file, then the command line on top of it. */
static struct config *
load_config(const struct options *o)
{
	struct config *c;
	char *err = NULL;

	if (o->config_given || access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		const char *path = o->config_given ? o->config_path : CONFIG_DEFAULT_PATH;

		if ((c = config_load(path, &err)) == NULL) {
			log_msg(LOG_ERR, "%s", err ? err : "out of memory");
			free(err);
			return NULL;
		}
	} else if ((c = config_new_default()) == NULL) {
		fatal("out of memory");
	}
	if (o->nports > 0 && config_set_ports(c, o->ports, o->nports, &err) < 0)
		fatal("%s", err ? err : "out of memory");
	if (o->directory && config_set_string(&c->directory, o->directory) < 0)
		fatal("out of memory");
	if (o->rotate)
		c->rotate = o->rotate;
	return c;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct collector *c;
	struct config *config;
	int rc = 0;

	parse_args(argc, argv, &o);
	config = load_config(&o);
	if (o.check) {
		if (config == NULL)
			return 1;
		config_print(config, stdout);
		config_free(config);
		return 0;
	}
	if (config == NULL)
		return 1;
	log_set_level(o.debug ? LOG_DEBUG : config->log_level);
	signal(SIGPIPE, SIG_IGN);
	c = collector_new(config, o.debug, o.to_stdout);
	if (o.read_path)
		rc = offline_read(c, o.read_path) < 0 ? 1 : 0;
	else
		rc = collector_run(c) < 0 ? 1 : 0;
	if (!o.read_path || o.debug)
		collector_log_stats(c);
	collector_free(c);
	return rc;
}
