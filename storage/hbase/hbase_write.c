/*
 * hbase_write.c - save_raw_crash, save_dump, save_processed and
 * set_part_mtime (spec backends.md A.5, A.6).
 *
 * Each part goes in with crashfs's record of it (size, mtime, a new
 * version) in the same mutateRow, which HBase applies atomically to the
 * row: a reader sees the old part and record or the new ones.  A dump
 * larger than max_cell_size is refused with EFBIG, or, with "chunked",
 * written as numbered cells named after the new version, followed by its
 * record: readers of the old version go on finding the old cells until
 * the record switches, and then the old cells are deleted.
 *
 * Order within a save, so that a failure part-way leaves nothing a retry
 * cannot mend: the dumps, then the raw crash's row, then its index rows,
 * then the counters (hbase_index.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "storage/crash_log.h"
#include "storage/hbase/hbase_internal.h"

uint64_t hbase_new_version(void)
{
	uint64_t version = 0;
	if (getrandom(&version, sizeof version, 0) != sizeof version) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		version = ((uint64_t)now.tv_sec << 30) ^ (uint64_t)now.tv_nsec ^
			  ((uint64_t)getpid() << 48);
	}
	return version ? version : 1;
}

int hbase_write_meta_mutation(const struct crash_part *part,
			      const struct hbase_part_meta *meta,
			      char column[HBASE_COLUMN_MAX],
			      char value[HBASE_META_MAX],
			      struct hbase_mutation *mutation)
{
	hbase_part_meta_column(part, column);
	int length = hbase_meta_format(meta, value);
	*mutation = (struct hbase_mutation){ .column = column, .value = value,
					     .value_length = (size_t)length };
	return 0;
}

int hbase_adopt_mutations(struct hbase_crash_state *state,
			  struct hbase_mutation *mutations,
			  char (*columns)[HBASE_COLUMN_MAX],
			  char (*values)[HBASE_META_MAX])
{
	int count = 0;
	for (size_t i = 0; i < state->part_count; i++) {
		struct hbase_part_info *info = &state->parts[i];
		if (info->source != HBASE_SOURCE_CELL ||
		    info->part.type != CRASH_PART_DUMP)
			continue;
		struct hbase_part_meta meta = {
			.size = info->cell_length,
			.mtime = hbase_timestamp_time(info->cell_timestamp),
			.version = hbase_new_version(),
		};
		hbase_write_meta_mutation(&info->part, &meta, columns[count],
					  values[count], &mutations[count]);
		count++;
	}
	return count;
}

static int too_big(struct hbase_store *self, struct crash_call *call,
		   const char *crash_id, const char *what, off_t size,
		   bool chunkable)
{
	return crash_error_set(
		&call->error, -EFBIG,
		"%s: %s of crash %s is %lld bytes, more than max_cell_size "
		"%lld (HBase's hbase.client.keyvalue.maxsize)%s",
		self->base.node_path, what, crash_id, (long long)size,
		(long long)self->options.max_cell_size,
		chunkable ? "; with \"chunked\": true such a dump is kept in "
			    "chunks (which Socorro cannot read)"
			  : "");
}

static bool fits(struct hbase_store *self, off_t size)
{
	return size <= self->options.max_cell_size;
}

/* A dump part of the store's own spelling: the main dump is NULL. */
static int dump_part_of(struct crash_call *call, const char *crash_id,
			const char *dump_name, struct crash_part *part)
{
	part->type = CRASH_PART_DUMP;
	part->dump_name = dump_name;
	if (!dump_name || !dump_name[0] ||
	    strcmp(dump_name, CRASH_MAIN_DUMP_NAME) == 0) {
		part->dump_name = NULL;
		return 0;
	}
	if (strcmp(dump_name, "dump") == 0)
		return crash_error_set(&call->error, -EINVAL,
				       "crash %s: a dump named \"dump\" is the "
				       "main dump in Socorro's HBase schema "
				       "(raw_data:dump); it cannot be another",
				       crash_id);
	if (!crash_dump_name_is_valid(dump_name))
		return crash_error_set(&call->error, -EINVAL,
				       "crash %s: invalid dump name \"%s\"",
				       crash_id, dump_name);
	return 0;
}

