/*
 * staging.c - the staged file table (see staging.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusefs/staging.h"
#include "storage/crash_log.h"

#define STAGING_BUCKETS 4096
/* Paths that left the table lately, by hash (a collision only makes a
 * reader bypass the page cache). */
#define STAGING_RECENT_SLOTS 1024

/* Expired temporaries named one by one per sweep; the rest are counted
 * in one more line. */
#define EXPIRY_LOG_LINES 10
/* Temporaries looked at per sweep (a sweep holds a reference to each). */
#define EXPIRY_BATCH 256

struct staging {
	struct spool *spool;
	struct staging_limits limits;
	pthread_mutex_t lock;
	size_t count;
	size_t temporary_count;
	uint64_t temporaries_expired;
	time_t last_sweep;
	struct staged_file *buckets[STAGING_BUCKETS];
	uint64_t recent_hash[STAGING_RECENT_SLOTS];
	time_t recent_time[STAGING_RECENT_SLOTS];
};

static uint64_t hash_of(const char *path)
{
	uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		hash ^= *c;
		hash *= 1099511628211ULL;
	}
	return hash;
}

static size_t bucket_of(const char *path)
{
	return (size_t)(hash_of(path) % STAGING_BUCKETS);
}

static time_t monotonic_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

int staging_open(struct spool *spool, const struct staging_limits *limits,
		 struct staging **out)
{
	struct staging *staging = calloc(1, sizeof *staging);
	if (!staging)
		return -ENOMEM;
	staging->spool = spool;
	staging->limits = *limits;
	pthread_mutex_init(&staging->lock, NULL);
	*out = staging;
	return 0;
}

static void free_file(struct staged_file *file)
{
	struct spool *spool = file->staging->spool;
	if (file->fd >= 0)
		close(file->fd);
	if (file->spool_path)
		unlink(file->spool_path);
	spool_release(spool, file->charged);
	pthread_mutex_destroy(&file->lock);
	pthread_cond_destroy(&file->commit_done);
	free(file->spool_path);
	free(file->path);
	free(file);
}

void staging_close(struct staging *staging)
{
	if (!staging)
		return;
	for (size_t i = 0; i < STAGING_BUCKETS; i++) {
		struct staged_file *file = staging->buckets[i];
		while (file) {
			struct staged_file *next = file->next;
			if (file->refs > 1)
				crash_log(CRASH_LOG_WARNING,
					  "staging: %s still in use at unmount",
					  file->path);
			free_file(file);
			file = next;
		}
	}
	pthread_mutex_destroy(&staging->lock);
	free(staging);
}

size_t staging_count(struct staging *staging)
{
	pthread_mutex_lock(&staging->lock);
	size_t count = staging->count;
	pthread_mutex_unlock(&staging->lock);
	return count;
}

size_t staging_temporary_count(struct staging *staging)
{
	pthread_mutex_lock(&staging->lock);
	size_t count = staging->temporary_count;
	pthread_mutex_unlock(&staging->lock);
	return count;
}

uint64_t staging_temporaries_expired(struct staging *staging)
{
	pthread_mutex_lock(&staging->lock);
	uint64_t count = staging->temporaries_expired;
	pthread_mutex_unlock(&staging->lock);
	return count;
}

static bool is_temporary(const struct staged_file *file)
{
	return file->view.kind == VIEW_STAGED_NAME;
}

/* Table lock held. */
static struct staged_file *find_locked(struct staging *staging,
				       const char *path)
{
	for (struct staged_file *file = staging->buckets[bucket_of(path)]; file;
	     file = file->next)
		if (strcmp(file->path, path) == 0)
			return file;
	return NULL;
}

/* Table lock held. */
static void unlink_locked(struct staging *staging, struct staged_file *file)
{
	uint64_t hash = hash_of(file->path);
	size_t slot = (size_t)(hash % STAGING_RECENT_SLOTS);
	staging->recent_hash[slot] = hash;
	staging->recent_time[slot] = monotonic_seconds();

	struct staged_file **link = &staging->buckets[bucket_of(file->path)];
	while (*link && *link != file)
		link = &(*link)->next;
	if (*link)
		*link = file->next;
	file->next = NULL;
	file->in_table = false;
	staging->count--;
	if (is_temporary(file))
		staging->temporary_count--;
}

