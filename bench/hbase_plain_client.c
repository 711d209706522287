/*
 * hbase_plain_client.c - the baseline of bench/hbase.py: Socorro's
 * HBaseCrashStorage.save_raw_crash and its reads, done by a plain thrift
 * c_glib client (ThriftSocket, ThriftBufferedTransport, TBinaryProtocol:
 * the library's own way) with nothing of crashfs around it.
 *
 *   hbase_plain_client HOST PORT TABLE_PREFIX ingest|read DIR
 *
 * DIR holds one directory per crash, <id>/<id>.json and <id>/<id>.dump.
 * ingest saves each crash as A.5 of spec/backends.md does: one mutateRow
 * of the crash's row (the raw crash and its dump in it), its four index
 * rows and the ten metrics increments of a plain crash.  read fetches each
 * crash's raw crash and dump with one getRowWithColumns and checks their
 * sizes.  One connection, one thread.  Prints "ok N" and exits 0, or says
 * what failed and exits 1.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <jansson.h>
#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/transport/thrift_buffered_transport.h>
#include <thrift/c_glib/transport/thrift_socket.h>

#include "hbase_hbase.h"

static HbaseHbaseIf *client;
static const char *prefix;

static GByteArray *bytes(const void *data, size_t length)
{
	GByteArray *array = g_byte_array_sized_new((guint)length);
	return g_byte_array_append(array, data, (guint)length);
}

static GByteArray *text(const char *string)
{
	return bytes(string, strlen(string));
}

static GByteArray *table(const char *name)
{
	char full[256];
	snprintf(full, sizeof full, "%s%s", prefix, name);
	return text(full);
}

static int fail(const char *what, GError *error, HbaseIOError *io)
{
	fprintf(stderr, "hbase_plain_client: %s: %s\n", what,
		io && io->message ? io->message
				  : error ? error->message : "failed");
	return 1;
}

static void add_put(GPtrArray *mutations, const char *column, GByteArray *value)
{
	HbaseMutation *mutation = g_object_new(HBASE_TYPE_MUTATION, NULL);
	mutation->column = text(column);
	mutation->value = value;
	g_ptr_array_add(mutations, mutation);
}

static int mutate(const char *table_name, const char *row,
		  GPtrArray *mutations)
{
	GByteArray *name = table(table_name), *key = text(row);
	GHashTable *attributes = g_hash_table_new(NULL, NULL);
	HbaseIOError *io = NULL;
	HbaseIllegalArgument *illegal = NULL;
	GError *error = NULL;
	int result = 0;
	if (!hbase_hbase_if_mutate_row(client, name, key, mutations, attributes,
				       &io, &illegal, &error))
		result = fail("mutateRow", error, io);
	g_hash_table_unref(attributes);
	g_byte_array_unref(name);
	g_byte_array_unref(key);
	g_ptr_array_unref(mutations);
	return result;
}

static int increment(const char *row, const char *column)
{
	GByteArray *name = table("metrics"), *key = text(row),
		   *column_bytes = text(column);
	HbaseIOError *io = NULL;
	HbaseIllegalArgument *illegal = NULL;
	GError *error = NULL;
	gint64 value;
	int result = 0;
	if (!hbase_hbase_if_atomic_increment(client, &value, name, key,
					     column_bytes, 1, &io, &illegal,
					     &error))
		result = fail("atomicIncrement", error, io);
	g_byte_array_unref(name);
	g_byte_array_unref(key);
	g_byte_array_unref(column_bytes);
	return result;
}

static GByteArray *file_bytes(const char *path)
{
	gchar *contents = NULL;
	gsize length = 0;
	if (!g_file_get_contents(path, &contents, &length, NULL))
		return NULL;
	return g_byte_array_new_take((guint8 *)contents, length);
}

static void row_key(const char *crash_id, char out[64])
{
	snprintf(out, 64, "%c%s%s", crash_id[0], crash_id + 30, crash_id);
}

static int ingest(const char *dir, const char *crash_id)
{
	char path[4096], row[64], index[256];
	snprintf(path, sizeof path, "%s/%s/%s.json", dir, crash_id, crash_id);
	GByteArray *raw = file_bytes(path);
	snprintf(path, sizeof path, "%s/%s/%s.dump", dir, crash_id, crash_id);
	GByteArray *dump = file_bytes(path);
	if (!raw || !dump)
		return fail(path, NULL, NULL);
	json_t *json = json_loadb((const char *)raw->data, raw->len, 0, NULL);
	const char *submitted = json_string_value(
		json_object_get(json, "submitted_timestamp"));
	if (!submitted)
		return fail("no submitted_timestamp", NULL, NULL);
	row_key(crash_id, row);
	GPtrArray *mutations = g_ptr_array_new_with_free_func(g_object_unref);
	add_put(mutations, "flags:processed", text("N"));
	add_put(mutations, "meta_data:json", raw);
	add_put(mutations, "timestamps:submitted", text(submitted));
	add_put(mutations, "ids:ooid", text(crash_id));
	add_put(mutations, "raw_data:dump", dump);
	add_put(mutations, "flags:legacy_processing", text("Y"));
	int result = mutate("crash_reports", row, mutations);
	/* crash_id_to_timestamped_row_id: the +00:00 cut. */
	snprintf(index, sizeof index, "%c%.*s%s", crash_id[0],
		 (int)strlen(submitted) - 6, submitted, crash_id);
	static const char *const indexes[] = {
		"crash_reports_index_submitted_time",
		"crash_reports_index_unprocessed_flag",
		"crash_reports_index_legacy_unprocessed_flag",
		"crash_reports_index_legacy_submitted_time",
	};
	for (int i = 0; result == 0 && i < 4; i++) {
		mutations = g_ptr_array_new_with_free_func(g_object_unref);
		add_put(mutations, "ids:ooid", text(crash_id));
		result = mutate(indexes[i], index, mutations);
	}
	static const int lengths[] = { 16, 13, 10, 7, 4 };
	for (int i = 0; result == 0 && i < 5; i++) {
		char metrics_row[32];
		snprintf(metrics_row, sizeof metrics_row, "%.*s", lengths[i],
			 submitted);
		result = increment(metrics_row,
				   "counters:submitted_crash_reports");
		if (result == 0)
			result = increment(
				metrics_row,
				"counters:submitted_crash_reports_legacy_"
				"throttle_0");
	}
	json_decref(json);
	return result;
}

