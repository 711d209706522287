/*
 * scratch_dir.h - a daemon's private working directory, and the sweep of
 * those whose daemon died.
 *
 * A scratch directory is <root>/<name>, where name starts with the pid of
 * the daemon that made it ("1234", "1234.2").  Its owner holds an flock on
 * <root>/<name>/lock for as long as it runs; a directory whose lock nobody
 * holds belongs to a daemon that is gone (killed, crashed) and is removed,
 * with everything in it, by the next scratch_dir_open or scratch_dir_sweep
 * on the same root.  So files a daemon writes there before moving them
 * into place (spool files, the fs store's temporary copies) never outlive
 * it unnoticed, whatever killed it.
 *
 * The files are named by the owner (scratch_dir_create_file numbers them
 * from an atomic counter).
 *
 * Threads: open, sweep and close from one thread (startup, shutdown);
 * scratch_dir_path and scratch_dir_create_file from any thread.
 */
#ifndef CRASHFS_STORAGE_SCRATCH_DIR_H
#define CRASHFS_STORAGE_SCRATCH_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "storage/crash_error.h"

struct scratch_dir;

/*
 * Makes root if missing (mkdir -p, root_mode), sweeps the directories of
 * dead daemons there, then makes and locks this daemon's: "<pid>" when
 * instance is 0, "<pid>.<instance>" otherwise (several stores of one
 * daemon may share a root).  what names the user of the directory in log
 * lines ("spool", "store.primary: temporary files").  Returns 0 or a
 * negative errno with a message in error.
 */
int scratch_dir_open(const char *root, mode_t root_mode, unsigned instance,
		     const char *what, struct scratch_dir **out,
		     struct crash_error *error);
/* Removes the directory and everything left in it; NULL is allowed. */
void scratch_dir_close(struct scratch_dir *dir);

/* Removes the directories of dead daemons under root, if root exists;
 * creates nothing.  Returns how many were removed. */
unsigned scratch_dir_sweep(const char *root, const char *what);

/* "<root>/<name>". */
const char *scratch_dir_path(const struct scratch_dir *dir);
int scratch_dir_fd(const struct scratch_dir *dir);

/* A new empty file of the directory, O_RDWR | O_CREAT | O_EXCL |
 * O_CLOEXEC with mode; its path (malloc'd) in *path_out.  prefix starts
 * its name.  Returns 0 or a negative errno (-ENOSPC for a full disk or
 * quota). */
int scratch_dir_create_file(struct scratch_dir *dir, const char *prefix,
			    mode_t mode, int *fd_out, char **path_out);

/* A fresh path in the directory that nothing has (for link(2)); its
 * name starts with prefix.  Returns 0 or -ENAMETOOLONG. */
int scratch_dir_new_path(struct scratch_dir *dir, const char *prefix,
			 char *out, size_t out_size);

#endif
