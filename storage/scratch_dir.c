/*
 * scratch_dir.c - private working directories of a daemon (see
 * scratch_dir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/scratch_dir.h"

#define SCRATCH_LOCK_NAME "lock"
/* A directory without its lock file yet is a daemon starting right now,
 * unless it is older than this (one killed before it made its lock). */
#define SCRATCH_UNLOCKED_GRACE_SECONDS 60

struct scratch_dir {
	char *path;
	char *what;
	int dir_fd;
	int lock_fd;
	atomic_uint_fast64_t next_name;
};

/* "<pid>" or "<pid>.<n>": digits, at most one dot between digits. */
static bool is_owner_name(const char *name)
{
	bool digits = false, dot = false;
	for (const char *c = name; *c; c++) {
		if (*c >= '0' && *c <= '9') {
			digits = true;
		} else if (*c == '.' && digits && !dot) {
			dot = true;
			digits = false;
		} else {
			return false;
		}
	}
	return digits;
}

/* Removes the files of one dead daemon's directory, then the directory. */
static bool remove_owner_dir(int root_fd, const char *name, const char *what)
{
	int dir_fd = openat(root_fd, name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dir_fd < 0)
		return false;
	DIR *dir = fdopendir(dir_fd);
	if (!dir) {
		close(dir_fd);
		return false;
	}
	unsigned removed = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0 ||
		    strcmp(entry->d_name, SCRATCH_LOCK_NAME) == 0)
			continue;
		if (unlinkat(dirfd(dir), entry->d_name, 0) == 0)
			removed++;
	}
	unlinkat(dirfd(dir), SCRATCH_LOCK_NAME, 0);
	closedir(dir);
	if (unlinkat(root_fd, name, AT_REMOVEDIR) < 0) {
		crash_log(CRASH_LOG_WARNING,
			  "%s: cannot remove the directory %s left by a stopped "
			  "daemon: %s",
			  what, name, strerror(errno));
		return false;
	}
	crash_log(CRASH_LOG_INFO,
		  "%s: removed %u file(s) left by a stopped daemon (%s)", what,
		  removed, name);
	return true;
}

static bool owner_is_gone(int root_fd, const char *name)
{
	char lock_path[NAME_MAX + sizeof "/" SCRATCH_LOCK_NAME];
	snprintf(lock_path, sizeof lock_path, "%s/" SCRATCH_LOCK_NAME, name);
	int fd = openat(root_fd, lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		struct stat st;
		if (errno != ENOENT || fstatat(root_fd, name, &st, 0) < 0)
			return false;
		return st.st_mtime + SCRATCH_UNLOCKED_GRACE_SECONDS < time(NULL);
	}
	bool gone = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return gone;
}

static unsigned sweep_fd(int root_fd, const char *what)
{
	unsigned removed = 0;
	DIR *dir = fdopendir(dup(root_fd));
	if (!dir)
		return 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL)
		if (is_owner_name(entry->d_name) &&
		    owner_is_gone(root_fd, entry->d_name) &&
		    remove_owner_dir(root_fd, entry->d_name, what))
			removed++;
	closedir(dir);
	return removed;
}

unsigned scratch_dir_sweep(const char *root, const char *what)
{
	int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return 0;
	unsigned removed = sweep_fd(root_fd, what);
	close(root_fd);
	return removed;
}

