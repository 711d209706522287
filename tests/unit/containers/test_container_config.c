/*
 * test_container_config.c - store trees from JSON: container errors name
 * their JSON path (missing member, unknown type, bad predicate, reference
 * cycle), the top-level "stores" map and {"ref": ...} nodes, the "retry"
 * key and the default retry policy of struct crash_store_env, and a tree
 * nested three levels deep.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "storage/crash_log.h"
#include "storage/executor/retry_store.h"
#include "storage/executor/transaction_executor.h"
#include "tests/unit/containers/container_test_util.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

static const char *open_error(const char *text, bool as_file)
{
	static struct crash_error error;
	struct crash_store *store = NULL;
	int result = as_file ? test_open_file_text(text, NULL, &store, &error)
			     : test_open_text(text, NULL, &store, &error);
	crash_store_close(store);
	if (result == 0)
		return "";
	CHECK_INT(result, -EINVAL);
	return error.message;
}

static void test_container_errors_name_the_path(void)
{
	/* Missing member, deep in the tree. */
	CHECK(test_contains(
		open_error("{\"type\": \"poly\", \"stores\": [{\"type\": "
			   "\"null\"}, {\"type\": \"fallback\", \"primary\": "
			   "{\"type\": \"null\"}}]}",
			   false),
		"store.stores[1].secondary: missing"));
	/* Unknown type. */
	CHECK(test_contains(
		open_error("{\"type\": \"fallback\", \"primary\": {\"type\": "
			   "\"null\"}, \"secondary\": {\"type\": \"hbsae\"}}",
			   false),
		"store.secondary.type: unknown store type 'hbsae'"));
	/* Bad predicate. */
	CHECK(test_contains(
		open_error("{\"type\": \"fallback\", \"secondary\": {\"type\": "
			   "\"null\"}, \"primary\": {\"type\": "
			   "\"primary_deferred\", \"primary\": {\"type\": "
			   "\"null\"}, \"deferred\": {\"type\": \"null\"}, "
			   "\"predicate\": {\"key\": \"ProductName\", "
			   "\"op\": \"=~\", \"value\": \"Fennec\"}}}",
			   false),
		"store.primary.predicate.op: unknown comparison '=~'"));
	/* A member that is not an object. */
	CHECK(test_contains(open_error("{\"type\": \"fallback\", \"primary\": "
				       "\"fs\", \"secondary\": {\"type\": "
				       "\"null\"}}",
				       false),
			    "store.primary: a store must be a JSON object"));
}

