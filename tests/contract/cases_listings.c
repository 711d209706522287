/*
 * cases_listings.c - days, radix directories at every level, paging past
 * CRASH_ID_PAGE_MAX, list_crashes, listings while other threads save, and
 * store calls between two crash_listing_next calls.
 *
 * A directory below the case's own ("NNNNkk", contract_crash_id) holds
 * this case's crashes and nothing else, so its listing is checked exactly;
 * directories above it are shared with other cases (and, on a server,
 * other runs): there the case's entries must appear exactly once and
 * nothing may appear twice.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_id.h"
#include "tests/contract/cases.h"

#define DAY(t) (&(t)->run->day)

struct expected_entry {
	enum crash_listing_kind kind;
	const char *name;
};

static bool raw_crashes_listed(struct contract_test *t, const char *why)
{
	if (t->profile->reads && part_kept(t, CRASH_PART_RAW_CRASH))
		return true;
	contract_not_applicable(t, "%s", why);
	return false;
}

/* Saves a raw crash alone; the blob is made and closed here. */
static bool save_plain(struct contract_test *t, const char *crash_id,
		       unsigned serial)
{
	struct contract_blob raw = CONTRACT_BLOB_NONE;
	struct crash_blob view;
	struct crash_call call;
	if (!make_raw(t, &raw, crash_id, serial, serial % 1000))
		return false;
	view = contract_blob_view(&raw);
	crash_call_init(&call);
	int result = crash_store_save_raw_crash(t->store, &call, crash_id,
						&view, NULL, 0);
	contract_blob_close(&raw);
	return expect_ok(t, result, &call, "save_raw_crash %s", crash_id);
}

/*
 * Lists day/prefix and checks it: well-formed entries, none twice, each
 * expected one once; exact: nothing else either.  Without reads, -ENOTSUP.
 * With expected entries the directory must be here; with none and exact,
 * it must not (-ENOENT).
 */
static void expect_listing(struct contract_test *t, const char *day,
			   const char *prefix,
			   const struct expected_entry *expected, size_t count,
			   bool exact)
{
	struct crash_call call;
	struct entry_list list = { 0 };
	char what[96];
	snprintf(what, sizeof what, "open_radix %s/\"%s\"", day, prefix);
	int result = list_radix(t, &call, day, prefix, &list);
	if (!t->profile->reads) {
		expect_errno(t, result, &call, ENOTSUP, "%s (no reads)", what);
		goto out;
	}
	if (count == 0 && exact) {
		expect_errno(t, result, &call, ENOENT, "%s (nothing there)",
			     what);
		goto out;
	}
	if (!expect_ok(t, result, &call, "%s", what))
		goto out;
	expect_radix_entries_valid(t, day, prefix, &list);
	expect_unique(t, &list, what);
	for (size_t i = 0; i < count; i++)
		EXPECT(t, entry_list_count(&list, expected[i].kind,
					   expected[i].name) == 1,
		       "%s: %s \"%s\" listed %zu times, expected once", what,
		       expected[i].kind == CRASH_LISTING_CRASH ? "crash"
							       : "directory",
		       expected[i].name,
		       entry_list_count(&list, expected[i].kind,
					expected[i].name));
	if (exact)
		EXPECT(t, list.count == count,
		       "%s: %zu entries, expected exactly %zu", what,
		       list.count, count);
out:
	entry_list_release(&list);
}

