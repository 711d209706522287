/*
 * fuzz_view_path.c - the path grammar of the mount (fusefs/view_path.h).
 *
 * Input: one byte choosing the view (radix or legacy), the part suffixes
 * and the name branch, then a path.  Whatever the path, parsing never
 * reads or writes out of bounds; a path that parses names exactly what it
 * says: formatting its crash id and part back in the same view gives the
 * same path (the one alias, "<id>..dump" for the main dump, gives the main
 * dump's path), its id belongs to its day and radix directory, and its
 * kind is a directory exactly when the grammar says so.  The other way,
 * a crash id at the start of the path is formatted into every kind of
 * path, which must parse back to the same id and part.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fusefs/view_path.h"
#include "tests/fuzz/fuzz_util.h"

/* Suffix sets the fs store accepts, Socorro's first. */
static const struct crash_naming namings[] = {
	{ .json_suffix = ".json", .dump_suffix = ".dump",
	  .jsonz_suffix = ".jsonz" },
	{ .json_suffix = ".js", .dump_suffix = ".dmp", .jsonz_suffix = ".jz" },
	{ .json_suffix = "_raw.json", .dump_suffix = "dmp",
	  .jsonz_suffix = ".processed" },
	{ .json_suffix = ".dump.json", .dump_suffix = ".dump",
	  .jsonz_suffix = ".d.jsonz" },
};

static const char *const branches[] = { "name", "00" };

/* The last component of an absolute path ("" for "/"). */
static const char *last_component(const char *path)
{
	return strrchr(path, '/') + 1;
}

static bool is_main_dump_alias(const struct crash_naming *naming,
			       const struct view_path *view)
{
	if (view->part.type != CRASH_PART_DUMP || view->part.dump_name)
		return false;
	const char *rest = view->name + CRASH_ID_LENGTH;
	return strncmp(view->name, view->crash_id, CRASH_ID_LENGTH) == 0 &&
	       rest[0] == '.' && strcmp(rest + 1, naming->dump_suffix) == 0;
}

/* Where a crash id or part lives: its day and radix directory. */
static void check_placement(const struct view_path *view, const char *path)
{
	struct crash_id_info info;
	FUZZ_ASSERT(crash_id_parse(view->crash_id, &info) == 0, "%s", path);
	if (view->by_id)
		return;
	FUZZ_ASSERT(strcmp(view->day, info.day_name) == 0, "%s", path);
	FUZZ_ASSERT(view->radix_level == info.depth, "%s", path);
	FUZZ_ASSERT(strncmp(view->prefix, view->crash_id,
			    (size_t)(2 * info.depth)) == 0,
		    "%s", path);
}

static void check_same_part(const struct view_config *config,
			    const char *formatted, const struct view_path *view)
{
	struct view_path again;
	int result = view_path_parse(config, formatted, &again);
	FUZZ_ASSERT(result == 0 && again.kind == view->kind, "%s -> %s",
		    view->name, formatted);
	FUZZ_ASSERT(strcmp(again.crash_id, view->crash_id) == 0, "%s",
		    formatted);
	FUZZ_ASSERT(crash_part_equal(&again.part, &view->part), "%s",
		    formatted);
	FUZZ_ASSERT(again.by_id == view->by_id, "%s", formatted);
}

