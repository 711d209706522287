/*
 * rabbitmq_internal.h - what the files of the RabbitMQ store share: its
 * options (rabbitmq_config.c), one AMQP connection (rabbitmq_connection.c),
 * publishing (rabbitmq_publish.c), the queue side (rabbitmq_queue.c) and
 * the store itself (rabbitmq_store.c).  Not for use outside storage/rabbitmq.
 *
 * Threads: a struct rabbitmq_connection is used by one thread at a time
 * (the one that leased it from the pool, or the holder of the consumer
 * lock); the options are read-only once the store is open.
 */
#ifndef CRASHFS_STORAGE_RABBITMQ_RABBITMQ_INTERNAL_H
#define CRASHFS_STORAGE_RABBITMQ_RABBITMQ_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <amqp.h> /* first: amqp_framing.h needs it */
#include <amqp_framing.h>

#include "storage/crash_store.h"
#include "storage/executor/connection_pool.h"

/* The queues of Socorro's three roles, in the order of "queues". */
enum rabbitmq_role {
	RABBITMQ_NORMAL = 0,
	RABBITMQ_PRIORITY,
	RABBITMQ_REPROCESSING,
	RABBITMQ_ROLE_COUNT
};

/* "normal", "priority", "reprocessing". */
const char *rabbitmq_role_name(enum rabbitmq_role role);

/* AMQP's limit on queue names and routing keys (a short string). */
#define RABBITMQ_NAME_MAX 255
#define RABBITMQ_DEFAULT_WINDOW 256
#define RABBITMQ_WINDOW_MAX 65536
#define RABBITMQ_DEFAULT_TIMEOUT 10.0
#define RABBITMQ_DEFAULT_CONNECTIONS 8

struct rabbitmq_options {
	char *host;
	int port;
	char *vhost;
	char *user;
	char *password;      /* secret: never logged or reported */
	char *password_file; /* where it came from, or NULL */
	char *routing_key;
	bool filter_on_legacy_processing;
	char *queues[RABBITMQ_ROLE_COUNT];
	unsigned queue_window;
	double timeout;      /* seconds per exchange with the broker */
	unsigned max_connections;
};

/* Reads the node into options (defaults for what is missing).  With
 * validate_only the password file is not read.  Returns 0 or a negative
 * errno with error naming the JSON path; options are then freed. */
int rabbitmq_options_parse(const json_t *node, const char *node_path,
			   bool validate_only,
			   struct rabbitmq_options *options,
			   struct crash_error *error);
void rabbitmq_options_free(struct rabbitmq_options *options);

/* The role whose queue routing_key names, or RABBITMQ_ROLE_COUNT. */
enum rabbitmq_role rabbitmq_options_routed_role(
	const struct rabbitmq_options *options);

/* -- one connection ------------------------------------------------------ */

/* The one channel every connection uses. */
#define RABBITMQ_CHANNEL 1

struct rabbitmq_connection {
	amqp_connection_state_t state;
	const struct rabbitmq_options *options;
	/* Publisher confirms: the delivery tag the broker gives the next
	 * message published on the channel (1 after confirm.select). */
	uint64_t next_publish_tag;
	/* Something failed: the connection must not be used again. */
	bool broken;
};

enum rabbitmq_connection_kind {
	RABBITMQ_CONNECTION_PUBLISHER, /* queues declared, confirms on */
	RABBITMQ_CONNECTION_CONSUMER,  /* queues declared */
	RABBITMQ_CONNECTION_BARE,      /* the channel only (setup) */
};

/* Connects, logs in, opens the channel and prepares it for kind.  Returns
 * 0 and *out, or a negative errno with error set (operational when a
 * retry may help). */
int rabbitmq_connection_open(const struct rabbitmq_options *options,
			     enum rabbitmq_connection_kind kind,
			     struct rabbitmq_connection **out,
			     struct crash_error *error);
/* Closes it politely (a short close handshake) unless it is broken, and
 * frees it; NULL is allowed. */
void rabbitmq_connection_close(struct rabbitmq_connection *connection);

/* Bounds the next request's wait by the options' timeout and by the
 * call's deadline; -ETIMEDOUT (operational) if the deadline has passed. */
int rabbitmq_connection_limit(struct rabbitmq_connection *connection,
			      struct crash_call *call);

/* True if the broker sent something on an idle connection, or closed it:
 * on a connection this store uses, that is only ever a close (a broker
 * stopping, an administrator closing connections, a channel closed by
 * consumer_timeout) or a broken socket.  Such a connection is replaced
 * before anything is sent on it. */
