/*
 * forwarding_store.h - a store that wraps one child and sees every call as
 * data, the shape of the retry store and the faulty store (as nbdkit's
 * filters sit over a plugin).
 *
 * A wrapper embeds struct forwarding_store first, sets forward, and builds
 * its ops table with forwarding_store_ops_init from a template holding
 * FORWARDING_STORE_SLOTS plus its own type_name, close and describe.  Each
 * slot packs its arguments into a struct store_operation and calls
 * forward; forward decides what to do and normally ends in
 * store_operation_run(child, ...), which calls the child through the
 * crash_store_* wrappers.
 *
 * The ops table is per instance: a slot the child lacks is NULL in the
 * wrapper too, so crash_store_can() answers for the wrapped store as it
 * would for the child (a poly skips a queue member that cannot remove,
 * retry-wrapped or not).  Since store->ops is then not the template, a
 * wrapper's checked downcast compares ops->close instead.
 *
 * The operation names ("save_raw_crash", ...) are the ones the JSON
 * configuration and the logs use.
 *
 * Threads: the slots keep no state; a wrapper is as thread-safe as its
 * forward function.  A struct store_operation lives on the caller's stack
 * for one call.
 */
#ifndef CRASHFS_STORAGE_EXECUTOR_FORWARDING_STORE_H
#define CRASHFS_STORAGE_EXECUTOR_FORWARDING_STORE_H

#include <stdbool.h>

#include "storage/crash_store.h"

enum store_operation_kind {
	STORE_OP_SAVE_RAW_CRASH = 0,
	STORE_OP_SAVE_DUMP,
	STORE_OP_SAVE_PROCESSED,
	STORE_OP_REMOVE,
	STORE_OP_REMOVE_PART,
	STORE_OP_REMOVE_RADIX_DIR,
	STORE_OP_SET_PART_MTIME,
	STORE_OP_STAT_CRASH,
	STORE_OP_STAT_PART,
	STORE_OP_OPEN_PART,
	STORE_OP_LIST_PARTS,
	STORE_OP_LIST_DAYS,
	STORE_OP_LIST_RADIX,
	STORE_OP_NEW_CRASHES,
	STORE_OP_ACK_CRASH,
	STORE_OP_COUNT
};

/* One call of the crash_store interface, with its arguments (borrowed). */
struct store_operation {
	enum store_operation_kind kind;
	const char *crash_id;
	const struct crash_blob *blob;    /* raw crash, processed crash */
	const struct crash_dump *dumps;   /* save_raw_crash; save_dump: one */
	size_t dump_count;
	const struct crash_part *part;
	const struct timespec *mtime;
	const char *day;
	const char *prefix;
	struct crash_part_stat *stat;
	int *fd_out;
	crash_name_emit_fn emit_name;     /* list_days, new_crashes */
	crash_radix_emit_fn emit_radix;   /* list_radix */
	crash_part_emit_fn emit_part;     /* list_parts */
	void *emit_ctx;
};

/* "save_raw_crash", ... ; "?" for an invalid kind. */
const char *store_operation_name(enum store_operation_kind kind);
/* Returns 0 and *out, or -EINVAL for an unknown name. */
int store_operation_parse(const char *name, enum store_operation_kind *out);
/* True for the operations that emit entries to a callback. */
bool store_operation_emits(enum store_operation_kind kind);
/* True for the operations that change the store. */
bool store_operation_writes(enum store_operation_kind kind);

/* True if store has the slot of the operation (crash_store_can). */
bool store_operation_available(const struct crash_store *store,
			       enum store_operation_kind kind);

/* Calls the operation on store through the crash_store_* wrappers. */
int store_operation_run(struct crash_store *store, struct crash_call *call,
			const struct store_operation *operation);

/* Writes "save_raw_crash <crash_id>" (or "list_radix <day>/<prefix>", ...)
 * into out for log lines and messages. */
void store_operation_describe(const struct store_operation *operation,
			      char *out, size_t out_size);

struct forwarding_store;
typedef int (*forwarding_fn)(struct forwarding_store *store,
			     struct crash_call *call,
			     const struct store_operation *operation);

struct forwarding_store {
	struct crash_store base;
	struct crash_store *child;
	forwarding_fn forward;
};

/* The shared slots; a store using them must begin with struct
 * forwarding_store.  reconnect is passed on to the child. */
int forwarding_save_raw_crash(struct crash_store *store,
			      struct crash_call *call, const char *crash_id,
			      const struct crash_blob *raw_crash,
			      const struct crash_dump *dumps,
			      size_t dump_count);
int forwarding_save_dump(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_dump *dump);
int forwarding_save_processed(struct crash_store *store,
			      struct crash_call *call, const char *crash_id,
			      const struct crash_blob *processed);
int forwarding_remove(struct crash_store *store, struct crash_call *call,
		      const char *crash_id);
int forwarding_remove_part(struct crash_store *store, struct crash_call *call,
			   const char *crash_id,
			   const struct crash_part *part);
int forwarding_remove_radix_dir(struct crash_store *store,
				struct crash_call *call, const char *day,
				const char *prefix);
int forwarding_set_part_mtime(struct crash_store *store,
			      struct crash_call *call, const char *crash_id,
			      const struct crash_part *part,
			      const struct timespec *mtime);
int forwarding_stat_crash(struct crash_store *store, struct crash_call *call,
			  const char *crash_id);
int forwarding_stat_part(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_part *part,
			 struct crash_part_stat *stat);
int forwarding_open_part(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_part *part,
			 struct crash_part_stat *stat, int *fd_out);
int forwarding_list_parts(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, crash_part_emit_fn emit,
			  void *ctx);
int forwarding_list_days(struct crash_store *store, struct crash_call *call,
			 crash_name_emit_fn emit, void *ctx);
int forwarding_list_radix(struct crash_store *store, struct crash_call *call,
			  const char *day, const char *prefix,
			  crash_radix_emit_fn emit, void *ctx);
int forwarding_new_crashes(struct crash_store *store, struct crash_call *call,
			   crash_name_emit_fn emit, void *ctx);
int forwarding_ack_crash(struct crash_store *store, struct crash_call *call,
			 const char *crash_id);
void forwarding_reconnect(struct crash_store *store);
size_t forwarding_child_count(struct crash_store *store);
struct crash_store *forwarding_child(struct crash_store *store, size_t index);

/* Fills ops from template and clears the slots child lacks. */
void forwarding_store_ops_init(struct crash_store_ops *ops,
			       const struct crash_store_ops *template_ops,
			       const struct crash_store *child);

#define FORWARDING_STORE_SLOTS \
	.save_raw_crash = forwarding_save_raw_crash, \
	.save_dump = forwarding_save_dump, \
	.save_processed = forwarding_save_processed, \
	.remove = forwarding_remove, \
	.remove_part = forwarding_remove_part, \
	.remove_radix_dir = forwarding_remove_radix_dir, \
	.set_part_mtime = forwarding_set_part_mtime, \
	.stat_crash = forwarding_stat_crash, \
	.stat_part = forwarding_stat_part, \
	.open_part = forwarding_open_part, \
	.list_parts = forwarding_list_parts, \
	.list_days = forwarding_list_days, \
	.list_radix = forwarding_list_radix, \
	.new_crashes = forwarding_new_crashes, \
	.ack_crash = forwarding_ack_crash, \
	.reconnect = forwarding_reconnect, \
	.child_count = forwarding_child_count, \
	.child = forwarding_child

#endif
