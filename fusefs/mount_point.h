/*
 * mount_point.h - is MOUNTPOINT a place to mount on?
 *
 * libfuse mounts on anything the kernel accepts: a regular file (every
 * access then fails with EIO), a directory holding files (they vanish
 * under the mount), a live mount (crashfs stacked on crashfs).  crashfs
 * refuses all three before it opens the store, unless -o nonempty allows
 * the last two.
 *
 * The mount table is read from /proc/self/mountinfo before the mount
 * point is stat-ed at all: a stat of a hung FUSE mount would block.
 *
 * Called once at startup, from one thread.
 */
#ifndef CRASHFS_FUSEFS_MOUNT_POINT_H
#define CRASHFS_FUSEFS_MOUNT_POINT_H

#include <stdbool.h>
#include <stddef.h>

/* 0 if crashfs may mount on path, else a negative errno (-ENOTDIR,
 * -ENOTEMPTY, -EBUSY for a mount point, or what stat said) with a
 * one-line reason in error. */
int mount_point_check(const char *path, bool nonempty, char *error,
		      size_t error_size);

/* True if path (absolute, no trailing slash) is a mount point in the
 * mountinfo text; *type_out (may be NULL) gets its filesystem type. */
bool mount_point_in_table(const char *mountinfo, const char *path,
			  char *type_out, size_t type_size);

#endif
