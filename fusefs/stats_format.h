/*
 * stats_format.h - .crashfs/stats as JSON text of a stable size.
 *
 * stat(2) of .crashfs/stats must say how many bytes a read returns, and
 * the kernel caches that size for cache_timeout while the counters keep
 * moving.  So the document is written with every value in a field of
 * fixed width: integers right-aligned in 20 columns (any uint64 fits),
 * strings padded after the closing quote to STATS_STRING_WIDTH, reals in
 * 24, booleans in 5, all with JSON's own whitespace.  As long as the set of
 * keys stays the same (it does for the life of a mount), every snapshot has
 * the same length, and any JSON parser reads it unchanged.
 *
 * Pure functions; safe from any thread.
 */
#ifndef CRASHFS_FUSEFS_STATS_FORMAT_H
#define CRASHFS_FUSEFS_STATS_FORMAT_H

#include <jansson.h>

#define STATS_STRING_WIDTH 16

/* The text of document (objects, arrays, numbers, strings, booleans,
 * null), keys sorted, two spaces of indent, ending with a newline;
 * malloc'd, NULL when out of memory. */
char *stats_format(const json_t *document);

#endif
