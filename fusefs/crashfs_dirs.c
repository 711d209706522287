/*
 * crashfs_dirs.c - directories of the mount: listing, mkdir, rmdir.
 *
 * Stores hold crashes, not directories; a directory of the view exists
 * because the store lists something below it, or because mkdir (or an
 * emptying rm) left it pending (pending_dirs.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusefs/crashfs_internal.h"
#include "storage/crash_listing.h"
#include "storage/crash_log.h"

/* --- listing --------------------------------------------------------- */

struct extra_entry {
	char *name;
	bool seen;
	struct staged_file *staged; /* NULL: a pending directory */
};

struct listing {
	struct crashfs *fs;
	void *buffer;
	fuse_fill_dir_t filler;
	bool plus;
	int fill_error;
	struct extra_entry *extras;
	size_t extra_count;
	/* legacy leaves: crash ids collected first, their parts listed after
	 * (a store must not be called back from inside its own listing) */
	char (*crash_ids)[CRASH_ID_LENGTH + 1];
	size_t crash_count, crash_capacity;
	const char *crash_id; /* list_parts: whose parts */
};

static int fill(struct listing *listing, const char *name,
		const struct stat *st)
{
	if (listing->fill_error)
		return listing->fill_error;
	enum fuse_fill_dir_flags flags = listing->plus ? FUSE_FILL_DIR_PLUS : 0;
	if (listing->filler(listing->buffer, name, st, 0, flags) != 0)
		listing->fill_error = -ENOMEM;
	return listing->fill_error;
}

/* An entry from the store.  A staged new version of it does not show
 * before its commit, as in crashfs_stat_view(): readers get the stored one. */
static int fill_entry(struct listing *listing, const char *name,
		      const struct stat *st)
{
	for (size_t i = 0; i < listing->extra_count; i++) {
		struct extra_entry *extra = &listing->extras[i];
		if (!extra->seen && strcmp(extra->name, name) == 0)
			extra->seen = true;
	}
	return fill(listing, name, st);
}

static int fill_dir_entry(struct listing *listing, const char *name)
{
	struct stat st;
	crashfs_fill_dir(listing->fs, &st);
	return fill_entry(listing, name, &st);
}

static int emit_part(void *ctx, const struct crash_part *part,
		     const struct crash_part_stat *part_stat)
{
	struct listing *listing = ctx;
	char name[VIEW_NAME_MAX + 1];
	struct stat st;

	if (crash_part_file_name(&listing->fs->view.naming, listing->crash_id,
				 part, name, sizeof name) < 0)
		return 0; /* a part this view cannot name */
	crashfs_fill_file(listing->fs, &st, part_stat);
	return fill_entry(listing, name, &st);
}

static int remember_crash(struct listing *listing, const char *crash_id)
{
	if (listing->crash_count == listing->crash_capacity) {
		size_t more = listing->crash_capacity
				      ? 2 * listing->crash_capacity
				      : 64;
		void *grown = realloc(listing->crash_ids,
				      more * sizeof *listing->crash_ids);
		if (!grown)
			return -ENOMEM;
		listing->crash_ids = grown;
		listing->crash_capacity = more;
	}
	snprintf(listing->crash_ids[listing->crash_count++],
		 CRASH_ID_LENGTH + 1, "%s", crash_id);
	return 0;
}

/* An entry of the store's listing of a day or radix directory (or of the
 * root): its name, or in the legacy view its crash's part files (a crash
 * is in the shared leaf, not a directory of its own). */
static int fill_listed(void *ctx, const struct crash_listing_entry *entry)
{
	struct listing *listing = ctx;

	switch (entry->kind) {
	case CRASH_LISTING_DAY:
		if (!crash_day_is_valid(entry->name))
			return 0;
		return fill_dir_entry(listing, entry->name);
	case CRASH_LISTING_RADIX_DIR:
		return fill_dir_entry(listing, entry->name);
	case CRASH_LISTING_CRASH:
		if (listing->fs->view.mode == VIEW_MODE_RADIX)
			return fill_dir_entry(listing, entry->name);
		return remember_crash(listing, entry->name);
	case CRASH_LISTING_PART:
		break;
	}
	return 0;
}

