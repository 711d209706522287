/*
 * test_faulty.c - the faulty store over an in-memory store: always, every
 * Nth call, while a trigger file exists; chosen operations or "*"; the
 * errno and operational flag; its stats; configuration errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "storage/crash_log.h"
#include "storage/executor/retry_store.h"
#include "storage/faulty/faulty_store.h"
#include "storage/null/null_store.h"
#include "tests/unit/store_test_util.h"
#include "storage/memory/memory_store.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

static struct crash_store *open_faulty(struct crash_store *child,
				       const char *faults_text)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	json_t *faults = json_loads(faults_text, 0, NULL);
	int result = faulty_store_new(child, faults, "store", &store, &error);
	json_decref(faults);
	if (result < 0)
		fprintf(stderr, "%s\n", error.message);
	return store;
}

static void test_always_on_chosen_operations(void)
{
	struct crash_store *memory = memory_store_new("store.store");
	struct crash_store *store = open_faulty(
		memory, "[{\"operations\": [\"save_raw_crash\", \"save_dump\"], "
			"\"errno\": \"ECONNREFUSED\"}]");
	REQUIRE(store != NULL);
	CHECK_STR(store->ops->type_name, "faulty");
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(test_save_raw(store, &call, ID_A, "{}", false),
		  -ECONNREFUSED);
	CHECK(call.error.operational);
	CHECK(test_contains(call.error.message,
			    "store: injected fault: save_raw_crash " ID_A
			    " fails with ECONNREFUSED"));
	CHECK_INT(test_save_dump(store, &call, ID_A, NULL, "MDMP"),
		  -ECONNREFUSED);
	CHECK_INT(memory_store_calls(memory, STORE_OP_SAVE_RAW_CRASH), 0);
	/* Other operations pass through. */
	CHECK_INT(test_save_processed(store, &call, ID_A, "{}", false), 0);
	CHECK(memory_store_has(memory, ID_A, &PROCESSED_PART));
	CHECK_INT(crash_store_stat_crash(store, &call, ID_A, NULL), 0);
	CHECK_INT(faulty_store_injected(store), 2);
	CHECK_INT(atomic_load(&store->counters.errors), 2);
	json_t *stats = crash_store_stats(store);
	json_t *node = json_object_get(stats, "store");
	CHECK_INT(json_integer_value(json_object_get(node, "injected")), 2);
	CHECK(json_object_get(stats, "store.store") != NULL);
	json_decref(stats);
	crash_store_close(store);
}

static void test_every_nth_call(void)
{
	struct crash_store *memory = memory_store_new("store.store");
	struct crash_store *store = open_faulty(
		memory, "[{\"operations\": \"*\", \"mode\": \"every\", "
			"\"every\": 3, \"errno\": 5, \"operational\": false}]");
	REQUIRE(store != NULL);
	struct crash_call call;
	crash_call_init(&call);
	int failed_at[10], failures = 0;
	for (int i = 1; i <= 9; i++) {
		int result = crash_store_stat_crash(store, &call, ID_A, NULL);
		if (result != -ENOENT) {
			CHECK_INT(result, -EIO);
			CHECK(!call.error.operational);
			failed_at[failures++] = i;
		}
	}
	REQUIRE(failures == 3);
	CHECK_INT(failed_at[0], 3);
	CHECK_INT(failed_at[1], 6);
	CHECK_INT(failed_at[2], 9);
	crash_store_close(store);
}

static void test_while_trigger_file_exists(void)
{
	char trigger[] = "/tmp/crashfs-faulty-trigger-XXXXXX";
	int fd = mkstemp(trigger);
	REQUIRE(fd >= 0);
	close(fd);
	unlink(trigger); /* the "server" starts up */
	char faults[256];
	snprintf(faults, sizeof faults,
		 "[{\"operations\": \"*\", \"mode\": \"while_file_exists\", "
		 "\"trigger_file\": \"%s\", \"errno\": \"ETIMEDOUT\"}]",
		 trigger);
	struct crash_store *memory = memory_store_new("store.store");
	struct crash_store *store = open_faulty(memory, faults);
	REQUIRE(store != NULL);
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(test_save_raw(store, &call, ID_A, "{}", false), 0);

	fd = open(trigger, O_CREAT | O_WRONLY, 0644); /* down */
	REQUIRE(fd >= 0);
	close(fd);
	CHECK_INT(test_save_raw(store, &call, ID_B, "{}", false), -ETIMEDOUT);
	CHECK(call.error.operational);
	CHECK(test_contains(call.error.message, "trigger file present"));
	CHECK_INT(crash_store_stat_crash(store, &call, ID_A, NULL), -ETIMEDOUT);

	unlink(trigger); /* up again */
	CHECK_INT(crash_store_stat_crash(store, &call, ID_A, NULL), 0);
	CHECK_INT(test_save_raw(store, &call, ID_B, "{}", false), 0);
	crash_store_close(store);
}

