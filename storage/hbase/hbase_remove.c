/*
 * hbase_remove.c - remove and remove_part, which Socorro's HBase store
 * never had (A.7: NotImplementedError).
 *
 * remove deletes the crash's index rows first (their keys come from the
 * row: the submission time, the signature, the hang id), then the row: a
 * failure part-way leaves the crash there, and removing it again finishes
 * the job.  remove_part deletes a part's cells and record in one
 * mutateRow, and removes the crash when it was its last part.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/hbase/hbase_internal.h"

static void drop_cached_parts(struct hbase_store *self, const char *crash_id,
			      const struct hbase_crash_state *state)
{
	for (size_t i = 0; i < state->part_count; i++)
		hbase_cache_drop(self, crash_id, &state->parts[i].part);
}

static int remove_leased(struct hbase_store *self, struct hbase_client *client,
			 struct crash_call *call, const char *crash_id,
			 const struct hbase_crash_state *state)
{
	int result = hbase_index_remove_crash(self, client, call, crash_id,
					      state);
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(crash_id, row_key);
	if (result == 0)
		result = hbase_client_delete_row(
			client, call, hbase_table(self, HBASE_CRASH_REPORTS),
			row_key);
	if (result == 0)
		hbase_delete_done(self);
	drop_cached_parts(self, crash_id, state);
	return result;
}

static int remove_now(struct crash_store *store, struct crash_call *call,
		 const char *crash_id)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	struct hbase_crash_state state;
	result = hbase_state_read(self, client, call, crash_id, &state);
	if (result == 0 && !state.found)
		result = crash_error_set(&call->error, -ENOENT,
					 "crash %s is not here", crash_id);
	if (result == 0)
		result = remove_leased(self, client, call, crash_id, &state);
	hbase_state_release(&state);
	hbase_lease_put(self, client);
	return result;
}

/* The columns holding a part: its cell(s) and record, and for a processed
 * crash Socorro's JSON and processing time too (else the .jsonz would be
 * made again from them). */
static size_t part_deletes(const struct hbase_part_info *info,
			   struct hbase_mutation *deletes,
			   char (*columns)[HBASE_COLUMN_MAX], size_t room)
{
	size_t count = 0;
	char data[HBASE_COLUMN_MAX];
	hbase_part_data_column(&info->part, data);
	if (info->has_meta && info->meta.chunks > 0) {
		for (unsigned i = 0; i < info->meta.chunks && count + 4 < room;
		     i++)
			hbase_chunk_column(data, info->meta.version, i,
					   columns[count++]);
	}
	snprintf(columns[count++], HBASE_COLUMN_MAX, "%s", data);
	hbase_part_meta_column(&info->part, columns[count++]);
	if (info->part.type == CRASH_PART_PROCESSED) {
		snprintf(columns[count++], HBASE_COLUMN_MAX,
			 "processed_data:json");
		snprintf(columns[count++], HBASE_COLUMN_MAX,
			 "timestamps:processed");
	}
	for (size_t i = 0; i < count; i++)
		deletes[i] = (struct hbase_mutation){ .column = columns[i],
						      .is_delete = true };
	return count;
}

static int remove_one_part(struct hbase_store *self,
			   struct hbase_client *client,
			   struct crash_call *call, const char *crash_id,
			   const struct hbase_part_info *info)
{
	size_t room = 8 + (info->has_meta ? info->meta.chunks : 0);
	struct hbase_mutation *mutations = calloc(room, sizeof *mutations);
	char (*columns)[HBASE_COLUMN_MAX] = calloc(room, sizeof *columns);
	if (!mutations || !columns) {
		free(mutations);
		free(columns);
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	}
	size_t count = part_deletes(info, mutations, columns, room);
	/* The crash's directory changed: its mtime says so. */
	char now[32];
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	mutations[count++] = (struct hbase_mutation){
		.column = "timestamps:crashfs.changed", .value = now,
		.value_length = strlen(now) };
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(crash_id, row_key);
	hbase_delete_fence(self);
	int result = hbase_client_mutate_row(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), row_key,
		mutations, count);
	if (result == 0)
		hbase_delete_done(self);
	free(mutations);
	free(columns);
	return result;
}

static int remove_part_now(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_part *part)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	struct hbase_crash_state state;
	result = hbase_state_read(self, client, call, crash_id, &state);
	struct hbase_part_info *info =
		result == 0 ? hbase_state_find(&state, part) : NULL;
	if (result == 0 && !info)
		result = crash_error_set(&call->error, -ENOENT,
					 "that part of crash %s is not here",
					 crash_id);
	if (result == 0 && state.part_count == 1)
		result = remove_leased(self, client, call, crash_id, &state);
	else if (result == 0)
		result = remove_one_part(self, client, call, crash_id, info);
	if (info)
		hbase_cache_drop(self, crash_id, part);
	hbase_state_release(&state);
	hbase_lease_put(self, client);
	return result;
}

/* The crash's cached state is forgotten before and after the write
 * (hbase_state_cache.h). */
int hbase_remove(struct crash_store *store, struct crash_call *call,
		 const char *crash_id)
{
	struct hbase_store *self = hbase_store_from(store);
	hbase_forget_state(self, crash_id);
	int result = remove_now(store, call, crash_id);
	hbase_forget_state(self, crash_id);
	return result;
}

/* The crash's cached state is forgotten before and after the write
 * (hbase_state_cache.h). */
int hbase_remove_part(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_part *part)
{
	struct hbase_store *self = hbase_store_from(store);
	hbase_forget_state(self, crash_id);
	int result = remove_part_now(store, call, crash_id, part);
	hbase_forget_state(self, crash_id);
	return result;
}
