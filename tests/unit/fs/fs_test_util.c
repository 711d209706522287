/*
 * fs_test_util.c - helpers of the fs store tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fs/fs_test_util.h"

void test_clock_now(struct timespec *out, void *arg)
{
	const struct test_clock *clock = arg;
	*out = clock->now;
}

void test_clock_set(struct test_clock *clock, int year, int month, int day,
		    int hour, int minute, int second)
{
	struct tm utc = { 0 };
	utc.tm_year = year - 1900;
	utc.tm_mon = month - 1;
	utc.tm_mday = day;
	utc.tm_hour = hour;
	utc.tm_min = minute;
	utc.tm_sec = second;
	clock->now.tv_sec = timegm(&utc);
	clock->now.tv_nsec = 123456000;
}

char *test_make_dir(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char pattern[PATH_MAX];
	snprintf(pattern, sizeof pattern, "%s/crashfs-fs-%s-XXXXXX",
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
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *entry;
		char child[PATH_MAX];
		while (dir && (entry = readdir(dir)) != NULL) {
			if (strcmp(entry->d_name, ".") == 0 ||
			    strcmp(entry->d_name, "..") == 0)
				continue;
			test_path(child, sizeof child, "%s/%s", path,
				  entry->d_name);
			remove_tree(child);
		}
		if (dir)
			closedir(dir);
		rmdir(path);
	} else {
		unlink(path);
	}
}

void test_remove_dir(const char *path)
{
	if (path)
		remove_tree(path);
}

struct crash_store *test_open_store(const char *root, enum fs_layout layout,
				    unsigned umask_value,
				    int minute_slice_interval,
				    struct test_clock *clock)
{
	struct fs_store_options options;
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };

	fs_store_options_init(&options);
	options.root = root;
	options.layout = layout;
	options.umask = umask_value;
	options.minute_slice_interval = minute_slice_interval;
	if (clock) {
		options.now = test_clock_now;
		options.now_arg = clock;
	}
	if (fs_store_open(&options, "store", &store, &error) < 0) {
		fprintf(stderr, "fs_store_open: %s\n", error.message);
		return NULL;
	}
	return store;
}

int test_blob_make(struct test_blob *blob, const char *spool_dir,
		   const void *bytes, size_t size, time_t mtime)
{
	static atomic_int counter;
	memset(blob, 0, sizeof *blob);
	snprintf(blob->path, sizeof blob->path, "%s/spool-%d", spool_dir,
		 atomic_fetch_add(&counter, 1) + 1);
	int fd = open(blob->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (size && write(fd, bytes, size) != (ssize_t)size) {
		close(fd);
		return -EIO;
	}
	/* Stores read with pread: the file offset must not matter. */
	lseek(fd, 3, SEEK_SET);
	blob->blob.fd = fd;
	blob->blob.size = (off_t)size;
	blob->blob.mtime.tv_sec = mtime;
	blob->blob.mtime.tv_nsec = 250000000;
	blob->blob.path = blob->path;
	blob->blob.adoptable = false;
	return 0;
}

void test_blob_free(struct test_blob *blob)
{
	if (blob->blob.fd >= 0)
		close(blob->blob.fd);
	blob->blob.fd = -1;
	unlink(blob->path);
}

const unsigned char test_example_dump[] = { 'M', 'D', 'M', 'P', 0x93, 0xa7,
					    0x00, 0x00, 0x01, 0xff, 0x00,
					    '\n', 'x' };
const size_t test_example_dump_size = sizeof test_example_dump;
const unsigned char test_example_flash1[] = { 'M', 'D', 'M', 'P', 0x00,
					      'f', 'l', 'a', 's', 'h', '1' };
const size_t test_example_flash1_size = sizeof test_example_flash1;
/* A gzip member of {"uuid": ...}: stores keep these bytes as they are. */
const unsigned char test_example_jsonz[] = { 0x1f, 0x8b, 0x08, 0x00, 0x38,
					     0x6d, 0x81, 0x4f, 0x02, 0xff,
					     0xab, 0x56, 0x2a, 0xcd, 0xcc,
					     0x4c, 0x51, 0xb2, 0x52, 0x50,
					     0xaa, 0xad, 0x05, 0x00, 0x00 };
const size_t test_example_jsonz_size = sizeof test_example_jsonz;

void test_example_raw(const char *crash_id, char *out, size_t out_size)
{
	snprintf(out, out_size,
		 "{\"legacy_processing\": 0, \"uuid\": \"%s\", "
		 "\"ProductName\": \"Firefox\"}",
		 crash_id);
}