static int check_dump(struct hbase_store *self, struct crash_call *call,
		      const char *crash_id, const struct crash_dump *dump,
		      struct crash_part *part)
{
	int result = dump_part_of(call, crash_id, dump->dump_name, part);
	if (result < 0)
		return result;
	if (!fits(self, dump->blob.size) && !self->options.chunked)
		return too_big(self, call, crash_id,
			       part->dump_name ? part->dump_name : "the main dump",
			       dump->blob.size, true);
	return 0;
}

/* -- dumps --------------------------------------------------------------- */

/* Chunk columns of data_column other than those of keep_version (0: all),
 * found by a probe of the row: leftovers of an older version or of a
 * chunked write that failed half-way. */
static int stale_chunks(struct hbase_store *self, struct hbase_client *client,
			struct crash_call *call, const char *row_key,
			const char *data_column, uint64_t keep_version,
			char ***out, size_t *count)
{
	struct hbase_row row;
	bool found;
	*out = NULL;
	*count = 0;
	int result = hbase_probe_lengths(self, client, call, row_key, &row,
					 &found);
	if (result < 0)
		return result;
	char keep[HBASE_COLUMN_MAX];
	hbase_chunk_column(data_column, keep_version, 0, keep);
	size_t keep_prefix = strlen(keep) - 1; /* without the index */
	*out = calloc(row.cell_count + 1, sizeof **out);
	for (size_t i = 0; *out && i < row.cell_count; i++) {
		const char *column = row.cells[i].column;
		if (!hbase_is_chunk_column(column, data_column) ||
		    (keep_version && strncmp(column, keep, keep_prefix) == 0))
			continue;
		(*out)[(*count)++] = strdup(column);
		if (!(*out)[*count - 1])
			(*count)--;
	}
	hbase_row_release(&row);
	if (!*out)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	return 0;
}

static void free_strings(char **strings, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

/* The final mutateRow of a dump: its record, and the deletes of what the
 * new version replaces. */
static int commit_dump(struct hbase_store *self, struct hbase_client *client,
		       struct crash_call *call, const char *row_key,
		       const struct crash_part *part,
		       const struct hbase_part_meta *meta,
		       const struct hbase_mutation *data, char **stale,
		       size_t stale_count, bool delete_plain)
{
	struct hbase_mutation *mutations = calloc(stale_count + 3,
						  sizeof *mutations);
	if (!mutations)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	char column[HBASE_COLUMN_MAX], value[HBASE_META_MAX];
	char plain[HBASE_COLUMN_MAX];
	size_t count = 0;
	if (data)
		mutations[count++] = *data;
	hbase_write_meta_mutation(part, meta, column, value,
				  &mutations[count++]);
	if (delete_plain) {
		hbase_part_data_column(part, plain);
		mutations[count++] = (struct hbase_mutation){
			.column = plain, .is_delete = true };
	}
	for (size_t i = 0; i < stale_count; i++)
		mutations[count++] = (struct hbase_mutation){
			.column = stale[i], .is_delete = true };
	hbase_delete_fence(self);
	int result = hbase_client_mutate_row(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), row_key,
		mutations, count);
	if (result == 0 && (delete_plain || stale_count > 0))
		hbase_delete_done(self);
	free(mutations);
	return result;
}

static int write_chunks(struct hbase_store *self, struct hbase_client *client,
			struct crash_call *call, const char *row_key,
			const char *data_column, const struct crash_blob *blob,
			const struct hbase_part_meta *meta)
{
	int64_t chunk_size = self->options.max_cell_size;
	int result = 0;
	hbase_delete_fence(self);
	for (unsigned index = 0; result == 0 && index < meta->chunks; index++) {
		char column[HBASE_COLUMN_MAX];
		hbase_chunk_column(data_column, meta->version, index, column);
		off_t offset = (off_t)index * chunk_size;
		off_t left = blob->size - offset;
		struct hbase_mutation put = {
			.column = column,
			.from_fd = true,
			.fd = blob->fd,
			.offset = offset,
			.value_length = (size_t)(left < chunk_size ? left
								   : chunk_size),
		};
		result = hbase_client_mutate_row(
			client, call, hbase_table(self, HBASE_CRASH_REPORTS),
			row_key, &put, 1);
	}
	return result;
}