bool rabbitmq_connection_has_input(struct rabbitmq_connection *connection);

/* Turns a reply that is not AMQP_RESPONSE_NORMAL into an error: marks the
 * connection broken, answers a close the broker sent, and sets error
 * ("<what>: <why> (broker host:port)"), operational unless the broker refused the
 * credentials, the virtual host or a queue's properties.  Returns the
 * negative errno; 0 for a normal reply.  Messages do not name the
 * store: the interface's wrapper prefixes its node path. */
int rabbitmq_connection_check(struct rabbitmq_connection *connection,
			      amqp_rpc_reply_t reply, const char *what,
			      struct crash_error *error);
/* The same for a library status (a failed send, a timeout). */
int rabbitmq_connection_status(struct rabbitmq_connection *connection,
			       int status, const char *what,
			       struct crash_error *error);
/* Answers a channel.close or connection.close frame the broker sent and
 * marks the connection broken; writes the broker's reason into why. */
void rabbitmq_connection_answer_close(struct rabbitmq_connection *connection,
				      const amqp_frame_t *frame, char *why,
				      size_t why_size);

/* -- the store ------------------------------------------------------------- */

/* One message held: its delivery tag on the consumer channel, and the
 * order in which the store took it. */
struct rabbitmq_delivery {
	uint64_t tag;
	uint64_t serial;
};

/* A crash id held from the queues, and the deliveries that carry it. */
struct rabbitmq_held {
	char crash_id[CRASH_ID_LENGTH + 1];
	uint64_t serial;         /* the entry's, in the order created */
	enum rabbitmq_role role; /* of its first delivery */
	struct rabbitmq_delivery *deliveries;
	size_t delivery_count;
};

/* A token (struct crash_queue_token) of this store: value[0] the
 * generation of the consumer connection in its high 32 bits and the
 * entry's serial in its low ones, value[1] the serial of the entry's
 * newest delivery when the pass yielded it. */
#define RABBITMQ_TOKEN(generation, entry_serial) \
	(((uint64_t)(generation) << 32) | ((entry_serial) & 0xffffffffu))

struct rabbitmq_consumer {
	pthread_mutex_t lock; /* guards everything below */
	struct rabbitmq_connection *connection; /* NULL: none open */
	uint64_t generation;  /* of connection: 1, 2, ... */
	struct rabbitmq_held *held;
	size_t held_count, held_capacity;
	size_t messages_held; /* at most options.queue_window */
	uint64_t next_serial;          /* of entries */
	uint64_t next_delivery_serial; /* of deliveries */
	/* Socorro's polling list, reversed after each message taken. */
	enum rabbitmq_role poll_order[4];
};

struct rabbitmq_counters {
	atomic_uint_fast64_t published;   /* confirmed by the broker */
	atomic_uint_fast64_t filtered;    /* not queued: legacy_processing */
	atomic_uint_fast64_t unconfirmed; /* sent, outcome unknown */
	atomic_uint_fast64_t returned;    /* unroutable */
	atomic_uint_fast64_t connections; /* opened, both kinds */
	atomic_uint_fast64_t taken;       /* messages taken from the queues */
	atomic_uint_fast64_t acknowledged; /* messages acknowledged */
	atomic_uint_fast64_t released;    /* messages given back */
	atomic_uint_fast64_t malformed;   /* bodies that are no crash id */
	atomic_uint_fast64_t held_entries;
	atomic_uint_fast64_t held_messages;
};

struct rabbitmq_store {
	struct crash_store base; /* first */
	struct rabbitmq_options options;
	struct connection_pool *publishers;
	struct rabbitmq_consumer consumer;
	struct rabbitmq_counters counters;
};

struct rabbitmq_store *rabbitmq_store_of(struct crash_store *store);

/* rabbitmq_publish.c: the pool's open and close, and publishing. */
extern const struct connection_pool_ops rabbitmq_publisher_pool_ops;
int rabbitmq_publish(struct rabbitmq_store *self, struct crash_call *call,
		     const char *crash_id);

/* rabbitmq_queue.c */
void rabbitmq_consumer_init(struct rabbitmq_consumer *consumer);
/* Gives back what is held and closes the consumer connection. */
void rabbitmq_consumer_release(struct rabbitmq_store *self);
void rabbitmq_consumer_destroy(struct rabbitmq_consumer *consumer);
int rabbitmq_new_crashes(struct crash_store *store, struct crash_call *call,
			 crash_queue_emit_fn emit, void *ctx);
int rabbitmq_ack_crash(struct crash_store *store, struct crash_call *call,
		       const struct crash_queue_entry *entry);

#endif
