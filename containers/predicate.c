/*
 * predicate.c - one comparison of a value in a JSON document.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "containers/predicate.h"
#include "storage/store_config.h"

enum predicate_op {
	PREDICATE_EQ = 0,
	PREDICATE_NE,
	PREDICATE_LT,
	PREDICATE_LE,
	PREDICATE_GT,
	PREDICATE_GE,
	PREDICATE_IN,
	PREDICATE_EXISTS,
	PREDICATE_MISSING,
	PREDICATE_TRUTHY,
	PREDICATE_OP_COUNT
};

static const char *const op_names[PREDICATE_OP_COUNT] = {
	[PREDICATE_EQ] = "==",          [PREDICATE_NE] = "!=",
	[PREDICATE_LT] = "<",           [PREDICATE_LE] = "<=",
	[PREDICATE_GT] = ">",           [PREDICATE_GE] = ">=",
	[PREDICATE_IN] = "in",          [PREDICATE_EXISTS] = "exists",
	[PREDICATE_MISSING] = "missing", [PREDICATE_TRUTHY] = "truthy",
};

struct predicate {
	char *key;         /* as configured, for stats */
	char **segments;   /* key split at '.' */
	size_t segment_count;
	enum predicate_op op;
	json_t *value;     /* NULL for exists, missing, truthy */
};

static bool op_takes_value(enum predicate_op op)
{
	return op != PREDICATE_EXISTS && op != PREDICATE_MISSING &&
	       op != PREDICATE_TRUTHY;
}

void predicate_free(struct predicate *predicate)
{
	if (!predicate)
		return;
	for (size_t i = 0; i < predicate->segment_count; i++)
		free(predicate->segments[i]);
	free(predicate->segments);
	free(predicate->key);
	json_decref(predicate->value);
	free(predicate);
}

/* Splits key at dots; an empty segment ("a..b", ".a") is an error. */
static int split_key(struct predicate *predicate, const char *key)
{
	size_t count = 1;
	for (const char *c = key; *c; c++)
		count += *c == '.';
	predicate->segments = calloc(count, sizeof predicate->segments[0]);
	if (!predicate->segments)
		return -ENOMEM;
	const char *start = key;
	for (size_t i = 0; i < count; i++) {
		const char *end = strchr(start, '.');
		size_t length = end ? (size_t)(end - start) : strlen(start);
		if (length == 0)
			return -EINVAL;
		predicate->segments[i] = strndup(start, length);
		if (!predicate->segments[i])
			return -ENOMEM;
		predicate->segment_count = i + 1;
		start = end ? end + 1 : start + length;
	}
	return 0;
}

static int parse_op(const json_t *node, const char *node_path,
		    enum predicate_op *out, struct crash_error *error)
{
	const char *name = NULL;
	int result = store_config_string(node, node_path, "op", NULL, &name,
					 error);
	if (result < 0)
		return result;
	if (!name)
		return crash_error_set(error, -EINVAL,
				       "%s.op: missing (==, !=, <, <=, >, >=, "
				       "in, exists, missing, truthy)",
				       node_path);
	for (int op = 0; op < PREDICATE_OP_COUNT; op++) {
		if (strcmp(op_names[op], name) == 0) {
			*out = (enum predicate_op)op;
			return 0;
		}
	}
	return crash_error_set(error, -EINVAL,
			       "%s.op: unknown comparison '%s' (==, !=, <, <=, "
			       ">, >=, in, exists, missing, truthy)",
			       node_path, name);
}

static int parse_value(const json_t *node, const char *node_path,
		       struct predicate *predicate, struct crash_error *error)
{
	json_t *value = json_object_get(node, "value");
	const char *op = op_names[predicate->op];

	if (!op_takes_value(predicate->op)) {
		if (value)
			return crash_error_set(error, -EINVAL,
					       "%s.value: not used by '%s'",
					       node_path, op);
		return 0;
	}
	if (!value)
		return crash_error_set(error, -EINVAL,
				       "%s.value: missing (the value '%s' "
				       "compares with)",
				       node_path, op);
	if (predicate->op == PREDICATE_IN && !json_is_array(value))
		return crash_error_set(error, -EINVAL,
				       "%s.value: 'in' needs an array of "
				       "values",
				       node_path);
	bool ordered = predicate->op == PREDICATE_LT ||
		       predicate->op == PREDICATE_LE ||
		       predicate->op == PREDICATE_GT ||
		       predicate->op == PREDICATE_GE;
	if (ordered && !json_is_number(value) && !json_is_string(value))
		return crash_error_set(error, -EINVAL,
				       "%s.value: '%s' needs a number or a "
				       "string",
				       node_path, op);
	predicate->value = json_incref(value);
	return 0;
}

static int parse_node(const json_t *node, const char *node_path,
		      struct predicate *predicate, struct crash_error *error)
{
	static const char *const keys[] = { "key", "op", "value", NULL };
	const char *key = NULL;

	if (!json_is_object(node))
		return crash_error_set(error, -EINVAL,
				       "%s: must be an object {\"key\": ..., "
				       "\"op\": ..., \"value\": ...}",
				       node_path);
	if (json_object_get(node, "type"))
		return crash_error_set(error, -EINVAL,
				       "%s.type: unknown option", node_path);
	int result = store_config_check_keys(node, node_path, keys, error);
	if (result < 0)
		return result;
	result = store_config_string(node, node_path, "key", NULL, &key,
				     error);
	if (result < 0)
		return result;
	if (!key || !*key)
		return crash_error_set(error, -EINVAL,
				       "%s.key: missing (a dotted path into "
				       "the crash, e.g. \"ProductName\")",
				       node_path);
	predicate->key = strdup(key);
	if (!predicate->key)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	result = split_key(predicate, key);
	if (result == -EINVAL)
		return crash_error_set(error, -EINVAL,
				       "%s.key: '%s' has an empty segment",
				       node_path, key);
	if (result < 0)
		return crash_error_set(error, result, "%s: out of memory",
				       node_path);
	result = parse_op(node, node_path, &predicate->op, error);
	if (result < 0)
		return result;
	return parse_value(node, node_path, predicate, error);
}

