/*
 * hbase_queue.c - new_crashes and ack_crash over Socorro's
 * legacy-unprocessed index (spec backends.md A.8).
 *
 * Socorro opened 16 prefix scanners over
 * crash_reports_index_legacy_unprocessed_flag (one per salt), merged them
 * by the key without its salt (submission time, then id) and deleted each
 * row, decrementing current_legacy_unprocessed_size, before yielding it:
 * a crash whose processing then failed was never offered again.  Here a
 * pass takes nothing: it yields each entry with a token naming its row
 * (the key's timestamp part; the salt and the id are the crash id's), and
 * ack_crash deletes that row and decrements the counter, after the
 * consumer is done with it.
 *
 * Each entry's token also carries the version of the save that queued it
 * (ids:crashfs.version, written with ids:ooid): a crash saved again after
 * a pass yielded it is queued again under the same row, and the ack of
 * the old entry then leaves it there (0, as if taken: the consumer's work
 * is done, the new save waits for the next pass).  Between the ack's read
 * of the version and its delete a save of the same crash could be lost
 * from the queue: HBase's Thrift v1 has no checkAndDelete.
 *
 * The merge reads each salt in batches (scan_batch rows, the scanner
 * opened, read and closed within one lease) and resumes after the last
 * key it read: no scanner and no connection is held while entries are
 * handed out, and acks made meanwhile change nothing the pass still has
 * to read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_log.h"
#include "storage/hbase/hbase_internal.h"

static const char salts[] = "0123456789abcdef";

struct queued {
	char *key;
	char crash_id[CRASH_ID_LENGTH + 1];
	uint64_t version; /* 0: a row without one (Socorro's) */
};

/* The save a queue row says it holds; 0 when it does not say. */
static uint64_t row_version(const struct hbase_row *row)
{
	const struct hbase_cell *cell = hbase_row_cell(row, HBASE_QUEUE_VERSION);
	char text[24];
	if (!cell || cell->value_length == 0 ||
	    cell->value_length >= sizeof text)
		return 0;
	memcpy(text, cell->value, cell->value_length);
	text[cell->value_length] = '\0';
	return strtoull(text, NULL, 16);
}

/* One salt's part of the merge. */
struct salt_stream {
	char salt;
	struct queued *entries;
	size_t count, next;
	char *resume; /* the last key read: the next batch starts after it */
	bool exhausted;
};

static void stream_clear(struct salt_stream *stream)
{
	for (size_t i = 0; i < stream->count; i++)
		free(stream->entries[i].key);
	free(stream->entries);
	stream->entries = NULL;
	stream->count = stream->next = 0;
}

/* A row of the index: its key must be salt + timestamp + the id it holds
 * (anything else is not an entry crashfs can acknowledge). */
static bool entry_of(const struct hbase_row *row, struct queued *entry)
{
	const struct hbase_cell *cell = hbase_row_cell(row, "ids:ooid");
	if (!cell || cell->value_length != CRASH_ID_LENGTH)
		return false;
	memcpy(entry->crash_id, cell->value, CRASH_ID_LENGTH);
	entry->crash_id[CRASH_ID_LENGTH] = '\0';
	size_t length = strlen(row->key);
	if (!crash_id_is_valid(entry->crash_id) ||
	    length < 1 + CRASH_ID_LENGTH ||
	    length - 1 - CRASH_ID_LENGTH > CRASH_QUEUE_WHERE_MAX ||
	    row->key[0] != entry->crash_id[0] ||
	    strcmp(row->key + length - CRASH_ID_LENGTH, entry->crash_id) != 0)
		return false;
	entry->version = row_version(row);
	entry->key = strdup(row->key);
	return entry->key != NULL;
}

static int fetch(struct hbase_store *self, struct crash_call *call,
		 struct salt_stream *stream)
{
	static const char *const columns[] = { "ids:ooid",
					       HBASE_QUEUE_VERSION };
	char bare[2] = { stream->salt, '\0' }, stop[2] = { stream->salt + 1,
							    '\0' };
	struct hbase_scan scan = {
		.start_row = stream->resume ? stream->resume : bare,
		.stop_row = stop,
		.columns = columns,
		.column_count = 2,
		.caching = self->options.scan_batch,
	};
	stream_clear(stream);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	int32_t scanner;
	result = hbase_client_scanner_open(
		client, call,
		hbase_table(self, HBASE_INDEX_LEGACY_UNPROCESSED_FLAG), &scan,
		&scanner);
	struct hbase_row *rows = NULL;
	size_t count = 0;
	if (result == 0) {
		result = hbase_client_scanner_next(
			client, call, scanner, self->options.scan_batch + 1,
			&rows, &count);
		if (!hbase_client_broken(client)) {
			int closed = hbase_client_scanner_close(client, call,
								scanner);
			if (result == 0)
				result = closed;
		}
	}
	hbase_lease_put(self, client);
	if (result < 0) {
		hbase_rows_free(rows, count);
		return result;
	}
	stream->entries = calloc(count + 1, sizeof *stream->entries);
	for (size_t i = 0; stream->entries && i < count; i++) {
		/* The resumed batch starts with the last key read. */
		if (stream->resume && strcmp(rows[i].key, stream->resume) == 0)
			continue;
		if (entry_of(&rows[i], &stream->entries[stream->count]))
			stream->count++;
		else
			crash_log(CRASH_LOG_DEBUG,
				  "%s: queue row %s is not a crash entry; "
				  "skipped", self->base.node_path,
				  rows[i].key);
	}
	stream->exhausted = count < (size_t)self->options.scan_batch + 1;
	if (count > 0) {
		free(stream->resume);
		stream->resume = strdup(rows[count - 1].key);
	}
	hbase_rows_free(rows, count);
	if (!stream->entries || (count > 0 && !stream->resume))
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	return 0;
}

