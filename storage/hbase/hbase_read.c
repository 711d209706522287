/*
 * hbase_read.c - stat, list and read a crash's parts.
 *
 * A stat or a listing reads the crash's state (hbase_state.c: one small
 * row read) and fetches no part's bytes, except for the .jsonz of a crash
 * Socorro processed, which must be made to be measured (it is then kept
 * in the read cache, so the read that follows fetches nothing).
 *
 * Bytes come through the read cache (storage/read_cache), keyed by the
 * node path, the crash and the part, at the part's version; a fill leases
 * a connection of its own and checks that what it fetched is the version
 * it was asked for, so a part rewritten meanwhile is never kept under the
 * old version (the fill fails as operational, and the retry reads the new
 * state).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "storage/crash_log.h"
#include "storage/hbase/hbase_internal.h"
#include "storage/hbase/hbase_state_cache.h"
#include "storage/read_cache/read_cache.h"

int hbase_cache_key(const struct hbase_store *self, const char *crash_id,
		    const struct crash_part *part, char *out, size_t size)
{
	char column[HBASE_COLUMN_MAX];
	hbase_part_meta_column(part, column);
	int length = snprintf(out, size, "%s\n%s\n%s", self->base.node_path,
			      crash_id, column);
	return length > 0 && (size_t)length < size ? 0 : -ENAMETOOLONG;
}

void hbase_cache_drop(struct hbase_store *self, const char *crash_id,
		      const struct crash_part *part)
{
	char key[STORE_NODE_PATH_MAX + 256];
	if (self->read_cache &&
	    hbase_cache_key(self, crash_id, part, key, sizeof key) == 0)
		read_cache_drop(self->read_cache, key);
}

/* A version for bytes crashfs has no record of: their cell's time (and
 * length), never 0. */
static uint64_t cell_version(int64_t timestamp, int64_t length,
			     uint64_t salt)
{
	uint64_t version = ((uint64_t)timestamp * 0x9E3779B97F4A7C15ull) ^
			   (uint64_t)length ^ salt;
	return version ? version : 1;
}

static uint64_t part_version(const struct hbase_part_info *info)
{
	switch (info->source) {
	case HBASE_SOURCE_META:
		return info->meta.version;
	case HBASE_SOURCE_CELL:
		return cell_version(info->cell_timestamp, info->cell_length, 0);
	case HBASE_SOURCE_PROCESSED_JSON:
		return cell_version(info->cell_timestamp, 0,
				    0x6a736f6e7aull); /* "jsonz" */
	}
	return 1;
}

/* -- fills --------------------------------------------------------------- */

struct fill {
	struct hbase_store *self;
	const char *crash_id;
	struct hbase_part_info info;
};

static int write_all(int fd, const void *bytes, size_t length,
		     struct crash_call *call)
{
	const unsigned char *at = bytes;
	while (length > 0) {
		ssize_t written = write(fd, at, length);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return crash_error_set(&call->error, -errno,
					       "writing a part to the read "
					       "cache: %s", strerror(errno));
		at += written;
		length -= (size_t)written;
	}
	return 0;
}

static int changed(struct fill *fill, struct crash_call *call)
{
	/* What the state said is no longer so: the retry reads HBase. */
	hbase_forget_state(fill->self, fill->crash_id);
	return crash_error_set_operational(
		&call->error, -EIO, "%s: %s changed while being read",
		fill->self->base.node_path, fill->crash_id);
}

/* Cells of the crash's row, by column, into row (the caller releases
 * it); the row gone meanwhile is a change. */
static int fetch_cells(struct fill *fill, struct hbase_client *client,
		       struct crash_call *call, const char *const *columns,
		       size_t count, struct hbase_row *row)
{
	char row_key[HBASE_ROW_KEY_LENGTH + 1];
	bool found;
	hbase_row_key(fill->crash_id, row_key);
	int result = hbase_client_get_row(
		client, call, hbase_table(fill->self, HBASE_CRASH_REPORTS),
		row_key, columns, count, row, &found);
	if (result == 0 && !found)
		return changed(fill, call);
	return result;
}

