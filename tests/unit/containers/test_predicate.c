/*
 * test_predicate.c - the routing predicate of primary_deferred: Socorro's
 * default (truthy legacy_processing), every comparison, dotted keys, and
 * configuration errors naming the JSON path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "containers/predicate.h"
#include "tests/unit/store_test_util.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

/* Evaluates predicate text (NULL: default) on document text; -1 if the
 * predicate does not parse. */
static int eval(const char *predicate_text, const char *document_text)
{
	struct crash_error error = { 0 };
	struct predicate *predicate = NULL;
	json_t *node = predicate_text
			       ? json_loads(predicate_text, JSON_ALLOW_NUL, NULL)
			       : NULL;
	json_t *document = json_loads(document_text, JSON_ALLOW_NUL, NULL);
	if ((predicate_text && !node) || !document) {
		fprintf(stderr, "bad test JSON\n");
		return -2;
	}
	int result = predicate_parse(node, "store.predicate", &predicate,
				     &error);
	json_decref(node);
	if (result < 0) {
		fprintf(stderr, "%s\n", error.message);
		json_decref(document);
		return -1;
	}
	result = predicate_eval(predicate, document) ? 1 : 0;
	predicate_free(predicate);
	json_decref(document);
	return result;
}

/* The parse error message for predicate text, or "" if it parsed. */
static const char *parse_error(const char *predicate_text)
{
	static struct crash_error error;
	struct predicate *predicate = NULL;
	json_t *node = json_loads(predicate_text, JSON_DECODE_ANY, NULL);
	crash_error_clear(&error);
	int result = predicate_parse(node, "store.primary.predicate",
				     &predicate, &error);
	json_decref(node);
	predicate_free(predicate);
	if (result >= 0)
		return "";
	CHECK_INT(result, -EINVAL);
	return error.message;
}

static void test_default_is_socorros_legacy_processing(void)
{
	CHECK_INT(eval(NULL, "{\"legacy_processing\": 1}"), 1);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": 0}"), 0);
	CHECK_INT(eval(NULL, "{\"ProductName\": \"Firefox\"}"), 0);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": null}"), 0);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": false}"), 0);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": true}"), 1);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": \"\"}"), 0);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": 0.0}"), 0);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": 2}"), 1);
	/* Python truthiness, as Socorro's lambda: a non-empty string is true,
	 * "0" included. */
	CHECK_INT(eval(NULL, "{\"legacy_processing\": \"0\"}"), 1);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": []}"), 0);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": {}}"), 0);
	CHECK_INT(eval(NULL, "{\"legacy_processing\": [0]}"), 1);
}

static void test_equality(void)
{
	const char *fennec =
		"{\"key\": \"ProductName\", \"op\": \"==\", \"value\": \"Fennec\"}";
	CHECK_INT(eval(fennec, "{\"ProductName\": \"Fennec\"}"), 1);
	CHECK_INT(eval(fennec, "{\"ProductName\": \"Firefox\"}"), 0);
	CHECK_INT(eval(fennec, "{\"ProductName\": \"fennec\"}"), 0);
	CHECK_INT(eval(fennec, "{}"), 0);
	const char *not_fennec =
		"{\"key\": \"ProductName\", \"op\": \"!=\", \"value\": \"Fennec\"}";
	CHECK_INT(eval(not_fennec, "{\"ProductName\": \"Firefox\"}"), 1);
	CHECK_INT(eval(not_fennec, "{\"ProductName\": \"Fennec\"}"), 0);
	/* A missing key is unequal to everything. */
	CHECK_INT(eval(not_fennec, "{}"), 1);
	/* Numbers compare by value, whatever their JSON spelling. */
	const char *one = "{\"key\": \"n\", \"op\": \"==\", \"value\": 1}";
	CHECK_INT(eval(one, "{\"n\": 1.0}"), 1);
	CHECK_INT(eval(one, "{\"n\": \"1\"}"), 0);
	const char *object =
		"{\"key\": \"o\", \"op\": \"==\", \"value\": {\"a\": [1, 2]}}";
	CHECK_INT(eval(object, "{\"o\": {\"a\": [1, 2]}}"), 1);
	CHECK_INT(eval(object, "{\"o\": {\"a\": [2, 1]}}"), 0);
}

/* Integers compare as integers, reals as reals and an integer with a real
 * exactly: == agrees with < and >= past 2^53, where doubles no longer tell
 * neighbours apart. */
