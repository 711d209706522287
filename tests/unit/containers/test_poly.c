/*
 * test_poly.c - the poly container over in-memory stores: every save to
 * every member, failures gathered into one -EIO that names each failing
 * member (save_processed too, unlike Socorro's save_raw_and_processed),
 * reads from read_from, removes to all, interruption, configuration.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containers/poly_store.h"
#include "storage/crash_log.h"
#include "tests/unit/store_test_util.h"
#include "storage/memory/memory_store.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

struct fixture {
	struct crash_store *poly;
	struct crash_store *members[3];
	struct crash_call call;
};

static bool setup(struct fixture *fixture, size_t read_from)
{
	struct crash_error error = { 0 };
	struct crash_store **members = calloc(3, sizeof members[0]);
	if (!members)
		return false;
	for (int i = 0; i < 3; i++) {
		char path[64];
		snprintf(path, sizeof path, "store.stores[%d]", i);
		members[i] = fixture->members[i] = memory_store_new(path);
	}
	crash_call_init(&fixture->call);
	if (poly_store_new(members, 3, read_from, "store", &fixture->poly,
			   &error) < 0) {
		fprintf(stderr, "%s\n", error.message);
		return false;
	}
	return true;
}

static void test_saves_go_to_every_member(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	CHECK_INT(test_save_raw(f.poly, &f.call, ID_A, "{\"a\": 1}", false), 0);
	CHECK_INT(test_save_dump(f.poly, &f.call, ID_A, NULL, "MDMP"), 0);
	CHECK_INT(test_save_processed(f.poly, &f.call, ID_A, "{\"p\": 1}",
				      false),
		  0);
	for (int i = 0; i < 3; i++) {
		CHECK(memory_store_has(f.members[i], ID_A, &RAW_PART));
		CHECK(memory_store_has(f.members[i], ID_A, &DUMP_PART));
		CHECK(memory_store_has(f.members[i], ID_A, &PROCESSED_PART));
	}
	CHECK_STR(f.poly->ops->type_name, "poly");
	CHECK_INT(crash_store_child_count(f.poly), 3);
	CHECK(crash_store_child(f.poly, 2) == f.members[2]);
	crash_store_close(f.poly);
}

/* A store that keeps raw crashes and no dumps (as PostgreSQL's and a
 * queue do): a memory store behind a table without save_dump. */
struct raw_only_store {
	struct crash_store base;
	struct crash_store *inner;
};

static void raw_only_close(struct crash_store *store);

static int raw_only_save_raw_crash(struct crash_store *store,
				   struct crash_call *call,
				   const char *crash_id,
				   const struct crash_blob *raw_crash,
				   const struct crash_dump *dumps,
				   size_t dump_count);

static const struct crash_store_ops raw_only_ops = {
	.type_name = "raw_only",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = raw_only_close,
	.save_raw_crash = raw_only_save_raw_crash,
};

static void raw_only_close(struct crash_store *store)
{
	struct raw_only_store *self = crash_store_downcast(store,
							   &raw_only_ops);
	crash_store_close(self->inner);
	crash_store_base_release(&self->base);
	free(self);
}

static int raw_only_save_raw_crash(struct crash_store *store,
				   struct crash_call *call,
				   const char *crash_id,
				   const struct crash_blob *raw_crash,
				   const struct crash_dump *dumps,
				   size_t dump_count)
{
	struct raw_only_store *self = crash_store_downcast(store,
							   &raw_only_ops);
	if (dump_count > 0)
		return crash_error_set(&call->error, -ENOTSUP,
				       "raw_only: dumps given");
	return crash_store_save_raw_crash(self->inner, call, crash_id,
					  raw_crash, dumps, dump_count);
}

static struct crash_store *raw_only_new(const char *path)
{
	struct raw_only_store *self = calloc(1, sizeof *self);
	if (!self)
		abort();
	if (crash_store_base_init(&self->base, &raw_only_ops, path) < 0)
		abort();
	self->inner = memory_store_new(path);
	if (!self->inner)
		abort();
	return &self->base;
}

