#include "sources.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* More inputs than this is a mistake (or a shell glob gone wrong). */
#define SOURCES_MAX 10000000

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool
is_flow_file(const char *name)
{
	return name[0] != '.' && (has_suffix(name, ".json") ||
	    has_suffix(name, ".json.gz") || has_suffix(name, ".json.zst") ||
	    has_suffix(name, ".json.lz4"));
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int
sources_is_slot_name(const char *base)
{
	static const char pattern[] = "DDDDDDDDTDDDDDDZ.json";
	size_t i;

	for (i = 0; pattern[i]; i++) {
		char c = base[i];
		if (pattern[i] == 'D' ? (c < '0' || c > '9') : c != pattern[i])
			return 0;
	}
	return base[i] == '\0' || strcmp(base + i, ".gz") == 0 || strcmp(base + i, ".zst") == 0 ||
	    strcmp(base + i, ".lz4") == 0;
}

static int
push(struct sources *s, size_t *cap, char *path)
{
	if (!path)
		return -1;
	if (s->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **p = ncap <= SOURCES_MAX ? realloc(s->paths, ncap * sizeof(*p)) : NULL;
		if (!p) {
			free(path);
			return -1;
		}
		s->paths = p;
		*cap = ncap;
	}
	s->paths[s->count++] = path;
	return 0;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
compare_bases(const void *a, const void *b)
{
	const char *pa = *(char *const *)a, *pb = *(char *const *)b;
	int c = strcmp(base_name(pa), base_name(pb));
	return c ? c : strcmp(pa, pb);
}

/* A FIFO (or socket, device, directory) that happens to be called *.json
 * would block the walk or is not ours: skip it, and say so. What cannot be
 * stat'ed is kept, so that opening it reports the reason as an error. Named
 * on the command line, a FIFO is read like standard input. */
static bool
regular_or_unknown(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || S_ISREG(st.st_mode))
		return true;
	fprintf(stderr, "netflow-analyze: %s: not a regular file, skipped\n", path);
	return false;
}

static int
add_dir(struct sources *s, size_t *cap, const char *dir, unsigned *errors)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t first = s->count;

	if (!d) {
		fprintf(stderr, "netflow-analyze: %s: %s\n", dir, strerror(errno));
		(*errors)++;
		return 0;
	}
	while ((e = readdir(d))) {
		if (!is_flow_file(e->d_name))
			continue;
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		char *path = malloc(len);
		if (path)
			snprintf(path, len, "%s/%s", dir, e->d_name);
		if (path && !regular_or_unknown(path)) {
			free(path);
			continue;
		}
		if (push(s, cap, path) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	qsort(s->paths + first, s->count - first, sizeof(*s->paths), compare_names);
	return 0;
}

int
sources_init(struct sources *s, char *const *args, size_t nargs, unsigned *errors)
{
	size_t cap = 0;
	bool all_slots = true;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < nargs; i++) {
		struct stat st;
		int r;
		if (strcmp(args[i], "-") != 0 && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode))
			r = add_dir(s, &cap, args[i], errors);
		else
			r = push(s, &cap, strdup(args[i]));
		if (r < 0) {
			sources_finish(s);
			return -1;
		}
	}
	for (size_t i = 0; i < s->count; i++)
		all_slots = all_slots && sources_is_slot_name(base_name(s->paths[i]));
	if (all_slots && s->count > 1)
		qsort(s->paths, s->count, sizeof(*s->paths), compare_bases);
	return 0;
}

void
sources_finish(struct sources *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->paths[i]);
	free(s->paths);
	memset(s, 0, sizeof(*s));
}
