/*
 * test_fs_remove.c - removing crashes (spec/fs-layouts.md §11 removal
 * examples, with crashfs's fixes: a legacy remove also takes the .jsonz
 * and the name-side link, an absent crash is -ENOENT everywhere), parts,
 * empty radix directories and days; set_part_mtime; Socorro's "<id>..dump"
 * spelling of the main dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/fs/fs_store.h"
#include "tests/unit/fs/fs_test_util.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define A ID_A
#define B ID_B
#define C "936ce666-cccc-4c7a-9674-367fe2120408"
#define LEAF_A "20120408/name/93/6c"
#define DIR_A LEAF_A "/" A
#define DIR_B LEAF_A "/" B

static const enum fs_layout all_layouts[] = {
	FS_LAYOUT_RADIX, FS_LAYOUT_LEGACY, FS_LAYOUT_DATED,
	FS_LAYOUT_LEGACY_DATED
};

/* A file of crash id in the layout: suffix ".json", ".dump", ... */
static const char *file_of(struct test_scratch *s, char *out, const char *id,
			   const char *suffix)
{
	if (s->legacy)
		return test_path(out, PATH_MAX, "%s/" LEAF_A "/%s%s", s->root,
				 id, suffix);
	return test_path(out, PATH_MAX, "%s/" LEAF_A "/%s/%s%s", s->root, id,
			 id, suffix);
}

static const char *const suffixes[] = { ".json", ".dump",
					".upload_file_minidump_flash1.dump",
					".jsonz" };

static void test_remove_examples(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "remove", layout, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	REQUIRE(test_save_example(s.store, s.spool, B) == 0);

	CHECK_INT(crash_store_remove(s.store, &s.call, A), 0);
	for (int i = 0; i < 4; i++) {
		CHECK(!test_exists(file_of(&s, path, A, suffixes[i])));
		CHECK(test_exists(file_of(&s, path, B, suffixes[i])));
	}
	if (!s.legacy) {
		CHECK(!test_exists(test_scratch_at(&s, path, DIR_A)));
		CHECK(test_exists(test_scratch_at(&s, path, DIR_B "/" B ".json")));
	}
	/* The leaf stays, even when empty (Socorro). */
	CHECK(test_exists(test_scratch_at(&s, path, LEAF_A)));
	if (s.dated) {
		CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
		CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" B)));
		/* The slot stays until a pass removes it. */
		CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10")));
	}
	if (layout == FS_LAYOUT_LEGACY_DATED) {
		/* Socorro left the name-side link: crashfs does not. */
		CHECK(!test_exists(test_scratch_at(&s, path, LEAF_A "/" A)));
		CHECK(test_exists(test_scratch_at(&s, path, LEAF_A "/" B)));
	}
	CHECK_INT(crash_store_stat_crash(s.store, &s.call, A, NULL), -ENOENT);
	CHECK_INT(crash_store_stat_crash(s.store, &s.call, B, NULL), 0);
	/* Gone is gone; unknown C shares the leaf: -ENOENT either way. */
	CHECK_INT(crash_store_remove(s.store, &s.call, A), -ENOENT);
	CHECK_INT(crash_store_remove(s.store, &s.call, C), -ENOENT);
	CHECK(strstr(s.call.error.message, C) != NULL);
	CHECK_INT(crash_store_remove(s.store, &s.call, "nope"), -EINVAL);
	/* B's consumption still works. */
	if (s.dated) {
		struct test_names names = { 0 };
		test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
		CHECK_INT(test_consume_new_crashes(s.store, &s.call, &names),
			  0);
		CHECK_INT(names.count, 1);
		CHECK_STR(names.names[0], B);
	}
	test_scratch_close(&s);
}

static void test_remove_parts(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "parts", layout, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	const struct crash_part parts[] = {
		{ CRASH_PART_DUMP, "upload_file_minidump_flash1" },
		{ CRASH_PART_DUMP, "" },
		{ CRASH_PART_PROCESSED, NULL },
		{ CRASH_PART_RAW_CRASH, NULL },
	};
	const char *part_suffixes[] = { ".upload_file_minidump_flash1.dump",
					".dump", ".jsonz", ".json" };
	for (int i = 0; i < 4; i++) {
		CHECK_INT(crash_store_remove_part(s.store, &s.call, A,
						  &parts[i]),
			  0);
		CHECK(!test_exists(file_of(&s, path, A, part_suffixes[i])));
		CHECK_INT(crash_store_remove_part(s.store, &s.call, A,
						  &parts[i]),
			  -ENOENT);
	}
	const struct crash_part bad = { CRASH_PART_DUMP, "a/b" };
	CHECK_INT(crash_store_remove_part(s.store, &s.call, A, &bad), -EINVAL);
	if (s.legacy) {
		/* No file left: the crash is gone, its links with it. */
		CHECK_INT(crash_store_stat_crash(s.store, &s.call, A, NULL),
			  -ENOENT);
		CHECK(!test_exists(test_scratch_at(&s, path, LEAF_A "/" A)));
		CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
		CHECK_INT(crash_store_remove(s.store, &s.call, A), -ENOENT);
	} else {
		/* The crash directory stays (with date_root if dated) until
		 * remove() takes it. */
		CHECK(test_exists(test_scratch_at(&s, path, DIR_A)));
		CHECK_INT(crash_store_stat_crash(s.store, &s.call, A, NULL), 0);
		CHECK_INT(crash_store_remove(s.store, &s.call, A), 0);
		CHECK(!test_exists(test_scratch_at(&s, path, DIR_A)));
		CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
	}
	CHECK_INT(crash_store_remove_part(s.store, &s.call, B, &parts[3]),
		  -ENOENT);
	test_scratch_close(&s);
}

