/*
 * test_connection_pool.c - the per-thread connection pool with a fake
 * connection: affinity, force-reconnect, the bound, exclusive use under
 * many threads, waiting and interruption, open failures, close-all.
 *
 * Threads coordinate through atomics and the pool's own blocking; nothing
 * sleeps to wait for another thread.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "storage/executor/connection_pool.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

struct fake_connection {
	int serial;
	atomic_int users; /* threads using it right now */
	atomic_bool closed;
};

struct fake_server {
	atomic_int opened;
	atomic_int closed;
	atomic_int open_now;
	atomic_int most_open;
	atomic_int failures_left; /* opens to refuse */
	atomic_int violations;    /* a connection used by two threads */
};

static int fake_open(void *arg, void **connection_out,
		     struct crash_error *error)
{
	struct fake_server *server = arg;
	if (atomic_load(&server->failures_left) > 0) {
		atomic_fetch_sub(&server->failures_left, 1);
		return crash_error_set_operational(error, -ECONNREFUSED,
						   "fake: connection refused");
	}
	struct fake_connection *connection = calloc(1, sizeof *connection);
	if (!connection)
		return crash_error_set(error, -ENOMEM, "fake: out of memory");
	connection->serial = atomic_fetch_add(&server->opened, 1) + 1;
	int open_now = atomic_fetch_add(&server->open_now, 1) + 1;
	int most = atomic_load(&server->most_open);
	while (open_now > most &&
	       !atomic_compare_exchange_weak(&server->most_open, &most,
					     open_now))
		;
	*connection_out = connection;
	return 0;
}

static void fake_close(void *arg, void *connection)
{
	struct fake_server *server = arg;
	struct fake_connection *fake = connection;
	if (atomic_load(&fake->users) != 0)
		atomic_fetch_add(&server->violations, 1);
	atomic_fetch_add(&server->closed, 1);
	atomic_fetch_sub(&server->open_now, 1);
	free(fake);
}

static const struct connection_pool_ops fake_ops = {
	.open = fake_open,
	.close = fake_close,
};

static void test_affinity_and_reconnect(void)
{
	struct fake_server server = { 0 };
	struct connection_pool *pool =
		connection_pool_new(&fake_ops, &server, 4, "store.pg");
	REQUIRE(pool != NULL);
	struct crash_call call;
	crash_call_init(&call);
	void *first = NULL, *again = NULL, *fresh = NULL, *nested = NULL;

	CHECK_INT(connection_pool_get(pool, &call, &first), 0);
	CHECK_INT(connection_pool_leased_count(pool), 1);
	/* One lease per thread: a second get is a bug, not a wait. */
	CHECK_INT(connection_pool_get(pool, &call, &nested), -EDEADLK);
	CHECK(nested == NULL);
	connection_pool_put(pool, first);
	CHECK_INT(connection_pool_leased_count(pool), 0);
	CHECK_INT(connection_pool_get(pool, &call, &again), 0);
	CHECK(again == first);
	connection_pool_put(pool, again);
	CHECK_INT(atomic_load(&server.opened), 1);

	/* Force-reconnect: closed and dropped; the next get opens anew. */
	connection_pool_invalidate(pool);
	CHECK_INT(atomic_load(&server.closed), 1);
	CHECK_INT(connection_pool_open_count(pool), 0);
	CHECK_INT(connection_pool_get(pool, &call, &fresh), 0);
	CHECK_INT(((struct fake_connection *)fresh)->serial, 2);
	/* Invalidating while leased: the lease stays, put ends it. */
	connection_pool_invalidate(pool);
	CHECK_INT(atomic_load(&server.closed), 2);
	connection_pool_put(pool, fresh);
	CHECK_INT(connection_pool_leased_count(pool), 0);
	connection_pool_free(pool);
	CHECK_INT(atomic_load(&server.open_now), 0);
}

