/*
 * test_fs_layouts.c - the four layouts write Socorro's trees byte for byte
 * (spec/fs-layouts.md §11: every path, mode and link target), and read
 * them back: stat, open, list_parts, list_days, list_radix.
 *
 * The process umask is set to 077 first: the modes seen must come from the
 * store's umask option alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/crash_listing.h"
#include "storage/crash_log.h"
#include "storage/fs/fs_store.h"
#include "tests/unit/fs/fs_test_util.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define A ID_A
#define E ID_E
#define OLD ID_OLD
#define LEAF_A "20120408/name/93/6c"
#define DIR_A LEAF_A "/" A

static const char *const example1_radix[] = {
	"d 0755 20120408",
	"d 0755 20120408/name",
	"d 0755 20120408/name/93",
	"d 0755 " LEAF_A,
	"d 0755 " DIR_A,
	"f 0644 " DIR_A "/" A ".dump",
	"f 0644 " DIR_A "/" A ".json",
	"f 0644 " DIR_A "/" A ".jsonz",
	"f 0644 " DIR_A "/" A ".upload_file_minidump_flash1.dump",
	NULL,
};

static const char *const example1_dated[] = {
	"d 0755 20120408",
	"d 0755 20120408/date",
	"d 0755 20120408/date/10",
	"d 0755 20120408/date/10/52_10",
	"l 20120408/date/10/52_10/" A " -> ../../../name/93/6c/" A,
	"d 0755 20120408/name",
	"d 0755 20120408/name/93",
	"d 0755 " LEAF_A,
	"d 0755 " DIR_A,
	"f 0644 " DIR_A "/" A ".dump",
	"f 0644 " DIR_A "/" A ".json",
	"f 0644 " DIR_A "/" A ".jsonz",
	"f 0644 " DIR_A "/" A ".upload_file_minidump_flash1.dump",
	"l " DIR_A "/date_root -> ../../../../date/10/52_10",
	NULL,
};

static const char *const example1_legacy[] = {
	"d 0755 20120408",
	"d 0755 20120408/name",
	"d 0755 20120408/name/93",
	"d 0755 " LEAF_A,
	"f 0644 " LEAF_A "/" A ".dump",
	"f 0644 " LEAF_A "/" A ".json",
	"f 0644 " LEAF_A "/" A ".jsonz",
	"f 0644 " LEAF_A "/" A ".upload_file_minidump_flash1.dump",
	NULL,
};

static const char *const example1_legacy_dated[] = {
	"d 0755 20120408",
	"d 0755 20120408/date",
	"d 0755 20120408/date/10",
	"d 0755 20120408/date/10/52_10",
	"l 20120408/date/10/52_10/" A " -> ../../../name/93/6c",
	"d 0755 20120408/name",
	"d 0755 20120408/name/93",
	"d 0755 " LEAF_A,
	"l " LEAF_A "/" A " -> ../../../date/10/52_10",
	"f 0644 " LEAF_A "/" A ".dump",
	"f 0644 " LEAF_A "/" A ".json",
	"f 0644 " LEAF_A "/" A ".jsonz",
	"f 0644 " LEAF_A "/" A ".upload_file_minidump_flash1.dump",
	NULL,
};

#define LEAF_E "20120201/name/e8/82"
#define DIR_E LEAF_E "/" E

static const char *const example2_dated[] = {
	"d 0755 20120201",
	"d 0755 20120201/date",
	"d 0755 20120201/date/10",
	"d 0755 20120201/date/10/52_10",
	"l 20120201/date/10/52_10/" E " -> ../../../name/e8/82/" E,
	"d 0755 20120201/name",
	"d 0755 20120201/name/e8",
	"d 0755 " LEAF_E,
	"d 0755 " DIR_E,
	"l " DIR_E "/date_root -> ../../../../date/10/52_10",
	"f 0644 " DIR_E "/" E ".dump",
	"f 0644 " DIR_E "/" E ".json",
	"f 0644 " DIR_E "/" E ".jsonz",
	"f 0644 " DIR_E "/" E ".upload_file_minidump_flash1.dump",
	NULL,
};

static const char *const example2_legacy_dated[] = {
	"d 0755 20120201",
	"d 0755 20120201/date",
	"d 0755 20120201/date/10",
	"d 0755 20120201/date/10/52_10",
	"l 20120201/date/10/52_10/" E " -> ../../../name/e8/82",
	"d 0755 20120201/name",
	"d 0755 20120201/name/e8",
	"d 0755 " LEAF_E,
	"l " LEAF_E "/" E " -> ../../../date/10/52_10",
	"f 0644 " LEAF_E "/" E ".dump",
	"f 0644 " LEAF_E "/" E ".json",
	"f 0644 " LEAF_E "/" E ".jsonz",
	"f 0644 " LEAF_E "/" E ".upload_file_minidump_flash1.dump",
	NULL,
};

#define LEAF_OLD "20071025/name/0b/ba/92/9f"
#define DIR_OLD LEAF_OLD "/" OLD

static const char *const example3_radix[] = {
	"d 0755 20071025",
	"d 0755 20071025/name",
	"d 0755 20071025/name/0b",
	"d 0755 20071025/name/0b/ba",
	"d 0755 20071025/name/0b/ba/92",
	"d 0755 " LEAF_OLD,
	"d 0755 " DIR_OLD,
	"f 0644 " DIR_OLD "/" OLD ".dump",
	"f 0644 " DIR_OLD "/" OLD ".json",
	"f 0644 " DIR_OLD "/" OLD ".jsonz",
	"f 0644 " DIR_OLD "/" OLD ".upload_file_minidump_flash1.dump",
	NULL,
};

static const char *const example3_dated[] = {
	"d 0755 20071025",
	"d 0755 20071025/date",
	"d 0755 20071025/date/10",
	"d 0755 20071025/date/10/52_10",
	"l 20071025/date/10/52_10/" OLD " -> ../../../name/0b/ba/92/9f/" OLD,
	"d 0755 20071025/name",
	"d 0755 20071025/name/0b",
	"d 0755 20071025/name/0b/ba",
	"d 0755 20071025/name/0b/ba/92",
	"d 0755 " LEAF_OLD,
	"d 0755 " DIR_OLD,
	"f 0644 " DIR_OLD "/" OLD ".dump",
	"f 0644 " DIR_OLD "/" OLD ".json",
	"f 0644 " DIR_OLD "/" OLD ".jsonz",
	"f 0644 " DIR_OLD "/" OLD ".upload_file_minidump_flash1.dump",
	"l " DIR_OLD "/date_root -> ../../../../../../date/10/52_10",
	NULL,
};

static const char *const example3_legacy[] = {
	"d 0755 20071025",
	"d 0755 20071025/name",
	"d 0755 20071025/name/0b",
	"d 0755 20071025/name/0b/ba",
	"d 0755 20071025/name/0b/ba/92",
	"d 0755 " LEAF_OLD,
	"f 0644 " LEAF_OLD "/" OLD ".dump",
	"f 0644 " LEAF_OLD "/" OLD ".json",
	"f 0644 " LEAF_OLD "/" OLD ".jsonz",
	"f 0644 " LEAF_OLD "/" OLD ".upload_file_minidump_flash1.dump",
	NULL,
};

static const char *const example3_legacy_dated[] = {
	"d 0755 20071025",
	"d 0755 20071025/date",
	"d 0755 20071025/date/10",
	"d 0755 20071025/date/10/52_10",
	"l 20071025/date/10/52_10/" OLD " -> ../../../name/0b/ba/92/9f",
	"d 0755 20071025/name",
	"d 0755 20071025/name/0b",
	"d 0755 20071025/name/0b/ba",
	"d 0755 20071025/name/0b/ba/92",
	"d 0755 " LEAF_OLD,
	"l " LEAF_OLD "/" OLD " -> ../../../../../date/10/52_10",
	"f 0644 " LEAF_OLD "/" OLD ".dump",
	"f 0644 " LEAF_OLD "/" OLD ".json",
	"f 0644 " LEAF_OLD "/" OLD ".jsonz",
	"f 0644 " LEAF_OLD "/" OLD ".upload_file_minidump_flash1.dump",
	NULL,
};

static const enum fs_layout all_layouts[] = {
	FS_LAYOUT_RADIX, FS_LAYOUT_LEGACY, FS_LAYOUT_DATED,
	FS_LAYOUT_LEGACY_DATED
};

/* expected with the modes of umask 2 instead of 022. */
static char *with_umask_2(const char *expected)
{
	char *copy = strdup(expected);
	for (char *p = copy; (p = strstr(p, " 0755 ")) != NULL; p += 6)
		p[3] = '7';
	for (char *p = copy; (p = strstr(p, " 0644 ")) != NULL; p += 6)
		p[3] = '6';
	return copy;
}

