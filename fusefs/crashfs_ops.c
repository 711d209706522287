/*
 * crashfs_ops.c - the libfuse operations of the mount (see crashfs.h):
 * what every handler shares (crashfs_internal.h), getattr, init, stats and
 * the operations table.
 *
 * Every handler parses its path with view_path_parse(), answers from the
 * store, the staging table or the pending directories, and on failure
 * returns a negative errno after logging one line (crashfs_report()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fusefs/crashfs_internal.h"
#include "fusefs/stats_format.h"
#include "storage/crash_log.h"
#include "storage/read_cache/read_cache.h"

struct crashfs *crashfs_get(void)
{
	return fuse_get_context()->private_data;
}

struct handle *crashfs_handle_of(struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

static bool request_interrupted(void *arg)
{
	(void)arg;
	return fuse_interrupted() != 0;
}

/* A store call that gives up with -EINTR when the caller is interrupted
 * (a retry backoff polls it), and with -ETIMEDOUT after request_timeout. */
void crashfs_call_begin(struct crash_call *call)
{
	crash_call_init(call);
	call->interrupted = request_interrupted;
	crash_call_set_timeout(call, crashfs_get()->settings.request_timeout);
}

static enum crash_log_level level_of(int code)
{
	switch (code) {
	case -ENOENT:
	case -EEXIST:
	case -ENOTEMPTY:
		return CRASH_LOG_DEBUG; /* everyday answers: mkdir -p, rm */
	case -EINVAL:
	case -EROFS:
	case -EPERM:
	case -EACCES:
	case -EBUSY:
		return CRASH_LOG_WARNING;
	default:
		return CRASH_LOG_ERROR;
	}
}

int crashfs_report(struct crashfs *fs, int code, const char *operation,
		   const char *path, const char *format, ...)
{
	char reason[CRASH_ERROR_MESSAGE_MAX];
	va_list args;

	va_start(args, format);
	vsnprintf(reason, sizeof reason, format, args);
	va_end(args);
	if (code != -ENOENT)
		COUNT(fs, errors);
	crash_log(level_of(code), "%s %s: %s (%s)", operation,
		  path ? path : "(unlinked file)", reason, strerror(-code));
	return code;
}

int crashfs_report_store(struct crashfs *fs, int code, const char *operation,
			 const char *path, const struct crash_call *call)
{
	return crashfs_report(fs, code, operation, path, "%s",
			      call->error.message[0] ? call->error.message
						     : "store error");
}

int crashfs_report_invalid(struct crashfs *fs, int code, const char *operation,
			   const char *path, const struct view_path *view)
{
	if (code == -ENAMETOOLONG)
		return crashfs_report(fs, code, operation, path,
				      "name too long");
	return crashfs_report(fs, code, operation, path, "%s",
			      view->reason ? view->reason
					   : "not a path of the view");
}

int crashfs_refuse_read_only(struct crashfs *fs, const char *operation,
			     const char *path)
{
	return crashfs_report(fs, -EROFS, operation, path, "mounted read-only");
}

/* --- attributes ------------------------------------------------------ */

void crashfs_fill_dir(struct crashfs *fs, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFDIR | 0755;
	/* The number of subdirectories is not known without listing; 1 tells
	 * fts (find, du) not to infer it from the link count. */
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_mtim = fs->mount_time;
	st->st_ctim = fs->mount_time;
	st->st_atim = fs->mount_time;
}

void crashfs_fill_file(struct crashfs *fs, struct stat *st,
		       const struct crash_part_stat *part_stat)
{
	memset(st, 0, sizeof *st);
	mode_t mode = part_stat->mode & 07777;
	st->st_mode = S_IFREG | (mode ? mode : 0644);
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = part_stat->size;
	st->st_blocks = (part_stat->size + 511) / 512;
	st->st_blksize = CRASHFS_MAX_WRITE;
	st->st_mtim = part_stat->mtime;
	st->st_ctim = part_stat->mtime;
	st->st_atim = part_stat->mtime;
}