/* Writes one dump (checked already) with its record. */
static int write_dump(struct hbase_store *self, struct hbase_client *client,
		      struct crash_call *call, const char *crash_id,
		      const struct crash_part *part,
		      const struct crash_blob *blob,
		      struct hbase_crash_state *before)
{
	char row_key[HBASE_ROW_KEY_LENGTH + 1], data[HBASE_COLUMN_MAX];
	hbase_row_key(crash_id, row_key);
	hbase_part_data_column(part, data);
	struct hbase_part_info *old = hbase_state_find(before, part);
	bool was_chunked = old && old->has_meta && old->meta.chunks > 0;
	struct hbase_part_meta meta = {
		.size = blob->size,
		.mtime = blob->mtime,
		.version = hbase_new_version(),
	};
	bool chunked = !fits(self, blob->size);
	if (chunked)
		meta.chunks = (unsigned)((blob->size +
					  self->options.max_cell_size - 1) /
					 self->options.max_cell_size);
	char **stale = NULL;
	size_t stale_count = 0;
	int result = 0;
	if (chunked || was_chunked)
		result = stale_chunks(self, client, call, row_key, data,
				      chunked ? meta.version : 0, &stale,
				      &stale_count);
	if (result == 0 && chunked)
		result = write_chunks(self, client, call, row_key, data, blob,
				      &meta);
	struct hbase_mutation put = { .column = data, .from_fd = true,
				      .fd = blob->fd, .offset = 0,
				      .value_length = (size_t)blob->size };
	if (result == 0)
		result = commit_dump(self, client, call, row_key, part, &meta,
				     chunked ? NULL : &put, stale, stale_count,
				     chunked);
	free_strings(stale, stale_count);
	return result;
}

/* -- the raw crash ------------------------------------------------------- */

/* What A.5 reads from the raw crash. */
struct raw_fields {
	json_t *owned; /* parsed here when the caller had no document */
	const json_t *json;
	char timestamp[64];
	const char *submitted; /* the raw crash's, or timestamp */
	struct hbase_submission submission;
};

static int read_json(const struct crash_blob *blob, struct raw_fields *fields,
		     struct crash_call *call, const char *crash_id)
{
	char *text = malloc((size_t)blob->size + 1);
	if (!text)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	off_t done = 0;
	while (done < blob->size) {
		ssize_t got = pread(blob->fd, text + done,
				    (size_t)(blob->size - done), done);
		if (got <= 0) {
			free(text);
			return crash_error_set(&call->error, -EIO,
					       "crash %s: reading the raw "
					       "crash failed",
					       crash_id);
		}
		done += got;
	}
	json_error_t error;
	fields->owned = json_loadb(text, (size_t)blob->size, 0, &error);
	free(text);
	if (!fields->owned)
		return crash_error_set(&call->error, -EINVAL,
				       "crash %s: the raw crash is not JSON: %s",
				       crash_id, error.text);
	fields->json = fields->owned;
	return 0;
}

/* legacy_processing as Socorro read it: raw_crash.get(..., False). */
static void read_legacy(const json_t *value, struct hbase_submission *out)
{
	out->legacy_known = true;
	if (!value) {
		out->legacy_value = 0;
	} else if (json_is_integer(value)) {
		out->legacy_value = (long long)json_integer_value(value);
	} else if (json_is_real(value)) {
		out->legacy_value = (long long)json_real_value(value);
		out->legacy = json_real_value(value) == 0.0;
		return;
	} else if (json_is_boolean(value)) {
		out->legacy_value = json_is_true(value) ? 1 : 0;
	} else {
		/* null, a string...: never == 0 in Python; Socorro's %d
		 * raised TypeError.  Stored, not queued, not counted. */
		out->legacy_known = false;
		out->legacy = false;
		return;
	}
	out->legacy = out->legacy_value == 0;
}

