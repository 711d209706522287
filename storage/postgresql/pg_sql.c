/*
 * pg_sql.c - the statements of the PostgreSQL store (see pg_sql.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/postgresql/pg_processed.h"
#include "storage/postgresql/pg_sql.h"

const char *const pg_table_prefixes[PG_TABLE_COUNT] = {
	"reports_",	    "plugins_reports_",	  "extensions_",
	"raw_crashes_",	    "processed_crashes_", "crashfs_parts_",
};

/* -- a growing string ------------------------------------------------------ */

struct text {
	char *data;
	size_t length, capacity;
	bool failed;
};

static void add(struct text *text, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct text *text, const char *format, ...)
{
	if (text->failed)
		return;
	for (;;) {
		va_list args;
		size_t room = text->capacity - text->length;
		va_start(args, format);
		int length = vsnprintf(text->data ? text->data + text->length
						  : NULL,
				       room, format, args);
		va_end(args);
		if (length < 0) {
			text->failed = true;
			return;
		}
		if ((size_t)length < room) {
			text->length += (size_t)length;
			return;
		}
		size_t wanted = text->capacity ? text->capacity * 2 : 256;
		while (wanted < text->length + (size_t)length + 1)
			wanted *= 2;
		char *grown = realloc(text->data, wanted);
		if (!grown) {
			text->failed = true;
			return;
		}
		text->data = grown;
		text->capacity = wanted;
	}
}

static char *finish(struct text *text)
{
	if (text->failed || !text->data) {
		free(text->data);
		return NULL;
	}
	return text->data;
}

/* The name of one of the week's tables ("raw_crashes_20120402"). */
struct name {
	char text[PG_NAME_MAX];
};

static struct name table_of(const struct pg_week *week, enum pg_table table)
{
	struct name name = { "" };
	for (int i = 0; i < PG_TABLE_COUNT; i++)
		if (table == (enum pg_table)(1 << i))
			pg_week_name(name.text, sizeof name.text,
				     pg_table_prefixes[i], week);
	return name;
}

#define T(week, table) (table_of(week, table).text)

/* -- writes ------------------------------------------------------------ */

char *pg_sql_raw_upsert(const struct pg_week *week)
{
	struct text text = { 0 };
	add(&text,
	    "INSERT INTO %s (uuid, raw_crash, date_processed) "
	    "VALUES ($1::uuid, $2::json, $3::timestamptz) "
	    "ON CONFLICT (uuid) DO UPDATE SET raw_crash = EXCLUDED.raw_crash, "
	    "date_processed = EXCLUDED.date_processed",
	    T(week, PG_TABLE_RAW_CRASHES));
	return finish(&text);
}

char *pg_sql_side_mtime_upsert(const struct pg_week *week)
{
	struct text text = { 0 };
	add(&text,
	    "INSERT INTO %s (crash_id, part, mtime_sec, mtime_nsec) "
	    "VALUES ($1::uuid, $2::smallint, $3::bigint, $4::integer) "
	    "ON CONFLICT (crash_id, part) DO UPDATE SET "
	    "mtime_sec = EXCLUDED.mtime_sec, mtime_nsec = EXCLUDED.mtime_nsec",
	    T(week, PG_TABLE_CRASHFS_PARTS));
	return finish(&text);
}

static const char *column_cast(enum pg_column_type type)
{
	switch (type) {
	case PG_COLUMN_INTEGER:
		return "integer";
	case PG_COLUMN_BOOLEAN:
		return "boolean";
	case PG_COLUMN_TIMESTAMP:
		return "timestamptz";
	default:
		return "text";
	}
}

char *pg_sql_reports_upsert(const struct pg_week *week)
{
	struct text text = { 0 };
	add(&text, "INSERT INTO %s (", T(week, PG_TABLE_REPORTS));
	for (int i = 0; i < PG_REPORT_COLUMN_COUNT; i++)
		add(&text, "%s%s", i ? ", " : "", pg_report_columns[i].column);
	add(&text, ") VALUES (");
	for (int i = 0; i < PG_REPORT_COLUMN_COUNT; i++)
		add(&text, "%s$%d::%s", i ? ", " : "", i + 1,
		    column_cast(pg_report_columns[i].type));
	add(&text, ") ON CONFLICT (uuid) DO UPDATE SET ");
	for (int i = 0; i < PG_REPORT_COLUMN_COUNT; i++)
		add(&text, "%s%s = EXCLUDED.%s", i ? ", " : "",
		    pg_report_columns[i].column, pg_report_columns[i].column);
	return finish(&text);
}

