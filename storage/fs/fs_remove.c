/*
 * fs_remove.c - removing crashes, parts and empty directories.
 *
 * Socorro's legacy remove unlinked the raw crash and the dumps only: the
 * processed <id>.jsonz and the name-side <id> link stayed, and an absent
 * crash "succeeded" with a logged error (spec/fs-layouts.md §4, §6).  Here
 * a legacy remove unlinks every file of the crash and its links, and an
 * absent crash is -ENOENT in every layout.
 *
 * Every layout takes the crash out of the date branch when a back link is
 * there, so a non-dated store sharing a tree with a dated one (the
 * combinations of spec §13 said compatible) leaves no dangling queue
 * entry behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/fs/fs_internal.h"
#include "storage/fs/fs_paths.h"

/* A crash directory holds files; anything deeper is not ours to walk. */
#define TREE_DEPTH_MAX 16
/* Attempts at removing a crash directory a concurrent save writes into. */
#define REMOVE_ATTEMPTS 3

static bool is_dot_or_dot_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* rm -r path, never following symlinks. */
static int remove_tree(struct crash_call *call, const char *path, int depth)
{
	if (depth > TREE_DEPTH_MAX)
		return crash_error_set(&call->error, -ELOOP,
				       "remove %s: nested too deep", path);
	DIR *dir = opendir(path);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		return fs_error(call, errno, "list", path);
	}
	int result = 0;
	struct dirent *entry;
	char child[PATH_MAX];
	while (result == 0 && (entry = readdir(dir)) != NULL) {
		struct stat st;
		if (is_dot_or_dot_dot(entry->d_name))
			continue;
		result = fs_path_format(call, child, sizeof child, "%s/%s",
					path, entry->d_name);
		if (result < 0)
			break;
		if (lstat(child, &st) < 0) {
			if (errno != ENOENT)
				result = fs_error(call, errno, "look at",
						  child);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			result = remove_tree(call, child, depth + 1);
		else if (unlink(child) < 0 && errno != ENOENT)
			result = fs_error(call, errno, "remove", child);
	}
	closedir(dir);
	if (result < 0)
		return result;
	if (rmdir(path) < 0 && errno != ENOENT)
		return fs_error(call, errno, "remove directory", path);
	return 0;
}

static int remove_crash_dir(struct crash_call *call, const char *path)
{
	for (int attempt = 1;; attempt++) {
		int result = remove_tree(call, path, 0);
		/* A concurrent save of the same crash added a file. */
		if ((result != -ENOTEMPTY && result != -EEXIST) ||
		    attempt >= REMOVE_ATTEMPTS)
			return result;
	}
}

/* Unlinks every file of crash_id in the shared leaf, whatever its
 * spelling (<id>..dump, <id>.<dump_field>.dump too). */
