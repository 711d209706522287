/*
 * test_crash_id.c - crash id parsing and radix paths (spec/crash-ids.md,
 * spec/fs-layouts.md section 11).
 */
#include <errno.h>
#include <string.h>

#include "storage/crash_id.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

/* The worked examples of fs-layouts.md section 11 and crash-ids.md. */
#define EXAMPLE_1 "936ce666-ff3b-4c7a-9674-367fe2120408"
#define EXAMPLE_2 "e8820616-1462-49b6-9784-e99a32120201"
#define EXAMPLE_3 "0bba929f-8721-460c-dead-a43c20071025"
#define FORMAT_EXAMPLE "de1bb258-cbbf-4589-a673-34f802141025"

static void check_parse(const char *crash_id, int year, int month, int day,
			int depth, const char *day_name)
{
	struct crash_id_info info;
	memset(&info, 0x5a, sizeof info);
	CHECK_INT(crash_id_parse(crash_id, &info), 0);
	CHECK_INT(info.year, year);
	CHECK_INT(info.month, month);
	CHECK_INT(info.day, day);
	CHECK_INT(info.depth, depth);
	CHECK_STR(info.day_name, day_name);
	CHECK(crash_id_is_valid(crash_id));
}

static void check_radix(const char *crash_id, const char *expected)
{
	char radix[64];
	int length = crash_id_radix_path(crash_id, radix, sizeof radix);
	CHECK_INT(length, (int)strlen(expected));
	if (length >= 0)
		CHECK_STR(radix, expected);
}

static void check_invalid(const char *crash_id)
{
	struct crash_id_info info;
	char radix[64];
	if (crash_id_parse(crash_id, &info) != -EINVAL)
		fprintf(stderr, "accepted: \"%s\"\n", crash_id ? crash_id : "(null)");
	CHECK_INT(crash_id_parse(crash_id, &info), -EINVAL);
	CHECK_INT(crash_id_parse(crash_id, NULL), -EINVAL);
	CHECK(!crash_id_is_valid(crash_id));
	CHECK_INT(crash_id_radix_path(crash_id, radix, sizeof radix), -EINVAL);
}

static void test_worked_examples(void)
{
	check_parse(EXAMPLE_1, 2012, 4, 8, 2, "20120408");
	check_radix(EXAMPLE_1, "93/6c");
	check_parse(EXAMPLE_2, 2012, 2, 1, 2, "20120201");
	check_radix(EXAMPLE_2, "e8/82");
	check_parse(FORMAT_EXAMPLE, 2014, 10, 25, 2, "20141025");
	check_radix(FORMAT_EXAMPLE, "de/1b");
}

/* Depth digit 0 is the 2014 "old hard depth": four levels. */
static void test_depth_zero_is_four_levels(void)
{
	check_parse(EXAMPLE_3, 2007, 10, 25, 4, "20071025");
	check_radix(EXAMPLE_3, "0b/ba/92/9f");
}

/* Levels past the 4th take the characters after index 7, dash included. */
static void test_deep_radix(void)
{
	check_parse("0bba929f-8721-460c-dead-a43c21071025", 2007, 10, 25, 1,
		    "20071025");
	check_radix("0bba929f-8721-460c-dead-a43c21071025", "0b");
	check_radix("0bba929f-8721-460c-dead-a43c23071025", "0b/ba/92");
	check_radix("0bba929f-8721-460c-dead-a43c24071025", "0b/ba/92/9f");
	check_parse("0bba929f-8721-460c-dead-a43c25071025", 2007, 10, 25, 5,
		    "20071025");
	check_radix("0bba929f-8721-460c-dead-a43c25071025", "0b/ba/92/9f/-8");
	check_radix("0bba929f-8721-460c-dead-a43c29071025",
		    "0b/ba/92/9f/-8/72/1-/46/0c");
}

static void test_radix_buffer_size(void)
{
	char radix[16];
	/* "93/6c" needs 6 bytes with its terminator. */
	CHECK_INT(crash_id_radix_path(EXAMPLE_1, radix, 5), -ENAMETOOLONG);
	CHECK_INT(crash_id_radix_path(EXAMPLE_1, radix, 6), 5);
	CHECK_STR(radix, "93/6c");
	/* Four levels: "0b/ba/92/9f" is 11 characters. */
	CHECK_INT(crash_id_radix_path(EXAMPLE_3, radix, 11), -ENAMETOOLONG);
	CHECK_INT(crash_id_radix_path(EXAMPLE_3, radix, 12), 11);
}

