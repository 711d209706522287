/*
 * pg_gzip.h - the .jsonz of a processed crash, to and from its JSON text.
 *
 * Socorro's PostgreSQL tables hold a processed crash as JSON text; the
 * mount shows it as gzip (<id>.jsonz).  When crashfs wrote the crash it
 * kept the exact bytes written and serves them; for a crash Socorro (or
 * anyone with SQL) wrote, it serves pg_gzip_deflate() of the text: one
 * gzip member, compression level 9, no name, modification time 0, so the
 * same text always gives the same bytes and a size stat can promise.
 *
 * Pure functions; any thread.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_GZIP_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_GZIP_H

#include <stddef.h>

/* The gzip of size bytes: 0 with *out (malloc) and *out_size, or
 * -ENOMEM / -EIO. */
int pg_gzip_deflate(const void *bytes, size_t size, unsigned char **out,
		    size_t *out_size);

/* The text inside gzip bytes (every member, concatenated), NUL-terminated:
 * 0 with *out (malloc) and *out_size (without the NUL); -EINVAL if it is
 * not gzip, -EFBIG past max_size bytes, -ENOMEM. */
int pg_gzip_inflate(const void *bytes, size_t size, size_t max_size,
		    char **out, size_t *out_size);

#endif