static int fill_recorded(struct fill *fill, struct hbase_client *client,
			 struct crash_call *call, int fd)
{
	char data[HBASE_COLUMN_MAX], meta[HBASE_COLUMN_MAX];
	hbase_part_data_column(&fill->info.part, data);
	hbase_part_meta_column(&fill->info.part, meta);
	const struct hbase_part_meta *want = &fill->info.meta;
	unsigned chunks = want->chunks ? want->chunks : 1;
	int64_t total = 0;
	for (unsigned index = 0; index < chunks; index++) {
		char column[HBASE_COLUMN_MAX];
		if (want->chunks)
			hbase_chunk_column(data, want->version, index, column);
		else
			snprintf(column, sizeof column, "%s", data);
		const char *columns[] = { column, meta };
		struct hbase_row row;
		/* The record with the first cell: the version to serve. */
		int result = fetch_cells(fill, client, call, columns,
					 index == 0 ? 2 : 1, &row);
		if (result < 0)
			return result;
		const struct hbase_cell *cell = hbase_row_cell(&row, column);
		struct hbase_part_meta got;
		if (index == 0) {
			const struct hbase_cell *record =
				hbase_row_cell(&row, meta);
			if (!record ||
			    hbase_meta_parse(record->value,
					     record->value_length, &got) < 0 ||
			    got.version != want->version)
				cell = NULL;
		}
		if (!cell) {
			hbase_row_release(&row);
			return changed(fill, call);
		}
		result = write_all(fd, cell->value, cell->value_length, call);
		total += (int64_t)cell->value_length;
		hbase_row_release(&row);
		if (result < 0)
			return result;
	}
	if (total != want->size)
		return changed(fill, call);
	return 0;
}

static int fill_cell(struct fill *fill, struct hbase_client *client,
		     struct crash_call *call, int fd)
{
	char data[HBASE_COLUMN_MAX];
	hbase_part_data_column(&fill->info.part, data);
	const char *columns[] = { data };
	struct hbase_row row;
	int result = fetch_cells(fill, client, call, columns, 1, &row);
	if (result < 0)
		return result;
	const struct hbase_cell *cell = hbase_row_cell(&row, data);
	if (!cell || cell->timestamp != fill->info.cell_timestamp)
		result = changed(fill, call);
	else
		result = write_all(fd, cell->value, cell->value_length, call);
	hbase_row_release(&row);
	return result;
}

/* gzip of text, deterministic: no name, mtime 0, zlib's default level. */
static int gzip_to(int fd, const unsigned char *text, size_t length,
		   struct crash_call *call)
{
	z_stream stream;
	memset(&stream, 0, sizeof stream);
	if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16,
			 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return crash_error_set(&call->error, -ENOMEM,
				       "gzip: cannot start");
	unsigned char out[65536];
	stream.next_in = (unsigned char *)text;
	stream.avail_in = (uInt)length;
	int result = 0, status;
	do {
		stream.next_out = out;
		stream.avail_out = sizeof out;
		status = deflate(&stream, Z_FINISH);
		if (status == Z_STREAM_ERROR) {
			result = crash_error_set(&call->error, -EIO,
						 "gzip failed");
			break;
		}
		result = write_all(fd, out, sizeof out - stream.avail_out,
				   call);
	} while (result == 0 && status != Z_STREAM_END);
	deflateEnd(&stream);
	return result;
}