static void check_tree(const char *root, const char *const *lines,
		       unsigned umask_value)
{
	char *tree = test_tree(root);
	char *expected = test_lines(lines);
	if (umask_value == 2) {
		char *adjusted = with_umask_2(expected);
		free(expected);
		expected = adjusted;
	}
	CHECK_STR(tree, expected);
	free(tree);
	free(expected);
}

static void check_example_files(const char *root, const char *parent,
				const char *crash_id)
{
	char path[PATH_MAX], raw[256];
	test_example_raw(crash_id, raw, sizeof raw);
	CHECK(test_file_equals(test_path(path, sizeof path, "%s/%s/%s.json",
					 root, parent, crash_id),
			       raw, strlen(raw)));
	CHECK(test_file_equals(test_path(path, sizeof path, "%s/%s/%s.dump",
					 root, parent, crash_id),
			       test_example_dump, test_example_dump_size));
	CHECK(test_file_equals(
		test_path(path, sizeof path,
			  "%s/%s/%s.upload_file_minidump_flash1.dump", root,
			  parent, crash_id),
		test_example_flash1, test_example_flash1_size));
	CHECK(test_file_equals(test_path(path, sizeof path, "%s/%s/%s.jsonz",
					 root, parent, crash_id),
			       test_example_jsonz, test_example_jsonz_size));
	/* Socorro's copy keeps the mtime: so does every save. */
	struct stat st;
	test_path(path, sizeof path, "%s/%s/%s.json", root, parent, crash_id);
	CHECK(stat(path, &st) == 0 && st.st_mtim.tv_sec == 1333882362 &&
	      st.st_mtim.tv_nsec == 250000000);
}

