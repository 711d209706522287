/*
 * test_fallback.c - the fallback container over in-memory stores: saves
 * fall over to the secondary (logged, counted), both failing is one error
 * naming both, reads fall through on not-found only, merged listings, the
 * secondary's new crashes first, and removal from both stores (Socorro
 * removed from the primary only).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containers/fallback_store.h"
#include "storage/crash_log.h"
#include "tests/unit/containers/container_test_util.h"
#include "tests/unit/containers/memory_store.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

struct fixture {
	struct crash_store *fallback;
	struct crash_store *primary;
	struct crash_store *secondary;
	struct crash_call call;
};

static bool setup(struct fixture *f)
{
	struct crash_error error = { 0 };
	f->primary = memory_store_new("store.primary");
	f->secondary = memory_store_new("store.secondary");
	crash_call_init(&f->call);
	if (fallback_store_new(f->primary, f->secondary, "store", &f->fallback,
			       &error) < 0) {
		fprintf(stderr, "%s\n", error.message);
		return false;
	}
	return true;
}

static void test_saves_go_to_the_primary(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_A, "{}", false), 0);
	CHECK(memory_store_has(f.primary, ID_A, &RAW_PART));
	CHECK(!memory_store_has(f.secondary, ID_A, &RAW_PART));
	CHECK_INT(atomic_load(&f.fallback->counters.fallbacks), 0);
	crash_store_close(f.fallback);
}

struct save_job {
	struct fixture *fixture;
	int result;
};

static void save_a(void *arg)
{
	struct save_job *job = arg;
	job->result = test_save_raw(job->fixture->fallback, &job->fixture->call,
				    ID_A, "{\"a\": 1}", false);
}

static void test_primary_failure_falls_over(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	/* Any failure, operational or not. */
	memory_store_fail(f.primary, STORE_OP_SAVE_RAW_CRASH, -1, -EROFS,
			  false);
	struct save_job job = { .fixture = &f };
	char *log = test_capture_log(save_a, &job);
	CHECK_INT(job.result, 0);
	CHECK(memory_store_has(f.secondary, ID_A, &RAW_PART));
	CHECK(!memory_store_has(f.primary, ID_A, &RAW_PART));
	CHECK_INT(atomic_load(&f.fallback->counters.fallbacks), 1);
	CHECK_INT(atomic_load(&f.primary->counters.errors), 1);
	CHECK_INT(atomic_load(&f.fallback->counters.errors), 0);
	/* One error line saying what happened. */
	CHECK_INT(test_count(log, " error: "), 1);
	CHECK(test_contains(log, "primary failed, saved in store.secondary"));
	CHECK(test_contains(log, "store.primary: injected save_raw_crash"));
	free(log);

	memory_store_fail(f.primary, STORE_OP_SAVE_DUMP, -1, -EIO, true);
	memory_store_fail(f.primary, STORE_OP_SAVE_PROCESSED, -1, -EIO, true);
	CHECK_INT(test_save_dump(f.fallback, &f.call, ID_A, NULL, "MDMP"), 0);
	CHECK_INT(test_save_processed(f.fallback, &f.call, ID_A, "{}", false),
		  0);
	CHECK(memory_store_has(f.secondary, ID_A, &DUMP_PART));
	CHECK(memory_store_has(f.secondary, ID_A, &PROCESSED_PART));
	CHECK_INT(atomic_load(&f.fallback->counters.fallbacks), 3);

	/* The crash is readable through the container. */
	int result = 0;
	char *text = test_read_part(f.fallback, &f.call, ID_A, &RAW_PART,
				    &result);
	CHECK_STR(text, "{\"a\": 1}");
	free(text);
	crash_store_close(f.fallback);
}

/* The primary may have linked an adoptable blob before failing: the
 * secondary gets a copy that is not adoptable. */
static void test_secondary_never_adopts(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	struct crash_dump dump = { .dump_name = NULL };
	REQUIRE(memory_blob(&dump.blob, "MDMP", NULL) == 0);
	dump.blob.path = "/spool/0001";
	dump.blob.adoptable = true;
	CHECK_INT(crash_store_save_dump(f.fallback, &f.call, ID_A, &dump), 0);
	CHECK_INT(memory_store_last_adoptable(f.primary), 1);
	memory_store_fail(f.primary, STORE_OP_SAVE_DUMP, -1, -EIO, false);
	CHECK_INT(crash_store_save_dump(f.fallback, &f.call, ID_B, &dump), 0);
	CHECK_INT(memory_store_last_adoptable(f.secondary), 0);
	CHECK(memory_store_has(f.secondary, ID_B, &DUMP_PART));
	close(dump.blob.fd);
	crash_store_close(f.fallback);
}

