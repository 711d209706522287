/*
 * rabbitmq_store.c - the store: its operation table, saving a raw crash
 * (Socorro's filter, then a publish), stats, setup, open and close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/rabbitmq/rabbitmq_internal.h"
#include "storage/rabbitmq/rabbitmq_store.h"

/* A raw crash larger than this is not read to decide whether to queue
 * it (the mount bounds raw crashes far below it anyway). */
#define RAW_CRASH_READ_MAX (64L << 20)

struct rabbitmq_store *rabbitmq_store_of(struct crash_store *store)
{
	return crash_store_downcast(store, &rabbitmq_store_ops);
}

/* -- save_raw_crash -------------------------------------------------------- */

bool rabbitmq_should_queue(const json_t *raw_crash, bool filter)
{
	if (!filter)
		return true;
	const json_t *value = json_is_object(raw_crash)
				      ? json_object_get(raw_crash,
							"legacy_processing")
				      : NULL;
	/* Python's raw_crash.legacy_processing == 0: True for 0, 0.0 and
	 * False; a missing key, "0" or None is not queued (unlike HBase,
	 * which took a missing key for 0). */
	if (json_is_integer(value))
		return json_integer_value(value) == 0;
	if (json_is_real(value))
		return json_real_value(value) == 0.0;
	return json_is_false(value);
}

/* The raw crash's document when the caller did not parse it. */
static json_t *read_document(struct rabbitmq_store *self,
			     struct crash_call *call, const char *crash_id,
			     const struct crash_blob *blob, int *result)
{
	*result = 0;
	if (blob->size < 0 || blob->size > RAW_CRASH_READ_MAX) {
		*result = crash_error_set(&call->error, -EFBIG,
					  "raw crash of %s is too large to "
					  "read (%lld bytes)",
					  crash_id,
					  (long long)blob->size);
		return NULL;
	}
	char *text = malloc((size_t)blob->size + 1);
	if (!text) {
		*result = crash_error_set(&call->error, -ENOMEM,
					  "out of memory");
		return NULL;
	}
	off_t done = 0;
	while (done < blob->size) {
		ssize_t got = pread(blob->fd, text + done,
				    (size_t)(blob->size - done), done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			*result = crash_error_set(
				&call->error, got < 0 ? -errno : -EIO,
				"reading the raw crash of %s: %s", crash_id,
				got < 0 ? strerror(errno) : "file too short");
			free(text);
			return NULL;
		}
		done += got;
	}
	json_t *document = json_loadb(text, (size_t)blob->size, 0, NULL);
	free(text);
	if (!document)
		*result = crash_error_set(&call->error, -EINVAL,
					  "the raw crash of %s is not JSON",
					  crash_id);
	return document;
}

static int rabbitmq_save_raw_crash(struct crash_store *store,
				   struct crash_call *call,
				   const char *crash_id,
				   const struct crash_blob *raw_crash,
				   const struct crash_dump *dumps,
				   size_t dump_count)
{
	struct rabbitmq_store *self = rabbitmq_store_of(store);
	bool filter = self->options.filter_on_legacy_processing;

	/* A caller handing dumps to a queue would lose them: told, and
	 * nothing queued (in a container the other stores keep them). */
	if (dump_count > 0)
		return crash_error_set(&call->error, -ENOTSUP,
				       "%s: save_raw_crash %s: a queue keeps "
				       "no dumps (%zu given): nothing queued",
				       store->node_path, crash_id, dump_count);
	if (filter) {
		json_t *parsed = NULL;
		const json_t *document = raw_crash ? raw_crash->json : NULL;
		if (!document && raw_crash) {
			int result;
			parsed = read_document(self, call, crash_id, raw_crash,
					       &result);
			if (result < 0)
				return result;
			document = parsed;
		}
		bool queue = rabbitmq_should_queue(document, true);
		json_decref(parsed);
		if (!queue) {
			atomic_fetch_add(&self->counters.filtered, 1);
			crash_log(CRASH_LOG_DEBUG,
				  "%s: crash %s not queued: its "
				  "legacy_processing is not 0",
				  store->node_path, crash_id);
			return 0;
		}
	}
	/* Dumps are not the queue's business (Socorro ignored them). */
	return rabbitmq_publish(self, call, crash_id);
}

