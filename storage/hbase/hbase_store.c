/*
 * hbase_store.c - the HBase store's configuration, lifecycle, connections
 * and setup (see hbase_store.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/crash_log.h"
#include "storage/hbase/hbase_internal.h"
#include "storage/hbase/hbase_state_cache.h"
#include "storage/store_config.h"

struct hbase_store *hbase_store_from(struct crash_store *store)
{
	return crash_store_downcast(store, &hbase_store_ops);
}

const char *hbase_table(const struct hbase_store *self,
			enum hbase_table_id table)
{
	return self->tables[table];
}

/* -- connections --------------------------------------------------------- */

static int open_connection(void *arg, void **connection_out,
			   struct crash_error *error)
{
	struct hbase_store *self = arg;
	/* No I/O here: the client connects on its first call, under that
	 * call's deadline. */
	*connection_out = hbase_client_new(&self->endpoint);
	return 0;
}

static void close_connection(void *arg, void *connection)
{
	hbase_client_free(connection);
}

static const struct connection_pool_ops pool_ops = {
	.open = open_connection,
	.close = close_connection,
};

int hbase_lease_get(struct hbase_store *self, struct crash_call *call,
		    struct hbase_client **client)
{
	void *connection = NULL;
	int result = connection_pool_get(self->pool, call, &connection);
	*client = connection;
	return result;
}

void hbase_lease_put(struct hbase_store *self, struct hbase_client *client)
{
	if (hbase_client_broken(client)) {
		connection_pool_invalidate(self->pool);
		atomic_fetch_add(&self->reconnects, 1);
	}
	connection_pool_put(self->pool, client);
}

void hbase_forget_state(struct hbase_store *self, const char *crash_id)
{
	hbase_state_cache_forget(self->states, crash_id);
}

static void hbase_reconnect(struct crash_store *store)
{
	struct hbase_store *self = hbase_store_from(store);
	connection_pool_invalidate(self->pool);
}

static int64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* Two milliseconds: one for the server's clock to pass the delete's
 * millisecond, one of margin. */
#define DELETE_FENCE_NS 2000000

void hbase_delete_done(struct hbase_store *self)
{
	atomic_store(&self->last_delete_ms, monotonic_ns());
}

void hbase_delete_fence(struct hbase_store *self)
{
	int64_t last = atomic_load(&self->last_delete_ms);
	if (last == 0)
		return;
	int64_t wait = last + DELETE_FENCE_NS - monotonic_ns();
	if (wait <= 0)
		return;
	struct timespec pause = { 0, (long)wait };
	while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
		;
}

/* -- configuration ------------------------------------------------------- */

static const char *const option_keys[] = {
	"host", "port", "timeout_ms", "max_cell_size", "chunked", "days",
	"scan_batch", "max_connections", "new_crash_limit", "metrics",
	"table_prefix", "compression", "state_cache_ms", NULL
};

/* HBase's codec names (Compression.Algorithm). */
static const char *const codecs[] = { "NONE", "LZO", "GZ", "SNAPPY",
				      "LZ4", "BZIP2", "ZSTD", NULL };

static int check_prefix(const char *prefix, const char *node_path,
			struct crash_error *error)
{
	size_t length = strlen(prefix);
	bool ok = length <= 64 && (length == 0 || isalnum((unsigned char)prefix[0]) ||
				  prefix[0] == '_');
	for (size_t i = 0; ok && i < length; i++)
		ok = isalnum((unsigned char)prefix[i]) || prefix[i] == '_' ||
		     prefix[i] == '-' || prefix[i] == '.';
	if (ok)
		return 0;
	return crash_error_set(error, -EINVAL,
			       "%s.table_prefix: \"%s\" cannot start an HBase "
			       "table name (letters, digits, '_', '-', '.', "
			       "at most 64, not starting with '-' or '.')",
			       node_path, prefix);
}

static int parse_compression(const char *name, const char *node_path,
			     char **out, struct crash_error *error)
{
	*out = NULL;
	if (strcmp(name, "schema") == 0)
		return 0;
	char upper[16];
	size_t length = strlen(name);
	for (size_t i = 0; i < length && i < sizeof upper - 1; i++)
		upper[i] = (char)toupper((unsigned char)name[i]);
	upper[length < sizeof upper ? length : sizeof upper - 1] = '\0';
	for (size_t i = 0; codecs[i]; i++) {
		if (length < sizeof upper && strcmp(upper, codecs[i]) == 0) {
			*out = strdup(codecs[i]);
			if (!*out)
				return crash_error_set(error, -ENOMEM,
						       "out of memory");
			return 0;
		}
	}
	return crash_error_set(error, -EINVAL,
			       "%s.compression: \"%s\" is not \"schema\" or an "
			       "HBase codec (NONE, LZO, GZ, SNAPPY, LZ4, "
			       "BZIP2, ZSTD)",
			       node_path, name);
}

static int int_option(const json_t *node, const char *node_path,
		      const char *key, int64_t fallback, int64_t minimum,
		      int64_t maximum, int64_t *out, struct crash_error *error)
{
	return store_config_int(node, node_path, key, fallback, minimum,
				maximum, out, error);
}

