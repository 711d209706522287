/*
 * read_cache.c - the shared bounded cache of parts held remotely (see
 * read_cache.h).
 *
 * An entry is one file of the cache directory and what is known of it:
 *   FILLING  a fill is writing it; listed in cache->fills so that others
 *            missing the same key and version wait for it;
 *   READY    filled; kept if indexed (hash table + LRU list), else served
 *            only to the callers that were waiting for it;
 *   FAILED   its fill failed; the error waits for the waiters to read it.
 * refs counts the threads using an entry (the filler, each waiter, each
 * opener of a kept file).  An entry leaves the index at most once and
 * never comes back; the thread that finds it both out of the index and
 * unreferenced (entry_put, index_remove) releases it: unlinks its file and
 * frees it, after dropping the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/read_cache/read_cache.h"
#include "storage/scratch_dir.h"

/* How often a waiter polls crash_call_interrupted. */
#define READ_CACHE_WAIT_SLICE_NS 100000000L
#define READ_CACHE_FIRST_BUCKETS 64

enum entry_state {
	ENTRY_FILLING = 1,
	ENTRY_READY,
	ENTRY_FAILED,
};

struct cache_entry {
	/* Constant from creation. */
	char *key;
	uint64_t hash;
	uint64_t version;

	/* Constant once the entry is READY (read without the lock by the
	 * threads holding a reference). */
	char *path;	 /* its file; NULL once removed (failed fill) */
	off_t size;
	uint64_t charge; /* size in whole blocks, at least one */

	/* cache->lock */
	enum entry_state state;
	bool indexed;  /* in the hash table and the LRU list */
	bool keep;     /* FILLING: may be kept (cleared by read_cache_drop) */
	unsigned refs;
	struct crash_error error; /* FAILED: what the fill reported */
	/* A hash bucket's chain when indexed, cache->fills when FILLING, a
	 * list of entries to release otherwise. */
	struct cache_entry *next;
	struct cache_entry *newer, *older; /* LRU list, when indexed */
};

struct read_cache {
	struct scratch_dir *dir; /* constant */
	uint64_t max_bytes;	 /* constant */

	pthread_mutex_t lock;
	pthread_cond_t fill_done; /* broadcast when a fill ends */

	/* lock */
	struct cache_entry **buckets;
	size_t bucket_count; /* a power of two */
	struct cache_entry *newest, *oldest;
	struct cache_entry *fills;
	uint64_t files, bytes, charged;
	uint64_t hits, misses, fills_failed, too_large, evictions;
};

/* ---- entries ------------------------------------------------------- */

static uint64_t key_hash(const char *key)
{
	uint64_t hash = 14695981039346656037ull; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)key; *c; c++)
		hash = (hash ^ *c) * 1099511628211ull;
	return hash;
}

static uint64_t charge_of(off_t size)
{
	uint64_t blocks = ((uint64_t)size + READ_CACHE_BLOCK_SIZE - 1) /
			  READ_CACHE_BLOCK_SIZE;
	return (blocks ? blocks : 1) * READ_CACHE_BLOCK_SIZE;
}

static struct cache_entry *entry_new(const char *key, uint64_t hash,
				     uint64_t version)
{
	struct cache_entry *entry = calloc(1, sizeof *entry);
	if (!entry)
		return NULL;
	entry->key = strdup(key);
	if (!entry->key) {
		free(entry);
		return NULL;
	}
	entry->hash = hash;
	entry->version = version;
	entry->state = ENTRY_FILLING;
	entry->keep = true;
	entry->refs = 1;
	return entry;
}

/* Unlinks the file of entries nobody can reach any more and frees them
 * (a list through next); without the lock. */
static void release_entries(struct cache_entry *list)
{
	while (list) {
		struct cache_entry *next = list->next;
		if (list->path && unlink(list->path) < 0 && errno != ENOENT)
			crash_log(CRASH_LOG_WARNING,
				  "read cache: cannot remove %s: %s",
				  list->path, strerror(errno));
		free(list->path);
		free(list->key);
		free(list);
		list = next;
	}
}

