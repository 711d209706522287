/*
 * mount_options.h - the command line of crashfs.
 *
 *   crashfs SOURCE MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]
 *
 * mount_options_parse() takes crashfs's own options out of the command line
 * and leaves the rest (MOUNTPOINT, -f, -d, -s, allow_other, ro,
 * max_threads=, ...) in args for libfuse.  A directory SOURCE becomes the
 * JSON node of an embedded filesystem store ({"type": "fs", "root": ...,
 * "layout": ...} plus the Socorro -o options); a SOURCE ending in ".json" is
 * a store tree file the daemon opens with store_registry_open_file().
 *
 * Options libfuse knows only through fuse_parse_conn_info_opts() (splice,
 * max_write, writeback_cache, readdirplus=, ...) are parsed here too, so
 * every tuning switch has one spelling.
 *
 * Called once at startup from one thread.
 */
#ifndef CRASHFS_MOUNTOPTS_MOUNT_OPTIONS_H
#define CRASHFS_MOUNTOPTS_MOUNT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <fuse.h>
#include <jansson.h>

#include "storage/crash_log.h"

/* Exit status of a command-line error (as getopt-style tools use). */
#define MOUNT_OPTIONS_USAGE_ERROR 2

#define MOUNT_DEFAULT_SPOOL_MAX (UINT64_C(4) << 30)
#define MOUNT_DEFAULT_JSON_MAX (UINT64_C(16) << 20)
#define MOUNT_DEFAULT_CACHE_TIMEOUT 60.0
#define MOUNT_DEFAULT_STAGED_MAX 10000
#define MOUNT_DEFAULT_PENDING_MAX 100000
/* A closed temporary (rsync's ".<part>.XXXXXX") not renamed for this long
 * was abandoned; at most half the staging table may be temporaries. */
#define MOUNT_DEFAULT_TEMPORARY_TTL 600.0
/* Bytes of parts fetched from servers kept for reads (read_cache.h). */
#define MOUNT_DEFAULT_READ_CACHE_MAX (UINT64_C(256) << 20)
/* Directory SOURCE: the spool lives inside it, on the same filesystem, so
 * the store can adopt staged files by hard link. */
#define MOUNT_SPOOL_DIR_NAME ".crashfs-spool"

enum mount_view_choice {
	MOUNT_VIEW_AUTO = 0, /* legacy for legacy fs layouts, else radix */
	MOUNT_VIEW_RADIX,
	MOUNT_VIEW_LEGACY,
};

struct mount_options {
	char *source;	      /* absolute path */
	bool source_is_json;  /* a store tree file */
	json_t *store_node;   /* directory SOURCE: the fs store node */
	char *layout;	      /* directory SOURCE: the layout name */
	char *spool_dir;      /* -o spool=, absolute; NULL: the default */
	uint64_t spool_max;   /* bytes */
	uint64_t json_max;    /* bytes */
	uint64_t staged_max;  /* staged files at once */
	uint64_t pending_max; /* empty directories remembered */
	uint64_t temporary_max; /* temporaries staged at once; 0: half of
				   staged_max */
	double temporary_ttl;   /* seconds, see MOUNT_DEFAULT_TEMPORARY_TTL */
	uint64_t read_cache_max; /* bytes; 0: no read cache */
	double request_timeout; /* seconds a request may wait on stores; 0:
				   no limit */
	enum mount_view_choice view;
	enum crash_log_level log_level;
	/* The retry policy of every backend node without a "retry" of its
	 * own: "none", "limited" (the default, so no request waits forever)
	 * or "infinite", with Socorro's backoff delays 10,30,60,120,300 s. */
	const char *retry_policy;
	bool read_only; /* -o ro (also passed to libfuse) */
	bool nonempty;	/* -o nonempty: MOUNTPOINT may hold files or a mount */
	bool create_source; /* -o create: mkdir -p a missing SOURCE */

	/* tuning (issue: measure each; every one can be turned off) */
	double cache_timeout;	/* entry and attribute timeout, seconds */
	bool keep_cache;	/* fi->keep_cache on stored parts */
	bool splice;		/* splice read/write (no_splice: off) */
	bool entry_timeout_set; /* libfuse's own options given: */
	bool attr_timeout_set;	/* they win over cache_timeout */
	bool negative_timeout_set;
	struct fuse_conn_info_opts *conn_opts; /* splice_*, max_write, ... */

	bool show_help;
	bool show_version;

	/* What goes on to libfuse: argv[0], MOUNTPOINT, -f/-d/-s, -o ... */
	struct fuse_args args;
};

/* Parses argv.  Returns 0, or MOUNT_OPTIONS_USAGE_ERROR with a one-line
 * message in error (no "crashfs:" prefix, no newline).  The caller
 * releases options in both cases. */
int mount_options_parse(int argc, char *argv[], struct mount_options *options,
			char *error, size_t error_size);
void mount_options_release(struct mount_options *options);

/* The crashfs part of --help (the caller adds libfuse's). */
void mount_options_print_help(FILE *out, const char *program);

/* Parses a size: digits with an optional K, M, G or T suffix (powers of
 * 1024).  Returns 0 or -EINVAL. */
int mount_parse_size(const char *text, uint64_t *out);

#endif
