/*
 * test_store_registry.c - building store trees from JSON: errors name the
 * JSON path (or the file, line and column) and unknown types list the known
 * ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "storage/crash_log.h"
#include "mountopts/store_types.h"
#include "storage/store_registry.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

static const struct crash_store_env test_env = {
	.types = crashfs_store_types, .spool_dir = "/nonexistent"
};

static void check_contains(const char *message, const char *expected)
{
	bool found = message && expected && strstr(message, expected);
	if (!found)
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n",
			message ? message : "(null)",
			expected ? expected : "(null)");
	CHECK(found);
}

static int open_text(const char *text, const char *node_path,
		     struct crash_store **store, struct crash_error *error)
{
	json_error_t json_error;
	json_t *node = json_loads(text, JSON_DECODE_ANY, &json_error);
	if (!node) {
		fprintf(stderr, "bad test JSON: %s\n", json_error.text);
		return -999;
	}
	crash_error_clear(error);
	int result = store_registry_open(node, node_path, &test_env, store,
					 error);
	json_decref(node);
	return result;
}

static void test_open_null(void)
{
	struct crash_store *store = (struct crash_store *)1;
	struct crash_error error = { 0 };
	CHECK_INT(open_text("{\"type\": \"null\"}", "store", &store, &error), 0);
	REQUIRE(store != NULL);
	CHECK_STR(store->ops->type_name, "null");
	CHECK_STR(store->node_path, "store");
	crash_store_close(store);
}

static void test_unknown_type_lists_known_types(void)
{
	struct crash_store *store = (struct crash_store *)1;
	struct crash_error error = { 0 };
	CHECK_INT(open_text("{\"type\": \"hbsae\"}", "store.stores[1]", &store,
			    &error),
		  -EINVAL);
	CHECK(store == NULL);
	CHECK_INT(error.code, -EINVAL);
	CHECK(strncmp(error.message, "store.stores[1].type", 20) == 0);
	check_contains(error.message, "hbsae");
	/* Every registered type is named, so a typo is easy to see. */
	for (size_t i = 0; crashfs_store_types[i].name; i++)
		if (!crashfs_store_types[i].missing)
			check_contains(error.message,
				       crashfs_store_types[i].name);
	check_contains(error.message, "fs");
	check_contains(error.message, "null");
}

static void test_malformed_nodes(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };

	CHECK_INT(open_text("{\"root\": \"/x\"}", "store.primary", &store,
			    &error),
		  -EINVAL);
	CHECK(store == NULL);
	check_contains(error.message, "store.primary.type");

	CHECK_INT(open_text("{\"type\": 7}", "store", &store, &error), -EINVAL);
	check_contains(error.message, "store.type");

	CHECK_INT(open_text("[{\"type\": \"null\"}]", "store.secondary", &store,
			    &error),
		  -EINVAL);
	check_contains(error.message, "store.secondary");

	CHECK_INT(open_text("\"null\"", "store", &store, &error), -EINVAL);
	check_contains(error.message, "store");

	/* A known type still rejects options it does not know. */
	CHECK_INT(open_text("{\"type\": \"null\", \"root\": \"/x\"}",
			    "store.stores[0]", &store, &error),
		  -EINVAL);
	CHECK(store == NULL);
	check_contains(error.message, "store.stores[0].root");
}

/* Writes text to a new temporary file; returns its name (static buffer). */
static const char *write_temp_file(const char *text)
{
	static char file_name[256];
	const char *dir = getenv("TMPDIR");
	snprintf(file_name, sizeof file_name, "%s/crashfs-registry-XXXXXX.json",
		 dir && *dir ? dir : "/tmp");
	int fd = mkstemps(file_name, 5);
	if (fd < 0)
		return NULL;
	size_t length = strlen(text);
	ssize_t written = write(fd, text, length);
	close(fd);
	return written == (ssize_t)length ? file_name : NULL;
}

static int open_file_text(const char *text, char *file_name_out,
			  size_t file_name_size, struct crash_store **store,
			  struct crash_error *error)
{
	const char *file_name = write_temp_file(text);
	if (!file_name)
		return -998;
	snprintf(file_name_out, file_name_size, "%s", file_name);
	crash_error_clear(error);
	int result = store_registry_open_file(file_name, &test_env, store,
					      error);
	unlink(file_name);
	return result;
}

