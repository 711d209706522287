/*
 * main.c - the crashfs daemon: command line, store tree, mount, loop.
 *
 *   crashfs SOURCE MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]
 *
 * The order matters: the libfuse options are checked (fuse_new) before
 * anything is created on disk; the store and the spool are opened before
 * mounting and detaching, so every configuration error reaches the
 * terminal and the exit status; threads (the invalidator, libfuse's
 * workers) start only after the fork of fuse_daemonize.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse.h>
#include <fuse_lowlevel.h>

#include "fusefs/crashfs.h"
#include "fusefs/mount_point.h"
#include "fusefs/setup_store.h"
#include "mountopts/mount_options.h"
#include "mountopts/store_types.h"
#include "storage/crash_log.h"
#include "storage/read_cache/read_cache.h"
#include "storage/store_registry.h"

/* libfuse's messages while fuse_new checks the options: kept, so an
 * unknown option can be named in one clear line instead. */
static struct {
	bool capturing;
	char text[4096];
	size_t length;
} fuse_messages;

static void log_from_libfuse(enum fuse_log_level level, const char *format,
			     va_list args)
{
	char line[1024];
	vsnprintf(line, sizeof line, format, args);
	if (fuse_messages.capturing) {
		size_t room = sizeof fuse_messages.text - fuse_messages.length;
		int n = snprintf(fuse_messages.text + fuse_messages.length,
				 room, "%s", line);
		if (n > 0)
			fuse_messages.length +=
				(size_t)n < room ? (size_t)n : room - 1;
		return;
	}
	size_t length = strlen(line);
	while (length && line[length - 1] == '\n')
		line[--length] = '\0';
	if (!length)
		return;
	enum crash_log_level ours = level <= FUSE_LOG_ERR ? CRASH_LOG_ERROR
				    : level == FUSE_LOG_WARNING
					    ? CRASH_LOG_WARNING
				    : level <= FUSE_LOG_INFO ? CRASH_LOG_INFO
							     : CRASH_LOG_DEBUG;
	crash_log(ours, "libfuse: %s", line);
}

/* The first option libfuse named in "fuse: unknown option(s): `-o a,b'". */
static bool first_unknown_option(const char *message, char *out,
				 size_t out_size)
{
	const char *list = strstr(message, "unknown option(s): `");
	if (!list)
		return false;
	list = strchr(list, '`') + 1;
	if (strncmp(list, "-o ", 3) == 0)
		list += 3;
	else if (strncmp(list, "-o", 2) == 0)
		list += 2;
	size_t length = strcspn(list, ",= '");
	if (length == 0)
		return false;
	snprintf(out, out_size, "%.*s", (int)length, list);
	return true;
}

/* fuse_new, naming an unknown option as crashfs's own error. */
static struct fuse *new_fuse(struct mount_options *options, struct crashfs *fs,
			     int *status)
{
	fuse_messages.capturing = true;
	fuse_messages.length = 0;
	fuse_set_log_func(log_from_libfuse);
	struct fuse *fuse = fuse_new(&options->args, &crashfs_operations,
				     sizeof crashfs_operations, fs);
	fuse_messages.capturing = false;
	fuse_set_log_func(NULL);
	if (fuse) {
		fputs(fuse_messages.text, stderr);
		return fuse;
	}
	char option[256];
	if (first_unknown_option(fuse_messages.text, option, sizeof option)) {
		fprintf(stderr, "crashfs: unknown option '%s'\n", option);
		*status = MOUNT_OPTIONS_USAGE_ERROR;
	} else {
		fputs(fuse_messages.text, stderr);
		fprintf(stderr, "crashfs: cannot set up libfuse\n");
		*status = 1;
	}
	return NULL;
}

/* The spool's root directory: -o spool=, or next to a directory SOURCE,
 * or in $TMPDIR (/var/tmp). */
