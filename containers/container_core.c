/*
 * container_core.c - members, aggregate failures, fan-out and fall-through.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containers/container_core.h"
#include "storage/crash_log.h"

int container_member_path(char out[CONTAINER_PATH_MAX], const char *parent,
			  const char *key, long index,
			  struct crash_error *error)
{
	return store_registry_member_path(out, parent, key, index, error);
}

int container_open_member(const json_t *node, const char *node_path,
			  const char *key, const char *role,
			  const struct crash_store_env *env,
			  struct crash_store **out, struct crash_error *error)
{
	char path[CONTAINER_PATH_MAX];

	*out = NULL;
	int result = container_member_path(path, node_path, key, -1, error);
	if (result < 0)
		return result;
	const json_t *member = json_object_get(node, key);
	if (!member)
		return crash_error_set(error, -EINVAL, "%s: missing (%s)",
				       path, role);
	return store_registry_open(member, path, env, out, error);
}

void container_close_members(struct crash_store **members, size_t count)
{
	if (!members)
		return;
	for (size_t i = 0; i < count; i++)
		crash_store_close(members[i]);
	free(members);
}

void container_reconnect_members(struct crash_store *const *members,
				 size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (members[i])
			crash_store_reconnect(members[i]);
}

/* -- aggregate failures ------------------------------------------------- */

void store_failures_init(struct store_failures *failures)
{
	memset(failures, 0, sizeof *failures);
	failures->operational = true;
}