void crashfs_fill_staged(struct crashfs *fs, struct stat *st,
			 struct staged_file *file)
{
	memset(st, 0, sizeof *st);
	pthread_mutex_lock(&file->lock);
	staged_file_stat(file, st);
	pthread_mutex_unlock(&file->lock);
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = CRASHFS_MAX_WRITE;
}

/* Does the store have this directory?  0, -ENOENT or another error.  A
 * store that cannot list (or stat) shows every valid directory: crash ids
 * place themselves. */
int crashfs_store_dir_exists(struct crashfs *fs, const struct view_path *view,
			     struct crash_call *call)
{
	int result;

	switch (view->kind) {
	case VIEW_DAY:
	case VIEW_NAME_BRANCH:
	case VIEW_RADIX_DIR:
		result = crash_store_stat_radix_dir(
			fs->store, call, view->day,
			view->kind == VIEW_DAY ? "" : view->prefix, NULL);
		break;
	case VIEW_CRASH_DIR:
		result = crash_store_stat_crash(fs->store, call,
						view->crash_id, NULL);
		break;
	default:
		return 0;
	}
	if (result == -ENOTSUP)
		return 0;
	return result < 0 ? result : 0;
}

int crashfs_dir_exists(struct crashfs *fs, const char *path,
		       const struct view_path *view, struct crash_call *call)
{
	if (pending_dirs_contains(fs->pending, path))
		return 0;
	return crashfs_store_dir_exists(fs, view, call);
}

int crashfs_stat_view(struct crashfs *fs, const char *path,
		      const struct view_path *view, struct stat *st)
{
	struct crash_call call;
	struct crash_part_stat part_stat;
	int result;

	crashfs_call_begin(&call);
	switch (view->kind) {
	case VIEW_ROOT:
	case VIEW_CONTROL_DIR:
	case VIEW_BY_ID_DIR:
		crashfs_fill_dir(fs, st);
		return 0;
	case VIEW_STATS_FILE:
		crashfs_fill_stats_file(fs, st);
		return 0;
	case VIEW_DAY:
	case VIEW_NAME_BRANCH:
	case VIEW_RADIX_DIR:
	case VIEW_CRASH_DIR:
		result = crashfs_dir_exists(fs, path, view, &call);
		if (result < 0)
			return result == -ENOENT
				       ? -ENOENT
				       : crashfs_report_store(fs, result,
							      "lookup", path,
							      &call);
		crashfs_fill_dir(fs, st);
		return 0;
	case VIEW_PART_FILE:
	case VIEW_STAGED_NAME: {
		/* Being written: the stored version (what readers get) if
		 * there is one, else the staged bytes. */
		struct staged_file *file = staging_find(fs->staging, path);
		if (file) {
			pthread_mutex_lock(&file->lock);
			bool stored = file->stored;
			pthread_mutex_unlock(&file->lock);
			if (!stored || view->kind == VIEW_STAGED_NAME) {
				crashfs_fill_staged(fs, st, file);
				staging_put(file);
				return 0;
			}
		}
		if (view->kind == VIEW_STAGED_NAME)
			return -ENOENT;
		result = crash_store_stat_part(fs->store, &call, view->crash_id,
					       &view->part, &part_stat);
		if (result == -ENOENT && file) {
			crashfs_fill_staged(fs, st, file);
			staging_put(file);
			return 0;
		}
		staging_put(file);
		if (result < 0)
			return result == -ENOENT
				       ? -ENOENT
				       : crashfs_report_store(fs, result,
							      "lookup", path,
							      &call);
		crashfs_fill_file(fs, st, &part_stat);
		return 0;
	}
	default:
		return -ENOENT;
	}
}

