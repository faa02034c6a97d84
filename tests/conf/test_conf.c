/*
 * The config file: every key, every error path with its exact
 * "file:line: message", and the single-value parsers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "config.h"
#include "test.h"

static char path[] = "/tmp/netflowd-test-conf-XXXXXX";

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static struct config *
load(const char *text, char **err)
{
	write_file(text);
	return config_load(path, err);
}

/* Each bad file and the message after "path:". */
static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "[collector]\nlisten = 1.2.3:2055\n",
	  "2: bad IPv4 address in listen address '1.2.3:2055'" },
	{ "[collector]\nlisten = [::1:2055\n",
	  "2: bad listen address '[::1:2055' (expected [IPv6]:PORT)" },
	{ "[collector]\nlisten = [fe80::zz]:2055\n",
	  "2: bad IPv6 address in listen address '[fe80::zz]:2055'" },
	{ "[collector]\nlisten = ::1:2055\n",
	  "2: bad listen address '::1:2055' (write IPv6 as [ADDR]:PORT)" },
	{ "[collector]\nlisten = 0.0.0.0:0\n",
	  "2: bad port in listen address '0.0.0.0:0'" },
	{ "[collector]\nlisten = 0.0.0.0:65536\n",
	  "2: bad port in listen address '0.0.0.0:65536'" },
	{ "[collector]\nlisten = 0.0.0.0:http\n",
	  "2: bad port in listen address '0.0.0.0:http'" },
	{ "[collector]\nlisten = *:2055\nlisten = 2055\n",
	  "3: duplicate listen address '2055'" },
	{ "[collector]\nallow = 192.0.2.0/33\n",
	  "2: bad address or prefix '192.0.2.0/33'" },
	{ "[collector]\nallow = 2001:db8::/129\n",
	  "2: bad address or prefix '2001:db8::/129'" },
	{ "[collector]\nallow = example.org\n",
	  "2: bad address or prefix 'example.org'" },
	{ "[collector]\nreceive_buffer = 1K\n",
	  "2: bad size '1K' (e.g. 16M, from 4K to 1G)" },
	{ "[collector]\nreceive_buffer = 2G\n",
	  "2: bad size '2G' (e.g. 16M, from 4K to 1G)" },
	{ "[collector]\nreceive_buffer = 16X\n",
	  "2: bad size '16X' (e.g. 16M, from 4K to 1G)" },
	{ "[collector]\nreceive_buffer = -1\n",
	  "2: bad size '-1' (e.g. 16M, from 4K to 1G)" },
	{ "[collector]\nreceive_buffer = 1M\n\nreceive_buffer = 2M\n",
	  "4: duplicate key 'receive_buffer' (first set on line 2)" },
	{ "[collector]\nreceive_queue = 512K\n",
	  "2: bad size '512K' (e.g. 64M, from 1M to 1G)" },
	{ "[collector]\nreceive_queue = 2G\n",
	  "2: bad size '2G' (e.g. 64M, from 1M to 1G)" },
	{ "[collector]\nreceive_queue = many\n",
	  "2: bad size 'many' (e.g. 64M, from 1M to 1G)" },
	{ "[collector]\nreceive_queue = 8M\nreceive_queue = 8M\n",
	  "3: duplicate key 'receive_queue' (first set on line 2)" },
	{ "[collector]\nmax_exporters = 0\n",
	  "2: bad number '0' (from 1 to 1048576)" },
	{ "[collector]\nmax_exporters = 4K\n",
	  "2: bad number '4K' (from 1 to 1048576)" },
	{ "[collector]\nmax_exporters = 2000000\n",
	  "2: bad number '2000000' (from 1 to 1048576)" },
	{ "[collector]\nheld_data = 1K\n",
	  "2: bad size '1K' (e.g. 16M, from 64K to 1G)" },
	{ "[collector]\nheld_data = 1M\nheld_data = 1M\n",
	  "3: duplicate key 'held_data' (first set on line 2)" },
	{ "[collector]\nport = 2055\n",
	  "2: unknown key 'port' in [collector]" },
	{ "[output]\ndirectory =\n", "2: empty directory" },
	{ "[output]\ndirectory = /a\ndirectory = /b\n",
	  "3: duplicate key 'directory' (first set on line 2)" },
	{ "[output]\nrotate = 0\n",
	  "2: bad duration '0' (e.g. 60, 90s, 5m, 1h; at most 7 days)" },
	{ "[output]\nrotate = 5d\n",
	  "2: bad duration '5d' (e.g. 60, 90s, 5m, 1h; at most 7 days)" },
	{ "[output]\nrotate = 169h\n",
	  "2: bad duration '169h' (e.g. 60, 90s, 5m, 1h; at most 7 days)" },
	{ "[output]\nrotate = soon\n",
	  "2: bad duration 'soon' (e.g. 60, 90s, 5m, 1h; at most 7 days)" },
	{ "[output]\nrotate = 60\nrotate = 60\n",
	  "3: duplicate key 'rotate' (first set on line 2)" },
	{ "[output]\ncompress = bzip2\n",
	  "2: bad compress 'bzip2' (none, gzip, zstd or lz4)" },
	{ "[output]\ncompress = gzip\nlevel = 10\n",
	  "3: bad level 10 for compress = gzip (zstd -50 to 19, gzip 1 to 9, lz4 -65537 to 12)" },
	{ "[output]\nlevel = 0\ncompress = gzip\n",
	  "2: bad level 0 for compress = gzip (zstd -50 to 19, gzip 1 to 9, lz4 -65537 to 12)" },
	{ "[output]\nlevel = 3\n", "2: level without compress" },
	{ "[output]\ncompress = gzip\nlevel = fast\n", "3: bad level 'fast' (a number)" },
	{ "[output]\ncompress = gzip\nlevel = -1\n",
	  "3: bad level -1 for compress = gzip (zstd -50 to 19, gzip 1 to 9, lz4 -65537 to 12)" },
	{ "[output]\ncompress = gzip\nlevel = 1\nlevel = 2\n",
	  "4: duplicate key 'level' (first set on line 3)" },
	{ "[output]\nadapt = maybe\n", "2: bad adapt 'maybe' (yes or no)" },
	{ "[output]\nthreads = 0\n", "2: bad threads '0' (auto or 1 to 8)" },
	{ "[output]\nthreads = 9\n", "2: bad threads '9' (auto or 1 to 8)" },
	{ "[output]\nthreads = -1\n", "2: bad threads '-1' (auto or 1 to 8)" },
	{ "[output]\ncompress = none\ncompress = none\n",
	  "3: duplicate key 'compress' (first set on line 2)" },
	{ "[output]\ndirect_io = maybe\n", "2: bad direct_io 'maybe' (yes or no)" },
	{ "[output]\ndirect_io = yes\ndirect_io = no\n",
	  "3: duplicate key 'direct_io' (first set on line 2)" },
	{ "[output]\nformat = json\n", "2: unknown key 'format' in [output]" },
	{ "[output]\nfair_prefix = 24\n",
	  "2: bad fair_prefix '24' (IPv4/IPv6 prefix lengths, e.g. 24/64)" },
	{ "[output]\nfair_prefix = 33/64\n",
	  "2: bad fair_prefix '33/64' (IPv4/IPv6 prefix lengths, e.g. 24/64)" },
	{ "[output]\nfair_prefix = 24/129\n",
	  "2: bad fair_prefix (IPv6 length '129': 0 to 128)" },
	{ "[output]\nfair_prefix = 24/-1\n",
	  "2: bad fair_prefix (IPv6 length '-1': 0 to 128)" },
	{ "[templates]\nstate_file =\n", "2: empty state_file" },
	{ "[templates]\nstate_file = /a\nstate_file = /b\n",
	  "3: duplicate key 'state_file' (first set on line 2)" },
	{ "[templates]\nmax = 10\n", "2: unknown key 'max' in [templates]" },
	{ "[log]\nlevel = loud\n",
	  "2: bad log level 'loud' (err, warning, notice, info, debug)" },
	{ "[log]\nlevel = info\nlevel = debug\n",
	  "3: duplicate key 'level' (first set on line 2)" },
	{ "[log]\nfile = /var/log/x\n", "2: unknown key 'file' in [log]" },
	{ "[metrics]\nlisten = localhost:9477\n",
	  "2: bad IPv4 address in listen address 'localhost:9477'" },
	{ "[metrics]\nlisten = 127.0.0.1:9477\nlisten = 127.0.0.1:9478\n",
	  "3: duplicate key 'listen' (first set on line 2)" },
	{ "[metrics]\npath = /metrics\n", "2: unknown key 'path' in [metrics]" },
	{ "[collectors]\nlisten = 2055\n", "1: unknown section [collectors]" },
	{ "[output]\nrotate = 60\n\n[kafk]\n", "4: unknown section [kafk]" },
	/* a bad key, then what the whole file shows about [kafka] */
	{ "[log]\nlevel = info\n[output]\ncompress = bzip2\n[kafka]\n",
	  "4: bad compress 'bzip2' (none, gzip, zstd or lz4)\n@5: "
#ifdef HAVE_KAFKA
	  "[kafka] needs brokers = HOST:PORT,..." },
