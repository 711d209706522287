/*
 * rabbitmq_queue.c - new_crashes and ack_crash: messages taken with
 * basic.get on the consumer connection and held unacknowledged, a window
 * of them, until acknowledged or released (rabbitmq_store.h).
 *
 * Everything here runs under consumer.lock, except the callbacks of a
 * pass, which get a copy of the held entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_log.h"
#include "storage/rabbitmq/rabbitmq_internal.h"

void rabbitmq_consumer_init(struct rabbitmq_consumer *consumer)
{
	memset(consumer, 0, sizeof *consumer);
	pthread_mutex_init(&consumer->lock, NULL);
	consumer->next_serial = 1;
	consumer->next_delivery_serial = 1;
	/* Socorro's list: priority, standard, reprocessing, priority. */
	consumer->poll_order[0] = RABBITMQ_PRIORITY;
	consumer->poll_order[1] = RABBITMQ_NORMAL;
	consumer->poll_order[2] = RABBITMQ_REPROCESSING;
	consumer->poll_order[3] = RABBITMQ_PRIORITY;
}

void rabbitmq_consumer_destroy(struct rabbitmq_consumer *consumer)
{
	for (size_t i = 0; i < consumer->held_count; i++)
		free(consumer->held[i].deliveries);
	free(consumer->held);
	consumer->held = NULL;
	consumer->held_count = consumer->held_capacity = 0;
	pthread_mutex_destroy(&consumer->lock);
}

static void publish_counts(struct rabbitmq_store *self)
{
	atomic_store(&self->counters.held_entries,
		     self->consumer.held_count);
	atomic_store(&self->counters.held_messages,
		     self->consumer.messages_held);
}

static void forget_held(struct rabbitmq_store *self)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	for (size_t i = 0; i < consumer->held_count; i++)
		free(consumer->held[i].deliveries);
	consumer->held_count = 0;
	consumer->messages_held = 0;
	publish_counts(self);
}

/*
 * Closes the consumer connection; what it held goes back to the queues
 * (the broker requeues a closed channel's unacknowledged messages).  A
 * healthy connection gives them back first with basic.nack (requeue), so
 * that they are ready again at once.
 */
static void drop_connection(struct rabbitmq_store *self)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	struct rabbitmq_connection *connection = consumer->connection;
	if (!connection)
		return;
	if (!connection->broken && consumer->messages_held > 0 &&
	    amqp_basic_nack(connection->state, RABBITMQ_CHANNEL, 0, 1, 1) !=
		    AMQP_STATUS_OK)
		connection->broken = true;
	atomic_fetch_add(&self->counters.released, consumer->messages_held);
	rabbitmq_connection_close(connection);
	consumer->connection = NULL;
	forget_held(self);
}

void rabbitmq_consumer_release(struct rabbitmq_store *self)
{
	pthread_mutex_lock(&self->consumer.lock);
	size_t held = self->consumer.messages_held;
	drop_connection(self);
	pthread_mutex_unlock(&self->consumer.lock);
	if (held > 0)
		crash_log(CRASH_LOG_INFO,
			  "%s: gave %zu unacknowledged message%s back to the "
			  "broker",
			  self->base.node_path, held, held == 1 ? "" : "s");
}

/* The consumer connection, opened if there is none; one the broker
 * closed is replaced (its messages are back in the queues). */
static int consumer_ready(struct rabbitmq_store *self, struct crash_call *call)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	if (consumer->connection &&
	    rabbitmq_connection_has_input(consumer->connection)) {
		crash_log(CRASH_LOG_INFO,
			  "%s: the broker closed the consumer connection; "
			  "its %zu held message%s are queued again, "
			  "reconnecting",
			  self->base.node_path, consumer->messages_held,
			  consumer->messages_held == 1 ? "" : "s");
		consumer->connection->broken = true;
		drop_connection(self);
	}
	if (!consumer->connection) {
		int result = rabbitmq_connection_open(
			&self->options, RABBITMQ_CONNECTION_CONSUMER,
			&consumer->connection, &call->error);
		if (result < 0)
			return result;
		consumer->generation++;
		atomic_fetch_add(&self->counters.connections, 1);
	}
	return 0;
}

/* -- taking messages ------------------------------------------------------- */

static struct rabbitmq_held *find_held(struct rabbitmq_consumer *consumer,
				       const char *crash_id)
{
	for (size_t i = 0; i < consumer->held_count; i++)
		if (strcmp(consumer->held[i].crash_id, crash_id) == 0)
			return &consumer->held[i];
	return NULL;
}

