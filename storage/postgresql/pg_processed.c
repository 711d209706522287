/*
 * pg_processed.c - a processed crash's Socorro rows (see pg_processed.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/postgresql/pg_processed.h"
#include "storage/postgresql/pg_values.h"

const struct pg_report_column pg_report_columns[PG_REPORT_COLUMN_COUNT] = {
	{ "addons_checked", "addons_checked", PG_COLUMN_BOOLEAN, 0 },
	{ "address", "address", PG_COLUMN_TEXT, 20 },
	{ "app_notes", "app_notes", PG_COLUMN_TEXT, 1024 },
	{ "build", "build", PG_COLUMN_TEXT, 30 },
	{ "client_crash_date", "client_crash_date", PG_COLUMN_TIMESTAMP, 0 },
	{ "completeddatetime", "completed_datetime", PG_COLUMN_TIMESTAMP, 0 },
	{ "cpu_info", "cpu_info", PG_COLUMN_TEXT, 100 },
	{ "cpu_name", "cpu_name", PG_COLUMN_TEXT, 100 },
	{ "date_processed", "date_processed", PG_COLUMN_TIMESTAMP, 0 },
	{ "distributor", "distributor", PG_COLUMN_TEXT, 20 },
	{ "distributor_version", "distributor_version", PG_COLUMN_TEXT, 20 },
	{ "email", "email", PG_COLUMN_TEXT, 100 },
	{ "exploitability", "exploitability", PG_COLUMN_TEXT, 0 },
	{ "flash_version", "flash_version", PG_COLUMN_TEXT, 0 },
	{ "hangid", "hangid", PG_COLUMN_TEXT, 0 },
	{ "install_age", "install_age", PG_COLUMN_INTEGER, 0 },
	{ "last_crash", "last_crash", PG_COLUMN_INTEGER, 0 },
	{ "os_name", "os_name", PG_COLUMN_TEXT, 100 },
	{ "os_version", "os_version", PG_COLUMN_TEXT, 100 },
	{ "processor_notes", "processor_notes", PG_COLUMN_TEXT, 0 },
	{ "process_type", "process_type", PG_COLUMN_TEXT, 0 },
	{ "product", "product", PG_COLUMN_TEXT, 30 },
	{ "productid", "productid", PG_COLUMN_TEXT, 0 },
	{ "reason", "reason", PG_COLUMN_TEXT, 255 },
	{ "release_channel", "release_channel", PG_COLUMN_TEXT, 0 },
	{ "signature", "signature", PG_COLUMN_TEXT, 255 },
	{ "startedDateTime", "started_datetime", PG_COLUMN_TIMESTAMP, 0 },
	{ "success", "success", PG_COLUMN_BOOLEAN, 0 },
	{ "topmost_filenames", "topmost_filenames", PG_COLUMN_TEXT, 0 },
	{ "truncated", "truncated", PG_COLUMN_BOOLEAN, 0 },
	{ "uptime", "uptime", PG_COLUMN_INTEGER, 0 },
	{ "user_comments", "user_comments", PG_COLUMN_TEXT, 1024 },
	{ "user_id", "user_id", PG_COLUMN_TEXT, 50 },
	{ "url", "url", PG_COLUMN_TEXT, 255 },
	{ "uuid", "uuid", PG_COLUMN_TEXT, 50 },
	{ "version", "version", PG_COLUMN_TEXT, 16 },
};

/* Appends "; <what>" to the notes, marking a cut with "...". */
static void note(char notes[PG_NOTES_MAX], const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void note(char notes[PG_NOTES_MAX], const char *format, ...)
{
	size_t used = strlen(notes);
	if (used + 4 >= PG_NOTES_MAX)
		return;
	if (used > 0) {
		memcpy(notes + used, "; ", 3);
		used += 2;
	}
	va_list args;
	va_start(args, format);
	int length = vsnprintf(notes + used, PG_NOTES_MAX - used, format, args);
	va_end(args);
	if (length >= 0 && used + (size_t)length >= PG_NOTES_MAX)
		memcpy(notes + PG_NOTES_MAX - 4, "...", 4);
}

/* A timestamp that must fall in the week (the CHECK ranges). */
static int week_timestamp(const json_t *value, const struct pg_week *week,
			  const char *key, char **out,
			  char notes[PG_NOTES_MAX])
{
	const char *why;
	int64_t us = 0;
	int result = pg_value_timestamp(value, out, &us, &why);
	if (result == -EINVAL) {
		note(notes, "%s: %s", key, why);
		return 0;
	}
	if (result < 0 || !*out)
		return result;
	if (us < pg_week_start_us(week) || us > pg_week_end_us(week)) {
		free(*out);
		*out = NULL;
		note(notes, "%s: outside the crash id's week %s", key,
		     week->suffix);
	}
	return 0;
}

static int convert(const struct pg_report_column *column,
		   const json_t *value, char **out, char notes[PG_NOTES_MAX])
{
	const char *why = NULL;
	int result;

	switch (column->type) {
	case PG_COLUMN_TEXT:
		result = pg_value_text(value, column->max_chars, out, &why);
		break;
	case PG_COLUMN_INTEGER:
		result = pg_value_integer(value, out, &why);
		break;
	case PG_COLUMN_BOOLEAN:
		result = pg_value_boolean(value, out, &why);
		break;
	default:
		result = pg_value_timestamp(value, out, NULL, &why);
		break;
	}
	if (result == -EINVAL) {
		note(notes, "%s: %s", column->key, why);
		return 0;
	}
	return result;
}

static int fill_columns(const json_t *processed, const char *crash_id,
			const struct pg_week *week,
			struct pg_processed_row *row)
{
	for (size_t i = 0; i < PG_REPORT_COLUMN_COUNT; i++) {
		const struct pg_report_column *column = &pg_report_columns[i];
		const json_t *value = json_object_get(processed, column->key);
		int result;
		if (i == PG_REPORT_UUID) {
			if (value && !(json_is_string(value) &&
				       strcmp(json_string_value(value),
					      crash_id) == 0))
				note(row->notes, "uuid: not the crash id; "
				     "the crash id is stored");
			row->values[i] = strdup(crash_id);
			result = row->values[i] ? 0 : -ENOMEM;
		} else if (i == PG_REPORT_DATE_PROCESSED) {
			result = week_timestamp(value, week, column->key,
						&row->values[i], row->notes);
		} else {
			result = convert(column, value, &row->values[i],
					 row->notes);
		}
		if (result < 0)
			return result;
	}
	row->date_processed = row->values[PG_REPORT_DATE_PROCESSED];
	return 0;
}

/* A key of the plugin step as text; false (and a note) if it is not
 * there. */
static bool plugin_key(const json_t *processed, const char *key, char **out,
		       int *result, char notes[PG_NOTES_MAX])
{
	const char *why;
	*result = pg_value_text(json_object_get(processed, key), 0, out, &why);
	if (*result == 0 && !*out) {
		note(notes, "plugin row skipped: %s missing", key);
		return false;
	}
	return *result == 0;
}

static int fill_plugin(const json_t *processed, struct pg_processed_row *row)
{
	const json_t *type = json_object_get(processed, "process_type");
	int result = 0;
	if (!json_is_string(type) ||
	    strcmp(json_string_value(type), "plugin") != 0)
		return 0;
	row->has_plugin =
		plugin_key(processed, "PluginFilename", &row->plugin_filename,
			   &result, row->notes) &&
		plugin_key(processed, "PluginName", &row->plugin_name, &result,
			   row->notes) &&
		plugin_key(processed, "PluginVersion", &row->plugin_version,
			   &result, row->notes);
	return result;
}

struct extension_lists {
	char **keys, **ids, **versions;
	size_t count;
};

static void release_lists(struct extension_lists *lists, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (lists->keys)
			free(lists->keys[i]);
		if (lists->ids)
			free(lists->ids[i]);
		if (lists->versions)
			free(lists->versions[i]);
	}
	free(lists->keys);
	free(lists->ids);
	free(lists->versions);
}

