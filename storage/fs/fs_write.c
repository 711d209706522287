/*
 * fs_write.c - directories, atomic file writes and the save operations.
 *
 * Socorro opened the target with truncation and wrote into it, so a reader
 * (or a crash of the writer) could see half a file.  Here every part is
 * written to a temporary file, given its mode and mtime, then renamed over
 * the target.  Temporary files live in the store's scratch directory
 * (<root>/.crashfs-tmp/<pid>.<n>, fs_internal.h), so what a killed daemon
 * was writing is swept by the next one, never left in a crash directory;
 * only where that directory cannot be used (it cannot be made, or the
 * target is on another filesystem) do they go next to the target, named
 * ".<file name>.crashfs-XXXXXX" (a leading dot and no part suffix at the
 * end: no listing takes it for a part).  Without fsync, a power loss may
 * still lose the new file; it never leaves a torn one under the part's
 * name.
 *
 * Modes come from explicit mode arguments plus fchmod/chmod, never from
 * the process umask: the process is multi-threaded and the umask is
 * process-wide.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/fs/fs_internal.h"
#include "storage/fs/fs_paths.h"

/* Bytes per pread/pwrite when copy_file_range cannot be used. */
#define COPY_BUFFER_SIZE (128 * 1024)
/* copy_file_range takes at most this per call (stays within ssize_t). */
#define COPY_CHUNK_MAX ((size_t)1 << 30)
/* Attempts at a fresh temporary name, and at a write whose directory was
 * removed under it by a concurrent remove. */
#define TEMP_NAME_ATTEMPTS 100
#define WRITE_ATTEMPTS 3

/* -- atomic file writes --------------------------------------------------- */

/* A fresh temporary name next to file_name, never a part's name. */
static int temp_path(struct crash_call *call, const char *dir,
		     const char *file_name, char *out, size_t out_size)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t random_bits = 0;
	char suffix[7];

	if (getrandom(&random_bits, sizeof random_bits, GRND_NONBLOCK) !=
	    (ssize_t)sizeof random_bits) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		random_bits = (uint64_t)now.tv_nsec * 0x9e3779b97f4a7c15u ^
			      (uint64_t)(uintptr_t)out;
	}
	for (int i = 0; i < 6; i++) {
		suffix[i] = letters[random_bits % (sizeof letters - 1)];
		random_bits /= sizeof letters - 1;
	}
	suffix[6] = '\0';
	if (strlen(file_name) + sizeof ".crashfs-XXXXXX" + 1 > NAME_MAX + 1)
		return crash_error_set(&call->error, -ENAMETOOLONG,
				       "file name %s is too long for a "
				       "temporary name",
				       file_name);
	return fs_path_format(call, out, out_size, "%s/.%s.crashfs-%s", dir,
			      file_name, suffix);
}

/* A write that failed with ENOENT after its directory was there: the
 * store must not report "not here" for that (crash_store.h). */
static int not_found_is_io(struct crash_call *call)
{
	char message[CRASH_ERROR_MESSAGE_MAX];
	memcpy(message, call->error.message, sizeof message);
	return crash_error_set(&call->error, -EIO, "%s", message);
}

/* The mtime to give the file: the blob's (UTIME_NOW / UTIME_OMIT in
 * tv_nsec are honoured as utimensat does); atime is left alone. */
static void blob_times(const struct crash_blob *blob, struct timespec times[2])
{
	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1] = blob->mtime;
}

