/*
 * spool.c - staging directory and byte cap (see spool.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fusefs/spool.h"
#include "storage/crash_log.h"

#define SPOOL_LOCK_NAME "lock"

struct spool {
	char *dir;
	int dir_fd;
	int lock_fd;
	uint64_t max_bytes;
	atomic_uint_fast64_t bytes;
	atomic_uint_fast64_t next_name;
};

int spool_make_dirs(const char *path, mode_t mode)
{
	char buffer[PATH_MAX];
	size_t length = strlen(path);

	if (length >= sizeof buffer)
		return -ENAMETOOLONG;
	memcpy(buffer, path, length + 1);
	for (size_t i = 1; i <= length; i++) {
		if (buffer[i] != '/' && buffer[i] != '\0')
			continue;
		char saved = buffer[i];
		buffer[i] = '\0';
		if (mkdir(buffer, mode) < 0 && errno != EEXIST)
			return -errno;
		buffer[i] = saved;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static bool is_pid_name(const char *name)
{
	if (!name[0])
		return false;
	for (const char *c = name; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/* Removes the files of one daemon directory, then the directory. */
static void remove_daemon_dir(int root_fd, const char *name)
{
	int dir_fd = openat(root_fd, name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dir_fd < 0)
		return;
	DIR *dir = fdopendir(dir_fd);
	if (!dir) {
		close(dir_fd);
		return;
	}
	unsigned removed = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(dir), entry->d_name, 0) == 0)
			removed++;
	}
	closedir(dir);
	if (unlinkat(root_fd, name, AT_REMOVEDIR) < 0)
		crash_log(CRASH_LOG_WARNING,
			  "spool: cannot remove the leftover directory %s: %s",
			  name, strerror(errno));
	else
		crash_log(CRASH_LOG_INFO,
			  "spool: removed %u file(s) left by a stopped daemon "
			  "(spool %s)",
			  removed, name);
}

/* A daemon directory is stale when nobody holds its lock. */
static bool daemon_dir_is_stale(int root_fd, const char *name)
{
	char lock_path[300];
	snprintf(lock_path, sizeof lock_path, "%s/" SPOOL_LOCK_NAME, name);
	int fd = openat(root_fd, lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* No lock yet: a daemon starting right now, unless the
		 * directory is old (one killed before making its lock). */
		struct stat st;
		if (errno != ENOENT || fstatat(root_fd, name, &st, 0) < 0)
			return false;
		return st.st_mtime + 60 < time(NULL);
	}
	bool stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return stale;
}

static void remove_stale_dirs(const char *root)
{
	int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return;
	DIR *dir = fdopendir(dup(root_fd));
	if (dir) {
		struct dirent *entry;
		while ((entry = readdir(dir)) != NULL) {
			if (is_pid_name(entry->d_name) &&
			    daemon_dir_is_stale(root_fd, entry->d_name))
				remove_daemon_dir(root_fd, entry->d_name);
		}
		closedir(dir);
	}
	close(root_fd);
}

int spool_open(const char *root, uint64_t max_bytes, struct spool **out,
	       struct crash_error *error)
{
	*out = NULL;
	int result = spool_make_dirs(root, 0700);
	if (result < 0)
		return crash_error_set(error, result, "spool %s: %s", root,
				       strerror(-result));
	remove_stale_dirs(root);

