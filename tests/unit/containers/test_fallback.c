/*
 * test_fallback.c - the fallback container over in-memory stores: saves
 * fall over to the secondary (logged, counted), both failing is one error
 * naming both, reads fall through on not-found only, merged listings, the
 * secondary's new crashes first, and removal from both stores (Socorro
 * removed from the primary only).  And the primary fully down: lookups,
 * reads, listings and saves answered by the secondary, partial listings
 * said so, the breaker that stops waiting out a retrying primary and
 * probes it once per interval, and the way back.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containers/circuit_breaker.h"
#include "containers/fallback_store.h"
#include "storage/crash_log.h"
#include "storage/executor/retry_store.h"
#include "tests/unit/store_test_util.h"
#include "storage/memory/memory_store.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

struct fixture {
	struct crash_store *fallback;
	struct crash_store *primary;
	struct crash_store *secondary;
	struct crash_call call;
};

/* A primary found down stays skipped for the whole test: no test
 * depends on time passing. */
#define NEVER_PROBED FALLBACK_PROBE_INTERVAL_MAX

static bool setup_with(struct fixture *f, double probe_interval)
{
	struct crash_error error = { 0 };
	f->primary = memory_store_new("store.primary");
	f->secondary = memory_store_new("store.secondary");
	crash_call_init(&f->call);
	if (fallback_store_new(f->primary, f->secondary, probe_interval,
			       "store", &f->fallback, &error) < 0) {
		fprintf(stderr, "%s\n", error.message);
		return false;
	}
	return true;
}

static bool setup(struct fixture *f)
{
	return setup_with(f, NEVER_PROBED);
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
	/* One warning line saying what happened (the save succeeded). */
	CHECK_INT(test_count(log, " warning: "), 1);
	CHECK_INT(test_count(log, " error: "), 0);
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
	CHECK_INT(crash_store_stat_crash(f.fallback, &f.call, ID_C, NULL), -ENOENT);
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
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&days),
		  0);
	CHECK_INT(days.count, 2);
	CHECK(test_contains(days.text, "20120408"));
	CHECK(test_contains(days.text, "20120201"));

	/* ID_A and ID_B share the day; the first radix level differs. */
	struct collected radix = { .count = 0 };
	CHECK_INT(test_list_radix(f.fallback, &f.call, "20120408", "", &radix),
		  0);
	CHECK_STR(radix.text, "d:93 d:0b");
	struct collected leaf = { .count = 0 };
	CHECK_INT(test_list_radix(f.fallback, &f.call, "20120408",
					 "936ce666", &leaf),
		  0);
	CHECK_STR(leaf.text, "c:" ID_A);
	CHECK_INT(test_list_radix(f.fallback, &f.call, "20120409", "", &leaf),
		  -ENOENT);
	/* A directory of either member exists; the memory stores have no
	 * stat_radix_dir, so each answers by listing. */
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120408",
					     "0b", NULL),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120408",
					     "936c", NULL),
		  0);
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120409",
					     "", NULL),
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
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&first),
		  7);
	CHECK_INT(first.count, 1);

	/* A failing member is left out: the listing is partial, and says
	 * so in the stats. */
	memory_store_fail(f.secondary, STORE_OP_OPEN_DAYS, 1, -EIO, false);
	struct collected broken = { .count = 0 };
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&broken),
		  0);
	CHECK_STR(broken.text, "20120408");
	CHECK_INT(atomic_load(&f.fallback->counters.partial_listings), 1);
	/* Every member failing: the failure, naming them. */
	memory_store_fail(f.primary, STORE_OP_OPEN_DAYS, 1, -EIO, false);
	memory_store_fail(f.secondary, STORE_OP_OPEN_DAYS, 1, -EIO, false);
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&broken),
		  -EIO);
	CHECK(test_contains(f.call.error.message, "store.primary: injected"));
	CHECK(test_contains(f.call.error.message,
			    "store.secondary: injected"));
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
	CHECK_INT(test_consume_new_crashes(f.fallback, &f.call, &queue),
		  0);
	CHECK_STR(queue.text, ID_B " " ID_A " " ID_C);
	/* Each ack went to the member that yielded the entry. */
	CHECK_INT(memory_store_calls(f.secondary, STORE_OP_ACK_CRASH), 1);
	CHECK_INT(memory_store_calls(f.primary, STORE_OP_ACK_CRASH), 2);
	/* Taken out of the queue: a second pass yields nothing, and acking
	 * again is "not queued". */
	struct collected again = { .count = 0 };
	CHECK_INT(test_consume_new_crashes(f.fallback, &f.call, &again), 0);
	CHECK_INT(again.count, 0);
	CHECK_INT(test_ack(f.fallback, &f.call, ID_A), -ENOENT);
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
	CHECK_INT(crash_store_stat_crash(f.fallback, &f.call, ID_A, NULL), -ENOENT);
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

