/*
 * pg_schema.h - making Socorro's tables and weekly partitions, and
 * crashfs's own side tables and listing indexes (pg_sql.h lists them).
 *
 * pg_schema_ensure() creates what is missing and changes nothing that is
 * there, in one transaction that first takes a PostgreSQL advisory lock
 * of crashfs's (pg_advisory_xact_lock(PG_SCHEMA_LOCK_KEY1,
 * PG_SCHEMA_LOCK_KEY2)): threads and daemons that find the same week
 * missing at once take turns, and the later ones find it made and make
 * nothing (Socorro's crash store never created partitions and failed on a
 * missing week instead).  Each object is checked after the lock is held,
 * so what it reports is exactly what it created.
 *
 * report_partition_info's rows are written only when this call creates
 * that table: a table Socorro made (possibly of an older shape) is left as
 * it is.  Table owners are not changed (Socorro gave its partitions to
 * breakpad_rw; here they belong to the role crashfs connects as).
 *
 * Threads: the caller's session only.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_SCHEMA_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_SCHEMA_H

#include <stddef.h>

#include "storage/crash_store.h"
#include "storage/postgresql/pg_connection.h"
#include "storage/postgresql/pg_week.h"

/* "cras", "hfs!": crashfs's advisory lock for schema changes. */
#define PG_SCHEMA_LOCK_KEY1 1668440435
#define PG_SCHEMA_LOCK_KEY2 1751544609

typedef void (*pg_schema_report_fn)(void *ctx, const char *created);

/*
 * Makes the master tables and the given weeks' partitions and crashfs
 * objects where missing.  report (may be NULL) is called once per object
 * made, after the transaction committed ("table raw_crashes_20120402");
 * *created (may be NULL) gets their count.  0, or a negative errno with
 * *failure filled; on failure nothing was made.
 */
int pg_schema_ensure(struct pg_session *session,
		     const struct pg_server *server, struct crash_call *call,
		     const struct pg_week *weeks, size_t week_count,
		     pg_schema_report_fn report, void *ctx, size_t *created,
		     struct pg_failure *failure);

#endif
