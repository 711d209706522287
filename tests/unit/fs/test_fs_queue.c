/*
 * test_fs_queue.c - the date branch of the dated layouts: the slot a save
 * lands in, new_crashes' destructive walk (spec/fs-layouts.md §7: the
 * current-slot rule, slot and hour removal, legacy orphans, 2009 webhead
 * slots, stopping early), re-saving a queued crash (Socorro failed with
 * EEXIST) and acknowledging.
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
#define LEAF_A "20120408/name/93/6c"
#define DIR_A LEAF_A "/" A
#define DIR_B LEAF_A "/" B

static const enum fs_layout dated_layouts[] = { FS_LAYOUT_DATED,
						FS_LAYOUT_LEGACY_DATED };

/* Runs one pass; returns its result, names collected into *names. */
static int pass(struct test_scratch *s, struct test_names *names)
{
	struct crash_call call;
	crash_call_init(&call);
	int result = test_consume_new_crashes(s->store, &call, names);
	if (result < 0)
		fprintf(stderr, "new_crashes: %s\n", call.error.message);
	return result;
}

static int save_raw(struct test_scratch *s, const char *crash_id,
		    const char *text)
{
	struct test_blob raw;
	struct crash_call call;
	if (test_blob_make(&raw, s->spool, text, strlen(text), 1000) < 0)
		return -EIO;
	crash_call_init(&call);
	int result = crash_store_save_raw_crash(s->store, &call, crash_id,
						&raw.blob, NULL, 0);
	if (result < 0)
		fprintf(stderr, "save_raw_crash: %s\n", call.error.message);
	test_blob_free(&raw);
	return result;
}

/* The back link of A: date_root in its directory, or the legacy <id>. */
static const char *back_link_a(struct test_scratch *s, char *out)
{
	return test_scratch_at(s, out, s->legacy ? LEAF_A "/" A : DIR_A "/date_root");
}

/* §7, last paragraph: minute_slice_interval=1. */
static void test_pinned_slot_rule(enum fs_layout layout)
{
	struct test_scratch s;
	REQUIRE(test_scratch_open(&s, "pinned", layout, 022, 1));
	test_clock_set(&s.clock, 2012, 4, 8, 0, 0, 0);
	REQUIRE(save_raw(&s, A, "{}") == 0);
	char path[PATH_MAX];
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/00/00_00/" A)));
	struct test_names first = { 0 };
	CHECK_INT(pass(&s, &first), 0);
	CHECK_INT(first.count, 0);
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/00/00_00/" A)));
	test_clock_set(&s.clock, 2012, 4, 8, 0, 0, 1);
	struct test_names second = { 0 };
	CHECK_INT(pass(&s, &second), 0);
	CHECK_INT(second.count, 1);
	CHECK_STR(second.names[0], A);
	struct test_names third = { 0 };
	CHECK_INT(pass(&s, &third), 0);
	CHECK_INT(third.count, 0);
	test_scratch_close(&s);
}

/* §11 consumption, run at 10:53:42 (current slot 10/53_10). */
static void test_consumption_example(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "consume", layout, 022, 4));
	REQUIRE(test_save_example(s.store, s.spool, A) == 0);
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 1);
	CHECK_STR(names.names[0], A);
	CHECK(!test_exists(back_link_a(&s, path)));
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10")));
	/* Hour "10" is not < "10": it stays. */
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10")));
	const char *parent = s.legacy ? LEAF_A : DIR_A;
	const char *suffixes[] = { ".json", ".dump",
				   ".upload_file_minidump_flash1.dump",
				   ".jsonz" };
	for (int i = 0; i < 4; i++)
		CHECK(test_exists(test_path(path, sizeof path, "%s/%s/%s%s",
					    s.root, parent, A, suffixes[i])));
	test_scratch_close(&s);
}

static void test_past_hour_removed(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "hour", layout, 022, 4));
	test_clock_set(&s.clock, 2012, 4, 8, 9, 59, 59);
	REQUIRE(save_raw(&s, A, "{}") == 0);
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/09/59_14/" A)));
	/* During its own slot: skipped, nothing removed. */
	struct test_names none = { 0 };
	CHECK_INT(pass(&s, &none), 0);
	CHECK_INT(none.count, 0);
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/09/59_14")));
	test_clock_set(&s.clock, 2012, 4, 8, 10, 0, 30);
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 1);
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/09")));
	/* The date branch itself is never removed by a pass. */
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date")));
	test_scratch_close(&s);
}

