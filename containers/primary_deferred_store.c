/*
 * primary_deferred_store.c - route by predicate; one module for both
 * primary_deferred and primary_deferred_processed (processed != NULL).
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "containers/container_core.h"
#include "containers/merged_listing.h"
#include "containers/primary_deferred_store.h"
#include "storage/crash_log.h"
#include "storage/crash_part.h"
#include "storage/store_config.h"

enum { PRIMARY = 0, DEFERRED = 1, PROCESSED = 2 };

struct primary_deferred_store {
	struct dispatching_store dispatching; /* first: the base */
	struct crash_store *members[3]; /* PROCESSED: NULL unless _processed */
	size_t member_count;            /* 2 or 3 */
	struct predicate *predicate;
};

static struct primary_deferred_store *from(struct crash_store *store)
{
	struct primary_deferred_store *self =
		crash_store_downcast(store, &primary_deferred_store_ops);
	if (!self)
		self = crash_store_downcast(
			store, &primary_deferred_processed_store_ops);
	return self;
}

static bool has_processed_store(const struct primary_deferred_store *self)
{
	return self->member_count == 3;
}

/* True if this part lives in the processed store only. */
static bool processed_part(const struct primary_deferred_store *self,
			   const struct crash_part *part)
{
	return has_processed_store(self) && part->type == CRASH_PART_PROCESSED;
}

static void pd_close(struct crash_store *store)
{
	struct primary_deferred_store *self = from(store);
	/* All members, the processed store too: Socorro's close left it
	 * open. */
	for (size_t i = 0; i < self->member_count; i++)
		crash_store_close(self->members[i]);
	predicate_free(self->predicate);
	crash_store_base_release(&self->dispatching.base);
	free(self);
}

/* -- moving dumps saved before their raw crash -------------------------- */

struct found_parts {
	struct crash_part parts[64];
	char names[64][CRASH_DUMP_NAME_MAX + 1];
	size_t count;
	bool truncated;
};

static int collect_part(void *ctx, const struct crash_part *part,
			const struct crash_part_stat *stat)
{
	struct found_parts *found = ctx;
	if (part->type != CRASH_PART_DUMP)
		return 0; /* raw and processed crashes are routed apart */
	if (found->count == sizeof found->parts / sizeof found->parts[0]) {
		found->truncated = true;
		return 0;
	}
	struct crash_part *copy = &found->parts[found->count];
	*copy = *part;
	if (part->dump_name) {
		snprintf(found->names[found->count], sizeof found->names[0],
			 "%s", part->dump_name);
		copy->dump_name = found->names[found->count];
	}
	found->count++;
	return 0;
}

/* True if target has the part already (then it is left alone in both:
 * if primary and deferred were the same store, moving would delete it). */
static bool target_has(struct crash_store *target, struct crash_call *call,
		       const char *crash_id, const struct crash_part *part)
{
	struct crash_part_stat stat;
	return crash_store_stat_part(target, call, crash_id, part, &stat) !=
	       -ENOENT;
}

/* Copies one dump from source to target. */
static int copy_dump(struct crash_call *call, const char *crash_id,
		     const struct crash_part *part, struct crash_store *source,
		     struct crash_store *target)
{
	struct crash_part_stat stat;
	int fd = -1;
	int result = crash_store_open_part(source, call, crash_id, part, &stat,
					   &fd);
	if (result < 0)
		return result;
	struct crash_dump dump = {
		.dump_name = part->dump_name,
		.blob = { .fd = fd, .size = stat.size, .mtime = stat.mtime },
	};
	result = crash_store_save_dump(target, call, crash_id, &dump);
	close(fd);
	return result;
}

/*
 * After the raw crash went to target: dumps of the same crash that were
 * saved into the other store before it (rsync and cp commit <id>.dump
 * before <id>.json, and save_dump goes to the primary while no raw crash
 * exists) are moved to target, so Socorro's consumers of either store see
 * whole crashes.  Only parts target lacks are moved.  Best effort: a
 * failure is logged and the parts stay where they are, still visible
 * through this container.
 */
static void gather_parts(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, struct crash_store *target,
			 struct crash_store *other)
{
	struct found_parts found = { .count = 0 };
	struct crash_call inner;