static void test_open_failure(void)
{
	struct fake_server server = { 0 };
	struct connection_pool *pool =
		connection_pool_new(&fake_ops, &server, 1, "store.pg");
	REQUIRE(pool != NULL);
	struct crash_call call;
	crash_call_init(&call);
	void *connection = NULL;
	atomic_store(&server.failures_left, 1);
	CHECK_INT(connection_pool_get(pool, &call, &connection),
		  -ECONNREFUSED);
	CHECK(call.error.operational);
	CHECK_STR(call.error.message, "fake: connection refused");
	CHECK(connection == NULL);
	/* The slot is free again: the one-connection pool still serves. */
	CHECK_INT(connection_pool_leased_count(pool), 0);
	CHECK_INT(connection_pool_get(pool, &call, &connection), 0);
	CHECK(connection != NULL);
	connection_pool_put(pool, connection);
	connection_pool_free(pool);
}

static void test_bad_sizes(void)
{
	struct fake_server server = { 0 };
	CHECK(connection_pool_new(&fake_ops, &server, 0, "x") == NULL);
	CHECK(connection_pool_new(&fake_ops, &server, CONNECTION_POOL_MAX + 1,
				  "x") == NULL);
}

/* -- many threads -------------------------------------------------------- */

struct worker {
	struct connection_pool *pool;
	struct fake_server *server;
	int rounds;
	int failures;
};

static void *hammer(void *arg)
{
	struct worker *worker = arg;
	struct crash_call call;
	crash_call_init(&call);
	for (int i = 0; i < worker->rounds; i++) {
		void *connection = NULL;
		if (connection_pool_get(worker->pool, &call, &connection) < 0) {
			worker->failures++;
			continue;
		}
		struct fake_connection *fake = connection;
		if (atomic_fetch_add(&fake->users, 1) != 0)
			atomic_fetch_add(&worker->server->violations, 1);
		sched_yield();
		atomic_fetch_sub(&fake->users, 1);
		if (i % 17 == 0)
			connection_pool_invalidate(worker->pool);
		connection_pool_put(worker->pool, connection);
	}
	return NULL;
}