/* Table lock held. */
static void insert_locked(struct staging *staging, struct staged_file *file)
{
	size_t bucket = bucket_of(file->path);
	file->next = staging->buckets[bucket];
	staging->buckets[bucket] = file;
	file->in_table = true;
	staging->count++;
	if (is_temporary(file))
		staging->temporary_count++;
}

struct staged_file *staging_find(struct staging *staging, const char *path)
{
	pthread_mutex_lock(&staging->lock);
	struct staged_file *file = find_locked(staging, path);
	if (file)
		file->refs++;
	pthread_mutex_unlock(&staging->lock);
	return file;
}

void staging_hold(struct staged_file *file)
{
	pthread_mutex_lock(&file->staging->lock);
	file->refs++;
	pthread_mutex_unlock(&file->staging->lock);
}

void staging_put(struct staged_file *file)
{
	if (!file)
		return;
	struct staging *staging = file->staging;
	pthread_mutex_lock(&staging->lock);
	bool last = --file->refs == 0;
	pthread_mutex_unlock(&staging->lock);
	if (last)
		free_file(file);
}

int staging_new_file(struct staging *staging, const char *path,
		     const struct view_path *view, mode_t mode,
		     struct staged_file **out)
{
	struct staged_file *file = calloc(1, sizeof *file);
	if (!file)
		return -ENOMEM;
	file->staging = staging;
	file->fd = -1;
	file->mode = mode & 07777;
	file->refs = 1; /* the caller's */
	pthread_mutex_init(&file->lock, NULL);
	pthread_cond_init(&file->commit_done, NULL);
	clock_gettime(CLOCK_REALTIME, &file->mtime);
	file->idle_since = monotonic_seconds();
	view_path_copy(&file->view, view);
	file->path = strdup(path);
	if (!file->path) {
		free_file(file);
		return -ENOMEM;
	}
	int result =
		spool_create_file(staging->spool, &file->fd, &file->spool_path);
	if (result < 0) {
		free_file(file);
		return result;
	}
	*out = file;
	return 0;
}

/* Temporaries that were abandoned: nobody has them open, no commit is in
 * flight, and the last close was more than temporary_ttl ago. */
static bool has_expired(const struct staged_file *file, time_t now,
			double ttl)
{
	return file->open_count == 0 && !file->committing &&
	       !file->unlinked && (double)(now - file->idle_since) > ttl;
}

/* References to up to EXPIRY_BATCH temporaries of the table. */
static size_t collect_temporaries(struct staging *staging,
				  struct staged_file **batch)
{
	size_t count = 0;
	pthread_mutex_lock(&staging->lock);
	for (size_t i = 0; i < STAGING_BUCKETS && count < EXPIRY_BATCH &&
			   staging->temporary_count;
	     i++)
		for (struct staged_file *file = staging->buckets[i];
		     file && count < EXPIRY_BATCH; file = file->next)
			if (is_temporary(file)) {
				file->refs++;
				batch[count++] = file;
			}
	pthread_mutex_unlock(&staging->lock);
	return count;
}

