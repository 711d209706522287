/*
 * crash_id.h - Socorro crash ids ("ooids"), see spec/crash-ids.md.
 *
 * A crash id is 36 characters: a lowercase UUID whose last seven are
 * repurposed as a depth digit and YYMMDD.  crashfs accepts exactly the ids
 * Socorro's own validator accepts (lowercase hex, dashes at 8/13/18/23, six
 * decimal digits at the end) and additionally requires what a store needs
 * to place the crash: a decimal depth digit and a real calendar date.
 *
 * Depth follows the 2014 radix-tree stores the layouts come from: digit 0
 * means 4 levels (Socorro's "old hard depth"), 1..9 that many levels; levels
 * past the 4th include the dash at index 8, as in Socorro.
 *
 * Pure functions; safe from any thread.
 */
#ifndef CRASHFS_STORAGE_CRASH_ID_H
#define CRASHFS_STORAGE_CRASH_ID_H

#include <stdbool.h>
#include <stddef.h>

#define CRASH_ID_LENGTH 36
#define CRASH_DAY_LENGTH 8 /* YYYYMMDD */

struct crash_id_info {
	int year, month, day; /* year is 2000 + YY */
	int depth;            /* radix levels, 1..9 */
	char day_name[CRASH_DAY_LENGTH + 1]; /* "YYYYMMDD" */
};

/* Parses and validates; returns 0 or -EINVAL.  info may be NULL. */
int crash_id_parse(const char *crash_id, struct crash_id_info *info);
bool crash_id_is_valid(const char *crash_id);

/* True for a "YYYYMMDD" naming a real date. */
bool crash_day_is_valid(const char *day);

/* The radix components of a valid id: component i (0-based) is
 * crash_id[2i .. 2i+1].  Writes "r1/r2/.../rN" into out (no leading or
 * trailing slash); returns its length or -ENAMETOOLONG. */
int crash_id_radix_path(const char *crash_id, char *out, size_t out_size);

/* Radix depths go up to 9 levels of two characters. */
#define CRASH_RADIX_LEVELS_MAX 9

/* True if component (two characters) may be the radix directory at level
 * (0-based) of some crash id: two characters of the id's alphabet at that
 * position (hex digits, the dash at index 8). */
bool crash_radix_component_is_valid(int level, const char *component);
/* True if prefix may name a radix directory: an even number (up to
 * 2 * CRASH_RADIX_LEVELS_MAX) of a crash id's first characters, each
 * component valid at its level.  "" is the name branch. */
bool crash_radix_prefix_is_valid(const char *prefix);
/* The radix depth of a valid id (1..9), -1 for an invalid one. */
int crash_id_depth(const char *crash_id);

/* Builds a crash id for a date and depth from 29 leading characters (for
 * tests and generators); returns 0 or -EINVAL. */
int crash_id_format(char out[CRASH_ID_LENGTH + 1], const char *head29,
		    int depth_digit, int year, int month, int day);

#endif
