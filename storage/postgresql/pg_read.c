/*
 * pg_read.c - reads of the PostgreSQL store: a crash's parts, their
 * sizes, mtimes and versions, and their bytes through the read cache.
 *
 * A part's size and version come from one query that fetches no bytes:
 * octet_length of the raw crash's text, or of the exact .jsonz bytes
 * crashfs kept, and the row's xmin (a new one whenever the row is
 * written).  The one size that needs the bytes is that of a processed
 * crash Socorro wrote (no exact bytes): its .jsonz is made from the JSON
 * (pg_gzip.h) into the read cache, whose file says the size, and the
 * open that follows is served from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/crash_id.h"
#include "storage/postgresql/pg_gzip.h"
#include "storage/postgresql/pg_internal.h"
#include "storage/read_cache/read_cache.h"

/* What the store knows of a part without its bytes. */
struct part_row {
	int part; /* PG_PART_* */
	bool size_known;
	off_t size;
	uint64_t version;
	struct timespec mtime;
};

/* The week of a crash and the tables it has. */
struct crash_place {
	const char *crash_id;
	struct pg_week week;
	unsigned tables;
	uint64_t ticket; /* pg_store_absent_ticket, before the queries */
};

static int not_here(struct pg_store *self, struct crash_call *call,
		    const char *crash_id)
{
	return crash_error_set(&call->error, -ENOENT,
			       "%s: crash %s is not here", self->base.node_path,
			       crash_id);
}

/* Not here at all: remembered for a moment (pg_internal.h). */
static int absent(struct pg_store *self, struct crash_call *call,
		  const struct crash_place *place)
{
	pg_store_absent_remember(self, place->crash_id, place->ticket);
	return not_here(self, call, place->crash_id);
}

static int locate(struct pg_store *self, struct crash_call *call,
		  const char *crash_id, const char *operation,
		  struct crash_place *place)
{
	struct pg_failure failure;
	place->crash_id = crash_id;
	int result = pg_store_crash_week(self, call, crash_id, &place->week);
	if (result < 0)
		return result;
	if (pg_store_absent_known(self, crash_id))
		return not_here(self, call, crash_id);
	place->ticket = pg_store_absent_ticket(self, crash_id);
	result = pg_store_week_tables(self, call, &place->week, &place->tables,
				      &failure);
	if (result < 0)
		return pg_store_fail(self, call, &failure, operation, crash_id);
	if (!(place->tables &
	      (PG_TABLE_RAW_CRASHES | PG_TABLE_PROCESSED_CRASHES)))
		return absent(self, call, place);
	return 0;
}

/* Runs one statement of a read, forgetting the week if a table of it went
 * away since it was looked at. */
static int run_read(struct pg_store *self, struct crash_call *call,
		    const struct crash_place *place,
		    struct pg_statement *statement, const char *operation)
{
	struct pg_failure failure;
	int result = pg_store_run(self, call, statement, 1, &failure);
	if (result < 0) {
		if (pg_failure_is(&failure, "42P01"))
			pg_store_forget_week(self, &place->week);
		return pg_store_fail(self, call, &failure, operation,
				     place->crash_id);
	}
	return 0;
}

static int64_t number_at(const PGresult *result, int row, int column,
			 bool *present)
{
	*present = !PQgetisnull(result, row, column);
	return *present ? strtoll(PQgetvalue(result, row, column), NULL, 10)
			: 0;
}

/* mtime as written, else date_processed, else the crash id's day. */
static void resolve_mtime(const PGresult *result, int row,
			  const char *crash_id, struct timespec *mtime)
{
	bool has_seconds, has_nanoseconds, has_date;
	int64_t seconds = number_at(result, row, 3, &has_seconds);
	int64_t nanoseconds = number_at(result, row, 4, &has_nanoseconds);
	int64_t date_us = number_at(result, row, 5, &has_date);
	if (has_seconds) {
		mtime->tv_sec = (time_t)seconds;
		mtime->tv_nsec = has_nanoseconds ? (long)nanoseconds : 0;
	} else if (has_date) {
		int64_t whole = date_us / 1000000, rest = date_us % 1000000;
		if (rest < 0) {
			rest += 1000000;
			whole--;
		}
		mtime->tv_sec = (time_t)whole;
		mtime->tv_nsec = (long)rest * 1000;
	} else {
		struct crash_id_info info;
		crash_id_parse(crash_id, &info);
		mtime->tv_sec = (time_t)(pg_days_from_civil(info.year,
							    info.month,
							    info.day) *
					 86400);
		mtime->tv_nsec = 0;
	}
}

