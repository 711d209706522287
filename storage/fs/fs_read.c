/*
 * fs_read.c - looking crashes up, opening their parts and listing the
 * tree.
 *
 * Socorro's legacy stores answered "is this crash here?" by looking for
 * the shared leaf directory, so an absent crash whose neighbours existed
 * gave IOError instead of CrashIDNotFound (spec/fs-layouts.md §12).  Here
 * a legacy crash is here when one of its own part files is.
 *
 * A listing reports parts only: temporary files (".<name>.crashfs-XXXXXX"),
 * the date branch links (date_root, the legacy <id> links) and anything
 * else are skipped.  A dump stored as "<id>.<dump_field>.dump" cannot be
 * reached under its name (dump_field names the main dump, <id>.dump), so
 * it is not reported either.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/fs/fs_internal.h"
#include "storage/fs/fs_paths.h"

static void fill_part_stat(const struct stat *st, struct crash_part_stat *out)
{
	if (!out)
		return;
	out->size = st->st_size;
	out->mtime = st->st_mtim;
	out->mode = st->st_mode & 07777;
	/* Every write makes a new inode (renamed into place) and sets a new
	 * ctime; either changes the version. */
	uint64_t ctime_ns = (uint64_t)st->st_ctim.tv_sec * 1000000000u +
			    (uint64_t)st->st_ctim.tv_nsec;
	out->version = ((uint64_t)st->st_ino * 0x9e3779b97f4a7c15u) ^ ctime_ns;
	if (out->version == 0)
		out->version = 1;
}

static bool is_dir_entry(int dir_fd, const struct dirent *entry, bool follow)
{
	struct stat st;
	if (entry->d_type == DT_DIR)
		return true;
	if (entry->d_type != DT_UNKNOWN && !(follow && entry->d_type == DT_LNK))
		return false;
	return fstatat(dir_fd, entry->d_name, &st,
		       follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

int fs_stat_crash(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, struct crash_dir_stat *dir_stat)
{
	struct fs_store *fs = fs_store_of(store);
	struct fs_crash_paths paths;
	struct stat st;

	int result = fs_find_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	/* Its directory changes with each part saved or removed (in the
	 * legacy layouts, the leaf it shares). */
	if (stat(paths.parent, &st) == 0)
		dir_stat->mtime = st.st_mtim;
	return 0;
}

int fs_stat_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat)
{
	struct fs_store *fs = fs_store_of(store);
	struct crash_part normalized;
	char path[PATH_MAX];
	struct stat st;

	int result = fs_part_normalize(fs, call, part, &normalized);
	if (result < 0)
		return result;
	result = fs_part_locate(fs, call, crash_id, &normalized, path,
				sizeof path, &st);
	if (result < 0)
		return result;
	fill_part_stat(&st, stat);
	return 0;
}

int fs_open_part(struct crash_store *store, struct crash_call *call,
		 const char *crash_id, const struct crash_part *part,
		 struct crash_part_stat *stat, int *fd_out)
{
	struct fs_store *fs = fs_store_of(store);
	struct crash_part normalized;
	char path[PATH_MAX];
	struct stat st;

	int result = fs_part_normalize(fs, call, part, &normalized);
	if (result < 0)
		return result;
	result = fs_part_locate(fs, call, crash_id, &normalized, path,
				sizeof path, NULL);
	if (result < 0)
		return result;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fs_error(call, errno, "open", path);
	/* The stat of what was opened: a rename may have replaced the file
	 * since it was located. */
	if (fstat(fd, &st) < 0) {
		int error = errno;
		close(fd);
		return fs_error(call, error, "look at", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return crash_error_set(&call->error, -EIO,
				       "open %s: no longer a regular file",
				       path);
	}
	fill_part_stat(&st, stat);
	*fd_out = fd;
	return 0;
}

int fs_list_parts(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, crash_part_emit_fn emit, void *ctx)
{
	struct fs_store *fs = fs_store_of(store);
	struct fs_crash_paths paths;
	char main_dump[NAME_MAX + 1];
	char name_buf[CRASH_DUMP_NAME_MAX + 1];

	int result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	snprintf(main_dump, sizeof main_dump, "%s%s", crash_id,
		 fs->naming.dump_suffix);
	DIR *dir = opendir(paths.parent);
	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR)
			return crash_error_set(&call->error, -ENOENT,
					       "crash %s is not here",
					       crash_id);
		return fs_error(call, errno, "list", paths.parent);
	}
	bool found = false;
	struct dirent *entry;
	result = 0;
	while (result == 0 && (entry = readdir(dir)) != NULL) {
		struct crash_part part;
		struct crash_part_stat part_stat;
		struct stat st;
		bool alternate;
		if (!fs_parse_own_part(fs, crash_id, entry->d_name, &part,
				    name_buf, sizeof name_buf, &alternate) ||
		    !fs_regular_file_at(dirfd(dir), entry->d_name, &st))
			continue;
		/* Both spellings of the main dump: <id>.dump is the one
		 * served, so it is the one reported. */
		if (alternate && fs_regular_file_at(dirfd(dir), main_dump, NULL))
			continue;
		found = true;
		fill_part_stat(&st, &part_stat);
		result = emit(ctx, &part, &part_stat);
	}
	closedir(dir);
	if (result == 0 && fs->legacy && !found)
		return crash_error_set(&call->error, -ENOENT,
				       "crash %s is not here", crash_id);
	return result;
}