#else
	  "built without Kafka support (librdkafka); remove the [kafka] section" },
#endif
	{ "listen = 2055\n", "1: key 'listen' outside any section" },
	{ "[collector]\nlisten\n",
	  "2: syntax error (expected key = value or [section])" },
	{ "[collector\nlisten = 2055\n",
	  "1: syntax error (expected key = value or [section])" },
	{ "[output]\ndirectory = /a\n   /b\n",
	  "3: indented line continues 'directory' (write one key = value per line)" },
	/* issue 13 item 11 */
	{ "[collector]\nallow = 10.0.0.0/-0\n",
	  "2: bad address or prefix '10.0.0.0/-0'" },
	{ "[collector]\nallow = 10.0.0.0/+8\n",
	  "2: bad address or prefix '10.0.0.0/+8'" },
	{ "[collector]\nallow = 10.0.0.0/ 8\n",
	  "2: bad address or prefix '10.0.0.0/ 8'" },
	{ "[output]\nrotate = 6\x01\n",
	  "2: control character 0x01 at column 11 (not a text file?)" },
	{ "[output]\ncompress = \xff\xfe\x80z\n",
	  "2: bad compress '\\xff\\xfe\\x80z' (none, gzip, zstd or lz4)" },
	{ "[output]\ndirectory =\n", "2: empty directory" },
	{ "", " no [section] at all (empty or not a netflowd config?); "
	  "a file that wants the defaults says [collector]" },
	{ "# netflowd.conf, cut short\n\n", " no [section] at all (empty or not "
	  "a netflowd config?); a file that wants the defaults says [collector]" },
	{ "listen = 127.0.0.1:2055\n", "1: key 'listen' outside any section" },
	{ "[collector]\n[bogus]\n", "2: unknown section [bogus]" },
	{ "[collector] x\n", "1: syntax error (expected key = value or [section])" },
	{ "[collector]\n= 5\n", "2: syntax error (expected key = value or [section])" },
};