static int raw_fields_read(const char *crash_id, const struct crash_blob *raw,
			   struct raw_fields *fields, struct crash_call *call)
{
	memset(fields, 0, sizeof *fields);
	fields->json = raw->json;
	if (!fields->json) {
		int result = read_json(raw, fields, call, crash_id);
		if (result < 0)
			return result;
	}
	const json_t *json = fields->json;
	const char *submitted = json_string_value(
		json_object_get(json, "submitted_timestamp"));
	if (!submitted || !submitted[0]) {
		/* Socorro raised KeyError.  A crash saved without one gets
		 * its id's day, so that saving it again keys the same index
		 * rows. */
		snprintf(fields->timestamp, sizeof fields->timestamp,
			 "20%.2s-%.2s-%.2sT00:00:00+00:00",
			 crash_id + CRASH_ID_LENGTH - 6,
			 crash_id + CRASH_ID_LENGTH - 4,
			 crash_id + CRASH_ID_LENGTH - 2);
		submitted = fields->timestamp;
	}
	fields->submitted = submitted;
	struct hbase_submission *submission = &fields->submission;
	submission->crash_id = crash_id;
	submission->timestamp = submitted;
	read_legacy(json_object_get(json, "legacy_processing"), submission);
	const char *process_type = json_string_value(
		json_object_get(json, "ProcessType"));
	submission->process_type = process_type ? process_type : "default";
	const char *hang = json_string_value(json_object_get(json, "HangID"));
	submission->hang_id = hang && hang[0] ? hang : NULL;
	return 0;
}

/* The crash_reports row of a raw crash (A.5 step 2-3) and its record;
 * the dumps of a crash Socorro wrote get records too (adopted). */
static int write_raw_row(struct hbase_store *self, struct hbase_client *client,
			 struct crash_call *call, const char *crash_id,
			 const struct crash_blob *raw,
			 const struct raw_fields *fields,
			 struct hbase_crash_state *before)
{
	size_t room = 8 + before->part_count;
	struct hbase_mutation *mutations = calloc(room, sizeof *mutations);
	char (*columns)[HBASE_COLUMN_MAX] = calloc(room, sizeof *columns);
	char (*values)[HBASE_META_MAX] = calloc(room, sizeof *values);
	if (!mutations || !columns || !values) {
		free(mutations);
		free(columns);
		free(values);
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	}
	const struct hbase_submission *submission = &fields->submission;
	size_t count = 0;
#define PUT_TEXT(name, text) \
	mutations[count++] = (struct hbase_mutation){ \
		.column = (name), .value = (text), .value_length = strlen(text) }
	PUT_TEXT("flags:processed", "N");
	mutations[count++] = (struct hbase_mutation){
		.column = "meta_data:json", .from_fd = true, .fd = raw->fd,
		.value_length = (size_t)raw->size };
	PUT_TEXT("timestamps:submitted", fields->submitted);
	PUT_TEXT("ids:ooid", crash_id);
	if (submission->legacy)
		PUT_TEXT("flags:legacy_processing", "Y");
	if (submission->hang_id)
		PUT_TEXT("ids:hang", submission->hang_id);
#undef PUT_TEXT
	struct crash_part part = { .type = CRASH_PART_RAW_CRASH };
	struct hbase_part_meta meta = { .size = raw->size,
					.mtime = raw->mtime,
					.version = hbase_new_version() };
	hbase_write_meta_mutation(&part, &meta, columns[0], values[0],
				  &mutations[count++]);
	count += (size_t)hbase_adopt_mutations(before, mutations + count,
					       columns + 1, values + 1);
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(crash_id, row_key);
	hbase_delete_fence(self);
	int result = hbase_client_mutate_row(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), row_key,
		mutations, count);
	free(mutations);
	free(columns);
	free(values);
	return result;
}