static const char *const *example1_for(enum fs_layout layout)
{
	switch (layout) {
	case FS_LAYOUT_RADIX:
		return example1_radix;
	case FS_LAYOUT_LEGACY:
		return example1_legacy;
	case FS_LAYOUT_DATED:
		return example1_dated;
	default:
		return example1_legacy_dated;
	}
}

static void test_example1(enum fs_layout layout, unsigned umask_value)
{
	struct test_scratch s;
	REQUIRE(test_scratch_open(&s, "ex1", layout, umask_value, 4));
	CHECK_INT(test_save_example(s.store, s.spool, A), 0);
	/* The root itself is made with the store's mode too. */
	CHECK_INT(test_mode(s.root), umask_value == 2 ? 0775 : 0755);
	check_tree(s.root, example1_for(layout), umask_value);
	bool legacy = layout == FS_LAYOUT_LEGACY ||
		      layout == FS_LAYOUT_LEGACY_DATED;
	check_example_files(s.root, legacy ? LEAF_A : DIR_A, A);
	test_scratch_close(&s);
}

static void test_example2(void)
{
	static const struct {
		enum fs_layout layout;
		const char *const *lines;
	} cases[] = {
		{ FS_LAYOUT_DATED, example2_dated },
		{ FS_LAYOUT_LEGACY_DATED, example2_legacy_dated },
	};
	for (size_t i = 0; i < 2; i++) {
		struct test_scratch s;
		REQUIRE(test_scratch_open(&s, "ex2", cases[i].layout, 022, 4));
		CHECK_INT(test_save_example(s.store, s.spool, E), 0);
		check_tree(s.root, cases[i].lines, 022);
		check_example_files(s.root,
				    cases[i].layout == FS_LAYOUT_DATED ? DIR_E
								       : LEAF_E,
				    E);
		/* "20120201" < "20120408": handed out at once, during the
		 * very slot it was written in. */
		struct test_names names = { 0 };
		struct crash_call call;
		crash_call_init(&call);
		CHECK_INT(test_consume_new_crashes(s.store, &call, &names),
			  0);
		CHECK_INT(names.count, 1);
		CHECK_STR(names.names[0], E);
		char path[PATH_MAX];
		CHECK(!test_exists(test_path(path, sizeof path,
					     "%s/20120201/date/10/52_10",
					     s.root)));
		test_scratch_close(&s);
	}
}

static void test_example3(void)
{
	const char *const *expected[] = { example3_radix, example3_legacy,
					  example3_dated,
					  example3_legacy_dated };
	for (size_t i = 0; i < 4; i++) {
		struct test_scratch s;
		REQUIRE(test_scratch_open(&s, "ex3", all_layouts[i], 022, 4));
		CHECK_INT(test_save_example(s.store, s.spool, OLD), 0);
		check_tree(s.root, expected[i], 022);
		bool legacy = all_layouts[i] == FS_LAYOUT_LEGACY ||
			      all_layouts[i] == FS_LAYOUT_LEGACY_DATED;
		check_example_files(s.root, legacy ? LEAF_OLD : DIR_OLD, OLD);
		test_scratch_close(&s);
	}
}

