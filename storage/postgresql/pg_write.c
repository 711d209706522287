/*
 * pg_write.c - saves, mtimes and removes of the PostgreSQL store (see
 * pg_store.h for what goes where).
 *
 * Every save is one transaction (one pipeline, pg_connection.h) of
 * upserts, so it can be run again after a lost connection without making
 * a second row: a retried save whose first attempt did commit finds its
 * rows and writes the same values over them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/postgresql/pg_gzip.h"
#include "storage/postgresql/pg_internal.h"
#include "storage/postgresql/pg_processed.h"

/* The largest processed crash JSON inflated from a .jsonz: the mount's
 * json_max stops larger ones before they get here. */
#define PG_PROCESSED_TEXT_MAX ((size_t)1 << 30)

static void statement_name(char out[PG_NAME_MAX], const char *what,
			   const struct pg_week *week)
{
	snprintf(out, PG_NAME_MAX, "%s_%s", what, week->suffix);
}

/* The bytes of a blob, NUL-terminated (text parameters are C strings). */
static int read_blob(struct pg_store *self, struct crash_call *call,
		     const char *crash_id, const struct crash_blob *blob,
		     char **out)
{
	char *bytes = malloc((size_t)blob->size + 1);
	if (!bytes)
		return crash_error_set(&call->error, -ENOMEM,
				       "%s: %s: out of memory",
				       self->base.node_path, crash_id);
	off_t done = 0;
	while (done < blob->size) {
		ssize_t got = pread(blob->fd, bytes + done,
				    (size_t)(blob->size - done), done);
		if (got <= 0) {
			int code = got < 0 ? -errno : -EIO;
			free(bytes);
			return crash_error_set(&call->error, code,
					       "%s: %s: reading the part to "
					       "save: %s",
					       self->base.node_path, crash_id,
					       got < 0 ? strerror(-code)
						       : "file shorter than "
							 "its size");
		}
		done += got;
	}
	bytes[blob->size] = '\0';
	*out = bytes;
	return 0;
}

/* The parsed JSON object of a part: the caller's, or parsed here. */
static int json_of(struct pg_store *self, struct crash_call *call,
		   const char *crash_id, const json_t *given, const char *text,
		   size_t size, json_t **owned, const json_t **out)
{
	json_error_t json_error;
	*owned = NULL;
	*out = given;
	if (!given) {
		*owned = json_loadb(text, size, JSON_ALLOW_NUL, &json_error);
		*out = *owned;
		if (!*owned)
			return crash_error_set(&call->error, -EINVAL,
					       "%s: %s: not JSON: %s",
					       self->base.node_path, crash_id,
					       json_error.text);
	}
	if (!json_is_object(*out)) {
		json_decref(*owned);
		*owned = NULL;
		return crash_error_set(&call->error, -EINVAL,
				       "%s: %s: not a JSON object",
				       self->base.node_path, crash_id);
	}
	return 0;
}

static int refuse_nul(struct pg_store *self, struct crash_call *call,
		      const char *crash_id, const char *text, size_t size)
{
	if (!memchr(text, '\0', size))
		return 0;
	return crash_error_set(&call->error, -EINVAL,
			       "%s: %s: the JSON text holds a NUL byte, which "
			       "PostgreSQL text cannot",
			       self->base.node_path, crash_id);
}

static void log_notes(struct pg_store *self, const char *operation,
		      const char *crash_id, const char *notes)
{
	if (notes[0])
		crash_log(CRASH_LOG_WARNING,
			  "%s: %s %s: stored; left out of Socorro's columns: %s",
			  self->base.node_path, operation, crash_id, notes);
}

/* Seconds and nanoseconds of an mtime, as parameters. */
struct mtime_text {
	char seconds[24], nanoseconds[16];
};

static void mtime_text(const struct timespec *mtime, struct mtime_text *out)
{
	snprintf(out->seconds, sizeof out->seconds, "%lld",
		 (long long)mtime->tv_sec);
	snprintf(out->nanoseconds, sizeof out->nanoseconds, "%ld",
		 mtime->tv_nsec);
}

/* -- the raw crash ------------------------------------------------------------ */