static int save_raw_leased(struct hbase_store *self,
			   struct hbase_client *client, struct crash_call *call,
			   const char *crash_id, const struct crash_blob *raw,
			   const struct crash_dump *dumps,
			   const struct crash_part *dump_parts,
			   size_t dump_count, const struct raw_fields *fields)
{
	struct hbase_crash_state before;
	int result = hbase_state_read(self, client, call, crash_id, &before);
	for (size_t i = 0; result == 0 && i < dump_count; i++)
		result = write_dump(self, client, call, crash_id,
				    &dump_parts[i], &dumps[i].blob, &before);
	if (result == 0)
		result = write_raw_row(self, client, call, crash_id, raw,
				       fields, &before);
	/* Saved again under another submission time: its old index rows
	 * would queue it twice (Socorro left them). */
	if (result == 0 && before.submitted &&
	    strcmp(before.submitted, fields->submitted) != 0)
		result = hbase_index_forget_submission(
			self, client, call, crash_id, before.submitted,
			before.processed_flag == 'N');
	if (result == 0)
		result = hbase_index_submission(self, client, call,
						&fields->submission, &before);
	hbase_state_release(&before);
	return result;
}

static int save_raw_crash_now(struct crash_store *store, struct crash_call *call,
			 const char *crash_id,
			 const struct crash_blob *raw_crash,
			 const struct crash_dump *dumps, size_t dump_count)
{
	struct hbase_store *self = hbase_store_from(store);
	if (!fits(self, raw_crash->size))
		return too_big(self, call, crash_id, "the raw crash",
			       raw_crash->size, false);
	struct crash_part *parts = calloc(dump_count + 1, sizeof *parts);
	if (!parts)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	int result = 0;
	for (size_t i = 0; result == 0 && i < dump_count; i++)
		result = check_dump(self, call, crash_id, &dumps[i], &parts[i]);
	struct raw_fields fields;
	memset(&fields, 0, sizeof fields);
	if (result == 0)
		result = raw_fields_read(crash_id, raw_crash, &fields, call);
	struct hbase_client *client = NULL;
	if (result == 0)
		result = hbase_lease_get(self, call, &client);
	if (result == 0) {
		result = save_raw_leased(self, client, call, crash_id,
					 raw_crash, dumps, parts, dump_count,
					 &fields);
		hbase_lease_put(self, client);
	}
	struct crash_part raw = { .type = CRASH_PART_RAW_CRASH };
	hbase_cache_drop(self, crash_id, &raw);
	for (size_t i = 0; i < dump_count; i++)
		hbase_cache_drop(self, crash_id, &parts[i]);
	json_decref(fields.owned);
	free(parts);
	return result;
}

static int save_dump_now(struct crash_store *store, struct crash_call *call,
		    const char *crash_id, const struct crash_dump *dump)
{
	struct hbase_store *self = hbase_store_from(store);
	struct crash_part part;
	int result = check_dump(self, call, crash_id, dump, &part);
	if (result < 0)
		return result;
	struct hbase_client *client;
	result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	struct hbase_crash_state before;
	result = hbase_state_read(self, client, call, crash_id, &before);
	if (result == 0)
		result = write_dump(self, client, call, crash_id, &part,
				    &dump->blob, &before);
	hbase_state_release(&before);
	hbase_lease_put(self, client);
	hbase_cache_drop(self, crash_id, &part);
	return result;
}

/* -- the processed crash ------------------------------------------------- */

/* The JSON text inside a .jsonz, exactly; at most limit bytes. */
static int gunzip(const struct crash_blob *blob, int64_t limit,
		  unsigned char **out, size_t *length, struct crash_call *call)
{
	z_stream stream;
	memset(&stream, 0, sizeof stream);
	if (inflateInit2(&stream, 15 + 32) != Z_OK)
		return crash_error_set(&call->error, -ENOMEM,
				       "gunzip: cannot start");
	size_t capacity = 65536, used = 0;
	unsigned char *text = malloc(capacity);
	unsigned char in[65536];
	off_t offset = 0;
	int status = Z_OK, result = 0;
	while (text && result == 0 && status != Z_STREAM_END) {
		if (stream.avail_in == 0) {
			ssize_t got = pread(blob->fd, in, sizeof in, offset);
			if (got <= 0) {
				result = crash_error_set(
					&call->error, -EINVAL,
					"the .jsonz is not whole gzip");
				break;
			}
			offset += got;
			stream.next_in = in;
			stream.avail_in = (uInt)got;
		}
		if (used == capacity) {
			unsigned char *grown = realloc(text, capacity * 2);
			if (!grown) {
				free(text);
				text = NULL;
				break;
			}
			text = grown;
			capacity *= 2;
		}
		stream.next_out = text + used;
		stream.avail_out = (uInt)(capacity - used);
		status = inflate(&stream, Z_NO_FLUSH);
		used = capacity - stream.avail_out;
		if (status != Z_OK && status != Z_STREAM_END)
			result = crash_error_set(&call->error, -EINVAL,
						 "the .jsonz is not gzip: %s",
						 stream.msg ? stream.msg : "");
		else if ((int64_t)used > limit)
			result = -EFBIG;
	}
	inflateEnd(&stream);
	if (!text)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	if (result < 0) {
		free(text);
		return result;
	}
	*out = text;
	*length = used;
	return 0;
}