int test_save_example(struct crash_store *store, const char *spool_dir,
		      const char *crash_id)
{
	struct test_blob raw, dump, flash1, jsonz;
	struct crash_call call;
	char text[256];
	int result;

	test_example_raw(crash_id, text, sizeof text);
	if ((result = test_blob_make(&raw, spool_dir, text, strlen(text),
				     1333882362)) < 0 ||
	    (result = test_blob_make(&dump, spool_dir, test_example_dump,
				     test_example_dump_size, 1333882300)) <
		    0 ||
	    (result = test_blob_make(&flash1, spool_dir, test_example_flash1,
				     test_example_flash1_size, 1333882301)) <
		    0 ||
	    (result = test_blob_make(&jsonz, spool_dir, test_example_jsonz,
				     test_example_jsonz_size, 1333882600)) <
		    0)
		return result;
	struct crash_dump dumps[2] = {
		{ "upload_file_minidump", dump.blob },
		{ "upload_file_minidump_flash1", flash1.blob },
	};
	crash_call_init(&call);
	result = crash_store_save_raw_crash(store, &call, crash_id, &raw.blob,
					    dumps, 2);
	if (result < 0)
		fprintf(stderr, "save_raw_crash %s: %s\n", crash_id,
			call.error.message);
	if (result == 0) {
		result = crash_store_save_processed(store, &call, crash_id,
						    &jsonz.blob);
		if (result < 0)
			fprintf(stderr, "save_processed %s: %s\n", crash_id,
				call.error.message);
	}
	test_blob_free(&raw);
	test_blob_free(&dump);
	test_blob_free(&flash1);
	test_blob_free(&jsonz);
	return result;
}

char *test_read_file(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	char *data = malloc((size_t)st.st_size + 1);
	ssize_t got = data ? read(fd, data, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		free(data);
		return NULL;
	}
	data[got] = '\0';
	if (size)
		*size = (size_t)got;
	return data;
}

bool test_file_equals(const char *path, const void *bytes, size_t size)
{
	size_t got_size = 0;
	char *data = test_read_file(path, &got_size);
	bool equal = data && got_size == size && memcmp(data, bytes, size) == 0;
	if (!equal)
		fprintf(stderr, "%s: content differs (%zu bytes, expected %zu)\n",
			path, data ? got_size : 0, size);
	free(data);
	return equal;
}

