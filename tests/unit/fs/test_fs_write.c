/*
 * test_fs_write.c - how bytes get into the store: adopting a spool file
 * (one inode, no copy), copying (copy_file_range, and the pread loop when
 * the kernel refuses it), a 64 MiB blob that never passes through memory,
 * atomic replacement (a failed save leaves the old file and no temporary
 * file), many threads saving at once, and the JSON options.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "mountopts/store_types.h"
#include "storage/crash_log.h"
#include "storage/fs/fs_store.h"
#include "storage/store_registry.h"
#include "tests/unit/fs/fs_test_util.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define A ID_A
#define DIR_A "20120408/name/93/6c/" A

static ino_t inode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Names under root that look like temporary files. */
static int count_temp_files(const char *root)
{
	char *tree = test_tree(root);
	int count = 0;
	for (const char *p = tree; (p = strstr(p, ".crashfs-")) != NULL; p++)
		count++;
	free(tree);
	return count;
}

static void test_adoption(void)
{
	struct test_scratch s;
	char path[PATH_MAX];
	struct test_blob raw, dump;
	REQUIRE(test_scratch_open(&s, "adopt", FS_LAYOUT_RADIX, 022, 4));
	REQUIRE(test_blob_make(&raw, s.spool, "{\"a\": 1}", 8, 1111) == 0);
	REQUIRE(test_blob_make(&dump, s.spool, "MDMPdump", 8, 2222) == 0);
	raw.blob.adoptable = true;
	CHECK_INT(crash_store_save_raw_crash(s.store, &s.call, A, &raw.blob,
					     NULL, 0),
		  0);
	/* Zero copy: the stored file is the spool file's inode. */
	test_scratch_at(&s, path, DIR_A "/" A ".json");
	CHECK(inode_of(path) != 0 && inode_of(path) == inode_of(raw.path));
	CHECK_INT(test_mode(path), 0644);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_mtim.tv_sec == 1111 &&
	      st.st_mtim.tv_nsec == 250000000);
	/* Adopted again over the stored file (a new version): replaced
	 * whole, through a temporary name that does not stay. */
	struct test_blob again;
	REQUIRE(test_blob_make(&again, s.spool, "{\"a\": 22}", 9, 1212) == 0);
	again.blob.adoptable = true;
	CHECK_INT(crash_store_save_raw_crash(s.store, &s.call, A, &again.blob,
					     NULL, 0),
		  0);
	CHECK(inode_of(path) == inode_of(again.path));
	CHECK(test_file_equals(path, "{\"a\": 22}", 9));
	CHECK(stat(path, &st) == 0 && st.st_mtim.tv_sec == 1212);
	CHECK_INT(test_mode(path), 0644);
	CHECK_INT(count_temp_files(s.root), 0);
	test_blob_free(&again);
	/* Not adoptable: copied. */
	struct crash_dump dumps[1] = { { NULL, dump.blob } };
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &dumps[0]), 0);
	test_scratch_at(&s, path, DIR_A "/" A ".dump");
	CHECK(inode_of(path) != inode_of(dump.path));
	CHECK(test_file_equals(path, "MDMPdump", 8));
	CHECK_INT(test_mode(path), 0644);
	/* Adoptable, but the path is not the file behind fd: copied from
	 * the fd, never linked. */
	dumps[0].blob.adoptable = true;
	dumps[0].blob.path = raw.path;
	dumps[0].dump_name = "flash1";
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &dumps[0]), 0);
	test_scratch_at(&s, path, DIR_A "/" A ".flash1.dump");
	CHECK(inode_of(path) != inode_of(raw.path));
	CHECK(test_file_equals(path, "MDMPdump", 8));
	test_blob_free(&raw);
	test_blob_free(&dump);

	/* Adoptable on another filesystem (tmpfs): copied. */
	char shm_path[] = "/dev/shm/crashfs-fs-test-XXXXXX";
	int fd = mkstemp(shm_path);
	if (fd >= 0) {
		CHECK_INT(write(fd, "shm!", 4), 4);
		struct crash_blob blob = { .fd = fd, .size = 4,
					   .mtime = { 3333, 0 },
					   .path = shm_path,
					   .adoptable = true };
		struct crash_dump shm_dump = { "shm", blob };
		CHECK_INT(crash_store_save_dump(s.store, &s.call, A,
						&shm_dump),
			  0);
		CHECK(test_file_equals(test_scratch_at(&s, path, DIR_A "/" A ".shm.dump"),
				       "shm!", 4));
		close(fd);
		unlink(shm_path);
	}
	CHECK_INT(count_temp_files(s.root), 0);
	test_scratch_close(&s);
}