	struct spool *spool = calloc(1, sizeof *spool);
	if (!spool)
		return crash_error_set(error, -ENOMEM, "spool: out of memory");
	spool->dir_fd = -1;
	spool->lock_fd = -1;
	spool->max_bytes = max_bytes;
	size_t length = strlen(root) + 32;
	spool->dir = malloc(length);
	if (!spool->dir) {
		free(spool);
		return crash_error_set(error, -ENOMEM, "spool: out of memory");
	}
	snprintf(spool->dir, length, "%s/%ld", root, (long)getpid());
	/* A directory of a former daemon with our pid: its lock is free. */
	if (access(spool->dir, F_OK) == 0) {
		int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root_fd >= 0) {
			remove_daemon_dir(root_fd,
					  strrchr(spool->dir, '/') + 1);
			close(root_fd);
		}
	}
	if (mkdir(spool->dir, 0700) < 0) {
		result = -errno;
		crash_error_set(error, result, "spool %s: %s", spool->dir,
				strerror(errno));
		goto fail;
	}
	spool->dir_fd = open(spool->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (spool->dir_fd >= 0)
		spool->lock_fd = openat(spool->dir_fd, SPOOL_LOCK_NAME,
					O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (spool->lock_fd < 0 ||
	    flock(spool->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		result = -errno;
		crash_error_set(error, result, "spool %s: %s", spool->dir,
				strerror(errno));
		goto fail;
	}
	*out = spool;
	return 0;
fail:
	if (spool->lock_fd >= 0)
		close(spool->lock_fd);
	if (spool->dir_fd >= 0)
		close(spool->dir_fd);
	rmdir(spool->dir);
	free(spool->dir);
	free(spool);
	return result;
}

void spool_close(struct spool *spool)
{
	if (!spool)
		return;
	DIR *dir = fdopendir(dup(spool->dir_fd));
	if (dir) {
		struct dirent *entry;
		while ((entry = readdir(dir)) != NULL) {
			if (strcmp(entry->d_name, ".") == 0 ||
			    strcmp(entry->d_name, "..") == 0)
				continue;
			unlinkat(spool->dir_fd, entry->d_name, 0);
		}
		closedir(dir);
	}
	close(spool->lock_fd);
	close(spool->dir_fd);
	if (rmdir(spool->dir) < 0)
		crash_log(CRASH_LOG_WARNING, "spool %s: cannot remove: %s",
			  spool->dir, strerror(errno));
	free(spool->dir);
	free(spool);
}

const char *spool_dir(const struct spool *spool)
{
	return spool->dir;
}

int spool_create_file(struct spool *spool, int *fd_out, char **path_out)
{
	char name[32];
	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t number = atomic_fetch_add(&spool->next_name, 1);
		snprintf(name, sizeof name, "s%llu",
			 (unsigned long long)number);
		int fd = openat(spool->dir_fd, name,
				O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return errno == EDQUOT ? -ENOSPC : -errno;
		}
		size_t length = strlen(spool->dir) + 1 + strlen(name) + 1;
		char *path = malloc(length);
		if (!path) {
			unlinkat(spool->dir_fd, name, 0);
			close(fd);
			return -ENOMEM;
		}
		snprintf(path, length, "%s/%s", spool->dir, name);
		*fd_out = fd;
		*path_out = path;
		return 0;
	}
	return -EEXIST;
}

int spool_reserve(struct spool *spool, uint64_t bytes)
{
	uint_fast64_t used = atomic_load(&spool->bytes);
	do {
		if (bytes > spool->max_bytes || used > spool->max_bytes - bytes)
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak(&spool->bytes, &used,
					       used + bytes));
	return 0;
}

void spool_release(struct spool *spool, uint64_t bytes)
{
	atomic_fetch_sub(&spool->bytes, bytes);
}

uint64_t spool_bytes(const struct spool *spool)
{
	return atomic_load(&((struct spool *)spool)->bytes);
}

uint64_t spool_max_bytes(const struct spool *spool)
{
	return spool->max_bytes;
}

int spool_copy(int dst_fd, int src_fd, off_t length)
{
	off_t in_offset = 0, out_offset = 0;
	while (in_offset < length) {
		size_t chunk = (size_t)(length - in_offset);
		if (chunk > (1u << 30))
			chunk = 1u << 30;
		ssize_t copied = copy_file_range(src_fd, &in_offset, dst_fd,
						 &out_offset, chunk, 0);
		if (copied > 0)
			continue;
		if (copied == 0)
			return -EIO; /* the source is shorter than it said */
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP &&
		    errno != EINVAL)
			return errno == EDQUOT ? -ENOSPC : -errno;
		/* No copy_file_range between these files: copy by hand. */
		char buffer[65536];
		while (in_offset < length) {
			size_t want = sizeof buffer;
			if ((off_t)want > length - in_offset)
				want = (size_t)(length - in_offset);
			ssize_t got = pread(src_fd, buffer, want, in_offset);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return got < 0 ? -errno : -EIO;
			for (ssize_t done = 0; done < got;) {
				ssize_t put = pwrite(dst_fd, buffer + done,
						     (size_t)(got - done),
						     out_offset);
				if (put < 0 && errno == EINTR)
					continue;
				if (put < 0)
					return errno == EDQUOT ? -ENOSPC
							       : -errno;
				done += put;
				out_offset += put;
			}
			in_offset += got;
		}
	}
	return 0;
}
