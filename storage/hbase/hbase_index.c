/*
 * hbase_index.c - Socorro's index rows and metrics counters (spec
 * backends.md A.5 steps 4-6, A.6 steps 5 and 8, A.8), and their removal.
 *
 * Counting once.  HBase has no transactions: a retried save re-applies
 * every mutation (harmless, they are puts of the same cells) and every
 * atomicIncrement (not harmless).  Socorro counted again on each retry and
 * on each re-save.  crashfs counts a submission (crash id and submitted
 * timestamp) once: before the increments it writes the timestamp it counts
 * into timestamps:crashfs.counted of the crash's row, and it counts only
 * when that cell held another timestamp.  A failure between the marker and
 * the last increment loses the increments not yet made (they are never
 * made twice).  The queue gauges follow the crash's state instead of its
 * saves: current_unprocessed_size goes up when flags:processed becomes N
 * and down when it becomes Y, current_legacy_unprocessed_size up when the
 * queue row is made and down when it is deleted (ack, remove); each is
 * decided from what was read before the write, so a retry after the
 * write sees the new state and does not count it again.
 *
 * Socorro incremented current_unprocessed_size only for crashes whose
 * ProcessType was not "default" (an indentation slip; its older HBase
 * client did it for every crash) and decremented it for all: here every
 * crash counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/hbase/hbase_internal.h"

#define QUEUE_ROW "crash_report_queue"
#define UNPROCESSED_SIZE "counters:current_unprocessed_size"
#define LEGACY_UNPROCESSED_SIZE "counters:current_legacy_unprocessed_size"

static int out_of_memory(struct crash_call *call)
{
	return crash_error_set(&call->error, -ENOMEM, "out of memory");
}

/* mutateRow(table, key, [column = value]). */
static int put_one(struct hbase_store *self, struct hbase_client *client,
		   struct crash_call *call, enum hbase_table_id table,
		   const char *key, const char *column, const char *value)
{
	struct hbase_mutation put = { .column = column, .value = value,
				      .value_length = strlen(value) };
	return hbase_client_mutate_row(client, call, hbase_table(self, table),
				       key, &put, 1);
}

static int delete_row(struct hbase_store *self, struct hbase_client *client,
		      struct crash_call *call, enum hbase_table_id table,
		      const char *key)
{
	int result = hbase_client_delete_row(client, call,
					     hbase_table(self, table), key);
	if (result == 0)
		hbase_delete_done(self);
	return result;
}

int hbase_row_exists(struct hbase_store *self, struct hbase_client *client,
		     struct crash_call *call, enum hbase_table_id table,
		     const char *row_key, const char *column, bool *exists)
{
	struct hbase_row row;
	const char *columns[] = { column };
	int result = hbase_client_get_row(client, call,
					  hbase_table(self, table), row_key,
					  columns, 1, &row, exists);
	hbase_row_release(&row);
	return result;
}

int hbase_queue_gauge(struct hbase_store *self, struct hbase_client *client,
		      struct crash_call *call, const char *column,
		      int64_t delta)
{
	if (!self->options.metrics)
		return 0;
	return hbase_client_increment(client, call,
				      hbase_table(self, HBASE_METRICS),
				      QUEUE_ROW, column, delta, NULL);
}

/* The counters of one submission (A.5 step 6, list C). */
static int counter_columns(const struct hbase_submission *submission,
			   char columns[3][160])
{
	int count = 0;
	snprintf(columns[count++], 160, "counters:submitted_crash_reports");
	/* Socorro formatted legacy_processing with %d (a string raised
	 * TypeError): crashfs counts numbers only. */
	if (submission->legacy_known)
		snprintf(columns[count++], 160,
			 "counters:submitted_crash_reports_legacy_throttle_%lld",
			 submission->legacy_value);
	if (strcmp(submission->process_type, "default") != 0) {
		if (submission->hang_id)
			snprintf(columns[count++], 160,
				 "counters:submitted_crash_report_hang_pairs");
		else
			snprintf(columns[count++], 160,
				 "counters:submitted_oop_%.100s_crash_reports",
				 submission->process_type);
	}
	return count;
}

static int count_submission(struct hbase_store *self,
			    struct hbase_client *client,
			    struct crash_call *call,
			    const struct hbase_submission *submission)
{
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(submission->crash_id, row_key);
	/* The marker first: what follows is done at most once. */
	int result = put_one(self, client, call, HBASE_CRASH_REPORTS, row_key,
			     "timestamps:crashfs.counted",
			     submission->timestamp);
	if (result < 0)
		return result;
	char columns[3][160];
	int column_count = counter_columns(submission, columns);
	char *rows[5];
	int row_count = hbase_metrics_rows(submission->timestamp, rows);
	if (row_count < 0)
		return out_of_memory(call);
	for (int r = 0; result == 0 && r < row_count; r++)
		for (int c = 0; result == 0 && c < column_count; c++)
			result = hbase_client_increment(
				client, call, hbase_table(self, HBASE_METRICS),
				rows[r], columns[c], 1, NULL);
	for (int r = 0; r < row_count; r++)
		free(rows[r]);
	return result;
}