static void test_orphans(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "orphan", layout, 022, 4));
	REQUIRE(save_raw(&s, A, "{}") == 0);
	REQUIRE(save_raw(&s, B, "{}") == 0);
	/* A loses its raw crash file. */
	CHECK_INT(unlink(test_path(path, sizeof path, "%s/%s/%s.json", s.root,
				   s.legacy ? LEAF_A : DIR_A, A)),
		  0);
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 1);
	CHECK_STR(names.names[0], B);
	if (s.legacy) {
		/* Legacy rule: the orphan slot link goes (bug 971496); the
		 * name-side link is not touched by the pass. */
		CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
		CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10")));
		CHECK(test_exists(test_scratch_at(&s, path, LEAF_A "/" A)));
	} else {
		/* Non-legacy rule: left untouched, so the slot stays. */
		CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
		CHECK(test_exists(test_scratch_at(&s, path, DIR_A "/date_root")));
	}
	test_scratch_close(&s);
}

static void make_link(const char *target, const char *path)
{
	if (symlink(target, path) < 0)
		fprintf(stderr, "symlink %s: %s\n", path, strerror(errno));
}

static void make_file(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* A tree of the 2009 collector (§10): webhead slot directories. */
static void test_webhead_slots(void)
{
	struct test_scratch s;
	char path[PATH_MAX];
	const char *id1 = "0bba929f-8721-460c-dead-a43c20091025";
	const char *id2 = "0bba929f-9999-460c-dead-a43c20091025";
	REQUIRE(test_scratch_open(&s, "webhead", FS_LAYOUT_LEGACY_DATED, 022, 4));
	char leaf[PATH_MAX], date[PATH_MAX];
	test_scratch_at(&s, leaf, "20091025/name/0b/ba");
	test_scratch_at(&s, date, "20091025/date");
	test_path(path, sizeof path, "mkdir -p %s %s/12/30/webhead01_0 "
		  "%s/12/30/webhead02_0 %s/12/31_0", leaf, date, date, date);
	REQUIRE(system(path) == 0);
	make_file(test_path(path, sizeof path, "%s/%s.json", leaf, id1), "{}");
	make_file(test_path(path, sizeof path, "%s/%s.dump", leaf, id1), "d");
	make_file(test_path(path, sizeof path, "%s/%s.json", leaf, id2), "{}");
	make_link("../../../date/12/30/webhead01_0",
		  test_path(path, sizeof path, "%s/%s", leaf, id1));
	make_link("../../../date/12/31_0",
		  test_path(path, sizeof path, "%s/%s", leaf, id2));
	make_link("../../../../name/0b/ba",
		  test_path(path, sizeof path, "%s/12/30/webhead01_0/%s", date,
			    id1));
	make_link("../../../name/0b/ba",
		  test_path(path, sizeof path, "%s/12/31_0/%s", date, id2));
	make_file(test_path(path, sizeof path, "%s/12/30/webhead02_0/README",
			    date),
		  "?");

	test_clock_set(&s.clock, 2012, 4, 8, 13, 0, 0);
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 2);
	CHECK(test_names_has(&names, 0, id1));
	CHECK(test_names_has(&names, 0, id2));
	CHECK(!test_exists(test_path(path, sizeof path, "%s/%s", leaf, id1)));
	CHECK(!test_exists(test_path(path, sizeof path, "%s/%s", leaf, id2)));
	CHECK(!test_exists(test_path(path, sizeof path, "%s/12/30/webhead01_0",
				     date)));
	CHECK(!test_exists(test_path(path, sizeof path, "%s/12/31_0", date)));
	/* An unknown file is left in place, and so is everything above it. */
	CHECK(test_exists(test_path(path, sizeof path,
				    "%s/12/30/webhead02_0/README", date)));
	CHECK(test_exists(test_path(path, sizeof path, "%s/12", date)));
	CHECK(test_exists(test_path(path, sizeof path, "%s/%s.json", leaf,
				    id1)));
	unlink(test_path(path, sizeof path, "%s/12/30/webhead02_0/README",
			 date));
	struct test_names again = { 0 };
	CHECK_INT(pass(&s, &again), 0);
	CHECK_INT(again.count, 0);
	/* "12" < "13" and nothing skipped: the hour goes too. */
	CHECK(!test_exists(test_path(path, sizeof path, "%s/12", date)));
	test_scratch_close(&s);
}

