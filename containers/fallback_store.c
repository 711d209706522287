/*
 * fallback_store.c - primary, and the secondary when the primary fails.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "containers/container_core.h"
#include "containers/fallback_store.h"
#include "containers/merged_listing.h"
#include "storage/crash_log.h"
#include "storage/store_config.h"

enum { PRIMARY = 0, SECONDARY = 1 };

struct fallback_store {
	struct dispatching_store dispatching; /* first: the base */
	struct crash_store *members[2];
};

static struct fallback_store *fallback_from(struct crash_store *store)
{
	return crash_store_downcast(store, &fallback_store_ops);
}

static void fallback_close(struct crash_store *store)
{
	struct fallback_store *self = fallback_from(store);
	crash_store_close(self->members[PRIMARY]);
	crash_store_close(self->members[SECONDARY]);
	crash_store_base_release(&self->dispatching.base);
	free(self);
}

/* Saves: primary, else secondary. */
static int save(struct crash_store *store, struct crash_call *call,
		const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *primary = self->members[PRIMARY];
	struct crash_store *secondary = self->members[SECONDARY];
	struct store_failures failures;
	char what[160];

	int result = store_operation_run(primary, call, operation);
	if (result >= 0 || result == -EINTR)
		return result;
	store_failures_init(&failures);
	store_failures_add(&failures, primary, &call->error);
	store_operation_describe(operation, what, sizeof what);
	atomic_fetch_add(&store->counters.fallbacks, 1);
	/* The primary may have linked an adoptable blob before failing. */
	struct unadoptable_operation copy;
	result = unadoptable_operation_init(&copy, operation, call);
	if (result >= 0)
		result = store_operation_run(secondary, call, &copy.operation);
	unadoptable_operation_release(&copy);
	if (result >= 0) {
		crash_log(CRASH_LOG_ERROR,
			  "%s: %s: primary failed, saved in %s instead: %s",
			  store->node_path, what, secondary->node_path,
			  failures.list);
		return result;
	}
	store_failures_add(&failures, secondary, &call->error);
	return store_failures_report(&failures, store, call,
				     result == -EINTR ? -EINTR : -EIO, what);
}

/*
 * Reads: the primary, then the secondary when the primary does not have
 * it (Socorro) -- or when the primary fails: a crash the secondary took
 * while the primary was down must stay readable while it is still down.
 * The secondary's not-found then returns the primary's failure (the crash
 * may well be in the primary), not "not found".
 */
static int primary_first(struct crash_store *store, struct crash_call *call,
			 const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *primary = self->members[PRIMARY];
	struct crash_store *secondary = self->members[SECONDARY];

	if (!store_operation_available(primary, operation->kind) ||
	    !store_operation_available(secondary, operation->kind))
		return container_first_found(store, self->members, 2, call,
					     operation);
	int result = store_operation_run(primary, call, operation);
	if (result >= 0 || result == -EINTR)
		return result;
	if (result == -ENOENT) {
		result = store_operation_run(secondary, call, operation);
		if (result != -ENOENT)
			return result;
		char what[160];
		store_operation_describe(operation, what, sizeof what);
		return crash_error_set(&call->error, -ENOENT,
				       "%s: %s: not in any of its stores",
				       store->node_path, what);
	}
	struct crash_error primary_error = call->error;
	int secondary_result = store_operation_run(secondary, call, operation);
	if (secondary_result >= 0) {
		char what[160];
		store_operation_describe(operation, what, sizeof what);
		atomic_fetch_add(&store->counters.fallbacks, 1);
		crash_log(CRASH_LOG_WARNING,
			  "%s: %s: primary failed, read from %s instead: %s",
			  store->node_path, what, secondary->node_path,
			  primary_error.message);
		return secondary_result;
	}
	if (secondary_result == -ENOENT) {
		call->error = primary_error;
		return result;
	}
	return secondary_result;
}

/* Socorro: everything from the fallback's new_crashes, then the
 * primary's; a crash is acknowledged where it was found. */
static int queue(struct crash_store *store, struct crash_call *call,
		 const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *order[2] = { self->members[SECONDARY],
					 self->members[PRIMARY] };
	if (operation->kind == STORE_OP_NEW_CRASHES)
		return container_new_crashes(store, order, 2, call,
					     operation->emit_name,
					     operation->emit_ctx);
	return container_first_found(store, order, 2, call, operation);
}

