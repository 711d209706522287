/*
 * null_store.c - keeps nothing, finds nothing.
 */
#include <errno.h>
#include <stdlib.h>

#include "storage/crash_listing.h"
#include "storage/null/null_store.h"
#include "storage/store_config.h"

static void null_close(struct crash_store *store)
{
	crash_store_base_release(store);
	free(store);
}

static int null_save_raw_crash(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *raw_crash,
			       const struct crash_dump *dumps,
			       size_t dump_count)
{
	return 0;
}

static int null_save_dump(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_dump *dump)
{
	return 0;
}

static int null_save_processed(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *processed)
{
	return 0;
}

static int null_not_found(struct crash_call *call, const char *crash_id)
{
	return crash_error_set(&call->error, -ENOENT,
			       "crash %s is not here (null store)", crash_id);
}

/* Socorro's null remove was a silent no-op; nothing is here to remove. */
static int null_remove(struct crash_store *store, struct crash_call *call,
		       const char *crash_id)
{
	return null_not_found(call, crash_id);
}

static int null_remove_part(struct crash_store *store, struct crash_call *call,
			    const char *crash_id, const struct crash_part *part)
{
	return null_not_found(call, crash_id);
}

static int null_set_part_mtime(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_part *part,
			       const struct timespec *mtime)
{
	return null_not_found(call, crash_id);
}

static int null_stat_crash(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, struct crash_dir_stat *stat)
{
	return null_not_found(call, crash_id);
}

static int null_stat_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat)
{
	return null_not_found(call, crash_id);
}

static int null_open_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat, int *fd_out)
{
	return null_not_found(call, crash_id);
}

static int null_list_parts(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, crash_part_emit_fn emit,
			   void *ctx)
{
	return null_not_found(call, crash_id);
}

static int null_open_days(struct crash_store *store, struct crash_call *call,
			  struct crash_listing **out)
{
	struct crash_name_array none = { 0 };
	return crash_listing_of_names(store, call, CRASH_LISTING_DAY, &none,
				      out);
}

static int null_list_crashes(struct crash_store *store,
			     struct crash_call *call, const char *day,
			     const char *prefix, const char *after,
			     struct crash_id_page *page)
{
	page->count = 0;
	return 0;
}

static int null_new_crashes(struct crash_store *store, struct crash_call *call,
			    crash_queue_emit_fn emit, void *ctx)
{
	return 0;
}

static int null_ack_crash(struct crash_store *store, struct crash_call *call,
			  const struct crash_queue_entry *entry)
{
	return crash_error_set(&call->error, -ENOENT,
			       "crash %s is not queued (null store)",
			       entry->crash_id);
}

const struct crash_store_ops null_store_ops = {
	.type_name = "null",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = null_close,
	.save_raw_crash = null_save_raw_crash,
	.save_dump = null_save_dump,
	.save_processed = null_save_processed,
	.remove = null_remove,
	.remove_part = null_remove_part,
	.set_part_mtime = null_set_part_mtime,
	.stat_crash = null_stat_crash,
	.stat_part = null_stat_part,
	.open_part = null_open_part,
	.list_parts = null_list_parts,
	.open_days = null_open_days,
	.list_crashes = null_list_crashes,
	.new_crashes = null_new_crashes,
	.ack_crash = null_ack_crash,
};

int null_store_open_json(const json_t *node, const char *node_path,
			 const struct crash_store_env *env,
			 struct crash_store **out, struct crash_error *error)
{
	int result = store_config_check_keys(node, node_path, NULL, error);
	if (result < 0)
		return result;
	struct crash_store *store = calloc(1, sizeof *store);
	if (!store)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	result = crash_store_base_init(store, &null_store_ops, node_path);
	if (result < 0) {
		free(store);
		return crash_error_set(error, result, "%s: out of memory",
				       node_path);
	}
	*out = store;
	return 0;
}
