/*
 * hbase_state.c - a crash's row as crashfs reads it: which parts it has,
 * their sizes, mtimes and versions, from one small read.
 *
 * One getRowWithColumns of the row's timestamps family (where crashfs
 * keeps a record of each part it wrote, next to Socorro's submitted and
 * processed times) and flags:processed.  A record is current when it is
 * at least as new as the Socorro column written with the same part:
 *
 *   - the raw crash and dumps: Socorro's save_raw_crash writes them with
 *     timestamps:submitted in one mutateRow (one cell timestamp), and so
 *     does crashfs's (with its records).  While the raw crash's record is
 *     as new as timestamps:submitted (or there is no submission at all),
 *     crashfs wrote the raw crash last and has a record of every dump
 *     (it adopts the dumps of a crash Socorro wrote when it writes such a
 *     crash's raw crash: hbase_adopt_mutations);
 *   - the processed crash: likewise with timestamps:processed, which
 *     Socorro's save_processed and crashfs's write together with the JSON.
 *
 * When the records are not current (Socorro wrote the crash, or wrote it
 * again), the cells are asked for their lengths and timestamps (a scan of
 * the row through KeyOnlyFilter(true): the values are replaced by their
 * lengths, no bytes are fetched) and the processed crash's .jsonz is
 * made from processed_data:json.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/hbase/hbase_internal.h"

static const char *const state_columns[] = { "timestamps",
					     "flags:processed" };

void hbase_state_release(struct hbase_crash_state *state)
{
	free(state->submitted);
	free(state->counted);
	free(state->parts);
	memset(state, 0, sizeof *state);
}

static char *text_value(const struct hbase_cell *cell)
{
	return hbase_text(cell->value, cell->value_length);
}

static struct hbase_part_info *add_part(struct hbase_crash_state *state,
					const struct crash_part *part)
{
	struct hbase_part_info *found = hbase_state_find(state, part);
	if (found)
		return found;
	struct hbase_part_info *grown = realloc(
		state->parts, (state->part_count + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	state->parts = grown;
	/* A dump's name lives in its entry: point again into the moved
	 * ones. */
	for (size_t i = 0; i < state->part_count; i++)
		if (grown[i].part.dump_name)
			grown[i].part.dump_name = grown[i].dump_name;
	struct hbase_part_info *info = &grown[state->part_count++];
	memset(info, 0, sizeof *info);
	info->part.type = part->type;
	if (part->dump_name) {
		snprintf(info->dump_name, sizeof info->dump_name, "%s",
			 part->dump_name);
		info->part.dump_name = info->dump_name;
	}
	return info;
}

static void remove_part_at(struct hbase_crash_state *state, size_t index)
{
	memmove(&state->parts[index], &state->parts[index + 1],
		(state->part_count - index - 1) * sizeof *state->parts);
	state->part_count--;
	/* dump_name points into its own entry: fix the moved ones. */
	for (size_t i = index; i < state->part_count; i++)
		if (state->parts[i].part.dump_name)
			state->parts[i].part.dump_name =
				state->parts[i].dump_name;
}

struct hbase_part_info *hbase_state_find(struct hbase_crash_state *state,
					 const struct crash_part *part)
{
	for (size_t i = 0; i < state->part_count; i++)
		if (crash_part_equal(&state->parts[i].part, part))
			return &state->parts[i];
	return NULL;
}

