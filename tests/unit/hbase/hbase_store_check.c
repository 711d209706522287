/*
 * hbase_store_check.c - the HBase store driven through its interface
 * against a live HBase Thrift server (the stand-in), without FUSE.
 *
 *   hbase_store_check HOST PORT TABLE_PREFIX SCENARIO
 *
 * Scenarios (each prints "ok SCENARIO" and exits 0, or lists the failed
 * checks and exits 1):
 *   roundtrip   setup, a crash with two dumps and a processed crash saved
 *               and read back byte for byte, its parts, listings, the
 *               queue (a pass takes nothing, ack takes the entry, a second
 *               ack is ENOENT), remove; run under valgrind by the tests
 *   chunked     dumps over max_cell_size: EFBIG without "chunked", kept in
 *               chunks and read back with it, replaced by a small one
 *   down        a server that does not answer: operational errors, no
 *               retry wrapper needed to survive
 *   sigpipe     a server that closes every connection at once, written a
 *               5 MB dump: an error, not a SIGPIPE (this program leaves
 *               SIGPIPE at its default, which kills)
 *
 * Used by tests/functional/test_hbase_store.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "storage/crash_listing.h"
#include "storage/crash_store.h"
#include "storage/read_cache/read_cache.h"
#include "tests/unit/store_test_util.h"
#include "tests/unit/unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

#define CRASH "0bba929f-8721-460c-dead-a43c22141021"
#define OTHER "e8820616-1462-49b6-9784-e99a32141021"
#define RAW "{\"ProductName\": \"Firefox\", \"legacy_processing\": 0, " \
	    "\"submitted_timestamp\": \"2014-10-21T10:52:42.123456+00:00\"}"
#define PROCESSED "{\"signature\": \"js::GC\", \"completeddatetime\": " \
		  "\"2014-10-21 10:53:00.000000\"}"

static const char *host, *port, *prefix;

static int blob_of(struct crash_blob *blob, const void *bytes, size_t size)
{
	memset(blob, 0, sizeof *blob);
	int fd = memfd_create("check-blob", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, bytes, size) != (ssize_t)size))
		return -1;
	blob->fd = fd;
	blob->size = (off_t)size;
	blob->mtime.tv_sec = 1413890000;
	blob->mtime.tv_nsec = 42;
	return 0;
}

static unsigned char *pattern(size_t size, unsigned seed)
{
	unsigned char *bytes = malloc(size ? size : 1);
	for (size_t i = 0; bytes && i < size; i++) {
		seed = seed * 1103515245u + 12345u;
		bytes[i] = (unsigned char)(seed >> 16);
	}
	return bytes;
}

static size_t gzip_of(const char *text, unsigned char *out, size_t room)
{
	z_stream stream;
	memset(&stream, 0, sizeof stream);
	deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	stream.next_in = (unsigned char *)text;
	stream.avail_in = (uInt)strlen(text);
	stream.next_out = out;
	stream.avail_out = (uInt)room;
	deflate(&stream, Z_FINISH);
	size_t length = room - stream.avail_out;
	deflateEnd(&stream);
	return length;
}

static struct crash_store *open_store(const char *options,
				      struct read_cache *cache)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "{\"type\": \"hbase\", \"host\": \"%s\", \"port\": %s, "
		 "\"table_prefix\": \"%s\", \"timeout_ms\": 3000%s%s}",
		 host, port, prefix, options[0] ? ", " : "", options);
	struct crash_store_env env = { .read_cache = cache,
				       .spool_dir = "/tmp" };
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	if (test_open_text(text, &env, &store, &error) < 0)
		fprintf(stderr, "open: %s\n", error.message);
	return store;
}

static void report(void *ctx, const char *created)
{
	(*(int *)ctx)++;
}

static int setup(struct crash_store *store)
{
	struct crash_call call;
	crash_call_init(&call);
	int created = 0;
	int result = crash_store_setup_tree(store, &call, report, &created);
	if (result < 0)
		fprintf(stderr, "setup: %s\n", call.error.message);
	return result;
}

/* The bytes of a part, compared with what was written. */
static void check_part(struct crash_store *store, const char *crash_id,
		       const struct crash_part *part, const void *bytes,
		       size_t size)
{
	struct crash_call call;
	crash_call_init(&call);
	struct crash_part_stat stat;
	int fd = -1;
	int result = crash_store_open_part(store, &call, crash_id, part, &stat,
					   &fd);
	if (result < 0)
		fprintf(stderr, "open_part: %s\n", call.error.message);
	REQUIRE(result == 0);
	CHECK_INT(stat.size, size);
	unsigned char *got = malloc(size + 1);
	ssize_t length = pread(fd, got, size + 1, 0);
	CHECK_INT(length, size);
	CHECK(length == (ssize_t)size && memcmp(got, bytes, size) == 0);
	free(got);
	close(fd);
	struct crash_part_stat again;
	crash_call_init(&call);
	CHECK_INT(crash_store_stat_part(store, &call, crash_id, part, &again),
		  0);
	CHECK_INT(again.size, size);
	CHECK(again.version == stat.version);
}

