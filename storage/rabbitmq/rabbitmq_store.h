/*
 * rabbitmq_store.h - Socorro's RabbitMQCrashStorage (spec/backends.md
 * part C): a work queue of crash ids, not a store of crashes.
 *
 *   {"type": "rabbitmq", "host": "localhost", "port": 5672, "vhost": "/",
 *    "user": "guest", "password": "guest" | "password_file": PATH,
 *    "routing_key": "socorro.normal", "filter_on_legacy_processing": true,
 *    "queues": {"normal": "socorro.normal", "priority": "socorro.priority",
 *               "reprocessing": "socorro.reprocessing"},
 *    "queue_window": 256, "timeout": 10, "max_connections": 8}
 *
 * Socorro's names and defaults, except one: in 2014 a subclass defined in
 * the same module overwrote the shared defaults at import time, so that
 * Socorro's effective defaults were routing_key socorro.reprocessing and
 * no filtering (spec C.2).  That quirk is not reproduced: the defaults are
 * the nominal ones, socorro.normal and filtering on.  The last three keys
 * are crashfs's own: the most messages held unacknowledged by the queue
 * side (below), the seconds any single exchange with the broker may take
 * (connecting, logging in, a request, a publisher confirm), and the most
 * publishing connections open at once.
 *
 * The password is never logged, never in an error message and never in
 * .crashfs/stats.  A password_file holds it on its first line; a file
 * with any group or world permission is refused at open, naming the file
 * (as libpq refuses such a .pgpass).  Neither key: guest, as Socorro.
 *
 * Connections.  Every new connection opens channel 1 and declares the
 * three queues durable (no other flag, no arguments), as Socorro did;
 * publishing connections also turn publisher confirms on.  Heartbeats
 * are off (librabbitmq sends them only from inside its own calls): a
 * connection the broker closed or lost while idle is found at its next
 * use, before anything is sent on it, and replaced.  Connection loss,
 * a broker restart, a refused connection and a timeout are operational
 * errors (-EIO, -ETIMEDOUT), for the retry policy; refused credentials
 * or virtual host (-EACCES) and a queue declared elsewhere with other
 * properties (-EINVAL) are not.  librabbitmq sends with MSG_NOSIGNAL, so
 * a dead connection never raises SIGPIPE.
 *
 * Writes.  save_raw_crash publishes the bare crash id (no newline, no
 * content type, no headers), persistent (delivery mode 2), to the default
 * exchange with routing_key as its routing key, mandatory: iff filtering
 * is off or the raw crash's legacy_processing == 0 (Socorro's Python
 * comparison: the integer 0, the real 0.0, false; a missing key or the
 * string "0" is not queued).  A raw crash saved with dumps is refused
 * (ENOTSUP), nothing queued: Socorro dropped the dumps silently, and a
 * container gives them to the stores that keep them (container_core.c).
 * It keeps no crash data: save_dump,
 * save_processed, every read (the lookups stat_crash and stat_part
 * included) and every listing are NULL slots, so in a container the
 * other stores keep and serve those parts, and alone the store refuses
 * them with the interface's errors: ENOTSUP for a read, EROFS for a
 * save (a mount answers ENOTSUP for a part a store keeps no kind of).
 *
 * Publisher confirms, and what a returned 0 means.  save_raw_crash
 * returns 0 only when the broker confirmed the message (basic.ack on its
 * delivery tag): the message is then in a durable queue, on disk, and
 * survives kill -9 of the broker.  A message the broker could not route
 * (basic.return: the queue was deleted since it was declared) is an
 * error, operational when routing_key names one of the three queues (the
 * reconnect declares it again), not when it names another.
 *
 * Duplicates (at-least-once).  A confirmed publish is never sent again:
 * a retry re-runs only an attempt that failed.  An attempt that fails
 * before the message left this process (no connection, the connection
 * found closed before the publish, a failed send) queued nothing, and
 * its retry cannot duplicate.  The one case that can: the connection
 * drops, or the timeout passes, or the caller gives up, after the
 * message was sent and before its confirm arrived.  Nobody can tell then
 * whether the broker took it, and the retry publishes again, so the id
 * may be queued twice: "unconfirmed_publishes" in the stats counts those
 * attempts, a bound on the duplicates this store made.  A consumer of
 * this store does not see such a pair twice while both are queued (one
 * entry per crash id, below).
 *
 * The queue (new_crashes, ack_crash).  Entries come from basic.get on one
 * dedicated consumer connection, acknowledgement required, polling the
 * queues in Socorro's order (priority, normal, reprocessing, priority;
 * the list reversed after each message, so normal and reprocessing
 * alternate and priority is always asked first).  The messages taken are
 * held unacknowledged by the store: a pass first tops the held messages
 * up to queue_window (taking nothing when the queues are empty), then
 * yields every held entry, priority ones first, each group in the order
 * taken.  A second pass yields the same entries again (and any taken to
 * refill the window), so a listing made of passes consumes nothing and is
 * stable.  Two messages with the same body are one entry (one crash id),
 * acknowledged together; the window counts messages.  An entry's token
 * covers the messages held when the pass yielded it: a message of the
 * same crash taken later (the crash was queued again since) is not
 * acknowledged with it, and keeps the entry in the queue under a new
 * token, as the fs store's queue keeps a crash saved again.  A message
 * whose body is not a crash id is rejected without requeue (the broker
 * drops it, or dead-letters it if the queue has a dead-letter exchange),
 * logged and counted in "malformed_messages".
 *
 * Why one consumer connection, not the pool's: a delivery belongs to the
 * channel that received it (an ack sent on another channel is lost, or
 * closes that channel), and held deliveries must outlive the call that
 * took them, while the pool hands a connection to whichever thread asks
 * and closes it on reconnect.  So the consumer connection is the store's
 * own, used under a mutex by new_crashes and ack_crash, from any thread.
 *
 * An entry's token: value[0] the generation of the consumer connection
 * that received its messages (a count of the consumer connections this
 * store opened) in its high 32 bits and the entry's serial number in its
 * low ones, value[1] the serial of its newest message when the pass
 * yielded it, where the role of its queue ("priority").  An ack while the
 * broker is unreachable fails operationally (the retry policy waits);
 * once it is reachable, the ack of a token of a connection lost since
 * fails with -EIO, not retried: the message is still queued (the broker
 * delivers it again, and a pass yields it under a new token), so it is
 * not "not here".
 * ack_crash acknowledges the messages its token covers and then waits
 * for the answer of a synchronous request on the same channel
 * (basic.qos), so a returned 0 means the broker processed the acks.  An
 * entry acknowledged already, an unknown token and another store's token
 * are -ENOENT.  If the connection fails during an ack, every held message
 * goes back to the broker and the ack fails with -EIO (not retried: the
 * delivery is gone).
 *
 * Held messages are released when the store is closed (basic.nack with
 * requeue of everything unacknowledged, then the connection is closed);
 * if the process dies, the broker requeues them when the connection
 * drops.  The broker's consumer_timeout (30 minutes by default) closes a
 * channel that holds a message longer: the store then finds its
 * connection closed at the next pass and takes the messages afresh.
 *
 * Threads: CRASH_STORE_PARALLEL.  Publishing connections are per thread
 * (storage/executor/connection_pool.h: a connection is used by the thread
 * that leased it, never by two at once); the consumer connection and the
 * held entries are guarded by one mutex, never held while new_crashes'
 * callback runs, so a callback may call ack_crash.  Counters are atomic.
 */
#ifndef CRASHFS_STORAGE_RABBITMQ_RABBITMQ_STORE_H
#define CRASHFS_STORAGE_RABBITMQ_RABBITMQ_STORE_H

#include <stdbool.h>

#include <jansson.h>

#include "storage/crash_store.h"
#include "storage/store_registry.h"

/* The registry's constructor for the "rabbitmq" type.  Connects to
 * nothing: connections are opened when first needed, so a mount whose
 * broker is down still starts (a fallback then takes the crashes). */
int rabbitmq_store_open_json(const json_t *node, const char *node_path,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error);

extern const struct crash_store_ops rabbitmq_store_ops;

/* Socorro's filter (spec C.2): true if a raw crash whose parsed document
 * is raw_crash is to be queued.  raw_crash NULL (not a JSON object):
 * queued only without filtering. */
bool rabbitmq_should_queue(const json_t *raw_crash, bool filter);

#endif
