/*
 * mount_options.c - the command line of crashfs (see mount_options.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mountopts/mount_options.h"
#include "storage/fs/fs_store.h"

enum option_key {
	KEY_HELP,
	KEY_VERSION,
	KEY_STORE_OPTION,
	KEY_SPOOL,
	KEY_SPOOL_MAX,
	KEY_JSON_MAX,
	KEY_STAGED_MAX,
	KEY_PENDING_MAX,
	KEY_TEMPORARY_MAX,
	KEY_TEMPORARY_TTL,
	KEY_NONEMPTY,
	KEY_REQUEST_TIMEOUT,
	KEY_READ_CACHE_MAX,
	KEY_CREATE,
	KEY_VIEW,
	KEY_LOG_LEVEL,
	KEY_RETRY,
	KEY_CACHE_TIMEOUT,
	KEY_NOCACHE,
	KEY_NO_KEEP_CACHE,
	KEY_NO_SPLICE,
	KEY_RO,
	KEY_RW,
	KEY_ENTRY_TIMEOUT,
	KEY_ATTR_TIMEOUT,
	KEY_NEGATIVE_TIMEOUT,
};

/* The Socorro filesystem-store options, as -o options of a directory
 * SOURCE; they become keys of the fs store's JSON node. */
static const struct store_option {
	const char *name;
	bool integer;
} store_options[] = {
	{ "layout", false },
	{ "umask", false },
	{ "name_branch_base", false },
	{ "date_branch_base", false },
	{ "dump_field", false },
	{ "json_file_suffix", false },
	{ "dump_file_suffix", false },
	{ "jsonz_file_suffix", false },
	{ "minute_slice_interval", true },
};