/* -- reading ------------------------------------------------------------- */

struct part_list {
	int count;
	int raw, processed, main_dump, flash1, other;
	struct crash_part_stat main_stat;
};

static int collect_part(void *ctx, const struct crash_part *part,
			const struct crash_part_stat *stat)
{
	struct part_list *list = ctx;
	list->count++;
	if (part->type == CRASH_PART_RAW_CRASH) {
		list->raw++;
	} else if (part->type == CRASH_PART_PROCESSED) {
		list->processed++;
	} else if (!part->dump_name) {
		list->main_dump++;
		list->main_stat = *stat;
	} else if (strcmp(part->dump_name, "upload_file_minidump_flash1") ==
		   0) {
		list->flash1++;
	} else {
		list->other++;
	}
	return 0;
}

static void test_reads(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	REQUIRE(test_scratch_open(&s, "read", layout, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	crash_call_init(&call);

	CHECK_INT(crash_store_stat_crash(s.store, &call, A, NULL), 0);
	/* B shares A's leaf in the legacy layouts: still not here. */
	CHECK_INT(crash_store_stat_crash(s.store, &call, ID_B, NULL), -ENOENT);
	CHECK(strstr(call.error.message, ID_B) != NULL);
	CHECK_INT(crash_store_stat_crash(s.store, &call, "not-an-id", NULL),
		  -EINVAL);
	CHECK_INT(crash_store_stat_crash(s.store, &call,
					 "936CE666-ff3b-4c7a-9674-367fe2120408", NULL),
		  -EINVAL);

	struct part_list list = { 0 };
	CHECK_INT(crash_store_list_parts(s.store, &call, A, collect_part,
					 &list),
		  0);
	CHECK_INT(list.count, 4);
	CHECK_INT(list.raw, 1);
	CHECK_INT(list.processed, 1);
	CHECK_INT(list.main_dump, 1);
	CHECK_INT(list.flash1, 1);
	CHECK_INT(list.main_stat.size, (long long)test_example_dump_size);
	CHECK_INT(list.main_stat.mode, 0644);
	CHECK_INT(list.main_stat.mtime.tv_sec, 1333882300);
	struct part_list none = { 0 };
	CHECK_INT(crash_store_list_parts(s.store, &call, ID_B, collect_part,
					 &none),
		  -ENOENT);
	CHECK_INT(none.count, 0);

	/* The main dump answers to NULL, "" and dump_field alike. */
	const char *main_names[] = { NULL, "", "upload_file_minidump" };
	for (int i = 0; i < 3; i++) {
		struct crash_part part = { CRASH_PART_DUMP, main_names[i] };
		struct crash_part_stat stat;
		int fd = -1;
		CHECK_INT(crash_store_open_part(s.store, &call, A, &part,
						&stat, &fd),
			  0);
		REQUIRE(fd >= 0);
		char buffer[64];
		ssize_t got = pread(fd, buffer, sizeof buffer, 0);
		CHECK_INT(got, (long long)test_example_dump_size);
		CHECK(got > 0 && memcmp(buffer, test_example_dump,
					(size_t)got) == 0);
		CHECK_INT(stat.size, (long long)test_example_dump_size);
		CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
		CHECK_INT(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
		close(fd);
	}
	struct crash_part processed = { CRASH_PART_PROCESSED, NULL };
	struct crash_part_stat stat;
	CHECK_INT(crash_store_stat_part(s.store, &call, A, &processed, &stat),
		  0);
	CHECK_INT(stat.size, (long long)test_example_jsonz_size);
	CHECK_INT(stat.mtime.tv_sec, 1333882600);
	CHECK_INT(stat.mtime.tv_nsec, 250000000);
	struct crash_part absent = { CRASH_PART_DUMP, "upload_file_minidump_flash2" };
	CHECK_INT(crash_store_stat_part(s.store, &call, A, &absent, &stat),
		  -ENOENT);
	CHECK_INT(crash_store_stat_part(s.store, &call, ID_B, &processed,
					&stat),
		  -ENOENT);
	int fd = -1;
	CHECK_INT(crash_store_open_part(s.store, &call, ID_B, &processed,
					&stat, &fd),
		  -ENOENT);
	struct crash_part bad = { CRASH_PART_DUMP, "../etc" };
	CHECK_INT(crash_store_stat_part(s.store, &call, A, &bad, &stat),
		  -EINVAL);
	test_scratch_close(&s);
}

/* A dump named "" is the main dump in every layout (Socorro's dated
 * stores wrote <id>..dump). */
static void test_empty_dump_name(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	struct test_blob raw, dump, second;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "emptyname", layout, 022, 4));
	crash_call_init(&call);
	REQUIRE(test_blob_make(&raw, s.spool, "{}", 2, 1000) == 0);
	REQUIRE(test_blob_make(&dump, s.spool, "first", 5, 1000) == 0);
	REQUIRE(test_blob_make(&second, s.spool, "second", 6, 1000) == 0);
	struct crash_dump dumps[1] = { { "", dump.blob } };
	CHECK_INT(crash_store_save_raw_crash(s.store, &call, A, &raw.blob,
					     dumps, 1),
		  0);
	bool legacy = layout == FS_LAYOUT_LEGACY ||
		      layout == FS_LAYOUT_LEGACY_DATED;
	const char *parent = legacy ? LEAF_A : DIR_A;
	CHECK(test_file_equals(test_path(path, sizeof path, "%s/%s/%s.dump",
					 s.root, parent, A),
			       "first", 5));
	CHECK(!test_exists(test_path(path, sizeof path, "%s/%s/%s..dump",
				     s.root, parent, A)));
	/* save_dump by the explicit dump_field name replaces the same file. */
	struct crash_dump by_name = { "upload_file_minidump", second.blob };
	CHECK_INT(crash_store_save_dump(s.store, &call, A, &by_name), 0);
	CHECK(test_file_equals(test_path(path, sizeof path, "%s/%s/%s.dump",
					 s.root, parent, A),
			       "second", 6));
	struct part_list list = { 0 };
	CHECK_INT(crash_store_list_parts(s.store, &call, A, collect_part,
					 &list),
		  0);
	CHECK_INT(list.count, 2);
	CHECK_INT(list.main_dump, 1);
	/* Invalid dump names write nothing. */
	const char *invalid[] = { "a/b", ".hidden", "trailing.", "sp ace",
				  "..", "x\n" };
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		struct crash_dump bad = { invalid[i], second.blob };
		CHECK_INT(crash_store_save_dump(s.store, &call, A, &bad),
			  -EINVAL);
		CHECK_INT(crash_store_save_raw_crash(s.store, &call, ID_B,
						     &raw.blob, &bad, 1),
			  -EINVAL);
		CHECK_INT(crash_store_stat_crash(s.store, &call, ID_B, NULL),
			  -ENOENT);
	}
	CHECK_INT(crash_store_save_raw_crash(s.store, &call, "bad-id",
					     &raw.blob, NULL, 0),
		  -EINVAL);
	CHECK(strstr(call.error.message, "bad-id") != NULL);
	test_blob_free(&raw);
	test_blob_free(&dump);
	test_blob_free(&second);
	test_scratch_close(&s);
}

