/*
 * test_pg_store.c - the PostgreSQL store's configuration without a
 * server: password files, connection strings, what stats show, and the
 * deterministic .jsonz of a processed crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "mountopts/store_types.h"
#include "storage/postgresql/pg_gzip.h"
#include "storage/store_registry.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

static char scratch[] = "/tmp/test_pg_store.XXXXXX";

static int open_text(const char *text, bool validate_only,
		     struct crash_store **out, struct crash_error *error)
{
	json_error_t json_error;
	json_t *node = json_loads(text, 0, &json_error);
	if (!node) {
		fprintf(stderr, "bad test JSON: %s\n", json_error.text);
		return -EINVAL;
	}
	struct crash_store_env env = { .types = crashfs_store_types,
				       .validate_only = validate_only };
	*out = NULL;
	memset(error, 0, sizeof *error);
	int result = store_registry_open(node, "store", &env, out, error);
	json_decref(node);
	return result;
}

static void write_password_file(const char *path, mode_t mode)
{
	FILE *file = fopen(path, "w");
	if (file) {
		fputs("*:*:*:crashfs:s3cret-password\n", file);
		fclose(file);
	}
	chmod(path, mode);
}

static void test_password_file(void)
{
	char path[256], text[1024];
	struct crash_store *store;
	struct crash_error error;
	snprintf(path, sizeof path, "%s/pgpass", scratch);

	write_password_file(path, 0644);
	snprintf(text, sizeof text,
		 "{\"type\": \"postgresql\", \"dsn\": \"host=127.0.0.1 port=1\","
		 " \"password_file\": \"%s\", \"connect_at_open\": false}",
		 path);
	CHECK_INT(open_text(text, false, &store, &error), -EACCES);
	CHECK(store == NULL);
	CHECK(strstr(error.message, "store.password_file") != NULL);
	CHECK(strstr(error.message, path) != NULL);
	CHECK(strstr(error.message, "0644") != NULL);
	CHECK(strstr(error.message, "s3cret") == NULL);

	chmod(path, 0640);
	CHECK_INT(open_text(text, false, &store, &error), -EACCES);
	chmod(path, 0604);
	CHECK_INT(open_text(text, false, &store, &error), -EACCES);

	/* The owner's alone: accepted, and no server is asked
	 * (connect_at_open false). */
	chmod(path, 0600);
	CHECK_INT(open_text(text, false, &store, &error), 0);
	REQUIRE(store);
	CHECK_STR(store->ops->type_name, "postgresql");
	crash_store_close(store);

	chmod(path, 0400);
	CHECK_INT(open_text(text, false, &store, &error), 0);
	crash_store_close(store);

	/* A missing password file is an error naming it. */
	snprintf(text, sizeof text,
		 "{\"type\": \"postgresql\", \"password_file\": \"%s/none\","
		 " \"connect_at_open\": false}",
		 scratch);
	CHECK_INT(open_text(text, false, &store, &error), -ENOENT);
	CHECK(strstr(error.message, "store.password_file") != NULL);
	/* validate_only opens no file. */
	CHECK_INT(open_text(text, true, &store, &error), 0);
	crash_store_close(store);
	unlink(path);
}

static void test_keys(void)
{
	struct crash_store *store;
	struct crash_error error;
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"dns\": \"x\"}", true,
			    &store, &error),
		  -EINVAL);
	CHECK(strstr(error.message, "store.dns") != NULL);
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"max_connections\": 0}",
			    true, &store, &error),
		  -EINVAL);
	CHECK(strstr(error.message, "store.max_connections") != NULL);
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"dsn\": 5}", true,
			    &store, &error),
		  -EINVAL);
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"connect_at_open\": "
			    "\"yes\"}",
			    true, &store, &error),
		  -EINVAL);
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"absent_ttl\": -1}",
			    true, &store, &error),
		  -EINVAL);
	CHECK(strstr(error.message, "store.absent_ttl") != NULL);
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"absent_ttl\": 0.5}",
			    true, &store, &error),
		  0);
	crash_store_close(store);
}

