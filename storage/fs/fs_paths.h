/*
 * fs_paths.h - where each layout puts a crash (spec/fs-layouts.md §2, §5,
 * §6): the day directory from the crash id's date, the radix directories
 * from its leading characters, the per-crash directory (radix, dated) or
 * the shared leaf (legacy, legacy-dated), and the two relative symlinks of
 * the date branch.
 *
 * Internal to storage/fs/.  Pure functions over an immutable store; every
 * path is absolute (under fs->root).  Functions taking a call record
 * -EINVAL / -ENAMETOOLONG there.
 */
#ifndef CRASHFS_STORAGE_FS_FS_PATHS_H
#define CRASHFS_STORAGE_FS_FS_PATHS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "storage/crash_id.h"
#include "storage/fs/fs_internal.h"

/* Deepest radix path: 9 levels of "xx/". */
#define FS_RADIX_PATH_MAX (3 * 9)
#define FS_RADIX_LEVELS_MAX 9

/* The name of the per-crash back link of the non-legacy dated layout. */
#define FS_DATE_ROOT_NAME "date_root"

struct fs_crash_paths {
	char day[CRASH_DAY_LENGTH + 1];   /* "20120408" */
	int depth;                        /* radix levels */
	char radix[FS_RADIX_PATH_MAX];    /* "93/6c" */
	char leaf[PATH_MAX];              /* <root>/<day>/<name>/<radix> */
	char parent[PATH_MAX];            /* where the part files are */
	char back_link[PATH_MAX];         /* <parent>/date_root or <leaf>/<id> */
};

/* A slot of the date branch: <day>/<date>/<hour>/<minute_slot>. */
struct fs_slot {
	char hour[3];          /* "10" */
	char minute_slot[6];   /* "52_10": minute, second / interval */
};

/* snprintf into out: 0, or -ENAMETOOLONG (message set) if it does not
 * fit.  The fs_paths_* functions return 0 or a negative errno too. */
int fs_path_format(struct crash_call *call, char *out, size_t out_size,
		   const char *format, ...)
	__attribute__((format(printf, 4, 5)));

/* The paths of a crash; -EINVAL (message set) for an invalid crash id. */
int fs_paths_crash(const struct fs_store *fs, struct crash_call *call,
		   const char *crash_id, struct fs_crash_paths *paths);

/* <parent>/<file name of part>; part must be normalized. */
int fs_paths_part(const struct fs_store *fs, struct crash_call *call,
		  const struct fs_crash_paths *paths, const char *crash_id,
		  const struct crash_part *part, char *out, size_t out_size);

/* <parent>/<id>.<dump_suffix>: the main dump as Socorro's dated stores
 * wrote a dump named "" (<id>..dump). */
int fs_paths_main_dump_alternate(const struct fs_store *fs,
				 struct crash_call *call,
				 const struct fs_crash_paths *paths,
				 const char *crash_id, char *out,
				 size_t out_size);

/* The slot a time falls in, and the UTC day (YYYYMMDD) of that time. */
void fs_slot_of_time(const struct fs_store *fs, const struct timespec *time,
		     struct fs_slot *slot, char day[CRASH_DAY_LENGTH + 1]);

/* <root>/<day>/<date_branch_base>/<hour>/<minute_slot> */
int fs_paths_slot_dir(const struct fs_store *fs, struct crash_call *call,
		      const char *day, const struct fs_slot *slot, char *out,
		      size_t out_size);

/* The back link's target: "../" (depth + 2 levels per-crash, depth + 1
 * legacy) then "<date_branch_base>/<hour>/<minute_slot>". */
int fs_paths_back_link_target(const struct fs_store *fs,
			      struct crash_call *call,
			      const struct fs_crash_paths *paths,
			      const struct fs_slot *slot, char *out,
			      size_t out_size);

/* Reads a back link target written by fs_paths_back_link_target (or by
 * Socorro): 0 and the slot, or -EINVAL if it has another shape. */
int fs_paths_parse_back_link_target(const struct fs_store *fs,
				    const struct fs_crash_paths *paths,
				    const char *target, struct fs_slot *slot);

/* The slot link's target: "../../../<name>/<radix>[/<id>]". */
int fs_paths_slot_link_target(const struct fs_store *fs,
			      struct crash_call *call,
			      const struct fs_crash_paths *paths,
			      const char *crash_id, char *out,
			      size_t out_size);

/* <root>/<day>/<name>[/r1/.../rk] for a prefix "r1...rk"; -EINVAL
 * (message set) for an invalid day or prefix. */
int fs_paths_radix_dir(const struct fs_store *fs, struct crash_call *call,
		       const char *day, const char *prefix, char *out,
		       size_t out_size);

/* True if name (2 characters) can be the radix component at level
 * (0-based) of some valid crash id: hex, or the id's dash at index 8. */
bool fs_radix_component_is_valid(int level, const char *name);

#endif
