/*
 * fs_queue.c - the date branch of the dated layouts: Socorro's on-disk
 * queue of new crashes (spec/fs-layouts.md §5, §6, §7).
 *
 * A queued crash has two relative symlinks:
 *   the back link   <crash dir>/date_root -> ../../../../date/HH/MM_SS
 *                   (legacy: <leaf>/<id> -> ../../../date/HH/MM_SS)
 *   the slot link   <day>/date/HH/MM_SS/<id> -> ../../../name/<radix>/<id>
 *                   (legacy: -> ../../../name/<radix>)
 * The state lives entirely in those links; nothing is locked.
 *
 * Socorro failed a re-save of a queued crash with EEXIST on the back link,
 * after the files had been overwritten.  Here an existing back link means
 * "queued already": its slot link is made sure of (created if missing,
 * which also repairs a back link Socorro's legacy remove left behind) and
 * the save succeeds with exactly one slot link.
 *
 * A pass of new_crashes walks the branch as Socorro's did and yields the
 * crashes it would have handed out, but takes none: ack_crash removes both
 * links of a crash afterwards (and the slot and hour directories left
 * empty, by Socorro's rules), so a consumer that dies before its ack leaves
 * the crash queued.  The token of an entry holds the identity of the raw
 * crash's file at the pass (inode and ctime: every save renames a new file
 * into place): a crash saved again between the pass and the ack is a new
 * version to process, so its ack queues it anew instead of dropping it --
 * whatever mtime the new version was given (a copy keeps the old one).
 * Saving a crash again after its ack queues it again too.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/fs/fs_internal.h"
#include "storage/fs/fs_paths.h"

/* Attempts when links vanish under us (a concurrent pass or remove). */
#define LINK_ATTEMPTS 4
/* How deep webhead slot directories are followed (2009 trees use one). */
#define WEBHEAD_DEPTH_MAX 8

/* -- enqueue / dequeue ---------------------------------------------------- */

/*
 * The back link exists: find the slot it names.  1 and *slot if it has
 * our shape; 0 if the crash counts as queued and must be left alone (a
 * link of another shape, e.g. into a 2009 webhead slot, that resolves);
 * -EAGAIN if the link vanished or dangled and was removed: queue afresh.
 */
static int read_back_link(const struct fs_store *fs, struct crash_call *call,
			  const struct fs_crash_paths *paths,
			  struct fs_slot *slot)
{
	char target[PATH_MAX];
	ssize_t length = readlink(paths->back_link, target, sizeof target - 1);
	if (length < 0) {
		if (errno == ENOENT)
			return -EAGAIN;
		if (errno == EINVAL)
			return crash_error_set(&call->error, -EEXIST,
					       "cannot queue: %s exists and is "
					       "not a symbolic link",
					       paths->back_link);
		return fs_error(call, errno, "read link", paths->back_link);
	}
	target[length] = '\0';
	if (fs_paths_parse_back_link_target(fs, paths, target, slot) == 0)
		return 1;
	struct stat st;
	if (stat(paths->back_link, &st) == 0)
		return 0;
	crash_log(CRASH_LOG_INFO, "removing dangling link %s -> %s",
		  paths->back_link, target);
	if (unlink(paths->back_link) < 0 && errno != ENOENT)
		return fs_error(call, errno, "remove dangling link",
				paths->back_link);
	return -EAGAIN;
}

/* Creates <slot dir>/<id> (and the slot dir if it is missing). */
static int make_slot_link(const struct fs_store *fs, struct crash_call *call,
			  const struct fs_crash_paths *paths,
			  const char *crash_id, const struct fs_slot *slot)
{
	char slot_dir[PATH_MAX], slot_link[PATH_MAX], target[PATH_MAX];
	int result;

	if ((result = fs_paths_slot_dir(fs, call, paths->day, slot, slot_dir,
					sizeof slot_dir)) < 0 ||
	    (result = fs_path_format(call, slot_link, sizeof slot_link,
				     "%s/%s", slot_dir, crash_id)) < 0 ||
	    (result = fs_paths_slot_link_target(fs, call, paths, crash_id,
						target, sizeof target)) < 0)
		return result;
	for (int attempt = 1;; attempt++) {
		if (symlink(target, slot_link) == 0 || errno == EEXIST)
			return 0;
		if (errno != ENOENT)
			return fs_error(call, errno, "create link", slot_link);
		if (attempt >= LINK_ATTEMPTS)
			return crash_error_set(&call->error, -EIO,
					       "create link %s: its directory "
					       "keeps disappearing",
					       slot_link);
		/* New slot, or a pass removed it as empty meanwhile. */
		result = fs_mkdir_p(fs, call, slot_dir);
		if (result < 0)
			return result;
	}
}

