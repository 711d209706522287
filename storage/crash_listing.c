/*
 * crash_listing.c - pull iterators over a store's listings (see
 * crash_listing.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_listing.h"

void crash_listing_init(struct crash_listing *listing,
			const struct crash_listing_ops *ops,
			struct crash_store *store)
{
	listing->ops = ops;
	listing->store = store;
	listing->partial = false;
}

int crash_listing_next(struct crash_listing *listing, struct crash_call *call,
		       struct crash_listing_entry *entry)
{
	crash_error_clear(&call->error);
	int result = listing->ops->next(listing, call, entry);
	if (result >= 0)
		return result;
	struct crash_store *store = listing->store;
	if (store) {
		atomic_fetch_add(&store->counters.errors, 1);
		if (call->error.code == 0)
			crash_error_set(&call->error, result, "%s: listing: %s",
					store->node_path, strerror(-result));
	}
	return result;
}

void crash_listing_close(struct crash_listing *listing)
{
	if (listing)
		listing->ops->close(listing);
}

int crash_listing_drain(struct crash_listing *listing, struct crash_call *call,
			int (*fn)(void *ctx,
				  const struct crash_listing_entry *entry),
			void *ctx)
{
	struct crash_listing_entry entry;
	int result;
	while ((result = crash_listing_next(listing, call, &entry)) > 0) {
		result = fn(ctx, &entry);
		if (result != 0)
			break;
	}
	crash_listing_close(listing);
	return result;
}

void crash_listing_entry_copy(struct crash_listing_entry *dst,
			      const struct crash_listing_entry *src)
{
	if (dst == src)
		return;
	*dst = *src;
	if (src->part.dump_name == src->dump_name)
		dst->part.dump_name = dst->dump_name;
}

void crash_listing_entry_set_part(struct crash_listing_entry *entry,
				  const char *crash_id,
				  const struct crash_part *part,
				  const struct crash_part_stat *stat)
{
	entry->kind = CRASH_LISTING_PART;
	snprintf(entry->name, sizeof entry->name, "%s", crash_id);
	entry->part = *part;
	if (part->dump_name) {
		snprintf(entry->dump_name, sizeof entry->dump_name, "%s",
			 part->dump_name);
		entry->part.dump_name = entry->dump_name;
	}
	entry->stat = *stat;
}

/* -- collected names ---------------------------------------------------- */

int crash_name_array_add(struct crash_name_array *array, const char *name)
{
	size_t length = strlen(name);
	if (length > CRASH_ID_LENGTH)
		return -ENAMETOOLONG;
	if (array->count == array->capacity) {
		size_t capacity = array->capacity ? 2 * array->capacity : 32;
		void *grown = realloc(array->names,
				      capacity * sizeof array->names[0]);
		if (!grown)
			return -ENOMEM;
		array->names = grown;
		array->capacity = capacity;
	}
	memcpy(array->names[array->count++], name, length + 1);
	return 0;
}

void crash_name_array_release(struct crash_name_array *array)
{
	free(array->names);
	memset(array, 0, sizeof *array);
}

struct names_listing {
	struct crash_listing base; /* first */
	enum crash_listing_kind kind;
	struct crash_name_array array;
	size_t next;
};

static int names_next(struct crash_listing *listing, struct crash_call *call,
		      struct crash_listing_entry *entry)
{
	struct names_listing *self = (struct names_listing *)listing;
	(void)call;
	if (self->next == self->array.count)
		return 0;
	memset(entry, 0, sizeof *entry);
	entry->kind = self->kind;
	memcpy(entry->name, self->array.names[self->next++],
	       sizeof entry->name);
	return 1;
}

static void names_close(struct crash_listing *listing)
{
	struct names_listing *self = (struct names_listing *)listing;
	crash_name_array_release(&self->array);
	free(self);
}

static const struct crash_listing_ops names_listing_ops = {
	.next = names_next,
	.close = names_close,
};

int crash_listing_of_names(struct crash_store *store, struct crash_call *call,
			   enum crash_listing_kind kind,
			   struct crash_name_array *array,
			   struct crash_listing **out)
{
	struct names_listing *self = calloc(1, sizeof *self);
	if (!self) {
		crash_name_array_release(array);
		return crash_error_set(&call->error, -ENOMEM,
				       "%s: out of memory", store->node_path);
	}
	crash_listing_init(&self->base, &names_listing_ops, store);
	self->kind = kind;
	self->array = *array;
	memset(array, 0, sizeof *array);
	*out = &self->base;
	return 0;
}

/* -- the radix directory from list_crashes ------------------------------- */

struct derived_radix {
	struct crash_listing base; /* first */
	char day[CRASH_DAY_LENGTH + 1];
	char prefix[2 * CRASH_RADIX_LEVELS_MAX + 1];
	int level;
	struct crash_id_page page;
	size_t index;
	bool exhausted;
	char last_component[3];
	/* The first entry, taken at open to tell whether the directory
	 * exists (ids under the prefix may all live above it). */
	bool has_pending;
	struct crash_listing_entry pending;
};

/* The next page, after the last id of the current one. */
static int fetch_page(struct derived_radix *self, struct crash_call *call)
{
	char after[CRASH_ID_LENGTH + 1] = "";
	if (self->page.count > 0)
		memcpy(after, self->page.ids[self->page.count - 1],
		       sizeof after);
	int result = crash_store_list_crashes(self->base.store, call, self->day,
					      self->prefix, after, &self->page);
	self->index = 0;
	if (result < 0) {
		self->page.count = 0;
		return result;
	}
	if (self->page.count == 0)
		self->exhausted = true;
	return 0;
}

