/*
 * test_primary_deferred.c - primary_deferred and
 * primary_deferred_processed over in-memory stores: routing by Socorro's
 * default predicate and by a configured one, dumps following their raw
 * crash, processed crashes (predicate / processed store), reads, merged
 * listings, the queue, removal and closing of the processed store.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "containers/predicate.h"
#include "containers/primary_deferred_store.h"
#include "storage/crash_log.h"
#include "tests/unit/store_test_util.h"
#include "storage/memory/memory_store.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

struct fixture {
	struct crash_store *store;
	struct crash_store *primary;
	struct crash_store *deferred;
	struct crash_store *processed; /* NULL for primary_deferred */
	struct crash_call call;
};

static bool setup(struct fixture *f, const char *predicate_text,
		  bool with_processed)
{
	struct crash_error error = { 0 };
	struct predicate *predicate = NULL;
	json_t *node = predicate_text ? json_loads(predicate_text, 0, NULL)
				      : NULL;
	int result = predicate_parse(node, "store.predicate", &predicate,
				     &error);
	json_decref(node);
	if (result < 0) {
		fprintf(stderr, "%s\n", error.message);
		return false;
	}
	f->primary = memory_store_new("store.primary");
	f->deferred = memory_store_new("store.deferred");
	f->processed = with_processed ? memory_store_new("store.processed")
				      : NULL;
	crash_call_init(&f->call);
	if (primary_deferred_store_new(f->primary, f->deferred, f->processed,
				       predicate, "store", &f->store,
				       &error) < 0) {
		fprintf(stderr, "%s\n", error.message);
		return false;
	}
	return true;
}

static void test_default_routing(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, false));
	CHECK_STR(f.store->ops->type_name, "primary_deferred");
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 1}", false),
		  0);
	CHECK_INT(test_save_raw(f.store, &f.call, ID_B,
				"{\"legacy_processing\": 0}", false),
		  0);
	CHECK_INT(test_save_raw(f.store, &f.call, ID_C,
				"{\"ProductName\": \"Firefox\"}", false),
		  0);
	CHECK(memory_store_has(f.deferred, ID_A, &RAW_PART));
	CHECK(!memory_store_has(f.primary, ID_A, &RAW_PART));
	CHECK(memory_store_has(f.primary, ID_B, &RAW_PART));
	CHECK(memory_store_has(f.primary, ID_C, &RAW_PART));
	CHECK_INT(memory_store_crash_count(f.deferred), 1);
	crash_store_close(f.store);
}

/* A rewrite whose route changed leaves no older raw crash behind in the
 * other store (reads would find it first in the primary). */
static void test_rerouted_raw_crash_replaces_the_old_one(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, false));
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 0}", false),
		  0);
	CHECK(memory_store_has(f.primary, ID_A, &RAW_PART));
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 1, \"v\": 2}", false),
		  0);
	CHECK(memory_store_has(f.deferred, ID_A, &RAW_PART));
	CHECK(!memory_store_has(f.primary, ID_A, &RAW_PART));
	int result = 0;
	char *text = test_read_part(f.store, &f.call, ID_A, &RAW_PART, &result);
	CHECK_INT(result, 0);
	CHECK_STR(text, "{\"legacy_processing\": 1, \"v\": 2}");
	free(text);
	crash_store_close(f.store);
}

static void test_routing_parses_the_blob_when_no_json_given(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, false));
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 1}", true),
		  0);
	CHECK(memory_store_has(f.deferred, ID_A, &RAW_PART));
	CHECK_INT(test_save_raw(f.store, &f.call, ID_B, "[1, 2]", true),
		  -EINVAL);
	CHECK(test_contains(f.call.error.message, "not a JSON object"));
	CHECK_INT(test_save_raw(f.store, &f.call, ID_B, "{\"a\": ", true),
		  -EINVAL);
	CHECK_INT(memory_store_crash_count(f.primary), 0);
	crash_store_close(f.store);
}

static void test_configured_predicate(void)
{
	struct fixture f;
	REQUIRE(setup(&f, "{\"key\": \"ProductName\", \"op\": \"==\", "
			  "\"value\": \"Fennec\"}",
		      false));
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"ProductName\": \"Fennec\", "
				"\"legacy_processing\": 0}",
				false),
		  0);
	CHECK_INT(test_save_raw(f.store, &f.call, ID_B,
				"{\"ProductName\": \"Firefox\", "
				"\"legacy_processing\": 1}",
				false),
		  0);
	CHECK(memory_store_has(f.deferred, ID_A, &RAW_PART));
	CHECK(memory_store_has(f.primary, ID_B, &RAW_PART));
	json_t *stats = crash_store_stats(f.store);
	json_t *predicate = json_object_get(json_object_get(stats, "store"),
					    "predicate");
	CHECK_STR(json_string_value(json_object_get(predicate, "key")),
		  "ProductName");
	json_decref(stats);
	crash_store_close(f.store);
}

