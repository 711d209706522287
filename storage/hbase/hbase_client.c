/*
 * hbase_client.c - the generated Thrift client behind plain C calls (see
 * hbase_client.h).
 *
 * What c_glib needs from a caller and does not say (environment notes):
 * every container a call returns into is made here first (the generated
 * code appends to it, or returns success with nothing when it is NULL);
 * exception pointers start NULL and are freed whatever happened; a failed
 * call may come without a GError.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/thrift_application_exception.h>

#include "hbase_hbase.h"
#include "storage/hbase/hbase_client.h"
#include "storage/hbase/hbase_socket.h"

struct hbase_client {
	char *host;
	int port;
	HbaseSocket *socket;
	ThriftProtocol *protocol;
	HbaseHbaseClient *service;
	GHashTable *attributes; /* empty: every call sends one */
	bool broken;
	atomic_uint_fast64_t *request_counter;
};

/* The exceptions a call may declare; each starts NULL. */
struct declared {
	HbaseIOError *io;
	HbaseIllegalArgument *illegal;
	HbaseAlreadyExists *exists;
};

static gpointer register_types(gpointer unused)
{
	hbase_register_types();
	(void)hbase_hbase_client_get_type();
	(void)hbase_socket_get_type();
	return NULL;
}

struct hbase_client *hbase_client_new(const struct hbase_endpoint *endpoint)
{
	/* The generated types register themselves on first use without a
	 * lock (generate.py): all of them, once, before any thread uses one. */
	static GOnce registered = G_ONCE_INIT;
	g_once(&registered, register_types, NULL);
	struct hbase_client *client = g_new0(struct hbase_client, 1);
	client->host = g_strdup(endpoint->host);
	client->port = endpoint->port;
	client->request_counter = endpoint->request_counter;
	client->socket = hbase_socket_new(endpoint->host, endpoint->port,
					  endpoint->timeout_ms,
					  endpoint->read_limit);
	client->protocol = g_object_new(THRIFT_TYPE_BINARY_PROTOCOL,
					"transport", client->socket, NULL);
	client->service = g_object_new(HBASE_TYPE_HBASE_CLIENT,
				       "input_protocol", client->protocol,
				       "output_protocol", client->protocol,
				       NULL);
	client->attributes = g_hash_table_new(g_direct_hash, g_direct_equal);
	return client;
}

void hbase_client_free(struct hbase_client *client)
{
	if (!client)
		return;
	g_object_unref(client->service);
	g_object_unref(client->protocol);
	g_object_unref(client->socket);
	g_hash_table_unref(client->attributes);
	g_free(client->host);
	g_free(client);
}

bool hbase_client_broken(const struct hbase_client *client)
{
	return client->broken;
}

static HbaseHbaseIf *service(struct hbase_client *client)
{
	return HBASE_HBASE_IF(client->service);
}

static int broken_error(struct hbase_client *client, struct crash_call *call,
			int code, bool operational, const char *format, ...)
	__attribute__((format(printf, 5, 6)));

static int broken_error(struct hbase_client *client, struct crash_call *call,
			int code, bool operational, const char *format, ...)
{
	char message[CRASH_ERROR_MESSAGE_MAX];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof message, format, args);
	va_end(args);
	client->broken = true;
	if (operational)
		return crash_error_set_operational(&call->error, code, "%s",
						   message);
	return crash_error_set(&call->error, code, "%s", message);
}

/* The first line of a server's message (HBase sends a stack trace). */
static void first_line(const char *text, char *out, size_t size)
{
	if (!text)
		text = "(no message)";
	size_t length = strcspn(text, "\r\n");
	if (length >= size)
		length = size - 1;
	memcpy(out, text, length);
	out[length] = '\0';
}

/* The errno a caller sees for a failure of the connection: what tools
 * understand (EIO), except an interrupted or timed-out wait, which says
 * more; the message keeps the socket's own reason. */
static int connection_errno(int failure)
{
	if (failure == -EINTR || failure == -ETIMEDOUT)
		return failure;
	return -EIO;
}