static int derived_next(struct crash_listing *listing, struct crash_call *call,
			struct crash_listing_entry *entry)
{
	struct derived_radix *self = (struct derived_radix *)listing;
	if (self->has_pending) {
		*entry = self->pending;
		self->has_pending = false;
		return 1;
	}
	for (;;) {
		if (self->index == self->page.count) {
			if (self->exhausted)
				return 0;
			int result = fetch_page(self, call);
			if (result < 0)
				return result;
			continue;
		}
		const char *crash_id = self->page.ids[self->index++];
		int depth = crash_id_depth(crash_id);
		if (depth == self->level) {
			entry->kind = CRASH_LISTING_CRASH;
			memcpy(entry->name, crash_id, CRASH_ID_LENGTH + 1);
			return 1;
		}
		if (depth < self->level)
			continue; /* lives in a directory above this one */
		const char *component = crash_id + 2 * self->level;
		if (memcmp(component, self->last_component, 2) == 0)
			continue;
		memcpy(self->last_component, component, 2);
		entry->kind = CRASH_LISTING_RADIX_DIR;
		memcpy(entry->name, component, 2);
		entry->name[2] = '\0';
		return 1;
	}
}

static void derived_close(struct crash_listing *listing)
{
	free(listing);
}

static const struct crash_listing_ops derived_radix_ops = {
	.next = derived_next,
	.close = derived_close,
};

int crash_listing_derive_radix(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix, struct crash_listing **out)
{
	if (!prefix)
		prefix = "";
	if (!crash_day_is_valid(day) || !crash_radix_prefix_is_valid(prefix))
		return crash_error_set(&call->error, -EINVAL,
				       "%s: not a radix directory: %.16s/%.32s",
				       store->node_path, day ? day : "(null)",
				       prefix);
	struct derived_radix *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(&call->error, -ENOMEM,
				       "%s: out of memory", store->node_path);
	crash_listing_init(&self->base, &derived_radix_ops, store);
	snprintf(self->day, sizeof self->day, "%s", day);
	snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
	self->level = (int)(strlen(prefix) / 2);
	int result = derived_next(&self->base, call, &self->pending);
	if (result == 0)
		result = crash_error_set(&call->error, -ENOENT,
					 "%s: no crash of %s under \"%s\"",
					 store->node_path, day, prefix);
	if (result < 0) {
		free(self);
		return result;
	}
	self->has_pending = true;
	*out = &self->base;
	return 0;
}

/* -- the parts of a radix directory from its crashes ---------------------- */

struct derived_parts {
	struct crash_listing base; /* first */
	struct crash_listing *crashes;
	struct crash_listing_entry *parts; /* of the current crash */
	size_t count, capacity, index;
};

static int collect_part(void *ctx, const struct crash_part *part,
			const struct crash_part_stat *stat)
{
	struct derived_parts *self = ctx;
	if (self->count == self->capacity) {
		size_t capacity = self->capacity ? 2 * self->capacity : 8;
		void *grown = realloc(self->parts,
				      capacity * sizeof self->parts[0]);
		if (!grown)
			return -ENOMEM;
		self->parts = grown;
		self->capacity = capacity;
	}
	/* The crash id is filled in by the caller. */
	crash_listing_entry_set_part(&self->parts[self->count++], "", part,
				     stat);
	return 0;
}

static int derived_parts_next(struct crash_listing *listing,
			      struct crash_call *call,
			      struct crash_listing_entry *entry)
{
	struct derived_parts *self = (struct derived_parts *)listing;
	while (self->index == self->count) {
		struct crash_listing_entry crash;
		int result = crash_listing_next(self->crashes, call, &crash);
		if (result <= 0)
			return result;
		if (crash.kind == CRASH_LISTING_RADIX_DIR) {
			crash_listing_entry_copy(entry, &crash);
			return 1;
		}
		if (crash.kind != CRASH_LISTING_CRASH)
			continue;
		self->count = self->index = 0;
		result = crash_store_list_parts(self->base.store, call,
						crash.name, collect_part, self);
		if (result == -ENOENT)
			continue; /* removed meanwhile */
		if (result < 0)
			return result;
		for (size_t i = 0; i < self->count; i++)
			memcpy(self->parts[i].name, crash.name,
			       sizeof crash.name);
	}
	crash_listing_entry_copy(entry, &self->parts[self->index++]);
	return 1;
}

static void derived_parts_close(struct crash_listing *listing)
{
	struct derived_parts *self = (struct derived_parts *)listing;
	crash_listing_close(self->crashes);
	free(self->parts);
	free(self);
}

static const struct crash_listing_ops derived_parts_ops = {
	.next = derived_parts_next,
	.close = derived_parts_close,
};

int crash_listing_derive_radix_parts(struct crash_store *store,
				     struct crash_call *call, const char *day,
				     const char *prefix,
				     struct crash_listing **out)
{
	struct derived_parts *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(&call->error, -ENOMEM,
				       "%s: out of memory", store->node_path);
	crash_listing_init(&self->base, &derived_parts_ops, store);
	int result = crash_store_open_radix(store, call, day, prefix,
					    &self->crashes);
	if (result < 0) {
		free(self);
		return result;
	}
	*out = &self->base;
	return 0;
}
