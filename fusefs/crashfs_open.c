/*
 * crashfs_open.c - open and create: a reader gets the stored part (or the
 * staged bytes of a part not stored yet), a writer a staged file (spool.h,
 * staging.h) that crashfs_commit.c stores at its close.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusefs/crashfs_internal.h"
#include "storage/crash_log.h"

/* Opens a staged file for a handle (file->lock not held).  claimed: the
 * caller staged the file and counted this open in open_count already, so
 * that no other writer took it for an idle one meanwhile. */
static int open_staged(struct crashfs *fs, struct staged_file *file,
		       struct fuse_file_info *fi, const char *path,
		       bool claimed)
{
	struct handle *handle;
	bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	int result = crashfs_new_handle(HANDLE_STAGED, &handle);
	pthread_mutex_lock(&file->lock);
	if (claimed)
		file->open_count--; /* counted again below */
	if (result < 0) {
		pthread_mutex_unlock(&file->lock);
		staging_put(file);
		return result;
	}
	if (file->unlinked) {
		/* Its last handle closed (or it was unlinked) between our
		 * lookup and now: look again. */
		result = -EAGAIN;
	} else if (!claimed && fi->flags & O_TRUNC &&
		   (file->open_count > 0 || file->committing)) {
		/* Reusing an idle file (open_new_version), but another
		 * writer took it meanwhile: look again, for a version of
		 * our own. */
		result = -EAGAIN;
	} else {
		if (fi->flags & O_TRUNC && file->size > 0)
			result = staged_file_truncate(file, 0);
		if (result == 0)
			file->open_count++;
	}
	pthread_mutex_unlock(&file->lock);
	if (result < 0) {
		crashfs_free_handle(fs, handle);
		staging_put(file);
		return result == -EAGAIN
			       ? result
			       : crashfs_report(fs, result, "open", path,
						"cannot truncate");
	}
	handle->staged = file; /* the reference passes to the handle */
	handle->writable = writable;
	fi->fh = (uintptr_t)handle;
	/* Staged bytes never enter the page cache: the inode is shared with
	 * readers of the stored version, which must not see a version half
	 * written (nor an i_size that belongs to it). */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	COUNT(fs, opens);
	return 0;
}

/* A new staged version of a stored part: its bytes (the first keep
 * of them; keep < 0: all), its mtime.  Returns the file with a reference. */
int crashfs_stage_stored_part(struct crashfs *fs, const char *path,
			     const struct view_path *view, off_t keep,
			     struct staged_file **out)
{
	struct crash_call call;
	struct crash_part_stat part_stat;
	int fd = -1;

	crashfs_call_begin(&call);
	int result = crash_store_open_part(fs->store, &call, view->crash_id,
					   &view->part, &part_stat, &fd);
	if (result < 0)
		return result == -ENOENT
			       ? -ENOENT
			       : crashfs_report_store(fs, result, "open", path,
						      &call);
	struct staged_file *file;
	result = staging_new_file(fs->staging, path, view,
				  part_stat.mode ? part_stat.mode : 0644, &file);
	if (result < 0) {
		close(fd);
		return crashfs_report(fs, result, "stage", path,
				      "cannot make a spool file");
	}
	/* Loaded before it is in the table: nobody sees it half copied. */
	result = staged_file_load(file, fd, part_stat.size,
				  keep < 0 ? part_stat.size : keep);
	close(fd);
	file->stored = true;
	if (keep < 0 || keep == part_stat.size)
		file->mtime = part_stat.mtime; /* unchanged bytes */
	else
		file->dirty = true;
	if (result < 0) {
		staging_put(file);
		return crashfs_report(
			fs, result, "stage", path,
			"cannot copy the stored part into the spool");
	}
	result = staging_insert(fs->staging, file, false);
	if (result == -EEXIST) {
		/* Staged by another request meanwhile: use that one. */
		staging_put(file);
		file = staging_find(fs->staging, path);
		if (!file)
			return crashfs_report(fs, -EAGAIN, "stage", path,
					      "staged and dropped meanwhile");
		result = 0;
		pthread_mutex_lock(&file->lock);
		if (keep >= 0 && keep != file->size)
			result = staged_file_truncate(file, keep);
		pthread_mutex_unlock(&file->lock);
		if (result < 0) {
			staging_put(file);
			return crashfs_report(fs, result, "stage", path,
					      "spool file");
		}
	} else if (result < 0) {
		staging_put(file);
		return crashfs_report(fs, result, "stage", path,
				      "cannot stage the file");
	}
	*out = file;
	return 0;
}

