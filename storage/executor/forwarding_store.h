/*
 * forwarding_store.h - store calls as data: the operation slots every
 * container and wrapper shares, and the store that wraps one child (the
 * shape of the retry store and the faulty store, as nbdkit's filters sit
 * over a plugin).
 *
 * A dispatching store embeds struct dispatching_store first and takes its
 * operation slots from DISPATCHING_STORE_WRITE_SLOTS, _READ_SLOTS and
 * _QUEUE_SLOTS: only the groups it serves, so crash_store_can() still
 * tells what it can do (a poly is no queue), and its dispatch function
 * only ever sees those kinds.  Each slot packs its arguments into a struct
 * store_operation and calls the store's dispatch function, so a store
 * writes its policy once per kind of operation instead of once per slot.
 * Its type_name, close, reconnect, child_count, child and describe it
 * writes itself.  dispatch is set by dispatching_store_init and not
 * touched afterwards.
 *
 * A forwarding store is a dispatching store over one child.  A wrapper
 * embeds struct forwarding_store first, builds its ops table with
 * forwarding_store_ops_init from a template holding FORWARDING_STORE_SLOTS
 * plus its own type_name, close and describe, and calls
 * forwarding_store_init with its forward function; forward decides what
 * to do and normally ends in store_operation_run(child, ...), which calls
 * the child through the crash_store_* wrappers.
 *
 * A forwarding store's ops table is per instance: a slot the child lacks
 * is NULL in the wrapper too, so crash_store_can() answers for the wrapped
 * store as it would for the child (a poly skips a queue member that cannot
 * remove, retry-wrapped or not).  Since store->ops is then not the
 * template, a wrapper's checked downcast compares ops->close instead.
 *
 * The operation names ("save_raw_crash", ...) are the ones the JSON
 * configuration and the logs use.
 *
 * Threads: the slots keep no state; dispatch, child and forward are set
 * once before the store is handed out and only read afterwards, so a
 * store is as thread-safe as its dispatch (or forward) function.  A struct
 * store_operation lives on the caller's stack for one call.
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
	STORE_OP_SET_DIR_MTIME,
	STORE_OP_STAT_CRASH,
	STORE_OP_STAT_PART,
	STORE_OP_OPEN_PART,
	STORE_OP_LIST_PARTS,
	STORE_OP_OPEN_DAYS,
	STORE_OP_LIST_CRASHES,
	STORE_OP_OPEN_RADIX,
	STORE_OP_OPEN_RADIX_PARTS,
	STORE_OP_STAT_RADIX_DIR,
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
	const char *after;                /* list_crashes */
	struct crash_id_page *page;       /* list_crashes */
	struct crash_listing **listing_out; /* open_days, open_radix[_parts] */
	struct crash_part_stat *stat;
	struct crash_dir_stat *dir_stat;  /* stat_crash, stat_radix_dir */
	int *fd_out;
	crash_part_emit_fn emit_part;     /* list_parts */
	crash_queue_emit_fn emit_queue;   /* new_crashes */
	const struct crash_queue_entry *queue_entry; /* ack_crash */
	void *emit_ctx;
};

/* "save_raw_crash", ... ; "?" for an invalid kind. */
const char *store_operation_name(enum store_operation_kind kind);
/* Returns 0 and *out, or -EINVAL for an unknown name. */
int store_operation_parse(const char *name, enum store_operation_kind *out);
/* True for the operations that emit entries to a callback or hand out a
 * listing (retrying one is safe only before the caller saw an entry). */
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

/* Sets call->error for an operation a dispatch function does not know
 * (an invalid kind) and returns -EINVAL. */
int store_operation_invalid(struct crash_call *call,
			    const struct store_operation *operation);

/* -- dispatching stores -------------------------------------------------- */

/* Carries out one operation on store (the store the slot was called on). */
typedef int (*store_dispatch_fn)(struct crash_store *store,
				 struct crash_call *call,
				 const struct store_operation *operation);

struct dispatching_store {
	struct crash_store base; /* first */
	store_dispatch_fn dispatch;
};

/* crash_store_base_init, and sets dispatch.  Release with
 * crash_store_base_release(&store->base). */
int dispatching_store_init(struct dispatching_store *store,
			   const struct crash_store_ops *ops,
			   const char *node_path, store_dispatch_fn dispatch);

/* The operation slots; a store using them must begin with struct
 * dispatching_store. */
int dispatching_save_raw_crash(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *raw_crash,
			       const struct crash_dump *dumps,
			       size_t dump_count);
int dispatching_save_dump(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_dump *dump);
int dispatching_save_processed(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *processed);
int dispatching_remove(struct crash_store *store, struct crash_call *call,
		       const char *crash_id);
