/*
 * view_path.h - the path grammar of the mount.
 *
 * The mount shows Socorro's filesystem layout whatever the store behind it:
 *
 *   /                                   days (YYYYMMDD)
 *   /<day>                              the name branch ("name")
 *   /<day>/name/r1/.../rk               radix directories
 *   radix view:  /<day>/name/r1/.../rN/<id>/<id>.json ...   one dir per crash
 *   legacy view: /<day>/name/r1/.../rN/<id>.json ...        shared leaf
 *   /.crashfs                           control directory (not listed)
 *   /.crashfs/by-id/<id>/<id>.json ...  any crash by id (lookup only)
 *   /.crashfs/stats                     JSON counters
 *
 * view_path_parse() turns a path into a struct view_path saying what the
 * path names and checks that it is consistent: a crash directory or part
 * file must sit under its id's day and radix path (depth digit 0 means 4
 * levels, crash_id.h).
 *
 * One spelling per part: a part file name must be the one the view lists
 * (crash_part.h).  The aliases a store would read as the main dump,
 * "<id>..dump" (Socorro's dated stores wrote a dump named "" so) and
 * "<id>.<main_dump_name>.dump", are refused, so writing one can never
 * silently replace "<id>.dump".
 *
 * Temporary names: ".<part file name>.<tag>" inside the directory that
 * holds that part (rsync's ".<name>.XXXXXX", an editor's ".<name>.swp"),
 * where <tag> is 1 to VIEW_TEMPORARY_TAG_MAX characters of [A-Za-z0-9_.~-].
 * The mount stages them but never stores them under that name; a rename
 * onto a part stores them.  Any other hidden name is invalid, so a file
 * that would never be stored is refused at create instead of vanishing.
 *
 * Anything else is VIEW_INVALID with a reason; a path that is not valid can
 * never name a file outside the store.
 *
 * Pure functions over caller-owned memory; safe from any thread.
 */
#ifndef CRASHFS_FUSEFS_VIEW_PATH_H
#define CRASHFS_FUSEFS_VIEW_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"

/* Radix depth digits go up to 9 (crash_id.h). */
#define VIEW_RADIX_LEVELS_MAX 9
#define VIEW_NAME_MAX 255
#define VIEW_TEMPORARY_TAG_MAX 64

#define VIEW_CONTROL_NAME ".crashfs"
#define VIEW_BY_ID_NAME "by-id"
#define VIEW_STATS_NAME "stats"

enum view_mode {
	VIEW_MODE_RADIX = 1, /* a directory per crash */
	VIEW_MODE_LEGACY,    /* the parts in the shared radix leaf */
};

struct view_config {
	enum view_mode mode;
	const char *name_branch_base; /* "name" */
	struct crash_naming naming;   /* part file suffixes */
	/* The store's name of the main dump (Socorro's dump_field,
	 * "upload_file_minidump"); NULL means CRASH_MAIN_DUMP_NAME. */
	const char *main_dump_name;
};

enum view_kind {
	VIEW_INVALID = 0,
	VIEW_ROOT,
	VIEW_DAY,	  /* /<day> */
	VIEW_NAME_BRANCH, /* /<day>/name: the radix directory of prefix "" */
	VIEW_RADIX_DIR,	  /* /<day>/name/r1/.../rk, 1 <= k <= 9 */
	VIEW_CRASH_DIR,	  /* radix view crash dir, or .crashfs/by-id/<id> */
	VIEW_PART_FILE,	  /* a part of crash_id */
	VIEW_STAGED_NAME, /* a temporary name, staged only */
	VIEW_CONTROL_DIR, /* /.crashfs */
	VIEW_BY_ID_DIR,	  /* /.crashfs/by-id */
	VIEW_STATS_FILE,  /* /.crashfs/stats */
};

/*
 * What a path names.  Which fields are set depends on kind:
 *   DAY, NAME_BRANCH, RADIX_DIR: day, prefix, radix_level
 *   CRASH_DIR: crash_id (and day/prefix/radix_level unless by_id)
 *   PART_FILE: crash_id, part (and day/prefix/radix_level unless by_id)
 *   STAGED_NAME: name, crash_id and part (the part it is a temporary of),
 *                and day/prefix/radix_level unless by_id
 * name is always the last component ("" for the root).
 *
 * part.dump_name points into dump_name: copy with view_path_copy(), never
 * with plain assignment.
 */
struct view_path {
	enum view_kind kind;
	bool by_id; /* under /.crashfs/by-id */
	char day[CRASH_DAY_LENGTH + 1];
	char prefix[2 * VIEW_RADIX_LEVELS_MAX + 1]; /* "936c" for name/93/6c */
	int radix_level;			    /* components in prefix */
	char crash_id[CRASH_ID_LENGTH + 1];
	struct crash_part part;
	char dump_name[CRASH_DUMP_NAME_MAX + 1];
	char name[VIEW_NAME_MAX + 1];
	const char *reason; /* VIEW_INVALID: why, for the log line */
};

/* Parses an absolute path ("/" separated, no trailing slash, as libfuse
 * hands them).  Returns 0, or -ENOENT with out->kind VIEW_INVALID and
 * out->reason set, or -ENAMETOOLONG. */
int view_path_parse(const struct view_config *config, const char *path,
		    struct view_path *out);

void view_path_copy(struct view_path *dst, const struct view_path *src);

/* True for the kinds that are directories. */
bool view_kind_is_dir(enum view_kind kind);
const char *view_kind_name(enum view_kind kind);

/* True if component may be the radix directory at level (0-based) of some
 * crash id: two characters of the id's alphabet at that position. */
bool view_radix_component_is_valid(int level, const char *component);

/* The directory holding crash_id's parts in this view: the crash dir
 * (radix view) or the shared leaf (legacy view); with by_id, the
 * .crashfs/by-id/<id> directory.  Returns the length or a negative errno. */
int view_crash_dir_path(const struct view_config *config, const char *crash_id,
			bool by_id, char *out, size_t out_size);

/* The path of a part file of crash_id in this view (see above). */
int view_part_path(const struct view_config *config, const char *crash_id,
		   const struct crash_part *part, bool by_id, char *out,
		   size_t out_size);

/* The path of the radix directory day/name/<prefix> ("" = the name
 * branch). */
int view_radix_dir_path(const struct view_config *config, const char *day,
			const char *prefix, char *out, size_t out_size);

#endif