static int collect_entry(void *ctx, const struct crash_queue_entry *entry)
{
	struct crash_queue_entry *out = ctx;
	if (strcmp(entry->crash_id, CRASH) == 0)
		*out = *entry;
	return 0;
}

static int queue_pass(struct crash_store *store,
		      struct crash_queue_entry *entry)
{
	struct crash_call call;
	crash_call_init(&call);
	memset(entry, 0, sizeof *entry);
	return crash_store_new_crashes(store, &call, collect_entry, entry);
}

static void check_queue(struct crash_store *store)
{
	struct crash_queue_entry entry, again;
	struct crash_call call;
	CHECK_INT(queue_pass(store, &entry), 0);
	CHECK_STR(entry.crash_id, CRASH);
	CHECK_STR(entry.token.where, "2014-10-21T10:52:42.123456");
	/* A pass takes nothing. */
	CHECK_INT(queue_pass(store, &again), 0);
	CHECK_STR(again.crash_id, CRASH);
	crash_call_init(&call);
	CHECK_INT(crash_store_ack_crash(store, &call, &entry), 0);
	CHECK_INT(queue_pass(store, &again), 0);
	CHECK_STR(again.crash_id, "");
	crash_call_init(&call);
	CHECK_INT(crash_store_ack_crash(store, &call, &entry), -ENOENT);
}

static void check_listings(struct crash_store *store)
{
	struct crash_call call;
	struct crash_id_page page;
	crash_call_init(&call);
	CHECK_INT(crash_store_list_crashes(store, &call, "20141021", "", "",
					   &page), 0);
	CHECK_INT(page.count, 2);
	CHECK_STR(page.ids[0], CRASH);
	CHECK_STR(page.ids[1], OTHER);
	CHECK_INT(crash_store_list_crashes(store, &call, "20141021", "", CRASH,
					   &page), 0);
	CHECK_INT(page.count, 1);
	CHECK_STR(page.ids[0], OTHER);
	CHECK_INT(crash_store_list_crashes(store, &call, "20141021", "0bba",
					   "", &page), 0);
	CHECK_INT(page.count, 1);
	CHECK_INT(crash_store_list_crashes(store, &call, "20141022", "", "",
					   &page), 0);
	CHECK_INT(page.count, 0);
	CHECK_INT(crash_store_stat_radix_dir(store, &call, "20141021", "e8",
					     NULL), 0);
	CHECK_INT(crash_store_stat_radix_dir(store, &call, "20141021", "e9",
					     NULL), -ENOENT);
	struct collected days = { .count = 0 };
	CHECK_INT(test_list_days(store, &call, &days), 0);
	CHECK_STR(days.text, "20141021");
}