/* Drops a reference (lock held); an entry that is out of the index and
 * was the last one's goes onto *release. */
static void entry_put(struct cache_entry *entry, struct cache_entry **release)
{
	if (--entry->refs == 0 && !entry->indexed &&
	    entry->state != ENTRY_FILLING) {
		entry->next = *release;
		*release = entry;
	}
}

/* ---- the index (lock held) ------------------------------------------ */

static struct cache_entry **bucket_of(struct read_cache *cache, uint64_t hash)
{
	return &cache->buckets[hash & (cache->bucket_count - 1)];
}

static struct cache_entry *index_find(struct read_cache *cache,
				      const char *key, uint64_t hash)
{
	for (struct cache_entry *entry = *bucket_of(cache, hash); entry;
	     entry = entry->next)
		if (entry->hash == hash && strcmp(entry->key, key) == 0)
			return entry;
	return NULL;
}

/* Doubles the table once it holds more entries than buckets; on failure
 * the chains just grow longer. */
static void index_grow(struct read_cache *cache)
{
	if (cache->files < cache->bucket_count)
		return;
	size_t count = cache->bucket_count * 2;
	struct cache_entry **buckets = calloc(count, sizeof *buckets);
	if (!buckets)
		return;
	for (size_t i = 0; i < cache->bucket_count; i++) {
		struct cache_entry *entry = cache->buckets[i];
		while (entry) {
			struct cache_entry *next = entry->next;
			struct cache_entry **bucket =
				&buckets[entry->hash & (count - 1)];
			entry->next = *bucket;
			*bucket = entry;
			entry = next;
		}
	}
	free(cache->buckets);
	cache->buckets = buckets;
	cache->bucket_count = count;
}

static void lru_unlink(struct read_cache *cache, struct cache_entry *entry)
{
	if (entry->newer)
		entry->newer->older = entry->older;
	else
		cache->newest = entry->older;
	if (entry->older)
		entry->older->newer = entry->newer;
	else
		cache->oldest = entry->newer;
	entry->newer = entry->older = NULL;
}

static void lru_push_newest(struct read_cache *cache, struct cache_entry *entry)
{
	entry->older = cache->newest;
	entry->newer = NULL;
	if (cache->newest)
		cache->newest->newer = entry;
	else
		cache->oldest = entry;
	cache->newest = entry;
}

static void index_insert(struct read_cache *cache, struct cache_entry *entry)
{
	index_grow(cache);
	struct cache_entry **bucket = bucket_of(cache, entry->hash);
	entry->next = *bucket;
	*bucket = entry;
	lru_push_newest(cache, entry);
	entry->indexed = true;
	cache->files++;
	cache->bytes += (uint64_t)entry->size;
	cache->charged += entry->charge;
}

/* Takes an entry out of the index; unreferenced, it goes onto *release. */
static void index_remove(struct read_cache *cache, struct cache_entry *entry,
			 struct cache_entry **release)
{
	struct cache_entry **link = bucket_of(cache, entry->hash);
	while (*link != entry)
		link = &(*link)->next;
	*link = entry->next;
	lru_unlink(cache, entry);
	entry->indexed = false;
	cache->files--;
	cache->bytes -= (uint64_t)entry->size;
	cache->charged -= entry->charge;
	if (entry->refs == 0) {
		entry->next = *release;
		*release = entry;
	}
}

/* ---- fills in flight (lock held) ------------------------------------ */

static struct cache_entry *fill_find(struct read_cache *cache,
				     const char *key, uint64_t hash,
				     uint64_t version)
{
	for (struct cache_entry *entry = cache->fills; entry;
	     entry = entry->next)
		if (entry->hash == hash && entry->version == version &&
		    strcmp(entry->key, key) == 0)
			return entry;
	return NULL;
}