void case_days(struct contract_test *t)
{
	char first[CRASH_ID_LENGTH + 1], second[CRASH_ID_LENGTH + 1];
	struct crash_call call;
	struct entry_list list = { 0 };
	contract_crash_id(t, first, 1, 0, 1, 0, DAY(t));
	contract_crash_id(t, second, 1, 0, 2, 0, &t->run->other_day);
	if (!save_plain(t, first, 1) || !save_plain(t, second, 2))
		return;
	int result = list_days(t, &call, &list);
	if (!t->profile->reads) {
		expect_errno(t, result, &call, ENOTSUP, "open_days (no reads)");
		goto out;
	}
	if (!expect_ok(t, result, &call, "open_days"))
		goto out;
	expect_unique(t, &list, "open_days");
	for (size_t i = 0; i < list.count; i++)
		EXPECT(t, list.items[i].kind == CRASH_LISTING_DAY &&
				  crash_day_is_valid(list.items[i].name),
		       "open_days: \"%s\" is no day", list.items[i].name);
	if (part_kept(t, CRASH_PART_RAW_CRASH)) {
		EXPECT(t, entry_list_count(&list, CRASH_LISTING_DAY,
					   DAY(t)->name) == 1,
		       "open_days: %s (a crash saved there) not listed once",
		       DAY(t)->name);
		EXPECT(t, entry_list_count(&list, CRASH_LISTING_DAY,
					   t->run->other_day.name) == 1,
		       "open_days: %s (a crash saved there) not listed once",
		       t->run->other_day.name);
	} else {
		EXPECT(t, list.count == 0,
		       "open_days: %zu days of a store that keeps nothing",
		       list.count);
	}
	EXPECT(t, entry_list_count(&list, CRASH_LISTING_DAY,
				   t->run->unused_day.name) == 0,
	       "open_days: %s listed, no crash was saved there",
	       t->run->unused_day.name);
	/* Every day listed is a directory of the view. */
	for (size_t i = 0; part_kept(t, CRASH_PART_RAW_CRASH) && i < list.count;
	     i++)
		if (strcmp(list.items[i].name, DAY(t)->name) == 0)
			expect_radix_dir(t, DAY(t)->name, "", true, NULL);
out:
	entry_list_release(&list);
}

void case_radix_levels(struct contract_test *t)
{
	/* Depths 1, 2, 3 and 4 sharing the case's prefix: where each lives
	 * is its depth, not its characters. */
	char d1[37], d2a[37], d2b[37], d3[37], d4a[37], d4b[37], d4c[37];
	const char *day = DAY(t)->name;
	contract_crash_id(t, d1, 0x01, 0, 1, 1, DAY(t));
	contract_crash_id(t, d2a, 0x01, 0, 2, 2, DAY(t));
	contract_crash_id(t, d2b, 0x03, 0, 3, 2, DAY(t));
	contract_crash_id(t, d3, 0x01, 0, 4, 3, DAY(t));
	contract_crash_id(t, d4a, 0x01, 0, 5, 0, DAY(t));
	contract_crash_id(t, d4b, 0x01, 0, 6, 0, DAY(t));
	contract_crash_id(t, d4c, 0x02, 0, 7, 0, DAY(t));
	const char *all[] = { d1, d2a, d2b, d3, d4a, d4b, d4c };
	for (unsigned i = 0; i < 7; i++)
		if (!save_plain(t, all[i], 10 + i))
			return;
	bool kept = part_kept(t, CRASH_PART_RAW_CRASH);

	char level[5][9];
	for (int i = 0; i < 5; i++) {
		memcpy(level[i], d4a, (size_t)(2 * i));
		level[i][2 * i] = '\0';
	}
	char component[5][3];
	for (int i = 0; i < 4; i++) {
		memcpy(component[i], d4a + 2 * i, 2);
		component[i][2] = '\0';
	}
	/* Levels 0-2 are shared: the case's entries once. */
	const struct expected_entry at0[] = {
		{ CRASH_LISTING_RADIX_DIR, component[0] } };
	const struct expected_entry at1[] = {
		{ CRASH_LISTING_CRASH, d1 },
		{ CRASH_LISTING_RADIX_DIR, component[1] } };
	const struct expected_entry at2[] = {
		{ CRASH_LISTING_CRASH, d2a },
		{ CRASH_LISTING_CRASH, d2b },
		{ CRASH_LISTING_RADIX_DIR, component[2] } };
	/* Levels 3 and 4 are the case's own: exactly these. */
	const struct expected_entry at3[] = {
		{ CRASH_LISTING_CRASH, d3 },
		{ CRASH_LISTING_RADIX_DIR, "01" },
		{ CRASH_LISTING_RADIX_DIR, "02" } };
	const struct expected_entry at4[] = {
		{ CRASH_LISTING_CRASH, d4a },
		{ CRASH_LISTING_CRASH, d4b } };
	const struct expected_entry at4c[] = { { CRASH_LISTING_CRASH, d4c } };
	char leaf_c[9], leaf_none[9];
	contract_head_prefix(t, 0x02, leaf_c);
	contract_head_prefix(t, 0x03, leaf_none);

	expect_listing(t, day, level[0], at0, kept ? 1 : 0, !kept);
	expect_listing(t, day, level[1], at1, kept ? 2 : 0, !kept);
	expect_listing(t, day, level[2], at2, kept ? 3 : 0, !kept);
	expect_listing(t, day, level[3], at3, kept ? 3 : 0, true);
	expect_listing(t, day, level[4], at4, kept ? 2 : 0, true);
	expect_listing(t, day, leaf_c, at4c, kept ? 1 : 0, true);
	/* d2b starts with leaf_none but lives at level 2: no directory. */
	expect_listing(t, day, leaf_none, NULL, 0, true);
	for (int i = 0; i < 5; i++)
		expect_radix_dir(t, day, level[i], kept, NULL);
	expect_radix_dir(t, day, leaf_c, kept, NULL);
	expect_radix_dir(t, day, leaf_none, false, NULL);
	/* The same directories on another day are not there. */
	expect_radix_dir(t, t->run->other_day.name, level[3], false, NULL);
}

