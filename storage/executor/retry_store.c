/*
 * retry_store.c - every call into the wrapped store goes through the
 * transaction executor.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

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

static int count_name(void *ctx, const char *name)
{
	struct retry_attempt *attempt = ctx;
	attempt->emitted++;
	return attempt->operation->emit_name(attempt->operation->emit_ctx,
					     name);
}

static int count_radix(void *ctx, enum crash_listing_kind kind,
		       const char *name)
{
	struct retry_attempt *attempt = ctx;
	attempt->emitted++;
	return attempt->operation->emit_radix(attempt->operation->emit_ctx,
					      kind, name);
}

static int count_part(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *stat)
{
	struct retry_attempt *attempt = ctx;
	attempt->emitted++;
	return attempt->operation->emit_part(attempt->operation->emit_ctx,
					     part, stat);
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

static int retry_forward(struct forwarding_store *forwarding,
			 struct crash_call *call,
			 const struct store_operation *operation)
{
	struct retry_store *self = (struct retry_store *)forwarding;
	struct retry_attempt attempt = { .child = forwarding->child,
					 .operation = operation,
					 .counted = *operation };
	char what[128];

	if (store_operation_emits(operation->kind)) {
		attempt.counted.emit_ctx = &attempt;
		if (operation->emit_name)
			attempt.counted.emit_name = count_name;
		if (operation->emit_radix)
			attempt.counted.emit_radix = count_radix;
		if (operation->emit_part)
			attempt.counted.emit_part = count_part;
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