static int add_delivery(struct rabbitmq_consumer *consumer,
			struct rabbitmq_held *held, uint64_t tag)
{
	struct rabbitmq_delivery *deliveries = realloc(
		held->deliveries,
		(held->delivery_count + 1) * sizeof *deliveries);
	if (!deliveries)
		return -ENOMEM;
	deliveries[held->delivery_count++] = (struct rabbitmq_delivery){
		.tag = tag,
		.serial = consumer->next_delivery_serial++,
	};
	held->deliveries = deliveries;
	return 0;
}

/* Holds a delivery of crash_id: a new entry, or one more message of the
 * entry holding that crash already (one entry per crash id). */
static int hold(struct rabbitmq_store *self, struct crash_call *call,
		const char *crash_id, uint64_t tag, enum rabbitmq_role role)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	struct rabbitmq_held *held = find_held(consumer, crash_id);
	if (!held) {
		if (consumer->held_count == consumer->held_capacity) {
			size_t capacity = consumer->held_capacity
						  ? 2 * consumer->held_capacity
						  : 16;
			struct rabbitmq_held *grown = realloc(
				consumer->held, capacity * sizeof *grown);
			if (!grown)
				return crash_error_set(&call->error, -ENOMEM,
						       "out of memory");
			consumer->held = grown;
			consumer->held_capacity = capacity;
		}
		held = &consumer->held[consumer->held_count];
		memset(held, 0, sizeof *held);
		memcpy(held->crash_id, crash_id, CRASH_ID_LENGTH + 1);
		held->serial = consumer->next_serial++;
		held->role = role;
		if (add_delivery(consumer, held, tag) < 0)
			return crash_error_set(&call->error, -ENOMEM,
					       "out of memory");
		consumer->held_count++;
	} else if (add_delivery(consumer, held, tag) < 0) {
		return crash_error_set(&call->error, -ENOMEM,
				       "out of memory");
	}
	consumer->messages_held++;
	publish_counts(self);
	return 0;
}

/* A body that is no crash id can never be processed: it is rejected
 * without requeue, so the broker drops it or dead-letters it. */