/* One cell of the timestamps family (or flags:processed). */
static int read_cell(struct hbase_crash_state *state,
		     const struct hbase_cell *cell)
{
	if (cell->timestamp > state->newest_time)
		state->newest_time = cell->timestamp;
	if (strcmp(cell->column, "timestamps:submitted") == 0) {
		state->submitted = text_value(cell);
		state->submitted_time = cell->timestamp;
		return state->submitted ? 0 : -ENOMEM;
	}
	if (strcmp(cell->column, "timestamps:processed") == 0) {
		state->has_processed_time = true;
		state->processed_time = cell->timestamp;
		return 0;
	}
	if (strcmp(cell->column, "flags:processed") == 0) {
		state->processed_flag = cell->value_length ? (char)cell->value[0]
							   : 0;
		return 0;
	}
	if (strcmp(cell->column, "timestamps:crashfs.counted") == 0) {
		state->counted = text_value(cell);
		return state->counted ? 0 : -ENOMEM;
	}
	struct crash_part part;
	char name[CRASH_DUMP_NAME_MAX + 1];
	struct hbase_part_meta meta;
	if (hbase_meta_column_part(cell->column, &part, name) < 0 ||
	    hbase_meta_parse(cell->value, cell->value_length, &meta) < 0)
		return 0; /* not a record of crashfs's: not ours to read */
	struct hbase_part_info *info = add_part(state, &part);
	if (!info)
		return -ENOMEM;
	info->source = HBASE_SOURCE_META;
	info->meta = meta;
	info->has_meta = true;
	info->cell_timestamp = cell->timestamp; /* the record's own time */
	return 0;
}

static bool raw_records_current(struct hbase_crash_state *state)
{
	if (!state->submitted)
		return true;
	struct crash_part raw = { .type = CRASH_PART_RAW_CRASH };
	struct hbase_part_info *info = hbase_state_find(state, &raw);
	return info && info->cell_timestamp >= state->submitted_time;
}

static bool processed_record_current(struct hbase_crash_state *state)
{
	if (!state->has_processed_time)
		return true;
	struct crash_part processed = { .type = CRASH_PART_PROCESSED };
	struct hbase_part_info *info = hbase_state_find(state, &processed);
	return info && info->cell_timestamp >= state->processed_time;
}

int64_t hbase_probed_length(const struct hbase_cell *cell)
{
	if (cell->value_length != 4)
		return -1;
	return ((int64_t)cell->value[0] << 24) | ((int64_t)cell->value[1] << 16) |
	       ((int64_t)cell->value[2] << 8) | (int64_t)cell->value[3];
}

int hbase_probe_lengths(struct hbase_store *self, struct hbase_client *client,
			struct crash_call *call, const char *row_key,
			struct hbase_row *row, bool *found)
{
	static const char *const columns[] = { "meta_data:json", "raw_data" };
	/* The smallest key after every key that starts with row_key. */
	char stop[HBASE_ROW_KEY_LENGTH + 2];
	snprintf(stop, sizeof stop, "%s", row_key);
	stop[strlen(stop) - 1]++;
	struct hbase_scan scan = {
		.start_row = row_key,
		.stop_row = stop,
		.columns = columns,
		.column_count = 2,
		.filter = "KeyOnlyFilter(true)",
		.caching = 1,
	};
	int32_t scanner;
	*found = false;
	memset(row, 0, sizeof *row);
	atomic_fetch_add(&self->probes, 1);
	int result = hbase_client_scanner_open(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), &scan,
		&scanner);
	if (result < 0)
		return result;
	struct hbase_row *rows = NULL;
	size_t count = 0;
	result = hbase_client_scanner_next(client, call, scanner, 1, &rows,
					   &count);
	if (result == 0 && count == 1 && strcmp(rows[0].key, row_key) == 0) {
		*row = rows[0];
		memset(&rows[0], 0, sizeof rows[0]);
		*found = true;
	}
	hbase_rows_free(rows, count);
	if (!hbase_client_broken(client)) {
		int closed = hbase_client_scanner_close(client, call, scanner);
		if (result == 0)
			result = closed;
	}
	if (result < 0)
		hbase_row_release(row);
	return result;
}

