/*
 * part_check.h - what a part must be before it is committed.
 *
 * A raw crash (<id>.json) must be a JSON object; a processed crash
 * (<id>.jsonz) must be gzip (one or more members, nothing after them) of a
 * JSON object.  Both are read from the staged file with pread, the gzip
 * stream is inflated in small chunks, and the JSON text may not exceed
 * json_max bytes (else -EFBIG), so memory stays bounded by configuration.
 * The bytes themselves are never rewritten: the store gets the file as
 * written, plus the parsed document for routing.
 *
 * The same checks run over a descriptor (the staged file) or over bytes in
 * memory (the _buffer forms, for tests and the fuzz targets); both share
 * every line but the read.
 *
 * Pure functions over the caller's descriptor or bytes; safe from any
 * thread.
 */
#ifndef CRASHFS_FUSEFS_PART_CHECK_H
#define CRASHFS_FUSEFS_PART_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Returns 0 and a new reference in *json_out, or -EINVAL / -EFBIG / -EIO
 * with a one-line reason in message. */
int part_check_raw_crash(int fd, off_t size, uint64_t json_max,
			 json_t **json_out, char *message, size_t message_size);
int part_check_processed(int fd, off_t size, uint64_t json_max,
			 json_t **json_out, char *message, size_t message_size);

/* The same over size bytes in memory. */
int part_check_raw_crash_buffer(const void *bytes, size_t size,
				uint64_t json_max, json_t **json_out,
				char *message, size_t message_size);
int part_check_processed_buffer(const void *bytes, size_t size,
				uint64_t json_max, json_t **json_out,
				char *message, size_t message_size);

#endif
