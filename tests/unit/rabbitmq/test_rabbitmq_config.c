/*
 * test_rabbitmq_config.c - the RabbitMQ store without a broker: its
 * options and defaults, the password and where it must never appear,
 * Socorro's legacy_processing filter, the slots it lacks, and what a
 * broker that cannot be reached looks like (a loopback port nobody
 * listens on).  tests/functional/test_rabbitmq*.py test it against a
 * real broker.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "storage/crash_log.h"
#include "storage/rabbitmq/rabbitmq_store.h"
#include "tests/unit/store_test_util.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define SECRET "s3cret-Pa55word"

/* A loopback port with no listener: bound, then closed. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in address = { .sin_family = AF_INET,
				       .sin_addr.s_addr =
					       htonl(INADDR_LOOPBACK) };
	socklen_t length = sizeof address;
	if (fd < 0 || bind(fd, (struct sockaddr *)&address, length) < 0 ||
	    getsockname(fd, (struct sockaddr *)&address, &length) < 0)
		return -1;
	close(fd);
	return ntohs(address.sin_port);
}

static json_t *stats_of(struct crash_store *store)
{
	json_t *stats = crash_store_stats(store);
	json_t *node = json_incref(json_object_get(stats, store->node_path));
	json_decref(stats);
	return node;
}

static const char *stat_string(json_t *stats, const char *key)
{
	return json_string_value(json_object_get(stats, key));
}

static long long stat_integer(json_t *stats, const char *key)
{
	return json_integer_value(json_object_get(stats, key));
}

static int open_text(const char *text, bool validate_only,
		     struct crash_store **store, struct crash_error *error)
{
	struct crash_store_env env = { .validate_only = validate_only };
	return test_open_text(text, &env, store, error);
}

static void test_socorro_defaults(void)
{
	struct crash_store *store = NULL;
	struct crash_error error;
	REQUIRE(open_text("{\"type\": \"rabbitmq\"}", false, &store,
			  &error) == 0);
	CHECK_STR(store->ops->type_name, "rabbitmq");
	json_t *stats = stats_of(store);
	CHECK_STR(stat_string(stats, "host"), "localhost");
	CHECK_INT(stat_integer(stats, "port"), 5672);
	CHECK_STR(stat_string(stats, "vhost"), "/");
	CHECK_STR(stat_string(stats, "user"), "guest");
	/* Not the 2014 quirk (socorro.reprocessing, no filtering). */
	CHECK_STR(stat_string(stats, "routing_key"), "socorro.normal");
	CHECK(json_is_true(json_object_get(stats,
					   "filter_on_legacy_processing")));
	json_t *queues = json_object_get(stats, "queues");
	CHECK_STR(stat_string(queues, "normal"), "socorro.normal");
	CHECK_STR(stat_string(queues, "priority"), "socorro.priority");
	CHECK_STR(stat_string(queues, "reprocessing"), "socorro.reprocessing");
	CHECK_INT(stat_integer(stats, "queue_window"), 256);
	CHECK_INT(stat_integer(stats, "published"), 0);
	CHECK(json_object_get(stats, "password") == NULL);
	json_decref(stats);
	crash_store_close(store);
}