bool test_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int test_mode(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

const char *test_readlink(const char *path, char *out, size_t out_size)
{
	ssize_t length = readlink(path, out, out_size - 1);
	out[length > 0 ? length : 0] = '\0';
	return out;
}

struct line_buffer {
	char *data;
	size_t length, capacity;
};

static void append(struct line_buffer *buffer, const char *text)
{
	size_t length = strlen(text);
	if (buffer->length + length + 1 > buffer->capacity) {
		buffer->capacity = (buffer->length + length + 1) * 2;
		buffer->data = realloc(buffer->data, buffer->capacity);
		if (!buffer->data)
			abort();
	}
	memcpy(buffer->data + buffer->length, text, length + 1);
	buffer->length += length;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void tree_walk(const char *root, const char *relative,
		      struct line_buffer *out)
{
	char path[PATH_MAX];
	test_path(path, sizeof path, "%s%s%s", root, relative[0] ? "/" : "",
		  relative);
	DIR *dir = opendir(path);
	if (!dir)
		return;
	char **names = NULL;
	size_t count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		/* The store's scratch directory (fs_internal.h): its
		 * working files, not what it stores. */
		if (!relative[0] && strcmp(entry->d_name, ".crashfs-tmp") == 0)
			continue;
		names = realloc(names, (count + 1) * sizeof *names);
		names[count++] = strdup(entry->d_name);
	}
	closedir(dir);
	qsort(names, count, sizeof *names, compare_names);
	for (size_t i = 0; i < count; i++) {
		char child[PATH_MAX], child_path[PATH_MAX], line[2 * PATH_MAX];
		struct stat st;
		test_path(child, sizeof child, "%s%s%s", relative,
			  relative[0] ? "/" : "", names[i]);
		test_path(child_path, sizeof child_path, "%s/%s", root, child);
		if (lstat(child_path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			test_path(line, sizeof line, "l %s -> %s\n", child,
				  test_readlink(child_path, target,
						sizeof target));
			append(out, line);
		} else if (S_ISDIR(st.st_mode)) {
			test_path(line, sizeof line, "d %04o %s\n",
				  (unsigned)(st.st_mode & 07777), child);
			append(out, line);
			tree_walk(root, child, out);
		} else {
			test_path(line, sizeof line, "f %04o %s\n",
				  (unsigned)(st.st_mode & 07777), child);
			append(out, line);
		}
		free(names[i]);
	}
	free(names);
}

char *test_tree(const char *root)
{
	struct line_buffer out = { 0 };
	append(&out, "");
	tree_walk(root, "", &out);
	return out.data;
}

char *test_lines(const char *const *lines)
{
	struct line_buffer out = { 0 };
	append(&out, "");
	for (size_t i = 0; lines[i]; i++) {
		append(&out, lines[i]);
		append(&out, "\n");
	}
	return out.data;
}

const char *test_path(char *out, size_t out_size, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(out, out_size, format, args);
	va_end(args);
	return out;
}

static int collect(struct test_names *names, int kind, const char *name)
{
	names->calls++;
	if (names->stop_at && names->calls == names->stop_at)
		return names->stop_value;
	if (names->count < 64) {
		snprintf(names->names[names->count],
			 sizeof names->names[names->count], "%s", name);
		names->kinds[names->count] = kind;
		names->count++;
	}
	return 0;
}

static int collect_entry(void *ctx, const struct crash_listing_entry *entry)
{
	return collect(ctx, (int)entry->kind, entry->name);
}

int test_list_days(struct crash_store *store, struct crash_call *call,
		   struct test_names *names)
{
	struct crash_listing *listing;
	int result = crash_store_open_days(store, call, &listing);
	if (result < 0)
		return result;
	return crash_listing_drain(listing, call, collect_entry, names);
}

int test_list_radix(struct crash_store *store, struct crash_call *call,
		    const char *day, const char *prefix,
		    struct test_names *names)
{
	struct crash_listing *listing;
	int result = crash_store_open_radix(store, call, day, prefix,
					    &listing);
	if (result < 0)
		return result;
	return crash_listing_drain(listing, call, collect_entry, names);
}

int test_collect_queue(void *ctx, const struct crash_queue_entry *entry)
{
	return collect(ctx, 0, entry->crash_id);
}

struct consumer {
	struct crash_store *store;
	struct test_names *names;
	int ack_result;
};

static int consume_entry(void *ctx, const struct crash_queue_entry *entry)
{
	struct consumer *consumer = ctx;
	int result = collect(consumer->names, 0, entry->crash_id);
	if (result != 0)
		return result; /* stopped: not consumed, as Socorro */
	struct crash_call call;
	crash_call_init(&call);
	int acked = crash_store_ack_crash(consumer->store, &call, entry);
	if (acked < 0 && consumer->ack_result == 0) {
		fprintf(stderr, "ack %s: %s\n", entry->crash_id,
			call.error.message);
		consumer->ack_result = acked;
	}
	return 0;
}

int test_consume_new_crashes(struct crash_store *store,
			     struct crash_call *call,
			     struct test_names *names)
{
	struct consumer consumer = { .store = store, .names = names };
	int result = crash_store_new_crashes(store, call, consume_entry,
					     &consumer);
	return result == 0 ? consumer.ack_result : result;
}

bool test_names_has(const struct test_names *names, int kind,
		    const char *name)
{
	for (int i = 0; i < names->count; i++)
		if (strcmp(names->names[i], name) == 0 &&
		    (kind == 0 || names->kinds[i] == kind))
			return true;
	return false;
}

bool test_scratch_open(struct test_scratch *s, const char *tag,
		       enum fs_layout layout, unsigned umask,
		       int minute_slice_interval)
{
	memset(s, 0, sizeof *s);
	s->base = test_make_dir(tag);
	if (!s->base)
		return false;
	test_path(s->root, sizeof s->root, "%s/root", s->base);
	test_path(s->spool, sizeof s->spool, "%s/spool", s->base);
	mkdir(s->spool, 0700);
	test_clock_set(&s->clock, 2012, 4, 8, 10, 52, 42);
	s->layout = layout;
	s->legacy = layout == FS_LAYOUT_LEGACY ||
		    layout == FS_LAYOUT_LEGACY_DATED;
	s->dated = layout == FS_LAYOUT_DATED ||
		   layout == FS_LAYOUT_LEGACY_DATED;
	crash_call_init(&s->call);
	s->store = test_open_store(s->root, layout, umask,
				   minute_slice_interval, &s->clock);
	return s->store != NULL;
}

void test_scratch_close(struct test_scratch *s)
{
	crash_store_close(s->store);
	s->store = NULL;
	if (s->base)
		test_remove_dir(s->base);
	free(s->base);
	s->base = NULL;
}

const char *test_scratch_at(struct test_scratch *s, char *out,
			    const char *relative)
{
	return test_path(out, PATH_MAX, "%s/%s", s->root, relative);
}