static void test_remove_radix_dirs(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "rmdir", layout, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	REQUIRE(test_save_example(s.store, s.spool,
				  "e8820616-1462-49b6-9784-e99a32120201") ==
		0);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       "936c"),
		  -ENOTEMPTY);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       "93"),
		  -ENOTEMPTY);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       ""),
		  -ENOTEMPTY);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       "9370"),
		  -ENOENT);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120409",
					       ""),
		  -ENOENT);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "2012040x",
					       ""),
		  -EINVAL);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       "9/"),
		  -EINVAL);
	REQUIRE(crash_store_remove(s.store, &s.call, A) == 0);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       "936c"),
		  0);
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       "93"),
		  0);
	if (s.dated) {
		/* The slot and hour a pass would leave are pruned; the day
		 * goes. */
		CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10")));
	}
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       ""),
		  0);
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408")));
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       ""),
		  -ENOENT);
	if (s.dated) {
		/* A day whose date branch still holds a queue entry stays:
		 * here a link of a crash whose files went another way. */
		REQUIRE(crash_store_remove(s.store, &s.call,
					   "e8820616-1462-49b6-9784-e99a32120201") ==
			0);
		symlink("../../../name/e8/82",
			test_scratch_at(&s, path,
			   "20120201/date/10/52_10/"
			   "e8820616-1462-49b6-9784-e99a32120202"));
		CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call,
						       "20120201", "e882"),
			  0);
		CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call,
						       "20120201", "e8"),
			  0);
		CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call,
						       "20120201", ""),
			  -ENOTEMPTY);
		CHECK(strstr(s.call.error.message, "queue") != NULL);
		CHECK(!test_exists(test_scratch_at(&s, path, "20120201/name")));
		CHECK(test_exists(test_scratch_at(&s, path, "20120201/date/10/52_10")));
	}
	test_scratch_close(&s);
}

/* Socorro's legacy-dated remove left the name-side links behind: they
 * must not keep the leaf from being removed. */
static void test_stale_links_in_leaf(void)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "staleleaf", FS_LAYOUT_LEGACY_DATED, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	/* What Socorro's remove(A) did: files but the .jsonz, slot link. */
	unlink(test_scratch_at(&s, path, LEAF_A "/" A ".json"));
	unlink(test_scratch_at(&s, path, LEAF_A "/" A ".dump"));
	unlink(test_scratch_at(&s, path, LEAF_A "/" A ".upload_file_minidump_flash1.dump"));
	unlink(test_scratch_at(&s, path, "20120408/date/10/52_10/" A));
	CHECK_INT(crash_store_stat_crash(s.store, &s.call, A, NULL), 0);
	CHECK_INT(crash_store_remove(s.store, &s.call, A), 0);
	CHECK(!test_exists(test_scratch_at(&s, path, LEAF_A "/" A ".jsonz")));
	CHECK(!test_exists(test_scratch_at(&s, path, LEAF_A "/" A)));
	/* And links with no file at all. */
	symlink("../../../date/10/52_10", test_scratch_at(&s, path, LEAF_A "/" B));
	symlink("../../../name/93/6c", test_scratch_at(&s, path, "20120408/date/10/52_10/" B));
	CHECK_INT(crash_store_remove(s.store, &s.call, B), -ENOENT);
	CHECK(!test_exists(test_scratch_at(&s, path, LEAF_A "/" B)));
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" B)));
	symlink("../../../date/10/52_10", test_scratch_at(&s, path, LEAF_A "/" C));
	CHECK_INT(crash_store_remove_radix_dir(s.store, &s.call, "20120408",
					       "936c"),
		  0);
	CHECK(!test_exists(test_scratch_at(&s, path, LEAF_A)));
	test_scratch_close(&s);
}

