/*
 * forwarding_store.c - store calls as data, the slots that make them, and
 * the wrapper over one child.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/executor/forwarding_store.h"

static const char *const operation_names[STORE_OP_COUNT] = {
	[STORE_OP_SAVE_RAW_CRASH] = "save_raw_crash",
	[STORE_OP_SAVE_DUMP] = "save_dump",
	[STORE_OP_SAVE_PROCESSED] = "save_processed",
	[STORE_OP_REMOVE] = "remove",
	[STORE_OP_REMOVE_PART] = "remove_part",
	[STORE_OP_REMOVE_RADIX_DIR] = "remove_radix_dir",
	[STORE_OP_SET_PART_MTIME] = "set_part_mtime",
	[STORE_OP_SET_DIR_MTIME] = "set_dir_mtime",
	[STORE_OP_STAT_CRASH] = "stat_crash",
	[STORE_OP_STAT_PART] = "stat_part",
	[STORE_OP_OPEN_PART] = "open_part",
	[STORE_OP_LIST_PARTS] = "list_parts",
	[STORE_OP_OPEN_DAYS] = "open_days",
	[STORE_OP_LIST_CRASHES] = "list_crashes",
	[STORE_OP_OPEN_RADIX] = "open_radix",
	[STORE_OP_OPEN_RADIX_PARTS] = "open_radix_parts",
	[STORE_OP_STAT_RADIX_DIR] = "stat_radix_dir",
	[STORE_OP_NEW_CRASHES] = "new_crashes",
	[STORE_OP_ACK_CRASH] = "ack_crash",
};

const char *store_operation_name(enum store_operation_kind kind)
{
	if ((int)kind < 0 || kind >= STORE_OP_COUNT)
		return "?";
	return operation_names[kind];
}

int store_operation_parse(const char *name, enum store_operation_kind *out)
{
	for (int kind = 0; kind < STORE_OP_COUNT; kind++) {
		if (strcmp(operation_names[kind], name) == 0) {
			*out = (enum store_operation_kind)kind;
			return 0;
		}
	}
	return -EINVAL;
}

bool store_operation_emits(enum store_operation_kind kind)
{
	return kind == STORE_OP_LIST_PARTS || kind == STORE_OP_OPEN_DAYS ||
	       kind == STORE_OP_OPEN_RADIX ||
	       kind == STORE_OP_OPEN_RADIX_PARTS || kind == STORE_OP_NEW_CRASHES;
}

bool store_operation_writes(enum store_operation_kind kind)
{
	return kind <= STORE_OP_SET_DIR_MTIME;
}

bool store_operation_available(const struct crash_store *store,
			       enum store_operation_kind kind)
{
	const struct crash_store_ops *ops = store->ops;
	switch (kind) {
	case STORE_OP_SAVE_RAW_CRASH:
		return ops->save_raw_crash != NULL;
	case STORE_OP_SAVE_DUMP:
		return ops->save_dump != NULL;
	case STORE_OP_SAVE_PROCESSED:
		return ops->save_processed != NULL;
	case STORE_OP_REMOVE:
		return ops->remove != NULL;
	case STORE_OP_REMOVE_PART:
		return ops->remove_part != NULL;
	case STORE_OP_REMOVE_RADIX_DIR:
		return ops->remove_radix_dir != NULL;
	case STORE_OP_SET_PART_MTIME:
		return ops->set_part_mtime != NULL;
	case STORE_OP_STAT_CRASH:
		return ops->stat_crash != NULL;
	case STORE_OP_STAT_PART:
		return ops->stat_part != NULL;
	case STORE_OP_OPEN_PART:
		return ops->open_part != NULL;
	case STORE_OP_LIST_PARTS:
		return ops->list_parts != NULL;
	case STORE_OP_OPEN_DAYS:
		return ops->open_days != NULL;
	case STORE_OP_LIST_CRASHES:
		return ops->list_crashes != NULL;
	case STORE_OP_SET_DIR_MTIME:
		return ops->set_dir_mtime != NULL;
	case STORE_OP_OPEN_RADIX:
	case STORE_OP_OPEN_RADIX_PARTS:
	case STORE_OP_STAT_RADIX_DIR:
		/* the wrappers derive them from list_crashes */
		return ops->open_radix != NULL || ops->list_crashes != NULL ||
		       (kind == STORE_OP_STAT_RADIX_DIR &&
			ops->stat_radix_dir != NULL);
	case STORE_OP_NEW_CRASHES:
		return ops->new_crashes != NULL;
	case STORE_OP_ACK_CRASH:
		return ops->ack_crash != NULL;
	default:
		return false;
	}
}