/* -- paging ------------------------------------------------------------------- */

static int compare_ids(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Pages through list_crashes day/prefix: each page at most
 * CRASH_ID_PAGE_MAX ids, ascending, after the last of the page before,
 * each starting with prefix.  Each of ids (sorted) is found exactly once.
 */
static void expect_pages(struct contract_test *t, const char *day,
			 const char *prefix, const char *const *ids,
			 size_t count, size_t *pages_out)
{
	struct crash_call call;
	struct crash_id_page *page = malloc(sizeof *page);
	char after[CRASH_ID_LENGTH + 1] = "";
	size_t next = 0, pages = 0, total = 0;
	if (!EXPECT(t, page != NULL, "out of memory"))
		return;
	for (;;) {
		crash_call_init(&call);
		int result = crash_store_list_crashes(t->store, &call, day,
						      prefix, after, page);
		if (!expect_ok(t, result, &call,
			       "list_crashes %s \"%s\" after \"%s\"", day,
			       prefix, after))
			break;
		if (page->count == 0)
			break;
		pages++;
		if (!EXPECT(t, page->count <= CRASH_ID_PAGE_MAX,
			    "list_crashes: a page of %zu ids", page->count))
			break;
		bool ordered = true;
		for (size_t i = 0; i < page->count; i++) {
			const char *id = page->ids[i];
			ordered = EXPECT(t, strcmp(id, after) > 0,
					 "list_crashes %s \"%s\": %s does not "
					 "sort after %s",
					 day, prefix, id, after) &&
				  EXPECT(t, strncmp(id, prefix,
						    strlen(prefix)) == 0 &&
						    crash_id_is_valid(id),
					 "list_crashes %s \"%s\": %s does not "
					 "start with the prefix",
					 day, prefix, id);
			if (!ordered)
				break;
			while (next < count && strcmp(ids[next], id) < 0) {
				FAIL(t, "list_crashes %s \"%s\": %s missing",
				     day, prefix, ids[next]);
				next++;
			}
			if (next < count && strcmp(ids[next], id) == 0)
				next++;
			memcpy(after, id, sizeof after);
			total++;
		}
		if (!ordered || total > 10 * (count + 1000))
			break;
	}
	for (; next < count; next++)
		FAIL(t, "list_crashes %s \"%s\": %s missing", day, prefix,
		     ids[next]);
	if (pages_out)
		*pages_out = pages;
	free(page);
}

#define PAGING_LEAF 270  /* crashes in one radix leaf: over a page */
#define PAGING_SPREAD 40  /* in each of three more leaves */
#define PAGING_TOTAL (PAGING_LEAF + 3 * PAGING_SPREAD)

void case_paging(struct contract_test *t)
{
	if (!raw_crashes_listed(t, "the profile lists no crash"))
		return;
	char (*ids)[CRASH_ID_LENGTH + 1] = calloc(PAGING_TOTAL, sizeof *ids);
	const char **sorted = calloc(PAGING_TOTAL, sizeof *sorted);
	const char *day = DAY(t)->name;
	if (!EXPECT(t, ids && sorted, "out of memory"))
		goto out;
	/* One leaf of 270, then three leaves of 40: ids sharing prefixes,
	 * saved out of order. */
	for (size_t i = 0; i < PAGING_TOTAL; i++) {
		unsigned head = i < PAGING_LEAF
					? 0x10
					: 0x11 + (unsigned)((i - PAGING_LEAF) /
							    PAGING_SPREAD);
		contract_crash_id(t, ids[i], head, (unsigned)(i % 3),
				  (i * 7919) % 100003, 0, DAY(t));
		sorted[i] = ids[i];
	}
	for (size_t i = 0; i < PAGING_TOTAL; i++)
		if (!save_plain(t, ids[(i * 37) % PAGING_TOTAL], (unsigned)i))
			goto out;
	qsort(sorted, PAGING_TOTAL, sizeof *sorted, compare_ids);

	/* The leaf of 270 lists each once. */
	char leaf[9], own[7];
	contract_head_prefix(t, 0x10, leaf);
	contract_case_prefix(t, own);
	struct expected_entry *expected =
		calloc(PAGING_LEAF, sizeof *expected);
	if (!EXPECT(t, expected != NULL, "out of memory"))
		goto out;
	for (size_t i = 0; i < PAGING_LEAF; i++)
		expected[i] = (struct expected_entry){ CRASH_LISTING_CRASH,
						       ids[i] };
	expect_listing(t, day, leaf, expected, PAGING_LEAF, true);
	free(expected);
	/* The case's directory: four leaves whose ids span pages. */
	const struct expected_entry leaves[] = {
		{ CRASH_LISTING_RADIX_DIR, "10" },
		{ CRASH_LISTING_RADIX_DIR, "11" },
		{ CRASH_LISTING_RADIX_DIR, "12" },
		{ CRASH_LISTING_RADIX_DIR, "13" } };
	expect_listing(t, day, own, leaves, 4, true);

	if (crash_store_can(t->store, list_crashes)) {
		size_t pages = 0;
		expect_pages(t, day, own, sorted, PAGING_TOTAL, &pages);
		EXPECT(t, pages == (PAGING_TOTAL + CRASH_ID_PAGE_MAX - 1) /
					  CRASH_ID_PAGE_MAX,
		       "list_crashes %s \"%s\": %zu ids in %zu pages", day, own,
		       (size_t)PAGING_TOTAL, pages);
		expect_pages(t, day, leaf, sorted, PAGING_LEAF, NULL);
		/* The whole day: every case's crashes, these among them. */
		expect_pages(t, day, "", sorted, PAGING_TOTAL, NULL);
	}
out:
	free(ids);
	free(sorted);
}

void case_list_crashes(struct contract_test *t)
{
	if (!crash_store_can(t->store, list_crashes)) {
		contract_not_applicable(t, "the store has no list_crashes (its "
					   "radix listings are checked "
					   "elsewhere)");
		return;
	}
	if (!raw_crashes_listed(t, "the profile lists no crash"))
		return;
	/* Sorted by construction: head, then group, then index. */
	char ids[6][CRASH_ID_LENGTH + 1], elsewhere[CRASH_ID_LENGTH + 1];
	contract_crash_id(t, ids[0], 0x20, 0, 1, 0, DAY(t));
	contract_crash_id(t, ids[1], 0x20, 0, 2, 0, DAY(t));
	contract_crash_id(t, ids[2], 0x20, 1, 1, 0, DAY(t));
	contract_crash_id(t, ids[3], 0x20, 1, 1, 1, DAY(t));
	contract_crash_id(t, ids[4], 0x21, 0, 1, 2, DAY(t));
	contract_crash_id(t, ids[5], 0x22, 0, 1, 0, DAY(t));
	contract_crash_id(t, elsewhere, 0x20, 0, 1, 0, &t->run->other_day);
	const char *sorted[6];
	for (int i = 0; i < 6; i++) {
		sorted[i] = ids[i];
		if (!save_plain(t, ids[i], 30 + (unsigned)i))
			return;
	}
	if (!save_plain(t, elsewhere, 36))
		return;
	qsort(sorted, 6, sizeof sorted[0], compare_ids);
	const char *day = DAY(t)->name;

	/* Prefixes of every length, odd ones too, beyond the radix. */
	for (size_t length = 0; length <= 20; length++) {
		char prefix[CRASH_ID_LENGTH + 1];
		const char *matching[6];
		size_t count = 0;
		memcpy(prefix, ids[2], length);
		prefix[length] = '\0';
		for (int i = 0; i < 6; i++)
			if (strncmp(sorted[i], prefix, length) == 0)
				matching[count++] = sorted[i];
		expect_pages(t, day, prefix, matching, count, NULL);
		if (length < 6)
			continue;
		/* The case's own prefixes: exactly those, in one page. */
		struct crash_call call;
		struct crash_id_page page;
		crash_call_init(&call);
		if (!expect_ok(t, crash_store_list_crashes(t->store, &call, day,
							   prefix, NULL, &page),
			       &call, "list_crashes %s \"%s\"", day, prefix))
			continue;
		EXPECT(t, page.count == count,
		       "list_crashes %s \"%s\": %zu ids, expected %zu", day,
		       prefix, page.count, count);
		for (size_t i = 0; i < page.count && i < count; i++)
			EXPECT(t, strcmp(page.ids[i], matching[i]) == 0,
			       "list_crashes %s \"%s\": id %zu is %s, expected "
			       "%s",
			       day, prefix, i, page.ids[i], matching[i]);
	}

	/* after: an id that is there, one that is not, "" as NULL. */
	char own[7];
	contract_case_prefix(t, own);
	char absent[CRASH_ID_LENGTH + 1];
	contract_crash_id(t, absent, 0x20, 0, 3, 0, DAY(t)); /* never saved */
	struct {
		const char *after;
		size_t first; /* index in sorted of the first id expected */
	} afters[] = { { sorted[1], 2 }, { absent, 2 }, { sorted[5], 6 },
		       { "", 0 } };
	for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++) {
		struct crash_call call;
		struct crash_id_page page;
		crash_call_init(&call);
		if (!expect_ok(t, crash_store_list_crashes(t->store, &call, day,
							   own, afters[i].after,
							   &page),
			       &call, "list_crashes %s \"%s\" after \"%s\"",
			       day, own, afters[i].after))
			continue;
		EXPECT(t, page.count == 6 - afters[i].first &&
				  (page.count == 0 ||
				   strcmp(page.ids[0],
					  sorted[afters[i].first]) == 0),
		       "list_crashes %s \"%s\" after \"%s\": %zu ids from %s",
		       day, own, afters[i].after, page.count,
		       page.count ? page.ids[0] : "nothing");
	}
}

