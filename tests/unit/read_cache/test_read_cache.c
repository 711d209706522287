/*
 * test_read_cache.c - the shared read cache: hits, misses and versions,
 * the byte bound and LRU eviction, parts too large to keep, failed and
 * interrupted fills, one fill for concurrent misses, descriptors that
 * outlive eviction, and the cache directory's sweep and removal.
 *
 * A full disk is simulated by a fill that writes part of the bytes and
 * then fails with -ENOSPC, as a fill whose write(2) hit a full file system
 * does: making a really full file system would need a mount of our own
 * (root, or a user namespace), which unit tests do not do.
 *
 * Threads meet through conditions, never through sleeps: a fill blocks
 * until the test opens a gate, and a waiter announces itself from its
 * crash_call_interrupted callback, which the cache calls only from its
 * wait for another thread's fill.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "storage/crash_log.h"
#include "storage/read_cache/read_cache.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define BLOCK READ_CACHE_BLOCK_SIZE
#define KEY_A "store.primary\n0bba929f-8721-460c-dead-a43c22141021\nraw"
#define KEY_B "store.primary\n0bba929f-8721-460c-dead-a43c22141021\ndump"

/* ---- directories ------------------------------------------------------ */

static char *make_dir(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char pattern[PATH_MAX];
	snprintf(pattern, sizeof pattern, "%s/crashfs-read-cache-%s-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp", tag);
	if (!mkdtemp(pattern)) {
		perror("mkdtemp");
		exit(2);
	}
	return strdup(pattern);
}

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	DIR *dir = opendir(path);
	struct dirent *entry;
	while (dir && (entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		char child[PATH_MAX];
		snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
		remove_tree(child);
	}
	if (dir)
		closedir(dir);
	rmdir(path);
}

static void path_join(char *out, size_t size, const char *dir,
		      const char *name)
{
	int length = snprintf(out, size, "%s/%s", dir, name);
	if (length < 0 || (size_t)length >= size) {
		fprintf(stderr, "path too long: %s/%s\n", dir, name);
		exit(2);
	}
}

/* Entries of a directory, "." and ".." aside. */
static int count_entries(const char *path)
{
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL)
		if (strcmp(entry->d_name, ".") != 0 &&
		    strcmp(entry->d_name, "..") != 0)
			count++;
	closedir(dir);
	return count;
}

/* Files of every cache directory under root, their lock files aside:
 * what the caches hold on disk. */
static int count_cache_files(const char *root)
{
	DIR *dir = opendir(root);
	if (!dir)
		return -1;
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", root, entry->d_name);
		int files = count_entries(path);
		if (files > 0)
			count += files - 1; /* its lock */
	}
	closedir(dir);
	return count;
}

/* ---- fills ------------------------------------------------------------- */

/* A gate a fill waits at until the test opens it; entered tells the test
 * a fill is in. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool open;
	bool entered;
	int waiters; /* callers that announced they wait for a fill */
};

static void gate_init(struct gate *gate)
{
	pthread_mutex_init(&gate->lock, NULL);
	pthread_cond_init(&gate->changed, NULL);
	gate->open = false;
	gate->entered = false;
	gate->waiters = 0;
}

static void gate_destroy(struct gate *gate)
{
	pthread_cond_destroy(&gate->changed);
	pthread_mutex_destroy(&gate->lock);
}

static void gate_open(struct gate *gate)
{
	pthread_mutex_lock(&gate->lock);
	gate->open = true;
	pthread_cond_broadcast(&gate->changed);
	pthread_mutex_unlock(&gate->lock);
}

static void gate_wait_entered(struct gate *gate)
{
	pthread_mutex_lock(&gate->lock);
	while (!gate->entered)
		pthread_cond_wait(&gate->changed, &gate->lock);
	pthread_mutex_unlock(&gate->lock);
}

struct test_fill {
	const char *content;
	size_t length;
	int result;	      /* returned after writing */
	const char *message;  /* call->error's, when result < 0 */
	struct gate *gate;    /* NULL: no wait */
	int wait_for_waiters; /* wait until this many announced themselves */
	atomic_int calls;
};

static void test_fill_init(struct test_fill *fill, const char *content,
			   size_t length)
{
	memset(fill, 0, sizeof *fill);
	fill->content = content;
	fill->length = length;
	atomic_init(&fill->calls, 0);
}

