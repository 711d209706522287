/*
 * test_crash_part.c - part file names (spec/fs-layouts.md section 2.4).
 */
#include <errno.h>
#include <string.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define ID "936ce666-ff3b-4c7a-9674-367fe2120408"
#define OTHER_ID "936ce666-aaaa-4c7a-9674-367fe2120408"

static const struct crash_part raw_part = { CRASH_PART_RAW_CRASH, NULL };
static const struct crash_part main_dump = { CRASH_PART_DUMP, NULL };
static const struct crash_part flash_dump = { CRASH_PART_DUMP,
					      "upload_file_minidump_flash1" };
static const struct crash_part processed_part = { CRASH_PART_PROCESSED, NULL };

static void check_file_name(const struct crash_naming *naming,
			    const struct crash_part *part, const char *expected)
{
	char name[256];
	int length = crash_part_file_name(naming, ID, part, name, sizeof name);
	CHECK_INT(length, (int)strlen(expected));
	if (length >= 0)
		CHECK_STR(name, expected);
}

static void test_default_names(void)
{
	const struct crash_naming *naming = &crash_naming_default;
	CHECK_STR(naming->json_suffix, ".json");
	CHECK_STR(naming->dump_suffix, ".dump");
	CHECK_STR(naming->jsonz_suffix, ".jsonz");
	check_file_name(naming, &raw_part, ID ".json");
	check_file_name(naming, &main_dump, ID ".dump");
	check_file_name(naming, &flash_dump,
			ID ".upload_file_minidump_flash1.dump");
	check_file_name(naming, &processed_part, ID ".jsonz");
	struct crash_part dotted = { CRASH_PART_DUMP, "a.b-c_9" };
	check_file_name(naming, &dotted, ID ".a.b-c_9.dump");
}

static void test_custom_suffixes(void)
{
	const struct crash_naming naming = { ".raw", ".bin", ".pz" };
	check_file_name(&naming, &raw_part, ID ".raw");
	check_file_name(&naming, &main_dump, ID ".bin");
	check_file_name(&naming, &flash_dump,
			ID ".upload_file_minidump_flash1.bin");
	check_file_name(&naming, &processed_part, ID ".pz");
}

static void test_invalid_dump_names(void)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "trailing.", "a/b", "a b", "a\nb",
		"x\xc3\xa9", "a*", "../../etc", NULL,
	};
	char name[512];
	for (size_t i = 0; bad[i]; i++) {
		struct crash_part part = { CRASH_PART_DUMP, bad[i] };
		CHECK(!crash_dump_name_is_valid(bad[i]));
		CHECK_INT(crash_part_file_name(&crash_naming_default, ID, &part,
					       name, sizeof name),
			  -EINVAL);
	}
	CHECK(!crash_dump_name_is_valid(NULL));

	char longest[CRASH_DUMP_NAME_MAX + 2];
	memset(longest, 'x', sizeof longest);
	longest[CRASH_DUMP_NAME_MAX] = '\0';
	CHECK(crash_dump_name_is_valid(longest));
	longest[CRASH_DUMP_NAME_MAX] = 'x';
	longest[CRASH_DUMP_NAME_MAX + 1] = '\0';
	CHECK(!crash_dump_name_is_valid(longest));

	CHECK(crash_dump_name_is_valid("upload_file_minidump_browser"));
	CHECK(crash_dump_name_is_valid("A-Z.0_9"));
}

static void test_name_too_long(void)
{
	char name[64];
	/* ID.json is 41 characters: 42 bytes with the terminator. */
	CHECK_INT(crash_part_file_name(&crash_naming_default, ID, &raw_part,
				       name, 41),
		  -ENAMETOOLONG);
	CHECK_INT(crash_part_file_name(&crash_naming_default, ID, &raw_part,
				       name, 42),
		  41);
	CHECK_INT(crash_part_file_name(&crash_naming_default, ID, &flash_dump,
				       name, sizeof name),
		  -ENAMETOOLONG);
}

static void check_parse(const struct crash_naming *naming,
			const char *file_name,
			const struct crash_part *expected)
{
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	struct crash_part part = { 0, "garbage" };
	int result = crash_part_parse_file_name(naming, ID, file_name, &part,
						name_buf, sizeof name_buf);
	CHECK_INT(result, 0);
	if (result == 0) {
		CHECK(crash_part_equal(&part, expected));
		if (expected->dump_name)
			CHECK_STR(part.dump_name, expected->dump_name);
		else
			CHECK(part.dump_name == NULL);
	}
}

static void check_parse_fails(const struct crash_naming *naming,
			      const char *file_name)
{
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	struct crash_part part;
	int result = crash_part_parse_file_name(naming, ID, file_name, &part,
						name_buf, sizeof name_buf);
	if (result != -EINVAL)
		fprintf(stderr, "parsed: \"%s\"\n", file_name);
	CHECK_INT(result, -EINVAL);
}

static void test_parse(void)
{
	const struct crash_naming *naming = &crash_naming_default;
	check_parse(naming, ID ".json", &raw_part);
	check_parse(naming, ID ".dump", &main_dump);
	check_parse(naming, ID ".upload_file_minidump_flash1.dump",
		    &flash_dump);
	check_parse(naming, ID ".jsonz", &processed_part);
	struct crash_part dotted = { CRASH_PART_DUMP, "x.y" };
	check_parse(naming, ID ".x.y.dump", &dotted);
	/* A dump named "json" is a dump, not the raw crash. */
	struct crash_part json_dump = { CRASH_PART_DUMP, "json" };
	check_parse(naming, ID ".json.dump", &json_dump);
}

