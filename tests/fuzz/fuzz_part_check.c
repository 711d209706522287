/*
 * fuzz_part_check.c - the checks a raw crash (JSON) and a processed crash
 * (gzip of JSON) pass before commit (fusefs/part_check.h).
 *
 * Input: one byte choosing the part (bit 0: processed) and json_max (bits
 * 1-2), then the part's bytes.  The buffer and the descriptor forms give
 * the same verdict and message (the descriptor is a memfd: no disk), and
 * the verdict is the reference one: a raw crash is accepted exactly when
 * jansson parses the bytes to an object within json_max; a processed crash
 * exactly when its gzip members (nothing after them) inflate, here with
 * zlib in one go, to such an object.  An accepted document is the one
 * the reference parses.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "fusefs/part_check.h"
#include "tests/fuzz/fuzz_util.h"

static const uint64_t json_maxes[] = { 16 << 20, 64, 2, 4096 };

static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("fuzz_part_check", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	return 0;
}

/* The gzip members of bytes inflated into *out (malloc'd); false if they
 * are not whole gzip members, or inflate to more than limit bytes (then
 * *too_big). */
static bool inflate_members(const uint8_t *bytes, size_t size, size_t limit,
			    unsigned char **out, size_t *out_size,
			    bool *too_big)
{
	z_stream stream = { 0 };
	size_t capacity = 4096, used = 0;
	unsigned char *buffer = malloc(capacity);
	bool ok = false;

	*too_big = false;
	if (!buffer || inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)
		abort();
	stream.next_in = (unsigned char *)bytes;
	stream.avail_in = (uInt)size;
	for (;;) {
		if (used == capacity) {
			capacity *= 2;
			buffer = realloc(buffer, capacity);
			if (!buffer)
				abort();
		}
		stream.next_out = buffer + used;
		stream.avail_out = (uInt)(capacity - used);
		int status = inflate(&stream, Z_NO_FLUSH);
		used = capacity - stream.avail_out;
		if (used > limit) {
			*too_big = true;
			break;
		}
		if (status == Z_STREAM_END) {
			if (stream.avail_in == 0) {
				ok = true;
				break;
			}
			if (stream.next_in[0] != 0x1f)
				break;
			inflateReset(&stream);
			continue;
		}
		if (status == Z_BUF_ERROR && stream.avail_out == 0)
			continue; /* room was short: grow */
		if (status != Z_OK)
			break; /* bad data, or truncated (Z_BUF_ERROR) */
	}
	inflateEnd(&stream);
	*out = buffer;
	*out_size = used;
	return ok;
}

/* The reference verdict: the document, or NULL (with *too_big when the
 * JSON text exceeds json_max). */
static json_t *reference(bool processed, const uint8_t *bytes, size_t size,
			 uint64_t json_max, bool *too_big)
{
	*too_big = false;
	if (!processed) {
		if (size > json_max) {
			*too_big = true;
			return NULL;
		}
		json_t *json = json_loadb((const char *)bytes, size, 0, NULL);
		if (!json_is_object(json)) {
			json_decref(json);
			return NULL;
		}
		return json;
	}
	if (size < 18)
		return NULL;
	unsigned char *text;
	size_t length;
	bool whole = inflate_members(bytes, size, (size_t)json_max, &text,
				     &length, too_big);
	json_t *json = whole ? json_loadb((const char *)text, length, 0, NULL)
			     : NULL;
	free(text);
	if (!json_is_object(json)) {
		json_decref(json);
		return NULL;
	}
	return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool processed = data[0] & 1;
	uint64_t json_max = json_maxes[(data[0] >> 1) & 3];
	const uint8_t *bytes = data + 1;
	size_t length = size - 1;
	json_t *from_buffer = NULL, *from_fd = NULL;
	char buffer_message[256] = "", fd_message[256] = "";

	int buffer_result =
		processed ? part_check_processed_buffer(
				    bytes, length, json_max, &from_buffer,
				    buffer_message, sizeof buffer_message)
			  : part_check_raw_crash_buffer(
				    bytes, length, json_max, &from_buffer,
				    buffer_message, sizeof buffer_message);

	if (ftruncate(memfd, 0) < 0 ||
	    pwrite(memfd, bytes, length, 0) != (ssize_t)length)
		abort();
	int fd_result =
		processed ? part_check_processed(memfd, (off_t)length, json_max,
						 &from_fd, fd_message,
						 sizeof fd_message)
			  : part_check_raw_crash(memfd, (off_t)length,
						 json_max, &from_fd, fd_message,
						 sizeof fd_message);
	FUZZ_ASSERT(buffer_result == fd_result &&
			    strcmp(buffer_message, fd_message) == 0,
		    "buffer %d \"%s\", descriptor %d \"%s\"", buffer_result,
		    buffer_message, fd_result, fd_message);
	FUZZ_ASSERT(json_equal(from_buffer, from_fd) ||
			    (!from_buffer && !from_fd),
		    "documents differ");

	bool too_big;
	json_t *expected = reference(processed, bytes, length, json_max,
				     &too_big);
	if (buffer_result == 0) {
		FUZZ_ASSERT(json_is_object(from_buffer), "accepted a non-object");
		FUZZ_ASSERT(expected && json_equal(expected, from_buffer),
			    "accepted what the reference refuses");
	} else {
		FUZZ_ASSERT(!from_buffer, "a document with an error");
		FUZZ_ASSERT(buffer_result == -EINVAL ||
				    buffer_result == -EFBIG,
			    "%d", buffer_result);
		FUZZ_ASSERT(buffer_message[0], "no message");
		FUZZ_ASSERT(!expected,
			    "refused what the reference accepts: %s",
			    buffer_message);
		FUZZ_ASSERT(buffer_result != -EFBIG || too_big,
			    "EFBIG within json_max: %s", buffer_message);
	}
	json_decref(expected);
	json_decref(from_buffer);
	json_decref(from_fd);
	return 0;
}