static void test_early_stop(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "stop", layout, 022, 4));
	REQUIRE(save_raw(&s, A, "{}") == 0);
	REQUIRE(save_raw(&s, B, "{}") == 0);
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	struct test_names stop = { .stop_at = 1, .stop_value = 7 };
	CHECK_INT(pass(&s, &stop), 7);
	struct test_names stop_error = { .stop_at = 1, .stop_value = -EIO };
	CHECK_INT(pass(&s, &stop_error), -EIO);
	/* Both still queued, links and all. */
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" B)));
	CHECK(test_exists(back_link_a(&s, path)));
	/* Stopping at the second: the first is consumed, the second not. */
	struct test_names one = { .stop_at = 2, .stop_value = 1 };
	CHECK_INT(pass(&s, &one), 1);
	CHECK_INT(one.count, 1);
	struct test_names rest = { 0 };
	CHECK_INT(pass(&s, &rest), 0);
	CHECK_INT(rest.count, 1);
	CHECK(strcmp(rest.names[0], one.names[0]) != 0);
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10")));
	test_scratch_close(&s);
}

static int count_entries(const char *dir_path)
{
	char command[PATH_MAX + 64];
	test_path(command, sizeof command, "ls -A %s 2>/dev/null | wc -l",
		  dir_path);
	FILE *pipe = popen(command, "r");
	int count = -1;
	if (pipe) {
		if (fscanf(pipe, "%d", &count) != 1)
			count = -1;
		pclose(pipe);
	}
	return count;
}

/* Socorro failed here with EEXIST after overwriting the files. */
static void test_resave_queued(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX], target[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "resave", layout, 022, 4));
	REQUIRE(save_raw(&s, A, "{\"v\": 1}") == 0);
	test_clock_set(&s.clock, 2012, 4, 8, 10, 55, 1);
	CHECK_INT(save_raw(&s, A, "{\"v\": 2}"), 0);
	CHECK(test_file_equals(test_path(path, sizeof path, "%s/%s/%s.json",
					 s.root, s.legacy ? LEAF_A : DIR_A,
					 A),
			       "{\"v\": 2}", 8));
	CHECK_INT(count_entries(test_scratch_at(&s, path, "20120408/date/10")), 1);
	CHECK_INT(count_entries(test_scratch_at(&s, path, "20120408/date/10/52_10")), 1);
	CHECK_STR(test_readlink(back_link_a(&s, path), target, sizeof target),
		  s.legacy ? "../../../date/10/52_10"
			   : "../../../../date/10/52_10");
	/* Consumed once; a save after that is a new version: queued again. */
	test_clock_set(&s.clock, 2012, 4, 8, 11, 0, 0);
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 1);
	CHECK(!test_exists(back_link_a(&s, path)));
	CHECK_INT(save_raw(&s, A, "{\"v\": 3}"), 0);
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/11/00_00/" A)));
	CHECK_STR(test_readlink(back_link_a(&s, path), target, sizeof target),
		  s.legacy ? "../../../date/11/00_00"
			   : "../../../../date/11/00_00");
	test_scratch_close(&s);
}

/* Links Socorro's legacy-dated remove (or a consumer) left behind. */
static void test_stale_back_links(void)
{
	struct test_scratch s;
	char path[PATH_MAX], target[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "stale", FS_LAYOUT_LEGACY_DATED, 022, 4));
	REQUIRE(save_raw(&s, A, "{}") == 0);
	/* The slot link and its slot are gone, the name-side link stays. */
	unlink(test_scratch_at(&s, path, "20120408/date/10/52_10/" A));
	rmdir(test_scratch_at(&s, path, "20120408/date/10/52_10"));
	test_clock_set(&s.clock, 2012, 4, 8, 11, 5, 0);
	CHECK_INT(save_raw(&s, A, "{}"), 0);
	/* Queued again in the slot its link names. */
	CHECK_STR(test_readlink(test_scratch_at(&s, path, "20120408/date/10/52_10/" A),
				target, sizeof target),
		  "../../../name/93/6c");
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 1);

	/* A dangling link of another shape (a 2009 webhead slot) is
	 * replaced by a fresh queue entry. */
	make_link("../../../date/12/30/webhead01_0",
		  test_scratch_at(&s, path, LEAF_A "/" B));
	REQUIRE(save_raw(&s, B, "{}") == 0);
	CHECK_STR(test_readlink(test_scratch_at(&s, path, LEAF_A "/" B), target,
				sizeof target),
		  "../../../date/11/05_00");
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/11/05_00/" B)));
	/* One that resolves counts as queued and is left alone. */
	REQUIRE(system(test_path(path, sizeof path,
				 "mkdir -p %s/20120408/date/12/30/webhead01_0",
				 s.root)) == 0);
	const char *c = "936ce666-cccc-4c7a-9674-367fe2120408";
	make_link("../../../date/12/30/webhead01_0",
		  test_path(path, sizeof path, "%s/" LEAF_A "/%s", s.root, c));
	CHECK_INT(save_raw(&s, c, "{}"), 0);
	CHECK_STR(test_readlink(test_path(path, sizeof path,
					  "%s/" LEAF_A "/%s", s.root, c),
				target, sizeof target),
		  "../../../date/12/30/webhead01_0");
	/* A directory where the back link goes: cannot queue, says so. */
	struct crash_call call;
	struct test_blob raw;
	crash_call_init(&call);
	const char *d = "936ce666-dddd-4c7a-9674-367fe2120408";
	mkdir(test_path(path, sizeof path, "%s/" LEAF_A "/%s", s.root, d),
	      0755);
	REQUIRE(test_blob_make(&raw, s.spool, "{}", 2, 1000) == 0);
	CHECK_INT(crash_store_save_raw_crash(s.store, &call, d, &raw.blob,
					     NULL, 0),
		  -EEXIST);
	CHECK(strstr(call.error.message, "not a symbolic link") != NULL);
	test_blob_free(&raw);
	test_scratch_close(&s);
}