/* FNV-1a over a file's bytes, read in 1 MiB chunks. */
static uint64_t hash_fd(int fd, off_t *size_out)
{
	enum { CHUNK = 1 << 20 };
	char *buffer = malloc(CHUNK);
	uint64_t hash = 0xcbf29ce484222325u;
	off_t offset = 0;
	ssize_t got;
	while (buffer && (got = pread(fd, buffer, CHUNK, offset)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			hash ^= (unsigned char)buffer[i];
			hash *= 0x100000001b3u;
		}
		offset += got;
	}
	free(buffer);
	*size_out = offset;
	return hash;
}

static uint64_t hash_path(const char *path, off_t *size_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*size_out = -1;
	if (fd < 0)
		return 0;
	uint64_t hash = hash_fd(fd, size_out);
	close(fd);
	return hash;
}

static long max_rss_kib(void)
{
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	return usage.ru_maxrss;
}

/* Mostly holes, some bytes: 64 MiB. */
static int make_large(int fd, off_t size)
{
	if (ftruncate(fd, size) < 0)
		return -1;
	const off_t offsets[] = { 0, 10 * 1048576 + 7, 33 * 1048576 - 3,
				  size - 100 };
	char pattern[4096];
	for (size_t i = 0; i < sizeof pattern; i++)
		pattern[i] = (char)(i * 31 + 7);
	for (size_t i = 0; i < 4; i++) {
		size_t length = offsets[i] + (off_t)sizeof pattern > size
					? (size_t)(size - offsets[i])
					: sizeof pattern;
		if (pwrite(fd, pattern, length, offsets[i]) != (ssize_t)length)
			return -1;
	}
	return 0;
}

static void test_large_blob(void)
{
	const off_t size = 64 * 1048576;
	struct test_scratch s;
	char path[PATH_MAX];
	REQUIRE(test_scratch_open(&s, "large", FS_LAYOUT_LEGACY, 022, 4));

	/* A spool file on this filesystem (copy_file_range) ... */
	char spool_path[PATH_MAX];
	test_path(spool_path, sizeof spool_path, "%s/large", s.spool);
	int fd = open(spool_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(make_large(fd, size) == 0);
	off_t expected_size;
	uint64_t expected = hash_fd(fd, &expected_size);
	CHECK_INT(expected_size, size);
	long rss_before = max_rss_kib();
	struct crash_dump dump = { "big",
				   { .fd = fd, .size = size,
				     .mtime = { 5555, 0 } } };
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &dump), 0);
	/* ... and a memfd, which other filesystems cannot copy_file_range
	 * from on recent kernels: the pread loop. */
	int memory_fd = memfd_create("crashfs-test", MFD_CLOEXEC);
	REQUIRE(memory_fd >= 0);
	REQUIRE(make_large(memory_fd, size) == 0);
	struct crash_dump memory_dump = { "big2",
					  { .fd = memory_fd, .size = size,
					    .mtime = { 5556, 0 } } };
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &memory_dump),
		  0);
	long rss_growth = max_rss_kib() - rss_before;
	/* Neither copy held the blob in memory (64 MiB = 65536 KiB). */
	CHECK(rss_growth < 16 * 1024);
	if (rss_growth >= 16 * 1024)
		fprintf(stderr, "max RSS grew by %ld KiB\n", rss_growth);
	off_t got_size;
	const char *names[] = { "big", "big2" };
	for (int i = 0; i < 2; i++) {
		test_path(path, sizeof path, "%s/20120408/name/93/6c/%s.%s.dump",
			  s.root, A, names[i]);
		CHECK(hash_path(path, &got_size) == expected);
		CHECK_INT(got_size, size);
	}
	/* A blob shorter than announced fails and leaves nothing. */
	struct crash_dump short_dump = { "short",
					 { .fd = fd, .size = size + 10,
					   .mtime = { 1, 0 } } };
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &short_dump),
		  -EIO);
	CHECK(strstr(s.call.error.message, "ends after") != NULL);
	CHECK(!test_exists(test_path(path, sizeof path,
				     "%s/20120408/name/93/6c/%s.short.dump",
				     s.root, A)));
	CHECK_INT(count_temp_files(s.root), 0);
	close(fd);
	close(memory_fd);
	test_scratch_close(&s);
}