/* -- the primary fully down ---------------------------------------------- */

static const char *node_state(struct crash_store *store, const char *node)
{
	static char state[32];
	json_t *stats = crash_store_stats(store);
	const char *value = json_string_value(
		json_object_get(json_object_get(stats, node), "state"));
	snprintf(state, sizeof state, "%s", value ? value : "(none)");
	json_decref(stats);
	return state;
}

/* A field of one side of the breaker in the stats. */
static json_int_t breaker_count(struct crash_store *store, const char *side,
				const char *field)
{
	json_t *stats = crash_store_stats(store);
	json_t *node = json_object_get(stats, store->node_path);
	json_int_t value = json_integer_value(json_object_get(
		json_object_get(json_object_get(node, "breaker"), side),
		field));
	json_decref(stats);
	return value;
}

static const char *breaker_state(struct crash_store *store, const char *side)
{
	static char state[32];
	json_t *stats = crash_store_stats(store);
	json_t *node = json_object_get(stats, store->node_path);
	const char *value = json_string_value(json_object_get(
		json_object_get(json_object_get(node, "breaker"), side),
		"state"));
	snprintf(state, sizeof state, "%s", value ? value : "(none)");
	json_decref(stats);
	return state;
}

static unsigned primary_calls(struct crash_store *memory)
{
	unsigned calls = 0;
	for (int kind = 0; kind < STORE_OP_COUNT; kind++)
		calls += memory_store_calls(memory, kind);
	return calls;
}

/*
 * The kernel looks a name up before it creates it: with the primary down
 * and the secondary without the crash, the lookup must say "no such
 * file", or open(O_CREAT), mkdir -p and cp fail with EIO (230 of 230 new
 * crashes did).  An open of a part only the primary holds is a read of a
 * file that exists: EIO, not a silent ENOENT.
 */
static void test_outage_lookups_answer_from_the_secondary(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_put(f.primary, ID_A, &RAW_PART, "{\"in\": \"p\"}", 11);
	memory_store_put(f.secondary, ID_B, &RAW_PART, "{\"in\": \"s\"}", 11);
	memory_store_fail_all(f.primary, -1, -EIO, true);

	struct crash_part_stat stat;
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_C, &RAW_PART,
					&stat),
		  -ENOENT);
	CHECK(test_contains(f.call.error.message,
			    "not in store.secondary (the primary is failing"));
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_C, &DUMP_PART,
					&stat),
		  -ENOENT);
	CHECK_INT(crash_store_stat_crash(f.fallback, &f.call, ID_C, NULL), -ENOENT);
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120201",
					     "e8", NULL),
		  -ENOENT);
	/* What the secondary holds is found. */
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_B, &RAW_PART,
					&stat),
		  0);
	CHECK_INT(stat.size, 11);
	CHECK_INT(crash_store_stat_crash(f.fallback, &f.call, ID_B, NULL), 0);
	CHECK_INT(crash_store_stat_radix_dir(f.fallback, &f.call, "20120408",
					     "0b", NULL),
		  0);
	int result = 0;
	char *text = test_read_part(f.fallback, &f.call, ID_B, &RAW_PART,
				    &result);
	CHECK_STR(text, "{\"in\": \"s\"}");
	free(text);
	/* A part only the primary holds: the read fails, it is not gone. */
	text = test_read_part(f.fallback, &f.call, ID_A, &RAW_PART, &result);
	CHECK(text == NULL);
	CHECK_INT(result, -EIO);
	CHECK(test_contains(f.call.error.message,
			    "not in store.secondary, and the primary is "
			    "failing"));

	CHECK_STR(node_state(f.fallback, "store"), "degraded");
	CHECK_STR(node_state(f.fallback, "store.primary"), "failing");
	CHECK_STR(breaker_state(f.fallback, "reads"), "open");
	CHECK_STR(breaker_state(f.fallback, "saves"), "open");
	/* Found down once; every later call skipped it. */
	CHECK_INT(primary_calls(f.primary), 1);
	CHECK_INT(breaker_count(f.fallback, "reads", "openings"), 1);
	CHECK_INT(breaker_count(f.fallback, "reads", "skipped"), 8);
	crash_store_close(f.fallback);
}

