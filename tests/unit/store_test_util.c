/*
 * container_test_util.c - shared helpers of the container tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "storage/crash_log.h"
#include "tests/unit/store_test_util.h"
#include "mountopts/store_types.h"
#include "storage/memory/memory_store.h"

const struct crash_part RAW_PART = { .type = CRASH_PART_RAW_CRASH };
const struct crash_part DUMP_PART = { .type = CRASH_PART_DUMP };
const struct crash_part PROCESSED_PART = { .type = CRASH_PART_PROCESSED };

int test_save_raw(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, const char *text, bool without_json)
{
	struct crash_blob blob;
	json_t *json = without_json ? NULL : json_loads(text, 0, NULL);
	if (memory_blob(&blob, text, json) < 0) {
		json_decref(json);
		return -EIO;
	}
	int result = crash_store_save_raw_crash(store, call, crash_id, &blob,
						NULL, 0);
	close(blob.fd);
	json_decref(json);
	return result;
}

int test_save_raw_with_dump(struct crash_store *store, struct crash_call *call,
			    const char *crash_id, const char *text,
			    const char *dump_text)
{
	struct crash_blob blob;
	struct crash_dump dump = { .dump_name = NULL };
	json_t *json = json_loads(text, 0, NULL);
	if (memory_blob(&blob, text, json) < 0) {
		json_decref(json);
		return -EIO;
	}
	if (memory_blob(&dump.blob, dump_text, NULL) < 0) {
		close(blob.fd);
		json_decref(json);
		return -EIO;
	}
	int result = crash_store_save_raw_crash(store, call, crash_id, &blob,
						&dump, 1);
	close(dump.blob.fd);
	close(blob.fd);
	json_decref(json);
	return result;
}

int test_save_dump(struct crash_store *store, struct crash_call *call,
		   const char *crash_id, const char *dump_name,
		   const char *text)
{
	struct crash_dump dump = { .dump_name = dump_name };
	if (memory_blob(&dump.blob, text, NULL) < 0)
		return -EIO;
	int result = crash_store_save_dump(store, call, crash_id, &dump);
	close(dump.blob.fd);
	return result;
}

int test_save_processed(struct crash_store *store, struct crash_call *call,
			const char *crash_id, const char *text,
			bool without_json)
{
	struct crash_blob blob;
	json_t *json = without_json ? NULL : json_loads(text, 0, NULL);
	if (memory_blob(&blob, text, json) < 0) {
		json_decref(json);
		return -EIO;
	}
	int result = crash_store_save_processed(store, call, crash_id, &blob);
	close(blob.fd);
	json_decref(json);
	return result;
}

char *test_read_part(struct crash_store *store, struct crash_call *call,
		     const char *crash_id, const struct crash_part *part,
		     int *result)
{
	struct crash_part_stat stat;
	int fd = -1;
	*result = crash_store_open_part(store, call, crash_id, part, &stat,
					&fd);
	if (*result < 0)
		return NULL;
	char *text = calloc(1, (size_t)stat.size + 1);
	ssize_t got = text ? pread(fd, text, (size_t)stat.size, 0) : -1;
	close(fd);
	if (got != stat.size) {
		free(text);
		*result = -EIO;
		return NULL;
	}
	return text;
}

static int collect(struct collected *collected, const char *entry)
{
	size_t used = strlen(collected->text);
	snprintf(collected->text + used, sizeof collected->text - used, "%s%s",
		 used ? " " : "", entry);
	collected->count++;
	if (collected->stop_after > 0 &&
	    collected->count >= collected->stop_after)
		return 7;
	return 0;
}

static int collect_entry(void *ctx, const struct crash_listing_entry *entry)
{
	char text[128];
	if (entry->kind == CRASH_LISTING_DAY)
		return collect(ctx, entry->name);
	snprintf(text, sizeof text, "%s:%s",
		 entry->kind == CRASH_LISTING_CRASH ? "c" : "d", entry->name);
	return collect(ctx, text);
}

int test_list_days(struct crash_store *store, struct crash_call *call,
		   struct collected *collected)
{
	struct crash_listing *listing;
	int result = crash_store_open_days(store, call, &listing);
	if (result < 0)
		return result;
	return crash_listing_drain(listing, call, collect_entry, collected);
}

int test_list_radix(struct crash_store *store, struct crash_call *call,
		    const char *day, const char *prefix,
		    struct collected *collected)
{
	struct crash_listing *listing;
	int result = crash_store_open_radix(store, call, day, prefix,
					    &listing);
	if (result < 0)
		return result;
	return crash_listing_drain(listing, call, collect_entry, collected);
}

int test_collect_queue(void *ctx, const struct crash_queue_entry *entry)
{
	return collect(ctx, entry->crash_id);
}

struct consumer {
	struct crash_store *store;
	struct crash_call *call;
	struct collected *collected;
	const char *only; /* test_ack: this crash, not collected */
	int ack_result;
	bool found;
};