char *pg_sql_plugin_insert(void)
{
	return strdup("INSERT INTO plugins (filename, name) "
		      "VALUES ($1::text, $2::text) "
		      "ON CONFLICT (filename, name) DO NOTHING");
}

char *pg_sql_plugins_reports_delete(const struct pg_week *week)
{
	return pg_sql_delete(week, PG_TABLE_PLUGINS_REPORTS, 0);
}

char *pg_sql_plugins_reports_insert(const struct pg_week *week)
{
	struct text text = { 0 };
	add(&text,
	    "INSERT INTO %s (report_id, plugin_id, date_processed, version) "
	    "SELECT r.id, p.id, $2::timestamptz, $3::text FROM %s r, plugins p "
	    "WHERE r.uuid = $1::text AND p.filename = $4::text "
	    "AND p.name = $5::text",
	    T(week, PG_TABLE_PLUGINS_REPORTS), T(week, PG_TABLE_REPORTS));
	return finish(&text);
}

char *pg_sql_extensions_delete(const struct pg_week *week)
{
	return pg_sql_delete(week, PG_TABLE_EXTENSIONS, 0);
}

char *pg_sql_extensions_insert(const struct pg_week *week)
{
	struct text text = { 0 };
	add(&text,
	    "INSERT INTO %s (report_id, date_processed, extension_key, "
	    "extension_id, extension_version) "
	    "SELECT r.id, $2::timestamptz, e.key, e.id, e.version FROM %s r, "
	    "unnest($3::integer[], $4::text[], $5::text[]) AS e(key, id, version) "
	    "WHERE r.uuid = $1::text",
	    T(week, PG_TABLE_EXTENSIONS), T(week, PG_TABLE_REPORTS));
	return finish(&text);
}

char *pg_sql_processed_upsert(const struct pg_week *week)
{
	struct text text = { 0 };
	add(&text,
	    "INSERT INTO %s (uuid, processed_crash, date_processed) "
	    "VALUES ($1::uuid, $2::json, $3::timestamptz) "
	    "ON CONFLICT (uuid) DO UPDATE SET "
	    "processed_crash = EXCLUDED.processed_crash, "
	    "date_processed = EXCLUDED.date_processed",
	    T(week, PG_TABLE_PROCESSED_CRASHES));
	return finish(&text);
}

char *pg_sql_side_processed_upsert(const struct pg_week *week)
{
	struct text text = { 0 };
	/* The xmin read back is this transaction's: the row just written. */
	add(&text,
	    "INSERT INTO %s (crash_id, part, mtime_sec, mtime_nsec, jsonz, "
	    "processed_xmin) "
	    "SELECT p.uuid, %d, $2::bigint, $3::integer, $4::bytea, "
	    "p.xmin::text::bigint FROM %s p WHERE p.uuid = $1::uuid "
	    "ON CONFLICT (crash_id, part) DO UPDATE SET "
	    "mtime_sec = EXCLUDED.mtime_sec, mtime_nsec = EXCLUDED.mtime_nsec, "
	    "jsonz = EXCLUDED.jsonz, processed_xmin = EXCLUDED.processed_xmin",
	    T(week, PG_TABLE_CRASHFS_PARTS), PG_PART_PROCESSED,
	    T(week, PG_TABLE_PROCESSED_CRASHES));
	return finish(&text);
}