static int fill_from(void *arg, struct crash_call *call, int fd)
{
	struct test_fill *fill = arg;
	atomic_fetch_add(&fill->calls, 1);
	if (fill->gate) {
		struct gate *gate = fill->gate;
		pthread_mutex_lock(&gate->lock);
		gate->entered = true;
		pthread_cond_broadcast(&gate->changed);
		while (!gate->open || gate->waiters < fill->wait_for_waiters)
			pthread_cond_wait(&gate->changed, &gate->lock);
		pthread_mutex_unlock(&gate->lock);
	}
	size_t done = 0;
	while (done < fill->length) {
		ssize_t wrote = write(fd, fill->content + done,
				      fill->length - done);
		if (wrote < 0)
			return crash_error_set(&call->error, -errno,
					       "test fill: %s",
					       strerror(errno));
		done += (size_t)wrote;
	}
	if (fill->result < 0 && fill->message)
		crash_error_set(&call->error, fill->result, "%s",
				fill->message);
	return fill->result;
}

/* A caller that announces, at the cache's first poll, that it waits for
 * another thread's fill; interrupted from its poll number interrupt_at
 * on (0: never). */
struct waiter {
	struct gate *gate;
	int polls;
	int interrupt_at;
};

static bool waiter_interrupted(void *arg)
{
	struct waiter *waiter = arg;
	if (waiter->polls++ == 0) {
		pthread_mutex_lock(&waiter->gate->lock);
		waiter->gate->waiters++;
		pthread_cond_broadcast(&waiter->gate->changed);
		pthread_mutex_unlock(&waiter->gate->lock);
	}
	return waiter->interrupt_at && waiter->polls >= waiter->interrupt_at;
}

/* ---- checks ------------------------------------------------------------ */

static char *pattern_bytes(char first, size_t length)
{
	char *bytes = malloc(length ? length : 1);
	for (size_t i = 0; i < length; i++)
		bytes[i] = (char)(first + (char)(i % 23));
	return bytes;
}

/* True if fd holds exactly length bytes equal to expected. */
static bool fd_holds(int fd, const char *expected, size_t length)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size != length)
		return false;
	char *bytes = malloc(length + 1);
	size_t done = 0;
	while (done < length + 1) {
		ssize_t got = pread(fd, bytes + done, length + 1 - done,
				    (off_t)done);
		if (got <= 0)
			break;
		done += (size_t)got;
	}
	bool same = done == length && memcmp(bytes, expected, length) == 0;
	free(bytes);
	return same;
}

static long long stat_of(struct read_cache *cache, const char *name)
{
	json_t *stats = json_object();
	read_cache_describe(cache, stats);
	json_t *value = json_object_get(stats, name);
	long long result = json_is_integer(value) ? json_integer_value(value) :
						    -1;
	json_decref(stats);
	return result;
}

static int open_part(struct read_cache *cache, const char *key,
		     uint64_t version, struct test_fill *fill, int *fd,
		     off_t *size)
{
	struct crash_call call;
	crash_call_init(&call);
	return read_cache_open(cache, &call, key, version, fill_from, fill,
			       fd, size);
}

/* Opens key at version and checks the bytes; returns the fill's call
 * count afterwards. */
static int open_and_check(struct read_cache *cache, const char *key,
			  uint64_t version, struct test_fill *fill)
{
	int fd = -1;
	off_t size = -1;
	int result = open_part(cache, key, version, fill, &fd, &size);
	CHECK_INT(result, 0);
	if (result == 0) {
		CHECK_INT(size, fill->length);
		CHECK(fd_holds(fd, fill->content, fill->length));
		close(fd);
	}
	return atomic_load(&fill->calls);
}

/* Frees the cache and checks it left nothing under root. */
static void finish(struct read_cache *cache, char *root)
{
	read_cache_free(cache);
	CHECK_INT(count_entries(root), 0);
	remove_tree(root);
	free(root);
}

static struct read_cache *new_cache(const char *root, uint64_t max_bytes)
{
	struct read_cache *cache = NULL;
	struct crash_error error = { 0 };
	int result = read_cache_new(root, max_bytes, &cache, &error);
	if (result < 0)
		fprintf(stderr, "read_cache_new: %s\n", error.message);
	return cache;
}

/* ---- tests ------------------------------------------------------------- */