static void fill_remove(struct read_cache *cache, struct cache_entry *entry)
{
	struct cache_entry **link = &cache->fills;
	while (*link != entry)
		link = &(*link)->next;
	*link = entry->next;
	entry->next = NULL;
}

/* A fill succeeded: keep its file if it may be kept and fits, evicting the
 * least recently used files to make room. */
static void fill_succeeded(struct read_cache *cache, struct cache_entry *entry,
			   struct cache_entry **release)
{
	fill_remove(cache, entry);
	entry->state = ENTRY_READY;
	if (!entry->keep)
		return;
	if (entry->charge > cache->max_bytes) {
		cache->too_large++;
		return;
	}
	struct cache_entry *former = index_find(cache, entry->key, entry->hash);
	if (former)
		index_remove(cache, former, release);
	while (cache->charged + entry->charge > cache->max_bytes) {
		index_remove(cache, cache->oldest, release);
		cache->evictions++;
	}
	index_insert(cache, entry);
}

/* ---- read_cache_open ------------------------------------------------- */

/* The caller's descriptor of a READY entry it holds a reference to; drops
 * that reference.  Called without the lock. */
static int serve_entry(struct read_cache *cache, struct crash_call *call,
		       struct cache_entry *entry, bool filled, int *fd_out,
		       off_t *size_out)
{
	int fd = open(entry->path, O_RDONLY | O_CLOEXEC);
	int result = 0;
	if (fd < 0)
		result = crash_error_set(&call->error, -errno,
					 "read cache: %s: cannot open %s: %s",
					 entry->key, entry->path,
					 strerror(errno));
	else {
		*fd_out = fd;
		*size_out = entry->size;
	}

	/* Once put, another thread may free the entry. */
	struct cache_entry *release = NULL;
	pthread_mutex_lock(&cache->lock);
	if (fd >= 0 && !filled)
		cache->hits++;
	entry_put(entry, &release);
	pthread_mutex_unlock(&cache->lock);
	release_entries(release);
	return result;
}

/* Waits (lock held, released meanwhile) until the fill of entry, which the
 * caller holds a reference to, is over; false if the call was interrupted
 * first.  The interruption check is the caller's code: run unlocked. */
static bool wait_for_fill(struct read_cache *cache, struct crash_call *call,
			  struct cache_entry *entry)
{
	while (entry->state == ENTRY_FILLING) {
		pthread_mutex_unlock(&cache->lock);
		bool interrupted = crash_call_interrupted(call);
		pthread_mutex_lock(&cache->lock);
		if (interrupted)
			return entry->state != ENTRY_FILLING;
		if (entry->state != ENTRY_FILLING)
			break;
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_nsec += READ_CACHE_WAIT_SLICE_NS;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cache->fill_done, &cache->lock,
				       &deadline);
	}
	return true;
}

/* Runs fill into a new file of the cache directory for entry (FILLING,
 * referenced by the caller); publishes the outcome to the waiters.  Called
 * without the lock; returns 0 or the failure, with call->error set. */
