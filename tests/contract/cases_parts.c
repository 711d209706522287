/*
 * cases_parts.c - saving parts and reading them back: every part type,
 * the answers for what is not there, re-saves, dump names, mtimes,
 * versions, big parts and adoptable blobs.
 *
 * Ids live in the case's own radix directory (contract_crash_id), heads
 * 0x0001.. per crash, depth 4 unless a case says otherwise.
 */
#include <errno.h>
#include <string.h>

#include "tests/contract/cases.h"

#define DAY(t) (&(t)->run->day)

static void crash_id(struct contract_test *t, char id[CRASH_ID_LENGTH + 1],
		     unsigned head, uint64_t index)
{
	contract_crash_id(t, id, head, 0, index, 0, DAY(t));
}

static const struct crash_part raw_part = { CRASH_PART_RAW_CRASH, NULL };
static const struct crash_part main_dump = { CRASH_PART_DUMP, NULL };
static const struct crash_part processed_part = { CRASH_PART_PROCESSED,
						  NULL };

static bool anything_kept(const struct contract_test *t)
{
	return part_kept(t, CRASH_PART_RAW_CRASH) ||
	       part_kept(t, CRASH_PART_DUMP) ||
	       part_kept(t, CRASH_PART_PROCESSED);
}

void case_save_and_read(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob blobs[5] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
					  CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
					  CONTRACT_BLOB_NONE };
	crash_id(t, id, 1, 1);
	model_init(&crash, id);
	if (!make_raw(t, &blobs[0], id, 1, 1) ||
	    !make_dump(t, &blobs[1], 11, 4099, 2) ||
	    !make_dump(t, &blobs[2], 12, 513, 3) ||
	    !make_dump(t, &blobs[3], 13, 77, 4) ||
	    !make_processed(t, &blobs[4], id, 1, 300, 5))
		goto out;

	/* The raw crash alone, then the dumps with it, then processed. */
	save_raw_crash(t, &crash, &blobs[0], NULL, 0);
	expect_crash(t, &crash, false);
	const struct model_dump dumps[] = {
		{ NULL, &blobs[1] },
		{ "upload_file_minidump_flash1", &blobs[2] },
		{ "upload_file_minidump_flash2", &blobs[3] },
	};
	save_raw_crash(t, &crash, &blobs[0], dumps, 3);
	save_processed(t, &crash, &blobs[4]);
	expect_crash(t, &crash, false);
out:
	close_blobs(blobs, 5);
}

/* Every answer about a crash that is not here: -ENOENT (-ENOTSUP without
 * reads, -EROFS or -ENOTSUP for removals the store does not do). */
static void expect_crash_absent(struct contract_test *t, const char *id)
{
	struct model_crash nothing;
	struct contract_blob unused = CONTRACT_BLOB_NONE;
	const struct crash_part named = { CRASH_PART_DUMP, "flash1" };
	struct timespec mtime = contract_mtime(40);
	model_init(&nothing, id);
	expect_crash(t, &nothing, false);
	expect_remove(t, &nothing);
	expect_remove_part(t, &nothing, &raw_part);
	expect_remove_part(t, &nothing, &named);
	expect_set_mtime(t, &nothing, &processed_part, &unused, &mtime);
}

static void expect_empty_page(struct contract_test *t, const char *day,
			      const char *prefix)
{
	struct crash_call call;
	struct crash_id_page page;
	if (!crash_store_can(t->store, list_crashes))
		return;
	crash_call_init(&call);
	page.count = 99;
	int result = crash_store_list_crashes(t->store, &call, day, prefix,
					      NULL, &page);
	if (expect_ok(t, result, &call, "list_crashes %s \"%s\"", day, prefix))
		EXPECT(t, page.count == 0,
		       "list_crashes %s \"%s\": %zu ids where there are none",
		       day, prefix, page.count);
}

