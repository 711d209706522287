/*
 * transaction_executor.c - retry with backoff, reconnect, give up on time.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "storage/crash_log.h"
#include "storage/executor/transaction_executor.h"
#include "storage/store_config.h"

static const double socorro_backoff_delays[] = { 10, 30, 60, 120, 300 };
#define SOCORRO_WAIT_LOG_INTERVAL 10.0

void transaction_executor_init(struct transaction_executor *executor,
			       enum retry_policy policy)
{
	size_t count = sizeof socorro_backoff_delays /
		       sizeof socorro_backoff_delays[0];
	memset(executor, 0, sizeof *executor);
	executor->policy = policy;
	memcpy(executor->backoff_delays, socorro_backoff_delays,
	       sizeof socorro_backoff_delays);
	executor->delay_count = count;
	executor->wait_log_interval = SOCORRO_WAIT_LOG_INTERVAL;
}

const char *retry_policy_name(enum retry_policy policy)
{
	switch (policy) {
	case RETRY_POLICY_LIMITED:
		return "limited";
	case RETRY_POLICY_INFINITE:
		return "infinite";
	default:
		return "none";
	}
}

static int parse_policy(const json_t *node, const char *node_path,
			enum retry_policy *out, struct crash_error *error)
{
	const char *name = NULL;
	int result = store_config_string(node, node_path, "policy", "limited",
					 &name, error);
	if (result < 0)
		return result;
	static const enum retry_policy policies[] = {
		RETRY_POLICY_NONE, RETRY_POLICY_LIMITED, RETRY_POLICY_INFINITE
	};
	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
		if (strcmp(name, retry_policy_name(policies[i])) == 0) {
			*out = policies[i];
			return 0;
		}
	}
	return crash_error_set(error, -EINVAL,
			       "%s.policy: unknown policy '%s' (none, limited, "
			       "infinite)",
			       node_path, name);
}

/* A delay or interval: a JSON number of seconds in 0..limit. */
static int parse_seconds(const json_t *value, const char *path,
			 double *out, struct crash_error *error)
{
	if (!json_is_number(value))
		return crash_error_set(error, -EINVAL,
				       "%s: must be a number of seconds", path);
	double seconds = json_number_value(value);
	if (!isfinite(seconds) || seconds < 0 ||
	    seconds > TRANSACTION_DELAY_LIMIT)
		return crash_error_set(error, -EINVAL,
				       "%s: %g is out of range 0..%.0f seconds",
				       path, seconds, TRANSACTION_DELAY_LIMIT);
	*out = seconds;
	return 0;
}

static int parse_delays(const json_t *node, const char *node_path,
			struct transaction_executor *executor,
			struct crash_error *error)
{
	const json_t *delays = json_object_get(node, "backoff_delays");
	char path[256];

	if (!delays)
		return 0;
	if (!json_is_array(delays))
		return crash_error_set(error, -EINVAL,
				       "%s.backoff_delays: must be an array of "
				       "numbers of seconds",
				       node_path);
	size_t count = json_array_size(delays);
	if (count > TRANSACTION_DELAYS_MAX)
		return crash_error_set(error, -EINVAL,
				       "%s.backoff_delays: %zu delays, at most "
				       "%d allowed",
				       node_path, count,
				       TRANSACTION_DELAYS_MAX);
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s.backoff_delays[%zu]",
			 node_path, i);
		int result = parse_seconds(json_array_get(delays, i), path,
					   &executor->backoff_delays[i], error);
		if (result < 0)
			return result;
	}
	executor->delay_count = count;
	return 0;
}

int transaction_executor_init_json(struct transaction_executor *executor,
				   const json_t *node, const char *node_path,
				   struct crash_error *error)
{
	static const char *const keys[] = { "policy", "backoff_delays",
					    "wait_log_interval", NULL };
	enum retry_policy policy = RETRY_POLICY_NONE;
	char path[256];
	int result;

	transaction_executor_init(executor, RETRY_POLICY_NONE);
	if (!node)
		return 0;
	if (!json_is_object(node))
		return crash_error_set(error, -EINVAL,
				       "%s: must be an object {\"policy\": "
				       "..., \"backoff_delays\": [...], "
				       "\"wait_log_interval\": ...}",
				       node_path);
	/* store_config_check_keys also lets "type" through; a retry object
	 * has none. */
	if (json_object_get(node, "type"))
		return crash_error_set(error, -EINVAL,
				       "%s.type: unknown option", node_path);
	result = store_config_check_keys(node, node_path, keys, error);
	if (result < 0)
		return result;
	result = parse_policy(node, node_path, &policy, error);
	if (result < 0)
		return result;
	executor->policy = policy;
	result = parse_delays(node, node_path, executor, error);
	if (result < 0)
		return result;
	const json_t *interval = json_object_get(node, "wait_log_interval");
	if (interval) {
		snprintf(path, sizeof path, "%s.wait_log_interval", node_path);
		result = parse_seconds(interval, path,
				       &executor->wait_log_interval, error);
		if (result < 0)
			return result;
	}
	/* Socorro failed on the first retry (infinite) or before the first
	 * attempt (limited) with an empty list; say so at startup instead. */
	if (policy != RETRY_POLICY_NONE && executor->delay_count == 0)
		return crash_error_set(error, -EINVAL,
				       "%s.backoff_delays: policy '%s' needs "
				       "at least one delay",
				       node_path, retry_policy_name(policy));
	return 0;
}

