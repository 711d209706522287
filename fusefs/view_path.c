/*
 * view_path.c - the path grammar of the mount (see view_path.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fusefs/view_path.h"

/* Enough components for /<day>/name/9 radix levels/<id>/<file>. */
#define VIEW_COMPONENTS_MAX (3 + VIEW_RADIX_LEVELS_MAX + 2)

bool view_radix_component_is_valid(int level, const char *component)
{
	return crash_radix_component_is_valid(level, component);
}

bool view_kind_is_dir(enum view_kind kind)
{
	switch (kind) {
	case VIEW_ROOT:
	case VIEW_DAY:
	case VIEW_NAME_BRANCH:
	case VIEW_RADIX_DIR:
	case VIEW_CRASH_DIR:
	case VIEW_CONTROL_DIR:
	case VIEW_BY_ID_DIR:
		return true;
	default:
		return false;
	}
}

const char *view_kind_name(enum view_kind kind)
{
	static const char *const names[] = {
		[VIEW_INVALID] = "invalid",
		[VIEW_ROOT] = "root",
		[VIEW_DAY] = "day",
		[VIEW_NAME_BRANCH] = "name branch",
		[VIEW_RADIX_DIR] = "radix directory",
		[VIEW_CRASH_DIR] = "crash directory",
		[VIEW_PART_FILE] = "part file",
		[VIEW_STAGED_NAME] = "temporary file",
		[VIEW_CONTROL_DIR] = "control directory",
		[VIEW_BY_ID_DIR] = "by-id directory",
		[VIEW_STATS_FILE] = "stats file",
	};
	if ((unsigned)kind >= sizeof names / sizeof names[0])
		return "unknown";
	return names[kind];
}

void view_path_copy(struct view_path *dst, const struct view_path *src)
{
	if (dst == src)
		return;
	memcpy(dst, src, sizeof *dst);
	if (src->part.dump_name == src->dump_name)
		dst->part.dump_name = dst->dump_name;
}

static int invalid(struct view_path *out, const char *reason)
{
	out->kind = VIEW_INVALID;
	out->reason = reason;
	return -ENOENT;
}