struct outage_job {
	struct fixture *fixture;
	int failures;
	int saves;
};

static const char *const outage_ids[] = {
	ID_A, ID_B, ID_C,
	"11111111-2222-4333-8444-555555120408",
	"22222222-2222-4333-8444-555555120408",
	"33333333-2222-4333-8444-555555120409",
};
#define OUTAGE_CRASHES (sizeof outage_ids / sizeof outage_ids[0])

/* What the mount does for each new crash: a lookup, then each part. */
static void write_crashes(void *arg)
{
	struct outage_job *job = arg;
	struct fixture *f = job->fixture;
	for (int round = 0; round < 5; round++) {
		for (size_t i = 0; i < OUTAGE_CRASHES; i++) {
			struct crash_part_stat stat;
			int result = crash_store_stat_part(f->fallback, &f->call,
							   outage_ids[i],
							   &RAW_PART, &stat);
			if (result != 0 && result != -ENOENT)
				job->failures++;
			job->failures +=
				test_save_raw(f->fallback, &f->call,
					      outage_ids[i], "{}", false) != 0;
			job->failures +=
				test_save_dump(f->fallback, &f->call,
					       outage_ids[i], NULL,
					       "MDMP") != 0;
			job->saves += 2;
		}
	}
}

static void test_outage_saves_go_to_the_secondary(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_fail_all(f.primary, -1, -ECONNREFUSED, true);
	struct outage_job job = { .fixture = &f };
	char *log = test_capture_log(write_crashes, &job);
	CHECK_INT(job.failures, 0);
	for (size_t i = 0; i < OUTAGE_CRASHES; i++) {
		CHECK(memory_store_has(f.secondary, outage_ids[i], &RAW_PART));
		CHECK(memory_store_has(f.secondary, outage_ids[i],
				       &DUMP_PART));
	}
	CHECK_INT(memory_store_crash_count(f.primary), 0);
	/* Every save went to the secondary, counted, as did the lookups it
	 * answered (each crash after the first round); the primary was
	 * asked once (the first lookup found it down). */
	CHECK_INT(atomic_load(&f.fallback->counters.fallbacks),
		  job.saves + 4 * OUTAGE_CRASHES);
	CHECK_INT(atomic_load(&f.fallback->counters.errors), 0);
	CHECK_INT(primary_calls(f.primary), 1);
	CHECK_INT(breaker_count(f.fallback, "saves", "skipped"), job.saves);
	/* One warning for the whole outage, none per crash, no errors. */
	CHECK_INT(test_count(log, " warning: "), 1);
	CHECK_INT(test_count(log, " error: "), 0);
	CHECK(test_contains(log, "primary failed; all calls go to "
				 "store.secondary without asking "
				 "store.primary"));
	CHECK(test_contains(log, "store.primary: injected stat_part failure"));
	free(log);

	/* The crashes written meanwhile read back through the container. */
	int result = 0;
	char *text = test_read_part(f.fallback, &f.call, ID_C, &DUMP_PART,
				    &result);
	CHECK_STR(text, "MDMP");
	free(text);
	crash_store_close(f.fallback);
}

/* With the breaker open, the error standing for the skipped primary is
 * marked as the failure that opened it was: a save failing in both
 * members is operational exactly when both failures were. */
static void test_skipped_primary_keeps_operational(void)
{
	for (int opened_operational = 0; opened_operational < 2;
	     opened_operational++) {
		struct fixture f;
		REQUIRE(setup(&f));
		memory_store_fail_all(f.primary, -1, -EIO, opened_operational);
		CHECK_INT(test_save_raw(f.fallback, &f.call, ID_A, "{}", false),
			  0);
		memory_store_fail_all(f.secondary, -1, -ECONNRESET, true);
		crash_call_init(&f.call);
		CHECK_INT(test_save_raw(f.fallback, &f.call, ID_B, "{}", false),
			  -EIO);
		CHECK(test_contains(f.call.error.message, "not asked"));
		CHECK_INT(f.call.error.operational, opened_operational);
		crash_call_init(&f.call);
		CHECK_INT(crash_store_stat_crash(f.fallback, &f.call, ID_A,
						 NULL),
			  -ECONNRESET);
		CHECK_INT(f.call.error.operational, 1);
		crash_store_close(f.fallback);
	}
}

