/*
 * fs_common.c - what the other files of the fs store share: the clock,
 * errors, part names, mkdir -p, and finding a crash and its parts.  A
 * leaf: it calls nothing of the store but fs_paths.c, so the files above
 * it (read, write, queue, remove) never call each other in a circle.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/fs/fs_internal.h"
#include "storage/fs/fs_paths.h"

void fs_store_now(const struct fs_store *fs, struct timespec *now)
{
	if (fs->options.now)
		fs->options.now(now, fs->options.now_arg);
	else
		clock_gettime(CLOCK_REALTIME, now);
}

int fs_error(struct crash_call *call, int errno_value, const char *what,
	     const char *path)
{
	return crash_error_set(&call->error, -errno_value, "%s %s: %s", what,
			       path, strerror(errno_value));
}

int fs_part_normalize(const struct fs_store *fs, struct crash_call *call,
		      const struct crash_part *part, struct crash_part *out)
{
	if (!part)
		return crash_error_set(&call->error, -EINVAL, "no part given");
	*out = *part;
	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
	case CRASH_PART_PROCESSED:
		out->dump_name = NULL;
		return 0;
	case CRASH_PART_DUMP:
		break;
	default:
		return crash_error_set(&call->error, -EINVAL,
				       "invalid part type %d", (int)part->type);
	}
	/* Socorro maps dump_field, None and "" to the main dump. */
	const char *name = part->dump_name;
	if (!name || name[0] == '\0' || strcmp(name, fs->dump_field) == 0) {
		out->dump_name = NULL;
		return 0;
	}
	if (!crash_dump_name_is_valid(name))
		return crash_error_set(&call->error, -EINVAL,
				       "invalid dump name \"%.140s\"", name);
	return 0;
}

static const char *part_label(const struct crash_part *part, char *buf,
			      size_t size)
{
	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
		return "raw crash";
	case CRASH_PART_PROCESSED:
		return "processed crash";
	default:
		if (!part->dump_name)
			return "main dump";
		snprintf(buf, size, "dump %s", part->dump_name);
		return buf;
	}
}

/* 1 if name in dir_fd is a regular file (following links), 0 if not. */
int fs_regular_file_at(int dir_fd, const char *name, struct stat *st)
{
	struct stat local;
	if (!st)
		st = &local;
	return fstatat(dir_fd, name, st, 0) == 0 && S_ISREG(st->st_mode);
}

/*
 * Parses a file name as a part of crash_id that this store serves.  Also
 * tells whether it is the "<id>..dump" spelling of the main dump.
 */
bool fs_parse_own_part(const struct fs_store *fs, const char *crash_id,
			   const char *file_name, struct crash_part *part,
			   char *name_buf, size_t name_buf_size,
			   bool *alternate_spelling)
{
	if (crash_part_parse_file_name(&fs->naming, crash_id, file_name, part,
				       name_buf, name_buf_size) < 0)
		return false;
	if (part->type == CRASH_PART_DUMP && part->dump_name &&
	    strcmp(part->dump_name, fs->dump_field) == 0)
		return false;
	*alternate_spelling = part->type == CRASH_PART_DUMP &&
			      !part->dump_name &&
			      strlen(file_name) ==
				      CRASH_ID_LENGTH + 1 +
					      strlen(fs->naming.dump_suffix);
	return true;
}

