/*
 * mount_point.c - checks of MOUNTPOINT before mounting (see mount_point.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusefs/mount_point.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(const char *field, size_t length, char *out,
		     size_t out_size)
{
	size_t used = 0;
	for (size_t i = 0; i < length && used + 1 < out_size; i++) {
		if (field[i] == '\\' && i + 3 < length &&
		    field[i + 1] >= '0' && field[i + 1] <= '3' &&
		    field[i + 2] >= '0' && field[i + 2] <= '7' &&
		    field[i + 3] >= '0' && field[i + 3] <= '7') {
			out[used++] = (char)((field[i + 1] - '0') * 64 +
					     (field[i + 2] - '0') * 8 +
					     (field[i + 3] - '0'));
			i += 3;
		} else {
			out[used++] = field[i];
		}
	}
	out[used] = '\0';
}

/* The n-th space-separated field of line (0-based). */
static const char *field_of(const char *line, const char *end, int n,
			    size_t *length)
{
	const char *start = line;
	for (int i = 0; i < n; i++) {
		start = memchr(start, ' ', (size_t)(end - start));
		if (!start)
			return NULL;
		start++;
	}
	const char *stop = memchr(start, ' ', (size_t)(end - start));
	*length = (size_t)((stop ? stop : end) - start);
	return start;
}

bool mount_point_in_table(const char *mountinfo, const char *path,
			  char *type_out, size_t type_size)
{
	char point[PATH_MAX];
	for (const char *line = mountinfo; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		size_t length;
		const char *field = field_of(line, end, 4, &length);
		if (field) {
			unescape(field, length, point, sizeof point);
			if (strcmp(point, path) == 0) {
				/* After the " - " separator: the type. */
				const char *dash = strstr(field, " - ");
				if (type_out && dash && dash < end) {
					const char *type = dash + 3;
					size_t type_length = strcspn(type, " \n");
					snprintf(type_out, type_size, "%.*s",
						 (int)type_length, type);
				} else if (type_out) {
					type_out[0] = '\0';
				}
				return true;
			}
		}
		line = *end ? end + 1 : end;
	}
	return false;
}

static char *read_mountinfo(void)
{
	FILE *file = fopen("/proc/self/mountinfo", "re");
	if (!file)
		return NULL;
	size_t size = 0, capacity = 65536;
	char *text = malloc(capacity);
	while (text) {
		size_t got = fread(text + size, 1, capacity - size - 1, file);
		size += got;
		if (size + 1 < capacity)
			break;
		char *grown = realloc(text, capacity * 2);
		if (!grown) {
			free(text);
			text = NULL;
			break;
		}
		text = grown;
		capacity *= 2;
	}
	fclose(file);
	if (text)
		text[size] = '\0';
	return text;
}

static bool directory_is_empty(const char *path, int *error_out)
{
	DIR *dir = opendir(path);
	if (!dir) {
		*error_out = errno;
		return false;
	}
	bool empty = true;
	struct dirent *entry;
	while (empty && (entry = readdir(dir)) != NULL)
		if (strcmp(entry->d_name, ".") != 0 &&
		    strcmp(entry->d_name, "..") != 0)
			empty = false;
	closedir(dir);
	*error_out = 0;
	return empty;
}

int mount_point_check(const char *path, bool nonempty, char *error,
		      size_t error_size)
{
	char type[64] = "";
	char *mountinfo = read_mountinfo();
	bool mounted = mountinfo &&
		       mount_point_in_table(mountinfo, path, type, sizeof type);
	free(mountinfo);
	if (mounted && !nonempty) {
		snprintf(error, error_size,
			 "MOUNTPOINT %s is a mount point already (%s); unmount "
			 "it first, or -o nonempty mounts over it",
			 path, type[0] ? type : "unknown type");
		return -EBUSY;
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		int code = errno;
		snprintf(error, error_size, "MOUNTPOINT %s: %s", path,
			 strerror(code));
		return -code;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(error, error_size, "MOUNTPOINT %s: %s", path,
			 strerror(ENOTDIR));
		return -ENOTDIR;
	}
	if (nonempty || mounted)
		return 0;
	int code;
	if (!directory_is_empty(path, &code)) {
		if (code) {
			snprintf(error, error_size, "MOUNTPOINT %s: %s", path,
				 strerror(code));
			return -code;
		}
		snprintf(error, error_size,
			 "MOUNTPOINT %s is not empty: its files would be hidden "
			 "under the mount (-o nonempty mounts all the same)",
			 path);
		return -ENOTEMPTY;
	}
	return 0;
}