/* A path that parsed: it says exactly what it names. */
static void check_parsed(const struct view_config *config, const char *path,
			 const struct view_path *view)
{
	char formatted[4096];
	int length = -1;

	FUZZ_ASSERT(strcmp(view->name, last_component(path)) == 0, "%s", path);
	switch (view->kind) {
	case VIEW_ROOT:
		FUZZ_ASSERT(strcmp(path, "/") == 0, "%s", path);
		break;
	case VIEW_DAY:
		FUZZ_ASSERT(crash_day_is_valid(view->day), "%s", path);
		FUZZ_ASSERT(path[0] == '/' && strcmp(path + 1, view->day) == 0,
			    "%s", path);
		break;
	case VIEW_NAME_BRANCH:
	case VIEW_RADIX_DIR:
		FUZZ_ASSERT((view->kind == VIEW_NAME_BRANCH) ==
				    (view->radix_level == 0),
			    "%s", path);
		FUZZ_ASSERT(strlen(view->prefix) ==
				    (size_t)(2 * view->radix_level),
			    "%s", path);
		length = view_radix_dir_path(config, view->day, view->prefix,
					     formatted, sizeof formatted);
		FUZZ_ASSERT(length >= 0 && strcmp(formatted, path) == 0,
			    "%s formats as %s", path, formatted);
		break;
	case VIEW_CRASH_DIR:
		FUZZ_ASSERT(view->by_id || config->mode == VIEW_MODE_RADIX,
			    "a crash directory in the legacy view: %s", path);
		check_placement(view, path);
		length = view_crash_dir_path(config, view->crash_id,
					     view->by_id, formatted,
					     sizeof formatted);
		FUZZ_ASSERT(length >= 0 && strcmp(formatted, path) == 0,
			    "%s formats as %s", path, formatted);
		break;
	case VIEW_PART_FILE:
		check_placement(view, path);
		if (view->part.dump_name) {
			FUZZ_ASSERT(view->part.dump_name == view->dump_name,
				    "%s", path);
			FUZZ_ASSERT(crash_dump_name_is_valid(view->dump_name),
				    "%s", path);
		}
		length = view_part_path(config, view->crash_id, &view->part,
					view->by_id, formatted,
					sizeof formatted);
		FUZZ_ASSERT(length >= 0, "%s", path);
		if (is_main_dump_alias(&config->naming, view))
			check_same_part(config, formatted, view);
		else
			FUZZ_ASSERT(strcmp(formatted, path) == 0,
				    "%s formats as %s", path, formatted);
		break;
	case VIEW_STAGED_NAME:
		FUZZ_ASSERT(view->name[0] == '.' && strcmp(view->name, ".") &&
				    strcmp(view->name, ".."),
			    "%s", path);
		if (view->crash_id[0])
			check_placement(view, path);
		break;
	case VIEW_CONTROL_DIR:
		FUZZ_ASSERT(strcmp(path, "/" VIEW_CONTROL_NAME) == 0, "%s",
			    path);
		break;
	case VIEW_BY_ID_DIR:
		FUZZ_ASSERT(strcmp(path, "/" VIEW_CONTROL_NAME
					 "/" VIEW_BY_ID_NAME) == 0,
			    "%s", path);
		break;
	case VIEW_STATS_FILE:
		FUZZ_ASSERT(strcmp(path, "/" VIEW_CONTROL_NAME
					 "/" VIEW_STATS_NAME) == 0,
			    "%s", path);
		break;
	default:
		FUZZ_ASSERT(false, "kind %d for %s", (int)view->kind, path);
	}
	FUZZ_ASSERT(length == -1 || (size_t)length == strlen(formatted),
		    "%s", path);

	struct view_path copy;
	view_path_copy(&copy, view);
	FUZZ_ASSERT(copy.part.dump_name == NULL ||
			    copy.part.dump_name == copy.dump_name,
		    "%s", path);
}

/* A crash id at the start of text: every path of it parses back. */
static void check_formatted(const struct view_config *config,
			    const char *text)
{
	char crash_id[CRASH_ID_LENGTH + 1];
	char formatted[4096];
	struct view_path view;

	if (strlen(text) < CRASH_ID_LENGTH)
		return;
	memcpy(crash_id, text, CRASH_ID_LENGTH);
	crash_id[CRASH_ID_LENGTH] = '\0';
	if (!crash_id_is_valid(crash_id))
		return;
	const char *dump_name = text + CRASH_ID_LENGTH;
	struct crash_part parts[] = {
		{ CRASH_PART_RAW_CRASH, NULL },
		{ CRASH_PART_DUMP, NULL },
		{ CRASH_PART_PROCESSED, NULL },
		{ CRASH_PART_DUMP, dump_name },
	};
	size_t part_count = crash_dump_name_is_valid(dump_name) ? 4 : 3;
	for (int by_id = 0; by_id < 2; by_id++) {
		int length = view_crash_dir_path(config, crash_id, by_id,
						 formatted, sizeof formatted);
		FUZZ_ASSERT(length > 0, "%s", crash_id);
		int result = view_path_parse(config, formatted, &view);
		if (by_id || config->mode == VIEW_MODE_RADIX)
			FUZZ_ASSERT(result == 0 &&
					    view.kind == VIEW_CRASH_DIR &&
					    strcmp(view.crash_id, crash_id) == 0,
				    "%s", formatted);
		else
			FUZZ_ASSERT(result == 0 && view.kind == VIEW_RADIX_DIR,
				    "%s", formatted);
		for (size_t i = 0; i < part_count; i++) {
			length = view_part_path(config, crash_id, &parts[i],
						by_id, formatted,
						sizeof formatted);
			FUZZ_ASSERT(length > 0, "%s part %zu", crash_id, i);
			result = view_path_parse(config, formatted, &view);
			FUZZ_ASSERT(result == 0 &&
					    view.kind == VIEW_PART_FILE &&
					    strcmp(view.crash_id, crash_id) ==
						    0 &&
					    crash_part_equal(&view.part,
							     &parts[i]),
				    "%s does not parse back (%s)", formatted,
				    view.reason ? view.reason : "-");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct view_config config = {
		.mode = data[0] & 1 ? VIEW_MODE_LEGACY : VIEW_MODE_RADIX,
		.naming = namings[(data[0] >> 1) & 3],
		.name_branch_base = branches[(data[0] >> 3) & 1],
	};
	char *path = fuzz_string(data + 1, size - 1);
	struct view_path view;

	int result = view_path_parse(&config, path, &view);
	if (result == 0) {
		check_parsed(&config, path, &view);
	} else {
		FUZZ_ASSERT(result == -ENOENT || result == -ENAMETOOLONG,
			    "%d for %s", result, path);
		FUZZ_ASSERT(view.kind == VIEW_INVALID, "%s", path);
		FUZZ_ASSERT(result == -ENAMETOOLONG || view.reason, "%s",
			    path);
	}
	check_formatted(&config, path[0] == '/' ? path + 1 : path);
	free(path);
	return 0;
}