static void test_set_part_mtime(enum fs_layout layout)
{
	struct test_scratch s;
	REQUIRE(test_scratch_open(&s, "mtime", layout, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	struct crash_part part = { CRASH_PART_DUMP,
				   "upload_file_minidump_flash1" };
	struct timespec mtime = { 1234567890, 987654321 };
	CHECK_INT(crash_store_set_part_mtime(s.store, &s.call, A, &part,
					     &mtime),
		  0);
	struct crash_part_stat stat;
	CHECK_INT(crash_store_stat_part(s.store, &s.call, A, &part, &stat), 0);
	CHECK_INT(stat.mtime.tv_sec, 1234567890);
	CHECK_INT(stat.mtime.tv_nsec, 987654321);
	struct crash_part main_dump = { CRASH_PART_DUMP, NULL };
	CHECK_INT(crash_store_set_part_mtime(s.store, &s.call, A, &main_dump,
					     &mtime),
		  0);
	struct crash_part absent = { CRASH_PART_DUMP, "flash9" };
	CHECK_INT(crash_store_set_part_mtime(s.store, &s.call, A, &absent,
					     &mtime),
		  -ENOENT);
	CHECK_INT(crash_store_set_part_mtime(s.store, &s.call, B, &part,
					     &mtime),
		  -ENOENT);
	test_scratch_close(&s);
}

struct main_dump_seen {
	int main_dumps;
	off_t size;
};

static int count_main(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *stat)
{
	struct main_dump_seen *seen = ctx;
	if (part->type == CRASH_PART_DUMP && !part->dump_name) {
		seen->main_dumps++;
		seen->size = stat->size;
	}
	/* A dump_field-named secondary file is never reported. */
	if (part->dump_name && strcmp(part->dump_name,
				      "upload_file_minidump") == 0)
		seen->main_dumps += 100;
	return 0;
}

/* Socorro's dated stores wrote a dump named "" as <id>..dump. */
static void test_double_dot_main_dump(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "dotdot", layout, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	struct crash_part main_dump = { CRASH_PART_DUMP, NULL };
	REQUIRE(crash_store_remove_part(s.store, &s.call, A, &main_dump) ==
		0);
	int fd = open(file_of(&s, path, A, "..dump"),
		      O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	REQUIRE(fd >= 0);
	CHECK_INT(write(fd, "dotdot", 6), 6);
	close(fd);
	fd = open(file_of(&s, path, A, ".upload_file_minidump.dump"),
		  O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);
	struct main_dump_seen seen = { 0 };
	CHECK_INT(crash_store_list_parts(s.store, &s.call, A, count_main,
					 &seen),
		  0);
	CHECK_INT(seen.main_dumps, 1);
	CHECK_INT(seen.size, 6);
	struct crash_part_stat stat;
	int read_fd = -1;
	CHECK_INT(crash_store_open_part(s.store, &s.call, A, &main_dump, &stat,
					&read_fd),
		  0);
	char buffer[16] = { 0 };
	CHECK_INT(pread(read_fd, buffer, sizeof buffer, 0), 6);
	CHECK_STR(buffer, "dotdot");
	if (read_fd >= 0)
		close(read_fd);
	/* With both spellings, <id>.dump is served and reported. */
	struct test_blob blob;
	REQUIRE(test_blob_make(&blob, s.spool, "main", 4, 1000) == 0);
	struct crash_dump dump = { NULL, blob.blob };
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &dump), 0);
	struct main_dump_seen both = { 0 };
	CHECK_INT(crash_store_list_parts(s.store, &s.call, A, count_main,
					 &both),
		  0);
	CHECK_INT(both.main_dumps, 1);
	CHECK_INT(both.size, 4);
	/* Removing the main dump removes both spellings. */
	CHECK_INT(crash_store_remove_part(s.store, &s.call, A, &main_dump), 0);
	CHECK(!test_exists(file_of(&s, path, A, ".dump")));
	CHECK(!test_exists(file_of(&s, path, A, "..dump")));
	test_blob_free(&blob);
	/* remove() takes every spelling. */
	CHECK_INT(crash_store_remove(s.store, &s.call, A), 0);
	CHECK(!test_exists(file_of(&s, path, A, ".upload_file_minidump.dump")));
	test_scratch_close(&s);
}

int main(void)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	for (size_t i = 0; i < 4; i++) {
		test_remove_examples(all_layouts[i]);
		test_remove_parts(all_layouts[i]);
		test_remove_radix_dirs(all_layouts[i]);
		test_set_part_mtime(all_layouts[i]);
		test_double_dot_main_dump(all_layouts[i]);
	}
	test_stale_links_in_leaf();
	return unit_test_exit("test_fs_remove");
}