struct listing_job {
	struct fixture *fixture;
	int results[6];
	struct collected days, radix, parts;
};

static void list_during_outage(void *arg)
{
	struct listing_job *job = arg;
	struct fixture *f = job->fixture;
	for (int round = 0; round < 20; round++) {
		job->days = (struct collected){ .count = 0 };
		job->radix = (struct collected){ .count = 0 };
		job->parts = (struct collected){ .count = 0 };
		job->results[0] = test_list_days(
			f->fallback, &f->call, &job->days);
		job->results[1] = test_list_radix(
			f->fallback, &f->call, "20120408", "", &job->radix);
		job->results[2] = crash_store_list_parts(
			f->fallback, &f->call, ID_B, test_collect_part,
			&job->parts);
	}
}

static void test_outage_listings_are_partial(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_put(f.primary, ID_A, &RAW_PART, "{}", 2);
	memory_store_put(f.primary, ID_C, &RAW_PART, "{}", 2);
	memory_store_put(f.secondary, ID_B, &RAW_PART, "{}", 2);
	memory_store_fail_all(f.primary, -1, -EIO, true);

	struct listing_job job = { .fixture = &f };
	char *log = test_capture_log(list_during_outage, &job);
	CHECK_INT(job.results[0], 0);
	CHECK_STR(job.days.text, "20120408");
	CHECK_INT(job.results[1], 0);
	CHECK_STR(job.radix.text, "d:0b");
	CHECK_INT(job.results[2], 0);
	CHECK_STR(job.parts.text, "raw@2");
	CHECK_INT(atomic_load(&f.fallback->counters.partial_listings), 60);
	/* One line for the breaker opening, one for the partial listings. */
	CHECK_INT(test_count(log, " warning: "), 2);
	CHECK_INT(test_count(log, "partial, without a member that failed"),
		  1);
	free(log);
	CHECK_INT(primary_calls(f.primary), 1);

	/* A crash or a day only the primary holds cannot be listed: EIO,
	 * not "no such directory". */
	struct collected parts = { .count = 0 };
	CHECK_INT(crash_store_list_parts(f.fallback, &f.call, ID_A,
					 test_collect_part, &parts),
		  -EIO);
	CHECK(test_contains(f.call.error.message, "the primary is failing"));
	CHECK_INT(test_list_radix(f.fallback, &f.call, "20120201", "", &parts),
		  -EIO);
	crash_store_close(f.fallback);
}

/* The first listing that finds the primary down is partial too: what the
 * primary emitted before failing stays, the secondary adds its own. */
static void test_listing_finding_the_primary_down(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_put(f.secondary, ID_B, &RAW_PART, "{}", 2);
	memory_store_fail(f.primary, STORE_OP_OPEN_DAYS, -1, -ETIMEDOUT, true);
	struct collected days = { .count = 0 };
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&days),
		  0);
	CHECK_STR(days.text, "20120408");
	CHECK_INT(atomic_load(&f.fallback->counters.partial_listings), 1);
	CHECK_STR(breaker_state(f.fallback, "reads"), "open");
	crash_store_close(f.fallback);
}

/* A primary under a retry policy: the first call that finds it down
 * waits out the policy; after that no call waits for it. */
static struct crash_store *retrying(struct crash_store *memory)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	json_t *node = json_loads("{\"policy\": \"limited\", "
				  "\"backoff_delays\": [0.001, 0.001, 0.001, "
				  "0.001], \"wait_log_interval\": 0}",
				  0, NULL);
	if (retry_store_open(memory, node, "store.primary.retry", &store,
			     &error) < 0)
		fprintf(stderr, "%s\n", error.message);
	json_decref(node);
	return store;
}

struct breaker_fixture {
	struct crash_store *fallback;
	struct crash_store *memory;    /* the primary's store */
	struct crash_store *retry;     /* the primary member */
	struct crash_store *secondary;
	struct crash_call call;
};

