/*
 * crashfs.h - the mounted filesystem: one struct crashfs per mount, and the
 * libfuse operations that serve it (crashfs_ops.c).
 *
 * A request's path is parsed by view_path.c into (crash id, part); reads go
 * to the store (crash_store.h) and are served from the descriptor the store
 * opened; writes are staged (staging.h, spool.h) and committed to the store
 * on close, fsync or rename, after part_check.c validated them.
 *
 * Threads: libfuse calls the operations from many threads at once.  The
 * struct is set up before the loop starts and then only read, except for
 * the atomic counters and the modules that lock for themselves (staging,
 * pending_dirs, invalidator, spool).
 */
#ifndef CRASHFS_FUSEFS_CRASHFS_H
#define CRASHFS_FUSEFS_CRASHFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <fuse.h>

#include "fusefs/invalidator.h"
#include "fusefs/pending_dirs.h"
#include "fusefs/spool.h"
#include "fusefs/staging.h"
#include "fusefs/view_path.h"
#include "storage/crash_store.h"

/* Request sizes asked of the kernel (libfuse's buffer allows 1 MiB). */
#define CRASHFS_MAX_WRITE (1u << 20)
/* How long after a write through the mount its readers bypass the page
 * cache (staging_is_hot). */
#define CRASHFS_HOT_SECONDS 10

struct crashfs_settings {
	bool read_only;
	double request_timeout; /* a store call's deadline; 0: none */
	uint64_t json_max;
	double cache_timeout;
	bool keep_cache;
	bool splice;
	bool entry_timeout_set;
	bool attr_timeout_set;
	bool negative_timeout_set;
	struct fuse_conn_info_opts *conn_opts; /* borrowed; may be NULL */
};

/* The "mount" object of .crashfs/stats. */
struct crashfs_counters {
	atomic_uint_fast64_t lookups;
	atomic_uint_fast64_t listings;
	atomic_uint_fast64_t opens;
	atomic_uint_fast64_t reads;
	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t writes;
	atomic_uint_fast64_t bytes_written;
	atomic_uint_fast64_t commits;
	atomic_uint_fast64_t bytes_committed;
	atomic_uint_fast64_t commit_errors;
	atomic_uint_fast64_t removes;
	atomic_uint_fast64_t renames;
	atomic_uint_fast64_t mkdirs;
	atomic_uint_fast64_t mtime_updates;
	atomic_uint_fast64_t errors;
};

struct crashfs {
	struct crash_store *store;
	struct view_config view;
	struct spool *spool;
	struct read_cache *read_cache; /* NULL: none (read_cache_max=0) */
	struct staging *staging;
	struct pending_dirs *pending;
	struct invalidator *invalidator; /* NULL until the loop runs */
	struct crashfs_settings settings;
	struct crashfs_counters counters;
	uid_t uid;
	gid_t gid;
	struct timespec mount_time; /* the mtime of directories */
	/* Open handles, so that those the kernel never released (a lazy
	 * unmount with files open) are freed at the end. */
	pthread_mutex_t handles_lock;
	struct handle *handles;
};

extern const struct fuse_operations crashfs_operations;

/* Before the loop: the parts of struct crashfs the operations own. */
void crashfs_begin(struct crashfs *fs);
/* After the loop: frees the handles never released.  A file still being
 * written is not stored (its writer never closed it); that is logged. */
void crashfs_end(struct crashfs *fs);

/* The .crashfs/stats document: {"mount": {...}, "stores": {...}}. */
json_t *crashfs_stats(struct crashfs *fs);
/* The file's text, of the same size in every snapshot (stats_format.h);
 * malloc'd, NULL if out of memory. */
char *crashfs_stats_text(struct crashfs *fs);

#endif