static void test_open_file(void)
{
	char file_name[256];
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };

	CHECK_INT(open_file_text("{\"store\": {\"type\": \"null\"}}\n",
				 file_name, sizeof file_name, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(store->node_path, "store");
	crash_store_close(store);
	store = NULL;

	/* Broken JSON: the file name, line and column are in the message. */
	CHECK_INT(open_file_text("{\"store\": {\"type\": \"null\",}\n}\n",
				 file_name, sizeof file_name, &store, &error),
		  -EINVAL);
	CHECK(store == NULL);
	check_contains(error.message, file_name);
	check_contains(error.message, ":1:");

	CHECK_INT(open_file_text("{\"store\":\n\n  {\"type\": nul}}", file_name,
				 sizeof file_name, &store, &error),
		  -EINVAL);
	check_contains(error.message, file_name);
	check_contains(error.message, ":3:");

	CHECK_INT(open_file_text("", file_name, sizeof file_name, &store,
				 &error),
		  -EINVAL);
	check_contains(error.message, file_name);

	CHECK_INT(open_file_text("{\"stores\": {\"type\": \"null\"}}", file_name,
				 sizeof file_name, &store, &error),
		  -EINVAL);
	check_contains(error.message, "stores");

	CHECK_INT(open_file_text("{}", file_name, sizeof file_name, &store,
				 &error),
		  -EINVAL);
	check_contains(error.message, "store");

	CHECK_INT(open_file_text("{\"store\": {\"type\": \"nul\"}}", file_name,
				 sizeof file_name, &store, &error),
		  -EINVAL);
	check_contains(error.message, "store.type");
	check_contains(error.message, "nul");

	/* A misspelt top-level key (the most common mistake) is named; the
	 * message is built before the document holding the key is freed. */
	CHECK_INT(open_file_text("{\"stor\": {\"type\": \"null\"}}",
				 file_name, sizeof file_name, &store, &error),
		  -EINVAL);
	CHECK(store == NULL);
	check_contains(error.message, "\"stor\": unknown top-level key");
	CHECK_INT(open_file_text("{\"x\": 1}", file_name, sizeof file_name,
				 &store, &error),
		  -EINVAL);
	check_contains(error.message, "\"x\": unknown top-level key");

	/* Duplicate keys would silently drop a configured store. */
	CHECK_INT(open_file_text("{\"store\": {\"type\": \"null\", "
				 "\"type\": \"fs\"}}",
				 file_name, sizeof file_name, &store, &error),
		  -EINVAL);
	CHECK(store == NULL);
}

static void test_missing_file(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	const char *file_name = "/nonexistent/crashfs-no-such-config.json";
	CHECK(store_registry_open_file(file_name, &test_env, &store, &error) < 0);
	CHECK(store == NULL);
	check_contains(error.message, file_name);
}

/* A tree from text in memory: the same rules as a file, the source name
 * in place of the file name. */
static void test_open_buffer(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	const char *text = "{\"stores\": {\"n\": {\"type\": \"null\"}}, "
			   "\"store\": {\"type\": \"poly\", \"stores\": "
			   "[{\"ref\": \"n\"}, {\"type\": \"null\"}]}}";
	CHECK_INT(store_registry_open_buffer(text, strlen(text), "tree.json",
					     &test_env, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(crash_store_child(store, 0)->node_path, "store.stores[0]");
	crash_store_close(store);
	store = NULL;
	/* Not NUL-terminated: the length is what counts. */
	const char *followed = "{\"store\": {\"type\": \"null\"}}xx";
	CHECK_INT(store_registry_open_buffer(followed, strlen(followed) - 2,
					     "tree.json", &test_env, &store,
					     &error),
		  0);
	crash_store_close(store);
	store = NULL;
	CHECK_INT(store_registry_open_buffer("{\"store\": 1,}", 13, "tree.json",
					     &test_env, &store, &error),
		  -EINVAL);
	check_contains(error.message, "tree.json:1:");
	CHECK_INT(store_registry_open_buffer("[1]", 3, "tree.json", &test_env,
					     &store, &error),
		  -EINVAL);
	check_contains(error.message, "tree.json: must be an object");
	CHECK_INT(store_registry_open_buffer("{\"stor\": {}}", 12, "tree.json",
					     &test_env, &store, &error),
		  -EINVAL);
	check_contains(error.message, "\"stor\": unknown top-level key");
	CHECK(store == NULL);
}

/* validate_only: the configuration is checked as at open, and nothing
 * outside the process is touched: the fs store's root is neither made
 * nor resolved. */
static void test_validate_only_touches_nothing(void)
{
	char parent[] = "/tmp/crashfs-test-validate-XXXXXX";
	REQUIRE(mkdtemp(parent) != NULL);
	char root[128];
	snprintf(root, sizeof root, "%s/a/b/store/", parent);
	char text[512];
	snprintf(text, sizeof text,
		 "{\"type\": \"fallback\", \"primary\": {\"type\": \"fs\", "
		 "\"root\": \"%s\", \"layout\": \"dated\"}, \"secondary\": "
		 "{\"type\": \"faulty\", \"store\": {\"type\": \"fs\", "
		 "\"root\": \"relative/root\"}}}",
		 root);
	struct crash_store_env env = { .types = crashfs_store_types,
				       .validate_only = true };
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	json_t *node = json_loads(text, 0, NULL);
	REQUIRE(node != NULL);
	CHECK_INT(store_registry_open(node, "store", &env, &store, &error), 0);
	REQUIRE(store != NULL);
	json_t *stats = crash_store_stats(store);
	CHECK_INT(json_object_size(stats), 4);
	CHECK(json_object_get(stats, "store.secondary.store") != NULL);
	json_decref(stats);
	crash_store_close(store);
	/* Nothing was made, not even the first missing directory. */
	char first[160];
	snprintf(first, sizeof first, "%s/a", parent);
	CHECK(access(first, F_OK) < 0);
	CHECK(access("relative", F_OK) < 0);
	/* Errors are the same as at open. */
	json_object_set_new(json_object_get(node, "primary"), "layout",
			    json_string("radox"));
	store = NULL;
	CHECK_INT(store_registry_open(node, "store", &env, &store, &error),
		  -EINVAL);
	check_contains(error.message, "store.primary.layout: unknown layout");
	CHECK(store == NULL);
	json_decref(node);
	/* Opened for real, the same tree makes the root. */
	env.validate_only = false;
	node = json_pack("{s:s, s:s}", "type", "fs", "root", root);
	CHECK_INT(store_registry_open(node, "store", &env, &store, &error), 0);
	crash_store_close(store);
	json_decref(node);
	CHECK(access(root, F_OK) == 0);
	char command[256];
	snprintf(command, sizeof command, "rm -r '%s'", parent);
	CHECK_INT(system(command), 0);
}

int main(int argc, char **argv)
{
	/* The registry may log what it rejects; keep the test output short. */
	crash_log_set_level(CRASH_LOG_ERROR);
	test_open_null();
	test_unknown_type_lists_known_types();
	test_malformed_nodes();
	test_open_file();
	test_missing_file();
	test_open_buffer();
	test_validate_only_touches_nothing();
	return unit_test_exit(argv[0]);
}
