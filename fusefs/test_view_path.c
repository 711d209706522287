/*
 * test_view_path.c - the path grammar of the mount (view_path.h), in the
 * radix and legacy views, against the spec's worked examples
 * (fs-layouts.md §11) and the invalid names the mount must refuse.
 */
#include <errno.h>
#include <string.h>

#include "fusefs/view_path.h"
#include "unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define ID1 "936ce666-ff3b-4c7a-9674-367fe2120408" /* depth 2, 20120408 */
#define ID2 "e8820616-1462-49b6-9784-e99a32120201" /* depth 2, 20120201 */
#define ID0 "0bba929f-8721-460c-dead-a43c00141025" /* depth 0 = 4 levels */
#define ID1_DIR "/20120408/name/93/6c/" ID1

static struct view_config radix_view, legacy_view;

static void set_up(void)
{
	radix_view.mode = VIEW_MODE_RADIX;
	radix_view.name_branch_base = "name";
	radix_view.naming = crash_naming_default;
	legacy_view = radix_view;
	legacy_view.mode = VIEW_MODE_LEGACY;
}

/* Parses path and checks its kind; returns the parse result. */
static int parse_kind(const struct view_config *config, const char *path,
		      enum view_kind expected, struct view_path *out)
{
	int result = view_path_parse(config, path, out);
	if (out->kind != expected)
		fprintf(stderr, "  %s: kind %s (%s), expected %s\n", path,
			view_kind_name(out->kind),
			out->reason ? out->reason : "-",
			view_kind_name(expected));
	CHECK_INT(out->kind, expected);
	return result;
}

static void check_invalid(const struct view_config *config, const char *path)
{
	struct view_path view;
	int result = parse_kind(config, path, VIEW_INVALID, &view);
	CHECK(result == -ENOENT || result == -ENAMETOOLONG);
	CHECK(result == -ENAMETOOLONG || view.reason != NULL);
}

static void test_top_levels(void)
{
	struct view_path view;

	CHECK_INT(parse_kind(&radix_view, "/", VIEW_ROOT, &view), 0);
	CHECK_STR(view.name, "");
	CHECK_INT(parse_kind(&radix_view, "/20120408", VIEW_DAY, &view), 0);
	CHECK_STR(view.day, "20120408");
	CHECK_INT(parse_kind(&radix_view, "/20120408/name", VIEW_NAME_BRANCH,
			     &view),
		  0);
	CHECK_INT(view.radix_level, 0);
	CHECK_STR(view.prefix, "");
	CHECK_INT(parse_kind(&radix_view, "/20120408/name/93", VIEW_RADIX_DIR,
			     &view),
		  0);
	CHECK_INT(view.radix_level, 1);
	CHECK_STR(view.prefix, "93");
	CHECK_STR(view.name, "93");
	CHECK_INT(parse_kind(&radix_view, "/20120408/name/93/6c",
			     VIEW_RADIX_DIR, &view),
		  0);
	CHECK_INT(view.radix_level, 2);
	CHECK_STR(view.prefix, "936c");
	/* A radix directory deeper than this id's leaf is still a radix
	 * directory: other ids have other depths. */
	CHECK_INT(parse_kind(&radix_view, "/20120408/name/93/6c/ab",
			     VIEW_RADIX_DIR, &view),
		  0);
	CHECK_STR(view.prefix, "936cab");
}

static void test_invalid_top_levels(void)
{
	check_invalid(&radix_view, "");
	check_invalid(&radix_view, "relative/path");
	check_invalid(&radix_view, "/2012040");	 /* 7 digits */
	check_invalid(&radix_view, "/20120431"); /* April 31st */
	check_invalid(&radix_view, "/20130229"); /* not a leap year */
	check_invalid(&radix_view, "/19991231"); /* ids hold 20YY only */
	check_invalid(&radix_view, "/2012-04-08");
	check_invalid(&radix_view, "/20120408/date"); /* the queue branch */
	check_invalid(&radix_view, "/20120408/Name");
	check_invalid(&radix_view, "/20120408/name/9G");
	check_invalid(&radix_view, "/20120408/name/9A"); /* uppercase */
	check_invalid(&radix_view, "/20120408/name/9");
	check_invalid(&radix_view, "/20120408/name/936");
	check_invalid(&radix_view, "/20120408//name");
	check_invalid(&radix_view, "/20120408/name/");
	check_invalid(&radix_view, "/20120408/name/..");
	check_invalid(&radix_view, "/20120408/name/93/../..");
	check_invalid(&radix_view, "/20120408/./name");
	check_invalid(&radix_view, "/..");
	check_invalid(&radix_view, "/.hidden");
	check_invalid(&radix_view, "/lost+found");
	check_invalid(&radix_view, "/.crashfs-spool");
}

