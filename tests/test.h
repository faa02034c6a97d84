/*
 * A very small test harness: CHECK records a failure and goes on, so one
 * run reports every broken case of a table. main() returns test_result().
 */
#ifndef NETFLOWD_TEST_H
#define NETFLOWD_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond) do { \
	test_checks++; \
	if (!(cond)) { \
		test_failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_EQ_U(a, b) do { \
	unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b); \
	test_checks++; \
	if (va_ != vb_) { \
		test_failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%llu != %llu)\n", \
		    __FILE__, __LINE__, #a, #b, va_, vb_); \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *sa_ = (a), *sb_ = (b); \
	test_checks++; \
	if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) { \
		test_failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
		    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
	} \
} while (0)

/* CHECK with a message: EXPECT(x == 3, "x is %d", x) */
#define EXPECT(cond, ...) do { \
	test_checks++; \
	if (!(cond)) { \
		test_failures++; \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

static inline int
test_result(const char *name)
{
	fprintf(stderr, "%s: %d checks, %d failed\n", name, test_checks, test_failures);
	return test_failures ? 1 : 0;
}

#endif