/* A failed replace keeps the old bytes (Socorro truncated first). */
static void test_atomic_replace(void)
{
	struct test_scratch s;
	char path[PATH_MAX];
	struct test_blob v1, v2;
	REQUIRE(test_scratch_open(&s, "atomic", FS_LAYOUT_DATED, 022, 4));
	REQUIRE(test_blob_make(&v1, s.spool, "{\"v\": 1}", 8, 1000) == 0);
	REQUIRE(test_blob_make(&v2, s.spool, "{\"v\": 2}", 8, 1000) == 0);
	CHECK_INT(crash_store_save_raw_crash(s.store, &s.call, A, &v1.blob,
					     NULL, 0),
		  0);
	v2.blob.size = 4096; /* more than the file holds */
	CHECK_INT(crash_store_save_raw_crash(s.store, &s.call, A, &v2.blob,
					     NULL, 0),
		  -EIO);
	CHECK(test_file_equals(test_scratch_at(&s, path, DIR_A "/" A ".json"), "{\"v\": 1}",
			       8));
	CHECK_INT(count_temp_files(s.root), 0);
	/* No bytes at all: an empty file; bytes without a descriptor:
	 * refused. */
	struct crash_blob empty = { .fd = -1, .size = 0, .mtime = { 7, 0 } };
	struct crash_dump empty_dump = { "empty", empty };
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &empty_dump), 0);
	CHECK(test_file_equals(test_scratch_at(&s, path, DIR_A "/" A ".empty.dump"), "", 0));
	empty_dump.blob.size = 5;
	CHECK_INT(crash_store_save_dump(s.store, &s.call, A, &empty_dump),
		  -EINVAL);
	CHECK_INT(crash_store_save_raw_crash(s.store, &s.call, A, NULL, NULL,
					     0),
		  -EINVAL);
	test_blob_free(&v1);
	test_blob_free(&v2);
	test_scratch_close(&s);
}

/* -- threads -------------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 20
#define SHARED_ID "936ce666-5555-4c7a-9674-367fe2120408"

struct worker {
	struct test_scratch *s;
	int index;
	char crash_id[40];
	int failures;
};

static size_t shared_size(int index)
{
	return 32768 + (size_t)index * 1000;
}

static int save_bytes(struct worker *w, const char *crash_id, char fill,
		      size_t size, int dumps)
{
	char *bytes = malloc(size);
	struct test_blob raw;
	struct crash_call call;
	char spool[PATH_MAX];
	if (!bytes)
		return -ENOMEM;
	memset(bytes, fill, size);
	/* Each thread has its own spool directory (test_blob names). */
	test_path(spool, sizeof spool, "%s/t%d", w->s->spool, w->index);
	int result = test_blob_make(&raw, spool, bytes, size, 1000);
	free(bytes);
	if (result < 0)
		return result;
	crash_call_init(&call);
	struct crash_dump dump_list[2] = {
		{ NULL, raw.blob },
		{ "flash1", raw.blob },
	};
	result = crash_store_save_raw_crash(w->s->store, &call, crash_id,
					    &raw.blob, dump_list,
					    (size_t)dumps);
	if (result < 0)
		fprintf(stderr, "thread %d: %s\n", w->index,
			call.error.message);
	test_blob_free(&raw);
	return result;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int round = 0; round < ROUNDS; round++) {
		if (save_bytes(w, w->crash_id, (char)('A' + w->index),
			       1000 + (size_t)round * 10, 2) < 0)
			w->failures++;
		if (save_bytes(w, SHARED_ID, (char)('a' + w->index),
			       shared_size(w->index), 2) < 0)
			w->failures++;
	}
	return NULL;
}

/* The file holds exactly one writer's bytes, whole. */
static int writer_of(const char *path)
{
	size_t size;
	char *data = test_read_file(path, &size);
	int writer = -1;
	if (data && size > 0) {
		int index = data[0] - 'a';
		if (index >= 0 && index < THREADS &&
		    size == shared_size(index)) {
			writer = index;
			for (size_t i = 0; i < size; i++)
				if (data[i] != data[0])
					writer = -1;
		}
	}
	free(data);
	return writer;
}

static const char *crash_file(char *out, const char *root, bool legacy,
			      const char *crash_id, const char *suffix)
{
	if (legacy)
		return test_path(out, PATH_MAX, "%s/20120408/name/93/6c/%s%s",
				 root, crash_id, suffix);
	return test_path(out, PATH_MAX, "%s/20120408/name/93/6c/%s/%s%s", root,
			 crash_id, crash_id, suffix);
}