json_t *transaction_executor_to_json(
	const struct transaction_executor *executor)
{
	json_t *delays = json_array();
	for (size_t i = 0; delays && i < executor->delay_count; i++)
		json_array_append_new(delays,
				      json_real(executor->backoff_delays[i]));
	return json_pack("{s:s, s:o*, s:f}", "policy",
			 retry_policy_name(executor->policy), "backoff_delays",
			 delays, "wait_log_interval",
			 executor->wait_log_interval);
}

static double monotonic_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Sets the state of every node the transaction counts on; returns the
 * state the first one had, so that only a change of state is logged. */
static enum crash_store_state set_state(const struct transaction *transaction,
					enum crash_store_state state)
{
	int previous = CRASH_STORE_OK;
	for (int i = TRANSACTION_COUNTERS_MAX - 1; i >= 0; i--)
		if (transaction->counters[i])
			previous = atomic_exchange(
				&transaction->counters[i]->state, (int)state);
	return (enum crash_store_state)previous;
}

static void count_retry(const struct transaction *transaction)
{
	for (int i = 0; i < TRANSACTION_COUNTERS_MAX; i++)
		if (transaction->counters[i])
			atomic_fetch_add(&transaction->counters[i]->retries, 1);
}

/* Sleeps seconds in slices, polling the caller; 0 or -EINTR. */
static int responsive_sleep(const struct transaction_executor *executor,
			    struct crash_call *call,
			    const struct transaction *transaction,
			    double seconds)
{
	double start = monotonic_seconds();
	double next_log = executor->wait_log_interval;

	for (;;) {
		if (crash_call_interrupted(call))
			return -EINTR;
		double waited = monotonic_seconds() - start;
		if (waited >= seconds)
			return 0;
		if (next_log > 0 && waited >= next_log) {
			crash_log(CRASH_LOG_INFO,
				  "%s: %s: still waiting to retry, %.0f of "
				  "%.1f s",
				  transaction->node_path, transaction->what,
				  waited, seconds);
			next_log += executor->wait_log_interval;
		}
		double slice = seconds - waited;
		long slice_ns = slice >= TRANSACTION_SLEEP_SLICE_NS / 1e9 ?
					TRANSACTION_SLEEP_SLICE_NS :
					(long)(slice * 1e9) + 1;
		struct timespec pause = { .tv_sec = 0, .tv_nsec = slice_ns };
		/* A signal cutting the sleep short just ends this slice. */
		nanosleep(&pause, NULL);
	}
}

/* The delay before retry number `retry` (1-based); false: give up. */
static bool next_delay(const struct transaction_executor *executor,
		       int retry, double *delay)
{
	size_t index = (size_t)retry - 1;
	switch (executor->policy) {
	case RETRY_POLICY_LIMITED:
		/* attempts = number of delays (Socorro); no sleep after the
		 * last attempt. */
		if (index + 1 >= executor->delay_count)
			return false;
		*delay = executor->backoff_delays[index];
		return true;
	case RETRY_POLICY_INFINITE:
		if (index >= executor->delay_count)
			index = executor->delay_count - 1;
		*delay = executor->backoff_delays[index];
		return true;
	default:
		return false;
	}
}

static int give_up(struct crash_call *call,
		   const struct transaction *transaction, int result,
		   int attempts)
{
	set_state(transaction, CRASH_STORE_FAILING);
	/* The caller reports the failure (one line per failed request); the
	 * message says how hard this node tried. */
	if (attempts > 1)
		crash_error_prefix(&call->error, "gave up after %d attempts: ",
				   attempts);
	return result;
}

int transaction_executor_run(const struct transaction_executor *executor,
			     struct crash_call *call,
			     const struct transaction *transaction)
{
	for (int attempt = 1;; attempt++) {
		int result = transaction->attempt(transaction->arg, call);
		if (result >= 0) {
			if (set_state(transaction, CRASH_STORE_OK) !=
			    CRASH_STORE_OK)
				crash_log(CRASH_LOG_INFO,
					  "%s: %s: succeeded: the store works "
					  "again",
					  transaction->node_path,
					  transaction->what);
			return result;
		}
		if (!call->error.operational || result == -EINTR)
			return result;
		if (transaction->reconnect)
			transaction->reconnect(transaction->arg);

		double delay = 0;
		if (call->single_attempt ||
		    !next_delay(executor, attempt, &delay) ||
		    (transaction->may_retry &&
		     !transaction->may_retry(transaction->arg)))
			return give_up(call, transaction, result, attempt);
		/* No wait past the caller's deadline: it gives up first. */
		long remaining = crash_call_remaining_ms(call);
		if (remaining >= 0 && (double)remaining < delay * 1000) {
			give_up(call, transaction, result, attempt);
			crash_error_prefix(&call->error,
					   "the request's time ran out before "
					   "the next attempt: ");
			call->error.code = -ETIMEDOUT;
			return -ETIMEDOUT;
		}

		struct crash_error last = call->error;
		count_retry(transaction);
		/* Logged when an outage starts (the node was ok), not for
		 * every request and attempt of it: its state is in the
		 * stats, and each failed request is reported by its caller. */
		bool started = set_state(transaction, CRASH_STORE_RETRYING) ==
			       CRASH_STORE_OK;
		crash_log(started ? CRASH_LOG_WARNING : CRASH_LOG_DEBUG,
			  "%s: %s: attempt %d failed, retrying in %g s: %s",
			  transaction->node_path, transaction->what, attempt,
			  delay, last.message);
		if (responsive_sleep(executor, call, transaction, delay) < 0) {
			set_state(transaction, CRASH_STORE_FAILING);
			return crash_error_set(&call->error, -EINTR,
					       "%s: interrupted while waiting "
					       "to retry %s (after %d "
					       "attempts; last error: %s)",
					       transaction->node_path,
					       transaction->what, attempt,
					       last.message);
		}
	}
}
