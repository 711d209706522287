/*
 * crashfs_commit.c - committing staged files to the store.
 *
 * Commit = validate (JSON, gzip of JSON) then one store call with the spool
 * file; a failure stores nothing new and the store keeps what it had.  The
 * store is called without the file's lock (the locking rule of staging.h):
 * a store call may wait out retry backoffs, and the file's other requests
 * must not wait with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusefs/crashfs_internal.h"
#include "fusefs/part_check.h"
#include "storage/crash_log.h"

/* What a commit works from once it let go of file->lock (staging.h). */
struct commit_snapshot {
	struct view_path target;
	char *path;
	char *spool_path;
	int fd; /* a dup() of the spool file's descriptor */
	off_t size;
	struct timespec mtime;
	uint64_t generation;
	bool written;
};

static void snapshot_free(struct commit_snapshot *snapshot)
{
	if (snapshot->fd >= 0)
		close(snapshot->fd);
	free(snapshot->path);
	free(snapshot->spool_path);
}

/* file->lock held. */
static int snapshot_take(struct staged_file *file,
			 const struct view_path *target, const char *path,
			 struct commit_snapshot *snapshot)
{
	*snapshot = (struct commit_snapshot){ .fd = -1 };
	view_path_copy(&snapshot->target, target);
	snapshot->path = strdup(path);
	snapshot->spool_path = strdup(file->spool_path);
	if (!snapshot->path || !snapshot->spool_path) {
		snapshot_free(snapshot);
		return -ENOMEM;
	}
	snapshot->fd = fcntl(file->fd, F_DUPFD_CLOEXEC, 0);
	if (snapshot->fd < 0) {
		int result = -errno;
		snapshot_free(snapshot);
		return result;
	}
	snapshot->size = file->size;
	snapshot->mtime = file->mtime;
	snapshot->generation = file->generation;
	snapshot->written = file->written;
	return 0;
}

/* Checks the bytes of a JSON part; *json gets the parsed document. */
static int validate(struct crashfs *fs, const struct commit_snapshot *snapshot,
		    json_t **json, char *message, size_t message_size)
{
	switch (snapshot->target.part.type) {
	case CRASH_PART_RAW_CRASH:
		return part_check_raw_crash(snapshot->fd, snapshot->size,
					    fs->settings.json_max, json,
					    message, message_size);
	case CRASH_PART_PROCESSED:
		return part_check_processed(snapshot->fd, snapshot->size,
					    fs->settings.json_max, json,
					    message, message_size);
	case CRASH_PART_DUMP:
		break;
	}
	return 0;
}

/* The one store call of a commit. */
static int save(struct crashfs *fs, const struct commit_snapshot *snapshot,
		const json_t *json, bool adoptable, struct crash_call *call)
{
	const struct view_path *target = &snapshot->target;
	struct crash_blob blob = {
		.fd = snapshot->fd,
		.size = snapshot->size,
		.mtime = snapshot->mtime,
		.path = snapshot->spool_path,
		.adoptable = adoptable,
		.json = json,
	};
	crashfs_call_begin(call);
	switch (target->part.type) {
	case CRASH_PART_RAW_CRASH:
		return crash_store_save_raw_crash(fs->store, call,
						  target->crash_id, &blob,
						  NULL, 0);
	case CRASH_PART_DUMP: {
		struct crash_dump dump = {
			.dump_name = target->part.dump_name,
			.blob = blob,
		};
		return crash_store_save_dump(fs->store, call, target->crash_id,
					     &dump);
	}
	case CRASH_PART_PROCESSED:
		return crash_store_save_processed(fs->store, call,
						  target->crash_id, &blob);
	}
	return -EINVAL;
}

/* Stores a staged file as the part named by target.  Called with
 * file->lock held and returns with it held, but lets go of it while it
 * validates and calls the store (the locking rule of staging.h); a commit
 * of the same file in flight is waited for first.
 *
 * Validation failures are final (dirty cleared: the close reported them);
 * a store failure leaves the file dirty so a later fsync or close tries
 * again.  A change made while the lock was let go (the generation moved)
 * leaves it dirty too: the next commit stores the newer version. */
