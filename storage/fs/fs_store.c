/*
 * fs_store.c - options, opening and closing the filesystem store, its
 * operation table and its stats.
 */
#include <errno.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/crash_id.h"
#include "storage/crash_log.h"
#include "storage/fs/fs_internal.h"
#include "storage/store_config.h"

static const struct {
	const char *name;
	enum fs_layout layout;
} layout_names[] = {
	{ "radix", FS_LAYOUT_RADIX },
	{ "legacy", FS_LAYOUT_LEGACY },
	{ "dated", FS_LAYOUT_DATED },
	{ "legacy-dated", FS_LAYOUT_LEGACY_DATED },
};

#define LAYOUT_COUNT (sizeof layout_names / sizeof layout_names[0])

void fs_store_options_init(struct fs_store_options *options)
{
	memset(options, 0, sizeof *options);
	options->root = NULL;
	options->layout = FS_LAYOUT_RADIX;
	options->umask = 022;
	options->name_branch_base = "name";
	options->date_branch_base = "date";
	options->dump_field = CRASH_MAIN_DUMP_NAME;
	options->json_file_suffix = ".json";
	options->jsonz_file_suffix = ".jsonz";
	options->dump_file_suffix = ".dump";
	options->minute_slice_interval = 4;
}

int fs_layout_parse(const char *name, enum fs_layout *out)
{
	for (size_t i = 0; name && i < LAYOUT_COUNT; i++) {
		if (strcmp(name, layout_names[i].name) == 0) {
			*out = layout_names[i].layout;
			return 0;
		}
	}
	return -EINVAL;
}

static bool layout_is_known(enum fs_layout layout)
{
	for (size_t i = 0; i < LAYOUT_COUNT; i++)
		if (layout_names[i].layout == layout)
			return true;
	return false;
}

const char *fs_layout_name(enum fs_layout layout)
{
	for (size_t i = 0; i < LAYOUT_COUNT; i++)
		if (layout_names[i].layout == layout)
			return layout_names[i].name;
	return "unknown";
}

enum fs_layout fs_store_layout(struct crash_store *store)
{
	struct fs_store *fs = fs_store_of(store);
	return fs ? fs->options.layout : (enum fs_layout)0;
}

/* -- options ------------------------------------------------------------ */

/* A directory name of the tree: one plain path component. */
static bool is_branch_name(const char *name)
{
	return name && name[0] != '\0' && name[0] != '.' &&
	       !strchr(name, '/') && strlen(name) < NAME_MAX;
}

/* A suffix: not empty, no '/', short enough for a file name. */
static bool is_suffix(const char *suffix)
{
	return suffix && suffix[0] != '\0' && !strchr(suffix, '/') &&
	       strlen(suffix) <= 32;
}

/*
 * The dump whose file name "<id>.<name><dump suffix>" a raw or processed
 * crash's "<id><suffix>" also is (json ".a.dump" with dump ".dump": the
 * dump "a"), into name; false if none.  Such parts would share one file.
 */
static bool suffix_spells_dump(const char *suffix, const char *dump_suffix,
			       char name[CRASH_DUMP_NAME_MAX + 1])
{
	size_t length = strlen(suffix), dump_length = strlen(dump_suffix);
	if (suffix[0] != '.' || length <= dump_length + 1 ||
	    strcmp(suffix + length - dump_length, dump_suffix) != 0)
		return false;
	size_t name_length = length - dump_length - 1;
	if (name_length > CRASH_DUMP_NAME_MAX)
		return false;
	memcpy(name, suffix + 1, name_length);
	name[name_length] = '\0';
	return crash_dump_name_is_valid(name);
}