/* -- listings while others save ---------------------------------------------- */

#define CONCURRENT_BEFORE 260 /* saved before the listings start */
#define CONCURRENT_WRITERS 2
#define CONCURRENT_EACH 60    /* saved by each writer meanwhile */

struct concurrent {
	struct contract_test *t;
	char (*before)[CRASH_ID_LENGTH + 1];
	char (*during)[CRASH_ID_LENGTH + 1];
	atomic_bool writers_done;
};

struct writer {
	struct concurrent *shared;
	unsigned number;
	pthread_t thread;
};

static void *write_crashes(void *arg)
{
	struct writer *writer = arg;
	struct concurrent *shared = writer->shared;
	for (unsigned i = 0; i < CONCURRENT_EACH; i++) {
		unsigned index = writer->number * CONCURRENT_EACH + i;
		save_plain(shared->t, shared->during[index], 500 + index);
		if (i % 16 == 0)
			sched_yield();
	}
	return NULL;
}

static void *look_up_crashes(void *arg)
{
	struct concurrent *shared = arg;
	struct contract_test *t = shared->t;
	for (unsigned round = 0; !atomic_load(&shared->writers_done) ||
				 round == 0;
	     round++) {
		for (unsigned i = 0; i < CONCURRENT_BEFORE; i += 7) {
			struct crash_call call;
			crash_call_init(&call);
			expect_ok(t, crash_store_stat_crash(t->store, &call,
							    shared->before[i],
							    NULL),
				  &call, "stat_crash %s while others save",
				  shared->before[i]);
		}
	}
	return NULL;
}