static bool is_hidden_name(const char *name)
{
	return name[0] == '.' && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

/* Does crash_id live in the radix directory day/name/<prefix> (level
 * components)?  Sets *reason when not. */
static bool crash_belongs_here(const char *crash_id, const char *day,
			       const char *prefix, int level,
			       const char **reason)
{
	struct crash_id_info info;

	if (crash_id_parse(crash_id, &info) < 0) {
		*reason = "not a crash id";
		return false;
	}
	if (strcmp(info.day_name, day) != 0) {
		*reason = "crash id of another day";
		return false;
	}
	if (info.depth != level ||
	    strncmp(crash_id, prefix, (size_t)(2 * level)) != 0) {
		*reason = "crash id of another radix directory";
		return false;
	}
	return true;
}

static bool is_temporary_tag(const char *tag)
{
	size_t length = strlen(tag);
	if (length == 0 || length > VIEW_TEMPORARY_TAG_MAX)
		return false;
	for (const char *c = tag; *c; c++) {
		bool allowed = (*c >= 'a' && *c <= 'z') ||
			       (*c >= 'A' && *c <= 'Z') ||
			       (*c >= '0' && *c <= '9') || *c == '_' ||
			       *c == '.' || *c == '~' || *c == '-';
		if (!allowed)
			return false;
	}
	return true;
}

/* Parses file_name as a part of crash_id, in the one spelling the view
 * lists: the store's aliases of the main dump are refused. */
static int parse_canonical_part(const struct view_config *config,
				const char *crash_id, const char *file_name,
				struct view_path *out)
{
	char canonical[VIEW_NAME_MAX + 1];
	const char *main_dump_name = config->main_dump_name
					     ? config->main_dump_name
					     : CRASH_MAIN_DUMP_NAME;

	if (crash_part_parse_file_name(&config->naming, crash_id, file_name,
				       &out->part, out->dump_name,
				       sizeof out->dump_name) < 0)
		return invalid(out, "not a part file name of this crash");
	if (out->part.type == CRASH_PART_DUMP && out->part.dump_name &&
	    strcmp(out->part.dump_name, main_dump_name) == 0)
		return invalid(out, "another spelling of the main dump "
				    "<id>.dump: use that name");
	if (crash_part_file_name(&config->naming, crash_id, &out->part,
				 canonical, sizeof canonical) < 0 ||
	    strcmp(canonical, file_name) != 0)
		return invalid(out, "another spelling of the main dump "
				    "<id>.dump: use that name");
	return 0;
}

/* ".<part file name>.<tag>": a temporary of a part of crash_id, or (when
 * crash_id is NULL, a legacy leaf) of a part of a crash of the leaf,
 * whose id is then copied into out->crash_id.  The part may itself hold
 * dots, so each dot of the name is tried as the start of the tag. */
static int parse_temporary(const struct view_config *config,
			   const char *crash_id, const char *name,
			   struct view_path *out)
{
	char target[VIEW_NAME_MAX + 1];
	const char *reason = "a hidden name that is not a temporary file of a "
			     "part (.<part file name>.<tag>)";

	bool in_leaf = crash_id == NULL;
	snprintf(target, sizeof target, "%s", name + 1);
	if (in_leaf) {
		if (strlen(target) < CRASH_ID_LENGTH)
			return invalid(out, reason);
		memcpy(out->crash_id, target, CRASH_ID_LENGTH);
		out->crash_id[CRASH_ID_LENGTH] = '\0';
		if (!crash_belongs_here(out->crash_id, out->day, out->prefix,
					out->radix_level, &out->reason)) {
			out->crash_id[0] = '\0';
			return invalid(out, reason);
		}
		crash_id = out->crash_id;
	}
	for (char *dot = strrchr(target, '.'); dot; dot = strrchr(target, '.')) {
		*dot = '\0';
		if (is_temporary_tag(dot + 1) &&
		    parse_canonical_part(config, crash_id, target, out) == 0) {
			out->reason = NULL;
			out->kind = VIEW_STAGED_NAME;
			return 0;
		}
	}
	if (in_leaf)
		out->crash_id[0] = '\0';
	return invalid(out, reason);
}

/* name inside the directory of crash_id (crash dir or by-id dir). */
static int parse_in_crash_dir(const struct view_config *config,
			      const char *name, struct view_path *out)
{
	if (is_hidden_name(name))
		return parse_temporary(config, out->crash_id, name, out);
	int result = parse_canonical_part(config, out->crash_id, name, out);
	if (result < 0)
		return result;
	out->kind = VIEW_PART_FILE;
	return 0;
}

/* name inside a radix directory of the legacy view. */
static int parse_in_legacy_leaf(const struct view_config *config,
				const char *name, struct view_path *out)
{
	if (is_hidden_name(name))
		return parse_temporary(config, NULL, name, out);
	if (strlen(name) <= CRASH_ID_LENGTH)
		return invalid(out, "not a radix directory or part file name");
	memcpy(out->crash_id, name, CRASH_ID_LENGTH);
	out->crash_id[CRASH_ID_LENGTH] = '\0';
	if (!crash_belongs_here(out->crash_id, out->day, out->prefix,
				out->radix_level, &out->reason)) {
		bool is_id = crash_id_is_valid(out->crash_id);
		out->crash_id[0] = '\0';
		return invalid(out, is_id ? out->reason
					  : "not a radix directory or part "
					    "file name");
	}
	int result = parse_canonical_part(config, out->crash_id, name, out);
	if (result < 0) {
		out->crash_id[0] = '\0';
		return result;
	}
	out->kind = VIEW_PART_FILE;
	return 0;
}

static int parse_control(const struct view_config *config, char **components,
			 int count, struct view_path *out)
{
	if (count == 1) {
		out->kind = VIEW_CONTROL_DIR;
		return 0;
	}
	if (strcmp(components[1], VIEW_STATS_NAME) == 0 && count == 2) {
		out->kind = VIEW_STATS_FILE;
		return 0;
	}
	if (strcmp(components[1], VIEW_BY_ID_NAME) != 0)
		return invalid(out, "no such control file");
	if (count == 2) {
		out->kind = VIEW_BY_ID_DIR;
		return 0;
	}
	out->by_id = true;
	if (!crash_id_is_valid(components[2]))
		return invalid(out, "not a crash id");
	memcpy(out->crash_id, components[2], CRASH_ID_LENGTH + 1);
	if (count == 3) {
		out->kind = VIEW_CRASH_DIR;
		return 0;
	}
	if (count > 4)
		return invalid(out, "a crash directory has no subdirectories");
	return parse_in_crash_dir(config, components[3], out);
}

static int parse_day(const struct view_config *config, char **components,
		     int count, struct view_path *out)
{
	if (!crash_day_is_valid(components[0]))
		return invalid(out, "not a day (YYYYMMDD)");
	memcpy(out->day, components[0], CRASH_DAY_LENGTH + 1);
	if (count == 1) {
		out->kind = VIEW_DAY;
		return 0;
	}
	if (strcmp(components[1], config->name_branch_base) != 0)
		return invalid(out, "not the name branch of a day");

	int index = 2;
	while (index < count && strlen(components[index]) == 2) {
		if (!view_radix_component_is_valid(out->radix_level,
						   components[index]))
			return invalid(out, "not a radix directory name");
		memcpy(out->prefix + 2 * out->radix_level, components[index],
		       2);
		out->radix_level++;
		out->prefix[2 * out->radix_level] = '\0';
		index++;
	}
	if (index == count) {
		out->kind = out->radix_level == 0 ? VIEW_NAME_BRANCH
						  : VIEW_RADIX_DIR;
		return 0;
	}

	const char *name = components[index];
	if (config->mode == VIEW_MODE_LEGACY) {
		if (index + 1 != count)
			return invalid(out, "not a radix directory name");
		return parse_in_legacy_leaf(config, name, out);
	}
	if (!crash_belongs_here(name, out->day, out->prefix, out->radix_level,
				&out->reason))
		return invalid(out, out->reason);
	memcpy(out->crash_id, name, CRASH_ID_LENGTH + 1);
	if (index + 1 == count) {
		out->kind = VIEW_CRASH_DIR;
		return 0;
	}
	if (index + 2 != count)
		return invalid(out, "a crash directory has no subdirectories");
	return parse_in_crash_dir(config, components[index + 1], out);
}

int view_path_parse(const struct view_config *config, const char *path,
		    struct view_path *out)
{
	char buffer[VIEW_COMPONENTS_MAX * (VIEW_NAME_MAX + 1)];
	char *components[VIEW_COMPONENTS_MAX];
	int count = 0;

	memset(out, 0, sizeof *out);
	if (!path || path[0] != '/')
		return invalid(out, "not an absolute path");
	size_t length = strlen(path);
	if (length >= sizeof buffer)
		return -ENAMETOOLONG;
	memcpy(buffer, path, length + 1);

	char *cursor = buffer + 1;
	while (*cursor) {
		char *slash = strchr(cursor, '/');
		if (slash)
			*slash = '\0';
		if (*cursor == '\0' || strcmp(cursor, ".") == 0 ||
		    strcmp(cursor, "..") == 0)
			return invalid(out, "empty, '.' or '..' component");
		if (strlen(cursor) > VIEW_NAME_MAX)
			return -ENAMETOOLONG;
		if (count == VIEW_COMPONENTS_MAX)
			return invalid(out, "too deep");
		components[count++] = cursor;
		if (!slash)
			break;
		cursor = slash + 1;
		if (*cursor == '\0')
			return invalid(out, "trailing slash");
	}
	if (count == 0) {
		out->kind = VIEW_ROOT;
		return 0;
	}
	snprintf(out->name, sizeof out->name, "%s", components[count - 1]);
	if (strcmp(components[0], VIEW_CONTROL_NAME) == 0)
		return parse_control(config, components, count, out);
	return parse_day(config, components, count, out);
}

int view_radix_dir_path(const struct view_config *config, const char *day,
			const char *prefix, char *out, size_t out_size)
{
	size_t used;
	int length = snprintf(out, out_size, "/%s/%s", day,
			      config->name_branch_base);
	if (length < 0 || (size_t)length >= out_size)
		return -ENAMETOOLONG;
	used = (size_t)length;
	for (size_t i = 0; prefix[i] && prefix[i + 1]; i += 2) {
		if (used + 3 >= out_size)
			return -ENAMETOOLONG;
		out[used++] = '/';
		out[used++] = prefix[i];
		out[used++] = prefix[i + 1];
	}
	out[used] = '\0';
	return (int)used;
}

int view_crash_dir_path(const struct view_config *config, const char *crash_id,
			bool by_id, char *out, size_t out_size)
{
	struct crash_id_info info;
	int length;

	if (crash_id_parse(crash_id, &info) < 0)
		return -EINVAL;
	if (by_id) {
		length = snprintf(out, out_size, "/%s/%s/%s", VIEW_CONTROL_NAME,
				  VIEW_BY_ID_NAME, crash_id);
		if (length < 0 || (size_t)length >= out_size)
			return -ENAMETOOLONG;
		return length;
	}
	char prefix[2 * VIEW_RADIX_LEVELS_MAX + 1];
	memcpy(prefix, crash_id, (size_t)(2 * info.depth));
	prefix[2 * info.depth] = '\0';
	length = view_radix_dir_path(config, info.day_name, prefix, out,
				     out_size);
	if (length < 0 || config->mode == VIEW_MODE_LEGACY)
		return length;
	int more = snprintf(out + length, out_size - (size_t)length, "/%s",
			    crash_id);
	if (more < 0 || (size_t)more >= out_size - (size_t)length)
		return -ENAMETOOLONG;
	return length + more;
}

int view_part_path(const struct view_config *config, const char *crash_id,
		   const struct crash_part *part, bool by_id, char *out,
		   size_t out_size)
{
	int length =
		view_crash_dir_path(config, crash_id, by_id, out, out_size);
	if (length < 0)
		return length;
	if ((size_t)length + 2 >= out_size)
		return -ENAMETOOLONG;
	out[length] = '/';
	int more = crash_part_file_name(&config->naming, crash_id, part,
					out + length + 1,
					out_size - (size_t)length - 1);
	if (more < 0)
		return more;
	return length + 1 + more;
}