	if (!crash_store_can(other, list_parts))
		return;
	crash_call_init(&inner);
	inner.interrupted = call->interrupted;
	inner.interrupted_arg = call->interrupted_arg;
	inner.single_attempt = call->single_attempt;
	int result = crash_store_list_parts(other, &inner, crash_id,
					    collect_part, &found);
	if (result == -ENOENT || result == -ENOTSUP)
		return;
	if (result < 0)
		goto failed;
	for (size_t i = 0; i < found.count; i++) {
		const struct crash_part *part = &found.parts[i];
		if (target_has(target, &inner, crash_id, part))
			continue;
		result = copy_dump(&inner, crash_id, part, other, target);
		if (result < 0)
			goto failed;
		result = crash_store_remove_part(other, &inner, crash_id, part);
		if (result < 0 && result != -ENOENT)
			goto failed;
	}
	if (found.truncated)
		crash_log(CRASH_LOG_ERROR,
			  "%s: crash %s has more than %zu parts in %s; the "
			  "rest stay there",
			  store->node_path, crash_id,
			  sizeof found.parts / sizeof found.parts[0],
			  other->node_path);
	return;
failed:
	crash_log(CRASH_LOG_ERROR,
		  "%s: crash %s saved in %s, but moving its other parts from "
		  "%s failed (they stay there): %s",
		  store->node_path, crash_id, target->node_path,
		  other->node_path, inner.error.message);
}

