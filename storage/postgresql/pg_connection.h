/*
 * pg_connection.h - one libpq connection and the statements it runs.
 *
 * struct pg_server is what every connection of a store node is made from:
 * the node's libpq connection string ("dsn"), its password file, and a
 * description of the server for log lines and stats that never holds a
 * password.  libpq's environment variables (PGHOST, PGPASSWORD, ...) and
 * ~/.pgpass apply as they do for psql; crashfs adds client_encoding UTF8,
 * TimeZone UTC (so timestamps without a zone, and the partitions' CHECK
 * bounds, are UTC), plan_cache_mode force_generic_plan (every statement
 * is a lookup by key or a range of an index, planned once per connection
 * instead of at every call) and application_name "crashfs" (unless the
 * dsn names one).
 *
 * struct pg_session is one pooled connection (connection_pool.h: one per
 * worker thread).  It connects lazily, inside a store call, so a server
 * that is down is an operational failure of that call (retried by the
 * node's policy) and never of the pool.  Every wait - connecting, sending,
 * reading - goes through crash_call_wait_fd() on the connection's socket:
 * a call interrupted or past its deadline gives up with -EINTR or
 * -ETIMEDOUT, and the session drops its connection (its protocol state is
 * unknown), so no request hangs on a stuck server.
 *
 * pg_session_run() sends statements in one libpq pipeline, which the
 * server runs as one transaction (an implicit one, ended by the pipeline's
 * sync, unless the statements hold BEGIN/COMMIT themselves): one round
 * trip per transaction.  A named statement is prepared on the connection
 * the first time it is run there.  Values are always parameters.
 *
 * Failures are sorted as Socorro's connection context sorted them
 * (spec/transactions.md 6), extended to libpq: a lost or refused
 * connection, SQLSTATE classes 08 (connection exception) and 57P
 * (operator intervention: shutting down, starting up), 53300 (too many
 * connections) and class 40 (serialization failure, deadlock: the whole
 * transaction may simply run again) are operational; everything else is
 * final, with an errno a tool understands (data 22 and integrity 23:
 * EINVAL; privileges 28 and 42501: EACCES; disk full 53100: ENOSPC;
 * program limits 54: EFBIG; otherwise EIO).
 *
 * Threads: a pg_server is read-only after init; a session belongs to the
 * thread that leased it.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_CONNECTION_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "storage/crash_store.h"

/* A connection attempt gives up after this long when neither the dsn
 * (connect_timeout) nor PGCONNECT_TIMEOUT says otherwise. */
#define PG_CONNECT_TIMEOUT_DEFAULT_MS 10000

struct pg_server {
	char *dsn;           /* as configured ("" for libpq's defaults) */
	char *password_file; /* NULL: none (libpq's own lookup) */
	char *options;       /* the dsn's options plus crashfs's settings */
	long connect_timeout_ms;
	/* "host=127.0.0.1 port=5432 dbname=breakpad user=breakpad_rw",
	 * what the dsn says (never its password). */
	char description[256];
};

/*
 * Reads dsn (a libpq connection string or URI; NULL means "") and
 * password_file.  node_path prefixes errors.  With check_files, the
 * password file must be a regular file readable by crashfs and by nobody
 * but its owner (group or others reading or writing it: refused, naming
 * it), as a file holding a password should be.  0 or -EINVAL / -EACCES /
 * -ENOENT (a missing password file) with error set.
 */
int pg_server_init(struct pg_server *server, const char *dsn,
		   const char *password_file, const char *node_path,
		   bool check_files, struct crash_error *error);
void pg_server_release(struct pg_server *server);

/* Why a run failed.  message is the server's (or libpq's) own, one line. */
struct pg_failure {
	int code;         /* negative errno */
	bool operational;
	char sqlstate[6]; /* "" when there was none (a lost connection) */
	char message[320];
};

/* True if the failure carries that SQLSTATE ("42P01"). */
bool pg_failure_is(const struct pg_failure *failure, const char *sqlstate);

/* Sets call->error to "<what>: PostgreSQL <server>: <message> (SQLSTATE
 * ...)", operational or not as the failure is, and returns its code. */
int pg_failure_report(struct crash_call *call, const struct pg_server *server,
		      const struct pg_failure *failure, const char *format,
		      ...) __attribute__((format(printf, 4, 5)));

/* One statement of a run. */
struct pg_statement {
	const char *name;   /* prepared as this on first use; NULL: not */
	const char *sql;
	int param_count;
	const char *const *values; /* NULL entries are SQL NULL */
	const int *lengths;        /* for binary parameters; may be NULL */
	const int *formats;        /* 1: binary; NULL: all text */
	int result_format;         /* 0 text, 1 binary */
	PGresult *result;          /* filled by the run: the caller clears */
};

struct pg_session;

/* An unconnected session, or NULL if out of memory. */
struct pg_session *pg_session_new(void);
/* Closes its connection and frees it; NULL allowed. */
void pg_session_free(struct pg_session *session);
/* True while it holds a connection (a failed run may have dropped it). */
bool pg_session_connected(const struct pg_session *session);

/*
 * Runs the statements as one pipeline (connecting first if needed) and
 * fills each one's result.  Returns 0, or a negative errno with *failure
 * filled (call->error is left to the caller, who knows what was being
 * done; pg_failure_report words it).  After an interruption, a timeout or
 * a lost connection the session is closed: the next run reconnects.
 */
int pg_session_run(struct pg_session *session, const struct pg_server *server,
		   struct crash_call *call, struct pg_statement *statements,
		   size_t count, struct pg_failure *failure);

/* PQclear of every statement's result. */
void pg_statements_clear(struct pg_statement *statements, size_t count);

/* Rows a statement changed (INSERT, DELETE, UPDATE), 0 if none. */
long pg_statement_changed(const struct pg_statement *statement);

#endif
