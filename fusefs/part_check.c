/*
 * part_check.c - validating raw and processed crashes before commit.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "fusefs/part_check.h"

#define CHECK_CHUNK 65536

/* Shared by both readers: where the JSON text comes from (a descriptor,
 * or bytes in memory when bytes is not NULL) and what went wrong below
 * jansson (jansson only sees "read error"). */
struct json_source {
	int fd;
	const unsigned char *bytes;
	off_t offset;
	off_t size;
	uint64_t json_max;
	uint64_t json_bytes;
	int error;
	char reason[160];
	/* gzip */
	z_stream stream;
	bool member_ended;
	unsigned char input[CHECK_CHUNK];
};

static size_t fail_read(struct json_source *source, int error,
			const char *reason)
{
	if (!source->error) {
		source->error = error;
		snprintf(source->reason, sizeof source->reason, "%s", reason);
	}
	return (size_t)-1;
}

static size_t count_json(struct json_source *source, size_t bytes)
{
	source->json_bytes += bytes;
	if (source->json_bytes > source->json_max)
		return fail_read(source, -EFBIG, "JSON larger than json_max");
	return bytes;
}

/* Up to want bytes at the source's offset (want > 0, within its size). */
static ssize_t read_at(struct json_source *source, void *buffer, size_t want)
{
	if (source->bytes) {
		memcpy(buffer, source->bytes + source->offset, want);
		return (ssize_t)want;
	}
	ssize_t got;
	do
		got = pread(source->fd, buffer, want, source->offset);
	while (got < 0 && errno == EINTR);
	return got;
}

static size_t read_plain(void *buffer, size_t buffer_size, void *data)
{
	struct json_source *source = data;
	if (source->offset >= source->size)
		return 0;
	size_t want = buffer_size;
	if ((off_t)want > source->size - source->offset)
		want = (size_t)(source->size - source->offset);
	ssize_t got = read_at(source, buffer, want);
	if (got < 0)
		return fail_read(source, -EIO, strerror(errno));
	if (got == 0)
		return fail_read(source, -EIO,
				 "staged file shorter than its size");
	source->offset += got;
	return count_json(source, (size_t)got);
}

static bool fill_input(struct json_source *source)
{
	if (source->stream.avail_in > 0 || source->offset >= source->size)
		return true;
	size_t want = sizeof source->input;
	if ((off_t)want > source->size - source->offset)
		want = (size_t)(source->size - source->offset);
	ssize_t got = read_at(source, source->input, want);
	if (got <= 0) {
		fail_read(source, -EIO,
			  got < 0 ? strerror(errno)
				  : "staged file shorter than its size");
		return false;
	}
	source->offset += got;
	source->stream.next_in = source->input;
	source->stream.avail_in = (uInt)got;
	return true;
}

/* After a member ended: another member may follow (gzip allows it), and
 * nothing else may. */
static bool next_member(struct json_source *source, bool *finished)
{
	if (!fill_input(source))
		return false;
	if (source->stream.avail_in == 0) {
		*finished = true;
		return true;
	}
	if (source->stream.next_in[0] != 0x1f) {
		fail_read(source, -EINVAL,
			  "bytes after the end of the gzip data");
		return false;
	}
	inflateReset(&source->stream);
	source->member_ended = false;
	*finished = false;
	return true;
}

static size_t read_gzip(void *buffer, size_t buffer_size, void *data)
{
	struct json_source *source = data;
	if (source->error)
		return (size_t)-1;
	source->stream.next_out = buffer;
	source->stream.avail_out = (uInt)buffer_size;
	while (source->stream.avail_out == buffer_size) {
		if (source->member_ended) {
			bool finished;
			if (!next_member(source, &finished))
				return (size_t)-1;
			if (finished)
				return 0;
		}
		if (!fill_input(source))
			return (size_t)-1;
		if (source->stream.avail_in == 0)
			return fail_read(source, -EINVAL,
					 "gzip data truncated");
		int status = inflate(&source->stream, Z_NO_FLUSH);
		if (status == Z_STREAM_END) {
			source->member_ended = true;
		} else if (status != Z_OK) {
			return fail_read(source, -EINVAL,
					 source->stream.msg ? source->stream.msg
							    : "not gzip data");
		}
	}
	return count_json(source, buffer_size - source->stream.avail_out);
}