char *pg_sql_set_mtime(const struct pg_week *week, int part)
{
	struct text text = { 0 };
	add(&text,
	    "INSERT INTO %s (crash_id, part, mtime_sec, mtime_nsec) "
	    "SELECT uuid, %d, $2::bigint, $3::integer FROM %s "
	    "WHERE uuid = $1::uuid "
	    "ON CONFLICT (crash_id, part) DO UPDATE SET "
	    "mtime_sec = EXCLUDED.mtime_sec, mtime_nsec = EXCLUDED.mtime_nsec",
	    T(week, PG_TABLE_CRASHFS_PARTS), part,
	    T(week, part == PG_PART_RAW ? PG_TABLE_RAW_CRASHES
					: PG_TABLE_PROCESSED_CRASHES));
	return finish(&text);
}

char *pg_sql_delete(const struct pg_week *week, enum pg_table table,
		    int part)
{
	struct text text = { 0 };
	switch (table) {
	case PG_TABLE_PLUGINS_REPORTS:
	case PG_TABLE_EXTENSIONS:
		add(&text,
		    "DELETE FROM %s WHERE report_id IN "
		    "(SELECT id FROM %s WHERE uuid = $1::text)",
		    T(week, table), T(week, PG_TABLE_REPORTS));
		break;
	case PG_TABLE_REPORTS:
		add(&text, "DELETE FROM %s WHERE uuid = $1::text",
		    T(week, table));
		break;
	case PG_TABLE_RAW_CRASHES:
	case PG_TABLE_PROCESSED_CRASHES:
		add(&text, "DELETE FROM %s WHERE uuid = $1::uuid",
		    T(week, table));
		break;
	case PG_TABLE_CRASHFS_PARTS:
		add(&text, "DELETE FROM %s WHERE crash_id = $1::uuid",
		    T(week, table));
		if (part)
			add(&text, " AND part = %d", part);
		break;
	}
	return finish(&text);
}

/* -- reads ------------------------------------------------------------- */

char *pg_sql_week_tables(void)
{
	return strdup("SELECT to_regclass($1) IS NOT NULL, "
		      "to_regclass($2) IS NOT NULL, to_regclass($3) IS NOT NULL, "
		      "to_regclass($4) IS NOT NULL, to_regclass($5) IS NOT NULL, "
		      "to_regclass($6) IS NOT NULL");
}

char *pg_sql_crash_exists(const struct pg_week *week, unsigned tables)
{
	struct text text = { 0 };
	const char *separator = "";
	add(&text, "SELECT ");
	if (tables & PG_TABLE_RAW_CRASHES) {
		add(&text, "EXISTS (SELECT 1 FROM %s WHERE uuid = $1::uuid)",
		    T(week, PG_TABLE_RAW_CRASHES));
		separator = " OR ";
	}
	if (tables & PG_TABLE_PROCESSED_CRASHES)
		add(&text, "%sEXISTS (SELECT 1 FROM %s WHERE uuid = $1::uuid)",
		    separator, T(week, PG_TABLE_PROCESSED_CRASHES));
	return finish(&text);
}

/* The side table's columns of a part, or NULLs when the week has none. */
static void side_columns(struct text *text, bool side)
{
	if (side)
		add(text, "s.mtime_sec, s.mtime_nsec");
	else
		add(text, "NULL::bigint, NULL::integer");
}

static void side_join(struct text *text, const struct pg_week *week,
		      bool side, const char *alias, int part)
{
	if (side)
		add(text, " LEFT JOIN %s s ON s.crash_id = %s.uuid AND s.part = %d",
		    T(week, PG_TABLE_CRASHFS_PARTS), alias, part);
}

/* The side's exact .jsonz belong to the processed row as it is now. */
#define EXACT "s.processed_xmin = p.xmin::text::bigint"