static void test_hit_miss_and_versions(void)
{
	char *root = make_dir("versions");
	struct read_cache *cache = new_cache(root, 16 * BLOCK);
	REQUIRE(cache);
	struct test_fill one, two;
	test_fill_init(&one, "version one", 11);
	test_fill_init(&two, "version two!", 12);

	CHECK_INT(open_and_check(cache, KEY_A, 1, &one), 1);
	CHECK_INT(open_and_check(cache, KEY_A, 1, &one), 1); /* a hit */
	CHECK_INT(stat_of(cache, "hits"), 1);
	CHECK_INT(stat_of(cache, "misses"), 1);
	CHECK_INT(stat_of(cache, "files"), 1);
	CHECK_INT(stat_of(cache, "bytes"), 11);
	CHECK_INT(count_cache_files(root), 1);

	/* A new version replaces the old one. */
	CHECK_INT(open_and_check(cache, KEY_A, 2, &two), 1);
	CHECK_INT(open_and_check(cache, KEY_A, 2, &two), 1);
	CHECK_INT(stat_of(cache, "files"), 1);
	CHECK_INT(stat_of(cache, "bytes"), 12);
	CHECK_INT(count_cache_files(root), 1);
	/* Versions are compared for equality only: the old one is a miss. */
	CHECK_INT(open_and_check(cache, KEY_A, 1, &one), 2);
	CHECK_INT(stat_of(cache, "misses"), 3);
	CHECK_INT(stat_of(cache, "hits"), 2);
	CHECK_INT(stat_of(cache, "evictions"), 0);

	/* Another key is another entry. */
	CHECK_INT(open_and_check(cache, KEY_B, 1, &two), 2);
	CHECK_INT(stat_of(cache, "files"), 2);

	/* Each descriptor is read-only and has its own offset. */
	int first = -1, second = -1;
	off_t size;
	REQUIRE(open_part(cache, KEY_A, 1, &one, &first, &size) == 0);
	REQUIRE(open_part(cache, KEY_A, 1, &one, &second, &size) == 0);
	CHECK_INT(fcntl(first, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK(fcntl(first, F_GETFD) & FD_CLOEXEC);
	CHECK(write(first, "x", 1) < 0 && errno == EBADF);
	char buffer[32] = { 0 };
	CHECK_INT(read(first, buffer, 4), 4);
	CHECK_INT(read(second, buffer, sizeof buffer), 11);
	CHECK(memcmp(buffer, "version one", 11) == 0);
	close(first);
	close(second);

	/* Drop forgets a key. */
	read_cache_drop(cache, KEY_A);
	CHECK_INT(stat_of(cache, "files"), 1);
	CHECK_INT(count_cache_files(root), 1);
	CHECK_INT(open_and_check(cache, KEY_A, 1, &one), 3);
	read_cache_drop(cache, "not a key the cache holds");
	CHECK_INT(stat_of(cache, "files"), 2);

	finish(cache, root);
}

static void test_lru_eviction_under_the_bound(void)
{
	char *root = make_dir("lru");
	struct read_cache *cache = new_cache(root, 3 * BLOCK);
	REQUIRE(cache);
	char *a = pattern_bytes('a', BLOCK), *b = pattern_bytes('b', BLOCK);
	char *c = pattern_bytes('c', BLOCK - 100);
	char *d = pattern_bytes('d', BLOCK);
	char *e = pattern_bytes('e', BLOCK + 1);
	struct test_fill fill_a, fill_b, fill_c, fill_d, fill_e;
	test_fill_init(&fill_a, a, BLOCK);
	test_fill_init(&fill_b, b, BLOCK);
	test_fill_init(&fill_c, c, BLOCK - 100);
	test_fill_init(&fill_d, d, BLOCK);
	test_fill_init(&fill_e, e, BLOCK + 1);

	open_and_check(cache, "a", 1, &fill_a);
	open_and_check(cache, "b", 1, &fill_b);
	open_and_check(cache, "c", 1, &fill_c);
	CHECK_INT(stat_of(cache, "files"), 3);
	CHECK_INT(stat_of(cache, "bytes"), 3 * BLOCK - 100);
	CHECK_INT(stat_of(cache, "evictions"), 0);

	/* a is used again: b is now the least recently used. */
	CHECK_INT(open_and_check(cache, "a", 1, &fill_a), 1);
	CHECK_INT(open_and_check(cache, "d", 1, &fill_d), 1);
	CHECK_INT(stat_of(cache, "evictions"), 1);
	CHECK_INT(stat_of(cache, "files"), 3);
	CHECK(stat_of(cache, "bytes") <= 3 * BLOCK);
	CHECK_INT(count_cache_files(root), 3);
	CHECK_INT(open_and_check(cache, "a", 1, &fill_a), 1);
	CHECK_INT(open_and_check(cache, "c", 1, &fill_c), 1);
	CHECK_INT(open_and_check(cache, "d", 1, &fill_d), 1);
	CHECK_INT(atomic_load(&fill_b.calls), 1);

	/* One byte over a block is charged two blocks: two go (a, c). */
	CHECK_INT(open_and_check(cache, "e", 1, &fill_e), 1);
	CHECK_INT(stat_of(cache, "evictions"), 3);
	CHECK_INT(stat_of(cache, "files"), 2);
	CHECK_INT(stat_of(cache, "bytes"), 2 * BLOCK + 1);
	CHECK_INT(count_cache_files(root), 2);
	CHECK_INT(open_and_check(cache, "d", 1, &fill_d), 1);
	CHECK_INT(open_and_check(cache, "e", 1, &fill_e), 1);
	CHECK_INT(open_and_check(cache, "a", 1, &fill_a), 2);
	CHECK(stat_of(cache, "bytes") <= 3 * BLOCK);

	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	finish(cache, root);
}

/* Many keys, empty parts included: the index grows, and the bound in
 * blocks keeps the number of entries bounded too. */
static void test_many_keys_and_empty_parts(void)
{
	char *root = make_dir("many");
	struct read_cache *cache = new_cache(root, 200 * BLOCK);
	REQUIRE(cache);
	struct test_fill empty;
	test_fill_init(&empty, "", 0);
	char key[32];
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof key, "key %d", i);
		open_and_check(cache, key, 7, &empty);
	}
	CHECK_INT(stat_of(cache, "files"), 200);
	CHECK_INT(stat_of(cache, "bytes"), 0);
	CHECK_INT(stat_of(cache, "evictions"), 100);
	CHECK_INT(count_cache_files(root), 200);
	/* The 200 newest are all hits. */
	for (int i = 100; i < 300; i++) {
		snprintf(key, sizeof key, "key %d", i);
		open_and_check(cache, key, 7, &empty);
	}
	CHECK_INT(atomic_load(&empty.calls), 300);
	CHECK_INT(stat_of(cache, "hits"), 200);
	finish(cache, root);
}

