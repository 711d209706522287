/*
 * test_hbase_schema.c - the HBase store's row keys (the worked examples of
 * spec/backends.md A.3), metrics rows, columns and part records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/hbase/hbase_schema.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define ID_1 "0bba929f-8721-460c-dead-a43c20071025"
#define ID_2 "936ce666-ff3b-4c7a-9674-367fe2120408"
#define ID_3 "e8820616-1462-49b6-9784-e99a32120201"

static void check_row_key(const char *crash_id, const char *expected)
{
	char key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(crash_id, key);
	CHECK_STR(key, expected);
	CHECK_STR(hbase_row_key_crash_id(key), crash_id);
}

static void test_row_keys(void)
{
	check_row_key(ID_1, "00710250bba929f-8721-460c-dead-a43c20071025");
	check_row_key(ID_2, "9120408936ce666-ff3b-4c7a-9674-367fe2120408");
	check_row_key(ID_3, "e120201e8820616-1462-49b6-9784-e99a32120201");
	/* Keys crash_id_to_row_id does not make are no crash's. */
	CHECK(hbase_row_key_crash_id("0071025") == NULL);
	CHECK(hbase_row_key_crash_id(
		      "10710250bba929f-8721-460c-dead-a43c20071025") == NULL);
	CHECK(hbase_row_key_crash_id(
		      "00710260bba929f-8721-460c-dead-a43c20071025") == NULL);
	CHECK(hbase_row_key_crash_id(
		      "0071025" "0bba929f-8721-460c-dead-a43c20071025x") ==
	      NULL);
}

static void check_timestamped(const char *key, const char *timestamp,
			      const char *expected)
{
	char *made = hbase_timestamped_key(key, timestamp);
	CHECK_STR(made, expected);
	free(made);
}

static void test_timestamped_keys(void)
{
	check_timestamped("0bba929f-8721-460c-dead-a43c20071027",
			  "2013-01-09T22:21:18.646733+00:00",
			  "02013-01-09T22:21:18.646733"
			  "0bba929f-8721-460c-dead-a43c20071027");
	check_timestamped(ID_3, "2012-02-01T10:52:42+00:00",
			  "e2012-02-01T10:52:42" ID_3);
	check_timestamped(ID_2, "2012-04-08 10:52:42.0",
			  "92012-04-08 10:52:42.0" ID_2);
	/* The offset is dropped, not converted to UTC (Socorro's quirk). */
	check_timestamped(ID_2, "2012-04-08T05:52:42.000001-05:00",
			  "92012-04-08T05:52:42.000001" ID_2);
	check_timestamped(ID_2, "2012-04-08T10:52:42Z",
			  "92012-04-08T10:52:42Z" ID_2);
	check_timestamped(ID_2, "unknown", "9unknown" ID_2);
	/* Socorro raised IndexError for fewer than six characters. */
	check_timestamped(ID_2, "2012", "92012" ID_2);
	check_timestamped(ID_2, "", "9" ID_2);
	/* Hang ids are keys too. */
	check_timestamped("hang-1", "2012-04-08T10:52:42+00:00",
			  "h2012-04-08T10:52:42hang-1");
	CHECK(hbase_timestamped_key("", "2012") == NULL);
	CHECK_INT(hbase_key_timestamp_length("+00:00"), 0);
}

static void test_metrics_rows(void)
{
	char *rows[5];
	int count = hbase_metrics_rows("2014-10-21T10:52:42.123456+00:00",
				       rows);
	REQUIRE(count == 5);
	CHECK_STR(rows[0], "2014-10-21T10:52");
	CHECK_STR(rows[1], "2014-10-21T10");
	CHECK_STR(rows[2], "2014-10-21");
	CHECK_STR(rows[3], "2014-10");
	CHECK_STR(rows[4], "2014");
	for (int i = 0; i < count; i++)
		free(rows[i]);
	/* A short timestamp is one row, counted once (Socorro: five times). */
	count = hbase_metrics_rows("unknown", rows);
	REQUIRE(count == 2);
	CHECK_STR(rows[0], "unknown");
	CHECK_STR(rows[1], "unkn");
	for (int i = 0; i < count; i++)
		free(rows[i]);
	count = hbase_metrics_rows("abc", rows);
	REQUIRE(count == 1);
	CHECK_STR(rows[0], "abc");
	free(rows[0]);
}

