/*
 * merged_listing.c - listings of several members, each entry once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers/container_core.h"
#include "containers/merged_listing.h"
#include "storage/crash_part.h"
#include "storage/executor/forwarding_store.h"

/* An open-addressing set of strings; grows at half full. */
struct name_set {
	char **slots;
	size_t capacity;
	size_t count;
};

static uint64_t hash_name(const char *name)
{
	uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		hash ^= *c;
		hash *= 1099511628211ULL;
	}
	return hash;
}

static void name_set_free(struct name_set *set)
{
	for (size_t i = 0; i < set->capacity; i++)
		free(set->slots[i]);
	free(set->slots);
	memset(set, 0, sizeof *set);
}

static char **find_slot(char **slots, size_t capacity, const char *name)
{
	size_t index = (size_t)(hash_name(name) & (capacity - 1));
	while (slots[index] && strcmp(slots[index], name) != 0)
		index = (index + 1) & (capacity - 1);
	return &slots[index];
}

static int name_set_grow(struct name_set *set)
{
	size_t capacity = set->capacity ? set->capacity * 2 : 64;
	char **slots = calloc(capacity, sizeof slots[0]);
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < set->capacity; i++)
		if (set->slots[i])
			*find_slot(slots, capacity, set->slots[i]) =
				set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->capacity = capacity;
	return 0;
}

/* 1 if added, 0 if it was there, -ENOMEM. */
static int name_set_add(struct name_set *set, const char *name)
{
	if ((set->count + 1) * 2 > set->capacity && name_set_grow(set) < 0)
		return -ENOMEM;
	char **slot = find_slot(set->slots, set->capacity, name);
	if (*slot)
		return 0;
	*slot = strdup(name);
	if (!*slot)
		return -ENOMEM;
	set->count++;
	return 1;
}

/* One merged listing in progress. */
struct merge {
	struct name_set seen;
	crash_name_emit_fn emit_name;
	crash_radix_emit_fn emit_radix;
	crash_part_emit_fn emit_part;
	void *ctx;
	unsigned part_mask;  /* of the member being listed */
	int stop;            /* what the caller's emit returned to stop */
	bool out_of_memory;
};

/* 1: emit it, 0: seen before, <0: stop the listing. */
static int first_time(struct merge *merge, const char *key)
{
	int added = name_set_add(&merge->seen, key);
	if (added < 0) {
		merge->out_of_memory = true;
		return -ENOMEM;
	}
	return added;
}

static int record_stop(struct merge *merge, int result)
{
	if (result != 0)
		merge->stop = result;
	return result;
}

static int merge_name(void *ctx, const char *name)
{
	struct merge *merge = ctx;
	int fresh = first_time(merge, name);
	if (fresh <= 0)
		return fresh;
	return record_stop(merge, merge->emit_name(merge->ctx, name));
}

static int merge_radix(void *ctx, enum crash_listing_kind kind,
		       const char *name)
{
	struct merge *merge = ctx;
	char key[CRASH_DUMP_NAME_MAX + 64];
	snprintf(key, sizeof key, "%d:%s", (int)kind, name);
	int fresh = first_time(merge, key);
	if (fresh <= 0)
		return fresh;
	return record_stop(merge, merge->emit_radix(merge->ctx, kind, name));
}

static int merge_part(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *stat)
{
	struct merge *merge = ctx;
	char key[CRASH_DUMP_NAME_MAX + 16];
	if (!(merge->part_mask & (1u << part->type)))
		return 0;
	snprintf(key, sizeof key, "%d:%s%s", (int)part->type,
		 part->dump_name ? "=" : "", part->dump_name ? part->dump_name
							     : "");
	int fresh = first_time(merge, key);
	if (fresh <= 0)
		return fresh;
	return record_stop(merge, merge->emit_part(merge->ctx, part, stat));
}

/* Runs operation (whose emitter is one of merge_*) on every member;
 * partial (may be NULL) says whether a failing member ends the listing. */
static int run_merge(struct crash_store *container,
		     struct crash_store *const *members,
		     const unsigned *part_masks, size_t count,
		     struct crash_call *call, struct merge *merge,
		     const struct store_operation *operation,
		     struct merged_listing_partial *partial)
{
	size_t tried = 0, found = 0;
	struct store_failures failures;
	int result = 0;