/* True if crash_id is stored exactly at this radix directory. */
static bool crash_belongs_here(const char *crash_id, const char *day,
			       const char *prefix, int level)
{
	struct crash_id_info info;
	return crash_id_parse(crash_id, &info) == 0 && info.depth == level &&
	       strcmp(info.day_name, day) == 0 &&
	       strncmp(crash_id, prefix, (size_t)(2 * level)) == 0;
}

/* 1 if a regular file in dir_fd holds a served secondary dump of crash_id
 * whose file name sorts before file_name. */
static int earlier_secondary_dump(const struct fs_store *fs, int dir_fd,
				  const char *crash_id, const char *file_name)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	int found = 0;
	struct dirent *entry;
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	while (!found && (entry = readdir(dir)) != NULL) {
		struct crash_part part;
		bool alternate;
		if (strcmp(entry->d_name, file_name) < 0 &&
		    fs_parse_own_part(fs, crash_id, entry->d_name, &part,
				   name_buf, sizeof name_buf, &alternate) &&
		    part.type == CRASH_PART_DUMP && part.dump_name &&
		    fs_regular_file_at(dir_fd, entry->d_name, NULL))
			found = 1;
	}
	closedir(dir);
	return found;
}

/*
 * In a shared leaf each crash has several files, and the crash is to be
 * listed once, without remembering what was listed (memory must not grow
 * with the directory): it is listed at its first file in this order: raw
 * crash, processed crash, main dump (<id>.dump before <id>..dump), the
 * secondary dump with the smallest file name.  1: list it here.
 */
static int legacy_lists_here(const struct fs_store *fs, int dir_fd,
			     const char *crash_id, const char *file_name,
			     const struct crash_part *part, bool alternate)
{
	char name[NAME_MAX + 1];

	if (part->type == CRASH_PART_RAW_CRASH)
		return 1;
	snprintf(name, sizeof name, "%s%s", crash_id, fs->naming.json_suffix);
	if (fs_regular_file_at(dir_fd, name, NULL))
		return 0;
	if (part->type == CRASH_PART_PROCESSED)
		return 1;
	snprintf(name, sizeof name, "%s%s", crash_id, fs->naming.jsonz_suffix);
	if (fs_regular_file_at(dir_fd, name, NULL))
		return 0;
	snprintf(name, sizeof name, "%s%s", crash_id, fs->naming.dump_suffix);
	bool has_main = fs_regular_file_at(dir_fd, name, NULL);
	if (!part->dump_name)
		return alternate ? !has_main : 1;
	snprintf(name, sizeof name, "%s.%s", crash_id, fs->naming.dump_suffix);
	if (has_main || fs_regular_file_at(dir_fd, name, NULL))
		return 0;
	int earlier = earlier_secondary_dump(fs, dir_fd, crash_id, file_name);
	if (earlier < 0)
		return earlier;
	return !earlier;
}

/*
 * A listing of one directory of the store, read as the caller goes on:
 * the root (days) or a radix directory.  It holds the directory stream
 * and nothing else, so a leaf of 200,000 crashes costs no more memory
 * than one of ten.
 */
