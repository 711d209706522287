/*
 * store_registry.h - building a store tree from JSON.
 *
 * Each store type registers one open function in store_registry.c; a
 * container opens its children with store_registry_open, so trees nest to
 * any depth and containers know nothing of their children's types.
 *
 * node_path is the JSON path of the node ("store", "store.primary",
 * "store.stores[1]"); it becomes the store's name in logs and stats and
 * prefixes every configuration error.
 *
 * The JSON is borrowed for the duration of the open call only: a store
 * copies whatever it keeps.
 *
 * Called at startup from one thread.
 */
#ifndef CRASHFS_STORAGE_STORE_REGISTRY_H
#define CRASHFS_STORAGE_STORE_REGISTRY_H

#include <jansson.h>

#include "storage/crash_error.h"
#include "storage/crash_store.h"

/* What every store of a mount shares. */
struct crash_store_env {
	const char *spool_dir; /* where backends may stage bytes they serve */
};

typedef int (*crash_store_open_fn)(const json_t *node, const char *node_path,
				   const struct crash_store_env *env,
				   struct crash_store **out,
				   struct crash_error *error);

struct crash_store_type {
	const char *name;
	crash_store_open_fn open;
};

/* Opens the store described by node.  Returns 0 and *out, or a negative
 * errno with error->message naming the JSON path. */
int store_registry_open(const json_t *node, const char *node_path,
			const struct crash_store_env *env,
			struct crash_store **out, struct crash_error *error);

/* Opens {"store": {...}} from a file (the SOURCE.json of the mount). */
int store_registry_open_file(const char *file_name,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error);

/* The registered types, terminated by {NULL, NULL}. */
extern const struct crash_store_type store_registry_types[];

#endif