static void test_both_failing_lists_both(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_fail(f.primary, STORE_OP_SAVE_RAW_CRASH, -1, -ECONNREFUSED,
			  true);
	memory_store_fail(f.secondary, STORE_OP_SAVE_RAW_CRASH, -1, -ENOSPC,
			  false);
	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_A, "{}", false), -EIO);
	CHECK(test_contains(f.call.error.message, "store: save_raw_crash"));
	CHECK(test_contains(f.call.error.message,
			    "store.primary: injected save_raw_crash failure"));
	CHECK(test_contains(f.call.error.message,
			    "store.secondary: injected save_raw_crash failure"));
	CHECK(!f.call.error.operational);
	CHECK_INT(atomic_load(&f.fallback->counters.errors), 1);
	crash_store_close(f.fallback);
}

static void test_interrupted_primary_does_not_fall_over(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_fail(f.primary, STORE_OP_SAVE_RAW_CRASH, -1, -EINTR,
			  false);
	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_A, "{}", false),
		  -EINTR);
	CHECK_INT(memory_store_calls(f.secondary, STORE_OP_SAVE_RAW_CRASH), 0);
	CHECK_INT(atomic_load(&f.fallback->counters.fallbacks), 0);
	crash_store_close(f.fallback);
}

static void test_reads_fall_through_on_not_found_and_failure(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_put(f.primary, ID_A, &RAW_PART, "{\"in\": \"p\"}", 11);
	memory_store_put(f.secondary, ID_A, &RAW_PART, "{\"in\": \"s\"}", 11);
	memory_store_put(f.secondary, ID_B, &RAW_PART, "{\"in\": \"s\"}", 11);
	int result = 0;
	char *text = test_read_part(f.fallback, &f.call, ID_A, &RAW_PART,
				    &result);
	CHECK_STR(text, "{\"in\": \"p\"}");
	free(text);
	text = test_read_part(f.fallback, &f.call, ID_B, &RAW_PART, &result);
	CHECK_STR(text, "{\"in\": \"s\"}");
	free(text);
	struct crash_part_stat stat;
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_B, &RAW_PART,
					&stat),
		  0);
	CHECK_INT(stat.size, 11);
	CHECK_INT(crash_store_stat_crash(f.fallback, &f.call, ID_C), -ENOENT);
	CHECK(test_contains(f.call.error.message, "not in any of its stores"));

	/* The primary failing (down): what the secondary took stays
	 * readable, and counts as a fallback... */
	memory_store_fail(f.primary, STORE_OP_OPEN_PART, -1, -EIO, false);
	text = test_read_part(f.fallback, &f.call, ID_B, &RAW_PART, &result);
	CHECK_STR(text, "{\"in\": \"s\"}");
	free(text);
	CHECK_INT(atomic_load(&f.fallback->counters.fallbacks), 1);
	/* ...but a crash the secondary lacks is not "not found": the
	 * primary's failure is the answer (Socorro propagated it). */
	text = test_read_part(f.fallback, &f.call, ID_C, &RAW_PART, &result);
	CHECK(text == NULL);
	CHECK_INT(result, -EIO);
	CHECK_INT(memory_store_calls(f.secondary, STORE_OP_OPEN_PART), 3);
	crash_store_close(f.fallback);
}

static void test_listings_merge_without_duplicates(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_put(f.primary, ID_A, &RAW_PART, "{}", 2);
	memory_store_put(f.secondary, ID_A, &RAW_PART, "{\"long\": 1}", 11);
	memory_store_put(f.secondary, ID_A, &DUMP_PART, "MDMP", 4);
	memory_store_put(f.secondary, ID_B, &RAW_PART, "{}", 2);
	memory_store_put(f.secondary, ID_C, &RAW_PART, "{}", 2);

	struct collected days = { .count = 0 };
	CHECK_INT(crash_store_list_days(f.fallback, &f.call, test_collect_name,
					&days),
		  0);
	CHECK_INT(days.count, 2);
	CHECK(test_contains(days.text, "20120408"));
	CHECK(test_contains(days.text, "20120201"));

	/* ID_A and ID_B share the day; the first radix level differs. */
	struct collected radix = { .count = 0 };
	CHECK_INT(crash_store_list_radix(f.fallback, &f.call, "20120408", "",
					 test_collect_radix, &radix),
		  0);
	CHECK_STR(radix.text, "d:93 d:0b");
	struct collected leaf = { .count = 0 };
	CHECK_INT(crash_store_list_radix(f.fallback, &f.call, "20120408",
					 "936ce666", test_collect_radix, &leaf),
		  0);
	CHECK_STR(leaf.text, "c:" ID_A);
	CHECK_INT(crash_store_list_radix(f.fallback, &f.call, "20120409", "",
					 test_collect_radix, &leaf),
		  -ENOENT);
	/* A directory of either member exists; the memory stores have no
	 * stat_radix_dir, so each answers by listing. */
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120408",
					     "0b"),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120408",
					     "936c"),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120409",
					     ""),
		  -ENOENT);

	/* The primary's raw crash wins (its size), the secondary adds the
	 * dump. */
	struct collected parts = { .count = 0 };
	CHECK_INT(crash_store_list_parts(f.fallback, &f.call, ID_A,
					 test_collect_part, &parts),
		  0);
	CHECK_STR(parts.text, "raw@2 dump@4");
	CHECK_INT(crash_store_list_parts(f.fallback, &f.call,
					 "00000000-0000-0000-0000-000000120408",
					 test_collect_part, &parts),
		  -ENOENT);

	/* The caller's stop value comes back, and the listing stops. */
	struct collected first = { .count = 0, .stop_after = 1 };
	CHECK_INT(crash_store_list_days(f.fallback, &f.call, test_collect_name,
					&first),
		  7);
	CHECK_INT(first.count, 1);

	/* A failing member ends the listing with its error. */
	memory_store_fail(f.secondary, STORE_OP_LIST_DAYS, 1, -EIO, false);
	struct collected broken = { .count = 0 };
	CHECK_INT(crash_store_list_days(f.fallback, &f.call, test_collect_name,
					&broken),
		  -EIO);
	crash_store_close(f.fallback);
}