int dispatching_remove_part(struct crash_store *store,
			    struct crash_call *call, const char *crash_id,
			    const struct crash_part *part);
int dispatching_remove_radix_dir(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix);
int dispatching_set_part_mtime(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_part *part,
			       const struct timespec *mtime);
int dispatching_set_dir_mtime(struct crash_store *store,
			      struct crash_call *call, const char *day,
			      const char *prefix, const char *crash_id,
			      const struct timespec *mtime);
int dispatching_stat_crash(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, struct crash_dir_stat *stat);
int dispatching_stat_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat);
int dispatching_open_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat, int *fd_out);
int dispatching_list_parts(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, crash_part_emit_fn emit,
			   void *ctx);
int dispatching_open_days(struct crash_store *store, struct crash_call *call,
			  struct crash_listing **out);
int dispatching_list_crashes(struct crash_store *store,
			     struct crash_call *call, const char *day,
			     const char *prefix, const char *after,
			     struct crash_id_page *page);
int dispatching_open_radix(struct crash_store *store, struct crash_call *call,
			   const char *day, const char *prefix,
			   struct crash_listing **out);
int dispatching_open_radix_parts(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix,
				 struct crash_listing **out);
int dispatching_stat_radix_dir(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix, struct crash_dir_stat *stat);
int dispatching_new_crashes(struct crash_store *store, struct crash_call *call,
			    crash_queue_emit_fn emit, void *ctx);
int dispatching_ack_crash(struct crash_store *store, struct crash_call *call,
			  const struct crash_queue_entry *entry);

/* The slots by group, for a struct crash_store_ops initialiser. */
#define DISPATCHING_STORE_WRITE_SLOTS \
	.save_raw_crash = dispatching_save_raw_crash, \
	.save_dump = dispatching_save_dump, \
	.save_processed = dispatching_save_processed, \
	.remove = dispatching_remove, \
	.remove_part = dispatching_remove_part, \
	.remove_radix_dir = dispatching_remove_radix_dir, \
	.set_part_mtime = dispatching_set_part_mtime, \
	.set_dir_mtime = dispatching_set_dir_mtime

/* list_crashes is not among them: a container lists its members through
 * open_radix (which each member answers natively or derived); a
 * forwarding store has it when its child does. */
#define DISPATCHING_STORE_READ_SLOTS \
	.stat_crash = dispatching_stat_crash, \
	.stat_part = dispatching_stat_part, \
	.open_part = dispatching_open_part, \
	.list_parts = dispatching_list_parts, \
	.open_days = dispatching_open_days, \
	.open_radix = dispatching_open_radix, \
	.stat_radix_dir = dispatching_stat_radix_dir

#define DISPATCHING_STORE_QUEUE_SLOTS \
	.new_crashes = dispatching_new_crashes, \
	.ack_crash = dispatching_ack_crash

/* -- forwarding stores --------------------------------------------------- */

struct forwarding_store;
typedef int (*forwarding_fn)(struct forwarding_store *store,
			     struct crash_call *call,
			     const struct store_operation *operation);

struct forwarding_store {
	struct dispatching_store dispatching; /* first: the base */
	struct crash_store *child;
	forwarding_fn forward;
};

/* Fills ops from template and clears the slots child lacks. */
void forwarding_store_ops_init(struct crash_store_ops *ops,
			       const struct crash_store_ops *template_ops,
			       const struct crash_store *child);

/* dispatching_store_init with ops (from forwarding_store_ops_init), then
 * child and forward.  On failure nothing is kept: the caller still owns
 * child.  Release with crash_store_base_release(&store->dispatching.base). */
int forwarding_store_init(struct forwarding_store *store,
			  const struct crash_store_ops *ops,
			  const char *node_path, struct crash_store *child,
			  forwarding_fn forward);

/* The slots beyond the operations; reconnect and naming are passed on to
 * the child. */
void forwarding_reconnect(struct crash_store *store);
size_t forwarding_child_count(struct crash_store *store);
struct crash_store *forwarding_child(struct crash_store *store, size_t index);
bool forwarding_naming(struct crash_store *store,
		       struct crash_store_naming *out);

#define FORWARDING_STORE_SLOTS \
	DISPATCHING_STORE_WRITE_SLOTS, \
	DISPATCHING_STORE_READ_SLOTS, \
	DISPATCHING_STORE_QUEUE_SLOTS, \
	.list_crashes = dispatching_list_crashes, \
	.open_radix_parts = dispatching_open_radix_parts, \
	.reconnect = forwarding_reconnect, \
	.child_count = forwarding_child_count, \
	.child = forwarding_child, \
	.naming = forwarding_naming

#endif