static int crashfs_getattr(const char *path, struct stat *st,
			   struct fuse_file_info *fi)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = crashfs_handle_of(fi);
	struct view_path view;

	COUNT(fs, lookups);
	if (handle) {
		switch (handle->kind) {
		case HANDLE_STORED:
			crashfs_fill_file(fs, st, &handle->stat);
			return 0;
		case HANDLE_STAGED:
			crashfs_fill_staged(fs, st, handle->staged);
			return 0;
		case HANDLE_STATS: {
			struct crash_part_stat part_stat = {
				.size = (off_t)handle->length,
				.mode = 0444,
				.mtime = fs->mount_time,
			};
			crashfs_fill_file(fs, st, &part_stat);
			return 0;
		}
		case HANDLE_DIR:
			path = handle->text;
			break;
		}
	}
	if (!path)
		return -ENOENT;
	int result = view_path_parse(&fs->view, path, &view);
	if (result < 0) {
		crashfs_report_invalid(fs, result, "lookup", path, &view);
		return -ENOENT;
	}
	return crashfs_stat_view(fs, path, &view, st);
}

/* --- invalidation and pending directories ---------------------------- */

/* The kernel may cache a part under its other path (the radix path vs
 * .crashfs/by-id): have it forget that one. */
void crashfs_invalidate_part(struct crashfs *fs, const char *crash_id,
			     const struct crash_part *part, const char *path)
{
	char other[PATH_MAX];
	for (int by_id = 0; by_id < 2; by_id++) {
		if (view_part_path(&fs->view, crash_id, part, by_id, other,
				   sizeof other) > 0 &&
		    (!path || strcmp(other, path) != 0))
			invalidator_queue(fs->invalidator, other);
	}
}

void crashfs_invalidate_crash_dir(struct crashfs *fs, const char *crash_id,
				  const char *path)
{
	char other[PATH_MAX];
	for (int by_id = 0; by_id < 2; by_id++) {
		if (view_crash_dir_path(&fs->view, crash_id, by_id, other,
					sizeof other) > 0 &&
		    (!path || strcmp(other, path) != 0))
			invalidator_queue(fs->invalidator, other);
	}
}

/* A crash was stored: the store has its directories now. */
void crashfs_crash_landed(struct crashfs *fs, const char *crash_id)
{
	char path[PATH_MAX];
	int length;

	if (view_crash_dir_path(&fs->view, crash_id, true, path, sizeof path) >
	    0)
		pending_dirs_remove(fs->pending, path);
	length = view_crash_dir_path(&fs->view, crash_id, false, path,
				     sizeof path);
	/* The crash (or leaf) directory, then each parent up to the day. */
	while (length > 1) {
		pending_dirs_remove(fs->pending, path);
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
		length = (int)(slash - path);
	}
}

/* After removing something from the directory of path: if the store no
 * longer has that directory, keep it in the view until its own rmdir, as a
 * filesystem would (`rm -r` removes the files, then the directory). */
void crashfs_keep_parent_visible(struct crashfs *fs, const char *path)
{
	char parent[PATH_MAX];
	struct view_path view;
	struct crash_call call;
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof parent)
		return;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	if (view_path_parse(&fs->view, parent, &view) < 0)
		return;
	if (view.kind != VIEW_DAY && view.kind != VIEW_NAME_BRANCH &&
	    view.kind != VIEW_RADIX_DIR && view.kind != VIEW_CRASH_DIR)
		return;
	if (pending_dirs_contains(fs->pending, parent))
		return;
	crashfs_call_begin(&call);
	if (crashfs_store_dir_exists(fs, &view, &call) != -ENOENT)
		return;
	int result = pending_dirs_add(fs->pending, parent);
	if (result < 0 && result != -EEXIST)
		crash_log(CRASH_LOG_WARNING,
			  "keep %s: cannot remember the emptied directory: %s",
			  parent, strerror(-result));
}

/* --- directories ------------------------------------------------------ */

bool crashfs_store_can_write(struct crashfs *fs)
{
	return crash_store_can(fs->store, save_raw_crash) ||
	       crash_store_can(fs->store, save_dump) ||
	       crash_store_can(fs->store, save_processed);
}

/* --- files ------------------------------------------------------------ */

int crashfs_new_handle(enum handle_kind kind, struct handle **out)
{
	struct crashfs *fs = crashfs_get();
	struct handle *handle = calloc(1, sizeof *handle);
	if (!handle)
		return -ENOMEM;
	handle->kind = kind;
	handle->fd = -1;
	pthread_mutex_lock(&fs->handles_lock);
	handle->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = handle;
	fs->handles = handle;
	pthread_mutex_unlock(&fs->handles_lock);
	*out = handle;
	return 0;
}