static int parse_options(const json_t *node, const char *node_path,
			 struct hbase_options *options,
			 struct crash_error *error)
{
	const char *host = NULL, *prefix = NULL, *compression = NULL;
	int64_t port, timeout, cell, days, batch, connections, state_ms;
	int result = store_config_check_keys(node, node_path, option_keys,
					     error);
	if (result == 0)
		result = store_config_string(node, node_path, "host",
					     "localhost", &host, error);
	if (result == 0 && host[0] == '\0')
		result = crash_error_set(error, -EINVAL,
					 "%s.host: must not be empty",
					 node_path);
	if (result == 0)
		result = int_option(node, node_path, "port",
				    HBASE_DEFAULT_PORT, 1, 65535, &port,
				    error);
	if (result == 0)
		result = int_option(node, node_path, "timeout_ms",
				    HBASE_DEFAULT_TIMEOUT_MS, 1, 3600000,
				    &timeout, error);
	if (result == 0)
		result = int_option(node, node_path, "max_cell_size",
				    HBASE_DEFAULT_MAX_CELL_SIZE, 1,
				    HBASE_MAX_CELL_SIZE_LIMIT, &cell, error);
	if (result == 0)
		result = store_config_bool(node, node_path, "chunked", false,
					   &options->chunked, error);
	if (result == 0)
		result = int_option(node, node_path, "days", 0, 0, 36500,
				    &days, error);
	if (result == 0)
		result = int_option(node, node_path, "scan_batch",
				    HBASE_DEFAULT_SCAN_BATCH, 1, 10000, &batch,
				    error);
	if (result == 0)
		result = int_option(node, node_path, "max_connections",
				    HBASE_DEFAULT_MAX_CONNECTIONS, 1,
				    CONNECTION_POOL_MAX, &connections, error);
	if (result == 0)
		result = int_option(node, node_path, "new_crash_limit",
				    HBASE_DEFAULT_NEW_CRASH_LIMIT, 1,
				    INT64_MAX, &options->new_crash_limit,
				    error);
	if (result == 0)
		result = store_config_bool(node, node_path, "metrics", true,
					   &options->metrics, error);
	if (result == 0)
		result = int_option(node, node_path, "state_cache_ms",
				    HBASE_DEFAULT_STATE_CACHE_MS, 0, 60000,
				    &state_ms, error);
	if (result == 0)
		result = store_config_string(node, node_path, "table_prefix",
					     "", &prefix, error);
	if (result == 0)
		result = check_prefix(prefix, node_path, error);
	if (result == 0)
		result = store_config_string(node, node_path, "compression",
					     "schema", &compression, error);
	if (result == 0)
		result = parse_compression(compression, node_path,
					   &options->compression, error);
	if (result < 0)
		return result;
	options->port = (int)port;
	options->timeout_ms = (long)timeout;
	options->max_cell_size = cell;
	options->days = (int)days;
	options->scan_batch = (int)batch;
	options->max_connections = (int)connections;
	options->state_cache_ms = (long)state_ms;
	options->host = strdup(host);
	options->table_prefix = strdup(prefix);
	if (!options->host || !options->table_prefix)
		return crash_error_set(error, -ENOMEM, "out of memory");
	return 0;
}

/* -- lifecycle ----------------------------------------------------------- */

static void hbase_close(struct crash_store *store)
{
	struct hbase_store *self = hbase_store_from(store);
	connection_pool_free(self->pool);
	hbase_state_cache_free(self->states);
	for (int i = 0; i < HBASE_TABLE_COUNT; i++)
		free(self->tables[i]);
	free(self->options.host);
	free(self->options.table_prefix);
	free(self->options.compression);
	free(self->spool_dir);
	crash_store_base_release(store);
	free(self);
}

static int make_tables(struct hbase_store *self, struct crash_error *error)
{
	for (int i = 0; i < HBASE_TABLE_COUNT; i++) {
		if (asprintf(&self->tables[i], "%s%s",
			     self->options.table_prefix,
			     hbase_schema[i].name) < 0) {
			self->tables[i] = NULL;
			return crash_error_set(error, -ENOMEM,
					       "out of memory");
		}
	}
	return 0;
}