/* The raw crash and dumps from the cells themselves. */
static int resolve_from_cells(struct hbase_crash_state *state,
			      const struct hbase_row *probed)
{
	/* What the records say is kept only where a record is as new as
	 * its cell (crashfs wrote that part after Socorro's last save). */
	struct hbase_part_info *kept = state->parts;
	size_t kept_count = state->part_count;
	state->parts = NULL;
	state->part_count = 0;
	int result = 0;
	for (size_t i = 0; result == 0 && i < probed->cell_count; i++) {
		const struct hbase_cell *cell = &probed->cells[i];
		struct crash_part part;
		char name[CRASH_DUMP_NAME_MAX + 1];
		if (strcmp(cell->column, "meta_data:json") == 0)
			part = (struct crash_part){ CRASH_PART_RAW_CRASH, NULL };
		else if (hbase_dump_column_part(cell->column, &part, name) < 0)
			continue; /* a chunk, or no name crashfs can show */
		if (cell->timestamp > state->newest_time)
			state->newest_time = cell->timestamp;
		struct hbase_part_info *info = add_part(state, &part);
		if (!info) {
			result = -ENOMEM;
			break;
		}
		info->source = HBASE_SOURCE_CELL;
		info->cell_timestamp = cell->timestamp;
		info->cell_length = hbase_probed_length(cell);
		for (size_t k = 0; k < kept_count; k++) {
			struct hbase_part_info *record = &kept[k];
			if (!crash_part_equal(&record->part, &part))
				continue;
			info->has_meta = true;
			info->meta = record->meta;
			if (record->cell_timestamp >= cell->timestamp &&
			    record->meta.chunks == 0 &&
			    record->meta.size == info->cell_length)
				info->source = HBASE_SOURCE_META;
		}
	}
	/* Chunked dumps have no cell of their own name: their records
	 * stand, when their first chunk is there. */
	for (size_t k = 0; result == 0 && k < kept_count; k++) {
		struct hbase_part_info *record = &kept[k];
		if (record->meta.chunks == 0 ||
		    record->part.type != CRASH_PART_DUMP)
			continue;
		char data[HBASE_COLUMN_MAX], chunk[HBASE_COLUMN_MAX];
		hbase_part_data_column(&record->part, data);
		hbase_chunk_column(data, record->meta.version, 0, chunk);
		if (!hbase_row_cell(probed, chunk))
			continue;
		struct hbase_part_info *info = add_part(state, &record->part);
		if (!info) {
			result = -ENOMEM;
			break;
		}
		*info = *record;
		if (info->part.dump_name)
			info->part.dump_name = info->dump_name;
	}
	/* The processed crash's record is judged on its own. */
	for (size_t k = 0; result == 0 && k < kept_count; k++) {
		if (kept[k].part.type != CRASH_PART_PROCESSED)
			continue;
		struct hbase_part_info *info = add_part(state, &kept[k].part);
		if (!info)
			result = -ENOMEM;
		else
			*info = kept[k];
	}
	free(kept);
	return result;
}

/* The processed crash when Socorro wrote it last: a .jsonz to make. */
static int resolve_processed(struct hbase_crash_state *state)
{
	struct crash_part processed = { .type = CRASH_PART_PROCESSED };
	struct hbase_part_info *info = hbase_state_find(state, &processed);
	if (!info) {
		info = add_part(state, &processed);
		if (!info)
			return -ENOMEM;
	}
	info->source = HBASE_SOURCE_PROCESSED_JSON;
	info->cell_timestamp = state->processed_time;
	return 0;
}

int hbase_state_read(struct hbase_store *self, struct hbase_client *client,
		     struct crash_call *call, const char *crash_id,
		     struct hbase_crash_state *state)
{
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	struct hbase_row row;
	bool found;
	memset(state, 0, sizeof *state);
	hbase_row_key(crash_id, row_key);
	int result = hbase_client_get_row(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), row_key,
		state_columns, 2, &row, &found);
	if (result < 0)
		return result;
	for (size_t i = 0; result == 0 && i < row.cell_count; i++)
		result = read_cell(state, &row.cells[i]);
	hbase_row_release(&row);
	if (result == 0 && !raw_records_current(state)) {
		struct hbase_row probed;
		bool probed_found;
		result = hbase_probe_lengths(self, client, call, row_key,
					     &probed, &probed_found);
		if (result == 0) {
			state->probed = true;
			result = resolve_from_cells(state, &probed);
			hbase_row_release(&probed);
		}
	}
	if (result == 0 && !processed_record_current(state))
		result = resolve_processed(state);
	if (result == -ENOMEM)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	if (result < 0)
		return result;
	/* A record whose part was removed by hand is no part. */
	for (size_t i = state->part_count; i > 0; i--)
		if (state->parts[i - 1].source == 0)
			remove_part_at(state, i - 1);
	state->found = found && state->part_count > 0;
	return 0;
}
