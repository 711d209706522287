/*
 * fuzz_predicate.c - the routing predicate (containers/predicate.h).
 *
 * Input: JSON text [PREDICATE, DOCUMENT] ("\u0000" allowed in strings).
 * Whatever the predicate, parsing gives a predicate or an EINVAL naming
 * the path; evaluating never fails; its JSON form parses back to a
 * predicate that decides the same.  And the comparisons agree with each
 * other on the same key and value:
 *   != is not ==; "in [v]" is == v; missing is not exists; truthy needs
 *   exists; < implies <= and not >=, > implies >= and not <=; for numbers
 *   and strings, == holds exactly when <= and >= both do, and one of <,
 *   ==, > holds when both sides are of one kind.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "containers/predicate.h"
#include "tests/fuzz/fuzz_util.h"

/* Evaluates {"key": key, "op": op, "value": value} (value may be NULL)
 * on document; the predicate must parse. */
static bool eval_op(const char *key, const char *op, json_t *value,
		    const json_t *document)
{
	json_t *node = json_pack("{s:s, s:s}", "key", key, "op", op);
	if (!node || (value && json_object_set(node, "value", value) < 0))
		abort();
	struct predicate *predicate = NULL;
	struct crash_error error = { 0 };
	int result = predicate_parse(node, "fuzz", &predicate, &error);
	FUZZ_ASSERT(result == 0, "%s %s: %s", key, op, error.message);
	bool verdict = predicate_eval(predicate, document);
	predicate_free(predicate);
	json_decref(node);
	return verdict;
}

static const json_t *lookup(const char *key, const json_t *document)
{
	char *copy = strdup(key);
	if (!copy)
		abort();
	const json_t *value = document;
	for (char *segment = strtok(copy, "."); segment && value;
	     segment = strtok(NULL, ".")) {
		value = json_is_object(value) ? json_object_get(value, segment)
					      : NULL;
	}
	free(copy);
	return value;
}

static void check_laws(const char *key, json_t *value, const json_t *document)
{
	bool eq = eval_op(key, "==", value, document);
	bool ne = eval_op(key, "!=", value, document);
	json_t *list = json_pack("[O]", value);
	if (!list)
		abort();
	bool in = eval_op(key, "in", list, document);
	json_decref(list);
	bool exists = eval_op(key, "exists", NULL, document);
	bool missing = eval_op(key, "missing", NULL, document);
	bool truthy = eval_op(key, "truthy", NULL, document);

	FUZZ_ASSERT(ne == !eq, "key %s", key);
	FUZZ_ASSERT(in == eq, "key %s", key);
	FUZZ_ASSERT(missing == !exists, "key %s", key);
	FUZZ_ASSERT(!truthy || exists, "key %s", key);
	FUZZ_ASSERT(!eq || exists, "key %s", key);
	FUZZ_ASSERT((lookup(key, document) != NULL) == exists, "key %s", key);
	if (!json_is_number(value) && !json_is_string(value))
		return;

	bool lt = eval_op(key, "<", value, document);
	bool le = eval_op(key, "<=", value, document);
	bool gt = eval_op(key, ">", value, document);
	bool ge = eval_op(key, ">=", value, document);
	FUZZ_ASSERT(!lt || (le && !ge), "key %s", key);
	FUZZ_ASSERT(!gt || (ge && !le), "key %s", key);
	FUZZ_ASSERT((le && ge) == eq, "key %s: <= %d, >= %d, == %d", key, le,
		    ge, eq);
	const json_t *actual = lookup(key, document);
	bool same_kind = actual && ((json_is_number(actual) &&
				     json_is_number(value)) ||
				    (json_is_string(actual) &&
				     json_is_string(value)));
	if (same_kind)
		FUZZ_ASSERT(lt + eq + gt == 1, "key %s: < %d, == %d, > %d", key,
			    lt, eq, gt);
	else
		FUZZ_ASSERT(!lt && !le && !gt && !ge && !eq, "key %s", key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *input = json_loadb((const char *)data, size, JSON_ALLOW_NUL,
				   NULL);
	if (!json_is_array(input) || json_array_size(input) < 2) {
		json_decref(input);
		return 0;
	}
	const json_t *node = json_array_get(input, 0);
	const json_t *document = json_array_get(input, 1);
	struct predicate *predicate = NULL;
	struct crash_error error = { 0 };

	int result = predicate_parse(node, "store.predicate", &predicate,
				     &error);
	if (result < 0) {
		FUZZ_ASSERT(result == -EINVAL && predicate == NULL, "%d",
			    result);
		FUZZ_ASSERT(strncmp(error.message, "store.predicate", 15) == 0,
			    "%s", error.message);
		json_decref(input);
		return 0;
	}
	bool verdict = predicate_eval(predicate, document);

	/* The JSON form decides the same. */
	json_t *form = predicate_to_json(predicate);
	FUZZ_ASSERT(form != NULL, "to_json");
	struct predicate *again = NULL;
	FUZZ_ASSERT(predicate_parse(form, "again", &again, &error) == 0,
		    "%s", error.message);
	FUZZ_ASSERT(predicate_eval(again, document) == verdict, "round trip");
	predicate_free(again);

	const char *key = json_string_value(json_object_get(form, "key"));
	json_t *value = json_object_get(form, "value");
	if (!value || json_is_array(value))
		value = json_array_get(input, 2); /* exists, truthy, in */
	if (value)
		check_laws(key, value, document);
	json_decref(form);
	predicate_free(predicate);
	json_decref(input);
	return 0;
}
