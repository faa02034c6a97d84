#include "hosts.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oatab.h"

/* A hosts file is written by people; more lines than this is not one. */
#define HOSTS_MAX_ENTRIES 1000000

struct host_entry {
	struct addr addr;
	char name[];
};

struct hosts {
	struct oatab table;
};

static void
add_line(struct hosts *h, char *line)
{
	char *save, *a, *name;
	struct addr addr;

	line[strcspn(line, "#\r\n")] = '\0';
	if (!(a = strtok_r(line, " \t", &save)) || !(name = strtok_r(NULL, " \t", &save)))
		return;
	if (!addr_parse(&addr, a, strlen(a)) || hosts_lookup(h, &addr) ||
	    h->table.count >= HOSTS_MAX_ENTRIES)
		return;
	struct host_entry *e = malloc(sizeof(*e) + strlen(name) + 1);
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	e->addr = addr;
	strcpy(e->name, name);
	if (oatab_insert(&h->table, e, oatab_hash(&addr, sizeof(addr))) < 0)
		free(e);
}

struct hosts *
hosts_new(const char *file, bool required)
{
	struct hosts *h = calloc(1, sizeof(*h));
	char line[4096];
	FILE *f;

	if (!h)
		return NULL;
	oatab_init(&h->table, offsetof(struct host_entry, addr), sizeof(struct addr));
	if (!(f = fopen(file, "re"))) {
		if (!required)
			return h;
		fprintf(stderr, "netflow-analyze: %s: %s\n", file, strerror(errno));
		hosts_free(h);
		return NULL;
	}
	while (fgets(line, sizeof(line), f))
		add_line(h, line);
	fclose(f);
	return h;
}

void
hosts_free(struct hosts *h)
{
	size_t pos = 0;
	void *e;

	if (!h)
		return;
	while ((e = oatab_next(&h->table, &pos)))
		free(e);
	oatab_finish(&h->table);
	free(h);
}

const char *
hosts_lookup(struct hosts *h, const struct addr *a)
{
	struct host_entry *e = oatab_find(&h->table, a, oatab_hash(a, sizeof(*a)));
	return e ? e->name : NULL;
}
