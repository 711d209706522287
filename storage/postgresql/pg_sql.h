/*
 * pg_sql.h - every SQL statement the PostgreSQL store sends.
 *
 * Values always travel as parameters ($1, $2, ...); the only text built
 * into a statement is a table or index name made from a week's suffix
 * (pg_week.h) or constant schema text.  Each builder returns a new
 * string (free()) or NULL when out of memory.
 *
 * A week's tables may be incomplete: a database partitioned by Socorro
 * has no crashfs side table, and a week may hold raw_crashes_<W> and not
 * processed_crashes_<W>.  Builders of reads therefore take the set of
 * tables the week has (PG_TABLE_* bits) and leave the others out; writes
 * create what is missing first (pg_schema.h).
 *
 * crashfs's side data, per week (crashfs_parts_<W>, the crashfs tables
 * and indexes are all named crashfs_*; Socorro's tables keep exactly
 * Socorro's columns): one row per part crashfs wrote or set a time on,
 * keyed (crash_id, part) with part 1 = raw crash, 3 = processed crash;
 * mtime_sec and mtime_nsec as written (cp -a, rsync -a); for the processed
 * crash the exact .jsonz bytes and the xmin of the processed_crashes row
 * they belong to, so that a later rewrite by Socorro makes them stale
 * instead of wrong.  Listing indexes crashfs_<table>_<W>_day on
 * (right(uuid::text, 6), uuid) of raw_crashes_<W> and processed_crashes_<W>
 * answer "the crashes of a day, in order" with an index scan.
 *
 * Pure functions; any thread.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_SQL_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/postgresql/pg_week.h"

/* The tables of a week, in Socorro's build order, then crashfs's. */
enum pg_table {
	PG_TABLE_REPORTS = 1 << 0,
	PG_TABLE_PLUGINS_REPORTS = 1 << 1,
	PG_TABLE_EXTENSIONS = 1 << 2,
	PG_TABLE_RAW_CRASHES = 1 << 3,
	PG_TABLE_PROCESSED_CRASHES = 1 << 4,
	PG_TABLE_CRASHFS_PARTS = 1 << 5,
};
#define PG_TABLE_COUNT 6
#define PG_TABLES_ALL ((1u << PG_TABLE_COUNT) - 1)

/* The prefix of table i (0-based, the order above): "raw_crashes_". */
extern const char *const pg_table_prefixes[PG_TABLE_COUNT];

/* The side table's part numbers (enum crash_part_type's values). */
#define PG_PART_RAW 1
#define PG_PART_PROCESSED 3

/* Rows a page of list_crashes asks for. */
#define PG_LIST_PAGE 256

/* -- writes ------------------------------------------------------------ */

/* $1 crash id, $2 raw crash text, $3 date_processed. */
char *pg_sql_raw_upsert(const struct pg_week *week);
/* $1 crash id, $2 part, $3 mtime seconds, $4 nanoseconds. */
char *pg_sql_side_mtime_upsert(const struct pg_week *week);
/* $1..$36: pg_report_columns' values in order. */
char *pg_sql_reports_upsert(const struct pg_week *week);
/* $1 filename, $2 name. */
char *pg_sql_plugin_insert(void);
/* $1 crash id. */
char *pg_sql_plugins_reports_delete(const struct pg_week *week);
/* $1 crash id, $2 date_processed, $3 version, $4 filename, $5 name. */
char *pg_sql_plugins_reports_insert(const struct pg_week *week);
/* $1 crash id. */
char *pg_sql_extensions_delete(const struct pg_week *week);
/* $1 crash id, $2 date_processed, $3 keys, $4 ids, $5 versions (array
 * literals). */
char *pg_sql_extensions_insert(const struct pg_week *week);
/* $1 crash id, $2 processed crash text, $3 date_processed. */
char *pg_sql_processed_upsert(const struct pg_week *week);
/* $1 crash id, $2 mtime seconds, $3 nanoseconds, $4 .jsonz bytes. */
char *pg_sql_side_processed_upsert(const struct pg_week *week);
/* $1 crash id, $2 mtime seconds, $3 nanoseconds: sets a part's mtime if
 * the part is there (no row: it is not). */