static int check_suffixes(const struct fs_store_options *options,
			  const char *node_path, struct crash_error *error)
{
	const char *suffixes[3] = { options->json_file_suffix,
				    options->jsonz_file_suffix,
				    options->dump_file_suffix };
	const char *keys[3] = { "json_file_suffix", "jsonz_file_suffix",
				"dump_file_suffix" };
	char dump_name[CRASH_DUMP_NAME_MAX + 1];
	for (int i = 0; i < 3; i++) {
		if (!is_suffix(suffixes[i]))
			return crash_error_set(error, -EINVAL,
					       "%s.%s: must be 1..32 characters "
					       "without '/'",
					       node_path, keys[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(suffixes[i], suffixes[j]) == 0)
				return crash_error_set(
					error, -EINVAL,
					"%s.%s: same as %s: parts would "
					"share a file name",
					node_path, keys[i], keys[j]);
	}
	for (int i = 0; i < 2; i++)
		if (suffix_spells_dump(suffixes[i], suffixes[2], dump_name))
			return crash_error_set(
				error, -EINVAL,
				"%s.%s: \"%s\" is also the file name of the "
				"dump \"%s\" with dump_file_suffix \"%s\": "
				"parts would share a file name",
				node_path, keys[i], suffixes[i], dump_name,
				suffixes[2]);
	return 0;
}

static int check_options(const struct fs_store_options *options,
			 const char *node_path, struct crash_error *error)
{
	if (!options->root || options->root[0] == '\0')
		return crash_error_set(error, -EINVAL, "%s.root: required",
				       node_path);
	if (!layout_is_known(options->layout))
		return crash_error_set(error, -EINVAL,
				       "%s.layout: unknown layout %d", node_path,
				       (int)options->layout);
	if (options->umask > 0777)
		return crash_error_set(error, -EINVAL,
				       "%s.umask: %o is not a umask", node_path,
				       options->umask);
	if (!is_branch_name(options->name_branch_base))
		return crash_error_set(error, -EINVAL,
				       "%s.name_branch_base: must be one "
				       "directory name",
				       node_path);
	if (!is_branch_name(options->date_branch_base) ||
	    strcmp(options->date_branch_base, options->name_branch_base) == 0)
		return crash_error_set(error, -EINVAL,
				       "%s.date_branch_base: must be one "
				       "directory name other than "
				       "name_branch_base",
				       node_path);
	if (!crash_dump_name_is_valid(options->dump_field))
		return crash_error_set(error, -EINVAL,
				       "%s.dump_field: not a valid dump name",
				       node_path);
	int result = check_suffixes(options, node_path, error);
	if (result < 0)
		return result;
	if (options->minute_slice_interval < 1 ||
	    options->minute_slice_interval > 60)
		return crash_error_set(error, -EINVAL,
				       "%s.minute_slice_interval: must be "
				       "1..60",
				       node_path);
	return 0;
}

/* -- open / close ------------------------------------------------------- */

static void fs_close(struct crash_store *store)
{
	struct fs_store *fs = fs_store_of(store);
	if (!fs)
		return;
	crash_store_base_release(&fs->base);
	if (fs->scratch) {
		scratch_dir_close(fs->scratch);
		/* Gone when no other daemon works in it. */
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/" FS_SCRATCH_DIR_NAME,
			 fs->root);
		rmdir(path);
	}
	pthread_mutex_destroy(&fs->scratch_lock);
	free(fs->root);
	free(fs->name_branch_base);
	free(fs->date_branch_base);
	free(fs->dump_field);
	free(fs->json_file_suffix);
	free(fs->jsonz_file_suffix);
	free(fs->dump_file_suffix);
	free(fs);
}

/* Copies the strings of the options into the store. */
static int copy_options(struct fs_store *fs,
			const struct fs_store_options *options)
{
	fs->options = *options;
	fs->name_branch_base = strdup(options->name_branch_base);
	fs->date_branch_base = strdup(options->date_branch_base);
	fs->dump_field = strdup(options->dump_field);
	fs->json_file_suffix = strdup(options->json_file_suffix);
	fs->jsonz_file_suffix = strdup(options->jsonz_file_suffix);
	fs->dump_file_suffix = strdup(options->dump_file_suffix);
	if (!fs->name_branch_base || !fs->date_branch_base ||
	    !fs->dump_field || !fs->json_file_suffix ||
	    !fs->jsonz_file_suffix || !fs->dump_file_suffix)
		return -ENOMEM;
	fs->options.name_branch_base = fs->name_branch_base;
	fs->options.date_branch_base = fs->date_branch_base;
	fs->options.dump_field = fs->dump_field;
	fs->options.json_file_suffix = fs->json_file_suffix;
	fs->options.jsonz_file_suffix = fs->jsonz_file_suffix;
	fs->options.dump_file_suffix = fs->dump_file_suffix;
	fs->naming.json_suffix = fs->json_file_suffix;
	fs->naming.jsonz_suffix = fs->jsonz_file_suffix;
	fs->naming.dump_suffix = fs->dump_file_suffix;
	fs->legacy = options->layout == FS_LAYOUT_LEGACY ||
		     options->layout == FS_LAYOUT_LEGACY_DATED;
	fs->dated = options->layout == FS_LAYOUT_DATED ||
		    options->layout == FS_LAYOUT_LEGACY_DATED;
	fs->file_mode = 0666 & ~(mode_t)options->umask;
	fs->dir_mode = 0777 & ~(mode_t)options->umask;
	return 0;
}

static int keep_root(struct fs_store *fs, const char *root,
		     const char *node_path, struct crash_error *error)
{
	fs->root = strdup(root);
	if (!fs->root)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	fs->options.root = fs->root;
	return 0;
}

