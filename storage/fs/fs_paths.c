/*
 * fs_paths.c - path derivation for the four layouts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "storage/crash_error.h"
#include "storage/fs/fs_paths.h"

int fs_path_format(struct crash_call *call, char *out, size_t out_size,
		   const char *format, ...)
{
	va_list args;

	va_start(args, format);
	int length = vsnprintf(out, out_size, format, args);
	va_end(args);
	if (length < 0 || (size_t)length >= out_size) {
		/* out holds the truncated start: enough to say where. */
		return crash_error_set(&call->error, -ENAMETOOLONG,
				       "path too long: %.200s...", out);
	}
	return 0;
}

int fs_paths_crash(const struct fs_store *fs, struct crash_call *call,
		   const char *crash_id, struct fs_crash_paths *paths)
{
	struct crash_id_info info;

	if (crash_id_parse(crash_id, &info) < 0)
		return crash_error_set(&call->error, -EINVAL,
				       "invalid crash id \"%.64s\"",
				       crash_id ? crash_id : "(null)");
	memcpy(paths->day, info.day_name, sizeof paths->day);
	paths->depth = info.depth;
	if (crash_id_radix_path(crash_id, paths->radix, sizeof paths->radix) <
	    0)
		return crash_error_set(&call->error, -EINVAL,
				       "no radix path for crash id %s",
				       crash_id);
	int result = fs_path_format(call, paths->leaf, sizeof paths->leaf,
				    "%s/%s/%s/%s", fs->root, paths->day,
				    fs->name_branch_base, paths->radix);
	if (result < 0)
		return result;
	if (fs->legacy) {
		memcpy(paths->parent, paths->leaf, sizeof paths->parent);
		return fs_path_format(call, paths->back_link,
				      sizeof paths->back_link, "%s/%s",
				      paths->leaf, crash_id);
	}
	result = fs_path_format(call, paths->parent, sizeof paths->parent,
				"%s/%s", paths->leaf, crash_id);
	if (result < 0)
		return result;
	return fs_path_format(call, paths->back_link, sizeof paths->back_link,
			      "%s/%s", paths->parent, FS_DATE_ROOT_NAME);
}

int fs_paths_part(const struct fs_store *fs, struct crash_call *call,
		  const struct fs_crash_paths *paths, const char *crash_id,
		  const struct crash_part *part, char *out, size_t out_size)
{
	char file_name[NAME_MAX + 1];

	int result = crash_part_file_name(&fs->naming, crash_id, part,
					  file_name, sizeof file_name);
	if (result == -ENAMETOOLONG)
		return crash_error_set(&call->error, result,
				       "file name of a part of %s is too long",
				       crash_id);
	if (result < 0)
		return crash_error_set(&call->error, result,
				       "invalid part of crash %s", crash_id);
	return fs_path_format(call, out, out_size, "%s/%s", paths->parent,
			      file_name);
}

int fs_paths_main_dump_alternate(const struct fs_store *fs,
				 struct crash_call *call,
				 const struct fs_crash_paths *paths,
				 const char *crash_id, char *out,
				 size_t out_size)
{
	return fs_path_format(call, out, out_size, "%s/%s.%s", paths->parent,
			      crash_id, fs->naming.dump_suffix);
}

/* Writes the last `digits` decimal digits of value, zero padded. */
static void put_digits(char *out, unsigned value, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = (char)('0' + value % 10);
		value /= 10;
	}
}

void fs_slot_of_time(const struct fs_store *fs, const struct timespec *time,
		     struct fs_slot *slot, char day[CRASH_DAY_LENGTH + 1])
{
	struct tm utc;
	time_t seconds = time->tv_sec;

	gmtime_r(&seconds, &utc);
	/* Socorro: "%02d" % hour, "%02d_%02d" % (minute, second // interval). */
	put_digits(slot->hour, (unsigned)utc.tm_hour, 2);
	slot->hour[2] = '\0';
	put_digits(slot->minute_slot, (unsigned)utc.tm_min, 2);
	slot->minute_slot[2] = '_';
	put_digits(slot->minute_slot + 3,
		   (unsigned)(utc.tm_sec / fs->options.minute_slice_interval),
		   2);
	slot->minute_slot[5] = '\0';
	if (day) {
		put_digits(day, (unsigned)(utc.tm_year + 1900), 4);
		put_digits(day + 4, (unsigned)(utc.tm_mon + 1), 2);
		put_digits(day + 6, (unsigned)utc.tm_mday, 2);
		day[CRASH_DAY_LENGTH] = '\0';
	}
}

int fs_paths_slot_dir(const struct fs_store *fs, struct crash_call *call,
		      const char *day, const struct fs_slot *slot, char *out,
		      size_t out_size)
{
	return fs_path_format(call, out, out_size, "%s/%s/%s/%s/%s", fs->root,
			      day, fs->date_branch_base, slot->hour,
			      slot->minute_slot);
}

