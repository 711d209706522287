/*
 * invalidator.h - telling the kernel to forget what it cached of a path.
 *
 * Stored crashes are immutable, so the kernel may cache their entries,
 * attributes and pages for long.  When the mount itself changes a crash,
 * the other paths of the same part (the radix path vs .crashfs/by-id/) are
 * invalidated.  libfuse's notifications must not be sent from inside a
 * request that holds kernel locks the notification needs, so a worker
 * thread sends them: invalidator_queue() only appends to a bounded queue
 * (when full, the path is dropped, counted, and the cache then expires by
 * its timeout).
 *
 * Threads: invalidator_queue() from any thread; start and stop from the
 * main thread, start after the daemon has detached (fork keeps no threads).
 */
#ifndef CRASHFS_FUSEFS_INVALIDATOR_H
#define CRASHFS_FUSEFS_INVALIDATOR_H

#include <stdint.h>

struct fuse;
struct invalidator;

int invalidator_start(struct fuse *fuse, struct invalidator **out);
/* Sends what is queued, stops the thread and frees; NULL is allowed. */
void invalidator_stop(struct invalidator *invalidator);
/* NULL invalidator: nothing to do (not started yet). */
void invalidator_queue(struct invalidator *invalidator, const char *path);

uint64_t invalidator_sent(struct invalidator *invalidator);
uint64_t invalidator_dropped(struct invalidator *invalidator);

#endif