int hbase_store_open_json(const json_t *node, const char *node_path,
			  const struct crash_store_env *env,
			  struct crash_store **out, struct crash_error *error)
{
	*out = NULL;
	struct hbase_store *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(error, -ENOMEM, "out of memory");
	if (crash_store_base_init(&self->base, &hbase_store_ops,
				  node_path) < 0) {
		free(self);
		return crash_error_set(error, -ENOMEM, "out of memory");
	}
	int result = parse_options(node, node_path, &self->options, error);
	if (result == 0)
		result = make_tables(self, error);
	if (result < 0) {
		hbase_close(&self->base);
		return result;
	}
	self->validate_only = env->validate_only;
	self->read_cache = env->read_cache;
	self->spool_dir = strdup(env->spool_dir ? env->spool_dir : "/var/tmp");
	self->endpoint = (struct hbase_endpoint){
		.host = self->options.host,
		.port = self->options.port,
		.timeout_ms = self->options.timeout_ms,
		.read_limit = (size_t)self->options.max_cell_size +
			      HBASE_REPLY_SLACK,
		.request_counter = &self->requests,
	};
	self->pool = connection_pool_new(&pool_ops, self,
					 (size_t)self->options.max_connections,
					 node_path);
	self->states = hbase_state_cache_new(self->options.state_cache_ms);
	if (!self->spool_dir || !self->pool ||
	    (self->options.state_cache_ms > 0 && !self->states)) {
		hbase_close(&self->base);
		return crash_error_set(error, -ENOMEM, "out of memory");
	}
	crash_log(CRASH_LOG_DEBUG, "%s: HBase Thrift server %s:%d%s",
		  node_path, self->options.host, self->options.port,
		  self->validate_only ? " (validated only)" : "");
	*out = &self->base;
	return 0;
}

/* -- stats --------------------------------------------------------------- */

static void hbase_describe(struct crash_store *store, json_t *stats)
{
	struct hbase_store *self = hbase_store_from(store);
	json_object_set_new(stats, "host", json_string(self->options.host));
	json_object_set_new(stats, "port", json_integer(self->options.port));
	json_object_set_new(stats, "table_prefix",
			    json_string(self->options.table_prefix));
	json_object_set_new(stats, "max_cell_size",
			    json_integer(self->options.max_cell_size));
	json_object_set_new(stats, "chunked",
			    json_boolean(self->options.chunked));
	json_object_set_new(stats, "days", json_integer(self->options.days));
	json_object_set_new(stats, "state_cache_ms",
			    json_integer(self->options.state_cache_ms));
	json_object_set_new(stats, "connections",
			    json_integer((json_int_t)connection_pool_open_count(
				    self->pool)));
	json_object_set_new(stats, "requests",
			    json_integer((json_int_t)atomic_load(
				    &self->requests)));
	json_object_set_new(stats, "reconnects",
			    json_integer((json_int_t)atomic_load(
				    &self->reconnects)));
	json_object_set_new(stats, "probes",
			    json_integer((json_int_t)atomic_load(
				    &self->probes)));
	json_object_set_new(stats, "derived_fills",
			    json_integer((json_int_t)atomic_load(
				    &self->derived_fills)));
}

/* -- setup --------------------------------------------------------------- */

static bool listed(char **names, const char *table)
{
	for (size_t i = 0; names && names[i]; i++)
		if (strcmp(names[i], table) == 0)
			return true;
	return false;
}

static int create_table(struct hbase_store *self, struct hbase_client *client,
			struct crash_call *call, enum hbase_table_id id)
{
	const struct hbase_table_schema *schema = &hbase_schema[id];
	struct hbase_family families[HBASE_FAMILIES_MAX];
	for (size_t i = 0; i < schema->family_count; i++) {
		families[i] = schema->families[i];
		if (self->options.compression)
			families[i].compression = self->options.compression;
	}
	return hbase_client_create_table(client, call, self->tables[id],
					 families, schema->family_count);
}

int hbase_setup(struct crash_store *store, struct crash_call *call,
		void (*report)(void *ctx, const char *created), void *ctx)
{
	struct hbase_store *self = hbase_store_from(store);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	char **names = NULL;
	result = hbase_client_table_names(client, call, &names);
	for (int id = 0; result == 0 && id < HBASE_TABLE_COUNT; id++) {
		if (listed(names, self->tables[id]))
			continue;
		result = create_table(self, client, call, id);
		if (result == -EEXIST) {
			/* Made meanwhile by someone else: there it is. */
			hbase_lease_put(self, client);
			result = hbase_lease_get(self, call, &client);
			if (result < 0)
				break;
			continue;
		}
		if (result == 0) {
			char line[256];
			snprintf(line, sizeof line, "table %s",
				 self->tables[id]);
			crash_log(CRASH_LOG_INFO, "%s: created %s",
				  store->node_path, line);
			report(ctx, line);
		}
	}
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	if (client)
		hbase_lease_put(self, client);
	return result;
}

const struct crash_store_ops hbase_store_ops = {
	.type_name = "hbase",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = hbase_close,
	.save_raw_crash = hbase_save_raw_crash,
	.save_dump = hbase_save_dump,
	.save_processed = hbase_save_processed,
	.remove = hbase_remove,
	.remove_part = hbase_remove_part,
	.set_part_mtime = hbase_set_part_mtime,
	.stat_crash = hbase_stat_crash,
	.stat_part = hbase_stat_part,
	.open_part = hbase_open_part,
	.list_parts = hbase_list_parts,
	.open_days = hbase_open_days,
	.list_crashes = hbase_list_crashes,
	.stat_radix_dir = hbase_stat_radix_dir,
	.new_crashes = hbase_new_crashes,
	.ack_crash = hbase_ack_crash,
	.reconnect = hbase_reconnect,
	.describe = hbase_describe,
	.setup = hbase_setup,
};
