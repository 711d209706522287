/*
 * store_registry.c - every store type crashfs knows, by its JSON name.
 *
 * The types come from the caller (env->types): the program's composition
 * root lists them, so this file knows none.
 * Two keys are the registry's own, whatever the type: "retry" wraps the
 * node in a retry store, and {"ref": "name"} stands for a node of the
 * top-level "stores" map.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/crash_log.h"
#include "storage/executor/retry_store.h"
#include "storage/executor/transaction_executor.h"
#include "storage/store_registry.h"


/* References deeper than this are refused (and cannot recurse forever). */
#define REF_DEPTH_MAX 32

/* One {"ref": name} being resolved; the chain goes outwards. */
struct store_registry_scope {
	const char *ref_name;
	const struct store_registry_scope *outer;
	int depth;
};

/* The tree one top-level store_registry_open builds: every node of it
 * counts against one bound. */
struct store_registry_tree {
	unsigned nodes;
	unsigned node_max;
};

static void list_type_names(const struct crash_store_type *types, char *out,
			    size_t out_size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; types && types[i].name; i++) {
		if (types[i].missing)
			continue;
		int n = snprintf(out + used, out_size - used, "%s%s",
				 used ? ", " : "", types[i].name);
		if (n < 0 || (size_t)n >= out_size - used)
			break;
		used += (size_t)n;
	}
}

static int path_too_long(struct crash_error *error, const char *parent,
			 const char *key)
{
	/* The reason first: the path may fill the message. */
	return crash_error_set(error, -ENAMETOOLONG,
			       "the store tree is nested too deep: node path "
			       "longer than %d bytes: %s%s%s",
			       STORE_NODE_PATH_MAX - 1, parent, key ? "." : "",
			       key ? key : "");
}

int store_registry_member_path(char out[STORE_NODE_PATH_MAX],
			       const char *parent, const char *key, long index,
			       struct crash_error *error)
{
	int length;
	if (index < 0)
		length = snprintf(out, STORE_NODE_PATH_MAX, "%s.%s", parent,
				  key);
	else
		length = snprintf(out, STORE_NODE_PATH_MAX, "%s.%s[%ld]",
				  parent, key, index);
	if (length < 0 || length >= STORE_NODE_PATH_MAX)
		return path_too_long(error, parent, key);
	return 0;
}

/* One more node for the tree, or the error saying where the bound was
 * passed. */
static int count_node(const char *node_path,
		      const struct crash_store_env *env,
		      struct crash_error *error)
{
	struct store_registry_tree *tree = env->tree;
	if (tree->nodes >= tree->node_max)
		return crash_error_set(error, -EINVAL,
				       "%s: the store tree expands to more "
				       "than %u store nodes ({\"ref\": ...} "
				       "nodes that fan out multiply them)",
				       node_path, tree->node_max);
	tree->nodes++;
	return 0;
}

/* Opens a store of the given type, wrapped in the default retry policy
 * when the type takes it and env has one. */
static int open_typed(const struct crash_store_type *type,
		      const json_t *node, const char *node_path,
		      const struct crash_store_env *env,
		      struct crash_store **out, struct crash_error *error)
{
	struct transaction_executor executor;
	char path[STORE_NODE_PATH_MAX];

	crash_store_open_fn open = type->open;
	int result = count_node(node_path, env, error);
	if (result < 0)
		return result;
	if (!env->default_retry || !type->takes_default_retry)
		return open(node, node_path, env, out, error);
	result = store_registry_member_path(path, node_path, "retry", -1,
					    error);
	if (result < 0)
		return result;
	result = transaction_executor_init_json(&executor, env->default_retry,
						path, error);
	if (result < 0) {
		crash_error_prefix(error, "the default retry policy: ");
		return result;
	}
	if (executor.policy == RETRY_POLICY_NONE)
		return open(node, node_path, env, out, error);
	struct crash_store_env inner = *env;
	struct crash_store *store = NULL;
	inner.default_retry = NULL;
	result = open(node, node_path, &inner, &store, error);
	if (result < 0)
		return result;
	return retry_store_new(store, &executor, path, out, error);
}

static int open_type(const json_t *node, const char *node_path,
		     const struct crash_store_env *env,
		     struct crash_store **out, struct crash_error *error)
{
	const char *type = json_string_value(json_object_get(node, "type"));
	if (!type)
		return crash_error_set(error, -EINVAL,
				       "%s.type: missing (a string naming the "
				       "store type)",
				       node_path);
	for (size_t i = 0; env->types && env->types[i].name; i++) {
		const struct crash_store_type *known = &env->types[i];
		if (strcmp(known->name, type) != 0)
			continue;
		if (known->missing)
			return crash_error_set(error, -EINVAL,
					       "%s.type: store type '%s' is not "
					       "available: %s",
					       node_path, type,
					       known->missing);
		return open_typed(known, node, node_path, env, out, error);
	}
	char known[256];
	list_type_names(env->types, known, sizeof known);
	return crash_error_set(error, -EINVAL,
			       "%s.type: unknown store type '%s' (known: %s)",
			       node_path, type, known);
}