static bool same_version(const struct crash_part_stat *a,
			 const struct crash_part_stat *b)
{
	return a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/*
 * After the raw crash went to target: a raw crash of the same id in the
 * other store is an older version routed the other way (legacy_processing
 * changed), which reads would still find first in the primary and the
 * other store's consumers would process.  It is removed, best effort and
 * logged.  One with the very size and mtime of the new version is left
 * alone: it is the same file (both members over one directory) or the
 * same bytes.
 */
static void drop_stale_raw_crash(struct crash_store *store,
				 struct crash_call *call, const char *crash_id,
				 struct crash_store *target,
				 struct crash_store *other)
{
	const struct crash_part raw = { .type = CRASH_PART_RAW_CRASH };
	struct crash_part_stat saved, stale;
	struct crash_call inner;

	if (!crash_store_can(other, stat_part) ||
	    !crash_store_can(other, remove_part) ||
	    !crash_store_can(target, stat_part))
		return;
	crash_call_init(&inner);
	inner.interrupted = call->interrupted;
	inner.interrupted_arg = call->interrupted_arg;
	inner.single_attempt = call->single_attempt;
	int result = crash_store_stat_part(other, &inner, crash_id, &raw,
					   &stale);
	if (result == -ENOENT)
		return;
	if (result == 0)
		result = crash_store_stat_part(target, &inner, crash_id, &raw,
					       &saved);
	if (result == 0 && same_version(&saved, &stale))
		return;
	if (result == 0)
		result = crash_store_remove_part(other, &inner, crash_id, &raw);
	if (result < 0 && result != -ENOENT)
		crash_log(CRASH_LOG_ERROR,
			  "%s: crash %s saved in %s, but its older raw crash "
			  "in %s could not be removed: %s",
			  store->node_path, crash_id, target->node_path,
			  other->node_path, inner.error.message);
}

/* -- saves -------------------------------------------------------------- */

static int save_raw_crash(struct crash_store *store, struct crash_call *call,
			  const struct store_operation *operation)
{
	struct primary_deferred_store *self = from(store);
	const char *crash_id = operation->crash_id;
	const json_t *document = NULL;
	json_t *owned = NULL;

	int result = container_blob_document(store, operation->blob, call,
					     &document, &owned);
	if (result < 0)
		return result;
	bool defer = predicate_eval(self->predicate, document);
	json_decref(owned);
	struct crash_store *target = self->members[defer ? DEFERRED : PRIMARY];
	struct crash_store *other = self->members[defer ? PRIMARY : DEFERRED];
	result = store_operation_run(target, call, operation);
	if (result < 0)
		return result;
	gather_parts(store, call, crash_id, target, other);
	drop_stale_raw_crash(store, call, crash_id, target, other);
	return result;
}

/* Where the crash's raw crash is: 0 and *target, or a failure. */
static int raw_crash_home(struct primary_deferred_store *self,
			  struct crash_call *call, const char *crash_id,
			  struct crash_store **target)
{
	struct crash_part raw = { .type = CRASH_PART_RAW_CRASH };
	struct crash_part_stat stat;

	for (int i = PRIMARY; i <= DEFERRED; i++) {
		struct crash_store *member = self->members[i];
		if (!crash_store_can(member, stat_part))
			continue;
		int result = crash_store_stat_part(member, call, crash_id,
						   &raw, &stat);
		if (result == 0) {
			*target = member;
			return 0;
		}
		if (result != -ENOENT)
			return result;
	}
	crash_error_clear(&call->error);
	*target = self->members[PRIMARY];
	return 0;
}

/* A dump goes where its raw crash is. */
static int save_dump(struct crash_store *store, struct crash_call *call,
		     const struct store_operation *operation)
{
	struct crash_store *target = NULL;
	int result = raw_crash_home(from(store), call, operation->crash_id,
				    &target);
	if (result < 0)
		return result;
	return store_operation_run(target, call, operation);
}

static int save_processed(struct crash_store *store, struct crash_call *call,
			  const struct store_operation *operation)
{
	struct primary_deferred_store *self = from(store);
	const struct crash_blob *processed = operation->blob;
	struct crash_store *target = self->members[PRIMARY];

	if (has_processed_store(self))
		target = self->members[PROCESSED];
	else if (processed && processed->json &&
		 predicate_eval(self->predicate, processed->json))
		target = self->members[DEFERRED];
	return store_operation_run(target, call, operation);
}

/* -- removes ------------------------------------------------------------ */

/* A part operation: the processed store for a processed part of a
 * primary_deferred_processed, else primary and deferred. */
static int to_part_home(struct crash_store *store, struct crash_call *call,
			const struct store_operation *operation)
{
	struct primary_deferred_store *self = from(store);
	if (processed_part(self, operation->part))
		return store_operation_run(self->members[PROCESSED], call,
					   operation);
	return container_broadcast(store, self->members, 2, call, operation);
}

/* -- reads -------------------------------------------------------------- */

static int read_part(struct crash_store *store, struct crash_call *call,
		     const struct store_operation *operation)
{
	struct primary_deferred_store *self = from(store);
	if (processed_part(self, operation->part))
		return store_operation_run(self->members[PROCESSED], call,
					   operation);
	return container_first_found(store, self->members, 2, call,
				     operation);
}

/* Part masks for merged listings: the processed store of a
 * primary_deferred_processed holds the processed crash alone, primary and
 * deferred everything else.  NULL (all parts from every member) without a
 * processed store. */
static const unsigned *
listing_part_masks(const struct primary_deferred_store *self)
{
	enum { RAW_AND_DUMPS = (1u << CRASH_PART_RAW_CRASH) |
			       (1u << CRASH_PART_DUMP) };
	static const unsigned with_processed_store[3] = {
		RAW_AND_DUMPS, RAW_AND_DUMPS, 1u << CRASH_PART_PROCESSED
	};
	return has_processed_store(self) ? with_processed_store : NULL;
}

/* -- dispatch, introspection ------------------------------------------- */

static int pd_dispatch(struct crash_store *store, struct crash_call *call,
		       const struct store_operation *operation)
{
	struct primary_deferred_store *self = from(store);
	switch (operation->kind) {
	case STORE_OP_SAVE_RAW_CRASH:
		return save_raw_crash(store, call, operation);
	case STORE_OP_SAVE_DUMP:
		return save_dump(store, call, operation);
	case STORE_OP_SAVE_PROCESSED:
		return save_processed(store, call, operation);
	case STORE_OP_REMOVE:
	case STORE_OP_REMOVE_RADIX_DIR:
	case STORE_OP_SET_DIR_MTIME:
		return container_broadcast(store, self->members,
					   self->member_count, call,
					   operation);
	case STORE_OP_REMOVE_PART:
	case STORE_OP_SET_PART_MTIME:
		return to_part_home(store, call, operation);
	case STORE_OP_STAT_CRASH:
	case STORE_OP_STAT_RADIX_DIR:
		return container_first_found(store, self->members,
					     self->member_count, call,
					     operation);
	case STORE_OP_STAT_PART:
	case STORE_OP_OPEN_PART:
		return read_part(store, call, operation);
	case STORE_OP_LIST_PARTS:
	case STORE_OP_OPEN_DAYS:
	case STORE_OP_OPEN_RADIX:
		return merged_listing_run(store, self->members,
					  listing_part_masks(self),
					  self->member_count, call, operation);
	case STORE_OP_NEW_CRASHES:
		/* Socorro: the primary only; deferred crashes are not
		 * processed. */
		return store_operation_run(self->members[PRIMARY], call,
					   operation);
	case STORE_OP_ACK_CRASH:
		return container_ack_crash(store, &self->members[PRIMARY], 1,
					   call, operation->queue_entry);
	case STORE_OP_LIST_CRASHES:
	case STORE_OP_OPEN_RADIX_PARTS:
		break; /* not slots of containers */
	case STORE_OP_COUNT:
		break;
	}
	return store_operation_invalid(call, operation);
}

static void pd_reconnect(struct crash_store *store)
{
	struct primary_deferred_store *self = from(store);
	container_reconnect_members(self->members, self->member_count);
}

static size_t pd_child_count(struct crash_store *store)
{
	return from(store)->member_count;
}

static struct crash_store *pd_child(struct crash_store *store, size_t index)
{
	struct primary_deferred_store *self = from(store);
	return index < self->member_count ? self->members[index] : NULL;
}

static void pd_describe(struct crash_store *store, json_t *stats)
{
	struct primary_deferred_store *self = from(store);
	json_t *predicate = predicate_to_json(self->predicate);
	if (predicate)
		json_object_set_new(stats, "predicate", predicate);
}

#define PRIMARY_DEFERRED_SLOTS \
	.thread_model = CRASH_STORE_PARALLEL, \
	.close = pd_close, \
	DISPATCHING_STORE_WRITE_SLOTS, \
	DISPATCHING_STORE_READ_SLOTS, \
	DISPATCHING_STORE_QUEUE_SLOTS, \
	.reconnect = pd_reconnect, \
	.child_count = pd_child_count, \
	.child = pd_child, \
	.describe = pd_describe

const struct crash_store_ops primary_deferred_store_ops = {
	.type_name = "primary_deferred",
	PRIMARY_DEFERRED_SLOTS,
};

const struct crash_store_ops primary_deferred_processed_store_ops = {
	.type_name = "primary_deferred_processed",
	PRIMARY_DEFERRED_SLOTS,
};

int primary_deferred_store_new(struct crash_store *primary,
			       struct crash_store *deferred,
			       struct crash_store *processed,
			       struct predicate *predicate,
			       const char *node_path, struct crash_store **out,
			       struct crash_error *error)
{
	const struct crash_store_ops *ops =
		processed ? &primary_deferred_processed_store_ops
			  : &primary_deferred_store_ops;

	*out = NULL;
	struct primary_deferred_store *self = calloc(1, sizeof *self);
	if (!self || dispatching_store_init(&self->dispatching, ops, node_path,
					    pd_dispatch) < 0) {
		free(self);
		crash_store_close(primary);
		crash_store_close(deferred);
		crash_store_close(processed);
		predicate_free(predicate);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	self->members[PRIMARY] = primary;
	self->members[DEFERRED] = deferred;
	self->members[PROCESSED] = processed;
	self->member_count = processed ? 3 : 2;
	self->predicate = predicate;
	*out = &self->dispatching.base;
	return 0;
}

static int open_json(const json_t *node, const char *node_path,
		     const struct crash_store_env *env, bool with_processed,
		     struct crash_store **out, struct crash_error *error)
{
	static const char *const keys[] = { "primary", "deferred", "predicate",
					    NULL };
	static const char *const keys_processed[] = {
		"primary", "deferred", "predicate", "processed", NULL
	};
	struct crash_store *members[3] = { NULL, NULL, NULL };
	struct predicate *predicate = NULL;
	char path[CONTAINER_PATH_MAX];

	*out = NULL;
	int result = store_config_check_keys(
		node, node_path, with_processed ? keys_processed : keys, error);
	if (result < 0)
		return result;
	/* The predicate first: a typo in it should not wait for stores to
	 * be opened (and directories created) to be reported. */
	result = container_member_path(path, node_path, "predicate", -1,
				       error);
	if (result >= 0)
		result = predicate_parse(json_object_get(node, "predicate"),
					 path, &predicate, error);
	if (result >= 0)
		result = container_open_member(node, node_path, "primary",
					       "the store for crashes not "
					       "deferred",
					       env, &members[PRIMARY], error);
	if (result >= 0)
		result = container_open_member(node, node_path, "deferred",
					       "the store for deferred crashes",
					       env, &members[DEFERRED], error);
	if (result >= 0 && with_processed)
		result = container_open_member(node, node_path, "processed",
					       "the store for processed "
					       "crashes",
					       env, &members[PROCESSED], error);
	if (result < 0) {
		for (int i = 0; i < 3; i++)
			crash_store_close(members[i]);
		predicate_free(predicate);
		return result;
	}
	return primary_deferred_store_new(members[PRIMARY], members[DEFERRED],
					  members[PROCESSED], predicate,
					  node_path, out, error);
}

int primary_deferred_store_open_json(const json_t *node,
				     const char *node_path,
				     const struct crash_store_env *env,
				     struct crash_store **out,
				     struct crash_error *error)
{
	return open_json(node, node_path, env, false, out, error);
}

int primary_deferred_processed_store_open_json(
	const json_t *node, const char *node_path,
	const struct crash_store_env *env, struct crash_store **out,
	struct crash_error *error)
{
	return open_json(node, node_path, env, true, out, error);
}
