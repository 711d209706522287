/*
 * memory_store.h - an in-memory crash store for the container tests.
 *
 * Implements every slot but remove_radix_dir (it keeps no directories), a
 * queue of new crashes (every saved raw crash, in order), per-operation
 * call counts and reconnects, and injected failures: the next N calls of
 * an operation fail with a chosen errno, operational or not.
 *
 * Test-only: parts are held in memory whole.  Threads: CRASH_STORE_SERIAL
 * (the wrappers lock); the memory_store_* helpers take the same lock.
 */
#ifndef CRASHFS_TESTS_UNIT_CONTAINERS_MEMORY_STORE_H
#define CRASHFS_TESTS_UNIT_CONTAINERS_MEMORY_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/crash_store.h"
#include "storage/executor/forwarding_store.h"

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