struct dir_listing {
	struct crash_listing base; /* first */
	const struct fs_store *fs;
	DIR *dir;
	bool days;
	bool parts; /* legacy leaf: its parts, not its crashes */
	char day[CRASH_DAY_LENGTH + 1];
	char prefix[2 * CRASH_RADIX_LEVELS_MAX + 1];
	int level;
	char path[PATH_MAX];
};

/* 1 with entry filled if a directory entry of the root is a day. */
static int day_entry(struct dir_listing *self, const struct dirent *dirent,
		     struct crash_listing_entry *entry)
{
	if (!crash_day_is_valid(dirent->d_name) ||
	    !is_dir_entry(dirfd(self->dir), dirent, true))
		return 0;
	entry->kind = CRASH_LISTING_DAY;
	memcpy(entry->name, dirent->d_name, CRASH_DAY_LENGTH + 1);
	return 1;
}

/* A part file of a legacy leaf as an entry (1), unless it is the other
 * spelling of a main dump that <id>.dump stands for (0). */
static int part_entry(struct dir_listing *self, struct crash_call *call,
		      const char *crash_id, const char *file_name,
		      const struct crash_part *part, bool alternate,
		      struct crash_listing_entry *entry)
{
	int dir_fd = dirfd(self->dir);
	struct stat st;
	if (alternate) {
		char main_dump[NAME_MAX + 1];
		snprintf(main_dump, sizeof main_dump, "%s%s", crash_id,
			 self->fs->naming.dump_suffix);
		if (fs_regular_file_at(dir_fd, main_dump, NULL))
			return 0;
	}
	if (!fs_regular_file_at(dir_fd, file_name, &st))
		return 0; /* removed meanwhile */
	struct crash_part_stat part_stat;
	fill_part_stat(&st, &part_stat);
	(void)call;
	crash_listing_entry_set_part(entry, crash_id, part, &part_stat);
	return 1;
}

/* 1 with entry filled if a directory entry of a radix directory is a
 * listed radix subdirectory or crash. */
static int radix_entry(struct dir_listing *self, struct crash_call *call,
		       const struct dirent *dirent,
		       struct crash_listing_entry *entry)
{
	const struct fs_store *fs = self->fs;
	const char *name = dirent->d_name;
	size_t length = strlen(name);
	int dir_fd = dirfd(self->dir);

	/* ".", "..", temporary files, hidden things: never listed. */
	if (name[0] == '.')
		return 0;
	if (length == 2) {
		if (!fs_radix_component_is_valid(self->level, name) ||
		    !is_dir_entry(dir_fd, dirent, true))
			return 0;
		entry->kind = CRASH_LISTING_RADIX_DIR;
		memcpy(entry->name, name, 3);
		return 1;
	}
	if (!fs->legacy) {
		if (length != CRASH_ID_LENGTH ||
		    !crash_belongs_here(name, self->day, self->prefix,
					self->level) ||
		    !is_dir_entry(dir_fd, dirent, false))
			return 0;
		entry->kind = CRASH_LISTING_CRASH;
		memcpy(entry->name, name, CRASH_ID_LENGTH + 1);
		return 1;
	}
	char crash_id[CRASH_ID_LENGTH + 1];
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	struct crash_part part;
	bool alternate;
	if (crash_part_parse_any(&fs->naming, name, crash_id, &part, name_buf,
				 sizeof name_buf) < 0 ||
	    !fs_parse_own_part(fs, crash_id, name, &part, name_buf,
			    sizeof name_buf, &alternate) ||
	    !crash_belongs_here(crash_id, self->day, self->prefix,
				self->level) ||
	    !fs_regular_file_at(dir_fd, name, NULL))
		return 0;
	if (self->parts)
		return part_entry(self, call, crash_id, name, &part,
				  alternate, entry);
	int here = legacy_lists_here(fs, dir_fd, crash_id, name, &part,
				     alternate);
	if (here < 0)
		return fs_error(call, -here, "list", self->path);
	if (!here)
		return 0;
	entry->kind = CRASH_LISTING_CRASH;
	memcpy(entry->name, crash_id, CRASH_ID_LENGTH + 1);
	return 1;
}

static int dir_listing_next(struct crash_listing *listing,
			    struct crash_call *call,
			    struct crash_listing_entry *entry)
{
	struct dir_listing *self = (struct dir_listing *)listing;
	for (;;) {
		errno = 0;
		struct dirent *dirent = readdir(self->dir);
		if (!dirent)
			return errno ? fs_error(call, errno, "list", self->path)
				     : 0;
		int result = self->days ? day_entry(self, dirent, entry)
					: radix_entry(self, call, dirent,
						      entry);
		if (result != 0)
			return result;
	}
}

