/*
 * transaction_executor.h - runs one store operation with the configured
 * retry policy (spec/transactions.md §2-§4).
 *
 * Configuration, the "retry" object of a store node:
 *
 *   {"policy": "none" | "limited" | "infinite",
 *    "backoff_delays": [10, 30, 60, 120, 300],
 *    "wait_log_interval": 10}
 *
 * Socorro's defaults, kept here: backoff_delays 10, 30, 60, 120, 300
 * seconds, wait_log_interval 10 seconds; its server-backed stores
 * (PostgreSQL, HBase, RabbitMQ) used the infinite policy and its
 * filesystem stores none.  A "retry" object without "policy" means
 * "limited", since a FUSE request must not hang forever by default.
 * Delays are numbers of seconds, fractions allowed (Socorro truncated them
 * to whole seconds); wait_log_interval 0 means no progress lines.
 *
 * What is retried: only a failure whose call->error.operational is true
 * (a server down, a connection reset).  Anything else, -ENOENT included,
 * is returned at once, as Socorro re-raised non-operational exceptions
 * without retrying.  After an operational failure the executor calls the
 * transaction's reconnect (force_reconnect) before trying again - and
 * also under policy "none", so the next request does not reuse a broken
 * connection (Socorro's plain TransactionExecutor reconnected after every
 * failure).
 *
 *   none      one attempt.
 *   limited   attempts = number of delays; after failed attempt i it
 *             sleeps delay[i] and tries again.  Socorro also slept the last
 *             delay after the last failure before giving up; that sleep
 *             only holds the caller, so crashfs gives up at once (the last
 *             delay of the list is therefore never slept).
 *   infinite  the delays in order, then the last one forever.
 *
 * A call whose single_attempt is set (crash_store.h) gets one attempt
 * whatever the policy: its caller has another store to turn to.
 *
 * Waiting is responsive: the executor sleeps in slices of at most 100 ms
 * and polls crash_call_interrupted(call); when the caller is interrupted
 * it gives up at once with -EINTR ("interrupted while waiting to retry
 * ...").  Every wait_log_interval seconds of waiting it logs a progress
 * line.
 *
 * Counters (struct crash_store_counters, .crashfs/stats): each retry adds
 * one to "retries"; "state" is RETRYING while waiting, FAILING after giving
 * up (or being interrupted), OK after a success.
 *
 * Threads: an initialised executor is read-only; any number of threads may
 * run transactions through it at once.  A struct transaction belongs to
 * one call.
 */
#ifndef CRASHFS_STORAGE_EXECUTOR_TRANSACTION_EXECUTOR_H
#define CRASHFS_STORAGE_EXECUTOR_TRANSACTION_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "storage/crash_error.h"
#include "storage/crash_store.h"

enum retry_policy {
	RETRY_POLICY_NONE = 0,
	RETRY_POLICY_LIMITED,
	RETRY_POLICY_INFINITE,
};

#define TRANSACTION_DELAYS_MAX 32
/* The longest delay accepted, in seconds (one day). */
#define TRANSACTION_DELAY_LIMIT 86400.0
/* Sleeps are cut into slices this long (ns) to poll for interruption. */
#define TRANSACTION_SLEEP_SLICE_NS 100000000L

struct transaction_executor {
	enum retry_policy policy;
	double backoff_delays[TRANSACTION_DELAYS_MAX];
	size_t delay_count;
	double wait_log_interval;
};

/* Socorro's defaults with the given policy. */
void transaction_executor_init(struct transaction_executor *executor,
			       enum retry_policy policy);

/* Reads a "retry" object; node_path names it in errors ("store.retry").
 * node NULL gives policy "none". Returns 0 or -EINVAL. */
int transaction_executor_init_json(struct transaction_executor *executor,
				   const json_t *node, const char *node_path,
				   struct crash_error *error);

/* "none", "limited", "infinite". */
const char *retry_policy_name(enum retry_policy policy);

/* The configuration as a JSON object (for stats); NULL if out of memory. */
json_t *transaction_executor_to_json(
	const struct transaction_executor *executor);

#define TRANSACTION_COUNTERS_MAX 2

/* One operation to run, and whom to tell. */
struct transaction {
	/* Names the node and the operation in log lines: "store.retry:
	 * save_raw_crash 0bba929f-...". */
	const char *node_path;
	const char *what;
	/* One attempt: 0 (or a positive value) on success, else a negative
	 * errno with call->error filled. */
	int (*attempt)(void *arg, struct crash_call *call);
	/* Drops the connection after an operational failure; may be NULL. */
	void (*reconnect)(void *arg);
	/* Asked before each retry; false makes the last failure final (a
	 * listing that already emitted entries).  May be NULL. */
	bool (*may_retry)(void *arg);
	void *arg;
	/* Nodes whose retries and state the executor updates; NULL entries
	 * are skipped. */
	struct crash_store_counters *counters[TRANSACTION_COUNTERS_MAX];
};

/* Runs the transaction under the executor's policy.  Returns what the
 * last attempt returned, or -EINTR if interrupted while waiting; the
 * message of a failure after retries says how many attempts were made. */
int transaction_executor_run(const struct transaction_executor *executor,
			     struct crash_call *call,
			     const struct transaction *transaction);

#endif
