/*
 * fs_test_util.h - what the fs store tests share: scratch directories, a
 * fixed clock, blobs backed by spool files, and a canonical dump of a
 * directory tree ("d 0755 20120408", "f 0644 20120408/...json",
 * "l 20120408/.../date_root -> ../../../../date/10/52_10") so a test can
 * compare a whole layout, modes and link targets included, in one check.
 *
 * Single-threaded helpers, except test_clock_now (read-only).
 */
#ifndef CRASHFS_TESTS_UNIT_FS_FS_TEST_UTIL_H
#define CRASHFS_TESTS_UNIT_FS_FS_TEST_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "storage/crash_listing.h"
#include "storage/crash_store.h"
#include "storage/fs/fs_store.h"

#define ID_A "936ce666-ff3b-4c7a-9674-367fe2120408"
#define ID_B "936ce666-aaaa-4c7a-9674-367fe2120408"
#define ID_E "e8820616-1462-49b6-9784-e99a32120201"
#define ID_OLD "0bba929f-8721-460c-dead-a43c20071025"

struct test_clock {
	struct timespec now;
};

void test_clock_now(struct timespec *out, void *arg);
/* UTC */
void test_clock_set(struct test_clock *clock, int year, int month, int day,
		    int hour, int minute, int second);

/* A fresh scratch directory (under $TMPDIR or /tmp); the caller frees the
 * string after test_remove_dir. */
char *test_make_dir(const char *tag);
void test_remove_dir(const char *path);

/*
 * A scratch fs store, the fixture of every fs store test: a fresh
 * directory holding root/ (the store) and spool/ (blobs), a fixed clock at
 * 2012-04-08 10:52:42 UTC (slot 10/52_10 with an interval of 4 s), and the
 * store opened on root with the layout, umask and slot interval given.
 */
struct test_scratch {
	char *base;
	char root[PATH_MAX];
	char spool[PATH_MAX];
	struct test_clock clock;
	struct crash_store *store;
	enum fs_layout layout;
	bool legacy, dated;
	struct crash_call call;
};
bool test_scratch_open(struct test_scratch *s, const char *tag,
		       enum fs_layout layout, unsigned umask,
		       int minute_slice_interval);
void test_scratch_close(struct test_scratch *s);
/* <root>/<relative> into out (PATH_MAX bytes). */
const char *test_scratch_at(struct test_scratch *s, char *out,
			    const char *relative);

/* Opens an fs store; NULL (and a printed error) on failure. */
struct crash_store *test_open_store(const char *root, enum fs_layout layout,
				    unsigned umask, int minute_slice_interval,
				    struct test_clock *clock);

/* A blob backed by a spool file holding bytes. */
struct test_blob {
	struct crash_blob blob;
	char path[PATH_MAX];
};
int test_blob_make(struct test_blob *blob, const char *spool_dir,
		   const void *bytes, size_t size, time_t mtime);
void test_blob_free(struct test_blob *blob);

/* Saves the §11 example crash: raw crash, main dump and flash1 dump, then
 * the processed crash.  Returns the first error. */
int test_save_example(struct crash_store *store, const char *spool_dir,
		      const char *crash_id);
/* The bytes test_save_example wrote for crash_id. */
void test_example_raw(const char *crash_id, char *out, size_t out_size);
extern const unsigned char test_example_dump[];
extern const size_t test_example_dump_size;
extern const unsigned char test_example_flash1[];
extern const size_t test_example_flash1_size;
extern const unsigned char test_example_jsonz[];
extern const size_t test_example_jsonz_size;

/* Whole file into malloc'd memory (NUL added); NULL if unreadable. */
char *test_read_file(const char *path, size_t *size);
bool test_file_equals(const char *path, const void *bytes, size_t size);
bool test_exists(const char *path);          /* lstat */
int test_mode(const char *path);             /* lstat mode & 07777, or -1 */
/* readlink into out; "" if not a link. */
const char *test_readlink(const char *path, char *out, size_t out_size);

/* The sorted tree under root, one line per entry (see above); malloc'd. */
char *test_tree(const char *root);
/* Joins lines with '\n' (each line ends with '\n'); malloc'd. */
char *test_lines(const char *const *lines);

/* snprintf into a caller's buffer, returning it. */
const char *test_path(char *out, size_t out_size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* Collects emitted names; emit returns stop_value for the call number
 * stop_at (1-based; 0 never). */
struct test_names {
	char names[64][64];
	int kinds[64];
	int count;
	int calls;
	int stop_at;
	int stop_value;
};
/* Drains a listing of days or of a radix directory into names (kinds:
 * CRASH_LISTING_*); the result of the open or of next, or stop_value. */
int test_list_days(struct crash_store *store, struct crash_call *call,
		   struct test_names *names);
int test_list_radix(struct crash_store *store, struct crash_call *call,
		    const char *day, const char *prefix,
		    struct test_names *names);
/* new_crashes' callback: collects the ids without acknowledging them. */
int test_collect_queue(void *ctx, const struct crash_queue_entry *entry);
/* A pass of new_crashes acknowledging each crash as it is yielded (what
 * Socorro's consumer ends up doing); the ids go to names. */
int test_consume_new_crashes(struct crash_store *store,
			     struct crash_call *call,
			     struct test_names *names);
/* True if names holds name (with kind, if kind != 0). */
bool test_names_has(const struct test_names *names, int kind,
		    const char *name);

#endif