/* Copies exactly size bytes from in_fd at offset 0 to out_fd. */
static int copy_bytes(struct crash_call *call, int in_fd, off_t size,
		      int out_fd, const char *temp)
{
	off_t in_offset = 0, out_offset = 0;
	bool use_copy_file_range = true;
	char *buffer = NULL;
	int result = 0;

	while (in_offset < size) {
		size_t want = (size_t)(size - in_offset);
		if (use_copy_file_range) {
			if (want > COPY_CHUNK_MAX)
				want = COPY_CHUNK_MAX;
			ssize_t done = copy_file_range(in_fd, &in_offset, out_fd,
						       &out_offset, want, 0);
			if (done > 0)
				continue;
			if (done == 0)
				goto short_source;
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == ENOSYS ||
			    errno == EINVAL || errno == EOPNOTSUPP ||
			    errno == EBADF || errno == EPERM) {
				/* Not possible between these two files: the
				 * plain loop goes on from the same offset. */
				use_copy_file_range = false;
				continue;
			}
			result = fs_error(call, errno, "copy into", temp);
			goto out;
		}
		if (!buffer && !(buffer = malloc(COPY_BUFFER_SIZE))) {
			result = crash_error_set(&call->error, -ENOMEM,
						 "copy into %s: out of memory",
						 temp);
			goto out;
		}
		if (want > COPY_BUFFER_SIZE)
			want = COPY_BUFFER_SIZE;
		ssize_t got = pread(in_fd, buffer, want, in_offset);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			result = crash_error_set(&call->error, -errno,
						 "read the bytes for %s: %s",
						 temp, strerror(errno));
			goto out;
		}
		if (got == 0)
			goto short_source;
		for (ssize_t written = 0; written < got;) {
			ssize_t n = pwrite(out_fd, buffer + written,
					   (size_t)(got - written),
					   out_offset + written);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				result = fs_error(call, errno, "write", temp);
				goto out;
			}
			written += n;
		}
		in_offset += got;
		out_offset += got;
	}
	goto out;
short_source:
	result = crash_error_set(&call->error, -EIO,
				 "copy into %s: the source ends after %lld of "
				 "%lld bytes",
				 temp, (long long)in_offset, (long long)size);
out:
	free(buffer);
	return result;
}

/* A new temporary file for <dir>/<file_name>: in the store's scratch
 * directory unless next_to_target (or there is none), else next to its
 * target.  The file is open for writing in *fd_out. */
static int create_temp(const struct fs_store *fs, struct crash_call *call,
		       const char *dir, const char *file_name,
		       bool next_to_target, char *temp, size_t temp_size,
		       int *fd_out)
{
	struct scratch_dir *scratch;
	if (!next_to_target && fs_scratch_dir(fs, &scratch) == 0) {
		char *path;
		int result = scratch_dir_create_file(scratch, "w", fs->file_mode,
						     fd_out, &path);
		if (result < 0)
			return fs_error(call, -result, "create a file in",
					scratch_dir_path(scratch));
		result = fs_path_format(call, temp, temp_size, "%s", path);
		free(path);
		if (result < 0) {
			close(*fd_out);
			return result;
		}
		return 0;
	}
	for (int attempt = 0;; attempt++) {
		int result = temp_path(call, dir, file_name, temp, temp_size);
		if (result < 0)
			return result;
		*fd_out = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			       fs->file_mode);
		if (*fd_out >= 0)
			return 0;
		if (errno != EEXIST || attempt >= TEMP_NAME_ATTEMPTS)
			return fs_error(call, errno, "create", temp);
	}
}

/* Writes the blob's bytes into a new temporary file; temp names it.
 * -ENOENT means the directory is gone (the caller recreates it). */
static int write_temp_copy(const struct fs_store *fs, struct crash_call *call,
			   const char *dir, const char *file_name,
			   const struct crash_blob *blob, bool next_to_target,
			   char *temp, size_t temp_size)
{
	int fd = -1;
	int result = create_temp(fs, call, dir, file_name, next_to_target,
				 temp, temp_size, &fd);
	if (result < 0)
		return result;
	struct timespec times[2];
	blob_times(blob, times);
	if (blob->size > 0)
		result = copy_bytes(call, blob->fd, blob->size, fd, temp);
	if (result == 0 && fchmod(fd, fs->file_mode) < 0)
		result = fs_error(call, errno, "set the mode of", temp);
	if (result == 0 && futimens(fd, times) < 0)
		result = fs_error(call, errno, "set the mtime of", temp);
	if (close(fd) < 0 && result == 0)
		result = fs_error(call, errno, "close", temp);
	if (result < 0) {
		unlink(temp);
		/* A copy error is not "not found", whatever errno said. */
		if (result == -ENOENT)
			result = not_found_is_io(call);
	}
	return result;
}