static int fill_processed_json(struct fill *fill, struct hbase_client *client,
			       struct crash_call *call, int fd)
{
	const char *columns[] = { "processed_data:json" };
	struct hbase_row row;
	atomic_fetch_add(&fill->self->derived_fills, 1);
	int result = fetch_cells(fill, client, call, columns, 1, &row);
	if (result < 0)
		return result;
	const struct hbase_cell *cell = hbase_row_cell(&row,
						       "processed_data:json");
	if (!cell)
		result = crash_error_set(&call->error, -ENOENT,
					 "crash %s has no processed_data:json",
					 fill->crash_id);
	else
		result = gzip_to(fd, cell->value, cell->value_length, call);
	hbase_row_release(&row);
	return result;
}

static int fill_part(void *arg, struct crash_call *call, int fd)
{
	struct fill *fill = arg;
	struct hbase_client *client;
	int result = hbase_lease_get(fill->self, call, &client);
	if (result < 0)
		return result;
	switch (fill->info.source) {
	case HBASE_SOURCE_META:
		result = fill_recorded(fill, client, call, fd);
		break;
	case HBASE_SOURCE_CELL:
		result = fill_cell(fill, client, call, fd);
		break;
	case HBASE_SOURCE_PROCESSED_JSON:
		result = fill_processed_json(fill, client, call, fd);
		break;
	}
	hbase_lease_put(fill->self, client);
	return result;
}

/* An unlinked file in the spool directory, when there is no cache. */
static int anonymous_file(struct hbase_store *self, struct crash_call *call)
{
	int fd = open(self->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char path[4096];
	snprintf(path, sizeof path, "%s/.hbase-part-XXXXXX", self->spool_dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return crash_error_set(&call->error, -errno,
				       "%s: a file in %s for a part: %s",
				       self->base.node_path, self->spool_dir,
				       strerror(errno));
	unlink(path);
	return fd;
}

/* A descriptor of the part's bytes and their count. */
static int part_bytes(struct hbase_store *self, struct crash_call *call,
		      const char *crash_id, const struct hbase_part_info *info,
		      int *fd_out, off_t *size_out)
{
	struct fill fill = { .self = self, .crash_id = crash_id,
			     .info = *info };
	if (fill.info.part.dump_name)
		fill.info.part.dump_name = fill.info.dump_name;
	if (self->read_cache) {
		char key[STORE_NODE_PATH_MAX + 256];
		if (hbase_cache_key(self, crash_id, &info->part, key,
				    sizeof key) < 0)
			return crash_error_set(&call->error, -ENAMETOOLONG,
					       "cache key too long");
		return read_cache_open(self->read_cache, call, key,
				       part_version(info), fill_part, &fill,
				       fd_out, size_out);
	}
	int fd = anonymous_file(self, call);
	if (fd < 0)
		return fd;
	int result = fill_part(&fill, call, fd);
	struct stat st;
	if (result == 0 && fstat(fd, &st) < 0)
		result = crash_error_set(&call->error, -errno, "fstat: %s",
					 strerror(errno));
	if (result < 0) {
		close(fd);
		return result;
	}
	/* Handed out read-only, as the cache's are. */
	char self_path[64];
	snprintf(self_path, sizeof self_path, "/proc/self/fd/%d", fd);
	int read_only = open(self_path, O_RDONLY | O_CLOEXEC);
	int saved = errno;
	close(fd);
	if (read_only < 0)
		return crash_error_set(&call->error, -saved,
				       "%s: reopening a part read-only: %s",
				       self->base.node_path, strerror(saved));
	*fd_out = read_only;
	*size_out = st.st_size;
	return 0;
}

static void fill_stat(const struct hbase_part_info *info, off_t size,
		      struct crash_part_stat *stat)
{
	stat->size = size;
	stat->mode = 0644;
	stat->version = part_version(info);
	if (info->source == HBASE_SOURCE_META)
		stat->mtime = info->meta.mtime;
	else
		stat->mtime = hbase_timestamp_time(info->cell_timestamp);
}

int hbase_part_stat(struct hbase_store *self, struct crash_call *call,
		    const char *crash_id, const struct hbase_part_info *info,
		    struct crash_part_stat *stat)
{
	off_t size = 0;
	switch (info->source) {
	case HBASE_SOURCE_META:
		size = (off_t)info->meta.size;
		break;
	case HBASE_SOURCE_CELL:
		size = (off_t)info->cell_length;
		break;
	case HBASE_SOURCE_PROCESSED_JSON: {
		/* Its size is known once it is made. */
		int fd;
		int result = part_bytes(self, call, crash_id, info, &fd,
					&size);
		if (result < 0)
			return result;
		close(fd);
		break;
	}
	}
	fill_stat(info, size, stat);
	return 0;
}

/* -- the slots ----------------------------------------------------------- */

static int not_here(struct crash_call *call, const char *crash_id,
		    const char *what)
{
	return crash_error_set(&call->error, -ENOENT, "%s %s is not here",
			       what, crash_id);
}

/* The crash's state, from the state cache or read (and kept there), with
 * the lease given back. */
static int read_state(struct hbase_store *self, struct crash_call *call,
		      const char *crash_id, struct hbase_crash_state *state)
{
	if (hbase_state_cache_get(self->states, crash_id, state))
		return 0;
	uint64_t begun = hbase_state_cache_begin(self->states);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	result = hbase_state_read(self, client, call, crash_id, state);
	hbase_lease_put(self, client);
	if (result == 0)
		hbase_state_cache_put(self->states, crash_id, state, begun);
	return result;
}

int hbase_stat_crash(struct crash_store *store, struct crash_call *call,
		     const char *crash_id, struct crash_dir_stat *stat)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_crash_state state;
	int result = read_state(self, call, crash_id, &state);
	if (result == 0 && !state.found)
		result = not_here(call, crash_id, "crash");
	if (result == 0 && stat)
		stat->mtime = hbase_timestamp_time(state.newest_time);
	hbase_state_release(&state);
	return result;
}

int hbase_stat_part(struct crash_store *store, struct crash_call *call,
		    const char *crash_id, const struct crash_part *part,
		    struct crash_part_stat *stat)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_crash_state state;
	int result = read_state(self, call, crash_id, &state);
	if (result < 0)
		return result;
	struct hbase_part_info *info = hbase_state_find(&state, part);
	struct crash_part_stat ignored;
	if (!info)
		result = not_here(call, crash_id, "that part of crash");
	else
		result = hbase_part_stat(self, call, crash_id, info,
					 stat ? stat : &ignored);
	hbase_state_release(&state);
	return result;
}

