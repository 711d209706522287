/*
 * test_pg_partitions.c - weeks, partition and index names, the schema
 * objects of a week, listing bounds: spec/backends.md B.2 as a table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/postgresql/pg_sql.h"
#include "storage/postgresql/pg_week.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

static const char *suffix_of(const char *crash_id)
{
	static struct pg_week week;
	if (pg_week_of_crash_id(crash_id, &week) < 0)
		return "(invalid)";
	return week.suffix;
}

/* B.2's worked examples, the year boundary and leap days. */
static void test_week_of_crash_id(void)
{
	CHECK_STR(suffix_of("936ce666-ff3b-4c7a-9674-367fe2120408"), "20120402");
	CHECK_STR(suffix_of("e8820616-1462-49b6-9784-e99a32120201"), "20120130");
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20071025"), "20071022");
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20141231"), "20141229");
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20150101"), "20141229");
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20150104"), "20141229");
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20150105"), "20150105");
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20160229"), "20160229");
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20000101"), "19991227");
	/* A Monday is its own week. */
	CHECK_STR(suffix_of("0bba929f-8721-460c-dead-a43c20120402"), "20120402");
	struct pg_week week;
	CHECK_INT(pg_week_of_crash_id("0bba929f-8721-460c-dead-a43c20120230",
				      &week), -EINVAL);
	CHECK_INT(pg_week_of_crash_id("not a crash id", &week), -EINVAL);
}

static void test_week_arithmetic(void)
{
	struct pg_week week, other;
	REQUIRE(pg_week_of_day_name("20141231", &week) == 0);
	CHECK_STR(week.suffix, "20141229");
	pg_week_add(&week, 1, &other);
	CHECK_STR(other.suffix, "20150105");
	pg_week_add(&week, -1, &other);
	CHECK_STR(other.suffix, "20141222");
	CHECK_INT(pg_week_parse_suffix("20141229", &other), 0);
	CHECK_INT(other.first_day, week.first_day);
	CHECK_INT(pg_week_parse_suffix("20141230", &other), -EINVAL);
	CHECK_INT(pg_week_parse_suffix("2014122", &other), -EINVAL);
	CHECK_INT(pg_week_parse_suffix("20141329", &other), -EINVAL);
	/* 2012-04-02 00:00 UTC is 1333324800. */
	REQUIRE(pg_week_parse_suffix("20120402", &week) == 0);
	CHECK_INT(pg_week_start_us(&week), INT64_C(1333324800) * 1000000);
	CHECK_INT(pg_week_end_us(&week) - pg_week_start_us(&week),
		  INT64_C(7) * 86400 * 1000000);
	pg_week_of_time((time_t)1333324800 - 1, &other);
	CHECK_STR(other.suffix, "20120326");
	pg_week_of_time((time_t)1333324800, &other);
	CHECK_STR(other.suffix, "20120402");

	char endings[7][7];
	REQUIRE(pg_week_parse_suffix("20141229", &week) == 0);
	CHECK_INT(pg_week_day_endings(&week, endings), 7);
	CHECK_STR(endings[0], "141229");
	CHECK_STR(endings[3], "150101");
	CHECK_STR(endings[6], "150104");
	/* Days before 2000 are no crash id's. */
	REQUIRE(pg_week_parse_suffix("19991227", &week) == 0);
	CHECK_INT(pg_week_day_endings(&week, endings), 2);
	CHECK_STR(endings[0], "000101");
}

static void test_names(void)
{
	struct pg_week week;
	char name[PG_NAME_MAX];
	REQUIRE(pg_week_parse_suffix("20120402", &week) == 0);
	CHECK_INT(pg_week_name(name, sizeof name, "raw_crashes_", &week), 20);
	CHECK_STR(name, "raw_crashes_20120402");
	CHECK_INT(pg_week_name(name, 8, "raw_crashes_", &week), -ENAMETOOLONG);

	char suffix[PG_NAME_MAX];
	pg_index_suffix("report_id,plugin_id", true, suffix, sizeof suffix);
	CHECK_STR(suffix, "report_id_plugin_id");
	pg_index_suffix("product, version", false, suffix, sizeof suffix);
	CHECK_STR(suffix, "product_version");
	pg_index_suffix("lower(name)", true, suffix, sizeof suffix);
	CHECK_STR(suffix, "lower_name)");
	pg_index_suffix("lower(name)", false, suffix, sizeof suffix);
	CHECK_STR(suffix, "lower(name)");
}