void case_not_found(struct contract_test *t)
{
	char here[CRASH_ID_LENGTH + 1], missing[CRASH_ID_LENGTH + 1];
	char unknown_day[CRASH_ID_LENGTH + 1], unused[7];
	struct model_crash crash;
	struct contract_blob raw = CONTRACT_BLOB_NONE;
	struct timespec mtime = contract_mtime(41);
	const char *day = DAY(t)->name;

	/* A crash of the day, and a neighbour in the same radix leaf that
	 * was never saved. */
	crash_id(t, here, 1, 1);
	crash_id(t, missing, 1, 2);
	contract_crash_id(t, unknown_day, 1, 0, 1, 0, &t->run->unused_day);
	model_init(&crash, here);
	if (!make_raw(t, &raw, here, 1, 1))
		return;
	save_raw_crash(t, &crash, &raw, NULL, 0);

	/* Missing parts of a crash that is here. */
	expect_crash(t, &crash, false);
	expect_remove_part(t, &crash, &main_dump);
	expect_remove_part(t, &crash, &processed_part);
	expect_set_mtime(t, &crash, &main_dump, NULL, &mtime);
	/* A missing crash of a day that has crashes, and of an unknown
	 * day. */
	expect_crash_absent(t, missing);
	expect_crash_absent(t, unknown_day);

	/* Radix directories that are not there, in a day that has crashes
	 * and in one that has none. */
	char unused_head[9];
	contract_head_prefix(t, CONTRACT_HEAD_UNUSED, unused_head);
	contract_unused_prefix(t, unused);
	expect_radix_dir(t, day, unused_head, false, NULL);
	expect_radix_dir(t, day, unused, false, NULL);
	expect_radix_dir(t, t->run->unused_day.name, "", false, NULL);
	struct crash_call call;
	struct entry_list list = { 0 };
	int result = list_radix(t, &call, day, unused, &list);
	if (t->profile->reads)
		expect_errno(t, result, &call, ENOENT, "open_radix %s/\"%s\"",
			     day, unused);
	else
		expect_errno(t, result, &call, ENOTSUP,
			     "open_radix %s/\"%s\" (no reads)", day, unused);
	entry_list_release(&list);
	result = list_radix(t, &call, t->run->unused_day.name, "", &list);
	if (t->profile->reads)
		expect_errno(t, result, &call, ENOENT, "open_radix %s/\"\"",
			     t->run->unused_day.name);
	entry_list_release(&list);
	expect_empty_page(t, t->run->unused_day.name, "");
	expect_empty_page(t, day, unused);
	contract_blob_close(&raw);
}

void case_resave(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[8];
	for (size_t i = 0; i < 8; i++)
		b[i] = (struct contract_blob)CONTRACT_BLOB_NONE;
	crash_id(t, id, 2, 1);
	model_init(&crash, id);
	if (!make_raw(t, &b[0], id, 1, 1) || !make_dump(t, &b[1], 21, 1000, 2) ||
	    !make_dump(t, &b[2], 22, 2000, 3) ||
	    !make_processed(t, &b[3], id, 1, 100, 4) ||
	    !make_raw(t, &b[4], id, 2, 5) || !make_dump(t, &b[5], 23, 1500, 6) ||
	    !make_dump(t, &b[6], 24, 2500, 7) ||
	    !make_processed(t, &b[7], id, 2, 200, 8))
		goto out;
	const struct model_dump first[] = { { NULL, &b[1] }, { "flash1", &b[2] } };
	save_raw_crash(t, &crash, &b[0], first, 2);
	save_processed(t, &crash, &b[3]);
	expect_crash(t, &crash, false);

	/* The raw crash and the main dump again: flash1 and the processed
	 * crash stay. */
	const struct model_dump second[] = { { NULL, &b[5] } };
	save_raw_crash(t, &crash, &b[4], second, 1);
	expect_crash(t, &crash, false);
	/* The raw crash alone again: every dump stays. */
	save_raw_crash(t, &crash, &b[0], NULL, 0);
	save_dump(t, &crash, "flash1", &b[6]);
	save_processed(t, &crash, &b[7]);
	expect_crash(t, &crash, false);
out:
	close_blobs(b, 8);
}