/* mkdir -p root, with mode for what it makes. */
static int make_root(const char *root, mode_t mode)
{
	char buffer[PATH_MAX];
	size_t length = strlen(root);
	if (length >= sizeof buffer)
		return -ENAMETOOLONG;
	memcpy(buffer, root, length + 1);
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
	if (stat(root, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int open_failed(struct scratch_dir *dir, struct crash_error *error,
		       int code, const char *path)
{
	crash_error_set(error, code, "%s %s: %s", dir->what, path,
			strerror(-code));
	if (dir->lock_fd >= 0)
		close(dir->lock_fd);
	if (dir->dir_fd >= 0)
		close(dir->dir_fd);
	if (dir->path)
		rmdir(dir->path);
	free(dir->path);
	free(dir->what);
	free(dir);
	return code;
}

int scratch_dir_open(const char *root, mode_t root_mode, unsigned instance,
		     const char *what, struct scratch_dir **out,
		     struct crash_error *error)
{
	char name[32];
	*out = NULL;
	struct scratch_dir *dir = calloc(1, sizeof *dir);
	if (!dir)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       what);
	dir->dir_fd = dir->lock_fd = -1;
	dir->what = strdup(what);
	if (!dir->what)
		return open_failed(dir, error, -ENOMEM, root);
	int result = make_root(root, root_mode);
	if (result < 0)
		return open_failed(dir, error, result, root);
	int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return open_failed(dir, error, -errno, root);
	sweep_fd(root_fd, what);
	if (instance == 0)
		snprintf(name, sizeof name, "%ld", (long)getpid());
	else
		snprintf(name, sizeof name, "%ld.%u", (long)getpid(),
			 instance);
	/* A directory of a former daemon with our pid: its lock is free. */
	if (faccessat(root_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		remove_owner_dir(root_fd, name, what);
	close(root_fd);
	if (asprintf(&dir->path, "%s/%s", root, name) < 0) {
		dir->path = NULL;
		return open_failed(dir, error, -ENOMEM, root);
	}
	if (mkdir(dir->path, 0700) < 0) {
		result = -errno;
		free(dir->path); /* not ours to remove */
		dir->path = NULL;
		return open_failed(dir, error, result, root);
	}
	dir->dir_fd = open(dir->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir->dir_fd < 0)
		return open_failed(dir, error, -errno, dir->path);
	dir->lock_fd = openat(dir->dir_fd, SCRATCH_LOCK_NAME,
			      O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (dir->lock_fd < 0 || flock(dir->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return open_failed(dir, error, -errno, dir->path);
	*out = dir;
	return 0;
}

void scratch_dir_close(struct scratch_dir *dir)
{
	if (!dir)
		return;
	DIR *listing = fdopendir(dup(dir->dir_fd));
	if (listing) {
		struct dirent *entry;
		while ((entry = readdir(listing)) != NULL)
			if (strcmp(entry->d_name, ".") != 0 &&
			    strcmp(entry->d_name, "..") != 0)
				unlinkat(dir->dir_fd, entry->d_name, 0);
		closedir(listing);
	}
	close(dir->lock_fd);
	close(dir->dir_fd);
	if (rmdir(dir->path) < 0)
		crash_log(CRASH_LOG_WARNING, "%s %s: cannot remove: %s",
			  dir->what, dir->path, strerror(errno));
	free(dir->path);
	free(dir->what);
	free(dir);
}

const char *scratch_dir_path(const struct scratch_dir *dir)
{
	return dir->path;
}

int scratch_dir_fd(const struct scratch_dir *dir)
{
	return dir->dir_fd;
}

int scratch_dir_create_file(struct scratch_dir *dir, const char *prefix,
			    mode_t mode, int *fd_out, char **path_out)
{
	char name[64];
	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t number = atomic_fetch_add(&dir->next_name, 1);
		snprintf(name, sizeof name, "%s%llu", prefix,
			 (unsigned long long)number);
		int fd = openat(dir->dir_fd, name,
				O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return errno == EDQUOT ? -ENOSPC : -errno;
		}
		char *path;
		if (asprintf(&path, "%s/%s", dir->path, name) < 0) {
			unlinkat(dir->dir_fd, name, 0);
			close(fd);
			return -ENOMEM;
		}
		*fd_out = fd;
		*path_out = path;
		return 0;
	}
	return -EEXIST;
}

int scratch_dir_new_path(struct scratch_dir *dir, const char *prefix,
			 char *out, size_t out_size)
{
	uint64_t number = atomic_fetch_add(&dir->next_name, 1);
	int length = snprintf(out, out_size, "%s/%s%llu", dir->path, prefix,
			      (unsigned long long)number);
	return length < 0 || (size_t)length >= out_size ? -ENAMETOOLONG : 0;
}