static void test_threads(enum fs_layout layout)
{
	struct test_scratch s;
	char path[PATH_MAX];
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	bool legacy = layout == FS_LAYOUT_LEGACY_DATED;
	bool dated = layout != FS_LAYOUT_RADIX;
	REQUIRE(test_scratch_open(&s, "threads", layout, 022, 4));
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .s = &s, .index = i };
		snprintf(workers[i].crash_id, sizeof workers[i].crash_id,
			 "936ce666-%04d-4c7a-9674-367fe2120408", i);
		test_path(path, sizeof path, "%s/t%d", s.spool, i);
		mkdir(path, 0700);
	}
	for (int i = 0; i < THREADS; i++)
		REQUIRE(pthread_create(&threads[i], NULL, worker_main,
				       &workers[i]) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		CHECK_INT(workers[i].failures, 0);
		size_t size = 1000 + (ROUNDS - 1) * 10;
		char *expected = malloc(size);
		memset(expected, 'A' + i, size);
		const char *suffixes[] = { ".json", ".dump", ".flash1.dump" };
		for (int k = 0; k < 3; k++) {
			crash_file(path, s.root, legacy, workers[i].crash_id,
				   suffixes[k]);
			CHECK(test_file_equals(path, expected, size));
		}
		free(expected);
		test_path(path, sizeof path, "%s/20120408/date/10/52_10/%s",
			  s.root, workers[i].crash_id);
		CHECK(test_exists(path) == dated);
	}
	const char *suffixes[] = { ".json", ".dump", ".flash1.dump" };
	for (int k = 0; k < 3; k++) {
		crash_file(path, s.root, legacy, SHARED_ID, suffixes[k]);
		CHECK(writer_of(path) >= 0);
	}
	CHECK_INT(count_temp_files(s.root), 0);
	/* One queue entry per crash, the shared one included. */
	struct test_names names = { 0 };
	test_clock_set(&s.clock, 2012, 4, 8, 10, 53, 42);
	CHECK_INT(test_consume_new_crashes(s.store, &s.call,
					  &names),
		  0);
	CHECK_INT(names.count, dated ? THREADS + 1 : 0);
	CHECK(test_names_has(&names, 0, SHARED_ID) == dated);
	test_scratch_close(&s);
}

/* -- options ------------------------------------------------------------- */

static int open_json(const char *text, struct crash_store **store,
		     struct crash_error *error)
{
	static const struct crash_store_env env = { .types = crashfs_store_types,
						    .spool_dir = "/tmp" };
	json_error_t json_error;
	json_t *node = json_loads(text, 0, &json_error);
	if (!node) {
		fprintf(stderr, "bad test JSON %s: %s\n", text,
			json_error.text);
		return -999;
	}
	crash_error_clear(error);
	*store = NULL;
	int result = store_registry_open(node, "store.primary", &env, store,
					 error);
	json_decref(node);
	return result;
}

static void check_rejected(const char *base, const char *options,
			   const char *expected_message)
{
	char text[2 * PATH_MAX];
	struct crash_store *store = NULL;
	struct crash_error error;
	test_path(text, sizeof text,
		  "{\"type\": \"fs\", \"root\": \"%s/opt\"%s%s}", base,
		  options[0] ? ", " : "", options);
	CHECK_INT(open_json(text, &store, &error), -EINVAL);
	CHECK(store == NULL);
	if (!strstr(error.message, expected_message))
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", error.message,
			expected_message);
	CHECK(strstr(error.message, expected_message) != NULL);
}

