/*
 * staging.h - files being written through the mount, before and between
 * commits.
 *
 * A staged file is a spool file (spool.h) plus what the view needs to show
 * it: its path, size, mtime and mode.  The staging table finds staged files
 * by view path, so lookup, getattr, open, unlink, rename, utimens, chmod and
 * truncate see a file while it is being written, and a temporary file
 * (rsync's ".<name>.XXXXXX") between its close and its rename into place.
 *
 * Copy-on-write: once a commit offered the spool file to the store for
 * adoption (a hard link), the inode may be the stored file itself, so the
 * next write or truncate first copies it into a new spool file
 * (staged_file_prepare_write).
 *
 * Threads and locks:
 *   - the table lock guards the table, refs, path, view and in_table;
 *   - staged_file.lock guards the rest of the file;
 *   - order: a file's lock before the table lock; path and view change only
 *     under both, so a holder of either may read them.
 *   - No store call is ever made with a file's lock held: a store call may
 *     wait out retry backoffs for minutes, and getattr, readdir, read,
 *     open, utimens and chmod take the lock.  A commit marks the file
 *     committing and snapshots what it needs under the lock (size, mtime,
 *     target, a dup() of the spool descriptor, the spool path, the
 *     generation), validates and calls the store without it, and applies
 *     the outcome under it again only if the generation (bumped by every
 *     write, truncate and, during a commit, mtime change) has not moved;
 *     else the file stays dirty and the next commit stores the newer
 *     version.  While a commit reads the spool file (spool_in_commit), a
 *     write or truncate copies it first, as after adoption, and leaves the
 *     old spool file to the commit to remove.  Only what commits or must
 *     follow a commit (flush, fsync, release, rename, truncate by path,
 *     unlink) waits for one in flight: staged_file_wait_commit() waits on
 *     the file's condition variable with the lock released.
 * A staged file lives while referenced: by the table and by each user
 * (staging_find/staging_new_file give a reference, staging_put drops it);
 * the last reference closes and removes its spool file.
 *
 * Temporaries (a VIEW_STAGED_NAME: rsync's ".<part>.XXXXXX") are stored
 * only when renamed onto a part.  One that nobody has open and nobody
 * renamed for temporary_ttl seconds was abandoned (its writer died or
 * gave up): staging_expire_temporaries() drops it, logs it and counts it.
 * At most max_temporaries are staged at once, so abandoned temporaries
 * can never use up the table that real parts need.
 */
#ifndef CRASHFS_FUSEFS_STAGING_H
#define CRASHFS_FUSEFS_STAGING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "fusefs/spool.h"
#include "fusefs/view_path.h"

struct staging;

struct staged_file {
	struct staging *staging; /* constant */

	/* table lock */
	struct staged_file *next;
	char *path;
	struct view_path view;
	bool in_table;
	unsigned refs;

	/* lock */
	pthread_mutex_t lock;
	int fd;
	char *spool_path;
	off_t size;
	uint64_t charged;      /* bytes charged to the spool cap */
	struct timespec mtime; /* utimens, else the time of the last write */
	mode_t mode;	       /* permission bits, as chmod left them */
	unsigned open_count;   /* open handles */
	bool dirty;	       /* changed since the last commit attempt */
	bool commit_failed;    /* the last commit failed, and its error was
				  returned (close, fsync, rename): nothing
				  written since asks for another try */
	bool written;	       /* data written (or ftruncate) since staged */
	int write_error;       /* a write failed (-ENOSPC...): not stored
				 * until truncated to 0 and written again */
	bool adopted;	       /* offered to the store for adoption */
	bool stored;	       /* a version of this part is in the store */
	bool unlinked;	       /* removed from the view: never committed */
	uint64_t generation;   /* bumped by each change a commit stores */
	bool committing;       /* a commit is between its snapshot and its
				  outcome, without the lock */
	bool spool_in_commit;  /* that commit reads the current spool file:
				  a write copies it first */
	pthread_cond_t commit_done; /* signalled when committing clears */
	time_t idle_since;	    /* monotonic seconds: last close (or
				       staging), for the expiry of
				       temporaries nobody has open */
	/* Out of the table but not unlinked: replaced by a newer version
	 * (staging_insert with replace); in_table tells. */
};

struct staging_limits {
	size_t max_files;	/* staged files at once (staged_max) */
	size_t max_temporaries; /* of which temporaries (temporary_max) */
	double temporary_ttl;	/* seconds a closed temporary may wait for
				   its rename (temporary_ttl) */
};

int staging_open(struct spool *spool, const struct staging_limits *limits,
		 struct staging **out);
