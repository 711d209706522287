/*
 * test_pg_columns.c - a processed crash into Socorro's reports columns
 * (spec/backends.md B.4): truncation, types, dates, plugins, extensions,
 * and what crashfs does where Socorro failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "storage/postgresql/pg_processed.h"
#include "storage/postgresql/pg_values.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define CRASH_ID "936ce666-ff3b-4c7a-9674-367fe2120408"

static json_t *parse(const char *text)
{
	json_error_t error;
	json_t *json = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &error);
	if (!json)
		fprintf(stderr, "bad test JSON: %s: %s\n", text, error.text);
	return json;
}

static int column_index(const char *column)
{
	for (int i = 0; i < PG_REPORT_COLUMN_COUNT; i++)
		if (strcmp(pg_report_columns[i].column, column) == 0)
			return i;
	return -1;
}

static const char *value_of(const struct pg_processed_row *row,
			    const char *column)
{
	int i = column_index(column);
	return i < 0 ? "(no such column)" : row->values[i];
}

static void test_timestamps(void)
{
	int64_t us = 0;
	char text[PG_TIMESTAMP_TEXT_MAX];
	/* Socorro's processor: no zone, microseconds; UTC. */
	CHECK_INT(pg_timestamp_parse("2012-04-08 10:56:41.558922", &us), 0);
	CHECK_INT(us, INT64_C(1333882601558922));
	pg_timestamp_format(us, text);
	CHECK_STR(text, "2012-04-08 10:56:41.558922+00");
	CHECK_INT(pg_timestamp_parse("2012-04-08T10:52:42.123456+00:00", &us),
		  0);
	pg_timestamp_format(us, text);
	CHECK_STR(text, "2012-04-08 10:52:42.123456+00");
	CHECK_INT(pg_timestamp_parse("2012-04-08T12:52:42+02:00", &us), 0);
	pg_timestamp_format(us, text);
	CHECK_STR(text, "2012-04-08 10:52:42.000000+00");
	CHECK_INT(pg_timestamp_parse("2012-04-08T05:52-0500", &us), 0);
	pg_timestamp_format(us, text);
	CHECK_STR(text, "2012-04-08 10:52:00.000000+00");
	CHECK_INT(pg_timestamp_parse("2012-04-08 10:52:42Z", &us), 0);
	CHECK_INT(pg_timestamp_parse("2012-04-08 10:52:42 UTC", &us), 0);
	CHECK_INT(pg_timestamp_parse("2012-04-08", &us), 0);
	pg_timestamp_format(us, text);
	CHECK_STR(text, "2012-04-08 00:00:00.000000+00");
	/* Digits past microseconds are dropped. */
	CHECK_INT(pg_timestamp_parse("2012-04-08 10:52:42.1234567", &us), 0);
	CHECK_INT(us % 1000000, 123456);
	CHECK_INT(pg_timestamp_parse("1969-12-31 23:59:59.5", &us), 0);
	CHECK_INT(us, -500000);
	pg_timestamp_format(us, text);
	CHECK_STR(text, "1969-12-31 23:59:59.500000+00");

	static const char *const bad[] = {
		"", "2012-04-31", "2012-02-30 10:00", "2012-04-08 24:00:00",
		"2012-04-08 10:60", "2012-04-08 10:52:42+", "12-04-08",
		"2012-04-08 10:52:42 PST", "2012-04-08x", "yesterday",
		"2012-04-08 10:52:42.", "2012-04-08 ", NULL,
	};
	for (const char *const *text_ = bad; *text_; text_++) {
		if (pg_timestamp_parse(*text_, &us) != -EINVAL)
			fprintf(stderr, "accepted \"%s\"\n", *text_);
		CHECK_INT(pg_timestamp_parse(*text_, &us), -EINVAL);
	}
}