char *pg_sql_part_stats(const struct pg_week *week, unsigned tables)
{
	struct text text = { 0 };
	bool side = tables & PG_TABLE_CRASHFS_PARTS;
	if (tables & PG_TABLE_RAW_CRASHES) {
		add(&text, "SELECT %d::smallint, "
			   "octet_length(r.raw_crash::text)::bigint, "
			   "r.xmin::text::bigint, ", PG_PART_RAW);
		side_columns(&text, side);
		add(&text, ", (extract(epoch FROM r.date_processed) * 1000000)"
			   "::bigint FROM %s r", T(week, PG_TABLE_RAW_CRASHES));
		side_join(&text, week, side, "r", PG_PART_RAW);
		add(&text, " WHERE r.uuid = $1::uuid");
	}
	if (tables & PG_TABLE_PROCESSED_CRASHES) {
		if (tables & PG_TABLE_RAW_CRASHES)
			add(&text, " UNION ALL ");
		add(&text, "SELECT %d::smallint, ", PG_PART_PROCESSED);
		if (side)
			add(&text, "CASE WHEN " EXACT " THEN "
				   "octet_length(s.jsonz)::bigint END, "
				   "p.xmin::text::bigint + CASE WHEN " EXACT
				   " THEN 4294967296 ELSE 0 END, ");
		else
			add(&text, "NULL::bigint, p.xmin::text::bigint, ");
		side_columns(&text, side);
		add(&text, ", (extract(epoch FROM p.date_processed) * 1000000)"
			   "::bigint FROM %s p",
		    T(week, PG_TABLE_PROCESSED_CRASHES));
		side_join(&text, week, side, "p", PG_PART_PROCESSED);
		add(&text, " WHERE p.uuid = $1::uuid");
	}
	return finish(&text);
}

char *pg_sql_fetch_raw(const struct pg_week *week)
{
	struct text text = { 0 };
	add(&text, "SELECT raw_crash::text FROM %s WHERE uuid = $1::uuid",
	    T(week, PG_TABLE_RAW_CRASHES));
	return finish(&text);
}

char *pg_sql_fetch_processed(const struct pg_week *week, unsigned tables)
{
	struct text text = { 0 };
	if (tables & PG_TABLE_CRASHFS_PARTS) {
		add(&text, "SELECT CASE WHEN " EXACT " THEN s.jsonz END, "
			   "CASE WHEN " EXACT " THEN NULL "
			   "ELSE p.processed_crash::text END FROM %s p",
		    T(week, PG_TABLE_PROCESSED_CRASHES));
		side_join(&text, week, true, "p", PG_PART_PROCESSED);
	} else {
		add(&text, "SELECT NULL::bytea, p.processed_crash::text FROM %s p",
		    T(week, PG_TABLE_PROCESSED_CRASHES));
	}
	add(&text, " WHERE p.uuid = $1::uuid");
	return finish(&text);
}

/* -- listings ------------------------------------------------------------ */

char *pg_sql_partitions(void)
{
	return strdup("SELECT c.relname::text FROM pg_inherits i "
		      "JOIN pg_class c ON c.oid = i.inhrelid "
		      "WHERE i.inhparent = to_regclass('raw_crashes') "
		      "OR i.inhparent = to_regclass('processed_crashes')");
}

/* The first crash of day d in table, in the listing index's order: an
 * EXISTS would let the planner scan the table for the first match, which
 * for a day without crashes is all of it. */
static void first_of_day(struct text *text, const char *table)
{
	add(text, "(SELECT 1 FROM %s WHERE right(uuid::text, 6) = d "
		  "ORDER BY uuid LIMIT 1) IS NOT NULL", table);
}

char *pg_sql_days_of_week(const struct pg_week *week, unsigned tables)
{
	struct text text = { 0 };
	add(&text, "SELECT d FROM unnest($1::text[]) AS d WHERE ");
	if (tables & PG_TABLE_RAW_CRASHES)
		first_of_day(&text, T(week, PG_TABLE_RAW_CRASHES));
	if ((tables & PG_TABLE_RAW_CRASHES) &&
	    (tables & PG_TABLE_PROCESSED_CRASHES))
		add(&text, " OR ");
	if (tables & PG_TABLE_PROCESSED_CRASHES)
		first_of_day(&text, T(week, PG_TABLE_PROCESSED_CRASHES));
	return finish(&text);
}

static void list_one(struct text *text, const char *table)
{
	add(text,
	    "(SELECT uuid AS id FROM %s WHERE right(uuid::text, 6) = $1::text "
	    "AND uuid > $2::uuid AND uuid <= $3::uuid ORDER BY uuid LIMIT %d)",
	    table, PG_LIST_PAGE);
}

