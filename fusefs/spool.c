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
#include "storage/scratch_dir.h"

struct spool {
	struct scratch_dir *dir;
	uint64_t max_bytes;
	atomic_uint_fast64_t bytes;
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

int spool_open(const char *root, uint64_t max_bytes, struct spool **out,
	       struct crash_error *error)
{
	*out = NULL;
	struct spool *spool = calloc(1, sizeof *spool);
	if (!spool)
		return crash_error_set(error, -ENOMEM, "spool: out of memory");
	spool->max_bytes = max_bytes;
	int result = scratch_dir_open(root, 0700, 0, "spool", &spool->dir,
				      error);
	if (result < 0) {
		free(spool);
		return result;
	}
	*out = spool;
	return 0;
}

void spool_close(struct spool *spool)
{
	if (!spool)
		return;
	scratch_dir_close(spool->dir);
	free(spool);
}

const char *spool_dir(const struct spool *spool)
{
	return scratch_dir_path(spool->dir);
}

int spool_create_file(struct spool *spool, int *fd_out, char **path_out)
{
	return scratch_dir_create_file(spool->dir, "s", 0600, fd_out,
				       path_out);
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