static const struct pg_object *find(const struct pg_object_list *list,
				    const char *name)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->objects[i].name, name) == 0)
			return &list->objects[i];
	return NULL;
}

static size_t position(const struct pg_object_list *list, const char *name)
{
	const struct pg_object *object = find(list, name);
	return object ? (size_t)(object - list->objects) : list->count;
}

/* Every name, CHECK range, unique key, index and foreign key of B.2. */
static void test_week_objects(void)
{
	static const char *const expected[] = {
		"reports_20141229", "reports_20141229_id",
		"reports_20141229_uuid", "reports_20141229_date_processed",
		"reports_20141229_hangid", "reports_20141229_product_version",
		"reports_20141229_reason", "reports_20141229_signature",
		"reports_20141229_url", "plugins_reports_20141229",
		"plugins_reports_20141229_report_id_plugin_id",
		"plugins_reports_20141229_report_id_date_processed",
		"plugins_reports_20141229_fk_1", "plugins_reports_20141229_fk_2",
		"extensions_20141229",
		"extensions_20141229_report_id_extension_key",
		"extensions_20141229_report_id_date_processed",
		"extensions_20141229_fk_1", "raw_crashes_20141229",
		"raw_crashes_20141229_uuid", "processed_crashes_20141229",
		"processed_crashes_20141229_uuid", "crashfs_parts_20141229",
		"crashfs_raw_crashes_20141229_day",
		"crashfs_processed_crashes_20141229_day",
	};
	struct pg_object_list list = { 0 };
	struct pg_week week;
	REQUIRE(pg_week_parse_suffix("20141229", &week) == 0);
	REQUIRE(pg_objects_week(&list, &week) == 0);
	CHECK_INT(list.count, sizeof expected / sizeof expected[0]);
	for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
		if (!find(&list, expected[i]))
			fprintf(stderr, "missing object %s\n", expected[i]);
		CHECK(find(&list, expected[i]) != NULL);
	}
	const struct pg_object *reports = find(&list, "reports_20141229");
	REQUIRE(reports);
	CHECK_INT(reports->kind, PG_OBJECT_TABLE);
	/* Inclusive at both ends, across the year boundary. */
	CHECK_STR(reports->create,
		  "CREATE TABLE reports_20141229 ( CONSTRAINT "
		  "reports_20141229_date_check CHECK ( date_processed BETWEEN "
		  "TIMESTAMPTZ '2014-12-29' AND TIMESTAMPTZ '2015-01-05' ) ) "
		  "INHERITS ( reports )");
	const struct pg_object *unique =
		find(&list, "plugins_reports_20141229_report_id_plugin_id");
	REQUIRE(unique);
	CHECK_STR(unique->create,
		  "CREATE UNIQUE INDEX plugins_reports_20141229_report_id_plugin_id "
		  "ON plugins_reports_20141229(report_id,plugin_id)");
	const struct pg_object *index =
		find(&list, "reports_20141229_product_version");
	REQUIRE(index);
	CHECK_STR(index->create, "CREATE INDEX reports_20141229_product_version "
				 "ON reports_20141229(product,version)");
	const struct pg_object *fkey = find(&list, "plugins_reports_20141229_fk_2");
	REQUIRE(fkey);
	CHECK_INT(fkey->kind, PG_OBJECT_CONSTRAINT);
	CHECK_STR(fkey->table, "plugins_reports_20141229");
	CHECK_STR(fkey->create,
		  "ALTER TABLE plugins_reports_20141229 ADD CONSTRAINT "
		  "plugins_reports_20141229_fk_2 FOREIGN KEY (report_id) "
		  "REFERENCES reports_20141229(id) ON DELETE CASCADE ON UPDATE "
		  "CASCADE");
	const struct pg_object *side = find(&list, "crashfs_parts_20141229");
	REQUIRE(side);
	CHECK(side->comment != NULL);
	/* Made in build order: a foreign key after what it references. */
	CHECK(position(&list, "reports_20141229_id") <
	      position(&list, "plugins_reports_20141229_fk_2"));
	CHECK(position(&list, "raw_crashes_20141229") <
	      position(&list, "crashfs_raw_crashes_20141229_day"));
	for (size_t i = 0; i < list.count; i++)
		CHECK(strlen(list.objects[i].name) < 64);
	pg_object_list_release(&list);

	REQUIRE(pg_objects_masters(&list) == 0);
	static const char *const masters[] = {
		"reports", "plugins", "plugins_reports", "extensions",
		"raw_crashes", "processed_crashes", "report_partition_info",
	};
	CHECK_INT(list.count, 7);
	for (size_t i = 0; i < 7; i++)
		CHECK(find(&list, masters[i]) != NULL);
	pg_object_list_release(&list);
}

