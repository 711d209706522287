/*
 * pg_week.h - Socorro's weekly partitions (spec/backends.md B.2): which
 * week a crash belongs to, and the names of that week's tables.
 *
 * A crash's partition is chosen from its crash id's date, never from a
 * timestamp inside it: the Monday on or before the id's date (Monday
 * 2012-04-02 for an id ending 120408, a Sunday), written YYYYMMDD and
 * appended to the master table's name ("raw_crashes_20120402").  Those
 * suffixes are the only text crashfs ever builds into SQL, and they are
 * made here from a validated id or a checked catalog name, never copied
 * from input.
 *
 * Dates are proleptic Gregorian days counted from 1970-01-01, so no time
 * zone or C library clock is involved.  Pure functions; any thread.
 */
#ifndef CRASHFS_STORAGE_POSTGRESQL_PG_WEEK_H
#define CRASHFS_STORAGE_POSTGRESQL_PG_WEEK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PG_WEEK_SUFFIX_LENGTH 8 /* YYYYMMDD */
/* Room for a table or index name built from a week: PostgreSQL keeps 63
 * bytes of a name (NAMEDATALEN - 1), and ours stay below it. */
#define PG_NAME_MAX 64

#define PG_MICROSECONDS_PER_DAY INT64_C(86400000000)

struct pg_week {
	int year, month, day; /* its Monday */
	int64_t first_day;    /* that Monday, in days since 1970-01-01 */
	char suffix[PG_WEEK_SUFFIX_LENGTH + 1];
};

/* Days since 1970-01-01 of a date (month 1-12), and back. */
int64_t pg_days_from_civil(int year, int month, int day);
void pg_civil_from_days(int64_t days, int *year, int *month, int *day);

/* The week holding the given day (days since 1970-01-01). */
void pg_week_of_days(int64_t days, struct pg_week *out);
/* The week of a crash id's date; -EINVAL for an invalid id. */
int pg_week_of_crash_id(const char *crash_id, struct pg_week *out);
/* The week of a day named "YYYYMMDD"; -EINVAL if it is not a date. */
int pg_week_of_day_name(const char *day, struct pg_week *out);
/* A week from its suffix; -EINVAL unless it names a Monday. */
int pg_week_parse_suffix(const char *suffix, struct pg_week *out);
/* The week of a time (UTC). */
void pg_week_of_time(time_t when, struct pg_week *out);
/* The week `weeks` weeks after (or before, when negative) week. */
void pg_week_add(const struct pg_week *week, int weeks, struct pg_week *out);

/* The week's bounds as microseconds since the epoch (UTC): its Monday at
 * 00:00 and the next Monday at 00:00, both inside the partition's CHECK
 * range (Socorro's BETWEEN is inclusive at both ends). */
int64_t pg_week_start_us(const struct pg_week *week);
int64_t pg_week_end_us(const struct pg_week *week);

/* "<prefix><suffix>" into out, e.g. ("raw_crashes_", week) ->
 * "raw_crashes_20120402".  Returns the length or -ENAMETOOLONG. */
int pg_week_name(char *out, size_t size, const char *prefix,
		 const struct pg_week *week);

/* The seven crash id day endings (YYMMDD) of the week that lie in the
 * years crash ids can name (2000-2099); returns how many. */
int pg_week_day_endings(const struct pg_week *week, char endings[7][7]);

#endif