/* Unregisters and frees a handle whose resources are released. */
void crashfs_free_handle(struct crashfs *fs, struct handle *handle)
{
	pthread_mutex_lock(&fs->handles_lock);
	if (handle->prev)
		handle->prev->next = handle->next;
	else
		fs->handles = handle->next;
	if (handle->next)
		handle->next->prev = handle->prev;
	pthread_mutex_unlock(&fs->handles_lock);
	free(handle->text);
	free(handle);
}

void crashfs_begin(struct crashfs *fs)
{
	pthread_mutex_init(&fs->handles_lock, NULL);
	fs->handles = NULL;
}

void crashfs_end(struct crashfs *fs)
{
	while (fs->handles) {
		struct handle *handle = fs->handles;
		if (handle->kind == HANDLE_STORED) {
			close(handle->fd);
		} else if (handle->kind == HANDLE_STAGED) {
			struct staged_file *file = handle->staged;
			pthread_mutex_lock(&file->lock);
			file->open_count--;
			if (file->dirty && !file->unlinked &&
			    file->view.kind == VIEW_PART_FILE)
				crash_log(CRASH_LOG_WARNING,
					  "unmount: %s was still open for "
					  "writing; its last version is not "
					  "stored",
					  file->path);
			pthread_mutex_unlock(&file->lock);
			staging_put(file);
		}
		crashfs_free_handle(fs, handle);
	}
	pthread_mutex_destroy(&fs->handles_lock);
}

static void *crashfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct crashfs *fs = crashfs_get();
	struct crashfs_settings *settings = &fs->settings;

	/* Paths are what this filesystem is about; inode numbers come from
	 * libfuse.  Handles carry everything read/write need, so libfuse
	 * need not compute paths for them. */
	cfg->use_ino = 0;
	cfg->nullpath_ok = 1;
	/* Never rename open unlinked files to .fuse_hidden*. */
	cfg->hard_remove = 1;
	if (!settings->entry_timeout_set)
		cfg->entry_timeout = settings->cache_timeout;
	if (!settings->attr_timeout_set)
		cfg->attr_timeout = settings->cache_timeout;
	if (!settings->negative_timeout_set)
		cfg->negative_timeout = 0; /* a crash may arrive any time */
	cfg->kernel_cache = 0; /* per open: keep_cache on stored parts */
	cfg->auto_cache = 0;

	if (conn->max_write < CRASHFS_MAX_WRITE)
		conn->max_write = CRASHFS_MAX_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	if (settings->conn_opts)
		fuse_apply_conn_info_opts(settings->conn_opts, conn);
	if (!settings->splice)
		conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_READ |
					  FUSE_CAP_SPLICE_WRITE |
					  FUSE_CAP_SPLICE_MOVE);
	crash_log(CRASH_LOG_INFO,
		  "mounted: view %s, cache %gs, keep_cache %s, max_write %u, "
		  "splice read %s write %s, writeback_cache %s, readdirplus %s",
		  fs->view.mode == VIEW_MODE_LEGACY ? "legacy" : "radix",
		  cfg->entry_timeout, settings->keep_cache ? "on" : "off",
		  conn->max_write,
		  (conn->want & FUSE_CAP_SPLICE_READ) ? "on" : "off",
		  (conn->want & FUSE_CAP_SPLICE_WRITE) ? "on" : "off",
		  (conn->want & FUSE_CAP_WRITEBACK_CACHE) ? "on" : "off",
		  (conn->want & FUSE_CAP_READDIRPLUS) ? "on" : "off");
	return fs;
}

/* --- stats ------------------------------------------------------------ */