static int roundtrip(void)
{
	char cache_dir[] = "/tmp/hbase-check-cache-XXXXXX";
	struct read_cache *cache = NULL;
	struct crash_error error = { 0 };
	if (!mkdtemp(cache_dir) ||
	    read_cache_new(cache_dir, 64 << 20, &cache, &error) < 0) {
		fprintf(stderr, "read cache: %s\n", error.message);
		return 1;
	}
	struct crash_store *store = open_store("", cache);
	if (!store || setup(store) < 0)
		return 1;
	struct crash_call call;
	size_t dump_size = 300000;
	unsigned char *dump = pattern(dump_size, 1);
	unsigned char *flash = pattern(70000, 2);
	struct crash_blob raw;
	struct crash_dump dumps[2] = { { .dump_name = NULL },
				       { .dump_name = "flash1" } };
	blob_of(&raw, RAW, strlen(RAW));
	blob_of(&dumps[0].blob, dump, dump_size);
	blob_of(&dumps[1].blob, flash, 70000);
	crash_call_init(&call);
	int result = crash_store_save_raw_crash(store, &call, CRASH, &raw,
						dumps, 2);
	if (result < 0)
		fprintf(stderr, "save_raw_crash: %s\n", call.error.message);
	CHECK_INT(result, 0);
	crash_call_init(&call);
	CHECK_INT(crash_store_save_raw_crash(store, &call, OTHER, &raw, NULL,
					     0), 0);
	unsigned char jsonz[512];
	size_t jsonz_size = gzip_of(PROCESSED, jsonz, sizeof jsonz);
	struct crash_blob processed;
	blob_of(&processed, jsonz, jsonz_size);
	crash_call_init(&call);
	result = crash_store_save_processed(store, &call, CRASH, &processed);
	if (result < 0)
		fprintf(stderr, "save_processed: %s\n", call.error.message);
	CHECK_INT(result, 0);

	const struct crash_part flash_part = { CRASH_PART_DUMP, "flash1" };
	check_part(store, CRASH, &RAW_PART, RAW, strlen(RAW));
	check_part(store, CRASH, &DUMP_PART, dump, dump_size);
	check_part(store, CRASH, &flash_part, flash, 70000);
	check_part(store, CRASH, &PROCESSED_PART, jsonz, jsonz_size);
	/* Twice: the second comes from the read cache. */
	check_part(store, CRASH, &DUMP_PART, dump, dump_size);

	struct collected parts = { .count = 0 };
	crash_call_init(&call);
	CHECK_INT(crash_store_list_parts(store, &call, CRASH,
					 test_collect_part, &parts), 0);
	CHECK_INT(parts.count, 4);
	check_listings(store);
	check_queue(store);

	struct timespec mtime = { 1234567890, 5 };
	struct crash_part_stat stat;
	crash_call_init(&call);
	CHECK_INT(crash_store_set_part_mtime(store, &call, CRASH, &DUMP_PART,
					     &mtime), 0);
	CHECK_INT(crash_store_stat_part(store, &call, CRASH, &DUMP_PART,
					&stat), 0);
	CHECK_INT(stat.mtime.tv_sec, 1234567890);
	CHECK_INT(stat.mtime.tv_nsec, 5);

	crash_call_init(&call);
	CHECK_INT(crash_store_remove_part(store, &call, CRASH, &flash_part), 0);
	CHECK_INT(crash_store_stat_part(store, &call, CRASH, &flash_part,
					&stat), -ENOENT);
	CHECK_INT(crash_store_remove(store, &call, CRASH), 0);
	CHECK_INT(crash_store_stat_crash(store, &call, CRASH, NULL), -ENOENT);
	CHECK_INT(crash_store_remove(store, &call, CRASH), -ENOENT);
	/* Saved again at once: a delete in the same millisecond must not
	 * mask the new cells. */
	crash_call_init(&call);
	CHECK_INT(crash_store_save_raw_crash(store, &call, CRASH, &raw, dumps,
					     1), 0);
	check_part(store, CRASH, &DUMP_PART, dump, dump_size);
	CHECK_INT(crash_store_remove(store, &call, CRASH), 0);
	CHECK_INT(crash_store_remove(store, &call, OTHER), 0);

	close(raw.fd);
	close(dumps[0].blob.fd);
	close(dumps[1].blob.fd);
	close(processed.fd);
	free(dump);
	free(flash);
	crash_store_close(store);
	read_cache_free(cache);
	rmdir(cache_dir);
	return 0;
}