static int collect_extras(struct crashfs *fs, const char *path,
			  struct listing *listing)
{
	char **names = NULL;
	size_t name_count = 0;
	struct staged_file **files = NULL;
	size_t file_count = 0;

	int result = pending_dirs_list_children(fs->pending, path, &names,
						&name_count);
	if (result == 0)
		result = staging_list_dir(fs->staging, path, &files,
					  &file_count);
	if (result < 0) {
		pending_dirs_free_names(names, name_count);
		return result;
	}
	listing->extras =
		calloc(name_count + file_count + 1, sizeof *listing->extras);
	if (!listing->extras) {
		pending_dirs_free_names(names, name_count);
		for (size_t i = 0; i < file_count; i++)
			staging_put(files[i]);
		free(files);
		return -ENOMEM;
	}
	for (size_t i = 0; i < name_count; i++)
		listing->extras[listing->extra_count++].name = names[i];
	free(names);
	for (size_t i = 0; i < file_count; i++) {
		struct extra_entry *extra =
			&listing->extras[listing->extra_count];
		const char *slash = strrchr(files[i]->path, '/');
		extra->name = strdup(slash ? slash + 1 : files[i]->path);
		if (!extra->name) {
			staging_put(files[i]);
			continue;
		}
		extra->staged = files[i];
		listing->extra_count++;
	}
	free(files);
	return 0;
}

static void release_listing(struct listing *listing)
{
	for (size_t i = 0; i < listing->extra_count; i++) {
		free(listing->extras[i].name);
		staging_put(listing->extras[i].staged);
	}
	free(listing->extras);
	free(listing->crash_ids);
}

static int list_store(struct crashfs *fs, const char *path,
		      const struct view_path *view, struct listing *listing)
{
	struct crash_call call;
	int result = 0;

	crashfs_call_begin(&call);
	switch (view->kind) {
	case VIEW_ROOT: {
		struct crash_listing *days;
		result = crash_store_open_days(fs->store, &call, &days);
		if (result == 0)
			result = crash_listing_drain(days, &call, fill_listed,
						     listing);
		break;
	}
	case VIEW_CONTROL_DIR:
		fill_dir_entry(listing, VIEW_BY_ID_NAME);
		{
			struct stat st;
			crashfs_fill_stats_file(fs, &st);
			fill(listing, VIEW_STATS_NAME, &st);
		}
		break;
	case VIEW_BY_ID_DIR:
		break; /* lookup only */
	case VIEW_DAY: {
		struct view_path branch;
		view_path_copy(&branch, view);
		branch.kind = VIEW_NAME_BRANCH;
		branch.prefix[0] = '\0';
		result = crashfs_store_dir_exists(fs, &branch, &call);
		if (result == 0)
			fill_dir_entry(listing, fs->view.name_branch_base);
		else if (result == -ENOENT)
			result = 0; /* a day with nothing shown yet */
		break;
	}
	case VIEW_NAME_BRANCH:
	case VIEW_RADIX_DIR: {
		struct crash_listing *radix;
		result = crash_store_open_radix(fs->store, &call, view->day,
						view->prefix, &radix);
		if (result == 0)
			result = crash_listing_drain(radix, &call, fill_listed,
						     listing);
		for (size_t i = 0; result >= 0 && i < listing->crash_count;
		     i++) {
			listing->crash_id = listing->crash_ids[i];
			result = crash_store_list_parts(fs->store, &call,
							listing->crash_id,
							emit_part, listing);
			if (result == -ENOENT)
				result = 0; /* removed meanwhile */
		}
		break;
	}
	case VIEW_CRASH_DIR:
		listing->crash_id = view->crash_id;
		result = crash_store_list_parts(
			fs->store, &call, view->crash_id, emit_part, listing);
		break;
	default:
		return -ENOTDIR;
	}
	if (listing->fill_error)
		return listing->fill_error;
	if (result == -ENOTSUP)
		return 0; /* a store that cannot list: lookup only */
	if (result == -ENOENT) {
		/* Gone from the store: fine if it is still in the view. */
		if (pending_dirs_contains(fs->pending, path) ||
		    listing->extra_count)
			return 0;
		return -ENOENT;
	}
	if (result < 0)
		return crashfs_report_store(fs, result, "list", path, &call);
	return 0;
}

