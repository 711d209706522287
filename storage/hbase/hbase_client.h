/*
 * hbase_client.h - one connection to an HBase Thrift (v1) server, and the
 * calls the HBase store makes on it, in plain C.
 *
 * A client is the whole chain thrift c_glib needs for one connection: the
 * transport (hbase_socket.h), a TBinaryProtocol and the generated Hbase
 * client.  It connects on its first call, under that call's deadline.
 * Results come back as plain structs (struct hbase_row) that own their
 * bytes; nothing of GLib leaks into the store.
 *
 * Errors: every call returns 0 or a negative errno with call->error set to
 * one line that names the server and the call.  Classification:
 *   - the connection failed, timed out or broke mid-call, the reply was
 *     garbled, or HBase answered IOError with canRetry set: operational
 *     (-EIO, -ETIMEDOUT, -ECONNREFUSED, ...): worth a reconnect and retry;
 *   - HBase answered IOError without canRetry (a missing table or family:
 *     its DoNotRetryIOExceptions): -EIO, not operational;
 *   - IllegalArgument: -EINVAL; AlreadyExists: -EEXIST; a
 *     TApplicationException (HBase's "Internal error processing ..."):
 *     -EIO; none of them operational;
 *   - the caller was interrupted: -EINTR.
 * After ANY failure the client is broken (hbase_client_broken) and refuses
 * further calls: the owner drops it and makes a new one, since c_glib may
 * hold part of an unsent request or an unread reply (environment notes:
 * stale-buffer replay).  Even a declared exception, which leaves the
 * stream in step, breaks it: one rule, and a rare cost.
 *
 * Socorro treated every Thrift error as retriable, a missing table
 * included; crashfs retries only what another attempt can cure.
 *
 * Row keys, column names and table names are C strings (the store's are
 * text); values are bytes with a length.
 *
 * Threads: a client is used by one thread at a time (the connection pool
 * leases it).
 */
#ifndef CRASHFS_STORAGE_HBASE_HBASE_CLIENT_H
#define CRASHFS_STORAGE_HBASE_HBASE_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "storage/crash_store.h"

struct hbase_endpoint {
	const char *host;
	int port;
	long timeout_ms;   /* the longest wait on the socket */
	size_t read_limit; /* the largest reply accepted, bytes */
	/* Counts the requests of every client of the endpoint; may be
	 * NULL. */
	atomic_uint_fast64_t *request_counter;
};

struct hbase_client;

/* An unconnected client of endpoint (copied). */
struct hbase_client *hbase_client_new(const struct hbase_endpoint *endpoint);
void hbase_client_free(struct hbase_client *client);
/* True once a call failed: the client must be dropped. */
bool hbase_client_broken(const struct hbase_client *client);

/* A cell of a row: "family:qualifier", the value, its timestamp (ms). */
struct hbase_cell {
	char *column;
	unsigned char *value;
	size_t value_length;
	int64_t timestamp;
};

/* A row: its key and cells (in no particular order). */
struct hbase_row {
	char *key;
	struct hbase_cell *cells;
	size_t cell_count;
};

void hbase_row_release(struct hbase_row *row);
/* bytes (not NUL-terminated, as HBase sends them) as a malloc'd C string;
 * NULL if out of memory. */
char *hbase_text(const unsigned char *bytes, size_t length);
void hbase_rows_free(struct hbase_row *rows, size_t count);
/* The cell of column in row, or NULL. */
const struct hbase_cell *hbase_row_cell(const struct hbase_row *row,
					const char *column);

/* One mutation of mutateRow.  A put takes its value from value/length,
 * or, when from_fd is set, reads length bytes at offset of fd (a dump
 * goes from the spool file into the request without another copy). */
struct hbase_mutation {
	const char *column;
	bool is_delete;
	const void *value;
	size_t value_length;
	bool from_fd;
	int fd;
	off_t offset;
};

/* getRowWithColumns: the row's cells of columns ("family" for a whole
 * family); *found false (and row empty) when HBase has no such row. */
int hbase_client_get_row(struct hbase_client *client, struct crash_call *call,
			 const char *table, const char *row_key,
			 const char *const *columns, size_t column_count,
			 struct hbase_row *row, bool *found);
int hbase_client_mutate_row(struct hbase_client *client,
			    struct crash_call *call, const char *table,
			    const char *row_key,
			    const struct hbase_mutation *mutations,
			    size_t count);
int hbase_client_increment(struct hbase_client *client,
			   struct crash_call *call, const char *table,
			   const char *row_key, const char *column,
			   int64_t delta, int64_t *value_out);
int hbase_client_delete_row(struct hbase_client *client,
			    struct crash_call *call, const char *table,
			    const char *row_key);

/* scannerOpenWithScan: rows from start_row (inclusive) to stop_row
 * (exclusive; NULL: the end), of columns (none: all), through filter (HBase
 * filter language, NULL: none). */
struct hbase_scan {
	const char *start_row;
	const char *stop_row;
	const char *const *columns;
	size_t column_count;
	const char *filter;
	int caching; /* rows the server reads ahead; 0: its default */
};
int hbase_client_scanner_open(struct hbase_client *client,
			      struct crash_call *call, const char *table,
			      const struct hbase_scan *scan,
			      int32_t *scanner_id);
/* scannerGetList: at most max_rows rows (malloc'd array, *count 0 at the
 * end). */
int hbase_client_scanner_next(struct hbase_client *client,
			      struct crash_call *call, int32_t scanner_id,
			      int max_rows, struct hbase_row **rows,
			      size_t *count);
int hbase_client_scanner_close(struct hbase_client *client,
			       struct crash_call *call, int32_t scanner_id);

/* getTableNames: a NULL-terminated array of strings (free each and it). */
int hbase_client_table_names(struct hbase_client *client,
			     struct crash_call *call, char ***names_out);

struct hbase_family {
	const char *name;
	int max_versions;
	const char *compression; /* "NONE", "LZO", ... */
};
int hbase_client_create_table(struct hbase_client *client,
			      struct crash_call *call, const char *table,
			      const struct hbase_family *families,
			      size_t count);

#endif