static void test_too_large_served_not_kept(void)
{
	char *root = make_dir("large");
	struct read_cache *cache = new_cache(root, 2 * BLOCK);
	REQUIRE(cache);
	char *big = pattern_bytes('B', 2 * BLOCK + 1);
	struct test_fill fill, small;
	test_fill_init(&fill, big, 2 * BLOCK + 1);
	test_fill_init(&small, "small", 5);
	open_and_check(cache, KEY_B, 1, &small);

	int fd = -1;
	off_t size = 0;
	CHECK_INT(open_part(cache, KEY_A, 1, &fill, &fd, &size), 0);
	CHECK_INT(size, 2 * BLOCK + 1);
	CHECK(fd_holds(fd, big, 2 * BLOCK + 1));
	/* Already unlinked, and nothing was evicted for it. */
	CHECK_INT(count_cache_files(root), 1);
	CHECK_INT(stat_of(cache, "too_large"), 1);
	CHECK_INT(stat_of(cache, "files"), 1);
	CHECK_INT(stat_of(cache, "evictions"), 0);
	CHECK(fd_holds(fd, big, 2 * BLOCK + 1));
	close(fd);
	CHECK_INT(open_and_check(cache, KEY_A, 1, &fill), 2);
	CHECK_INT(open_and_check(cache, KEY_B, 1, &small), 1);

	/* A cache of no bytes keeps nothing and still serves. */
	struct read_cache *none = new_cache(root, 0);
	REQUIRE(none);
	CHECK_INT(open_and_check(none, KEY_B, 1, &small), 2);
	CHECK_INT(open_and_check(none, KEY_B, 1, &small), 3);
	CHECK_INT(stat_of(none, "files"), 0);
	CHECK_INT(stat_of(none, "too_large"), 2);
	read_cache_free(none);

	free(big);
	finish(cache, root);
}

static void test_failed_fill_not_cached(void)
{
	char *root = make_dir("failed");
	struct read_cache *cache = new_cache(root, 4 * BLOCK);
	REQUIRE(cache);
	struct test_fill broken, good;
	test_fill_init(&broken, "half", 4);
	broken.result = -EIO;
	broken.message = "store.primary: server said no";
	test_fill_init(&good, "whole", 5);

	struct crash_call call;
	crash_call_init(&call);
	int fd = 7;
	off_t size = 7;
	CHECK_INT(read_cache_open(cache, &call, KEY_A, 1, fill_from, &broken,
				  &fd, &size),
		  -EIO);
	CHECK_INT(fd, -1);
	CHECK_INT(call.error.code, -EIO);
	CHECK_STR(call.error.message, "store.primary: server said no");
	CHECK_INT(stat_of(cache, "fills_failed"), 1);
	CHECK_INT(stat_of(cache, "files"), 0);
	CHECK_INT(count_cache_files(root), 0);

	/* A fill that does not say why gets a message naming the key. */
	broken.message = NULL;
	crash_call_init(&call);
	CHECK_INT(read_cache_open(cache, &call, KEY_A, 1, fill_from, &broken,
				  &fd, &size),
		  -EIO);
	CHECK(strstr(call.error.message, "fill failed") != NULL);
	CHECK(strstr(call.error.message, "0bba929f") != NULL);
	CHECK(strchr(call.error.message, '\n') == NULL);

	/* Nothing was kept: the next open fills. */
	CHECK_INT(open_and_check(cache, KEY_A, 1, &good), 1);
	CHECK_INT(open_and_check(cache, KEY_A, 1, &good), 1);
	CHECK_INT(stat_of(cache, "misses"), 3);
	finish(cache, root);
}