static const struct fuse_opt crashfs_opts[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("layout=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("umask=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("name_branch_base=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("date_branch_base=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("dump_field=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("json_file_suffix=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("dump_file_suffix=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("jsonz_file_suffix=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("minute_slice_interval=", KEY_STORE_OPTION),
	FUSE_OPT_KEY("spool=", KEY_SPOOL),
	FUSE_OPT_KEY("spool_max=", KEY_SPOOL_MAX),
	FUSE_OPT_KEY("json_max=", KEY_JSON_MAX),
	FUSE_OPT_KEY("staged_max=", KEY_STAGED_MAX),
	FUSE_OPT_KEY("pending_max=", KEY_PENDING_MAX),
	FUSE_OPT_KEY("temporary_max=", KEY_TEMPORARY_MAX),
	FUSE_OPT_KEY("temporary_ttl=", KEY_TEMPORARY_TTL),
	FUSE_OPT_KEY("nonempty", KEY_NONEMPTY),
	FUSE_OPT_KEY("request_timeout=", KEY_REQUEST_TIMEOUT),
	FUSE_OPT_KEY("read_cache_max=", KEY_READ_CACHE_MAX),
	FUSE_OPT_KEY("create", KEY_CREATE),
	FUSE_OPT_KEY("view=", KEY_VIEW),
	FUSE_OPT_KEY("log_level=", KEY_LOG_LEVEL),
	FUSE_OPT_KEY("retry=", KEY_RETRY),
	FUSE_OPT_KEY("cache_timeout=", KEY_CACHE_TIMEOUT),
	FUSE_OPT_KEY("nocache", KEY_NOCACHE),
	FUSE_OPT_KEY("no_keep_cache", KEY_NO_KEEP_CACHE),
	FUSE_OPT_KEY("no_splice", KEY_NO_SPLICE),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_RW),
	FUSE_OPT_KEY("entry_timeout=", KEY_ENTRY_TIMEOUT),
	FUSE_OPT_KEY("attr_timeout=", KEY_ATTR_TIMEOUT),
	FUSE_OPT_KEY("negative_timeout=", KEY_NEGATIVE_TIMEOUT),
	FUSE_OPT_END
};

struct parse_state {
	struct mount_options *options;
	json_t *store_values; /* the Socorro options given, by name */
	int nonopt_count;
	char *error;
	size_t error_size;
	bool failed;
};

static int parse_fail(struct parse_state *state, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_fail(struct parse_state *state, const char *format, ...)
{
	va_list args;
	if (!state->failed) {
		va_start(args, format);
		vsnprintf(state->error, state->error_size, format, args);
		va_end(args);
		state->failed = true;
	}
	return -1;
}

int mount_parse_size(const char *text, uint64_t *out)
{
	char *end;
	if (!text || text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	if (shift && value > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)value << shift;
	return 0;
}

/* An absolute form of path (relative to the current directory), without
 * trailing slashes; the daemon changes directory to / when it detaches. */
static char *absolute_path(const char *path)
{
	char *result;
	if (path[0] == '/') {
		result = strdup(path);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return NULL;
		size_t length = strlen(cwd) + 1 + strlen(path) + 1;
		result = malloc(length);
		if (result)
			snprintf(result, length, "%s/%s",
				 strcmp(cwd, "/") ? cwd : "", path);
	}
	if (!result)
		return NULL;
	size_t length = strlen(result);
	while (length > 1 && result[length - 1] == '/')
		result[--length] = '\0';
	return result;
}

static const char *option_value(const char *arg)
{
	const char *equals = strchr(arg, '=');
	return equals ? equals + 1 : "";
}

static int parse_store_option(struct parse_state *state, const char *arg)
{
	const char *value = option_value(arg);
	size_t name_length = (size_t)(strchr(arg, '=') - arg);

	for (size_t i = 0; i < sizeof store_options / sizeof store_options[0];
	     i++) {
		const struct store_option *option = &store_options[i];
		if (strlen(option->name) != name_length ||
		    strncmp(option->name, arg, name_length) != 0)
			continue;
		json_t *json_value;
		if (option->integer) {
			char *end;
			errno = 0;
			long number = strtol(value, &end, 10);
			if (errno || end == value || *end != '\0')
				return parse_fail(state, "%s: not an integer",
						  arg);
			json_value = json_integer(number);
		} else {
			if (value[0] == '\0')
				return parse_fail(state, "%s: empty value",
						  arg);
			json_value = json_string(value);
		}
		if (!json_value ||
		    json_object_set_new(state->store_values, option->name,
					json_value) < 0)
			return parse_fail(state, "out of memory");
		return 0;
	}
	return parse_fail(state, "%s: not a store option", arg);
}

static int parse_size_option(struct parse_state *state, const char *arg,
			     uint64_t minimum, uint64_t *out)
{
	uint64_t value;
	if (mount_parse_size(option_value(arg), &value) < 0)
		return parse_fail(state,
				  "%s: not a size (bytes, with an optional "
				  "K, M, G or T suffix)",
				  arg);
	if (value < minimum)
		return parse_fail(state, "%s: must be at least %llu", arg,
				  (unsigned long long)minimum);
	*out = value;
	return 0;
}

static int parse_seconds(struct parse_state *state, const char *arg,
			 double *out)
{
	const char *value = option_value(arg);
	char *end;
	errno = 0;
	double seconds = strtod(value, &end);
	if (errno || end == value || *end != '\0' || !(seconds >= 0) ||
	    seconds > 1e9)
		return parse_fail(state, "%s: not a number of seconds", arg);
	*out = seconds;
	return 0;
}

static int parse_view(struct parse_state *state, const char *arg)
{
	const char *value = option_value(arg);
	if (strcmp(value, "radix") == 0)
		state->options->view = MOUNT_VIEW_RADIX;
	else if (strcmp(value, "legacy") == 0)
		state->options->view = MOUNT_VIEW_LEGACY;
	else
		return parse_fail(state, "%s: the view is radix or legacy",
				  arg);
	return 0;
}

static int parse_log_level(struct parse_state *state, const char *arg)
{
	static const char *const names[] = {
		[CRASH_LOG_ERROR] = "error",
		[CRASH_LOG_WARNING] = "warning",
		[CRASH_LOG_INFO] = "info",
		[CRASH_LOG_DEBUG] = "debug",
	};
	const char *value = option_value(arg);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(names[i], value) == 0) {
			state->options->log_level = (enum crash_log_level)i;
			return 0;
		}
	}
	return parse_fail(
		state, "%s: the level is error, warning, info or debug", arg);
}

static int parse_retry(struct parse_state *state, const char *arg)
{
	static const char *const policies[] = { "none", "limited",
						"infinite" };
	const char *value = option_value(arg);
	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
		if (strcmp(policies[i], value) == 0) {
			state->options->retry_policy = policies[i];
			return 0;
		}
	}
	return parse_fail(state,
			  "%s: the policy is none, limited or infinite", arg);
}

static int parse_nonoption(struct parse_state *state, const char *arg)
{
	struct mount_options *options = state->options;
	switch (state->nonopt_count++) {
	case 0:
		options->source = absolute_path(arg);
		if (!options->source)
			return parse_fail(state, "SOURCE %s: %s", arg,
					  strerror(errno));
		return 0; /* SOURCE is crashfs's; libfuse never sees it */
	case 1:
		return 1; /* MOUNTPOINT: fuse_parse_cmdline takes it */
	default:
		return parse_fail(state,
				  "unexpected argument '%s' (usage: crashfs "
				  "SOURCE MOUNTPOINT [options])",
				  arg);
	}
}

static int process_option(void *data, const char *arg, int key,
			  struct fuse_args *outargs)
{
	struct parse_state *state = data;
	struct mount_options *options = state->options;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		return parse_nonoption(state, arg);
	case FUSE_OPT_KEY_OPT:
		return 1; /* libfuse's, or unknown: libfuse decides */
	case KEY_HELP:
		options->show_help = true;
		return 0;
	case KEY_VERSION:
		options->show_version = true;
		return 0;
	case KEY_STORE_OPTION:
		return parse_store_option(state, arg);
	case KEY_SPOOL:
		if (option_value(arg)[0] == '\0')
			return parse_fail(state, "spool=: empty directory");
		free(options->spool_dir);
		options->spool_dir = absolute_path(option_value(arg));
		if (!options->spool_dir)
			return parse_fail(state, "%s: %s", arg,
					  strerror(errno));
		return 0;
	case KEY_SPOOL_MAX:
		return parse_size_option(state, arg, 1, &options->spool_max);
	case KEY_JSON_MAX:
		return parse_size_option(state, arg, 2, &options->json_max);
	case KEY_STAGED_MAX:
		return parse_size_option(state, arg, 1, &options->staged_max);
	case KEY_PENDING_MAX:
		return parse_size_option(state, arg, 1, &options->pending_max);
	case KEY_TEMPORARY_MAX:
		return parse_size_option(state, arg, 1,
					 &options->temporary_max);
	case KEY_TEMPORARY_TTL:
		return parse_seconds(state, arg, &options->temporary_ttl);
	case KEY_READ_CACHE_MAX:
		return parse_size_option(state, arg, 0,
					 &options->read_cache_max);
	case KEY_REQUEST_TIMEOUT:
		return parse_seconds(state, arg, &options->request_timeout);
	case KEY_NONEMPTY:
		options->nonempty = true;
		return 0; /* crashfs checks MOUNTPOINT itself */
	case KEY_CREATE:
		options->create_source = true;
		return 0;
	case KEY_VIEW:
		return parse_view(state, arg);
	case KEY_LOG_LEVEL:
		return parse_log_level(state, arg);
	case KEY_RETRY:
		return parse_retry(state, arg);
	case KEY_CACHE_TIMEOUT:
		return parse_seconds(state, arg, &options->cache_timeout);
	case KEY_NOCACHE:
		options->cache_timeout = 0;
		options->keep_cache = false;
		return 0;
	case KEY_NO_KEEP_CACHE:
		options->keep_cache = false;
		return 0;
	case KEY_NO_SPLICE:
		options->splice = false;
		return 0;
	case KEY_RO:
		options->read_only = true;
		return 1; /* libfuse mounts read-only too */
	case KEY_RW:
		options->read_only = false;
		return 1;
	case KEY_ENTRY_TIMEOUT:
		options->entry_timeout_set = true;
		return 1;
	case KEY_ATTR_TIMEOUT:
		options->attr_timeout_set = true;
		return 1;
	case KEY_NEGATIVE_TIMEOUT:
		options->negative_timeout_set = true;
		return 1;
	}
	(void)outargs;
	return 1;
}

/* A directory SOURCE: the embedded fs store's node. */
static int build_store_node(struct parse_state *state)
{
	struct mount_options *options = state->options;
	json_t *layout = json_object_get(state->store_values, "layout");
	const char *layout_name = layout ? json_string_value(layout) : "radix";
	enum fs_layout parsed;

	if (fs_layout_parse(layout_name, &parsed) < 0)
		return parse_fail(state,
				  "layout=%s: the layout is radix, legacy, "
				  "dated or legacy-dated",
				  layout_name);
	options->layout = strdup(layout_name);
	options->store_node = json_pack("{s:s, s:s, s:s}", "type", "fs", "root",
					options->source, "layout", layout_name);
	if (!options->layout || !options->store_node ||
	    json_object_update(options->store_node, state->store_values) < 0)
		return parse_fail(state, "out of memory");
	return 0;
}

static bool ends_with(const char *text, const char *suffix)
{
	size_t text_length = strlen(text), suffix_length = strlen(suffix);
	return text_length >= suffix_length &&
	       strcmp(text + text_length - suffix_length, suffix) == 0;
}

/* What SOURCE is: a .json store tree file, or a directory (created later
 * if missing). */
static int classify_source(struct parse_state *state)
{
	struct mount_options *options = state->options;
	struct stat st;
	bool exists = stat(options->source, &st) == 0;

	if (ends_with(options->source, ".json") &&
	    !(exists && S_ISDIR(st.st_mode))) {
		options->source_is_json = true;
		json_t *value;
		const char *name;
		json_object_foreach(
			state->store_values, name,
			value) return parse_fail(state,
						 "%s= applies only to a directory "
						 "SOURCE (%s is a store tree: put "
						 "it in the JSON)",
						 name, options->source);
		return 0;
	}
	if (exists && !S_ISDIR(st.st_mode))
		return parse_fail(state,
				  "SOURCE %s: neither a directory nor a .json "
				  "store tree file",
				  options->source);
	return build_store_node(state);
}

int mount_options_parse(int argc, char *argv[], struct mount_options *options,
			char *error, size_t error_size)
{
	struct parse_state state = {
		.options = options,
		.error = error,
		.error_size = error_size,
	};

	memset(options, 0, sizeof *options);
	options->spool_max = MOUNT_DEFAULT_SPOOL_MAX;
	options->json_max = MOUNT_DEFAULT_JSON_MAX;
	options->staged_max = MOUNT_DEFAULT_STAGED_MAX;
	options->pending_max = MOUNT_DEFAULT_PENDING_MAX;
	options->temporary_ttl = MOUNT_DEFAULT_TEMPORARY_TTL;
	options->read_cache_max = MOUNT_DEFAULT_READ_CACHE_MAX;
	options->log_level = CRASH_LOG_INFO;
	options->retry_policy = "limited";
	options->cache_timeout = MOUNT_DEFAULT_CACHE_TIMEOUT;
	options->keep_cache = true;
	options->splice = true;
	options->args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	error[0] = '\0';

	state.store_values = json_object();
	if (!state.store_values) {
		snprintf(error, error_size, "out of memory");
		return MOUNT_OPTIONS_USAGE_ERROR;
	}
	if (fuse_opt_parse(&options->args, &state, crashfs_opts,
			   process_option) < 0) {
		if (!state.failed)
			snprintf(error, error_size,
				 "cannot parse the command line");
		json_decref(state.store_values);
		return MOUNT_OPTIONS_USAGE_ERROR;
	}
	/* Options of struct fuse_conn_info (splice_*, max_write, ...);
	 * applied in init(), after crashfs's own defaults. */
	options->conn_opts = fuse_parse_conn_info_opts(&options->args);
	if (!options->conn_opts) {
		snprintf(error, error_size,
			 "cannot parse the connection options");
		json_decref(state.store_values);
		return MOUNT_OPTIONS_USAGE_ERROR;
	}
	if (options->show_help || options->show_version) {
		json_decref(state.store_values);
		return 0;
	}
	if (state.nonopt_count < 2) {
		snprintf(error, error_size,
			 "missing %s (usage: crashfs SOURCE MOUNTPOINT "
			 "[options]; see --help)",
			 state.nonopt_count == 0 ? "SOURCE and MOUNTPOINT"
						 : "MOUNTPOINT");
		json_decref(state.store_values);
		return MOUNT_OPTIONS_USAGE_ERROR;
	}
	classify_source(&state);
	json_decref(state.store_values);
	return state.failed ? MOUNT_OPTIONS_USAGE_ERROR : 0;
}

void mount_options_release(struct mount_options *options)
{
	free(options->source);
	free(options->spool_dir);
	free(options->layout);
	json_decref(options->store_node);
	free(options->conn_opts);
	fuse_opt_free_args(&options->args);
	memset(options, 0, sizeof *options);
}

void mount_options_print_help(FILE *out, const char *program)
{
	fprintf(out,
		"usage: %s SOURCE MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]\n"
		"       %s --setup-store CONFIG.json   prepare the servers of a store\n"
		"                                 tree (tables, partitions), then exit\n"
		"\n"
		"Mounts crash storage as Socorro's filesystem layout.  SOURCE is a\n"
		"directory (an embedded filesystem store, created if missing) or a .json\n"
		"file holding a store tree {\"store\": {\"type\": ..., ...}}.\n"
		"\n"
		"  -f                     stay in the foreground, log to stderr\n"
		"  -d                     debug: foreground, libfuse request trace\n"
		"  -s                     serve requests on one thread\n"
		"  -h, --help             this help\n"
		"  -V, --version          print the crashfs and libfuse versions\n"
		"\n"
		"Store options (directory SOURCE only; Socorro's names and defaults):\n"
		"  -o layout=NAME         radix | legacy | dated | legacy-dated (radix)\n"
		"  -o umask=OCTAL         umask of created directories and files (022)\n"
		"  -o name_branch_base=S  name of the radix branch directory (name)\n"
		"  -o date_branch_base=S  name of the date branch, dated layouts (date)\n"
		"  -o dump_field=S        name of the main dump (upload_file_minidump)\n"
		"  -o json_file_suffix=S  raw crash file suffix (.json)\n"
		"  -o dump_file_suffix=S  dump file suffix (.dump)\n"
		"  -o jsonz_file_suffix=S processed crash file suffix (.jsonz)\n"
		"  -o minute_slice_interval=N  seconds per date-branch slot (4)\n"
		"\n"
		"Mount options:\n"
		"  -o view=radix|legacy   a directory per crash, or the parts in the shared\n"
		"                         radix leaf (default: legacy for the legacy and\n"
		"                         legacy-dated layouts, radix otherwise)\n"
		"  -o spool=DIR           where writes are staged until close (default:\n"
		"                         SOURCE/" MOUNT_SPOOL_DIR_NAME
		" for a directory SOURCE, else\n"
		"                         $TMPDIR or /var/tmp, in crashfs-spool)\n"
		"  -o spool_max=SIZE      bytes staged at once; writes past it fail with\n"
		"                         ENOSPC (4G; K, M, G, T suffixes)\n"
		"  -o json_max=SIZE       largest raw JSON or decompressed processed JSON\n"
		"                         accepted; larger fails with EFBIG at close (16M)\n"
		"  -o staged_max=N        files staged at once, incl. temporary files\n"
		"                         awaiting rename (%d)\n"
		"  -o temporary_max=N     temporary files (.<part>.<tag>) staged at once\n"
		"                         (half of staged_max)\n"
		"  -o temporary_ttl=SECS  a closed temporary file not renamed onto its\n"
		"                         part within this time is dropped (%g)\n"
		"  -o pending_max=N       empty directories made by mkdir remembered until\n"
		"                         a crash lands in them (%d)\n"
		"  -o log_level=LEVEL     error | warning | info | debug (info)\n"
		"  -o retry=POLICY        none | limited | infinite: retries of a failing\n"
		"                         server for stores without a \"retry\" of their\n"
		"                         own, after 10, 30, 60, 120, 300 s (limited;\n"
		"                         a waiting request gives up when interrupted)\n"
		"  -o ro                  read-only: every write fails with EROFS\n"
		"  -o read_cache_max=SIZE bytes of parts fetched from servers kept for\n"
		"                         reads, in the spool directory (256M; 0: none)\n"
		"  -o request_timeout=SECS  longest a request waits on a store (its\n"
		"                         retries included) before ETIMEDOUT (0: none)\n"
		"  -o create              make a missing directory SOURCE with all its\n"
		"                         parents (without it, only the last component)\n"
		"  -o nonempty            mount on a MOUNTPOINT that is not empty or is\n"
		"                         a mount point already\n"
		"\n"
		"Tuning (each can be turned off):\n"
		"  -o cache_timeout=SECS  kernel entry and attribute cache time; stored\n"
		"                         crashes are immutable (60; libfuse's own\n"
		"                         entry_timeout=, attr_timeout= win if given)\n"
		"  -o nocache             cache_timeout=0 and no_keep_cache\n"
		"  -o no_keep_cache       do not keep stored files' pages cached across\n"
		"                         opens\n"
		"  -o no_splice           no splice(2) for reads and writes (same as\n"
		"                         no_splice_read,no_splice_write,no_splice_move)\n"
		"  -o [no_]splice_read, [no_]splice_write, [no_]splice_move\n"
		"                         each splice direction (read and write on)\n"
		"  -o max_write=N         largest write request (1048576)\n"
		"  -o max_readahead=N     kernel readahead (as the kernel offers)\n"
		"  -o [no_]writeback_cache  kernel write-back caching (off)\n"
		"  -o readdirplus=yes|no|auto  attributes with listings (auto)\n"
		"  -o [no_]async_read, [no_]async_dio, [no_]auto_inval_data,\n"
		"     max_background=N, congestion_threshold=N, time_gran=N\n"
		"                         other fields of the FUSE connection\n"
		"\n"
		"Writes are staged and reach the kernel with direct I/O (never the page\n"
		"cache), so readers of a stored crash never see a version half written.\n"
		"\n"
		"libfuse options (allow_other, default_permissions, max_threads=N,\n"
		"max_idle_threads=N, fsname=, ...; umask= above is the store's):\n",
		program, program, MOUNT_DEFAULT_STAGED_MAX, MOUNT_DEFAULT_TEMPORARY_TTL,
		MOUNT_DEFAULT_PENDING_MAX);
}