static int open_stats(struct crashfs *fs, struct fuse_file_info *fi)
{
	struct handle *handle;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	int result = crashfs_new_handle(HANDLE_STATS, &handle);
	if (result < 0)
		return result;
	handle->text = crashfs_stats_text(fs);
	if (!handle->text) {
		crashfs_free_handle(fs, handle);
		return -ENOMEM;
	}
	handle->length = strlen(handle->text);
	/* One snapshot per open, read with direct_io: the size is not
	 * known to the kernel in advance. */
	fi->fh = (uintptr_t)handle;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

/* Opens a stored part for reading.  direct_io: a new version is being
 * written through the same inode, so its page cache and size are not the
 * stored version's. */
static int open_stored(struct crashfs *fs, const char *path,
		       const struct view_path *view, bool direct_io,
		       struct fuse_file_info *fi)
{
	struct handle *handle;
	struct crash_call call;
	int result = crashfs_new_handle(HANDLE_STORED, &handle);
	if (result < 0)
		return result;
	crashfs_call_begin(&call);
	result = crash_store_open_part(fs->store, &call, view->crash_id,
				       &view->part, &handle->stat, &handle->fd);
	if (result < 0) {
		crashfs_free_handle(fs, handle);
		return result == -ENOENT
			       ? -ENOENT
			       : crashfs_report_store(fs, result, "open", path,
						      &call);
	}
	view_path_copy(&handle->view, view);
	fi->fh = (uintptr_t)handle;
	fi->direct_io = direct_io;
	/* Stored parts are immutable: keep their pages across opens; the
	 * mount invalidates them when it replaces one. */
	fi->keep_cache = !direct_io && fs->settings.keep_cache;
	fi->noflush = 1;
	COUNT(fs, opens);
	return 0;
}

/* A writer that truncates gets a version of its own (see
 * staging_insert), unless the staged file at path is idle (a
 * temporary file awaiting its rename, not open, no commit in flight): that
 * one is reused. */
static int open_new_version(struct crashfs *fs, const char *path,
			    const struct view_path *view,
			    struct fuse_file_info *fi, mode_t mode)
{
	struct staged_file *file = staging_find(fs->staging, path);
	bool stored = false;
	int result;

	if (file) {
		pthread_mutex_lock(&file->lock);
		/* Not open, and no commit of it in flight (its last close,
		 * its rename): that commit goes on with its version, this
		 * writer gets one of its own. */
		bool idle = file->open_count == 0 && !file->unlinked &&
			    !file->committing;
		stored = file->stored;
		mode = file->mode;
		pthread_mutex_unlock(&file->lock);
		if (idle)
			return open_staged(fs, file, fi, path, false);
		staging_put(file);
	}
	if (!stored && view->kind == VIEW_PART_FILE) {
		struct crash_call call;
		struct crash_part_stat part_stat;
		crashfs_call_begin(&call);
		result = crash_store_stat_part(fs->store, &call, view->crash_id,
					       &view->part, &part_stat);
		if (result == 0) {
			stored = true;
			if (part_stat.mode & 07777)
				mode = part_stat.mode & 07777;
		} else if (result != -ENOENT && result != -ENOTSUP) {
			return crashfs_report_store(fs, result, "open", path,
						    &call);
		}
	}
	result = staging_new_file(fs->staging, path, view, mode, &file);
	if (result == 0) {
		/* Set up before it is in the table, where another writer
		 * could otherwise take it for an idle file and share it. */
		file->dirty = true; /* an empty version is a version */
		file->stored = stored;
		file->open_count = 1; /* ours: see open_staged */
		result = staging_insert(fs->staging, file, true);
		if (result < 0)
			staging_put(file);
	}
	if (result < 0)
		return crashfs_report(fs, result, "open", path,
				      "cannot stage the file");
	fi->flags &= ~O_TRUNC;
	return open_staged(fs, file, fi, path, true);
}

/* A reader of a path being written: the stored version if there is one
 * (a reader never sees a version half written), else the staged bytes. */
static int open_for_reading(struct crashfs *fs, const char *path,
			    const struct view_path *view,
			    struct fuse_file_info *fi)
{
	struct staged_file *file = staging_find(fs->staging, path);
	if (!file) {
		if (view->kind == VIEW_STAGED_NAME)
			return -ENOENT;
		return open_stored(
			fs, path, view,
			staging_is_hot(fs->staging, path, CRASHFS_HOT_SECONDS),
			fi);
	}
	pthread_mutex_lock(&file->lock);
	bool stored = file->stored && view->kind == VIEW_PART_FILE;
	pthread_mutex_unlock(&file->lock);
	if (!stored)
		return open_staged(fs, file, fi, path, false);
	staging_put(file);
	int result = open_stored(fs, path, view, true, fi);
	/* Removed from the store meanwhile: what is being written is all
	 * there is. */
	return result == -ENOENT ? -EAGAIN : result;
}

/* A writer that keeps the bytes (no O_TRUNC): shares the staged file at
 * path, else stages a copy of the stored part. */
static int open_for_update(struct crashfs *fs, const char *path,
			   const struct view_path *view,
			   struct fuse_file_info *fi)
{
	struct staged_file *file = staging_find(fs->staging, path);
	if (file)
		return open_staged(fs, file, fi, path, false);
	if (view->kind == VIEW_STAGED_NAME)
		return -ENOENT;
	int result = crashfs_stage_stored_part(fs, path, view, -1, &file);
	if (result == -ENOENT) {
		/* The kernel still has the name of a file whose commit
		 * failed (it cached the entry): writing it again makes it
		 * anew, as create() would. */
		return open_new_version(fs, path, view, fi, 0644);
	}
	if (result < 0)
		return result;
	return open_staged(fs, file, fi, path, false);
}

static int open_once(const char *path, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct view_path view;
	bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	bool truncating = (fi->flags & O_TRUNC) != 0;

	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(fs, result, "open", path, &view);
	if (view.kind == VIEW_STATS_FILE)
		return open_stats(fs, fi);
	if (view_kind_is_dir(view.kind))
		return -EISDIR;
	if (view.kind != VIEW_PART_FILE && view.kind != VIEW_STAGED_NAME)
		return -ENOENT;
	if (!writable && !truncating)
		return open_for_reading(fs, path, &view, fi);

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "open", path);
	if (view.kind == VIEW_PART_FILE) {
		int refused = crashfs_check_can_save(fs, "open", path,
						     &view.part);
		if (refused < 0)
			return refused;
	}
	if (truncating) {
		if (view.kind == VIEW_STAGED_NAME) {
			struct staged_file *file =
				staging_find(fs->staging, path);
			if (!file)
				return -ENOENT;
			staging_put(file);
		}
		return open_new_version(fs, path, &view, fi, 0644);
	}
	return open_for_update(fs, path, &view, fi);
}

