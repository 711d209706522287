/*
 * crash_store.c - the checked, counted entry points of every store.
 *
 * Callers (the mount, containers) never call a slot directly: these wrappers
 * map a missing slot to a clear error, serialise stores that asked for it,
 * name the failing leaf store in the message and count every call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_store.h"

void *crash_store_downcast(struct crash_store *store,
			   const struct crash_store_ops *ops)
{
	if (!store || store->ops != ops)
		return NULL;
	return store;
}

int crash_store_base_init(struct crash_store *store,
			  const struct crash_store_ops *ops,
			  const char *node_path)
{
	memset(&store->counters, 0, sizeof store->counters);
	store->ops = ops;
	store->node_path = strdup(node_path ? node_path : "store");
	if (!store->node_path)
		return -ENOMEM;
	pthread_mutex_init(&store->serial_lock, NULL);
	return 0;
}

void crash_store_base_release(struct crash_store *store)
{
	free(store->node_path);
	store->node_path = NULL;
	pthread_mutex_destroy(&store->serial_lock);
}

void crash_store_close(struct crash_store *store)
{
	if (store)
		store->ops->close(store);
}

void crash_call_init(struct crash_call *call)
{
	memset(call, 0, sizeof *call);
}

bool crash_call_interrupted(struct crash_call *call)
{
	return call && call->interrupted && call->interrupted(call->interrupted_arg);
}

static bool is_leaf(struct crash_store *store)
{
	return store->ops->child_count == NULL;
}

static void enter(struct crash_store *store, struct crash_call *call)
{
	atomic_fetch_add(&store->counters.calls, 1);
	crash_error_clear(&call->error);
	if (store->ops->thread_model == CRASH_STORE_SERIAL)
		pthread_mutex_lock(&store->serial_lock);
}

/* Counts the outcome; a leaf names itself in the message so the log line
 * at the top says which store of the tree failed. */
static int leave(struct crash_store *store, struct crash_call *call, int result)
{
	if (store->ops->thread_model == CRASH_STORE_SERIAL)
		pthread_mutex_unlock(&store->serial_lock);
	if (result >= 0)
		return result;
	if (result == -ENOENT) {
		atomic_fetch_add(&store->counters.not_found, 1);
	} else {
		atomic_fetch_add(&store->counters.errors, 1);
	}
	if (call->error.code == 0)
		crash_error_set(&call->error, result, "failed: %s",
				strerror(-result));
	if (is_leaf(store))
		crash_error_prefix(&call->error, "%s: ", store->node_path);
	return result;
}

static int missing_slot(struct crash_store *store, struct crash_call *call,
			int code, const char *operation)
{
	atomic_fetch_add(&store->counters.calls, 1);
	return crash_error_set(&call->error, code, "%s: a %s store cannot %s",
			       store->node_path, store->ops->type_name,
			       operation);
}

static uint64_t blob_size(const struct crash_blob *blob)
{
	return blob && blob->size > 0 ? (uint64_t)blob->size : 0;
}

int crash_store_save_raw_crash(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *raw_crash,
			       const struct crash_dump *dumps,
			       size_t dump_count)
{
	if (!store->ops->save_raw_crash)
		return missing_slot(store, call, -EROFS, "save raw crashes");
	enter(store, call);
	int result = store->ops->save_raw_crash(store, call, crash_id,
						raw_crash, dumps, dump_count);
	if (result >= 0) {
		uint64_t bytes = blob_size(raw_crash);
		for (size_t i = 0; i < dump_count; i++)
			bytes += blob_size(&dumps[i].blob);
		atomic_fetch_add(&store->counters.bytes_written, bytes);
	}
	return leave(store, call, result);
}

int crash_store_save_dump(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_dump *dump)
{
	if (!store->ops->save_dump)
		return missing_slot(store, call, -EROFS, "save dumps");
	enter(store, call);
	int result = store->ops->save_dump(store, call, crash_id, dump);
	if (result >= 0)
		atomic_fetch_add(&store->counters.bytes_written,
				 blob_size(&dump->blob));
	return leave(store, call, result);
}

int crash_store_save_processed(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *processed)
{
	if (!store->ops->save_processed)
		return missing_slot(store, call, -EROFS,
				    "save processed crashes");
	enter(store, call);
	int result = store->ops->save_processed(store, call, crash_id,
						processed);
	if (result >= 0)
		atomic_fetch_add(&store->counters.bytes_written,
				 blob_size(processed));
	return leave(store, call, result);
}

int crash_store_remove(struct crash_store *store, struct crash_call *call,
		       const char *crash_id)
{
	if (!store->ops->remove)
		return missing_slot(store, call, -EROFS, "remove crashes");
	enter(store, call);
	return leave(store, call, store->ops->remove(store, call, crash_id));
}

int crash_store_remove_part(struct crash_store *store, struct crash_call *call,
			    const char *crash_id,
			    const struct crash_part *part)
{
	if (!store->ops->remove_part)
		return missing_slot(store, call, -EROFS,
				    "remove parts of crashes");
	enter(store, call);
	return leave(store, call,
		     store->ops->remove_part(store, call, crash_id, part));
}

int crash_store_remove_radix_dir(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix)
{
	if (!store->ops->remove_radix_dir)
		return missing_slot(store, call, -ENOTSUP,
				    "remove directories");
	enter(store, call);
	return leave(store, call, store->ops->remove_radix_dir(store, call, day,
							       prefix));
}

int crash_store_set_part_mtime(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_part *part,
			       const struct timespec *mtime)
{
	if (!store->ops->set_part_mtime)
		return missing_slot(store, call, -ENOTSUP, "set mtimes");
	enter(store, call);
	return leave(store, call, store->ops->set_part_mtime(store, call,
							     crash_id, part,
							     mtime));
}

