/*
 * contract_tree.c - the suite's work directory and the store tree under
 * test.
 *
 * The work directory is made fresh for each run (under
 * $CRASHFS_TEST_TMPDIR, $TMPDIR or /tmp) and removed at the end, unless
 * --keep-work-dir.  In the tree's JSON, a string "@scratch", or one
 * starting with "@scratch/", names that directory: {"type": "fs",
 * "root": "@scratch/root"} is a store in a fresh root every run, and a
 * faulty store's trigger files "@scratch/fault-operational" and
 * "@scratch/fault-final" are the ones the errors case creates.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mountopts/store_types.h"
#include "storage/store_registry.h"
#include "tests/contract/contract.h"
#include "tests/contract/contract_tree.h"

#define SCRATCH_WORD "@scratch"

int contract_work_dir_make(struct contract_run *run, char *error, size_t size)
{
	const char *parent = getenv("CRASHFS_TEST_TMPDIR");
	if (!parent || !parent[0])
		parent = getenv("TMPDIR");
	if (!parent || !parent[0])
		parent = "/tmp";
	if (asprintf(&run->work_dir, "%s/crashfs-contract-XXXXXX", parent) < 0) {
		run->work_dir = NULL;
		snprintf(error, size, "out of memory");
		return -ENOMEM;
	}
	if (!mkdtemp(run->work_dir)) {
		int code = errno;
		snprintf(error, size, "cannot make a work directory in %s: %s",
			 parent, strerror(code));
		free(run->work_dir);
		run->work_dir = NULL;
		return -code;
	}
	if (asprintf(&run->spool_dir, "%s/spool", run->work_dir) < 0 ||
	    mkdir(run->spool_dir, 0700) < 0) {
		snprintf(error, size, "cannot make %s/spool", run->work_dir);
		return -EIO;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *walk)
{
	(void)st, (void)type, (void)walk;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "contract_suite: cannot remove %s: %s\n", path,
			strerror(errno));
	return 0;
}

void contract_work_dir_remove(struct contract_run *run)
{
	if (run->work_dir)
		nftw(run->work_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(run->work_dir);
	free(run->spool_dir);
	run->work_dir = run->spool_dir = NULL;
}

/* "@scratch..." with the work directory, or NULL if value is not one. */
static json_t *resolved(const json_t *value, const char *work_dir)
{
	const char *text = json_string_value(value);
	size_t length = strlen(SCRATCH_WORD);
	if (!text || strncmp(text, SCRATCH_WORD, length) != 0 ||
	    (text[length] != '\0' && text[length] != '/'))
		return NULL;
	char *path;
	if (asprintf(&path, "%s%s", work_dir, text + length) < 0)
		return NULL;
	json_t *string = json_string(path);
	free(path);
	return string;
}

static void resolve_scratch(json_t *node, const char *work_dir)
{
	const char *key;
	json_t *value, *replacement;
	size_t index;
	if (json_is_object(node)) {
		json_object_foreach(node, key, value) {
			if ((replacement = resolved(value, work_dir)))
				json_object_set_new(node, key, replacement);
			else
				resolve_scratch(value, work_dir);
		}
	} else if (json_is_array(node)) {
		json_array_foreach(node, index, value) {
			if ((replacement = resolved(value, work_dir)))
				json_array_set_new(node, index, replacement);
			else
				resolve_scratch(value, work_dir);
		}
	}
}

int contract_tree_load(struct contract_run *run, const char *argument,
		       char *error, size_t size)
{
	json_error_t json_error;
	json_t *root;
	const char *start = argument + strspn(argument, " \t\r\n");
	if (start[0] == '{') {
		run->tree_source = "(the tree given as text)";
		root = json_loads(argument, JSON_REJECT_DUPLICATES, &json_error);
	} else {
		run->tree_source = argument;
		root = json_load_file(argument, JSON_REJECT_DUPLICATES,
				      &json_error);
	}
	if (!root) {
		snprintf(error, size, "%s:%d:%d: %s", run->tree_source,
			 json_error.line, json_error.column, json_error.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(error, size, "%s: not a JSON object", run->tree_source);
		return -EINVAL;
	}
	/* A bare store node ("type" or "ref", where a tree document has
	 * "store" and "stores") is the tree's "store". */
	if (json_object_get(root, "type") || json_object_get(root, "ref")) {
		json_t *document = json_pack("{s:o}", "store", root);
		if (!document) {
			snprintf(error, size, "out of memory");
			return -ENOMEM;
		}
		root = document;
	}
	resolve_scratch(root, run->work_dir);
	run->tree_text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!run->tree_text) {
		snprintf(error, size, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int contract_tree_open(const struct contract_run *run,
		       struct crash_store **out, struct crash_error *error)
{
	struct crash_store_env env = {
		.types = crashfs_store_types,
		.spool_dir = run->spool_dir,
		/* No retry policy: failures reach the cases at once. */
		.default_retry = NULL,
	};
	return store_registry_open_buffer(run->tree_text,
					  strlen(run->tree_text),
					  run->tree_source, &env, out, error);
}