int fs_enqueue(const struct fs_store *fs, struct crash_call *call,
	       const char *crash_id)
{
	struct fs_crash_paths paths;
	struct fs_slot slot;
	struct timespec now;
	char target[PATH_MAX];

	int result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	fs_store_now(fs, &now);
	fs_slot_of_time(fs, &now, &slot, NULL);
	result = fs_paths_back_link_target(fs, call, &paths, &slot, target,
					   sizeof target);
	if (result < 0)
		return result;
	/* Socorro's order: the back link first, then the slot link, which
	 * is what a pass looks for. */
	for (int attempt = 1;; attempt++) {
		if (symlink(target, paths.back_link) == 0)
			break;
		if (errno == ENOENT)
			return crash_error_set(&call->error, -EIO,
					       "cannot queue %s: %s vanished "
					       "(removed while being saved?)",
					       crash_id, paths.parent);
		if (errno != EEXIST)
			return fs_error(call, errno, "create link",
					paths.back_link);
		result = read_back_link(fs, call, &paths, &slot);
		if (result == 1)
			break;
		if (result == 0)
			return 0;
		if (result != -EAGAIN)
			return result;
		if (attempt >= LINK_ATTEMPTS)
			return crash_error_set(&call->error, -EIO,
					       "cannot queue %s: its link %s "
					       "keeps changing",
					       crash_id, paths.back_link);
	}
	return make_slot_link(fs, call, &paths, crash_id, &slot);
}

int fs_dequeue(const struct fs_store *fs, struct crash_call *call,
	       const char *crash_id, bool *was_queued)
{
	struct fs_crash_paths paths;
	char slot_link[PATH_MAX];
	struct stat st;

	*was_queued = false;
	int result = fs_paths_crash(fs, call, crash_id, &paths);
	if (result < 0)
		return result;
	if (lstat(paths.back_link, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return fs_error(call, errno, "look at", paths.back_link);
	}
	if (!S_ISLNK(st.st_mode))
		return 0;
	*was_queued = true;
	/* <back link>/<id> resolves through the back link to the slot link,
	 * whatever the link's shape: Socorro's realpath + unlink. */
	result = fs_path_format(call, slot_link, sizeof slot_link, "%s/%s",
				paths.back_link, crash_id);
	if (result < 0)
		return result;
	if (lstat(slot_link, &st) == 0 && S_ISLNK(st.st_mode) &&
	    unlink(slot_link) < 0 && errno != ENOENT)
		return fs_error(call, errno, "remove queue link", slot_link);
	if (unlink(paths.back_link) < 0 && errno != ENOENT)
		return fs_error(call, errno, "remove link", paths.back_link);
	return 0;
}

/* -- new_crashes: the walk of the date branch ------------------------------ */

struct queue_pass {
	struct fs_store *fs;
	struct crash_call *call;
	crash_queue_emit_fn emit;
	void *ctx;
	char current_day[CRASH_DAY_LENGTH + 1];
	struct fs_slot current;
	char date_dir[PATH_MAX]; /* of the day being walked */
};

static bool is_dot_or_dot_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Socorro compares [H, M] >= [current H, current M] as lists of strings. */
static bool slot_is_current_or_later(const struct fs_slot *current,
				     const char *hour, const char *minute_slot)
{
	int order = strcmp(hour, current->hour);
	if (order == 0)
		order = strcmp(minute_slot, current->minute_slot);
	return order >= 0;
}

static void remove_empty_dir(const char *path, const char *what)
{
	if (rmdir(path) == 0)
		return;
	/* A slot still holding links not acknowledged yet, or the hour of a
	 * skipped slot: expected, and retried later. */
	enum crash_log_level level =
		errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT
			? CRASH_LOG_DEBUG
			: CRASH_LOG_WARNING;
	crash_log(level, "new crashes: could not remove %s %s: %s", what, path,
		  strerror(errno));
}

/* Which file a raw crash is: its inode and ctime.  A save renames a new
 * file into place (a new inode, whose number may be one an older version
 * had, but then with a later ctime); its mtime is the caller's and tells
 * nothing. */
struct raw_crash_version {
	uint64_t inode;
	uint64_t ctime_ns; /* never 0 for a file that is there */
};

/* The raw crash behind a slot link; false if it has none (not ready yet,
 * or an orphan link). */
static bool raw_crash_version(const char *path,
			      struct raw_crash_version *version)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	version->inode = (uint64_t)st.st_ino;
	version->ctime_ns = (uint64_t)st.st_ctim.tv_sec * 1000000000u +
			    (uint64_t)st.st_ctim.tv_nsec;
	if (version->ctime_ns == 0)
		version->ctime_ns = 1;
	return true;
}