static void dir_listing_close(struct crash_listing *listing)
{
	struct dir_listing *self = (struct dir_listing *)listing;
	if (self->dir)
		closedir(self->dir);
	free(self);
}

static const struct crash_listing_ops dir_listing_ops = {
	.next = dir_listing_next,
	.close = dir_listing_close,
};

/* Opens self->path; 0, or the errno of opendir (self is then freed). */
static int open_dir_listing(struct crash_store *store,
			    struct dir_listing *self, struct crash_listing **out)
{
	crash_listing_init(&self->base, &dir_listing_ops, store);
	self->fs = fs_store_of(store);
	self->dir = opendir(self->path);
	if (!self->dir) {
		int error = errno;
		free(self);
		return error;
	}
	*out = &self->base;
	return 0;
}

int fs_open_days(struct crash_store *store, struct crash_call *call,
		 struct crash_listing **out)
{
	struct fs_store *fs = fs_store_of(store);
	struct dir_listing *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	self->days = true;
	snprintf(self->path, sizeof self->path, "%s", fs->root);
	int error = open_dir_listing(store, self, out);
	if (error == 0)
		return 0;
	/* The store's root is gone: broken, not "not here". */
	return crash_error_set(&call->error, error == ENOENT ? -EIO : -error,
			       "list the root %s: %s", fs->root,
			       strerror(error));
}

int fs_open_radix(struct crash_store *store, struct crash_call *call,
		  const char *day, const char *prefix,
		  struct crash_listing **out)
{
	struct fs_store *fs = fs_store_of(store);
	struct dir_listing *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	int result = fs_paths_radix_dir(fs, call, day, prefix, self->path,
					sizeof self->path);
	if (result < 0) {
		free(self);
		return result;
	}
	snprintf(self->day, sizeof self->day, "%s", day);
	snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
	self->level = (int)(strlen(prefix) / 2);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", self->path);
	int error = open_dir_listing(store, self, out);
	if (error == 0)
		return 0;
	if (error == ENOENT || error == ENOTDIR)
		return crash_error_set(&call->error, -ENOENT,
				       "no directory %s here", path);
	return fs_error(call, error, "list", path);
}

/* A legacy leaf's parts in one pass over it (list_parts of each crash
 * would read the whole leaf once per crash); a radix layout's crash
 * directories are listed one at a time, as the wrapper would. */
int fs_open_radix_parts(struct crash_store *store, struct crash_call *call,
			const char *day, const char *prefix,
			struct crash_listing **out)
{
	struct fs_store *fs = fs_store_of(store);
	if (!fs->legacy)
		return crash_listing_derive_radix_parts(store, call, day,
							prefix, out);
	struct dir_listing *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	int result = fs_paths_radix_dir(fs, call, day, prefix, self->path,
					sizeof self->path);
	if (result < 0) {
		free(self);
		return result;
	}
	self->parts = true;
	snprintf(self->day, sizeof self->day, "%s", day);
	snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
	self->level = (int)(strlen(prefix) / 2);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", self->path);
	int error = open_dir_listing(store, self, out);
	if (error == 0)
		return 0;
	if (error == ENOENT || error == ENOTDIR)
		return crash_error_set(&call->error, -ENOENT,
				       "no directory %s here", path);
	return fs_error(call, error, "list", path);
}

/* One stat: the directory a listing would open, without reading it; its
 * mtime changes when a crash (or subdirectory) is added or removed. */
int fs_stat_radix_dir(struct crash_store *store, struct crash_call *call,
		      const char *day, const char *prefix,
		      struct crash_dir_stat *dir_stat)
{
	struct fs_store *fs = fs_store_of(store);
	char path[PATH_MAX];
	struct stat st;

	int result = fs_paths_radix_dir(fs, call, day, prefix ? prefix : "",
					path, sizeof path);
	if (result < 0)
		return result;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			dir_stat->mtime = st.st_mtim;
			return 0;
		}
		errno = ENOTDIR;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return crash_error_set(&call->error, -ENOENT,
				       "no directory %s here", path);
	return fs_error(call, errno, "look up", path);
}