void case_dump_names(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1], long_name[CRASH_DUMP_NAME_MAX + 1];
	struct model_crash crash;
	struct contract_blob b[8];
	for (size_t i = 0; i < 8; i++)
		b[i] = (struct contract_blob)CONTRACT_BLOB_NONE;
	crash_id(t, id, 3, 1);
	model_init(&crash, id);
	for (size_t i = 0; i < CRASH_DUMP_NAME_MAX; i++)
		long_name[i] = "abcdefghijklmnopqrstuvwxyz0123456789_-."[i % 38];
	long_name[CRASH_DUMP_NAME_MAX - 1] = 'z';
	long_name[CRASH_DUMP_NAME_MAX] = '\0';
	if (!make_raw(t, &b[0], id, 1, 1))
		goto out;
	for (unsigned i = 1; i < 8; i++)
		if (!make_dump(t, &b[i], 30 + i, 100 + 37 * i, 1 + i))
			goto out;
	const char *alias = t->naming.main_dump_name;

	/* The store's own name of the main dump is the main dump: one part,
	 * reported as NULL. */
	const struct model_dump by_alias[] = { { alias, &b[1] } };
	save_raw_crash(t, &crash, &b[0], by_alias, 1);
	expect_crash(t, &crash, false);
	save_dump(t, &crash, NULL, &b[2]);
	expect_crash(t, &crash, false);
	save_dump(t, &crash, alias, &b[3]);
	expect_crash(t, &crash, false);

	/* Named dumps are parts of their own, names compared exactly. */
	save_dump(t, &crash, "flash1", &b[4]);
	save_dump(t, &crash, "Flash1", &b[5]);
	save_dump(t, &crash, "a.b-c_D9", &b[6]);
	save_dump(t, &crash, long_name, &b[7]);
	expect_crash(t, &crash, false);
out:
	close_blobs(b, 8);
}

void case_empty_parts(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[4] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	crash_id(t, id, 4, 1);
	model_init(&crash, id);
	if (!make_raw(t, &b[0], id, 1, 1) || !make_dump(t, &b[1], 41, 0, 2) ||
	    !make_dump(t, &b[2], 42, 0, 3) || !make_dump(t, &b[3], 43, 10, 4))
		goto out;
	const struct model_dump dumps[] = { { NULL, &b[1] },
					    { "empty", &b[2] } };
	save_raw_crash(t, &crash, &b[0], dumps, 2);
	expect_crash(t, &crash, false);
	/* From empty to ten bytes and back. */
	save_dump(t, &crash, NULL, &b[3]);
	expect_crash(t, &crash, false);
	save_dump(t, &crash, NULL, &b[1]);
	expect_crash(t, &crash, false);
out:
	close_blobs(b, 4);
}

void case_dump_before_raw_crash(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[3] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE };
	crash_id(t, id, 5, 1);
	model_init(&crash, id);
	if (!make_dump(t, &b[0], 51, 700, 1) ||
	    !make_dump(t, &b[1], 52, 800, 2) || !make_raw(t, &b[2], id, 1, 3))
		goto out;
	/* rsync and cp write <id>.dump before <id>.json: a crash with a
	 * dump only is a crash. */
	save_dump(t, &crash, NULL, &b[0]);
	expect_crash(t, &crash, false);
	save_dump(t, &crash, "flash1", &b[1]);
	save_raw_crash(t, &crash, &b[2], NULL, 0);
	expect_crash(t, &crash, false);
out:
	close_blobs(b, 3);
}

void case_mtimes(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[4] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	const struct crash_part flash1 = { CRASH_PART_DUMP, "flash1" };
	if (!anything_kept(t)) {
		contract_not_applicable(t, "the profile keeps no part");
		return;
	}
	crash_id(t, id, 6, 1);
	model_init(&crash, id);
	/* Each part its own mtime, with nanoseconds. */
	if (!make_raw(t, &b[0], id, 1, 61) || !make_dump(t, &b[1], 61, 300, 62) ||
	    !make_dump(t, &b[2], 62, 400, 63) ||
	    !make_processed(t, &b[3], id, 1, 50, 64))
		goto out;
	const struct model_dump dumps[] = { { NULL, &b[1] },
					    { "flash1", &b[2] } };
	save_raw_crash(t, &crash, &b[0], dumps, 2);
	save_processed(t, &crash, &b[3]);
	expect_crash(t, &crash, false);

	/* utimens after close, as copy2 and rsync do: the mtime changes,
	 * nothing else. */
	const struct crash_part *parts[] = { &raw_part, &main_dump, &flash1,
					     &processed_part };
	for (unsigned i = 0; i < 4; i++) {
		struct timespec mtime = contract_mtime(70 + i);
		expect_set_mtime(t, &crash, parts[i], &b[i], &mtime);
	}
	expect_crash(t, &crash, false);
	/* An mtime in the past and one with no nanoseconds. */
	struct timespec old = { .tv_sec = 86400, .tv_nsec = 1 };
	struct timespec whole = { .tv_sec = 1500000000, .tv_nsec = 0 };
	expect_set_mtime(t, &crash, &raw_part, &b[0], &old);
	expect_set_mtime(t, &crash, &processed_part, &b[3], &whole);
	expect_crash(t, &crash, false);
out:
	close_blobs(b, 4);
}