/* With nullpath_ok, libfuse passes no path to readdir: opendir keeps it. */
int crashfs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct handle *handle;
	if (!path)
		return -ENOENT;
	int result = crashfs_new_handle(HANDLE_DIR, &handle);
	if (result < 0)
		return result;
	handle->text = strdup(path);
	if (!handle->text) {
		crashfs_free_handle(crashfs_get(), handle);
		return -ENOMEM;
	}
	fi->fh = (uintptr_t)handle;
	return 0;
}

int crashfs_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct handle *handle = crashfs_handle_of(fi);
	(void)path;
	if (handle)
		crashfs_free_handle(crashfs_get(), handle);
	return 0;
}

int crashfs_readdir(const char *unused_path, void *buffer,
		    fuse_fill_dir_t filler, off_t offset,
		    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct crashfs *fs = crashfs_get();
	struct view_path view;
	struct listing listing = {
		.fs = fs,
		.buffer = buffer,
		.filler = filler,
		.plus = (flags & FUSE_READDIR_PLUS) != 0,
	};
	struct handle *handle = crashfs_handle_of(fi);
	const char *path = handle && handle->kind == HANDLE_DIR ? handle->text
								: unused_path;
	(void)offset;

	COUNT(fs, listings);
	if (!path)
		return -ENOENT;
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(fs, -ENOENT, "list", path, &view);
	if (!view_kind_is_dir(view.kind))
		return -ENOTDIR;

	result = collect_extras(fs, path, &listing);
	if (result < 0)
		return crashfs_report(fs, result, "list", path,
				      "out of memory");
	/* No attributes for these: libfuse numbers only the entries it
	 * looks up, and a zero inode number hides an entry from readdir(3). */
	fill(&listing, ".", NULL);
	fill(&listing, "..", NULL);
	result = list_store(fs, path, &view, &listing);
	for (size_t i = 0; result == 0 && i < listing.extra_count; i++) {
		struct extra_entry *extra = &listing.extras[i];
		if (extra->seen)
			continue;
		struct stat st;
		if (extra->staged)
			crashfs_fill_staged(fs, &st, extra->staged);
		else
			crashfs_fill_dir(fs, &st);
		result = fill(&listing, extra->name, &st);
	}
	release_listing(&listing);
	return result;
}

int crashfs_mkdir(const char *path, mode_t mode)
{
	struct crashfs *fs = crashfs_get();
	struct view_path view;
	struct crash_call call;
	(void)mode;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "mkdir", path);
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(
			fs, result == -ENOENT ? -EINVAL : result, "mkdir", path,
			&view);
	switch (view.kind) {
	case VIEW_DAY:
	case VIEW_NAME_BRANCH:
	case VIEW_RADIX_DIR:
	case VIEW_CRASH_DIR:
		break;
	case VIEW_ROOT:
	case VIEW_CONTROL_DIR:
	case VIEW_BY_ID_DIR:
	case VIEW_STATS_FILE:
		return -EEXIST;
	default:
		return crashfs_report(fs, -EINVAL, "mkdir", path,
				      "a %s is not a directory of the view",
				      view_kind_name(view.kind));
	}
	if (!crashfs_store_can_write(fs))
		return crashfs_report(fs, -EROFS, "mkdir", path,
				      "the store accepts no crashes");
	crashfs_call_begin(&call);
	result = crashfs_dir_exists(fs, path, &view, &call);
	if (result == 0)
		return -EEXIST;
	if (result != -ENOENT)
		return crashfs_report_store(fs, result, "mkdir", path, &call);
	result = pending_dirs_add(fs->pending, path);
	if (result == -ENOSPC)
		return crashfs_report(
			fs, result, "mkdir", path,
			"too many empty directories (pending_max)");
	if (result < 0)
		return result == -EEXIST
			       ? -EEXIST
			       : crashfs_report(fs, result, "mkdir", path,
						"out of memory");
	COUNT(fs, mkdirs);
	return 0;
}

static int count_part(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *part_stat)
{
	(void)part, (void)part_stat;
	(*(size_t *)ctx)++;
	return 0;
}