/* A temporary name for file_name hard-linked to source (in the scratch
 * directory, as create_temp); 0, -ENOENT (the directory is missing) or
 * -EXDEV (no link possible: copy instead). */
static int link_temp(const struct fs_store *fs, struct crash_call *call,
		     const char *source, const char *dir,
		     const char *file_name, char *temp, size_t temp_size)
{
	struct scratch_dir *scratch;
	if (fs_scratch_dir(fs, &scratch) == 0 &&
	    scratch_dir_new_path(scratch, "l", temp, temp_size) == 0 &&
	    link(source, temp) == 0)
		return 0;
	for (int attempt = 0;; attempt++) {
		int result = temp_path(call, dir, file_name, temp, temp_size);
		if (result < 0)
			return result;
		if (link(source, temp) == 0)
			return 0;
		if (errno == EEXIST && attempt < TEMP_NAME_ATTEMPTS)
			continue;
		if (errno == ENOENT)
			return crash_error_set(&call->error, -ENOENT,
					       "no directory %s", dir);
		return -EXDEV;
	}
}

/*
 * Zero-copy: the caller's spool file, if it is the very file behind
 * blob->fd, holds exactly blob->size bytes and lives on the same
 * filesystem, gets the part's mode and mtime and is hard-linked into
 * place: straight at target while that name is free (a new link appears
 * whole, as a rename does), else at a temporary name renamed over the
 * old file.  Mode and mtime go on through the descriptor, before the
 * link, so the file never shows up without them.  Returns 1 if stored, 0
 * if the caller must copy, or a negative errno (-ENOENT: the directory is
 * missing).
 */
static int adopt_spool_file(const struct fs_store *fs, struct crash_call *call,
			    const char *dir, const char *file_name,
			    const char *target, const struct crash_blob *blob)
{
	struct stat by_fd, by_path;

	if (!blob->adoptable || !blob->path || blob->fd < 0)
		return 0;
	if (fstat(blob->fd, &by_fd) < 0 || stat(blob->path, &by_path) < 0 ||
	    by_fd.st_dev != by_path.st_dev || by_fd.st_ino != by_path.st_ino ||
	    !S_ISREG(by_fd.st_mode) || by_fd.st_size != blob->size)
		return 0;
	struct timespec times[2];
	blob_times(blob, times);
	bool same_mtime = times[1].tv_nsec == UTIME_OMIT ||
			  (times[1].tv_sec == by_fd.st_mtim.tv_sec &&
			   times[1].tv_nsec == by_fd.st_mtim.tv_nsec);
	/* Failing either, the copy sets them on a file of its own. */
	if ((by_fd.st_mode & 07777) != fs->file_mode &&
	    fchmod(blob->fd, fs->file_mode) < 0)
		return 0;
	if (!same_mtime && futimens(blob->fd, times) < 0)
		return 0;
	if (link(blob->path, target) == 0)
		return 1;
	if (errno == ENOENT)
		return crash_error_set(&call->error, -ENOENT, "no directory %s",
				       dir);
	if (errno != EEXIST)
		return 0; /* another filesystem, no hard links there */
	char temp[PATH_MAX];
	int result = link_temp(fs, call, blob->path, dir, file_name, temp,
			       sizeof temp);
	if (result == -EXDEV)
		return 0;
	if (result < 0)
		return result;
	if (rename(temp, target) == 0)
		return 1;
	int code = errno;
	unlink(temp);
	if (code == EXDEV)
		return 0; /* the target's directory is another filesystem */
	result = fs_error(call, code, "rename into", target);
	return result == -ENOENT ? not_found_is_io(call) : result;
}

/* Writes <dir>/<file_name> atomically from the blob, making dir (mkdir -p)
 * if it is missing. */
