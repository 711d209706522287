/*
 * contract_data.c - crash ids, days and the bytes of parts.
 *
 * Raw and processed crashes are real JSON objects (the processed one
 * gzipped), as a server store that parses them needs; dumps are a
 * pseudo-random stream generated in chunks, so a part of any size is
 * written and compared without being held in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "storage/crash_id.h"
#include "tests/contract/contract.h"

#define CHUNK_SIZE (64 * 1024)

/* -- days and ids ---------------------------------------------------------- */

void contract_day_set(struct contract_day *day, int year, int month, int mday)
{
	day->year = year;
	day->month = month;
	day->day = mday;
	snprintf(day->name, sizeof day->name, "%04d%02d%02d", year, month,
		 mday);
}

void contract_crash_id(const struct contract_test *t,
		       char out[CRASH_ID_LENGTH + 1], unsigned head,
		       unsigned group, uint64_t index, int depth_digit,
		       const struct contract_day *day)
{
	char head29[32];
	uint32_t nonce = t->run->nonce;
	snprintf(head29, sizeof head29, "%04x%02x%02x-%04x-%04x-%04x-%05x",
		 (unsigned)(nonce & 0xffff), t->tag & 0xff, head & 0xff,
		 (unsigned)((nonce >> 16) & 0xffff), group & 0xffff,
		 (unsigned)((index >> 20) & 0xffff),
		 (unsigned)(index & 0xfffff));
	if (crash_id_format(out, head29, depth_digit, day->year, day->month,
			    day->day) < 0) {
		/* Only a bug of the suite gets here. */
		fprintf(stderr, "contract_suite: cannot make a crash id from "
				"%s\n",
			head29);
		abort();
	}
}

void contract_case_prefix(const struct contract_test *t, char out[7])
{
	snprintf(out, 7, "%04x%02x", (unsigned)(t->run->nonce & 0xffff),
		 t->tag & 0xff);
}

void contract_head_prefix(const struct contract_test *t, unsigned head,
			  char out[9])
{
	snprintf(out, 9, "%04x%02x%02x", (unsigned)(t->run->nonce & 0xffff),
		 t->tag & 0xff, head & 0xff);
}

void contract_unused_prefix(const struct contract_test *t, char out[7])
{
	snprintf(out, 7, "%04xff", (unsigned)(t->run->nonce & 0xffff));
}

struct timespec contract_mtime(unsigned n)
{
	struct timespec mtime = {
		.tv_sec = 1413900000 + (time_t)n * 1009,
		.tv_nsec = (long)((123456789u + n * 1000003u) % 1000000000u),
	};
	return mtime;
}

/* -- blobs ------------------------------------------------------------------ */

static void blob_reset(struct contract_blob *blob)
{
	memset(blob, 0, sizeof *blob);
	blob->fd = -1;
}

static int write_all(int fd, const void *bytes, size_t size)
{
	const char *next = bytes;
	while (size > 0) {
		ssize_t written = write(fd, next, size);
		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0)
			return -errno;
		next += written;
		size -= (size_t)written;
	}
	return 0;
}