int fs_part_locate(const struct fs_store *fs, struct crash_call *call,
		   const char *crash_id, const struct crash_part *part,
		   char *path, size_t path_size, struct stat *st)
{
	struct fs_crash_paths paths;
	struct stat local;
	char label_buf[CRASH_DUMP_NAME_MAX + 8];

	if (!st)
		st = &local;
	int result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	result = fs_paths_part(fs, call, &paths, crash_id, part, path,
			       path_size);
	if (result < 0)
		return result;
	bool main_dump = part->type == CRASH_PART_DUMP && !part->dump_name;
	for (int spelling = 0; spelling < (main_dump ? 2 : 1); spelling++) {
		if (spelling == 1) {
			result = fs_paths_main_dump_alternate(
				fs, call, &paths, crash_id, path, path_size);
			if (result < 0)
				return result;
		}
		if (stat(path, st) == 0) {
			if (S_ISREG(st->st_mode))
				return 0;
			continue;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return fs_error(call, errno, "look at", path);
	}
	return crash_error_set(&call->error, -ENOENT, "no %s of crash %s here",
			       part_label(part, label_buf, sizeof label_buf),
			       crash_id);
}

/* Any served part of crash_id in the shared leaf? */
static int legacy_has_parts(const struct fs_store *fs,
			    struct crash_call *call, const char *crash_id,
			    const char *leaf)
{
	/* The usual case first, without reading the whole leaf. */
	const char *suffixes[] = { fs->naming.json_suffix,
				   fs->naming.jsonz_suffix,
				   fs->naming.dump_suffix };
	char path[PATH_MAX];
	for (int i = 0; i < 3; i++) {
		struct stat st;
		if (fs_path_format(call, path, sizeof path, "%s/%s%s", leaf,
				   crash_id, suffixes[i]) < 0)
			return -ENAMETOOLONG;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return 1;
	}
	/* Then secondary dumps (and <id>..dump), whose names are unknown. */
	DIR *dir = opendir(leaf);
	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return fs_error(call, errno, "list", leaf);
	}
	int found = 0;
	struct dirent *entry;
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	while (!found && (entry = readdir(dir)) != NULL) {
		struct crash_part part;
		bool alternate;
		if (fs_parse_own_part(fs, crash_id, entry->d_name, &part,
				   name_buf, sizeof name_buf, &alternate) &&
		    fs_regular_file_at(dirfd(dir), entry->d_name, NULL))
			found = 1;
	}
	closedir(dir);
	return found;
}

int fs_crash_is_here(const struct fs_store *fs, struct crash_call *call,
		     const char *crash_id, const struct fs_crash_paths *paths)
{
	struct stat st;

	if (fs->legacy)
		return legacy_has_parts(fs, call, crash_id, paths->leaf);
	if (lstat(paths->parent, &st) == 0)
		return S_ISDIR(st.st_mode) ? 1 : 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return fs_error(call, errno, "look at", paths->parent);
}

int fs_find_crash(const struct fs_store *fs, struct crash_call *call,
		  const char *crash_id, struct fs_crash_paths *paths)
{
	int result = fs_paths_crash(fs, call, crash_id, paths);
	if (result < 0)
		return result;
	result = fs_crash_is_here(fs, call, crash_id, paths);
	if (result < 0)
		return result;
	if (result == 0)
		return crash_error_set(&call->error, -ENOENT,
				       "crash %s is not here", crash_id);
	return 0;
}

/* -- directories -------------------------------------------------------- */

/* Gives a directory made by mkdir its exact mode (the process umask may
 * have taken bits away); keeps an inherited setgid bit. */
static int fix_dir_mode(const char *path, mode_t mode)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if ((st.st_mode & 0777) == mode)
		return 0;
	if (chmod(path, (st.st_mode & 07000) | mode) < 0)
		return -errno;
	return 0;
}

struct mkdir_failure {
	const char *what;
	char path[PATH_MAX];
};

static int mkdir_failed(struct mkdir_failure *failure, const char *what,
			const char *path, int result)
{
	failure->what = what;
	snprintf(failure->path, sizeof failure->path, "%s", path);
	return result;
}

/* mkdir -p; path is cut in place while walking up, and restored. */
static int make_dirs(char *path, mode_t mode, struct mkdir_failure *failure)
{
	if (mkdir(path, mode) < 0) {
		if (errno == EEXIST)
			return 0;
		char *slash = strrchr(path, '/');
		if (errno != ENOENT || !slash || slash == path)
			return mkdir_failed(failure, "create directory", path,
					    -errno);
		*slash = '\0';
		int result = make_dirs(path, mode, failure);
		*slash = '/';
		if (result < 0)
			return result;
		if (mkdir(path, mode) < 0)
			return errno == EEXIST
				       ? 0
				       : mkdir_failed(failure,
						      "create directory", path,
						      -errno);
	}
	int result = fix_dir_mode(path, mode);
	if (result < 0)
		return mkdir_failed(failure, "set the mode of", path, result);
	return 0;
}

int fs_mkdir_p(const struct fs_store *fs, struct crash_call *call,
	       const char *path)
{
	char copy[PATH_MAX];
	struct mkdir_failure failure;

	if (fs_path_format(call, copy, sizeof copy, "%s", path) < 0)
		return -ENAMETOOLONG;
	int result = make_dirs(copy, fs->dir_mode, &failure);
	/* Only the root can be missing here: a broken store, not "not
	 * here". */
	if (result == -ENOENT)
		return crash_error_set(&call->error, -EIO, "%s %s: %s",
				       failure.what, failure.path,
				       strerror(ENOENT));
	if (result < 0)
		return fs_error(call, -result, failure.what, failure.path);
	return 0;
}
