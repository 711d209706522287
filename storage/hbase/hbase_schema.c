/*
 * hbase_schema.c - tables, row keys and columns (see hbase_schema.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/hbase/hbase_schema.h"

#define FAMILY(name, versions, compression) { name, versions, compression }

const struct hbase_table_schema hbase_schema[HBASE_TABLE_COUNT] = {
	[HBASE_CRASH_REPORTS] = {
		"crash_reports",
		{ FAMILY("flags", 1, "LZO"), FAMILY("ids", 1, "LZO"),
		  FAMILY("meta_data", 3, "LZO"),
		  FAMILY("processed_data", 3, "LZO"),
		  FAMILY("raw_data", 3, "LZO"),
		  FAMILY("timestamps", 1, "LZO") },
		6 },
	[HBASE_INDEX_SUBMITTED_TIME] = {
		"crash_reports_index_submitted_time",
		{ FAMILY("ids", 1, "LZO") }, 1 },
	[HBASE_INDEX_UNPROCESSED_FLAG] = {
		"crash_reports_index_unprocessed_flag",
		{ FAMILY("ids", 1, "NONE"),
		  FAMILY("processor_state", 5, "NONE") },
		2 },
	[HBASE_INDEX_LEGACY_UNPROCESSED_FLAG] = {
		"crash_reports_index_legacy_unprocessed_flag",
		{ FAMILY("ids", 1, "NONE"),
		  FAMILY("processor_state", 5, "NONE") },
		2 },
	[HBASE_INDEX_LEGACY_SUBMITTED_TIME] = {
		"crash_reports_index_legacy_submitted_time",
		{ FAMILY("ids", 1, "LZO") }, 1 },
	[HBASE_INDEX_HANG_ID] = {
		"crash_reports_index_hang_id",
		{ FAMILY("ids", 1, "LZO") }, 1 },
	[HBASE_INDEX_HANG_ID_SUBMITTED_TIME] = {
		"crash_reports_index_hang_id_submitted_time",
		{ FAMILY("ids", 1, "LZO") }, 1 },
	[HBASE_INDEX_SIGNATURE_OOID] = {
		"crash_reports_index_signature_ooid",
		{ FAMILY("ids", 1, "LZO") }, 1 },
	[HBASE_INDEX_LEGACY_PROCESSED] = {
		"crash_reports_index_legacy_processed",
		{ FAMILY("ids", 1, "NONE") }, 1 },
	[HBASE_INDEX_PRIORITY_PROCESSED] = {
		"crash_reports_index_priority_processed",
		{ FAMILY("ids", 1, "NONE") }, 1 },
	[HBASE_CRASH_REPORT_SIGNATURES] = {
		"crash_report_signatures",
		{ FAMILY("counters", 1, "LZO"), FAMILY("json", 3, "LZO") },
		2 },
	[HBASE_METRICS] = {
		"metrics",
		{ FAMILY("counters", 1, "LZO") }, 1 },
};

/* -- row keys ------------------------------------------------------------ */

void hbase_row_key(const char *crash_id, char out[HBASE_ROW_KEY_LENGTH + 1])
{
	out[0] = crash_id[0];
	memcpy(out + 1, crash_id + CRASH_ID_LENGTH - 6, 6);
	memcpy(out + 7, crash_id, CRASH_ID_LENGTH);
	out[HBASE_ROW_KEY_LENGTH] = '\0';
}

const char *hbase_row_key_crash_id(const char *row_key)
{
	if (strlen(row_key) != HBASE_ROW_KEY_LENGTH)
		return NULL;
	const char *crash_id = row_key + 7;
	if (row_key[0] != crash_id[0] ||
	    memcmp(row_key + 1, crash_id + CRASH_ID_LENGTH - 6, 6) != 0 ||
	    !crash_id_is_valid(crash_id))
		return NULL;
	return crash_id;
}

size_t hbase_key_timestamp_length(const char *timestamp)
{
	size_t length = strlen(timestamp);
	if (length >= 6 &&
	    (timestamp[length - 6] == '+' || timestamp[length - 6] == '-'))
		return length - 6;
	return length;
}

char *hbase_timestamped_key(const char *key, const char *timestamp)
{
	size_t key_length = strlen(key);
	if (key_length == 0)
		return NULL;
	size_t stamp = hbase_key_timestamp_length(timestamp);
	char *out = malloc(1 + stamp + key_length + 1);
	if (!out)
		return NULL;
	out[0] = key[0];
	memcpy(out + 1, timestamp, stamp);
	memcpy(out + 1 + stamp, key, key_length + 1);
	return out;
}

int hbase_metrics_rows(const char *timestamp, char *rows[5])
{
	static const size_t lengths[5] = { 16, 13, 10, 7, 4 };
	size_t length = strlen(timestamp);
	int count = 0;
	for (int i = 0; i < 5; i++) {
		size_t take = lengths[i] < length ? lengths[i] : length;
		if (count > 0 && strlen(rows[count - 1]) == take)
			continue; /* the same row again: ts is short */
		rows[count] = strndup(timestamp, take);
		if (!rows[count]) {
			while (count > 0)
				free(rows[--count]);
			return -ENOMEM;
		}
		count++;
	}
	return count;
}

/* -- parts and columns --------------------------------------------------- */

#define META_PREFIX "timestamps:crashfs."
#define CHUNK_MARK "@crashfs-"