static bool setup_breaker(struct breaker_fixture *f, double probe_interval)
{
	struct crash_error error = { 0 };
	f->memory = memory_store_new("store.primary");
	f->retry = retrying(f->memory);
	f->secondary = memory_store_new("store.secondary");
	crash_call_init(&f->call);
	if (!f->retry || fallback_store_new(f->retry, f->secondary,
					    probe_interval, "store",
					    &f->fallback, &error) < 0) {
		fprintf(stderr, "%s\n", error.message);
		return false;
	}
	return true;
}

static void test_breaker_skips_a_retrying_primary(void)
{
	struct breaker_fixture f;
	REQUIRE(setup_breaker(&f, NEVER_PROBED));
	memory_store_fail_all(f.memory, -1, -ECONNREFUSED, true);

	/* Found down: four attempts (three retries), then the secondary. */
	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_A, "{}", false), 0);
	CHECK_INT(primary_calls(f.memory), 4);
	CHECK_INT(atomic_load(&f.retry->counters.retries), 3);
	CHECK(memory_store_has(f.secondary, ID_A, &RAW_PART));

	/* Then nothing waits for it: saves go straight to the secondary
	 * (and may adopt their blobs: the primary never saw them). */
	for (size_t i = 0; i < OUTAGE_CRASHES; i++) {
		CHECK_INT(test_save_raw(f.fallback, &f.call, outage_ids[i],
					"{}", false),
			  0);
		CHECK_INT(test_save_dump(f.fallback, &f.call, outage_ids[i],
					 NULL, "MDMP"),
			  0);
	}
	CHECK_INT(primary_calls(f.memory), 4);
	CHECK_INT(atomic_load(&f.retry->counters.retries), 3);
	CHECK_INT(breaker_count(f.fallback, "saves", "skipped"),
		  2 * OUTAGE_CRASHES);
	CHECK_STR(breaker_state(f.fallback, "saves"), "open");
	/* A failed save does not stop reads from asking the primary (a full
	 * disk still serves them): the first lookup waits out the policy
	 * too, and opens the reads side. */
	CHECK_STR(breaker_state(f.fallback, "reads"), "closed");
	struct crash_part_stat stat;
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_B, &RAW_PART,
					&stat),
		  0);
	CHECK_INT(primary_calls(f.memory), 8);
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_C, &RAW_PART,
					&stat),
		  0);
	CHECK_INT(primary_calls(f.memory), 8);
	CHECK_STR(breaker_state(f.fallback, "reads"), "open");
	CHECK_STR(node_state(f.fallback, "store.primary.retry"), "failing");
	crash_store_close(f.fallback);
}

/* probe_interval 0: every call while the primary is down is a probe, one
 * attempt, never a wait; the primary back, the first probe closes the
 * side and calls go to it again. */
static void test_probes_ask_once_and_close_the_breaker(void)
{
	struct breaker_fixture f;
	REQUIRE(setup_breaker(&f, 0));
	memory_store_fail_all(f.memory, -1, -EIO, true);
	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_A, "{}", false), 0);
	CHECK_INT(primary_calls(f.memory), 4);

	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_B, "{}", false), 0);
	CHECK_INT(primary_calls(f.memory), 5); /* one attempt */
	CHECK_INT(atomic_load(&f.retry->counters.retries), 3);
	CHECK(memory_store_has(f.secondary, ID_B, &RAW_PART));
	CHECK_STR(breaker_state(f.fallback, "saves"), "open");
	CHECK_INT(breaker_count(f.fallback, "saves", "probes"), 1);

	/* Back. */
	memory_store_heal(f.memory);
	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_C, "{}", false), 0);
	CHECK(memory_store_has(f.memory, ID_C, &RAW_PART));
	CHECK(!memory_store_has(f.secondary, ID_C, &RAW_PART));
	CHECK_STR(breaker_state(f.fallback, "saves"), "closed");
	CHECK_INT(breaker_count(f.fallback, "saves", "probes"), 2);
	CHECK_INT(breaker_count(f.fallback, "saves", "openings"), 1);
	CHECK_STR(node_state(f.fallback, "store"), "ok");
	CHECK_STR(node_state(f.fallback, "store.primary"), "ok");
	/* A save under the policy again (a failure is retried). */
	memory_store_fail(f.memory, STORE_OP_SAVE_DUMP, 1, -EIO, true);
	CHECK_INT(test_save_dump(f.fallback, &f.call, ID_C, NULL, "MDMP"), 0);
	CHECK(memory_store_has(f.memory, ID_C, &DUMP_PART));
	CHECK_INT(atomic_load(&f.retry->counters.retries), 4);

	/* What the secondary took is readable, and listings merge both. */
	int result = 0;
	char *text = test_read_part(f.fallback, &f.call, ID_B, &RAW_PART,
				    &result);
	CHECK_STR(text, "{}");
	free(text);
	struct collected days = { .count = 0 };
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&days),
		  0);
	CHECK_INT(days.count, 2);
	CHECK_INT(atomic_load(&f.fallback->counters.partial_listings), 0);
	crash_store_close(f.fallback);
}

