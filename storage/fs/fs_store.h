/*
 * fs_store.h - Socorro's filesystem crash store, in its four layouts
 * (spec/fs-layouts.md):
 *
 *   radix         FSRadixTreeStorage             <day>/name/<radix>/<id>/<files>
 *   legacy        FSLegacyRadixTreeStorage       <day>/name/<radix>/<files>
 *   dated         FSDatedRadixTreeStorage        radix + date/ queue branch
 *   legacy-dated  FSLegacyDatedRadixTreeStorage  legacy + date/ queue branch
 *
 * Trees are byte-compatible with Socorro's: same paths, names, relative
 * symlink targets and file contents.  Where Socorro is wrong, the store is
 * right (each case is commented where it is handled): every file is written
 * atomically (temp file + rename in the same directory); re-saving a crash
 * in a dated layout does not fail half-way on EEXIST; the legacy layouts
 * report a missing crash as -ENOENT and remove its .jsonz and back link too;
 * a dump named "" is the main dump in every layout.
 *
 * Threads: CRASH_STORE_PARALLEL.  The store keeps no mutable state after
 * opening; concurrency relies on the filesystem (mkdir -p idempotence,
 * rename atomicity, EEXIST on symlink creation), as Socorro's does.
 */
#ifndef CRASHFS_STORAGE_FS_FS_STORE_H
#define CRASHFS_STORAGE_FS_FS_STORE_H

#include <stdbool.h>

#include <jansson.h>

#include "storage/crash_store.h"
#include "storage/store_registry.h"

enum fs_layout {
	FS_LAYOUT_RADIX = 1,
	FS_LAYOUT_LEGACY,
	FS_LAYOUT_DATED,
	FS_LAYOUT_LEGACY_DATED,
};

struct fs_store_options {
	const char *root;                 /* fs_root; created if missing */
	enum fs_layout layout;
	unsigned umask;                   /* 022 */
	const char *name_branch_base;     /* "name" */
	const char *date_branch_base;     /* "date" (dated layouts) */
	const char *dump_field;           /* "upload_file_minidump" */
	const char *json_file_suffix;     /* ".json" */
	const char *jsonz_file_suffix;    /* ".jsonz" */
	const char *dump_file_suffix;     /* ".dump" */
	int minute_slice_interval;        /* 4, in 1..60 (dated layouts) */
	/* Check the options only (struct crash_store_env's validate_only):
	 * the root is neither made nor resolved, and the store is never
	 * used. */
	bool validate_only;
	/* For tests: the clock that picks date-branch slots; NULL = real UTC
	 * time.  Must be thread-safe. */
	void (*now)(struct timespec *out, void *arg);
	void *now_arg;
};

/* Fills options with Socorro's defaults (root NULL, layout radix). */
void fs_store_options_init(struct fs_store_options *options);

/* Parses a layout name ("radix", "legacy", "dated", "legacy-dated").
 * Returns 0 or -EINVAL. */
int fs_layout_parse(const char *name, enum fs_layout *out);
const char *fs_layout_name(enum fs_layout layout);

/* Opens a store from options (copied).  node_path names it in stats. */
int fs_store_open(const struct fs_store_options *options,
		  const char *node_path, struct crash_store **out,
		  struct crash_error *error);

/* The registry's constructor: {"type": "fs", "root": "...", "layout":
 * "radix", "umask": "022", "name_branch_base": ..., "date_branch_base": ...,
 * "dump_field": ..., "json_file_suffix": ..., "jsonz_file_suffix": ...,
 * "dump_file_suffix": ..., "minute_slice_interval": 4}. */
int fs_store_open_json(const json_t *node, const char *node_path,
		       const struct crash_store_env *env,
		       struct crash_store **out, struct crash_error *error);

extern const struct crash_store_ops fs_store_ops;

/* The layout of an open fs store (the mount shows that layout). */
enum fs_layout fs_store_layout(struct crash_store *store);

#endif