static bool known_id(const struct concurrent *shared, const char *name)
{
	for (unsigned i = 0; i < CONCURRENT_BEFORE; i++)
		if (strcmp(shared->before[i], name) == 0)
			return true;
	for (unsigned i = 0; i < CONCURRENT_WRITERS * CONCURRENT_EACH; i++)
		if (strcmp(shared->during[i], name) == 0)
			return true;
	return false;
}

/* One listing of the leaf, taken one entry at a time while the writers
 * go on: what was there before is listed once, nothing twice, nothing
 * unknown. */
static void list_leaf_slowly(struct concurrent *shared, const char *leaf)
{
	struct contract_test *t = shared->t;
	struct crash_call call;
	struct crash_listing *listing = NULL;
	struct crash_listing_entry entry;
	struct entry_list list = { 0 };
	const char *day = t->run->day.name;
	crash_call_init(&call);
	if (!expect_ok(t, crash_store_open_radix(t->store, &call, day, leaf,
						 &listing),
		       &call, "open_radix %s/\"%s\" while others save", day,
		       leaf))
		return;
	int result;
	while ((result = crash_listing_next(listing, &call, &entry)) > 0) {
		entry_list_add(&list, &entry);
		if (list.count % 8 == 0)
			sched_yield();
	}
	crash_listing_close(listing);
	expect_ok(t, result, &call, "crash_listing_next %s/\"%s\" while others "
				    "save",
		  day, leaf);
	expect_unique(t, &list, "open_radix while others save");
	for (unsigned i = 0; i < CONCURRENT_BEFORE; i++)
		EXPECT(t, entry_list_count(&list, CRASH_LISTING_CRASH,
					   shared->before[i]) == 1,
		       "open_radix %s/\"%s\" while others save: %s (there all "
		       "along) listed %zu times",
		       day, leaf, shared->before[i],
		       entry_list_count(&list, CRASH_LISTING_CRASH,
					shared->before[i]));
	for (size_t i = 0; i < list.count; i++)
		EXPECT(t, list.items[i].kind == CRASH_LISTING_CRASH &&
				  known_id(shared, list.items[i].name),
		       "open_radix %s/\"%s\" while others save: an unknown "
		       "entry \"%s\"",
		       day, leaf, list.items[i].name);
	entry_list_release(&list);
}

