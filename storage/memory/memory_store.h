/*
 * memory_store.h - crashes kept in memory: {"type": "memory", "max_bytes":
 * N} (default 64 MiB; a save past it fails with ENOSPC).
 *
 * A real store of the tree, meant for tests and drills: it answers every
 * operation but remove_radix_dir (it keeps no directories), lists through
 * list_crashes alone (so the core's derived radix directories are
 * exercised), keeps a queue of new crashes (every saved raw crash, in save
 * order, until acknowledged with an entry it issued) and a version per
 * part.  Its naming is Socorro's: a dump saved as "upload_file_minidump"
 * (or "") is the main dump, reported as NULL.  Everything is lost when the
 * daemon stops.
 *
 * For tests it also counts calls and reconnects per operation and can be
 * told to fail: the next N calls of an operation fail with a chosen errno,
 * operational or not (memory_store_fail).
 *
 * Threads: CRASH_STORE_PARALLEL; one mutex guards everything, and it is
 * never held while a callback runs (list_parts, new_crashes), so a
 * callback may call the store.
 */
#ifndef CRASHFS_STORAGE_MEMORY_MEMORY_STORE_H
#define CRASHFS_STORAGE_MEMORY_MEMORY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/crash_store.h"
#include "storage/executor/forwarding_store.h"
#include "storage/store_registry.h"

extern const struct crash_store_ops memory_store_ops;

/* The "memory" type of the registry. */
int memory_store_open_json(const json_t *node, const char *node_path,
			   const struct crash_store_env *env,
			   struct crash_store **out, struct crash_error *error);

/* A store holding at most max_bytes of parts (0: the default). */
struct crash_store *memory_store_new_bounded(const char *node_path,
					     uint64_t max_bytes);
struct crash_store *memory_store_new(const char *node_path);

/* The next count calls (-1: every call) of kind fail with code. */
void memory_store_fail(struct crash_store *store,
		       enum store_operation_kind kind, int count, int code,
		       bool operational);
/* The same for every operation. */
void memory_store_fail_all(struct crash_store *store, int count, int code,
			   bool operational);
/* Stops injecting failures. */
void memory_store_heal(struct crash_store *store);

/* Calls of kind that reached the store (failed ones included). */
unsigned memory_store_calls(struct crash_store *store,
			    enum store_operation_kind kind);
unsigned memory_store_reconnects(struct crash_store *store);

/* Direct access for tests, bypassing counts and failures. */
int memory_store_put(struct crash_store *store, const char *crash_id,
		     const struct crash_part *part, const char *bytes,
		     size_t size);
bool memory_store_has(struct crash_store *store, const char *crash_id,
		      const struct crash_part *part);
/* The part's bytes, NUL-terminated, malloc'd; NULL if absent. */
char *memory_store_get(struct crash_store *store, const char *crash_id,
		       const struct crash_part *part);
size_t memory_store_crash_count(struct crash_store *store);
/* 1 if the last blob saved was offered for adoption, 0 if not, -1 if no
 * blob was saved yet. */
int memory_store_last_adoptable(struct crash_store *store);
/* Memory stores closed so far in this process. */
unsigned memory_store_closed_count(void);

/* Helpers for building blobs: a file (memfd) holding text; the caller
 * closes blob->fd.  json, when given, is set as blob->json (borrowed). */
int memory_blob(struct crash_blob *blob, const char *text,
		const json_t *json);

#endif