/* The version stat_part, open_part and list_parts give, all the same. */
static uint64_t version_of(struct contract_test *t, const char *id,
			   const struct crash_part *part)
{
	struct crash_part_stat stat;
	if (stat_of(t, id, part, &stat) < 0)
		return 0;
	return stat.version;
}

void case_versions(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[4] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	if (!t->profile->reads || !part_kept(t, CRASH_PART_RAW_CRASH)) {
		contract_not_applicable(t, "the profile keeps no raw crash to "
					   "read");
		return;
	}
	crash_id(t, id, 7, 1);
	model_init(&crash, id);
	/* Versions 1 and 2 of each part: the same size and mtime, other
	 * bytes, so only a real version tells them apart. */
	if (!make_raw(t, &b[0], id, 1, 80) || !make_raw(t, &b[1], id, 2, 80) ||
	    !make_dump(t, &b[2], 81, 999, 81) ||
	    !make_dump(t, &b[3], 82, 999, 81))
		goto out;
	if (!EXPECT(t, b[0].size == b[1].size,
		    "the suite's raw crashes differ in size"))
		goto out;
	const struct model_dump dumps[] = { { NULL, &b[2] } };
	if (!save_raw_crash(t, &crash, &b[0], part_kept(t, CRASH_PART_DUMP)
						       ? dumps
						       : NULL,
			    part_kept(t, CRASH_PART_DUMP) ? 1 : 0))
		goto out;
	uint64_t raw_version = version_of(t, id, &raw_part);
	uint64_t dump_version = part_kept(t, CRASH_PART_DUMP)
					? version_of(t, id, &main_dump)
					: 0;
	/* Reading changes nothing. */
	expect_crash(t, &crash, false);
	expect_crash(t, &crash, false);
	EXPECT(t, version_of(t, id, &raw_part) == raw_version,
	       "stat_part %s raw crash: the version changed by reading", id);
	if (part_kept(t, CRASH_PART_DUMP))
		EXPECT(t, version_of(t, id, &main_dump) == dump_version,
		       "stat_part %s main dump: the version changed by reading",
		       id);
	/* New bytes, same size and mtime: a new version. */
	if (!save_raw_crash(t, &crash, &b[1], NULL, 0))
		goto out;
	if (part_kept(t, CRASH_PART_DUMP) && !save_dump(t, &crash, NULL, &b[3]))
		goto out;
	expect_crash(t, &crash, false);
	if (!t->profile->part_versions)
		goto out;
	EXPECT(t, version_of(t, id, &raw_part) != raw_version,
	       "stat_part %s raw crash: new bytes, same version %llu", id,
	       (unsigned long long)raw_version);
	if (part_kept(t, CRASH_PART_DUMP))
		EXPECT(t, version_of(t, id, &main_dump) != dump_version,
		       "stat_part %s main dump: new bytes, same version %llu",
		       id, (unsigned long long)dump_version);
out:
	close_blobs(b, 4);
}

static void stat_dirs(struct contract_test *t, const char *id,
		      struct crash_dir_stat *crash_stat,
		      struct crash_dir_stat radix[5])
{
	struct crash_call call;
	char prefix[9];
	crash_call_init(&call);
	memset(crash_stat, 0, sizeof *crash_stat);
	expect_ok(t, crash_store_stat_crash(t->store, &call, id, crash_stat),
		  &call, "stat_crash %s", id);
	for (int level = 0; level <= 4; level++) {
		memcpy(prefix, id, (size_t)(2 * level));
		prefix[2 * level] = '\0';
		expect_radix_dir(t, DAY(t)->name, prefix, true, &radix[level]);
	}
}

static bool is_zero(const struct timespec *time)
{
	return time->tv_sec == 0 && time->tv_nsec == 0;
}

/* Not backwards: a known mtime stays known and never decreases. */
static void expect_not_backwards(struct contract_test *t, const char *what,
				 const struct timespec *before,
				 const struct timespec *after)
{
	if (is_zero(before))
		return;
	EXPECT(t, !is_zero(after) &&
			  (after->tv_sec > before->tv_sec ||
			   (after->tv_sec == before->tv_sec &&
			    after->tv_nsec >= before->tv_nsec)),
	       "%s: mtime went from %lld.%09ld back to %lld.%09ld", what,
	       (long long)before->tv_sec, before->tv_nsec,
	       (long long)after->tv_sec, after->tv_nsec);
}