static int fill_entry(struct read_cache *cache, struct crash_call *call,
		      struct cache_entry *entry, read_cache_fill_fn fill,
		      void *arg)
{
	int fd = -1;
	int result = scratch_dir_create_file(cache->dir, "part.", 0600, &fd,
					     &entry->path);
	if (result < 0) {
		entry->path = NULL;
		crash_error_set(&call->error, result,
				"read cache: %s: cannot create a file in %s: "
				"%s",
				entry->key, scratch_dir_path(cache->dir),
				strerror(-result));
	} else {
		result = fill(arg, call, fd);
		if (result > 0)
			result = 0;
		if (result < 0 && call->error.code != result)
			crash_error_set(&call->error, result,
					"read cache: %s: fill failed: %s",
					entry->key, strerror(-result));
	}
	struct stat st;
	if (result == 0 && fstat(fd, &st) < 0)
		result = crash_error_set(&call->error, -errno,
					 "read cache: %s: fstat %s: %s",
					 entry->key, entry->path,
					 strerror(errno));
	if (fd >= 0)
		close(fd);
	if (result == 0) {
		entry->size = st.st_size;
		entry->charge = charge_of(st.st_size);
	} else if (entry->path) {
		/* A partial file (a full disk) is never left behind. */
		unlink(entry->path);
		free(entry->path);
		entry->path = NULL;
	}

	struct cache_entry *release = NULL;
	pthread_mutex_lock(&cache->lock);
	if (result == 0) {
		fill_succeeded(cache, entry, &release);
	} else {
		fill_remove(cache, entry);
		entry->state = ENTRY_FAILED;
		entry->error = call->error;
		cache->fills_failed++;
	}
	pthread_cond_broadcast(&cache->fill_done);
	pthread_mutex_unlock(&cache->lock);
	release_entries(release);
	return result;
}

/* Waits for another thread's fill of entry and shares its outcome.  Called
 * with the lock held; returns with it released: 0 or a negative errno as
 * read_cache_open, or FILL_AGAIN when that fill was interrupted. */
#define FILL_AGAIN 1
static int join_fill(struct read_cache *cache, struct crash_call *call,
		     struct cache_entry *entry, int *fd_out, off_t *size_out)
{
	struct cache_entry *release = NULL;
	int result;

	entry->refs++;
	if (!wait_for_fill(cache, call, entry)) {
		result = crash_error_set(&call->error, -EINTR,
					 "read cache: %s: interrupted while "
					 "waiting for another request's fill",
					 entry->key);
	} else if (entry->state == ENTRY_READY) {
		pthread_mutex_unlock(&cache->lock);
		return serve_entry(cache, call, entry, false, fd_out,
				   size_out);
	} else if (entry->error.code == -EINTR) {
		/* That fill's caller gave up, not this one. */
		result = FILL_AGAIN;
	} else {
		call->error = entry->error;
		result = entry->error.code;
	}
	entry_put(entry, &release);
	pthread_mutex_unlock(&cache->lock);
	release_entries(release);
	return result;
}

/* A miss: fills a new entry for key at version and serves it.  Called with
 * the lock held; returns with it released. */
static int start_fill(struct read_cache *cache, struct crash_call *call,
		      const char *key, uint64_t hash, uint64_t version,
		      read_cache_fill_fn fill, void *arg, int *fd_out,
		      off_t *size_out)
{
	struct cache_entry *entry = entry_new(key, hash, version);
	if (!entry) {
		pthread_mutex_unlock(&cache->lock);
		return crash_error_set(&call->error, -ENOMEM,
				       "read cache: %s: out of memory", key);
	}
	entry->next = cache->fills;
	cache->fills = entry;
	cache->misses++;
	pthread_mutex_unlock(&cache->lock);

	int result = fill_entry(cache, call, entry, fill, arg);
	if (result == 0)
		return serve_entry(cache, call, entry, true, fd_out, size_out);
	struct cache_entry *release = NULL;
	pthread_mutex_lock(&cache->lock);
	entry_put(entry, &release);
	pthread_mutex_unlock(&cache->lock);
	release_entries(release);
	return result;
}