size_t staging_expire_temporaries(struct staging *staging, bool force)
{
	struct staged_file *batch[EXPIRY_BATCH];
	time_t now = monotonic_seconds();
	size_t expired = 0;

	pthread_mutex_lock(&staging->lock);
	bool due = staging->temporary_count > 0 &&
		   (force || now != staging->last_sweep);
	if (due)
		staging->last_sweep = now;
	pthread_mutex_unlock(&staging->lock);
	if (!due)
		return 0;
	size_t count = collect_temporaries(staging, batch);
	for (size_t i = 0; i < count; i++) {
		struct staged_file *file = batch[i];
		pthread_mutex_lock(&file->lock);
		bool drop = is_temporary(file) && file->in_table &&
			    has_expired(file, now,
					staging->limits.temporary_ttl);
		if (drop) {
			staging_drop(file);
			if (expired < EXPIRY_LOG_LINES)
				crash_log(CRASH_LOG_WARNING,
					  "temporary %s: not renamed onto a "
					  "part within %gs of its last close: "
					  "dropped (%lld bytes, temporary_ttl)",
					  file->path,
					  staging->limits.temporary_ttl,
					  (long long)file->size);
			expired++;
		}
		pthread_mutex_unlock(&file->lock);
		staging_put(file);
	}
	if (expired > EXPIRY_LOG_LINES)
		crash_log(CRASH_LOG_WARNING,
			  "%zu more temporaries expired (temporary_ttl)",
			  expired - EXPIRY_LOG_LINES);
	if (expired) {
		pthread_mutex_lock(&staging->lock);
		staging->temporaries_expired += expired;
		pthread_mutex_unlock(&staging->lock);
	}
	return expired;
}

/* -ENOSPC if the table cannot take file (table lock held). */
static int check_room_locked(struct staging *staging,
			     const struct staged_file *file)
{
	if (staging->count >= staging->limits.max_files)
		return -ENOSPC;
	if (is_temporary(file) &&
	    staging->temporary_count >= staging->limits.max_temporaries)
		return -ENOSPC;
	return 0;
}

static void log_no_room(struct staging *staging, const struct staged_file *file)
{
	if (is_temporary(file) &&
	    staging->temporary_count >= staging->limits.max_temporaries)
		crash_log(CRASH_LOG_ERROR,
			  "staging %s: %zu temporaries staged already "
			  "(temporary_max); they expire %gs after their last "
			  "close (temporary_ttl)",
			  file->path, staging->limits.max_temporaries,
			  staging->limits.temporary_ttl);
	else
		crash_log(CRASH_LOG_ERROR,
			  "staging %s: %zu files staged already (staged_max)",
			  file->path, staging->limits.max_files);
}

int staging_insert(struct staging *staging, struct staged_file *file,
		   bool replace)
{
	struct staged_file *detached = NULL;
	int result = 0;

	staging_expire_temporaries(staging, false);
	pthread_mutex_lock(&staging->lock);
	struct staged_file *existing = find_locked(staging, file->path);
	if (!existing && check_room_locked(staging, file) < 0) {
		/* Abandoned temporaries may be all that is in the way. */
		pthread_mutex_unlock(&staging->lock);
		staging_expire_temporaries(staging, true);
		pthread_mutex_lock(&staging->lock);
		existing = find_locked(staging, file->path);
	}
	if (existing && !replace) {
		result = -EEXIST;
	} else if (!existing && check_room_locked(staging, file) < 0) {
		result = -ENOSPC;
	} else {
		if (existing) {
			/* The table's reference is dropped below. */
			unlink_locked(staging, existing);
			detached = existing;
		}
		insert_locked(staging, file);
		file->refs++; /* the table's */
	}
	if (result == -ENOSPC)
		log_no_room(staging, file);
	pthread_mutex_unlock(&staging->lock);
	staging_put(detached);
	return result;
}

bool staging_is_hot(struct staging *staging, const char *path, int seconds)
{
	uint64_t hash = hash_of(path);
	size_t slot = (size_t)(hash % STAGING_RECENT_SLOTS);
	pthread_mutex_lock(&staging->lock);
	bool hot =
		find_locked(staging, path) != NULL ||
		(staging->recent_hash[slot] == hash &&
		 monotonic_seconds() - staging->recent_time[slot] <= seconds);
	pthread_mutex_unlock(&staging->lock);
	return hot;
}

/* The directory part of path: its length up to the last '/'. */
static size_t dir_length(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? (size_t)(slash - path) : 0;
}

static bool is_child(const char *path, const char *dir_path, size_t dir_len)
{
	size_t length = dir_length(path);
	/* Children of "/" have an empty directory part. */
	if (dir_len == 1 && dir_path[0] == '/')
		return length == 0;
	return length == dir_len && memcmp(path, dir_path, dir_len) == 0;
}