static void test_dumps_follow_their_raw_crash(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, false));
	/* The raw crash first: the dump goes where it is. */
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 1}", false),
		  0);
	CHECK_INT(test_save_dump(f.store, &f.call, ID_A, NULL, "MDMP"), 0);
	CHECK(memory_store_has(f.deferred, ID_A, &DUMP_PART));
	CHECK(!memory_store_has(f.primary, ID_A, &DUMP_PART));
	/* No raw crash anywhere yet: the primary. */
	CHECK_INT(test_save_dump(f.store, &f.call, ID_B, NULL, "MDMP"), 0);
	CHECK(memory_store_has(f.primary, ID_B, &DUMP_PART));
	/* rsync writes <id>.dump before <id>.json: when the raw crash is
	 * then deferred, the dumps move along with it. */
	CHECK_INT(test_save_dump(f.store, &f.call, ID_B, "flash1", "F1"), 0);
	CHECK_INT(test_save_raw(f.store, &f.call, ID_B,
				"{\"legacy_processing\": 1}", false),
		  0);
	struct crash_part flash = { .type = CRASH_PART_DUMP,
				    .dump_name = "flash1" };
	CHECK(memory_store_has(f.deferred, ID_B, &RAW_PART));
	CHECK(memory_store_has(f.deferred, ID_B, &DUMP_PART));
	CHECK(memory_store_has(f.deferred, ID_B, &flash));
	CHECK_INT(memory_store_crash_count(f.primary), 0);
	char *dump = memory_store_get(f.deferred, ID_B, &flash);
	CHECK_STR(dump, "F1");
	free(dump);
	/* A failing lookup is an error, not a guess. */
	memory_store_fail(f.primary, STORE_OP_STAT_PART, 1, -EIO, false);
	CHECK_INT(test_save_dump(f.store, &f.call, ID_C, NULL, "MDMP"), -EIO);
	crash_store_close(f.store);
}

static void test_moving_dumps_is_best_effort(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, false));
	CHECK_INT(test_save_dump(f.store, &f.call, ID_A, NULL, "MDMP"), 0);
	memory_store_fail(f.deferred, STORE_OP_SAVE_DUMP, -1, -EIO, false);
	/* The raw crash is stored; the dump stays in the primary, logged,
	 * and still shows through the container. */
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 1}", false),
		  0);
	CHECK(memory_store_has(f.deferred, ID_A, &RAW_PART));
	CHECK(memory_store_has(f.primary, ID_A, &DUMP_PART));
	struct collected parts = { .count = 0 };
	CHECK_INT(crash_store_list_parts(f.store, &f.call, ID_A,
					 test_collect_part, &parts),
		  0);
	CHECK(test_contains(parts.text, "raw@"));
	CHECK(test_contains(parts.text, "dump@4"));
	crash_store_close(f.store);
}

static void test_processed_routing(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, false));
	/* Socorro applied the predicate to the processed crash, which
	 * normally lacks legacy_processing: the primary. */
	CHECK_INT(test_save_processed(f.store, &f.call, ID_A,
				      "{\"uuid\": \"" ID_A "\"}", false),
		  0);
	CHECK(memory_store_has(f.primary, ID_A, &PROCESSED_PART));
	CHECK_INT(test_save_processed(f.store, &f.call, ID_B,
				      "{\"legacy_processing\": 1}", false),
		  0);
	CHECK(memory_store_has(f.deferred, ID_B, &PROCESSED_PART));
	/* Without the decompressed document: the primary. */
	CHECK_INT(test_save_processed(f.store, &f.call, ID_C,
				      "{\"legacy_processing\": 1}", true),
		  0);
	CHECK(memory_store_has(f.primary, ID_C, &PROCESSED_PART));
	crash_store_close(f.store);
}

static void test_reads_and_queue(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, false));
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 1}", false),
		  0);
	CHECK_INT(test_save_raw(f.store, &f.call, ID_B,
				"{\"legacy_processing\": 0}", false),
		  0);
	int result = 0;
	char *text = test_read_part(f.store, &f.call, ID_A, &RAW_PART, &result);
	CHECK_STR(text, "{\"legacy_processing\": 1}");
	free(text);
	CHECK_INT(crash_store_stat_crash(f.store, &f.call, ID_B, NULL), 0);
	CHECK_INT(crash_store_stat_crash(f.store, &f.call, ID_C, NULL), -ENOENT);
	struct collected radix = { .count = 0 };
	CHECK_INT(test_list_radix(f.store, &f.call, "20120408", "", &radix),
		  0);
	CHECK_INT(radix.count, 2);
	/* Deferred crashes are never offered for processing. */
	struct collected queue = { .count = 0 };
	CHECK_INT(test_consume_new_crashes(f.store, &f.call,
					  &queue),
		  0);
	CHECK_STR(queue.text, ID_B);
	CHECK_INT(memory_store_calls(f.deferred, STORE_OP_NEW_CRASHES), 0);
	CHECK_INT(test_ack(f.store, &f.call, ID_A), -ENOENT);

	/* Remove from wherever the crash is. */
	CHECK_INT(crash_store_remove(f.store, &f.call, ID_A), 0);
	CHECK_INT(memory_store_crash_count(f.deferred), 0);
	CHECK_INT(crash_store_remove(f.store, &f.call, ID_A), -ENOENT);
	crash_store_close(f.store);
}

