/* sources: the command line's FILE|DIR|- arguments expanded into the list
 * of inputs to read, in reading order. */
#ifndef ANALYZER_SOURCES_H
#define ANALYZER_SOURCES_H

#include <stddef.h>

struct sources {
	char **paths;		/* "-" is standard input */
	size_t count;
};

/* Directories contribute their *.json, *.json.gz, *.json.zst and *.json.lz4
 * regular files in name order, skipping hidden (in-progress) files and, with
 * a warning, anything else (a FIFO would block the walk). When every input is a
 * netflowd file name (YYYYMMDDTHHMMSSZ.json...), all are read in name order,
 * i.e. in time order, whatever order they were given in. Unreadable
 * directories are reported on stderr and count in *errors. */
int sources_init(struct sources *s, char *const *args, size_t nargs, unsigned *errors);
void sources_finish(struct sources *s);
/* True for the collector's file names. */
int sources_is_slot_name(const char *base);

#endif