	store_failures_init(&failures);
	if (partial)
		partial->left_out_members = 0;
	for (size_t i = 0; i < count; i++) {
		if (!store_operation_available(members[i], operation->kind))
			continue;
		tried++;
		merge->part_mask = part_masks ? part_masks[i]
					      : MERGED_PARTS_ALL;
		bool single_attempt = call->single_attempt;
		if (partial && i < MERGED_LISTING_MEMBERS_MAX &&
		    (partial->single_attempt_members & (1u << i)))
			call->single_attempt = true;
		result = store_operation_run(members[i], call, operation);
		call->single_attempt = single_attempt;
		if (merge->out_of_memory) {
			result = crash_error_set(&call->error, -ENOMEM,
						 "%s: out of memory merging "
						 "listings",
						 container->node_path);
			break;
		}
		if (merge->stop != 0 && result == merge->stop)
			break; /* the caller stopped the listing */
		if (result == -ENOENT)
			continue;
		if (result < 0 && partial && result != -EINTR) {
			/* Left out: the others may still answer. */
			store_failures_add(&failures, members[i], &call->error);
			if (i < MERGED_LISTING_MEMBERS_MAX)
				partial->left_out_members |= 1u << i;
			if (partial->left_out)
				partial->left_out(partial->ctx, i, result,
						  &call->error);
			result = 0;
			continue;
		}
		if (result < 0)
			break;
		found++;
	}
	name_set_free(&merge->seen);
	if (result < 0 && result != -ENOENT)
		return result;
	if (merge->stop != 0)
		return merge->stop;
	if (tried == 0)
		return container_no_member_can(container, call, -ENOTSUP,
					       operation);
	if (found == 0 && failures.count > 0) {
		char what[160];
		store_operation_describe(operation, what, sizeof what);
		return store_failures_report(&failures, container, call,
					     failures.common_code
						     ? failures.common_code
						     : -EIO,
					     what);
	}
	if (found == 0 && operation->kind != STORE_OP_LIST_DAYS) {
		char what[160];
		store_operation_describe(operation, what, sizeof what);
		return crash_error_set(&call->error, -ENOENT,
				       "%s: %s: not in any of its stores",
				       container->node_path, what);
	}
	crash_error_clear(&call->error);
	return 0;
}

static int list_days(struct crash_store *container,
		     struct crash_store *const *members, size_t count,
		     struct crash_call *call, crash_name_emit_fn emit,
		     void *ctx, struct merged_listing_partial *partial)
{
	struct merge merge = { .emit_name = emit, .ctx = ctx };
	struct store_operation operation = { .kind = STORE_OP_LIST_DAYS,
					     .emit_name = merge_name,
					     .emit_ctx = &merge };
	return run_merge(container, members, NULL, count, call, &merge,
			 &operation, partial);
}

static int list_radix(struct crash_store *container,
		      struct crash_store *const *members, size_t count,
		      struct crash_call *call, const char *day,
		      const char *prefix, crash_radix_emit_fn emit, void *ctx,
		      struct merged_listing_partial *partial)
{
	struct merge merge = { .emit_radix = emit, .ctx = ctx };
	struct store_operation operation = { .kind = STORE_OP_LIST_RADIX,
					     .day = day,
					     .prefix = prefix,
					     .emit_radix = merge_radix,
					     .emit_ctx = &merge };
	return run_merge(container, members, NULL, count, call, &merge,
			 &operation, partial);
}

static int list_parts(struct crash_store *container,
		      struct crash_store *const *members,
		      const unsigned *part_masks, size_t count,
		      struct crash_call *call, const char *crash_id,
		      crash_part_emit_fn emit, void *ctx,
		      struct merged_listing_partial *partial)
{
	struct merge merge = { .emit_part = emit, .ctx = ctx };
	struct store_operation operation = { .kind = STORE_OP_LIST_PARTS,
					     .crash_id = crash_id,
					     .emit_part = merge_part,
					     .emit_ctx = &merge };
	return run_merge(container, members, part_masks, count, call, &merge,
			 &operation, partial);
}

int merged_list_days(struct crash_store *container,
		     struct crash_store *const *members, size_t count,
		     struct crash_call *call, crash_name_emit_fn emit,
		     void *ctx)
{
	return list_days(container, members, count, call, emit, ctx, NULL);
}

int merged_list_radix(struct crash_store *container,
		      struct crash_store *const *members, size_t count,
		      struct crash_call *call, const char *day,
		      const char *prefix, crash_radix_emit_fn emit, void *ctx)
{
	return list_radix(container, members, count, call, day, prefix, emit,
			  ctx, NULL);
}

int merged_list_parts(struct crash_store *container,
		      struct crash_store *const *members,
		      const unsigned *part_masks, size_t count,
		      struct crash_call *call, const char *crash_id,
		      crash_part_emit_fn emit, void *ctx)
{
	return list_parts(container, members, part_masks, count, call,
			  crash_id, emit, ctx, NULL);
}

static int run_listing(struct crash_store *container,
		       struct crash_store *const *members,
		       const unsigned *part_masks, size_t count,
		       struct crash_call *call,
		       const struct store_operation *op,
		       struct merged_listing_partial *partial)
{
	switch (op->kind) {
	case STORE_OP_LIST_PARTS:
		return list_parts(container, members, part_masks, count, call,
				  op->crash_id, op->emit_part, op->emit_ctx,
				  partial);
	case STORE_OP_LIST_DAYS:
		return list_days(container, members, count, call,
				 op->emit_name, op->emit_ctx, partial);
	case STORE_OP_LIST_RADIX:
		return list_radix(container, members, count, call, op->day,
				  op->prefix, op->emit_radix, op->emit_ctx,
				  partial);
	default:
		return store_operation_invalid(call, op);
	}
}

int merged_listing_run(struct crash_store *container,
		       struct crash_store *const *members,
		       const unsigned *part_masks, size_t count,
		       struct crash_call *call,
		       const struct store_operation *op)
{
	return run_listing(container, members, part_masks, count, call, op,
			   NULL);
}

int merged_listing_run_partial(struct crash_store *container,
			       struct crash_store *const *members,
			       const unsigned *part_masks, size_t count,
			       struct crash_call *call,
			       const struct store_operation *op,
			       struct merged_listing_partial *partial)
{
	return run_listing(container, members, part_masks, count, call, op,
			   partial);
}
