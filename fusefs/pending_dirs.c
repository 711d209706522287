/*
 * pending_dirs.c - a bounded set of directory paths (see pending_dirs.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fusefs/pending_dirs.h"

#define PENDING_BUCKETS 4096

struct pending_dir {
	struct pending_dir *next;
	char path[];
};

struct pending_dirs {
	pthread_mutex_t lock;
	size_t max_dirs;
	size_t count;
	struct pending_dir *buckets[PENDING_BUCKETS];
};

static size_t bucket_of(const char *path)
{
	uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		hash ^= *c;
		hash *= 1099511628211ULL;
	}
	return (size_t)(hash % PENDING_BUCKETS);
}

int pending_dirs_new(size_t max_dirs, struct pending_dirs **out)
{
	struct pending_dirs *dirs = calloc(1, sizeof *dirs);
	if (!dirs)
		return -ENOMEM;
	pthread_mutex_init(&dirs->lock, NULL);
	dirs->max_dirs = max_dirs;
	*out = dirs;
	return 0;
}

void pending_dirs_free(struct pending_dirs *dirs)
{
	if (!dirs)
		return;
	for (size_t i = 0; i < PENDING_BUCKETS; i++) {
		struct pending_dir *dir = dirs->buckets[i];
		while (dir) {
			struct pending_dir *next = dir->next;
			free(dir);
			dir = next;
		}
	}
	pthread_mutex_destroy(&dirs->lock);
	free(dirs);
}

/* Lock held. */
static struct pending_dir **find_link(struct pending_dirs *dirs,
				      const char *path)
{
	struct pending_dir **link = &dirs->buckets[bucket_of(path)];
	while (*link && strcmp((*link)->path, path) != 0)
		link = &(*link)->next;
	return link;
}

int pending_dirs_add(struct pending_dirs *dirs, const char *path)
{
	size_t length = strlen(path);
	struct pending_dir *dir = malloc(sizeof *dir + length + 1);
	if (!dir)
		return -ENOMEM;
	memcpy(dir->path, path, length + 1);

	int result = 0;
	pthread_mutex_lock(&dirs->lock);
	struct pending_dir **link = find_link(dirs, path);
	if (*link) {
		result = -EEXIST;
	} else if (dirs->count >= dirs->max_dirs) {
		result = -ENOSPC;
	} else {
		dir->next = NULL;
		*link = dir;
		dirs->count++;
		dir = NULL;
	}
	pthread_mutex_unlock(&dirs->lock);
	free(dir);
	return result;
}

bool pending_dirs_contains(struct pending_dirs *dirs, const char *path)
{
	pthread_mutex_lock(&dirs->lock);
	bool found = *find_link(dirs, path) != NULL;
	pthread_mutex_unlock(&dirs->lock);
	return found;
}

bool pending_dirs_remove(struct pending_dirs *dirs, const char *path)
{
	struct pending_dir *dir;
	pthread_mutex_lock(&dirs->lock);
	struct pending_dir **link = find_link(dirs, path);
	dir = *link;
	if (dir) {
		*link = dir->next;
		dirs->count--;
	}
	pthread_mutex_unlock(&dirs->lock);
	free(dir);
	return dir != NULL;
}

/* The last component of path if path is a direct child of dir_path. */
static const char *child_name(const char *path, const char *dir_path,
			      size_t dir_len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return NULL;
	size_t length = (size_t)(slash - path);
	if (dir_len == 1 && dir_path[0] == '/')
		return length == 0 ? slash + 1 : NULL;
	if (length != dir_len || memcmp(path, dir_path, dir_len) != 0)
		return NULL;
	return slash + 1;
}

bool pending_dirs_has_children(struct pending_dirs *dirs, const char *dir_path)
{
	size_t dir_len = strlen(dir_path);
	bool found = false;
	pthread_mutex_lock(&dirs->lock);
	for (size_t i = 0; i < PENDING_BUCKETS && dirs->count && !found; i++)
		for (struct pending_dir *dir = dirs->buckets[i]; dir;
		     dir = dir->next)
			if (child_name(dir->path, dir_path, dir_len)) {
				found = true;
				break;
			}
	pthread_mutex_unlock(&dirs->lock);
	return found;
}

void pending_dirs_free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int pending_dirs_list_children(struct pending_dirs *dirs, const char *dir_path,
			       char ***names_out, size_t *count_out)
{
	size_t dir_len = strlen(dir_path);
	size_t count = 0, capacity = 0;
	char **names = NULL;
	int result = 0;

	pthread_mutex_lock(&dirs->lock);
	for (size_t i = 0; i < PENDING_BUCKETS && dirs->count; i++) {
		for (struct pending_dir *dir = dirs->buckets[i]; dir;
		     dir = dir->next) {
			const char *name =
				child_name(dir->path, dir_path, dir_len);
			if (!name)
				continue;
			if (count == capacity) {
				size_t more = capacity ? 2 * capacity : 8;
				void *grown =
					realloc(names, more * sizeof *names);
				if (!grown) {
					result = -ENOMEM;
					goto out;
				}
				names = grown;
				capacity = more;
			}
			names[count] = strdup(name);
			if (!names[count]) {
				result = -ENOMEM;
				goto out;
			}
			count++;
		}
	}
out:
	pthread_mutex_unlock(&dirs->lock);
	if (result < 0) {
		pending_dirs_free_names(names, count);
		return result;
	}
	*names_out = names;
	*count_out = count;
	return 0;
}

size_t pending_dirs_count(struct pending_dirs *dirs)
{
	pthread_mutex_lock(&dirs->lock);
	size_t count = dirs->count;
	pthread_mutex_unlock(&dirs->lock);
	return count;
}