static int reject_malformed(struct rabbitmq_store *self,
			    struct crash_call *call, amqp_bytes_t body,
			    uint64_t tag, enum rabbitmq_role role)
{
	struct rabbitmq_connection *connection = self->consumer.connection;
	char shown[48];
	size_t length = body.len < sizeof shown - 1 ? body.len
						   : sizeof shown - 1;
	for (size_t i = 0; i < length; i++) {
		char c = ((const char *)body.bytes)[i];
		shown[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	shown[length] = '\0';
	atomic_fetch_add(&self->counters.malformed, 1);
	crash_log(CRASH_LOG_WARNING,
		  "%s: rejected a message of queue %s whose body is not a "
		  "crash id (%zu bytes: \"%s\"%s)",
		  self->base.node_path, self->options.queues[role], body.len,
		  shown, body.len > length ? "..." : "");
	int status = amqp_basic_reject(connection->state, RABBITMQ_CHANNEL,
				       tag, 0);
	return rabbitmq_connection_status(connection, status,
					  "rejecting a malformed message",
					  &call->error);
}

static void reverse_poll_order(struct rabbitmq_consumer *consumer)
{
	for (int i = 0; i < 2; i++) {
		enum rabbitmq_role swap = consumer->poll_order[i];
		consumer->poll_order[i] = consumer->poll_order[3 - i];
		consumer->poll_order[3 - i] = swap;
	}
}

/* Reads the message a basic.get-ok announced and holds (or rejects) it. */
static int take_delivery(struct rabbitmq_store *self, struct crash_call *call,
			 uint64_t tag, enum rabbitmq_role role)
{
	struct rabbitmq_connection *connection = self->consumer.connection;
	amqp_message_t message;
	int result = rabbitmq_connection_check(
		connection,
		amqp_read_message(connection->state, RABBITMQ_CHANNEL,
				  &message, 0),
		"reading a message", &call->error);
	if (result < 0)
		return result;
	atomic_fetch_add(&self->counters.taken, 1);
	char crash_id[CRASH_ID_LENGTH + 1];
	if (message.body.len == CRASH_ID_LENGTH) {
		memcpy(crash_id, message.body.bytes, CRASH_ID_LENGTH);
		crash_id[CRASH_ID_LENGTH] = '\0';
	} else {
		crash_id[0] = '\0';
	}
	if (crash_id[0] && crash_id_is_valid(crash_id))
		result = hold(self, call, crash_id, tag, role);
	else
		result = reject_malformed(self, call, message.body, tag, role);
	amqp_destroy_message(&message);
	return result;
}

/* One basic.get in Socorro's order: 1 if a message was taken, 0 if every
 * queue was empty, or a negative errno. */
static int take_one(struct rabbitmq_store *self, struct crash_call *call)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	struct rabbitmq_connection *connection = consumer->connection;
	char what[RABBITMQ_NAME_MAX + 64];

	for (int i = 0; i < 4; i++) {
		enum rabbitmq_role role = consumer->poll_order[i];
		int result = rabbitmq_connection_limit(connection, call);
		if (result < 0)
			return result;
		amqp_rpc_reply_t reply = amqp_basic_get(
			connection->state, RABBITMQ_CHANNEL,
			amqp_cstring_bytes(self->options.queues[role]), 0);
		snprintf(what, sizeof what, "taking a message from queue %s",
			 self->options.queues[role]);
		result = rabbitmq_connection_check(connection, reply, what,
						   &call->error);
		if (result < 0)
			return result;
		if (reply.reply.id != AMQP_BASIC_GET_OK_METHOD)
			continue; /* get-empty */
		const amqp_basic_get_ok_t *ok = reply.reply.decoded;
		result = take_delivery(self, call, ok->delivery_tag, role);
		amqp_maybe_release_buffers(connection->state);
		if (result < 0)
			return result;
		reverse_poll_order(consumer);
		return 1;
	}
	amqp_maybe_release_buffers(connection->state);
	return 0;
}

/* Tops the held messages up to the window. */
static int fill_window(struct rabbitmq_store *self, struct crash_call *call)
{
	int result = consumer_ready(self, call);
	while (result == 0 &&
	       self->consumer.messages_held < self->options.queue_window) {
		if (crash_call_interrupted(call))
			return crash_error_set(&call->error, -EINTR,
					       "new_crashes: interrupted");
		result = take_one(self, call);
		if (result == 0)
			break;
		if (result > 0)
			result = 0;
	}
	return result;
}

/* A copy of the held entries to hand out: priority first, then the
 * others, each group in the order taken. */
static struct crash_queue_entry *snapshot(struct rabbitmq_store *self,
					  size_t *count)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	struct crash_queue_entry *entries =
		calloc(consumer->held_count + 1, sizeof *entries);
	if (!entries)
		return NULL;
	size_t n = 0;
	for (int priority_pass = 1; priority_pass >= 0; priority_pass--) {
		for (size_t i = 0; i < consumer->held_count; i++) {
			const struct rabbitmq_held *held = &consumer->held[i];
			if ((held->role == RABBITMQ_PRIORITY) != priority_pass)
				continue;
			struct crash_queue_entry *entry = &entries[n++];
			memcpy(entry->crash_id, held->crash_id,
			       CRASH_ID_LENGTH + 1);
			entry->token.issuer = &self->base;
			entry->token.value[0] =
				RABBITMQ_TOKEN(consumer->generation,
					       held->serial);
			entry->token.value[1] =
				held->deliveries[held->delivery_count - 1]
					.serial;
			snprintf(entry->token.where, sizeof entry->token.where,
				 "%s", rabbitmq_role_name(held->role));
		}
	}
	*count = n;
	return entries;
}

int rabbitmq_new_crashes(struct crash_store *store, struct crash_call *call,
			 crash_queue_emit_fn emit, void *ctx)
{
	struct rabbitmq_store *self = rabbitmq_store_of(store);
	struct crash_queue_entry *entries = NULL;
	size_t count = 0;

	pthread_mutex_lock(&self->consumer.lock);
	int result = fill_window(self, call);
	if (result < 0 && self->consumer.connection &&
	    self->consumer.connection->broken)
		drop_connection(self);
	if (result == 0) {
		entries = snapshot(self, &count);
		if (!entries)
			result = crash_error_set(&call->error, -ENOMEM,
						 "out of memory");
	}
	pthread_mutex_unlock(&self->consumer.lock);

	for (size_t i = 0; result == 0 && i < count; i++)
		result = emit(ctx, &entries[i]);
	free(entries);
	return result;
}

/* -- acknowledging ----------------------------------------------------------- */

/* The held entry a token names, or held_count. */
static size_t held_index(struct rabbitmq_consumer *consumer,
			 const struct crash_queue_entry *entry)
{
	for (size_t i = 0; i < consumer->held_count; i++) {
		const struct rabbitmq_held *held = &consumer->held[i];
		if (RABBITMQ_TOKEN(consumer->generation, held->serial) ==
			    entry->token.value[0] &&
		    strcmp(held->crash_id, entry->crash_id) == 0)
			return i;
	}
	return consumer->held_count;
}

