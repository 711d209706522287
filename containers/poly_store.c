/*
 * poly_store.c - fan-out of writes, reads from one member.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "containers/container_core.h"
#include "containers/poly_store.h"
#include "storage/store_config.h"

struct poly_store {
	struct crash_store base; /* first */
	struct crash_store **members;
	size_t member_count;
	size_t read_from;
};

static struct poly_store *poly_from(struct crash_store *store)
{
	return crash_store_downcast(store, &poly_store_ops);
}

static void poly_close(struct crash_store *store)
{
	struct poly_store *poly = poly_from(store);
	container_close_members(poly->members, poly->member_count);
	crash_store_base_release(&poly->base);
	free(poly);
}

static int to_all(struct crash_store *store, struct crash_call *call,
		  const struct store_operation *operation)
{
	struct poly_store *poly = poly_from(store);
	return container_broadcast(store, poly->members, poly->member_count,
				   call, operation);
}

static struct crash_store *reader(struct crash_store *store)
{
	struct poly_store *poly = poly_from(store);
	return poly->members[poly->read_from];
}

static int poly_save_raw_crash(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *raw_crash,
			       const struct crash_dump *dumps,
			       size_t dump_count)
{
	struct store_operation op = { .kind = STORE_OP_SAVE_RAW_CRASH,
				      .crash_id = crash_id,
				      .blob = raw_crash,
				      .dumps = dumps,
				      .dump_count = dump_count };
	return to_all(store, call, &op);
}

static int poly_save_dump(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_dump *dump)
{
	struct store_operation op = { .kind = STORE_OP_SAVE_DUMP,
				      .crash_id = crash_id,
				      .dumps = dump,
				      .dump_count = 1 };
	return to_all(store, call, &op);
}

/* Socorro's save_raw_and_processed on a poly called each member's
 * save_raw_and_processed and let the first exception escape, so later
 * members never got the crash; here the processed crash is gathered like
 * every other save. */
static int poly_save_processed(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *processed)
{
	struct store_operation op = { .kind = STORE_OP_SAVE_PROCESSED,
				      .crash_id = crash_id,
				      .blob = processed };
	return to_all(store, call, &op);
}

static int poly_remove(struct crash_store *store, struct crash_call *call,
		       const char *crash_id)
{
	struct store_operation op = { .kind = STORE_OP_REMOVE,
				      .crash_id = crash_id };
	return to_all(store, call, &op);
}

static int poly_remove_part(struct crash_store *store,
			    struct crash_call *call, const char *crash_id,
			    const struct crash_part *part)
{
	struct store_operation op = { .kind = STORE_OP_REMOVE_PART,
				      .crash_id = crash_id,
				      .part = part };
	return to_all(store, call, &op);
}

static int poly_remove_radix_dir(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix)
{
	struct store_operation op = { .kind = STORE_OP_REMOVE_RADIX_DIR,
				      .day = day,
				      .prefix = prefix };
	return to_all(store, call, &op);
}

static int poly_set_part_mtime(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_part *part,
			       const struct timespec *mtime)
{
	struct store_operation op = { .kind = STORE_OP_SET_PART_MTIME,
				      .crash_id = crash_id,
				      .part = part,
				      .mtime = mtime };
	return to_all(store, call, &op);
}

static int poly_stat_crash(struct crash_store *store, struct crash_call *call,
			   const char *crash_id)
{
	return crash_store_stat_crash(reader(store), call, crash_id);
}

static int poly_stat_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat)
{
	return crash_store_stat_part(reader(store), call, crash_id, part,
				     stat);
}

static int poly_open_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat, int *fd_out)
{
	return crash_store_open_part(reader(store), call, crash_id, part, stat,
				     fd_out);
}

static int poly_list_parts(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, crash_part_emit_fn emit,
			   void *ctx)
{
	return crash_store_list_parts(reader(store), call, crash_id, emit,
				      ctx);
}

static int poly_list_days(struct crash_store *store, struct crash_call *call,
			  crash_name_emit_fn emit, void *ctx)
{
	return crash_store_list_days(reader(store), call, emit, ctx);
}

static int poly_list_radix(struct crash_store *store, struct crash_call *call,
			   const char *day, const char *prefix,
			   crash_radix_emit_fn emit, void *ctx)
{
	return crash_store_list_radix(reader(store), call, day, prefix, emit,
				      ctx);
}

