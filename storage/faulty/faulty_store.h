/*
 * faulty_store.h - fails chosen operations of a wrapped store, for tests
 * and drills (as nbdkit's error filter): take a "server" down and up at
 * will and watch the containers and the retry policy cope.
 *
 *   {"type": "faulty",
 *    "store": {...},                       the wrapped store
 *    "faults": [
 *      {"operations": ["save_raw_crash", "save_dump"] | "*",
 *       "errno": "EIO",                    a name, or a positive number
 *       "operational": true,               retried by the executor
 *       "mode": "always" | "every" | "while_file_exists",
 *       "every": 3,                        mode every: calls 3, 6, 9... fail
 *       "trigger_file": "/run/down"}]}     mode while_file_exists
 *
 * Operation names are those of the crash_store interface (save_raw_crash,
 * save_dump, save_processed, remove, remove_part, remove_radix_dir,
 * set_part_mtime, stat_crash, stat_part, open_part, list_parts, list_days,
 * list_radix, stat_radix_dir, new_crashes, ack_crash); "*" is all of them.
 * "operational" defaults to true, "mode" to "always".  The first fault that fires for a
 * call decides it; a call no fault fires for goes to the wrapped store.
 * Each fault counts the calls it failed ("injected" in its stats).
 *
 * Threads: CRASH_STORE_PARALLEL; the counters are atomic, the trigger file
 * is looked up on every call.
 */
#ifndef CRASHFS_STORAGE_FAULTY_FAULTY_STORE_H
#define CRASHFS_STORAGE_FAULTY_FAULTY_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "storage/crash_store.h"
#include "storage/store_registry.h"

/* The registry's constructor. */
int faulty_store_open_json(const json_t *node, const char *node_path,
			   const struct crash_store_env *env,
			   struct crash_store **out, struct crash_error *error);

/* Wraps child (taken over: closed with the faulty store, or at once if the
 * open fails) with the "faults" array (NULL: none). */
int faulty_store_new(struct crash_store *child, const json_t *faults,
		     const char *node_path, struct crash_store **out,
		     struct crash_error *error);

/* Calls failed so far by the faulty store, all faults together; 0 if
 * store is not a faulty store. */
uint64_t faulty_store_injected(struct crash_store *store);

/* Parses an errno name ("EIO", "ECONNREFUSED", ...); 0 and a positive
 * number, or -EINVAL. */
int faulty_errno_parse(const char *name, int *out);

#endif
