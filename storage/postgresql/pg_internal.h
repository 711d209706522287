/*
 * pg_internal.h - what the files of the PostgreSQL store share: the
 * store's struct and the few steps every operation takes (lease a
 * session, run statements, learn which tables a week has, make a missing
 * week).  Not for use outside storage/postgresql/.
 *
 *   pg_store.c    configuration, opening, the operations table, stats
 *   pg_write.c    save_raw_crash, save_processed, set_part_mtime, removes
 *   pg_read.c     stat_crash, stat_part, open_part, list_parts
 *   pg_listing.c  open_days, list_crashes
 *
 * Threads: every function may be called from any thread; the store's
 * mutable state is the pool (thread-safe), the set of weeks known to be
 * complete (weeks_lock) and atomic counters.  A thread holds at most one
 * session at a time, and none while it calls back into anything.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_INTERNAL_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage/crash_store.h"
#include "storage/executor/connection_pool.h"
#include "storage/postgresql/pg_connection.h"
#include "storage/postgresql/pg_sql.h"
#include "storage/postgresql/pg_store.h"
#include "storage/postgresql/pg_week.h"

/* Weeks remembered as having every table; past it the oldest is
 * forgotten (and asked about again when used). */
#define PG_KNOWN_WEEKS_MAX 128

/* Crashes remembered as absent (see pg_store_absent_*). */
#define PG_ABSENT_MAX 256
/* For how long, by default, in seconds. */
#define PG_ABSENT_TTL_DEFAULT 1.0
#define PG_ABSENT_BUCKETS 64

struct pg_absent {
	char crash_id[CRASH_ID_LENGTH + 1];
	struct timespec until; /* CLOCK_MONOTONIC */
};

struct pg_store {
	struct crash_store base;
	struct pg_server server;
	struct connection_pool *pool;
	size_t max_connections;
	struct read_cache *read_cache; /* the mount's; may be NULL */
	char *spool_dir;               /* may be NULL */

	pthread_mutex_t weeks_lock; /* guards the two fields below */
	int64_t known_weeks[PG_KNOWN_WEEKS_MAX]; /* first days of weeks */
	size_t known_week_count;

	/* Crashes found absent lately, so that the lookups a new crash's
	 * first write makes (the kernel's, then the mount's own checks
	 * before mkdir and create: four in all) cost one query, not four.
	 * A ring; absent_ttl 0 turns it off. */
	pthread_mutex_t absent_lock; /* the four fields below */
	struct pg_absent absent[PG_ABSENT_MAX];
	size_t absent_next;
	/* Bumped by every write of a crash hashing to the bucket, before and
	 * after it: an answer that raced with a write is not remembered. */
	uint64_t absent_generations[PG_ABSENT_BUCKETS];
	double absent_ttl;

	atomic_uint_fast64_t objects_created;
	atomic_uint_fast64_t absent_hits;
};

struct pg_store *pg_store_from(struct crash_store *store);

/* Leases the calling thread's session, runs the statements in one
 * transaction and gives the session back.  0 or a negative errno with
 * *failure filled (see pg_session_run). */
int pg_store_run(struct pg_store *self, struct crash_call *call,
		 struct pg_statement *statements, size_t count,
		 struct pg_failure *failure);

/* Which of the week's tables exist (PG_TABLE_* bits); remembered once
 * all do.  0 or a negative errno with *failure filled. */
int pg_store_week_tables(struct pg_store *self, struct crash_call *call,
			 const struct pg_week *week, unsigned *tables,
			 struct pg_failure *failure);
/* A statement said a table of the week is missing: ask again next time. */
void pg_store_forget_week(struct pg_store *self, const struct pg_week *week);

/* Makes what is missing of the week (pg_schema.h), logging what it made. */
int pg_store_ensure_week(struct pg_store *self, struct crash_call *call,
			 const struct pg_week *week,
			 struct pg_failure *failure);

/*
 * Runs a write: on "undefined table" (the week, or crashfs's side table
 * of a week Socorro made, is not there) it makes the week and runs the
 * statements once more.  0 or a negative errno with call->error set,
 * naming the operation and the crash.
 */
int pg_store_write(struct pg_store *self, struct crash_call *call,
		   const struct pg_week *week, struct pg_statement *statements,
		   size_t count, const char *operation, const char *crash_id);

/* Sets call->error from a failure: "<node>: <operation> <crash id>: ...". */
int pg_store_fail(struct pg_store *self, struct crash_call *call,
		  const struct pg_failure *failure, const char *operation,
		  const char *crash_id);

/* The read cache key of a part: "<node path>\n<crash id>\n<part>". */
void pg_store_cache_key(struct pg_store *self, const char *crash_id,
			int part, char *out, size_t size);
/* Forgets the cached bytes of a part written or removed. */
void pg_store_drop_cached(struct pg_store *self, const char *crash_id,
			  int part);

/*
 * The crash was found absent (no row in any of its week's tables): for
 * absent_ttl seconds, lookups of it answer "not here" without asking the
 * server, as the kernel answers from its own entry cache.  A write or
 * removal of the crash through this store forgets it at once; one made by
 * another daemon is seen when the time is up.
 */
uint64_t pg_store_absent_ticket(struct pg_store *self, const char *crash_id);
/* Remembers it unless a write of it began since the ticket was taken
 * (before the query that found it absent). */
void pg_store_absent_remember(struct pg_store *self, const char *crash_id,
			      uint64_t ticket);
bool pg_store_absent_known(struct pg_store *self, const char *crash_id);
/* Before and after every write or removal of the crash. */
void pg_store_absent_forget(struct pg_store *self, const char *crash_id);

/* Checks the crash id and finds its week; -EINVAL with call->error. */
int pg_store_crash_week(struct pg_store *self, struct crash_call *call,
			const char *crash_id, struct pg_week *week);

/* -- the operations of each file ----------------------------------------- */

int pg_save_raw_crash(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_blob *raw_crash,
		      const struct crash_dump *dumps, size_t dump_count);
int pg_save_processed(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_blob *processed);
int pg_remove(struct crash_store *store, struct crash_call *call,
	      const char *crash_id);
int pg_remove_part(struct crash_store *store, struct crash_call *call,
		   const char *crash_id, const struct crash_part *part);
int pg_set_part_mtime(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_part *part,
		      const struct timespec *mtime);

int pg_stat_crash(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, struct crash_dir_stat *stat);
int pg_stat_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat);
int pg_open_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat, int *fd_out);
int pg_list_parts(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, crash_part_emit_fn emit, void *ctx);

int pg_open_days(struct crash_store *store, struct crash_call *call,
		 struct crash_listing **out);
int pg_list_crashes(struct crash_store *store, struct crash_call *call,
		    const char *day, const char *prefix, const char *after,
		    struct crash_id_page *page);

#endif