/* A dump of a crash without a raw crash, and a processed crash, do not
 * queue it. */
static void test_other_saves_do_not_queue(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	struct test_blob blob;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "noqueue", layout, 022, 4));
	crash_call_init(&call);
	REQUIRE(test_blob_make(&blob, s.spool, "bytes", 5, 1000) == 0);
	struct crash_dump dump = { "upload_file_minidump_flash1", blob.blob };
	CHECK_INT(crash_store_save_dump(s.store, &call, A, &dump), 0);
	CHECK_INT(crash_store_save_processed(s.store, &call, B, &blob.blob),
		  0);
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date")));
	test_blob_free(&blob);
	test_scratch_close(&s);
}

/* A dump landing after its raw crash was consumed queues the crash again
 * (rsync writes <id>.json before <id>.upload_file_minidump_flash1.dump);
 * while it is still queued, nothing changes; a processed crash never
 * queues. */
static void test_late_dump_requeues(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	struct test_blob blob;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "latedump", layout, 022, 4));
	REQUIRE(save_raw(&s, A, "{\"v\": 1}") == 0);
	crash_call_init(&call);
	REQUIRE(test_blob_make(&blob, s.spool, "bytes", 5, 1000) == 0);
	struct crash_dump dump = { "upload_file_minidump_flash1", blob.blob };
	CHECK_INT(crash_store_save_dump(s.store, &call, A, &dump), 0);
	CHECK_INT(count_entries(test_scratch_at(&s, path, "20120408/date/10/52_10")), 1);

	test_clock_set(&s.clock, 2012, 4, 8, 11, 0, 0);
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 1);
	CHECK(!test_exists(back_link_a(&s, path)));

	CHECK_INT(crash_store_save_processed(s.store, &call, A, &blob.blob), 0);
	CHECK(!test_exists(back_link_a(&s, path)));
	CHECK_INT(crash_store_save_dump(s.store, &call, A, &dump), 0);
	CHECK(test_exists(back_link_a(&s, path)));
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/11/00_00/" A)));
	test_clock_set(&s.clock, 2012, 4, 8, 11, 5, 0);
	struct test_names again = { 0 };
	CHECK_INT(pass(&s, &again), 0);
	CHECK_INT(again.count, 1);
	test_blob_free(&blob);
	test_scratch_close(&s);
}

/* Entries of a pass, kept for acks later. */
struct entries {
	struct crash_queue_entry entries[8];
	int count;
};

static int keep_entry(void *ctx, const struct crash_queue_entry *entry)
{
	struct entries *kept = ctx;
	if (kept->count < 8)
		kept->entries[kept->count++] = *entry;
	return 0;
}

static int pass_keeping(struct test_scratch *s, struct entries *kept)
{
	struct crash_call call;
	crash_call_init(&call);
	kept->count = 0;
	return crash_store_new_crashes(s->store, &call, keep_entry, kept);
}

/* A pass takes nothing; the ack of its entry takes the crash out of the
 * queue, once; a crash saved again between the pass and the ack stays
 * queued (a new version). */