/* The reads side: a listing or lookup probe is one attempt too, and its
 * answer closes the side. */
static void test_read_probes(void)
{
	struct breaker_fixture f;
	REQUIRE(setup_breaker(&f, 0));
	memory_store_put(f.memory, ID_A, &RAW_PART, "{\"p\": 1}", 8);
	memory_store_fail_all(f.memory, -1, -EIO, true);
	struct collected days = { .count = 0 };
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&days),
		  0);
	CHECK_INT(primary_calls(f.memory), 4);
	CHECK_INT(test_list_days(f.fallback, &f.call,
					&days),
		  0);
	CHECK_INT(primary_calls(f.memory), 5);
	CHECK_INT(atomic_load(&f.fallback->counters.partial_listings), 2);
	struct crash_part_stat stat;
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_A, &RAW_PART,
					&stat),
		  -ENOENT);
	CHECK_INT(primary_calls(f.memory), 6);
	CHECK_STR(breaker_state(f.fallback, "reads"), "open");

	memory_store_heal(f.memory);
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_A, &RAW_PART,
					&stat),
		  0);
	CHECK_INT(stat.size, 8);
	CHECK_STR(breaker_state(f.fallback, "reads"), "closed");
	/* The saves side (opened with it) closes at its own probe. */
	CHECK_STR(breaker_state(f.fallback, "saves"), "open");
	CHECK_INT(test_save_raw(f.fallback, &f.call, ID_B, "{}", false), 0);
	CHECK(memory_store_has(f.memory, ID_B, &RAW_PART));
	CHECK_STR(breaker_state(f.fallback, "saves"), "closed");
	CHECK_STR(node_state(f.fallback, "store"), "ok");
	crash_store_close(f.fallback);
}

/* Removes, mtimes and the queue while the primary is down. */
static void test_outage_writes_and_queue(void)
{
	struct fixture f;
	REQUIRE(setup(&f));
	memory_store_put(f.primary, ID_A, &RAW_PART, "{}", 2);
	CHECK_INT(test_save_raw(f.secondary, &f.call, ID_B, "{}", false), 0);
	memory_store_put(f.secondary, ID_C, &RAW_PART, "{}", 2);
	memory_store_fail_all(f.primary, -1, -EIO, true);
	struct crash_part_stat stat;
	CHECK_INT(crash_store_stat_part(f.fallback, &f.call, ID_A, &RAW_PART,
					&stat),
		  -ENOENT);

	/* cp -p sets the mtime of a part it wrote: in the secondary. */
	struct timespec mtime = { .tv_sec = 1234567890 };
	CHECK_INT(crash_store_set_part_mtime(f.fallback, &f.call, ID_B,
					     &RAW_PART, &mtime),
		  0);
	CHECK_INT(crash_store_set_part_mtime(f.fallback, &f.call, ID_A,
					     &RAW_PART, &mtime),
		  -EIO);
	/* A remove cannot reach the primary, which may hold a copy: EIO
	 * naming it, after the secondary removed its own. */
	CHECK_INT(crash_store_remove(f.fallback, &f.call, ID_C), -EIO);
	CHECK(test_contains(f.call.error.message, "store.primary: not asked"));
	CHECK(!memory_store_has(f.secondary, ID_C, &RAW_PART));

	/* The queue: the secondary's crashes, a partial pass. */
	struct collected queue = { .count = 0 };
	CHECK_INT(test_consume_new_crashes(f.fallback, &f.call, &queue),
		  0);
	CHECK_STR(queue.text, ID_B);
	CHECK_INT(test_ack(f.fallback, &f.call, ID_B), -ENOENT);
	/* An entry the primary yielded cannot be acknowledged while it is
	 * down: EIO, not "not queued". */
	struct crash_queue_entry from_primary = {
		.crash_id = ID_A, .token = { .issuer = f.primary },
	};
	CHECK_INT(crash_store_ack_crash(f.fallback, &f.call, &from_primary),
		  -EIO);
	CHECK_INT(primary_calls(f.primary), 1);
	crash_store_close(f.fallback);
}