/* The hang pair's rows: column ids:ooid:<ProcessType> (with a colon in
 * the qualifier, as Socorro wrote it). */
static int index_hang(struct hbase_store *self, struct hbase_client *client,
		      struct crash_call *call,
		      const struct hbase_submission *submission)
{
	char column[160];
	snprintf(column, sizeof column, "ids:ooid:%.140s",
		 submission->process_type);
	char *key = hbase_timestamped_key(submission->hang_id,
					  submission->timestamp);
	if (!key)
		return out_of_memory(call);
	int result = put_one(self, client, call,
			     HBASE_INDEX_HANG_ID_SUBMITTED_TIME, key, column,
			     submission->crash_id);
	free(key);
	if (result == 0)
		result = put_one(self, client, call, HBASE_INDEX_HANG_ID,
				 submission->hang_id, column,
				 submission->crash_id);
	return result;
}

int hbase_index_submission(struct hbase_store *self,
			   struct hbase_client *client,
			   struct crash_call *call,
			   const struct hbase_submission *submission,
			   const struct hbase_crash_state *before)
{
	char *key = hbase_timestamped_key(submission->crash_id,
					  submission->timestamp);
	if (!key)
		return out_of_memory(call);
	static const enum hbase_table_id always[] = {
		HBASE_INDEX_SUBMITTED_TIME, HBASE_INDEX_UNPROCESSED_FLAG
	};
	static const enum hbase_table_id legacy[] = {
		HBASE_INDEX_LEGACY_UNPROCESSED_FLAG,
		HBASE_INDEX_LEGACY_SUBMITTED_TIME
	};
	bool queued_before = true;
	int result = 0;
	if (submission->legacy && self->options.metrics)
		result = hbase_row_exists(self, client, call,
					  HBASE_INDEX_LEGACY_UNPROCESSED_FLAG,
					  key, "ids:ooid", &queued_before);
	hbase_delete_fence(self);
	for (size_t i = 0; result == 0 && i < 2; i++)
		result = put_one(self, client, call, always[i], key,
				 "ids:ooid", submission->crash_id);
	/* The queue entry carries a version of this save, so that the ack
	 * of an entry a pass yielded before the crash was saved again leaves
	 * the new save queued (hbase_queue.c). */
	char version[24];
	snprintf(version, sizeof version, "%016" PRIx64, hbase_new_version());
	struct hbase_mutation entry[2] = {
		{ .column = "ids:ooid", .value = submission->crash_id,
		  .value_length = strlen(submission->crash_id) },
		{ .column = HBASE_QUEUE_VERSION, .value = version,
		  .value_length = strlen(version) },
	};
	if (result == 0 && submission->legacy)
		result = hbase_client_mutate_row(
			client, call,
			hbase_table(self, HBASE_INDEX_LEGACY_UNPROCESSED_FLAG),
			key, entry, 2);
	for (size_t i = 1; result == 0 && submission->legacy && i < 2; i++)
		result = put_one(self, client, call, legacy[i], key,
				 "ids:ooid", submission->crash_id);
	free(key);
	if (result == 0 && submission->hang_id)
		result = index_hang(self, client, call, submission);
	if (result < 0 || !self->options.metrics)
		return result;
	if (!before->counted ||
	    strcmp(before->counted, submission->timestamp) != 0)
		result = count_submission(self, client, call, submission);
	if (result == 0 && before->processed_flag != 'N')
		result = hbase_queue_gauge(self, client, call,
					   UNPROCESSED_SIZE, 1);
	if (result == 0 && submission->legacy && !queued_before)
		result = hbase_queue_gauge(self, client, call,
					   LEGACY_UNPROCESSED_SIZE, 1);
	return result;
}

/* Deletes the index row at key of table; gauge (if not NULL) goes down
 * if the row was there, so a retry never counts it twice. */
static int delete_counted(struct hbase_store *self,
			  struct hbase_client *client, struct crash_call *call,
			  enum hbase_table_id table, const char *key,
			  const char *gauge)
{
	bool there = true;
	int result = 0;
	if (gauge && self->options.metrics)
		result = hbase_row_exists(self, client, call, table, key,
					  "ids:ooid", &there);
	if (result < 0 || !there)
		return result;
	result = delete_row(self, client, call, table, key);
	if (result == 0 && gauge)
		result = hbase_queue_gauge(self, client, call, gauge, -1);
	return result;
}

