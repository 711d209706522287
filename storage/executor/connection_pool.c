/*
 * connection_pool.c - a fixed array of slots; a slot is leased by one
 * thread at a time and remembers the thread that used it last.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/executor/connection_pool.h"

struct pool_slot {
	void *connection;  /* NULL: not open */
	pthread_t owner;   /* the thread that leased it last, if owned */
	bool owned;
	bool leased;
	bool close_on_put; /* close_all ran while it was leased */
	uint64_t last_put; /* pool clock at the last put: oldest is taken */
};

struct connection_pool {
	const struct connection_pool_ops *ops;
	void *arg;
	char *name;
	pthread_mutex_t lock;
	pthread_cond_t released; /* a slot stopped being leased */
	uint64_t clock;
	size_t slot_count;
	struct pool_slot slots[];
};

struct connection_pool *
connection_pool_new(const struct connection_pool_ops *ops, void *arg,
		    size_t max_connections, const char *name)
{
	if (max_connections == 0 || max_connections > CONNECTION_POOL_MAX)
		return NULL;
	struct connection_pool *pool =
		calloc(1, sizeof *pool +
				  max_connections * sizeof pool->slots[0]);
	if (!pool)
		return NULL;
	pool->name = strdup(name ? name : "connection pool");
	if (!pool->name) {
		free(pool);
		return NULL;
	}
	pthread_condattr_t attributes;
	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->released, &attributes);
	pthread_condattr_destroy(&attributes);
	pthread_mutex_init(&pool->lock, NULL);
	pool->ops = ops;
	pool->arg = arg;
	pool->slot_count = max_connections;
	return pool;
}

static bool owned_by_me(const struct pool_slot *slot)
{
	return slot->owned && pthread_equal(slot->owner, pthread_self());
}

/* Called with the lock held: the slot this thread should lease, or NULL
 * when every slot is leased.  Its own slot first, then one nobody owns,
 * then the one put back longest ago. */
static struct pool_slot *choose_slot(struct connection_pool *pool)
{
	struct pool_slot *unowned = NULL, *oldest = NULL;
	for (size_t i = 0; i < pool->slot_count; i++) {
		struct pool_slot *slot = &pool->slots[i];
		if (slot->leased)
			continue;
		if (owned_by_me(slot))
			return slot;
		if (!slot->owned) {
			/* Prefer one with an open connection. */
			if (!unowned ||
			    (slot->connection && !unowned->connection))
				unowned = slot;
		} else if (!oldest || slot->last_put < oldest->last_put) {
			oldest = slot;
		}
	}
	return unowned ? unowned : oldest;
}

static struct pool_slot *my_leased_slot(struct connection_pool *pool)
{
	for (size_t i = 0; i < pool->slot_count; i++)
		if (pool->slots[i].leased && owned_by_me(&pool->slots[i]))
			return &pool->slots[i];
	return NULL;
}

/* Waits up to one slice for a put; false if the caller was interrupted. */
static bool wait_for_put(struct connection_pool *pool, struct crash_call *call)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 100000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&pool->released, &pool->lock, &deadline);
	return !crash_call_interrupted(call);
}

/* Leases a slot (lock held by the caller); 0 or a negative errno. */
static int lease_slot(struct connection_pool *pool, struct crash_call *call,
		      struct pool_slot **out)
{
	if (my_leased_slot(pool))
		return crash_error_set(&call->error, -EDEADLK,
				       "%s: this thread already holds a "
				       "connection of the pool",
				       pool->name);
	struct pool_slot *slot;
	while (!(slot = choose_slot(pool))) {
		if (!wait_for_put(pool, call))
			return crash_error_set(&call->error, -EINTR,
					       "%s: interrupted while waiting "
					       "for one of its %zu connections",
					       pool->name, pool->slot_count);
	}
	/* Taking over another thread's idle slot moves its connection to
	 * this thread: it is never used by both, only one lease exists. */
	slot->owner = pthread_self();
	slot->owned = true;
	slot->leased = true;
	*out = slot;
	return 0;
}