static int write_file(const struct fs_store *fs, struct crash_call *call,
		      const char *dir, const char *file_name,
		      const struct crash_blob *blob)
{
	char target[PATH_MAX], temp[PATH_MAX];
	int result;

	if (!blob || blob->size < 0 || (blob->size > 0 && blob->fd < 0))
		return crash_error_set(&call->error, -EINVAL,
				       "no bytes given for %s/%s", dir,
				       file_name);
	result = fs_path_format(call, target, sizeof target, "%s/%s", dir,
				file_name);
	if (result < 0)
		return result;
	bool next_to_target = false;
	for (int attempt = 1;; attempt++) {
		result = adopt_spool_file(fs, call, dir, file_name, target,
					  blob);
		if (result == 1)
			return 0;
		if (result == 0) {
			result = write_temp_copy(fs, call, dir, file_name,
						 blob, next_to_target, temp,
						 sizeof temp);
			if (result >= 0) {
				if (rename(temp, target) == 0)
					return 0;
				int code = errno;
				unlink(temp);
				if (code == EXDEV && !next_to_target) {
					/* A directory on another filesystem
					 * than the scratch directory. */
					next_to_target = true;
					attempt--;
					continue;
				}
				result = fs_error(call, code, "rename into",
						  target);
			}
		}
		/* The directory is not there yet, or went away (a concurrent
		 * remove of the same crash): make it, a few times. */
		if (result != -ENOENT)
			return result;
		if (attempt >= WRITE_ATTEMPTS)
			return crash_error_set(&call->error, -EIO,
					       "write %s: its directory keeps "
					       "disappearing",
					       target);
		result = fs_mkdir_p(fs, call, dir);
		if (result < 0)
			return result;
	}
}

/* -- saves ---------------------------------------------------------------- */

/* Checks the id and the dumps before anything is written. */
static int check_dumps(const struct fs_store *fs, struct crash_call *call,
		       const struct crash_dump *dumps, size_t dump_count,
		       struct crash_part *parts)
{
	if (dump_count > 0 && !dumps)
		return crash_error_set(&call->error, -EINVAL,
				       "%zu dumps announced, none given",
				       dump_count);
	for (size_t i = 0; i < dump_count; i++) {
		struct crash_part part = { CRASH_PART_DUMP,
					   dumps[i].dump_name };
		int result = fs_part_normalize(fs, call, &part, &parts[i]);
		if (result < 0)
			return result;
	}
	return 0;
}

static int write_part(const struct fs_store *fs, struct crash_call *call,
		      const struct fs_crash_paths *paths, const char *crash_id,
		      const struct crash_part *part,
		      const struct crash_blob *blob)
{
	char file_name[NAME_MAX + 1];
	int result = crash_part_file_name(&fs->naming, crash_id, part,
					  file_name, sizeof file_name);
	if (result < 0)
		return crash_error_set(&call->error, result,
				       "no file name for a part of %s",
				       crash_id);
	return write_file(fs, call, paths->parent, file_name, blob);
}

int fs_save_raw_crash(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_blob *raw_crash,
		      const struct crash_dump *dumps, size_t dump_count)
{
	struct fs_store *fs = fs_store_of(store);
	struct fs_crash_paths paths;
	int result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	if (!raw_crash)
		return crash_error_set(&call->error, -EINVAL,
				       "save %s: no raw crash given", crash_id);
	struct crash_part *parts = NULL;
	if (dump_count > 0) {
		parts = calloc(dump_count, sizeof *parts);
		if (!parts)
			return crash_error_set(&call->error, -ENOMEM,
					       "save %s: out of memory",
					       crash_id);
	}
	result = check_dumps(fs, call, dumps, dump_count, parts);
	if (result < 0)
		goto out;
	const struct crash_part raw_part = { CRASH_PART_RAW_CRASH, NULL };
	result = write_part(fs, call, &paths, crash_id, &raw_part, raw_crash);
	for (size_t i = 0; result == 0 && i < dump_count; i++)
		result = write_part(fs, call, &paths, crash_id, &parts[i],
				    &dumps[i].blob);
	/* The date branch links come last, once every file is in place:
	 * that is what makes a concurrent new_crashes pass safe. */
	if (result == 0 && fs->dated)
		result = fs_enqueue(fs, call, crash_id);
out:
	free(parts);
	return result;
}