int read_cache_open(struct read_cache *cache, struct crash_call *call,
		    const char *key, uint64_t version, read_cache_fill_fn fill,
		    void *arg, int *fd_out, off_t *size_out)
{
	uint64_t hash = key_hash(key);

	*fd_out = -1;
	*size_out = 0;
	pthread_mutex_lock(&cache->lock);
	for (;;) {
		struct cache_entry *entry = index_find(cache, key, hash);
		if (entry && entry->version == version) {
			entry->refs++;
			lru_unlink(cache, entry);
			lru_push_newest(cache, entry);
			pthread_mutex_unlock(&cache->lock);
			return serve_entry(cache, call, entry, false, fd_out,
					   size_out);
		}
		entry = fill_find(cache, key, hash, version);
		if (!entry)
			return start_fill(cache, call, key, hash, version,
					  fill, arg, fd_out, size_out);
		int result = join_fill(cache, call, entry, fd_out, size_out);
		if (result != FILL_AGAIN)
			return result;
		pthread_mutex_lock(&cache->lock);
	}
}

void read_cache_drop(struct read_cache *cache, const char *key)
{
	uint64_t hash = key_hash(key);
	struct cache_entry *release = NULL;

	pthread_mutex_lock(&cache->lock);
	struct cache_entry *entry = index_find(cache, key, hash);
	if (entry)
		index_remove(cache, entry, &release);
	for (entry = cache->fills; entry; entry = entry->next)
		if (entry->hash == hash && strcmp(entry->key, key) == 0)
			entry->keep = false;
	pthread_mutex_unlock(&cache->lock);
	release_entries(release);
}

/* ---- lifecycle and stats ---------------------------------------------- */

int read_cache_new(const char *dir, uint64_t max_bytes,
		   struct read_cache **out, struct crash_error *error)
{
	/* Several caches of one daemon may share dir: each its own
	 * scratch directory, "<pid>.<instance>". */
	static atomic_uint instances;

	*out = NULL;
	struct read_cache *cache = calloc(1, sizeof *cache);
	if (!cache)
		return crash_error_set(error, -ENOMEM,
				       "read cache: out of memory");
	cache->max_bytes = max_bytes;
	cache->bucket_count = READ_CACHE_FIRST_BUCKETS;
	cache->buckets = calloc(cache->bucket_count, sizeof *cache->buckets);
	if (!cache->buckets) {
		free(cache);
		return crash_error_set(error, -ENOMEM,
				       "read cache: out of memory");
	}
	int result = scratch_dir_open(dir, 0700,
				      atomic_fetch_add(&instances, 1) + 1,
				      "read cache", &cache->dir, error);
	if (result < 0) {
		free(cache->buckets);
		free(cache);
		return result;
	}
	pthread_condattr_t attributes;
	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(&cache->fill_done, &attributes);
	pthread_condattr_destroy(&attributes);
	pthread_mutex_init(&cache->lock, NULL);
	crash_log(CRASH_LOG_DEBUG, "read cache: %s, at most %llu bytes",
		  scratch_dir_path(cache->dir), (unsigned long long)max_bytes);
	*out = cache;
	return 0;
}

void read_cache_free(struct read_cache *cache)
{
	if (!cache)
		return;
	/* No call is in flight: every entry left is indexed and unused.
	 * Their files go with the directory. */
	for (struct cache_entry *entry = cache->newest, *older; entry;
	     entry = older) {
		older = entry->older;
		free(entry->path);
		free(entry->key);
		free(entry);
	}
	scratch_dir_close(cache->dir);
	pthread_cond_destroy(&cache->fill_done);
	pthread_mutex_destroy(&cache->lock);
	free(cache->buckets);
	free(cache);
}

void read_cache_describe(struct read_cache *cache, json_t *stats)
{
	pthread_mutex_lock(&cache->lock);
	const struct {
		const char *name;
		uint64_t value;
	} counters[] = {
		{ "hits", cache->hits },
		{ "misses", cache->misses },
		{ "fills_failed", cache->fills_failed },
		{ "too_large", cache->too_large },
		{ "evictions", cache->evictions },
		{ "files", cache->files },
		{ "bytes", cache->bytes },
		{ "max_bytes", cache->max_bytes },
	};
	pthread_mutex_unlock(&cache->lock);
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
		json_object_set_new(stats, counters[i].name,
				    json_integer((json_int_t)counters[i].value));
}
