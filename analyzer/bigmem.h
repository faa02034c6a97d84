/* bigmem: memory for the analyzer's big tables, asked for as huge pages.
 *
 * --summary and the statistics fill hundreds of megabytes once; with 4 KiB
 * pages every page is a fault on first touch (on this machine's virtual
 * CPUs a quarter of --summary's time went to the fault path) and every
 * random access into a big array a TLB miss. Allocations of 2 MiB or more
 * are aligned to 2 MiB and advised MADV_HUGEPAGE (transparent huge pages
 * set to madvise, as Debian has them); smaller ones are plain malloc.
 * Everything is released with free(). */
#ifndef ANALYZER_BIGMEM_H
#define ANALYZER_BIGMEM_H

#include <stddef.h>

#define BIGMEM_HUGE_PAGE (2 * 1024 * 1024)

/* Uninitialized, like malloc. */
void *bigmem_alloc(size_t size);
/* Zero-filled, like calloc, but written rather than left to the zero page
 * (see bigmem.c). nmemb * size must not overflow (callers' sizes are
 * bounded far below that). */
void *bigmem_zalloc(size_t size);
/* realloc for a block from bigmem_alloc (or NULL) of old_size bytes, the
 * part it grows by advised as huge pages; NULL (p untouched) when memory
 * ran out. */
void *bigmem_realloc(void *p, size_t old_size, size_t size);
/* The same by a new block and a copy: all of it in huge pages, for the
 * price of old and new side by side meanwhile; for arrays that are a small
 * part of what a run holds (pairing's heap, a tally's rows by id). */
void *bigmem_grow(void *p, size_t old_size, size_t size);

#endif
