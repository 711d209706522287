/*
 * store_registry.h - building a store tree from JSON.
 *
 * Each store type registers one open function in store_registry.c; a
 * container opens its children with store_registry_open, so trees nest to
 * any depth and containers know nothing of their children's types.
 *
 * node_path is the JSON path of the node ("store", "store.primary",
 * "store.stores[1]"); it becomes the store's name in logs and stats and
 * prefixes every configuration error.  Paths are exact: a constructor names
 * its children with store_registry_member_path, and a tree whose paths would
 * not fit in STORE_NODE_PATH_MAX is refused at open (-ENAMETOOLONG), so no
 * two nodes ever share a name in .crashfs/stats.
 *
 * A tree expands to at most STORE_TREE_NODES_MAX store nodes (env->node_max
 * when set): {"ref": ...} nodes that fan out (a -> [b, b], b -> [c, c],
 * ...) would otherwise make a 1 KB file build millions of stores.  Passing
 * the bound is -EINVAL naming the path where it was passed.
 *
 * The JSON is borrowed for the duration of the open call only: a store
 * copies whatever it keeps.
 *
 * Called at startup from one thread.
 */
#ifndef CRASHFS_STORAGE_STORE_REGISTRY_H
#define CRASHFS_STORAGE_STORE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "storage/crash_error.h"
#include "storage/crash_store.h"

/* Node paths are at most STORE_NODE_PATH_MAX - 1 bytes. */
#define STORE_NODE_PATH_MAX 512

/* Store nodes one tree may expand to, references expanded: each node with
 * a "type" counts.  The retry wrappers the registry adds do not (one at
 * most per node), so .crashfs/stats lists at most twice as many nodes. */
#define STORE_TREE_NODES_MAX 10000

/* Internal to store_registry.c: the {"ref": ...} nodes being resolved, and
 * the tree being built. */
struct store_registry_scope;
struct read_cache;
struct store_registry_tree;

/*
 * What every store of a mount shares.  Zero-initialise it and set the
 * fields you need; constructors pass env through unchanged to the children
 * they open.
 */
struct crash_store_env {
	/* The store types the tree may use, terminated by {NULL}: the
	 * program's own table (mountopts/store_types.h for the daemon), so
	 * this library knows no type and each backend is built only when its
	 * library is there.  NULL: no type at all. */
	const struct crash_store_type *types;
	const char *spool_dir; /* where backends may stage bytes they serve */
	/* The one bounded cache of parts held remotely
	 * (storage/read_cache/read_cache.h), shared by every store of the
	 * tree that keeps its bytes on a server; NULL: such a store fetches
	 * on every open. */
	struct read_cache *read_cache;
	/*
	 * The retry object ({"policy": ..., "backoff_delays": [...],
	 * "wait_log_interval": ...}, storage/executor/transaction_executor.h)
	 * given to every backend node (a node whose type is not a container:
	 * fs, null, faulty and the server backends) that has no "retry" key
	 * of its own and no retry wrapper above it, so the default never
	 * nests.  NULL: policy "none".  The mount passes NULL while only the
	 * fs store exists (local disk errors are never operational) and a
	 * limited policy once server-backed stores arrive.
	 */
	const json_t *default_retry;
	/* The top-level "stores" map that {"ref": "name"} nodes name; set by
	 * store_registry_open_file and _buffer.  NULL: a "ref" node is an
	 * error. */
	const json_t *named_stores;
	/* The bound on the store nodes of the tree; 0: STORE_TREE_NODES_MAX. */
	unsigned node_max;
	/*
	 * Check the configuration only.  Every store parses and checks its
	 * node as it does at open, and touches nothing outside the process:
	 * no file or directory is opened, made or resolved, no server is
	 * reached.  The tree comes back whole (types, node paths, stats) for
	 * inspection and crash_store_close; no other operation may be called
	 * on it.  A store with side effects at open honours the flag by
	 * skipping them and returning itself unopened (the fs store keeps
	 * its root as written, unresolved); a new backend must do the same.
	 * For checking a configuration, and for the fuzz targets.
	 */
	bool validate_only;
	/* Set and read by the registry only. */
	const struct store_registry_scope *scope;
	struct store_registry_tree *tree;
	const char *retried_path; /* the node an explicit "retry" wraps */
};

typedef int (*crash_store_open_fn)(const json_t *node, const char *node_path,
				   const struct crash_store_env *env,
				   struct crash_store **out,
				   struct crash_error *error);

struct crash_store_type {
	const char *name;
	crash_store_open_fn open;
	/* True for a store whose failures can be transient (a server, or the
	 * faulty store standing for one): without a "retry" of its own it is
	 * wrapped in env->default_retry.  False for local stores (the fs
	 * store never fails operationally) and for containers, whose members
	 * get the policy instead, so retries never nest by default. */
	bool takes_default_retry;
	/* Not NULL: the type exists but this build lacks it (open is NULL);
	 * says why, e.g. "crashfs was built without libpq". */
	const char *missing;
};

/*
 * Opens the store described by node.  Returns 0 and *out, or a negative
 * errno with error->message naming the JSON path.  env gives the types
 * (required) and what every store of the mount shares.
 *
 * Two keys are the registry's own, whatever the node's type:
 *   "retry": {...}   removed before the node's constructor sees it; the
 *                    opened store is wrapped in a retry store
 *                    (storage/executor/retry_store.h) named
 *                    "<node path>.retry";
 *   {"ref": "name"}  a new instance of env->named_stores' node "name",
 *                    named by its place in the tree ("store.primary");
 *                    only "retry" may stand next to "ref" (and then
 *                    not in the named node too: one retry per node).
 *                    A reference cycle is an error naming the path and
 *                    the chain ("store.primary.secondary: reference
 *                    cycle: a -> b -> a"); an error inside a named store
 *                    ends with "(in stores.<name>)".
 */
int store_registry_open(const json_t *node, const char *node_path,
			const struct crash_store_env *env,
			struct crash_store **out, struct crash_error *error);

/* Writes the node path of a member, "<parent>.<key>" (index < 0) or
 * "<parent>.<key>[index]", into out.  Returns 0, or -ENAMETOOLONG with
 * error saying the tree is nested too deep (and naming the parent). */
int store_registry_member_path(char out[STORE_NODE_PATH_MAX],
			       const char *parent, const char *key, long index,
			       struct crash_error *error);

/* Opens {"store": {...}, "stores": {"name": {...}, ...}} from a file (the
 * SOURCE.json of the mount).  "stores" is optional: the named store nodes
 * {"ref": "name"} nodes anywhere in the tree stand for. */
int store_registry_open_file(const char *file_name,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error);

/* The same from JSON text in memory; source_name names it in errors as
 * the file name would. */
int store_registry_open_buffer(const char *text, size_t length,
			       const char *source_name,
			       const struct crash_store_env *env,
			       struct crash_store **out,
			       struct crash_error *error);


#endif
