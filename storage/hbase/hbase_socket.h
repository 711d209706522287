/*
 * hbase_socket.h - the Thrift transport of the HBase store: one TCP
 * connection to an HBase Thrift server, buffered both ways, that waits
 * only as long as its caller may.
 *
 * HBase's Thrift server speaks TBinaryProtocol over a buffered socket; on
 * the wire a buffered socket is just the bytes, so this transport stands
 * where thrift c_glib's ThriftSocket + ThriftBufferedTransport would, and
 * avoids what makes those unfit for a daemon (environment notes, thrift
 * c_glib):
 *
 *   - every wait for the server (connect, send, receive) is a poll in
 *     slices through crash_call_wait_fd(): it ends at the call's deadline
 *     (-ETIMEDOUT), when the caller is interrupted (-EINTR), or after
 *     timeout_ms without progress (-ETIMEDOUT), never later;
 *   - writes use send(MSG_NOSIGNAL): a server that went away is an error
 *     (EPIPE), never a SIGPIPE, whatever the process's signal handling;
 *   - reads are buffered (ThriftBufferedTransport reads each integer of a
 *     reply with a recv of its own) and bounded: a reply larger than
 *     read_limit bytes is an error, not an allocation;
 *   - an error is recorded here (errno and one line) so the client can say
 *     what happened, since c_glib sometimes reports a failed call with no
 *     GError at all.
 *
 * After any error the connection is not used again: the client drops the
 * whole socket/protocol/client chain (hbase_client.h), so no request left
 * half-written in a buffer is ever sent later.
 *
 * Threads: an HbaseSocket belongs to one connection, used by one thread
 * at a time.
 */
#ifndef CRASHFS_STORAGE_HBASE_HBASE_SOCKET_H
#define CRASHFS_STORAGE_HBASE_HBASE_SOCKET_H

#include <stddef.h>

#include <thrift/c_glib/transport/thrift_transport.h>

#include "storage/crash_error.h"
#include "storage/crash_store.h"

#define HBASE_TYPE_SOCKET (hbase_socket_get_type())
#define HBASE_SOCKET(object) \
	(G_TYPE_CHECK_INSTANCE_CAST((object), HBASE_TYPE_SOCKET, HbaseSocket))

typedef struct _HbaseSocket HbaseSocket;
typedef struct _HbaseSocketClass HbaseSocketClass;

struct _HbaseSocket {
	ThriftTransport parent;
	/* Set by hbase_socket_new, read-only afterwards. */
	char *host;
	int port;
	long timeout_ms;   /* longest wait without progress */
	size_t read_limit; /* most bytes of one reply */
	/* The call whose deadline and interruption the waits honour; set
	 * around each request by the client (NULL: timeout_ms only). */
	struct crash_call *call;
	/* The first failure, if any: a negative errno and what happened. */
	int failure;
	char failure_message[CRASH_ERROR_MESSAGE_MAX];
	/* private */
	int fd;
	unsigned char *read_buffer;
	size_t read_start, read_end;
	size_t read_count; /* bytes of the current reply */
	unsigned char *write_buffer;
	size_t write_length;
};

struct _HbaseSocketClass {
	ThriftTransportClass parent;
};

GType hbase_socket_get_type(void);

/* An unconnected socket to host:port (copied); thrift_transport_open
 * connects it.  Never NULL (GLib aborts when out of memory). */
HbaseSocket *hbase_socket_new(const char *host, int port, long timeout_ms,
			      size_t read_limit);

/* True when a connected socket that has no request outstanding was closed
 * by the server (a restart, an idle timeout) or has bytes nobody asked
 * for: it must be reconnected before a request is sent on it, and no
 * request is lost by doing so. */
gboolean hbase_socket_is_stale(HbaseSocket *self);

#endif
