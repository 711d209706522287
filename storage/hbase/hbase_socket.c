/*
 * hbase_socket.c - a buffered TCP Thrift transport with deadlines (see
 * hbase_socket.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "storage/hbase/hbase_socket.h"

/* Replies are read into a buffer this large (most fit in one recv); a
 * request is sent when it is flushed or when it outgrows this. */
#define HBASE_SOCKET_BUFFER_SIZE 65536

G_DEFINE_TYPE(HbaseSocket, hbase_socket, THRIFT_TYPE_TRANSPORT)

/* Records the first failure (later ones follow from it) and sets error,
 * which c_glib passes up as the call's GError. */
static void fail(HbaseSocket *self, GError **error, int code,
		 const char *format, ...) __attribute__((format(printf, 4, 5)));

static void fail(HbaseSocket *self, GError **error, int code,
		 const char *format, ...)
{
	char what[CRASH_ERROR_MESSAGE_MAX / 2];
	va_list args;
	va_start(args, format);
	vsnprintf(what, sizeof what, format, args);
	va_end(args);
	if (self->failure == 0) {
		self->failure = code;
		snprintf(self->failure_message, sizeof self->failure_message,
			 "%.200s:%d: %s", self->host, self->port, what);
	}
	g_set_error(error, THRIFT_TRANSPORT_ERROR,
		    THRIFT_TRANSPORT_ERROR_UNKNOWN, "%s:%d: %s", self->host,
		    self->port, what);
}

/* Waits until fd is ready for events: 1, or 0 after failing. */
static int wait_ready(HbaseSocket *self, short events, const char *doing,
		      GError **error)
{
	struct crash_call *call = self->call;
	int ready = crash_call_wait_fd(call, self->fd, events,
				       self->timeout_ms);
	if (ready > 0)
		return 1;
	if (ready == 0)
		fail(self, error, -ETIMEDOUT,
		     "no answer while %s within timeout_ms %ld", doing,
		     self->timeout_ms);
	else if (ready == -EINTR)
		fail(self, error, -EINTR, "interrupted while %s", doing);
	else if (ready == -ETIMEDOUT)
		fail(self, error, -ETIMEDOUT,
		     "the request's time ran out while %s", doing);
	else
		fail(self, error, ready, "poll while %s: %s", doing,
		     strerror(-ready));
	return 0;
}

static gboolean hbase_socket_is_open(ThriftTransport *transport)
{
	return HBASE_SOCKET(transport)->fd >= 0;
}

