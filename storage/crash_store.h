/*
 * crash_store.h - the one interface every crash store implements.
 *
 * A crash is identified by its crash id (crash_id.h) and made of parts:
 * the raw crash (JSON text), any number of named dumps (bytes) and the
 * processed crash (gzip of JSON text, Socorro's ".jsonz").  The interface
 * deals in those parts as files would: a part is written from a file
 * descriptor and read through one, so a dump never has to be in memory.
 *
 * Every backend (storage/fs, storage/null, ...) and every container
 * (containers/) is a struct crash_store: a base struct placed first in the
 * implementation's own struct, a table of typed operations, and a checked
 * downcast (crash_store_downcast).  Containers hold child stores and call
 * them only through the crash_store_* wrappers below, which also count
 * operations per store node for .crashfs/stats.
 *
 * Optional operations are NULL slots.  The wrappers turn a NULL slot into
 * -ENOTSUP (reads, listings) or -EROFS (writes) with a message, so a caller
 * never tests slots itself.
 *
 * Errors: every operation returns 0 or a negative errno and, on failure,
 * fills call->error with the code and a one-line message.  -ENOENT means
 * "this crash (or this part of it) is not in this store" and nothing else:
 * containers route on it, so a backend must never return -ENOENT for a
 * broken server or a missing configuration.  (A fallback container whose
 * primary is down answers lookups from its secondary alone, so that new
 * crashes can still be created: fallback_store.h says when.)
 *
 * Listings are pull iterators (struct crash_listing, storage/
 * crash_listing.h): a caller opens one, takes entries with
 * crash_listing_next() at its own pace (a readdir answers a few hundred
 * entries per kernel request), and closes it.  Between two calls of next
 * an iterator holds no store lock and no pooled connection, so a caller may
 * call the store (or any other) while it lists, and a day of 200,000
 * crashes is paged through without being held.  A store needs only one
 * listing of its own: list_crashes, a day's crash ids with a prefix, in
 * order, a page at a time (what a database or a key-value store answers
 * with one indexed query or prefix scan).  The radix directories of the
 * view are derived from it by the core; open_radix and stat_radix_dir are
 * optional fast paths of a store that keeps directories (the fs store).
 *
 * Versions: a part's stat says its size without fetching its bytes and a
 * version that changes whenever they do; a crash's and a radix
 * directory's stat say when something below them last changed, so that a
 * listing cached since then is still right.
 *
 * Threads: libfuse calls into stores from many threads at once.  Every
 * store declares its thread model in ops->thread_model; the crash_store_*
 * wrappers serialise calls into a store declared CRASH_STORE_SERIAL with a
 * per-store mutex.  The counters in struct crash_store_counters are atomic.
 * A struct crash_call is per request and never shared between threads.
 */
#ifndef CRASHFS_STORAGE_CRASH_STORE_H
#define CRASHFS_STORAGE_CRASH_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "storage/crash_error.h"
#include "storage/crash_id.h"

/* The name Socorro gives the main dump when a store reports dump names. */
#define CRASH_MAIN_DUMP_NAME "upload_file_minidump"

enum crash_part_type {
	CRASH_PART_RAW_CRASH = 1, /* <id>.json  : raw crash, JSON text */
	CRASH_PART_DUMP,          /* <id>.dump, <id>.<name>.dump : bytes */
	CRASH_PART_PROCESSED,     /* <id>.jsonz : gzip of processed JSON */
};

/*
 * One part of a crash.  For dumps, dump_name NULL means the main dump
 * (<id>.dump); any other name is a secondary dump (<id>.<name>.dump).
 * A store maps its own configured main-dump name (Socorro's dump_field)
 * to NULL when it reports parts, so callers see one spelling only.
 */
struct crash_part {
	enum crash_part_type type;
	const char *dump_name;
};

