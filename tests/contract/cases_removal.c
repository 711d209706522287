/*
 * cases_removal.c - remove, remove_part and what removal does to radix
 * directories.
 *
 * A crash whose parts were all removed one by one: crash_store.h says
 * stat_crash answers for "any part of the crash"; the fs store keeps the
 * empty crash directory (listed, and removed by remove) because the
 * mount's rm -r relies on it.  The suite accepts both (README.md), and
 * requires that a remove afterwards leaves nothing.
 */
#include <errno.h>
#include <string.h>

#include "tests/contract/cases.h"

#define DAY(t) (&(t)->run->day)

static const struct crash_part raw_part = { CRASH_PART_RAW_CRASH, NULL };
static const struct crash_part main_dump = { CRASH_PART_DUMP, NULL };
static const struct crash_part flash1 = { CRASH_PART_DUMP, "flash1" };
static const struct crash_part processed_part = { CRASH_PART_PROCESSED,
						  NULL };

/* A crash of every part: raw crash, main dump, flash1, processed. */
static bool save_whole(struct contract_test *t, struct model_crash *crash,
		       struct contract_blob b[4], unsigned serial)
{
	if (!make_raw(t, &b[0], crash->id, serial, serial) ||
	    !make_dump(t, &b[1], serial * 10 + 1, 333, serial + 1) ||
	    !make_dump(t, &b[2], serial * 10 + 2, 444, serial + 2) ||
	    !make_processed(t, &b[3], crash->id, serial, 80, serial + 3))
		return false;
	const struct model_dump dumps[] = { { NULL, &b[1] },
					    { "flash1", &b[2] } };
	/* A store that refuses dumps takes the raw crash alone. */
	if (!save_raw_crash(t, crash, &b[0], dumps, 2) &&
	    t->profile->dumps == PART_REFUSED)
		save_raw_crash(t, crash, &b[0], NULL, 0);
	save_processed(t, crash, &b[3]);
	return true;
}

static size_t listed_in(struct contract_test *t, const char *day,
			const char *prefix, const char *crash_id, int *result)
{
	struct crash_call call;
	struct entry_list list = { 0 };
	*result = list_radix(t, &call, day, prefix, &list);
	size_t count = entry_list_count(&list, CRASH_LISTING_CRASH, crash_id);
	if (*result < 0 && *result != -ENOENT && *result != -ENOTSUP)
		expect_ok(t, *result, &call, "open_radix %s/\"%s\"", day,
			  prefix);
	entry_list_release(&list);
	return count;
}

static bool in_page(struct contract_test *t, const char *day,
		    const char *prefix, const char *crash_id)
{
	struct crash_call call;
	struct crash_id_page page;
	crash_call_init(&call);
	if (!expect_ok(t, crash_store_list_crashes(t->store, &call, day, prefix,
						   NULL, &page),
		       &call, "list_crashes %s \"%s\"", day, prefix))
		return false;
	for (size_t i = 0; i < page.count; i++)
		if (strcmp(page.ids[i], crash_id) == 0)
			return true;
	return false;
}