int pg_save_raw_crash(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_blob *raw_crash,
		      const struct crash_dump *dumps, size_t dump_count)
{
	struct pg_store *self = pg_store_from(store);
	struct pg_week week;
	char *text = NULL, *date = NULL, notes[PG_NOTES_MAX] = "";
	json_t *owned = NULL;
	const json_t *json;
	int result = pg_store_crash_week(self, call, crash_id, &week);
	if (result == 0)
		result = read_blob(self, call, crash_id, raw_crash, &text);
	if (result == 0)
		result = refuse_nul(self, call, crash_id, text,
				    (size_t)raw_crash->size);
	if (result == 0)
		result = json_of(self, call, crash_id, raw_crash->json, text,
				 (size_t)raw_crash->size, &owned, &json);
	if (result == 0 &&
	    pg_raw_date_processed(json, &week, &date, notes) < 0)
		result = crash_error_set(&call->error, -ENOMEM,
					 "out of memory");
	if (result == 0 && dump_count > 0)
		/* Socorro dropped them silently; a caller that hands dumps to
		 * a store that cannot keep them is told, and nothing of the
		 * save is kept (a poly or fallback gives dumps to the stores
		 * that keep them: this store has no save_dump). */
		result = crash_error_set(&call->error, -ENOTSUP,
					 "%s: save_raw_crash %s: PostgreSQL "
					 "keeps no dumps (%zu given): nothing "
					 "stored",
					 self->base.node_path, crash_id,
					 dump_count);
	if (result < 0)
		goto done;

	char upsert_name[PG_NAME_MAX], side_name[PG_NAME_MAX];
	statement_name(upsert_name, "raw_upsert", &week);
	statement_name(side_name, "side_mtime", &week);
	struct mtime_text mtime;
	mtime_text(&raw_crash->mtime, &mtime);
	const char *raw_values[] = { crash_id, text, date };
	const char *side_values[] = { crash_id, "1", mtime.seconds,
				      mtime.nanoseconds };
	char *upsert_sql = pg_sql_raw_upsert(&week);
	char *side_sql = pg_sql_side_mtime_upsert(&week);
	struct pg_statement statements[] = {
		{ .name = upsert_name, .sql = upsert_sql, .param_count = 3,
		  .values = raw_values },
		{ .name = side_name, .sql = side_sql, .param_count = 4,
		  .values = side_values },
	};
	if (!upsert_sql || !side_sql)
		result = crash_error_set(&call->error, -ENOMEM,
					 "out of memory");
	else
		result = pg_store_write(self, call, &week, statements, 2,
					"save_raw_crash", crash_id);
	pg_statements_clear(statements, 2);
	free(upsert_sql);
	free(side_sql);
	if (result == 0)
		log_notes(self, "save_raw_crash", crash_id, notes);
	pg_store_drop_cached(self, crash_id, PG_PART_RAW);
done:
	json_decref(owned);
	free(text);
	free(date);
	return result;
}

/* -- the processed crash -------------------------------------------------------- */

/* The statements of a processed crash and what they need to live. */
struct processed_write {
	struct pg_week week;
	const char *crash_id;
	struct pg_processed_row row;
	char *text; /* the JSON inside the .jsonz */
	char *jsonz;
	size_t jsonz_size;
	struct mtime_text mtime;

	struct pg_statement statements[8];
	size_t count;
	char names[8][PG_NAME_MAX];
	char *sql[8];
	const char *values[8][PG_REPORT_COLUMN_COUNT];
	int side_lengths[4], side_formats[4];
};

static void add_statement(struct processed_write *write, const char *what,
			  char *sql, int param_count, bool named)
{
	size_t i = write->count++;
	statement_name(write->names[i], what, &write->week);
	write->sql[i] = sql;
	write->statements[i] = (struct pg_statement){
		.name = named ? write->names[i] : NULL,
		.sql = sql,
		.param_count = param_count,
		.values = write->values[i],
	};
}

static void plan_reports(struct processed_write *write)
{
	const char **values = write->values[write->count];
	for (int i = 0; i < PG_REPORT_COLUMN_COUNT; i++)
		values[i] = write->row.values[i];
	add_statement(write, "reports_upsert",
		      pg_sql_reports_upsert(&write->week),
		      PG_REPORT_COLUMN_COUNT, true);
}

