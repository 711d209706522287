/*
 * retry_store.c - every call into the wrapped store goes through the
 * transaction executor.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage/crash_listing.h"
#include "storage/executor/forwarding_store.h"
#include "storage/executor/retry_store.h"

struct retry_store {
	struct forwarding_store forwarding; /* first: the base */
	struct crash_store_ops ops;         /* per instance, see below */
	struct transaction_executor executor;
};

static void retry_close(struct crash_store *store);
static void retry_describe(struct crash_store *store, json_t *stats);

static const struct crash_store_ops retry_store_template = {
	.type_name = "retry",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = retry_close,
	.describe = retry_describe,
	FORWARDING_STORE_SLOTS,
};

/* Checked downcast; the ops table is per instance (forwarding_store.h). */
static struct retry_store *retry_store_from(struct crash_store *store)
{
	if (!store || store->ops->close != retry_close)
		return NULL;
	return (struct retry_store *)store;
}

const struct transaction_executor *
retry_store_executor(struct crash_store *store)
{
	struct retry_store *self = retry_store_from(store);
	return self ? &self->executor : NULL;
}

static void retry_close(struct crash_store *store)
{
	struct retry_store *self = retry_store_from(store);
	crash_store_close(self->forwarding.child);
	crash_store_base_release(&self->forwarding.dispatching.base);
	free(self);
}

static void retry_describe(struct crash_store *store, json_t *stats)
{
	struct retry_store *self = retry_store_from(store);
	json_t *config = transaction_executor_to_json(&self->executor);
	if (config)
		json_object_update(stats, config);
	json_decref(config);
}

/* One attempt of one operation, and what its listing emitted so far. */
struct retry_attempt {
	struct crash_store *child;
	const struct store_operation *operation;
	struct store_operation counted; /* operation with counting emitters */
	unsigned long emitted;
};

static int count_part(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *stat)
{
	struct retry_attempt *attempt = ctx;
	attempt->emitted++;
	return attempt->operation->emit_part(attempt->operation->emit_ctx,
					     part, stat);
}

static int count_queue_entry(void *ctx, const struct crash_queue_entry *entry)
{
	struct retry_attempt *attempt = ctx;
	attempt->emitted++;
	return attempt->operation->emit_queue(attempt->operation->emit_ctx,
					      entry);
}

static int run_attempt(void *arg, struct crash_call *call)
{
	struct retry_attempt *attempt = arg;
	return store_operation_run(attempt->child, call, &attempt->counted);
}

static void reconnect_child(void *arg)
{
	struct retry_attempt *attempt = arg;
	crash_store_reconnect(attempt->child);
}

static bool nothing_emitted(void *arg)
{
	struct retry_attempt *attempt = arg;
	return attempt->emitted == 0;
}

/*
 * A listing opened through a retry store: until it has handed out its
 * first entry, a failure of the child's listing is retried like any call
 * (the child's listing opened again); after that the caller has seen
 * entries, and a failure is returned (retry_store.h).
 */
struct retry_listing {
	struct crash_listing base; /* first */
	struct retry_store *store;
	struct store_operation operation; /* open_days, open_radix[_parts] */
	char day[CRASH_DAY_LENGTH + 1];
	char prefix[2 * CRASH_RADIX_LEVELS_MAX + 1];
	struct crash_listing *child; /* NULL: to be opened again */
	struct crash_listing_entry *entry;
	bool emitted;
};

static int first_entry_attempt(void *arg, struct crash_call *call)
{
	struct retry_listing *self = arg;
	int result = 0;
	if (!self->child) {
		struct store_operation open = self->operation;
		open.listing_out = &self->child;
		result = store_operation_run(self->store->forwarding.child,
					     call, &open);
		if (result < 0)
			return result;
	}
	result = crash_listing_next(self->child, call, self->entry);
	if (result < 0) {
		crash_listing_close(self->child);
		self->child = NULL;
	}
	return result;
}

static void reconnect_listing_child(void *arg)
{
	struct retry_listing *self = arg;
	crash_store_reconnect(self->store->forwarding.child);
}

static int retry_listing_next(struct crash_listing *listing,
			      struct crash_call *call,
			      struct crash_listing_entry *entry)
{
	struct retry_listing *self = (struct retry_listing *)listing;
	if (self->emitted)
		return crash_listing_next(self->child, call, entry);
	struct crash_store *base = &self->store->forwarding.dispatching.base;
	char what[128];
	store_operation_describe(&self->operation, what, sizeof what);
	self->entry = entry;
	struct transaction transaction = {
		.node_path = base->node_path,
		.what = what,
		.attempt = first_entry_attempt,
		.reconnect = reconnect_listing_child,
		.arg = self,
		.counters = { &base->counters,
			      &self->store->forwarding.child->counters },
	};
	int result = transaction_executor_run(&self->store->executor, call,
					      &transaction);
	if (result > 0)
		self->emitted = true;
	return result;
}