static void test_json_options(void)
{
	char *base = test_make_dir("json");
	char text[2 * PATH_MAX], path[PATH_MAX];
	struct crash_store *store = NULL;
	struct crash_error error;

	check_rejected(base, "\"layuot\": \"radix\"",
		       "store.primary.layuot: unknown option");
	check_rejected(base, "\"layout\": \"fancy\"", "store.primary.layout");
	check_rejected(base, "\"minute_slice_interval\": 0",
		       "store.primary.minute_slice_interval");
	check_rejected(base, "\"minute_slice_interval\": 61",
		       "store.primary.minute_slice_interval");
	check_rejected(base, "\"umask\": \"9\"", "store.primary.umask");
	check_rejected(base, "\"dump_field\": \"\"", "store.primary.dump_field");
	check_rejected(base, "\"dump_file_suffix\": \".json\"",
		       "store.primary.dump_file_suffix");
	/* A raw or processed suffix spelled like a dump's file name: the raw
	 * crash and the dump "a" would be one file "<id>.a.dump" (found by
	 * fuzz_crash_id's round trip of part names). */
	check_rejected(base, "\"json_file_suffix\": \".a.dump\"",
		       "store.primary.json_file_suffix: \".a.dump\" is also "
		       "the file name of the dump \"a\"");
	check_rejected(base,
		       "\"dump_file_suffix\": \"z\", \"jsonz_file_suffix\": "
		       "\".x-y.jsonz\"",
		       "store.primary.jsonz_file_suffix: \".x-y.jsonz\" is "
		       "also the file name of the dump \"x-y.json\"");
	check_rejected(base, "\"name_branch_base\": \"a/b\"",
		       "store.primary.name_branch_base");
	check_rejected(base, "\"date_branch_base\": \"name\"",
		       "store.primary.date_branch_base");
	CHECK_INT(open_json("{\"type\": \"fs\"}", &store, &error), -EINVAL);
	CHECK(strstr(error.message, "store.primary.root") != NULL);

	/* A relative root with trailing slashes, resolved at open: the
	 * daemon may chdir("/") afterwards. */
	char cwd[PATH_MAX];
	REQUIRE(getcwd(cwd, sizeof cwd) != NULL);
	REQUIRE(chdir(base) == 0);
	test_path(text, sizeof text,
		  "{\"type\": \"fs\", \"root\": \"rel/store///\", \"layout\": "
		  "\"legacy-dated\", \"umask\": \"002\", "
		  "\"name_branch_base\": \"by_name\", \"date_branch_base\": "
		  "\"by_date\", \"dump_field\": \"main\", "
		  "\"json_file_suffix\": \".raw\", \"jsonz_file_suffix\": "
		  "\".pjz\", \"dump_file_suffix\": \".dmp\", "
		  "\"minute_slice_interval\": 1}");
	int result = open_json(text, &store, &error);
	CHECK_INT(chdir("/"), 0);
	CHECK_INT(result, 0);
	if (result < 0)
		fprintf(stderr, "open: %s\n", error.message);
	REQUIRE(store != NULL);
	CHECK_INT(fs_store_layout(store), FS_LAYOUT_LEGACY_DATED);
	json_t *stats = crash_store_stats(store);
	json_t *node = json_object_get(stats, "store.primary");
	char root[PATH_MAX];
	test_path(root, sizeof root, "%s/rel/store", base);
	CHECK_STR(json_string_value(json_object_get(node, "root")), root);
	CHECK_STR(json_string_value(json_object_get(node, "layout")),
		  "legacy-dated");
	CHECK_STR(json_string_value(json_object_get(node, "type")), "fs");
	json_decref(stats);
	CHECK_INT(test_mode(root), 0775);

	/* The options name everything: branches, suffixes, main dump. */
	struct test_blob raw, dump;
	char spool[PATH_MAX];
	test_path(spool, sizeof spool, "%s", base);
	REQUIRE(test_blob_make(&raw, spool, "{}", 2, 1000) == 0);
	REQUIRE(test_blob_make(&dump, spool, "D", 1, 1000) == 0);
	struct crash_dump dumps[2] = { { "main", dump.blob },
				       { "other", dump.blob } };
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(crash_store_save_raw_crash(store, &call, A, &raw.blob, dumps,
					     2),
		  0);
	CHECK_INT(crash_store_save_processed(store, &call, A, &dump.blob), 0);
	const char *files[] = { ".raw", ".dmp", ".other.dmp", ".pjz" };
	for (int i = 0; i < 4; i++) {
		test_path(path, sizeof path, "%s/20120408/by_name/93/6c/%s%s",
			  root, A, files[i]);
		CHECK(test_exists(path));
		CHECK_INT(test_mode(path), 0664);
	}
	test_path(path, sizeof path, "%s/20120408/by_name/93/6c/%s", root, A);
	char target[PATH_MAX];
	CHECK(strncmp(test_readlink(path, target, sizeof target),
		      "../../../by_date/", 17) == 0);
	test_path(path, sizeof path, "%s/20120408/by_name", root);
	CHECK_INT(test_mode(path), 0775);
	struct crash_part main_part = { CRASH_PART_DUMP, "main" };
	struct crash_part_stat part_stat;
	CHECK_INT(crash_store_stat_part(store, &call, A, &main_part,
					&part_stat),
		  0);
	test_blob_free(&raw);
	test_blob_free(&dump);
	crash_store_close(store);

	/* A root that cannot be a directory. */
	test_path(path, sizeof path, "%s/file", base);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	test_path(text, sizeof text, "{\"type\": \"fs\", \"root\": \"%s\"}",
		  path);
	CHECK(open_json(text, &store, &error) < 0);
	CHECK(strstr(error.message, path) != NULL);
	CHECK_INT(chdir(cwd), 0);
	test_remove_dir(base);
	free(base);
}

int main(void)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	test_adoption();
	test_large_blob();
	test_atomic_replace();
	test_threads(FS_LAYOUT_DATED);
	test_threads(FS_LAYOUT_LEGACY_DATED);
	test_threads(FS_LAYOUT_RADIX);
	test_json_options();
	return unit_test_exit("test_fs_write");
}