void case_listing_while_saving(struct contract_test *t)
{
	if (!raw_crashes_listed(t, "the profile lists no crash"))
		return;
	struct concurrent shared = { .t = t };
	struct writer writers[CONCURRENT_WRITERS];
	pthread_t looker;
	char leaf[9];
	shared.before = calloc(CONCURRENT_BEFORE, sizeof *shared.before);
	shared.during = calloc(CONCURRENT_WRITERS * CONCURRENT_EACH,
			       sizeof *shared.during);
	if (!EXPECT(t, shared.before && shared.during, "out of memory"))
		goto out;
	/* Interleaved ids: the new ones sort among the old ones. */
	for (unsigned i = 0; i < CONCURRENT_BEFORE; i++)
		contract_crash_id(t, shared.before[i], 0x30, 0, 2 * i, 0,
				  DAY(t));
	for (unsigned i = 0; i < CONCURRENT_WRITERS * CONCURRENT_EACH; i++)
		contract_crash_id(t, shared.during[i], i % 5 ? 0x30 : 0x31, 0,
				  2 * i + 1, 0, DAY(t));
	for (unsigned i = 0; i < CONCURRENT_BEFORE; i++)
		if (!save_plain(t, shared.before[i], i))
			goto out;
	contract_head_prefix(t, 0x30, leaf);
	atomic_init(&shared.writers_done, false);
	for (unsigned i = 0; i < CONCURRENT_WRITERS; i++) {
		writers[i] = (struct writer){ .shared = &shared, .number = i };
		if (pthread_create(&writers[i].thread, NULL, write_crashes,
				   &writers[i]) != 0) {
			FAIL(t, "cannot start a thread");
			for (unsigned j = 0; j < i; j++)
				pthread_join(writers[j].thread, NULL);
			goto out;
		}
	}
	bool looking = pthread_create(&looker, NULL, look_up_crashes,
				      &shared) == 0;
	for (int pass = 0; pass < 3; pass++)
		list_leaf_slowly(&shared, leaf);
	for (unsigned i = 0; i < CONCURRENT_WRITERS; i++)
		pthread_join(writers[i].thread, NULL);
	atomic_store(&shared.writers_done, true);
	if (looking)
		pthread_join(looker, NULL);
	/* Afterwards: everything, once. */
	list_leaf_slowly(&shared, leaf);
	struct crash_call call;
	struct entry_list list = { 0 };
	if (expect_ok(t, list_radix(t, &call, DAY(t)->name, leaf, &list),
		      &call, "open_radix %s/\"%s\"", DAY(t)->name, leaf)) {
		size_t in_leaf = CONCURRENT_BEFORE;
		for (unsigned i = 0; i < CONCURRENT_WRITERS * CONCURRENT_EACH;
		     i++)
			in_leaf += i % 5 ? 1 : 0;
		EXPECT(t, list.count == in_leaf,
		       "open_radix %s/\"%s\": %zu entries after the saves, "
		       "expected %zu",
		       DAY(t)->name, leaf, list.count, in_leaf);
	}
	entry_list_release(&list);
out:
	free(shared.before);
	free(shared.during);
}