static void poly_reconnect(struct crash_store *store)
{
	struct poly_store *poly = poly_from(store);
	container_reconnect_members(poly->members, poly->member_count);
}

static size_t poly_child_count(struct crash_store *store)
{
	return poly_from(store)->member_count;
}

static struct crash_store *poly_child(struct crash_store *store, size_t index)
{
	struct poly_store *poly = poly_from(store);
	return index < poly->member_count ? poly->members[index] : NULL;
}

static void poly_describe(struct crash_store *store, json_t *stats)
{
	struct poly_store *poly = poly_from(store);
	json_object_set_new(stats, "read_from",
			    json_string(poly->members[poly->read_from]
						->node_path));
	json_object_set_new(stats, "members",
			    json_integer((json_int_t)poly->member_count));
}

const struct crash_store_ops poly_store_ops = {
	.type_name = "poly",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = poly_close,
	.save_raw_crash = poly_save_raw_crash,
	.save_dump = poly_save_dump,
	.save_processed = poly_save_processed,
	.remove = poly_remove,
	.remove_part = poly_remove_part,
	.remove_radix_dir = poly_remove_radix_dir,
	.set_part_mtime = poly_set_part_mtime,
	.stat_crash = poly_stat_crash,
	.stat_part = poly_stat_part,
	.open_part = poly_open_part,
	.list_parts = poly_list_parts,
	.list_days = poly_list_days,
	.list_radix = poly_list_radix,
	.reconnect = poly_reconnect,
	.child_count = poly_child_count,
	.child = poly_child,
	.describe = poly_describe,
};

int poly_store_new(struct crash_store **members, size_t count,
		   size_t read_from, const char *node_path,
		   struct crash_store **out, struct crash_error *error)
{
	*out = NULL;
	if (count == 0 || read_from >= count) {
		container_close_members(members, count);
		return crash_error_set(error, -EINVAL,
				       "%s.read_from: %zu is not a member "
				       "(0..%zu)",
				       node_path, read_from,
				       count ? count - 1 : 0);
	}
	struct poly_store *poly = calloc(1, sizeof *poly);
	if (!poly || crash_store_base_init(&poly->base, &poly_store_ops,
					   node_path) < 0) {
		free(poly);
		container_close_members(members, count);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	poly->members = members;
	poly->member_count = count;
	poly->read_from = read_from;
	*out = &poly->base;
	return 0;
}

static int open_members(const json_t *stores, const char *node_path,
			const struct crash_store_env *env,
			struct crash_store ***members_out,
			struct crash_error *error)
{
	size_t count = json_array_size(stores);
	char path[CONTAINER_PATH_MAX];
	struct crash_store **members = calloc(count, sizeof members[0]);

	if (!members)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	for (size_t i = 0; i < count; i++) {
		int result = container_member_path(path, node_path, "stores",
						   (long)i, error);
		if (result >= 0)
			result = store_registry_open(json_array_get(stores, i),
						     path, env, &members[i],
						     error);
		if (result < 0) {
			container_close_members(members, count);
			return result;
		}
	}
	*members_out = members;
	return 0;
}

int poly_store_open_json(const json_t *node, const char *node_path,
			 const struct crash_store_env *env,
			 struct crash_store **out, struct crash_error *error)
{
	static const char *const keys[] = { "stores", "read_from", NULL };
	struct crash_store **members = NULL;
	int64_t read_from = 0;

	*out = NULL;
	int result = store_config_check_keys(node, node_path, keys, error);
	if (result < 0)
		return result;
	const json_t *stores = json_object_get(node, "stores");
	if (!stores)
		return crash_error_set(error, -EINVAL,
				       "%s.stores: missing (the list of member "
				       "stores)",
				       node_path);
	if (!json_is_array(stores) || json_array_size(stores) == 0)
		return crash_error_set(error, -EINVAL,
				       "%s.stores: must be a non-empty array "
				       "of stores",
				       node_path);
	size_t count = json_array_size(stores);
	result = store_config_int(node, node_path, "read_from", 0, 0,
				  (int64_t)count - 1, &read_from, error);
	if (result < 0)
		return result;
	result = open_members(stores, node_path, env, &members, error);
	if (result < 0)
		return result;
	return poly_store_new(members, count, (size_t)read_from, node_path,
			      out, error);
}