static void test_new_crashes_drain_the_secondary_first(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	CHECK_INT(test_save_raw(f.primary, &f.call, ID_A, "{}", false), 0);
	CHECK_INT(test_save_raw(f.secondary, &f.call, ID_B, "{}", false), 0);
	CHECK_INT(test_save_raw(f.primary, &f.call, ID_C, "{}", false), 0);
	struct collected queue = { .count = 0 };
	CHECK_INT(crash_store_new_crashes(f.fallback, &f.call,
					  test_collect_name, &queue),
		  0);
	CHECK_STR(queue.text, ID_B " " ID_A " " ID_C);
	/* ack: the secondary, then the primary. */
	CHECK_INT(crash_store_ack_crash(f.fallback, &f.call, ID_A), 0);
	CHECK_INT(memory_store_calls(f.secondary, STORE_OP_ACK_CRASH), 1);
	CHECK_INT(memory_store_calls(f.primary, STORE_OP_ACK_CRASH), 1);
	crash_store_close(f.fallback);
}

/* Socorro's fallback removed from the primary only: a crash saved in the
 * secondary while the primary was down, and copied back, stayed visible
 * after rm -r.  crashfs removes it from both. */
static void test_remove_from_both(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_put(f.primary, ID_A, &RAW_PART, "{}", 2);
	memory_store_put(f.secondary, ID_A, &RAW_PART, "{}", 2);
	memory_store_put(f.secondary, ID_B, &RAW_PART, "{}", 2);
	CHECK_INT(crash_store_remove(f.fallback, &f.call, ID_A), 0);
	CHECK(!memory_store_has(f.primary, ID_A, &RAW_PART));
	CHECK(!memory_store_has(f.secondary, ID_A, &RAW_PART));
	CHECK_INT(crash_store_stat_crash(f.fallback, &f.call, ID_A), -ENOENT);
	CHECK_INT(crash_store_remove(f.fallback, &f.call, ID_B), 0);
	CHECK_INT(crash_store_remove(f.fallback, &f.call, ID_B), -ENOENT);

	memory_store_put(f.primary, ID_C, &DUMP_PART, "MDMP", 4);
	memory_store_put(f.secondary, ID_C, &DUMP_PART, "MDMP", 4);
	memory_store_put(f.secondary, ID_C, &RAW_PART, "{}", 2);
	CHECK_INT(crash_store_remove_part(f.fallback, &f.call, ID_C,
					  &DUMP_PART),
		  0);
	CHECK(!memory_store_has(f.primary, ID_C, &DUMP_PART));
	CHECK(!memory_store_has(f.secondary, ID_C, &DUMP_PART));
	CHECK(memory_store_has(f.secondary, ID_C, &RAW_PART));
	crash_store_close(f.fallback);
}

static void test_configuration(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"primary\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.secondary: missing"));
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"secondary\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.primary: missing"));
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"fallback\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.fallback: unknown option"));
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"secondary\": {\"type\": \"poly\", "
				 "\"stores\": [{\"type\": \"hbase2\"}]}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message,
			    "store.secondary.stores[0].type: unknown store "
			    "type 'hbase2'"));
	CHECK(store == NULL);
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"secondary\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(store->ops->type_name, "fallback");
	CHECK_STR(crash_store_child(store, 0)->node_path, "store.primary");
	CHECK_STR(crash_store_child(store, 1)->node_path, "store.secondary");
	crash_store_close(store);
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_saves_go_to_the_primary();
	test_primary_failure_falls_over();
	test_secondary_never_adopts();
	test_both_failing_lists_both();
	test_interrupted_primary_does_not_fall_over();
	test_reads_fall_through_on_not_found_and_failure();
	test_listings_merge_without_duplicates();
	test_new_crashes_drain_the_secondary_first();
	test_remove_from_both();
	test_configuration();
	return unit_test_exit(argv[0]);
}
