/*
 * crash_part.h - the file names of a crash's parts, as Socorro spells them.
 *
 *   raw crash       <id><json_suffix>                 <id>.json
 *   main dump       <id><dump_suffix>                 <id>.dump
 *   dump "X"        <id>.X<dump_suffix>               <id>.X.dump
 *   processed       <id><jsonz_suffix>                <id>.jsonz
 *
 * The suffixes are options of the filesystem store (Socorro's
 * json_file_suffix, dump_file_suffix, jsonz_file_suffix); the mount shows
 * the same names as the store it sits on.  Pure functions; thread-safe.
 */
#ifndef CRASHFS_STORAGE_CRASH_PART_H
#define CRASHFS_STORAGE_CRASH_PART_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/crash_store.h"

/* struct crash_naming: the suffixes (crash_store.h). */

/* Socorro's defaults. */
extern const struct crash_naming crash_naming_default;

/* Writes the file name of a part; returns its length, or -ENAMETOOLONG if
 * it does not fit, or -EINVAL for an invalid dump name. */
int crash_part_file_name(const struct crash_naming *naming,
			 const char *crash_id, const struct crash_part *part,
			 char *out, size_t out_size);

/* Parses the file name of a part of crash_id.  A secondary dump's name is
 * copied into name_buf (name_buf_size >= CRASH_DUMP_NAME_MAX + 1) and
 * part->dump_name points to it.  A dump spelled "<id>..dump" (Socorro's
 * dated stores wrote the dump named "" so) is the main dump.  Returns 0, or
 * -EINVAL if file_name is not a part of crash_id. */
int crash_part_parse_file_name(const struct crash_naming *naming,
			       const char *crash_id, const char *file_name,
			       struct crash_part *part, char *name_buf,
			       size_t name_buf_size);

/* Like crash_part_parse_file_name for a file name that starts with any
 * crash id (a legacy shared leaf); the id is copied into crash_id_out. */
int crash_part_parse_any(const struct crash_naming *naming,
			 const char *file_name, char *crash_id_out,
			 struct crash_part *part, char *name_buf,
			 size_t name_buf_size);

/* A dump name that can appear in a file name: 1..CRASH_DUMP_NAME_MAX bytes
 * of [A-Za-z0-9_.-], not starting or ending with '.'. */
#define CRASH_DUMP_NAME_MAX 128
bool crash_dump_name_is_valid(const char *dump_name);

/* Equality of parts (dump names compared as strings, NULL = main). */
bool crash_part_equal(const struct crash_part *a, const struct crash_part *b);

#endif