static void test_references(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	/* Each reference is its own instance, named by its place. */
	CHECK_INT(test_open_file_text(
			  "{\"stores\": {\"spare\": {\"type\": \"null\"}}, "
			  "\"store\": {\"type\": \"fallback\", "
			  "\"primary\": {\"ref\": \"spare\"}, "
			  "\"secondary\": {\"ref\": \"spare\"}}}",
			  NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	struct crash_store *primary = crash_store_child(store, 0);
	struct crash_store *secondary = crash_store_child(store, 1);
	CHECK(primary != secondary);
	CHECK_STR(primary->node_path, "store.primary");
	CHECK_STR(secondary->node_path, "store.secondary");
	CHECK_STR(primary->ops->type_name, "null");
	crash_store_close(store);

	/* A cycle names where it closes and the chain. */
	CHECK(test_contains(
		open_error("{\"stores\": {"
			   "\"a\": {\"type\": \"fallback\", \"primary\": "
			   "{\"type\": \"null\"}, \"secondary\": "
			   "{\"ref\": \"b\"}},"
			   "\"b\": {\"type\": \"poly\", \"stores\": "
			   "[{\"ref\": \"a\"}]}}, "
			   "\"store\": {\"type\": \"fallback\", \"secondary\": "
			   "{\"type\": \"null\"}, \"primary\": {\"ref\": "
			   "\"a\"}}}",
			   true),
		"store.primary.secondary.stores[0]: reference cycle: a -> b "
		"-> a"));
	CHECK(test_contains(open_error("{\"stores\": {\"a\": {\"ref\": \"a\"}}, "
				       "\"store\": {\"ref\": \"a\"}}",
				       true),
			    "store: reference cycle: a -> a"));
	CHECK(test_contains(open_error("{\"stores\": {\"a\": {\"type\": "
				       "\"null\"}}, \"store\": {\"ref\": "
				       "\"b\"}}",
				       true),
			    "store.ref: unknown store 'b' (known: a)"));
	CHECK(test_contains(open_error("{\"type\": \"poly\", \"stores\": "
				       "[{\"ref\": \"a\"}]}",
				       false),
			    "store.stores[0].ref: no top-level \"stores\""));
	CHECK(test_contains(open_error("{\"stores\": {\"a\": {\"type\": "
				       "\"null\"}}, \"store\": {\"ref\": "
				       "\"a\", \"type\": \"null\"}}",
				       true),
			    "store.type: not allowed next to \"ref\""));
	/* An error inside a named store says which one. */
	const char *message = open_error(
		"{\"stores\": {\"disk\": {\"type\": \"fallback\", \"primary\": "
		"{\"type\": \"null\"}}}, \"store\": {\"ref\": \"disk\"}}",
		true);
	CHECK(test_contains(message, "store.secondary: missing"));
	CHECK(test_contains(message, "(in stores.disk)"));
	CHECK(test_contains(open_error("{\"stores\": [], \"store\": "
				       "{\"type\": \"null\"}}",
				       true),
			    "stores: must be an object"));
}

static void test_retry_key(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	CHECK_INT(test_open_text("{\"type\": \"fallback\", "
				 "\"primary\": {\"type\": \"null\", \"retry\": "
				 "{\"policy\": \"limited\", "
				 "\"backoff_delays\": [0.05, 0.1]}}, "
				 "\"secondary\": {\"type\": \"null\"}}",
				 NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	struct crash_store *primary = crash_store_child(store, 0);
	CHECK_STR(primary->ops->type_name, "retry");
	CHECK_STR(primary->node_path, "store.primary.retry");
	const struct transaction_executor *executor =
		retry_store_executor(primary);
	REQUIRE(executor != NULL);
	CHECK_INT(executor->policy, RETRY_POLICY_LIMITED);
	CHECK_INT(executor->delay_count, 2);
	/* The node's own constructor never saw "retry". */
	CHECK_STR(crash_store_child(primary, 0)->node_path, "store.primary");
	CHECK_STR(crash_store_child(primary, 0)->ops->type_name, "null");
	CHECK_STR(crash_store_child(store, 1)->ops->type_name, "null");
	json_t *stats = crash_store_stats(store);
	CHECK(json_object_get(stats, "store.primary.retry") != NULL);
	CHECK(json_object_get(stats, "store.primary") != NULL);
	json_decref(stats);
	crash_store_close(store);

	CHECK(test_contains(open_error("{\"type\": \"null\", \"retry\": "
				       "{\"policy\": \"always\"}}",
				       false),
			    "store.retry.policy: unknown policy 'always'"));
	/* A reference may carry a retry of its own. */
	CHECK_INT(test_open_file_text(
			  "{\"stores\": {\"n\": {\"type\": \"null\"}}, "
			  "\"store\": {\"ref\": \"n\", \"retry\": "
			  "{\"policy\": \"infinite\", \"backoff_delays\": [1]}}}",
			  NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(store->node_path, "store.retry");
	CHECK_STR(crash_store_child(store, 0)->node_path, "store");
	crash_store_close(store);
}

static void test_default_retry(void)
{
	json_t *limited = json_loads("{\"policy\": \"limited\", "
				     "\"backoff_delays\": [0.01, 0.02]}",
				     0, NULL);
	struct crash_store_env env = { .default_retry = limited };
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	/* Stores that can fail transiently get it (faulty stands for a
	 * server); local stores (null, fs) and containers do not; nothing
	 * below an explicit retry gets it again. */
	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": ["
				 "{\"type\": \"null\"}, "
				 "{\"type\": \"faulty\", \"store\": {\"type\": "
				 "\"null\"}}, "
				 "{\"type\": \"faulty\", \"store\": {\"type\": "
				 "\"null\"}, \"retry\": {\"policy\": "
				 "\"none\"}}]}",
				 &env, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(store->ops->type_name, "poly");
	struct crash_store *first = crash_store_child(store, 0);
	CHECK_STR(first->node_path, "store.stores[0]");
	CHECK_STR(first->ops->type_name, "null");
	struct crash_store *second = crash_store_child(store, 1);
	CHECK_STR(second->node_path, "store.stores[1].retry");
	CHECK_INT(retry_store_executor(second)->policy, RETRY_POLICY_LIMITED);
	struct crash_store *faulty = crash_store_child(second, 0);
	CHECK_STR(faulty->ops->type_name, "faulty");
	CHECK_STR(crash_store_child(faulty, 0)->ops->type_name, "null");
	struct crash_store *third = crash_store_child(store, 2);
	CHECK_INT(retry_store_executor(third)->policy, RETRY_POLICY_NONE);
	CHECK_STR(crash_store_child(third, 0)->ops->type_name, "faulty");
	crash_store_close(store);

	/* Policy "none" as the default wraps nothing. */
	json_t *none = json_loads("{\"policy\": \"none\"}", 0, NULL);
	env.default_retry = none;
	CHECK_INT(test_open_text("{\"type\": \"faulty\", \"store\": "
				 "{\"type\": \"null\"}}", &env, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(store->ops->type_name, "faulty");
	crash_store_close(store);

	/* A broken default says so. */
	json_t *broken = json_loads("{\"policy\": \"maybe\"}", 0, NULL);
	env.default_retry = broken;
	CHECK_INT(test_open_text("{\"type\": \"faulty\", \"store\": "
				 "{\"type\": \"null\"}}", &env, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "default retry policy"));
	json_decref(limited);
	json_decref(none);
	json_decref(broken);
}

static void test_three_levels_deep(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	CHECK_INT(test_open_text(
			  "{\"type\": \"fallback\", "
			  " \"primary\": {\"type\": \"poly\", \"stores\": ["
			  "   {\"type\": \"primary_deferred\", "
			  "    \"primary\": {\"type\": \"null\"}, "
			  "    \"deferred\": {\"type\": \"faulty\", "
			  "      \"store\": {\"type\": \"null\"}}}, "
			  "   {\"type\": \"null\"}]}, "
			  " \"secondary\": {\"type\": \"null\"}}",
			  NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	json_t *stats = crash_store_stats(store);
	static const char *const paths[] = {
		"store", "store.primary", "store.primary.stores[0]",
		"store.primary.stores[0].primary",
		"store.primary.stores[0].deferred",
		"store.primary.stores[0].deferred.store",
		"store.primary.stores[1]", "store.secondary", NULL
	};
	for (int i = 0; paths[i]; i++)
		CHECK(json_object_get(stats, paths[i]) != NULL);
	CHECK_INT(json_object_size(stats), 8);
	json_decref(stats);
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(test_save_raw(store, &call, ID_A,
				"{\"legacy_processing\": 1}", false),
		  0);
	crash_store_close(store);
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_container_errors_name_the_path();
	test_references();
	test_retry_key();
	test_default_retry();
	test_three_levels_deep();
	return unit_test_exit(argv[0]);
}