/* "a -> b -> a" for a cycle closing at name. */
static void format_cycle(char *out, size_t out_size,
			 const struct store_registry_scope *scope,
			 const char *name)
{
	const char *chain[REF_DEPTH_MAX + 1];
	int count = 0;
	for (; scope && count < REF_DEPTH_MAX; scope = scope->outer)
		chain[count++] = scope->ref_name;
	size_t used = 0;
	out[0] = '\0';
	for (int i = count - 1; i >= 0; i--) {
		int n = snprintf(out + used, out_size - used, "%s -> ",
				 chain[i]);
		if (n < 0 || (size_t)n >= out_size - used)
			return;
		used += (size_t)n;
	}
	snprintf(out + used, out_size - used, "%s", name);
}

static void list_named_stores(const json_t *named, char *out,
			      size_t out_size)
{
	size_t used = 0;
	const char *key;
	json_t *value;
	out[0] = '\0';
	json_object_foreach((json_t *)named, key, value) {
		int n = snprintf(out + used, out_size - used, "%s%s",
				 used ? ", " : "", key);
		if (n < 0 || (size_t)n >= out_size - used)
			break;
		used += (size_t)n;
	}
}

/* Says in which named store a failure inside a reference happened (the
 * innermost one only). */
static void note_named_store(struct crash_error *error, const char *name)
{
	if (strstr(error->message, " (in stores."))
		return;
	size_t length = strlen(error->message);
	snprintf(error->message + length, sizeof error->message - length,
		 " (in stores.%s)", name);
}

/* {"ref": "name"}: a new instance of the named store, at this place. */
static int open_ref(const json_t *node, const char *node_path,
		    const struct crash_store_env *env,
		    struct crash_store **out, struct crash_error *error)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)node, key, value) {
		if (strcmp(key, "ref") != 0)
			return crash_error_set(error, -EINVAL,
					       "%s.%s: not allowed next to "
					       "\"ref\" (only \"retry\" is)",
					       node_path, key);
	}
	const char *name = json_string_value(json_object_get(node, "ref"));
	if (!name)
		return crash_error_set(error, -EINVAL,
				       "%s.ref: must be the name of a store of "
				       "the top-level \"stores\"",
				       node_path);
	if (!env->named_stores)
		return crash_error_set(error, -EINVAL,
				       "%s.ref: no top-level \"stores\" to "
				       "take '%s' from",
				       node_path, name);
	const json_t *named = json_object_get(env->named_stores, name);
	if (!named) {
		char known[256];
		list_named_stores(env->named_stores, known, sizeof known);
		return crash_error_set(error, -EINVAL,
				       "%s.ref: unknown store '%s' (known: %s)",
				       node_path, name, known);
	}
	for (const struct store_registry_scope *scope = env->scope; scope;
	     scope = scope->outer) {
		if (strcmp(scope->ref_name, name) == 0) {
			char cycle[256];
			format_cycle(cycle, sizeof cycle, env->scope, name);
			return crash_error_set(error, -EINVAL,
					       "%s: reference cycle: %s",
					       node_path, cycle);
		}
	}
	int depth = env->scope ? env->scope->depth + 1 : 1;
	if (depth > REF_DEPTH_MAX)
		return crash_error_set(error, -EINVAL,
				       "%s.ref: references nested deeper than "
				       "%d",
				       node_path, REF_DEPTH_MAX);
	struct store_registry_scope scope = { .ref_name = name,
					      .outer = env->scope,
					      .depth = depth };
	struct crash_store_env inner = *env;
	inner.scope = &scope;
	int result = store_registry_open(named, node_path, &inner, out, error);
	if (result < 0)
		note_named_store(error, name);
	return result;
}

/* "retry": validated, removed from the node, then the store opened
 * without it is wrapped.  No default retry below an explicit one. */
static int open_with_retry(const json_t *node, const json_t *retry,
			   const char *node_path,
			   const struct crash_store_env *env,
			   struct crash_store **out, struct crash_error *error)
{
	struct transaction_executor executor;
	char path[STORE_NODE_PATH_MAX];

	int result = store_registry_member_path(path, node_path, "retry", -1,
						error);
	if (result < 0)
		return result;
	/* A {"ref"} with a retry naming a store with a retry: two retry
	 * stores would wrap one node under one name, and multiply attempts. */
	if (env->retried_path && strcmp(env->retried_path, node_path) == 0)
		return crash_error_set(error, -EINVAL,
				       "%s: the {\"ref\": ...} naming this "
				       "store has a \"retry\" too: retries "
				       "would nest (keep one)",
				       path);
	result = transaction_executor_init_json(&executor, retry, path, error);
	if (result < 0)
		return result;
	json_t *stripped = json_copy((json_t *)node);
	if (!stripped)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	json_object_del(stripped, "retry");
	struct crash_store_env inner = *env;
	struct crash_store *store = NULL;
	inner.default_retry = NULL;
	inner.retried_path = node_path;
	result = store_registry_open(stripped, node_path, &inner, &store,
				     error);
	json_decref(stripped);
	if (result < 0)
		return result;
	return retry_store_new(store, &executor, path, out, error);
}