struct crash_part_stat {
	off_t size;              /* exact size of the bytes open_part serves,
				    known without fetching them */
	struct timespec mtime;   /* kept as written (utimens is honoured) */
	mode_t mode;             /* permission bits only, e.g. 0644 */
	/* Changes whenever the part's bytes change (a store's cell timestamp,
	 * a file's inode and ctime...), so cached bytes (storage/read_cache)
	 * are keyed by it.  0: the store cannot tell; size and mtime then
	 * stand for it. */
	uint64_t version;
};

/* A crash's directory or a radix directory: when anything below it last
 * changed, as far as the store knows (a crash saved or removed, a part
 * rewritten).  A zero mtime: the store cannot tell. */
struct crash_dir_stat {
	struct timespec mtime;
};

/*
 * The bytes of a part being saved: an open file descriptor positioned
 * anywhere (stores use pread), its exact size and the mtime to keep.
 *
 * path, when not NULL, names the spool file holding the same bytes.  If
 * adoptable is true the store may hard-link that file into place instead of
 * copying it (the caller guarantees it will never write to that inode again
 * after a successful save).  json is the parsed document for raw crashes
 * (and processed crashes, decompressed), so routing containers need not
 * parse again; it is borrowed, never modified.
 */
struct crash_blob {
	int fd;
	off_t size;
	struct timespec mtime;
	const char *path;
	bool adoptable;
	const json_t *json;
};

struct crash_dump {
	const char *dump_name; /* NULL: main dump */
	struct crash_blob blob;
};

/*
 * Per-request context, owned by one thread for the duration of one
 * operation.  interrupted, when not NULL, is polled during long waits (retry
 * backoff); when it returns true the operation gives up with -EINTR.
 * single_attempt, when true, makes retry wrappers below give up after one
 * attempt instead of waiting to retry: the caller has somewhere else to
 * go (a fallback probing a primary it knows to be failing).
 *
 * deadline (CLOCK_MONOTONIC; zero: none) is when the caller stops
 * waiting: a retry wrapper does not sleep past it, and a store that waits
 * on a socket waits in slices with crash_call_wait_fd(), which gives up
 * with -ETIMEDOUT (or -EINTR when interrupted), so no request hangs on a
 * server that stopped answering.
 */
struct crash_call {
	struct crash_error error;
	bool (*interrupted)(void *arg);
	void *interrupted_arg;
	bool single_attempt;
	struct timespec deadline;
};

struct crash_listing; /* storage/crash_listing.h */

/* A page of list_crashes: crash ids in ascending order. */
#define CRASH_ID_PAGE_MAX 256
struct crash_id_page {
	size_t count;
	char ids[CRASH_ID_PAGE_MAX][CRASH_ID_LENGTH + 1];
};

/* list_parts' callback returns 0 to go on, non-zero to stop (and that
 * value is then returned by list_parts).  A crash has few parts: a store
 * collects them before it calls back, holding no lock or connection then,
 * so a callback may call the store again. */
typedef int (*crash_part_emit_fn)(void *ctx, const struct crash_part *part,
				  const struct crash_part_stat *stat);

/*
 * The queue of new crashes (Socorro's new_crashes / ack_crash).  A pass
 * yields the crashes waiting to be processed without taking them: each
 * entry stays in the queue until it is acknowledged with the token the
 * pass gave, so a listing of the queue consumes nothing and a consumer
 * that dies before its ack leaves the crash queued.  The token is the
 * issuing store's own (an AMQP delivery tag and the channel it belongs
 * to; a date-branch slot): issuer says which store of the tree yielded
 * it, so a container passes the ack to the member that did.
 */
#define CRASH_QUEUE_WHERE_MAX 95
struct crash_queue_token {
	const struct crash_store *issuer;
	uint64_t value[2];
	char where[CRASH_QUEUE_WHERE_MAX + 1]; /* a place, e.g. a slot */
};
struct crash_queue_entry {
	char crash_id[CRASH_ID_LENGTH + 1];
	struct crash_queue_token token;
};
typedef int (*crash_queue_emit_fn)(void *ctx,
				   const struct crash_queue_entry *entry);