/* One address: a non-blocking connect, waited for as any other wait. */
static int connect_one(HbaseSocket *self, const struct addrinfo *address,
		       GError **error)
{
	self->fd = socket(address->ai_family,
			  address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  address->ai_protocol);
	if (self->fd < 0) {
		fail(self, error, -errno, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(self->fd, address->ai_addr, address->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			fail(self, error, -errno, "connect: %s",
			     strerror(errno));
			return -1;
		}
		if (!wait_ready(self, POLLOUT, "connecting", error))
			return -1;
		int result = 0;
		socklen_t length = sizeof result;
		if (getsockopt(self->fd, SOL_SOCKET, SO_ERROR, &result,
			       &length) < 0)
			result = errno;
		if (result != 0) {
			fail(self, error, -result, "connect: %s",
			     strerror(result));
			return -1;
		}
	}
	/* Requests are written whole at flush: no need to wait for acks
	 * of the small ones. */
	int one = 1;
	setsockopt(self->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
}

static gboolean hbase_socket_open(ThriftTransport *transport, GError **error)
{
	HbaseSocket *self = HBASE_SOCKET(transport);
	if (self->fd >= 0)
		return TRUE;
	char port[16];
	snprintf(port, sizeof port, "%d", self->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *addresses = NULL;
	int found = getaddrinfo(self->host, port, &hints, &addresses);
	if (found != 0) {
		fail(self, error, -EHOSTUNREACH, "cannot resolve: %s",
		     gai_strerror(found));
		return FALSE;
	}
	/* The first address that answers; the failure reported is the
	 * last one's. */
	for (struct addrinfo *address = addresses; address;
	     address = address->ai_next) {
		self->failure = 0;
		if (connect_one(self, address, error) == 0) {
			freeaddrinfo(addresses);
			return TRUE;
		}
		if (self->fd >= 0)
			close(self->fd);
		self->fd = -1;
		if (self->failure == -EINTR || self->failure == -ETIMEDOUT ||
		    !address->ai_next)
			break;
		g_clear_error(error);
	}
	freeaddrinfo(addresses);
	return FALSE;
}

static gboolean hbase_socket_close(ThriftTransport *transport, GError **error)
{
	HbaseSocket *self = HBASE_SOCKET(transport);
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	self->read_start = self->read_end = 0;
	self->write_length = 0;
	return TRUE;
}

/* Receives into buffer: the count (> 0), or -1 after failing. */
static ssize_t receive(HbaseSocket *self, void *buffer, size_t size,
		       GError **error)
{
	for (;;) {
		ssize_t got = recv(self->fd, buffer, size, 0);
		if (got > 0) {
			self->read_count += (size_t)got;
			if (self->read_count > self->read_limit) {
				fail(self, error, -EFBIG,
				     "a reply of more than %zu bytes",
				     self->read_limit);
				return -1;
			}
			return got;
		}
		if (got == 0) {
			fail(self, error, -ECONNRESET,
			     "the server closed the connection");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			fail(self, error, -errno, "receive: %s",
			     strerror(errno));
			return -1;
		}
		if (!wait_ready(self, POLLIN, "waiting for a reply", error))
			return -1;
	}
}

/* Thrift's read: exactly len bytes (c_glib's readers expect all). */
static gint32 hbase_socket_read(ThriftTransport *transport, gpointer buffer,
				guint32 len, GError **error)
{
	HbaseSocket *self = HBASE_SOCKET(transport);
	unsigned char *out = buffer;
	size_t done = 0;
	if (self->fd < 0 || self->failure) {
		fail(self, error, -ENOTCONN, "read on a closed connection");
		return -1;
	}
	while (done < len) {
		size_t buffered = self->read_end - self->read_start;
		if (buffered > 0) {
			size_t take = len - done < buffered ? len - done
							    : buffered;
			memcpy(out + done, self->read_buffer + self->read_start,
			       take);
			self->read_start += take;
			done += take;
			continue;
		}
		self->read_start = self->read_end = 0;
		/* A big value goes straight to its destination. */
		if (len - done >= HBASE_SOCKET_BUFFER_SIZE) {
			ssize_t got = receive(self, out + done, len - done,
					      error);
			if (got < 0)
				return -1;
			done += (size_t)got;
			continue;
		}
		ssize_t got = receive(self, self->read_buffer,
				      HBASE_SOCKET_BUFFER_SIZE, error);
		if (got < 0)
			return -1;
		self->read_end = (size_t)got;
	}
	return (gint32)done;
}

static gboolean hbase_socket_read_end(ThriftTransport *transport,
				      GError **error)
{
	return TRUE;
}

static int send_all(HbaseSocket *self, const unsigned char *bytes,
		    size_t length, GError **error)
{
	size_t done = 0;
	while (done < length) {
		ssize_t sent = send(self->fd, bytes + done, length - done,
				    MSG_NOSIGNAL);
		if (sent > 0) {
			done += (size_t)sent;
			continue;
		}
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			fail(self, error, -errno, "send: %s", strerror(errno));
			return -1;
		}
		if (!wait_ready(self, POLLOUT, "sending a request", error))
			return -1;
	}
	return 0;
}

static gboolean hbase_socket_write(ThriftTransport *transport,
				   const gpointer buffer, const guint32 len,
				   GError **error)
{
	HbaseSocket *self = HBASE_SOCKET(transport);
	if (self->fd < 0 || self->failure) {
		fail(self, error, -ENOTCONN, "write on a closed connection");
		return FALSE;
	}
	if (self->write_length + len <= HBASE_SOCKET_BUFFER_SIZE) {
		memcpy(self->write_buffer + self->write_length, buffer, len);
		self->write_length += len;
		return TRUE;
	}
	/* What is buffered, then the big piece without copying it. */
	if (send_all(self, self->write_buffer, self->write_length, error) < 0)
		return FALSE;
	self->write_length = 0;
	return send_all(self, buffer, len, error) == 0;
}

static gboolean hbase_socket_write_end(ThriftTransport *transport,
				       GError **error)
{
	return TRUE;
}

/* The end of a request: send it; its reply starts a new count. */
static gboolean hbase_socket_flush(ThriftTransport *transport, GError **error)
{
	HbaseSocket *self = HBASE_SOCKET(transport);
	if (self->fd < 0 || self->failure) {
		fail(self, error, -ENOTCONN, "flush on a closed connection");
		return FALSE;
	}
	if (send_all(self, self->write_buffer, self->write_length, error) < 0)
		return FALSE;
	self->write_length = 0;
	self->read_count = self->read_end - self->read_start;
	return TRUE;
}

static void hbase_socket_finalize(GObject *object)
{
	HbaseSocket *self = HBASE_SOCKET(object);
	if (self->fd >= 0)
		close(self->fd);
	g_free(self->host);
	g_free(self->read_buffer);
	g_free(self->write_buffer);
	G_OBJECT_CLASS(hbase_socket_parent_class)->finalize(object);
}

static void hbase_socket_class_init(HbaseSocketClass *class)
{
	ThriftTransportClass *transport = THRIFT_TRANSPORT_CLASS(class);
	G_OBJECT_CLASS(class)->finalize = hbase_socket_finalize;
	transport->is_open = hbase_socket_is_open;
	transport->open = hbase_socket_open;
	transport->close = hbase_socket_close;
	transport->read = hbase_socket_read;
	transport->read_end = hbase_socket_read_end;
	transport->write = hbase_socket_write;
	transport->write_end = hbase_socket_write_end;
	transport->flush = hbase_socket_flush;
}

static void hbase_socket_init(HbaseSocket *self)
{
	self->fd = -1;
	self->read_buffer = g_malloc(HBASE_SOCKET_BUFFER_SIZE);
	self->write_buffer = g_malloc(HBASE_SOCKET_BUFFER_SIZE);
}

HbaseSocket *hbase_socket_new(const char *host, int port, long timeout_ms,
			      size_t read_limit)
{
	HbaseSocket *self = g_object_new(HBASE_TYPE_SOCKET, NULL);
	self->host = g_strdup(host);
	self->port = port;
	self->timeout_ms = timeout_ms;
	self->read_limit = read_limit;
	return self;
}

gboolean hbase_socket_is_stale(HbaseSocket *self)
{
	if (self->fd < 0)
		return FALSE;
	struct pollfd poll_fd = { .fd = self->fd,
				  .events = POLLIN | POLLRDHUP };
	return poll(&poll_fd, 1, 0) != 0 ||
	       self->read_end != self->read_start;
}
