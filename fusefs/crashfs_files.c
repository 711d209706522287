/*
 * crashfs_files.c - open files of the mount: read, write, flush, fsync,
 * release, truncate, and the attribute and name operations.
 *
 * Writes: create/open-for-write (crashfs_open.c) stage a spool file; the
 * data is committed to the store (crashfs_commit.c) on flush (close) and
 * fsync of a part file, or when a temporary file is renamed onto a part
 * name.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fusefs/crashfs_internal.h"
#include "storage/crash_log.h"

int crashfs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size,
		     off_t offset, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = crashfs_handle_of(fi);
	(void)path;

	if (!handle)
		return -EBADF;
	COUNT(fs, reads);
	if (handle->kind == HANDLE_STORED) {
		struct fuse_bufvec *buffer = malloc(sizeof *buffer);
		if (!buffer)
			return -ENOMEM;
		/* The reply splices straight from the stored file. */
		*buffer = (struct fuse_bufvec)FUSE_BUFVEC_INIT(size);
		buffer->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buffer->buf[0].fd = handle->fd;
		buffer->buf[0].pos = offset;
		off_t available = handle->stat.size - offset;
		if (available > 0)
			COUNT_BYTES(fs, bytes_read,
				    (size_t)available < size ? (size_t)available
							     : size);
		*bufp = buffer;
		return 0;
	}

	/* Staged files and stats are copied: a staged file's descriptor may
	 * change (copy-on-write) before libfuse would read from it. */
	struct fuse_bufvec *buffer = malloc(sizeof *buffer);
	if (!buffer)
		return -ENOMEM;
	*buffer = (struct fuse_bufvec)FUSE_BUFVEC_INIT(0);
	size_t got = 0;
	char *data = NULL;
	if (handle->kind == HANDLE_STATS) {
		if ((size_t)offset < handle->length) {
			got = handle->length - (size_t)offset;
			if (got > size)
				got = size;
			data = malloc(got ? got : 1);
			if (data)
				memcpy(data, handle->text + offset, got);
		} else {
			data = malloc(1);
		}
	} else {
		struct staged_file *file = handle->staged;
		data = malloc(size ? size : 1);
		if (data) {
			pthread_mutex_lock(&file->lock);
			ssize_t n = 0;
			while ((size_t)n < size) {
				ssize_t more =
					pread(file->fd, data + n,
					      size - (size_t)n, offset + n);
				if (more < 0 && errno == EINTR)
					continue;
				if (more <= 0) {
					if (more < 0)
						n = -errno;
					break;
				}
				n += more;
			}
			pthread_mutex_unlock(&file->lock);
			if (n < 0) {
				free(data);
				free(buffer);
				return crashfs_report(fs, (int)n, "read", path,
						      "spool file: %s",
						      strerror((int)-n));
			}
			got = (size_t)n;
		}
	}
	if (!data) {
		free(buffer);
		return -ENOMEM;
	}
	buffer->buf[0].mem = data;
	buffer->buf[0].size = got;
	COUNT_BYTES(fs, bytes_read, got);
	*bufp = buffer;
	return 0;
}

int crashfs_write_buf(const char *path, struct fuse_bufvec *buf, off_t offset,
		      struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = crashfs_handle_of(fi);

	if (!handle || handle->kind != HANDLE_STAGED || !handle->writable)
		return -EBADF;
	struct staged_file *file = handle->staged;
	size_t size = fuse_buf_size(buf);
	struct fuse_bufvec destination = FUSE_BUFVEC_INIT(size);

	pthread_mutex_lock(&file->lock);
	int result = staged_file_prepare_write(file, offset + (off_t)size);
	if (result < 0) {
		file->write_error = result;
		pthread_mutex_unlock(&file->lock);
		return crashfs_report(fs, result, "write",
				      path ? path : file->path,
				      "cannot stage %zu bytes", size);
	}
	destination.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	destination.buf[0].fd = file->fd;
	destination.buf[0].pos = offset;
	ssize_t written =
		fuse_buf_copy(&destination, buf,
			      fs->settings.splice ? FUSE_BUF_SPLICE_NONBLOCK
						  : FUSE_BUF_NO_SPLICE);
	int code = (int)written == -EDQUOT ? -ENOSPC : (int)written;
	if (written >= 0) {
		staged_file_wrote(file, offset + written);
	} else {
		staged_file_write_failed(file);
		file->write_error = code;
	}
	pthread_mutex_unlock(&file->lock);
	if (written < 0) {
		return crashfs_report(fs, code, "write",
				      path ? path : file->path, "spool file");
	}
	COUNT(fs, writes);
	COUNT_BYTES(fs, bytes_written, written);
	return (int)written;
}