/* A dump that lands after its raw crash (rsync commits <id>.json before
 * <id>.upload_file_minidump_flash1.dump, cp -r in readdir order) queues
 * the crash again if a consumer already took it without that dump, so the
 * consumer sees the whole crash in the end.  A dump of a crash with no raw
 * crash yet does not queue it: the raw crash's save will.  A processed
 * crash never queues (its writer is the queue's consumer). */
static int requeue_if_raw_crash_is_here(struct crash_store *store,
					struct crash_call *call,
					const char *crash_id)
{
	const struct crash_part raw_part = { CRASH_PART_RAW_CRASH, NULL };
	struct crash_part_stat stat;
	int result = fs_stat_part(store, call, crash_id, &raw_part, &stat);
	if (result == -ENOENT) {
		crash_error_clear(&call->error);
		return 0;
	}
	if (result < 0)
		return result;
	return fs_enqueue(fs_store_of(store), call, crash_id);
}

int fs_save_dump(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_dump *dump)
{
	struct fs_store *fs = fs_store_of(store);
	struct fs_crash_paths paths;
	struct crash_part part;

	int result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	if (!dump)
		return crash_error_set(&call->error, -EINVAL,
				       "save a dump of %s: no dump given",
				       crash_id);
	result = check_dumps(fs, call, dump, 1, &part);
	if (result < 0)
		return result;
	result = write_part(fs, call, &paths, crash_id, &part, &dump->blob);
	if (result < 0 || !fs->dated)
		return result;
	return requeue_if_raw_crash_is_here(store, call, crash_id);
}

int fs_save_processed(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_blob *processed)
{
	struct fs_store *fs = fs_store_of(store);
	struct fs_crash_paths paths;
	const struct crash_part part = { CRASH_PART_PROCESSED, NULL };

	int result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	if (!processed)
		return crash_error_set(&call->error, -EINVAL,
				       "save the processed crash %s: no bytes "
				       "given",
				       crash_id);
	return write_part(fs, call, &paths, crash_id, &part, processed);
}

int fs_set_part_mtime(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_part *part,
		      const struct timespec *mtime)
{
	struct fs_store *fs = fs_store_of(store);
	struct crash_part normalized;
	char path[PATH_MAX];

	int result = fs_part_normalize(fs, call, part, &normalized);
	if (result < 0)
		return result;
	if (!mtime)
		return crash_error_set(&call->error, -EINVAL,
				       "set the mtime of a part of %s: no time "
				       "given",
				       crash_id);
	result = fs_part_locate(fs, call, crash_id, &normalized, path,
				sizeof path, NULL);
	if (result < 0)
		return result;
	struct timespec times[2] = { { 0, UTIME_OMIT }, *mtime };
	if (utimensat(AT_FDCWD, path, times, 0) < 0)
		return fs_error(call, errno, "set the mtime of", path);
	return 0;
}

int fs_set_dir_mtime(struct crash_store *store, struct crash_call *call,
		     const char *day, const char *prefix, const char *crash_id,
		     const struct timespec *mtime)
{
	struct fs_store *fs = fs_store_of(store);
	char path[PATH_MAX];
	int result;

	if (!mtime)
		return crash_error_set(&call->error, -EINVAL,
				       "set a directory's mtime: no time "
				       "given");
	if (crash_id) {
		/* A legacy crash lives in a leaf other crashes share: its
		 * time is theirs too. */
		if (fs->legacy)
			return crash_error_set(&call->error, -ENOTSUP,
					       "crash %s has no directory of "
					       "its own in a legacy layout",
					       crash_id);
		struct fs_crash_paths paths;
		result = fs_find_crash(fs, call, crash_id, &paths);
		if (result < 0)
			return result;
		snprintf(path, sizeof path, "%s", paths.parent);
	} else {
		result = fs_paths_radix_dir(fs, call, day, prefix, path,
					    sizeof path);
		if (result < 0)
			return result;
	}
	struct timespec times[2] = { { 0, UTIME_OMIT }, *mtime };
	if (utimensat(AT_FDCWD, path, times, 0) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return crash_error_set(&call->error, -ENOENT,
					       "no directory %s here", path);
		return fs_error(call, errno, "set the mtime of", path);
	}
	return 0;
}
