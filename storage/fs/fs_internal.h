/*
 * fs_internal.h - what the files of storage/fs/ share; not for other
 * modules (they use fs_store.h).
 *
 *   fs_store.c   options, open/close, the ops table, describe
 *   fs_paths.c   path derivation for each layout (fs_paths.h)
 *   fs_common.c  the clock, errors, part names, mkdir -p, finding a crash
 *                and a part: the leaf the others share
 *   fs_read.c    stat, open and list operations
 *   fs_write.c   atomic file writes, the save operations, set_part_mtime
 *   fs_queue.c   the date branch: enqueue, dequeue, new_crashes, ack
 *   fs_remove.c  remove, remove_part, remove_radix_dir
 *
 * Calls go one way: store -> read, write, queue, remove -> common ->
 * paths; write and remove also use queue (enqueue, dequeue), and nothing
 * calls back up.
 *
 * A struct fs_store is immutable after fs_store_open but for its scratch
 * directory (made at the first write, under scratch_lock), so every
 * function here may run in any number of threads at once; what they share
 * is the directory tree, and they rely on the filesystem for atomicity
 * (mkdir EEXIST, rename over a file, symlink EEXIST).
 */
#ifndef CRASHFS_STORAGE_FS_FS_INTERNAL_H
#define CRASHFS_STORAGE_FS_FS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "storage/crash_listing.h"
#include "storage/crash_part.h"
#include "storage/crash_store.h"
#include "storage/fs/fs_store.h"
#include "storage/scratch_dir.h"

struct fs_crash_paths; /* fs_paths.h */

struct fs_store {
	struct crash_store base;
	/* Copied options; its strings point into the allocations below. */
	struct fs_store_options options;
	char *root;              /* absolute, no trailing slash */
	char *name_branch_base;
	char *date_branch_base;
	char *dump_field;
	char *json_file_suffix;
	char *jsonz_file_suffix;
	char *dump_file_suffix;
	struct crash_naming naming;
	bool legacy;             /* parts share the radix leaf */
	bool dated;              /* the layout keeps a date branch (a queue) */
	mode_t file_mode;        /* 0666 & ~umask */
	mode_t dir_mode;         /* 0777 & ~umask */
	/* Where files are written before they are renamed into place:
	 * <root>/.crashfs-tmp/<pid>.<n> (storage/scratch_dir.h), so what a
	 * killed daemon was writing is swept by the next one instead of
	 * staying in a crash directory.  Made at the first write. */
	pthread_mutex_t scratch_lock;
	struct scratch_dir *scratch; /* NULL: not made (yet) */
	bool scratch_failed;         /* could not be made: temporaries go
					next to their target */
	unsigned scratch_instance;
};

/* The scratch root under the store root. */
#define FS_SCRATCH_DIR_NAME ".crashfs-tmp"

static inline struct fs_store *fs_store_of(struct crash_store *store)
{
	return crash_store_downcast(store, &fs_store_ops);
}

/* -- fs_common.c -------------------------------------------------------- */

/* The store's clock (options.now or the real time). */
void fs_store_now(const struct fs_store *fs, struct timespec *now);

/*
 * A part as the store names it: the dump named by dump_field or "" (or
 * NULL) becomes the main dump (dump_name NULL).  -EINVAL, with a message,
 * for an invalid part type or dump name.
 */
int fs_part_normalize(const struct fs_store *fs, struct crash_call *call,
		      const struct crash_part *part, struct crash_part *out);

/* Records errno_value (positive) as the call's error, naming what failed
 * and the path; returns its negative. */
int fs_error(struct crash_call *call, int errno_value, const char *what,
	     const char *path);

/* mkdir -p with the store's directory mode. */
int fs_mkdir_p(const struct fs_store *fs, struct crash_call *call,
	       const char *path);

/* 1 if name in dir_fd is a regular file (following links), 0 if not;
 * st (may be NULL) gets its stat. */
int fs_regular_file_at(int dir_fd, const char *name, struct stat *st);

/* Parses a file name as a part of crash_id that this store serves (not
 * the dump_field spelling of the main dump); *alternate_spelling tells
 * whether it is "<id>..dump". */