static void chunked_save(struct crash_store *store, size_t size,
			 unsigned seed)
{
	unsigned char *bytes = pattern(size, seed);
	struct crash_dump dump = { .dump_name = NULL };
	blob_of(&dump.blob, bytes, size);
	struct crash_call call;
	crash_call_init(&call);
	int result = crash_store_save_dump(store, &call, CRASH, &dump);
	if (result < 0)
		fprintf(stderr, "save_dump: %s\n", call.error.message);
	CHECK_INT(result, 0);
	check_part(store, CRASH, &DUMP_PART, bytes, size);
	close(dump.blob.fd);
	free(bytes);
}

static int chunked(void)
{
	struct crash_store *plain = open_store("\"max_cell_size\": 65536",
					       NULL);
	if (!plain || setup(plain) < 0)
		return 1;
	unsigned char *bytes = pattern(200000, 3);
	struct crash_dump dump = { .dump_name = NULL };
	blob_of(&dump.blob, bytes, 200000);
	struct crash_call call;
	crash_call_init(&call);
	CHECK_INT(crash_store_save_dump(plain, &call, CRASH, &dump), -EFBIG);
	CHECK(test_contains(call.error.message, "max_cell_size 65536"));
	close(dump.blob.fd);
	free(bytes);
	crash_store_close(plain);

	struct crash_store *store = open_store(
		"\"max_cell_size\": 65536, \"chunked\": true", NULL);
	if (!store)
		return 1;
	chunked_save(store, 200000, 4);  /* 4 chunks */
	chunked_save(store, 131072, 5);  /* exactly 2 */
	chunked_save(store, 1000, 6);    /* one cell again */
	chunked_save(store, 300000, 7);
	crash_call_init(&call);
	CHECK_INT(crash_store_remove(store, &call, CRASH), 0);
	CHECK_INT(crash_store_stat_crash(store, &call, CRASH, NULL), -ENOENT);
	crash_store_close(store);
	return 0;
}

/* Every call fails, as operational, with a message naming the server. */
static int down(void)
{
	struct crash_store *store = open_store("", NULL);
	if (!store)
		return 1;
	struct crash_call call;
	crash_call_init(&call);
	int result = crash_store_stat_crash(store, &call, CRASH, NULL);
	CHECK(result < 0 && result != -ENOENT);
	CHECK(call.error.operational);
	CHECK(test_contains(call.error.message, host));
	struct crash_blob raw;
	blob_of(&raw, RAW, strlen(RAW));
	crash_call_init(&call);
	result = crash_store_save_raw_crash(store, &call, CRASH, &raw, NULL, 0);
	CHECK(result < 0 && result != -ENOENT && call.error.operational);
	close(raw.fd);
	crash_store_close(store);
	return 0;
}

static int sigpipe(void)
{
	struct crash_store *store = open_store("", NULL);
	if (!store)
		return 1;
	size_t size = 5 << 20;
	unsigned char *bytes = pattern(size, 8);
	struct crash_dump dump = { .dump_name = NULL };
	blob_of(&dump.blob, bytes, size);
	for (int i = 0; i < 3; i++) {
		struct crash_call call;
		crash_call_init(&call);
		int result = crash_store_save_dump(store, &call, CRASH, &dump);
		CHECK(result < 0 && call.error.operational);
	}
	close(dump.blob.fd);
	free(bytes);
	crash_store_close(store);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST PORT TABLE_PREFIX SCENARIO\n",
			argv[0]);
		return 2;
	}
	host = argv[1];
	port = argv[2];
	prefix = argv[3];
	const char *scenario = argv[4];
	int status;
	if (strcmp(scenario, "roundtrip") == 0)
		status = roundtrip();
	else if (strcmp(scenario, "chunked") == 0)
		status = chunked();
	else if (strcmp(scenario, "down") == 0)
		status = down();
	else if (strcmp(scenario, "sigpipe") == 0)
		status = sigpipe();
	else {
		fprintf(stderr, "unknown scenario %s\n", scenario);
		return 2;
	}
	if (status == 0 && unit_test_checks_failed == 0)
		printf("ok %s\n", scenario);
	return status ? status : unit_test_exit(scenario);
}