static int remove_legacy_files(const struct fs_store *fs,
			       struct crash_call *call, const char *crash_id,
			       const char *leaf)
{
	DIR *dir = opendir(leaf);
	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return fs_error(call, errno, "list", leaf);
	}
	int result = 0;
	struct dirent *entry;
	char path[PATH_MAX];
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	while (result == 0 && (entry = readdir(dir)) != NULL) {
		struct crash_part part;
		struct stat st;
		if (crash_part_parse_file_name(&fs->naming, crash_id,
					       entry->d_name, &part, name_buf,
					       sizeof name_buf) < 0)
			continue;
		result = fs_path_format(call, path, sizeof path, "%s/%s", leaf,
					entry->d_name);
		if (result < 0)
			break;
		if (lstat(path, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		if (unlink(path) < 0 && errno != ENOENT)
			result = fs_error(call, errno, "remove", path);
	}
	closedir(dir);
	return result;
}

int fs_remove(struct crash_store *store, struct crash_call *call,
	      const char *crash_id)
{
	struct fs_store *fs = fs_store_of(store);
	struct fs_crash_paths paths;
	bool was_queued;

	int found = fs_find_crash(fs, call, crash_id, &paths);
	if (found < 0 && found != -ENOENT)
		return found;
	/* A legacy crash without files may still have its links (Socorro's
	 * remove left them): they go, and the crash is still not here. */
	if (found == 0 || fs->legacy) {
		struct crash_call dequeue;
		crash_call_init(&dequeue);
		int result = fs_dequeue(fs, &dequeue, crash_id, &was_queued);
		if (result < 0) {
			call->error = dequeue.error;
			return result;
		}
	}
	if (found < 0)
		return found;
	if (fs->legacy)
		return remove_legacy_files(fs, call, crash_id, paths.leaf);
	return remove_crash_dir(call, paths.parent);
}

/* Unlinks one file; 1 if it was there, 0 if not. */
static int unlink_part_file(struct crash_call *call, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return fs_error(call, errno, "look at", path);
	}
	if (S_ISDIR(st.st_mode))
		return 0;
	if (unlink(path) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return fs_error(call, errno, "remove", path);
}

int fs_remove_part(struct crash_store *store, struct crash_call *call,
		   const char *crash_id, const struct crash_part *part)
{
	struct fs_store *fs = fs_store_of(store);
	struct fs_crash_paths paths;
	struct crash_part normalized;
	char path[PATH_MAX];
	bool was_queued;

	int result = fs_part_normalize(fs, call, part, &normalized);
	if (result < 0)
		return result;
	result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	result = fs_paths_part(fs, call, &paths, crash_id, &normalized, path,
			       sizeof path);
	if (result < 0)
		return result;
	int removed = unlink_part_file(call, path);
	if (removed < 0)
		return removed;
	/* The main dump's other spelling, <id>..dump, goes with it. */
	if (normalized.type == CRASH_PART_DUMP && !normalized.dump_name) {
		result = fs_paths_main_dump_alternate(fs, call, &paths,
						      crash_id, path,
						      sizeof path);
		if (result < 0)
			return result;
		result = unlink_part_file(call, path);
		if (result < 0)
			return result;
		removed |= result;
	}
	if (!removed)
		return crash_error_set(&call->error, -ENOENT,
				       "remove %s: no such part here", path);
	/*
	 * A per-crash directory stays, even empty: it is still listed, and
	 * remove() takes it away.  A legacy crash has no directory: once its
	 * last file is gone, its links go too, or they would keep the leaf
	 * from ever being removed.
	 */
	if (!fs->legacy)
		return 0;
	int here = fs_crash_is_here(fs, call, crash_id, &paths);
	if (here < 0)
		return here;
	if (here)
		return 0;
	return fs_dequeue(fs, call, crash_id, &was_queued);
}

/* -- empty directories ---------------------------------------------------- */

/*
 * A legacy leaf holding nothing but <id> links of crashes without files
 * (Socorro's legacy-dated remove left those): removes the links, with
 * their slot links.  Returns 1 if it removed something.
 */
static int clear_stale_links(struct crash_call *call, const char *leaf)
{
	for (int phase = 0; phase < 2; phase++) {
		DIR *dir = opendir(leaf);
		if (!dir)
			return 0;
		int result = 0;
		struct dirent *entry;
		char path[PATH_MAX];
		while (result == 0 && (entry = readdir(dir)) != NULL) {
			struct stat st;
			const char *name = entry->d_name;
			if (is_dot_or_dot_dot(name))
				continue;
			if (fstatat(dirfd(dir), name, &st,
				    AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISLNK(st.st_mode) || !crash_id_is_valid(name)) {
				/* Something else is here: not empty. */
				result = -ENOTEMPTY;
				break;
			}
			if (phase == 0)
				continue;
			/* <leaf>/<id>/<id> is the slot link, through the
			 * name-side link. */
			result = fs_path_format(call, path, sizeof path,
						"%s/%s/%s", leaf, name, name);
			if (result < 0)
				break;
			if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
				unlink(path);
			if (unlinkat(dirfd(dir), name, 0) < 0 &&
			    errno != ENOENT)
				result = fs_error(call, errno, "remove link",
						  leaf);
			else
				crash_log(CRASH_LOG_INFO,
					  "removed the stale queue link %s/%s",
					  leaf, name);
		}
		closedir(dir);
		if (result < 0)
			return result == -ENOTEMPTY ? 0 : result;
	}
	return 1;
}

/* Removes empty directories of the date branch, bottom up (never a link
 * or a file: queue entries stay). */
static void prune_empty_dirs(const char *path, int depth)
{
	DIR *dir = opendir(path);
	if (!dir)
		return;
	struct dirent *entry;
	char child[PATH_MAX];
	while (depth < 3 && (entry = readdir(dir)) != NULL) {
		if (is_dot_or_dot_dot(entry->d_name))
			continue;
		int length = snprintf(child, sizeof child, "%s/%s", path,
				      entry->d_name);
		struct stat st;
		if (length > 0 && (size_t)length < sizeof child &&
		    lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			prune_empty_dirs(child, depth + 1);
	}
	closedir(dir);
	rmdir(path);
}

/* prefix "": the name branch, then the day once nothing else is in it. */
static int remove_day(const struct fs_store *fs, struct crash_call *call,
		      const char *day, const char *name_dir)
{
	char day_dir[PATH_MAX], date_dir[PATH_MAX];
	bool had_name_dir = true;
	int result;

	if ((result = fs_path_format(call, day_dir, sizeof day_dir, "%s/%s",
				     fs->root, day)) < 0 ||
	    (result = fs_path_format(call, date_dir, sizeof date_dir, "%s/%s",
				     day_dir, fs->date_branch_base)) < 0)
		return result;
	if (rmdir(name_dir) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			return crash_error_set(&call->error, -ENOTEMPTY,
					       "remove directory %s: crashes "
					       "remain in it",
					       name_dir);
		if (errno != ENOENT && errno != ENOTDIR)
			return fs_error(call, errno, "remove directory",
					name_dir);
		had_name_dir = false;
	}
	/* Hours and slots new_crashes left behind (it never removes the
	 * hour of a later time of day, nor the date branch). */
	prune_empty_dirs(date_dir, 0);
	if (rmdir(day_dir) == 0)
		return 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return had_name_dir ? 0
				    : crash_error_set(&call->error, -ENOENT,
						      "no directory %s here",
						      name_dir);
	if (errno == ENOTEMPTY || errno == EEXIST)
		return crash_error_set(&call->error, -ENOTEMPTY,
				       "remove directory %s: it still holds "
				       "queue entries or other files",
				       day_dir);
	return fs_error(call, errno, "remove directory", day_dir);
}

int fs_remove_radix_dir(struct crash_store *store, struct crash_call *call,
			const char *day, const char *prefix)
{
	struct fs_store *fs = fs_store_of(store);
	char path[PATH_MAX];

	if (!prefix)
		prefix = "";
	int result = fs_paths_radix_dir(fs, call, day, prefix, path,
					sizeof path);
	if (result < 0)
		return result;
	if (prefix[0] == '\0')
		return remove_day(fs, call, day, path);
	for (int attempt = 0;; attempt++) {
		if (rmdir(path) == 0)
			return 0;
		if (errno == ENOENT || errno == ENOTDIR)
			return crash_error_set(&call->error, -ENOENT,
					       "no directory %s here", path);
		if (errno != ENOTEMPTY && errno != EEXIST)
			return fs_error(call, errno, "remove directory", path);
		if (attempt == 0 && fs->legacy) {
			result = clear_stale_links(call, path);
			if (result < 0)
				return result;
			if (result > 0)
				continue;
		}
		return crash_error_set(&call->error, -ENOTEMPTY,
				       "remove directory %s: crashes remain "
				       "in it",
				       path);
	}
}
