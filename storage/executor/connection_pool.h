/*
 * connection_pool.h - per-thread connections to a server, bounded, for the
 * server-backed stores (PostgreSQL, RabbitMQ, HBase over Thrift).
 *
 * Socorro's pooled connection contexts (spec/transactions.md §7.2) keep
 * one connection per thread, since the Thrift and AMQP clients are not
 * thread-safe; libfuse serves requests on many threads.  This pool keeps
 * that affinity and adds what a mount needs:
 *
 *   - a thread leases a connection for one operation (connection_pool_get
 *     ... connection_pool_put); while leased, no other thread can have it;
 *   - at most max_connections connections exist; a thread that finds all
 *     of them leased waits (polling its call for interruption, -EINTR);
 *   - between leases a connection stays with the thread that used it last
 *     and that thread gets it back, unless a thread without one needs a
 *     connection and none is free: then it takes over the connection idle
 *     longest (a libfuse worker that exited never asks again);
 *   - connection_pool_invalidate (the store's reconnect, after an
 *     operational error) closes and drops the calling thread's connection,
 *     so its next get opens a fresh one;
 *   - connection_pool_close_all closes every connection not leased now;
 *     leased ones are closed when they are put back.
 *
 * Opening and closing run outside the pool's lock (they may take a network
 * round trip).  A thread holds at most one lease of a pool at a time: a
 * second get before put is refused with -EDEADLK.
 *
 * Threads: every function is thread-safe except connection_pool_free,
 * which must run when no thread uses the pool any more.
 */
#ifndef CRASHFS_STORAGE_EXECUTOR_CONNECTION_POOL_H
#define CRASHFS_STORAGE_EXECUTOR_CONNECTION_POOL_H

#include <stddef.h>

#include "storage/crash_error.h"
#include "storage/crash_store.h"

struct connection_pool_ops {
	/* Opens a connection; 0 and *connection_out (not NULL), or a negative
	 * errno with error filled (operational if worth retrying). */
	int (*open)(void *arg, void **connection_out,
		    struct crash_error *error);
	/* Closes a connection; must not fail (log instead). */
	void (*close)(void *arg, void *connection);
};

/* The most connections a pool may be configured with. */
#define CONNECTION_POOL_MAX 1024

struct connection_pool;

/* name names the pool in log lines (the store's node path).  Returns NULL
 * if out of memory or max_connections is 0 or above CONNECTION_POOL_MAX. */
struct connection_pool *
connection_pool_new(const struct connection_pool_ops *ops, void *arg,
		    size_t max_connections, const char *name);
/* Closes every connection and frees the pool; NULL is allowed. */
void connection_pool_free(struct connection_pool *pool);

/* Leases the calling thread's connection, opening one if needed.  Returns
 * 0 and *connection_out, or a negative errno with call->error filled: the
 * open's error, -EINTR if interrupted while waiting for a free slot,
 * -EDEADLK if this thread already holds a lease. */
int connection_pool_get(struct connection_pool *pool, struct crash_call *call,
			void **connection_out);
/* Ends the calling thread's lease of connection. */
void connection_pool_put(struct connection_pool *pool, void *connection);

/* Force-reconnect: closes and drops the calling thread's connection
 * (leased or not); a lease of it stays valid and is ended by put as usual,
 * but the connection must not be used any more. */
void connection_pool_invalidate(struct connection_pool *pool);

/* Closes every connection not leased now; leased ones close on put. */
void connection_pool_close_all(struct connection_pool *pool);

/* Open connections and leased connections now, for stats and tests. */
size_t connection_pool_open_count(struct connection_pool *pool);
size_t connection_pool_leased_count(struct connection_pool *pool);

#endif
