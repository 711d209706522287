/*
 * primary_deferred_store.h - Socorro's PrimaryDeferredStorage and
 * PrimaryDeferredProcessedStorage: a predicate on the crash picks the
 * store (spec/crashstorage-api.md §8-§9).
 *
 *   {"type": "primary_deferred",
 *    "primary": {...}, "deferred": {...},
 *    "predicate": {"key": "ProductName", "op": "==", "value": "Fennec"}}
 *
 *   {"type": "primary_deferred_processed", ... the same ...,
 *    "processed": {...}}
 *
 * The predicate (containers/predicate.h) is true for crashes to defer; by
 * default Socorro's: the raw crash has a truthy "legacy_processing".
 *
 *   save_raw_crash   the predicate on the raw crash (blob->json, or parsed
 *                    from the blob) chooses deferred (true) or primary.
 *                    Dumps saved earlier into the other store (rsync and
 *                    cp write <id>.dump before <id>.json) are then moved
 *                    to the chosen one, so a crash is not split.
 *   save_dump        where the crash's raw crash is (primary, then
 *                    deferred), the primary if it is nowhere yet.
 *   save_processed   primary_deferred: the predicate on the processed
 *                    crash (blob->json, the decompressed document; NULL
 *                    goes to the primary), as Socorro did - usually the
 *                    primary.  primary_deferred_processed: always the
 *                    processed store.
 *   reads            primary, then deferred if the primary does not have
 *                    it; the processed part of primary_deferred_processed
 *                    only from the processed store.
 *   listings         the union of the stores, without duplicates (the
 *                    processed store contributes processed parts only).
 *   removes          from every store that has it; -ENOENT if none had
 *                    it.  Socorro never removed from the processed store,
 *                    so a removed crash stayed visible by its processed
 *                    part; crashfs removes it there too.
 *   queue            new_crashes and ack_crash: the primary only
 *                    (deferred crashes are never offered for processing).
 *   close            closes all stores; Socorro never closed the processed
 *                    store.
 *
 * Threads: CRASH_STORE_PARALLEL; the predicate is immutable.
 */
#ifndef CRASHFS_CONTAINERS_PRIMARY_DEFERRED_STORE_H
#define CRASHFS_CONTAINERS_PRIMARY_DEFERRED_STORE_H

#include <jansson.h>

#include "containers/predicate.h"
#include "storage/crash_store.h"
#include "storage/store_registry.h"

int primary_deferred_store_open_json(const json_t *node,
				     const char *node_path,
				     const struct crash_store_env *env,
				     struct crash_store **out,
				     struct crash_error *error);
int primary_deferred_processed_store_open_json(
	const json_t *node, const char *node_path,
	const struct crash_store_env *env, struct crash_store **out,
	struct crash_error *error);

/* From open members and a parsed predicate (all taken over: closed and
 * freed with the container, or at once if this fails).  processed NULL
 * makes a primary_deferred, else a primary_deferred_processed. */
int primary_deferred_store_new(struct crash_store *primary,
			       struct crash_store *deferred,
			       struct crash_store *processed,
			       struct predicate *predicate,
			       const char *node_path, struct crash_store **out,
			       struct crash_error *error);

extern const struct crash_store_ops primary_deferred_store_ops;
extern const struct crash_store_ops primary_deferred_processed_store_ops;

#endif