static void plan_plugin(struct processed_write *write)
{
	const struct pg_processed_row *row = &write->row;
	const char **values = write->values[write->count];
	values[0] = row->plugin_filename;
	values[1] = row->plugin_name;
	add_statement(write, "plugin_insert", pg_sql_plugin_insert(), 2, true);

	values = write->values[write->count];
	values[0] = write->crash_id;
	add_statement(write, "plugins_reports_delete",
		      pg_sql_plugins_reports_delete(&write->week), 1, true);

	values = write->values[write->count];
	values[0] = write->crash_id;
	values[1] = row->date_processed;
	values[2] = row->plugin_version;
	values[3] = row->plugin_filename;
	values[4] = row->plugin_name;
	add_statement(write, "plugins_reports_insert",
		      pg_sql_plugins_reports_insert(&write->week), 5, true);
}

static void plan_extensions(struct processed_write *write)
{
	const struct pg_processed_row *row = &write->row;
	const char **values = write->values[write->count];
	values[0] = write->crash_id;
	add_statement(write, "extensions_delete",
		      pg_sql_extensions_delete(&write->week), 1, true);

	values = write->values[write->count];
	values[0] = write->crash_id;
	values[1] = row->date_processed;
	values[2] = row->extension_keys;
	values[3] = row->extension_ids;
	values[4] = row->extension_versions;
	add_statement(write, "extensions_insert",
		      pg_sql_extensions_insert(&write->week), 5, true);
}

static void plan_processed(struct processed_write *write)
{
	const char **values = write->values[write->count];
	values[0] = write->crash_id;
	values[1] = write->text;
	values[2] = write->row.date_processed;
	add_statement(write, "processed_upsert",
		      pg_sql_processed_upsert(&write->week), 3, true);

	values = write->values[write->count];
	values[0] = write->crash_id;
	values[1] = write->mtime.seconds;
	values[2] = write->mtime.nanoseconds;
	values[3] = write->jsonz;
	write->side_lengths[3] = (int)write->jsonz_size;
	write->side_formats[3] = 1; /* bytea, as bytes */
	size_t i = write->count;
	add_statement(write, "side_processed",
		      pg_sql_side_processed_upsert(&write->week), 4, true);
	write->statements[i].lengths = write->side_lengths;
	write->statements[i].formats = write->side_formats;
}

static bool planned(const struct processed_write *write)
{
	for (size_t i = 0; i < write->count; i++)
		if (!write->sql[i])
			return false;
	return true;
}

static void release_write(struct processed_write *write)
{
	pg_statements_clear(write->statements, write->count);
	for (size_t i = 0; i < write->count; i++)
		free(write->sql[i]);
	pg_processed_row_release(&write->row);
	free(write->text);
	free(write->jsonz);
}

/* Reads and checks the .jsonz: its bytes, the JSON text in it and the
 * parsed object. */
static int read_processed(struct pg_store *self, struct crash_call *call,
			  const struct crash_blob *blob,
			  struct processed_write *write, json_t **owned,
			  const json_t **json)
{
	const char *crash_id = write->crash_id;
	size_t text_size = 0;
	int result = read_blob(self, call, crash_id, blob, &write->jsonz);
	if (result < 0)
		return result;
	write->jsonz_size = (size_t)blob->size;
	result = pg_gzip_inflate(write->jsonz, write->jsonz_size,
				 PG_PROCESSED_TEXT_MAX, &write->text,
				 &text_size);
	if (result < 0)
		return crash_error_set(&call->error, result,
				       "%s: %s: the .jsonz is not gzip of JSON "
				       "text%s",
				       self->base.node_path, crash_id,
				       result == -EFBIG ? " of a size crashfs "
							  "takes"
							: "");
	result = refuse_nul(self, call, crash_id, write->text, text_size);
	if (result == 0)
		result = json_of(self, call, crash_id, blob->json, write->text,
				 text_size, owned, json);
	return result;
}