static void test_listing_days(void)
{
	struct test_scratch s;
	struct crash_call call;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "days", FS_LAYOUT_DATED, 022, 4));
	crash_call_init(&call);
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	REQUIRE(test_save_example(s.store, s.spool, E) == 0);
	/* Things that are not days. */
	mkdir(test_path(path, sizeof path, "%s/spool", s.root), 0755);
	mkdir(test_path(path, sizeof path, "%s/2012040", s.root), 0755);
	mkdir(test_path(path, sizeof path, "%s/20121340", s.root), 0755);
	mkdir(test_path(path, sizeof path, "%s/19991231", s.root), 0755);
	mkdir(test_path(path, sizeof path, "%s/.20120409", s.root), 0755);
	close(open(test_path(path, sizeof path, "%s/20120410", s.root),
		   O_CREAT | O_WRONLY, 0644));
	struct test_names names = { 0 };
	CHECK_INT(test_list_days(s.store, &call,
					&names),
		  0);
	CHECK_INT(names.count, 2);
	CHECK(test_names_has(&names, 0, "20120408"));
	CHECK(test_names_has(&names, 0, "20120201"));
	/* A stop value comes back as the result. */
	struct test_names stop = { .stop_at = 1, .stop_value = 42 };
	CHECK_INT(test_list_days(s.store, &call,
					&stop),
		  42);
	test_scratch_close(&s);
}