/* The parts of a crash: rows[] of 0, 1 or 2 entries. */
static int query_parts(struct pg_store *self, struct crash_call *call,
		       const struct crash_place *place,
		       struct part_row rows[2], size_t *count,
		       const char *operation)
{
	char name[PG_NAME_MAX];
	const char *values[] = { place->crash_id };
	*count = 0;
	snprintf(name, sizeof name, "part_stats_%u_%s", place->tables,
		 place->week.suffix);
	char *sql = pg_sql_part_stats(&place->week, place->tables);
	if (!sql)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	struct pg_statement statement = { .name = name, .sql = sql,
					  .param_count = 1, .values = values };
	int result = run_read(self, call, place, &statement, operation);
	free(sql);
	if (result < 0)
		return result;
	int found = PQntuples(statement.result);
	for (int row = 0; row < found && *count < 2; row++) {
		struct part_row *part = &rows[(*count)++];
		bool present;
		part->part = (int)number_at(statement.result, row, 0, &present);
		part->size = (off_t)number_at(statement.result, row, 1,
					      &part->size_known);
		part->version =
			(uint64_t)number_at(statement.result, row, 2, &present);
		resolve_mtime(statement.result, row, place->crash_id,
			      &part->mtime);
	}
	pg_statements_clear(&statement, 1);
	return 0;
}

static int part_number(const struct crash_part *part)
{
	if (part->type == CRASH_PART_RAW_CRASH)
		return PG_PART_RAW;
	if (part->type == CRASH_PART_PROCESSED)
		return PG_PART_PROCESSED;
	return 0;
}

/* -- the bytes ---------------------------------------------------------------- */

static int write_all(int fd, const void *bytes, size_t size)
{
	const char *cursor = bytes;
	while (size > 0) {
		ssize_t written = write(fd, cursor, size);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		cursor += written;
		size -= (size_t)written;
	}
	return 0;
}

struct fill {
	struct pg_store *self;
	const struct crash_place *place;
	int part;
};

static int write_processed(struct fill *fill, struct crash_call *call,
			   const PGresult *answer, int fd)
{
	if (!PQgetisnull(answer, 0, 0))
		return write_all(fd, PQgetvalue(answer, 0, 0),
				 (size_t)PQgetlength(answer, 0, 0));
	unsigned char *gzip = NULL;
	size_t size = 0;
	int result = pg_gzip_deflate(PQgetvalue(answer, 0, 1),
				     (size_t)PQgetlength(answer, 0, 1), &gzip,
				     &size);
	if (result < 0)
		return crash_error_set(&call->error, result,
				       "%s: %s: cannot compress the processed "
				       "crash", fill->self->base.node_path,
				       fill->place->crash_id);
	result = write_all(fd, gzip, size);
	free(gzip);
	return result;
}

/* read_cache_fill_fn: the part's bytes from the server into fd. */
static int fill_part(void *arg, struct crash_call *call, int fd)
{
	struct fill *fill = arg;
	const struct crash_place *place = fill->place;
	char name[PG_NAME_MAX];
	const char *values[] = { place->crash_id };
	bool raw = fill->part == PG_PART_RAW;
	char *sql = raw ? pg_sql_fetch_raw(&place->week)
			: pg_sql_fetch_processed(&place->week, place->tables);
	snprintf(name, sizeof name, "%s_%u_%s", raw ? "fetch_raw" : "fetch_processed",
		 place->tables, place->week.suffix);
	if (!sql)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	struct pg_statement statement = { .name = name, .sql = sql,
					  .param_count = 1, .values = values,
					  .result_format = 1 };
	int result = run_read(fill->self, call, place, &statement, "read");
	free(sql);
	if (result < 0)
		return result;
	if (PQntuples(statement.result) != 1)
		result = not_here(fill->self, call, place->crash_id);
	else if (raw)
		result = write_all(fd, PQgetvalue(statement.result, 0, 0),
				   (size_t)PQgetlength(statement.result, 0, 0));
	else
		result = write_processed(fill, call, statement.result, fd);
	if (result < 0 && call->error.code == 0)
		crash_error_set(&call->error, result,
				"%s: %s: cannot keep the part's bytes: %s",
				fill->self->base.node_path, place->crash_id,
				strerror(-result));
	pg_statements_clear(&statement, 1);
	return result;
}

/* An unlinked file in the spool directory (or memory) for the bytes of a
 * part when the mount has no read cache. */