void case_remove(struct contract_test *t)
{
	char gone[CRASH_ID_LENGTH + 1], stays[CRASH_ID_LENGTH + 1], leaf[9];
	struct model_crash removed, neighbour;
	struct contract_blob a[4], b[4], again = CONTRACT_BLOB_NONE;
	for (int i = 0; i < 4; i++)
		a[i] = b[i] = (struct contract_blob)CONTRACT_BLOB_NONE;
	const char *day = DAY(t)->name;
	/* Two crashes in one radix leaf (one shared directory in the
	 * legacy layouts). */
	contract_crash_id(t, gone, 0x50, 0, 1, 0, DAY(t));
	contract_crash_id(t, stays, 0x50, 0, 2, 0, DAY(t));
	contract_head_prefix(t, 0x50, leaf);
	model_init(&removed, gone);
	model_init(&neighbour, stays);
	if (!save_whole(t, &removed, a, 10) || !save_whole(t, &neighbour, b, 20))
		goto out;
	bool listed = t->profile->reads && model_kept(t, &removed);
	int result;
	if (listed)
		EXPECT(t, listed_in(t, day, leaf, gone, &result) == 1,
		       "open_radix %s/\"%s\": %s not listed before its "
		       "removal",
		       day, leaf, gone);

	expect_remove(t, &removed);
	expect_crash(t, &removed, false);
	expect_crash(t, &neighbour, false);
	if (!t->profile->changes)
		goto out;
	/* Gone from the listings too; the neighbour is not. */
	EXPECT(t, listed_in(t, day, leaf, gone, &result) == 0,
	       "open_radix %s/\"%s\": %s listed after its removal", day, leaf,
	       gone);
	if (listed)
		EXPECT(t, listed_in(t, day, leaf, stays, &result) == 1,
		       "open_radix %s/\"%s\": %s (not removed) not listed once",
		       day, leaf, stays);
	if (crash_store_can(t->store, list_crashes) && t->profile->reads) {
		EXPECT(t, !in_page(t, day, leaf, gone),
		       "list_crashes: %s listed after its removal", gone);
		if (listed)
			EXPECT(t, in_page(t, day, leaf, stays),
			       "list_crashes: %s (not removed) missing", stays);
	}
	/* Removing again, and the other removals: not here. */
	expect_remove(t, &removed);
	expect_remove_part(t, &removed, &raw_part);
	struct timespec mtime = contract_mtime(5);
	expect_set_mtime(t, &removed, &main_dump, NULL, &mtime);
	/* Saved again, it is a new crash: nothing of the old one is back. */
	if (make_raw(t, &again, gone, 11, 15)) {
		save_raw_crash(t, &removed, &again, NULL, 0);
		expect_crash(t, &removed, false);
	}
	expect_crash(t, &neighbour, false);
out:
	close_blobs(a, 4);
	close_blobs(b, 4);
	contract_blob_close(&again);
}

void case_remove_part(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob b[4], again = CONTRACT_BLOB_NONE;
	const struct crash_part never = { CRASH_PART_DUMP, "never_saved" };
	for (int i = 0; i < 4; i++)
		b[i] = (struct contract_blob)CONTRACT_BLOB_NONE;
	contract_crash_id(t, id, 0x51, 0, 1, 0, DAY(t));
	model_init(&crash, id);
	if (!save_whole(t, &crash, b, 30))
		goto out;
	/* One part at a time; the others stay. */
	expect_remove_part(t, &crash, &flash1);
	expect_crash(t, &crash, false);
	expect_remove_part(t, &crash, &flash1);
	expect_remove_part(t, &crash, &never);
	expect_remove_part(t, &crash, &processed_part);
	expect_crash(t, &crash, false);
	expect_remove_part(t, &crash, &main_dump);
	expect_crash(t, &crash, false);
	if (!t->profile->changes)
		goto out;
	/* The last part: the crash may stay as an empty one (see above),
	 * until it is removed. */
	expect_remove_part(t, &crash, &raw_part);
	expect_crash(t, &crash, true);
	struct crash_call call;
	crash_call_init(&call);
	int result = crash_store_remove(t->store, &call, id);
	EXPECT(t, result == 0 || result == -ENOENT,
	       "remove %s after its last part: %s (%s)", id,
	       contract_errno_name(result), call.error.message);
	expect_crash(t, &crash, false);
	if (make_raw(t, &again, id, 31, 35)) {
		save_raw_crash(t, &crash, &again, NULL, 0);
		expect_crash(t, &crash, false);
	}
out:
	close_blobs(b, 4);
	contract_blob_close(&again);
}

/* remove_radix_dir day/prefix: 0 or what the store says; -ENOTSUP when it
 * keeps no directories. */