/* How a store names what it keeps, for the view (a store whose files a
 * person may read directly, like the fs store, shows its own naming;
 * other stores Socorro's defaults). */
enum crash_view_hint {
	CRASH_VIEW_RADIX = 0, /* a directory per crash */
	CRASH_VIEW_LEGACY,    /* the parts in the shared radix leaf */
};
struct crash_naming {
	const char *json_suffix;  /* ".json" */
	const char *dump_suffix;  /* ".dump" */
	const char *jsonz_suffix; /* ".jsonz" */
};
struct crash_store_naming {
	struct crash_naming suffixes;
	const char *name_branch_base; /* "name" */
	const char *main_dump_name;   /* Socorro's dump_field */
	enum crash_view_hint view;
};

enum crash_store_thread_model {
	CRASH_STORE_PARALLEL = 1, /* any number of calls at once */
	CRASH_STORE_SERIAL,       /* one call at a time (wrapper locks) */
};

struct crash_store;

struct crash_store_ops {
	const char *type_name;  /* "fs", "poly", ... as in the JSON tree */
	enum crash_store_thread_model thread_model;

	/* Frees the store (and its children).  Never NULL. */
	void (*close)(struct crash_store *store);

	/* -- writes (NULL: the store is read-only for that part) -------- */

	/* Socorro save_raw_crash: the raw crash and any dumps, as one crash.
	 * Re-saving replaces the given parts; other dumps already stored stay. */
	int (*save_raw_crash)(struct crash_store *store, struct crash_call *call,
			      const char *crash_id,
			      const struct crash_blob *raw_crash,
			      const struct crash_dump *dumps, size_t dump_count);
	/* Adds or replaces one dump of a crash. */
	int (*save_dump)(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_dump *dump);
	/* Socorro save_processed; the blob holds the .jsonz bytes (gzip). */
	int (*save_processed)(struct crash_store *store, struct crash_call *call,
			      const char *crash_id,
			      const struct crash_blob *processed);
	/* Socorro remove: the whole crash. -ENOENT if it is not here. */
	int (*remove)(struct crash_store *store, struct crash_call *call,
		      const char *crash_id);
	/* Removes one part. -ENOENT if that part is not here. */
	int (*remove_part)(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, const struct crash_part *part);
	/* Removes the empty radix directory <day>/name/<prefix> of a store that
	 * keeps directories of its own (prefix "": the day's name branch, and
	 * the day itself once nothing else is in it).  -ENOTEMPTY if crashes
	 * remain below it, -ENOENT if it is absent.  NULL: the store has no
	 * directories (its radix directories exist only while crashes do). */
	int (*remove_radix_dir)(struct crash_store *store,
				struct crash_call *call, const char *day,
				const char *prefix);
	/* Sets a stored part's mtime (utimens after close, as copy2 does). */
	int (*set_part_mtime)(struct crash_store *store, struct crash_call *call,
			      const char *crash_id, const struct crash_part *part,
			      const struct timespec *mtime);
	/* Sets the mtime of a directory the store keeps (rsync -a sets its
	 * directories' times at the end of a pass): the crash's directory if
	 * crash_id is not NULL, else the radix directory day/name/<prefix>
	 * ("" the name directory).  -ENOENT if it is not here, -ENOTSUP if
	 * the store keeps no such directory of its own (a crash of a legacy
	 * layout, whose leaf other crashes share).  NULL: the store keeps no
	 * directory times (its directories' stat says so with a zero mtime). */
	int (*set_dir_mtime)(struct crash_store *store, struct crash_call *call,
			     const char *day, const char *prefix,
			     const char *crash_id, const struct timespec *mtime);

	/* -- reads (NULL: the store cannot serve reads, e.g. a queue) ----- */

