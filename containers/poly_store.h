/*
 * poly_store.h - Socorro's PolyCrashStorage: every save goes to every
 * member (spec/crashstorage-api.md §6).
 *
 *   {"type": "poly", "stores": [{...}, {...}], "read_from": 0}
 *
 * Members are "store.stores[0]", "store.stores[1]", ... and are called in
 * that order.
 *
 *   saves     (save_raw_crash, save_dump, save_processed) go to every
 *             member; a failing member does not stop the others; after
 *             all were tried one -EIO lists every failure (node path and
 *             message), each also logged once and counted on its node.
 *             Socorro's save_raw_and_processed stopped at the first
 *             failure without gathering; crashfs gathers for every save.
 *             A member without a save slot does not take that part.
 *   removes   (remove, remove_part, set_part_mtime, remove_radix_dir) go
 *             to every member, failures gathered the same way; -ENOENT
 *             only if no member had it.  (Socorro's poly could not
 *             remove.)
 *   reads     (stat, open, listings) are served by member read_from
 *             (default 0), so a poly mount is browsable; Socorro's poly
 *             could not read.
 *   queue     none: a poly has no new crashes (Socorro returned []).
 *
 * Threads: CRASH_STORE_PARALLEL; no mutable state of its own.
 */
#ifndef CRASHFS_CONTAINERS_POLY_STORE_H
#define CRASHFS_CONTAINERS_POLY_STORE_H

#include <stddef.h>

#include "storage/crash_store.h"
#include "storage/store_registry.h"

int poly_store_open_json(const json_t *node, const char *node_path,
			 const struct crash_store_env *env,
			 struct crash_store **out, struct crash_error *error);

/* Builds a poly from open members (taken over: closed with the poly, or
 * at once if this fails). */
int poly_store_new(struct crash_store **members, size_t count,
		   size_t read_from, const char *node_path,
		   struct crash_store **out, struct crash_error *error);

extern const struct crash_store_ops poly_store_ops;

#endif
