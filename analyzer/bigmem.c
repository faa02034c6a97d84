#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A plain memset after malloc the compiler may turn into calloc, whose
 * fresh pages are the shared zero page until written: a table that reads a
 * slot before it writes it then takes a second, copy-on-write fault with a
 * TLB flush on every page. */
static void *(*volatile const zero)(void *, int, size_t) = memset;

void *
bigmem_alloc(size_t size)
{
	if (size < BIGMEM_HUGE_PAGE)
		return malloc(size ? size : 1);
	size_t rounded = (size + BIGMEM_HUGE_PAGE - 1) / BIGMEM_HUGE_PAGE * BIGMEM_HUGE_PAGE;
	void *p = aligned_alloc(BIGMEM_HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
	if (p)
		madvise(p, rounded, MADV_HUGEPAGE);	/* advice: failure changes nothing */
#endif
	return p;
}

void *
bigmem_zalloc(size_t size)
{
	void *p = bigmem_alloc(size);

	if (p)
		zero(p, 0, size);
	return p;
}

/* The whole huge pages inside [p, p + size) advised; the rest stays 4 KiB. */
static void
advise(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a = ((uintptr_t)p + BIGMEM_HUGE_PAGE - 1) & ~(uintptr_t)(BIGMEM_HUGE_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + size) & ~(uintptr_t)(BIGMEM_HUGE_PAGE - 1);
	if (e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)size;
#endif
}

/* realloc itself, so that a big block grows by mremap (pages moved, not
 * copied: a table of 600 MB does not need 1.2 GB to double), then the new
 * part advised. */
void *
bigmem_realloc(void *p, size_t old_size, size_t size)
{
	if (!p)
		return bigmem_alloc(size);
	void *n = realloc(p, size ? size : 1);
	if (n && size > old_size && size >= BIGMEM_HUGE_PAGE)
		advise(n, size);
	return n;
}

void *
bigmem_grow(void *p, size_t old_size, size_t size)
{
	if (size < BIGMEM_HUGE_PAGE)
		return realloc(p, size ? size : 1);
	void *n = bigmem_alloc(size);
	if (!n)
		return NULL;
	if (p)
		memcpy(n, p, old_size < size ? old_size : size);
	free(p);
	return n;
}