static void test_columns(void)
{
	char column[HBASE_COLUMN_MAX];
	struct crash_part raw = { CRASH_PART_RAW_CRASH, NULL };
	struct crash_part main_dump = { CRASH_PART_DUMP, NULL };
	struct crash_part flash = { CRASH_PART_DUMP,
				    "upload_file_minidump_flash1" };
	struct crash_part processed = { CRASH_PART_PROCESSED, NULL };
	hbase_part_data_column(&raw, column);
	CHECK_STR(column, "meta_data:json");
	hbase_part_data_column(&main_dump, column);
	CHECK_STR(column, "raw_data:dump");
	hbase_part_data_column(&flash, column);
	CHECK_STR(column, "raw_data:upload_file_minidump_flash1");
	hbase_part_data_column(&processed, column);
	CHECK_STR(column, "processed_data:crashfs_jsonz");
	hbase_part_meta_column(&raw, column);
	CHECK_STR(column, "timestamps:crashfs.json");
	hbase_part_meta_column(&main_dump, column);
	CHECK_STR(column, "timestamps:crashfs.dump");
	hbase_part_meta_column(&flash, column);
	CHECK_STR(column, "timestamps:crashfs.dump.upload_file_minidump_flash1");
	hbase_part_meta_column(&processed, column);
	CHECK_STR(column, "timestamps:crashfs.jsonz");

	struct crash_part part;
	char name[CRASH_DUMP_NAME_MAX + 1];
	CHECK_INT(hbase_meta_column_part("timestamps:crashfs.dump.x.y", &part,
					 name), 0);
	CHECK_INT(part.type, CRASH_PART_DUMP);
	CHECK_STR(part.dump_name, "x.y");
	CHECK_INT(hbase_meta_column_part("timestamps:crashfs.dump", &part,
					 name), 0);
	CHECK(part.type == CRASH_PART_DUMP && part.dump_name == NULL);
	CHECK_INT(hbase_meta_column_part("timestamps:crashfs.jsonz", &part,
					 name), 0);
	CHECK_INT(part.type, CRASH_PART_PROCESSED);
	CHECK_INT(hbase_meta_column_part("timestamps:crashfs.counted", &part,
					 name), -EINVAL);
	CHECK_INT(hbase_meta_column_part("timestamps:submitted", &part, name),
		  -EINVAL);
	/* Socorro's spellings of the main dump (A.5, A.7). */
	CHECK_INT(hbase_dump_column_part("raw_data:dump", &part, name), 0);
	CHECK(part.dump_name == NULL);
	CHECK_INT(hbase_dump_column_part("raw_data:upload_file_minidump",
					 &part, name), 0);
	CHECK(part.dump_name == NULL);
	CHECK_INT(hbase_dump_column_part("raw_data:flash2", &part, name), 0);
	CHECK_STR(part.dump_name, "flash2");
	CHECK_INT(hbase_dump_column_part("raw_data:a:b", &part, name),
		  -EINVAL);
	char chunk[HBASE_COLUMN_MAX];
	hbase_chunk_column("raw_data:dump", 0xabcdefull, 3, chunk);
	CHECK_STR(chunk, "raw_data:dump@crashfs-0000000000abcdef-3");
	CHECK_INT(hbase_dump_column_part(chunk, &part, name), -EINVAL);
	CHECK(hbase_is_chunk_column(chunk, "raw_data:dump"));
	CHECK(!hbase_is_chunk_column(chunk, "raw_data:dum"));
	CHECK(!hbase_is_chunk_column("raw_data:dump", "raw_data:dump"));
}

static void test_records(void)
{
	struct hbase_part_meta meta = {
		.size = 5242880,
		.mtime = { 1413890000, 123456789 },
		.version = 0x0123456789abcdefull,
		.chunks = 2,
	};
	char text[HBASE_META_MAX];
	int length = hbase_meta_format(&meta, text);
	CHECK_STR(text, "crashfs1 5242880 1413890000.123456789 "
			"0123456789abcdef 2");
	struct hbase_part_meta back;
	CHECK_INT(hbase_meta_parse((const unsigned char *)text,
				   (size_t)length, &back), 0);
	CHECK_INT(back.size, meta.size);
	CHECK_INT(back.mtime.tv_sec, meta.mtime.tv_sec);
	CHECK_INT(back.mtime.tv_nsec, meta.mtime.tv_nsec);
	CHECK(back.version == meta.version);
	CHECK_INT(back.chunks, 2);
	static const char *const bad[] = {
		"", "crashfs1", "crashfs2 1 1.000000000 01 0",
		"crashfs1 -1 1.000000000 01 0", "crashfs1 1 1.000000000 01 0 x",
		"Y",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_INT(hbase_meta_parse((const unsigned char *)bad[i],
					   strlen(bad[i]), &back), -EINVAL);
	struct timespec time = hbase_timestamp_time(1413890000123);
	CHECK_INT(time.tv_sec, 1413890000);
	CHECK_INT(time.tv_nsec, 123000000);
}

static void test_schema(void)
{
	CHECK_STR(hbase_schema[HBASE_CRASH_REPORTS].name, "crash_reports");
	CHECK_INT(hbase_schema[HBASE_CRASH_REPORTS].family_count, 6);
	CHECK_STR(hbase_schema[HBASE_INDEX_LEGACY_UNPROCESSED_FLAG].name,
		  "crash_reports_index_legacy_unprocessed_flag");
	CHECK_INT(hbase_schema[HBASE_INDEX_LEGACY_UNPROCESSED_FLAG]
			  .families[1].max_versions, 5);
	CHECK_STR(hbase_schema[HBASE_INDEX_LEGACY_UNPROCESSED_FLAG]
			  .families[1].compression, "NONE");
	CHECK_STR(hbase_schema[HBASE_METRICS].name, "metrics");
	for (int i = 0; i < HBASE_TABLE_COUNT; i++)
		CHECK(hbase_schema[i].name && hbase_schema[i].family_count > 0);
}

int main(void)
{
	test_row_keys();
	test_timestamped_keys();
	test_metrics_rows();
	test_columns();
	test_records();
	test_schema();
	return unit_test_exit("test_hbase_schema");
}