/* Prepares a call: connects a new client under the call's deadline. */
static int begin(struct hbase_client *client, struct crash_call *call,
		 const char *what)
{
	if (client->broken)
		return broken_error(client, call, -EIO, true,
				    "%s: %s: the connection failed before",
				    client->host, what);
	client->socket->call = call;
	client->socket->failure = 0;
	GError *error = NULL;
	/* A connection the server closed while it was idle in the pool (it
	 * restarted) is opened again before anything is sent on it. */
	if (hbase_socket_is_stale(client->socket))
		thrift_transport_close(THRIFT_TRANSPORT(client->socket),
				       &error);
	if (thrift_transport_is_open(THRIFT_TRANSPORT(client->socket)))
		return 0;
	gboolean opened = thrift_transport_open(
		THRIFT_TRANSPORT(client->socket), &error);
	g_clear_error(&error);
	if (opened)
		return 0;
	int code = connection_errno(client->socket->failure);
	return broken_error(client, call, code, code != -EINTR,
			    "cannot connect to HBase at %s",
			    client->socket->failure_message);
}

/* Turns the outcome of one generated call into 0 or an error. */
static int finish(struct hbase_client *client, struct crash_call *call,
		  const char *what, gboolean ok, GError *error,
		  struct declared *declared)
{
	char line[CRASH_ERROR_MESSAGE_MAX / 2];
	int result = 0;
	if (client->request_counter)
		atomic_fetch_add(client->request_counter, 1);
	client->socket->call = NULL;
	/* A declared exception comes with FALSE and a GError too (c_glib):
	 * it says more than the GError, so it is looked at first. */
	if (declared->io) {
		first_line(declared->io->message, line, sizeof line);
		result = broken_error(client, call, -EIO,
				      declared->io->canRetry,
				      "HBase at %s:%d: %s: IOError: %s",
				      client->host, client->port, what, line);
	} else if (declared->illegal) {
		first_line(declared->illegal->message, line, sizeof line);
		result = broken_error(client, call, -EINVAL, false,
				      "HBase at %s:%d: %s: IllegalArgument: %s",
				      client->host, client->port, what, line);
	} else if (declared->exists) {
		first_line(declared->exists->message, line, sizeof line);
		result = broken_error(client, call, -EEXIST, false,
				      "HBase at %s:%d: %s: AlreadyExists: %s",
				      client->host, client->port, what, line);
	} else if (ok) {
		/* done */
	} else if (client->socket->failure) {
		int failure = client->socket->failure;
		result = broken_error(client, call, connection_errno(failure),
				      failure != -EINTR && failure != -EFBIG,
				      "HBase at %s: %s: %s",
				      client->socket->failure_message, what,
				      failure == -EFBIG ? "reply too large"
							: "connection failed");
	} else if (error && error->domain ==
				    THRIFT_APPLICATION_EXCEPTION_ERROR) {
		first_line(error->message, line, sizeof line);
		result = broken_error(client, call, -EIO, false,
				      "HBase at %s:%d: %s: %s", client->host,
				      client->port, what, line);
	} else {
		/* A garbled reply, or c_glib's error-less failure on a
		 * closed transport: the connection cannot be trusted. */
		first_line(error ? error->message : "the call failed",
			   line, sizeof line);
		result = broken_error(client, call, -EIO, true,
				      "HBase at %s:%d: %s: %s", client->host,
				      client->port, what, line);
	}
	if (error)
		g_error_free(error);
	if (declared->io)
		g_object_unref(declared->io);
	if (declared->illegal)
		g_object_unref(declared->illegal);
	if (declared->exists)
		g_object_unref(declared->exists);
	return result;
}

static GByteArray *bytes_of(const char *text)
{
	GByteArray *bytes = g_byte_array_sized_new((guint)strlen(text));
	return g_byte_array_append(bytes, (const guint8 *)text,
				   (guint)strlen(text));
}

static GPtrArray *byte_arrays(const char *const *texts, size_t count)
{
	GPtrArray *array = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_byte_array_unref);
	for (size_t i = 0; i < count; i++)
		g_ptr_array_add(array, bytes_of(texts[i]));
	return array;
}

/* As hbase_text, with GLib's allocator (rows are freed with g_free). */
static char *text_of(const GByteArray *bytes)
{
	if (!bytes)
		return g_strdup("");
	char *text = g_malloc(bytes->len + 1);
	memcpy(text, bytes->data, bytes->len);
	text[bytes->len] = '\0';
	return text;
}

char *hbase_text(const unsigned char *bytes, size_t length)
{
	char *text = malloc(length + 1);
	if (text) {
		memcpy(text, bytes, length);
		text[length] = '\0';
	}
	return text;
}

/* -- rows ---------------------------------------------------------------- */

void hbase_row_release(struct hbase_row *row)
{
	for (size_t i = 0; i < row->cell_count; i++) {
		g_free(row->cells[i].column);
		g_free(row->cells[i].value);
	}
	g_free(row->cells);
	g_free(row->key);
	memset(row, 0, sizeof *row);
}