static void test_first_firing_fault_decides(void)
{
	struct crash_store *memory = memory_store_new("store.store");
	struct crash_store *store = open_faulty(
		memory, "[{\"operations\": [\"remove\"], \"mode\": \"every\", "
			"\"every\": 2, \"errno\": \"EBUSY\"}, "
			"{\"operations\": [\"remove\", \"open_days\"], "
			"\"errno\": \"EACCES\", \"operational\": false}]");
	REQUIRE(store != NULL);
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(crash_store_remove(store, &call, ID_A), -EACCES);
	CHECK_INT(crash_store_remove(store, &call, ID_A), -EBUSY);
	CHECK_INT(crash_store_remove(store, &call, ID_A), -EACCES);
	struct collected days = { .count = 0 };
	CHECK_INT(test_list_days(store, &call, &days),
		  -EACCES);
	CHECK_INT(days.count, 0);
	crash_store_close(store);
}

static void test_retried_by_the_executor(void)
{
	/* An operational fault every second call: a retry store above it
	 * turns every call into a success. */
	struct crash_store *memory = memory_store_new("store.store");
	struct crash_store *faulty = open_faulty(
		memory, "[{\"operations\": \"*\", \"mode\": \"every\", "
			"\"every\": 2}]");
	REQUIRE(faulty != NULL);
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	json_t *retry = json_loads("{\"policy\": \"limited\", "
				   "\"backoff_delays\": [0, 0]}",
				   0, NULL);
	REQUIRE(retry_store_open(faulty, retry, "store.retry", &store,
				 &error) == 0);
	json_decref(retry);
	struct crash_call call;
	crash_call_init(&call);
	/* Calls 1 ok; 2 fails, 3 ok; 4 fails, 5 ok; 6 fails, 7 ok. */
	for (int i = 0; i < 4; i++)
		CHECK_INT(test_save_raw(store, &call, ID_A, "{}", false), 0);
	CHECK_INT(atomic_load(&store->counters.retries), 3);
	CHECK_INT(atomic_load(&faulty->counters.retries), 3);
	CHECK_INT(faulty_store_injected(faulty), 3);
	CHECK_INT(memory_store_calls(memory, STORE_OP_SAVE_RAW_CRASH), 4);
	crash_store_close(store);
}

static void test_mirrors_what_the_child_can(void)
{
	struct crash_store *null = NULL;
	struct crash_error error = { 0 };
	json_t *empty = json_object();
	int opened = null_store_open_json(empty, "store.store", NULL,
					  &null, &error);
	json_decref(empty);
	REQUIRE(opened == 0);
	struct crash_store *store = open_faulty(null, "[]");
	REQUIRE(store != NULL);
	CHECK(crash_store_can(store, save_raw_crash));
	CHECK(!crash_store_can(store, remove_radix_dir));
	CHECK_INT(faulty_store_injected(null), 0);
	crash_store_close(store);
}

static const char *config_error(const char *text)
{
	static struct crash_error error;
	struct crash_store *store = NULL;
	int result = test_open_text(text, NULL, &store, &error);
	crash_store_close(store);
	if (result == 0)
		return "";
	CHECK_INT(result, -EINVAL);
	return error.message;
}

static void test_configuration_errors(void)
{
	CHECK(test_contains(config_error("{\"type\": \"faulty\"}"),
			    "store.store: missing"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": [\"save_raw\"]}]}"),
		"store.faults[0].operations[0]: unknown operation 'save_raw'"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": \"*\", \"errno\": \"EFOO\"}]}"),
		"store.faults[0].errno: unknown errno name 'EFOO'"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": \"*\", \"mode\": \"every\"}]}"),
		"store.faults[0].every: missing"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": \"*\", \"mode\": \"every\", "
			     "\"every\": 0}]}"),
		"store.faults[0].every"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": \"*\", "
			     "\"mode\": \"while_file_exists\"}]}"),
		"store.faults[0].trigger_file: missing"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": \"*\", \"mode\": \"sometimes\"}]}"),
		"store.faults[0].mode: unknown mode 'sometimes'"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": \"*\", \"trigger_file\": \"/x\"}]}"),
		"store.faults[0].trigger_file: only used with mode "
		"'while_file_exists'"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"errno\": \"EIO\"}]}"),
		"store.faults[0].operations: missing"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": "
			     "[{\"operations\": \"*\", \"eerno\": \"EIO\"}]}"),
		"store.faults[0].eerno: unknown option"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"null\"}, \"faults\": {}}"),
		"store.faults: must be an array"));
	CHECK(test_contains(
		config_error("{\"type\": \"faulty\", \"store\": "
			     "{\"type\": \"nope\"}}"),
		"store.store.type: unknown store type 'nope'"));
	CHECK_STR(config_error("{\"type\": \"faulty\", \"store\": "
			       "{\"type\": \"null\"}}"),
		  "");
	int number = 0;
	CHECK_INT(faulty_errno_parse("ENOSPC", &number), 0);
	CHECK_INT(number, ENOSPC);
	CHECK_INT(faulty_errno_parse("enospc", &number), -EINVAL);
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_always_on_chosen_operations();
	test_every_nth_call();
	test_while_trigger_file_exists();
	test_first_firing_fault_decides();
	test_retried_by_the_executor();
	test_mirrors_what_the_child_can();
	test_configuration_errors();
	return unit_test_exit(argv[0]);
}