static int new_memfd(void)
{
	int fd = memfd_create("contract-part", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A file holding text; left positioned at its end. */
static int blob_from_bytes(struct contract_blob *blob, const void *bytes,
			   size_t size, const struct timespec *mtime)
{
	int fd = new_memfd();
	if (fd < 0)
		return fd;
	int result = write_all(fd, bytes, size);
	if (result < 0) {
		close(fd);
		return result;
	}
	blob->fd = fd;
	blob->size = (off_t)size;
	blob->mtime = *mtime;
	return 0;
}

/* The crash id's day, as a timestamp ("2014-10-21T10:52:42+00:00"). */
static void id_timestamp(const char *crash_id, char *out, size_t size,
			 const char *time_of_day)
{
	struct crash_id_info info;
	if (crash_id_parse(crash_id, &info) < 0)
		memset(&info, 0, sizeof info);
	snprintf(out, size, "%04d-%02d-%02dT%s+00:00", info.year, info.month,
		 info.day, time_of_day);
}

int contract_blob_raw_crash(struct contract_blob *blob, const char *crash_id,
			    unsigned serial, const struct timespec *mtime)
{
	char submitted[40];
	blob_reset(blob);
	id_timestamp(crash_id, submitted, sizeof submitted, "10:52:42");
	json_t *document = json_pack(
		"{s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "uuid", crash_id,
		"ProductName", "ContractTest", "Version", "1.0",
		"submitted_timestamp", submitted, "legacy_processing", 0,
		"serial", (int)serial, "note",
		"written by tests/contract, safe to delete");
	if (!document)
		return -ENOMEM;
	char *text = json_dumps(document, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		json_decref(document);
		return -ENOMEM;
	}
	int result = blob_from_bytes(blob, text, strlen(text), mtime);
	free(text);
	if (result < 0) {
		json_decref(document);
		return result;
	}
	blob->json = document;
	return 0;
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Letters a gzip cannot squeeze much: the processed crash gets big. */
static char *padding_text(uint64_t seed, size_t size)
{
	static const char letters[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *text = malloc(size + 1);
	if (!text)
		return NULL;
	uint64_t state = seed, bits = 0;
	for (size_t i = 0; i < size; i++) {
		if (i % 10 == 0)
			bits = splitmix64(&state);
		text[i] = letters[bits & 63];
		bits >>= 6;
	}
	text[size] = '\0';
	return text;
}

/* gzip (RFC 1952) of text into a new file. */
static int gzip_into(int fd, const char *text, size_t size)
{
	z_stream stream;
	unsigned char out[CHUNK_SIZE];
	memset(&stream, 0, sizeof stream);
	if (deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	stream.next_in = (unsigned char *)text;
	stream.avail_in = (uInt)size;
	int result = 0, status;
	do {
		stream.next_out = out;
		stream.avail_out = sizeof out;
		status = deflate(&stream, Z_FINISH);
		if (status == Z_STREAM_ERROR) {
			result = -EIO;
			break;
		}
		result = write_all(fd, out, sizeof out - stream.avail_out);
	} while (result == 0 && status != Z_STREAM_END);
	deflateEnd(&stream);
	return result;
}

int contract_blob_processed(struct contract_blob *blob, const char *crash_id,
			    unsigned serial, size_t padding,
			    const struct timespec *mtime)
{
	char processed_at[40];
	blob_reset(blob);
	id_timestamp(crash_id, processed_at, sizeof processed_at,
		     "10:53:00.000000");
	char *pad = padding_text((uint64_t)serial * 7919u + padding, padding);
	if (!pad)
		return -ENOMEM;
	json_t *document = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "uuid", crash_id,
		"signature", "contract_suite::signature", "product",
		"ContractTest", "version", "1.0", "date_processed",
		processed_at, "completeddatetime", processed_at, "serial",
		(int)serial, "padding", pad);
	free(pad);
	if (!document)
		return -ENOMEM;
	char *text = json_dumps(document, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		json_decref(document);
		return -ENOMEM;
	}
	int fd = new_memfd();
	int result = fd < 0 ? fd : gzip_into(fd, text, strlen(text));
	free(text);
	struct stat st;
	if (result == 0 && fstat(fd, &st) < 0)
		result = -errno;
	if (result < 0) {
		if (fd >= 0)
			close(fd);
		json_decref(document);
		return result;
	}
	blob->fd = fd;
	blob->size = st.st_size;
	blob->mtime = *mtime;
	blob->json = document;
	return 0;
}

/* size pseudo-random bytes into fd, in chunks. */
static int write_stream(int fd, uint64_t seed, off_t size)
{
	unsigned char *chunk = malloc(CHUNK_SIZE);
	if (!chunk)
		return -ENOMEM;
	uint64_t state = seed;
	int result = 0;
	for (off_t done = 0; result == 0 && done < size;) {
		size_t want = size - done < CHUNK_SIZE ? (size_t)(size - done)
						       : CHUNK_SIZE;
		for (size_t i = 0; i < want; i += 8) {
			uint64_t word = splitmix64(&state);
			size_t n = want - i < 8 ? want - i : 8;
			memcpy(chunk + i, &word, n);
		}
		result = write_all(fd, chunk, want);
		done += (off_t)want;
	}
	free(chunk);
	return result;
}

int contract_blob_bytes(struct contract_blob *blob, uint64_t seed, off_t size,
			const struct timespec *mtime)
{
	blob_reset(blob);
	int fd = new_memfd();
	if (fd < 0)
		return fd;
	int result = write_stream(fd, seed, size);
	if (result < 0) {
		close(fd);
		return result;
	}
	blob->fd = fd;
	blob->size = size;
	blob->mtime = *mtime;
	return 0;
}

int contract_blob_adoptable(struct contract_blob *blob, const char *spool_dir,
			    uint64_t seed, off_t size,
			    const struct timespec *mtime)
{
	blob_reset(blob);
	if (asprintf(&blob->path, "%s/blob-XXXXXX", spool_dir) < 0) {
		blob->path = NULL;
		return -ENOMEM;
	}
	int fd = mkostemp(blob->path, O_CLOEXEC);
	if (fd < 0) {
		int error = errno;
		free(blob->path);
		blob->path = NULL;
		return -error;
	}
	int result = write_stream(fd, seed, size);
	if (result < 0) {
		close(fd);
		unlink(blob->path);
		free(blob->path);
		blob->path = NULL;
		return result;
	}
	blob->fd = fd;
	blob->size = size;
	blob->mtime = *mtime;
	return 0;
}

void contract_blob_close(struct contract_blob *blob)
{
	if (blob->fd >= 0)
		close(blob->fd);
	if (blob->path) {
		unlink(blob->path);
		free(blob->path);
	}
	json_decref(blob->json);
	blob_reset(blob);
}

struct crash_blob contract_blob_view(const struct contract_blob *blob)
{
	struct crash_blob view = {
		.fd = blob->fd,
		.size = blob->size,
		.mtime = blob->mtime,
		.path = blob->path,
		.adoptable = blob->path != NULL,
		.json = blob->json,
	};
	return view;
}

static ssize_t pread_full(int fd, unsigned char *buffer, size_t size,
			  off_t offset)
{
	size_t done = 0;
	while (done < size) {
		ssize_t got = pread(fd, buffer + done, size - done,
				    offset + (off_t)done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		done += (size_t)got;
	}
	return (ssize_t)done;
}

bool contract_blob_matches(const struct contract_blob *blob, int fd, char *why,
			   size_t why_size)
{
	unsigned char *expected = malloc(CHUNK_SIZE);
	unsigned char *actual = malloc(CHUNK_SIZE);
	bool same = expected && actual;
	if (!same)
		snprintf(why, why_size, "out of memory");
	for (off_t offset = 0; same && offset < blob->size;) {
		size_t want = blob->size - offset < CHUNK_SIZE
				      ? (size_t)(blob->size - offset)
				      : CHUNK_SIZE;
		ssize_t want_got = pread_full(blob->fd, expected, want, offset);
		ssize_t got = pread_full(fd, actual, want, offset);
		if (want_got != (ssize_t)want) {
			snprintf(why, why_size,
				 "the suite cannot reread its own bytes");
			same = false;
		} else if (got < 0) {
			snprintf(why, why_size, "read at %lld: %s",
				 (long long)offset, strerror((int)-got));
			same = false;
		} else if (got < (ssize_t)want) {
			snprintf(why, why_size,
				 "ends after %lld of %lld bytes",
				 (long long)(offset + got),
				 (long long)blob->size);
			same = false;
		} else if (memcmp(expected, actual, want) != 0) {
			size_t at = 0;
			while (expected[at] == actual[at])
				at++;
			snprintf(why, why_size,
				 "differs at byte %lld of %lld",
				 (long long)(offset + (off_t)at),
				 (long long)blob->size);
			same = false;
		}
		offset += (off_t)want;
	}
	if (same) {
		unsigned char extra;
		ssize_t got = pread_full(fd, &extra, 1, blob->size);
		if (got != 0) {
			snprintf(why, why_size,
				 got > 0 ? "has more than its %lld bytes"
					 : "cannot be read past %lld bytes",
				 (long long)blob->size);
			same = false;
		}
	}
	free(expected);
	free(actual);
	return same;
}
