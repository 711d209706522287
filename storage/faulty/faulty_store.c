/*
 * faulty_store.c - a wrapped store with injected failures.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/executor/forwarding_store.h"
#include "storage/faulty/faulty_store.h"
#include "storage/store_config.h"

enum fault_mode {
	FAULT_ALWAYS = 0,
	FAULT_EVERY,
	FAULT_WHILE_FILE_EXISTS,
};

static const char *const fault_mode_names[] = {
	[FAULT_ALWAYS] = "always",
	[FAULT_EVERY] = "every",
	[FAULT_WHILE_FILE_EXISTS] = "while_file_exists",
};

struct fault {
	bool operations[STORE_OP_COUNT];
	int code; /* negative errno */
	bool operational;
	enum fault_mode mode;
	int64_t every;
	char *trigger_file;
	atomic_uint_fast64_t matching_calls;
	atomic_uint_fast64_t injected;
};

struct faulty_store {
	struct forwarding_store forwarding; /* first: the base */
	struct crash_store_ops ops;         /* per instance */
	size_t fault_count;
	struct fault *faults;
};

static const struct {
	const char *name;
	int number;
} errno_names[] = {
	{ "EIO", EIO },
	{ "ENOENT", ENOENT },
	{ "ENOSPC", ENOSPC },
	{ "EDQUOT", EDQUOT },
	{ "EROFS", EROFS },
	{ "EACCES", EACCES },
	{ "EPERM", EPERM },
	{ "EAGAIN", EAGAIN },
	{ "EBUSY", EBUSY },
	{ "EINTR", EINTR },
	{ "EINVAL", EINVAL },
	{ "EFBIG", EFBIG },
	{ "ENOMEM", ENOMEM },
	{ "ENOTSUP", ENOTSUP },
	{ "ENOTEMPTY", ENOTEMPTY },
	{ "EEXIST", EEXIST },
	{ "ESTALE", ESTALE },
	{ "EPIPE", EPIPE },
	{ "ETIMEDOUT", ETIMEDOUT },
	{ "ECONNREFUSED", ECONNREFUSED },
	{ "ECONNRESET", ECONNRESET },
	{ "ECONNABORTED", ECONNABORTED },
	{ "ENOTCONN", ENOTCONN },
	{ "EHOSTUNREACH", EHOSTUNREACH },
	{ "ENETUNREACH", ENETUNREACH },
	{ "ENETDOWN", ENETDOWN },
	{ "EPROTO", EPROTO },
};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