static void test_large_integers_compare_exactly(void)
{
	const char *eq = "{\"key\": \"n\", \"op\": \"==\", "
			 "\"value\": 9007199254740992}";
	const char *ne = "{\"key\": \"n\", \"op\": \"!=\", "
			 "\"value\": 9007199254740992}";
	const char *ge = "{\"key\": \"n\", \"op\": \">=\", "
			 "\"value\": 9007199254740992}";
	const char *gt = "{\"key\": \"n\", \"op\": \">\", "
			 "\"value\": 9007199254740992}";
	const char *in = "{\"key\": \"n\", \"op\": \"in\", "
			 "\"value\": [9007199254740992]}";
	const char *above = "{\"n\": 9007199254740993}";
	CHECK_INT(eval(gt, above), 1);
	CHECK_INT(eval(eq, above), 0);
	CHECK_INT(eval(ne, above), 1);
	CHECK_INT(eval(in, above), 0);
	CHECK_INT(eval(eq, "{\"n\": 9007199254740992}"), 1);
	CHECK_INT(eval(ge, "{\"n\": 9007199254740992}"), 1);
	/* The largest integers: one apart, never equal. */
	const char *max = "{\"key\": \"n\", \"op\": \"==\", "
			  "\"value\": 9223372036854775807}";
	CHECK_INT(eval(max, "{\"n\": 9223372036854775806}"), 0);
	CHECK_INT(eval(max, "{\"n\": 9223372036854775807}"), 1);
	/* An integer and a real: equal only if the real is that integer. */
	const char *real = "{\"key\": \"n\", \"op\": \"==\", "
			   "\"value\": 9007199254740992.0}";
	CHECK_INT(eval(real, "{\"n\": 9007199254740992}"), 1);
	CHECK_INT(eval(real, "{\"n\": 9007199254740993}"), 0);
	const char *real_le = "{\"key\": \"n\", \"op\": \"<=\", "
			      "\"value\": 9007199254740992.0}";
	CHECK_INT(eval(real_le, "{\"n\": 9007199254740993}"), 0);
	const char *real_gt = "{\"key\": \"n\", \"op\": \">\", "
			      "\"value\": 9007199254740992.0}";
	CHECK_INT(eval(real_gt, "{\"n\": 9007199254740993}"), 1);
	/* 2^63 as a real is above every integer. */
	const char *huge = "{\"key\": \"n\", \"op\": \"<\", "
			   "\"value\": 9223372036854775808.0}";
	CHECK_INT(eval(huge, "{\"n\": 9223372036854775807}"), 1);
	const char *huge_eq = "{\"key\": \"n\", \"op\": \"==\", "
			      "\"value\": 9223372036854775808.0}";
	CHECK_INT(eval(huge_eq, "{\"n\": 9223372036854775807}"), 0);
	/* A fraction sits between its neighbours. */
	const char *half = "{\"key\": \"n\", \"op\": \"<\", "
			   "\"value\": -2.5}";
	CHECK_INT(eval(half, "{\"n\": -3}"), 1);
	CHECK_INT(eval(half, "{\"n\": -2}"), 0);
}

/* Strings compare bytewise over their whole length: a string with a NUL
 * inside is not equal to, nor ordered like, its prefix. */
static void test_strings_with_nul_compare_whole(void)
{
	const char *le = "{\"key\": \"s\", \"op\": \"<=\", "
			 "\"value\": \"a\\u0000b\"}";
	const char *ge = "{\"key\": \"s\", \"op\": \">=\", "
			 "\"value\": \"a\\u0000b\"}";
	const char *eq = "{\"key\": \"s\", \"op\": \"==\", "
			 "\"value\": \"a\\u0000b\"}";
	const char *other = "{\"s\": \"a\\u0000c\"}";
	CHECK_INT(eval(eq, other), 0);
	CHECK_INT(eval(le, other), 0);
	CHECK_INT(eval(ge, other), 1);
	CHECK_INT(eval(ge, "{\"s\": \"a\"}"), 0);
	CHECK_INT(eval(le, "{\"s\": \"a\"}"), 1);
	CHECK_INT(eval(eq, "{\"s\": \"a\\u0000b\"}"), 1);
}

static void test_ordering(void)
{
	const char *lt = "{\"key\": \"t\", \"op\": \"<\", \"value\": 10}";
	const char *le = "{\"key\": \"t\", \"op\": \"<=\", \"value\": 10}";
	const char *gt = "{\"key\": \"t\", \"op\": \">\", \"value\": 10}";
	const char *ge = "{\"key\": \"t\", \"op\": \">=\", \"value\": 10}";
	CHECK_INT(eval(lt, "{\"t\": 9}"), 1);
	CHECK_INT(eval(lt, "{\"t\": 10}"), 0);
	CHECK_INT(eval(le, "{\"t\": 10}"), 1);
	CHECK_INT(eval(le, "{\"t\": 10.5}"), 0);
	CHECK_INT(eval(gt, "{\"t\": 10.5}"), 1);
	CHECK_INT(eval(gt, "{\"t\": 10}"), 0);
	CHECK_INT(eval(ge, "{\"t\": 10}"), 1);
	CHECK_INT(eval(ge, "{\"t\": 9.99}"), 0);
	/* Different kinds and missing keys never compare true. */
	CHECK_INT(eval(lt, "{\"t\": \"9\"}"), 0);
	CHECK_INT(eval(ge, "{\"t\": \"99\"}"), 0);
	CHECK_INT(eval(lt, "{}"), 0);
	CHECK_INT(eval(gt, "{}"), 0);
	const char *version =
		"{\"key\": \"Version\", \"op\": \">=\", \"value\": \"35.0\"}";
	CHECK_INT(eval(version, "{\"Version\": \"36.0a1\"}"), 1);
	CHECK_INT(eval(version, "{\"Version\": \"34.0\"}"), 0);
}