static void test_a_member_without_dumps_gets_the_raw_crash_alone(void)
{
	struct crash_error error = { 0 };
	struct crash_call call;
	struct crash_store *members_store[2];
	struct crash_store **members = calloc(2, sizeof members[0]);
	REQUIRE(members);
	members[0] = members_store[0] = memory_store_new("store.stores[0]");
	members[1] = members_store[1] = raw_only_new("store.stores[1]");
	struct crash_store *poly;
	REQUIRE(poly_store_new(members, 2, 0, "store", &poly, &error) == 0);
	crash_call_init(&call);
	CHECK_INT(test_save_raw_with_dump(poly, &call, ID_A, "{\"a\": 1}",
					  "MDMP"),
		  0);
	CHECK(memory_store_has(members_store[0], ID_A, &RAW_PART));
	CHECK(memory_store_has(members_store[0], ID_A, &DUMP_PART));
	struct raw_only_store *raw_only =
		crash_store_downcast(members_store[1], &raw_only_ops);
	CHECK(memory_store_has(raw_only->inner, ID_A, &RAW_PART));
	CHECK(!memory_store_has(raw_only->inner, ID_A, &DUMP_PART));
	crash_store_close(poly);

	/* No member keeps dumps: refused whole, nothing saved. */
	members = calloc(1, sizeof members[0]);
	REQUIRE(members);
	members[0] = members_store[1] = raw_only_new("store.stores[0]");
	REQUIRE(poly_store_new(members, 1, 0, "store", &poly, &error) == 0);
	crash_call_init(&call);
	CHECK_INT(test_save_raw_with_dump(poly, &call, ID_A, "{\"a\": 1}",
					  "MDMP"),
		  -ENOTSUP);
	CHECK(test_contains(call.error.message, "no store in this poly keeps "
						"dumps"));
	raw_only = crash_store_downcast(members_store[1], &raw_only_ops);
	CHECK(!memory_store_has(raw_only->inner, ID_A, &RAW_PART));
	crash_store_close(poly);
}

static void test_failing_member_does_not_stop_the_others(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	memory_store_fail(f.members[1], STORE_OP_SAVE_RAW_CRASH, -1, -EIO,
			  false);
	CHECK_INT(test_save_raw(f.poly, &f.call, ID_A, "{\"a\": 1}", false),
		  -EIO);
	CHECK(memory_store_has(f.members[0], ID_A, &RAW_PART));
	CHECK(!memory_store_has(f.members[1], ID_A, &RAW_PART));
	CHECK(memory_store_has(f.members[2], ID_A, &RAW_PART));
	CHECK(test_contains(f.call.error.message, "store: save_raw_crash "
						  ID_A ": "));
	CHECK(test_contains(f.call.error.message,
			    "store.stores[1]: injected save_raw_crash failure"));
	CHECK(strstr(f.call.error.message, "store.stores[0]") == NULL);
	/* Counted once, on the failing member's node. */
	CHECK_INT(atomic_load(&f.members[1]->counters.errors), 1);
	CHECK_INT(atomic_load(&f.members[0]->counters.errors), 0);
	CHECK_INT(atomic_load(&f.poly->counters.errors), 1);

	/* Two failing members: both listed, in member order. */
	memory_store_fail(f.members[2], STORE_OP_SAVE_RAW_CRASH, -1, -ENOSPC,
			  false);
	CHECK_INT(test_save_raw(f.poly, &f.call, ID_B, "{\"b\": 1}", false),
		  -EIO);
	const char *message = f.call.error.message;
	const char *first = strstr(message, "store.stores[1]");
	const char *second = strstr(message, "store.stores[2]");
	CHECK(first != NULL && second != NULL && first < second);
	CHECK(memory_store_has(f.members[0], ID_B, &RAW_PART));
	crash_store_close(f.poly);
}

/* Socorro's PolyCrashStorage.save_raw_and_processed let the first
 * exception escape and never called the later stores; crashfs gathers
 * processed saves like every other save. */
struct save_job {
	struct fixture *fixture;
	int result;
};

static void save_b(void *arg)
{
	struct save_job *job = arg;
	job->result = test_save_raw(job->fixture->poly, &job->fixture->call,
				    ID_B, "{}", false);
}

static void test_each_failure_reported_once(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	memory_store_fail(f.members[0], STORE_OP_SAVE_RAW_CRASH, -1, -EIO,
			  false);
	memory_store_fail(f.members[2], STORE_OP_SAVE_RAW_CRASH, -1, -EIO,
			  false);
	struct save_job job = { .fixture = &f };
	char *log = test_capture_log(save_b, &job);
	REQUIRE(log != NULL);
	CHECK_INT(job.result, -EIO);
	/* One line per failed request, written by the caller from the
	 * aggregate error, which names every member's failure once; the
	 * poly itself logs nothing above debug. */
	CHECK_INT(test_count(log, "member failed"), 0);
	CHECK_INT(test_count(f.call.error.message, "store.stores[0]: injected"),
		  1);
	CHECK_INT(test_count(f.call.error.message, "store.stores[2]: injected"),
		  1);
	free(log);
	crash_store_close(f.poly);
}