	/* 0 if any part of the crash is here, -ENOENT if not; stat (may be
	 * NULL) says when it last changed. */
	int (*stat_crash)(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, struct crash_dir_stat *stat);
	int (*stat_part)(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_part *part,
			 struct crash_part_stat *stat);
	/* Opens a part for reading: *fd_out is a new read-only descriptor the
	 * caller closes; the bytes are exactly the part's (a backend that keeps
	 * them elsewhere writes them to an unlinked spool file first). */
	int (*open_part)(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_part *part,
			 struct crash_part_stat *stat, int *fd_out);
	/* Emits every part of one crash; -ENOENT if the crash is not here. */
	int (*list_parts)(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, crash_part_emit_fn emit,
			  void *ctx);
	/* Opens a listing of the days (YYYYMMDD) holding crashes, in no
	 * particular order (entries CRASH_LISTING_DAY). */
	int (*open_days)(struct crash_store *store, struct crash_call *call,
			 struct crash_listing **out);
	/* Fills page with the ids of day's crashes that start with prefix
	 * (any length, "" for all) and sort after `after` ("" or NULL: from
	 * the first), in ascending order, at most CRASH_ID_PAGE_MAX of them;
	 * page->count 0 means there are no more.  -ENOENT is never an answer:
	 * an empty page is.  The store's own listing; everything else is
	 * derived from it unless the store has the fast paths below. */
	int (*list_crashes)(struct crash_store *store, struct crash_call *call,
			    const char *day, const char *prefix,
			    const char *after, struct crash_id_page *page);
	/* Fast path: opens a listing of the radix directory day/name/<prefix>,
	 * where prefix is the concatenation of the radix components above it
	 * ("" for the name directory itself, "936c" for name/93/6c): radix
	 * subdirectories (CRASH_LISTING_RADIX_DIR) and crashes whose radix
	 * path ends here (CRASH_LISTING_CRASH), each once, in no particular
	 * order.  -ENOENT if there is no such directory in this store.  NULL:
	 * the wrapper derives it from list_crashes. */
	int (*open_radix)(struct crash_store *store, struct crash_call *call,
			  const char *day, const char *prefix,
			  struct crash_listing **out);
	/* Fast path: every part of every crash whose radix path ends at the
	 * radix directory day/name/<prefix> (CRASH_LISTING_PART entries, each
	 * crash's parts together) and its radix subdirectories
	 * (CRASH_LISTING_RADIX_DIR): what a legacy view shows in a leaf.
	 * -ENOENT if there is no such directory.  NULL: the wrapper lists the
	 * directory's crashes and their parts one crash at a time (fine for a
	 * database; a store whose list_parts reads a whole shared directory
	 * provides this to list it once). */
	int (*open_radix_parts)(struct crash_store *store,
				struct crash_call *call, const char *day,
				const char *prefix,
				struct crash_listing **out);
	/* Fast path: 0 if the radix directory day/name/<prefix> (as for
	 * open_radix) is here, -ENOENT if not, without listing it: a path
	 * lookup costs the same in a day of 1,000 crashes as in one of
	 * 200,000; stat (may be NULL) says when it last changed.  NULL: the
	 * wrapper asks list_crashes (or open_radix) for a first entry. */
	int (*stat_radix_dir)(struct crash_store *store,
			      struct crash_call *call, const char *day,
			      const char *prefix, struct crash_dir_stat *stat);

	/* -- queue (NULL: not a queue) ------------------------------------ */

	/* One pass over the store's new crashes (Socorro new_crashes, see
	 * struct crash_queue_token): each is yielded once per pass, oldest
	 * first where the store can tell, and stays queued; a non-zero return
	 * of emit stops the pass (and is returned).  emit may call the store
	 * (ack_crash among others). */
	int (*new_crashes)(struct crash_store *store, struct crash_call *call,
			   crash_queue_emit_fn emit, void *ctx);
	/* Takes an entry a pass yielded out of the queue, as Socorro's
	 * consumer did after processing it.  -ENOENT if it is no longer
	 * queued (acknowledged already). */
	int (*ack_crash)(struct crash_store *store, struct crash_call *call,
			 const struct crash_queue_entry *entry);

	/* -- connections and introspection ------------------------------- */

