/*
 * test_executor.c - the transaction executor (retry counts, backoff
 * timing, interruption, which errors are retried, its configuration) and
 * the retry store that runs every call of a wrapped store through it.
 *
 * Backoff timing uses delays of a few hundredths of a second and asserts
 * lower bounds and generous upper bounds only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "storage/crash_log.h"
#include "storage/executor/retry_store.h"
#include "storage/executor/transaction_executor.h"
#include "storage/null/null_store.h"
#include "tests/unit/store_test_util.h"
#include "storage/memory/memory_store.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

/* A transaction that fails `failures` times, then succeeds. */
struct flaky {
	int failures;
	int code;
	bool operational;
	int attempts;
	int reconnects;
};

static int flaky_attempt(void *arg, struct crash_call *call)
{
	struct flaky *flaky = arg;
	flaky->attempts++;
	if (flaky->failures < 0 || flaky->attempts <= flaky->failures) {
		if (flaky->operational)
			return crash_error_set_operational(
				&call->error, flaky->code,
				"server down (attempt %d)", flaky->attempts);
		return crash_error_set(&call->error, flaky->code,
				       "bad request (attempt %d)",
				       flaky->attempts);
	}
	return 0;
}

static void flaky_reconnect(void *arg)
{
	((struct flaky *)arg)->reconnects++;
}

static int run(const char *retry_json, struct flaky *flaky,
	       struct crash_call *call, struct crash_store_counters *counters)
{
	struct transaction_executor executor;
	struct crash_error error = { 0 };
	json_t *node = json_loads(retry_json, 0, NULL);
	int result = transaction_executor_init_json(&executor, node,
						    "store.retry", &error);
	json_decref(node);
	if (result < 0) {
		fprintf(stderr, "%s\n", error.message);
		return -999;
	}
	struct transaction transaction = {
		.node_path = "store.retry",
		.what = "save_raw_crash test",
		.attempt = flaky_attempt,
		.reconnect = flaky_reconnect,
		.arg = flaky,
		.counters = { counters, NULL },
	};
	return transaction_executor_run(&executor, call, &transaction);
}

static void test_policy_none_reconnects_but_does_not_retry(void)
{
	struct flaky flaky = { .failures = -1, .code = -EIO,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(run("{\"policy\": \"none\"}", &flaky, &call, &counters),
		  -EIO);
	CHECK_INT(flaky.attempts, 1);
	CHECK_INT(flaky.reconnects, 1);
	CHECK_INT(atomic_load(&counters.retries), 0);
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_FAILING);
	CHECK(call.error.operational);
	CHECK(test_contains(call.error.message, "server down (attempt 1)"));
}

static void test_limited_attempts_as_many_as_delays(void)
{
	struct flaky flaky = { .failures = -1, .code = -ECONNREFUSED,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	/* Socorro's tested case: delays [0, 0, 0], a persistent operational
	 * error: three attempts, then the error. */
	CHECK_INT(run("{\"policy\": \"limited\", \"backoff_delays\": [0, 0, 0]}",
		      &flaky, &call, &counters),
		  -ECONNREFUSED);
	CHECK_INT(flaky.attempts, 3);
	CHECK_INT(flaky.reconnects, 3);
	CHECK_INT(atomic_load(&counters.retries), 2);
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_FAILING);
	CHECK(test_contains(call.error.message, "gave up after 3 attempts"));
	CHECK(test_contains(call.error.message, "server down (attempt 3)"));
}

static void test_limited_recovers(void)
{
	struct flaky flaky = { .failures = 2, .code = -EIO,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(run("{\"policy\": \"limited\", \"backoff_delays\": [0, 0, 0]}",
		      &flaky, &call, &counters),
		  0);
	CHECK_INT(flaky.attempts, 3);
	CHECK_INT(atomic_load(&counters.retries), 2);
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_OK);
}

/* A caller with somewhere else to go (a fallback probing its primary)
 * asks for one attempt: no retry, no wait, whatever the policy. */