int hbase_index_forget_submission(struct hbase_store *self,
				  struct hbase_client *client,
				  struct crash_call *call,
				  const char *crash_id, const char *timestamp,
				  bool unprocessed)
{
	char *key = hbase_timestamped_key(crash_id, timestamp);
	if (!key)
		return out_of_memory(call);
	int result = delete_counted(self, client, call,
				    HBASE_INDEX_LEGACY_UNPROCESSED_FLAG, key,
				    LEGACY_UNPROCESSED_SIZE);
	if (result == 0)
		result = delete_counted(self, client, call,
					HBASE_INDEX_UNPROCESSED_FLAG, key,
					unprocessed ? UNPROCESSED_SIZE : NULL);
	if (result == 0)
		result = delete_row(self, client, call,
				    HBASE_INDEX_SUBMITTED_TIME, key);
	if (result == 0)
		result = delete_row(self, client, call,
				    HBASE_INDEX_LEGACY_SUBMITTED_TIME, key);
	free(key);
	return result;
}

int hbase_index_processed(struct hbase_store *self,
			  struct hbase_client *client, struct crash_call *call,
			  const char *crash_id, const char *signature)
{
	char *key = NULL;
	if (asprintf(&key, "%s%s", signature, crash_id) < 0)
		return out_of_memory(call);
	int result = put_one(self, client, call, HBASE_INDEX_SIGNATURE_OOID,
			     key, "ids:ooid", crash_id);
	free(key);
	return result;
}

/* Deletes the columns of a hang row that name this crash (the row is
 * shared by the crashes of the pair). */
static int forget_hang(struct hbase_store *self, struct hbase_client *client,
		       struct crash_call *call, enum hbase_table_id table,
		       const char *key, const char *crash_id)
{
	const char *columns[] = { "ids" };
	struct hbase_row row;
	bool found;
	int result = hbase_client_get_row(client, call,
					  hbase_table(self, table), key,
					  columns, 1, &row, &found);
	if (result < 0 || !found) {
		hbase_row_release(&row);
		return result;
	}
	struct hbase_mutation *deletes = calloc(row.cell_count + 1,
						sizeof *deletes);
	if (!deletes) {
		hbase_row_release(&row);
		return out_of_memory(call);
	}
	size_t count = 0;
	for (size_t i = 0; i < row.cell_count; i++) {
		const struct hbase_cell *cell = &row.cells[i];
		if (cell->value_length == strlen(crash_id) &&
		    memcmp(cell->value, crash_id, cell->value_length) == 0)
			deletes[count++] = (struct hbase_mutation){
				.column = cell->column, .is_delete = true };
	}
	if (count > 0) {
		result = hbase_client_mutate_row(
			client, call, hbase_table(self, table), key, deletes,
			count);
		if (result == 0)
			hbase_delete_done(self);
	}
	free(deletes);
	hbase_row_release(&row);
	return result;
}

int hbase_index_remove_crash(struct hbase_store *self,
			     struct hbase_client *client,
			     struct crash_call *call, const char *crash_id,
			     const struct hbase_crash_state *state)
{
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(crash_id, row_key);
	const char *columns[] = { "ids:hang", "processed_data:signature" };
	struct hbase_row row;
	bool found;
	int result = hbase_client_get_row(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), row_key,
		columns, 2, &row, &found);
	if (result < 0)
		return result;
	const struct hbase_cell *hang = hbase_row_cell(&row, "ids:hang");
	const struct hbase_cell *signature =
		hbase_row_cell(&row, "processed_data:signature");
	char *hang_id = hang ? hbase_text(hang->value, hang->value_length)
			     : NULL;
	char *signature_key = NULL;
	if (signature) {
		size_t length = signature->value_length;
		signature_key = malloc(length + CRASH_ID_LENGTH + 1);
		if (signature_key) {
			memcpy(signature_key, signature->value, length);
			memcpy(signature_key + length, crash_id,
			       CRASH_ID_LENGTH + 1);
		}
	}
	hbase_row_release(&row);
	if ((hang && !hang_id) || (signature && !signature_key))
		result = out_of_memory(call);
	if (result == 0 && state->submitted)
		result = hbase_index_forget_submission(
			self, client, call, crash_id, state->submitted, true);
	if (result == 0 && signature_key)
		result = delete_row(self, client, call,
				    HBASE_INDEX_SIGNATURE_OOID, signature_key);
	if (result == 0 && hang_id && hang_id[0]) {
		result = forget_hang(self, client, call, HBASE_INDEX_HANG_ID,
				     hang_id, crash_id);
		char *key = state->submitted
				    ? hbase_timestamped_key(hang_id,
							    state->submitted)
				    : NULL;
		if (result == 0 && key)
			result = forget_hang(self, client, call,
					     HBASE_INDEX_HANG_ID_SUBMITTED_TIME,
					     key, crash_id);
		free(key);
	}
	free(hang_id);
	free(signature_key);
	return result;
}
