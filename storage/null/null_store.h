/*
 * null_store.h - the store that keeps nothing (Socorro's NullCrashStorage).
 *
 * Saves succeed and are dropped; every crash is absent and every listing
 * empty: lookups, removals (remove, remove_part, set_part_mtime) and acks
 * answer -ENOENT, "not here", as crash_store.h asks.  (Socorro's remove
 * was a silent no-op; here that would make a poly with a null member
 * report the remove of an absent crash as done.)  Useful as a member of a
 * container (a poly that also feeds a queue) and in tests.
 *
 * Threads: CRASH_STORE_PARALLEL, no state.
 */
#ifndef CRASHFS_STORAGE_NULL_NULL_STORE_H
#define CRASHFS_STORAGE_NULL_NULL_STORE_H

#include "storage/crash_store.h"
#include "storage/store_registry.h"

/* {"type": "null"} */
int null_store_open_json(const json_t *node, const char *node_path,
			 const struct crash_store_env *env,
			 struct crash_store **out, struct crash_error *error);

extern const struct crash_store_ops null_store_ops;

#endif