void hbase_rows_free(struct hbase_row *rows, size_t count)
{
	for (size_t i = 0; rows && i < count; i++)
		hbase_row_release(&rows[i]);
	g_free(rows);
}

const struct hbase_cell *hbase_row_cell(const struct hbase_row *row,
					const char *column)
{
	for (size_t i = 0; i < row->cell_count; i++)
		if (strcmp(row->cells[i].column, column) == 0)
			return &row->cells[i];
	return NULL;
}

/* Takes a TRowResult's cells over into a plain row (values are stolen,
 * not copied: a dump is read into memory once). */
static void take_row(HbaseTRowResult *result, struct hbase_row *row)
{
	row->key = text_of(result->row);
	guint size = g_hash_table_size(result->columns);
	row->cells = g_new0(struct hbase_cell, size ? size : 1);
	GHashTableIter iterator;
	gpointer key, value;
	g_hash_table_iter_init(&iterator, result->columns);
	while (g_hash_table_iter_next(&iterator, &key, &value)) {
		struct hbase_cell *cell = &row->cells[row->cell_count++];
		HbaseTCell *found = value;
		gsize length = 0;
		cell->column = text_of(key);
		cell->timestamp = found->timestamp;
		if (found->value) {
			cell->value = g_byte_array_steal(found->value, &length);
			cell->value_length = length;
		}
		if (!cell->value)
			cell->value = g_malloc0(1);
	}
}

static void take_rows(GPtrArray *results, struct hbase_row **rows,
		      size_t *count)
{
	*count = results->len;
	*rows = g_new0(struct hbase_row, results->len ? results->len : 1);
	for (guint i = 0; i < results->len; i++)
		take_row(g_ptr_array_index(results, i), &(*rows)[i]);
}

static GPtrArray *row_results(void)
{
	return g_ptr_array_new_with_free_func(g_object_unref);
}

int hbase_client_get_row(struct hbase_client *client, struct crash_call *call,
			 const char *table, const char *row_key,
			 const char *const *columns, size_t column_count,
			 struct hbase_row *row, bool *found)
{
	memset(row, 0, sizeof *row);
	*found = false;
	int result = begin(client, call, "getRowWithColumns");
	if (result < 0)
		return result;
	GByteArray *table_bytes = bytes_of(table), *key = bytes_of(row_key);
	GPtrArray *wanted = byte_arrays(columns, column_count);
	GPtrArray *results = row_results();
	struct declared declared = { 0 };
	GError *error = NULL;
	gboolean ok = hbase_hbase_if_get_row_with_columns(
		service(client), &results, table_bytes, key, wanted,
		client->attributes, &declared.io, &error);
	result = finish(client, call, "getRowWithColumns", ok, error,
			&declared);
	if (result == 0 && results->len > 0) {
		take_row(g_ptr_array_index(results, 0), row);
		*found = true;
	}
	g_ptr_array_unref(results);
	g_ptr_array_unref(wanted);
	g_byte_array_unref(key);
	g_byte_array_unref(table_bytes);
	return result;
}

/* -- mutations ----------------------------------------------------------- */

/* The value of a put, read from its file when it comes from one. */
static int mutation_value(const struct hbase_mutation *mutation,
			  GByteArray **out, struct crash_call *call)
{
	if (!mutation->from_fd) {
		*out = g_byte_array_sized_new((guint)mutation->value_length);
		g_byte_array_append(*out, mutation->value,
				    (guint)mutation->value_length);
		return 0;
	}
	GByteArray *bytes = g_byte_array_sized_new(
		(guint)mutation->value_length);
	g_byte_array_set_size(bytes, (guint)mutation->value_length);
	size_t done = 0;
	while (done < mutation->value_length) {
		ssize_t got = pread(mutation->fd, bytes->data + done,
				    mutation->value_length - done,
				    mutation->offset + (off_t)done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			int code = got < 0 ? -errno : -EIO;
			g_byte_array_unref(bytes);
			return crash_error_set(&call->error, code,
					       "reading the value of %s: %s",
					       mutation->column,
					       got < 0 ? strerror(-code)
						       : "file too short");
		}
		done += (size_t)got;
	}
	*out = bytes;
	return 0;
}