static void expect_dirs_not_backwards(struct contract_test *t, const char *id,
				      struct crash_dir_stat *crash_stat,
				      struct crash_dir_stat radix[5],
				      const char *after_what)
{
	struct crash_dir_stat crash_now, radix_now[5];
	char what[160];
	stat_dirs(t, id, &crash_now, radix_now);
	snprintf(what, sizeof what, "stat_crash %s after %s", id, after_what);
	expect_not_backwards(t, what, &crash_stat->mtime, &crash_now.mtime);
	for (int level = 0; level <= 4; level++) {
		snprintf(what, sizeof what,
			 "stat_radix_dir of level %d of %s after %s", level, id,
			 after_what);
		expect_not_backwards(t, what, &radix[level].mtime,
				     &radix_now[level].mtime);
	}
	*crash_stat = crash_now;
	memcpy(radix, radix_now, 5 * sizeof radix[0]);
}

void case_directory_mtimes(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1], neighbour[CRASH_ID_LENGTH + 1];
	struct model_crash crash, other;
	struct contract_blob b[4] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	struct crash_dir_stat crash_stat, radix[5];
	if (!t->profile->reads || !part_kept(t, CRASH_PART_RAW_CRASH)) {
		contract_not_applicable(t, "the profile keeps no raw crash to "
					   "look up");
		return;
	}
	crash_id(t, id, 8, 1);
	crash_id(t, neighbour, 8, 2);
	model_init(&crash, id);
	model_init(&other, neighbour);
	if (!make_raw(t, &b[0], id, 1, 90) || !make_dump(t, &b[1], 91, 64, 91) ||
	    !make_raw(t, &b[2], id, 2, 92) ||
	    !make_raw(t, &b[3], neighbour, 1, 93))
		goto out;
	if (!save_raw_crash(t, &crash, &b[0], NULL, 0))
		goto out;
	stat_dirs(t, id, &crash_stat, radix);
	save_dump(t, &crash, "flash1", &b[1]);
	expect_dirs_not_backwards(t, id, &crash_stat, radix, "a new dump");
	save_raw_crash(t, &crash, &b[2], NULL, 0);
	expect_dirs_not_backwards(t, id, &crash_stat, radix,
				  "a rewritten raw crash");
	save_raw_crash(t, &other, &b[3], NULL, 0);
	expect_dirs_not_backwards(t, id, &crash_stat, radix,
				  "a crash saved next to it");
out:
	close_blobs(b, 4);
}

void case_big_parts(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[4] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	crash_id(t, id, 9, 1);
	model_init(&crash, id);
	/* Sizes that are no multiple of any buffer. */
	if (!make_raw(t, &b[0], id, 1, 100) ||
	    !make_dump(t, &b[1], 101, (5 << 20) + 321, 101) ||
	    !make_dump(t, &b[2], 102, (3 << 20) + 17, 102) ||
	    !make_processed(t, &b[3], id, 1, (2 << 20) + 5, 103))
		goto out;
	const struct model_dump dumps[] = { { NULL, &b[1] } };
	save_raw_crash(t, &crash, &b[0], dumps, 1);
	save_dump(t, &crash, "upload_file_minidump_browser", &b[2]);
	save_processed(t, &crash, &b[3]);
	expect_crash(t, &crash, false);
out:
	close_blobs(b, 4);
}

void case_adoptable_blobs(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[4] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	crash_id(t, id, 10, 1);
	model_init(&crash, id);
	struct timespec mtime[3] = { contract_mtime(111), contract_mtime(112),
				     contract_mtime(113) };
	const char *spool = t->run->spool_dir;
	if (!make_raw(t, &b[0], id, 1, 110))
		goto out;
	for (int i = 0; i < 3; i++) {
		int result = contract_blob_adoptable(&b[1 + i], spool,
						     120 + (uint64_t)i,
						     70000 + 1000 * i,
						     &mtime[i]);
		if (!EXPECT(t, result == 0, "cannot make a spool file in %s: %s",
			    spool, strerror(-result)))
			goto out;
	}
	/* The store may link these files in place of copying them: the
	 * suite never writes to them again (crash_store.h). */
	const struct model_dump dumps[] = { { NULL, &b[1] } };
	save_raw_crash(t, &crash, &b[0], dumps, 1);
	save_dump(t, &crash, "flash1", &b[2]);
	expect_crash(t, &crash, false);
	save_dump(t, &crash, NULL, &b[3]);
	expect_crash(t, &crash, false);
out:
	close_blobs(b, 4);
}