int store_operation_run(struct crash_store *store, struct crash_call *call,
			const struct store_operation *op)
{
	switch (op->kind) {
	case STORE_OP_SAVE_RAW_CRASH:
		return crash_store_save_raw_crash(store, call, op->crash_id,
						  op->blob, op->dumps,
						  op->dump_count);
	case STORE_OP_SAVE_DUMP:
		return crash_store_save_dump(store, call, op->crash_id,
					     op->dumps);
	case STORE_OP_SAVE_PROCESSED:
		return crash_store_save_processed(store, call, op->crash_id,
						  op->blob);
	case STORE_OP_REMOVE:
		return crash_store_remove(store, call, op->crash_id);
	case STORE_OP_REMOVE_PART:
		return crash_store_remove_part(store, call, op->crash_id,
					       op->part);
	case STORE_OP_REMOVE_RADIX_DIR:
		return crash_store_remove_radix_dir(store, call, op->day,
						    op->prefix);
	case STORE_OP_SET_PART_MTIME:
		return crash_store_set_part_mtime(store, call, op->crash_id,
						  op->part, op->mtime);
	case STORE_OP_SET_DIR_MTIME:
		return crash_store_set_dir_mtime(store, call, op->day,
						 op->prefix, op->crash_id,
						 op->mtime);
	case STORE_OP_STAT_CRASH:
		return crash_store_stat_crash(store, call, op->crash_id,
					      op->dir_stat);
	case STORE_OP_STAT_PART:
		return crash_store_stat_part(store, call, op->crash_id,
					     op->part, op->stat);
	case STORE_OP_OPEN_PART:
		return crash_store_open_part(store, call, op->crash_id,
					     op->part, op->stat, op->fd_out);
	case STORE_OP_LIST_PARTS:
		return crash_store_list_parts(store, call, op->crash_id,
					      op->emit_part, op->emit_ctx);
	case STORE_OP_OPEN_DAYS:
		return crash_store_open_days(store, call, op->listing_out);
	case STORE_OP_LIST_CRASHES:
		return crash_store_list_crashes(store, call, op->day,
						op->prefix, op->after,
						op->page);
	case STORE_OP_OPEN_RADIX:
		return crash_store_open_radix(store, call, op->day, op->prefix,
					      op->listing_out);
	case STORE_OP_OPEN_RADIX_PARTS:
		return crash_store_open_radix_parts(store, call, op->day,
						    op->prefix,
						    op->listing_out);
	case STORE_OP_STAT_RADIX_DIR:
		return crash_store_stat_radix_dir(store, call, op->day,
						  op->prefix, op->dir_stat);
	case STORE_OP_NEW_CRASHES:
		return crash_store_new_crashes(store, call, op->emit_queue,
					       op->emit_ctx);
	case STORE_OP_ACK_CRASH:
		return crash_store_ack_crash(store, call, op->queue_entry);
	case STORE_OP_COUNT:
		break;
	}
	return store_operation_invalid(call, op);
}

int store_operation_invalid(struct crash_call *call,
			    const struct store_operation *op)
{
	return crash_error_set(&call->error, -EINVAL,
			       "invalid store operation %d", (int)op->kind);
}

void store_operation_describe(const struct store_operation *op, char *out,
			      size_t out_size)
{
	const char *name = store_operation_name(op->kind);
	switch (op->kind) {
	case STORE_OP_REMOVE_RADIX_DIR:
	case STORE_OP_OPEN_RADIX:
	case STORE_OP_OPEN_RADIX_PARTS:
	case STORE_OP_STAT_RADIX_DIR:
	case STORE_OP_LIST_CRASHES:
		snprintf(out, out_size, "%s %s/%s", name, op->day, op->prefix);
		return;
	case STORE_OP_OPEN_DAYS:
	case STORE_OP_NEW_CRASHES:
		snprintf(out, out_size, "%s", name);
		return;
	case STORE_OP_SET_DIR_MTIME:
		if (op->crash_id)
			snprintf(out, out_size, "%s %s", name, op->crash_id);
		else
			snprintf(out, out_size, "%s %s/%s", name, op->day,
				 op->prefix);
		return;
	case STORE_OP_ACK_CRASH:
		snprintf(out, out_size, "%s %s", name,
			 op->queue_entry ? op->queue_entry->crash_id : "");
		return;
	default:
		snprintf(out, out_size, "%s %s", name,
			 op->crash_id ? op->crash_id : "");
		return;
	}
}

