/*
 * test_store_config.c - option getters name the JSON path in their errors.
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "storage/store_config.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define PATH "store.primary"

static json_t *parse(const char *text)
{
	json_error_t json_error;
	json_t *node = json_loads(text, 0, &json_error);
	if (!node)
		fprintf(stderr, "bad test JSON: %s\n", json_error.text);
	return node;
}

/* The message names the option by its path and says what is wrong. */
static void check_error(const struct crash_error *error, int code,
			const char *path, const char *what)
{
	CHECK_INT(error->code, code);
	if (strncmp(error->message, path, strlen(path)) != 0 ||
	    error->message[strlen(path)] != ':')
		fprintf(stderr, "message \"%s\" does not start with \"%s:\"\n",
			error->message, path);
	CHECK(strncmp(error->message, path, strlen(path)) == 0 &&
	      error->message[strlen(path)] == ':');
	if (!strstr(error->message, what))
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", error->message,
			what);
	CHECK(strstr(error->message, what) != NULL);
	CHECK(strchr(error->message, '\n') == NULL);
}

static void test_check_keys(void)
{
	static const char *const allowed[] = { "root", "layout", NULL };
	struct crash_error error = { 0 };
	json_t *node = parse("{\"type\": \"fs\", \"root\": \"/x\", "
			     "\"layout\": \"radix\"}");
	REQUIRE(node);
	CHECK_INT(store_config_check_keys(node, PATH, allowed, &error), 0);
	json_decref(node);

	node = parse("{\"type\": \"fs\", \"root\": \"/x\", \"layuot\": 1}");
	REQUIRE(node);
	CHECK_INT(store_config_check_keys(node, PATH, allowed, &error), -EINVAL);
	check_error(&error, -EINVAL, PATH ".layuot", "unknown option");
	json_decref(node);

	/* "type" is always allowed, even with no list. */
	node = parse("{\"type\": \"null\"}");
	REQUIRE(node);
	CHECK_INT(store_config_check_keys(node, "store", NULL, &error), 0);
	json_decref(node);

	node = parse("[1, 2]");
	REQUIRE(node);
	CHECK_INT(store_config_check_keys(node, "store.stores[1]", allowed,
					  &error),
		  -EINVAL);
	check_error(&error, -EINVAL, "store.stores[1]", "object");
	json_decref(node);
}

static void test_string(void)
{
	struct crash_error error = { 0 };
	const char *value = NULL;
	json_t *node = parse("{\"root\": \"/srv/crashes\", \"layout\": 3}");
	REQUIRE(node);

	CHECK_INT(store_config_string(node, PATH, "root", "x", &value, &error), 0);
	CHECK_STR(value, "/srv/crashes");
	CHECK_INT(store_config_string(node, PATH, "missing", "dflt", &value,
				      &error),
		  0);
	CHECK_STR(value, "dflt");
	CHECK_INT(store_config_string(node, PATH, "missing", NULL, &value,
				      &error),
		  0);
	CHECK(value == NULL);
	CHECK_INT(store_config_string(node, PATH, "layout", "radix", &value,
				      &error),
		  -EINVAL);
	check_error(&error, -EINVAL, PATH ".layout", "string");
	json_decref(node);
}

static void test_int(void)
{
	struct crash_error error = { 0 };
	int64_t value = -1;
	json_t *node = parse("{\"interval\": 4, \"big\": 61, \"text\": \"4\", "
			     "\"real\": 4.5, \"negative\": -1}");
	REQUIRE(node);

	CHECK_INT(store_config_int(node, PATH, "interval", 9, 1, 60, &value,
				   &error),
		  0);
	CHECK_INT(value, 4);
	CHECK_INT(store_config_int(node, PATH, "absent", 9, 1, 60, &value,
				   &error),
		  0);
	CHECK_INT(value, 9);
	CHECK_INT(store_config_int(node, PATH, "big", 9, 1, 60, &value, &error),
		  -EINVAL);
	check_error(&error, -EINVAL, PATH ".big", "61");
	CHECK_INT(store_config_int(node, PATH, "negative", 9, 1, 60, &value,
				   &error),
		  -EINVAL);
	check_error(&error, -EINVAL, PATH ".negative", "range");
	CHECK_INT(store_config_int(node, PATH, "text", 9, 1, 60, &value,
				   &error),
		  -EINVAL);
	check_error(&error, -EINVAL, PATH ".text", "integer");
	CHECK_INT(store_config_int(node, PATH, "real", 9, 1, 60, &value,
				   &error),
		  -EINVAL);
	check_error(&error, -EINVAL, PATH ".real", "integer");
	/* The bounds are inclusive. */
	CHECK_INT(store_config_int(node, PATH, "big", 9, 1, 61, &value, &error),
		  0);
	CHECK_INT(value, 61);
	json_decref(node);
}

static void test_bool(void)
{
	struct crash_error error = { 0 };
	bool value = false;
	json_t *node = parse("{\"yes\": true, \"no\": false, \"one\": 1}");
	REQUIRE(node);
	CHECK_INT(store_config_bool(node, PATH, "yes", false, &value, &error), 0);
	CHECK(value);
	CHECK_INT(store_config_bool(node, PATH, "no", true, &value, &error), 0);
	CHECK(!value);
	CHECK_INT(store_config_bool(node, PATH, "absent", true, &value, &error),
		  0);
	CHECK(value);
	CHECK_INT(store_config_bool(node, PATH, "one", false, &value, &error),
		  -EINVAL);
	check_error(&error, -EINVAL, PATH ".one", "true or false");
	json_decref(node);
}

/* Socorro's ini files give umask as 18 or as an octal string. */
static void test_mode(void)
{
	struct crash_error error = { 0 };
	unsigned value = 0;
	json_t *node = parse("{\"decimal\": 18, \"octal\": \"022\", "
			     "\"python\": \"0o002\", \"two\": \"2\", "
			     "\"word\": \"abc\", \"eight\": \"08\", "
			     "\"big\": 512, \"negative\": -1, \"list\": [], "
			     "\"empty\": \"\", \"prefix\": \"0o\"}");
	REQUIRE(node);
	CHECK_INT(store_config_mode(node, PATH, "decimal", 0, &value, &error), 0);
	CHECK_INT(value, 022);
	CHECK_INT(store_config_mode(node, PATH, "octal", 0, &value, &error), 0);
	CHECK_INT(value, 022);
	CHECK_INT(store_config_mode(node, PATH, "python", 0, &value, &error), 0);
	CHECK_INT(value, 02);
	CHECK_INT(store_config_mode(node, PATH, "two", 0, &value, &error), 0);
	CHECK_INT(value, 02);
	CHECK_INT(store_config_mode(node, PATH, "absent", 022, &value, &error),
		  0);
	CHECK_INT(value, 022);

	static const char *const bad[] = { "word", "eight", "big", "negative",
					   "list", "empty", "prefix", NULL };
	for (size_t i = 0; bad[i]; i++) {
		char path[64];
		snprintf(path, sizeof path, PATH ".%s", bad[i]);
		value = 0123;
		CHECK_INT(store_config_mode(node, PATH, bad[i], 022, &value,
					    &error),
			  -EINVAL);
		check_error(&error, -EINVAL, path, "mode");
	}
	json_decref(node);
}

int main(int argc, char **argv)
{
	test_check_keys();
	test_string();
	test_int();
	test_bool();
	test_mode();
	return unit_test_exit(argv[0]);
}
