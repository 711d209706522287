/*
 * read_cache.h - one bounded cache of the parts that stores keep elsewhere
 * (a server, a database cell), shared by every such store of a daemon.
 *
 * open_part hands out a part as a file descriptor (crash_store.h).  A store
 * whose bytes live on a server would otherwise fetch them into a spool
 * file on every open; instead it calls read_cache_open with a key naming
 * the part ("store.primary\n<crash_id>\n<part name>"), the version it
 * has of it (an HBase cell timestamp, a row's revision: any 64-bit value
 * that changes when the bytes do; versions are only ever compared for
 * equality), and a fill function that writes the bytes into an empty
 * file.  The cache answers from a file it keeps when it holds that key at
 * that version, else it calls fill, keeps the file and answers from it.
 * Each answer is a descriptor of its own (its own file offset), read-only.
 *
 * Files live in a scratch directory (scratch_dir.h) under the directory
 * given to read_cache_new: a killed daemon's cache is swept by the next
 * one, and read_cache_free removes the cache's directory with everything
 * in it.  Several caches (of one daemon or several) may share a directory.
 *
 * Bound: each kept file is charged its size rounded up to a block of
 * READ_CACHE_BLOCK_SIZE bytes (the least a file takes on disk), and the
 * charges of the kept files never add up to more than max_bytes; so their
 * sizes never do either, and the index holds at most
 * max_bytes / READ_CACHE_BLOCK_SIZE entries, even of empty parts.  To make
 * room, the least recently used files are evicted: out of the index, their
 * files unlinked (descriptors handed out already stay valid: the kernel
 * keeps an unlinked file until its last descriptor closes).  A part whose
 * charge alone exceeds max_bytes is filled, served, and not kept.
 *
 * Fills: several threads missing the same key at the same version at once
 * make one fill; the others wait for it and share its result, polling
 * crash_call_interrupted (an interrupted waiter gives up with -EINTR, the
 * fill goes on for the others).  A failed fill is not kept and every
 * waiter gets its error, except -EINTR: that belongs to the caller of the
 * fill that was interrupted, so its waiters start over (one of them fills).
 * A new version of a key replaces the one kept: whichever fill completes
 * last is kept.  read_cache_drop forgets a key, including the result of a
 * fill of it in flight (served to its callers, not kept).
 *
 * Threads and locks:
 *   - read_cache_new and read_cache_free from one thread, with no other
 *     call in flight (startup, shutdown); everything else from any thread.
 *   - One lock, the cache's, guards the index (a hash table of the kept
 *     files and a least-recently-used list), the fills in flight and the
 *     counters.  It is never held during a fill or any file system call
 *     (create, open, unlink, fstat): those run on entries pinned by a
 *     reference count, and a file is unlinked only once its entry is out of
 *     the index and unpinned, so a thread that found an entry under the
 *     lock can still open its file after releasing it.
 *   - fill runs in the calling thread, without the lock, and may take as
 *     long as it needs (retries, backoff); it must not call back into the
 *     same cache for the same key and version (it would wait for itself).
 */
#ifndef CRASHFS_STORAGE_READ_CACHE_READ_CACHE_H
#define CRASHFS_STORAGE_READ_CACHE_READ_CACHE_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "storage/crash_error.h"
#include "storage/crash_store.h"

/* The unit files are charged in (see "Bound" above). */
#define READ_CACHE_BLOCK_SIZE 4096

struct read_cache;

/*
 * A cache whose files live in a scratch directory of its own under dir
 * (made if missing, mode 0700), keeping at most max_bytes of parts.
 * Sweeps the cache directories of dead daemons under dir.  Returns 0 or a
 * negative errno with a message in error.
 */
int read_cache_new(const char *dir, uint64_t max_bytes,
		   struct read_cache **out, struct crash_error *error);
/* Removes every kept file and the cache's directory; NULL is allowed. */
void read_cache_free(struct read_cache *cache);

/*
 * Writes the part's bytes into fd (an empty file, open for reading and
 * writing, positioned at 0) and returns 0, or returns a negative errno with
 * call->error set (-ENOSPC when the disk is full: what was written is
 * removed).  Called without any lock of the cache.
 */
typedef int (*read_cache_fill_fn)(void *arg, struct crash_call *call, int fd);

/*
 * A read-only descriptor of the bytes of the part named by key at version,
 * in *fd_out (the caller closes it), and their count in *size_out: from
 * the cache when it keeps that key at that version, else filled by
 * fill(arg, call, fd) and then kept.  Returns 0 or a negative errno with
 * call->error set: the fill's error, -EINTR if the call was interrupted
 * while waiting for another thread's fill, or the cache's own (-ENOSPC,
 * -EMFILE, ...).  On error nothing is kept.
 */
int read_cache_open(struct read_cache *cache, struct crash_call *call,
		    const char *key, uint64_t version, read_cache_fill_fn fill,
		    void *arg, int *fd_out, off_t *size_out);

/* Forgets key, at whatever version (the part was rewritten or removed
 * through the mount): its file is removed, and a fill of it in flight is
 * served to its callers but not kept. */
void read_cache_drop(struct read_cache *cache, const char *key);

/*
 * Adds the counters to a stats object (.crashfs/stats), always the same
 * keys: "hits" (answers that made no fill: from a kept file, or sharing
 * another thread's fill), "misses" (fills made), "fills_failed",
 * "too_large" (parts served without being kept), "evictions", "files" and
 * "bytes" (kept now: their count and the sum of their sizes) and
 * "max_bytes".
 */
void read_cache_describe(struct read_cache *cache, json_t *stats);

#endif
