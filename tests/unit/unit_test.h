/*
 * unit_test.h - the few macros the C unit tests share.
 *
 * A test program is a main() calling test functions; CHECK records a
 * failure with file and line and goes on, REQUIRE returns from the current
 * test function.  unit_test_exit() prints "N passed, N failed" and returns
 * the exit status meson test expects.
 */
#ifndef CRASHFS_TESTS_UNIT_TEST_H
#define CRASHFS_TESTS_UNIT_TEST_H

#include <stdio.h>
#include <string.h>

extern int unit_test_checks_passed;
extern int unit_test_checks_failed;

#define UNIT_TEST_DEFINE_COUNTERS \
	int unit_test_checks_passed; \
	int unit_test_checks_failed

#define CHECK(condition) \
	do { \
		if (condition) { \
			unit_test_checks_passed++; \
		} else { \
			unit_test_checks_failed++; \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #condition); \
		} \
	} while (0)

#define CHECK_STR(actual, expected) \
	do { \
		const char *actual_ = (actual), *expected_ = (expected); \
		if (actual_ && expected_ && strcmp(actual_, expected_) == 0) { \
			unit_test_checks_passed++; \
		} else { \
			unit_test_checks_failed++; \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #actual, \
				actual_ ? actual_ : "(null)", \
				expected_ ? expected_ : "(null)"); \
		} \
	} while (0)

#define CHECK_INT(actual, expected) \
	do { \
		long long actual_ = (long long)(actual); \
		long long expected_ = (long long)(expected); \
		if (actual_ == expected_) { \
			unit_test_checks_passed++; \
		} else { \
			unit_test_checks_failed++; \
			fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", \
				__FILE__, __LINE__, #actual, actual_, \
				expected_); \
		} \
	} while (0)

#define REQUIRE(condition) \
	do { \
		if (!(condition)) { \
			unit_test_checks_failed++; \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, \
				__LINE__, #condition); \
			return; \
		} \
		unit_test_checks_passed++; \
	} while (0)

static inline int unit_test_exit(const char *program)
{
	printf("%s: %d passed, %d failed\n", program, unit_test_checks_passed,
	       unit_test_checks_failed);
	return unit_test_checks_failed ? 1 : 0;
}

#endif