bool staging_has_children(struct staging *staging, const char *dir_path)
{
	size_t dir_len = strlen(dir_path);
	bool found = false;
	pthread_mutex_lock(&staging->lock);
	for (size_t i = 0; i < STAGING_BUCKETS && !found && staging->count; i++)
		for (struct staged_file *file = staging->buckets[i]; file;
		     file = file->next)
			if (is_child(file->path, dir_path, dir_len)) {
				found = true;
				break;
			}
	pthread_mutex_unlock(&staging->lock);
	return found;
}

int staging_list_dir(struct staging *staging, const char *dir_path,
		     struct staged_file ***files_out, size_t *count_out)
{
	size_t dir_len = strlen(dir_path);
	size_t count = 0, capacity = 0;
	struct staged_file **files = NULL;
	int result = 0;

	staging_expire_temporaries(staging, false);
	pthread_mutex_lock(&staging->lock);
	for (size_t i = 0; i < STAGING_BUCKETS && staging->count; i++) {
		for (struct staged_file *file = staging->buckets[i]; file;
		     file = file->next) {
			if (!is_child(file->path, dir_path, dir_len))
				continue;
			if (count == capacity) {
				size_t more = capacity ? 2 * capacity : 8;
				void *grown =
					realloc(files, more * sizeof *files);
				if (!grown) {
					result = -ENOMEM;
					goto out;
				}
				files = grown;
				capacity = more;
			}
			file->refs++;
			files[count++] = file;
		}
	}
out:
	pthread_mutex_unlock(&staging->lock);
	if (result < 0) {
		for (size_t i = 0; i < count; i++)
			staging_put(files[i]);
		free(files);
		return result;
	}
	*files_out = files;
	*count_out = count;
	return 0;
}

static int charge(struct staged_file *file, off_t end)
{
	if (end < 0)
		return -EINVAL;
	if ((uint64_t)end <= file->charged)
		return 0;
	uint64_t more = (uint64_t)end - file->charged;
	int result = spool_reserve(file->staging->spool, more);
	if (result < 0) {
		crash_log(CRASH_LOG_ERROR,
			  "staging %s: spool full (%llu of %llu bytes in use, "
			  "spool_max)",
			  file->path,
			  (unsigned long long)spool_bytes(file->staging->spool),
			  (unsigned long long)spool_max_bytes(
				  file->staging->spool));
		return result;
	}
	file->charged += more;
	return 0;
}

/* Lets go of charged bytes above the file's size. */
static void uncharge_to_size(struct staged_file *file)
{
	uint64_t size = (uint64_t)file->size;
	if (file->charged > size) {
		spool_release(file->staging->spool, file->charged - size);
		file->charged = size;
	}
}

int staged_file_load(struct staged_file *file, int fd, off_t size, off_t keep)
{
	off_t copy = size < keep ? size : keep;
	int result = charge(file, keep);
	if (result < 0)
		return result;
	result = spool_copy(file->fd, fd, copy);
	if (result == 0 && ftruncate(file->fd, keep) < 0)
		result = errno == EDQUOT ? -ENOSPC : -errno;
	if (result < 0) {
		if (ftruncate(file->fd, 0) == 0)
			file->size = 0;
		uncharge_to_size(file);
		return result;
	}
	file->size = keep;
	file->generation++;
	return 0;
}

void staged_file_mark_idle(struct staged_file *file)
{
	file->idle_since = monotonic_seconds();
}

void staged_file_wait_commit(struct staged_file *file)
{
	while (file->committing)
		pthread_cond_wait(&file->commit_done, &file->lock);
}

void staged_file_commit_begin(struct staged_file *file)
{
	file->committing = true;
	file->spool_in_commit = true;
}

bool staged_file_commit_end(struct staged_file *file, const char *spool_path)
{
	bool same = file->spool_in_commit;
	if (!same) {
		/* copy_on_write left the old spool file to the commit. */
		if (unlink(spool_path) < 0 && errno != ENOENT)
			crash_log(CRASH_LOG_WARNING,
				  "staging %s: cannot remove spool file %s: %s",
				  file->path, spool_path, strerror(errno));
	}
	file->spool_in_commit = false;
	file->committing = false;
	pthread_cond_broadcast(&file->commit_done);
	return same;
}