int crash_store_stat_crash(struct crash_store *store, struct crash_call *call,
			   const char *crash_id)
{
	if (!store->ops->stat_crash)
		return missing_slot(store, call, -ENOTSUP, "look crashes up");
	enter(store, call);
	return leave(store, call, store->ops->stat_crash(store, call, crash_id));
}

int crash_store_stat_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat)
{
	if (!store->ops->stat_part)
		return missing_slot(store, call, -ENOTSUP, "look crashes up");
	enter(store, call);
	return leave(store, call,
		     store->ops->stat_part(store, call, crash_id, part, stat));
}

int crash_store_open_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat, int *fd_out)
{
	if (!store->ops->open_part)
		return missing_slot(store, call, -ENOTSUP, "serve reads");
	enter(store, call);
	int result = store->ops->open_part(store, call, crash_id, part, stat,
					   fd_out);
	if (result >= 0 && stat && stat->size > 0)
		atomic_fetch_add(&store->counters.bytes_read,
				 (uint64_t)stat->size);
	return leave(store, call, result);
}

int crash_store_list_parts(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, crash_part_emit_fn emit,
			   void *ctx)
{
	if (!store->ops->list_parts)
		return missing_slot(store, call, -ENOTSUP, "list crashes");
	enter(store, call);
	return leave(store, call, store->ops->list_parts(store, call, crash_id,
							 emit, ctx));
}

int crash_store_list_days(struct crash_store *store, struct crash_call *call,
			  crash_name_emit_fn emit, void *ctx)
{
	if (!store->ops->list_days)
		return missing_slot(store, call, -ENOTSUP, "list days");
	enter(store, call);
	return leave(store, call,
		     store->ops->list_days(store, call, emit, ctx));
}

int crash_store_list_radix(struct crash_store *store, struct crash_call *call,
			   const char *day, const char *prefix,
			   crash_radix_emit_fn emit, void *ctx)
{
	if (!store->ops->list_radix)
		return missing_slot(store, call, -ENOTSUP, "list crashes");
	enter(store, call);
	return leave(store, call, store->ops->list_radix(store, call, day,
							 prefix, emit, ctx));
}

static int stop_at_first_entry(void *ctx, enum crash_listing_kind kind,
			       const char *name)
{
	(void)ctx, (void)kind, (void)name;
	return 1;
}

int crash_store_stat_radix_dir(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix)
{
	if (!store->ops->stat_radix_dir) {
		int result = crash_store_list_radix(store, call, day, prefix,
						    stop_at_first_entry, NULL);
		return result < 0 ? result : 0;
	}
	enter(store, call);
	return leave(store, call, store->ops->stat_radix_dir(store, call, day,
							     prefix));
}

int crash_store_new_crashes(struct crash_store *store, struct crash_call *call,
			    crash_name_emit_fn emit, void *ctx)
{
	if (!store->ops->new_crashes)
		return missing_slot(store, call, -ENOTSUP,
				    "queue new crashes");
	enter(store, call);
	return leave(store, call,
		     store->ops->new_crashes(store, call, emit, ctx));
}

int crash_store_ack_crash(struct crash_store *store, struct crash_call *call,
			  const char *crash_id)
{
	if (!store->ops->ack_crash)
		return missing_slot(store, call, -ENOTSUP,
				    "acknowledge crashes");
	enter(store, call);
	return leave(store, call, store->ops->ack_crash(store, call, crash_id));
}

void crash_store_reconnect(struct crash_store *store)
{
	if (store->ops->reconnect)
		store->ops->reconnect(store);
}

size_t crash_store_child_count(struct crash_store *store)
{
	return store->ops->child_count ? store->ops->child_count(store) : 0;
}

struct crash_store *crash_store_child(struct crash_store *store, size_t index)
{
	if (index >= crash_store_child_count(store))
		return NULL;
	return store->ops->child(store, index);
}

static const char *state_name(int state)
{
	switch (state) {
	case CRASH_STORE_RETRYING:
		return "retrying";
	case CRASH_STORE_FAILING:
		return "failing";
	case CRASH_STORE_DEGRADED:
		return "degraded";
	default:
		return "ok";
	}
}

static json_t *node_stats(struct crash_store *store)
{
	struct crash_store_counters *c = &store->counters;
	json_t *node = json_pack(
		"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "type",
		store->ops->type_name, "calls", (json_int_t)atomic_load(&c->calls),
		"bytes_written", (json_int_t)atomic_load(&c->bytes_written),
		"bytes_read", (json_int_t)atomic_load(&c->bytes_read), "errors",
		(json_int_t)atomic_load(&c->errors), "not_found",
		(json_int_t)atomic_load(&c->not_found), "retries",
		(json_int_t)atomic_load(&c->retries), "fallbacks",
		(json_int_t)atomic_load(&c->fallbacks), "partial_listings",
		(json_int_t)atomic_load(&c->partial_listings), "state",
		state_name(atomic_load(&c->state)));
	if (node && store->ops->describe)
		store->ops->describe(store, node);
	return node;
}

static void collect_stats(struct crash_store *store, json_t *all)
{
	json_t *node = node_stats(store);
	if (node)
		json_object_set_new(all, store->node_path, node);
	size_t count = crash_store_child_count(store);
	for (size_t i = 0; i < count; i++) {
		struct crash_store *child = crash_store_child(store, i);
		if (child)
			collect_stats(child, all);
	}
}

json_t *crash_store_stats(struct crash_store *store)
{
	json_t *all = json_object();
	if (all && store)
		collect_stats(store, all);
	return all;
}