static int parse(struct json_source *source, json_load_callback_t callback,
		 const char *what, json_t **json_out, char *message,
		 size_t message_size)
{
	json_error_t json_error;
	json_t *json = json_load_callback(callback, source, 0, &json_error);

	if (source->error) {
		json_decref(json);
		snprintf(message, message_size, "%s: %s", what, source->reason);
		return source->error;
	}
	if (!json) {
		snprintf(message, message_size,
			 "%s: invalid JSON at line %d, column %d: %s", what,
			 json_error.line, json_error.column, json_error.text);
		return -EINVAL;
	}
	if (!json_is_object(json)) {
		json_decref(json);
		snprintf(message, message_size, "%s: not a JSON object", what);
		return -EINVAL;
	}
	*json_out = json;
	return 0;
}

static int check_raw_crash(struct json_source *source, uint64_t json_max,
			   json_t **json_out, char *message,
			   size_t message_size)
{
	*json_out = NULL;
	if ((uint64_t)source->size > json_max) {
		snprintf(message, message_size,
			 "raw crash: %lld bytes, more than json_max (%llu)",
			 (long long)source->size, (unsigned long long)json_max);
		return -EFBIG;
	}
	source->json_max = json_max;
	return parse(source, read_plain, "raw crash", json_out, message,
		     message_size);
}

static int check_processed(struct json_source *source, uint64_t json_max,
			   json_t **json_out, char *message,
			   size_t message_size)
{
	*json_out = NULL;
	source->json_max = json_max;
	/* 16 + MAX_WBITS: gzip wrapper only, as Socorro's .jsonz is. */
	if (inflateInit2(&source->stream, 16 + MAX_WBITS) != Z_OK) {
		snprintf(message, message_size, "processed crash: zlib failed");
		return -ENOMEM;
	}
	int result = 0;
	if (source->size < 18) {
		snprintf(message, message_size,
			 "processed crash: %lld bytes is not gzip data",
			 (long long)source->size);
		result = -EINVAL;
	} else {
		result = parse(source, read_gzip, "processed crash", json_out,
			       message, message_size);
	}
	inflateEnd(&source->stream);
	return result;
}

typedef int check_fn(struct json_source *source, uint64_t json_max,
		     json_t **json_out, char *message, size_t message_size);

/* The source is large (it holds the inflate input chunk): on the heap. */
static int check(check_fn *checker, const char *what, int fd,
		 const void *bytes, off_t size, uint64_t json_max,
		 json_t **json_out, char *message, size_t message_size)
{
	*json_out = NULL;
	struct json_source *source = calloc(1, sizeof *source);
	if (!source) {
		snprintf(message, message_size, "%s: out of memory", what);
		return -ENOMEM;
	}
	source->fd = fd;
	source->bytes = bytes;
	source->size = size;
	int result = checker(source, json_max, json_out, message,
			     message_size);
	free(source);
	return result;
}

int part_check_raw_crash(int fd, off_t size, uint64_t json_max,
			 json_t **json_out, char *message, size_t message_size)
{
	return check(check_raw_crash, "raw crash", fd, NULL, size, json_max,
		     json_out, message, message_size);
}

int part_check_processed(int fd, off_t size, uint64_t json_max,
			 json_t **json_out, char *message, size_t message_size)
{
	return check(check_processed, "processed crash", fd, NULL, size,
		     json_max, json_out, message, message_size);
}

int part_check_raw_crash_buffer(const void *bytes, size_t size,
				uint64_t json_max, json_t **json_out,
				char *message, size_t message_size)
{
	/* An empty buffer has no bytes to point at; any address will do. */
	return check(check_raw_crash, "raw crash", -1, bytes ? bytes : "",
		     (off_t)size, json_max, json_out, message, message_size);
}

int part_check_processed_buffer(const void *bytes, size_t size,
				uint64_t json_max, json_t **json_out,
				char *message, size_t message_size)
{
	return check(check_processed, "processed crash", -1,
		     bytes ? bytes : "", (off_t)size, json_max, json_out,
		     message, message_size);
}