void forwarding_store_ops_init(struct crash_store_ops *ops,
			       const struct crash_store_ops *template_ops,
			       const struct crash_store *child)
{
	const struct crash_store_ops *child_ops = child->ops;

	*ops = *template_ops;
#define KEEP_IF_CHILD_HAS(slot) \
	if (!child_ops->slot) \
		ops->slot = NULL
	KEEP_IF_CHILD_HAS(save_raw_crash);
	KEEP_IF_CHILD_HAS(save_dump);
	KEEP_IF_CHILD_HAS(save_processed);
	KEEP_IF_CHILD_HAS(remove);
	KEEP_IF_CHILD_HAS(remove_part);
	KEEP_IF_CHILD_HAS(remove_radix_dir);
	KEEP_IF_CHILD_HAS(set_part_mtime);
	KEEP_IF_CHILD_HAS(set_dir_mtime);
	KEEP_IF_CHILD_HAS(stat_crash);
	KEEP_IF_CHILD_HAS(stat_part);
	KEEP_IF_CHILD_HAS(open_part);
	KEEP_IF_CHILD_HAS(list_parts);
	KEEP_IF_CHILD_HAS(open_days);
	KEEP_IF_CHILD_HAS(list_crashes);
	KEEP_IF_CHILD_HAS(open_radix);
	KEEP_IF_CHILD_HAS(open_radix_parts);
	KEEP_IF_CHILD_HAS(stat_radix_dir);
	KEEP_IF_CHILD_HAS(new_crashes);
	KEEP_IF_CHILD_HAS(ack_crash);
#undef KEEP_IF_CHILD_HAS
}

int dispatching_store_init(struct dispatching_store *store,
			   const struct crash_store_ops *ops,
			   const char *node_path, store_dispatch_fn dispatch)
{
	int result = crash_store_base_init(&store->base, ops, node_path);
	if (result < 0)
		return result;
	store->dispatch = dispatch;
	return 0;
}

/* Every slot ends here: the store's policy is in its dispatch function. */
static int dispatch_operation(struct crash_store *store,
			      struct crash_call *call,
			      const struct store_operation *op)
{
	struct dispatching_store *self = (struct dispatching_store *)store;
	return self->dispatch(store, call, op);
}

int dispatching_save_raw_crash(struct crash_store *store,
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
	return dispatch_operation(store, call, &op);
}

int dispatching_save_dump(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_dump *dump)
{
	struct store_operation op = { .kind = STORE_OP_SAVE_DUMP,
				      .crash_id = crash_id,
				      .dumps = dump,
				      .dump_count = 1 };
	return dispatch_operation(store, call, &op);
}

int dispatching_save_processed(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *processed)
{
	struct store_operation op = { .kind = STORE_OP_SAVE_PROCESSED,
				      .crash_id = crash_id,
				      .blob = processed };
	return dispatch_operation(store, call, &op);
}

int dispatching_remove(struct crash_store *store, struct crash_call *call,
		       const char *crash_id)
{
	struct store_operation op = { .kind = STORE_OP_REMOVE,
				      .crash_id = crash_id };
	return dispatch_operation(store, call, &op);
}

int dispatching_remove_part(struct crash_store *store,
			    struct crash_call *call, const char *crash_id,
			    const struct crash_part *part)
{
	struct store_operation op = { .kind = STORE_OP_REMOVE_PART,
				      .crash_id = crash_id,
				      .part = part };
	return dispatch_operation(store, call, &op);
}

int dispatching_remove_radix_dir(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix)
{
	struct store_operation op = { .kind = STORE_OP_REMOVE_RADIX_DIR,
				      .day = day,
				      .prefix = prefix };
	return dispatch_operation(store, call, &op);
}

int dispatching_set_part_mtime(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_part *part,
			       const struct timespec *mtime)
{
	struct store_operation op = { .kind = STORE_OP_SET_PART_MTIME,
				      .crash_id = crash_id,
				      .part = part,
				      .mtime = mtime };
	return dispatch_operation(store, call, &op);
}

int dispatching_set_dir_mtime(struct crash_store *store,
			      struct crash_call *call, const char *day,
			      const char *prefix, const char *crash_id,
			      const struct timespec *mtime)
{
	struct store_operation op = { .kind = STORE_OP_SET_DIR_MTIME,
				      .day = day,
				      .prefix = prefix,
				      .crash_id = crash_id,
				      .mtime = mtime };
	return dispatch_operation(store, call, &op);
}

int dispatching_stat_crash(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, struct crash_dir_stat *stat)
{
	struct store_operation op = { .kind = STORE_OP_STAT_CRASH,
				      .crash_id = crash_id,
				      .dir_stat = stat };
	return dispatch_operation(store, call, &op);
}