static int mutation_objects(const struct hbase_mutation *mutations,
			    size_t count, GPtrArray **out,
			    struct crash_call *call)
{
	GPtrArray *array = g_ptr_array_new_with_free_func(g_object_unref);
	for (size_t i = 0; i < count; i++) {
		HbaseMutation *mutation = g_object_new(HBASE_TYPE_MUTATION,
						       NULL);
		g_ptr_array_add(array, mutation);
		mutation->column = bytes_of(mutations[i].column);
		mutation->__isset_column = TRUE;
		mutation->isDelete = mutations[i].is_delete;
		mutation->__isset_isDelete = TRUE;
		if (mutations[i].is_delete)
			continue;
		int result = mutation_value(&mutations[i], &mutation->value,
					    call);
		if (result < 0) {
			g_ptr_array_unref(array);
			return result;
		}
		mutation->__isset_value = TRUE;
	}
	*out = array;
	return 0;
}

int hbase_client_mutate_row(struct hbase_client *client,
			    struct crash_call *call, const char *table,
			    const char *row_key,
			    const struct hbase_mutation *mutations,
			    size_t count)
{
	GPtrArray *objects = NULL;
	int result = mutation_objects(mutations, count, &objects, call);
	if (result < 0)
		return result;
	result = begin(client, call, "mutateRow");
	if (result < 0) {
		g_ptr_array_unref(objects);
		return result;
	}
	GByteArray *table_bytes = bytes_of(table), *key = bytes_of(row_key);
	struct declared declared = { 0 };
	GError *error = NULL;
	gboolean ok = hbase_hbase_if_mutate_row(
		service(client), table_bytes, key, objects, client->attributes,
		&declared.io, &declared.illegal, &error);
	result = finish(client, call, "mutateRow", ok, error, &declared);
	g_byte_array_unref(key);
	g_byte_array_unref(table_bytes);
	g_ptr_array_unref(objects);
	return result;
}

int hbase_client_increment(struct hbase_client *client,
			   struct crash_call *call, const char *table,
			   const char *row_key, const char *column,
			   int64_t delta, int64_t *value_out)
{
	int result = begin(client, call, "atomicIncrement");
	if (result < 0)
		return result;
	GByteArray *table_bytes = bytes_of(table), *key = bytes_of(row_key);
	GByteArray *column_bytes = bytes_of(column);
	struct declared declared = { 0 };
	GError *error = NULL;
	gint64 value = 0;
	gboolean ok = hbase_hbase_if_atomic_increment(
		service(client), &value, table_bytes, key, column_bytes, delta,
		&declared.io, &declared.illegal, &error);
	result = finish(client, call, "atomicIncrement", ok, error, &declared);
	if (result == 0 && value_out)
		*value_out = value;
	g_byte_array_unref(column_bytes);
	g_byte_array_unref(key);
	g_byte_array_unref(table_bytes);
	return result;
}

int hbase_client_delete_row(struct hbase_client *client,
			    struct crash_call *call, const char *table,
			    const char *row_key)
{
	int result = begin(client, call, "deleteAllRow");
	if (result < 0)
		return result;
	GByteArray *table_bytes = bytes_of(table), *key = bytes_of(row_key);
	struct declared declared = { 0 };
	GError *error = NULL;
	gboolean ok = hbase_hbase_if_delete_all_row(
		service(client), table_bytes, key, client->attributes,
		&declared.io, &error);
	result = finish(client, call, "deleteAllRow", ok, error, &declared);
	g_byte_array_unref(key);
	g_byte_array_unref(table_bytes);
	return result;
}

/* -- scanners ------------------------------------------------------------ */

static HbaseTScan *scan_object(const struct hbase_scan *scan)
{
	HbaseTScan *object = g_object_new(HBASE_TYPE_T_SCAN, NULL);
	if (scan->start_row) {
		object->startRow = bytes_of(scan->start_row);
		object->__isset_startRow = TRUE;
	}
	if (scan->stop_row) {
		object->stopRow = bytes_of(scan->stop_row);
		object->__isset_stopRow = TRUE;
	}
	for (size_t i = 0; i < scan->column_count; i++)
		g_ptr_array_add(object->columns, bytes_of(scan->columns[i]));
	object->__isset_columns = scan->column_count > 0;
	if (scan->filter) {
		object->filterString = bytes_of(scan->filter);
		object->__isset_filterString = TRUE;
	}
	if (scan->caching > 0) {
		object->caching = scan->caching;
		object->__isset_caching = TRUE;
	}
	return object;
}

int hbase_client_scanner_open(struct hbase_client *client,
			      struct crash_call *call, const char *table,
			      const struct hbase_scan *scan,
			      int32_t *scanner_id)
{
	int result = begin(client, call, "scannerOpenWithScan");
	if (result < 0)
		return result;
	GByteArray *table_bytes = bytes_of(table);
	HbaseTScan *object = scan_object(scan);
	struct declared declared = { 0 };
	GError *error = NULL;
	HbaseScannerID id = 0;
	gboolean ok = hbase_hbase_if_scanner_open_with_scan(
		service(client), &id, table_bytes, object, client->attributes,
		&declared.io, &error);
	result = finish(client, call, "scannerOpenWithScan", ok, error,
			&declared);
	if (result == 0)
		*scanner_id = id;
	g_object_unref(object);
	g_byte_array_unref(table_bytes);
	return result;
}

