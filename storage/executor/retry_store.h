/*
 * retry_store.h - runs every call into one store through a transaction
 * executor (transaction_executor.h): the "retry" key of a store node.
 *
 *   {"type": "fs", ..., "retry": {"policy": "limited",
 *                                 "backoff_delays": [0.05, 0.1]}}
 *
 * The registry removes "retry" from the node, opens the store, and wraps
 * it in a retry store named "<node path>.retry" (its place in the JSON),
 * of type "retry".  Its stats show the policy; its retries and state are
 * also counted on the wrapped node, so the node the user configured shows
 * them too.
 *
 * Before each retry the wrapped store is asked to reconnect.  A listing
 * (list_days, list_radix, list_parts, new_crashes) is retried only while
 * it has emitted nothing: after that the caller holds partial output, and
 * running it again would emit entries twice.
 *
 * Threads: CRASH_STORE_PARALLEL; the store keeps no mutable state besides
 * atomic counters.
 */
#ifndef CRASHFS_STORAGE_EXECUTOR_RETRY_STORE_H
#define CRASHFS_STORAGE_EXECUTOR_RETRY_STORE_H

#include <jansson.h>

#include "storage/crash_store.h"
#include "storage/executor/transaction_executor.h"

/* Wraps child (taken over: closed with the retry store, or at once if the
 * open fails).  retry_node is the "retry" object; node_path names it
 * ("store.primary.retry"). */
int retry_store_open(struct crash_store *child, const json_t *retry_node,
		     const char *node_path, struct crash_store **out,
		     struct crash_error *error);

/* The same from an initialised executor (copied). */
int retry_store_new(struct crash_store *child,
		    const struct transaction_executor *executor,
		    const char *node_path, struct crash_store **out,
		    struct crash_error *error);

/* Checked downcast: the executor of a retry store, else NULL. */
const struct transaction_executor *
retry_store_executor(struct crash_store *store);

#endif