static void retry_listing_close(struct crash_listing *listing)
{
	struct retry_listing *self = (struct retry_listing *)listing;
	crash_listing_close(self->child);
	free(self);
}

static const struct crash_listing_ops retry_listing_ops = {
	.next = retry_listing_next,
	.close = retry_listing_close,
};

/* Opens the child's listing with retries (the first attempt happens at
 * once, so a missing directory is -ENOENT now), then hands out a listing
 * that retries until its first entry. */
static int open_listing(struct retry_store *self, struct crash_call *call,
			const struct store_operation *operation)
{
	struct crash_store *base = &self->forwarding.dispatching.base;
	struct retry_listing *listing = calloc(1, sizeof *listing);
	if (!listing)
		return crash_error_set(&call->error, -ENOMEM,
				       "%s: out of memory", base->node_path);
	crash_listing_init(&listing->base, &retry_listing_ops, base);
	listing->store = self;
	listing->operation = *operation;
	if (operation->day) {
		snprintf(listing->day, sizeof listing->day, "%s",
			 operation->day);
		listing->operation.day = listing->day;
	}
	if (operation->prefix) {
		snprintf(listing->prefix, sizeof listing->prefix, "%s",
			 operation->prefix);
		listing->operation.prefix = listing->prefix;
	}
	struct retry_attempt attempt = { .child = self->forwarding.child,
					 .operation = operation,
					 .counted = *operation };
	attempt.counted.listing_out = &listing->child;
	char what[128];
	store_operation_describe(operation, what, sizeof what);
	struct transaction transaction = {
		.node_path = base->node_path,
		.what = what,
		.attempt = run_attempt,
		.reconnect = reconnect_child,
		.arg = &attempt,
		.counters = { &base->counters,
			      &self->forwarding.child->counters },
	};
	int result = transaction_executor_run(&self->executor, call,
					      &transaction);
	if (result < 0) {
		free(listing);
		return result;
	}
	*operation->listing_out = &listing->base;
	return 0;
}

static int retry_forward(struct forwarding_store *forwarding,
			 struct crash_call *call,
			 const struct store_operation *operation)
{
	if (operation->kind == STORE_OP_OPEN_DAYS ||
	    operation->kind == STORE_OP_OPEN_RADIX ||
	    operation->kind == STORE_OP_OPEN_RADIX_PARTS)
		return open_listing((struct retry_store *)forwarding, call,
				    operation);

	struct retry_store *self = (struct retry_store *)forwarding;
	struct retry_attempt attempt = { .child = forwarding->child,
					 .operation = operation,
					 .counted = *operation };
	char what[128];

	if (store_operation_emits(operation->kind)) {
		attempt.counted.emit_ctx = &attempt;
		if (operation->emit_part)
			attempt.counted.emit_part = count_part;
		if (operation->emit_queue)
			attempt.counted.emit_queue = count_queue_entry;
	}
	store_operation_describe(operation, what, sizeof what);
	struct transaction transaction = {
		.node_path = forwarding->dispatching.base.node_path,
		.what = what,
		.attempt = run_attempt,
		.reconnect = reconnect_child,
		.may_retry = nothing_emitted,
		.arg = &attempt,
		.counters = { &forwarding->dispatching.base.counters,
			      &forwarding->child->counters },
	};
	return transaction_executor_run(&self->executor, call, &transaction);
}

int retry_store_new(struct crash_store *child,
		    const struct transaction_executor *executor,
		    const char *node_path, struct crash_store **out,
		    struct crash_error *error)
{
	*out = NULL;
	struct retry_store *self = calloc(1, sizeof *self);
	if (!self) {
		crash_store_close(child);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	forwarding_store_ops_init(&self->ops, &retry_store_template, child);
	int result = forwarding_store_init(&self->forwarding, &self->ops,
					   node_path, child, retry_forward);
	if (result < 0) {
		free(self);
		crash_store_close(child);
		return crash_error_set(error, result, "%s: out of memory",
				       node_path);
	}
	self->executor = *executor;
	*out = &self->forwarding.dispatching.base;
	return 0;
}

int retry_store_open(struct crash_store *child, const json_t *retry_node,
		     const char *node_path, struct crash_store **out,
		     struct crash_error *error)
{
	struct transaction_executor executor;
	*out = NULL;
	int result = transaction_executor_init_json(&executor, retry_node,
						    node_path, error);
	if (result < 0) {
		crash_store_close(child);
		return result;
	}
	return retry_store_new(child, &executor, node_path, out, error);
}