/* The token: the raw crash's version and where the slot link is, below
 * <root>/<day>/<date branch> ("10/52_10", "12/30/webhead01_0"). */
static int hand_out(struct queue_pass *pass, const char *crash_id,
		    const struct raw_crash_version *version,
		    const char *slot_link)
{
	struct crash_queue_entry entry = {
		.token = { .issuer = &pass->fs->base,
			   .value = { version->inode, version->ctime_ns } },
	};
	if (crash_call_interrupted(pass->call))
		return crash_error_set(&pass->call->error, -EINTR,
				       "new crashes: interrupted");
	size_t base = strlen(pass->date_dir) + 1;
	size_t length = strlen(slot_link) - base - 1 - CRASH_ID_LENGTH;
	if (length > CRASH_QUEUE_WHERE_MAX)
		return 0; /* nested deeper than a token says: left queued */
	memcpy(entry.token.where, slot_link + base, length);
	entry.token.where[length] = '\0';
	memcpy(entry.crash_id, crash_id, CRASH_ID_LENGTH + 1);
	return pass->emit(pass->ctx, &entry);
}

/* Non-legacy rule (§7.3): a link whose crash has its raw crash file is
 * handed out; anything else is left alone. */
static int visit_link(struct queue_pass *pass, const char *slot_link,
		      const char *name)
{
	const struct fs_store *fs = pass->fs;
	char json[PATH_MAX];

	if (!crash_id_is_valid(name))
		return 0;
	if (fs_path_format(pass->call, json, sizeof json, "%s/%s%s",
			   slot_link, name, fs->naming.json_suffix) < 0)
		return -ENAMETOOLONG;
	struct raw_crash_version version;
	if (!raw_crash_version(json, &version))
		return 0;
	return hand_out(pass, name, &version, slot_link);
}

/* Legacy rule (§7.4): hand out a crash whose raw crash file is there; a
 * slot link with no raw crash behind it (orphans, duplicates: Socorro bug
 * 971496) is no entry of the queue and is removed, as Socorro's pass did. */
static int visit_legacy_link(struct queue_pass *pass, const char *slot_link,
			     const char *name)
{
	const struct fs_store *fs = pass->fs;
	char json[PATH_MAX];

	if (fs_path_format(pass->call, json, sizeof json, "%s/%s%s",
			   slot_link, name, fs->naming.json_suffix) < 0)
		return -ENAMETOOLONG;
	struct raw_crash_version version;
	if (crash_id_is_valid(name) && raw_crash_version(json, &version))
		return hand_out(pass, name, &version, slot_link);
	crash_log(CRASH_LOG_INFO,
		  "new crashes: dropping queue link %s: no raw crash behind it",
		  slot_link);
	if (unlink(slot_link) < 0 && errno != ENOENT)
		return fs_error(pass->call, errno, "new crashes: remove",
				slot_link);
	return 0;
}

static int visit_slot(struct queue_pass *pass, const char *slot_dir,
		      int depth);

static int visit_entry(struct queue_pass *pass, const char *slot_dir,
		       const char *name, int depth)
{
	char path[PATH_MAX];
	struct stat st;

	if (fs_path_format(pass->call, path, sizeof path, "%s/%s", slot_dir,
			   name) < 0)
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			crash_log(CRASH_LOG_WARNING, "new crashes: %s: %s",
				  path, strerror(errno));
		return 0;
	}
	if (S_ISLNK(st.st_mode))
		return pass->fs->legacy ? visit_legacy_link(pass, path, name)
					: visit_link(pass, path, name);
	if (!pass->fs->legacy)
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		crash_log(CRASH_LOG_WARNING, "new crashes: unknown file %s",
			  path);
		return 0;
	}
	/* A 2009 webhead slot: visited as a slot, then removed if empty. */
	if (depth >= WEBHEAD_DEPTH_MAX) {
		crash_log(CRASH_LOG_WARNING,
			  "new crashes: %s is nested too deep; left alone",
			  path);
		return 0;
	}
	int result = visit_slot(pass, path, depth + 1);
	if (result != 0)
		return result;
	remove_empty_dir(path, "webhead slot");
	return 0;
}