int dispatching_stat_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat)
{
	struct store_operation op = { .kind = STORE_OP_STAT_PART,
				      .crash_id = crash_id,
				      .part = part,
				      .stat = stat };
	return dispatch_operation(store, call, &op);
}

int dispatching_open_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat, int *fd_out)
{
	struct store_operation op = { .kind = STORE_OP_OPEN_PART,
				      .crash_id = crash_id,
				      .part = part,
				      .stat = stat,
				      .fd_out = fd_out };
	return dispatch_operation(store, call, &op);
}

int dispatching_list_parts(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, crash_part_emit_fn emit,
			   void *ctx)
{
	struct store_operation op = { .kind = STORE_OP_LIST_PARTS,
				      .crash_id = crash_id,
				      .emit_part = emit,
				      .emit_ctx = ctx };
	return dispatch_operation(store, call, &op);
}

int dispatching_open_days(struct crash_store *store, struct crash_call *call,
			  struct crash_listing **out)
{
	struct store_operation op = { .kind = STORE_OP_OPEN_DAYS,
				      .listing_out = out };
	return dispatch_operation(store, call, &op);
}

int dispatching_list_crashes(struct crash_store *store,
			     struct crash_call *call, const char *day,
			     const char *prefix, const char *after,
			     struct crash_id_page *page)
{
	struct store_operation op = { .kind = STORE_OP_LIST_CRASHES,
				      .day = day,
				      .prefix = prefix,
				      .after = after,
				      .page = page };
	return dispatch_operation(store, call, &op);
}

int dispatching_open_radix(struct crash_store *store, struct crash_call *call,
			   const char *day, const char *prefix,
			   struct crash_listing **out)
{
	struct store_operation op = { .kind = STORE_OP_OPEN_RADIX,
				      .day = day,
				      .prefix = prefix,
				      .listing_out = out };
	return dispatch_operation(store, call, &op);
}

int dispatching_open_radix_parts(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix,
				 struct crash_listing **out)
{
	struct store_operation op = { .kind = STORE_OP_OPEN_RADIX_PARTS,
				      .day = day,
				      .prefix = prefix,
				      .listing_out = out };
	return dispatch_operation(store, call, &op);
}

int dispatching_stat_radix_dir(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix, struct crash_dir_stat *stat)
{
	struct store_operation op = { .kind = STORE_OP_STAT_RADIX_DIR,
				      .day = day,
				      .prefix = prefix,
				      .dir_stat = stat };
	return dispatch_operation(store, call, &op);
}

int dispatching_new_crashes(struct crash_store *store, struct crash_call *call,
			    crash_queue_emit_fn emit, void *ctx)
{
	struct store_operation op = { .kind = STORE_OP_NEW_CRASHES,
				      .emit_queue = emit,
				      .emit_ctx = ctx };
	return dispatch_operation(store, call, &op);
}

int dispatching_ack_crash(struct crash_store *store, struct crash_call *call,
			  const struct crash_queue_entry *entry)
{
	struct store_operation op = { .kind = STORE_OP_ACK_CRASH,
				      .crash_id = entry ? entry->crash_id : NULL,
				      .queue_entry = entry };
	return dispatch_operation(store, call, &op);
}

/* A forwarding store's dispatch: the wrapper's forward function. */
static int forward_to_wrapper(struct crash_store *store,
			      struct crash_call *call,
			      const struct store_operation *op)
{
	struct forwarding_store *self = (struct forwarding_store *)store;
	return self->forward(self, call, op);
}

int forwarding_store_init(struct forwarding_store *store,
			  const struct crash_store_ops *ops,
			  const char *node_path, struct crash_store *child,
			  forwarding_fn forward)
{
	int result = dispatching_store_init(&store->dispatching, ops,
					    node_path, forward_to_wrapper);
	if (result < 0)
		return result;
	store->child = child;
	store->forward = forward;
	return 0;
}

void forwarding_reconnect(struct crash_store *store)
{
	crash_store_reconnect(((struct forwarding_store *)store)->child);
}

size_t forwarding_child_count(struct crash_store *store)
{
	return 1;
}

struct crash_store *forwarding_child(struct crash_store *store, size_t index)
{
	return index == 0 ? ((struct forwarding_store *)store)->child : NULL;
}

bool forwarding_naming(struct crash_store *store,
		       struct crash_store_naming *out)
{
	struct crash_store *child = ((struct forwarding_store *)store)->child;
	if (!child->ops->naming)
		return false;
	return child->ops->naming(child, out);
}