static int open_node(const json_t *node, const char *node_path,
		     const struct crash_store_env *env,
		     struct crash_store **out, struct crash_error *error)
{
	if (strlen(node_path) >= STORE_NODE_PATH_MAX)
		return path_too_long(error, node_path, NULL);
	if (!json_is_object(node))
		return crash_error_set(error, -EINVAL,
				       "%s: a store must be a JSON object "
				       "with a \"type\"",
				       node_path);
	const json_t *retry = json_object_get(node, "retry");
	if (retry)
		return open_with_retry(node, retry, node_path, env, out, error);
	if (json_object_get(node, "ref"))
		return open_ref(node, node_path, env, out, error);
	return open_type(node, node_path, env, out, error);
}

int store_registry_open(const json_t *node, const char *node_path,
			const struct crash_store_env *env,
			struct crash_store **out, struct crash_error *error)
{
	static const struct crash_store_env no_env;
	*out = NULL;
	if (!env)
		env = &no_env;
	if (env->tree)
		return open_node(node, node_path, env, out, error);
	/* The top of a tree: its nodes count from here. */
	struct store_registry_tree tree = {
		.node_max = env->node_max ? env->node_max
					  : STORE_TREE_NODES_MAX,
	};
	struct crash_store_env top = *env;
	top.tree = &tree;
	return open_node(node, node_path, &top, out, error);
}

/* The top-level "stores": an object of store nodes. */
static int check_named_stores(const char *file_name, const json_t *named,
			      struct crash_error *error)
{
	const char *key;
	json_t *value;
	if (!json_is_object(named))
		return crash_error_set(error, -EINVAL,
				       "%s: stores: must be an object of named "
				       "stores",
				       file_name);
	json_object_foreach((json_t *)named, key, value) {
		if (!json_is_object(value))
			return crash_error_set(error, -EINVAL,
					       "%s: stores.%s: a store must be "
					       "a JSON object",
					       file_name, key);
	}
	return 0;
}

/* {"store": ..., "stores": ...}: the document of a store tree file. */
static int open_document(json_t *root, const char *source_name,
			 const struct crash_store_env *env,
			 struct crash_store **out, struct crash_error *error)
{
	const char *key;
	json_t *value;
	if (!json_is_object(root))
		return crash_error_set(error, -EINVAL,
				       "%s: must be an object {\"store\": "
				       "{...}}",
				       source_name);
	json_object_foreach(root, key, value) {
		if (strcmp(key, "store") != 0 && strcmp(key, "stores") != 0)
			return crash_error_set(error, -EINVAL,
					       "%s: \"%s\": unknown top-level "
					       "key (expected \"store\" and "
					       "optionally \"stores\")",
					       source_name, key);
	}
	struct crash_store_env file_env = *env;
	json_t *named = json_object_get(root, "stores");
	json_t *store_node = json_object_get(root, "store");
	int result = named ? check_named_stores(source_name, named, error) : 0;
	if (result < 0)
		return result;
	if (!store_node)
		return crash_error_set(error, -EINVAL, "%s: no \"store\" object",
				       source_name);
	file_env.named_stores = named;
	return store_registry_open(store_node, "store", &file_env, out, error);
}

int store_registry_open_file(const char *file_name,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error)
{
	static const struct crash_store_env no_env;
	json_error_t json_error;
	*out = NULL;
	if (!env)
		env = &no_env;
	json_t *root = json_load_file(file_name, JSON_REJECT_DUPLICATES,
				      &json_error);
	if (!root)
		return crash_error_set(error, -EINVAL, "%s:%d:%d: %s",
				       file_name, json_error.line,
				       json_error.column, json_error.text);
	/* Messages are formatted before root (and its keys) is freed. */
	int result = open_document(root, file_name, env, out, error);
	json_decref(root);
	return result;
}

int store_registry_open_buffer(const char *text, size_t length,
			       const char *source_name,
			       const struct crash_store_env *env,
			       struct crash_store **out,
			       struct crash_error *error)
{
	static const struct crash_store_env no_env;
	json_error_t json_error;
	*out = NULL;
	if (!env)
		env = &no_env;
	json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES,
				  &json_error);
	if (!root)
		return crash_error_set(error, -EINVAL, "%s:%d:%d: %s",
				       source_name, json_error.line,
				       json_error.column, json_error.text);
	int result = open_document(root, source_name, env, out, error);
	json_decref(root);
	return result;
}