/* A.6 step 6. */
static const char *signature_of(const json_t *processed)
{
	const char *signature = json_string_value(
		json_object_get(processed, "signature"));
	if (!signature)
		return "##null##"; /* absent (Socorro: None raised) */
	return signature[0] ? signature : "##empty##";
}

struct processed_write {
	const char *crash_id;
	const struct crash_blob *blob;
	const unsigned char *json_text;
	size_t json_length;
	const json_t *json;
};

static int write_processed_row(struct hbase_store *self,
			       struct hbase_client *client,
			       struct crash_call *call,
			       const struct processed_write *write,
			       const char *signature)
{
	struct hbase_mutation mutations[8];
	char column[HBASE_COLUMN_MAX], value[HBASE_META_MAX];
	size_t count = 0;
	const char *completed = json_string_value(
		json_object_get(write->json, "completeddatetime"));
	if (completed)
		mutations[count++] = (struct hbase_mutation){
			.column = "timestamps:processed", .value = completed,
			.value_length = strlen(completed) };
	mutations[count++] = (struct hbase_mutation){
		.column = "processed_data:signature", .value = signature,
		.value_length = strlen(signature) };
	mutations[count++] = (struct hbase_mutation){
		.column = "processed_data:json", .value = write->json_text,
		.value_length = write->json_length };
	mutations[count++] = (struct hbase_mutation){
		.column = "flags:processed", .value = "Y", .value_length = 1 };
	mutations[count++] = (struct hbase_mutation){
		.column = "processed_data:crashfs_jsonz", .from_fd = true,
		.fd = write->blob->fd, .value_length = (size_t)write->blob->size };
	struct crash_part part = { .type = CRASH_PART_PROCESSED };
	struct hbase_part_meta meta = { .size = write->blob->size,
					.mtime = write->blob->mtime,
					.version = hbase_new_version() };
	hbase_write_meta_mutation(&part, &meta, column, value,
				  &mutations[count++]);
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(write->crash_id, row_key);
	hbase_delete_fence(self);
	return hbase_client_mutate_row(client, call,
				       hbase_table(self, HBASE_CRASH_REPORTS),
				       row_key, mutations, count);
}

static int save_processed_leased(struct hbase_store *self,
				 struct hbase_client *client,
				 struct crash_call *call,
				 const struct processed_write *write)
{
	struct hbase_crash_state before;
	int result = hbase_state_read(self, client, call, write->crash_id,
				      &before);
	if (result < 0)
		return result;
	const char *signature = signature_of(write->json);
	bool was_unprocessed = before.processed_flag == 'N';
	/* A.6 step 5, before the flag turns Y: a retry then still knows
	 * the entry is to be deleted (it deletes nothing twice). */
	if (was_unprocessed) {
		const char *submitted = before.submitted;
		if (!submitted)
			submitted = json_string_value(
				json_object_get(write->json, "date_processed"));
		char *key = hbase_timestamped_key(
			write->crash_id, submitted ? submitted : "unknown");
		if (!key)
			result = crash_error_set(&call->error, -ENOMEM,
						 "out of memory");
		else
			result = hbase_client_delete_row(
				client, call,
				hbase_table(self, HBASE_INDEX_UNPROCESSED_FLAG),
				key);
		if (result == 0)
			hbase_delete_done(self);
		free(key);
	}
	if (result == 0)
		result = write_processed_row(self, client, call, write,
					     signature);
	if (result == 0 && was_unprocessed)
		result = hbase_queue_gauge(self, client, call,
					   "counters:current_unprocessed_size",
					   -1);
	if (result == 0)
		result = hbase_index_processed(self, client, call,
					       write->crash_id, signature);
	hbase_state_release(&before);
	return result;
}