static char *spool_root(const struct mount_options *options)
{
	char *root = NULL;
	if (options->spool_dir)
		return strdup(options->spool_dir);
	if (!options->source_is_json) {
		if (asprintf(&root, "%s/%s", options->source,
			     MOUNT_SPOOL_DIR_NAME) < 0)
			return NULL;
		return root;
	}
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/var/tmp";
	if (asprintf(&root, "%s/crashfs-spool", tmp) < 0)
		return NULL;
	return root;
}

/* The names the view shows are the store tree's own (an fs store's
 * suffixes and branch name, say), asked through the interface. */
static void set_up_view(struct crashfs *fs, const struct mount_options *options)
{
	struct crash_store_naming naming;
	crash_store_naming(fs->store, &naming);
	fs->view.name_branch_base = naming.name_branch_base;
	fs->view.naming = naming.suffixes;
	fs->view.main_dump_name = naming.main_dump_name;
	switch (options->view) {
	case MOUNT_VIEW_RADIX:
		fs->view.mode = VIEW_MODE_RADIX;
		break;
	case MOUNT_VIEW_LEGACY:
		fs->view.mode = VIEW_MODE_LEGACY;
		break;
	case MOUNT_VIEW_AUTO:
		/* The view of the layout the files really have. */
		fs->view.mode = naming.view == CRASH_VIEW_LEGACY
					? VIEW_MODE_LEGACY
					: VIEW_MODE_RADIX;
		break;
	}
}

/* The read cache of parts the stores fetch from servers: next to the
 * spool (its own directory, swept as the spool's is). */
static int open_read_cache(struct crashfs *fs, const char *spool_root,
			   uint64_t max_bytes, struct crash_error *error)
{
	char *dir = NULL;
	if (asprintf(&dir, "%s/read-cache", spool_root) < 0)
		return crash_error_set(error, -ENOMEM, "out of memory");
	int result = read_cache_new(dir, max_bytes, &fs->read_cache, error);
	free(dir);
	return result;
}

/* A directory SOURCE that is missing is made as mkdir would: its parent
 * must exist, so a typo in the path is an error, not a new tree
 * somewhere; -o create makes the whole path.  Returns 0 or an exit
 * status after printing why. */
static int make_source_dir(const struct mount_options *options)
{
	const char *source = options->source;
	struct stat st;
	int result;

	if (stat(source, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		fprintf(stderr, "crashfs: SOURCE %s: %s\n", source,
			strerror(ENOTDIR));
		return 1;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "crashfs: SOURCE %s: %s\n", source,
			strerror(errno));
		return 1;
	}
	if (options->create_source) {
		result = spool_make_dirs(source, 0777);
	} else if (mkdir(source, 0777) == 0) {
		result = 0;
	} else if (errno == ENOENT) {
		fprintf(stderr,
			"crashfs: SOURCE %s: its parent directory does not "
			"exist (-o create makes the whole path)\n",
			source);
		return 1;
	} else {
		result = -errno;
	}
	if (result < 0) {
		fprintf(stderr, "crashfs: SOURCE %s: %s\n", source,
			strerror(-result));
		return 1;
	}
	crash_log(CRASH_LOG_INFO, "created the store directory %s", source);
	return 0;
}

/* Opens the spool, the store tree and the tables.  Returns 0 or an exit
 * status after printing why. */