int connection_pool_get(struct connection_pool *pool, struct crash_call *call,
			void **connection_out)
{
	struct pool_slot *slot = NULL;

	*connection_out = NULL;
	pthread_mutex_lock(&pool->lock);
	int result = lease_slot(pool, call, &slot);
	void *connection = slot ? slot->connection : NULL;
	pthread_mutex_unlock(&pool->lock);
	if (result < 0)
		return result;
	if (!connection) {
		/* Outside the lock: opening may take a network round trip.
		 * The slot is leased, so no other thread touches it. */
		crash_error_clear(&call->error);
		result = pool->ops->open(pool->arg, &connection, &call->error);
		if (result >= 0 && !connection)
			result = crash_error_set(&call->error, -EIO,
						 "%s: opening a connection "
						 "gave none",
						 pool->name);
		pthread_mutex_lock(&pool->lock);
		if (result < 0) {
			slot->leased = false;
			pthread_cond_signal(&pool->released);
		} else {
			slot->connection = connection;
		}
		pthread_mutex_unlock(&pool->lock);
		if (result < 0) {
			if (call->error.code == 0)
				crash_error_set(&call->error, result,
						"%s: cannot open a connection",
						pool->name);
			return result;
		}
	}
	*connection_out = connection;
	return 0;
}

void connection_pool_put(struct connection_pool *pool, void *connection)
{
	void *to_close = NULL;

	pthread_mutex_lock(&pool->lock);
	struct pool_slot *slot = my_leased_slot(pool);
	if (slot) {
		slot->leased = false;
		slot->last_put = ++pool->clock;
		if (slot->close_on_put) {
			to_close = slot->connection;
			slot->connection = NULL;
			slot->close_on_put = false;
		}
		pthread_cond_signal(&pool->released);
	}
	pthread_mutex_unlock(&pool->lock);
	(void)connection; /* the thread's lease names the slot */
	if (to_close)
		pool->ops->close(pool->arg, to_close);
}

void connection_pool_invalidate(struct connection_pool *pool)
{
	void *to_close = NULL;

	pthread_mutex_lock(&pool->lock);
	for (size_t i = 0; i < pool->slot_count; i++) {
		struct pool_slot *slot = &pool->slots[i];
		if (owned_by_me(slot) && slot->connection) {
			to_close = slot->connection;
			slot->connection = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	if (to_close)
		pool->ops->close(pool->arg, to_close);
}

/* Detaches one idle open connection (NULL when none is left); marks the
 * leased ones to close on put. */
static void *detach_idle(struct connection_pool *pool)
{
	void *connection = NULL;
	pthread_mutex_lock(&pool->lock);
	for (size_t i = 0; i < pool->slot_count; i++) {
		struct pool_slot *slot = &pool->slots[i];
		if (slot->leased) {
			slot->close_on_put = true; /* may be opening now */
		} else if (slot->connection && !connection) {
			connection = slot->connection;
			slot->connection = NULL;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return connection;
}

void connection_pool_close_all(struct connection_pool *pool)
{
	void *connection;
	while ((connection = detach_idle(pool)))
		pool->ops->close(pool->arg, connection);
}

void connection_pool_free(struct connection_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < pool->slot_count; i++)
		if (pool->slots[i].connection)
			pool->ops->close(pool->arg, pool->slots[i].connection);
	pthread_cond_destroy(&pool->released);
	pthread_mutex_destroy(&pool->lock);
	free(pool->name);
	free(pool);
}

size_t connection_pool_open_count(struct connection_pool *pool)
{
	size_t count = 0;
	pthread_mutex_lock(&pool->lock);
	for (size_t i = 0; i < pool->slot_count; i++)
		count += pool->slots[i].connection != NULL;
	pthread_mutex_unlock(&pool->lock);
	return count;
}

size_t connection_pool_leased_count(struct connection_pool *pool)
{
	size_t count = 0;
	pthread_mutex_lock(&pool->lock);
	for (size_t i = 0; i < pool->slot_count; i++)
		count += pool->slots[i].leased;
	pthread_mutex_unlock(&pool->lock);
	return count;
}
