/*
 * store_config.c - option getters for one node of the JSON store tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store_config.h"

int store_config_check_keys(const json_t *node, const char *node_path,
			    const char *const *allowed,
			    struct crash_error *error)
{
	const char *key;
	json_t *value;

	if (!json_is_object(node))
		return crash_error_set(error, -EINVAL,
				       "%s: a store must be a JSON object",
				       node_path);
	json_object_foreach((json_t *)node, key, value) {
		bool known = strcmp(key, "type") == 0;
		for (size_t i = 0; !known && allowed && allowed[i]; i++)
			known = strcmp(key, allowed[i]) == 0;
		if (!known)
			return crash_error_set(error, -EINVAL,
					       "%s.%s: unknown option", node_path,
					       key);
	}
	return 0;
}

int store_config_string(const json_t *node, const char *node_path,
			const char *key, const char *default_value,
			const char **out, struct crash_error *error)
{
	json_t *value = json_object_get(node, key);
	if (!value) {
		*out = default_value;
		return 0;
	}
	if (!json_is_string(value))
		return crash_error_set(error, -EINVAL,
				       "%s.%s: must be a string", node_path, key);
	*out = json_string_value(value);
	return 0;
}

int store_config_int(const json_t *node, const char *node_path,
		     const char *key, int64_t default_value, int64_t minimum,
		     int64_t maximum, int64_t *out, struct crash_error *error)
{
	json_t *value = json_object_get(node, key);
	if (!value) {
		*out = default_value;
		return 0;
	}
	if (!json_is_integer(value))
		return crash_error_set(error, -EINVAL,
				       "%s.%s: must be an integer", node_path,
				       key);
	int64_t number = json_integer_value(value);
	if (number < minimum || number > maximum)
		return crash_error_set(error, -EINVAL,
				       "%s.%s: %lld is out of range %lld..%lld",
				       node_path, key, (long long)number,
				       (long long)minimum, (long long)maximum);
	*out = number;
	return 0;
}

int store_config_bool(const json_t *node, const char *node_path,
		      const char *key, bool default_value, bool *out,
		      struct crash_error *error)
{
	json_t *value = json_object_get(node, key);
	if (!value) {
		*out = default_value;
		return 0;
	}
	if (!json_is_boolean(value))
		return crash_error_set(error, -EINVAL,
				       "%s.%s: must be true or false", node_path,
				       key);
	*out = json_is_true(value);
	return 0;
}

int store_config_mode(const json_t *node, const char *node_path,
		      const char *key, unsigned default_value, unsigned *out,
		      struct crash_error *error)
{
	json_t *value = json_object_get(node, key);
	if (!value) {
		*out = default_value;
		return 0;
	}
	long long number = -1;
	if (json_is_integer(value)) {
		number = json_integer_value(value);
	} else if (json_is_string(value)) {
		const char *text = json_string_value(value);
		if (strncmp(text, "0o", 2) == 0)
			text += 2;
		char *end = NULL;
		errno = 0;
		number = strtoll(text, &end, 8);
		if (errno || end == text || *end != '\0')
			number = -1;
	}
	if (number < 0 || number > 0777)
		return crash_error_set(error, -EINVAL,
				       "%s.%s: must be a mode 0..0777, as an "
				       "integer or an octal string",
				       node_path, key);
	*out = (unsigned)number;
	return 0;
}