int crashfs_flush(const char *path, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = crashfs_handle_of(fi);
	(void)path;

	if (!handle || handle->kind != HANDLE_STAGED || !handle->writable)
		return 0;
	struct staged_file *file = handle->staged;
	pthread_mutex_lock(&file->lock);
	/* close(): no more writes through this descriptor, and any write
	 * through another one copies first, so the store may adopt it. */
	int result = crashfs_commit_if_dirty(fs, file, true, false);
	pthread_mutex_unlock(&file->lock);
	return result;
}

int crashfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = crashfs_handle_of(fi);
	(void)path, (void)datasync;

	if (!handle || handle->kind != HANDLE_STAGED || !handle->writable)
		return 0;
	struct staged_file *file = handle->staged;
	pthread_mutex_lock(&file->lock);
	/* Writes usually go on after fsync: let the store copy. */
	int result = crashfs_commit_if_dirty(fs, file, false, false);
	pthread_mutex_unlock(&file->lock);
	return result;
}

int crashfs_release(const char *path, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = crashfs_handle_of(fi);
	(void)path;

	if (!handle)
		return 0;
	switch (handle->kind) {
	case HANDLE_STORED:
		close(handle->fd);
		break;
	case HANDLE_STATS:
	case HANDLE_DIR:
		break; /* crashfs_free_handle frees the text */
	case HANDLE_STAGED: {
		struct staged_file *file = handle->staged;
		pthread_mutex_lock(&file->lock);
		/* Written after the last close (a mapping, a dup'ed
		 * descriptor): its last chance, logged. */
		if (--file->open_count == 0) {
			staged_file_mark_idle(file);
			crashfs_commit_closed(fs, file);
		}
		pthread_mutex_unlock(&file->lock);
		staging_put(file);
		break;
	}
	}
	crashfs_free_handle(fs, handle);
	return 0;
}

int crashfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = crashfs_handle_of(fi);
	struct view_path view;
	struct staged_file *file;
	int result;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "truncate", path);
	if (handle) {
		if (handle->kind != HANDLE_STAGED || !handle->writable)
			return -EBADF;
		file = handle->staged;
		pthread_mutex_lock(&file->lock);
		result = staged_file_truncate(file, size);
		if (result == 0)
			file->written = true;
		pthread_mutex_unlock(&file->lock);
		return result < 0 ? crashfs_report(fs, result, "truncate", path,
						   "spool file")
				  : 0;
	}
	if (!path)
		return -ENOENT;
	result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(fs, result, "truncate", path,
					      &view);
	if (view_kind_is_dir(view.kind))
		return -EISDIR;
	if (view.kind != VIEW_PART_FILE && view.kind != VIEW_STAGED_NAME)
		return crashfs_report(fs, -EPERM, "truncate", path,
				      "not a crash file");
	file = staging_find(fs->staging, path);
	if (!file) {
		if (view.kind == VIEW_STAGED_NAME)
			return -ENOENT;
		result = crashfs_check_can_save(fs, "truncate", path,
						&view.part);
		if (result < 0)
			return result;
		/* No handle: stage, truncate and commit at once. */
		result = crashfs_stage_stored_part(fs, path, &view, size, &file);
		if (result < 0)
			return result;
	} else {
		pthread_mutex_lock(&file->lock);
		result = staged_file_truncate(file, size);
		pthread_mutex_unlock(&file->lock);
		if (result < 0) {
			staging_put(file);
			return crashfs_report(fs, result, "truncate", path,
					      "spool file");
		}
	}
	pthread_mutex_lock(&file->lock);
	result = 0;
	staged_file_wait_commit(file);
	if (file->open_count == 0) {
		file->dirty = true;
		file->commit_failed = false; /* a new version */
		result = crashfs_commit_closed(fs, file);
	}
	pthread_mutex_unlock(&file->lock);
	staging_put(file);
	return result;
}

/* The staged file of a request, with a reference: its handle's, else the
 * one at path. */
static struct staged_file *staged_of(struct crashfs *fs, const char *path,
				     struct fuse_file_info *fi)
{
	struct handle *handle = crashfs_handle_of(fi);
	if (handle) {
		if (handle->kind != HANDLE_STAGED)
			return NULL;
		staging_hold(handle->staged);
		return handle->staged;
	}
	return path ? staging_find(fs->staging, path) : NULL;
}

/* Accepts an attribute change of a path that exists, ignoring it. */
static int accept_if_exists(struct crashfs *fs, const char *operation,
			    const char *path)
{
	struct view_path view;
	struct stat st;
	if (!path)
		return 0;
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(fs, result, operation, path,
					      &view);
	return crashfs_stat_view(fs, path, &view, &st);
}

int crashfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "chmod", path);
	struct staged_file *file = staged_of(fs, path, fi);
	if (file) {
		/* Kept for the staged file (rsync sets it on its temporary
		 * file); a stored part keeps the store's mode. */
		pthread_mutex_lock(&file->lock);
		file->mode = mode & 07777;
		pthread_mutex_unlock(&file->lock);
		staging_put(file);
		return 0;
	}
	if (crashfs_handle_of(fi))
		return 0;
	return accept_if_exists(fs, "chmod", path);
}

