/*
 * pending_dirs.h - directories that exist in the view but not (yet) in the
 * store.
 *
 * Stores hold crashes, not directories: a day or radix directory exists
 * because a crash lies below it.  So that `mkdir -p <day>/name/93/6c/<id>`
 * followed by a copy works, and so that a directory emptied by `rm -r`
 * stays until its own rmdir, the mount remembers such directories by view
 * path until a crash lands in them or they are removed.  The set is
 * bounded (pending_max): past it, mkdir fails with ENOSPC.
 *
 * Threads: all functions lock the set's mutex; safe from any thread.
 */
#ifndef CRASHFS_FUSEFS_PENDING_DIRS_H
#define CRASHFS_FUSEFS_PENDING_DIRS_H

#include <stdbool.h>
#include <stddef.h>

struct pending_dirs;

int pending_dirs_new(size_t max_dirs, struct pending_dirs **out);
void pending_dirs_free(struct pending_dirs *dirs);

/* 0, -EEXIST if present, -ENOSPC if the set is full, -ENOMEM. */
int pending_dirs_add(struct pending_dirs *dirs, const char *path);
bool pending_dirs_contains(struct pending_dirs *dirs, const char *path);
/* True if path was pending. */
bool pending_dirs_remove(struct pending_dirs *dirs, const char *path);
bool pending_dirs_has_children(struct pending_dirs *dirs, const char *dir_path);
/* The names (last components) of the pending children of dir_path, in a
 * malloc'd array of malloc'd strings; free with pending_dirs_free_names. */
int pending_dirs_list_children(struct pending_dirs *dirs, const char *dir_path,
			       char ***names_out, size_t *count_out);
void pending_dirs_free_names(char **names, size_t count);
size_t pending_dirs_count(struct pending_dirs *dirs);

#endif
