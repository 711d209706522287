/*
 * rabbitmq_publish.c - queueing a crash id: one persistent message on the
 * default exchange, and the broker's confirm of it (rabbitmq_store.h says
 * what a returned 0 promises and when a retry may duplicate).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "storage/crash_log.h"
#include "storage/rabbitmq/rabbitmq_internal.h"

/* Waits for a confirm are cut into slices this long, to poll the call. */
#define CONFIRM_SLICE_MS 100

/* -- the pool of publishing connections ---------------------------------- */

static int open_publisher(void *arg, void **connection_out,
			  struct crash_error *error)
{
	struct rabbitmq_store *self = arg;
	struct rabbitmq_connection *connection;
	int result = rabbitmq_connection_open(&self->options,
					      RABBITMQ_CONNECTION_PUBLISHER,
					      &connection, error);
	if (result < 0)
		return result;
	atomic_fetch_add(&self->counters.connections, 1);
	*connection_out = connection;
	return 0;
}

static void close_publisher(void *arg, void *connection)
{
	rabbitmq_connection_close(connection);
}

const struct connection_pool_ops rabbitmq_publisher_pool_ops = {
	.open = open_publisher,
	.close = close_publisher,
};

/*
 * Leases the calling thread's connection.  One the broker closed while it
 * sat idle (a restart, an administrator) is replaced first: nothing has
 * been sent on it, so finding out now costs no duplicate.
 */
static int lease(struct rabbitmq_store *self, struct crash_call *call,
		 struct rabbitmq_connection **out)
{
	for (int attempt = 0;; attempt++) {
		void *leased;
		int result = connection_pool_get(self->publishers, call,
						 &leased);
		if (result < 0)
			return result;
		struct rabbitmq_connection *connection = leased;
		if (!rabbitmq_connection_has_input(connection)) {
			*out = connection;
			return 0;
		}
		connection->broken = true;
		connection_pool_invalidate(self->publishers);
		connection_pool_put(self->publishers, leased);
		if (attempt > 0)
			return crash_error_set_operational(
				&call->error, -EIO,
				"the broker closed a new connection at once "
				"(broker %s:%d)",
				self->options.host, self->options.port);
		crash_log(CRASH_LOG_DEBUG,
			  "%s: the broker closed an idle connection; "
			  "opening another",
			  self->base.node_path);
	}
}

/* -- the confirm ----------------------------------------------------------- */

struct confirm_wait {
	struct rabbitmq_store *self;
	struct rabbitmq_connection *connection;
	struct crash_call *call;
	const char *crash_id;
	uint64_t tag;
	struct timespec started;
	bool returned; /* the broker could not route it */
	char returned_why[200];
};

/* Sent, and then the outcome became unknowable (rabbitmq_store.h). */
static int unconfirmed(struct confirm_wait *wait, int code, const char *why)
{
	struct rabbitmq_store *self = wait->self;
	wait->connection->broken = true;
	atomic_fetch_add(&self->counters.unconfirmed, 1);
	crash_log(CRASH_LOG_WARNING,
		  "%s: crash %s was sent but not confirmed (%s): the broker "
		  "may hold it, and a retry may queue it twice",
		  self->base.node_path, wait->crash_id, why);
	return crash_error_set_operational(
		&wait->call->error, code,
		"queueing crash %s: %s before the broker confirmed it "
		"(broker %s:%d)",
		wait->crash_id, why, self->options.host, self->options.port);
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((now.tv_sec - since->tv_sec) * 1000 +
		      (now.tv_nsec - since->tv_nsec) / 1000000);
}

/* How long the next slice may wait: 0 when the wait is over (*code
 * says why). */
static long next_slice(struct confirm_wait *wait, int *code,
		       const char **why)
{
	if (crash_call_interrupted(wait->call)) {
		*code = -EINTR;
		*why = "the caller gave up";
		return 0;
	}
	long left = (long)(wait->self->options.timeout * 1000) -
		    elapsed_ms(&wait->started);
	long deadline = crash_call_remaining_ms(wait->call);
	*code = -ETIMEDOUT;
	*why = left <= 0 ? "no answer within the timeout"
			 : "the request's deadline passed";
	if (deadline >= 0 && deadline < left)
		left = deadline;
	if (left <= 0)
		return 0;
	return left < CONFIRM_SLICE_MS ? left : CONFIRM_SLICE_MS;
}

/* The message came back (basic.return): it is in no queue. */
static int note_return(struct confirm_wait *wait, const amqp_frame_t *frame)
{
	const amqp_basic_return_t *returned = frame->payload.method.decoded;
	int length = returned && returned->reply_text.len < 100
			     ? (int)returned->reply_text.len
			     : 100;
	snprintf(wait->returned_why, sizeof wait->returned_why, "%d %.*s",
		 returned ? returned->reply_code : 0, length,
		 returned && returned->reply_text.bytes
			 ? (const char *)returned->reply_text.bytes
			 : "");
	wait->returned = true;
	amqp_message_t message;
	amqp_rpc_reply_t reply = amqp_read_message(
		wait->connection->state, frame->channel, &message, 0);
	if (reply.reply_type != AMQP_RESPONSE_NORMAL)
		return rabbitmq_connection_check(wait->connection, reply,
						 "reading a returned message",
						 &wait->call->error);
	amqp_destroy_message(&message);
	return 0;
}