char *pg_sql_set_mtime(const struct pg_week *week, int part);

/* Deletes of one crash from one table of the week ($1 crash id): table is
 * one PG_TABLE_* bit; part (PG_PART_*, or 0 for every part) only for
 * PG_TABLE_CRASHFS_PARTS.  Extension and plugin rows are found through
 * reports_<W>. */
char *pg_sql_delete(const struct pg_week *week, enum pg_table table,
		    int part);

/* -- reads ------------------------------------------------------------- */

/* The tables of the week that exist: $1..$6 their names (in the order of
 * enum pg_table); one row of six booleans. */
char *pg_sql_week_tables(void);

/* Whether the crash ($1) is in the week's tables (tables: PG_TABLE_*
 * bits that exist; at least one of raw and processed).  One boolean. */
char *pg_sql_crash_exists(const struct pg_week *week, unsigned tables);

/* The crash's parts ($1): rows (part, size, version, mtime_sec, mtime_nsec,
 * date_us); size NULL for a processed crash without exact bytes (its
 * .jsonz is made from the JSON), version the row's xmin plus 2^32 when
 * the exact bytes are served. */
char *pg_sql_part_stats(const struct pg_week *week, unsigned tables);

/* The raw crash's text ($1). */
char *pg_sql_fetch_raw(const struct pg_week *week);
/* The processed crash ($1): (exact .jsonz bytes, or NULL; JSON text, or
 * NULL when the exact bytes are there). */
char *pg_sql_fetch_processed(const struct pg_week *week, unsigned tables);

/* -- listings ------------------------------------------------------------ */

/* Partitions of raw_crashes and processed_crashes: relname rows. */
char *pg_sql_partitions(void);
/* Of the day endings in $1 (text[] of YYMMDD), those with crashes in the
 * week. */
char *pg_sql_days_of_week(const struct pg_week *week, unsigned tables);
/* A page of a day's crash ids: $1 the YYMMDD ending, $2 exclusive lower
 * bound, $3 inclusive upper bound (uuid text), ascending, at most
 * PG_LIST_PAGE. */
char *pg_sql_list_crashes(const struct pg_week *week, unsigned tables);

/* The bounds of list_crashes for prefix after `after` ("" for none):
 * every id listed is > low and <= high.  Ids are in uuid order, which is
 * their text order. */
void pg_sql_list_bounds(const char *prefix, const char *after,
			char low[37], char high[37]);

/* -- schema (pg_schema.h runs them) ----------------------------------- */

enum pg_object_kind {
	PG_OBJECT_TABLE = 1, /* exists: to_regclass(name) */
	PG_OBJECT_INDEX,     /* the same */
	PG_OBJECT_CONSTRAINT, /* exists: pg_constraint (name, on table) */
};

struct pg_object {
	enum pg_object_kind kind;
	char name[PG_NAME_MAX];
	char table[PG_NAME_MAX]; /* a constraint's table */
	char *create;            /* the statement that makes it */
	char *comment;           /* NULL, or a COMMENT ON it to run after */
};

struct pg_object_list {
	struct pg_object *objects;
	size_t count, capacity;
};

/* Appends Socorro's master tables and report_partition_info (B.3), then
 * the week's partitions (B.2) and crashfs's side table and indexes, in
 * the order they must be made.  0 or -ENOMEM. */
int pg_objects_masters(struct pg_object_list *list);
int pg_objects_week(struct pg_object_list *list, const struct pg_week *week);
void pg_object_list_release(struct pg_object_list *list);

/* The statement that checks an object exists ($1 name, $2 its table):
 * one boolean. */
const char *pg_sql_object_exists(enum pg_object_kind kind);
/* report_partition_info's rows for the crash tables: one INSERT each,
 * returning the row when it made it.  count gets their number. */
const char *const *pg_sql_partition_info_rows(size_t *count);

/* Socorro's index name suffix for a column list (create_weekly_partition):
 * runs of ',' '(' or blanks become '_' for a unique index, runs of ',' or
 * blanks for an index.  ("report_id,plugin_id" -> "report_id_plugin_id"). */
void pg_index_suffix(const char *columns, bool unique, char *out,
		     size_t size);

#endif