/* -- connections, stats ------------------------------------------------------ */

static void rabbitmq_reconnect(struct crash_store *store)
{
	struct rabbitmq_store *self = rabbitmq_store_of(store);
	connection_pool_invalidate(self->publishers);
}

static json_t *queues_object(const struct rabbitmq_options *options)
{
	json_t *queues = json_object();
	for (int role = 0; queues && role < RABBITMQ_ROLE_COUNT; role++)
		json_object_set_new(queues, rabbitmq_role_name(role),
				    json_string(options->queues[role]));
	return queues;
}

static void set_count(json_t *stats, const char *key,
		      atomic_uint_fast64_t *counter)
{
	json_object_set_new(stats, key,
			    json_integer((json_int_t)atomic_load(counter)));
}

/* Everything but the password. */
static void rabbitmq_describe(struct crash_store *store, json_t *stats)
{
	struct rabbitmq_store *self = rabbitmq_store_of(store);
	const struct rabbitmq_options *options = &self->options;
	struct rabbitmq_counters *counters = &self->counters;

	json_object_set_new(stats, "host", json_string(options->host));
	json_object_set_new(stats, "port", json_integer(options->port));
	json_object_set_new(stats, "vhost", json_string(options->vhost));
	json_object_set_new(stats, "user", json_string(options->user));
	if (options->password_file)
		json_object_set_new(stats, "password_file",
				    json_string(options->password_file));
	json_object_set_new(stats, "routing_key",
			    json_string(options->routing_key));
	json_object_set_new(stats, "filter_on_legacy_processing",
			    json_boolean(options->filter_on_legacy_processing));
	json_object_set_new(stats, "queues", queues_object(options));
	json_object_set_new(stats, "queue_window",
			    json_integer(options->queue_window));
	json_object_set_new(stats, "publishing_connections",
			    json_integer((json_int_t)connection_pool_open_count(
				    self->publishers)));
	set_count(stats, "connections_opened", &counters->connections);
	set_count(stats, "published", &counters->published);
	set_count(stats, "filtered", &counters->filtered);
	set_count(stats, "unconfirmed_publishes", &counters->unconfirmed);
	set_count(stats, "returned_publishes", &counters->returned);
	set_count(stats, "held_entries", &counters->held_entries);
	set_count(stats, "held_messages", &counters->held_messages);
	set_count(stats, "taken", &counters->taken);
	set_count(stats, "acknowledged", &counters->acknowledged);
	set_count(stats, "released", &counters->released);
	set_count(stats, "malformed_messages", &counters->malformed);
}

/* -- setup: the three durable queues ----------------------------------------- */

/* 1 if the queue exists, 0 if not (the broker then closed the channel,
 * and *channel_closed says so), or a negative errno. */
static int queue_exists(struct rabbitmq_connection *connection,
			amqp_channel_t channel, const char *name,
			bool *channel_closed, struct crash_call *call)
{
	amqp_queue_declare(connection->state, channel,
			   amqp_cstring_bytes(name), 1, 0, 0, 0,
			   amqp_empty_table);
	amqp_rpc_reply_t reply = amqp_get_rpc_reply(connection->state);
	if (reply.reply_type == AMQP_RESPONSE_NORMAL)
		return 1;
	if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
	    ((const amqp_channel_close_t *)reply.reply.decoded)->reply_code ==
		    404) {
		amqp_channel_close_ok_t ok = { 0 };
		amqp_send_method(connection->state, channel,
				 AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
		*channel_closed = true;
		return 0;
	}
	char what[RABBITMQ_NAME_MAX + 32];
	snprintf(what, sizeof what, "looking for queue %s", name);
	return rabbitmq_connection_check(connection, reply, what,
					 &call->error);
}

