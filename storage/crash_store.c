/*
 * crash_store.c - the checked, counted entry points of every store.
 *
 * Callers (the mount, containers) never call a slot directly: these wrappers
 * map a missing slot to a clear error, serialise stores that asked for it,
 * name the failing leaf store in the message and count every call.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_listing.h"
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

void crash_call_set_timeout(struct crash_call *call, double seconds)
{
	if (seconds <= 0) {
		call->deadline = (struct timespec){ 0, 0 };
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double whole = (double)(time_t)seconds;
	call->deadline.tv_sec = now.tv_sec + (time_t)seconds;
	call->deadline.tv_nsec = now.tv_nsec + (long)((seconds - whole) * 1e9);
	if (call->deadline.tv_nsec >= 1000000000L) {
		call->deadline.tv_sec++;
		call->deadline.tv_nsec -= 1000000000L;
	}
}

long crash_call_remaining_ms(const struct crash_call *call)
{
	if (!call || (call->deadline.tv_sec == 0 && call->deadline.tv_nsec == 0))
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(call->deadline.tv_sec - now.tv_sec) * 1000 +
		       (call->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (long)ms : 0;
}

/* How long one poll may wait before the call is looked at again. */
#define CRASH_CALL_POLL_SLICE_MS 100

int crash_call_wait_fd(struct crash_call *call, int fd, short events,
		       long timeout_ms)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (crash_call_interrupted(call))
			return crash_error_set(&call->error, -EINTR,
					       "interrupted while waiting for "
					       "the server");
		long slice = CRASH_CALL_POLL_SLICE_MS;
		long remaining = crash_call_remaining_ms(call);
		if (remaining == 0)
			return crash_error_set_operational(
				&call->error, -ETIMEDOUT,
				"the request's time ran out waiting for the "
				"server");
		if (remaining > 0 && remaining < slice)
			slice = remaining;
		if (timeout_ms >= 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long waited = (long)((now.tv_sec - start.tv_sec) * 1000 +
					     (now.tv_nsec - start.tv_nsec) /
						     1000000);
			if (waited >= timeout_ms)
				return 0;
			if (timeout_ms - waited < slice)
				slice = timeout_ms - waited;
		}
		struct pollfd poll_fd = { .fd = fd, .events = events };
		int ready = poll(&poll_fd, 1, (int)slice);
		if (ready > 0)
			return 1;
		if (ready < 0 && errno != EINTR)
			return -errno;
	}
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