static void test_processed_and_dump_saves_gather_too(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	memory_store_fail(f.members[0], STORE_OP_SAVE_PROCESSED, -1, -EIO,
			  false);
	CHECK_INT(test_save_processed(f.poly, &f.call, ID_A, "{\"p\": 1}",
				      false),
		  -EIO);
	CHECK(memory_store_has(f.members[1], ID_A, &PROCESSED_PART));
	CHECK(memory_store_has(f.members[2], ID_A, &PROCESSED_PART));
	CHECK(test_contains(f.call.error.message, "store.stores[0]"));

	memory_store_fail(f.members[0], STORE_OP_SAVE_DUMP, -1, -EIO, false);
	CHECK_INT(test_save_dump(f.poly, &f.call, ID_A, "flash1", "F1"), -EIO);
	struct crash_part flash = { .type = CRASH_PART_DUMP,
				    .dump_name = "flash1" };
	CHECK(memory_store_has(f.members[1], ID_A, &flash));
	CHECK(memory_store_has(f.members[2], ID_A, &flash));
	crash_store_close(f.poly);
}

/* A store may hard-link an adoptable spool file into place; two stores
 * must not share that inode, so only the last member is offered it. */
static void test_only_the_last_member_may_adopt(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	struct crash_dump dump = { .dump_name = NULL };
	REQUIRE(memory_blob(&dump.blob, "MDMP", NULL) == 0);
	dump.blob.path = "/spool/0001";
	dump.blob.adoptable = true;
	CHECK_INT(crash_store_save_dump(f.poly, &f.call, ID_A, &dump), 0);
	CHECK_INT(memory_store_last_adoptable(f.members[0]), 0);
	CHECK_INT(memory_store_last_adoptable(f.members[1]), 0);
	CHECK_INT(memory_store_last_adoptable(f.members[2]), 1);
	close(dump.blob.fd);
	crash_store_close(f.poly);
}

static void test_aggregate_is_operational_only_if_all_were(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	memory_store_fail(f.members[0], STORE_OP_SAVE_RAW_CRASH, -1,
			  -ECONNREFUSED, true);
	CHECK_INT(test_save_raw(f.poly, &f.call, ID_A, "{}", false), -EIO);
	CHECK(f.call.error.operational);
	memory_store_fail(f.members[1], STORE_OP_SAVE_RAW_CRASH, -1, -EINVAL,
			  false);
	CHECK_INT(test_save_raw(f.poly, &f.call, ID_A, "{}", false), -EIO);
	CHECK(!f.call.error.operational);
	crash_store_close(f.poly);
}

static void test_reads_from_read_from(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 1));
	memory_store_put(f.members[0], ID_A, &RAW_PART, "{\"m\": 0}", 8);
	memory_store_put(f.members[1], ID_A, &RAW_PART, "{\"m\": 1}", 8);
	memory_store_put(f.members[1], ID_C, &RAW_PART, "{}", 2);
	int result = 0;
	char *text = test_read_part(f.poly, &f.call, ID_A, &RAW_PART, &result);
	CHECK_STR(text, "{\"m\": 1}");
	free(text);
	CHECK_INT(crash_store_stat_crash(f.poly, &f.call, ID_C, NULL), 0);
	CHECK_INT(crash_store_stat_crash(f.poly, &f.call, ID_B, NULL), -ENOENT);
	struct collected days = { .count = 0 };
	CHECK_INT(test_list_days(f.poly, &f.call,
					&days),
		  0);
	CHECK_INT(days.count, 2);
	CHECK_INT(memory_store_calls(f.members[0], STORE_OP_OPEN_PART), 0);
	CHECK_INT(memory_store_calls(f.members[0], STORE_OP_OPEN_DAYS), 0);
	/* Not a queue (Socorro's poly returned no new crashes). */
	CHECK(!crash_store_can(f.poly, new_crashes));
	crash_store_close(f.poly);
}