/* How many ".." lead from the back link's directory to the day. */
static int back_link_levels(const struct fs_store *fs,
			    const struct fs_crash_paths *paths)
{
	return fs->legacy ? paths->depth + 1 : paths->depth + 2;
}

int fs_paths_back_link_target(const struct fs_store *fs,
			      struct crash_call *call,
			      const struct fs_crash_paths *paths,
			      const struct fs_slot *slot, char *out,
			      size_t out_size)
{
	char ups[3 * (FS_RADIX_LEVELS_MAX + 2) + 1];
	int levels = back_link_levels(fs, paths);
	size_t length = 0;

	for (int i = 0; i < levels; i++) {
		memcpy(ups + length, "../", 3);
		length += 3;
	}
	ups[length] = '\0';
	return fs_path_format(call, out, out_size, "%s%s/%s/%s", ups,
			      fs->date_branch_base, slot->hour,
			      slot->minute_slot);
}

/* A slot path component: non-empty, no '/', not "." or "..". */
static bool is_plain_component(const char *text, size_t length)
{
	if (length == 0 || memchr(text, '/', length))
		return false;
	if (text[0] == '.' && (length == 1 || (length == 2 && text[1] == '.')))
		return false;
	return true;
}

int fs_paths_parse_back_link_target(const struct fs_store *fs,
				    const struct fs_crash_paths *paths,
				    const char *target, struct fs_slot *slot)
{
	int levels = back_link_levels(fs, paths);

	for (int i = 0; i < levels; i++, target += 3)
		if (strncmp(target, "../", 3) != 0)
			return -EINVAL;
	size_t base_length = strlen(fs->date_branch_base);
	if (strncmp(target, fs->date_branch_base, base_length) != 0 ||
	    target[base_length] != '/')
		return -EINVAL;
	const char *hour = target + base_length + 1;
	const char *slash = strchr(hour, '/');
	if (!slash)
		return -EINVAL;
	size_t hour_length = (size_t)(slash - hour);
	const char *minute_slot = slash + 1;
	size_t minute_slot_length = strlen(minute_slot);
	if (!is_plain_component(hour, hour_length) ||
	    !is_plain_component(minute_slot, minute_slot_length) ||
	    hour_length >= sizeof slot->hour ||
	    minute_slot_length >= sizeof slot->minute_slot)
		return -EINVAL;
	memcpy(slot->hour, hour, hour_length);
	slot->hour[hour_length] = '\0';
	memcpy(slot->minute_slot, minute_slot, minute_slot_length + 1);
	return 0;
}

int fs_paths_slot_link_target(const struct fs_store *fs,
			      struct crash_call *call,
			      const struct fs_crash_paths *paths,
			      const char *crash_id, char *out,
			      size_t out_size)
{
	/* slot dir -> hour -> date branch -> day: always three levels. */
	if (fs->legacy)
		return fs_path_format(call, out, out_size, "../../../%s/%s",
				      fs->name_branch_base, paths->radix);
	return fs_path_format(call, out, out_size, "../../../%s/%s/%s",
			      fs->name_branch_base, paths->radix, crash_id);
}

bool fs_radix_component_is_valid(int level, const char *name)
{
	return crash_radix_component_is_valid(level, name);
}

int fs_paths_radix_dir(const struct fs_store *fs, struct crash_call *call,
		       const char *day, const char *prefix, char *out,
		       size_t out_size)
{
	if (!crash_day_is_valid(day))
		return crash_error_set(&call->error, -EINVAL,
				       "invalid day \"%.32s\"",
				       day ? day : "(null)");
	size_t prefix_length = prefix ? strlen(prefix) : 0;
	if (prefix_length % 2 != 0 ||
	    prefix_length > 2 * FS_RADIX_LEVELS_MAX)
		return crash_error_set(&call->error, -EINVAL,
				       "invalid radix prefix \"%.32s\"",
				       prefix);
	char radix[FS_RADIX_PATH_MAX + 1];
	size_t length = 0;
	for (size_t i = 0; i < prefix_length; i += 2) {
		char component[3] = { prefix[i], prefix[i + 1], '\0' };
		if (!fs_radix_component_is_valid((int)(i / 2), component))
			return crash_error_set(&call->error, -EINVAL,
					       "invalid radix prefix \"%.32s\"",
					       prefix);
		radix[length++] = '/';
		radix[length++] = component[0];
		radix[length++] = component[1];
	}
	radix[length] = '\0';
	return fs_path_format(call, out, out_size, "%s/%s/%s%s", fs->root,
			      day, fs->name_branch_base, radix);
}