int faulty_errno_parse(const char *name, int *out)
{
	for (size_t i = 0; i < COUNT_OF(errno_names); i++) {
		if (strcmp(errno_names[i].name, name) == 0) {
			*out = errno_names[i].number;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *errno_name(int number)
{
	for (size_t i = 0; i < COUNT_OF(errno_names); i++)
		if (errno_names[i].number == number)
			return errno_names[i].name;
	return NULL;
}

static void faulty_close(struct crash_store *store);
static void faulty_describe(struct crash_store *store, json_t *stats);

static const struct crash_store_ops faulty_store_template = {
	.type_name = "faulty",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = faulty_close,
	.describe = faulty_describe,
	FORWARDING_STORE_SLOTS,
};

/* Checked downcast; the ops table is per instance (forwarding_store.h). */
static struct faulty_store *faulty_store_from(struct crash_store *store)
{
	if (!store || store->ops->close != faulty_close)
		return NULL;
	return (struct faulty_store *)store;
}

static void free_faults(struct fault *faults, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(faults[i].trigger_file);
	free(faults);
}

static void faulty_close(struct crash_store *store)
{
	struct faulty_store *self = faulty_store_from(store);
	crash_store_close(self->forwarding.child);
	free_faults(self->faults, self->fault_count);
	crash_store_base_release(&self->forwarding.dispatching.base);
	free(self);
}

uint64_t faulty_store_injected(struct crash_store *store)
{
	struct faulty_store *self = faulty_store_from(store);
	uint64_t total = 0;
	for (size_t i = 0; self && i < self->fault_count; i++)
		total += atomic_load(&self->faults[i].injected);
	return total;
}

static void faulty_describe(struct crash_store *store, json_t *stats)
{
	struct faulty_store *self = faulty_store_from(store);
	json_t *faults = json_array();
	for (size_t i = 0; faults && i < self->fault_count; i++) {
		struct fault *fault = &self->faults[i];
		json_array_append_new(
			faults,
			json_pack("{s:s, s:i, s:b, s:I}", "mode",
				  fault_mode_names[fault->mode], "errno",
				  -fault->code, "operational",
				  fault->operational, "injected",
				  (json_int_t)atomic_load(&fault->injected)));
	}
	json_object_set_new(stats, "faults", faults);
	json_int_t injected = (json_int_t)faulty_store_injected(store);
	json_object_set_new(stats, "injected", json_integer(injected));
}

static bool fault_fires(struct fault *fault, enum store_operation_kind kind)
{
	if (!fault->operations[kind])
		return false;
	switch (fault->mode) {
	case FAULT_EVERY: {
		uint64_t call_number = atomic_fetch_add(&fault->matching_calls,
							1) + 1;
		return call_number % (uint64_t)fault->every == 0;
	}
	case FAULT_WHILE_FILE_EXISTS:
		return access(fault->trigger_file, F_OK) == 0;
	default:
		return true;
	}
}

static int inject(struct faulty_store *self, struct crash_call *call,
		  const struct fault *fault,
		  const struct store_operation *operation)
{
	const char *node_path = self->forwarding.dispatching.base.node_path;
	char what[128], why[64];
	const char *name = errno_name(-fault->code);
	char number[24];

	if (!name) {
		snprintf(number, sizeof number, "errno %d", -fault->code);
		name = number;
	}
	store_operation_describe(operation, what, sizeof what);
	if (fault->mode == FAULT_EVERY)
		snprintf(why, sizeof why, "every %lld calls",
			 (long long)fault->every);
	else if (fault->mode == FAULT_WHILE_FILE_EXISTS)
		snprintf(why, sizeof why, "trigger file present");
	else
		snprintf(why, sizeof why, "always");
	if (fault->operational)
		return crash_error_set_operational(
			&call->error, fault->code,
			"%s: injected fault: %s fails with %s (%s)",
			node_path, what, name, why);
	return crash_error_set(&call->error, fault->code,
			       "%s: injected fault: %s fails with %s (%s)",
			       node_path, what, name, why);
}

static int faulty_forward(struct forwarding_store *forwarding,
			  struct crash_call *call,
			  const struct store_operation *operation)
{
	struct faulty_store *self = (struct faulty_store *)forwarding;
	for (size_t i = 0; i < self->fault_count; i++) {
		struct fault *fault = &self->faults[i];
		if (fault_fires(fault, operation->kind)) {
			atomic_fetch_add(&fault->injected, 1);
			return inject(self, call, fault, operation);
		}
	}
	return store_operation_run(forwarding->child, call, operation);
}

/* -- configuration ------------------------------------------------------ */

static int parse_operations(const json_t *value, const char *path,
			    struct fault *fault, struct crash_error *error)
{
	if (json_is_string(value) &&
	    strcmp(json_string_value(value), "*") == 0) {
		for (int kind = 0; kind < STORE_OP_COUNT; kind++)
			fault->operations[kind] = true;
		return 0;
	}
	if (!json_is_array(value) || json_array_size(value) == 0)
		return crash_error_set(error, -EINVAL,
				       "%s: must be \"*\" or a non-empty array "
				       "of operation names",
				       path);
	size_t index;
	json_t *item;
	json_array_foreach(value, index, item) {
		const char *name = json_string_value(item);
		enum store_operation_kind kind;
		if (name && strcmp(name, "*") == 0) {
			for (int k = 0; k < STORE_OP_COUNT; k++)
				fault->operations[k] = true;
			continue;
		}
		if (!name || store_operation_parse(name, &kind) < 0)
			return crash_error_set(error, -EINVAL,
					       "%s[%zu]: unknown operation "
					       "'%s' "
					       "(save_raw_crash, save_dump, "
					       "save_processed, remove, ..., "
					       "or \"*\")",
					       path, index,
					       name ? name : "(not a string)");
		fault->operations[kind] = true;
	}
	return 0;
}

static int parse_errno(const json_t *node, const char *path,
		       struct fault *fault, struct crash_error *error)
{
	const json_t *value = json_object_get(node, "errno");
	int number = EIO;

	if (json_is_integer(value)) {
		json_int_t given = json_integer_value(value);
		if (given <= 0 || given > 4095)
			return crash_error_set(error, -EINVAL,
					       "%s.errno: %lld is not an errno "
					       "number",
					       path, (long long)given);
		number = (int)given;
	} else if (json_is_string(value)) {
		if (faulty_errno_parse(json_string_value(value), &number) < 0)
			return crash_error_set(error, -EINVAL,
					       "%s.errno: unknown errno name "
					       "'%s'",
					       path, json_string_value(value));
	} else if (value) {
		return crash_error_set(error, -EINVAL,
				       "%s.errno: must be a name like \"EIO\" "
				       "or a number",
				       path);
	}
	fault->code = -number;
	return 0;
}

static int parse_mode(const json_t *node, const char *path,
		      struct fault *fault, struct crash_error *error)
{
	const char *mode = NULL;
	int result = store_config_string(node, path, "mode", "always", &mode,
					 error);
	if (result < 0)
		return result;
	size_t i;
	for (i = 0; i < COUNT_OF(fault_mode_names); i++)
		if (strcmp(fault_mode_names[i], mode) == 0)
			break;
	if (i == COUNT_OF(fault_mode_names))
		return crash_error_set(error, -EINVAL,
				       "%s.mode: unknown mode '%s' (always, "
				       "every, while_file_exists)",
				       path, mode);
	fault->mode = (enum fault_mode)i;
	bool has_every = json_object_get(node, "every") != NULL;
	bool has_trigger = json_object_get(node, "trigger_file") != NULL;
	if (fault->mode == FAULT_EVERY) {
		if (!has_every)
			return crash_error_set(error, -EINVAL,
					       "%s.every: missing (mode "
					       "'every' needs a number of "
					       "calls)",
					       path);
		result = store_config_int(node, path, "every", 1, 1,
					  INT64_MAX, &fault->every, error);
		if (result < 0)
			return result;
	} else if (has_every) {
		return crash_error_set(error, -EINVAL,
				       "%s.every: only used with mode 'every'",
				       path);
	}
	if (fault->mode == FAULT_WHILE_FILE_EXISTS) {
		const char *trigger = NULL;
		result = store_config_string(node, path, "trigger_file", NULL,
					     &trigger, error);
		if (result < 0)
			return result;
		if (!trigger || !*trigger)
			return crash_error_set(error, -EINVAL,
					       "%s.trigger_file: missing (mode "
					       "'while_file_exists' needs a "
					       "path)",
					       path);
		fault->trigger_file = strdup(trigger);
		if (!fault->trigger_file)
			return crash_error_set(error, -ENOMEM,
					       "%s: out of memory", path);
	} else if (has_trigger) {
		return crash_error_set(error, -EINVAL,
				       "%s.trigger_file: only used with mode "
				       "'while_file_exists'",
				       path);
	}
	return 0;
}

static int parse_fault(const json_t *node, const char *path,
		       struct fault *fault, struct crash_error *error)
{
	static const char *const keys[] = { "operations", "errno",
					    "operational", "mode", "every",
					    "trigger_file", NULL };
	char operations_path[STORE_NODE_PATH_MAX + 64];

	if (!json_is_object(node))
		return crash_error_set(error, -EINVAL,
				       "%s: a fault must be a JSON object",
				       path);
	if (json_object_get(node, "type"))
		return crash_error_set(error, -EINVAL,
				       "%s.type: unknown option", path);
	int result = store_config_check_keys(node, path, keys, error);
	if (result < 0)
		return result;
	const json_t *operations = json_object_get(node, "operations");
	snprintf(operations_path, sizeof operations_path, "%s.operations",
		 path);
	if (!operations)
		return crash_error_set(error, -EINVAL,
				       "%s: missing (\"*\" or a list of "
				       "operation names)",
				       operations_path);
	result = parse_operations(operations, operations_path, fault, error);
	if (result >= 0)
		result = parse_errno(node, path, fault, error);
	if (result >= 0)
		result = store_config_bool(node, path, "operational", true,
					   &fault->operational, error);
	if (result >= 0)
		result = parse_mode(node, path, fault, error);
	return result;
}

static int parse_faults(const json_t *faults, const char *node_path,
			struct faulty_store *self, struct crash_error *error)
{
	char path[STORE_NODE_PATH_MAX + 32];

	if (!faults)
		return 0;
	if (!json_is_array(faults))
		return crash_error_set(error, -EINVAL,
				       "%s.faults: must be an array of faults",
				       node_path);
	size_t count = json_array_size(faults);
	if (count == 0)
		return 0;
	self->faults = calloc(count, sizeof self->faults[0]);
	if (!self->faults)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	self->fault_count = count;
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s.faults[%zu]", node_path, i);
		int result = parse_fault(json_array_get(faults, i), path,
					 &self->faults[i], error);
		if (result < 0)
			return result;
	}
	return 0;
}

int faulty_store_new(struct crash_store *child, const json_t *faults,
		     const char *node_path, struct crash_store **out,
		     struct crash_error *error)
{
	*out = NULL;
	struct faulty_store *self = calloc(1, sizeof *self);
	if (!self) {
		crash_store_close(child);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	int result = parse_faults(faults, node_path, self, error);
	if (result < 0) {
		free_faults(self->faults, self->fault_count);
		free(self);
		crash_store_close(child);
		return result;
	}
	forwarding_store_ops_init(&self->ops, &faulty_store_template, child);
	result = forwarding_store_init(&self->forwarding, &self->ops, node_path,
				       child, faulty_forward);
	if (result < 0) {
		free_faults(self->faults, self->fault_count);
		free(self);
		crash_store_close(child);
		return crash_error_set(error, result, "%s: out of memory",
				       node_path);
	}
	*out = &self->forwarding.dispatching.base;
	return 0;
}

int faulty_store_open_json(const json_t *node, const char *node_path,
			   const struct crash_store_env *env,
			   struct crash_store **out, struct crash_error *error)
{
	static const char *const keys[] = { "store", "faults", NULL };
	char child_path[STORE_NODE_PATH_MAX];
	struct crash_store *child = NULL;

	*out = NULL;
	int result = store_config_check_keys(node, node_path, keys, error);
	if (result < 0)
		return result;
	const json_t *child_node = json_object_get(node, "store");
	result = store_registry_member_path(child_path, node_path, "store", -1,
					    error);
	if (result < 0)
		return result;
	if (!child_node)
		return crash_error_set(error, -EINVAL,
				       "%s: missing (the store to wrap)",
				       child_path);
	result = store_registry_open(child_node, child_path, env, &child,
				     error);
	if (result < 0)
		return result;
	return faulty_store_new(child, json_object_get(node, "faults"),
				node_path, out, error);
}