int crashfs_chown(const char *path, uid_t uid, gid_t gid,
		  struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	(void)uid, (void)gid;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "chown", path);
	if (crashfs_handle_of(fi))
		return 0;
	struct staged_file *file = staged_of(fs, path, fi);
	if (file) {
		staging_put(file);
		return 0;
	}
	return accept_if_exists(fs, "chown", path);
}

static bool new_mtime(const struct timespec tv[2], struct timespec *out)
{
	if (!tv) {
		clock_gettime(CLOCK_REALTIME, out);
		return true;
	}
	if (tv[1].tv_nsec == UTIME_OMIT)
		return false;
	if (tv[1].tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, out);
	else
		*out = tv[1];
	return true;
}

static int set_stored_mtime(struct crashfs *fs, const char *path,
			    const char *crash_id, const struct crash_part *part,
			    const struct timespec *mtime)
{
	struct crash_call call;
	crashfs_call_begin(&call);
	int result = crash_store_set_part_mtime(fs->store, &call, crash_id,
						part, mtime);
	if (result < 0)
		return result == -ENOENT
			       ? -ENOENT
			       : crashfs_report_store(fs, result, "utimens",
						      path, &call);
	COUNT(fs, mtime_updates);
	crashfs_invalidate_part(fs, crash_id, part, path);
	return 0;
}

int crashfs_utimens(const char *path, const struct timespec tv[2],
		    struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct timespec mtime;
	struct view_path view;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "utimens", path);
	bool change = new_mtime(tv, &mtime);
	struct staged_file *file = staged_of(fs, path, fi);
	if (file) {
		int result = 0;
		struct view_path stored_view;
		char *stored_path = NULL;
		pthread_mutex_lock(&file->lock);
		if (change) {
			file->mtime = mtime;
			if (file->committing) {
				/* The commit in flight stores the old mtime:
				 * the file stays dirty for the next one. */
				file->generation++;
			} else if (!file->dirty && file->stored &&
				   !file->unlinked &&
				   file->view.kind == VIEW_PART_FILE) {
				/* Already committed (copy2 sets times after
				 * close): the stored part takes the mtime too,
				 * set without the lock (a store call). */
				view_path_copy(&stored_view, &file->view);
				stored_path = strdup(file->path);
				if (!stored_path)
					result = -ENOMEM;
			}
		}
		pthread_mutex_unlock(&file->lock);
		staging_put(file);
		if (stored_path)
			result = set_stored_mtime(fs, stored_path,
						  stored_view.crash_id,
						  &stored_view.part, &mtime);
		free(stored_path);
		return result;
	}
	struct handle *handle = crashfs_handle_of(fi);
	if (handle && handle->kind == HANDLE_STORED)
		return change ? set_stored_mtime(fs, path,
						 handle->view.crash_id,
						 &handle->view.part, &mtime)
			      : 0;
	if (handle || !path)
		return 0;
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(fs, result, "utimens", path,
					      &view);
	if (view.kind == VIEW_PART_FILE) {
		if (!change)
			return 0;
		return set_stored_mtime(fs, path, view.crash_id, &view.part,
					&mtime);
	}
	/* Directories have no times of their own: accepted, ignored. */
	return accept_if_exists(fs, "utimens", path);
}

int crashfs_unlink(const char *path)
{
	struct crashfs *fs = crashfs_get();
	struct view_path view;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "unlink", path);
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(fs, result, "unlink", path,
					      &view);
	if (view_kind_is_dir(view.kind))
		return -EISDIR;
	if (view.kind == VIEW_STATS_FILE)
		return crashfs_report(fs, -EPERM, "unlink", path,
				      "a file of the mount itself");
	if (view.kind != VIEW_PART_FILE && view.kind != VIEW_STAGED_NAME)
		return -ENOENT;

	bool dropped = false;
	struct staged_file *file = staging_find(fs->staging, path);
	if (file) {
		pthread_mutex_lock(&file->lock);
		/* A commit in flight would store it after the removal. */
		staged_file_wait_commit(file);
		staging_drop(file);
		pthread_mutex_unlock(&file->lock);
		staging_put(file);
		dropped = true;
	}
	if (view.kind == VIEW_STAGED_NAME)
		return dropped ? 0 : -ENOENT;

	struct crash_call call;
	crashfs_call_begin(&call);
	result = crash_store_remove_part(fs->store, &call, view.crash_id,
					 &view.part);
	if (result == -ENOENT && dropped)
		result = 0;
	if (result < 0)
		return result == -ENOENT
			       ? -ENOENT
			       : crashfs_report_store(fs, result, "unlink",
						      path, &call);
	COUNT(fs, removes);
	crashfs_invalidate_part(fs, view.crash_id, &view.part, path);
	crashfs_keep_parent_visible(fs, path);
	return 0;
}

