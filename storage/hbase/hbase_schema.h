/*
 * hbase_schema.h - Socorro's HBase tables, families, row keys and
 * columns (spec/backends.md A.2-A.6), and the columns crashfs adds.
 *
 * Tables (A.2, analysis/hbase_schema), each under the store's table_prefix
 * ("" for Socorro's own names):
 *
 *   crash_reports                               the crashes, one row each
 *   crash_reports_index_submitted_time          ids:ooid by submission
 *   crash_reports_index_unprocessed_flag        ... still to process
 *   crash_reports_index_legacy_unprocessed_flag the queue (new_crashes)
 *   crash_reports_index_legacy_submitted_time   ...
 *   crash_reports_index_hang_id                 hang pairs
 *   crash_reports_index_hang_id_submitted_time  ...
 *   crash_reports_index_signature_ooid          processed, by signature
 *   crash_reports_index_legacy_processed        (made, never written)
 *   crash_reports_index_priority_processed      (made, never written)
 *   crash_report_signatures                     (made, never written)
 *   metrics                                     counters
 *
 * Row keys (A.3): a crash's row is crash_id_to_row_id(id) = id[0] +
 * id[-6:] + id (the salt, the date YYMMDD, the id), so a day's crashes of
 * one salt are contiguous and a radix directory is one prefix scan; index
 * rows are crash_id_to_timestamped_row_id(id, ts) = id[0] + ts + id, where
 * a trailing +HH:MM or -HH:MM of ts is cut off (not converted to UTC, as
 * Socorro did).
 *
 * Columns of a crash's row, Socorro's:
 *   meta_data:json             the raw crash, exactly the bytes written
 *   raw_data:dump              the main dump; raw_data:<name> the others
 *   processed_data:json        the processed crash (its JSON text)
 *   processed_data:signature   for the signature index
 *   timestamps:submitted, timestamps:processed, flags:processed (N/Y),
 *   flags:legacy_processing, ids:ooid, ids:hang
 * and crashfs's own, which Socorro never reads (it reads columns by name,
 * and raw_data as a family, where crashfs puts nothing but dumps):
 *   processed_data:crashfs_jsonz   the .jsonz exactly as written (Socorro
 *                                  keeps only the JSON inside it)
 *   timestamps:crashfs.<part>      a part's size, mtime, version and chunk
 *                                  count ("json", "jsonz", "dump" for the
 *                                  main dump, "dump.<name>"), so a stat
 *                                  fetches no part's bytes
 *   timestamps:crashfs.counted     the submission whose metrics were
 *                                  counted (no double counting on retry)
 *   timestamps:crashfs.changed     when a part was last removed
 *   raw_data:<dump>@crashfs-<version>-<n>
 *                                  chunk n of a dump larger than
 *                                  max_cell_size ("chunked": true); the
 *                                  '@' can be in no dump name
 * and in the queue's rows (crash_reports_index_legacy_unprocessed_flag),
 * next to Socorro's ids:ooid:
 *   ids:crashfs.version            the save that queued the crash (the ack
 *                                  of an older save's entry leaves it
 *                                  queued)
 *
 * Pure data and functions; any thread.
 */
#ifndef CRASHFS_STORAGE_HBASE_HBASE_SCHEMA_H
#define CRASHFS_STORAGE_HBASE_HBASE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"
#include "storage/crash_store.h"
#include "storage/hbase/hbase_client.h"

enum hbase_table_id {
	HBASE_CRASH_REPORTS = 0,
	HBASE_INDEX_SUBMITTED_TIME,
	HBASE_INDEX_UNPROCESSED_FLAG,
	HBASE_INDEX_LEGACY_UNPROCESSED_FLAG,
	HBASE_INDEX_LEGACY_SUBMITTED_TIME,
	HBASE_INDEX_HANG_ID,
	HBASE_INDEX_HANG_ID_SUBMITTED_TIME,
	HBASE_INDEX_SIGNATURE_OOID,
	HBASE_INDEX_LEGACY_PROCESSED,
	HBASE_INDEX_PRIORITY_PROCESSED,
	HBASE_CRASH_REPORT_SIGNATURES,
	HBASE_METRICS,
	HBASE_TABLE_COUNT
};

#define HBASE_FAMILIES_MAX 6