static int open_crashfs(struct crashfs *fs, struct mount_options *options)
{
	struct crash_error error = { 0 };
	int result;

	if (!options->source_is_json) {
		result = make_source_dir(options);
		if (result != 0)
			return result;
	}
	char *root = spool_root(options);
	if (!root) {
		fprintf(stderr, "crashfs: out of memory\n");
		return 1;
	}
	result = spool_open(root, options->spool_max, &fs->spool, &error);
	if (result == 0 && options->read_cache_max > 0)
		result = open_read_cache(fs, root, options->read_cache_max,
					 &error);
	free(root);
	if (result < 0) {
		fprintf(stderr, "crashfs: %s\n", error.message);
		return 1;
	}

	/* Backends without a "retry" of their own get the mount's policy. */
	json_t *default_retry = json_pack(
		"{s:s, s:[i,i,i,i,i], s:i}", "policy", options->retry_policy,
		"backoff_delays", 10, 30, 60, 120, 300, "wait_log_interval", 10);
	if (!default_retry) {
		fprintf(stderr, "crashfs: out of memory\n");
		return 1;
	}
	struct crash_store_env env = { .types = crashfs_store_types,
				       .spool_dir = spool_dir(fs->spool),
				       .read_cache = fs->read_cache,
				       .default_retry = default_retry };
	if (options->source_is_json)
		result = store_registry_open_file(options->source, &env,
						  &fs->store, &error);
	else
		result = store_registry_open(options->store_node, "store", &env,
					     &fs->store, &error);
	json_decref(default_retry);
	if (result < 0) {
		fprintf(stderr, "crashfs: %s\n", error.message);
		return 1;
	}

	set_up_view(fs, options);
	struct staging_limits limits = {
		.max_files = options->staged_max,
		.max_temporaries = options->temporary_max
					   ? options->temporary_max
					   : (options->staged_max + 1) / 2,
		.temporary_ttl = options->temporary_ttl,
	};
	if (staging_open(fs->spool, &limits, &fs->staging) < 0 ||
	    pending_dirs_new(options->pending_max, &fs->pending) < 0) {
		fprintf(stderr, "crashfs: out of memory\n");
		return 1;
	}

	fs->settings = (struct crashfs_settings){
		.read_only = options->read_only,
		.request_timeout = options->request_timeout,
		.json_max = options->json_max,
		.cache_timeout = options->cache_timeout,
		.keep_cache = options->keep_cache,
		.splice = options->splice,
		.entry_timeout_set = options->entry_timeout_set,
		.attr_timeout_set = options->attr_timeout_set,
		.negative_timeout_set = options->negative_timeout_set,
		.conn_opts = options->conn_opts,
	};
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->mount_time);
	return 0;
}

static void close_crashfs(struct crashfs *fs)
{
	staging_close(fs->staging);
	pending_dirs_free(fs->pending);
	crash_store_close(fs->store);
	read_cache_free(fs->read_cache);
	spool_close(fs->spool);
}

/* Each staged file holds a descriptor: allow as many as the system lets. */
static void raise_file_limit(void)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
	    limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
}

