/*
 * container_core.h - what the containers (poly, fallback, primary_deferred,
 * primary_deferred_processed) share: opening members, gathering member
 * failures into one error, running one operation on several members, and
 * reading the JSON of a raw crash being saved.
 *
 * Members are always called through the crash_store_* wrappers (via
 * store_operation_run), so every call is counted on the member's node.
 * Operations are passed as struct store_operation (forwarding_store.h):
 * each container is a dispatching store whose operation slots are the
 * shared DISPATCHING_STORE_*_SLOTS, and its one dispatch function routes
 * each kind of operation to its policy, mostly the functions below.
 *
 * Threads: the functions keep no state between calls; they are as
 * thread-safe as the members they call.
 */
#ifndef CRASHFS_CONTAINERS_CONTAINER_CORE_H
#define CRASHFS_CONTAINERS_CONTAINER_CORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "storage/crash_store.h"
#include "storage/executor/forwarding_store.h"
#include "storage/store_registry.h"

/* Room for the node path of a member ("store.stores[3].primary..."). */
#define CONTAINER_PATH_MAX STORE_NODE_PATH_MAX

/* Writes "<parent>.<key>" (index < 0) or "<parent>.<key>[index]" into
 * out; returns 0 or -ENAMETOOLONG with error naming the parent
 * (store_registry_member_path: paths are never cut). */
int container_member_path(char out[CONTAINER_PATH_MAX], const char *parent,
			  const char *key, long index,
			  struct crash_error *error);

/* Opens node[key] as member "<node_path>.<key>".  A missing key is an
 * error "<node_path>.<key>: missing (<role>)". */
int container_open_member(const json_t *node, const char *node_path,
			  const char *key, const char *role,
			  const struct crash_store_env *env,
			  struct crash_store **out, struct crash_error *error);

/* -- failures of several members, as one error -------------------------- */

struct store_failures {
	size_t count;
	int common_code;  /* the code all failures share, 0 if they differ */
	bool operational; /* every failure was operational */
	size_t length;
	char list[CRASH_ERROR_MESSAGE_MAX]; /* "path: message; path: ..." */
};

void store_failures_init(struct store_failures *failures);
/* Records member's failure; the member's node path is put before the
 * message unless the message already starts with it. */
void store_failures_add(struct store_failures *failures,
			const struct crash_store *member,
			const struct crash_error *error);
/* Sets call->error to "<container path>: <what>: <list>" with code and
 * returns code.  The error is operational if every failure was, so a
 * retry wrapper above the container retries transient failures only. */
int store_failures_report(const struct store_failures *failures,
			  const struct crash_store *container,
			  struct crash_call *call, int code, const char *what);

/* Sets call->error to "<container path>: no store in this <type> can
 * <operation>" with code (-ENOTSUP, or -EROFS for a save) and returns
 * code: the answer when no member has the operation's slot. */
int container_no_member_can(const struct crash_store *container,
			    struct crash_call *call, int code,
			    const struct store_operation *operation);

/* -- blobs several stores take ------------------------------------------ */

/*
 * A store may hard-link an adoptable blob into place (crash_store.h); two
 * stores must never share that inode.  When the same bytes go to several
 * members (poly, a fallback's second try), only one of them may be offered
 * adoption: the others get this copy of the operation, whose blobs are not
 * adoptable.
 */
struct unadoptable_operation {
	struct store_operation operation;
	struct crash_blob blob;
	struct crash_dump *dumps; /* malloc'd copy, or NULL */
};

/* Fills copy from operation; 0 or -ENOMEM (call->error set). */
int unadoptable_operation_init(struct unadoptable_operation *copy,
			       const struct store_operation *operation,
			       struct crash_call *call);
void unadoptable_operation_release(struct unadoptable_operation *copy);
/* True if some blob of the operation is adoptable. */
bool store_operation_adoptable(const struct store_operation *operation);

/* -- one operation on several members ----------------------------------- */

/*
 * Runs a write on every member in order, as Socorro's PolyCrashStorage did
 * for saves: a member's failure does not stop the others; afterwards one
 * error lists every failure (each also logged once, and counted on its
 * node by the wrappers).  A member without the operation's slot is
 * skipped (it does not take that part); if none has it, -EROFS.  An
 * interrupted member (-EINTR) or caller stops the run with -EINTR.  Only
 * the last member that takes a save may adopt its blobs.
 *
 * Saves: any failure counts, the aggregate is -EIO.
 * Removes (remove, remove_part, set_part_mtime, remove_radix_dir):
 * -ENOENT means the member did not have it; -ENOTSUP from
 * remove_radix_dir or set_part_mtime means it keeps no such thing.  The
 * result is 0 if some member did it, -ENOENT if none had it; failures give
 * their common code (ENOTEMPTY for a directory still holding crashes in
 * one member) or -EIO when they differ.
 */
int container_broadcast(struct crash_store *container,
			struct crash_store *const *members, size_t count,
			struct crash_call *call,
			const struct store_operation *operation);

/* Runs a read on the members in order until one has it: the first result
 * that is not -ENOENT is returned (failures included, as Socorro's
 * containers went on only on CrashIDNotFound).  Members without the slot
 * are skipped; -ENOENT if none had it, -ENOTSUP if none can. */
int container_first_found(struct crash_store *container,
			  struct crash_store *const *members, size_t count,
			  struct crash_call *call,
			  const struct store_operation *operation);

/* One pass of new_crashes over the members that are queues, in the order
 * given; stops at the first failure or when emit stops.  -ENOTSUP if no
 * member is a queue. */
int container_new_crashes(struct crash_store *container,
			  struct crash_store *const *members, size_t count,
			  struct crash_call *call, crash_queue_emit_fn emit,
			  void *ctx);

/* Acknowledges an entry with the member whose tree issued its token;
 * -ENOENT if none did (not an entry of this container's queue). */
int container_ack_crash(struct crash_store *container,
			struct crash_store *const *members, size_t count,
			struct crash_call *call,
			const struct crash_queue_entry *entry);

/* -- the raw crash being saved ------------------------------------------ */

/* Raw crashes larger than this are not parsed for routing (EFBIG). */
#define CONTAINER_DOCUMENT_MAX (16 * 1024 * 1024)

/* The parsed raw crash of blob: blob->json when the caller parsed it,
 * else parsed from blob->fd; then *owned holds the reference the caller
 * must json_decref.  Errors: -EINVAL (not a JSON object), -EFBIG, -EIO. */
int container_blob_document(const struct crash_store *container,
			    const struct crash_blob *blob,
			    struct crash_call *call, const json_t **document,
			    json_t **owned);

/* Closes every member (NULL entries allowed) and frees the array. */
void container_close_members(struct crash_store **members, size_t count);

/* Reconnects every member. */
void container_reconnect_members(struct crash_store *const *members,
				 size_t count);

#endif
