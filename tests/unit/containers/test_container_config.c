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
#include "tests/unit/store_test_util.h"
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
	/* ... but not when the named store has one too: two retry stores
	 * would wrap one node, both named "store.retry" in the stats (found
	 * by fuzz_store_tree's invariant: one stats key per node). */
	store = NULL;
	CHECK_INT(test_open_file_text(
			  "{\"stores\": {\"a\": {\"type\": \"null\", \"retry\": "
			  "{\"policy\": \"none\"}}}, \"store\": {\"ref\": "
			  "\"a\", \"retry\": {\"policy\": \"none\"}}}",
			  NULL, &store, &error),
		  -EINVAL);
	CHECK(store == NULL);
	crash_store_close(store);
	CHECK(test_contains(error.message,
			    "store.retry: the {\"ref\": ...} naming this "
			    "store has a \"retry\" too: retries would nest"));
	CHECK(test_contains(error.message, "(in stores.a)"));
	/* Through a chain of references as well. */
	CHECK(test_contains(
		open_error("{\"stores\": {\"a\": {\"ref\": \"b\"}, \"b\": "
			   "{\"type\": \"null\", \"retry\": {}}}, \"store\": "
			   "{\"type\": \"poly\", \"stores\": [{\"ref\": \"a\", "
			   "\"retry\": {}}]}}",
			   true),
		"store.stores[0].retry: the {\"ref\""));
	/* A retry on a member of a retried store is another node's. */
	CHECK_INT(test_open_text("{\"type\": \"faulty\", \"retry\": {}, "
				 "\"store\": {\"type\": \"null\", \"retry\": {}}}",
				 NULL, &store, &error),
		  0);
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

/* {"stores": {"s0": poly[s1, s1], "s1": poly[s2, s2], ..., "s<levels>":
 * null}, "store": {"ref": "s0"}}: about 40 bytes a level, 2^(levels+1) - 1
 * store nodes once expanded.  malloc'd. */
static char *fan_out_tree(int levels)
{
	size_t size = 128 + (size_t)levels * 96;
	char *text = malloc(size);
	if (!text)
		return NULL;
	size_t used = (size_t)snprintf(text, size, "{\"stores\": {");
	for (int level = 0; level < levels; level++)
		used += (size_t)snprintf(text + used, size - used,
					 "\"s%d\": {\"type\": \"poly\", "
					 "\"stores\": [{\"ref\": \"s%d\"}, "
					 "{\"ref\": \"s%d\"}]}, ",
					 level, level + 1, level + 1);
	snprintf(text + used, size - used,
		 "\"s%d\": {\"type\": \"null\"}}, \"store\": {\"ref\": "
		 "\"s0\"}}",
		 levels);
	return text;
}

static size_t count_nodes(struct crash_store *store)
{
	size_t count = 1;
	for (size_t i = 0; i < crash_store_child_count(store); i++)
		count += count_nodes(crash_store_child(store, i));
	return count;
}

/* References that fan out multiply: the expansion is bounded, and the
 * error names the path where the bound was passed. */
static void test_reference_expansion_is_bounded(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	/* 12 levels: 8191 nodes, under the bound. */
	char *text = fan_out_tree(12);
	REQUIRE(text != NULL);
	CHECK_INT(test_open_file_text(text, NULL, &store, &error), 0);
	free(text);
	REQUIRE(store != NULL);
	CHECK_INT(count_nodes(store), 8191);
	crash_store_close(store);
	/* 18 levels (1.3 KB): 524,287 nodes without a bound. */
	text = fan_out_tree(18);
	REQUIRE(text != NULL);
	CHECK(strlen(text) < 1400);
	store = NULL;
	int result = test_open_file_text(text, NULL, &store, &error);
	free(text);
	CHECK_INT(result, -EINVAL);
	CHECK(store == NULL);
	CHECK(test_contains(error.message, "more than 10000 store nodes"));
	/* The 10,001st node lies deep in store.stores[0], named by its
	 * place in the tree. */
	CHECK(test_contains(error.message, "store.stores[0].stores["));
	crash_store_close(store);
	/* The bound is per tree: a lower one from env. */
	struct crash_store_env env = { .node_max = 3 };
	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": ["
				 "{\"type\": \"null\"}, {\"type\": \"null\"}, "
				 "{\"type\": \"null\"}]}",
				 &env, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message,
			    "store.stores[2]: the store tree expands to more "
			    "than 3 store nodes"));
	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": ["
				 "{\"type\": \"null\"}, {\"type\": \"null\"}]}",
				 &env, &store, &error),
		  0);
	crash_store_close(store);
}

/* A tree of `depth` faulty wrappers around a poly of two null stores:
 * the poly's path is "store" + depth * ".store". */
static char *deep_tree(int depth)
{
	size_t size = 128 + (size_t)depth * 48;
	char *text = malloc(size);
	if (!text)
		return NULL;
	size_t used = 0;
	for (int i = 0; i < depth; i++)
		used += (size_t)snprintf(text + used, size - used,
					 "{\"type\": \"faulty\", \"store\": ");
	used += (size_t)snprintf(text + used, size - used,
				 "{\"type\": \"poly\", \"stores\": "
				 "[{\"type\": \"null\"}, {\"type\": \"null\"}]}");
	for (int i = 0; i < depth; i++)
		used += (size_t)snprintf(text + used, size - used, "}");
	return text;
}

/* Node paths past 255 bytes stay exact (one stats key per node); a path
 * past the limit is refused at open, never cut into a collision. */
static void test_long_node_paths_stay_distinct(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	/* 60 levels: paths up to 5 + 360 + 10 = 375 bytes. */
	char *text = deep_tree(60);
	REQUIRE(text != NULL);
	CHECK_INT(test_open_text(text, NULL, &store, &error), 0);
	free(text);
	REQUIRE(store != NULL);
	json_t *stats = crash_store_stats(store);
	CHECK_INT(count_nodes(store), 63);
	CHECK_INT(json_object_size(stats), 63);
	char expected[512] = "store";
	for (int i = 0; i < 60; i++)
		strcat(expected, ".store");
	strcat(expected, ".stores[1]");
	CHECK_INT(strlen(expected), 375);
	CHECK(json_object_get(stats, expected) != NULL);
	json_decref(stats);
	crash_store_close(store);

	/* 90 levels: the poly's members would be 5 + 540 + 10 bytes. */
	text = deep_tree(90);
	REQUIRE(text != NULL);
	store = NULL;
	CHECK_INT(test_open_text(text, NULL, &store, &error), -ENAMETOOLONG);
	free(text);
	CHECK(store == NULL);
	crash_store_close(store);
	CHECK(test_contains(error.message, "the store tree is nested too "
					   "deep: node path longer than 511 "
					   "bytes"));
	CHECK(test_contains(error.message, "store.store.store"));
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_container_errors_name_the_path();
	test_references();
	test_retry_key();
	test_default_retry();
	test_three_levels_deep();
	test_reference_expansion_is_bounded();
	test_long_node_paths_stay_distinct();
	return unit_test_exit(argv[0]);
}