static void test_probe_interval_configuration(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	static const char *const bad[] = { "-1", "\"30\"", "86401", "null" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];
		snprintf(text, sizeof text,
			 "{\"type\": \"fallback\", \"probe_interval\": %s, "
			 "\"primary\": {\"type\": \"null\"}, "
			 "\"secondary\": {\"type\": \"null\"}}",
			 bad[i]);
		CHECK_INT(test_open_text(text, NULL, &store, &error), -EINVAL);
		CHECK(test_contains(error.message, "store.probe_interval"));
		CHECK(store == NULL);
	}
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"probe_interval\": 0.25, "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"secondary\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	json_t *stats = crash_store_stats(store);
	json_t *node = json_object_get(stats, "store");
	CHECK(json_real_value(json_object_get(node, "probe_interval")) ==
	      0.25);
	CHECK_STR(json_string_value(json_object_get(
			  json_object_get(json_object_get(node, "breaker"),
					  "saves"),
			  "state")),
		  "closed");
	CHECK_INT(json_integer_value(json_object_get(node,
						     "partial_listings")),
		  0);
	json_decref(stats);
	crash_store_close(store);
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"secondary\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	stats = crash_store_stats(store);
	CHECK(json_real_value(json_object_get(json_object_get(stats, "store"),
					      "probe_interval")) ==
	      FALLBACK_PROBE_INTERVAL_DEFAULT);
	json_decref(stats);
	crash_store_close(store);
}

/* The breaker alone: closed, open, one probe at a time. */
static void test_circuit_breaker(void)
{
	struct circuit_breaker breaker;
	circuit_breaker_init(&breaker, NEVER_PROBED);
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_ASK);
	CHECK(circuit_breaker_open(&breaker, CIRCUIT_ASK));
	CHECK(!circuit_breaker_open(&breaker, CIRCUIT_ASK)); /* already */
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_SKIP);
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_SKIP);
	CHECK(circuit_breaker_seconds_left(&breaker) > 3600);
	double down = -1;
	CHECK(circuit_breaker_close(&breaker, &down));
	CHECK(down >= 0);
	CHECK(!circuit_breaker_close(&breaker, NULL));
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_ASK);
	json_t *stats = circuit_breaker_stats(&breaker);
	CHECK_STR(json_string_value(json_object_get(stats, "state")), "closed");
	CHECK_INT(json_integer_value(json_object_get(stats, "openings")), 1);
	CHECK_INT(json_integer_value(json_object_get(stats, "skipped")), 2);
	json_decref(stats);

	/* Interval 0: due at once, one probe at a time. */
	circuit_breaker_init(&breaker, 0);
	CHECK(circuit_breaker_open(&breaker, CIRCUIT_ASK));
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_PROBE);
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_SKIP);
	stats = circuit_breaker_stats(&breaker);
	CHECK_STR(json_string_value(json_object_get(stats, "state")),
		  "probing");
	json_decref(stats);
	circuit_breaker_release(&breaker); /* no answer */
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_PROBE);
	CHECK(!circuit_breaker_open(&breaker, CIRCUIT_PROBE)); /* still down */
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_PROBE);
	CHECK(circuit_breaker_close(&breaker, NULL));
	CHECK_INT(circuit_breaker_route(&breaker), CIRCUIT_ASK);
	CHECK_INT(atomic_load(&breaker.probes), 3);
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
	test_circuit_breaker();
	test_outage_lookups_answer_from_the_secondary();
	test_outage_saves_go_to_the_secondary();
	test_skipped_primary_keeps_operational();
	test_outage_listings_are_partial();
	test_listing_finding_the_primary_down();
	test_breaker_skips_a_retrying_primary();
	test_probes_ask_once_and_close_the_breaker();
	test_read_probes();
	test_outage_writes_and_queue();
	test_probe_interval_configuration();
	return unit_test_exit(argv[0]);
}