/* The stream whose next entry comes first (by key without salt), after
 * refilling streams that ran dry; NULL at the end. */
static int pick(struct hbase_store *self, struct crash_call *call,
		struct salt_stream *streams, struct salt_stream **out)
{
	*out = NULL;
	for (int i = 0; i < 16; i++) {
		struct salt_stream *stream = &streams[i];
		while (stream->next == stream->count && !stream->exhausted) {
			int result = fetch(self, call, stream);
			if (result < 0)
				return result;
		}
		if (stream->next == stream->count)
			continue;
		const char *key = stream->entries[stream->next].key + 1;
		if (!*out ||
		    strcmp(key, (*out)->entries[(*out)->next].key + 1) < 0)
			*out = stream;
	}
	return 0;
}

int hbase_new_crashes(struct crash_store *store, struct crash_call *call,
		      crash_queue_emit_fn emit, void *ctx)
{
	struct hbase_store *self = hbase_store_from(store);
	struct salt_stream streams[16];
	memset(streams, 0, sizeof streams);
	for (int i = 0; i < 16; i++)
		streams[i].salt = salts[i];
	int result = 0;
	for (int64_t yielded = 0;
	     result == 0 && yielded < self->options.new_crash_limit;
	     yielded++) {
		struct salt_stream *stream;
		result = pick(self, call, streams, &stream);
		if (result < 0 || !stream)
			break;
		struct queued *queued = &stream->entries[stream->next++];
		struct crash_queue_entry entry;
		memset(&entry, 0, sizeof entry);
		memcpy(entry.crash_id, queued->crash_id, CRASH_ID_LENGTH + 1);
		entry.token.issuer = store;
		entry.token.value[0] = queued->version;
		size_t length = strlen(queued->key) - 1 - CRASH_ID_LENGTH;
		memcpy(entry.token.where, queued->key + 1, length);
		entry.token.where[length] = '\0';
		result = emit(ctx, &entry);
	}
	for (int i = 0; i < 16; i++) {
		stream_clear(&streams[i]);
		free(streams[i].resume);
	}
	return result;
}

/* The queue row of an entry this store yielded: its token's timestamp
 * part (a zone suffix was cut when the key was made) between the salt and
 * the id. */
static int entry_key(struct hbase_store *self, struct crash_call *call,
		     const struct crash_queue_entry *entry, char **key)
{
	*key = NULL;
	if (entry->token.issuer != &self->base || !entry->token.where[0])
		return crash_error_set(&call->error, -EINVAL,
				       "%s: the queue entry of %s was not "
				       "yielded by this store",
				       self->base.node_path, entry->crash_id);
	if (asprintf(key, "%c%s%s", entry->crash_id[0], entry->token.where,
		     entry->crash_id) < 0) {
		*key = NULL;
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	}
	return 0;
}

int hbase_ack_crash(struct crash_store *store, struct crash_call *call,
		    const struct crash_queue_entry *entry)
{
	struct hbase_store *self = hbase_store_from(store);
	char *key = NULL;
	int result = crash_id_is_valid(entry->crash_id)
			     ? entry_key(self, call, entry, &key)
			     : crash_error_set(&call->error, -EINVAL,
					       "%s is not a crash id",
					       entry->crash_id);
	if (result < 0)
		return result;
	struct hbase_client *client;
	result = hbase_lease_get(self, call, &client);
	if (result < 0) {
		free(key);
		return result;
	}
	static const char *const columns[] = { "ids:ooid",
					       HBASE_QUEUE_VERSION };
	struct hbase_row row;
	bool queued = false;
	result = hbase_client_get_row(
		client, call,
		hbase_table(self, HBASE_INDEX_LEGACY_UNPROCESSED_FLAG), key,
		columns, 2, &row, &queued);
	uint64_t version = queued ? row_version(&row) : 0;
	hbase_row_release(&row);
	if (result == 0 && !queued)
		result = crash_error_set(&call->error, -ENOENT,
					 "crash %s is not queued (acknowledged "
					 "already?)",
					 entry->crash_id);
	/* Saved again since the pass: that save stays queued. */
	bool newer = entry->token.value[0] && version &&
		     version != entry->token.value[0];
	if (result == 0 && !newer)
		result = hbase_client_delete_row(
			client, call,
			hbase_table(self, HBASE_INDEX_LEGACY_UNPROCESSED_FLAG),
			key);
	if (result == 0 && !newer) {
		hbase_delete_done(self);
		result = hbase_queue_gauge(
			self, client, call,
			"counters:current_legacy_unprocessed_size", -1);
	}
	hbase_lease_put(self, client);
	free(key);
	return result;
}