int pg_save_processed(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_blob *processed)
{
	struct pg_store *self = pg_store_from(store);
	struct processed_write *write = calloc(1, sizeof *write);
	json_t *owned = NULL;
	const json_t *json = NULL;
	if (!write)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	write->crash_id = crash_id;
	int result = pg_store_crash_week(self, call, crash_id, &write->week);
	if (result == 0)
		result = read_processed(self, call, processed, write, &owned,
					&json);
	if (result == 0 && pg_processed_row_build(json, crash_id, &write->week,
						  &write->row) < 0)
		result = crash_error_set(&call->error, -ENOMEM,
					 "out of memory");
	if (result == 0) {
		mtime_text(&processed->mtime, &write->mtime);
		plan_reports(write);
		if (write->row.has_plugin)
			plan_plugin(write);
		if (write->row.has_extensions)
			plan_extensions(write);
		plan_processed(write);
		if (!planned(write))
			result = crash_error_set(&call->error, -ENOMEM,
						 "out of memory");
	}
	if (result == 0)
		result = pg_store_write(self, call, &write->week,
					write->statements, write->count,
					"save_processed", crash_id);
	if (result == 0)
		log_notes(self, "save_processed", crash_id, write->row.notes);
	pg_store_drop_cached(self, crash_id, PG_PART_PROCESSED);
	json_decref(owned);
	release_write(write);
	free(write);
	return result;
}

/* -- mtimes ----------------------------------------------------------- */

static int not_here(struct pg_store *self, struct crash_call *call,
		    const char *crash_id, const char *what)
{
	return crash_error_set(&call->error, -ENOENT, "%s: %s %s is not here",
			       self->base.node_path, what, crash_id);
}

static int part_number(const struct crash_part *part)
{
	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
		return PG_PART_RAW;
	case CRASH_PART_PROCESSED:
		return PG_PART_PROCESSED;
	default:
		return 0; /* dumps are never here */
	}
}

/* The week's tables, or the failure reported for operation. */
static int tables_of(struct pg_store *self, struct crash_call *call,
		     const struct pg_week *week, const char *operation,
		     const char *crash_id, unsigned *tables)
{
	struct pg_failure failure;
	int result = pg_store_week_tables(self, call, week, tables, &failure);
	if (result < 0)
		return pg_store_fail(self, call, &failure, operation, crash_id);
	return 0;
}

int pg_set_part_mtime(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_part *part,
		      const struct timespec *mtime)
{
	struct pg_store *self = pg_store_from(store);
	struct pg_week week;
	unsigned tables = 0;
	int number = part_number(part);
	if (number == 0)
		return not_here(self, call, crash_id, "a dump of");
	int result = pg_store_crash_week(self, call, crash_id, &week);
	if (result == 0)
		result = tables_of(self, call, &week, "set_part_mtime",
				   crash_id, &tables);
	if (result < 0)
		return result;
	if (!(tables & (number == PG_PART_RAW ? PG_TABLE_RAW_CRASHES
					      : PG_TABLE_PROCESSED_CRASHES)))
		return not_here(self, call, crash_id, "crash");

	char name[PG_NAME_MAX], what[32];
	snprintf(what, sizeof what, "set_mtime_%d", number);
	statement_name(name, what, &week);
	struct mtime_text text;
	mtime_text(mtime, &text);
	const char *values[] = { crash_id, text.seconds, text.nanoseconds };
	char *sql = pg_sql_set_mtime(&week, number);
	struct pg_statement statement = { .name = name, .sql = sql,
					  .param_count = 3, .values = values };
	if (!sql)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	result = pg_store_write(self, call, &week, &statement, 1,
				"set_part_mtime", crash_id);
	if (result == 0 && pg_statement_changed(&statement) == 0)
		result = not_here(self, call, crash_id, "crash");
	pg_statements_clear(&statement, 1);
	free(sql);
	return result;
}

/* -- removes ----------------------------------------------------------- */

/* Deletes of the crash from the tables the week has: raw (part 1),
 * processed with its reports rows (part 3), or both (part 0). */
struct removal {
	struct pg_statement statements[PG_TABLE_COUNT];
	char *sql[PG_TABLE_COUNT];
	enum pg_table tables[PG_TABLE_COUNT];
	size_t count;
};

