/*
 * crashfs_internal.h - what the files of the mount's operations share;
 * nothing outside fusefs/crashfs_*.c includes it.
 *
 *   crashfs_ops.c    handles, error reports, attributes, getattr, cache
 *                    invalidation, init, stats, the operations table
 *   crashfs_dirs.c   readdir, mkdir, rmdir
 *   crashfs_open.c   open, create
 *   crashfs_commit.c committing staged files to the store
 *   crashfs_files.c  read, write, flush, fsync, release, truncate,
 *                    utimens, chmod, chown, unlink, rename, statfs
 *
 * All of it runs on libfuse's worker threads, inside a request:
 * crashfs_get() and fuse_interrupted() are valid there.
 */
#ifndef CRASHFS_FUSEFS_CRASHFS_INTERNAL_H
#define CRASHFS_FUSEFS_CRASHFS_INTERNAL_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fusefs/crashfs.h"

#define COUNT(fs, counter) atomic_fetch_add(&(fs)->counters.counter, 1)
#define COUNT_BYTES(fs, counter, bytes) \
	atomic_fetch_add(&(fs)->counters.counter, (uint_fast64_t)(bytes))

/* What fi->fh points to. */
enum handle_kind {
	HANDLE_STORED = 1, /* a stored part, read-only */
	HANDLE_STAGED,	   /* a staged file */
	HANDLE_STATS,	   /* a snapshot of .crashfs/stats */
	HANDLE_DIR,	   /* a directory: its path (readdir gets none) */
};

struct handle {
	struct handle *prev, *next; /* crashfs.handles */
	enum handle_kind kind;
	bool writable;
	int fd;			     /* STORED */
	struct crash_part_stat stat; /* STORED */
	struct view_path view;	     /* STORED: which part */
	struct staged_file *staged;  /* STAGED */
	char *text;		     /* STATS: the snapshot; DIR: the path */
	size_t length;		     /* STATS */
};

struct crashfs *crashfs_get(void);

/* Handles: registered in crashfs.handles until freed. */
int crashfs_new_handle(enum handle_kind kind, struct handle **out);
void crashfs_free_handle(struct crashfs *fs, struct handle *handle);
struct handle *crashfs_handle_of(struct fuse_file_info *fi);

/* A store call context that gives up with -EINTR when the request is
 * interrupted. */
void crashfs_call_begin(struct crash_call *call);

/* Failures: log one line "operation path: why (strerror)", count it and
 * return code. */
int crashfs_report(struct crashfs *fs, int code, const char *operation,
		   const char *path, const char *format, ...)
	__attribute__((format(printf, 5, 6)));
int crashfs_report_store(struct crashfs *fs, int code, const char *operation,
			 const char *path, const struct crash_call *call);
int crashfs_report_invalid(struct crashfs *fs, int code, const char *operation,
			   const char *path, const struct view_path *view);
int crashfs_refuse_read_only(struct crashfs *fs, const char *operation,
			     const char *path);

/* Attributes of what the view shows. */
void crashfs_fill_dir(struct crashfs *fs, struct stat *st);
void crashfs_fill_file(struct crashfs *fs, struct stat *st,
		       const struct crash_part_stat *part_stat);
void crashfs_fill_stats_file(struct crashfs *fs, struct stat *st);
void crashfs_fill_staged(struct crashfs *fs, struct stat *st,
			 struct staged_file *file);
int crashfs_store_dir_exists(struct crashfs *fs, const struct view_path *view,
			     struct crash_call *call);
int crashfs_dir_exists(struct crashfs *fs, const char *path,
		       const struct view_path *view, struct crash_call *call);
int crashfs_stat_view(struct crashfs *fs, const char *path,
		      const struct view_path *view, struct stat *st);
bool crashfs_store_can_write(struct crashfs *fs);

/* After the mount changed a crash. */
void crashfs_invalidate_part(struct crashfs *fs, const char *crash_id,
			     const struct crash_part *part, const char *path);
void crashfs_invalidate_crash_dir(struct crashfs *fs, const char *crash_id,
				  const char *path);
void crashfs_crash_landed(struct crashfs *fs, const char *crash_id);
void crashfs_keep_parent_visible(struct crashfs *fs, const char *path);

/* crashfs_dirs.c */
int crashfs_opendir(const char *path, struct fuse_file_info *fi);
int crashfs_releasedir(const char *path, struct fuse_file_info *fi);
int crashfs_readdir(const char *path, void *buffer, fuse_fill_dir_t filler,
		    off_t offset, struct fuse_file_info *fi,
		    enum fuse_readdir_flags flags);
int crashfs_mkdir(const char *path, mode_t mode);
int crashfs_rmdir(const char *path);

/* crashfs_open.c */
int crashfs_open(const char *path, struct fuse_file_info *fi);
int crashfs_create(const char *path, mode_t mode, struct fuse_file_info *fi);
/* A new staged version of a stored part: its first keep bytes (keep < 0:
 * all), its mtime.  Returns the file with a reference; -ENOENT if nothing
 * is stored. */
int crashfs_stage_stored_part(struct crashfs *fs, const char *path,
			      const struct view_path *view, off_t keep,
			      struct staged_file **out);

/* crashfs_commit.c.  All take file->lock held and return with it held,
 * but let go of it while a commit validates and calls the store (the
 * locking rule of staging.h); a commit of the same file in flight is
 * waited for first. */
/* Stores the staged file as the part target names, at path.  adoptable:
 * the store may hard-link the spool file (a write copies it first from
 * then on).  final: the last chance; a JSON part nothing was written to
 * yet is reported invalid rather than kept dirty for writes to come. */
int crashfs_commit(struct crashfs *fs, struct staged_file *file,
		   const struct view_path *target, const char *path,
		   bool adoptable, bool final);
/* A dirty part file, under its own name (flush, fsync). */
int crashfs_commit_if_dirty(struct crashfs *fs, struct staged_file *file,
			    bool adoptable, bool final);
/* By the last user of a file (release, truncate by path): commits a
 * dirty part file unless its last failure was reported, then leaves it to
 * the store (out of the staging table) if nobody opened it meanwhile. */
int crashfs_commit_closed(struct crashfs *fs, struct staged_file *file);
/* 0 if the store saves this kind of part; else logs why and returns
 * -ENOTSUP (the store saves other parts) or -EROFS (it saves none). */
int crashfs_check_can_save(struct crashfs *fs, const char *operation,
			   const char *path, const struct crash_part *part);

/* crashfs_files.c */
int crashfs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size,
		     off_t offset, struct fuse_file_info *fi);
int crashfs_write_buf(const char *path, struct fuse_bufvec *buf, off_t offset,
		      struct fuse_file_info *fi);
int crashfs_flush(const char *path, struct fuse_file_info *fi);
int crashfs_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int crashfs_release(const char *path, struct fuse_file_info *fi);
int crashfs_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int crashfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int crashfs_chown(const char *path, uid_t uid, gid_t gid,
		  struct fuse_file_info *fi);
int crashfs_utimens(const char *path, const struct timespec tv[2],
		    struct fuse_file_info *fi);
int crashfs_unlink(const char *path);
int crashfs_rename(const char *from, const char *to, unsigned int flags);
int crashfs_symlink(const char *target, const char *path);
int crashfs_link(const char *from, const char *to);
int crashfs_mknod(const char *path, mode_t mode, dev_t rdev);
int crashfs_statfs(const char *path, struct statvfs *st);

#endif
