/* output/ifcsv.c: the interfaces CSV, table-driven: what parses, what is
 * refused (with its line), and lookups. */
#include <stdlib.h>
#include <string.h>

#include "enrich-private.h"
#include "test.h"

static const struct {
	const char *text;
	size_t n;                /* entries, or (size_t)-1: refused */
	const char *err;         /* start of the message when refused */
} cases[] = {
	{ "", 0, NULL },
	{ "\n\n# only a comment\n", 0, NULL },
	{ "exporter,ifIndex,name,description,speed\n", 0, NULL },
	{ "192.0.2.1,1,eth0\n", 1, NULL },
	{ "192.0.2.1,1,eth0", 1, NULL },                 /* no final newline */
	{ "192.0.2.1,1,eth0,uplink,1000000000\r\n", 1, NULL },
	{ " 192.0.2.1 , 2 , eth1 ,, \n", 1, NULL },    /* blanks trimmed */
	{ "2001:db8::1,4294967295,\"a,\"\"b\"\"\",d,\n", 1, NULL },
	{ "   \n192.0.2.1,1,eth0\n", 1, NULL },
	{ "192.0.2.1,1\n", (size_t)-1, "line 1: expected" },
	{ "192.0.2.1,1,\n", (size_t)-1, "line 1: empty interface name" },
	{ "x,1,eth0\n", (size_t)-1, "line 1: bad exporter" },
	{ "# c\n192.0.2.1,4294967296,eth0\n", (size_t)-1, "line 2: bad ifIndex" },
	{ "192.0.2.1,-1,eth0\n", (size_t)-1, "line 1: bad ifIndex" },
	{ "192.0.2.1,1,eth0,,fast\n", (size_t)-1, "line 1: bad speed" },
	{ "192.0.2.1,1,eth0,,18446744073709551616\n", (size_t)-1,
	  "line 1: bad speed" },
	{ "192.0.2.1,1,\"eth0\n", (size_t)-1, "line 1: line break" },
	{ "192.0.2.1,1,\"eth0", (size_t)-1, "line 1: unterminated" },
	{ "192.0.2.1,1,\"eth0\"x\n", (size_t)-1, "line 1: text after" },
	{ "192.0.2.1,1,eth0,a,1,extra\n", (size_t)-1, "line 1: more than 5" },
	{ "192.0.2.1,1,eth0\n192.0.2.1,1,eth1\n", (size_t)-1,
	  "192.0.2.1 ifIndex 1 listed twice" },
	{ "192.0.2.1,1,eth0\rx\n", (size_t)-1, "line 1: stray" },
};

static void
lookups(void)
{
	const char text[] = "192.0.2.1,1,eth0,up,100\n192.0.2.1,2,eth1\n"
	    "2001:db8::1,1,v6if\n192.0.2.2,1,\"q\"\"uote\"\n";
	char *err = NULL;
	struct iftable *t = ifcsv_parse(text, sizeof(text) - 1, &err);
	struct parser_addr a = { .family = 4, .bytes = { 192, 0, 2, 1 } };
	struct parser_addr b = { .family = 4, .bytes = { 192, 0, 2, 2 } };
	struct parser_addr c = { .family = 6, .bytes = { 0x20, 0x01, 0x0d,
	    0xb8, [15] = 1 } };
	const struct ifentry *e;

	CHECK(t != NULL && err == NULL);
	CHECK_EQ_U(iftable_size(t), 4);
	CHECK((e = iftable_find(t, &a, 1)) != NULL && strcmp(e->name, "eth0") == 0 &&
	    e->speed == 100 && strcmp(e->description, "up") == 0);
	CHECK((e = iftable_find(t, &a, 2)) != NULL && e->speed == 0);
	CHECK(iftable_find(t, &a, 3) == NULL);
	CHECK((e = iftable_find(t, &b, 1)) != NULL &&
	    strcmp(e->name, "q\"uote") == 0);
	CHECK((e = iftable_find(t, &c, 1)) != NULL &&
	    strcmp(e->name, "v6if") == 0);
	CHECK(iftable_find(NULL, &a, 1) == NULL);
	iftable_free(t);
	iftable_free(NULL);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		struct iftable *t = ifcsv_parse(cases[i].text,
		    strlen(cases[i].text), &err);

		if (cases[i].n == (size_t)-1) {
			CHECK(t == NULL);
			CHECK(err != NULL && strncmp(err, cases[i].err,
			    strlen(cases[i].err)) == 0);
			if (t != NULL || err == NULL || strncmp(err, cases[i].err,
			    strlen(cases[i].err)) != 0)
				fprintf(stderr, "case %zu: %s\n", i, err ? err : "ok");
		} else {
			CHECK(t != NULL && err == NULL);
			CHECK_EQ_U(iftable_size(t), cases[i].n);
			if (t == NULL)
				fprintf(stderr, "case %zu: %s\n", i, err);
		}
		iftable_free(t);
		free(err);
	}
	lookups();
	return test_result("ifcsv");
}