/* The spool file may be the stored file now: continue in a copy. */
static int copy_on_write(struct staged_file *file)
{
	int new_fd;
	char *new_path;
	int result =
		spool_create_file(file->staging->spool, &new_fd, &new_path);
	if (result < 0)
		return result;
	result = spool_copy(new_fd, file->fd, file->size);
	if (result < 0) {
		close(new_fd);
		unlink(new_path);
		free(new_path);
		return result;
	}
	close(file->fd);
	/* A commit in flight may still offer the old one to the store: it
	 * removes it when it is done (staged_file_commit_end). */
	if (!file->spool_in_commit)
		unlink(file->spool_path);
	free(file->spool_path);
	file->fd = new_fd;
	file->spool_path = new_path;
	file->adopted = false;
	file->spool_in_commit = false;
	return 0;
}

int staged_file_prepare_write(struct staged_file *file, off_t end)
{
	if (file->adopted || file->spool_in_commit) {
		int result = copy_on_write(file);
		if (result < 0)
			return result;
	}
	return charge(file, end);
}

void staged_file_wrote(struct staged_file *file, off_t end)
{
	if (end > file->size)
		file->size = end;
	uncharge_to_size(file);
	clock_gettime(CLOCK_REALTIME, &file->mtime);
	file->dirty = true;
	file->written = true;
	file->commit_failed = false;
	file->generation++;
}

void staged_file_write_failed(struct staged_file *file)
{
	uncharge_to_size(file);
}

int staged_file_truncate(struct staged_file *file, off_t size)
{
	int result = staged_file_prepare_write(file, size);
	if (result < 0)
		return result;
	if (ftruncate(file->fd, size) < 0) {
		result = errno == EDQUOT ? -ENOSPC : -errno;
		uncharge_to_size(file);
		return result;
	}
	file->size = size;
	uncharge_to_size(file);
	clock_gettime(CLOCK_REALTIME, &file->mtime);
	file->dirty = true;
	file->commit_failed = false;
	file->generation++;
	if (size == 0)
		file->write_error = 0; /* starting over */
	return 0;
}

void staged_file_stat(struct staged_file *file, struct stat *st)
{
	st->st_mode = S_IFREG | (file->mode & 07777);
	st->st_nlink = file->unlinked ? 0 : 1;
	st->st_size = file->size;
	st->st_blocks = (file->size + 511) / 512;
	st->st_mtim = file->mtime;
	st->st_ctim = file->mtime;
	st->st_atim = file->mtime;
}

void staging_drop(struct staged_file *file)
{
	struct staging *staging = file->staging;
	bool drop_table_ref = false;

	file->unlinked = true;
	pthread_mutex_lock(&staging->lock);
	if (file->in_table) {
		unlink_locked(staging, file);
		drop_table_ref = true;
	}
	pthread_mutex_unlock(&staging->lock);
	/* The caller holds a reference too, so this never frees. */
	if (drop_table_ref)
		staging_put(file);
}

int staging_move(struct staged_file *file, const char *new_path,
		 const struct view_path *new_view,
		 struct staged_file **replaced)
{
	struct staging *staging = file->staging;
	char *path_copy = strdup(new_path);

	*replaced = NULL;
	if (!path_copy)
		return -ENOMEM;
	pthread_mutex_lock(&staging->lock);
	struct staged_file *other = find_locked(staging, new_path);
	if (other == file) {
		pthread_mutex_unlock(&staging->lock);
		free(path_copy);
		return 0;
	}
	if (other) {
		/* The table's reference passes to the caller. */
		unlink_locked(staging, other);
		*replaced = other;
	}
	bool was_in_table = file->in_table;
	if (was_in_table)
		unlink_locked(staging, file);
	free(file->path);
	file->path = path_copy;
	view_path_copy(&file->view, new_view);
	file->idle_since = monotonic_seconds();
	if (was_in_table)
		insert_locked(staging, file);
	pthread_mutex_unlock(&staging->lock);
	return 0;
}