/* -- calls between next ----------------------------------------------------- */

/* Between two entries of a radix listing: look the crash up, read it,
 * list the days, save another crash, acknowledge a queue entry. */
static void call_between_radix_entries(struct contract_test *t,
				       const char *leaf, char ids[5][37],
				       char added[5][37],
				       const struct crash_queue_entry *entry)
{
	const struct crash_part raw = { CRASH_PART_RAW_CRASH, NULL };
	const char *day = DAY(t)->name;
	struct crash_call call, inner;
	struct crash_listing *listing = NULL;
	struct crash_listing_entry listed;
	struct crash_part_stat stat;
	struct entry_list seen = { 0 };
	unsigned saved = 0;
	crash_call_init(&call);
	if (!expect_ok(t, crash_store_open_radix(t->store, &call, day, leaf,
						 &listing),
		       &call, "open_radix %s/\"%s\"", day, leaf))
		return;
	int result;
	while ((result = crash_listing_next(listing, &call, &listed)) > 0) {
		entry_list_add(&seen, &listed);
		crash_call_init(&inner);
		expect_ok(t, crash_store_stat_crash(t->store, &inner,
						    listed.name, NULL),
			  &inner, "stat_crash %s between two next",
			  listed.name);
		stat_of(t, listed.name, &raw, &stat);
		struct entry_list days = { 0 };
		expect_ok(t, list_days(t, &inner, &days), &inner,
			  "open_days between two next");
		entry_list_release(&days);
		if (saved < 5) {
			save_plain(t, added[saved], 100 + saved);
			saved++;
		}
		if (entry) {
			crash_call_init(&inner);
			expect_ok(t, crash_store_ack_crash(t->store, &inner,
							   entry),
				  &inner, "ack_crash %s between two next",
				  entry->crash_id);
			entry = NULL;
		}
	}
	crash_listing_close(listing);
	expect_ok(t, result, &call, "crash_listing_next %s/\"%s\"", day, leaf);
	for (unsigned i = 0; i < 5; i++)
		EXPECT(t, entry_list_count(&seen, CRASH_LISTING_CRASH, ids[i]) ==
				  1,
		       "open_radix %s/\"%s\": %s not listed once while the "
		       "loop called the store",
		       day, leaf, ids[i]);
	entry_list_release(&seen);
}