/* The ids Socorro HEAD's own tests reject (crash-ids.md section 4). */
static void test_socorro_head_invalid_ids(void)
{
	check_invalid("");
	check_invalid("aaa");
	check_invalid("936ce666ff3b4c7a9674367fe2120408");
	check_invalid("936CE666-FF3B-4C7A-9674-367FE2120408");
	check_invalid("936ce666-ff3b-4c7a-9674-367FE2120408");
	check_invalid("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
	check_invalid(NULL);
}

/* Valid for Socorro's regex but not placeable in a radix tree: crashfs
 * also requires a decimal depth and a calendar date. */
static void test_stricter_than_the_regex(void)
{
	/* HEAD's tests call this valid; its date 00-00-00 does not exist. */
	check_invalid("00000000-0000-0000-0000-000000000000");
	/* The depth character is hex in the regex. */
	check_invalid("936ce666-ff3b-4c7a-9674-367fea120408");
	/* Python's "$" accepts one trailing newline; crashfs does not. */
	check_invalid(EXAMPLE_1 "\n");
}

static void test_syntax_errors(void)
{
	check_invalid("936ce666-ff3b-4c7a-9674-367fe212040");    /* 35 chars */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe21204080");  /* 37 chars */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2120408 ");
	check_invalid(" 936ce666-ff3b-4c7a-9674-367fe212040");
	check_invalid("936ce666_ff3b-4c7a-9674-367fe2120408");
	check_invalid("936ce666-ff3b-4c7a-96743-67fe2120408");   /* dash moved */
	check_invalid("936ce66g-ff3b-4c7a-9674-367fe2120408");   /* not hex */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe21204+8");   /* int() leniency */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2 20408");
	check_invalid("../../../../../../../../../etc/passwd");
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2120408/..");
}

static void test_bad_dates(void)
{
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2120230"); /* Feb 30 */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2130229"); /* 2013 not leap */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2121301"); /* month 13 */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2120001"); /* month 0 */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2120400"); /* day 0 */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2120431"); /* Apr 31 */
	check_invalid("936ce666-ff3b-4c7a-9674-367fe2120132"); /* Jan 32 */
	check_parse("936ce666-ff3b-4c7a-9674-367fe2120229", 2012, 2, 29, 2,
		    "20120229");
	/* 2000 is a leap year (divisible by 400). */
	check_parse("936ce666-ff3b-4c7a-9674-367fe2000229", 2000, 2, 29, 2,
		    "20000229");
	check_parse("936ce666-ff3b-4c7a-9674-367fe2991231", 2099, 12, 31, 2,
		    "20991231");
	check_parse("936ce666-ff3b-4c7a-9674-367fe2120131", 2012, 1, 31, 2,
		    "20120131");
}

static void test_day_names(void)
{
	CHECK(crash_day_is_valid("20120408"));
	CHECK(crash_day_is_valid("20000229"));
	CHECK(crash_day_is_valid("20990101"));
	CHECK(crash_day_is_valid("20071025"));
	/* Two-digit years: only 2000..2099 can hold crashes. */
	CHECK(!crash_day_is_valid("21000101"));
	CHECK(!crash_day_is_valid("19991231"));
	CHECK(!crash_day_is_valid("20120230"));
	CHECK(!crash_day_is_valid("20121301"));
	CHECK(!crash_day_is_valid("20120400"));
	CHECK(!crash_day_is_valid("20130229"));
	CHECK(!crash_day_is_valid("2012040"));
	CHECK(!crash_day_is_valid("201204080"));
	CHECK(!crash_day_is_valid("2012-4-8"));
	CHECK(!crash_day_is_valid("08"));
	CHECK(!crash_day_is_valid(""));
	CHECK(!crash_day_is_valid(NULL));
	CHECK(!crash_day_is_valid("2012040a"));
}

static void test_format(void)
{
	char crash_id[CRASH_ID_LENGTH + 1];
	CHECK_INT(crash_id_format(crash_id, "936ce666-ff3b-4c7a-9674-367fe",
				  2, 2012, 4, 8),
		  0);
	CHECK_STR(crash_id, EXAMPLE_1);
	CHECK_INT(crash_id_format(crash_id, "0bba929f-8721-460c-dead-a43c2",
				  0, 2007, 10, 25),
		  0);
	CHECK_STR(crash_id, EXAMPLE_3);
	/* Only the first 29 characters of a longer head are used. */
	CHECK_INT(crash_id_format(crash_id, EXAMPLE_2, 3, 2020, 2, 29), 0);
	CHECK_STR(crash_id, "e8820616-1462-49b6-9784-e99a33200229");

	const char *head = "936ce666-ff3b-4c7a-9674-367fe";
	CHECK_INT(crash_id_format(crash_id, head, 2, 2012, 2, 30), -EINVAL);
	CHECK_INT(crash_id_format(crash_id, head, 2, 2012, 13, 1), -EINVAL);
	CHECK_INT(crash_id_format(crash_id, head, 2, 2100, 1, 1), -EINVAL);
	CHECK_INT(crash_id_format(crash_id, head, 2, 1999, 1, 1), -EINVAL);
	CHECK_INT(crash_id_format(crash_id, head, 10, 2012, 1, 1), -EINVAL);
	CHECK_INT(crash_id_format(crash_id, head, -1, 2012, 1, 1), -EINVAL);
	CHECK_INT(crash_id_format(crash_id, "936ce666-ff3b", 2, 2012, 1, 1),
		  -EINVAL);
	CHECK_INT(crash_id_format(crash_id, "936CE666-FF3B-4C7A-9674-367FE",
				  2, 2012, 1, 1),
		  -EINVAL);
	CHECK_INT(crash_id_format(crash_id, NULL, 2, 2012, 1, 1), -EINVAL);
}

int main(int argc, char **argv)
{
	test_worked_examples();
	test_depth_zero_is_four_levels();
	test_deep_radix();
	test_radix_buffer_size();
	test_socorro_head_invalid_ids();
	test_stricter_than_the_regex();
	test_syntax_errors();
	test_bad_dates();
	test_day_names();
	test_format();
	return unit_test_exit(argv[0]);
}