static void test_bounded_and_exclusive_under_threads(void)
{
	enum { THREADS = 8, MAX = 3 };
	struct fake_server server = { 0 };
	struct connection_pool *pool =
		connection_pool_new(&fake_ops, &server, MAX, "store.pg");
	REQUIRE(pool != NULL);
	pthread_t threads[THREADS];
	struct worker workers[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .pool = pool,
					      .server = &server,
					      .rounds = 400 };
		pthread_create(&threads[i], NULL, hammer, &workers[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		CHECK_INT(workers[i].failures, 0);
	}
	CHECK_INT(atomic_load(&server.violations), 0);
	CHECK(atomic_load(&server.most_open) <= MAX);
	CHECK(atomic_load(&server.most_open) >= 1);
	CHECK_INT(connection_pool_leased_count(pool), 0);
	connection_pool_free(pool);
	CHECK_INT(atomic_load(&server.open_now), 0);
	CHECK_INT(atomic_load(&server.opened), atomic_load(&server.closed));
}

/* -- waiting for a free connection -------------------------------------- */

struct waiter {
	struct connection_pool *pool;
	atomic_bool waiting;   /* set at the first poll: the get blocks */
	bool give_up;          /* interrupt at the first poll */
	int result;
	void *connection;
};

static bool note_waiting(void *arg)
{
	struct waiter *waiter = arg;
	atomic_store(&waiter->waiting, true);
	return waiter->give_up;
}

static void *wait_for_connection(void *arg)
{
	struct waiter *waiter = arg;
	struct crash_call call;
	crash_call_init(&call);
	call.interrupted = note_waiting;
	call.interrupted_arg = waiter;
	waiter->result = connection_pool_get(waiter->pool, &call,
					     &waiter->connection);
	if (waiter->result == 0)
		connection_pool_put(waiter->pool, waiter->connection);
	return NULL;
}

static void test_waits_for_put_and_takes_over(void)
{
	struct fake_server server = { 0 };
	struct connection_pool *pool =
		connection_pool_new(&fake_ops, &server, 1, "store.pg");
	REQUIRE(pool != NULL);
	struct crash_call call;
	crash_call_init(&call);
	void *mine = NULL;
	REQUIRE(connection_pool_get(pool, &call, &mine) == 0);

	struct waiter waiter = { .pool = pool };
	pthread_t thread;
	pthread_create(&thread, NULL, wait_for_connection, &waiter);
	while (!atomic_load(&waiter.waiting))
		sched_yield();
	connection_pool_put(pool, mine);
	pthread_join(thread, NULL);
	CHECK_INT(waiter.result, 0);
	/* The other thread took over the idle connection: no second open. */
	CHECK(waiter.connection == mine);
	CHECK_INT(atomic_load(&server.opened), 1);
	connection_pool_free(pool);
}

static void test_interrupted_while_waiting(void)
{
	struct fake_server server = { 0 };
	struct connection_pool *pool =
		connection_pool_new(&fake_ops, &server, 1, "store.pg");
	REQUIRE(pool != NULL);
	struct crash_call call;
	crash_call_init(&call);
	void *mine = NULL;
	REQUIRE(connection_pool_get(pool, &call, &mine) == 0);

	struct waiter waiter = { .pool = pool, .give_up = true };
	pthread_t thread;
	pthread_create(&thread, NULL, wait_for_connection, &waiter);
	pthread_join(thread, NULL);
	CHECK_INT(waiter.result, -EINTR);
	CHECK(waiter.connection == NULL);
	connection_pool_put(pool, mine);
	connection_pool_free(pool);
}

static void *lease_and_report(void *arg)
{
	struct waiter *waiter = arg;
	struct crash_call call;
	crash_call_init(&call);
	waiter->result = connection_pool_get(waiter->pool, &call,
					     &waiter->connection);
	return NULL;
}

static void test_close_all(void)
{
	struct fake_server server = { 0 };
	struct connection_pool *pool =
		connection_pool_new(&fake_ops, &server, 2, "store.pg");
	REQUIRE(pool != NULL);
	struct crash_call call;
	crash_call_init(&call);
	void *idle = NULL;
	REQUIRE(connection_pool_get(pool, &call, &idle) == 0);
	connection_pool_put(pool, idle);

	/* Another thread holds a lease across close_all. */
	struct waiter holder = { .pool = pool };
	pthread_t thread;
	pthread_create(&thread, NULL, lease_and_report, &holder);
	pthread_join(thread, NULL);
	REQUIRE(holder.result == 0);
	CHECK(holder.connection != idle);
	CHECK_INT(connection_pool_open_count(pool), 2);

	connection_pool_close_all(pool);
	CHECK_INT(atomic_load(&server.closed), 1); /* the idle one */
	CHECK_INT(connection_pool_open_count(pool), 1);
	/* The holder thread ended without putting its lease back; freeing
	 * the pool closes that connection too. */
	connection_pool_free(pool);
	CHECK_INT(atomic_load(&server.closed), 2);
	CHECK_INT(atomic_load(&server.open_now), 0);
}

static void *lease_put_after_close_all(void *arg)
{
	struct waiter *waiter = arg;
	struct crash_call call;
	crash_call_init(&call);
	waiter->result = connection_pool_get(waiter->pool, &call,
					     &waiter->connection);
	if (waiter->result < 0)
		return NULL;
	atomic_store(&waiter->waiting, true); /* leased: main may close_all */
	while (atomic_load(&waiter->waiting))
		sched_yield();
	connection_pool_put(waiter->pool, waiter->connection);
	return NULL;
}

static void test_close_all_closes_leased_on_put(void)
{
	struct fake_server server = { 0 };
	struct connection_pool *pool =
		connection_pool_new(&fake_ops, &server, 2, "store.pg");
	REQUIRE(pool != NULL);
	struct waiter holder = { .pool = pool };
	pthread_t thread;
	pthread_create(&thread, NULL, lease_put_after_close_all, &holder);
	while (!atomic_load(&holder.waiting) && holder.result == 0)
		sched_yield();
	connection_pool_close_all(pool);
	CHECK_INT(atomic_load(&server.closed), 0); /* still leased */
	atomic_store(&holder.waiting, false);
	pthread_join(thread, NULL);
	CHECK_INT(holder.result, 0);
	CHECK_INT(atomic_load(&server.closed), 1); /* closed on put */
	CHECK_INT(connection_pool_open_count(pool), 0);
	CHECK_INT(atomic_load(&server.violations), 0);
	connection_pool_free(pool);
}

int main(int argc, char **argv)
{
	test_affinity_and_reconnect();
	test_open_failure();
	test_bad_sizes();
	test_bounded_and_exclusive_under_threads();
	test_waits_for_put_and_takes_over();
	test_interrupted_while_waiting();
	test_close_all();
	test_close_all_closes_leased_on_put();
	return unit_test_exit(argv[0]);
}