static int scratch_file(struct pg_store *self)
{
	int fd = -1;
	if (self->spool_dir)
		fd = open(self->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC,
			  0600);
	if (fd < 0)
		fd = memfd_create("crashfs-postgresql-part", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A read-only descriptor of the part's bytes and their size. */
static int open_bytes(struct pg_store *self, struct crash_call *call,
		      const struct crash_place *place,
		      const struct part_row *row, int *fd_out, off_t *size)
{
	struct fill fill = { .self = self, .place = place, .part = row->part };
	if (self->read_cache) {
		char key[STORE_NODE_PATH_MAX + 64];
		pg_store_cache_key(self, place->crash_id, row->part, key,
				   sizeof key);
		return read_cache_open(self->read_cache, call, key,
				       row->version, fill_part, &fill, fd_out,
				       size);
	}
	int fd = scratch_file(self);
	if (fd < 0)
		return crash_error_set(&call->error, fd,
				       "%s: no file for a part's bytes: %s",
				       self->base.node_path, strerror(-fd));
	int result = fill_part(&fill, call, fd);
	struct stat st;
	if (result == 0 && fstat(fd, &st) < 0)
		result = crash_error_set(&call->error, -errno, "fstat: %s",
					 strerror(errno));
	/* The caller gets a read-only descriptor of its own. */
	int reader = -1;
	if (result == 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		reader = open(path, O_RDONLY | O_CLOEXEC);
		if (reader < 0)
			result = crash_error_set(&call->error, -errno,
						 "%s: reopening a part's bytes: "
						 "%s", self->base.node_path,
						 strerror(errno));
	}
	close(fd);
	if (result < 0)
		return result;
	*fd_out = reader;
	*size = st.st_size;
	return 0;
}

/* Fills in the size of a part that has none without its bytes. */
static int learn_size(struct pg_store *self, struct crash_call *call,
		      const struct crash_place *place, struct part_row *row)
{
	int fd;
	off_t size;
	if (row->size_known)
		return 0;
	int result = open_bytes(self, call, place, row, &fd, &size);
	if (result < 0)
		return result;
	close(fd);
	row->size = size;
	row->size_known = true;
	return 0;
}

static void fill_stat(const struct part_row *row, struct crash_part_stat *stat)
{
	if (!stat)
		return;
	stat->size = row->size;
	stat->mtime = row->mtime;
	stat->mode = 0644;
	stat->version = row->version;
}

/* The row of one part; -ENOENT when the crash has no such part. */
static int find_part(struct pg_store *self, struct crash_call *call,
		     const char *crash_id, const struct crash_part *part,
		     const char *operation, struct crash_place *place,
		     struct part_row *out)
{
	struct part_row rows[2];
	size_t count;
	int number = part_number(part);
	int result = locate(self, call, crash_id, operation, place);
	if (result < 0)
		return result;
	if (number == 0)
		return crash_error_set(&call->error, -ENOENT,
				       "%s: %s: PostgreSQL keeps no dumps",
				       self->base.node_path, crash_id);
	result = query_parts(self, call, place, rows, &count, operation);
	if (result < 0)
		return result;
	for (size_t i = 0; i < count; i++) {
		if (rows[i].part == number) {
			*out = rows[i];
			return 0;
		}
	}
	return count == 0 ? absent(self, call, place)
			  : not_here(self, call, crash_id);
}

/* -- the operations --------------------------------------------------------- */

int pg_stat_crash(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, struct crash_dir_stat *stat)
{
	struct pg_store *self = pg_store_from(store);
	struct crash_place place;
	const char *values[] = { crash_id };
	char name[PG_NAME_MAX];
	int result = locate(self, call, crash_id, "stat_crash", &place);
	if (result < 0)
		return result;
	snprintf(name, sizeof name, "crash_exists_%u_%s", place.tables,
		 place.week.suffix);
	char *sql = pg_sql_crash_exists(&place.week, place.tables);
	if (!sql)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	struct pg_statement statement = { .name = name, .sql = sql,
					  .param_count = 1, .values = values };
	result = run_read(self, call, &place, &statement, "stat_crash");
	free(sql);
	if (result < 0)
		return result;
	bool here = PQntuples(statement.result) == 1 &&
		    strcmp(PQgetvalue(statement.result, 0, 0), "t") == 0;
	pg_statements_clear(&statement, 1);
	if (!here)
		return absent(self, call, &place);
	if (stat)
		stat->mtime = (struct timespec){ 0, 0 }; /* cannot tell */
	return 0;
}

int pg_stat_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat)
{
	struct pg_store *self = pg_store_from(store);
	struct crash_place place;
	struct part_row row;
	int result = find_part(self, call, crash_id, part, "stat_part", &place,
			       &row);
	if (result == 0)
		result = learn_size(self, call, &place, &row);
	if (result == 0)
		fill_stat(&row, stat);
	return result;
}

int pg_open_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat, int *fd_out)
{
	struct pg_store *self = pg_store_from(store);
	struct crash_place place;
	struct part_row row;
	off_t size;
	int result = find_part(self, call, crash_id, part, "open_part", &place,
			       &row);
	if (result == 0)
		result = open_bytes(self, call, &place, &row, fd_out, &size);
	if (result < 0)
		return result;
	row.size = size;
	row.size_known = true;
	fill_stat(&row, stat);
	return 0;
}

int pg_list_parts(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, crash_part_emit_fn emit, void *ctx)
{
	struct pg_store *self = pg_store_from(store);
	struct crash_place place;
	struct part_row rows[2];
	size_t count = 0;
	int result = locate(self, call, crash_id, "list_parts", &place);
	if (result == 0)
		result = query_parts(self, call, &place, rows, &count,
				     "list_parts");
	for (size_t i = 0; result == 0 && i < count; i++)
		result = learn_size(self, call, &place, &rows[i]);
	if (result < 0)
		return result;
	if (count == 0)
		return absent(self, call, &place);
	/* No session is held from here on: emit may call the store. */
	for (size_t i = 0; result == 0 && i < count; i++) {
		struct crash_part part = {
			.type = rows[i].part == PG_PART_RAW
					? CRASH_PART_RAW_CRASH
					: CRASH_PART_PROCESSED,
		};
		struct crash_part_stat stat;
		fill_stat(&rows[i], &stat);
		result = emit(ctx, &part, &stat);
	}
	return result;
}