bool fs_parse_own_part(const struct fs_store *fs, const char *crash_id,
		       const char *file_name, struct crash_part *part,
		       char *name_buf, size_t name_buf_size,
		       bool *alternate_spelling);

/*
 * Finds the stored file of a (normalized) part: writes its path and, if
 * st is not NULL, its stat.  The main dump is <id>.dump, or Socorro's dated
 * spelling <id>..dump when only that one exists.  -ENOENT (message set)
 * when the part is not stored.
 */
int fs_part_locate(const struct fs_store *fs, struct crash_call *call,
		   const char *crash_id, const struct crash_part *part,
		   char *path, size_t path_size, struct stat *st);

/*
 * Whether the crash is here: its directory exists (radix, dated: an empty
 * crash directory is still listed, so it is still a crash), or any of its
 * part files is in the shared leaf (legacy layouts).  1 if here, 0 if not,
 * or a negative errno (message set).
 */
int fs_crash_is_here(const struct fs_store *fs, struct crash_call *call,
		     const char *crash_id, const struct fs_crash_paths *paths);

/* The one "find the crash" step of every operation on a whole crash: its
 * paths, and 0 if it is here, -ENOENT ("crash X is not here") if not, or
 * another negative errno. */
int fs_find_crash(const struct fs_store *fs, struct crash_call *call,
		  const char *crash_id, struct fs_crash_paths *paths);

/* The scratch directory, made at the first call; -ENOENT if it cannot be
 * made (logged once). */
int fs_scratch_dir(const struct fs_store *fs, struct scratch_dir **out);

/* -- fs_write.c --------------------------------------------------------- */

int fs_save_raw_crash(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_blob *raw_crash,
		      const struct crash_dump *dumps, size_t dump_count);
int fs_save_dump(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_dump *dump);
int fs_save_processed(struct crash_store *store, struct crash_call *call,
		      const char *crash_id,
		      const struct crash_blob *processed);
int fs_set_part_mtime(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_part *part,
		      const struct timespec *mtime);
int fs_set_dir_mtime(struct crash_store *store, struct crash_call *call,
		     const char *day, const char *prefix, const char *crash_id,
		     const struct timespec *mtime);

/* -- fs_read.c ---------------------------------------------------------- */

int fs_stat_crash(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, struct crash_dir_stat *stat);
int fs_stat_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat);
int fs_open_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat, int *fd_out);
int fs_list_parts(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, crash_part_emit_fn emit, void *ctx);
int fs_open_days(struct crash_store *store, struct crash_call *call,
		 struct crash_listing **out);
int fs_open_radix(struct crash_store *store, struct crash_call *call,
		  const char *day, const char *prefix,
		  struct crash_listing **out);
int fs_open_radix_parts(struct crash_store *store, struct crash_call *call,
			const char *day, const char *prefix,
			struct crash_listing **out);
int fs_stat_radix_dir(struct crash_store *store, struct crash_call *call,
		      const char *day, const char *prefix,
		      struct crash_dir_stat *stat);

/* -- fs_queue.c --------------------------------------------------------- */

/* Puts a saved crash in the date branch (dated layouts). */
int fs_enqueue(const struct fs_store *fs, struct crash_call *call,
	       const char *crash_id);
/* Takes a crash out of the date branch: unlinks its slot link (if still
 * there) and its back link.  *was_queued tells whether a back link was
 * found.  Missing links are not an error. */
int fs_dequeue(const struct fs_store *fs, struct crash_call *call,
	       const char *crash_id, bool *was_queued);

int fs_new_crashes(struct crash_store *store, struct crash_call *call,
		   crash_queue_emit_fn emit, void *ctx);
int fs_ack_crash(struct crash_store *store, struct crash_call *call,
		 const struct crash_queue_entry *entry);

/* -- fs_remove.c -------------------------------------------------------- */

int fs_remove(struct crash_store *store, struct crash_call *call,
	      const char *crash_id);
int fs_remove_part(struct crash_store *store, struct crash_call *call,
		   const char *crash_id, const struct crash_part *part);
int fs_remove_radix_dir(struct crash_store *store, struct crash_call *call,
			const char *day, const char *prefix);

#endif