static void test_disk_full(void)
{
	char *root = make_dir("enospc");
	struct read_cache *cache = new_cache(root, 4 * BLOCK);
	REQUIRE(cache);
	char *bytes = pattern_bytes('f', BLOCK);
	struct test_fill full;
	test_fill_init(&full, bytes, BLOCK);
	full.result = -ENOSPC;
	full.message = "store.primary: writing the part: No space left";

	int fd = -1;
	off_t size = 0;
	CHECK_INT(open_part(cache, KEY_A, 1, &full, &fd, &size), -ENOSPC);
	CHECK_INT(fd, -1);
	/* The partial file is gone, nothing is kept. */
	CHECK_INT(count_cache_files(root), 0);
	CHECK_INT(stat_of(cache, "files"), 0);
	CHECK_INT(stat_of(cache, "bytes"), 0);
	CHECK_INT(stat_of(cache, "fills_failed"), 1);
	free(bytes);
	finish(cache, root);
}

struct opener {
	pthread_t thread;
	struct read_cache *cache;
	const char *key;
	struct test_fill *fill;
	struct waiter waiter;
	int result;
	struct crash_error error;
	bool bytes_ok;
};

static void *opener_run(void *arg)
{
	struct opener *opener = arg;
	struct crash_call call;
	crash_call_init(&call);
	call.interrupted = waiter_interrupted;
	call.interrupted_arg = &opener->waiter;
	int fd = -1;
	off_t size = 0;
	opener->result = read_cache_open(opener->cache, &call, opener->key, 1,
					 fill_from, opener->fill, &fd, &size);
	opener->error = call.error;
	if (opener->result == 0) {
		opener->bytes_ok = (size_t)size == opener->fill->length &&
				   fd_holds(fd, opener->fill->content,
					    opener->fill->length);
		close(fd);
	}
	return NULL;
}

static void opener_start(struct opener *opener, struct read_cache *cache,
			 const char *key, struct test_fill *fill,
			 struct gate *gate, int interrupt_at)
{
	memset(opener, 0, sizeof *opener);
	opener->cache = cache;
	opener->key = key;
	opener->fill = fill;
	opener->waiter.gate = gate;
	opener->waiter.interrupt_at = interrupt_at;
	pthread_create(&opener->thread, NULL, opener_run, opener);
}

#define CONCURRENT_OPENERS 6

static void test_concurrent_misses_fill_once(void)
{
	char *root = make_dir("concurrent");
	struct read_cache *cache = new_cache(root, 16 * BLOCK);
	REQUIRE(cache);
	char *bytes = pattern_bytes('c', 3 * BLOCK + 17);
	struct gate gate;
	gate_init(&gate);
	gate.open = true;
	struct test_fill fill;
	test_fill_init(&fill, bytes, 3 * BLOCK + 17);
	fill.gate = &gate;
	/* The fill goes on only once all the others wait for it. */
	fill.wait_for_waiters = CONCURRENT_OPENERS - 1;

	struct opener openers[CONCURRENT_OPENERS];
	for (int i = 0; i < CONCURRENT_OPENERS; i++)
		opener_start(&openers[i], cache, KEY_A, &fill, &gate, 0);
	for (int i = 0; i < CONCURRENT_OPENERS; i++) {
		pthread_join(openers[i].thread, NULL);
		CHECK_INT(openers[i].result, 0);
		CHECK(openers[i].bytes_ok);
	}
	CHECK_INT(atomic_load(&fill.calls), 1);
	CHECK_INT(stat_of(cache, "misses"), 1);
	CHECK_INT(stat_of(cache, "hits"), CONCURRENT_OPENERS - 1);
	CHECK_INT(stat_of(cache, "files"), 1);
	CHECK_INT(count_cache_files(root), 1);
	gate_destroy(&gate);
	free(bytes);
	finish(cache, root);
}

/* Every waiter of a failed fill gets its error; nothing is kept. */
static void test_waiters_share_a_failure(void)
{
	char *root = make_dir("shared-failure");
	struct read_cache *cache = new_cache(root, 16 * BLOCK);
	REQUIRE(cache);
	struct gate gate;
	gate_init(&gate);
	gate.open = true;
	struct test_fill fill;
	test_fill_init(&fill, "partial", 7);
	fill.result = -ETIMEDOUT;
	fill.message = "store.primary: the server did not answer";
	fill.gate = &gate;
	fill.wait_for_waiters = 2;

	struct opener openers[3];
	for (int i = 0; i < 3; i++)
		opener_start(&openers[i], cache, KEY_A, &fill, &gate, 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(openers[i].thread, NULL);
		CHECK_INT(openers[i].result, -ETIMEDOUT);
		CHECK_STR(openers[i].error.message,
			  "store.primary: the server did not answer");
	}
	CHECK_INT(atomic_load(&fill.calls), 1);
	CHECK_INT(stat_of(cache, "fills_failed"), 1);
	CHECK_INT(stat_of(cache, "files"), 0);
	CHECK_INT(count_cache_files(root), 0);
	gate_destroy(&gate);
	finish(cache, root);
}