static int save_processed_now(struct crash_store *store, struct crash_call *call,
			 const char *crash_id,
			 const struct crash_blob *processed)
{
	struct hbase_store *self = hbase_store_from(store);
	if (!fits(self, processed->size))
		return too_big(self, call, crash_id, "the processed crash",
			       processed->size, false);
	struct processed_write write = { .crash_id = crash_id,
					 .blob = processed };
	unsigned char *text = NULL;
	int result = gunzip(processed, self->options.max_cell_size, &text,
			    &write.json_length, call);
	if (result == -EFBIG)
		return crash_error_set(
			&call->error, -EFBIG,
			"%s: the processed crash of %s holds more than "
			"max_cell_size %lld bytes of JSON (HBase's "
			"hbase.client.keyvalue.maxsize)",
			self->base.node_path, crash_id,
			(long long)self->options.max_cell_size);
	if (result < 0)
		return result;
	write.json_text = text;
	json_t *owned = NULL;
	write.json = processed->json;
	if (!write.json) {
		json_error_t error;
		owned = json_loadb((const char *)text, write.json_length, 0,
				   &error);
		if (!owned) {
			free(text);
			return crash_error_set(&call->error, -EINVAL,
					       "crash %s: the .jsonz is not "
					       "gzip of JSON: %s",
					       crash_id, error.text);
		}
		write.json = owned;
	}
	struct hbase_client *client;
	result = hbase_lease_get(self, call, &client);
	if (result == 0) {
		result = save_processed_leased(self, client, call, &write);
		hbase_lease_put(self, client);
	}
	struct crash_part part = { .type = CRASH_PART_PROCESSED };
	hbase_cache_drop(self, crash_id, &part);
	json_decref(owned);
	free(text);
	return result;
}

/* -- mtimes -------------------------------------------------------------- */

/* A .jsonz made from Socorro's JSON gets its bytes stored, so that its
 * record describes bytes that are there. */
static int materialize_jsonz(struct hbase_store *self,
			     struct crash_call *call, const char *crash_id,
			     const struct hbase_part_info *info, int *fd_out,
			     off_t *size_out)
{
	struct crash_part_stat stat;
	int result = hbase_part_stat(self, call, crash_id, info, &stat);
	if (result < 0)
		return result;
	if (!fits(self, stat.size))
		return too_big(self, call, crash_id, "the processed crash",
			       stat.size, false);
	struct crash_part part = { .type = CRASH_PART_PROCESSED };
	result = self->base.ops->open_part(&self->base, call, crash_id, &part,
					   &stat, fd_out);
	if (result == 0)
		*size_out = stat.size;
	return result;
}