/* Does something (staged or stored) exist at the part path? */
static bool part_exists(struct crashfs *fs, const char *path,
			const struct view_path *view)
{
	struct stat st;
	return crashfs_stat_view(fs, path, view, &st) == 0;
}

int crashfs_rename(const char *from, const char *to, unsigned int flags)
{
	struct crashfs *fs = crashfs_get();
	struct view_path from_view, to_view;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "rename", from);
	if (flags & RENAME_EXCHANGE)
		return crashfs_report(fs, -EINVAL, "rename", from,
				      "exchanging files is not supported");
	int result = view_path_parse(&fs->view, from, &from_view);
	if (result < 0)
		return crashfs_report_invalid(fs, result, "rename", from,
					      &from_view);
	result = view_path_parse(&fs->view, to, &to_view);
	if (result < 0)
		return crashfs_report_invalid(
			fs, result == -ENOENT ? -EINVAL : result, "rename", to,
			&to_view);

	struct staged_file *file = staging_find(fs->staging, from);
	if (!file) {
		struct stat st;
		if (crashfs_stat_view(fs, from, &from_view, &st) < 0)
			return -ENOENT;
		return crashfs_report(fs, -EINVAL, "rename", from,
				      "only files being written can be renamed "
				      "(stored crashes are immutable)");
	}
	if (to_view.kind != VIEW_PART_FILE &&
	    to_view.kind != VIEW_STAGED_NAME) {
		staging_put(file);
		return crashfs_report(
			fs, -EINVAL, "rename", to,
			"not a part file name or a temporary name");
	}
	if (to_view.kind == VIEW_PART_FILE) {
		int refused = crashfs_check_can_save(fs, "rename", to,
						     &to_view.part);
		if (refused < 0) {
			staging_put(file);
			return refused;
		}
	}
	if ((flags & RENAME_NOREPLACE) && part_exists(fs, to, &to_view)) {
		staging_put(file);
		return -EEXIST;
	}

	struct staged_file *replaced = NULL;
	pthread_mutex_lock(&file->lock);
	staged_file_wait_commit(file);
	if (file->stored && file->view.kind == VIEW_PART_FILE) {
		result = crashfs_report(
			fs, -EINVAL, "rename", from,
			"a new version of a stored part cannot move");
	} else if (to_view.kind == VIEW_PART_FILE && file->open_count == 0) {
		/* rsync: the temporary file is complete; store it under the
		 * new name now, so the rename returns the commit's error. */
		file->dirty = true;
		result = crashfs_commit(fs, file, &to_view, to, true, true);
		/* Changed while it was committed (a truncate or utimens by
		 * the old name): the new name gets the newer version. */
		while (result == 0 && file->dirty && file->open_count == 0 &&
		       !file->unlinked)
			result = crashfs_commit(fs, file, &to_view, to, true, true);
		if (result == 0) {
			result = staging_move(file, to, &to_view, &replaced);
			/* Opened meanwhile: it stays staged under the new
			 * name, and its last close commits what it writes. */
			if (file->open_count == 0)
				staging_drop(file);
		}
	} else {
		/* Still open (or a temporary name): it moves, and commits
		 * on its last close if it is a part now. */
		result = staging_move(file, to, &to_view, &replaced);
		if (result == 0 && to_view.kind == VIEW_PART_FILE)
			file->dirty = true;
	}
	pthread_mutex_unlock(&file->lock);
	staging_put(file);
	if (replaced) {
		pthread_mutex_lock(&replaced->lock);
		replaced->unlinked = true;
		pthread_mutex_unlock(&replaced->lock);
		staging_put(replaced);
	}
	if (result < 0)
		return result;
	COUNT(fs, renames);
	return 0;
}

static int refuse_link(const char *operation, const char *path)
{
	struct crashfs *fs = crashfs_get();
	return crashfs_report(fs, -EPERM, operation, path,
			      "crash stores hold files only");
}

int crashfs_symlink(const char *target, const char *path)
{
	(void)target;
	return refuse_link("symlink", path);
}

int crashfs_link(const char *from, const char *to)
{
	(void)from;
	return refuse_link("link", to);
}

int crashfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	(void)mode, (void)rdev;
	return refuse_link("mknod", path);
}

int crashfs_statfs(const char *path, struct statvfs *st)
{
	struct crashfs *fs = crashfs_get();
	(void)path;
	/* Writes land in the spool first: its filesystem is what fills. */
	if (statvfs(spool_dir(fs->spool), st) < 0)
		return -errno;
	st->f_namemax = VIEW_NAME_MAX;
	return 0;
}