static void test_radix_crash_dir(void)
{
	struct view_path view;

	CHECK_INT(parse_kind(&radix_view, ID1_DIR, VIEW_CRASH_DIR, &view), 0);
	CHECK_STR(view.crash_id, ID1);
	CHECK_STR(view.day, "20120408");
	CHECK_STR(view.prefix, "936c");
	CHECK(!view.by_id);

	/* Depth digit 0 means 4 levels (2014 semantics, crash_id.h). */
	CHECK_INT(parse_kind(&radix_view, "/20141025/name/0b/ba/92/9f/" ID0,
			     VIEW_CRASH_DIR, &view),
		  0);
	CHECK_STR(view.crash_id, ID0);
	check_invalid(&radix_view, "/20141025/name/0b/" ID0);

	/* The day must be the id's, the radix path the id's. */
	check_invalid(&radix_view, "/20120409/name/93/6c/" ID1);
	check_invalid(&radix_view, "/20120201/name/93/6c/" ID1);
	check_invalid(&radix_view, "/20120408/name/93/6d/" ID1);
	check_invalid(&radix_view, "/20120408/name/e8/82/" ID1);
	check_invalid(&radix_view, "/20120408/name/93/" ID1);
	check_invalid(&radix_view, "/20120408/name/93/6c/ab/" ID1);
	check_invalid(&radix_view, "/20120408/name/" ID1);
	/* Not crash ids. */
	check_invalid(&radix_view, "/20120408/name/93/6c/"
				   "936CE666-FF3B-4C7A-9674-367FE2120408");
	check_invalid(&radix_view, "/20120408/name/93/6c/" ID1 "x");
	check_invalid(&radix_view, "/20120408/name/93/6c/"
				   "936ce666ff3b4c7a9674367fe2120408");
	/* Month 13. */
	check_invalid(&radix_view, "/20120408/name/93/6c/"
				   "936ce666-ff3b-4c7a-9674-367fe2121308");
	/* A crash directory has files only. */
	check_invalid(&radix_view, ID1_DIR "/sub/" ID1 ".json");
	/* Radix view: a temporary name belongs in a crash directory. */
	check_invalid(&radix_view, "/20120408/name/93/6c/.rsync.tmp");
}