static int run_loop(struct fuse *fuse, const struct fuse_cmdline_opts *cmdline)
{
	if (cmdline->singlethread)
		return fuse_loop(fuse);
	struct fuse_loop_config *config = fuse_loop_cfg_create();
	if (!config)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(config, (unsigned)cmdline->clone_fd);
	/* UINT_MAX: not given (libfuse would warn about it). */
	if (cmdline->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(config,
					       cmdline->max_idle_threads);
	fuse_loop_cfg_set_max_threads(config, cmdline->max_threads);
	int result = fuse_loop_mt(fuse, config);
	fuse_loop_cfg_destroy(config);
	return result;
}

/* libfuse's handlers (SIGTERM, SIGINT and SIGHUP end the loop; SIGPIPE
 * ignored), except that SIGHUP does not stop the daemon: a terminal that
 * closes or a service manager's reload must not unmount a store. */
static int set_signal_handlers(struct fuse_session *session)
{
	if (fuse_set_signal_handlers(session) != 0)
		return -1;
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	sigemptyset(&ignore.sa_mask);
	return sigaction(SIGHUP, &ignore, NULL);
}

static int mount_and_serve(struct fuse *fuse, struct crashfs *fs,
			   const struct fuse_cmdline_opts *cmdline,
			   const struct mount_options *options)
{
	/* Before the mount: a SIGTERM right after it must unmount, not kill
	 * the daemon and leave a dead mount behind. */
	struct fuse_session *session = fuse_get_session(fuse);
	if (set_signal_handlers(session) != 0) {
		fprintf(stderr, "crashfs: cannot set signal handlers\n");
		return 1;
	}
	if (fuse_mount(fuse, cmdline->mountpoint) != 0) {
		fprintf(stderr, "crashfs: cannot mount on %s\n",
			cmdline->mountpoint);
		fuse_remove_signal_handlers(session);
		return 1;
	}
	crash_log(CRASH_LOG_INFO, "crashfs %s: %s on %s%s", CRASHFS_VERSION,
		  options->source, cmdline->mountpoint,
		  options->read_only ? " (read-only)" : "");
	if (fuse_daemonize(cmdline->foreground) != 0) {
		fuse_unmount(fuse);
		return 1;
	}
	if (!cmdline->foreground) {
		crash_log_use_syslog("crashfs");
		fuse_set_log_func(log_from_libfuse);
	}
	if (invalidator_start(fuse, &fs->invalidator) < 0)
		crash_log(CRASH_LOG_WARNING,
			  "no cache invalidation thread: caches expire by "
			  "cache_timeout only");
	int result = run_loop(fuse, cmdline);
	invalidator_stop(fs->invalidator);
	fs->invalidator = NULL;
	fuse_remove_signal_handlers(session);
	fuse_unmount(fuse);
	/* libfuse's handlers end the loop with the signal's number as its
	 * result: SIGTERM and SIGINT are how a daemon is asked to stop. */
	if (result == SIGTERM || result == SIGINT) {
		crash_log(CRASH_LOG_INFO, "stopped by %s: unmounted %s",
			  result == SIGTERM ? "SIGTERM" : "SIGINT",
			  cmdline->mountpoint);
		return 0;
	}
	if (result != 0) {
		crash_log(CRASH_LOG_ERROR, "the request loop failed: %s",
			  result < 0 ? strerror(-result) : strsignal(result));
		return 1;
	}
	crash_log(CRASH_LOG_INFO, "unmounted %s", cmdline->mountpoint);
	return 0;
}

int main(int argc, char *argv[])
{
	struct mount_options options;
	struct fuse_cmdline_opts cmdline = { 0 };
	char error[512];

	if (argc >= 2 && strcmp(argv[1], "--setup-store") == 0)
		return setup_store_main(argc, argv);
	int status =
		mount_options_parse(argc, argv, &options, error, sizeof error);
	if (status != 0) {
		fprintf(stderr, "crashfs: %s\n", error);
		mount_options_release(&options);
		return status;
	}
	if (options.show_version) {
		printf("crashfs %s (libfuse %s)\n", CRASHFS_VERSION,
		       fuse_pkgversion());
		mount_options_release(&options);
		return 0;
	}
	if (options.show_help) {
		mount_options_print_help(stdout, "crashfs");
		fuse_cmdline_help();
		fuse_lib_help(&options.args);
		mount_options_release(&options);
		return 0;
	}
	if (fuse_parse_cmdline(&options.args, &cmdline) != 0) {
		mount_options_release(&options);
		return MOUNT_OPTIONS_USAGE_ERROR;
	}
	if (!cmdline.mountpoint) {
		fprintf(stderr, "crashfs: no MOUNTPOINT (usage: crashfs SOURCE "
				"MOUNTPOINT [options])\n");
		mount_options_release(&options);
		return MOUNT_OPTIONS_USAGE_ERROR;
	}
	if (mount_point_check(cmdline.mountpoint, options.nonempty, error,
			      sizeof error) < 0) {
		fprintf(stderr, "crashfs: %s\n", error);
		free(cmdline.mountpoint);
		mount_options_release(&options);
		return 1;
	}
	crash_log_set_level(cmdline.debug ? CRASH_LOG_DEBUG
					  : options.log_level);
	raise_file_limit();

	struct crashfs *fs = calloc(1, sizeof *fs);
	struct fuse *fuse = NULL;
	if (!fs) {
		fprintf(stderr, "crashfs: out of memory\n");
		status = 1;
		goto out;
	}
	crashfs_begin(fs);
	fuse = new_fuse(&options, fs, &status);
	if (!fuse)
		goto out;
	status = open_crashfs(fs, &options);
	if (status == 0)
		status = mount_and_serve(fuse, fs, &cmdline, &options);
out:
	if (fuse)
		fuse_destroy(fuse);
	if (fs) {
		crashfs_end(fs);
		close_crashfs(fs);
	}
	free(fs);
	free(cmdline.mountpoint);
	mount_options_release(&options);
	return status;
}