static int visit_slot(struct queue_pass *pass, const char *slot_dir,
		      int depth)
{
	DIR *dir = opendir(slot_dir);
	if (!dir) {
		if (errno != ENOENT)
			crash_log(CRASH_LOG_WARNING,
				  "new crashes: cannot list %s: %s", slot_dir,
				  strerror(errno));
		return 0;
	}
	int result = 0;
	struct dirent *entry;
	while (result == 0 && (entry = readdir(dir)) != NULL)
		if (!is_dot_or_dot_dot(entry->d_name))
			result = visit_entry(pass, slot_dir, entry->d_name,
					     depth);
	closedir(dir);
	return result;
}

static int pass_hour(struct queue_pass *pass, const char *day,
		     const char *date_dir, const char *hour)
{
	char hour_dir[PATH_MAX], slot_dir[PATH_MAX];

	if (fs_path_format(pass->call, hour_dir, sizeof hour_dir, "%s/%s",
			   date_dir, hour) < 0)
		return -ENAMETOOLONG;
	DIR *dir = opendir(hour_dir);
	if (!dir) {
		/* Socorro's pass died here on a stray file; one stray file
		 * must not stop the queue for good, so it is skipped. */
		if (errno != ENOENT)
			crash_log(CRASH_LOG_WARNING,
				  "new crashes: cannot list %s: %s", hour_dir,
				  strerror(errno));
		return 0;
	}
	bool skipped = false;
	bool today_or_later = strcmp(day, pass->current_day) >= 0;
	int result = 0;
	struct dirent *entry;
	while (result == 0 && (entry = readdir(dir)) != NULL) {
		const char *minute_slot = entry->d_name;
		if (is_dot_or_dot_dot(minute_slot))
			continue;
		/* The current slot may still be being written to. */
		if (today_or_later &&
		    slot_is_current_or_later(&pass->current, hour,
					     minute_slot)) {
			skipped = true;
			continue;
		}
		if (fs_path_format(pass->call, slot_dir, sizeof slot_dir,
				   "%s/%s", hour_dir, minute_slot) < 0) {
			result = -ENAMETOOLONG;
			break;
		}
		result = visit_slot(pass, slot_dir, 0);
		/* Empty once every crash of it was acknowledged. */
		if (result == 0)
			remove_empty_dir(slot_dir, "slot");
	}
	closedir(dir);
	if (result != 0)
		return result;
	/* Socorro compares the hour only, not the day. */
	if (!skipped && strcmp(hour, pass->current.hour) < 0)
		remove_empty_dir(hour_dir, "hour");
	return 0;
}

static int pass_day(struct queue_pass *pass, const char *day)
{
	char *date_dir = pass->date_dir;

	if (fs_path_format(pass->call, date_dir, sizeof pass->date_dir,
			   "%s/%s/%s", pass->fs->root, day,
			   pass->fs->date_branch_base) < 0)
		return -ENAMETOOLONG;
	DIR *dir = opendir(date_dir);
	if (!dir) {
		if (errno != ENOENT && errno != ENOTDIR)
			crash_log(CRASH_LOG_WARNING,
				  "new crashes: cannot list %s: %s", date_dir,
				  strerror(errno));
		return 0;
	}
	int result = 0;
	struct dirent *entry;
	while (result == 0 && (entry = readdir(dir)) != NULL)
		if (!is_dot_or_dot_dot(entry->d_name))
			result = pass_hour(pass, day, date_dir, entry->d_name);
	closedir(dir);
	return result;
}

int fs_new_crashes(struct crash_store *store, struct crash_call *call,
		   crash_queue_emit_fn emit, void *ctx)
{
	struct fs_store *fs = fs_store_of(store);
	struct queue_pass pass = { .fs = fs, .call = call, .emit = emit,
				   .ctx = ctx };
	struct timespec now;

	/* Socorro's non-dated stores return an empty list. */
	if (!fs->dated)
		return 0;
	fs_store_now(fs, &now);
	fs_slot_of_time(fs, &now, &pass.current, pass.current_day);
	DIR *dir = opendir(fs->root);
	if (!dir) {
		int error = errno == ENOENT ? EIO : errno;
		return crash_error_set(&call->error, -error,
				       "new crashes: cannot list the root %s: "
				       "%s",
				       fs->root, strerror(errno));
	}
	int result = 0;
	struct dirent *entry;
	while (result == 0 && (entry = readdir(dir)) != NULL)
		if (!is_dot_or_dot_dot(entry->d_name))
			result = pass_day(&pass, entry->d_name);
	closedir(dir);
	return result;
}