static void test_radix_parts(void)
{
	struct view_path view;

	CHECK_INT(parse_kind(&radix_view, ID1_DIR "/" ID1 ".json",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_STR(view.crash_id, ID1);
	CHECK_INT(view.part.type, CRASH_PART_RAW_CRASH);
	CHECK_STR(view.name, ID1 ".json");

	CHECK_INT(parse_kind(&radix_view, ID1_DIR "/" ID1 ".dump",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_INT(view.part.type, CRASH_PART_DUMP);
	CHECK(view.part.dump_name == NULL);

	CHECK_INT(parse_kind(&radix_view,
			     ID1_DIR "/" ID1
				     ".upload_file_minidump_flash1.dump",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_INT(view.part.type, CRASH_PART_DUMP);
	CHECK_STR(view.part.dump_name, "upload_file_minidump_flash1");
	CHECK(view.part.dump_name == view.dump_name);

	/* One spelling per part: the store reads "<id>..dump" (Socorro's
	 * dated stores wrote a dump named "" so) and
	 * "<id>.upload_file_minidump.dump" as the main dump, so writing
	 * either would silently replace <id>.dump. */
	check_invalid(&radix_view, ID1_DIR "/" ID1 "..dump");
	check_invalid(&radix_view, ID1_DIR "/" ID1 ".upload_file_minidump.dump");
	check_invalid(&legacy_view,
		      "/20120408/name/93/6c/" ID1 ".upload_file_minidump.dump");
	check_invalid(&legacy_view, "/20120408/name/93/6c/" ID1 "..dump");
	check_invalid(&radix_view,
		      "/.crashfs/by-id/" ID1 "/" ID1 ".upload_file_minidump.dump");

	CHECK_INT(parse_kind(&radix_view, ID1_DIR "/" ID1 ".jsonz",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_INT(view.part.type, CRASH_PART_PROCESSED);

	/* rsync's and editors' temporary names of a part: staged only. */
	CHECK_INT(parse_kind(&radix_view, ID1_DIR "/." ID1 ".json.Xa12Zq",
			     VIEW_STAGED_NAME, &view),
		  0);
	CHECK_STR(view.crash_id, ID1);
	CHECK_STR(view.name, "." ID1 ".json.Xa12Zq");
	CHECK_INT(view.part.type, CRASH_PART_RAW_CRASH);
	CHECK_INT(parse_kind(&radix_view,
			     ID1_DIR "/." ID1
				     ".upload_file_minidump_flash1.dump.a1.b2",
			     VIEW_STAGED_NAME, &view),
		  0);
	CHECK_INT(view.part.type, CRASH_PART_DUMP);
	CHECK_STR(view.part.dump_name, "upload_file_minidump_flash1");
	CHECK_INT(parse_kind(&radix_view, ID1_DIR "/." ID1 ".dump.swp",
			     VIEW_STAGED_NAME, &view),
		  0);
	CHECK(view.part.dump_name == NULL);
	CHECK_INT(parse_kind(&radix_view, ID1_DIR "/." ID1 ".jsonz.~tmp~",
			     VIEW_STAGED_NAME, &view),
		  0);
	CHECK_INT(view.part.type, CRASH_PART_PROCESSED);
	/* Hidden names that no rename would make a part: refused, so they
	 * cannot be written and then lost. */
	check_invalid(&radix_view, ID1_DIR "/.hidden");
	check_invalid(&radix_view, ID1_DIR "/.x.tmp");
	check_invalid(&radix_view, ID1_DIR "/." ID1 ".json");
	check_invalid(&radix_view, ID1_DIR "/." ID1 ".json.");
	check_invalid(&radix_view, ID1_DIR "/." ID1 ".json.a b");
	check_invalid(&radix_view, ID1_DIR "/." ID2 ".json.abcdef");
	check_invalid(&radix_view, ID1_DIR "/." ID1 ".txt.abcdef");
	check_invalid(&radix_view, ID1_DIR "/." ID1 "..dump.abcdef");
	check_invalid(&radix_view,
		      ID1_DIR "/." ID1 ".json."
			      "0123456789012345678901234567890123456789"
			      "0123456789012345678901234");
	CHECK_INT(parse_kind(&radix_view,
			     ID1_DIR "/." ID1 ".json."
				     "0123456789012345678901234567890123456789"
				     "012345678901234567890123",
			     VIEW_STAGED_NAME, &view),
		  0);

	check_invalid(&radix_view, ID1_DIR "/" ID1);
	check_invalid(&radix_view, ID1_DIR "/" ID1 ".txt");
	check_invalid(&radix_view, ID1_DIR "/" ID1 ".json~");
	check_invalid(&radix_view, ID1_DIR "/" ID1 ".bad name.dump");
	check_invalid(&radix_view, ID1_DIR "/" ID2 ".json");
	check_invalid(&radix_view, ID1_DIR "/README");
	check_invalid(&radix_view, ID1_DIR "/date_root");
	check_invalid(&radix_view, ID1_DIR "/.");
	check_invalid(&radix_view, ID1_DIR "/..");
}

static void test_control(void)
{
	struct view_path view;

	CHECK_INT(parse_kind(&radix_view, "/.crashfs", VIEW_CONTROL_DIR, &view),
		  0);
	CHECK_INT(parse_kind(&radix_view, "/.crashfs/stats", VIEW_STATS_FILE,
			     &view),
		  0);
	CHECK_INT(parse_kind(&radix_view, "/.crashfs/by-id", VIEW_BY_ID_DIR,
			     &view),
		  0);
	CHECK_INT(parse_kind(&radix_view, "/.crashfs/by-id/" ID1,
			     VIEW_CRASH_DIR, &view),
		  0);
	CHECK(view.by_id);
	CHECK_STR(view.crash_id, ID1);
	CHECK_INT(parse_kind(&radix_view,
			     "/.crashfs/by-id/" ID1 "/" ID1 ".dump",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK(view.by_id);
	CHECK_INT(view.part.type, CRASH_PART_DUMP);
	CHECK_INT(parse_kind(&legacy_view,
			     "/.crashfs/by-id/" ID1 "/" ID1 ".json",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_INT(parse_kind(&legacy_view,
			     "/.crashfs/by-id/" ID1 "/." ID1 ".json.x1",
			     VIEW_STAGED_NAME, &view),
		  0);
	CHECK_STR(view.crash_id, ID1);
	check_invalid(&legacy_view, "/.crashfs/by-id/" ID1 "/.x.tmp");

	check_invalid(&radix_view, "/.crashfs/queue");
	check_invalid(&radix_view, "/.crashfs/stats/x");
	check_invalid(&radix_view, "/.crashfs/by-id/not-a-crash");
	check_invalid(&radix_view, "/.crashfs/by-id/" ID1 "/" ID2 ".json");
	check_invalid(&radix_view, "/.crashfs/by-id/" ID1 "/x/y");
	check_invalid(&radix_view, "/.crashfs/by-id/..");
}

static void test_legacy(void)
{
	struct view_path view;

	CHECK_INT(parse_kind(&legacy_view, "/20120408/name/93/6c/" ID1 ".json",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_STR(view.crash_id, ID1);
	CHECK_STR(view.prefix, "936c");
	CHECK_INT(view.part.type, CRASH_PART_RAW_CRASH);
	CHECK_INT(parse_kind(&legacy_view,
			     "/20120201/name/e8/82/" ID2
			     ".upload_file_minidump_flash1.dump",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_STR(view.part.dump_name, "upload_file_minidump_flash1");
	CHECK_INT(parse_kind(&legacy_view,
			     "/20120408/name/93/6c/." ID1 ".json.abc123",
			     VIEW_STAGED_NAME, &view),
		  0);
	CHECK_STR(view.crash_id, ID1);
	CHECK_INT(view.part.type, CRASH_PART_RAW_CRASH);
	CHECK_STR(view.prefix, "936c");
	CHECK_INT(view.radix_level, 2);
	check_invalid(&legacy_view, "/20120408/name/93/6c/.tmp.abc");
	check_invalid(&legacy_view, "/20120408/name/93/6d/." ID1 ".json.abc");
	check_invalid(&legacy_view, "/20120201/name/e8/82/." ID1 ".json.abc");

	/* No per-crash directories in the legacy view. */
	check_invalid(&legacy_view, "/20120408/name/93/6c/" ID1);
	check_invalid(&legacy_view,
		      "/20120408/name/93/6c/" ID1 "/" ID1 ".json");
	/* Parts must sit in their own leaf. */
	check_invalid(&legacy_view, "/20120408/name/93/" ID1 ".json");
	check_invalid(&legacy_view, "/20120408/name/93/6d/" ID1 ".json");
	check_invalid(&legacy_view, "/20120409/name/93/6c/" ID1 ".json");
	check_invalid(&legacy_view, "/20120408/name/93/6c/" ID1);
	check_invalid(&legacy_view, "/20120408/name/.tmp");
	check_invalid(&legacy_view, "/20120408/name/93/6c/notes.txt");
}

static void test_radix_components(void)
{
	CHECK(view_radix_component_is_valid(0, "93"));
	CHECK(view_radix_component_is_valid(3, "ff"));
	CHECK(!view_radix_component_is_valid(0, "9g"));
	CHECK(!view_radix_component_is_valid(0, "-9"));
	/* Level 5 (index 4) covers id[8..9]: the dash and a hex digit. */
	CHECK(view_radix_component_is_valid(4, "-8"));
	CHECK(!view_radix_component_is_valid(4, "88"));
	CHECK(view_radix_component_is_valid(6, "c-"));
	CHECK(!view_radix_component_is_valid(6, "cc"));
	CHECK(!view_radix_component_is_valid(9, "00"));
	CHECK(!view_radix_component_is_valid(-1, "00"));

	struct view_path view;
	CHECK_INT(parse_kind(&radix_view, "/20120408/name/01/23/45/67/-8",
			     VIEW_RADIX_DIR, &view),
		  0);
	CHECK_INT(view.radix_level, 5);
	check_invalid(&radix_view, "/20120408/name/01/23/45/67/89");
	CHECK_INT(parse_kind(&radix_view,
			     "/20120408/name/01/23/45/67/-8/9a/b-/cd/ef",
			     VIEW_RADIX_DIR, &view),
		  0);
	CHECK_INT(view.radix_level, 9);
	check_invalid(&radix_view,
		      "/20120408/name/01/23/45/67/-8/9a/b-/cd/ef/01");
}

static void test_naming_options(void)
{
	struct view_config config = radix_view;
	struct view_path view;

	config.name_branch_base = "nom";
	config.naming.json_suffix = ".raw";
	config.naming.dump_suffix = ".dmp";
	config.naming.jsonz_suffix = ".jz";
	CHECK_INT(parse_kind(&config, "/20120408/nom/93/6c/" ID1 "/" ID1 ".raw",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_INT(view.part.type, CRASH_PART_RAW_CRASH);
	CHECK_INT(parse_kind(&config,
			     "/20120408/nom/93/6c/" ID1 "/" ID1 ".x.dmp",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_STR(view.part.dump_name, "x");
	check_invalid(&config, "/20120408/name/93");
	check_invalid(&config, "/20120408/nom/93/6c/" ID1 "/" ID1 ".json");

	/* The store's own name of the main dump is its alias. */
	config.main_dump_name = "minidump";
	check_invalid(&config, "/20120408/nom/93/6c/" ID1 "/" ID1
			       ".minidump.dmp");
	CHECK_INT(parse_kind(&config,
			     "/20120408/nom/93/6c/" ID1 "/" ID1
			     ".upload_file_minidump.dmp",
			     VIEW_PART_FILE, &view),
		  0);
	CHECK_STR(view.part.dump_name, "upload_file_minidump");
}

static void test_paths_round_trip(void)
{
	char path[512];
	struct crash_part flash = { CRASH_PART_DUMP,
				    "upload_file_minidump_flash1" };
	struct crash_part raw = { CRASH_PART_RAW_CRASH, NULL };
	struct view_path view;

	CHECK(view_crash_dir_path(&radix_view, ID1, false, path, sizeof path) >
	      0);
	CHECK_STR(path, ID1_DIR);
	CHECK(view_crash_dir_path(&legacy_view, ID1, false, path, sizeof path) >
	      0);
	CHECK_STR(path, "/20120408/name/93/6c");
	CHECK(view_crash_dir_path(&legacy_view, ID1, true, path, sizeof path) >
	      0);
	CHECK_STR(path, "/.crashfs/by-id/" ID1);
	CHECK(view_crash_dir_path(&radix_view, ID0, false, path, sizeof path) >
	      0);
	CHECK_STR(path, "/20141025/name/0b/ba/92/9f/" ID0);
	CHECK_INT(view_crash_dir_path(&radix_view, "nope", false, path,
				      sizeof path),
		  -EINVAL);
	CHECK_INT(view_crash_dir_path(&radix_view, ID1, false, path, 10),
		  -ENAMETOOLONG);

	int length = view_part_path(&radix_view, ID1, &flash, false, path,
				    sizeof path);
	CHECK_INT(length, (int)strlen(path));
	CHECK_STR(path, ID1_DIR "/" ID1 ".upload_file_minidump_flash1.dump");
	CHECK_INT(parse_kind(&radix_view, path, VIEW_PART_FILE, &view), 0);
	CHECK(crash_part_equal(&view.part, &flash));

	CHECK(view_part_path(&legacy_view, ID2, &raw, false, path,
			     sizeof path) > 0);
	CHECK_STR(path, "/20120201/name/e8/82/" ID2 ".json");
	CHECK_INT(parse_kind(&legacy_view, path, VIEW_PART_FILE, &view), 0);
	CHECK(crash_part_equal(&view.part, &raw));

	CHECK(view_radix_dir_path(&radix_view, "20120408", "", path,
				  sizeof path) > 0);
	CHECK_STR(path, "/20120408/name");
	CHECK(view_radix_dir_path(&radix_view, "20120408", "936c", path,
				  sizeof path) > 0);
	CHECK_STR(path, "/20120408/name/93/6c");
}

static void test_copy(void)
{
	struct view_path a, b;
	CHECK_INT(view_path_parse(&radix_view, ID1_DIR "/" ID1 ".x_y.dump", &a),
		  0);
	view_path_copy(&b, &a);
	memset(a.dump_name, 'z', sizeof a.dump_name - 1);
	CHECK(b.part.dump_name == b.dump_name);
	CHECK_STR(b.part.dump_name, "x_y");
	CHECK_INT(view_path_parse(&radix_view, ID1_DIR "/" ID1 ".json", &a), 0);
	view_path_copy(&b, &a);
	CHECK(b.part.dump_name == NULL);
}

static void test_long_names(void)
{
	char path[2048];
	memset(path, 'a', sizeof path);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	struct view_path view;
	CHECK_INT(view_path_parse(&radix_view, path, &view), -ENAMETOOLONG);
	snprintf(path, sizeof path, "%s/%0300d", ID1_DIR, 0);
	CHECK_INT(view_path_parse(&radix_view, path, &view), -ENAMETOOLONG);
}

int main(void)
{
	set_up();
	test_top_levels();
	test_invalid_top_levels();
	test_radix_crash_dir();
	test_radix_parts();
	test_control();
	test_legacy();
	test_radix_components();
	test_naming_options();
	test_paths_round_trip();
	test_copy();
	test_long_names();
	return unit_test_exit("test_view_path");
}