static int create_once(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct view_path view;
	struct staged_file *file;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "create", path);
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(
			fs, result == -ENOENT ? -EINVAL : result, "create",
			path, &view);
	if (view.kind != VIEW_PART_FILE && view.kind != VIEW_STAGED_NAME)
		return crashfs_report(
			fs, -EINVAL, "create", path,
			"not a part file name (<id>.json, <id>.dump, "
			"<id>.<name>.dump, <id>.jsonz) or a "
			"temporary name of one (.<part>.<tag>)");
	/* A temporary is checked as the part it will be renamed to. */
	result = crashfs_check_can_save(fs, "create", path, &view.part);
	if (result < 0)
		return result;

	/* The kernel creates when it knows no such name; the mount may know
	 * one all the same (a racing writer, a cache that expired). */
	bool exists = false;
	file = staging_find(fs->staging, path);
	if (file) {
		exists = true;
		staging_put(file);
	} else if (view.kind == VIEW_PART_FILE) {
		struct crash_call call;
		struct crash_part_stat part_stat;
		crashfs_call_begin(&call);
		result = crash_store_stat_part(fs->store, &call, view.crash_id,
					       &view.part, &part_stat);
		if (result == 0)
			exists = true;
		else if (result != -ENOENT && result != -ENOTSUP)
			return crashfs_report_store(fs, result, "create", path,
						    &call);
	}
	if (exists) {
		if (fi->flags & O_EXCL)
			return -EEXIST;
		if (fi->flags & O_TRUNC)
			return open_new_version(fs, path, &view, fi,
						mode & 07777);
		return open_for_update(fs, path, &view, fi);
	}
	result = staging_new_file(fs->staging, path, &view, mode, &file);
	if (result == 0) {
		/* Claimed before it is in the table (see open_new_version). */
		file->dirty = true; /* a created file is committed even if empty */
		file->open_count = 1; /* ours: see open_staged */
		result = staging_insert(fs->staging, file, false);
		if (result < 0)
			staging_put(file);
	}
	if (result == -EEXIST)
		return (fi->flags & O_EXCL) ? -EEXIST : -EAGAIN;
	if (result < 0)
		return crashfs_report(fs, result, "create", path,
				      "cannot stage the file");
	fi->flags &= ~O_TRUNC;
	return open_staged(fs, file, fi, path, true);
}

/* -EAGAIN: a staged file went away under the request; a few more tries
 * see the store (or a newer staged file) instead. */
#define OPEN_ATTEMPTS 4

int crashfs_open(const char *path, struct fuse_file_info *fi)
{
	int result = -EAGAIN;
	for (int attempt = 0; attempt < OPEN_ATTEMPTS && result == -EAGAIN;
	     attempt++)
		result = open_once(path, fi);
	return result == -EAGAIN
		       ? crashfs_report(crashfs_get(), -EIO, "open", path,
					"the file keeps changing")
		       : result;
}

int crashfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int result = -EAGAIN;
	for (int attempt = 0; attempt < OPEN_ATTEMPTS && result == -EAGAIN;
	     attempt++)
		result = create_once(path, mode, fi);
	return result == -EAGAIN
		       ? crashfs_report(crashfs_get(), -EIO, "create", path,
					"the file keeps changing")
		       : result;
}