static void test_in_exists_missing(void)
{
	const char *in = "{\"key\": \"ProductName\", \"op\": \"in\", "
			 "\"value\": [\"Fennec\", \"B2G\", 3]}";
	CHECK_INT(eval(in, "{\"ProductName\": \"B2G\"}"), 1);
	CHECK_INT(eval(in, "{\"ProductName\": 3.0}"), 1);
	CHECK_INT(eval(in, "{\"ProductName\": \"Firefox\"}"), 0);
	CHECK_INT(eval(in, "{}"), 0);
	const char *exists = "{\"key\": \"HangID\", \"op\": \"exists\"}";
	CHECK_INT(eval(exists, "{\"HangID\": null}"), 1);
	CHECK_INT(eval(exists, "{\"hangid\": 1}"), 0);
	const char *missing = "{\"key\": \"HangID\", \"op\": \"missing\"}";
	CHECK_INT(eval(missing, "{}"), 1);
	CHECK_INT(eval(missing, "{\"HangID\": \"\"}"), 0);
	const char *truthy = "{\"key\": \"flag\", \"op\": \"truthy\"}";
	CHECK_INT(eval(truthy, "{\"flag\": \"yes\"}"), 1);
	CHECK_INT(eval(truthy, "{\"flag\": 0}"), 0);
}

static void test_dotted_keys(void)
{
	const char *nested = "{\"key\": \"a.b.c\", \"op\": \"==\", \"value\": 5}";
	CHECK_INT(eval(nested, "{\"a\": {\"b\": {\"c\": 5}}}"), 1);
	CHECK_INT(eval(nested, "{\"a\": {\"b\": {\"c\": 6}}}"), 0);
	/* Through a non-object: missing. */
	CHECK_INT(eval(nested, "{\"a\": {\"b\": [5]}}"), 0);
	CHECK_INT(eval(nested, "{\"a\": \"b\"}"), 0);
	CHECK_INT(eval(nested, "{\"a.b.c\": 5}"), 0);
	const char *missing = "{\"key\": \"a.b\", \"op\": \"missing\"}";
	CHECK_INT(eval(missing, "{\"a\": 1}"), 1);
}

static void test_configuration_errors_name_the_path(void)
{
	const char *message;
	message = parse_error("{\"key\": \"ProductName\", \"op\": \"=~\", "
			      "\"value\": \"Fen.*\"}");
	CHECK(test_contains(message, "store.primary.predicate.op: unknown "
				     "comparison '=~'"));
	message = parse_error("{\"op\": \"==\", \"value\": 1}");
	CHECK(test_contains(message, "store.primary.predicate.key: missing"));
	message = parse_error("{\"key\": \"a\", \"value\": 1}");
	CHECK(test_contains(message, "store.primary.predicate.op: missing"));
	message = parse_error("{\"key\": \"a\", \"op\": \"==\"}");
	CHECK(test_contains(message, "store.primary.predicate.value: missing"));
	message = parse_error("{\"key\": \"a\", \"op\": \"in\", \"value\": 1}");
	CHECK(test_contains(message, "store.primary.predicate.value: 'in' "
				     "needs an array"));
	message = parse_error("{\"key\": \"a\", \"op\": \"exists\", "
			      "\"value\": 1}");
	CHECK(test_contains(message, "store.primary.predicate.value: not used "
				     "by 'exists'"));
	message = parse_error("{\"key\": \"a\", \"op\": \"<\", \"value\": []}");
	CHECK(test_contains(message, "store.primary.predicate.value"));
	message = parse_error("{\"key\": \"a..b\", \"op\": \"exists\"}");
	CHECK(test_contains(message, "store.primary.predicate.key"));
	message = parse_error("{\"key\": \"a\", \"op\": \"exists\", "
			      "\"vaule\": 1}");
	CHECK(test_contains(message, "store.primary.predicate.vaule: unknown "
				     "option"));
	message = parse_error("\"legacy_processing\"");
	CHECK(test_contains(message, "store.primary.predicate: must be an "
				     "object"));
	message = parse_error("{\"key\": 7, \"op\": \"exists\"}");
	CHECK(test_contains(message, "store.primary.predicate.key"));
}

static void test_to_json(void)
{
	struct crash_error error = { 0 };
	struct predicate *predicate = NULL;
	REQUIRE(predicate_parse(NULL, "store.predicate", &predicate, &error) ==
		0);
	json_t *json = predicate_to_json(predicate);
	char *text = json_dumps(json, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR(text, "{\"key\":\"legacy_processing\",\"op\":\"truthy\"}");
	free(text);
	json_decref(json);
	predicate_free(predicate);
}

int main(int argc, char **argv)
{
	test_default_is_socorros_legacy_processing();
	test_equality();
	test_ordering();
	test_large_integers_compare_exactly();
	test_strings_with_nul_compare_whole();
	test_in_exists_missing();
	test_dotted_keys();
	test_configuration_errors_name_the_path();
	test_to_json();
	return unit_test_exit(argv[0]);
}