/* -- ack: what Socorro's pass did to a crash it handed out ---------------- */

/* After a slot link went: the directories that held it, if empty now (a
 * webhead slot, the slot), and the hour by Socorro's rule (earlier than
 * the current one, compared without the day). */
static void prune_slot(struct fs_store *fs, const char *date_dir,
		       const char *where)
{
	char path[PATH_MAX];
	struct timespec now;
	struct fs_slot current;
	char current_day[CRASH_DAY_LENGTH + 1];

	size_t base = strlen(date_dir);
	if (base + 1 + strlen(where) >= sizeof path)
		return;
	memcpy(path, date_dir, base);
	path[base] = '/';
	memcpy(path + base + 1, where, strlen(where) + 1);
	/* Up to the slot ("HH/MM_SS"), the hour left for last. */
	while (strchr(path + base + 1, '/')) {
		if (rmdir(path) < 0)
			return;
		*strrchr(path, '/') = '\0';
	}
	fs_store_now(fs, &now);
	fs_slot_of_time(fs, &now, &current, current_day);
	if (strcmp(path + base + 1, current.hour) < 0)
		remove_empty_dir(path, "hour");
}

/* Socorro's visit of a slot link, done at the ack: the back link (through
 * the slot link, as Socorro found it), then the slot link. */
int fs_ack_crash(struct crash_store *store, struct crash_call *call,
		 const struct crash_queue_entry *entry)
{
	struct fs_store *fs = fs_store_of(store);
	struct crash_id_info info;
	char date_dir[PATH_MAX], slot_link[PATH_MAX], json[PATH_MAX];
	char back_link[PATH_MAX];
	struct stat st;

	if (crash_id_parse(entry->crash_id, &info) < 0)
		return crash_error_set(&call->error, -EINVAL,
				       "not a crash id: %.40s",
				       entry->crash_id);
	if (!fs->dated || entry->token.issuer != &fs->base ||
	    !entry->token.where[0] || strstr(entry->token.where, ".."))
		return crash_error_set(&call->error, -ENOENT,
				       "crash %s is not an entry of this "
				       "store's queue",
				       entry->crash_id);
	int result;
	if ((result = fs_path_format(call, date_dir, sizeof date_dir,
				     "%s/%s/%s", fs->root, info.day_name,
				     fs->date_branch_base)) < 0 ||
	    (result = fs_path_format(call, slot_link, sizeof slot_link,
				     "%s/%s/%s", date_dir, entry->token.where,
				     entry->crash_id)) < 0 ||
	    (result = fs_path_format(call, json, sizeof json, "%s/%s%s",
				     slot_link, entry->crash_id,
				     fs->naming.json_suffix)) < 0 ||
	    (result = fs_path_format(call, back_link, sizeof back_link,
				     "%s/%s", slot_link,
				     fs->legacy ? entry->crash_id
						: FS_DATE_ROOT_NAME)) < 0)
		return result;
	if (lstat(slot_link, &st) < 0 || !S_ISLNK(st.st_mode))
		return crash_error_set(&call->error, -ENOENT,
				       "crash %s is not queued (acknowledged "
				       "already?)",
				       entry->crash_id);
	/* Saved again since the pass yielded it: that version is new and
	 * stays queued. */
	struct raw_crash_version version;
	if (raw_crash_version(json, &version) && entry->token.value[1] &&
	    (version.inode != entry->token.value[0] ||
	     version.ctime_ns != entry->token.value[1]))
		return 0;
	if (lstat(back_link, &st) == 0 && S_ISLNK(st.st_mode) &&
	    unlink(back_link) < 0 && errno != ENOENT)
		return fs_error(call, errno, "remove link", back_link);
	if (unlink(slot_link) < 0) {
		if (errno == ENOENT)
			return crash_error_set(&call->error, -ENOENT,
					       "crash %s is not queued "
					       "(acknowledged already?)",
					       entry->crash_id);
		return fs_error(call, errno, "remove queue link", slot_link);
	}
	prune_slot(fs, date_dir, entry->token.where);
	return 0;
}