int predicate_parse(const json_t *node, const char *node_path,
		    struct predicate **out, struct crash_error *error)
{
	*out = NULL;
	struct predicate *predicate = calloc(1, sizeof *predicate);
	if (!predicate)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	int result;
	if (node) {
		result = parse_node(node, node_path, predicate, error);
	} else {
		predicate->op = PREDICATE_TRUTHY;
		predicate->key = strdup("legacy_processing");
		result = predicate->key ? split_key(predicate, predicate->key)
					: -ENOMEM;
		if (result < 0)
			crash_error_set(error, result, "%s: out of memory",
					node_path);
	}
	if (result < 0) {
		predicate_free(predicate);
		return result;
	}
	*out = predicate;
	return 0;
}

static const json_t *lookup(const struct predicate *predicate,
			    const json_t *document)
{
	const json_t *value = document;
	for (size_t i = 0; value && i < predicate->segment_count; i++) {
		if (!json_is_object(value))
			return NULL;
		value = json_object_get(value, predicate->segments[i]);
	}
	return value;
}

static bool truthy(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return json_object_size(value) > 0;
	case JSON_ARRAY:
		return json_array_size(value) > 0;
	case JSON_STRING:
		return json_string_length(value) > 0;
	case JSON_INTEGER:
		return json_integer_value(value) != 0;
	case JSON_REAL:
		return json_real_value(value) != 0.0;
	case JSON_TRUE:
		return true;
	default:
		return false;
	}
}

/* -1, 0, 1: an integer against a real, exactly (no rounding of the
 * integer to a double, which merges neighbours past 2^53).  Reals are
 * finite: jansson refuses NaN and infinities. */
static int compare_integer_real(json_int_t integer, double real)
{
	/* -2^63 and 2^63 are exact doubles; every json_int_t lies in
	 * [-2^63, 2^63). */
	if (real >= 9223372036854775808.0)
		return -1;
	if (real < -9223372036854775808.0)
		return 1;
	/* Toward zero: in range, and less than 1 away from real. */
	json_int_t truncated = (json_int_t)real;
	if (integer != truncated)
		return integer < truncated ? -1 : 1;
	/* integer is real's integral part; its fraction decides. */
	double whole = (double)truncated;
	return (whole > real) - (whole < real);
}

/* -1, 0, 1 for two numbers: integers as integers, reals as reals, an
 * integer and a real exactly. */
static int compare_numbers(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a);
		json_int_t y = json_integer_value(b);
		return (x > y) - (x < y);
	}
	if (json_is_integer(a))
		return compare_integer_real(json_integer_value(a),
					    json_real_value(b));
	if (json_is_integer(b))
		return -compare_integer_real(json_integer_value(b),
					     json_real_value(a));
	double x = json_real_value(a), y = json_real_value(b);
	return (x > y) - (x < y);
}

/* Bytewise over the whole length (a string may hold "\u0000"). */
static int compare_strings(const json_t *a, const json_t *b)
{
	size_t length_a = json_string_length(a);
	size_t length_b = json_string_length(b);
	size_t common = length_a < length_b ? length_a : length_b;
	int order = memcmp(json_string_value(a), json_string_value(b), common);
	if (order == 0)
		return (length_a > length_b) - (length_a < length_b);
	return (order > 0) - (order < 0);
}

/* -1, 0, 1 like strcmp, or 2 when the values do not compare. */
static int compare(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return compare_numbers(a, b);
	if (json_is_string(a) && json_is_string(b))
		return compare_strings(a, b);
	return 2;
}

/* ==, != and in: numbers and strings as compare() orders them, so == holds
 * exactly when <= and >= both do; anything else by JSON equality. */
static bool values_equal(const json_t *a, const json_t *b)
{
	if ((json_is_number(a) && json_is_number(b)) ||
	    (json_is_string(a) && json_is_string(b)))
		return compare(a, b) == 0;
	return json_equal((json_t *)a, (json_t *)b);
}

bool predicate_eval(const struct predicate *predicate,
		    const json_t *document)
{
	const json_t *value = lookup(predicate, document);
	int order;

	switch (predicate->op) {
	case PREDICATE_EXISTS:
		return value != NULL;
	case PREDICATE_MISSING:
		return value == NULL;
	case PREDICATE_TRUTHY:
		return value && truthy(value);
	case PREDICATE_EQ:
		return value && values_equal(value, predicate->value);
	case PREDICATE_NE:
		return !value || !values_equal(value, predicate->value);
	case PREDICATE_IN: {
		size_t index;
		json_t *item;
		if (!value)
			return false;
		json_array_foreach(predicate->value, index, item)
			if (values_equal(value, item))
				return true;
		return false;
	}
	default:
		break;
	}
	if (!value)
		return false;
	order = compare(value, predicate->value);
	switch (predicate->op) {
	case PREDICATE_LT:
		return order == -1;
	case PREDICATE_LE:
		return order == -1 || order == 0;
	case PREDICATE_GT:
		return order == 1;
	case PREDICATE_GE:
		return order == 1 || order == 0;
	default:
		return false;
	}
}

json_t *predicate_to_json(const struct predicate *predicate)
{
	json_t *out = json_pack("{s:s, s:s}", "key", predicate->key, "op",
				op_names[predicate->op]);
	if (out && predicate->value)
		json_object_set(out, "value", predicate->value);
	return out;
}