/* A waiter whose caller gives up gets -EINTR; the fill goes on and is
 * kept for the next open. */
static void test_interrupted_waiter(void)
{
	char *root = make_dir("interrupted");
	struct read_cache *cache = new_cache(root, 16 * BLOCK);
	REQUIRE(cache);
	struct gate gate;
	gate_init(&gate);
	struct test_fill fill;
	test_fill_init(&fill, "slow part", 9);
	fill.gate = &gate;

	struct opener filler;
	opener_start(&filler, cache, KEY_A, &fill, &gate, 0);
	gate_wait_entered(&gate);

	/* This caller is interrupted at its second poll: it waited. */
	struct waiter waiter = { .gate = &gate, .interrupt_at = 2 };
	struct crash_call call;
	crash_call_init(&call);
	call.interrupted = waiter_interrupted;
	call.interrupted_arg = &waiter;
	int fd = -1;
	off_t size = 0;
	CHECK_INT(read_cache_open(cache, &call, KEY_A, 1, fill_from, &fill,
				  &fd, &size),
		  -EINTR);
	CHECK_INT(fd, -1);
	CHECK_INT(call.error.code, -EINTR);
	CHECK(strstr(call.error.message, "interrupted") != NULL);
	CHECK_INT(waiter.polls, 2);

	gate_open(&gate);
	pthread_join(filler.thread, NULL);
	CHECK_INT(filler.result, 0);
	CHECK(filler.bytes_ok);
	CHECK_INT(open_and_check(cache, KEY_A, 1, &fill), 1);
	CHECK_INT(stat_of(cache, "hits"), 1);
	CHECK_INT(stat_of(cache, "fills_failed"), 0);
	gate_destroy(&gate);
	finish(cache, root);
}

/* A fill interrupted by its own caller: its waiters fill again. */
static void test_interrupted_fill_is_retried_by_a_waiter(void)
{
	char *root = make_dir("interrupted-fill");
	struct read_cache *cache = new_cache(root, 16 * BLOCK);
	REQUIRE(cache);
	struct gate gate;
	gate_init(&gate);
	gate.open = true;
	struct test_fill interrupted, good;
	test_fill_init(&interrupted, "part", 4);
	interrupted.gate = &gate;
	interrupted.wait_for_waiters = 1;
	interrupted.result = -EINTR;
	interrupted.message = "store.primary: interrupted while waiting";
	test_fill_init(&good, "part", 4);

	struct opener filler, waiter;
	opener_start(&filler, cache, KEY_A, &interrupted, &gate, 0);
	gate_wait_entered(&gate);
	opener_start(&waiter, cache, KEY_A, &good, &gate, 0);
	pthread_join(filler.thread, NULL);
	pthread_join(waiter.thread, NULL);
	CHECK_INT(filler.result, -EINTR);
	CHECK_STR(filler.error.message,
		  "store.primary: interrupted while waiting");
	CHECK_INT(waiter.result, 0);
	CHECK(waiter.bytes_ok);
	CHECK_INT(atomic_load(&interrupted.calls), 1);
	CHECK_INT(atomic_load(&good.calls), 1);
	CHECK_INT(stat_of(cache, "misses"), 2);
	CHECK_INT(stat_of(cache, "files"), 1);
	gate_destroy(&gate);
	finish(cache, root);
}

/* A drop during a fill: its callers get the bytes, the cache keeps none. */
static void test_drop_during_fill(void)
{
	char *root = make_dir("drop");
	struct read_cache *cache = new_cache(root, 16 * BLOCK);
	REQUIRE(cache);
	struct gate gate;
	gate_init(&gate);
	struct test_fill fill;
	test_fill_init(&fill, "old bytes", 9);
	fill.gate = &gate;

	struct opener filler;
	opener_start(&filler, cache, KEY_A, &fill, &gate, 0);
	gate_wait_entered(&gate);
	read_cache_drop(cache, KEY_A);
	gate_open(&gate);
	pthread_join(filler.thread, NULL);
	CHECK_INT(filler.result, 0);
	CHECK(filler.bytes_ok);
	CHECK_INT(stat_of(cache, "files"), 0);
	CHECK_INT(count_cache_files(root), 0);
	fill.gate = NULL;
	CHECK_INT(open_and_check(cache, KEY_A, 1, &fill), 2);
	CHECK_INT(open_and_check(cache, KEY_A, 1, &fill), 2);
	gate_destroy(&gate);
	finish(cache, root);
}