struct hbase_table_schema {
	const char *name;
	struct hbase_family families[HBASE_FAMILIES_MAX];
	size_t family_count;
};

/* A.2, in enum hbase_table_id order. */
extern const struct hbase_table_schema hbase_schema[HBASE_TABLE_COUNT];

/* -- row keys (A.3) ------------------------------------------------------ */

/* id[0] + id[-6:] + id: 43 characters. */
#define HBASE_ROW_KEY_LENGTH (1 + 6 + CRASH_ID_LENGTH)
void hbase_row_key(const char *crash_id, char out[HBASE_ROW_KEY_LENGTH + 1]);
/* The crash id of a crash_reports row key (row[7:]), or NULL when the key
 * is not one crash_id_to_row_id makes. */
const char *hbase_row_key_crash_id(const char *row_key);

/* The timestamp part of an index key: ts without a trailing "+HH:MM" or
 * "-HH:MM" (A.3).  Socorro raised IndexError for a ts of fewer than six
 * characters; crashfs keeps such a ts whole.  Returns its length. */
size_t hbase_key_timestamp_length(const char *timestamp);
/* key[0] + timestamp part + key (malloc'd; NULL if out of memory or key
 * is empty).  key is a crash id, or a HangID for the hang indexes. */
char *hbase_timestamped_key(const char *key, const char *timestamp);

/* The metrics rows of a submission (A.5 step 6): ts[:16], ts[:13],
 * ts[:10], ts[:7], ts[:4] (minute, hour, day, month, year), each once
 * (Socorro incremented a short ts's one row five times).  Writes up to 5
 * malloc'd strings into rows; returns their count, -ENOMEM. */
int hbase_metrics_rows(const char *timestamp, char *rows[5]);

/* -- parts and columns --------------------------------------------------- */

/* The longest column name crashfs makes. */
#define HBASE_COLUMN_MAX (64 + CRASH_DUMP_NAME_MAX)

/* The column holding the part's bytes (unchunked): "meta_data:json",
 * "raw_data:dump", "raw_data:<name>", "processed_data:crashfs_jsonz". */
void hbase_part_data_column(const struct crash_part *part,
			    char out[HBASE_COLUMN_MAX]);
/* The column of crashfs's record of the part: "timestamps:crashfs.json",
 * ... (see above). */
void hbase_part_meta_column(const struct crash_part *part,
			    char out[HBASE_COLUMN_MAX]);
/* The part a timestamps:crashfs.<part> column records; name_buf holds a
 * dump's name.  Returns 0, or -EINVAL for another column. */
int hbase_meta_column_part(const char *column, struct crash_part *part,
			   char name_buf[CRASH_DUMP_NAME_MAX + 1]);
/* The dump a raw_data column holds: 0, or -EINVAL for a qualifier that is
 * no dump name crashfs can show (a chunk, a name with ':' Socorro would
 * cut, ...).  Socorro's "dump" is the main dump. */
int hbase_dump_column_part(const char *column, struct crash_part *part,
			   char name_buf[CRASH_DUMP_NAME_MAX + 1]);
/* Chunk index of a chunked dump: "<data column>@crashfs-<version>-<n>". */
void hbase_chunk_column(const char *data_column, uint64_t version,
			unsigned index, char out[HBASE_COLUMN_MAX]);
/* True for a chunk column of data_column (any version). */
bool hbase_is_chunk_column(const char *column, const char *data_column);

/* The column of a queue row saying which save queued it. */
#define HBASE_QUEUE_VERSION "ids:crashfs.version"

/* A part as crashfs recorded it. */
struct hbase_part_meta {
	int64_t size;
	struct timespec mtime;
	uint64_t version;
	unsigned chunks; /* 0: one cell */
};
/* "crashfs1 <size> <sec>.<nsec> <version hex> <chunks>" */
#define HBASE_META_MAX 96
int hbase_meta_format(const struct hbase_part_meta *meta,
		      char out[HBASE_META_MAX]);
/* 0, or -EINVAL for a value crashfs did not write. */
int hbase_meta_parse(const unsigned char *value, size_t length,
		     struct hbase_part_meta *meta);

/* Milliseconds (an HBase cell timestamp) as a timespec. */
struct timespec hbase_timestamp_time(int64_t milliseconds);

#endif