static void touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void test_listing_radix(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	char path[PATH_MAX];
	bool legacy = layout == FS_LAYOUT_LEGACY ||
		      layout == FS_LAYOUT_LEGACY_DATED;
	REQUIRE(test_scratch_open(&s, "radix", layout, 022, 4));
	crash_call_init(&call);
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	REQUIRE(test_save_example(s.store, s.spool, ID_B) == 0);
	/* Depth 3 in the same day: a radix directory under 93/6c. */
	const char *deep = "936ce666-bbbb-4c7a-9674-367fe3120408";
	REQUIRE(test_save_example(s.store, s.spool, deep) == 0);
	/* Junk the listing must skip. */
	const char *leaf = test_path(path, sizeof path, "%s/" LEAF_A, s.root);
	char junk[PATH_MAX];
	mkdir(test_path(junk, sizeof junk, "%s/zz", leaf), 0755);
	touch(test_path(junk, sizeof junk, "%s/ab", leaf));
	touch(test_path(junk, sizeof junk, "%s/.%s.json.crashfs-Ab12Cd", leaf,
			ID_B));
	touch(test_path(junk, sizeof junk, "%s/notes.txt", leaf));
	/* A crash of another day or depth is not listed here. */
	mkdir(test_path(junk, sizeof junk,
			"%s/936ce666-cccc-4c7a-9674-367fe2120409", leaf),
	      0755);
	touch(test_path(junk, sizeof junk,
			"%s/936ce666-cccc-4c7a-9674-367fe2120409.json", leaf));
	mkdir(test_path(junk, sizeof junk,
			"%s/936ce666-dddd-4c7a-9674-367fe1120408", leaf),
	      0755);
	touch(test_path(junk, sizeof junk,
			"%s/936ce666-dddd-4c7a-9674-367fe1120408.json", leaf));

	struct test_names top = { 0 };
	CHECK_INT(test_list_radix(s.store, &call, "20120408", "", &top),
		  0);
	CHECK_INT(top.count, 1);
	CHECK(test_names_has(&top, CRASH_LISTING_RADIX_DIR, "93"));
	struct test_names level1 = { 0 };
	CHECK_INT(test_list_radix(s.store, &call, "20120408", "93", &level1),
		  0);
	CHECK_INT(level1.count, 1);
	CHECK(test_names_has(&level1, CRASH_LISTING_RADIX_DIR, "6c"));
	struct test_names level2 = { 0 };
	CHECK_INT(test_list_radix(s.store, &call, "20120408", "936c", &level2),
		  0);
	CHECK_INT(level2.count, 3);
	CHECK(test_names_has(&level2, CRASH_LISTING_CRASH, A));
	CHECK(test_names_has(&level2, CRASH_LISTING_CRASH, ID_B));
	CHECK(test_names_has(&level2, CRASH_LISTING_RADIX_DIR, "e6"));
	struct test_names level3 = { 0 };
	CHECK_INT(test_list_radix(s.store, &call, "20120408", "936ce6", &level3),
		  0);
	CHECK_INT(level3.count, 1);
	CHECK(test_names_has(&level3, CRASH_LISTING_CRASH, deep));

	if (legacy) {
		/* Each crash once, however its files are spread: only
		 * secondary dumps, only a processed crash, only <id>..dump. */
		const char *c1 = "936ce666-0001-4c7a-9674-367fe2120408";
		const char *c2 = "936ce666-0002-4c7a-9674-367fe2120408";
		const char *c3 = "936ce666-0003-4c7a-9674-367fe2120408";
		touch(test_path(junk, sizeof junk, "%s/%s.b_dump.dump", leaf,
				c1));
		touch(test_path(junk, sizeof junk, "%s/%s.a_dump.dump", leaf,
				c1));
		touch(test_path(junk, sizeof junk, "%s/%s.c_dump.dump", leaf,
				c1));
		touch(test_path(junk, sizeof junk, "%s/%s.jsonz", leaf, c2));
		touch(test_path(junk, sizeof junk, "%s/%s..dump", leaf, c3));
		/* A name-side link of a crash without files is not one. */
		symlink("../../../date/10/52_10",
			test_path(junk, sizeof junk,
				  "%s/936ce666-0004-4c7a-9674-367fe2120408",
				  leaf));
		struct test_names again = { 0 };
		CHECK_INT(test_list_radix(s.store, &call, "20120408",
						 "936c",
						 &again),
			  0);
		CHECK_INT(again.count, 6);
		CHECK(test_names_has(&again, CRASH_LISTING_CRASH, c1));
		CHECK(test_names_has(&again, CRASH_LISTING_CRASH, c2));
		CHECK(test_names_has(&again, CRASH_LISTING_CRASH, c3));
		CHECK_INT(crash_store_stat_crash(s.store, &call, c3, NULL), 0);
		struct part_list list = { 0 };
		CHECK_INT(crash_store_list_parts(s.store, &call, c1,
						 collect_part, &list),
			  0);
		CHECK_INT(list.count, 3);
		CHECK_INT(list.other, 3);
		CHECK_INT(crash_store_stat_crash(
				  s.store, &call,
				  "936ce666-0004-4c7a-9674-367fe2120408", NULL),
			  -ENOENT);
	}

	struct test_names missing = { 0 };
	CHECK_INT(test_list_radix(s.store, &call, "20120408", "9370", &missing),
		  -ENOENT);
	CHECK_INT(test_list_radix(s.store, &call, "20120409", "", &missing),
		  -ENOENT);
	CHECK_INT(test_list_radix(s.store, &call, "20121340", "", &missing),
		  -EINVAL);
	CHECK_INT(test_list_radix(s.store, &call, "20120408", "9", &missing),
		  -EINVAL);
	CHECK_INT(test_list_radix(s.store, &call, "20120408", "../..", &missing),
		  -EINVAL);
	CHECK_INT(missing.count, 0);

	/* The same directories by stat_radix_dir, which does not list. */
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408", "", NULL),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408",
					     "936c", NULL),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408",
					     "936ce6", NULL),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408",
					     "9370", NULL),
		  -ENOENT);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120409", "", NULL),
		  -ENOENT);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20121340", "", NULL),
		  -EINVAL);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408",
					     "../..", NULL),
		  -EINVAL);
	/* A file where a directory would be is no directory. */
	touch(test_path(junk, sizeof junk, "%s/20120408/name/94", s.root));
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408",
					     "94", NULL),
		  -ENOENT);
	test_scratch_close(&s);
}