static int rmdir_crash(struct crashfs *fs, const char *path,
		       const struct view_path *view)
{
	struct crash_call call;
	size_t parts = 0;

	crashfs_call_begin(&call);
	int result = crash_store_list_parts(fs->store, &call, view->crash_id,
					    count_part, &parts);
	if (result < 0 && result != -ENOENT && result != -ENOTSUP)
		return crashfs_report_store(fs, result, "rmdir", path, &call);
	if (parts > 0)
		return crashfs_report(
			fs, -ENOTEMPTY, "rmdir", path,
			"%zu part(s) left; remove them first (rm -r)", parts);
	bool was_pending = pending_dirs_remove(fs->pending, path);
	if (!crash_store_can(fs->store, remove) && was_pending)
		return 0;
	/* Socorro remove(): also whatever the view does not show (date
	 * branch links, an empty crash directory). */
	result = crash_store_remove(fs->store, &call, view->crash_id);
	if (result == -ENOENT && was_pending)
		result = 0;
	if (result < 0) {
		if (was_pending)
			pending_dirs_add(fs->pending, path);
		if (result == -ENOENT)
			return -ENOENT;
		return crashfs_report_store(fs, result, "rmdir", path, &call);
	}
	COUNT(fs, removes);
	crash_log(CRASH_LOG_INFO, "remove crash %s", view->crash_id);
	crashfs_invalidate_crash_dir(fs, view->crash_id, path);
	crashfs_keep_parent_visible(fs, path);
	return 0;
}

static int rmdir_radix(struct crashfs *fs, const char *path,
		       const struct view_path *view)
{
	struct crash_call call;
	bool was_pending = pending_dirs_contains(fs->pending, path);
	int result;

	crashfs_call_begin(&call);
	if (view->kind == VIEW_DAY) {
		/* A day holds its name branch: empty once that is gone. */
		struct view_path branch;
		view_path_copy(&branch, view);
		branch.kind = VIEW_NAME_BRANCH;
		branch.prefix[0] = '\0';
		result = crashfs_store_dir_exists(fs, &branch, &call);
		if (result == 0)
			return -ENOTEMPTY;
		if (result != -ENOENT)
			return crashfs_report_store(fs, result, "rmdir", path,
						    &call);
		/* Whatever the store keeps of the day besides (an empty
		 * directory, a dated layout's date branch) is its own. */
		if (crash_store_can(fs->store, remove_radix_dir)) {
			result = crash_store_remove_radix_dir(fs->store, &call,
							      view->day, "");
			if (result == -ENOENT || result == -ENOTEMPTY)
				result = 0;
		}
		if (result == 0 && !was_pending)
			result = -ENOENT;
	} else if (crash_store_can(fs->store, remove_radix_dir)) {
		result = crash_store_remove_radix_dir(fs->store, &call,
						      view->day, view->prefix);
	} else {
		/* Directories exist only while crashes do. */
		result = crashfs_store_dir_exists(fs, view, &call);
		if (result == 0)
			result = -ENOTEMPTY;
	}
	if (result == -ENOENT && was_pending)
		result = 0;
	if (result < 0) {
		if (result == -ENOENT || result == -ENOTEMPTY)
			return result;
		return crashfs_report_store(fs, result, "rmdir", path, &call);
	}
	pending_dirs_remove(fs->pending, path);
	crashfs_keep_parent_visible(fs, path);
	return 0;
}

int crashfs_rmdir(const char *path)
{
	struct crashfs *fs = crashfs_get();
	struct view_path view;

	if (fs->settings.read_only)
		return crashfs_refuse_read_only(fs, "rmdir", path);
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0)
		return crashfs_report_invalid(fs, result, "rmdir", path, &view);
	switch (view.kind) {
	case VIEW_DAY:
	case VIEW_NAME_BRANCH:
	case VIEW_RADIX_DIR:
	case VIEW_CRASH_DIR:
		break;
	case VIEW_ROOT:
	case VIEW_CONTROL_DIR:
	case VIEW_BY_ID_DIR:
		return crashfs_report(fs, -EBUSY, "rmdir", path,
				      "a directory of the mount itself");
	default:
		return -ENOTDIR;
	}
	if (staging_has_children(fs->staging, path) ||
	    pending_dirs_has_children(fs->pending, path))
		return -ENOTEMPTY;
	if (view.kind == VIEW_CRASH_DIR)
		return rmdir_crash(fs, path, &view);
	return rmdir_radix(fs, path, &view);
}