/* Frees every staged file left (their spool files are removed). */
void staging_close(struct staging *staging);
size_t staging_count(struct staging *staging);
size_t staging_temporary_count(struct staging *staging);
uint64_t staging_temporaries_expired(struct staging *staging);
/* Drops the temporaries that expired (see above), at most once a second
 * unless force; returns how many.  Called by staging_insert and
 * staging_list_dir themselves, and by whoever reports the counts.  Takes
 * each file's lock: call with none held. */
size_t staging_expire_temporaries(struct staging *staging, bool force);

/* The staged file at path with a new reference, or NULL. */
struct staged_file *staging_find(struct staging *staging, const char *path);
/* One more reference to a file the caller holds a reference to. */
void staging_hold(struct staged_file *file);
void staging_put(struct staged_file *file);

/* A new empty staged file for path (mtime now), outside the table, with
 * the caller's reference.  The caller sets it up (open_count, dirty,
 * stored, loaded bytes) while nobody else can see it, then inserts it:
 * a file enters the table complete, so no other request ever finds a
 * half-made one (an opener taking it for idle, a reader for empty).  If it
 * is never inserted, staging_put frees it and its spool file. */
int staging_new_file(struct staging *staging, const char *path,
		     const struct view_path *view, mode_t mode,
		     struct staged_file **out);
/* Puts a new file in the table (the table takes a reference of its own).
 * -EEXIST if path is staged already and !replace, -ENOSPC past the
 * table's size.  With replace, a file staged at path before is detached:
 * out of the table (so lookups see the new one), still owned by its open
 * handles and still committed at their close.  Each writer that truncates
 * gets a version of its own, so concurrent rewrites commit whole
 * versions, never a mix.  A temporary past max_temporaries (after
 * expiring what it can) is -ENOSPC too, with a log line naming the
 * limit. */
int staging_insert(struct staging *staging, struct staged_file *file,
		   bool replace);
/* True while a file is staged at path, and for seconds after the last one
 * left the table.  Readers opening such a path bypass the page cache: the
 * kernel shares one inode between readers and writers of a path, and a
 * writer's truncation and size changes would show through a cached read
 * of the stored version.  (A reader that opened a cold path keeps the
 * cache: rewrites of stored parts while they are read are rare.) */
bool staging_is_hot(struct staging *staging, const char *path, int seconds);

/* True if a staged file's directory is dir_path. */
bool staging_has_children(struct staging *staging, const char *dir_path);
/* The staged files of directory dir_path, each with a new reference, in a
 * malloc'd array the caller frees after staging_put()ting each. */
int staging_list_dir(struct staging *staging, const char *dir_path,
		     struct staged_file ***files_out, size_t *count_out);

/* --- The following need file->lock held. --- */

/* Its last handle was closed: the expiry of a temporary counts from now. */
void staged_file_mark_idle(struct staged_file *file);

/* Waits (lock released meanwhile) until no commit of the file is in
 * flight. */
void staged_file_wait_commit(struct staged_file *file);
/* A commit took its snapshot: it is in flight from now on. */
void staged_file_commit_begin(struct staged_file *file);
/* The commit that began with snapshot spool path spool_path is over: wakes
 * the waiters; removes that spool file if a write moved on to a copy.
 * Returns true if the file still uses that spool file. */
bool staged_file_commit_end(struct staged_file *file, const char *spool_path);

/* Fills an empty staged file with the first keep bytes of a stored
 * version (fd of size bytes), then extends it with zeros to keep.  Called
 * before the file is inserted (staging_new_file), so without its lock. */
int staged_file_load(struct staged_file *file, int fd, off_t size, off_t keep);
/* Before writing bytes up to end: copy-on-write if adopted or read by a
 * commit in flight, charge the growth to the spool.  -ENOSPC past the
 * cap. */
int staged_file_prepare_write(struct staged_file *file, off_t end);
/* After a write that reached end: size and mtime follow. */
void staged_file_wrote(struct staged_file *file, off_t end);
/* After a failed write: gives back what prepare_write charged. */
void staged_file_write_failed(struct staged_file *file);
int staged_file_truncate(struct staged_file *file, off_t size);
void staged_file_stat(struct staged_file *file, struct stat *st);

/* Takes the file out of the table (unlink): it is never committed. */
void staging_drop(struct staged_file *file);
/* Moves the file to new_path (rename).  A file staged at new_path before is
 * taken out of the table and returned in *replaced with a reference (the
 * caller marks it unlinked under its own lock), else *replaced is NULL. */
int staging_move(struct staged_file *file, const char *new_path,
		 const struct view_path *new_view,
		 struct staged_file **replaced);

#endif