static void test_text(void)
{
	char *out;
	const char *why;
	json_t *value = parse("\"caf\\u00e9 \\ud83d\\ude00 crash\"");
	REQUIRE(value);
	/* Characters, not bytes: the emoji is one of them. */
	CHECK_INT(pg_value_text(value, 6, &out, &why), 0);
	CHECK_STR(out, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	free(out);
	CHECK_INT(pg_value_text(value, 0, &out, &why), 0);
	CHECK_STR(out, "caf\xc3\xa9 \xf0\x9f\x98\x80 crash");
	free(out);
	json_decref(value);

	value = parse("\"a\\u0000b\"");
	REQUIRE(value);
	CHECK_INT(pg_value_text(value, 0, &out, &why), 0);
	CHECK_STR(out, "ab");
	free(out);
	json_decref(value);

	value = parse("[12, true, 1.5, {\"a\": null}]");
	REQUIRE(value);
	CHECK_INT(pg_value_text(json_array_get(value, 0), 0, &out, &why), 0);
	CHECK_STR(out, "12");
	free(out);
	CHECK_INT(pg_value_text(json_array_get(value, 1), 0, &out, &why), 0);
	CHECK_STR(out, "true");
	free(out);
	CHECK_INT(pg_value_text(json_array_get(value, 2), 0, &out, &why), 0);
	CHECK_STR(out, "1.5");
	free(out);
	CHECK_INT(pg_value_text(json_array_get(value, 3), 0, &out, &why), 0);
	CHECK_STR(out, "{\"a\":null}");
	free(out);
	json_decref(value);

	CHECK_INT(pg_value_text(NULL, 0, &out, &why), 0);
	CHECK(out == NULL);
	CHECK_INT(pg_utf8_prefix("\xc3\xa9\xc3\xa9", 4, 1), 2);
	CHECK_INT(pg_utf8_prefix("abc", 3, 5), 3);
}

static void check_integer(const char *json_text, const char *expected)
{
	char *out = NULL;
	const char *why = NULL;
	json_t *value = parse(json_text);
	REQUIRE(value);
	int result = pg_value_integer(value, &out, &why);
	if (expected) {
		CHECK_INT(result, 0);
		CHECK_STR(out, expected);
	} else {
		CHECK_INT(result, -EINVAL);
		CHECK(out == NULL && why != NULL);
	}
	free(out);
	json_decref(value);
}

static void check_boolean(const char *json_text, const char *expected)
{
	char *out = NULL;
	const char *why = NULL;
	json_t *value = parse(json_text);
	REQUIRE(value);
	int result = pg_value_boolean(value, &out, &why);
	if (expected) {
		CHECK_INT(result, 0);
		CHECK_STR(out, expected);
	} else {
		CHECK_INT(result, -EINVAL);
		CHECK(out == NULL && why != NULL);
	}
	free(out);
	json_decref(value);
}

static void test_types(void)
{
	check_integer("12", "12");
	check_integer("-2147483648", "-2147483648");
	check_integer("2147483648", NULL);
	check_integer("3.0", "3");
	check_integer("3.5", NULL);
	check_integer("\" 42 \"", "42");
	check_integer("\"4x2\"", NULL);
	check_integer("\"\"", NULL);
	check_integer("true", NULL);
	check_integer("[1]", NULL);

	check_boolean("true", "true");
	check_boolean("false", "false");
	check_boolean("1", "true");
	check_boolean("0", "false");
	check_boolean("2", NULL);
	check_boolean("\"YES\"", "true");
	check_boolean("\"off\"", "false");
	check_boolean("\"maybe\"", NULL);
	check_boolean("{}", NULL);

	char *out = NULL;
	const char *why = NULL;
	json_t *value = parse("12345");
	REQUIRE(value);
	CHECK_INT(pg_value_timestamp(value, &out, NULL, &why), -EINVAL);
	CHECK(out == NULL && why != NULL);
	json_decref(value);
}

static void test_array_literal(void)
{
	char *elements[] = { "plain", "with \"quotes\"", "back\\slash", NULL,
			     "comma, {brace}" };
	char *literal = pg_array_literal(elements, 5);
	CHECK_STR(literal, "{\"plain\",\"with \\\"quotes\\\"\","
			   "\"back\\\\slash\",NULL,\"comma, {brace}\"}");
	free(literal);
	literal = pg_array_literal(elements, 0);
	CHECK_STR(literal, "{}");
	free(literal);
}

static const char *const full_crash =
	"{\"uuid\": \"" CRASH_ID "\","
	" \"addons_checked\": true, \"address\": \"0x0000000012345678901234\","
	" \"app_notes\": null, \"build\": \"20120322151325\","
	" \"client_crash_date\": \"2012-04-08 10:52:01.000000\","
	" \"completeddatetime\": \"2012-04-08 10:56:50.902884\","
	" \"cpu_info\": \"GenuineIntel family 6\", \"cpu_name\": \"x86\","
	" \"date_processed\": \"2012-04-08 10:56:41.558922\","
	" \"distributor\": null, \"distributor_version\": null,"
	" \"email\": \"someone@example.com\", \"exploitability\": \"high\","
	" \"flash_version\": \"11.1\", \"hangid\": null,"
	" \"install_age\": 1079662, \"last_crash\": \"86400\","
	" \"os_name\": \"Windows NT\", \"os_version\": \"6.1.7601\","
	" \"processor_notes\": \"sparse\", \"process_type\": \"plugin\","
	" \"product\": \"Firefox\", \"productid\": \"{ec8030f7}\","
	" \"reason\": \"EXCEPTION_ACCESS_VIOLATION_READ\","
	" \"release_channel\": \"release\", \"signature\": \"js::GC\","
	" \"startedDateTime\": \"2012-04-08 10:56:50.440752\","
	" \"success\": true, \"topmost_filenames\": \"a.cpp|b.cpp\","
	" \"truncated\": false, \"uptime\": \"not a number\","
	" \"user_comments\": \"it crashed\", \"user_id\": \"\","
	" \"url\": \"http://example.com/\", \"version\": \"12.0a1superlongversionstring\","
	" \"PluginFilename\": \"NPSWF32.dll\", \"PluginName\": \"Shockwave Flash\","
	" \"PluginVersion\": \"11.1.102.55\","
	" \"addons\": [[\"{972ce4c6}\", \"12.0\"], [\"short\"],"
	"              [\"testpilot@labs.mozilla.com\", null, \"x\"]]}";

static void test_full_row(void)
{
	struct pg_week week;
	struct pg_processed_row row;
	REQUIRE(pg_week_of_crash_id(CRASH_ID, &week) == 0);
	json_t *crash = parse(full_crash);
	REQUIRE(crash);
	REQUIRE(pg_processed_row_build(crash, CRASH_ID, &week, &row) == 0);
	CHECK_STR(value_of(&row, "uuid"), CRASH_ID);
	CHECK_STR(value_of(&row, "address"), "0x000000001234567890");
	CHECK(strlen(value_of(&row, "address")) == 20);
	CHECK(value_of(&row, "app_notes") == NULL);
	CHECK_STR(value_of(&row, "version"), "12.0a1superlongv");
	CHECK_STR(value_of(&row, "date_processed"),
		  "2012-04-08 10:56:41.558922+00");
	CHECK_STR(row.date_processed, "2012-04-08 10:56:41.558922+00");
	CHECK_STR(value_of(&row, "completed_datetime"),
		  "2012-04-08 10:56:50.902884+00");
	CHECK_STR(value_of(&row, "started_datetime"),
		  "2012-04-08 10:56:50.440752+00");
	CHECK_STR(value_of(&row, "success"), "true");
	CHECK_STR(value_of(&row, "truncated"), "false");
	CHECK_STR(value_of(&row, "addons_checked"), "true");
	CHECK_STR(value_of(&row, "install_age"), "1079662");
	CHECK_STR(value_of(&row, "last_crash"), "86400");
	CHECK(value_of(&row, "uptime") == NULL);
	CHECK(strstr(row.notes, "uptime: not an integer") != NULL);
	CHECK_STR(value_of(&row, "user_id"), "");
	CHECK(value_of(&row, "update_channel") == NULL ||
	      column_index("update_channel") < 0);

	CHECK(row.has_plugin);
	CHECK_STR(row.plugin_filename, "NPSWF32.dll");
	CHECK_STR(row.plugin_name, "Shockwave Flash");
	CHECK_STR(row.plugin_version, "11.1.102.55");

	CHECK(row.has_extensions);
	CHECK_INT(row.extension_count, 2);
	/* Keys are positions in addons: the skipped one leaves a gap. */
	CHECK_STR(row.extension_keys, "{\"0\",\"2\"}");
	CHECK_STR(row.extension_ids,
		  "{\"{972ce4c6}\",\"testpilot@labs.mozilla.com\"}");
	CHECK_STR(row.extension_versions, "{\"12.0\",NULL}");
	CHECK(strstr(row.notes, "addons[1]: fewer than two items") != NULL);
	pg_processed_row_release(&row);
	json_decref(crash);
}

static void test_missing_and_outside(void)
{
	struct pg_week week;
	struct pg_processed_row row;
	REQUIRE(pg_week_of_crash_id(CRASH_ID, &week) == 0);
	/* Socorro raised KeyError for a missing key: NULLs here. */
	json_t *crash = parse("{\"signature\": \"x\", \"process_type\": "
			      "\"plugin\", \"PluginFilename\": \"a.dll\"}");
	REQUIRE(crash);
	REQUIRE(pg_processed_row_build(crash, CRASH_ID, &week, &row) == 0);
	int nulls = 0;
	for (int i = 0; i < PG_REPORT_COLUMN_COUNT; i++)
		nulls += row.values[i] == NULL;
	CHECK_INT(nulls, PG_REPORT_COLUMN_COUNT - 3);
	CHECK_STR(value_of(&row, "uuid"), CRASH_ID);
	CHECK(!row.has_plugin);
	CHECK(strstr(row.notes, "PluginName missing") != NULL);
	CHECK(!row.has_extensions);
	pg_processed_row_release(&row);
	json_decref(crash);

	/* A date_processed outside the id's week would break the week's
	 * CHECK: NULL in every table, and said. */
	crash = parse("{\"date_processed\": \"2012-04-09 00:00:00.000001\","
		      " \"uuid\": \"another\", \"addons\": []}");
	REQUIRE(crash);
	REQUIRE(pg_processed_row_build(crash, CRASH_ID, &week, &row) == 0);
	CHECK(row.date_processed == NULL);
	CHECK(strstr(row.notes, "date_processed: outside") != NULL);
	CHECK(strstr(row.notes, "uuid: not the crash id") != NULL);
	CHECK_STR(value_of(&row, "uuid"), CRASH_ID);
	CHECK(!row.has_extensions);
	pg_processed_row_release(&row);
	json_decref(crash);

	/* The bounds themselves are inside (BETWEEN). */
	crash = parse("{\"date_processed\": \"2012-04-09T00:00:00Z\"}");
	REQUIRE(crash);
	REQUIRE(pg_processed_row_build(crash, CRASH_ID, &week, &row) == 0);
	CHECK_STR(row.date_processed, "2012-04-09 00:00:00.000000+00");
	pg_processed_row_release(&row);
	json_decref(crash);

	char *date = NULL;
	char notes[PG_NOTES_MAX] = "";
	crash = parse("{\"submitted_timestamp\": "
		      "\"2012-04-08T10:52:42.123456+00:00\"}");
	REQUIRE(crash);
	CHECK_INT(pg_raw_date_processed(crash, &week, &date, notes), 0);
	CHECK_STR(date, "2012-04-08 10:52:42.123456+00");
	CHECK_STR(notes, "");
	free(date);
	json_decref(crash);
	crash = parse("{\"submitted_timestamp\": \"2011-04-08T10:52:42\"}");
	REQUIRE(crash);
	CHECK_INT(pg_raw_date_processed(crash, &week, &date, notes), 0);
	CHECK(date == NULL);
	CHECK(strstr(notes, "submitted_timestamp: outside") != NULL);
	json_decref(crash);
}

int main(void)
{
	test_timestamps();
	test_text();
	test_types();
	test_array_literal();
	test_full_row();
	test_missing_and_outside();
	return unit_test_exit("test_pg_columns");
}