int crashfs_commit(struct crashfs *fs, struct staged_file *file,
		  const struct view_path *target, const char *path,
		  bool adoptable, bool final)
{
	staged_file_wait_commit(file);
	if (file->write_error) {
		/* The writer was told; a file missing bytes is no crash. */
		file->dirty = false;
		COUNT(fs, commit_errors);
		return crashfs_report(fs, file->write_error, "commit", path,
				      "a write to it failed; nothing stored");
	}
	struct commit_snapshot snapshot;
	int result = snapshot_take(file, target, path, &snapshot);
	if (result < 0) {
		file->commit_failed = true;
		COUNT(fs, commit_errors);
		return crashfs_report(fs, result, "commit", path,
				      "cannot take hold of the spool file");
	}
	staged_file_commit_begin(file);
	pthread_mutex_unlock(&file->lock);

	char message[CRASH_ERROR_MESSAGE_MAX];
	json_t *json = NULL;
	struct crash_call call;
	bool offered = false;
	result = validate(fs, &snapshot, &json, message, sizeof message);
	bool invalid = result < 0;
	if (!invalid) {
		result = save(fs, &snapshot, json, adoptable, &call);
		offered = adoptable;
		if (result == 0) {
			crashfs_crash_landed(fs, snapshot.target.crash_id);
			crashfs_invalidate_part(fs, snapshot.target.crash_id,
						&snapshot.target.part,
						snapshot.path);
		}
	}
	json_decref(json);

	pthread_mutex_lock(&file->lock);
	bool same_spool = staged_file_commit_end(file, snapshot.spool_path);
	/* Whether the store linked it or not, the inode stays ours only if
	 * it was not offered.  (A write meanwhile continued in a copy.) */
	if (offered && same_spool)
		file->adopted = true;
	bool current = file->generation == snapshot.generation;
	if (invalid && !final && !snapshot.written) {
		/* Nothing written yet: a shell's `cmd > <id>.json` opens,
		 * dup2()s and closes the new file before cmd writes a byte.
		 * That close gets the error (the shell ignores it) and the
		 * file stays dirty for the writes to come; the last close
		 * reports it if nothing comes. */
		crash_log(CRASH_LOG_DEBUG, "commit %s: %s; nothing written yet",
			  snapshot.path, message);
	} else if (invalid) {
		if (current)
			file->dirty = false;
		COUNT(fs, commit_errors);
		result = crashfs_report(fs, result, "commit", snapshot.path,
					"%s; nothing stored", message);
	} else if (result < 0) {
		if (current)
			file->commit_failed = true;
		COUNT(fs, commit_errors);
		result = crashfs_report_store(fs, result, "commit",
					      snapshot.path, &call);
	} else {
		file->stored = true;
		if (current) {
			file->dirty = false;
			file->commit_failed = false;
		}
		COUNT(fs, commits);
		COUNT_BYTES(fs, bytes_committed, snapshot.size);
		crash_log(CRASH_LOG_DEBUG, "commit %s: %lld bytes%s",
			  snapshot.path, (long long)snapshot.size,
			  current ? "" : " (changed meanwhile: still dirty)");
	}
	snapshot_free(&snapshot);
	return result;
}

/* file->lock held: a dirty part file is committed under its own name.
 * final: the last chance (release, truncate by path), errors are logged. */
int crashfs_commit_if_dirty(struct crashfs *fs, struct staged_file *file,
			   bool adoptable, bool final)
{
	staged_file_wait_commit(file);
	if (!file->dirty || file->unlinked || file->view.kind != VIEW_PART_FILE)
		return 0;
	/* An empty dump nobody wrote to yet (see crashfs_commit()): it is stored at
	 * the last close, not at the shell's early dup2() close. */
	if (!final && !file->written && file->view.part.type == CRASH_PART_DUMP)
		return 0;
	return crashfs_commit(fs, file, &file->view, file->path, adoptable, final);
}

/* file->lock held, by the last user of a file (release, truncate by path):
 * a dirty part file is committed (again, if it changed while a commit was
 * in flight) as long as nobody opened it meanwhile, then the store serves
 * it.  A commit whose failure was reported (close, fsync) is not tried
 * again: the writer was told nothing was stored, and a retry here could
 * wait out a whole backoff after Ctrl-C.  Returns the last commit's
 * result. */
int crashfs_commit_closed(struct crashfs *fs, struct staged_file *file)
{
	int result = 0;
	staged_file_wait_commit(file);
	while (file->open_count == 0 && file->dirty && !file->commit_failed &&
	       !file->unlinked && file->view.kind == VIEW_PART_FILE)
		result = crashfs_commit(fs, file, &file->view, file->path, true, true);
	/* A part is served by the store from now on; a temporary file waits
	 * for its rename. */
	if (file->open_count == 0 && file->view.kind == VIEW_PART_FILE) {
		/* Never stored (its commit failed): the kernel must not go
		 * on showing it. */
		if (!file->stored && !file->unlinked)
			invalidator_queue(fs->invalidator, file->path);
		staging_drop(file);
	}
	return result;
}

static bool store_can_save(struct crashfs *fs, enum crash_part_type type)
{
	switch (type) {
	case CRASH_PART_RAW_CRASH:
		return crash_store_can(fs->store, save_raw_crash);
	case CRASH_PART_DUMP:
		return crash_store_can(fs->store, save_dump);
	case CRASH_PART_PROCESSED:
		return crash_store_can(fs->store, save_processed);
	}
	return false;
}

static const char *part_type_plural(enum crash_part_type type)
{
	switch (type) {
	case CRASH_PART_RAW_CRASH:
		return "raw crashes";
	case CRASH_PART_DUMP:
		return "dumps";
	case CRASH_PART_PROCESSED:
		return "processed crashes";
	}
	return "parts";
}

int crashfs_check_can_save(struct crashfs *fs, const char *operation,
			   const char *path, const struct crash_part *part)
{
	if (store_can_save(fs, part->type))
		return 0;
	/* A store that saves nothing is read-only; one that saves other
	 * parts does not support this one (a PostgreSQL store and dumps). */
	bool saves_something = store_can_save(fs, CRASH_PART_RAW_CRASH) ||
			       store_can_save(fs, CRASH_PART_DUMP) ||
			       store_can_save(fs, CRASH_PART_PROCESSED);
	return crashfs_report(fs, saves_something ? -ENOTSUP : -EROFS,
			      operation, path, "the store keeps no %s",
			      part_type_plural(part->type));
}