static void test_options_are_checked(void)
{
	static const struct {
		const char *text;
		int code;
		const char *message;
	} cases[] = {
		{ "{\"type\": \"rabbitmq\", \"hots\": \"x\"}", -EINVAL,
		  "store.hots: unknown option" },
		{ "{\"type\": \"rabbitmq\", \"port\": 0}", -EINVAL,
		  "store.port" },
		{ "{\"type\": \"rabbitmq\", \"port\": \"5672\"}", -EINVAL,
		  "store.port: must be an integer" },
		{ "{\"type\": \"rabbitmq\", \"host\": \"\"}", -EINVAL,
		  "store.host" },
		{ "{\"type\": \"rabbitmq\", \"routing_key\": \"\"}", -EINVAL,
		  "store.routing_key" },
		{ "{\"type\": \"rabbitmq\", \"filter_on_legacy_processing\": "
		  "\"False\"}",
		  -EINVAL, "store.filter_on_legacy_processing" },
		{ "{\"type\": \"rabbitmq\", \"queues\": [\"a\"]}", -EINVAL,
		  "store.queues: must be an object" },
		{ "{\"type\": \"rabbitmq\", \"queues\": {\"urgent\": \"a\"}}",
		  -EINVAL, "store.queues.urgent: unknown queue role" },
		{ "{\"type\": \"rabbitmq\", \"queues\": {\"normal\": \"\"}}",
		  -EINVAL, "store.queues.normal: must be 1 to 255" },
		{ "{\"type\": \"rabbitmq\", \"queues\": {\"priority\": "
		  "\"socorro.normal\"}}",
		  -EINVAL,
		  "store.queues: normal and priority name the same queue" },
		{ "{\"type\": \"rabbitmq\", \"queue_window\": 0}", -EINVAL,
		  "store.queue_window" },
		{ "{\"type\": \"rabbitmq\", \"timeout\": 0}", -EINVAL,
		  "store.timeout" },
		{ "{\"type\": \"rabbitmq\", \"timeout\": \"10\"}", -EINVAL,
		  "store.timeout" },
		{ "{\"type\": \"rabbitmq\", \"max_connections\": 0}", -EINVAL,
		  "store.max_connections" },
		{ "{\"type\": \"rabbitmq\", \"password\": \"a\", "
		  "\"password_file\": \"/x\"}",
		  -EINVAL, "give password or password_file, not both" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct crash_store *store = NULL;
		struct crash_error error;
		int result = open_text(cases[i].text, true, &store, &error);
		CHECK_INT(result, cases[i].code);
		CHECK(store == NULL);
		if (!test_contains(error.message, cases[i].message))
			fprintf(stderr, "  (case %zu)\n", i);
		crash_store_close(store);
	}
}

static void write_password_file(const char *path, mode_t mode,
				const char *text)
{
	FILE *file = fopen(path, "w");
	if (file) {
		fputs(text, file);
		fclose(file);
	}
	chmod(path, mode);
}

static void test_password_file(void)
{
	char directory[] = "/tmp/crashfs-rabbitmq-test-XXXXXX";
	REQUIRE(mkdtemp(directory) != NULL);
	char path[128], text[400];
	snprintf(path, sizeof path, "%s/password", directory);
	snprintf(text, sizeof text,
		 "{\"type\": \"rabbitmq\", \"password_file\": \"%s\"}", path);
	struct crash_store *store = NULL;
	struct crash_error error;

	/* Readable by others: refused, naming the file. */
	write_password_file(path, 0644, SECRET "\n");
	CHECK_INT(open_text(text, false, &store, &error), -EACCES);
	CHECK(test_contains(error.message, path));
	CHECK(test_contains(error.message, "group or world access"));
	CHECK(!strstr(error.message, SECRET));
	chmod(path, 0640);
	CHECK_INT(open_text(text, false, &store, &error), -EACCES);
	/* Checking a configuration opens no file. */
	CHECK_INT(open_text(text, true, &store, &error), 0);
	crash_store_close(store);
	store = NULL;

	chmod(path, 0600);
	REQUIRE(open_text(text, false, &store, &error) == 0);
	json_t *stats = stats_of(store);
	char *dumped = json_dumps(stats, 0);
	CHECK(dumped && !strstr(dumped, SECRET));
	CHECK_STR(stat_string(stats, "password_file"), path);
	free(dumped);
	json_decref(stats);
	crash_store_close(store);
	store = NULL;

	write_password_file(path, 0600, "\n");
	CHECK_INT(open_text(text, false, &store, &error), -EINVAL);
	CHECK(test_contains(error.message, "empty first line"));
	unlink(path);
	CHECK_INT(open_text(text, false, &store, &error), -ENOENT);
	CHECK(test_contains(error.message, path));
	rmdir(directory);
}

static void test_legacy_processing_filter(void)
{
	static const struct {
		const char *raw_crash;
		bool queued;
	} cases[] = {
		{ "{\"legacy_processing\": 0}", true },
		{ "{\"legacy_processing\": 0.0}", true },
		{ "{\"legacy_processing\": false}", true },
		{ "{\"legacy_processing\": 1}", false },
		{ "{\"legacy_processing\": 2}", false },
		{ "{\"legacy_processing\": \"0\"}", false },
		{ "{\"legacy_processing\": null}", false },
		{ "{\"legacy_processing\": true}", false },
		{ "{}", false },
		{ "[0]", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *raw = json_loads(cases[i].raw_crash,
					 JSON_DECODE_ANY, NULL);
		CHECK(raw != NULL);
		if (rabbitmq_should_queue(raw, true) != cases[i].queued)
			fprintf(stderr, "filter wrong for %s\n",
				cases[i].raw_crash);
		CHECK(rabbitmq_should_queue(raw, true) == cases[i].queued);
		CHECK(rabbitmq_should_queue(raw, false));
		json_decref(raw);
	}
	CHECK(!rabbitmq_should_queue(NULL, true));
	CHECK(rabbitmq_should_queue(NULL, false));
}

/* A queue keeps no crash: the slots of data are not there, so the
 * interface refuses them and containers leave the store out. */
static void test_keeps_no_crash_data(void)
{
	struct crash_store *store = NULL;
	struct crash_error error;
	REQUIRE(open_text("{\"type\": \"rabbitmq\"}", false, &store,
			  &error) == 0);
	CHECK(crash_store_can(store, save_raw_crash));
	CHECK(!crash_store_can(store, save_dump));
	CHECK(!crash_store_can(store, save_processed));
	CHECK(!crash_store_can(store, open_part));
	CHECK(!crash_store_can(store, stat_crash));
	CHECK(!crash_store_can(store, stat_part));
	CHECK(!crash_store_can(store, list_parts));
	CHECK(!crash_store_can(store, list_crashes));
	CHECK(!crash_store_can(store, remove));
	CHECK(crash_store_can(store, new_crashes));
	CHECK(crash_store_can(store, ack_crash));
	CHECK(crash_store_can(store, setup));

	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(crash_store_open_part(store, &call, ID_A, &RAW_PART, NULL,
					&(int){ -1 }),
		  -ENOTSUP);
	crash_call_init(&call);
	CHECK_INT(crash_store_stat_crash(store, &call, ID_A, NULL), -ENOTSUP);
	crash_call_init(&call);
	CHECK_INT(test_save_dump(store, &call, ID_A, NULL, "MDMP"), -EROFS);
	crash_call_init(&call);
	CHECK_INT(test_save_processed(store, &call, ID_A, "{}", false),
		  -EROFS);

	/* A token this store did not give. */
	struct crash_queue_entry entry = { .crash_id = ID_A };
	entry.token.issuer = NULL;
	crash_call_init(&call);
	CHECK_INT(crash_store_ack_crash(store, &call, &entry), -ENOENT);
	CHECK(test_contains(call.error.message, "not an entry of this"));
	crash_store_close(store);
}

/* Filtered crashes reach no broker: saving one succeeds with the
 * broker unreachable. */
static void test_filtered_crash_needs_no_broker(void)
{
	char text[300];
	snprintf(text, sizeof text,
		 "{\"type\": \"rabbitmq\", \"host\": \"127.0.0.1\", "
		 "\"port\": %d}",
		 closed_port());
	struct crash_store *store = NULL;
	struct crash_error error;
	REQUIRE(open_text(text, false, &store, &error) == 0);
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(test_save_raw(store, &call, ID_A,
				"{\"legacy_processing\": 1}", false),
		  0);
	CHECK_INT(test_save_raw(store, &call, ID_A, "{}", true), 0);
	CHECK_INT(test_save_raw(store, &call, ID_A, "not json", true),
		  -EINVAL);
	json_t *stats = stats_of(store);
	CHECK_INT(stat_integer(stats, "filtered"), 2);
	CHECK_INT(stat_integer(stats, "connections_opened"), 0);
	json_decref(stats);
	crash_store_close(store);
}

/* An unreachable broker is an operational failure (the retry policy's
 * business), says where, and never shows the password. */
static void test_unreachable_broker(void)
{
	int port = closed_port();
	REQUIRE(port > 0);
	char text[400], where[64];
	snprintf(text, sizeof text,
		 "{\"type\": \"rabbitmq\", \"host\": \"127.0.0.1\", "
		 "\"port\": %d, \"password\": \"" SECRET "\", "
		 "\"filter_on_legacy_processing\": false, \"timeout\": 2}",
		 port);
	snprintf(where, sizeof where, "127.0.0.1:%d", port);
	struct crash_store *store = NULL;
	struct crash_error error;
	REQUIRE(open_text(text, false, &store, &error) == 0);

	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(test_save_raw(store, &call, ID_A, "{}", false), -EIO);
	CHECK(call.error.operational);
	CHECK(test_contains(call.error.message, "connecting"));
	CHECK(test_contains(call.error.message, where));
	CHECK(!strstr(call.error.message, SECRET));

	crash_call_init(&call);
	struct collected ids = { .count = 0 };
	CHECK_INT(crash_store_new_crashes(store, &call, test_collect_queue,
					  &ids),
		  -EIO);
	CHECK(call.error.operational);
	CHECK_INT(ids.count, 0);
	CHECK(!strstr(call.error.message, SECRET));

	crash_call_init(&call);
	CHECK(crash_store_setup_tree(store, &call, NULL, NULL) == -EIO);

	json_t *stats = stats_of(store);
	char *dumped = json_dumps(stats, 0);
	CHECK(dumped && !strstr(dumped, SECRET));
	CHECK_INT(stat_integer(stats, "published"), 0);
	free(dumped);
	json_decref(stats);
	crash_store_close(store);
}

static void test_default_retry_wraps_it(void)
{
	json_t *retry = json_pack("{s:s, s:[f]}", "policy", "limited",
				  "backoff_delays", 0.0);
	struct crash_store_env env = { .default_retry = retry };
	struct crash_store *store = NULL;
	struct crash_error error;
	REQUIRE(test_open_text("{\"type\": \"rabbitmq\"}", &env, &store,
			       &error) == 0);
	CHECK_STR(store->ops->type_name, "retry");
	CHECK_STR(store->node_path, "store.retry");
	CHECK_STR(crash_store_child(store, 0)->ops->type_name, "rabbitmq");
	CHECK(!crash_store_can(store, save_dump));
	CHECK(crash_store_can(store, ack_crash));
	crash_store_close(store);
	json_decref(retry);
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_socorro_defaults();
	test_options_are_checked();
	test_password_file();
	test_legacy_processing_filter();
	test_keeps_no_crash_data();
	test_filtered_crash_needs_no_broker();
	test_unreachable_broker();
	test_default_retry_wraps_it();
	return unit_test_exit(argv[0]);
}