static void test_processed_store(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, true));
	CHECK_STR(f.store->ops->type_name, "primary_deferred_processed");
	CHECK_INT(crash_store_child_count(f.store), 3);
	CHECK_INT(test_save_raw(f.store, &f.call, ID_A,
				"{\"legacy_processing\": 0}", false),
		  0);
	CHECK_INT(test_save_processed(f.store, &f.call, ID_A,
				      "{\"legacy_processing\": 1}", false),
		  0);
	CHECK(memory_store_has(f.processed, ID_A, &PROCESSED_PART));
	CHECK(!memory_store_has(f.primary, ID_A, &PROCESSED_PART));
	CHECK(!memory_store_has(f.deferred, ID_A, &PROCESSED_PART));
	CHECK(memory_store_has(f.primary, ID_A, &RAW_PART));

	/* The processed part is read from the processed store only, even
	 * if another store has one. */
	memory_store_put(f.primary, ID_A, &PROCESSED_PART, "stale", 5);
	int result = 0;
	char *text = test_read_part(f.store, &f.call, ID_A, &PROCESSED_PART,
				    &result);
	CHECK_STR(text, "{\"legacy_processing\": 1}");
	free(text);
	struct collected parts = { .count = 0 };
	CHECK_INT(crash_store_list_parts(f.store, &f.call, ID_A,
					 test_collect_part, &parts),
		  0);
	CHECK_STR(parts.text, "raw@24 processed@24");
	memory_store_put(f.primary, ID_B, &PROCESSED_PART, "stale", 5);
	CHECK_INT(crash_store_stat_part(f.store, &f.call, ID_B,
					&PROCESSED_PART, NULL),
		  -ENOENT);

	/* A crash with only a processed part is still a crash here. */
	memory_store_put(f.processed, ID_C, &PROCESSED_PART, "{}", 2);
	CHECK_INT(crash_store_stat_crash(f.store, &f.call, ID_C, NULL), 0);

	/* Removal reaches the processed store too (Socorro's never did). */
	CHECK_INT(crash_store_remove_part(f.store, &f.call, ID_A,
					  &PROCESSED_PART),
		  0);
	CHECK(!memory_store_has(f.processed, ID_A, &PROCESSED_PART));
	CHECK(memory_store_has(f.primary, ID_A, &PROCESSED_PART));
	CHECK_INT(crash_store_remove(f.store, &f.call, ID_C), 0);
	CHECK_INT(memory_store_crash_count(f.processed), 0);
	crash_store_close(f.store);
}

static void test_closes_the_processed_store(void)
{
	struct fixture f;
	REQUIRE(setup(&f, NULL, true));
	unsigned closed = memory_store_closed_count();
	crash_store_close(f.store);
	/* Socorro's close left the processed store open. */
	CHECK_INT(memory_store_closed_count(), closed + 3);
}

static void test_configuration(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	CHECK_INT(test_open_text("{\"type\": \"primary_deferred\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"deferred\": {\"type\": \"null\"}, "
				 "\"predicate\": {\"key\": \"ProductName\", "
				 "\"op\": \"=~\", \"value\": \"F.*\"}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.predicate.op: unknown "
					   "comparison '=~'"));
	CHECK_INT(test_open_text("{\"type\": \"primary_deferred\", "
				 "\"primary\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.deferred: missing"));
	CHECK_INT(test_open_text("{\"type\": \"primary_deferred_processed\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"deferred\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.processed: missing"));
	CHECK_INT(test_open_text("{\"type\": \"primary_deferred\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"deferred\": {\"type\": \"null\"}, "
				 "\"processed\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.processed: unknown option"));
	CHECK_INT(test_open_text("{\"type\": \"primary_deferred\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"deferred\": {\"type\": \"null\"}, "
				 "\"deferral_criteria\": \"lambda c: 1\"}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message,
			    "store.deferral_criteria: unknown option"));
	CHECK(store == NULL);
	CHECK_INT(test_open_text("{\"type\": \"primary_deferred_processed\", "
				 "\"primary\": {\"type\": \"null\"}, "
				 "\"deferred\": {\"type\": \"null\"}, "
				 "\"processed\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(crash_store_child(store, 2)->node_path, "store.processed");
	crash_store_close(store);
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_default_routing();
	test_rerouted_raw_crash_replaces_the_old_one();
	test_routing_parses_the_blob_when_no_json_given();
	test_configured_predicate();
	test_dumps_follow_their_raw_crash();
	test_moving_dumps_is_best_effort();
	test_processed_routing();
	test_reads_and_queue();
	test_processed_store();
	test_closes_the_processed_store();
	test_configuration();
	return unit_test_exit(argv[0]);
}
