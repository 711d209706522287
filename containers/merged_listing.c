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
#include "storage/crash_listing.h"
#include "storage/crash_log.h"
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
	if (found == 0) {
		char what[160];
		store_operation_describe(operation, what, sizeof what);
		return crash_error_set(&call->error, -ENOENT,
				       "%s: %s: not in any of its stores",
				       container->node_path, what);
	}
	crash_error_clear(&call->error);
	return 0;
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

int merged_list_parts(struct crash_store *container,
		      struct crash_store *const *members,
		      const unsigned *part_masks, size_t count,
		      struct crash_call *call, const char *crash_id,
		      crash_part_emit_fn emit, void *ctx)
{
	return list_parts(container, members, part_masks, count, call,
			  crash_id, emit, ctx, NULL);
}

/* -- merged days and radix directories ---------------------------------- */

struct merged_member {
	struct crash_store *store;
	struct crash_listing *listing; /* NULL: nothing (more) from it */
	bool listed;                   /* opened: its entries are known */
	bool single_attempt;
};

struct merged_listing {
	struct crash_listing base; /* first */
	enum store_operation_kind kind;
	char day[CRASH_DAY_LENGTH + 1];
	char prefix[2 * CRASH_RADIX_LEVELS_MAX + 1];
	bool go_on_without_failing; /* run partial */
	size_t count, current;
	struct merged_member members[];
};

static int open_member(const struct merged_listing *self,
		       struct crash_store *member, struct crash_call *call,
		       struct crash_listing **out)
{
	if (self->kind == STORE_OP_OPEN_DAYS)
		return crash_store_open_days(member, call, out);
	return crash_store_open_radix(member, call, self->day, self->prefix,
				      out);
}

/* Does member have what entry names?  A failing lookup says no: the
 * entry is shown (at worst twice) rather than lost. */
static bool member_has(const struct merged_listing *self,
		       const struct merged_member *member,
		       struct crash_call *call,
		       const struct crash_listing_entry *entry)
{
	char prefix[sizeof self->prefix + sizeof entry->name];
	struct crash_call lookup;
	crash_call_init(&lookup);
	lookup.interrupted = call->interrupted;
	lookup.interrupted_arg = call->interrupted_arg;
	lookup.single_attempt = true;
	lookup.deadline = call->deadline;
	switch (entry->kind) {
	case CRASH_LISTING_DAY:
		return crash_store_stat_radix_dir(member->store, &lookup,
						  entry->name, "", NULL) == 0;
	case CRASH_LISTING_RADIX_DIR:
		snprintf(prefix, sizeof prefix, "%s%s", self->prefix,
			 entry->name);
		return crash_store_stat_radix_dir(member->store, &lookup,
						  self->day, prefix,
						  NULL) == 0;
	case CRASH_LISTING_CRASH:
		return crash_store_stat_crash(member->store, &lookup,
					      entry->name, NULL) == 0;
	case CRASH_LISTING_PART:
		break; /* containers derive part listings */
	}
	return false;
}

static bool listed_before(const struct merged_listing *self, size_t index,
			  struct crash_call *call,
			  const struct crash_listing_entry *entry)
{
	for (size_t i = 0; i < index; i++)
		if (self->members[i].listed &&
		    member_has(self, &self->members[i], call, entry))
			return true;
	return false;
}

static void leave_out_midway(struct merged_listing *self,
			     struct merged_member *member,
			     const struct crash_call *call)
{
	struct crash_store *container = self->base.store;
	self->base.partial = true;
	atomic_fetch_add(&container->counters.partial_listings, 1);
	crash_log(CRASH_LOG_WARNING,
		  "%s: listing goes on without %s, which failed: %s",
		  container->node_path, member->store->node_path,
		  call->error.message);
	crash_listing_close(member->listing);
	member->listing = NULL;
}