/* "path:" before the first line and for each "@" (a line of its own) */
static void
expand(char *buf, size_t size, const char *error)
{
	size_t n = (size_t)snprintf(buf, size, "%s:", path);

	for (const char *p = error; *p && n + strlen(path) + 2 < size; p++) {
		if (*p == '@')
			n += (size_t)snprintf(buf + n, size - n, "%s:", path);
		else
			buf[n++] = *p;
	}
	buf[n] = '\0';
}

/* issue 25 item 7: every error of a file, in one go, each with its line;
 * a bad [section] line does not turn its keys into more errors; past 20
 * errors the rest are counted. */
static void
test_all_errors(void)
{
	char *err = NULL, want[2048], big[4096];
	struct config *c;
	size_t n = 0, lines = 1;

	c = load("[collector]\nlisten = 1.2.3.4:99999\nbogus = 1\n[outptu]\n"
	    "rotate = 5\n[output]\nrotate = forever\ncompress = bzip2\n"
	    "  indented\n[kafka\nbrokers = x\n[log]\nlevel = loud\n"
	    "level = info\n[output]\nlevel = 3\n", &err);
	expand(want, sizeof(want),
	    "2: bad port in listen address '1.2.3.4:99999'\n"
	    "@3: unknown key 'bogus' in [collector]\n"
	    "@4: unknown section [outptu]\n"
	    "@7: bad duration 'forever' (e.g. 60, 90s, 5m, 1h; at most 7 days)\n"
	    "@8: bad compress 'bzip2' (none, gzip, zstd or lz4)\n"
	    "@9: indented line continues 'compress' (write one key = value per line)\n"
	    "@10: syntax error (expected key = value or [section])\n"
	    "@13: bad log level 'loud' (err, warning, notice, info, debug)\n"
	    "@14: duplicate key 'level' (first set on line 13)\n"
	    "@16: level without compress");
	CHECK(c == NULL);
	CHECK_STR(err, want);
	free(err);

	n = (size_t)snprintf(big, sizeof(big), "[output]\n");
	for (int i = 0; i < 25; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "bad%d = 1\n", i);
	c = load(big, &err);
	CHECK(c == NULL && err != NULL);
	for (const char *p = err; p && (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	CHECK(lines == 20);
	CHECK(err && strstr(err, ":20: unknown key 'bad18' in [output]\n"));
	CHECK(err && !strstr(err, "bad19"));
	CHECK(err && strstr(err, ": 6 more errors not shown"));
	free(err);
}

static void
test_errors(void)
{
	char want[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		struct config *c = load(bad[i].text, &err);

		expand(want, sizeof(want), bad[i].error);
		CHECK(c == NULL);
		CHECK_STR(err, want);
		config_free(c);
		free(err);
	}
}

static void
test_no_listen_and_missing(void)
{
	char *err = NULL, want[512];
	struct config *c;

	/* a file that wants the defaults says so with a section; the
	 * daemon warns that it listens on every address */
	c = load("\xef\xbb\xbf[collector] ; the defaults\n", &err);
	CHECK(c != NULL && err == NULL);
	CHECK_EQ_U(c ? c->nlisten : 0, 3);
	CHECK(c && c->listen_default);
	config_free(c);
	c = load("[collector]\nlisten = 127.0.0.1:2055\n", &err);
	CHECK(c && !c->listen_default);
	config_free(c);
	c = config_load("/nonexistent/netflowd.conf", &err);
	CHECK(c == NULL);
	CHECK_STR(err, "/nonexistent/netflowd.conf: No such file or directory");
	free(err);
	/* a line longer than inih's buffer */
	{
		char text[8192];
		size_t n;

		/* (valgrind: the bytes after the a's were read uninitialised) */
		snprintf(text, sizeof(text), "[output]\ndirectory = /");
		n = strlen(text);
		memset(text + n, 'a', 6000);
		text[n + 6000] = '\0';
		strcat(text, "\n");
		c = load(text, &err);
		CHECK(c == NULL);
		snprintf(want, sizeof(want), "%s:2: line too long (at most 4096 bytes)",
		    path);
		CHECK_STR(err, want);
		free(err);
	}
	/* paths may be 3,072 bytes: their lines fit */
	{
		char text[4096], dir[3073];

		memset(dir, 'a', sizeof(dir) - 1);
		dir[0] = '/';
		dir[sizeof(dir) - 1] = '\0';
		snprintf(text, sizeof(text), "[output]\ndirectory = %s   # long\n", dir);
		c = load(text, &err);
		CHECK(c != NULL && err == NULL);
		CHECK_STR(c ? c->directory : "", dir);
		config_free(c);
	}
	/* a NUL byte is not a long line */
	{
		static const char text[] = "[output]\nrotate = 6\0000\n";
		FILE *f = fopen(path, "w");

		CHECK(f != NULL);
		if (f) {
			fwrite(text, 1, sizeof(text) - 1, f);
			fclose(f);
		}
		c = config_load(path, &err);
		CHECK(c == NULL);
		snprintf(want, sizeof(want),
		    "%s:2: NUL byte at column 11 (not a text file?)", path);
		CHECK_STR(err, want);
		free(err);
	}
}

static void
test_every_key(void)
{
	char *err = NULL;
	struct config *c = load(
	    "# comment\n"
	    "; comment\n"
	    "[collector]\n"
	    "listen = 0.0.0.0:2055   # IPv4\n"
	    "listen = [::1]:4739\n"
	    "listen = *:9995\n"
	    "listen = 9996\n"
	    "allow = 192.0.2.0/24\n"
	    "allow = 2001:db8::/32\n"
	    "allow = 198.51.100.7\n"
	    "receive_buffer = 32M\n"
	    "receive_queue = 128M\n"
	    "max_exporters = 8192\n"
	    "held_data = 64M\n"
	    "[output]\n"
	    "directory = /var/lib/netflowd\n"
	    "rotate = 5m\n"
	    "compress = none\n"
	    "[templates]\n"
	    "state_file = /var/lib/netflowd/templates.state\n"
	    "[log]\n"
	    "level = debug\n"
	    "[metrics]\n"
	    "listen = 127.0.0.1:9477\n", &err);
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	uint8_t a[16];

	CHECK(c != NULL);
	CHECK(err == NULL);
	if (c == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return;
	}
	CHECK_STR(c->path, path);
	CHECK_EQ_U(c->nlisten, 4);
	s4 = (const struct sockaddr_in *)&c->listen[0].addr;
	CHECK_EQ_U(s4->sin_family, AF_INET);
	CHECK_EQ_U(ntohs(s4->sin_port), 2055);
	CHECK_EQ_U(s4->sin_addr.s_addr, htonl(INADDR_ANY));
	CHECK(!c->listen[0].dual_stack);
	CHECK_STR(c->listen[0].text, "0.0.0.0:2055");
	s6 = (const struct sockaddr_in6 *)&c->listen[1].addr;
	CHECK_EQ_U(s6->sin6_family, AF_INET6);
	CHECK_EQ_U(ntohs(s6->sin6_port), 4739);
	CHECK(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	CHECK(!c->listen[1].dual_stack);
	CHECK(c->listen[2].dual_stack);
	CHECK(c->listen[3].dual_stack);
	CHECK_EQ_U(c->nallow, 3);
	inet_pton(AF_INET, "192.0.2.77", a);
	CHECK(config_allowed(c, 4, a));
	inet_pton(AF_INET, "192.0.3.1", a);
	CHECK(!config_allowed(c, 4, a));
	inet_pton(AF_INET, "198.51.100.7", a);
	CHECK(config_allowed(c, 4, a));
	inet_pton(AF_INET, "198.51.100.8", a);
	CHECK(!config_allowed(c, 4, a));
	inet_pton(AF_INET6, "2001:db8:1::1", a);
	CHECK(config_allowed(c, 6, a));
	inet_pton(AF_INET6, "2001:db9::1", a);
	CHECK(!config_allowed(c, 6, a));
	CHECK_EQ_U(c->receive_buffer, 32u << 20);
	CHECK_EQ_U(c->receive_queue, 128u << 20);
	CHECK_EQ_U(c->max_exporters, 8192);
	CHECK_EQ_U(c->held_data, 64u << 20);
	CHECK_STR(c->directory, "/var/lib/netflowd");
	CHECK_EQ_U(c->rotate, 300);
	CHECK_EQ_U(c->compress, COMPRESS_NONE);
	CHECK_STR(c->state_file, "/var/lib/netflowd/templates.state");
	CHECK_EQ_U(c->log_level, 7);
	CHECK(c->metrics_enabled);
	CHECK_STR(c->metrics.text, "127.0.0.1:9477");
	config_free(c);
}

static void
test_defaults(void)
{
	struct config *c = config_new_default();
	char *err = NULL;

	CHECK(c != NULL);
	CHECK_EQ_U(c->nlisten, 3);
	CHECK_STR(c->listen[0].text, "*:2055");
	CHECK_STR(c->listen[1].text, "*:4739");
	CHECK_STR(c->listen[2].text, "*:6343");
	CHECK_STR(c->directory, "./flows");
	CHECK_EQ_U(c->rotate, 60);
	CHECK_EQ_U(c->receive_buffer, 16u << 20);
	CHECK_EQ_U(c->receive_queue, 64u << 20);
	CHECK_EQ_U(c->max_exporters, 1024);
	CHECK_EQ_U(c->held_data, 16u << 20);
	CHECK_EQ_U(c->log_level, 6);
	CHECK(!c->metrics_enabled);
	CHECK(c->path == NULL);
	config_free(c);
	/* metrics off explicitly; allow-list empty allows everyone */
	c = load("[metrics]\nlisten = off\n", &err);
	CHECK(c != NULL && !c->metrics_enabled);
	if (c) {
		uint8_t a[4] = { 203, 0, 113, 1 };

		CHECK(config_allowed(c, 4, a));
	}
	config_free(c);
}

static void
test_compress(void)
{
	static const struct { const char *v; enum config_compress want; } t[] = {
		{ "none", COMPRESS_NONE }, { "gzip", COMPRESS_GZIP },
#ifdef HAVE_ZSTD
		{ "zstd", COMPRESS_ZSTD },
#endif
	};
	char text[64], *err = NULL;
	struct config *c;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "[output]\ncompress = %s\n", t[i].v);
		c = load(text, &err);
		CHECK(c != NULL);
		CHECK_EQ_U(c ? c->compress : 99, t[i].want);
		config_free(c);
	}
#ifndef HAVE_LZ4
	/* built without liblz4: refused where it is asked for */
	c = load("[output]\ncompress = lz4\n", &err);
	CHECK(c == NULL && err != NULL &&
	    strstr(err, ":2: compress = lz4: this netflowd was built "
	    "without it") != NULL);
	free(err);
	err = NULL;
#endif
#ifndef HAVE_ZSTD
	/* a build without zstd says so at the line that asks for it */
	c = load("[output]\ndirect_io = no\ncompress = zstd\n", &err);
	CHECK(c == NULL);
	CHECK(err != NULL && strstr(err, ":3: ") && strstr(err, "built without"));
	free(err);
#endif
}

static void
test_direct_io(void)
{
	struct config *c = config_new_default();
	char *err = NULL;

	CHECK(c != NULL && c->direct_io);
	CHECK(c->fair_prefix4 == 24 && c->fair_prefix6 == 64);
	config_free(c);
	c = load("[output]\nfair_prefix = 16/48\n", &err);
	CHECK(c != NULL && c->fair_prefix4 == 16 && c->fair_prefix6 == 48);
	config_free(c);
	c = load("[output]\ndirect_io = no\n", &err);
	CHECK(c != NULL && !c->direct_io);
	config_free(c);
	c = load("[output]\ndirect_io = yes\n", &err);
	CHECK(c != NULL && c->direct_io);
	config_free(c);
	/* the compression keys (issue 15) */
#ifdef HAVE_ZSTD
	c = load("[output]\ncompress = zstd\nlevel = -5\nadapt = no\nthreads = 3\n",
	    &err);
	CHECK(c != NULL && c->compress == COMPRESS_ZSTD &&
	    c->compress_level_set && c->compress_level == -5 &&
	    !c->compress_adapt && c->compress_threads == 3);
#else
	c = load("[output]\ncompress = zstd\n", &err);
	CHECK(c == NULL && err != NULL && strstr(err, ":2: compress = zstd: "
	    "this netflowd was built without it") != NULL);
	free(err);
	err = NULL;
#endif
	config_free(c);
	c = load("[output]\ncompress = gzip\n", &err);
	CHECK(c != NULL && !c->compress_level_set && c->compress_adapt &&
	    c->compress_threads == 0);
#ifdef HAVE_LZ4
	config_free(c);
	c = load("[output]\nlevel = 9\ncompress = lz4\n", &err);
	CHECK(c != NULL && c->compress == COMPRESS_LZ4 && c->compress_level == 9);
#endif
	config_free(c);
}

static void
test_values(void)
{
	static const struct { const char *text; int rc; size_t v; } sizes[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "4K", 0, 4096 },
		{ "4k", 0, 4096 }, { "16M", 0, 16u << 20 }, { "16MB", 0, 16u << 20 },
		{ "1G", 0, 1u << 30 }, { "1g", 0, 1u << 30 }, { "", -1, 0 },
		{ "M", -1, 0 }, { "1T", -1, 0 }, { "1 M", -1, 0 }, { "-4K", -1, 0 },
		{ "99999999999999999999", -1, 0 },
	};
	static const struct { const char *text; int rc; unsigned v; } durations[] = {
		{ "1", 0, 1 }, { "60", 0, 60 }, { "90s", 0, 90 }, { "5m", 0, 300 },
		{ "1h", 0, 3600 }, { "168h", 0, 604800 }, { "604800", 0, 604800 },
		{ "604801", -1, 0 }, { "0", -1, 0 }, { "0s", -1, 0 }, { "", -1, 0 },
		{ "1d", -1, 0 }, { "m", -1, 0 }, { "5 m", -1, 0 }, { "-5", -1, 0 },
	};
	static const struct { const char *text; int rc; int v; } levels[] = {
		{ "emerg", 0, 0 }, { "alert", 0, 1 }, { "crit", 0, 2 }, { "err", 0, 3 },
		{ "error", 0, 3 }, { "warning", 0, 4 }, { "warn", 0, 4 },
		{ "notice", 0, 5 }, { "info", 0, 6 }, { "INFO", 0, 6 },
		{ "debug", 0, 7 }, { "verbose", -1, 0 }, { "", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t v = 12345;
		int rc = config_parse_size(sizes[i].text, &v);

		CHECK_EQ_U(rc, sizes[i].rc);
		if (rc == 0)
			CHECK_EQ_U(v, sizes[i].v);
		else
			CHECK_EQ_U(v, 12345);
	}
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		unsigned v = 12345;
		int rc = config_parse_duration(durations[i].text, &v);

		CHECK_EQ_U(rc, durations[i].rc);
		CHECK_EQ_U(v, rc == 0 ? durations[i].v : 12345);
	}
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		int v = 99;
		int rc = config_parse_level(levels[i].text, &v);

		CHECK_EQ_U(rc, levels[i].rc);
		CHECK_EQ_U(v, rc == 0 ? levels[i].v : 99);
	}
	CHECK_STR(config_level_name(4), "warning");
	CHECK_STR(config_compress_name(COMPRESS_NONE), "none");
	CHECK_STR(config_compress_name(COMPRESS_GZIP), "gzip");
	CHECK_STR(config_compress_name(COMPRESS_ZSTD), "zstd");
}