static void append(struct store_failures *failures, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void append(struct store_failures *failures, const char *format, ...)
{
	size_t room = sizeof failures->list - failures->length;
	if (room <= 1)
		return;
	va_list args;
	va_start(args, format);
	int written = vsnprintf(failures->list + failures->length, room,
				format, args);
	va_end(args);
	if (written < 0)
		return;
	failures->length += (size_t)written < room ? (size_t)written : room - 1;
}

void store_failures_add(struct store_failures *failures,
			const struct crash_store *member,
			const struct crash_error *error)
{
	const char *path = member->node_path;
	bool named = strncmp(error->message, path, strlen(path)) == 0;

	if (failures->count == 0)
		failures->common_code = error->code;
	else if (failures->common_code != error->code)
		failures->common_code = 0;
	if (!error->operational)
		failures->operational = false;
	if (failures->count > 0)
		append(failures, "; ");
	if (named)
		append(failures, "%s", error->message);
	else
		append(failures, "%s: %s", path, error->message);
	failures->count++;
}

int store_failures_report(const struct store_failures *failures,
			  const struct crash_store *container,
			  struct crash_call *call, int code, const char *what)
{
	if (failures->operational && failures->count > 0)
		return crash_error_set_operational(&call->error, code,
						   "%s: %s: %s",
						   container->node_path, what,
						   failures->list);
	return crash_error_set(&call->error, code, "%s: %s: %s",
			       container->node_path, what, failures->list);
}

int container_no_member_can(const struct crash_store *container,
			    struct crash_call *call, int code,
			    const struct store_operation *operation)
{
	return crash_error_set(&call->error, code,
			       "%s: no store in this %s can %s",
			       container->node_path, container->ops->type_name,
			       store_operation_name(operation->kind));
}

/* -- blobs several stores take ------------------------------------------ */

bool store_operation_adoptable(const struct store_operation *operation)
{
	if (operation->blob && operation->blob->adoptable)
		return true;
	for (size_t i = 0; operation->dumps && i < operation->dump_count; i++)
		if (operation->dumps[i].blob.adoptable)
			return true;
	return false;
}

int unadoptable_operation_init(struct unadoptable_operation *copy,
			       const struct store_operation *operation,
			       struct crash_call *call)
{
	memset(copy, 0, sizeof *copy);
	copy->operation = *operation;
	if (operation->blob) {
		copy->blob = *operation->blob;
		copy->blob.adoptable = false;
		copy->operation.blob = &copy->blob;
	}
	if (operation->dumps && operation->dump_count > 0) {
		copy->dumps = calloc(operation->dump_count,
				     sizeof copy->dumps[0]);
		if (!copy->dumps)
			return crash_error_set(&call->error, -ENOMEM,
					       "out of memory");
		for (size_t i = 0; i < operation->dump_count; i++) {
			copy->dumps[i] = operation->dumps[i];
			copy->dumps[i].blob.adoptable = false;
		}
		copy->operation.dumps = copy->dumps;
	}
	return 0;
}

void unadoptable_operation_release(struct unadoptable_operation *copy)
{
	free(copy->dumps);
	copy->dumps = NULL;
}

/* -- fan-out ------------------------------------------------------------ */

static bool is_save(enum store_operation_kind kind)
{
	return kind == STORE_OP_SAVE_RAW_CRASH || kind == STORE_OP_SAVE_DUMP ||
	       kind == STORE_OP_SAVE_PROCESSED;
}

/* For removes: the member keeps no such thing at all. */
static bool not_applicable(enum store_operation_kind kind, int result)
{
	return result == -ENOTSUP && (kind == STORE_OP_REMOVE_RADIX_DIR ||
				      kind == STORE_OP_SET_PART_MTIME ||
				      kind == STORE_OP_SET_DIR_MTIME);
}

static int interrupted(struct crash_store *container, struct crash_call *call,
		       const struct store_failures *failures,
		       const char *what)
{
	if (failures->count == 0)
		return crash_error_set(&call->error, -EINTR,
				       "%s: %s: interrupted",
				       container->node_path, what);
	return store_failures_report(failures, container, call, -EINTR,
				     what);
}

/* The last member that takes the operation (the one that may adopt its
 * blobs), or count if none does. */
static size_t last_taker(struct crash_store *const *members, size_t count,
			 enum store_operation_kind kind)
{
	for (size_t i = count; i > 0; i--)
		if (store_operation_available(members[i - 1], kind))
			return i - 1;
	return count;
}

/* A raw crash saved with its dumps: a member that keeps no dumps (a
 * PostgreSQL store, a queue) gets the raw crash alone, the others keep
 * the dumps.  Returns false if no member keeps dumps at all. */
static bool dumps_have_a_keeper(struct crash_store *const *members,
				size_t count,
				const struct store_operation *operation)
{
	if (operation->kind != STORE_OP_SAVE_RAW_CRASH ||
	    operation->dump_count == 0)
		return true;
	for (size_t i = 0; i < count; i++)
		if (store_operation_available(members[i], STORE_OP_SAVE_DUMP))
			return true;
	return false;
}

static const struct store_operation *
operation_for_member(struct crash_store *member,
		     const struct store_operation *operation,
		     struct store_operation *without_dumps)
{
	if (operation->kind != STORE_OP_SAVE_RAW_CRASH ||
	    operation->dump_count == 0 ||
	    store_operation_available(member, STORE_OP_SAVE_DUMP))
		return operation;
	*without_dumps = *operation;
	without_dumps->dumps = NULL;
	without_dumps->dump_count = 0;
	return without_dumps;
}

int container_broadcast(struct crash_store *container,
			struct crash_store *const *members, size_t count,
			struct crash_call *call,
			const struct store_operation *operation)
{
	bool save = is_save(operation->kind);
	size_t tried = 0, done = 0, absent = 0;
	size_t adopter = last_taker(members, count, operation->kind);
	struct store_failures failures;
	struct unadoptable_operation copy;
	char what[160];
	int result;

	store_operation_describe(operation, what, sizeof what);
	if (!dumps_have_a_keeper(members, count, operation))
		return crash_error_set(&call->error, -ENOTSUP,
				       "%s: %s: no store in this %s keeps "
				       "dumps: nothing saved",
				       container->node_path, what,
				       container->ops->type_name);
	result = unadoptable_operation_init(&copy, operation, call);
	if (result < 0)
		return result;
	store_failures_init(&failures);
	for (size_t i = 0; i < count; i++) {
		struct crash_store *member = members[i];
		if (!store_operation_available(member, operation->kind))
			continue;
		/* Socorro's poly called quit_check() before each store. */
		if (tried > 0 && crash_call_interrupted(call)) {
			unadoptable_operation_release(&copy);
			return interrupted(container, call, &failures, what);
		}
		tried++;
		struct store_operation without_dumps;
		result = store_operation_run(
			member, call,
			operation_for_member(member,
					     i == adopter ? operation
							  : &copy.operation,
					     &without_dumps));
		if (result >= 0) {
			done++;
		} else if (result == -EINTR) {
			store_failures_add(&failures, member, &call->error);
			unadoptable_operation_release(&copy);
			return interrupted(container, call, &failures, what);
		} else if (!save && (result == -ENOENT ||
				     not_applicable(operation->kind, result))) {
			absent += result == -ENOENT;
		} else {
			/* The aggregate error lists it: the caller's one
			 * line says it all. */
			crash_log(CRASH_LOG_DEBUG, "%s: %s: member failed, "
				  "going on with the others: %s",
				  container->node_path, what,
				  call->error.message);
			store_failures_add(&failures, member, &call->error);
		}
	}
	unadoptable_operation_release(&copy);
	if (tried == 0)
		return container_no_member_can(
			container, call, save ? -EROFS : -ENOTSUP, operation);
	if (failures.count > 0) {
		int code = -EIO;
		if (!save && failures.common_code)
			code = failures.common_code;
		return store_failures_report(&failures, container, call, code,
					     what);
	}
	crash_error_clear(&call->error);
	if (done > 0 || save)
		return 0;
	if (absent > 0)
		return crash_error_set(&call->error, -ENOENT,
				       "%s: %s: not in any of its stores",
				       container->node_path, what);
	return crash_error_set(&call->error, -ENOTSUP,
			       "%s: %s: no store in it keeps this",
			       container->node_path, what);
}

int container_first_found(struct crash_store *container,
			  struct crash_store *const *members, size_t count,
			  struct crash_call *call,
			  const struct store_operation *operation)
{
	size_t tried = 0;
	char what[160];

	for (size_t i = 0; i < count; i++) {
		struct crash_store *member = members[i];
		if (!store_operation_available(member, operation->kind))
			continue;
		tried++;
		int result = store_operation_run(member, call, operation);
		if (result != -ENOENT)
			return result;
	}
	store_operation_describe(operation, what, sizeof what);
	if (tried == 0)
		return container_no_member_can(container, call, -ENOTSUP,
					       operation);
	if (tried == 1)
		return -ENOENT; /* the member's own message says it */
	return crash_error_set(&call->error, -ENOENT,
			       "%s: %s: not in any of its stores",
			       container->node_path, what);
}

int container_new_crashes(struct crash_store *container,
			  struct crash_store *const *members, size_t count,
			  struct crash_call *call, crash_queue_emit_fn emit,
			  void *ctx)
{
	struct store_operation operation = { .kind = STORE_OP_NEW_CRASHES,
					     .emit_queue = emit,
					     .emit_ctx = ctx };
	size_t queues = 0;

	for (size_t i = 0; i < count; i++) {
		if (!store_operation_available(members[i],
					       STORE_OP_NEW_CRASHES))
			continue;
		queues++;
		int result = store_operation_run(members[i], call, &operation);
		if (result != 0)
			return result; /* a failure, or emit stopped the pass */
	}
	if (queues == 0)
		return crash_error_set(&call->error, -ENOTSUP,
				       "%s: no store in this %s is a queue",
				       container->node_path,
				       container->ops->type_name);
	return 0;
}

int container_ack_crash(struct crash_store *container,
			struct crash_store *const *members, size_t count,
			struct crash_call *call,
			const struct crash_queue_entry *entry)
{
	for (size_t i = 0; i < count; i++)
		if (crash_store_contains(members[i], entry->token.issuer))
			return crash_store_ack_crash(members[i], call, entry);
	return crash_error_set(&call->error, -ENOENT,
			       "%s: crash %s: not an entry of this %s's queue",
			       container->node_path, entry->crash_id,
			       container->ops->type_name);
}

/* -- the raw crash document --------------------------------------------- */

static int read_blob(const struct crash_store *container,
		     const struct crash_blob *blob, struct crash_call *call,
		     char *buffer)
{
	off_t done = 0;
	while (done < blob->size) {
		ssize_t got = pread(blob->fd, buffer + done,
				    (size_t)(blob->size - done), done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return crash_error_set(&call->error, -errno,
					       "%s: reading the raw crash to "
					       "route it: %s",
					       container->node_path,
					       strerror(errno));
		if (got == 0)
			return crash_error_set(&call->error, -EIO,
					       "%s: the raw crash is shorter "
					       "than its size %lld",
					       container->node_path,
					       (long long)blob->size);
		done += got;
	}
	return 0;
}

int container_blob_document(const struct crash_store *container,
			    const struct crash_blob *blob,
			    struct crash_call *call, const json_t **document,
			    json_t **owned)
{
	json_error_t json_error;

	*owned = NULL;
	*document = blob ? blob->json : NULL;
	if (*document)
		return 0;
	if (!blob || blob->fd < 0)
		return crash_error_set(&call->error, -EINVAL,
				       "%s: no raw crash to route",
				       container->node_path);
	if (blob->size > CONTAINER_DOCUMENT_MAX)
		return crash_error_set(&call->error, -EFBIG,
				       "%s: raw crash of %lld bytes is too "
				       "large to route (at most %d)",
				       container->node_path,
				       (long long)blob->size,
				       CONTAINER_DOCUMENT_MAX);
	char *buffer = malloc((size_t)blob->size + 1);
	if (!buffer)
		return crash_error_set(&call->error, -ENOMEM,
				       "%s: out of memory",
				       container->node_path);
	int result = read_blob(container, blob, call, buffer);
	if (result < 0) {
		free(buffer);
		return result;
	}
	json_t *parsed = json_loadb(buffer, (size_t)blob->size, 0,
				    &json_error);
	free(buffer);
	if (!json_is_object(parsed)) {
		json_decref(parsed);
		return crash_error_set(&call->error, -EINVAL,
				       "%s: the raw crash is not a JSON "
				       "object%s%s",
				       container->node_path,
				       parsed ? "" : ": ",
				       parsed ? "" : json_error.text);
	}
	*owned = parsed;
	*document = parsed;
	return 0;
}
