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
	struct dispatching_store dispatching; /* first: the base */
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
	crash_store_base_release(&poly->dispatching.base);
	free(poly);
}

/*
 * Writes go to every member (container_broadcast), reads to the read_from
 * member alone.  Socorro's save_raw_and_processed on a poly called each
 * member's save_raw_and_processed and let the first exception escape, so
 * later members never got the crash; here the processed crash is gathered
 * like every other save.  A poly is no queue: its queue slots are NULL, so
 * new_crashes and ack_crash never get here.
 */
static int poly_dispatch(struct crash_store *store, struct crash_call *call,
			 const struct store_operation *operation)
{
	struct poly_store *poly = poly_from(store);
	if (store_operation_writes(operation->kind))
		return container_broadcast(store, poly->members,
					   poly->member_count, call,
					   operation);
	return store_operation_run(poly->members[poly->read_from], call,
				   operation);
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
	DISPATCHING_STORE_WRITE_SLOTS,
	DISPATCHING_STORE_READ_SLOTS,
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
	if (!poly || dispatching_store_init(&poly->dispatching, &poly_store_ops,
					    node_path, poly_dispatch) < 0) {
		free(poly);
		container_close_members(members, count);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	poly->members = members;
	poly->member_count = count;
	poly->read_from = read_from;
	*out = &poly->dispatching.base;
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