static void
test_compare_and_ports(void)
{
	char *err = NULL;
	struct config *a = load("[collector]\nlisten = *:2055\n[output]\n"
	    "directory = /a\nrotate = 60\n", &err);
	struct config *b = load("[collector]\nlisten = 2055\nlisten = 0.0.0.0:2055\n"
	    "[output]\ndirectory = /a\nrotate = 1m\n", &err);
	uint16_t ports[] = { 9000, 9001 };

	CHECK(a && b);
	if (a && b) {
		/* "*:2055" and "2055" are one socket; "0.0.0.0:2055" is another */
		CHECK(config_listen_equal(&a->listen[0], &b->listen[0]));
		CHECK(!config_listen_equal(&a->listen[0], &b->listen[1]));
		CHECK(config_output_equal(a, b));
		b->rotate = 61;
		CHECK(!config_output_equal(a, b));
		b->rotate = 60;
		b->compress = COMPRESS_ZSTD;
		CHECK(!config_output_equal(a, b));
		CHECK_EQ_U(config_set_ports(a, ports, 2, &err), 0);
		CHECK_EQ_U(a->nlisten, 2);
		CHECK_STR(a->listen[1].text, "*:9001");
		CHECK(a->listen[1].dual_stack);
	}
	config_free(a);
	config_free(b);
}