/*
 * Creates the root (mkdir -p) and resolves it to an absolute path: the
 * daemon may chdir("/") after opening its stores.  Validating only, the
 * root is kept as written and nothing is touched.
 */
static int open_root(struct fs_store *fs, const char *root,
		     const char *node_path, struct crash_error *error)
{
	char trimmed[PATH_MAX];
	size_t length = strlen(root);

	if (length >= sizeof trimmed)
		return crash_error_set(error, -ENAMETOOLONG,
				       "%s.root: path too long", node_path);
	memcpy(trimmed, root, length + 1);
	/* Socorro strips trailing slashes; "/" itself stays "/". */
	while (length > 1 && trimmed[length - 1] == '/')
		trimmed[--length] = '\0';
	if (fs->options.validate_only)
		return keep_root(fs, trimmed, node_path, error);

	struct crash_call call;
	crash_call_init(&call);
	int result = fs_mkdir_p(fs, &call, trimmed);
	if (result < 0)
		return crash_error_set(error, result, "%s: %s", node_path,
				       call.error.message);
	char resolved[PATH_MAX];
	if (!realpath(trimmed, resolved))
		return crash_error_set(error, -errno, "%s: resolve root %s: %s",
				       node_path, trimmed, strerror(errno));
	struct stat st;
	if (stat(resolved, &st) < 0)
		return crash_error_set(error, -errno, "%s: root %s: %s",
				       node_path, resolved, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return crash_error_set(error, -ENOTDIR,
				       "%s: root %s is not a directory",
				       node_path, resolved);
	return keep_root(fs, resolved, node_path, error);
}

/* What killed daemons were writing into this store: removed now, before
 * anything else looks at the tree. */
static void sweep_scratch(struct fs_store *fs)
{
	static atomic_uint instances;
	char path[PATH_MAX];
	char what[CRASH_ERROR_MESSAGE_MAX];

	fs->scratch_instance = atomic_fetch_add(&instances, 1) + 1;
	snprintf(path, sizeof path, "%s/" FS_SCRATCH_DIR_NAME, fs->root);
	snprintf(what, sizeof what, "%s: temporary files", fs->base.node_path);
	if (scratch_dir_sweep(path, what) > 0)
		rmdir(path); /* unless another daemon works in it */
}

int fs_scratch_dir(const struct fs_store *store, struct scratch_dir **out)
{
	/* The one member made after open: lazily, under its lock. */
	struct fs_store *fs = (struct fs_store *)store;
	struct crash_error error = { 0 };
	char path[PATH_MAX];
	char what[CRASH_ERROR_MESSAGE_MAX];

	pthread_mutex_lock(&fs->scratch_lock);
	if (!fs->scratch && !fs->scratch_failed) {
		snprintf(path, sizeof path, "%s/" FS_SCRATCH_DIR_NAME,
			 fs->root);
		snprintf(what, sizeof what, "%s: temporary files",
			 fs->base.node_path);
		if (scratch_dir_open(path, fs->dir_mode, fs->scratch_instance,
				     what, &fs->scratch, &error) < 0) {
			fs->scratch_failed = true;
			crash_log(CRASH_LOG_WARNING,
				  "%s; files are written next to their "
				  "target instead",
				  error.message);
		}
	}
	*out = fs->scratch;
	pthread_mutex_unlock(&fs->scratch_lock);
	return *out ? 0 : -ENOENT;
}

int fs_store_open(const struct fs_store_options *options,
		  const char *node_path, struct crash_store **out,
		  struct crash_error *error)
{
	if (!node_path)
		node_path = "store";
	int result = check_options(options, node_path, error);
	if (result < 0)
		return result;
	struct fs_store *fs = calloc(1, sizeof *fs);
	if (!fs)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	pthread_mutex_init(&fs->scratch_lock, NULL);
	result = crash_store_base_init(&fs->base, &fs_store_ops, node_path);
	if (result < 0) {
		pthread_mutex_destroy(&fs->scratch_lock);
		free(fs);
		return crash_error_set(error, result, "%s: out of memory",
				       node_path);
	}
	result = copy_options(fs, options);
	if (result < 0) {
		crash_error_set(error, result, "%s: out of memory", node_path);
		goto fail;
	}
	result = open_root(fs, options->root, node_path, error);
	if (result < 0)
		goto fail;
	if (!fs->options.validate_only)
		sweep_scratch(fs);
	crash_log(CRASH_LOG_DEBUG, "%s: fs store, layout %s, root %s%s",
		  node_path, fs_layout_name(fs->options.layout), fs->root,
		  fs->options.validate_only ? " (validated only)" : "");
	*out = &fs->base;
	return 0;
fail:
	fs_close(&fs->base);
	return result;
}

static const char *const json_keys[] = {
	"root",
	"layout",
	"umask",
	"name_branch_base",
	"date_branch_base",
	"dump_field",
	"json_file_suffix",
	"jsonz_file_suffix",
	"dump_file_suffix",
	"minute_slice_interval",
	NULL,
};

int fs_store_open_json(const json_t *node, const char *node_path,
		       const struct crash_store_env *env,
		       struct crash_store **out, struct crash_error *error)
{
	struct fs_store_options options;
	const char *layout = NULL;
	int64_t interval = 0;
	int result;

	fs_store_options_init(&options);
	options.validate_only = env->validate_only;
	result = store_config_check_keys(node, node_path, json_keys, error);
	if (result < 0)
		return result;
	if ((result = store_config_string(node, node_path, "root", NULL,
					  &options.root, error)) < 0 ||
	    (result = store_config_string(node, node_path, "layout", "radix",
					  &layout, error)) < 0 ||
	    (result = store_config_mode(node, node_path, "umask", 022,
					&options.umask, error)) < 0 ||
	    (result = store_config_string(node, node_path, "name_branch_base",
					  options.name_branch_base,
					  &options.name_branch_base,
					  error)) < 0 ||
	    (result = store_config_string(node, node_path, "date_branch_base",
					  options.date_branch_base,
					  &options.date_branch_base,
					  error)) < 0 ||
	    (result = store_config_string(node, node_path, "dump_field",
					  options.dump_field,
					  &options.dump_field, error)) < 0 ||
	    (result = store_config_string(node, node_path, "json_file_suffix",
					  options.json_file_suffix,
					  &options.json_file_suffix,
					  error)) < 0 ||
	    (result = store_config_string(node, node_path,
					  "jsonz_file_suffix",
					  options.jsonz_file_suffix,
					  &options.jsonz_file_suffix,
					  error)) < 0 ||
	    (result = store_config_string(node, node_path, "dump_file_suffix",
					  options.dump_file_suffix,
					  &options.dump_file_suffix,
					  error)) < 0 ||
	    (result = store_config_int(node, node_path,
				       "minute_slice_interval", 4, 1, 60,
				       &interval, error)) < 0)
		return result;
	options.minute_slice_interval = (int)interval;
	if (fs_layout_parse(layout, &options.layout) < 0)
		return crash_error_set(error, -EINVAL,
				       "%s.layout: unknown layout \"%s\" (radix, "
				       "legacy, dated or legacy-dated)",
				       node_path, layout);
	return fs_store_open(&options, node_path, out, error);
}

static void fs_describe(struct crash_store *store, json_t *stats)
{
	struct fs_store *fs = fs_store_of(store);
	if (!fs)
		return;
	json_object_set_new(stats, "type", json_string("fs"));
	json_object_set_new(stats, "root", json_string(fs->root));
	json_object_set_new(stats, "layout",
			    json_string(fs_layout_name(fs->options.layout)));
}

/*
 * new_crashes and ack_crash are in the table for every layout: a
 * non-dated layout has no date branch, so its pass finds nothing (Socorro
 * returns an empty list there too).
 */
/* A person may read this store's files directly: the view shows its own
 * names, and its layout's shape. */
static bool fs_naming(struct crash_store *store, struct crash_store_naming *out)
{
	struct fs_store *fs = fs_store_of(store);
	out->suffixes = fs->naming;
	out->name_branch_base = fs->name_branch_base;
	out->main_dump_name = fs->dump_field;
	out->view = fs->legacy ? CRASH_VIEW_LEGACY : CRASH_VIEW_RADIX;
	return true;
}

const struct crash_store_ops fs_store_ops = {
	.type_name = "fs",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = fs_close,
	.save_raw_crash = fs_save_raw_crash,
	.save_dump = fs_save_dump,
	.save_processed = fs_save_processed,
	.remove = fs_remove,
	.remove_part = fs_remove_part,
	.remove_radix_dir = fs_remove_radix_dir,
	.set_part_mtime = fs_set_part_mtime,
	.set_dir_mtime = fs_set_dir_mtime,
	.stat_crash = fs_stat_crash,
	.stat_part = fs_stat_part,
	.open_part = fs_open_part,
	.list_parts = fs_list_parts,
	.open_days = fs_open_days,
	.open_radix = fs_open_radix,
	.open_radix_parts = fs_open_radix_parts,
	.stat_radix_dir = fs_stat_radix_dir,
	.new_crashes = fs_new_crashes,
	.ack_crash = fs_ack_crash,
	.naming = fs_naming,
	.describe = fs_describe,
};
