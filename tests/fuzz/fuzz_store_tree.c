/*
 * fuzz_store_tree.c - store-tree documents (storage/store_registry.h):
 * {"store": {...}, "stores": {...}} with {"ref": ...} nodes, "retry" keys
 * and every store type, built in validate-only mode (no file, directory or
 * server is touched).
 *
 * Whatever the text: an error is a negative errno with a message and no
 * store; a tree that opens has every node's path within
 * STORE_NODE_PATH_MAX, no two nodes under one stats key, and at most the
 * node bound (lowered here to keep executions fast: expansion past it is
 * refused, at any bound).  Odd-sized inputs also get a default retry
 * policy, as the mount gives one.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "mountopts/store_types.h"
#include "storage/crash_log.h"
#include "storage/store_registry.h"
#include "tests/fuzz/fuzz_util.h"

#define NODE_MAX 300

static json_t *default_retry;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	default_retry = json_pack("{s:s, s:[i,i,i,i,i], s:i}", "policy",
				  "limited", "backoff_delays", 10, 30, 60, 120,
				  300, "wait_log_interval", 10);
	if (!default_retry)
		abort();
	return 0;
}

/* Nodes of the tree under store, checking each one's path and type. */
static size_t walk(struct crash_store *store, int depth)
{
	FUZZ_ASSERT(store && store->ops && store->ops->type_name, "depth %d",
		    depth);
	FUZZ_ASSERT(store->node_path &&
			    strlen(store->node_path) < STORE_NODE_PATH_MAX,
		    "%.80s...", store->node_path ? store->node_path : "(null)");
	FUZZ_ASSERT(depth < STORE_NODE_PATH_MAX, "depth %d", depth);
	size_t count = 1;
	size_t children = crash_store_child_count(store);
	for (size_t i = 0; i < children; i++)
		count += walk(crash_store_child(store, i), depth + 1);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crash_store_env env = {
		.types = crashfs_store_types,
		.spool_dir = "/nonexistent/spool",
		.default_retry = size % 2 ? default_retry : NULL,
		.node_max = NODE_MAX,
		.validate_only = true,
	};
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };

	int result = store_registry_open_buffer((const char *)data, size,
						"fuzz.json", &env, &store,
						&error);
	if (result < 0) {
		FUZZ_ASSERT(store == NULL, "%s", error.message);
		FUZZ_ASSERT(error.code == result && error.message[0], "%d",
			    result);
		return 0;
	}
	FUZZ_ASSERT(result == 0 && store, "%d", result);
	size_t nodes = walk(store, 0);
	json_t *stats = crash_store_stats(store);
	FUZZ_ASSERT(stats && json_object_size(stats) == nodes,
		    "%zu stats keys for %zu nodes",
		    stats ? json_object_size(stats) : 0, nodes);
	/* Typed nodes count against the bound; the retry wrappers the
	 * registry adds may double them. */
	FUZZ_ASSERT(nodes <= 2 * NODE_MAX, "%zu nodes", nodes);
	json_decref(stats);
	crash_store_close(store);
	return 0;
}