/* "<id> <kind> <dump name> <size>" lines of a crash's parts, sorted. */
struct part_lines {
	char lines[32][128];
	size_t count;
	const char *crash_id; /* list_parts: whose */
};

static void add_part_line(struct part_lines *lines, const char *crash_id,
			  const struct crash_part *part,
			  const struct crash_part_stat *stat)
{
	if (lines->count < 32)
		snprintf(lines->lines[lines->count++], 128, "%s %d %s %lld",
			 crash_id, (int)part->type,
			 part->dump_name ? part->dump_name : "-",
			 (long long)stat->size);
}

static int line_order(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int collect_part_line(void *ctx, const struct crash_part *part,
			     const struct crash_part_stat *stat)
{
	struct part_lines *lines = ctx;
	add_part_line(lines, lines->crash_id, part, stat);
	return 0;
}

static int collect_listed_part(void *ctx,
			       const struct crash_listing_entry *entry)
{
	struct part_lines *lines = ctx;
	if (entry->kind == CRASH_LISTING_RADIX_DIR) {
		if (lines->count < 32)
			snprintf(lines->lines[lines->count++], 128, "dir %s",
				 entry->name);
		return 0;
	}
	CHECK_INT(entry->kind, CRASH_LISTING_PART);
	add_part_line(ctx, entry->name, &entry->part, &entry->stat);
	return 0;
}

/* open_radix_parts gives what list_parts gives for each crash of the
 * directory, in one listing (one pass over a legacy leaf). */
static void test_radix_parts(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	REQUIRE(test_scratch_open(&s, "parts", layout, 022, 4));
	crash_call_init(&call);
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	REQUIRE(test_save_example(s.store, s.spool, ID_B) == 0);
	REQUIRE(test_save_example(s.store, s.spool,
				  "936ce666-bbbb-4c7a-9674-367fe3120408") ==
		0);
	struct part_lines expected = { .count = 0 };
	const char *ids[] = { A, ID_B };
	for (size_t i = 0; i < 2; i++) {
		expected.crash_id = ids[i];
		CHECK_INT(crash_store_list_parts(s.store, &call, ids[i],
						 collect_part_line, &expected),
			  0);
	}
	/* and the deeper crash's radix directory */
	snprintf(expected.lines[expected.count++], 128, "dir e6");
	struct part_lines listed = { .count = 0 };
	struct crash_listing *listing = NULL;
	CHECK_INT(crash_store_open_radix_parts(s.store, &call, "20120408",
					       "936c", &listing),
		  0);
	CHECK_INT(crash_listing_drain(listing, &call, collect_listed_part,
				      &listed),
		  0);
	CHECK(expected.count >= 7);
	CHECK_INT(listed.count, expected.count);
	qsort(expected.lines, expected.count, 128, line_order);
	qsort(listed.lines, listed.count, 128, line_order);
	for (size_t i = 0; i < expected.count && i < listed.count; i++)
		CHECK_STR(listed.lines[i], expected.lines[i]);
	CHECK_INT(crash_store_open_radix_parts(s.store, &call, "20120408",
					       "9370", &listing),
		  -ENOENT);
	test_scratch_close(&s);
}

/* rsync -a sets its directories' times: the fs store keeps them, except
 * a legacy crash's, whose leaf other crashes share. */
static void test_dir_mtimes(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	bool legacy = layout == FS_LAYOUT_LEGACY ||
		      layout == FS_LAYOUT_LEGACY_DATED;
	REQUIRE(test_scratch_open(&s, "dir-mtimes", layout, 022, 4));
	crash_call_init(&call);
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	const struct timespec when = { 1234567890, 123456789 };
	struct crash_dir_stat stat;
	CHECK_INT(crash_store_set_dir_mtime(s.store, &call, "20120408", "93",
					   NULL, &when),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408", "93",
					     &stat),
		  0);
	CHECK_INT(stat.mtime.tv_sec, when.tv_sec);
	CHECK_INT(stat.mtime.tv_nsec, when.tv_nsec);
	CHECK_INT(crash_store_set_dir_mtime(s.store, &call, "20120408", "",
					   NULL, &when),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(s.store, &call, "20120408", "",
					     &stat),
		  0);
	CHECK_INT(stat.mtime.tv_sec, when.tv_sec);
	int result = crash_store_set_dir_mtime(s.store, &call, "", "", A,
					       &when);
	if (legacy) {
		CHECK_INT(result, -ENOTSUP);
	} else {
		CHECK_INT(result, 0);
		CHECK_INT(crash_store_stat_crash(s.store, &call, A, &stat), 0);
		CHECK_INT(stat.mtime.tv_sec, when.tv_sec);
	}
	CHECK_INT(crash_store_set_dir_mtime(s.store, &call, "20120408", "9370",
					   NULL, &when),
		  -ENOENT);
	CHECK_INT(crash_store_set_dir_mtime(s.store, &call, "", "", ID_B,
					   &when),
		  legacy ? -ENOTSUP : -ENOENT);
	test_scratch_close(&s);
}