static int consume_entry(void *ctx, const struct crash_queue_entry *entry)
{
	struct consumer *consumer = ctx;
	struct crash_call call;
	if (consumer->only && strcmp(consumer->only, entry->crash_id) != 0)
		return 0;
	crash_call_init(&call);
	consumer->found = true;
	consumer->ack_result = crash_store_ack_crash(consumer->store, &call,
						     entry);
	if (consumer->ack_result < 0)
		*consumer->call = call;
	if (consumer->only)
		return 1;
	return collect(consumer->collected, entry->crash_id);
}

int test_consume_new_crashes(struct crash_store *store,
			     struct crash_call *call,
			     struct collected *collected)
{
	struct consumer consumer = { .store = store, .call = call,
				     .collected = collected };
	int result = crash_store_new_crashes(store, call, consume_entry,
					     &consumer);
	if (result == 0 && consumer.ack_result < 0)
		return consumer.ack_result;
	return result;
}

int test_ack(struct crash_store *store, struct crash_call *call,
	     const char *crash_id)
{
	struct consumer consumer = { .store = store, .call = call,
				     .only = crash_id };
	int result = crash_store_new_crashes(store, call, consume_entry,
					     &consumer);
	if (result < 0)
		return result;
	if (!consumer.found)
		return crash_error_set(&call->error, -ENOENT,
				       "no pass yields %s", crash_id);
	return consumer.ack_result;
}

int test_collect_part(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *stat)
{
	char entry[256];
	const char *type = part->type == CRASH_PART_RAW_CRASH ? "raw"
			   : part->type == CRASH_PART_DUMP    ? "dump"
							      : "processed";
	snprintf(entry, sizeof entry, "%s%s%s@%lld", type,
		 part->dump_name ? ":" : "",
		 part->dump_name ? part->dump_name : "",
		 (long long)stat->size);
	return collect(ctx, entry);
}

int test_open_text(const char *text, const struct crash_store_env *env,
		   struct crash_store **store, struct crash_error *error)
{
	json_error_t json_error;
	json_t *node = json_loads(text, 0, &json_error);
	crash_error_clear(error);
	*store = NULL;
	if (!node) {
		fprintf(stderr, "bad test JSON: %s: %s\n", json_error.text,
			text);
		return -999;
	}
	struct crash_store_env with_types = env ? *env
						: (struct crash_store_env){ 0 };
	if (!with_types.types)
		with_types.types = crashfs_store_types;
	int result = store_registry_open(node, "store", &with_types, store,
					 error);
	json_decref(node);
	return result;
}

int test_open_file_text(const char *text, const struct crash_store_env *env,
			struct crash_store **store,
			struct crash_error *error)
{
	char path[] = "/tmp/crashfs-container-test-XXXXXX";
	int fd = mkstemp(path);
	*store = NULL;
	crash_error_clear(error);
	if (fd < 0)
		return -errno;
	ssize_t written = write(fd, text, strlen(text));
	close(fd);
	int result = -EIO;
	struct crash_store_env with_types = env ? *env
						: (struct crash_store_env){ 0 };
	if (!with_types.types)
		with_types.types = crashfs_store_types;
	if (written == (ssize_t)strlen(text))
		result = store_registry_open_file(path, &with_types, store,
						  error);
	unlink(path);
	return result;
}

bool test_contains(const char *haystack, const char *needle)
{
	if (haystack && needle && strstr(haystack, needle))
		return true;
	fprintf(stderr, "\"%s\" does not contain \"%s\"\n",
		haystack ? haystack : "(null)", needle ? needle : "(null)");
	return false;
}

double test_now(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

char *test_capture_log(void (*fn)(void *arg), void *arg)
{
	char path[] = "/tmp/crashfs-container-log-XXXXXX";
	int log_fd = mkstemp(path);
	if (log_fd < 0)
		return NULL;
	unlink(path);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(log_fd, STDERR_FILENO);
	crash_log_set_level(CRASH_LOG_INFO);
	fn(arg);
	crash_log_set_level(CRASH_LOG_ERROR);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t size = lseek(log_fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)size + 1);
	if (text && pread(log_fd, text, (size_t)size, 0) != size)
		text[0] = '\0';
	close(log_fd);
	return text;
}

int test_count(const char *text, const char *needle)
{
	int count = 0;
	for (const char *at = text; at && (at = strstr(at, needle));
	     at += strlen(needle))
		count++;
	return count;
}