	/* Drops the calling thread's connection so the next call reconnects
	 * (transaction executor, after an operational error).  NULL: nothing
	 * to drop. */
	void (*reconnect)(struct crash_store *store);
	/* Children of a container, for stats and tree walks.  NULL: a leaf. */
	size_t (*child_count)(struct crash_store *store);
	struct crash_store *(*child)(struct crash_store *store, size_t index);
	/* Adds store-specific fields to its stats object.  May be NULL. */
	void (*describe)(struct crash_store *store, json_t *stats);
	/* Prepares what the store needs where it keeps crashes (a
	 * database's tables and partitions, an HBase's tables): creates what
	 * is missing, changes nothing that is there (idempotent), and calls
	 * report once per object it created, with one line saying what
	 * ("table raw_crashes_20120402").  Run by crashfs --setup-store, not
	 * at mount.  NULL: nothing to prepare. */
	int (*setup)(struct crash_store *store, struct crash_call *call,
		     void (*report)(void *ctx, const char *created),
		     void *ctx);
	/* How the store names parts (struct crash_store_naming); returns
	 * false to say "Socorro's defaults" (a container asks its members).
	 * May be NULL: the defaults. */
	bool (*naming)(struct crash_store *store,
		       struct crash_store_naming *out);
};

/* Atomic counters of one store node, reported by .crashfs/stats. */
struct crash_store_counters {
	atomic_uint_fast64_t calls;
	atomic_uint_fast64_t bytes_written;
	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t errors;
	atomic_uint_fast64_t not_found;
	atomic_uint_fast64_t retries;
	atomic_uint_fast64_t fallbacks;
	/* Listings a container answered without one of its members (it was
	 * failing): what was reachable, not everything. */
	atomic_uint_fast64_t partial_listings;
	atomic_int state; /* enum crash_store_state */
};

enum crash_store_state {
	CRASH_STORE_OK = 0,
	CRASH_STORE_RETRYING,
	CRASH_STORE_FAILING,
	/* A container serving from some of its members only (a fallback
	 * whose primary is failing). */
	CRASH_STORE_DEGRADED,
};

/* The base struct; first member of every implementation. */
struct crash_store {
	const struct crash_store_ops *ops;
	char *node_path;   /* JSON path of this node, e.g. "store.primary" */
	pthread_mutex_t serial_lock; /* used when thread_model is SERIAL */
	struct crash_store_counters counters;
};

/* Checked downcast: the implementation's struct if store is of that type,
 * else NULL.  Usage:
 *   struct fs_store *fs = crash_store_downcast(store, &fs_store_ops); */
void *crash_store_downcast(struct crash_store *store,
			   const struct crash_store_ops *ops);

/* Lifecycle of the base part: init after allocating the implementation,
 * release it from the implementation's close before freeing. */
int crash_store_base_init(struct crash_store *store,
			  const struct crash_store_ops *ops,
			  const char *node_path);
void crash_store_base_release(struct crash_store *store);

/* Closes (frees) any store; NULL is allowed. */
void crash_store_close(struct crash_store *store);

/* The checked, counted entry points.  Same contracts as the slots. */
int crash_store_save_raw_crash(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *raw_crash,
			       const struct crash_dump *dumps,
			       size_t dump_count);
int crash_store_save_dump(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_dump *dump);
int crash_store_save_processed(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_blob *processed);
int crash_store_remove(struct crash_store *store, struct crash_call *call,
		       const char *crash_id);
int crash_store_remove_part(struct crash_store *store, struct crash_call *call,
			    const char *crash_id,
			    const struct crash_part *part);
int crash_store_remove_radix_dir(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix);
/* -ENOTSUP (and no log line from the caller's point of view: nothing
 * wrong) when the store keeps no directory times. */
int crash_store_set_dir_mtime(struct crash_store *store,
			      struct crash_call *call, const char *day,
			      const char *prefix, const char *crash_id,
			      const struct timespec *mtime);