static void test_ack(enum fs_layout layout)
{
	struct test_scratch s;
	struct crash_call call;
	struct entries kept;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "ack", layout, 022, 4));
	crash_call_init(&call);
	REQUIRE(save_raw(&s, A, "{}") == 0);
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	CHECK_INT(pass_keeping(&s, &kept), 0);
	REQUIRE(kept.count == 1);
	CHECK_STR(kept.entries[0].crash_id, A);
	CHECK(test_exists(back_link_a(&s, path)));
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
	CHECK_INT(pass_keeping(&s, &kept), 0);
	CHECK_INT(kept.count, 1); /* a listing takes nothing */

	CHECK_INT(crash_store_ack_crash(s.store, &call, &kept.entries[0]), 0);
	CHECK(!test_exists(back_link_a(&s, path)));
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
	CHECK(!test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10")));
	CHECK_INT(crash_store_ack_crash(s.store, &call, &kept.entries[0]),
		  -ENOENT);
	struct crash_queue_entry other = kept.entries[0];
	memcpy(other.crash_id, B, sizeof other.crash_id);
	CHECK_INT(crash_store_ack_crash(s.store, &call, &other), -ENOENT);
	memcpy(other.crash_id, "x", 2);
	CHECK_INT(crash_store_ack_crash(s.store, &call, &other), -EINVAL);
	CHECK_INT(pass_keeping(&s, &kept), 0);
	CHECK_INT(kept.count, 0);

	/* Saved again after the pass, before the ack: queued anew. */
	test_clock_set(&s.clock, 2012, 4, 8, 10, 52, 10);
	REQUIRE(save_raw(&s, A, "{\"v\": 1}") == 0);
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	CHECK_INT(pass_keeping(&s, &kept), 0);
	REQUIRE(kept.count == 1);
	struct test_blob raw;
	REQUIRE(test_blob_make(&raw, s.spool, "{\"v\": 2}", 8, 2000) == 0);
	CHECK_INT(crash_store_save_raw_crash(s.store, &call, A, &raw.blob, NULL,
					     0),
		  0);
	test_blob_free(&raw);
	struct crash_queue_entry stale = kept.entries[0];
	CHECK_INT(crash_store_ack_crash(s.store, &call, &stale), 0);
	CHECK(test_exists(back_link_a(&s, path)));
	CHECK_INT(pass_keeping(&s, &kept), 0);
	REQUIRE(kept.count == 1);
	CHECK(kept.entries[0].token.value[0] != stale.token.value[0]);
	CHECK_INT(crash_store_ack_crash(s.store, &call, &kept.entries[0]), 0);
	CHECK(!test_exists(back_link_a(&s, path)));
	test_scratch_close(&s);
}

/* A non-dated store on a dated tree: no queue, links left alone. */
static void test_not_dated(void)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "notdated", FS_LAYOUT_DATED, 022, 4));
	REQUIRE(save_raw(&s, A, "{}") == 0);
	struct crash_store *radix =
		test_open_store(s.root, FS_LAYOUT_RADIX, 022, 4, &s.clock);
	REQUIRE(radix != NULL);
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	struct crash_call call;
	struct test_names names = { 0 };
	crash_call_init(&call);
	CHECK_INT(test_consume_new_crashes(radix, &call,
					  &names),
		  0);
	CHECK_INT(names.count, 0);
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/10/52_10/" A)));
	crash_store_close(radix);
	test_scratch_close(&s);
}

/* Socorro's pass died on a stray file in the date branch, for good. */
static void test_stray_files(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "stray", layout, 022, 4));
	REQUIRE(save_raw(&s, A, "{}") == 0);
	make_file(test_scratch_at(&s, path, "20120408/date/notes"), "x");
	make_file(test_scratch_at(&s, path, "20120408/date/10/09_00"), "x");
	make_file(test_scratch_at(&s, path, "20120408/stray"), "x");
	make_file(test_scratch_at(&s, path, "strayfile"), "x");
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	struct test_names names = { 0 };
	CHECK_INT(pass(&s, &names), 0);
	CHECK_INT(names.count, 1);
	CHECK(test_exists(test_scratch_at(&s, path, "20120408/date/notes")));
	test_scratch_close(&s);
}

int main(void)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	for (size_t i = 0; i < 2; i++) {
		test_pinned_slot_rule(dated_layouts[i]);
		test_consumption_example(dated_layouts[i]);
		test_past_hour_removed(dated_layouts[i]);
		test_orphans(dated_layouts[i]);
		test_early_stop(dated_layouts[i]);
		test_resave_queued(dated_layouts[i]);
		test_other_saves_do_not_queue(dated_layouts[i]);
		test_late_dump_requeues(dated_layouts[i]);
		test_ack(dated_layouts[i]);
		test_stray_files(dated_layouts[i]);
	}
	test_webhead_slots();
	test_stale_back_links();
	test_not_dated();
	return unit_test_exit("test_fs_queue");
}