/* One element of addons: [id, version, ...]. */
static int add_extension(const json_t *element, size_t index,
			 struct extension_lists *lists,
			 char notes[PG_NOTES_MAX])
{
	const char *why;
	size_t at = lists->count;
	if (!json_is_array(element) || json_array_size(element) < 2) {
		note(notes, "addons[%zu]: fewer than two items, skipped",
		     index);
		return 0;
	}
	int result = pg_value_text(json_array_get(element, 0),
				   PG_EXTENSION_ID_MAX_CHARS, &lists->ids[at],
				   &why);
	if (result == 0 && !lists->ids[at]) {
		note(notes, "addons[%zu]: no extension id, skipped", index);
		return 0;
	}
	if (result == 0)
		result = pg_value_text(json_array_get(element, 1), 0,
				       &lists->versions[at], &why);
	char key[24];
	snprintf(key, sizeof key, "%zu", index);
	if (result == 0 && !(lists->keys[at] = strdup(key)))
		result = -ENOMEM;
	lists->count++;
	return result;
}

static int fill_extensions(const json_t *processed,
			   struct pg_processed_row *row)
{
	const json_t *addons = json_object_get(processed, "addons");
	if (!addons || json_is_null(addons))
		return 0;
	if (!json_is_array(addons)) {
		note(row->notes, "addons: not a list, extension rows left "
		     "alone");
		return 0;
	}
	size_t size = json_array_size(addons);
	if (size == 0)
		return 0;
	struct extension_lists lists = {
		.keys = calloc(size, sizeof(char *)),
		.ids = calloc(size, sizeof(char *)),
		.versions = calloc(size, sizeof(char *)),
	};
	int result = lists.keys && lists.ids && lists.versions ? 0 : -ENOMEM;
	for (size_t i = 0; result == 0 && i < size; i++)
		result = add_extension(json_array_get(addons, i), i, &lists,
				       row->notes);
	if (result == 0) {
		row->extension_keys = pg_array_literal(lists.keys, lists.count);
		row->extension_ids = pg_array_literal(lists.ids, lists.count);
		row->extension_versions =
			pg_array_literal(lists.versions, lists.count);
		if (!row->extension_keys || !row->extension_ids ||
		    !row->extension_versions)
			result = -ENOMEM;
	}
	row->has_extensions = result == 0;
	row->extension_count = lists.count;
	release_lists(&lists, size);
	return result;
}

int pg_processed_row_build(const json_t *processed, const char *crash_id,
			   const struct pg_week *week,
			   struct pg_processed_row *row)
{
	memset(row, 0, sizeof *row);
	int result = fill_columns(processed, crash_id, week, row);
	if (result == 0)
		result = fill_plugin(processed, row);
	if (result == 0)
		result = fill_extensions(processed, row);
	if (result < 0)
		pg_processed_row_release(row);
	return result;
}

void pg_processed_row_release(struct pg_processed_row *row)
{
	for (size_t i = 0; i < PG_REPORT_COLUMN_COUNT; i++)
		free(row->values[i]);
	free(row->plugin_filename);
	free(row->plugin_name);
	free(row->plugin_version);
	free(row->extension_keys);
	free(row->extension_ids);
	free(row->extension_versions);
	memset(row, 0, sizeof *row);
}

int pg_raw_date_processed(const json_t *raw_crash, const struct pg_week *week,
			  char **out, char notes[PG_NOTES_MAX])
{
	*out = NULL;
	return week_timestamp(json_object_get(raw_crash, "submitted_timestamp"),
			      week, "submitted_timestamp", out, notes);
}