static void test_removes_go_to_every_member(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	memory_store_put(f.members[1], ID_A, &RAW_PART, "{}", 2);
	memory_store_put(f.members[2], ID_A, &RAW_PART, "{}", 2);
	CHECK_INT(crash_store_remove(f.poly, &f.call, ID_A), 0);
	CHECK_INT(memory_store_crash_count(f.members[1]), 0);
	CHECK_INT(memory_store_crash_count(f.members[2]), 0);
	CHECK_INT(crash_store_remove(f.poly, &f.call, ID_A), -ENOENT);

	memory_store_put(f.members[0], ID_B, &RAW_PART, "{}", 2);
	memory_store_put(f.members[0], ID_B, &DUMP_PART, "MDMP", 4);
	memory_store_put(f.members[2], ID_B, &DUMP_PART, "MDMP", 4);
	CHECK_INT(crash_store_remove_part(f.poly, &f.call, ID_B, &DUMP_PART),
		  0);
	CHECK(!memory_store_has(f.members[0], ID_B, &DUMP_PART));
	CHECK(!memory_store_has(f.members[2], ID_B, &DUMP_PART));
	CHECK(memory_store_has(f.members[0], ID_B, &RAW_PART));

	struct timespec mtime = { .tv_sec = 1300000000 };
	CHECK_INT(crash_store_set_part_mtime(f.poly, &f.call, ID_B, &RAW_PART,
					     &mtime),
		  0);
	CHECK_INT(crash_store_set_part_mtime(f.poly, &f.call, ID_C, &RAW_PART,
					     &mtime),
		  -ENOENT);

	/* A failing member: the others still remove, one -EIO names it. */
	memory_store_put(f.members[1], ID_B, &RAW_PART, "{}", 2);
	memory_store_fail(f.members[0], STORE_OP_REMOVE, -1, -EIO, false);
	CHECK_INT(crash_store_remove(f.poly, &f.call, ID_B), -EIO);
	CHECK(test_contains(f.call.error.message, "store.stores[0]"));
	CHECK_INT(memory_store_crash_count(f.members[1]), 0);

	/* No member keeps directories: nothing to remove. */
	CHECK_INT(crash_store_remove_radix_dir(f.poly, &f.call, "20120408",
					       "93"),
		  -ENOTSUP);
	crash_store_close(f.poly);
}

struct interrupt_after {
	int polls;
};

static bool interrupt_now(void *arg)
{
	((struct interrupt_after *)arg)->polls++;
	return true;
}

static void test_interrupted_caller_stops_the_fan_out(void)
{
	struct fixture f;
	REQUIRE(setup(&f, 0));
	struct interrupt_after state = { 0 };
	f.call.interrupted = interrupt_now;
	f.call.interrupted_arg = &state;
	CHECK_INT(test_save_raw(f.poly, &f.call, ID_A, "{}", false), -EINTR);
	/* The first member is always tried; the next ones are not. */
	CHECK(memory_store_has(f.members[0], ID_A, &RAW_PART));
	CHECK(!memory_store_has(f.members[1], ID_A, &RAW_PART));
	CHECK_INT(memory_store_calls(f.members[2], STORE_OP_SAVE_RAW_CRASH), 0);

	/* A member interrupted while retrying stops it too. */
	f.call.interrupted = NULL;
	memory_store_fail(f.members[0], STORE_OP_SAVE_RAW_CRASH, -1, -EINTR,
			  false);
	CHECK_INT(test_save_raw(f.poly, &f.call, ID_B, "{}", false), -EINTR);
	CHECK_INT(memory_store_calls(f.members[1], STORE_OP_SAVE_RAW_CRASH), 0);
	crash_store_close(f.poly);
}

static void test_configuration_errors(void)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	CHECK_INT(test_open_text("{\"type\": \"poly\"}", NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.stores: missing"));
	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": []}", NULL,
				 &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.stores: must be a non-empty"));
	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": "
				 "[{\"type\": \"null\"}], \"read_from\": 1}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.read_from"));
	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": "
				 "[{\"type\": \"null\"}, {\"type\": \"nul\"}]}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message,
			    "store.stores[1].type: unknown store type 'nul'"));
	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": "
				 "[{\"type\": \"null\"}], \"members\": 1}",
				 NULL, &store, &error),
		  -EINVAL);
	CHECK(test_contains(error.message, "store.members: unknown option"));
	CHECK(store == NULL);

	CHECK_INT(test_open_text("{\"type\": \"poly\", \"stores\": "
				 "[{\"type\": \"null\"}, {\"type\": \"null\"}],"
				 " \"read_from\": 1}",
				 NULL, &store, &error),
		  0);
	REQUIRE(store != NULL);
	CHECK_STR(crash_store_child(store, 1)->node_path, "store.stores[1]");
	json_t *stats = crash_store_stats(store);
	CHECK_STR(json_string_value(json_object_get(
			  json_object_get(stats, "store"), "read_from")),
		  "store.stores[1]");
	json_decref(stats);
	crash_store_close(store);
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_saves_go_to_every_member();
	test_a_member_without_dumps_gets_the_raw_crash_alone();
	test_failing_member_does_not_stop_the_others();
	test_each_failure_reported_once();
	test_processed_and_dump_saves_gather_too();
	test_only_the_last_member_may_adopt();
	test_aggregate_is_operational_only_if_all_were();
	test_reads_from_read_from();
	test_removes_go_to_every_member();
	test_interrupted_caller_stops_the_fan_out();
	test_configuration_errors();
	return unit_test_exit(argv[0]);
}