static int read_back(const char *dir, const char *crash_id)
{
	char path[4096], row[64];
	struct stat raw_stat, dump_stat;
	snprintf(path, sizeof path, "%s/%s/%s.json", dir, crash_id, crash_id);
	if (stat(path, &raw_stat) < 0)
		return fail(path, NULL, NULL);
	snprintf(path, sizeof path, "%s/%s/%s.dump", dir, crash_id, crash_id);
	if (stat(path, &dump_stat) < 0)
		return fail(path, NULL, NULL);
	row_key(crash_id, row);
	GByteArray *name = table("crash_reports"), *key = text(row);
	GPtrArray *columns = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_byte_array_unref);
	g_ptr_array_add(columns, text("meta_data:json"));
	g_ptr_array_add(columns, text("raw_data:dump"));
	GPtrArray *results = g_ptr_array_new_with_free_func(g_object_unref);
	GHashTable *attributes = g_hash_table_new(NULL, NULL);
	HbaseIOError *io = NULL;
	GError *error = NULL;
	int result = 0;
	if (!hbase_hbase_if_get_row_with_columns(client, &results, name, key,
						 columns, attributes, &io,
						 &error)) {
		result = fail("getRowWithColumns", error, io);
	} else if (results->len != 1) {
		result = fail("a crash is missing", NULL, NULL);
	} else {
		/* The map's keys are bytes: walked, never looked up. */
		HbaseTRowResult *found = g_ptr_array_index(results, 0);
		GHashTableIter iterator;
		gpointer column, cell;
		off_t total = 0;
		g_hash_table_iter_init(&iterator, found->columns);
		while (g_hash_table_iter_next(&iterator, &column, &cell))
			total += ((HbaseTCell *)cell)->value->len;
		if (total != raw_stat.st_size + dump_stat.st_size)
			result = fail("sizes differ", NULL, NULL);
	}
	g_hash_table_unref(attributes);
	g_ptr_array_unref(results);
	g_ptr_array_unref(columns);
	g_byte_array_unref(name);
	g_byte_array_unref(key);
	return result;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s HOST PORT TABLE_PREFIX ingest|read "
				"DIR\n", argv[0]);
		return 2;
	}
	/* c_glib writes with send(): a server gone would be a SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	prefix = argv[3];
	const char *mode = argv[4], *dir = argv[5];
	ThriftSocket *socket = g_object_new(THRIFT_TYPE_SOCKET, "hostname",
					    argv[1], "port", atoi(argv[2]),
					    NULL);
	ThriftTransport *transport = g_object_new(
		THRIFT_TYPE_BUFFERED_TRANSPORT, "transport", socket, NULL);
	ThriftProtocol *protocol = g_object_new(THRIFT_TYPE_BINARY_PROTOCOL,
						"transport", transport, NULL);
	client = g_object_new(HBASE_TYPE_HBASE_CLIENT, "input_protocol",
			      protocol, "output_protocol", protocol, NULL);
	GError *error = NULL;
	if (!thrift_transport_open(transport, &error))
		return fail("connect", error, NULL);
	/* What any RPC client sets (ThriftSocket does not): without it a
	 * request sent in two segments waits for a delayed ACK. */
	int one = 1;
	setsockopt(socket->sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct dirent **entries;
	int count = scandir(dir, &entries, NULL, alphasort);
	int done = 0, result = 0;
	for (int i = 0; i < count; i++) {
		if (result == 0 && entries[i]->d_name[0] != '.') {
			result = strcmp(mode, "ingest") == 0
					 ? ingest(dir, entries[i]->d_name)
					 : read_back(dir, entries[i]->d_name);
			done++;
		}
		free(entries[i]);
	}
	free(entries);
	thrift_transport_close(transport, NULL);
	g_object_unref(client);
	g_object_unref(protocol);
	g_object_unref(transport);
	g_object_unref(socket);
	if (result == 0)
		printf("ok %d\n", done);
	return result;
}