static int returned_error(struct confirm_wait *wait)
{
	struct rabbitmq_store *self = wait->self;
	atomic_fetch_add(&self->counters.returned, 1);
	if (rabbitmq_options_routed_role(&self->options) < RABBITMQ_ROLE_COUNT) {
		/* One of the store's queues was deleted since this
		 * connection declared it: the next one declares it again. */
		wait->connection->broken = true;
		return crash_error_set_operational(
			&wait->call->error, -EIO,
			"queueing crash %s: the broker returned it (%s): "
			"queue %s is gone; it is declared again on reconnect",
			wait->crash_id,
			wait->returned_why, self->options.routing_key);
	}
	return crash_error_set(&wait->call->error, -EIO,
			       "queueing crash %s: the broker returned it "
			       "(%s): no queue is named %s (routing_key)",
			       wait->crash_id,
			       wait->returned_why, self->options.routing_key);
}

/* Does a basic.ack or basic.nack with this tag answer our message? */
static bool answers(uint64_t delivery_tag, bool multiple, uint64_t tag)
{
	return delivery_tag == tag || (multiple && delivery_tag >= tag);
}

/* One frame while waiting: 1 to go on waiting, else the outcome. */
static int on_frame(struct confirm_wait *wait, const amqp_frame_t *frame)
{
	if (frame->frame_type != AMQP_FRAME_METHOD)
		return 1;
	const amqp_method_t *method = &frame->payload.method;
	char why[400];

	switch (method->id) {
	case AMQP_BASIC_ACK_METHOD: {
		const amqp_basic_ack_t *ack = method->decoded;
		if (!answers(ack->delivery_tag, ack->multiple, wait->tag))
			return 1; /* an older message's */
		return wait->returned ? returned_error(wait) : 0;
	}
	case AMQP_BASIC_NACK_METHOD: {
		const amqp_basic_nack_t *nack = method->decoded;
		if (!answers(nack->delivery_tag, nack->multiple, wait->tag))
			return 1;
		return unconfirmed(wait, -EIO, "the broker refused it (nack)");
	}
	case AMQP_BASIC_RETURN_METHOD: {
		int result = note_return(wait, frame);
		return result < 0 ? result : 1;
	}
	case AMQP_CHANNEL_CLOSE_METHOD:
	case AMQP_CONNECTION_CLOSE_METHOD:
		rabbitmq_connection_answer_close(wait->connection, frame, why,
						 sizeof why);
		if (wait->returned)
			return returned_error(wait);
		return unconfirmed(wait, -EIO, why);
	default:
		return 1;
	}
}

static int wait_for_confirm(struct confirm_wait *wait)
{
	clock_gettime(CLOCK_MONOTONIC, &wait->started);
	for (;;) {
		int code;
		const char *why;
		long slice = next_slice(wait, &code, &why);
		if (slice == 0) {
			if (wait->returned)
				return returned_error(wait);
			return unconfirmed(wait, code, why);
		}
		struct timeval tv = { .tv_sec = slice / 1000,
				      .tv_usec = (slice % 1000) * 1000 };
		amqp_frame_t frame;
		int status = amqp_simple_wait_frame_noblock(
			wait->connection->state, &frame, &tv);
		if (status == AMQP_STATUS_TIMEOUT)
			continue;
		if (status != AMQP_STATUS_OK) {
			wait->connection->broken = true;
			if (wait->returned)
				return returned_error(wait);
			return unconfirmed(wait, -EIO,
					   amqp_error_string2(status));
		}
		int result = on_frame(wait, &frame);
		if (result <= 0)
			return result;
	}
}

/* -- publishing ------------------------------------------------------------ */

static int send_and_confirm(struct rabbitmq_store *self,
			    struct rabbitmq_connection *connection,
			    struct crash_call *call, const char *crash_id)
{
	char what[CRASH_ID_LENGTH + 32];
	snprintf(what, sizeof what, "queueing crash %s", crash_id);
	if (crash_call_remaining_ms(call) == 0)
		return crash_error_set_operational(
			&call->error, -ETIMEDOUT,
			"%s: the request's deadline passed", what);

	/* Socorro: basic_publish(exchange='', routing_key=routing_key,
	 * body=crash_id, properties=BasicProperties(delivery_mode=2));
	 * mandatory so that a missing queue is an error, not a silent drop. */
	amqp_basic_properties_t properties = {
		._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
		.delivery_mode = AMQP_DELIVERY_PERSISTENT,
	};
	int status = amqp_basic_publish(
		connection->state, RABBITMQ_CHANNEL, amqp_empty_bytes,
		amqp_cstring_bytes(self->options.routing_key), 1, 0,
		&properties, amqp_cstring_bytes(crash_id));
	if (status != AMQP_STATUS_OK)
		/* Not all of it left: the broker discards a message whose
		 * content never arrived, so nothing was queued. */
		return rabbitmq_connection_status(connection, status, what,
						  &call->error);
	struct confirm_wait wait = {
		.self = self,
		.connection = connection,
		.call = call,
		.crash_id = crash_id,
		.tag = connection->next_publish_tag++,
	};
	int result = wait_for_confirm(&wait);
	if (result == 0)
		atomic_fetch_add(&self->counters.published, 1);
	return result;
}

int rabbitmq_publish(struct rabbitmq_store *self, struct crash_call *call,
		     const char *crash_id)
{
	struct rabbitmq_connection *connection = NULL;
	int result = lease(self, call, &connection);
	if (result < 0)
		return result;
	result = send_and_confirm(self, connection, call, crash_id);
	if (connection->broken)
		connection_pool_invalidate(self->publishers);
	else
		amqp_maybe_release_buffers(connection->state);
	connection_pool_put(self->publishers, connection);
	return result;
}