static void test_descriptors_outlive_eviction(void)
{
	char *root = make_dir("outlive");
	struct read_cache *cache = new_cache(root, BLOCK);
	REQUIRE(cache);
	char *a = pattern_bytes('a', BLOCK), *b = pattern_bytes('b', BLOCK);
	struct test_fill fill_a, fill_b, fill_a2;
	test_fill_init(&fill_a, a, BLOCK);
	test_fill_init(&fill_b, b, BLOCK);
	test_fill_init(&fill_a2, b, 100);

	int fd_a = -1, fd_b = -1, fd_a2 = -1;
	off_t size;
	REQUIRE(open_part(cache, "a", 1, &fill_a, &fd_a, &size) == 0);
	REQUIRE(open_part(cache, "b", 1, &fill_b, &fd_b, &size) == 0);
	CHECK_INT(stat_of(cache, "evictions"), 1);
	CHECK_INT(count_cache_files(root), 1);
	CHECK(fd_holds(fd_a, a, BLOCK));
	/* Replaced by a new version, then dropped: still the old bytes. */
	REQUIRE(open_part(cache, "b", 2, &fill_a2, &fd_a2, &size) == 0);
	read_cache_drop(cache, "b");
	CHECK_INT(count_cache_files(root), 0);
	CHECK(fd_holds(fd_b, b, BLOCK));
	CHECK(fd_holds(fd_a2, b, 100));
	close(fd_a);
	close(fd_b);
	close(fd_a2);
	free(a);
	free(b);
	finish(cache, root);
}

/* read_cache_new sweeps what a killed daemon left; read_cache_free
 * leaves nothing. */