int hbase_open_part(struct crash_store *store, struct crash_call *call,
		    const char *crash_id, const struct crash_part *part,
		    struct crash_part_stat *stat, int *fd_out)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_crash_state state;
	int result = read_state(self, call, crash_id, &state);
	if (result < 0)
		return result;
	struct hbase_part_info *info = hbase_state_find(&state, part);
	if (!info) {
		hbase_state_release(&state);
		return not_here(call, crash_id, "that part of crash");
	}
	off_t size = 0;
	result = part_bytes(self, call, crash_id, info, fd_out, &size);
	if (result == 0 && stat)
		fill_stat(info, size, stat);
	hbase_state_release(&state);
	return result;
}

int hbase_list_parts(struct crash_store *store, struct crash_call *call,
		     const char *crash_id, crash_part_emit_fn emit, void *ctx)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_crash_state state;
	int result = read_state(self, call, crash_id, &state);
	if (result == 0 && !state.found)
		result = not_here(call, crash_id, "crash");
	for (size_t i = 0; result == 0 && i < state.part_count; i++) {
		struct crash_part_stat stat;
		result = hbase_part_stat(self, call, crash_id, &state.parts[i],
					 &stat);
		if (result == -ENOENT) {
			/* A processed crash whose JSON is gone: no part. */
			crash_error_clear(&call->error);
			result = 0;
			continue;
		}
		if (result == 0)
			result = emit(ctx, &state.parts[i].part, &stat);
	}
	hbase_state_release(&state);
	return result;
}