static void plan_delete(struct removal *removal, const struct pg_week *week,
			enum pg_table table, int part, const char **values)
{
	size_t i = removal->count++;
	removal->sql[i] = pg_sql_delete(week, table, part);
	removal->tables[i] = table;
	removal->statements[i] = (struct pg_statement){
		.sql = removal->sql[i], .param_count = 1, .values = values
	};
}

static void plan_removal(struct removal *removal, const struct pg_week *week,
			 unsigned tables, int part, const char **values)
{
	bool processed = part != PG_PART_RAW, raw = part != PG_PART_PROCESSED;
	bool reports = processed && (tables & PG_TABLE_REPORTS);
	if (reports && (tables & PG_TABLE_EXTENSIONS))
		plan_delete(removal, week, PG_TABLE_EXTENSIONS, 0, values);
	if (reports && (tables & PG_TABLE_PLUGINS_REPORTS))
		plan_delete(removal, week, PG_TABLE_PLUGINS_REPORTS, 0, values);
	if (reports)
		plan_delete(removal, week, PG_TABLE_REPORTS, 0, values);
	if (processed && (tables & PG_TABLE_PROCESSED_CRASHES))
		plan_delete(removal, week, PG_TABLE_PROCESSED_CRASHES, 0,
			    values);
	if (raw && (tables & PG_TABLE_RAW_CRASHES))
		plan_delete(removal, week, PG_TABLE_RAW_CRASHES, 0, values);
	if (tables & PG_TABLE_CRASHFS_PARTS)
		plan_delete(removal, week, PG_TABLE_CRASHFS_PARTS, part,
			    values);
}

/* Rows of the crash itself deleted (reports, raw, processed). */
static long rows_removed(const struct removal *removal)
{
	long rows = 0;
	for (size_t i = 0; i < removal->count; i++)
		if (removal->tables[i] & (PG_TABLE_REPORTS |
					  PG_TABLE_RAW_CRASHES |
					  PG_TABLE_PROCESSED_CRASHES))
			rows += pg_statement_changed(&removal->statements[i]);
	return rows;
}

static int remove_parts(struct pg_store *self, struct crash_call *call,
			const char *crash_id, int part, const char *operation)
{
	struct pg_week week;
	struct removal removal = { .count = 0 };
	struct pg_failure failure;
	unsigned tables = 0;
	const char *values[] = { crash_id };
	int result = pg_store_crash_week(self, call, crash_id, &week);
	if (result == 0)
		result = tables_of(self, call, &week, operation, crash_id,
				   &tables);
	if (result < 0)
		return result;
	plan_removal(&removal, &week, tables, part, values);
	for (size_t i = 0; i < removal.count; i++)
		if (!removal.sql[i])
			result = crash_error_set(&call->error, -ENOMEM,
						 "out of memory");
	if (result == 0 && removal.count > 0) {
		pg_store_absent_forget(self, crash_id);
		result = pg_store_run(self, call, removal.statements,
				      removal.count, &failure);
		if (result < 0) {
			if (pg_failure_is(&failure, "42P01"))
				pg_store_forget_week(self, &week);
			result = pg_store_fail(self, call, &failure, operation,
					       crash_id);
		}
		pg_store_absent_forget(self, crash_id);
	}
	if (result == 0 && rows_removed(&removal) == 0)
		result = not_here(self, call, crash_id, "crash");
	pg_statements_clear(removal.statements, removal.count);
	for (size_t i = 0; i < removal.count; i++)
		free(removal.sql[i]);
	if (part != PG_PART_PROCESSED)
		pg_store_drop_cached(self, crash_id, PG_PART_RAW);
	if (part != PG_PART_RAW)
		pg_store_drop_cached(self, crash_id, PG_PART_PROCESSED);
	return result;
}

int pg_remove(struct crash_store *store, struct crash_call *call,
	      const char *crash_id)
{
	return remove_parts(pg_store_from(store), call, crash_id, 0, "remove");
}

int pg_remove_part(struct crash_store *store, struct crash_call *call,
		   const char *crash_id, const struct crash_part *part)
{
	struct pg_store *self = pg_store_from(store);
	int number = part_number(part);
	if (number == 0)
		return not_here(self, call, crash_id, "a dump of");
	return remove_parts(self, call, crash_id, number, "remove_part");
}