static void test_single_attempt(void)
{
	struct flaky flaky = { .failures = -1, .code = -ECONNREFUSED,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	call.single_attempt = true;
	CHECK_INT(run("{\"policy\": \"infinite\", \"backoff_delays\": [3600]}",
		      &flaky, &call, &counters),
		  -ECONNREFUSED);
	CHECK_INT(flaky.attempts, 1);
	CHECK_INT(flaky.reconnects, 1);
	CHECK_INT(atomic_load(&counters.retries), 0);
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_FAILING);
	CHECK(strstr(call.error.message, "gave up") == NULL);

	struct flaky healthy = { .failures = 0 };
	CHECK_INT(run("{\"policy\": \"infinite\", \"backoff_delays\": [3600]}",
		      &healthy, &call, &counters),
		  0);
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_OK);
}

/* A caller's deadline ends the retries: no sleep past it. */
static void test_deadline_ends_the_retries(void)
{
	struct flaky flaky = { .failures = -1, .code = -ECONNREFUSED,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	crash_call_set_timeout(&call, 0.3);
	double start = test_now();
	CHECK_INT(run("{\"policy\": \"infinite\", \"backoff_delays\": "
		      "[0.1, 0.1, 3600]}",
		      &flaky, &call, &counters),
		  -ETIMEDOUT);
	CHECK(test_now() - start < 60);
	CHECK_INT(flaky.attempts, 3);
	CHECK(strstr(call.error.message, "time ran out") != NULL);
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_FAILING);
	CHECK(crash_call_remaining_ms(&call) >= 0);

	struct crash_call unbounded;
	crash_call_init(&unbounded);
	CHECK_INT(crash_call_remaining_ms(&unbounded), -1);
}

static void test_only_operational_errors_are_retried(void)
{
	struct flaky flaky = { .failures = -1, .code = -EINVAL,
			       .operational = false };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(run("{\"policy\": \"infinite\", \"backoff_delays\": [0]}",
		      &flaky, &call, &counters),
		  -EINVAL);
	CHECK_INT(flaky.attempts, 1);
	CHECK_INT(flaky.reconnects, 0);
	CHECK_INT(atomic_load(&counters.retries), 0);
	CHECK(test_contains(call.error.message, "bad request (attempt 1)"));

	/* Not found is an answer, never a transient failure. */
	struct flaky absent = { .failures = -1, .code = -ENOENT,
				.operational = false };
	CHECK_INT(run("{\"policy\": \"infinite\", \"backoff_delays\": [0]}",
		      &absent, &call, &counters),
		  -ENOENT);
	CHECK_INT(absent.attempts, 1);
}