/*
 * Removes go to both members.  Socorro removed from the primary only (and
 * from the fallback only when the primary did not have it); a crash saved
 * in both, or saved in the secondary while the primary was down and since
 * copied back, then stayed visible in the mount after rm -r.  Listings
 * show the union of both.
 */
static int fallback_dispatch(struct crash_store *store,
			     struct crash_call *call,
			     const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	switch (operation->kind) {
	case STORE_OP_SAVE_RAW_CRASH:
	case STORE_OP_SAVE_DUMP:
	case STORE_OP_SAVE_PROCESSED:
		return save(store, call, operation);
	case STORE_OP_REMOVE:
	case STORE_OP_REMOVE_PART:
	case STORE_OP_REMOVE_RADIX_DIR:
	case STORE_OP_SET_PART_MTIME:
		return container_broadcast(store, self->members, 2, call,
					   operation);
	case STORE_OP_STAT_CRASH:
	case STORE_OP_STAT_PART:
	case STORE_OP_OPEN_PART:
	case STORE_OP_STAT_RADIX_DIR:
		return primary_first(store, call, operation);
	case STORE_OP_LIST_PARTS:
	case STORE_OP_LIST_DAYS:
	case STORE_OP_LIST_RADIX:
		return merged_listing_run(store, self->members, NULL, 2, call,
					  operation);
	case STORE_OP_NEW_CRASHES:
	case STORE_OP_ACK_CRASH:
		return queue(store, call, operation);
	case STORE_OP_COUNT:
		break;
	}
	return store_operation_invalid(call, operation);
}

static void fallback_reconnect(struct crash_store *store)
{
	container_reconnect_members(fallback_from(store)->members, 2);
}

static size_t fallback_child_count(struct crash_store *store)
{
	return 2;
}

static struct crash_store *fallback_child(struct crash_store *store,
					  size_t index)
{
	return index < 2 ? fallback_from(store)->members[index] : NULL;
}

static void fallback_describe(struct crash_store *store, json_t *stats)
{
	struct fallback_store *self = fallback_from(store);
	json_object_set_new(stats, "primary",
			    json_string(self->members[PRIMARY]->node_path));
	json_object_set_new(stats, "secondary",
			    json_string(self->members[SECONDARY]->node_path));
}

const struct crash_store_ops fallback_store_ops = {
	.type_name = "fallback",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = fallback_close,
	DISPATCHING_STORE_WRITE_SLOTS,
	DISPATCHING_STORE_READ_SLOTS,
	DISPATCHING_STORE_QUEUE_SLOTS,
	.reconnect = fallback_reconnect,
	.child_count = fallback_child_count,
	.child = fallback_child,
	.describe = fallback_describe,
};

int fallback_store_new(struct crash_store *primary,
		       struct crash_store *secondary, const char *node_path,
		       struct crash_store **out, struct crash_error *error)
{
	*out = NULL;
	struct fallback_store *self = calloc(1, sizeof *self);
	if (!self || dispatching_store_init(&self->dispatching,
					    &fallback_store_ops, node_path,
					    fallback_dispatch) < 0) {
		free(self);
		crash_store_close(primary);
		crash_store_close(secondary);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	self->members[PRIMARY] = primary;
	self->members[SECONDARY] = secondary;
	*out = &self->dispatching.base;
	return 0;
}

int fallback_store_open_json(const json_t *node, const char *node_path,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error)
{
	static const char *const keys[] = { "primary", "secondary", NULL };
	struct crash_store *primary = NULL, *secondary = NULL;

	*out = NULL;
	int result = store_config_check_keys(node, node_path, keys, error);
	if (result < 0)
		return result;
	result = container_open_member(node, node_path, "primary",
				       "the store saves go to first", env,
				       &primary, error);
	if (result < 0)
		return result;
	result = container_open_member(node, node_path, "secondary",
				       "the store saves go to when the primary "
				       "fails",
				       env, &secondary, error);
	if (result < 0) {
		crash_store_close(primary);
		return result;
	}
	return fallback_store_new(primary, secondary, node_path, out, error);
}
