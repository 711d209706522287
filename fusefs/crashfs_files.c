/*
 * crashfs_files.c - files of the mount: reading stored parts, staging
 * writes, committing them, and the attribute and name operations.
 *
 * Writes: create/open-for-write stage a spool file; the data is committed
 * to the store on flush (close) and fsync of a part file, or when a
 * temporary file is renamed onto a part name.  Commit = validate (JSON,
 * gzip of JSON) then one store call with the spool file; a failure stores
 * nothing new and the store keeps what it had.
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
#include "fusefs/part_check.h"
#include "storage/crash_log.h"

/* --- commit ----------------------------------------------------------- */

/* Stores a staged file as the part named by target (file->lock held).
 * Validation failures are final (dirty cleared: the close reported them);
 * a store failure leaves the file dirty so a later fsync or close tries
 * again. */
static int commit(struct crashfs *fs, struct staged_file *file,
		  const struct view_path *target, const char *path,
		  bool adoptable, bool final)
{
	char message[CRASH_ERROR_MESSAGE_MAX];
	json_t *json = NULL;
	int result = 0;

	if (file->write_error) {
		/* The writer was told; a file missing bytes is no crash. */
		file->dirty = false;
		COUNT(fs, commit_errors);
		return crashfs_report(fs, file->write_error, "commit", path,
				      "a write to it failed; nothing stored");
	}
	switch (target->part.type) {
	case CRASH_PART_RAW_CRASH:
		result = part_check_raw_crash(file->fd, file->size,
					      fs->settings.json_max, &json,
					      message, sizeof message);
		break;
	case CRASH_PART_PROCESSED:
		result = part_check_processed(file->fd, file->size,
					      fs->settings.json_max, &json,
					      message, sizeof message);
		break;
	case CRASH_PART_DUMP:
		break;
	}
	if (result < 0 && !final && !file->written) {
		/* Nothing written yet: a shell's `cmd > <id>.json` opens,
		 * dup2()s and closes the new file before cmd writes a byte.
		 * That close gets the error (the shell ignores it) and the
		 * file stays dirty for the writes to come; the last close
		 * reports it if nothing comes. */
		crash_log(CRASH_LOG_DEBUG, "commit %s: %s; nothing written yet",
			  path, message);
		return result;
	}
	if (result < 0) {
		file->dirty = false;
		COUNT(fs, commit_errors);
		return crashfs_report(fs, result, "commit", path,
				      "%s; nothing stored", message);
	}

	struct crash_blob blob = {
		.fd = file->fd,
		.size = file->size,
		.mtime = file->mtime,
		.path = file->spool_path,
		.adoptable = adoptable,
		.json = json,
	};
	struct crash_call call;
	crashfs_call_begin(&call);
	switch (target->part.type) {
	case CRASH_PART_RAW_CRASH:
		result = crash_store_save_raw_crash(
			fs->store, &call, target->crash_id, &blob, NULL, 0);
		break;
	case CRASH_PART_DUMP: {
		struct crash_dump dump = {
			.dump_name = target->part.dump_name,
			.blob = blob,
		};
		result = crash_store_save_dump(fs->store, &call,
					       target->crash_id, &dump);
		break;
	}
	case CRASH_PART_PROCESSED:
		result = crash_store_save_processed(fs->store, &call,
						    target->crash_id, &blob);
		break;
	}
	json_decref(json);
	if (result < 0) {
		COUNT(fs, commit_errors);
		file->commit_failed = true;
		/* Whether the store linked it or not, the inode stays ours
		 * only if it was not offered. */
		if (adoptable)
			file->adopted = true;
		return crashfs_report_store(fs, result, "commit", path, &call);
	}
	file->dirty = false;
	file->commit_failed = false;
	file->stored = true;
	if (adoptable)
		file->adopted = true;
	COUNT(fs, commits);
	COUNT_BYTES(fs, bytes_committed, file->size);
	crash_log(CRASH_LOG_DEBUG, "commit %s: %lld bytes", path,
		  (long long)file->size);
	crashfs_crash_landed(fs, target->crash_id);
	crashfs_invalidate_part(fs, target->crash_id, &target->part, path);
	return 0;
}