int crash_store_set_part_mtime(struct crash_store *store,
			       struct crash_call *call, const char *crash_id,
			       const struct crash_part *part,
			       const struct timespec *mtime);
int crash_store_stat_crash(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, struct crash_dir_stat *stat);
int crash_store_stat_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat);
int crash_store_open_part(struct crash_store *store, struct crash_call *call,
			  const char *crash_id, const struct crash_part *part,
			  struct crash_part_stat *stat, int *fd_out);
int crash_store_list_parts(struct crash_store *store, struct crash_call *call,
			   const char *crash_id, crash_part_emit_fn emit,
			   void *ctx);
int crash_store_open_days(struct crash_store *store, struct crash_call *call,
			  struct crash_listing **out);
int crash_store_list_crashes(struct crash_store *store,
			     struct crash_call *call, const char *day,
			     const char *prefix, const char *after,
			     struct crash_id_page *page);
/* The store's open_radix, else a listing derived from its list_crashes
 * (storage/crash_listing.h); -ENOTSUP if it has neither. */
int crash_store_open_radix(struct crash_store *store, struct crash_call *call,
			   const char *day, const char *prefix,
			   struct crash_listing **out);
/* The store's open_radix_parts, else its crashes' parts one crash at a
 * time (storage/crash_listing.h); -ENOTSUP if it cannot list. */
int crash_store_open_radix_parts(struct crash_store *store,
				 struct crash_call *call, const char *day,
				 const char *prefix,
				 struct crash_listing **out);
/* The store's stat_radix_dir, else the first page of list_crashes (or
 * first entry of open_radix) under the prefix. */
int crash_store_stat_radix_dir(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix, struct crash_dir_stat *stat);
int crash_store_new_crashes(struct crash_store *store, struct crash_call *call,
			    crash_queue_emit_fn emit, void *ctx);
int crash_store_ack_crash(struct crash_store *store, struct crash_call *call,
			  const struct crash_queue_entry *entry);
void crash_store_reconnect(struct crash_store *store);
/* The naming of the tree (see the naming slot): Socorro's defaults unless
 * a store says otherwise. */
void crash_store_naming(struct crash_store *store,
			struct crash_store_naming *out);
/* Runs setup on store and on every store below it (each node at most
 * once), stopping at the first failure; 0 when nothing needs it. */
int crash_store_setup_tree(struct crash_store *store, struct crash_call *call,
			   void (*report)(void *ctx, const char *created),
			   void *ctx);
/* True if store is issuer or a store below it. */
bool crash_store_contains(struct crash_store *store,
			  const struct crash_store *issuer);

/* True if the store can serve the operation (its slot is not NULL). */
#define crash_store_can(store, slot) ((store)->ops->slot != NULL)

/* Number of children (0 for a backend) and the i-th child. */
size_t crash_store_child_count(struct crash_store *store);
struct crash_store *crash_store_child(struct crash_store *store, size_t index);

/* Stats of the whole tree under store: {"<node_path>": {...}, ...}. */
json_t *crash_store_stats(struct crash_store *store);

/* Initialises a call with no interruption check and no deadline. */
void crash_call_init(struct crash_call *call);
/* True when the caller asked to give up (polls call->interrupted). */
bool crash_call_interrupted(struct crash_call *call);
/* Sets the deadline seconds from now (0 or less: none). */
void crash_call_set_timeout(struct crash_call *call, double seconds);
/* Milliseconds left before the deadline: -1 if there is none, 0 if it has
 * passed. */
long crash_call_remaining_ms(const struct crash_call *call);
/* Waits until fd is ready for events (POLLIN, POLLOUT) or timeout_ms
 * (-1: no limit of its own) pass, in slices that poll the call: 1 if
 * ready, 0 on timeout_ms, -EINTR if interrupted and -ETIMEDOUT at the
 * deadline (call->error set for both), or another negative errno. */
int crash_call_wait_fd(struct crash_call *call, int fd, short events,
		       long timeout_ms);

#endif