/* Between two days: look the run's day up, save a crash. */
static void call_between_days(struct contract_test *t, const char *crash_id)
{
	const char *day = DAY(t)->name;
	struct crash_call call;
	struct crash_listing *listing = NULL;
	struct crash_listing_entry listed;
	crash_call_init(&call);
	if (!expect_ok(t, crash_store_open_days(t->store, &call, &listing),
		       &call, "open_days"))
		return;
	int result;
	while ((result = crash_listing_next(listing, &call, &listed)) > 0) {
		if (strcmp(listed.name, day) == 0)
			expect_radix_dir(t, day, "", true, NULL);
		save_plain(t, crash_id, 200);
	}
	crash_listing_close(listing);
	expect_ok(t, result, &call, "crash_listing_next (days)");
}

void case_calls_between_next(struct contract_test *t)
{
	char ids[5][CRASH_ID_LENGTH + 1], added[5][CRASH_ID_LENGTH + 1];
	char queued[CRASH_ID_LENGTH + 1], leaf[9];
	const char *wanted[1] = { queued };
	struct queue_pass pass = { 0 };
	const struct crash_queue_entry *entry = NULL;
	if (!raw_crashes_listed(t, "the profile lists no crash"))
		return;
	for (unsigned i = 0; i < 5; i++) {
		contract_crash_id(t, ids[i], 0x40, 0, i, 0, DAY(t));
		contract_crash_id(t, added[i], 0x41, 0, i, 0, DAY(t));
		if (!save_plain(t, ids[i], i))
			return;
	}
	contract_head_prefix(t, 0x40, leaf);
	contract_crash_id(t, queued, 0x42, 0, 1, 0, &t->run->today);
	if (t->profile->queue != QUEUE_NONE) {
		if (!save_plain(t, queued, 50) ||
		    !queue_wait_for(t, wanted, 1, &pass))
			goto out;
		entry = queue_find(&pass, queued);
	}
	call_between_radix_entries(t, leaf, ids, added, entry);
	call_between_days(t, added[0]);
	if (entry) {
		struct queue_pass after = { 0 };
		if (queue_run_pass(t, &after) == 0)
			EXPECT(t, queue_find(&after, queued) == NULL,
			       "new_crashes: %s still queued after its ack "
			       "between two next",
			       queued);
		queue_pass_release(&after);
	}
out:
	queue_pass_release(&pass);
}