static void test_list_bounds(void)
{
	char low[37], high[37];
	pg_sql_list_bounds("", "", low, high);
	CHECK_STR(low, "00000000-0000-0000-0000-000000000000");
	CHECK_STR(high, "ffffffff-ffff-ffff-ffff-ffffffffffff");
	pg_sql_list_bounds("936c", NULL, low, high);
	CHECK_STR(low, "936c0000-0000-0000-0000-000000000000");
	CHECK_STR(high, "936cffff-ffff-ffff-ffff-ffffffffffff");
	/* Levels past the fourth hold the dash. */
	pg_sql_list_bounds("936ce666-f", "", low, high);
	CHECK_STR(low, "936ce666-f000-0000-0000-000000000000");
	CHECK_STR(high, "936ce666-ffff-ffff-ffff-ffffffffffff");
	/* A cursor past the prefix's start moves the lower bound. */
	pg_sql_list_bounds("936c", "936ce666-ff3b-4c7a-9674-367fe2120408", low,
			   high);
	CHECK_STR(low, "936ce666-ff3b-4c7a-9674-367fe2120408");
	pg_sql_list_bounds("936c", "00000000-ff3b-4c7a-9674-367fe2120408", low,
			   high);
	CHECK_STR(low, "936c0000-0000-0000-0000-000000000000");
}

/* The statements a read of a week without crashfs's table sends never
 * name it; values are always parameters. */
static void test_statements(void)
{
	struct pg_week week;
	REQUIRE(pg_week_parse_suffix("20120402", &week) == 0);
	char *sql = pg_sql_part_stats(&week, PG_TABLE_RAW_CRASHES |
						     PG_TABLE_PROCESSED_CRASHES);
	REQUIRE(sql);
	CHECK(strstr(sql, "raw_crashes_20120402") != NULL);
	CHECK(strstr(sql, "processed_crashes_20120402") != NULL);
	CHECK(strstr(sql, "crashfs_parts") == NULL);
	CHECK(strstr(sql, "$1::uuid") != NULL);
	free(sql);
	sql = pg_sql_part_stats(&week, PG_TABLES_ALL);
	REQUIRE(sql);
	CHECK(strstr(sql, "LEFT JOIN crashfs_parts_20120402") != NULL);
	free(sql);
	sql = pg_sql_list_crashes(&week, PG_TABLE_RAW_CRASHES);
	REQUIRE(sql);
	CHECK(strstr(sql, "processed_crashes") == NULL);
	CHECK(strstr(sql, "right(uuid::text, 6) = $1::text") != NULL);
	free(sql);
	sql = pg_sql_reports_upsert(&week);
	REQUIRE(sql);
	CHECK(strstr(sql, "$36::text") != NULL);
	CHECK(strstr(sql, "$37") == NULL);
	CHECK(strstr(sql, "ON CONFLICT (uuid) DO UPDATE") != NULL);
	free(sql);
}

int main(void)
{
	test_week_of_crash_id();
	test_week_arithmetic();
	test_names();
	test_week_objects();
	test_list_bounds();
	test_statements();
	return unit_test_exit("test_pg_partitions");
}
