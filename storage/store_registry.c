/*
 * store_registry.c - every store type crashfs knows, by its JSON name.
 *
 * Adding a backend or a container is one line in store_registry_types.
 */
#include <errno.h>
#include <string.h>

#include "storage/crash_log.h"
#include "storage/fs/fs_store.h"
#include "storage/null/null_store.h"
#include "storage/store_registry.h"

const struct crash_store_type store_registry_types[] = {
	{ "fs", fs_store_open_json },
	{ "null", null_store_open_json },
	{ NULL, NULL },
};

static void list_type_names(char *out, size_t out_size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; store_registry_types[i].name; i++) {
		int n = snprintf(out + used, out_size - used, "%s%s",
				 i ? ", " : "", store_registry_types[i].name);
		if (n < 0 || (size_t)n >= out_size - used)
			break;
		used += (size_t)n;
	}
}

int store_registry_open(const json_t *node, const char *node_path,
			const struct crash_store_env *env,
			struct crash_store **out, struct crash_error *error)
{
	*out = NULL;
	if (!json_is_object(node))
		return crash_error_set(error, -EINVAL,
				       "%s: a store must be a JSON object "
				       "with a \"type\"",
				       node_path);
	const char *type = json_string_value(json_object_get(node, "type"));
	if (!type)
		return crash_error_set(error, -EINVAL,
				       "%s.type: missing (a string naming the "
				       "store type)",
				       node_path);
	for (size_t i = 0; store_registry_types[i].name; i++) {
		if (strcmp(store_registry_types[i].name, type) == 0)
			return store_registry_types[i].open(node, node_path,
							    env, out, error);
	}
	char known[256];
	list_type_names(known, sizeof known);
	return crash_error_set(error, -EINVAL,
			       "%s.type: unknown store type '%s' (known: %s)",
			       node_path, type, known);
}

int store_registry_open_file(const char *file_name,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error)
{
	json_error_t json_error;
	*out = NULL;
	json_t *root = json_load_file(file_name, JSON_REJECT_DUPLICATES,
				      &json_error);
	if (!root)
		return crash_error_set(error, -EINVAL, "%s:%d:%d: %s",
				       file_name, json_error.line,
				       json_error.column, json_error.text);
	int result;
	const char *key;
	json_t *value;
	json_object_foreach(root, key, value) {
		if (strcmp(key, "store") != 0) {
			json_decref(root);
			return crash_error_set(error, -EINVAL,
					       "%s: %s: unknown top-level key "
					       "(expected \"store\")",
					       file_name, key);
		}
	}
	json_t *store_node = json_object_get(root, "store");
	if (!store_node)
		result = crash_error_set(error, -EINVAL,
					 "%s: no \"store\" object", file_name);
	else
		result = store_registry_open(store_node, "store", env, out,
					     error);
	json_decref(root);
	return result;
}