/* Depth 5 and more take the id's dash into a radix component. */
static void test_deep_radix(void)
{
	struct test_scratch s;
	struct crash_call call;
	char path[PATH_MAX];
	const char *id = "0bba929f-8721-460c-dead-a43c25071025";
	REQUIRE(test_scratch_open(&s, "deep", FS_LAYOUT_RADIX, 022, 4));
	crash_call_init(&call);
	REQUIRE(test_save_example(s.store, s.spool, id) == 0);
	CHECK(test_exists(test_path(path, sizeof path,
				    "%s/20071025/name/0b/ba/92/9f/-8/%s/%s.json",
				    s.root, id, id)));
	struct test_names names = { 0 };
	CHECK_INT(test_list_radix(s.store, &call, "20071025",
					 "0bba929f",
					 &names),
		  0);
	CHECK_INT(names.count, 1);
	CHECK(test_names_has(&names, CRASH_LISTING_RADIX_DIR, "-8"));
	struct test_names leaf = { 0 };
	CHECK_INT(test_list_radix(s.store, &call, "20071025",
					 "0bba929f-8",
					 &leaf),
		  0);
	CHECK_INT(leaf.count, 1);
	CHECK(test_names_has(&leaf, CRASH_LISTING_CRASH, id));
	test_scratch_close(&s);
}

int main(void)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	umask(077);
	for (size_t i = 0; i < 4; i++) {
		test_example1(all_layouts[i], 022);
		test_example1(all_layouts[i], 2);
		test_reads(all_layouts[i]);
		test_empty_dump_name(all_layouts[i]);
		test_listing_radix(all_layouts[i]);
		test_radix_parts(all_layouts[i]);
		test_dir_mtimes(all_layouts[i]);
	}
	test_example2();
	test_example3();
	test_listing_days();
	test_deep_radix();
	return unit_test_exit("test_fs_layouts");
}