static void
test_print(void)
{
	char *err = NULL, *out = NULL;
	size_t len = 0;
	struct config *c = load("[collector]\nlisten = 127.0.0.1:2055\n"
	    "allow = 192.0.2.0/24\n[output]\nrotate = 90s\n[metrics]\n"
	    "listen = [::1]:9477\n", &err);
	FILE *f = open_memstream(&out, &len);
	struct config *again;

	CHECK(c != NULL && f != NULL);
	if (c == NULL || f == NULL)
		return;
	config_print(c, f);
	fclose(f);
	CHECK(strstr(out, "listen = 127.0.0.1:2055\n") != NULL);
	CHECK(strstr(out, "allow = 192.0.2.0/24\n") != NULL);
	CHECK(strstr(out, "rotate = 90s\n") != NULL);
	CHECK(strstr(out, "receive_buffer = 16M\n") != NULL);
	CHECK(strstr(out, "[metrics]\nlisten = [::1]:9477\n") != NULL);
	/* what -n prints is itself a valid config */
	again = load(out, &err);
	CHECK(again != NULL);
	if (again) {
		CHECK_EQ_U(again->rotate, 90);
		CHECK_EQ_U(again->nallow, 1);
		CHECK(again->metrics_enabled);
	}
	config_free(again);
	config_free(c);
	free(out);
}

int
main(void)
{
	int fd = mkstemp(path);

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_errors();
	test_all_errors();
	test_no_listen_and_missing();
	test_every_key();
	test_defaults();
	test_values();
	test_compress();
	test_direct_io();
	test_compare_and_ports();
	test_print();
	unlink(path);
	return test_result("conf");
}