int crash_store_set_dir_mtime(struct crash_store *store,
			      struct crash_call *call, const char *day,
			      const char *prefix, const char *crash_id,
			      const struct timespec *mtime)
{
	if (!store->ops->set_dir_mtime)
		return missing_slot(store, call, -ENOTSUP,
				    "keep directory times");
	enter(store, call);
	return leave(store, call,
		     store->ops->set_dir_mtime(store, call, day,
					       prefix ? prefix : "", crash_id,
					       mtime));
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

/* A stat a caller may leave out (NULL): the slot always gets one. */
static struct crash_dir_stat *dir_stat_or(struct crash_dir_stat *stat,
					  struct crash_dir_stat *scratch)
{
	if (!stat)
		stat = scratch;
	memset(stat, 0, sizeof *stat);
	return stat;
}

int crash_store_stat_crash(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, struct crash_dir_stat *stat)
{
	struct crash_dir_stat scratch;
	if (!store->ops->stat_crash)
		return missing_slot(store, call, -ENOTSUP, "look crashes up");
	stat = dir_stat_or(stat, &scratch);
	enter(store, call);
	return leave(store, call,
		     store->ops->stat_crash(store, call, crash_id, stat));
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

int crash_store_open_days(struct crash_store *store, struct crash_call *call,
			  struct crash_listing **out)
{
	*out = NULL;
	if (!store->ops->open_days)
		return missing_slot(store, call, -ENOTSUP, "list days");
	enter(store, call);
	return leave(store, call, store->ops->open_days(store, call, out));
}

int crash_store_list_crashes(struct crash_store *store,
			     struct crash_call *call, const char *day,
			     const char *prefix, const char *after,
			     struct crash_id_page *page)
{
	page->count = 0;
	if (!store->ops->list_crashes)
		return missing_slot(store, call, -ENOTSUP, "list crashes");
	enter(store, call);
	int result = store->ops->list_crashes(store, call, day,
					      prefix ? prefix : "",
					      after ? after : "", page);
	/* "Not here" is an empty page, never -ENOENT (crash_store.h). */
	if (result == -ENOENT) {
		page->count = 0;
		result = 0;
	}
	return leave(store, call, result);
}

int crash_store_open_radix(struct crash_store *store, struct crash_call *call,
			   const char *day, const char *prefix,
			   struct crash_listing **out)
{
	*out = NULL;
	if (!prefix)
		prefix = "";
	if (!store->ops->open_radix) {
		if (!store->ops->list_crashes)
			return missing_slot(store, call, -ENOTSUP,
					    "list crashes");
		/* Counted by the list_crashes calls it makes. */
		return crash_listing_derive_radix(store, call, day, prefix,
						  out);
	}
	enter(store, call);
	return leave(store, call,
		     store->ops->open_radix(store, call, day, prefix, out));
}

int crash_store_open_radix_parts(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix,
				 struct crash_listing **out)
{
	*out = NULL;
	if (!prefix)
		prefix = "";
	if (!store->ops->open_radix_parts) {
		if (!store->ops->open_radix && !store->ops->list_crashes)
			return missing_slot(store, call, -ENOTSUP,
					    "list crashes");
		return crash_listing_derive_radix_parts(store, call, day,
							prefix, out);
	}
	enter(store, call);
	return leave(store, call,
		     store->ops->open_radix_parts(store, call, day, prefix,
						  out));
}

int crash_store_stat_radix_dir(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix, struct crash_dir_stat *stat)
{
	struct crash_dir_stat scratch;
	stat = dir_stat_or(stat, &scratch);
	if (!prefix)
		prefix = "";
	if (!store->ops->stat_radix_dir) {
		/* Here if it lists something (its mtime unknown). */
		struct crash_listing *listing = NULL;
		int result = crash_store_open_radix(store, call, day, prefix,
						    &listing);
		crash_listing_close(listing);
		return result < 0 ? result : 0;
	}
	enter(store, call);
	return leave(store, call, store->ops->stat_radix_dir(store, call, day,
							     prefix, stat));
}

int crash_store_new_crashes(struct crash_store *store, struct crash_call *call,
			    crash_queue_emit_fn emit, void *ctx)
{
	if (!store->ops->new_crashes)
		return missing_slot(store, call, -ENOTSUP,
				    "queue new crashes");
	enter(store, call);
	return leave(store, call,
		     store->ops->new_crashes(store, call, emit, ctx));
}

int crash_store_ack_crash(struct crash_store *store, struct crash_call *call,
			  const struct crash_queue_entry *entry)
{
	if (!store->ops->ack_crash)
		return missing_slot(store, call, -ENOTSUP,
				    "acknowledge crashes");
	enter(store, call);
	return leave(store, call, store->ops->ack_crash(store, call, entry));
}

void crash_store_reconnect(struct crash_store *store)
{
	if (store->ops->reconnect)
		store->ops->reconnect(store);
}

static const struct crash_store_naming socorro_naming = {
	.suffixes = { ".json", ".dump", ".jsonz" },
	.name_branch_base = "name",
	.main_dump_name = CRASH_MAIN_DUMP_NAME,
	.view = CRASH_VIEW_RADIX,
};

void crash_store_naming(struct crash_store *store,
			struct crash_store_naming *out)
{
	*out = socorro_naming;
	if (store && store->ops->naming && store->ops->naming(store, out))
		return;
	*out = socorro_naming;
}

int crash_store_setup_tree(struct crash_store *store, struct crash_call *call,
			   void (*report)(void *ctx, const char *created),
			   void *ctx)
{
	if (store->ops->setup) {
		enter(store, call);
		int result = leave(store, call,
				   store->ops->setup(store, call, report, ctx));
		if (result < 0)
			return result;
	}
	size_t count = crash_store_child_count(store);
	for (size_t i = 0; i < count; i++) {
		struct crash_store *child = crash_store_child(store, i);
		int result = child ? crash_store_setup_tree(child, call, report,
							    ctx)
				   : 0;
		if (result < 0)
			return result;
	}
	return 0;
}

bool crash_store_contains(struct crash_store *store,
			  const struct crash_store *issuer)
{
	if (!store || !issuer)
		return false;
	if (store == issuer)
		return true;
	size_t count = crash_store_child_count(store);
	for (size_t i = 0; i < count; i++)
		if (crash_store_contains(crash_store_child(store, i), issuer))
			return true;
	return false;
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