static int merged_next(struct crash_listing *listing, struct crash_call *call,
		       struct crash_listing_entry *entry)
{
	struct merged_listing *self = (struct merged_listing *)listing;
	while (self->current < self->count) {
		struct merged_member *member = &self->members[self->current];
		if (!member->listing) {
			self->current++;
			continue;
		}
		bool single_attempt = call->single_attempt;
		call->single_attempt = single_attempt || member->single_attempt;
		int result = crash_listing_next(member->listing, call, entry);
		call->single_attempt = single_attempt;
		if (result < 0) {
			if (!self->go_on_without_failing || result == -EINTR ||
			    result == -ENOMEM)
				return result;
			leave_out_midway(self, member, call);
			continue;
		}
		if (result == 0) {
			crash_listing_close(member->listing);
			member->listing = NULL;
			self->current++;
			continue;
		}
		if (!listed_before(self, self->current, call, entry))
			return 1;
	}
	return 0;
}

static void merged_close(struct crash_listing *listing)
{
	struct merged_listing *self = (struct merged_listing *)listing;
	for (size_t i = 0; i < self->count; i++)
		crash_listing_close(self->members[i].listing);
	free(self);
}

static const struct crash_listing_ops merged_listing_ops = {
	.next = merged_next,
	.close = merged_close,
};

static bool leaves_out(const struct merged_listing_partial *partial,
		       int result)
{
	return partial && result != -EINTR && result != -ENOMEM;
}

/* Opens every member's listing (so that a member failing is known now,
 * for the caller's policy), then hands the merged listing out. */
static int open_merged(struct crash_store *container,
		       struct crash_store *const *members, size_t count,
		       struct crash_call *call,
		       const struct store_operation *op,
		       struct merged_listing_partial *partial)
{
	struct store_failures failures;
	size_t tried = 0, found = 0;
	int result = 0;

	struct merged_listing *self =
		calloc(1, sizeof *self + count * sizeof self->members[0]);
	if (!self)
		return crash_error_set(&call->error, -ENOMEM,
				       "%s: out of memory",
				       container->node_path);
	crash_listing_init(&self->base, &merged_listing_ops, container);
	self->kind = op->kind;
	self->go_on_without_failing = partial != NULL;
	self->count = count;
	if (op->kind == STORE_OP_OPEN_RADIX) {
		snprintf(self->day, sizeof self->day, "%s", op->day);
		snprintf(self->prefix, sizeof self->prefix, "%s",
			 op->prefix ? op->prefix : "");
	}
	store_failures_init(&failures);
	if (partial)
		partial->left_out_members = 0;
	for (size_t i = 0; i < count; i++) {
		struct merged_member *member = &self->members[i];
		member->store = members[i];
		if (!store_operation_available(members[i], op->kind))
			continue;
		tried++;
		member->single_attempt =
			partial && i < MERGED_LISTING_MEMBERS_MAX &&
			(partial->single_attempt_members & (1u << i));
		bool single_attempt = call->single_attempt;
		call->single_attempt = single_attempt || member->single_attempt;
		result = open_member(self, members[i], call, &member->listing);
		call->single_attempt = single_attempt;
		if (result == 0) {
			member->listed = true;
			found++;
			continue;
		}
		if (result == -ENOENT)
			continue;
		if (!leaves_out(partial, result))
			goto fail;
		/* Left out: the others may still answer. */
		store_failures_add(&failures, members[i], &call->error);
		if (i < MERGED_LISTING_MEMBERS_MAX)
			partial->left_out_members |= 1u << i;
		if (partial->left_out)
			partial->left_out(partial->ctx, i, result,
					  &call->error);
	}
	if (tried == 0) {
		result = container_no_member_can(container, call, -ENOTSUP, op);
		goto fail;
	}
	if (found == 0) {
		char what[160];
		store_operation_describe(op, what, sizeof what);
		if (failures.count > 0)
			result = store_failures_report(
				&failures, container, call,
				failures.common_code ? failures.common_code
						     : -EIO,
				what);
		else
			result = crash_error_set(&call->error, -ENOENT,
						 "%s: %s: not in any of its "
						 "stores",
						 container->node_path, what);
		goto fail;
	}
	self->base.partial = failures.count > 0;
	crash_error_clear(&call->error);
	*op->listing_out = &self->base;
	return 0;
fail:
	merged_close(&self->base);
	return result;
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
	case STORE_OP_OPEN_DAYS:
	case STORE_OP_OPEN_RADIX:
		return open_merged(container, members, count, call, op,
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