static void test_sweep_and_free(void)
{
	char *root = make_dir("sweep");
	char dead[PATH_MAX], alive[PATH_MAX], path[PATH_MAX];
	/* Names of cache directories ("<pid>.<instance>") whose owners are
	 * gone (lock free) or alive (a lock held, here by this test). */
	path_join(dead, sizeof dead, root, "999999999.1");
	path_join(alive, sizeof alive, root, "999999998.1");
	REQUIRE(mkdir(dead, 0700) == 0 && mkdir(alive, 0700) == 0);
	path_join(path, sizeof path, dead, "lock");
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	path_join(path, sizeof path, dead, "part.3");
	fd = open(path, O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	CHECK_INT(write(fd, "left over", 9), 9);
	close(fd);
	path_join(path, sizeof path, alive, "lock");
	int alive_lock = open(path, O_RDWR | O_CREAT, 0600);
	REQUIRE(alive_lock >= 0);
	CHECK_INT(flock(alive_lock, LOCK_EX | LOCK_NB), 0);

	struct read_cache *cache = new_cache(root, 4 * BLOCK);
	REQUIRE(cache);
	struct stat st;
	CHECK(stat(dead, &st) < 0 && errno == ENOENT);
	CHECK_INT(stat(alive, &st), 0);
	CHECK_INT(count_entries(root), 2); /* alive, and the new cache's */

	struct test_fill fill;
	test_fill_init(&fill, "kept", 4);
	open_and_check(cache, KEY_A, 1, &fill);
	open_and_check(cache, KEY_B, 1, &fill);
	CHECK_INT(count_cache_files(root), 2);
	read_cache_free(cache);
	CHECK_INT(count_entries(root), 1); /* alive only */
	CHECK_INT(stat(alive, &st), 0);

	close(alive_lock);
	remove_tree(root);
	free(root);
}

static void test_new_fails_on_a_file(void)
{
	char *root = make_dir("notdir");
	char path[PATH_MAX];
	path_join(path, sizeof path, root, "file");
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	struct read_cache *cache = (struct read_cache *)1;
	struct crash_error error = { 0 };
	CHECK_INT(read_cache_new(path, BLOCK, &cache, &error), -ENOTDIR);
	CHECK(cache == NULL);
	CHECK(strstr(error.message, "read cache") != NULL);
	read_cache_free(NULL);
	remove_tree(root);
	free(root);
}

static void test_describe_keys(void)
{
	char *root = make_dir("describe");
	struct read_cache *cache = new_cache(root, 5 * BLOCK);
	REQUIRE(cache);
	json_t *stats = json_object();
	read_cache_describe(cache, stats);
	const char *keys[] = { "hits",	    "misses", "fills_failed",
			       "too_large", "evictions", "files",
			       "bytes",	    "max_bytes" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		CHECK(json_is_integer(json_object_get(stats, keys[i])));
	CHECK_INT(json_object_size(stats), sizeof keys / sizeof keys[0]);
	CHECK_INT(json_integer_value(json_object_get(stats, "max_bytes")),
		  5 * BLOCK);
	json_decref(stats);
	read_cache_free(cache);
	remove_tree(root);
	free(root);
}

/*
 * Many threads opening, replacing and dropping a few keys in a cache too
 * small for them: every answer must hold the bytes of the version asked
 * for, and the cache must end within its bound with exactly the files its
 * index holds.  Bounded in operations, not in time.
 */
#define STRESS_THREADS 4
#define STRESS_OPERATIONS 1000
#define STRESS_KEYS 12

struct stress_fill {
	unsigned key;
	uint64_t version;
};

static size_t stress_length(unsigned key, uint64_t version)
{
	return (key * 977u + (unsigned)version * 1531u) % (2 * BLOCK + 300);
}

static char stress_byte(unsigned key, uint64_t version, size_t i)
{
	return (char)(key * 31u + version * 7u + i);
}

static int stress_fill_from(void *arg, struct crash_call *call, int fd)
{
	const struct stress_fill *fill = arg;
	size_t length = stress_length(fill->key, fill->version);
	char *bytes = malloc(length + 1);
	for (size_t i = 0; i < length; i++)
		bytes[i] = stress_byte(fill->key, fill->version, i);
	/* One fill in nine fails, as a server would. */
	int result = 0;
	if ((fill->key + fill->version) % 9 == 4)
		result = crash_error_set(&call->error, -EIO, "stress: failed");
	else if (write(fd, bytes, length) != (ssize_t)length)
		result = crash_error_set(&call->error, -EIO, "stress: short");
	free(bytes);
	return result;
}

struct stress_thread {
	pthread_t thread;
	struct read_cache *cache;
	unsigned seed;
	int wrong;
	int failed_unexpectedly;
};

static void *stress_run(void *arg)
{
	struct stress_thread *self = arg;
	char key[32];
	for (int i = 0; i < STRESS_OPERATIONS; i++) {
		struct stress_fill fill = {
			.key = (unsigned)rand_r(&self->seed) % STRESS_KEYS,
			.version = (uint64_t)rand_r(&self->seed) % 3,
		};
		snprintf(key, sizeof key, "stress %u", fill.key);
		if (rand_r(&self->seed) % 16 == 0) {
			read_cache_drop(self->cache, key);
			continue;
		}
		struct crash_call call;
		crash_call_init(&call);
		int fd = -1;
		off_t size = 0;
		int result = read_cache_open(self->cache, &call, key,
					     fill.version, stress_fill_from,
					     &fill, &fd, &size);
		bool should_fail = (fill.key + fill.version) % 9 == 4;
		if (result < 0) {
			if (!should_fail || result != -EIO)
				self->failed_unexpectedly++;
			continue;
		}
		size_t length = stress_length(fill.key, fill.version);
		char *bytes = malloc(length + 1);
		bool same = !should_fail && (size_t)size == length &&
			    pread(fd, bytes, length + 1, 0) == (ssize_t)length;
		for (size_t j = 0; same && j < length; j++)
			same = bytes[j] == stress_byte(fill.key, fill.version,
						       j);
		if (!same)
			self->wrong++;
		free(bytes);
		close(fd);
	}
	return NULL;
}

static void test_stress(void)
{
	char *root = make_dir("stress");
	struct read_cache *cache = new_cache(root, 6 * BLOCK);
	REQUIRE(cache);
	struct stress_thread threads[STRESS_THREADS];
	for (int i = 0; i < STRESS_THREADS; i++) {
		threads[i] = (struct stress_thread){ .cache = cache,
						     .seed = 17u + (unsigned)i };
		pthread_create(&threads[i].thread, NULL, stress_run,
			       &threads[i]);
	}
	for (int i = 0; i < STRESS_THREADS; i++) {
		pthread_join(threads[i].thread, NULL);
		CHECK_INT(threads[i].wrong, 0);
		CHECK_INT(threads[i].failed_unexpectedly, 0);
	}
	CHECK(stat_of(cache, "bytes") <= 6 * BLOCK);
	CHECK(stat_of(cache, "files") <= 6);
	CHECK_INT(count_cache_files(root), stat_of(cache, "files"));
	CHECK(stat_of(cache, "evictions") > 0);
	CHECK(stat_of(cache, "hits") > 0);
	CHECK(stat_of(cache, "fills_failed") > 0);
	finish(cache, root);
}

int main(void)
{
	crash_log_set_level(CRASH_LOG_WARNING);
	test_hit_miss_and_versions();
	test_lru_eviction_under_the_bound();
	test_many_keys_and_empty_parts();
	test_too_large_served_not_kept();
	test_failed_fill_not_cached();
	test_disk_full();
	test_concurrent_misses_fill_once();
	test_waiters_share_a_failure();
	test_interrupted_waiter();
	test_interrupted_fill_is_retried_by_a_waiter();
	test_drop_during_fill();
	test_descriptors_outlive_eviction();
	test_sweep_and_free();
	test_new_fails_on_a_file();
	test_describe_keys();
	test_stress();
	return unit_test_exit("test_read_cache");
}