static int remove_dir(struct contract_test *t, const char *day,
		      const char *prefix, struct crash_call *call)
{
	crash_call_init(call);
	return crash_store_remove_radix_dir(t->store, call, day, prefix);
}

void case_radix_dirs_after_remove(struct contract_test *t)
{
	char first[CRASH_ID_LENGTH + 1], second[CRASH_ID_LENGTH + 1];
	char first_leaf[9], second_leaf[9], own[7];
	struct model_crash x, y;
	struct contract_blob b[2] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	struct crash_call call;
	const char *day = DAY(t)->name;
	if (!t->profile->changes || !t->profile->reads ||
	    !part_kept(t, CRASH_PART_RAW_CRASH)) {
		contract_not_applicable(t, "the profile lists nothing it could "
					   "remove");
		return;
	}
	contract_crash_id(t, first, 0x60, 0, 1, 0, DAY(t));
	contract_crash_id(t, second, 0x61, 0, 1, 0, DAY(t));
	contract_head_prefix(t, 0x60, first_leaf);
	contract_head_prefix(t, 0x61, second_leaf);
	contract_case_prefix(t, own);
	model_init(&x, first);
	model_init(&y, second);
	if (!make_raw(t, &b[0], first, 1, 1) || !make_raw(t, &b[1], second, 2, 2))
		goto out;
	if (!save_raw_crash(t, &x, &b[0], NULL, 0) ||
	    !save_raw_crash(t, &y, &b[1], NULL, 0))
		goto out;

	/* While a crash is below it, a directory is not removed. */
	int result = remove_dir(t, day, first_leaf, &call);
	bool keeps_dirs = result != -ENOTSUP;
	if (keeps_dirs)
		expect_errno(t, result, &call, ENOTEMPTY,
			     "remove_radix_dir %s/\"%s\" holding a crash", day,
			     first_leaf);
	expect_remove(t, &x);
	/* Without directories of its own, a directory goes with its last
	 * crash; with them, it goes with remove_radix_dir. */
	if (keeps_dirs) {
		result = remove_dir(t, day, first_leaf, &call);
		EXPECT(t, result == 0 || result == -ENOENT,
		       "remove_radix_dir %s/\"%s\" (empty): %s (%s)", day,
		       first_leaf, contract_errno_name(result),
		       call.error.message);
		result = remove_dir(t, day, first_leaf, &call);
		expect_errno(t, result, &call, ENOENT,
			     "remove_radix_dir %s/\"%s\" again", day,
			     first_leaf);
		result = remove_dir(t, day, own, &call);
		expect_errno(t, result, &call, ENOTEMPTY,
			     "remove_radix_dir %s/\"%s\" (a crash below)", day,
			     own);
	}
	expect_radix_dir(t, day, first_leaf, false, NULL);
	expect_radix_dir(t, day, own, true, NULL);
	expect_remove(t, &y);
	if (keeps_dirs) {
		result = remove_dir(t, day, second_leaf, &call);
		EXPECT(t, result == 0 || result == -ENOENT,
		       "remove_radix_dir %s/\"%s\" (empty): %s (%s)", day,
		       second_leaf, contract_errno_name(result),
		       call.error.message);
		result = remove_dir(t, day, own, &call);
		EXPECT(t, result == 0 || result == -ENOENT,
		       "remove_radix_dir %s/\"%s\" (empty): %s (%s)", day, own,
		       contract_errno_name(result), call.error.message);
	}
	expect_radix_dir(t, day, second_leaf, false, NULL);
	expect_radix_dir(t, day, own, false, NULL);
	struct entry_list list = { 0 };
	result = list_radix(t, &call, day, own, &list);
	expect_errno(t, result, &call, ENOENT, "open_radix %s/\"%s\" (emptied)",
		     day, own);
	entry_list_release(&list);
out:
	close_blobs(b, 2);
}
