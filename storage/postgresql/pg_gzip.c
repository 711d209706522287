/*
 * pg_gzip.c - deterministic gzip and multi-member gunzip (see pg_gzip.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "storage/postgresql/pg_gzip.h"

/* windowBits 15 + 16: a gzip wrapper (zlib writes mtime 0, no name). */
#define GZIP_WINDOW_BITS (15 + 16)

int pg_gzip_deflate(const void *bytes, size_t size, unsigned char **out,
		    size_t *out_size)
{
	z_stream stream;
	memset(&stream, 0, sizeof stream);
	if (size > UINT_MAX)
		return -EIO;
	if (deflateInit2(&stream, 9, Z_DEFLATED, GZIP_WINDOW_BITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	uLong bound = deflateBound(&stream, (uLong)size);
	unsigned char *buffer = malloc(bound);
	if (!buffer) {
		deflateEnd(&stream);
		return -ENOMEM;
	}
	stream.next_in = (Bytef *)bytes;
	stream.avail_in = (uInt)size;
	stream.next_out = buffer;
	stream.avail_out = (uInt)bound;
	int status = deflate(&stream, Z_FINISH);
	size_t produced = stream.total_out;
	deflateEnd(&stream);
	if (status != Z_STREAM_END) {
		free(buffer);
		return -EIO;
	}
	*out = buffer;
	*out_size = produced;
	return 0;
}

/* Grows the output to hold at least `need` more bytes and a NUL. */
static int make_room(char **text, size_t *capacity, size_t used, size_t need,
		     size_t max_size)
{
	if (used + need + 1 <= *capacity)
		return 0;
	size_t wanted = *capacity ? *capacity * 2 : 65536;
	while (wanted < used + need + 1)
		wanted *= 2;
	if (wanted > max_size + 1)
		wanted = max_size + 1;
	if (wanted < used + 1)
		return -EFBIG;
	char *grown = realloc(*text, wanted);
	if (!grown)
		return -ENOMEM;
	*text = grown;
	*capacity = wanted;
	return 0;
}

int pg_gzip_inflate(const void *bytes, size_t size, size_t max_size,
		    char **out, size_t *out_size)
{
	z_stream stream;
	char *text = NULL;
	size_t capacity = 0, used = 0;
	int result = 0;

	memset(&stream, 0, sizeof stream);
	if (size > UINT_MAX || inflateInit2(&stream, GZIP_WINDOW_BITS) != Z_OK)
		return -ENOMEM;
	stream.next_in = (Bytef *)bytes;
	stream.avail_in = (uInt)size;
	for (;;) {
		result = make_room(&text, &capacity, used, 65536, max_size);
		if (result < 0)
			break;
		if (used + 1 >= capacity) {
			result = -EFBIG;
			break;
		}
		stream.next_out = (Bytef *)text + used;
		stream.avail_out = (uInt)(capacity - used - 1);
		int status = inflate(&stream, Z_NO_FLUSH);
		used = capacity - 1 - stream.avail_out;
		if (status == Z_STREAM_END) {
			if (stream.avail_in == 0)
				break;
			/* Another member follows. */
			if (inflateReset(&stream) != Z_OK) {
				result = -EINVAL;
				break;
			}
		} else if (status != Z_OK && status != Z_BUF_ERROR) {
			result = status == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
			break;
		} else if (status == Z_BUF_ERROR && stream.avail_in == 0) {
			result = -EINVAL; /* truncated */
			break;
		}
	}
	inflateEnd(&stream);
	if (result < 0) {
		free(text);
		return result;
	}
	text[used] = '\0';
	*out = text;
	*out_size = used;
	return 0;
}
