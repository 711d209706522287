/*
 * pg_store.h - Socorro's PostgreSQL crash storage (spec/backends.md part
 * B): raw and processed crashes in Socorro's weekly-partitioned tables,
 * read and written through libpq.
 *
 *   {"type": "postgresql",
 *    "dsn": "host=db.example port=5432 dbname=breakpad user=breakpad_rw",
 *    "password_file": "/etc/crashfs/pgpass",
 *    "max_connections": 16,
 *    "connect_at_open": true,
 *    "absent_ttl": 1}
 *
 * dsn          a libpq connection string or URI (default "": libpq's
 *              environment variables PGHOST, PGPORT, PGDATABASE, PGUSER,
 *              PGPASSWORD..., and ~/.pgpass, as psql uses them)
 * password_file  a libpq password file (hostname:port:database:username:
 *              password lines, as ~/.pgpass); it must be the owner's
 *              alone (mode 0600 or stricter) or the store refuses to open
 * max_connections  connections at most (one per worker thread; 1-1024)
 * connect_at_open  connect once when the store opens, so a wrong dsn or
 *              password or an unreachable server stops the mount with a
 *              message and exit status 1 (false: the first request finds
 *              out, and the retry policy decides)
 * absent_ttl   seconds (0-60, fractions allowed; 0: off) a crash found
 *              absent is remembered as absent: the four lookups the mount
 *              makes before a new crash's first write cost one query.
 *              Writes and removals through this store forget it at once;
 *              rows another program inserts show when the time is up
 *
 * What is stored where (the Socorro schema of B.3, partitions of B.2):
 *   <id>.json   raw_crashes_<W> (the bytes written, as json text;
 *               date_processed from submitted_timestamp)
 *   <id>.jsonz  reports_<W> (B.4's 36 columns), plugins and
 *               plugins_reports_<W>, extensions_<W> and
 *               processed_crashes_<W>, in one transaction (B.5); the exact
 *               .jsonz bytes in crashfs_parts_<W>
 *   dumps       nowhere (as Socorro): the store has no save_dump, so a
 *               container passes dumps to its other members
 * where W is the Monday of the crash id's week.  Upserts (INSERT ... ON
 * CONFLICT), so concurrent first saves of one crash all succeed; a write
 * into a week without partitions makes them (pg_schema.h).  mtimes as
 * written (utimens), else the row's date_processed, else the crash id's
 * day at midnight UTC.  Removing a crash deletes its rows from every
 * table.  new_crashes is empty, as Socorro's was.  crashfs --setup-store
 * makes the tables, report_partition_info and the partitions of last week
 * to two weeks ahead.
 *
 * Password: never in a log line, an error message or .crashfs/stats (the
 * server is named by its host, port, database and user only).
 *
 * Threads: CRASH_STORE_PARALLEL; one connection per worker thread from a
 * pool (storage/executor/connection_pool.h).  Failures are operational or
 * not as pg_connection.h says; the registry wraps the node in the mount's
 * retry policy (takes_default_retry), and the store reconnects before
 * each retry.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_STORE_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_STORE_H

#include <jansson.h>

#include "storage/crash_store.h"
#include "storage/store_registry.h"

#define PG_STORE_MAX_CONNECTIONS_DEFAULT 16

int postgresql_store_open_json(const json_t *node, const char *node_path,
			       const struct crash_store_env *env,
			       struct crash_store **out,
			       struct crash_error *error);

extern const struct crash_store_ops postgresql_store_ops;

#endif
