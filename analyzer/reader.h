/* reader: lines from a plain, gzip, zstd or lz4 (frame format) file, or
 * standard input, detected by content, with a bounded line length. zstd
 * and lz4 are optional at build time (HAVE_ZSTD, HAVE_LZ4). */
#ifndef ANALYZER_READER_H
#define ANALYZER_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longer lines are reported as overlong and skipped, never buffered. */
#define READER_MAX_LINE (1024 * 1024)

enum reader_status {
	READER_LINE,
	READER_EOF,
	READER_ERROR,		/* message already printed; the file is done */
};

struct reader;

struct reader *reader_new(void);
void reader_free(struct reader *r);
/* "-" is standard input. Prints the reason and returns -1 on failure. */
int reader_open(struct reader *r, const char *path);
/* *line is valid until the next call; *overlong lines come back with len 0. */
enum reader_status reader_next(struct reader *r, const char **line, size_t *len,
    bool *overlong);
void reader_close(struct reader *r);

#endif
