/*
 * pg_values.h - JSON values of a crash turned into the text of SQL
 * parameters for Socorro's typed columns (spec/backends.md B.4).
 *
 * Socorro bound whatever the processed crash held and let the database
 * fail on a wrong type; crashfs stores the crash all the same and leaves a
 * column it cannot fill NULL, saying why (pg_processed.h collects the
 * reasons into one log line).  The rules, by column type:
 *
 *   text, varchar(n)  a string (every U+0000 dropped: PostgreSQL text
 *                     cannot hold it) or any other value as its compact
 *                     JSON text; cut to n characters (Unicode code points,
 *                     as Socorro's Python slicing); null -> NULL
 *   integer           a JSON integer, an integral real, or a string of
 *                     decimal digits, within 32 bits
 *   boolean           true/false, the integers 0/1, or a string
 *                     true/false/t/f/yes/no/y/n/on/off/1/0 (any case)
 *   timestamptz       a string YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][zone]
 *                     with zone Z, UTC, +HH, +HHMM or +HH:MM; without a
 *                     zone it is UTC (crashfs's sessions run in UTC, the
 *                     zone Socorro's processor wrote them in); digits of a
 *                     fraction past microseconds are dropped
 *
 * A converted value is a new string (free()) or NULL for SQL NULL.  Pure
 * functions; any thread.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_VALUES_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* "YYYY-MM-DD HH:MM:SS.ffffff+00" and its terminating NUL. */
#define PG_TIMESTAMP_TEXT_MAX 32

/* Parses a timestamp as above into microseconds since the epoch (UTC);
 * 0 or -EINVAL. */
int pg_timestamp_parse(const char *text, int64_t *us_out);
/* Formats microseconds since the epoch as PostgreSQL reads them back. */
void pg_timestamp_format(int64_t us, char out[PG_TIMESTAMP_TEXT_MAX]);

/* The number of bytes of the UTF-8 text (length bytes) that hold its
 * first max_chars characters. */
size_t pg_utf8_prefix(const char *text, size_t length, size_t max_chars);

/*
 * Each returns 0 with *out set (NULL for JSON null or a missing value),
 * -EINVAL with *out NULL and *why saying what was wrong ("not an
 * integer"), or -ENOMEM.  value may be NULL (a missing key): *out NULL.
 * max_chars 0 means no limit.
 */
int pg_value_text(const json_t *value, size_t max_chars, char **out,
		  const char **why);
int pg_value_integer(const json_t *value, char **out, const char **why);
int pg_value_boolean(const json_t *value, char **out, const char **why);
/* us_out (may be NULL) gets the instant of a converted value. */
int pg_value_timestamp(const json_t *value, char **out, int64_t *us_out,
		       const char **why);

/* A PostgreSQL array literal of count strings ("{\"a\",NULL}"), each
 * quoted and escaped; NULL elements are SQL NULL.  NULL if out of
 * memory. */
char *pg_array_literal(char *const *elements, size_t count);

#endif
