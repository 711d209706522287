/*
 * spool.h - where writes wait until they are committed to the store.
 *
 * A spool is a scratch directory <root>/<pid>/ of this daemon
 * (storage/scratch_dir.h), 0700, holding one file per staged file; at
 * open, the directories of dead daemons are removed, so a killed daemon's
 * leftovers do not accumulate.  Staged
 * files have paths (not O_TMPFILE) so a store on the same filesystem can
 * adopt them by hard link instead of copying.
 *
 * The spool also keeps the byte cap: spool_reserve() charges bytes before
 * they are written and fails with -ENOSPC past the cap.
 *
 * Threads: every function may be called from any thread; the byte counter
 * is atomic and file names come from an atomic counter.
 */
#ifndef CRASHFS_FUSEFS_SPOOL_H
#define CRASHFS_FUSEFS_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

#include "storage/crash_error.h"

struct spool;

/* Creates root if missing (0700), cleans up after dead daemons and makes
 * this daemon's directory.  Returns 0 or a negative errno with a message
 * in error. */
int spool_open(const char *root, uint64_t max_bytes, struct spool **out,
	       struct crash_error *error);
/* Removes this daemon's spool directory and everything left in it. */
void spool_close(struct spool *spool);

/* This daemon's directory, e.g. "<root>/1234". */
const char *spool_dir(const struct spool *spool);

/* A new empty spool file, opened O_RDWR | O_CLOEXEC, mode 0600.  *path_out
 * is malloc'd.  Returns 0 or a negative errno. */
int spool_create_file(struct spool *spool, int *fd_out, char **path_out);

/* Charges bytes to the cap: 0, or -ENOSPC if that would pass it. */
int spool_reserve(struct spool *spool, uint64_t bytes);
void spool_release(struct spool *spool, uint64_t bytes);

uint64_t spool_bytes(const struct spool *spool);
uint64_t spool_max_bytes(const struct spool *spool);

/* Copies length bytes of src (from offset 0) into dst (from offset 0).
 * Returns 0 or a negative errno (-ENOSPC for a full disk or quota). */
int spool_copy(int dst_fd, int src_fd, off_t length);

/* mkdir -p: creates each missing component of path with mode (less the
 * process umask); 0, or a negative errno (-ENOTDIR if path is not a
 * directory in the end).  Used for the spool and for a directory SOURCE. */
int spool_make_dirs(const char *path, mode_t mode);

#endif