char *pg_sql_list_crashes(const struct pg_week *week, unsigned tables)
{
	struct text text = { 0 };
	/* Ordered by the uuid, not its text: a text order follows the
	 * database's collation. */
	add(&text, "SELECT ids.id::text FROM (");
	if (tables & PG_TABLE_RAW_CRASHES)
		list_one(&text, T(week, PG_TABLE_RAW_CRASHES));
	if ((tables & PG_TABLE_RAW_CRASHES) &&
	    (tables & PG_TABLE_PROCESSED_CRASHES))
		add(&text, " UNION ");
	if (tables & PG_TABLE_PROCESSED_CRASHES)
		list_one(&text, T(week, PG_TABLE_PROCESSED_CRASHES));
	add(&text, ") AS ids ORDER BY ids.id LIMIT %d", PG_LIST_PAGE);
	return finish(&text);
}

/* A uuid's text with the prefix and the rest filled with fill. */
static void pad_uuid(const char *prefix, char fill, char out[37])
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t length = strlen(prefix);
	for (size_t i = 0; i < 36; i++)
		out[i] = i < length ? prefix[i] : shape[i] == '-' ? '-' : fill;
	out[36] = '\0';
}

void pg_sql_list_bounds(const char *prefix, const char *after,
			char low[37], char high[37])
{
	/* The all-zeros uuid ends in a month 00, so it is no crash id: an
	 * exclusive bound of prefix + zeros loses none. */
	pad_uuid(prefix, '0', low);
	pad_uuid(prefix, 'f', high);
	if (after && strlen(after) == 36 && strcmp(after, low) > 0)
		memcpy(low, after, 37);
}

/* -- schema ------------------------------------------------------------ */

static int add_object(struct pg_object_list *list, enum pg_object_kind kind,
		      const char *name, const char *table, char *create)
{
	if (!create)
		return -ENOMEM;
	if (list->count == list->capacity) {
		size_t wanted = list->capacity ? list->capacity * 2 : 32;
		struct pg_object *grown =
			realloc(list->objects, wanted * sizeof *grown);
		if (!grown) {
			free(create);
			return -ENOMEM;
		}
		list->objects = grown;
		list->capacity = wanted;
	}
	struct pg_object *object = &list->objects[list->count++];
	memset(object, 0, sizeof *object);
	object->kind = kind;
	snprintf(object->name, sizeof object->name, "%s", name);
	snprintf(object->table, sizeof object->table, "%s", table ? table : "");
	object->create = create;
	return 0;
}

