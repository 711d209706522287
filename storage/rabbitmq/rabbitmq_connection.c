/*
 * rabbitmq_connection.c - one AMQP connection with its channel: opening
 * it as Socorro's connection contexts did, bounding its waits, telling
 * the broker's refusals from transient failures.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp_tcp_socket.h>

#include "storage/rabbitmq/rabbitmq_internal.h"

/* The close handshake of a healthy connection waits at most this long. */
#define CLOSE_TIMEOUT_SECONDS 1.0

/* AMQP reply codes the broker closes with (AMQP 0-9-1 constants). */
#define REPLY_ACCESS_REFUSED 403
#define REPLY_PRECONDITION_FAILED 406
#define REPLY_NOT_ALLOWED 530

static struct timeval seconds_to_timeval(double seconds)
{
	long long microseconds = (long long)(seconds * 1e6);
	struct timeval tv = { .tv_sec = (time_t)(microseconds / 1000000),
			      .tv_usec = (suseconds_t)(microseconds % 1000000) };
	return tv;
}

static int status_code(int status)
{
	switch (status) {
	case AMQP_STATUS_TIMEOUT:
	case AMQP_STATUS_HEARTBEAT_TIMEOUT:
		return -ETIMEDOUT;
	case AMQP_STATUS_NO_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int rabbitmq_connection_status(struct rabbitmq_connection *connection,
			       int status, const char *what,
			       struct crash_error *error)
{
	if (status >= 0)
		return 0;
	connection->broken = true;
	int code = status_code(status);
	if (code == -ENOMEM)
		return crash_error_set(error, code, "%s: out of memory", what);
	return crash_error_set_operational(error, code, "%s: %s (broker %s:%d)",
					   what, amqp_error_string2(status),
					   connection->options->host,
					   connection->options->port);
}

/* The broker's reason, "403 ACCESS_REFUSED - ...", into why. */
static int describe_close(const amqp_method_t *method, char *why,
			  size_t why_size)
{
	int reply_code = 0;
	amqp_bytes_t text = amqp_empty_bytes;

	if (method->id == AMQP_CONNECTION_CLOSE_METHOD && method->decoded) {
		const amqp_connection_close_t *close = method->decoded;
		reply_code = close->reply_code;
		text = close->reply_text;
	} else if (method->id == AMQP_CHANNEL_CLOSE_METHOD && method->decoded) {
		const amqp_channel_close_t *close = method->decoded;
		reply_code = close->reply_code;
		text = close->reply_text;
	}
	int text_length = text.len > 300 ? 300 : (int)text.len;
	snprintf(why, why_size, "the broker closed the %s: %d %.*s",
		 method->id == AMQP_CONNECTION_CLOSE_METHOD ? "connection"
							    : "channel",
		 reply_code, text_length,
		 text.bytes ? (const char *)text.bytes : "");
	return reply_code;
}

static void answer_close(struct rabbitmq_connection *connection,
			 amqp_channel_t channel, amqp_method_number_t id)
{
	/* Best effort: the connection is not used again either way. */
	if (id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_ok_t ok = { 0 };
		amqp_send_method(connection->state, 0,
				 AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
	} else if (id == AMQP_CHANNEL_CLOSE_METHOD) {
		amqp_channel_close_ok_t ok = { 0 };
		amqp_send_method(connection->state, channel,
				 AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
	}
}

void rabbitmq_connection_answer_close(struct rabbitmq_connection *connection,
				      const amqp_frame_t *frame, char *why,
				      size_t why_size)
{
	connection->broken = true;
	describe_close(&frame->payload.method, why, why_size);
	answer_close(connection, frame->channel, frame->payload.method.id);
}

/* A refusal no retry changes: the credentials, the virtual host. */
static bool refusal_is_final(int reply_code)
{
	return reply_code == REPLY_ACCESS_REFUSED ||
	       reply_code == REPLY_NOT_ALLOWED;
}

int rabbitmq_connection_check(struct rabbitmq_connection *connection,
			      amqp_rpc_reply_t reply, const char *what,
			      struct crash_error *error)
{
	char why[400];

	switch (reply.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return 0;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		return rabbitmq_connection_status(connection,
						  reply.library_error, what,
						  error);
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		break;
	default:
		connection->broken = true;
		return crash_error_set_operational(
			error, -EIO, "%s: no reply (broker %s:%d)", what,
			connection->options->host, connection->options->port);
	}
	connection->broken = true;
	int reply_code = describe_close(&reply.reply, why, sizeof why);
	answer_close(connection, RABBITMQ_CHANNEL, reply.reply.id);
	int code = -EIO;
	if (refusal_is_final(reply_code))
		code = -EACCES;
	else if (reply_code == REPLY_PRECONDITION_FAILED &&
		 reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
		 strncmp(what, "declaring", 9) == 0)
		/* The queue exists with other properties: a configuration
		 * matter, not an outage. */
		code = -EINVAL;
	if (code != -EIO)
		return crash_error_set(error, code, "%s: %s (broker %s:%d)",
				       what, why, connection->options->host,
				       connection->options->port);
	return crash_error_set_operational(error, code, "%s: %s (broker %s:%d)",
					   what, why,
					   connection->options->host,
					   connection->options->port);
}

int rabbitmq_connection_limit(struct rabbitmq_connection *connection,
			      struct crash_call *call)
{
	double seconds = connection->options->timeout;
	long remaining = call ? crash_call_remaining_ms(call) : -1;
	if (remaining == 0)
		return crash_error_set_operational(
			&call->error, -ETIMEDOUT,
			"the request's deadline passed");
	if (remaining > 0 && remaining / 1000.0 < seconds)
		seconds = remaining / 1000.0;
	struct timeval tv = seconds_to_timeval(seconds);
	amqp_set_rpc_timeout(connection->state, &tv);
	return 0;
}

bool rabbitmq_connection_has_input(struct rabbitmq_connection *connection)
{
	if (connection->broken)
		return true;
	if (amqp_frames_enqueued(connection->state) ||
	    amqp_data_in_buffer(connection->state))
		return true;
	int fd = amqp_socket_get_sockfd(amqp_get_socket(connection->state));
	if (fd < 0)
		return true;
	struct pollfd ready = { .fd = fd, .events = POLLIN };
	return poll(&ready, 1, 0) != 0;
}

static int declare_queues(struct rabbitmq_connection *connection,
			  struct crash_error *error)
{
	char what[RABBITMQ_NAME_MAX + 64];

	for (int role = 0; role < RABBITMQ_ROLE_COUNT; role++) {
		const char *name = connection->options->queues[role];
		/* Socorro: queue_declare(queue=name, durable=True), every
		 * other flag pika's default, no arguments. */
		amqp_queue_declare(connection->state, RABBITMQ_CHANNEL,
				   amqp_cstring_bytes(name), 0, 1, 0, 0,
				   amqp_empty_table);
		snprintf(what, sizeof what, "declaring queue %s", name);
		int result = rabbitmq_connection_check(
			connection, amqp_get_rpc_reply(connection->state),
			what, error);
		if (result < 0)
			return result;
	}
	return 0;
}

static int log_in(struct rabbitmq_connection *connection,
		  struct crash_error *error)
{
	const struct rabbitmq_options *options = connection->options;
	char what[RABBITMQ_NAME_MAX * 2 + 64];

	snprintf(what, sizeof what, "logging in as %s to virtual host %s",
		 options->user, options->vhost);
	/* Heartbeat 0: librabbitmq sends heartbeats only from inside its own
	 * calls, so an idle pooled connection would miss them and be closed
	 * by the broker (rabbitmq_store.h). */
	amqp_rpc_reply_t reply = amqp_login(
		connection->state, options->vhost, 0, AMQP_DEFAULT_FRAME_SIZE,
		0, AMQP_SASL_METHOD_PLAIN, options->user, options->password);
	int result = rabbitmq_connection_check(connection, reply, what, error);
	if (result < 0)
		return result;
	amqp_channel_open(connection->state, RABBITMQ_CHANNEL);
	return rabbitmq_connection_check(
		connection, amqp_get_rpc_reply(connection->state),
		"opening channel 1", error);
}

static int connect_socket(struct rabbitmq_connection *connection,
			  struct crash_error *error)
{
	const struct rabbitmq_options *options = connection->options;
	amqp_socket_t *socket = amqp_tcp_socket_new(connection->state);
	if (!socket)
		return crash_error_set(error, -ENOMEM, "out of memory");
	struct timeval tv = seconds_to_timeval(options->timeout);
	int status = amqp_socket_open_noblock(socket, options->host,
					      options->port, &tv);
	if (status != AMQP_STATUS_OK)
		return rabbitmq_connection_status(connection, status,
						  "connecting", error);
	amqp_set_handshake_timeout(connection->state, &tv);
	amqp_set_rpc_timeout(connection->state, &tv);
	return 0;
}

static int prepare(struct rabbitmq_connection *connection,
		   enum rabbitmq_connection_kind kind,
		   struct crash_error *error)
{
	int result;

	if ((result = connect_socket(connection, error)) < 0 ||
	    (result = log_in(connection, error)) < 0)
		return result;
	if (kind == RABBITMQ_CONNECTION_BARE)
		return 0;
	if ((result = declare_queues(connection, error)) < 0)
		return result;
	if (kind == RABBITMQ_CONNECTION_PUBLISHER) {
		amqp_confirm_select(connection->state, RABBITMQ_CHANNEL);
		result = rabbitmq_connection_check(
			connection, amqp_get_rpc_reply(connection->state),
			"turning publisher confirms on", error);
		if (result < 0)
			return result;
		connection->next_publish_tag = 1;
	}
	amqp_maybe_release_buffers(connection->state);
	return 0;
}

int rabbitmq_connection_open(const struct rabbitmq_options *options,
			     enum rabbitmq_connection_kind kind,
			     struct rabbitmq_connection **out,
			     struct crash_error *error)
{
	*out = NULL;
	struct rabbitmq_connection *connection = calloc(1, sizeof *connection);
	if (!connection)
		return crash_error_set(error, -ENOMEM, "out of memory");
	connection->options = options;
	connection->state = amqp_new_connection();
	if (!connection->state) {
		free(connection);
		return crash_error_set(error, -ENOMEM, "out of memory");
	}
	int result = prepare(connection, kind, error);
	if (result < 0) {
		connection->broken = true;
		rabbitmq_connection_close(connection);
		return result;
	}
	*out = connection;
	return 0;
}

void rabbitmq_connection_close(struct rabbitmq_connection *connection)
{
	if (!connection)
		return;
	/* A connection the broker closed (or a dead socket) gets no close
	 * handshake: it would only wait out the timeout. */
	if (!connection->broken && !rabbitmq_connection_has_input(connection)) {
		double seconds = connection->options->timeout;
		if (seconds > CLOSE_TIMEOUT_SECONDS)
			seconds = CLOSE_TIMEOUT_SECONDS;
		struct timeval tv = seconds_to_timeval(seconds);
		amqp_set_rpc_timeout(connection->state, &tv);
		amqp_rpc_reply_t reply = amqp_channel_close(
			connection->state, RABBITMQ_CHANNEL, AMQP_REPLY_SUCCESS);
		if (reply.reply_type == AMQP_RESPONSE_NORMAL)
			amqp_connection_close(connection->state,
					      AMQP_REPLY_SUCCESS);
	}
	/* Closes the socket too; the broker then requeues whatever this
	 * connection held unacknowledged. */
	amqp_destroy_connection(connection->state);
	free(connection);
}