static int write_mtime(struct hbase_store *self, struct hbase_client *client,
		       struct crash_call *call, const char *crash_id,
		       struct hbase_crash_state *state,
		       struct hbase_part_info *info,
		       const struct timespec *mtime, int jsonz_fd,
		       off_t jsonz_size)
{
	size_t room = state->part_count + 2;
	struct hbase_mutation *mutations = calloc(room, sizeof *mutations);
	char (*columns)[HBASE_COLUMN_MAX] = calloc(room, sizeof *columns);
	char (*values)[HBASE_META_MAX] = calloc(room, sizeof *values);
	int result = 0;
	if (!mutations || !columns || !values) {
		result = crash_error_set(&call->error, -ENOMEM,
					 "out of memory");
		goto done;
	}
	struct hbase_part_meta meta = info->meta;
	size_t count = 0;
	if (info->source != HBASE_SOURCE_META) {
		meta = (struct hbase_part_meta){
			.size = info->cell_length,
			.version = hbase_new_version() };
	}
	if (info->source == HBASE_SOURCE_PROCESSED_JSON) {
		meta.size = jsonz_size;
		mutations[count++] = (struct hbase_mutation){
			.column = "processed_data:crashfs_jsonz",
			.from_fd = true, .fd = jsonz_fd,
			.value_length = (size_t)jsonz_size };
	}
	meta.mtime = *mtime;
	/* A record of the raw crash makes the records the truth: the dumps
	 * Socorro wrote get theirs in the same mutateRow. */
	if (info->part.type == CRASH_PART_RAW_CRASH &&
	    info->source == HBASE_SOURCE_CELL) {
		count += (size_t)hbase_adopt_mutations(
			state, mutations + count, columns + 1, values + 1);
	}
	hbase_write_meta_mutation(&info->part, &meta, columns[0], values[0],
				  &mutations[count++]);
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	hbase_row_key(crash_id, row_key);
	hbase_delete_fence(self);
	result = hbase_client_mutate_row(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), row_key,
		mutations, count);
done:
	free(mutations);
	free(columns);
	free(values);
	return result;
}

static int set_part_mtime_now(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_part *part,
			 const struct timespec *mtime)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	struct hbase_crash_state state;
	result = hbase_state_read(self, client, call, crash_id, &state);
	hbase_lease_put(self, client);
	if (result < 0)
		return result;
	struct hbase_part_info *info = hbase_state_find(&state, part);
	int jsonz_fd = -1;
	off_t jsonz_size = 0;
	if (!info)
		result = crash_error_set(&call->error, -ENOENT,
					 "that part of crash %s is not here",
					 crash_id);
	else if (info->source == HBASE_SOURCE_PROCESSED_JSON)
		result = materialize_jsonz(self, call, crash_id, info,
					   &jsonz_fd, &jsonz_size);
	if (result == 0)
		result = hbase_lease_get(self, call, &client);
	if (result == 0) {
		result = write_mtime(self, client, call, crash_id, &state, info,
				     mtime, jsonz_fd, jsonz_size);
		hbase_lease_put(self, client);
	}
	if (jsonz_fd >= 0)
		close(jsonz_fd);
	hbase_state_release(&state);
	return result;
}

/* The crash's cached state is forgotten before and after the write
 * (hbase_state_cache.h). */
int hbase_save_raw_crash(struct crash_store *store, struct crash_call *call,
			 const char *crash_id,
			 const struct crash_blob *raw_crash,
			 const struct crash_dump *dumps, size_t dump_count)
{
	struct hbase_store *self = hbase_store_from(store);
	hbase_forget_state(self, crash_id);
	int result = save_raw_crash_now(store, call, crash_id, raw_crash, dumps,
				    dump_count);
	hbase_forget_state(self, crash_id);
	return result;
}

/* The crash's cached state is forgotten before and after the write
 * (hbase_state_cache.h). */
int hbase_save_dump(struct crash_store *store, struct crash_call *call,
		    const char *crash_id, const struct crash_dump *dump)
{
	struct hbase_store *self = hbase_store_from(store);
	hbase_forget_state(self, crash_id);
	int result = save_dump_now(store, call, crash_id, dump);
	hbase_forget_state(self, crash_id);
	return result;
}

/* The crash's cached state is forgotten before and after the write
 * (hbase_state_cache.h). */
int hbase_save_processed(struct crash_store *store, struct crash_call *call,
			 const char *crash_id,
			 const struct crash_blob *processed)
{
	struct hbase_store *self = hbase_store_from(store);
	hbase_forget_state(self, crash_id);
	int result = save_processed_now(store, call, crash_id, processed);
	hbase_forget_state(self, crash_id);
	return result;
}

/* The crash's cached state is forgotten before and after the write
 * (hbase_state_cache.h). */
int hbase_set_part_mtime(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_part *part,
			 const struct timespec *mtime)
{
	struct hbase_store *self = hbase_store_from(store);
	hbase_forget_state(self, crash_id);
	int result = set_part_mtime_now(store, call, crash_id, part, mtime);
	hbase_forget_state(self, crash_id);
	return result;
}