void hbase_part_data_column(const struct crash_part *part,
			    char out[HBASE_COLUMN_MAX])
{
	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
		snprintf(out, HBASE_COLUMN_MAX, "meta_data:json");
		return;
	case CRASH_PART_PROCESSED:
		snprintf(out, HBASE_COLUMN_MAX, "processed_data:crashfs_jsonz");
		return;
	case CRASH_PART_DUMP:
		snprintf(out, HBASE_COLUMN_MAX, "raw_data:%s",
			 part->dump_name ? part->dump_name : "dump");
		return;
	}
	out[0] = '\0';
}

void hbase_part_meta_column(const struct crash_part *part,
			    char out[HBASE_COLUMN_MAX])
{
	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
		snprintf(out, HBASE_COLUMN_MAX, META_PREFIX "json");
		return;
	case CRASH_PART_PROCESSED:
		snprintf(out, HBASE_COLUMN_MAX, META_PREFIX "jsonz");
		return;
	case CRASH_PART_DUMP:
		if (part->dump_name)
			snprintf(out, HBASE_COLUMN_MAX, META_PREFIX "dump.%s",
				 part->dump_name);
		else
			snprintf(out, HBASE_COLUMN_MAX, META_PREFIX "dump");
		return;
	}
	out[0] = '\0';
}

static int dump_part(const char *name, struct crash_part *part,
		     char name_buf[CRASH_DUMP_NAME_MAX + 1])
{
	part->type = CRASH_PART_DUMP;
	part->dump_name = NULL;
	/* Socorro's names of the main dump (A.5, A.7). */
	if (strcmp(name, "dump") == 0 || strcmp(name, "") == 0 ||
	    strcmp(name, CRASH_MAIN_DUMP_NAME) == 0)
		return 0;
	if (!crash_dump_name_is_valid(name))
		return -EINVAL;
	snprintf(name_buf, CRASH_DUMP_NAME_MAX + 1, "%s", name);
	part->dump_name = name_buf;
	return 0;
}

int hbase_meta_column_part(const char *column, struct crash_part *part,
			   char name_buf[CRASH_DUMP_NAME_MAX + 1])
{
	if (strncmp(column, META_PREFIX, strlen(META_PREFIX)) != 0)
		return -EINVAL;
	const char *what = column + strlen(META_PREFIX);
	part->dump_name = NULL;
	if (strcmp(what, "json") == 0) {
		part->type = CRASH_PART_RAW_CRASH;
		return 0;
	}
	if (strcmp(what, "jsonz") == 0) {
		part->type = CRASH_PART_PROCESSED;
		return 0;
	}
	if (strcmp(what, "dump") == 0)
		return dump_part("dump", part, name_buf);
	if (strncmp(what, "dump.", 5) == 0 && what[5] &&
	    strcmp(what + 5, "dump") != 0)
		return dump_part(what + 5, part, name_buf);
	return -EINVAL;
}

int hbase_dump_column_part(const char *column, struct crash_part *part,
			   char name_buf[CRASH_DUMP_NAME_MAX + 1])
{
	if (strncmp(column, "raw_data:", 9) != 0)
		return -EINVAL;
	return dump_part(column + 9, part, name_buf);
}

void hbase_chunk_column(const char *data_column, uint64_t version,
			unsigned index, char out[HBASE_COLUMN_MAX])
{
	snprintf(out, HBASE_COLUMN_MAX, "%s" CHUNK_MARK "%016" PRIx64 "-%u",
		 data_column, version, index);
}

bool hbase_is_chunk_column(const char *column, const char *data_column)
{
	size_t length = strlen(data_column);
	return strncmp(column, data_column, length) == 0 &&
	       strncmp(column + length, CHUNK_MARK, strlen(CHUNK_MARK)) == 0;
}

int hbase_meta_format(const struct hbase_part_meta *meta,
		      char out[HBASE_META_MAX])
{
	return snprintf(out, HBASE_META_MAX,
			"crashfs1 %" PRId64 " %lld.%09ld %016" PRIx64 " %u",
			meta->size, (long long)meta->mtime.tv_sec,
			meta->mtime.tv_nsec, meta->version, meta->chunks);
}

int hbase_meta_parse(const unsigned char *value, size_t length,
		     struct hbase_part_meta *meta)
{
	char text[HBASE_META_MAX];
	if (length == 0 || length >= sizeof text)
		return -EINVAL;
	memcpy(text, value, length);
	text[length] = '\0';
	long long size, seconds;
	long nanoseconds;
	uint64_t version;
	unsigned chunks;
	int consumed = 0;
	if (sscanf(text, "crashfs1 %lld %lld.%9ld %" SCNx64 " %u%n", &size,
		   &seconds, &nanoseconds, &version, &chunks,
		   &consumed) != 5 ||
	    (size_t)consumed != length || size < 0 || nanoseconds < 0 ||
	    nanoseconds > 999999999L)
		return -EINVAL;
	meta->size = size;
	meta->mtime.tv_sec = (time_t)seconds;
	meta->mtime.tv_nsec = nanoseconds;
	meta->version = version;
	meta->chunks = chunks;
	return 0;
}

struct timespec hbase_timestamp_time(int64_t milliseconds)
{
	struct timespec time = {
		.tv_sec = (time_t)(milliseconds / 1000),
		.tv_nsec = (long)(milliseconds % 1000) * 1000000L,
	};
	return time;
}