static void test_limited_timing_and_no_final_sleep(void)
{
	struct flaky flaky = { .failures = -1, .code = -EIO,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	double start = test_now();
	/* Sleeps 0.05 + 0.1 between the three attempts.  Socorro also slept
	 * the last delay (5 s here) before giving up; crashfs does not. */
	CHECK_INT(run("{\"policy\": \"limited\", "
		      "\"backoff_delays\": [0.05, 0.1, 5]}",
		      &flaky, &call, &counters),
		  -EIO);
	double elapsed = test_now() - start;
	CHECK_INT(flaky.attempts, 3);
	CHECK(elapsed >= 0.15);
	CHECK(elapsed < 2.5);
}

static void test_infinite_repeats_last_delay(void)
{
	struct flaky flaky = { .failures = 6, .code = -EIO,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	double start = test_now();
	CHECK_INT(run("{\"policy\": \"infinite\", "
		      "\"backoff_delays\": [0.01, 0.03]}",
		      &flaky, &call, &counters),
		  0);
	double elapsed = test_now() - start;
	CHECK_INT(flaky.attempts, 7);
	CHECK_INT(atomic_load(&counters.retries), 6);
	/* 0.01 + 5 * 0.03 */
	CHECK(elapsed >= 0.16);
	CHECK(elapsed < 5.0);
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_OK);
}

struct poll_counter {
	int polls;
	int interrupt_at; /* 0: never */
};

static bool count_polls(void *arg)
{
	struct poll_counter *counter = arg;
	counter->polls++;
	return counter->interrupt_at && counter->polls >= counter->interrupt_at;
}

static void test_interrupt_during_backoff(void)
{
	struct flaky flaky = { .failures = -1, .code = -EIO,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct poll_counter poll = { .interrupt_at = 3 };
	struct crash_call call;
	crash_call_init(&call);
	call.interrupted = count_polls;
	call.interrupted_arg = &poll;
	double start = test_now();
	CHECK_INT(run("{\"policy\": \"infinite\", \"backoff_delays\": [60]}",
		      &flaky, &call, &counters),
		  -EINTR);
	double elapsed = test_now() - start;
	/* The third poll comes after two slices of at most 100 ms. */
	CHECK(elapsed < 2.0);
	CHECK_INT(flaky.attempts, 1);
	CHECK_INT(poll.polls, 3);
	CHECK(!call.error.operational);
	CHECK(test_contains(call.error.message,
			    "interrupted while waiting to retry"));
	CHECK(test_contains(call.error.message, "server down (attempt 1)"));
	CHECK_INT(atomic_load(&counters.state), CRASH_STORE_FAILING);
}

static void test_sleep_is_sliced(void)
{
	struct flaky flaky = { .failures = 1, .code = -EIO,
			       .operational = true };
	struct crash_store_counters counters = { 0 };
	struct poll_counter poll = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	call.interrupted = count_polls;
	call.interrupted_arg = &poll;
	CHECK_INT(run("{\"policy\": \"limited\", "
		      "\"backoff_delays\": [0.35, 0.35]}",
		      &flaky, &call, &counters),
		  0);
	/* 0.35 s in slices of at most 0.1 s: at least 4 polls. */
	CHECK(poll.polls >= 4);
}

/* Runs with stderr sent to a file; returns what was logged. */
static char *logged_while(const char *retry_json, struct flaky *flaky)
{
	char path[] = "/tmp/crashfs-executor-log-XXXXXX";
	int log_fd = mkstemp(path);
	if (log_fd < 0)
		return NULL;
	unlink(path);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(log_fd, STDERR_FILENO);
	struct crash_store_counters counters = { 0 };
	struct crash_call call;
	crash_call_init(&call);
	crash_log_set_level(CRASH_LOG_INFO);
	run(retry_json, flaky, &call, &counters);
	crash_log_set_level(CRASH_LOG_ERROR);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t size = lseek(log_fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)size + 1);
	if (text && pread(log_fd, text, (size_t)size, 0) != size)
		text[0] = '\0';
	close(log_fd);
	return text;
}

static int count_lines_with(const char *text, const char *needle)
{
	int count = 0;
	for (const char *at = text; at && (at = strstr(at, needle));
	     at += strlen(needle))
		count++;
	return count;
}

static void test_wait_log_interval(void)
{
	struct flaky flaky = { .failures = 1, .code = -EIO,
			       .operational = true };
	char *log = logged_while("{\"policy\": \"limited\", "
				 "\"backoff_delays\": [0.45, 0], "
				 "\"wait_log_interval\": 0.1}",
				 &flaky);
	REQUIRE(log != NULL);
	CHECK(test_contains(log, "attempt 1 failed, retrying in 0.45 s"));
	/* Progress lines at 0.1, 0.2, 0.3, 0.4 s (give or take a slice). */
	int progress = count_lines_with(log, "still waiting to retry");
	CHECK(progress >= 2);
	CHECK(progress <= 5);
	free(log);

	struct flaky quiet_flaky = { .failures = 1, .code = -EIO,
				     .operational = true };
	log = logged_while("{\"policy\": \"limited\", "
			   "\"backoff_delays\": [0.25, 0], "
			   "\"wait_log_interval\": 0}",
			   &quiet_flaky);
	REQUIRE(log != NULL);
	CHECK_INT(count_lines_with(log, "still waiting to retry"), 0);
	free(log);
}

static const char *config_error(const char *retry_json)
{
	static struct crash_error error;
	struct transaction_executor executor;
	json_t *node = json_loads(retry_json, JSON_DECODE_ANY, NULL);
	crash_error_clear(&error);
	int result = transaction_executor_init_json(&executor, node,
						    "store.primary.retry",
						    &error);
	json_decref(node);
	if (result == 0)
		return "";
	CHECK_INT(result, -EINVAL);
	return error.message;
}

static void test_configuration(void)
{
	struct transaction_executor executor;
	struct crash_error error = { 0 };
	json_t *node = json_loads("{}", 0, NULL);
	/* Socorro's defaults; no policy given means limited. */
	CHECK_INT(transaction_executor_init_json(&executor, node, "store.retry",
						 &error),
		  0);
	json_decref(node);
	CHECK_INT(executor.policy, RETRY_POLICY_LIMITED);
	CHECK_INT(executor.delay_count, 5);
	CHECK(executor.backoff_delays[0] == 10 &&
	      executor.backoff_delays[4] == 300);
	CHECK(executor.wait_log_interval == 10);
	CHECK_INT(transaction_executor_init_json(&executor, NULL, "store.retry",
						 &error),
		  0);
	CHECK_INT(executor.policy, RETRY_POLICY_NONE);

	CHECK(test_contains(config_error("{\"policy\": \"forever\"}"),
			    "store.primary.retry.policy: unknown policy "
			    "'forever'"));
	CHECK(test_contains(config_error("{\"backoff_delays\": [1, -2]}"),
			    "store.primary.retry.backoff_delays[1]"));
	CHECK(test_contains(config_error("{\"backoff_delays\": [1, \"2\"]}"),
			    "store.primary.retry.backoff_delays[1]: must be a "
			    "number"));
	CHECK(test_contains(config_error("{\"backoff_delays\": \"10, 30\"}"),
			    "store.primary.retry.backoff_delays: must be an "
			    "array"));
	CHECK(test_contains(config_error("{\"policy\": \"infinite\", "
					 "\"backoff_delays\": []}"),
			    "store.primary.retry.backoff_delays: policy "
			    "'infinite' needs at least one delay"));
	CHECK(test_contains(config_error("{\"wait_log_interval\": -1}"),
			    "store.primary.retry.wait_log_interval"));
	CHECK(test_contains(config_error("{\"polcy\": \"none\"}"),
			    "store.primary.retry.polcy: unknown option"));
	CHECK(test_contains(config_error("[10, 30]"),
			    "store.primary.retry: must be an object"));
	CHECK_STR(config_error("{\"policy\": \"none\", "
			       "\"backoff_delays\": []}"),
		  "");
}

/* -- the retry store ---------------------------------------------------- */

static struct crash_store *open_retry(struct crash_store *child,
				      const char *retry_json)
{
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	json_t *node = json_loads(retry_json, 0, NULL);
	int result = retry_store_open(child, node, "store.retry", &store,
				      &error);
	json_decref(node);
	if (result < 0)
		fprintf(stderr, "%s\n", error.message);
	return store;
}

static void test_retry_store_retries_and_counts(void)
{
	struct crash_store *memory = memory_store_new("store");
	struct crash_store *store = open_retry(
		memory, "{\"policy\": \"limited\", \"backoff_delays\": [0, 0, 0]}");
	REQUIRE(store != NULL);
	CHECK_STR(store->ops->type_name, "retry");
	CHECK_STR(store->node_path, "store.retry");
	CHECK(crash_store_child(store, 0) == memory);
	struct crash_call call;
	crash_call_init(&call);

	memory_store_fail(memory, STORE_OP_SAVE_RAW_CRASH, 2, -ECONNRESET, true);
	CHECK_INT(test_save_raw(store, &call, ID_A, "{\"a\": 1}", false), 0);
	CHECK_INT(memory_store_calls(memory, STORE_OP_SAVE_RAW_CRASH), 3);
	CHECK_INT(memory_store_reconnects(memory), 2);
	CHECK(memory_store_has(memory, ID_A, &RAW_PART));
	/* Counted on the retry node and on the node it wraps. */
	CHECK_INT(atomic_load(&store->counters.retries), 2);
	CHECK_INT(atomic_load(&memory->counters.retries), 2);
	CHECK_INT(atomic_load(&memory->counters.errors), 2);
	CHECK_INT(atomic_load(&store->counters.errors), 0);
	CHECK_INT(atomic_load(&store->counters.state), CRASH_STORE_OK);

	/* Persistent failure: three attempts, then the error, state failing
	 * on both nodes, visible in the stats tree. */
	memory_store_fail(memory, STORE_OP_STAT_CRASH, -1, -ETIMEDOUT, true);
	CHECK_INT(crash_store_stat_crash(store, &call, ID_A, NULL), -ETIMEDOUT);
	CHECK_INT(memory_store_calls(memory, STORE_OP_STAT_CRASH), 3);
	CHECK(test_contains(call.error.message, "gave up after 3 attempts"));
	json_t *stats = crash_store_stats(store);
	json_t *retry_node = json_object_get(stats, "store.retry");
	json_t *memory_node = json_object_get(stats, "store");
	CHECK_STR(json_string_value(json_object_get(retry_node, "state")),
		  "failing");
	CHECK_STR(json_string_value(json_object_get(memory_node, "state")),
		  "failing");
	CHECK_INT(json_integer_value(json_object_get(retry_node, "retries")), 4);
	CHECK_STR(json_string_value(json_object_get(retry_node, "policy")),
		  "limited");
	CHECK_INT(json_array_size(json_object_get(retry_node,
						  "backoff_delays")),
		  3);
	json_decref(stats);

	/* Non-operational failures go straight through. */
	memory_store_heal(memory);
	memory_store_fail(memory, STORE_OP_SAVE_DUMP, -1, -ENOSPC, false);
	unsigned before = memory_store_calls(memory, STORE_OP_SAVE_DUMP);
	CHECK_INT(test_save_dump(store, &call, ID_A, NULL, "MDMP"), -ENOSPC);
	CHECK_INT(memory_store_calls(memory, STORE_OP_SAVE_DUMP), before + 1);
	crash_store_close(store);
}

/* A listing of days that fails operationally after `good` entries (of
 * 20120408), the first `early_failures` times it is opened before any. */
struct flaky_listing {
	struct crash_listing base;
	int yielded, good;
};

static int early_failures;

static int flaky_next(struct crash_listing *listing, struct crash_call *call,
		      struct crash_listing_entry *entry)
{
	struct flaky_listing *self = (struct flaky_listing *)listing;
	if (self->yielded < self->good) {
		self->yielded++;
		entry->kind = CRASH_LISTING_DAY;
		snprintf(entry->name, sizeof entry->name, "2012040%d",
			 self->yielded);
		return 1;
	}
	return crash_error_set_operational(&call->error, -ECONNRESET,
					   "connection reset mid-listing");
}

static void flaky_close(struct crash_listing *listing)
{
	free(listing);
}

static const struct crash_listing_ops flaky_listing_ops = {
	.next = flaky_next,
	.close = flaky_close,
};

static int flaky_open_days(struct crash_store *store, struct crash_call *call,
			   struct crash_listing **out)
{
	struct flaky_listing *self = calloc(1, sizeof *self);
	if (!self)
		return -ENOMEM;
	crash_listing_init(&self->base, &flaky_listing_ops, store);
	self->good = early_failures > 0 ? 0 : 1;
	if (early_failures > 0)
		early_failures--;
	*out = &self->base;
	return 0;
}

static struct crash_store *flaky_lister(void)
{
	static struct crash_store_ops flaky_lister_ops;
	flaky_lister_ops = null_store_ops;
	flaky_lister_ops.open_days = flaky_open_days;
	struct crash_store *lister = calloc(1, sizeof *lister);
	if (lister)
		crash_store_base_init(lister, &flaky_lister_ops, "store");
	return lister;
}

static void test_retry_store_does_not_repeat_emitted_entries(void)
{
	early_failures = 0;
	struct crash_store *store = open_retry(
		flaky_lister(),
		"{\"policy\": \"infinite\", \"backoff_delays\": [0]}");
	REQUIRE(store != NULL);
	struct collected days = { .count = 0 };
	struct crash_call call;
	crash_call_init(&call);
	/* Retrying would emit 20120401 again (and loop forever here). */
	CHECK_INT(test_list_days(store, &call, &days), -ECONNRESET);
	CHECK_STR(days.text, "20120401");
	CHECK_INT(atomic_load(&store->counters.retries), 0);
	crash_store_close(store);
}

/* Before its first entry a listing is retried: the caller has seen
 * nothing yet. */
static void test_retry_store_retries_a_listing_before_its_first_entry(void)
{
	early_failures = 2;
	struct crash_store *store = open_retry(
		flaky_lister(),
		"{\"policy\": \"limited\", \"backoff_delays\": [0, 0, 0]}");
	REQUIRE(store != NULL);
	struct crash_listing *listing = NULL;
	struct crash_listing_entry entry;
	struct crash_call call;
	crash_call_init(&call);
	REQUIRE(crash_store_open_days(store, &call, &listing) == 0);
	CHECK_INT(crash_listing_next(listing, &call, &entry), 1);
	CHECK_STR(entry.name, "20120401");
	CHECK_INT(atomic_load(&store->counters.retries), 2);
	CHECK_INT(crash_listing_next(listing, &call, &entry), -ECONNRESET);
	crash_listing_close(listing);
	crash_store_close(store);
}

/* A pass of new_crashes through a retry store reaches the caller's
 * callback with the caller's context, and is not retried once it has
 * emitted an entry. */
static void test_retry_store_passes_queue_entries_through(void)
{
	struct crash_store *memory = memory_store_new("store");
	struct crash_store *store = open_retry(
		memory, "{\"policy\": \"limited\", \"backoff_delays\": [0, 0]}");
	REQUIRE(store != NULL);
	struct crash_call call;
	crash_call_init(&call);
	REQUIRE(test_save_raw(store, &call, ID_A, "{}", false) == 0);
	REQUIRE(test_save_raw(store, &call, ID_B, "{}", false) == 0);

	struct collected ids = { .count = 0 };
	memory_store_fail(memory, STORE_OP_NEW_CRASHES, 1, -ECONNRESET, true);
	CHECK_INT(crash_store_new_crashes(store, &call, test_collect_queue,
					  &ids),
		  0);
	CHECK_STR(ids.text, ID_A " " ID_B);
	CHECK_INT(atomic_load(&store->counters.retries), 1);

	/* A callback that stops the pass: its value comes back as is. */
	struct collected first = { .count = 0, .stop_after = 1 };
	CHECK_INT(crash_store_new_crashes(store, &call, test_collect_queue,
					  &first),
		  7);
	CHECK_STR(first.text, ID_A);
	CHECK_INT(test_ack(store, &call, ID_A), 0);
	crash_store_close(store);
}

static void test_retry_store_lacks_what_its_child_lacks(void)
{
	struct crash_store *null = NULL;
	struct crash_error error = { 0 };
	json_t *empty = json_object();
	int opened = null_store_open_json(empty, "store", NULL, &null,
					  &error);
	json_decref(empty);
	REQUIRE(opened == 0);
	struct crash_store *store = open_retry(null, "{\"policy\": \"none\"}");
	REQUIRE(store != NULL);
	CHECK(crash_store_can(store, save_raw_crash));
	CHECK(!crash_store_can(store, remove_radix_dir));
	CHECK(!crash_store_can(store, open_radix));
	CHECK(retry_store_executor(store) != NULL);
	CHECK(retry_store_executor(null) == NULL);
	crash_store_close(store);

	/* A bad configuration closes the child it was given. */
	struct crash_store *memory = memory_store_new("store");
	json_t *node = json_loads("{\"policy\": \"sometimes\"}", 0, NULL);
	struct crash_store *out = (struct crash_store *)1;
	CHECK_INT(retry_store_open(memory, node, "store.retry", &out, &error),
		  -EINVAL);
	CHECK(out == NULL);
	json_decref(node);
}

int main(int argc, char **argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_policy_none_reconnects_but_does_not_retry();
	test_limited_attempts_as_many_as_delays();
	test_limited_recovers();
	test_single_attempt();
	test_deadline_ends_the_retries();
	test_only_operational_errors_are_retried();
	test_limited_timing_and_no_final_sleep();
	test_infinite_repeats_last_delay();
	test_interrupt_during_backoff();
	test_sleep_is_sliced();
	test_wait_log_interval();
	test_configuration();
	test_retry_store_retries_and_counts();
	test_retry_store_does_not_repeat_emitted_entries();
	test_retry_store_retries_a_listing_before_its_first_entry();
	test_retry_store_passes_queue_entries_through();
	test_retry_store_lacks_what_its_child_lacks();
	return unit_test_exit(argv[0]);
}