json_t *crashfs_stats(struct crashfs *fs)
{
	struct crashfs_counters *c = &fs->counters;
	/* So that the counts say what is really staged. */
	staging_expire_temporaries(fs->staging, false);
	const struct {
		const char *name;
		uint64_t value;
	} counters[] = {
		{ "lookups", atomic_load(&c->lookups) },
		{ "listings", atomic_load(&c->listings) },
		{ "opens", atomic_load(&c->opens) },
		{ "reads", atomic_load(&c->reads) },
		{ "bytes_read", atomic_load(&c->bytes_read) },
		{ "writes", atomic_load(&c->writes) },
		{ "bytes_written", atomic_load(&c->bytes_written) },
		{ "commits", atomic_load(&c->commits) },
		{ "bytes_committed", atomic_load(&c->bytes_committed) },
		{ "commit_errors", atomic_load(&c->commit_errors) },
		{ "removes", atomic_load(&c->removes) },
		{ "renames", atomic_load(&c->renames) },
		{ "mkdirs", atomic_load(&c->mkdirs) },
		{ "mtime_updates", atomic_load(&c->mtime_updates) },
		{ "errors", atomic_load(&c->errors) },
		{ "staged_files", staging_count(fs->staging) },
		{ "temporaries", staging_temporary_count(fs->staging) },
		{ "temporaries_expired",
		  staging_temporaries_expired(fs->staging) },
		{ "pending_dirs", pending_dirs_count(fs->pending) },
		{ "spool_bytes", spool_bytes(fs->spool) },
		{ "spool_max", spool_max_bytes(fs->spool) },
		{ "invalidations", invalidator_sent(fs->invalidator) },
		{ "invalidations_dropped",
		  invalidator_dropped(fs->invalidator) },
	};
	json_t *mount = json_object();
	json_t *root = json_object();
	if (!mount || !root) {
		json_decref(mount);
		json_decref(root);
		return NULL;
	}
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
		json_object_set_new(
			mount, counters[i].name,
			json_integer((json_int_t)counters[i].value));
	json_object_set_new(mount, "view",
			    json_string(fs->view.mode == VIEW_MODE_LEGACY
						? "legacy"
						: "radix"));
	json_object_set_new(mount, "read_only",
			    json_boolean(fs->settings.read_only));
	if (fs->read_cache) {
		json_t *cache = json_object();
		if (cache) {
			read_cache_describe(fs->read_cache, cache);
			json_object_set_new(mount, "read_cache", cache);
		}
	}
	json_object_set_new(root, "mount", mount);
	json_t *stores = crash_store_stats(fs->store);
	json_object_set_new(root, "stores", stores ? stores : json_object());
	return root;
}

char *crashfs_stats_text(struct crashfs *fs)
{
	json_t *stats = crashfs_stats(fs);
	char *text = stats ? stats_format(stats) : NULL;
	json_decref(stats);
	return text;
}

/* The size of a snapshot taken now: that of every snapshot (the values
 * have fixed widths, stats_format.h), so the size the kernel caches stays
 * true. */
void crashfs_fill_stats_file(struct crashfs *fs, struct stat *st)
{
	char *text = crashfs_stats_text(fs);
	struct crash_part_stat part_stat = {
		.mode = 0444,
		.mtime = fs->mount_time,
		.size = text ? (off_t)strlen(text) : 0,
	};
	free(text);
	crashfs_fill_file(fs, st, &part_stat);
}

const struct fuse_operations crashfs_operations = {
	.init = crashfs_init,
	.getattr = crashfs_getattr,
	.opendir = crashfs_opendir,
	.readdir = crashfs_readdir,
	.releasedir = crashfs_releasedir,
	.mkdir = crashfs_mkdir,
	.rmdir = crashfs_rmdir,
	.unlink = crashfs_unlink,
	.rename = crashfs_rename,
	.symlink = crashfs_symlink,
	.link = crashfs_link,
	.mknod = crashfs_mknod,
	.chmod = crashfs_chmod,
	.chown = crashfs_chown,
	.truncate = crashfs_truncate,
	.utimens = crashfs_utimens,
	.create = crashfs_create,
	.open = crashfs_open,
	.read_buf = crashfs_read_buf,
	.write_buf = crashfs_write_buf,
	.flush = crashfs_flush,
	.fsync = crashfs_fsync,
	.release = crashfs_release,
	.statfs = crashfs_statfs,
};