/* How many of the entry's deliveries the token covers: the first ones,
 * taken before the pass that gave it. */
static size_t covered(const struct rabbitmq_held *held, uint64_t newest)
{
	size_t count = 0;
	while (count < held->delivery_count &&
	       held->deliveries[count].serial <= newest)
		count++;
	return count;
}

/* Acks the first count messages of the entry, then waits for
 * basic.qos-ok: the broker handles a channel's methods in order, so its
 * answer means the acks were processed. */
static int send_acks(struct rabbitmq_store *self, struct crash_call *call,
		     const struct rabbitmq_held *held, size_t count)
{
	struct rabbitmq_connection *connection = self->consumer.connection;
	char what[CRASH_ID_LENGTH + 40];
	snprintf(what, sizeof what, "acknowledging crash %s", held->crash_id);
	int result = rabbitmq_connection_limit(connection, call);
	for (size_t i = 0; result == 0 && i < count; i++)
		result = rabbitmq_connection_status(
			connection,
			amqp_basic_ack(connection->state, RABBITMQ_CHANNEL,
				       held->deliveries[i].tag, 0),
			what, &call->error);
	if (result == 0) {
		amqp_basic_qos(connection->state, RABBITMQ_CHANNEL, 0, 0, 0);
		result = rabbitmq_connection_check(
			connection, amqp_get_rpc_reply(connection->state),
			what, &call->error);
	}
	amqp_maybe_release_buffers(connection->state);
	return result;
}

/* Forgets the first count deliveries of an entry, and the entry when
 * none is left. */
static void forget_deliveries(struct rabbitmq_store *self, size_t index,
			      size_t count)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	struct rabbitmq_held *held = &consumer->held[index];
	consumer->messages_held -= count;
	atomic_fetch_add(&self->counters.acknowledged, count);
	held->delivery_count -= count;
	memmove(held->deliveries, held->deliveries + count,
		held->delivery_count * sizeof held->deliveries[0]);
	if (held->delivery_count == 0) {
		free(held->deliveries);
		memmove(held, held + 1,
			(consumer->held_count - index - 1) * sizeof *held);
		consumer->held_count--;
	}
	publish_counts(self);
}

static int ack_held(struct rabbitmq_store *self, struct crash_call *call,
		    const struct crash_queue_entry *entry)
{
	struct rabbitmq_consumer *consumer = &self->consumer;
	/* While the broker is unreachable the failure is operational (the
	 * retry policy waits); once it is back, an entry of a connection
	 * lost since is still queued, on the broker: not "not here", and no
	 * retry can ack it (only a new pass can). */
	int result = consumer_ready(self, call);
	if (result < 0)
		return result;
	if (entry->token.value[0] >> 32 != consumer->generation)
		return crash_error_set(&call->error, -EIO,
				       "crash %s not acknowledged: its "
				       "delivery was on a connection lost "
				       "since, and the broker delivers it "
				       "again",
				       entry->crash_id);
	size_t index = held_index(consumer, entry);
	size_t count = index < consumer->held_count
			       ? covered(&consumer->held[index],
					 entry->token.value[1])
			       : 0;
	if (count == 0)
		return crash_error_set(&call->error, -ENOENT,
				       "crash %s is not held (acknowledged "
				       "already?)",
				       entry->crash_id);
	result = send_acks(self, call, &consumer->held[index], count);
	if (result < 0) {
		/* The delivery is gone with its connection: a retry cannot
		 * acknowledge it, the broker delivers it again. */
		char why[CRASH_ERROR_MESSAGE_MAX];
		snprintf(why, sizeof why, "%s", call->error.message);
		drop_connection(self);
		return crash_error_set(&call->error, -EIO,
				       "%.400s; the broker delivers the crash "
				       "again",
				       why);
	}
	forget_deliveries(self, index, count);
	return 0;
}

int rabbitmq_ack_crash(struct crash_store *store, struct crash_call *call,
		       const struct crash_queue_entry *entry)
{
	struct rabbitmq_store *self = rabbitmq_store_of(store);
	if (entry->token.issuer != &self->base)
		return crash_error_set(&call->error, -ENOENT,
				       "crash %s is not an entry of this "
				       "store's queue",
				       entry->crash_id);
	pthread_mutex_lock(&self->consumer.lock);
	int result = ack_held(self, call, entry);
	pthread_mutex_unlock(&self->consumer.lock);
	return result;
}