/* A password never reaches a message or the stats. */
static void test_password_withheld(void)
{
	struct crash_store *store;
	struct crash_error error;
	/* libpq's parse error would quote the word after "password". */
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"dsn\": \"host=x "
			    "password s3cret-password\"}",
			    true, &store, &error),
		  -EINVAL);
	CHECK(strstr(error.message, "store.dsn") != NULL);
	CHECK(strstr(error.message, "s3cret") == NULL);
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"dsn\": "
			    "\"postgresql://user:s3cret-password@127.0.0.1:1/db\","
			    " \"connect_at_open\": false}",
			    false, &store, &error),
		  0);
	REQUIRE(store);
	json_t *stats = crash_store_stats(store);
	char *text = json_dumps(stats, 0);
	REQUIRE(text);
	CHECK(strstr(text, "s3cret") == NULL);
	CHECK(strstr(text, "host=127.0.0.1 port=1 dbname=db user=user") != NULL);
	free(text);
	json_decref(stats);
	crash_store_close(store);

	CHECK_INT(open_text("{\"type\": \"postgresql\", \"dsn\": "
			    "\"host=127.0.0.1 port=1 password=s3cret-password "
			    "user=u\", \"connect_at_open\": false}",
			    false, &store, &error),
		  0);
	REQUIRE(store);
	stats = crash_store_stats(store);
	text = json_dumps(stats, 0);
	REQUIRE(text);
	CHECK(strstr(text, "s3cret") == NULL);
	free(text);
	json_decref(stats);
	crash_store_close(store);
}

/* An unreachable server at open: a clear error naming it. */
static void test_unreachable(void)
{
	struct crash_store *store;
	struct crash_error error;
	/* Port 1 on loopback: refused at once. */
	CHECK_INT(open_text("{\"type\": \"postgresql\", \"dsn\": "
			    "\"host=127.0.0.1 port=1 dbname=x user=y "
			    "password=s3cret-password\"}",
			    false, &store, &error),
		  -EIO);
	CHECK(store == NULL);
	CHECK(strstr(error.message, "store: cannot use the server") != NULL);
	CHECK(strstr(error.message, "host=127.0.0.1 port=1") != NULL);
	CHECK(strstr(error.message, "s3cret") == NULL);
}

static void test_gzip(void)
{
	static const char text[] = "{\"uuid\": \"x\", \"signature\": \"caf\xc3\xa9\"}";
	unsigned char *first = NULL, *second = NULL;
	size_t first_size = 0, second_size = 0;
	REQUIRE(pg_gzip_deflate(text, strlen(text), &first, &first_size) == 0);
	REQUIRE(pg_gzip_deflate(text, strlen(text), &second, &second_size) ==
		0);
	/* The same text, the same bytes: mtime 0, no name. */
	CHECK_INT(first_size, second_size);
	CHECK(memcmp(first, second, first_size) == 0);
	CHECK(first[0] == 0x1f && first[1] == 0x8b && first[2] == 8);
	CHECK(first[3] == 0 && first[4] == 0 && first[5] == 0 &&
	      first[6] == 0 && first[7] == 0);

	char *back = NULL;
	size_t back_size = 0;
	CHECK_INT(pg_gzip_inflate(first, first_size, 1 << 20, &back,
				  &back_size),
		  0);
	CHECK_INT(back_size, strlen(text));
	CHECK_STR(back, text);
	free(back);

	/* Two members: the text of both. */
	unsigned char *both = malloc(2 * first_size);
	REQUIRE(both);
	memcpy(both, first, first_size);
	memcpy(both + first_size, second, second_size);
	CHECK_INT(pg_gzip_inflate(both, 2 * first_size, 1 << 20, &back,
				  &back_size),
		  0);
	CHECK_INT(back_size, 2 * strlen(text));
	free(back);
	CHECK_INT(pg_gzip_inflate(both, 2 * first_size, 10, &back, &back_size),
		  -EFBIG);
	CHECK_INT(pg_gzip_inflate(first, first_size - 3, 1 << 20, &back,
				  &back_size),
		  -EINVAL);
	CHECK_INT(pg_gzip_inflate("not gzip", 8, 1 << 20, &back, &back_size),
		  -EINVAL);
	free(both);
	free(first);
	free(second);
}

int main(void)
{
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return 1;
	}
	test_password_file();
	test_keys();
	test_password_withheld();
	test_unreachable();
	test_gzip();
	rmdir(scratch);
	return unit_test_exit("test_pg_store");
}