/* file->lock held: a dirty part file is committed under its own name.
 * final: the last chance (release, truncate by path), errors are logged. */
static int commit_if_dirty(struct crashfs *fs, struct staged_file *file,
			   bool adoptable, bool final)
{
	if (!file->dirty || file->unlinked || file->view.kind != VIEW_PART_FILE)
		return 0;
	/* An empty dump nobody wrote to yet (see commit()): it is stored at
	 * the last close, not at the shell's early dup2() close. */
	if (!final && !file->written && file->view.part.type == CRASH_PART_DUMP)
		return 0;
	return commit(fs, file, &file->view, file->path, adoptable, final);
}

static bool store_can_save(struct crashfs *fs, const struct crash_part *part)
{
	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
		return crash_store_can(fs->store, save_raw_crash);
	case CRASH_PART_DUMP:
		return crash_store_can(fs->store, save_dump);
	case CRASH_PART_PROCESSED:
		return crash_store_can(fs->store, save_processed);
	}
	return false;
}

/* Opens a staged file for a handle (file->lock not held). */
static int open_staged(struct crashfs *fs, struct staged_file *file,
		       struct fuse_file_info *fi, const char *path)
{
	struct handle *handle;
	bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	int result = crashfs_new_handle(HANDLE_STAGED, &handle);
	if (result < 0) {
		staging_put(file);
		return result;
	}
	pthread_mutex_lock(&file->lock);
	if (file->unlinked) {
		/* Its last handle closed (or it was unlinked) between our
		 * lookup and now: look again. */
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
static int stage_stored_part(struct crashfs *fs, const char *path,
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
	result = staging_create(fs->staging, path, view,
				part_stat.mode ? part_stat.mode : 0644, &file);
	if (result == -EEXIST) {
		/* Staged by another request meanwhile: use that one. */
		close(fd);
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
		*out = file;
		return 0;
	}
	if (result < 0) {
		close(fd);
		return crashfs_report(fs, result, "stage", path,
				      "cannot make a spool file");
	}
	pthread_mutex_lock(&file->lock);
	result = staged_file_load(file, fd, part_stat.size,
				  keep < 0 ? part_stat.size : keep);
	file->stored = true;
	if (keep < 0 || keep == part_stat.size)
		file->mtime = part_stat.mtime; /* unchanged bytes */
	else
		file->dirty = true;
	if (result < 0)
		staging_drop(file);
	pthread_mutex_unlock(&file->lock);
	close(fd);
	if (result < 0) {
		staging_put(file);
		return crashfs_report(
			fs, result, "stage", path,
			"cannot copy the stored part into the spool");
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
	json_t *stats = crashfs_stats(fs);
	handle->text =
		stats ? json_dumps(stats, JSON_INDENT(2) | JSON_SORT_KEYS)
		      : NULL;
	json_decref(stats);
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
 * staging_create_replacing), unless the staged file at path is not open
 * (a temporary file awaiting its rename): that one is reused. */
static int open_new_version(struct crashfs *fs, const char *path,
			    const struct view_path *view,
			    struct fuse_file_info *fi, mode_t mode)
{
	struct staged_file *file = staging_find(fs->staging, path);
	bool stored = false;
	int result;

	if (file) {
		pthread_mutex_lock(&file->lock);
		bool idle = file->open_count == 0 && !file->unlinked;
		stored = file->stored;
		mode = file->mode;
		pthread_mutex_unlock(&file->lock);
		if (idle)
			return open_staged(fs, file, fi, path);
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
	result = staging_create_replacing(fs->staging, path, view, mode, &file);
	if (result < 0)
		return crashfs_report(fs, result, "open", path,
				      "cannot stage the file");
	pthread_mutex_lock(&file->lock);
	file->dirty = true; /* an empty version is a version */
	file->stored = stored;
	pthread_mutex_unlock(&file->lock);
	fi->flags &= ~O_TRUNC;
	return open_staged(fs, file, fi, path);
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
		return open_staged(fs, file, fi, path);
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
		return open_staged(fs, file, fi, path);
	if (view->kind == VIEW_STAGED_NAME)
		return -ENOENT;
	int result = stage_stored_part(fs, path, view, -1, &file);
	if (result == -ENOENT) {
		/* The kernel still has the name of a file whose commit
		 * failed (it cached the entry): writing it again makes it
		 * anew, as create() would. */
		return open_new_version(fs, path, view, fi, 0644);
	}
	if (result < 0)
		return result;
	return open_staged(fs, file, fi, path);
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
	if (view.kind == VIEW_PART_FILE && !store_can_save(fs, &view.part))
		return crashfs_report(fs, -EROFS, "open", path,
				      "the store does not accept this part");
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
			"temporary name");
	if (view.kind == VIEW_PART_FILE ? !store_can_save(fs, &view.part)
					: !crashfs_store_can_write(fs))
		return crashfs_report(fs, -EROFS, "create", path,
				      "the store does not accept this part");

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
	result = staging_create(fs->staging, path, &view, mode, &file);
	if (result == -EEXIST)
		return (fi->flags & O_EXCL) ? -EEXIST : -EAGAIN;
	if (result < 0)
		return crashfs_report(fs, result, "create", path,
				      "cannot stage the file");
	pthread_mutex_lock(&file->lock);
	file->dirty = true; /* a created file is committed even if empty */
	pthread_mutex_unlock(&file->lock);
	fi->flags &= ~O_TRUNC;
	return open_staged(fs, file, fi, path);
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
	int result = commit_if_dirty(fs, file, true, false);
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
	int result = commit_if_dirty(fs, file, false, false);
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
		if (--file->open_count == 0) {
			/* Written after the last close (a mapping, a dup'ed
			 * descriptor): its last chance, logged.  A commit whose
			 * failure close() already reported is not tried again:
			 * the writer was told nothing was stored, and a retry
			 * here could wait out a whole backoff after Ctrl-C. */
			if (!file->commit_failed)
				commit_if_dirty(fs, file, true, true);
			/* A part is served by the store from now on; a
			 * temporary file waits for its rename. */
			if (file->view.kind == VIEW_PART_FILE) {
				/* Never stored (its commit failed): the kernel
				 * must not go on showing it. */
				if (!file->stored && !file->unlinked)
					invalidator_queue(fs->invalidator,
							  file->path);
				staging_drop(file);
			}
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
		if (!store_can_save(fs, &view.part))
			return crashfs_report(
				fs, -EROFS, "truncate", path,
				"the store does not accept this part");
		/* No handle: stage, truncate and commit at once. */
		result = stage_stored_part(fs, path, &view, size, &file);
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
	if (file->open_count == 0) {
		file->dirty = true;
		result = commit_if_dirty(fs, file, true, true);
		if (file->view.kind == VIEW_PART_FILE)
			staging_drop(file);
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
		pthread_mutex_lock(&file->lock);
		if (change) {
			file->mtime = mtime;
			/* Already committed (copy2 sets times after close):
			 * the stored part takes the mtime too. */
			if (!file->dirty && file->stored && !file->unlinked &&
			    file->view.kind == VIEW_PART_FILE)
				result = set_stored_mtime(
					fs, file->path, file->view.crash_id,
					&file->view.part, &mtime);
		}
		pthread_mutex_unlock(&file->lock);
		staging_put(file);
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
	if (to_view.kind == VIEW_PART_FILE &&
	    !store_can_save(fs, &to_view.part)) {
		staging_put(file);
		return crashfs_report(fs, -EROFS, "rename", to,
				      "the store does not accept this part");
	}
	if ((flags & RENAME_NOREPLACE) && part_exists(fs, to, &to_view)) {
		staging_put(file);
		return -EEXIST;
	}

	struct staged_file *replaced = NULL;
	pthread_mutex_lock(&file->lock);
	if (file->stored && file->view.kind == VIEW_PART_FILE) {
		result = crashfs_report(
			fs, -EINVAL, "rename", from,
			"a new version of a stored part cannot move");
	} else if (to_view.kind == VIEW_PART_FILE && file->open_count == 0) {
		/* rsync: the temporary file is complete; store it under the
		 * new name now, so the rename returns the commit's error. */
		file->dirty = true;
		result = commit(fs, file, &to_view, to, true, true);
		if (result == 0) {
			result = staging_move(file, to, &to_view, &replaced);
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