int hbase_client_scanner_next(struct hbase_client *client,
			      struct crash_call *call, int32_t scanner_id,
			      int max_rows, struct hbase_row **rows,
			      size_t *count)
{
	*rows = NULL;
	*count = 0;
	int result = begin(client, call, "scannerGetList");
	if (result < 0)
		return result;
	GPtrArray *results = row_results();
	struct declared declared = { 0 };
	GError *error = NULL;
	gboolean ok = hbase_hbase_if_scanner_get_list(
		service(client), &results, scanner_id, max_rows, &declared.io,
		&declared.illegal, &error);
	result = finish(client, call, "scannerGetList", ok, error, &declared);
	if (result == 0)
		take_rows(results, rows, count);
	g_ptr_array_unref(results);
	return result;
}

int hbase_client_scanner_close(struct hbase_client *client,
			       struct crash_call *call, int32_t scanner_id)
{
	int result = begin(client, call, "scannerClose");
	if (result < 0)
		return result;
	struct declared declared = { 0 };
	GError *error = NULL;
	gboolean ok = hbase_hbase_if_scanner_close(service(client), scanner_id,
						   &declared.io,
						   &declared.illegal, &error);
	return finish(client, call, "scannerClose", ok, error, &declared);
}

/* -- tables -------------------------------------------------------------- */

int hbase_client_table_names(struct hbase_client *client,
			     struct crash_call *call, char ***names_out)
{
	*names_out = NULL;
	int result = begin(client, call, "getTableNames");
	if (result < 0)
		return result;
	GPtrArray *names = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_byte_array_unref);
	struct declared declared = { 0 };
	GError *error = NULL;
	gboolean ok = hbase_hbase_if_get_table_names(service(client), &names,
						     &declared.io, &error);
	result = finish(client, call, "getTableNames", ok, error, &declared);
	if (result == 0) {
		char **out = calloc(names->len + 1, sizeof *out);
		for (guint i = 0; out && i < names->len; i++) {
			GByteArray *name = g_ptr_array_index(names, i);
			out[i] = hbase_text(name->data, name->len);
			if (!out[i]) {
				for (guint j = 0; j < i; j++)
					free(out[j]);
				free(out);
				out = NULL;
			}
		}
		if (!out)
			result = crash_error_set(&call->error, -ENOMEM,
						 "out of memory");
		*names_out = out;
	}
	g_ptr_array_unref(names);
	return result;
}

int hbase_client_create_table(struct hbase_client *client,
			      struct crash_call *call, const char *table,
			      const struct hbase_family *families,
			      size_t count)
{
	int result = begin(client, call, "createTable");
	if (result < 0)
		return result;
	GByteArray *table_bytes = bytes_of(table);
	GPtrArray *descriptors = g_ptr_array_new_with_free_func(
		g_object_unref);
	for (size_t i = 0; i < count; i++) {
		HbaseColumnDescriptor *descriptor = g_object_new(
			HBASE_TYPE_COLUMN_DESCRIPTOR, NULL);
		char *name = g_strconcat(families[i].name, ":", NULL);
		descriptor->name = bytes_of(name);
		g_free(name);
		descriptor->__isset_name = TRUE;
		descriptor->maxVersions = families[i].max_versions;
		descriptor->__isset_maxVersions = TRUE;
		g_free(descriptor->compression);
		descriptor->compression = g_strdup(families[i].compression);
		descriptor->__isset_compression = TRUE;
		/* analysis/hbase_schema: BLOCKCACHE true, IN_MEMORY false,
		 * TTL forever (the IDL's defaults otherwise). */
		descriptor->blockCacheEnabled = TRUE;
		descriptor->__isset_blockCacheEnabled = TRUE;
		g_ptr_array_add(descriptors, descriptor);
	}
	struct declared declared = { 0 };
	GError *error = NULL;
	gboolean ok = hbase_hbase_if_create_table(
		service(client), table_bytes, descriptors, &declared.io,
		&declared.illegal, &declared.exists, &error);
	result = finish(client, call, "createTable", ok, error, &declared);
	g_ptr_array_unref(descriptors);
	g_byte_array_unref(table_bytes);
	return result;
}