static int open_channel(struct rabbitmq_connection *connection,
			amqp_channel_t channel, struct crash_call *call)
{
	amqp_channel_open(connection->state, channel);
	return rabbitmq_connection_check(connection,
					 amqp_get_rpc_reply(connection->state),
					 "opening a channel", &call->error);
}

static int declare_missing(struct rabbitmq_store *self,
			   struct rabbitmq_connection *connection,
			   struct crash_call *call,
			   void (*report)(void *ctx, const char *created),
			   void *ctx)
{
	amqp_channel_t channel = RABBITMQ_CHANNEL;
	char what[RABBITMQ_NAME_MAX + 64];

	for (int role = 0; role < RABBITMQ_ROLE_COUNT; role++) {
		const char *name = self->options.queues[role];
		bool closed = false;
		int result = queue_exists(connection, channel, name, &closed,
					  call);
		if (closed && (result = open_channel(connection, ++channel,
						     call)) < 0)
			return result;
		if (result != 0)
			continue;
		amqp_queue_declare(connection->state, channel,
				   amqp_cstring_bytes(name), 0, 1, 0, 0,
				   amqp_empty_table);
		snprintf(what, sizeof what, "declaring queue %s", name);
		result = rabbitmq_connection_check(
			connection, amqp_get_rpc_reply(connection->state),
			what, &call->error);
		if (result < 0)
			return result;
		snprintf(what, sizeof what, "queue %s (durable, %s)", name,
			 rabbitmq_role_name(role));
		report(ctx, what);
	}
	return 0;
}

static int rabbitmq_setup(struct crash_store *store, struct crash_call *call,
			  void (*report)(void *ctx, const char *created),
			  void *ctx)
{
	struct rabbitmq_store *self = rabbitmq_store_of(store);
	struct rabbitmq_connection *connection;
	int result = rabbitmq_connection_open(&self->options,
					      RABBITMQ_CONNECTION_BARE,
					      &connection, &call->error);
	if (result < 0)
		return result;
	result = declare_missing(self, connection, call, report, ctx);
	rabbitmq_connection_close(connection);
	return result;
}

/* -- lifecycle ------------------------------------------------------------------ */

static void rabbitmq_close(struct crash_store *store)
{
	struct rabbitmq_store *self = rabbitmq_store_of(store);
	rabbitmq_consumer_release(self);
	rabbitmq_consumer_destroy(&self->consumer);
	connection_pool_free(self->publishers);
	rabbitmq_options_free(&self->options);
	crash_store_base_release(&self->base);
	free(self);
}

const struct crash_store_ops rabbitmq_store_ops = {
	.type_name = "rabbitmq",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = rabbitmq_close,
	.save_raw_crash = rabbitmq_save_raw_crash,
	/* No save_dump, save_processed, reads or listings: the store keeps
	 * no crash data (rabbitmq_store.h). */
	.new_crashes = rabbitmq_new_crashes,
	.ack_crash = rabbitmq_ack_crash,
	.reconnect = rabbitmq_reconnect,
	.describe = rabbitmq_describe,
	.setup = rabbitmq_setup,
};

int rabbitmq_store_open_json(const json_t *node, const char *node_path,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error)
{
	*out = NULL;
	struct rabbitmq_store *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	bool validate_only = env && env->validate_only;
	int result = rabbitmq_options_parse(node, node_path, validate_only,
					    &self->options, error);
	if (result < 0) {
		free(self);
		return result;
	}
	result = crash_store_base_init(&self->base, &rabbitmq_store_ops,
				       node_path);
	if (result < 0) {
		rabbitmq_options_free(&self->options);
		free(self);
		return crash_error_set(error, result, "%s: out of memory",
				       node_path);
	}
	rabbitmq_consumer_init(&self->consumer);
	self->publishers = connection_pool_new(&rabbitmq_publisher_pool_ops,
					       self,
					       self->options.max_connections,
					       node_path);
	if (!self->publishers) {
		rabbitmq_close(&self->base);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	*out = &self->base;
	return 0;
}
