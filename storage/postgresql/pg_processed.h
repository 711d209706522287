/*
 * pg_processed.h - the rows Socorro derives from a crash (spec/backends.md
 * B.4, B.5): the 36 mapped columns of reports_<W>, the plugin row, the
 * extension rows, and the date_processed of raw_crashes_<W>.
 *
 * Where Socorro failed, crashfs fills what it can and says what it left
 * out (row->notes, logged once per crash by the caller):
 *   - a missing key is NULL (Socorro: KeyError);
 *   - a value of the wrong type is NULL (pg_values.h has the rules);
 *   - a date_processed outside the crash id's week is NULL in every table,
 *     since the week's CHECK constraint would refuse the whole crash;
 *   - a U+0000 in a string is dropped from the column (the json columns
 *     keep the crash's text as written).
 * The reports row's uuid is always the crash id the crash was saved as.
 *
 * Pure functions over borrowed JSON; any thread.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_PROCESSED_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_PROCESSED_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "storage/postgresql/pg_week.h"

enum pg_column_type {
	PG_COLUMN_TEXT = 1, /* text or varchar(max_chars) */
	PG_COLUMN_INTEGER,
	PG_COLUMN_BOOLEAN,
	PG_COLUMN_TIMESTAMP,
};

struct pg_report_column {
	const char *key;    /* in the processed crash */
	const char *column; /* of reports */
	enum pg_column_type type;
	unsigned max_chars; /* 0: no limit */
};

/* B.4's table, in its order (the order of the SQL's columns). */
#define PG_REPORT_COLUMN_COUNT 36
extern const struct pg_report_column
	pg_report_columns[PG_REPORT_COLUMN_COUNT];
/* Indexes of two columns the other tables share. */
#define PG_REPORT_DATE_PROCESSED 8
#define PG_REPORT_UUID 34

/* extension_id is cut to this many characters (Socorro's slice). */
#define PG_EXTENSION_ID_MAX_CHARS 100

#define PG_NOTES_MAX 400

struct pg_processed_row {
	char *values[PG_REPORT_COLUMN_COUNT]; /* NULL: SQL NULL */
	/* Shared by every table of the crash: values[8] (may be NULL). */
	const char *date_processed;

	/* process_type "plugin" with its three keys: one plugins_reports
	 * row.  Otherwise existing plugin rows are left alone (Socorro). */
	bool has_plugin;
	char *plugin_filename, *plugin_name, *plugin_version;

	/* A non-empty "addons": its rows replace the crash's extension rows
	 * (array literals for unnest; elements Socorro skipped are not in
	 * them).  Otherwise existing rows are left alone (Socorro). */
	bool has_extensions;
	size_t extension_count;
	char *extension_keys, *extension_ids, *extension_versions;

	/* "uptime: not an integer; ..." - empty when everything fitted. */
	char notes[PG_NOTES_MAX];
};

/* Fills row from a processed crash; 0 or -ENOMEM (row released). */
int pg_processed_row_build(const json_t *processed, const char *crash_id,
			   const struct pg_week *week,
			   struct pg_processed_row *row);
void pg_processed_row_release(struct pg_processed_row *row);

/*
 * raw_crashes' date_processed: the raw crash's submitted_timestamp when it
 * is a timestamp inside the week, else NULL with a note.  *out is a new
 * string or NULL; 0 or -ENOMEM.
 */
int pg_raw_date_processed(const json_t *raw_crash, const struct pg_week *week,
			  char **out, char notes[PG_NOTES_MAX]);

#endif