static int add_table(struct pg_object_list *list, const char *name,
		     const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int add_table(struct pg_object_list *list, const char *name,
		     const char *format, ...)
{
	char *create = NULL;
	va_list args;
	va_start(args, format);
	if (vasprintf(&create, format, args) < 0)
		create = NULL;
	va_end(args);
	return add_object(list, PG_OBJECT_TABLE, name, NULL, create);
}

/* B.3: the master tables, as Socorro's models.py made them. */
int pg_objects_masters(struct pg_object_list *list)
{
	int result = 0;
	if (result == 0)
		result = add_table(list, "reports", "%s",
			"CREATE TABLE reports ("
			"id serial NOT NULL PRIMARY KEY, "
			"client_crash_date timestamp with time zone, "
			"date_processed timestamp with time zone, "
			"uuid character varying(50) NOT NULL, "
			"product character varying(30), "
			"version character varying(16), "
			"build character varying(30), "
			"signature character varying(255), "
			"url character varying(255), "
			"install_age integer, last_crash integer, uptime integer, "
			"cpu_name character varying(100), "
			"cpu_info character varying(100), "
			"reason character varying(255), "
			"address character varying(20), "
			"os_name character varying(100), "
			"os_version character varying(100), "
			"email character varying(100), "
			"user_id character varying(50), "
			"started_datetime timestamp with time zone, "
			"completed_datetime timestamp with time zone, "
			"success boolean, truncated boolean, "
			"processor_notes text, "
			"user_comments character varying(1024), "
			"app_notes character varying(1024), "
			"distributor character varying(20), "
			"distributor_version character varying(20), "
			"topmost_filenames text, addons_checked boolean, "
			"flash_version text, hangid text, process_type text, "
			"release_channel text, productid text, "
			"exploitability text, update_channel text)");
	if (result == 0)
		result = add_table(list, "plugins", "%s",
			"CREATE TABLE plugins (id serial NOT NULL PRIMARY KEY, "
			"filename text NOT NULL, name text NOT NULL, "
			"UNIQUE (filename, name))");
	if (result == 0)
		result = add_table(list, "plugins_reports", "%s",
			"CREATE TABLE plugins_reports ("
			"report_id integer NOT NULL, plugin_id integer NOT NULL, "
			"date_processed timestamp with time zone, "
			"version text NOT NULL)");
	if (result == 0)
		result = add_table(list, "extensions", "%s",
			"CREATE TABLE extensions (report_id integer NOT NULL, "
			"date_processed timestamp with time zone, "
			"extension_key integer NOT NULL, "
			"extension_id text NOT NULL, extension_version text, "
			"uuid uuid)");
	if (result == 0)
		result = add_table(list, "raw_crashes", "%s",
			"CREATE TABLE raw_crashes (uuid uuid NOT NULL UNIQUE, "
			"raw_crash json NOT NULL, "
			"date_processed timestamp with time zone)");
	if (result == 0)
		result = add_table(list, "processed_crashes", "%s",
			"CREATE TABLE processed_crashes ("
			"uuid uuid NOT NULL UNIQUE, "
			"processed_crash json NOT NULL, "
			"date_processed timestamp with time zone)");
	if (result == 0)
		result = add_table(list, "report_partition_info", "%s",
			"CREATE TABLE report_partition_info ("
			"table_name text NOT NULL PRIMARY KEY, "
			"build_order integer NOT NULL DEFAULT 1, "
			"keys text[] NOT NULL DEFAULT '{}'::text[], "
			"indexes text[] NOT NULL DEFAULT '{}'::text[], "
			"fkeys text[] NOT NULL DEFAULT '{}'::text[], "
			"partition_column text NOT NULL, "
			"timetype text NOT NULL)");
	return result;
}

void pg_index_suffix(const char *columns, bool unique, char *out,
		     size_t size)
{
	size_t used = 0;
	bool in_run = false;
	for (const char *c = columns; *c && used + 1 < size; c++) {
		bool separator = *c == ',' || *c == ' ' || *c == '\t' ||
				 *c == '\n' || (unique && *c == '(');
		if (separator) {
			if (!in_run)
				out[used++] = '_';
			in_run = true;
		} else {
			out[used++] = *c;
			in_run = false;
		}
	}
	out[used] = '\0';
}

/* B.2's report_partition_info, for the tables crashfs writes. */
struct partition_info {
	enum pg_table table;
	const char *master;
	const char *uniques[3];
	const char *indexes[7];
	const char *fkeys[3]; /* WEEKNUM: the week's suffix */
};

static const struct partition_info partition_infos[] = {
	{ PG_TABLE_REPORTS, "reports", { "id", "uuid" },
	  { "date_processed", "hangid", "product,version", "reason",
	    "signature", "url" },
	  { NULL } },
	{ PG_TABLE_PLUGINS_REPORTS, "plugins_reports",
	  { "report_id,plugin_id" }, { "report_id,date_processed" },
	  { "(plugin_id) REFERENCES plugins(id)",
	    "(report_id) REFERENCES reports_WEEKNUM(id)" } },
	{ PG_TABLE_EXTENSIONS, "extensions", { "report_id,extension_key" },
	  { "report_id,date_processed" },
	  { "(report_id) REFERENCES reports_WEEKNUM(id)" } },
	{ PG_TABLE_RAW_CRASHES, "raw_crashes", { "uuid" }, { NULL }, { NULL } },
	{ PG_TABLE_PROCESSED_CRASHES, "processed_crashes", { "uuid" }, { NULL },
	  { NULL } },
};

static const char *const partition_info_rows[] = {
	"INSERT INTO report_partition_info (table_name, build_order, keys, "
	"indexes, fkeys, partition_column, timetype) VALUES ('reports', 1, "
	"'{id,uuid}', "
	"'{date_processed,hangid,\"product,version\",reason,signature,url}', "
	"'{}', 'date_processed', 'TIMESTAMPTZ') "
	"ON CONFLICT DO NOTHING RETURNING table_name::text",
	"INSERT INTO report_partition_info (table_name, build_order, keys, "
	"indexes, fkeys, partition_column, timetype) VALUES ('plugins_reports', "
	"2, '{\"report_id,plugin_id\"}', '{\"report_id,date_processed\"}', "
	"'{\"(plugin_id) REFERENCES plugins(id)\","
	"\"(report_id) REFERENCES reports_WEEKNUM(id)\"}', 'date_processed', "
	"'TIMESTAMPTZ') ON CONFLICT DO NOTHING RETURNING table_name::text",
	"INSERT INTO report_partition_info (table_name, build_order, keys, "
	"indexes, fkeys, partition_column, timetype) VALUES ('extensions', 3, "
	"'{\"report_id,extension_key\"}', '{\"report_id,date_processed\"}', "
	"'{\"(report_id) REFERENCES reports_WEEKNUM(id)\"}', 'date_processed', "
	"'TIMESTAMPTZ') ON CONFLICT DO NOTHING RETURNING table_name::text",
	"INSERT INTO report_partition_info (table_name, build_order, keys, "
	"indexes, fkeys, partition_column, timetype) VALUES ('raw_crashes', 4, "
	"'{uuid}', '{}', '{}', 'date_processed', 'TIMESTAMPTZ') "
	"ON CONFLICT DO NOTHING RETURNING table_name::text",
	"INSERT INTO report_partition_info (table_name, build_order, keys, "
	"indexes, fkeys, partition_column, timetype) VALUES "
	"('processed_crashes', 6, '{uuid}', '{}', '{}', 'date_processed', "
	"'TIMESTAMPTZ') ON CONFLICT DO NOTHING RETURNING table_name::text",
};

const char *const *pg_sql_partition_info_rows(size_t *count)
{
	*count = sizeof partition_info_rows / sizeof partition_info_rows[0];
	return partition_info_rows;
}

/* Replaces every WEEKNUM of spec by the week's suffix. */
static void weeknum(const char *spec, const struct pg_week *week, char *out,
		    size_t size)
{
	size_t used = 0;
	while (*spec && used + 1 < size) {
		if (strncmp(spec, "WEEKNUM", 7) == 0) {
			used += (size_t)snprintf(out + used, size - used, "%s",
						 week->suffix);
			spec += 7;
		} else {
			out[used++] = *spec++;
		}
	}
	out[used < size ? used : size - 1] = '\0';
}

/* One partition of B.2: table with its CHECK, unique indexes, indexes
 * and foreign keys, named as create_weekly_partition names them. */
static int add_partition(struct pg_object_list *list,
			 const struct partition_info *info,
			 const struct pg_week *week)
{
	char part[PG_NAME_MAX], name[PG_NAME_MAX * 2], suffix[PG_NAME_MAX];
	char first[16], last[16], spec[160];
	int year, month, day;

	snprintf(part, sizeof part, "%s_%s", info->master, week->suffix);
	snprintf(first, sizeof first, "%04d-%02d-%02d", week->year,
		 week->month, week->day);
	pg_civil_from_days(week->first_day + 7, &year, &month, &day);
	snprintf(last, sizeof last, "%04d-%02d-%02d", year, month, day);
	int result = add_table(
		list, part,
		"CREATE TABLE %s ( CONSTRAINT %s_date_check CHECK ( "
		"date_processed BETWEEN TIMESTAMPTZ '%s' AND TIMESTAMPTZ '%s' "
		") ) INHERITS ( %s )",
		part, part, first, last, info->master);
	for (int i = 0; result == 0 && i < 3 && info->uniques[i]; i++) {
		pg_index_suffix(info->uniques[i], true, suffix, sizeof suffix);
		snprintf(name, sizeof name, "%s_%s", part, suffix);
		char *create = NULL;
		if (asprintf(&create, "CREATE UNIQUE INDEX %s ON %s(%s)", name,
			     part, info->uniques[i]) < 0)
			create = NULL;
		result = add_object(list, PG_OBJECT_INDEX, name, part, create);
	}
	for (int i = 0; result == 0 && i < 7 && info->indexes[i]; i++) {
		pg_index_suffix(info->indexes[i], false, suffix, sizeof suffix);
		snprintf(name, sizeof name, "%s_%s", part, suffix);
		char *create = NULL;
		if (asprintf(&create, "CREATE INDEX %s ON %s(%s)", name, part,
			     info->indexes[i]) < 0)
			create = NULL;
		result = add_object(list, PG_OBJECT_INDEX, name, part, create);
	}
	for (int i = 0; result == 0 && i < 3 && info->fkeys[i]; i++) {
		weeknum(info->fkeys[i], week, spec, sizeof spec);
		snprintf(name, sizeof name, "%s_fk_%d", part, i + 1);
		char *create = NULL;
		if (asprintf(&create,
			     "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY %s "
			     "ON DELETE CASCADE ON UPDATE CASCADE",
			     part, name, spec) < 0)
			create = NULL;
		result = add_object(list, PG_OBJECT_CONSTRAINT, name, part,
				    create);
	}
	return result;
}

/* crashfs's own objects of the week (pg_sql.h says what they hold). */
static int add_crashfs_objects(struct pg_object_list *list,
			       const struct pg_week *week)
{
	char side[PG_NAME_MAX], name[PG_NAME_MAX * 2];
	pg_week_name(side, sizeof side, "crashfs_parts_", week);
	int result = add_table(
		list, side,
		"CREATE TABLE %s (crash_id uuid NOT NULL, part smallint NOT NULL, "
		"mtime_sec bigint NOT NULL, mtime_nsec integer NOT NULL, "
		"jsonz bytea, processed_xmin bigint, "
		"PRIMARY KEY (crash_id, part))",
		side);
	if (result == 0 &&
	    asprintf(&list->objects[list->count - 1].comment,
		     "COMMENT ON TABLE %s IS 'crashfs side data of the "
		     "week''s crashes: part 1 raw crash, 3 processed crash; "
		     "mtimes as written, the .jsonz bytes written and the "
		     "processed_crashes xmin they belong to'",
		     side) < 0) {
		list->objects[list->count - 1].comment = NULL;
		result = -ENOMEM;
	}
	static const enum pg_table listed[] = { PG_TABLE_RAW_CRASHES,
						PG_TABLE_PROCESSED_CRASHES };
	for (int i = 0; result == 0 && i < 2; i++) {
		char table[PG_NAME_MAX];
		snprintf(table, sizeof table, "%s", T(week, listed[i]));
		snprintf(name, sizeof name, "crashfs_%s_day", table);
		char *create = NULL;
		if (asprintf(&create,
			     "CREATE INDEX %s ON %s ((right(uuid::text, 6)), "
			     "uuid)",
			     name, table) < 0)
			create = NULL;
		result = add_object(list, PG_OBJECT_INDEX, name, table, create);
	}
	return result;
}

int pg_objects_week(struct pg_object_list *list, const struct pg_week *week)
{
	int result = 0;
	size_t count = sizeof partition_infos / sizeof partition_infos[0];
	for (size_t i = 0; result == 0 && i < count; i++)
		result = add_partition(list, &partition_infos[i], week);
	if (result == 0)
		result = add_crashfs_objects(list, week);
	return result;
}

void pg_object_list_release(struct pg_object_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->objects[i].create);
		free(list->objects[i].comment);
	}
	free(list->objects);
	memset(list, 0, sizeof *list);
}

const char *pg_sql_object_exists(enum pg_object_kind kind)
{
	if (kind == PG_OBJECT_CONSTRAINT)
		return "SELECT EXISTS (SELECT 1 FROM pg_constraint "
		       "WHERE conname = $1::name AND conrelid = to_regclass($2))";
	return "SELECT to_regclass($1) IS NOT NULL";
}