/* Socorro's dated stores wrote the dump named "" as "<id>..dump". */
static void test_double_dot_is_the_main_dump(void)
{
	check_parse(&crash_naming_default, ID "..dump", &main_dump);
}

static void test_parse_rejects(void)
{
	const struct crash_naming *naming = &crash_naming_default;
	check_parse_fails(naming, ID);
	check_parse_fails(naming, ID ".");
	check_parse_fails(naming, ID ".txt");
	check_parse_fails(naming, ID ".jso");
	check_parse_fails(naming, ID ".json.gz");
	check_parse_fails(naming, ID "json");
	check_parse_fails(naming, ID "dump");
	check_parse_fails(naming, ID "x.dump");
	check_parse_fails(naming, ID "...dump");
	check_parse_fails(naming, ID ".a b.dump");
	check_parse_fails(naming, ID ".a/b.dump");
	check_parse_fails(naming, ID ".x..dump");
	check_parse_fails(naming, OTHER_ID ".json");
	check_parse_fails(naming, "date_root");
	check_parse_fails(naming, "..");
	check_parse_fails(naming, "");
	check_parse_fails(naming, ".936ce666-ff3b-4c7a-9674-367fe2120408.json.Xa1b2c");
}

static void test_parse_name_buffer_too_small(void)
{
	char name_buf[8];
	struct crash_part part;
	CHECK_INT(crash_part_parse_file_name(&crash_naming_default, ID,
					     ID ".upload_file_minidump_flash1.dump",
					     &part, name_buf, sizeof name_buf),
		  -EINVAL);
}

static void test_round_trip_custom_suffixes(void)
{
	const struct crash_naming naming = { ".raw", ".bin", ".pz" };
	const struct crash_part *parts[] = { &raw_part, &main_dump, &flash_dump,
					     &processed_part };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		char name[256];
		REQUIRE(crash_part_file_name(&naming, ID, parts[i], name,
					     sizeof name) > 0);
		check_parse(&naming, name, parts[i]);
		/* The default suffixes do not apply to this naming. */
		check_parse_fails(&crash_naming_default, name);
	}
	check_parse_fails(&naming, ID ".json");
	check_parse_fails(&naming, ID ".dump");
	check_parse(&naming, ID "..bin", &main_dump);
}

static void test_parse_any(void)
{
	char crash_id[CRASH_ID_LENGTH + 1];
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	struct crash_part part;
	const struct crash_naming *naming = &crash_naming_default;

	CHECK_INT(crash_part_parse_any(naming, OTHER_ID ".dump", crash_id,
				       &part, name_buf, sizeof name_buf),
		  0);
	CHECK_STR(crash_id, OTHER_ID);
	CHECK(crash_part_equal(&part, &main_dump));

	CHECK_INT(crash_part_parse_any(naming,
				       ID ".upload_file_minidump_flash1.dump",
				       crash_id, &part, name_buf,
				       sizeof name_buf),
		  0);
	CHECK_STR(crash_id, ID);
	CHECK(crash_part_equal(&part, &flash_dump));

	CHECK_INT(crash_part_parse_any(naming, ID ".jsonz", crash_id, &part,
				       name_buf, sizeof name_buf),
		  0);
	CHECK_INT(part.type, CRASH_PART_PROCESSED);

	/* The legacy-dated name-side link is named <id>: not a part. */
	CHECK_INT(crash_part_parse_any(naming, ID, crash_id, &part, name_buf,
				       sizeof name_buf),
		  -EINVAL);
	CHECK_INT(crash_part_parse_any(naming,
				       "936CE666-FF3B-4C7A-9674-367FE2120408.json",
				       crash_id, &part, name_buf,
				       sizeof name_buf),
		  -EINVAL);
	CHECK_INT(crash_part_parse_any(naming,
				       "936ce666-ff3b-4c7a-9674-367fe2120230.json",
				       crash_id, &part, name_buf,
				       sizeof name_buf),
		  -EINVAL);
	CHECK_INT(crash_part_parse_any(naming, "date_root", crash_id, &part,
				       name_buf, sizeof name_buf),
		  -EINVAL);
	CHECK_INT(crash_part_parse_any(naming, ID ".txt", crash_id, &part,
				       name_buf, sizeof name_buf),
		  -EINVAL);
}

static void test_equal(void)
{
	struct crash_part flash_copy = { CRASH_PART_DUMP, NULL };
	char name[] = "upload_file_minidump_flash1";
	flash_copy.dump_name = name;
	CHECK(crash_part_equal(&flash_dump, &flash_copy));
	CHECK(crash_part_equal(&main_dump, &main_dump));
	CHECK(!crash_part_equal(&main_dump, &flash_dump));
	CHECK(!crash_part_equal(&flash_dump, &main_dump));
	CHECK(!crash_part_equal(&raw_part, &processed_part));
	CHECK(!crash_part_equal(&raw_part, &main_dump));
	struct crash_part other = { CRASH_PART_DUMP, "upload_file_minidump_flash2" };
	CHECK(!crash_part_equal(&flash_dump, &other));
}

int main(int argc, char **argv)
{
	test_default_names();
	test_custom_suffixes();
	test_invalid_dump_names();
	test_name_too_long();
	test_parse();
	test_double_dot_is_the_main_dump();
	test_parse_rejects();
	test_parse_name_buffer_too_small();
	test_round_trip_custom_suffixes();
	test_parse_any();
	test_equal();
	return unit_test_exit(argv[0]);
}
