/*
 * memory_store.c - crashes in linked lists (see memory_store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"
#include "storage/crash_listing.h"
#include "storage/memory/memory_store.h"
#include "storage/store_config.h"

#define MEMORY_STORE_DEFAULT_MAX_BYTES (UINT64_C(64) << 20)

struct memory_part {
	struct memory_part *next;
	enum crash_part_type type;
	char *dump_name; /* NULL: main dump */
	char *bytes;
	size_t size;
	struct timespec mtime;
	uint64_t version;
};

struct memory_crash {
	struct memory_crash *next;
	char crash_id[CRASH_ID_LENGTH + 1];
	struct memory_part *parts;
	struct timespec changed; /* the last save or removal of a part */
};

/* A queued crash; version tells a re-save after a pass from the save the
 * pass saw. */
struct queued {
	struct queued *next;
	char crash_id[CRASH_ID_LENGTH + 1];
	uint64_t version;
};

struct injected_failure {
	int remaining; /* -1: forever */
	int code;
	bool operational;
};

struct memory_store {
	struct crash_store base;
	pthread_mutex_t lock; /* everything below */
	uint64_t max_bytes, bytes;
	uint64_t next_version;
	struct memory_crash *crashes;
	struct queued *queue;
	unsigned calls[STORE_OP_COUNT];
	unsigned reconnects;
	int last_adoptable;
	struct injected_failure failures[STORE_OP_COUNT];
};

static atomic_uint closed_count;

unsigned memory_store_closed_count(void)
{
	return atomic_load(&closed_count);
}

static struct memory_store *memory_from(struct crash_store *store)
{
	return crash_store_downcast(store, &memory_store_ops);
}

static void free_part(struct memory_store *self, struct memory_part *part)
{
	self->bytes -= part->size;
	free(part->dump_name);
	free(part->bytes);
	free(part);
}

static void free_crash(struct memory_store *self, struct memory_crash *crash)
{
	while (crash->parts) {
		struct memory_part *next = crash->parts->next;
		free_part(self, crash->parts);
		crash->parts = next;
	}
	free(crash);
}

static void drop_queued(struct memory_store *self, const char *crash_id)
{
	for (struct queued **link = &self->queue; *link;
	     link = &(*link)->next) {
		if (strcmp((*link)->crash_id, crash_id) == 0) {
			struct queued *gone = *link;
			*link = gone->next;
			free(gone);
			return;
		}
	}
}

static void memory_close(struct crash_store *store)
{
	struct memory_store *self = memory_from(store);
	while (self->crashes) {
		struct memory_crash *next = self->crashes->next;
		free_crash(self, self->crashes);
		self->crashes = next;
	}
	while (self->queue) {
		struct queued *next = self->queue->next;
		free(self->queue);
		self->queue = next;
	}
	pthread_mutex_destroy(&self->lock);
	crash_store_base_release(store);
	free(self);
	atomic_fetch_add(&closed_count, 1);
}

/* Locks the store, counts the call and returns an injected failure (the
 * lock then released), or 0 with the lock held. */
static int enter(struct memory_store *self, struct crash_call *call,
		 enum store_operation_kind kind)
{
	pthread_mutex_lock(&self->lock);
	struct injected_failure *failure = &self->failures[kind];
	self->calls[kind]++;
	if (failure->remaining == 0)
		return 0;
	if (failure->remaining > 0)
		failure->remaining--;
	pthread_mutex_unlock(&self->lock);
	if (failure->operational)
		return crash_error_set_operational(&call->error, failure->code,
						   "injected %s failure",
						   store_operation_name(kind));
	return crash_error_set(&call->error, failure->code,
			       "injected %s failure",
			       store_operation_name(kind));
}

static int leave(struct memory_store *self, int result)
{
	pthread_mutex_unlock(&self->lock);
	return result;
}

static struct memory_crash *find_crash(struct memory_store *self,
				       const char *crash_id)
{
	for (struct memory_crash *crash = self->crashes; crash;
	     crash = crash->next)
		if (strcmp(crash->crash_id, crash_id) == 0)
			return crash;
	return NULL;
}

/* A part as this store keeps it: the main dump has one spelling, NULL,
 * whether a caller names it NULL, "" or Socorro's dump_field (the store's
 * naming is Socorro's), so that list_parts reports it as crash_store.h
 * asks and a save under either name replaces the same part. */
static struct crash_part normal_part(const struct crash_part *part)
{
	struct crash_part normal = *part;
	if (part->type != CRASH_PART_DUMP || !part->dump_name ||
	    !part->dump_name[0] ||
	    strcmp(part->dump_name, CRASH_MAIN_DUMP_NAME) == 0)
		normal.dump_name = NULL;
	return normal;
}

static struct memory_part **find_part(struct memory_crash *crash,
				      const struct crash_part *part)
{
	struct crash_part wanted = normal_part(part);
	struct memory_part **link = &crash->parts;
	for (; *link; link = &(*link)->next) {
		struct crash_part stored = { .type = (*link)->type,
					     .dump_name = (*link)->dump_name };
		if (crash_part_equal(&stored, &wanted))
			return link;
	}
	return link;
}

static void touch(struct memory_crash *crash)
{
	clock_gettime(CLOCK_REALTIME, &crash->changed);
}

static struct memory_crash *get_crash(struct memory_store *self,
				      const char *crash_id)
{
	struct memory_crash *crash = find_crash(self, crash_id);
	if (crash)
		return crash;
	crash = calloc(1, sizeof *crash);
	if (!crash)
		return NULL;
	snprintf(crash->crash_id, sizeof crash->crash_id, "%s", crash_id);
	crash->next = self->crashes;
	self->crashes = crash;
	return crash;
}

/* Keeps bytes (taken over) as the part; lock held. */
static int put_bytes(struct memory_store *self, const char *crash_id,
		     const struct crash_part *part, char *bytes, size_t size,
		     struct timespec mtime)
{
	struct memory_crash *crash = find_crash(self, crash_id);
	struct memory_part **link = crash ? find_part(crash, part) : NULL;
	uint64_t replaced = link && *link ? (*link)->size : 0;
	if (self->bytes - replaced + size > self->max_bytes) {
		free(bytes);
		return -ENOSPC;
	}
	crash = get_crash(self, crash_id);
	if (!crash) {
		free(bytes);
		return -ENOMEM;
	}
	link = find_part(crash, part);
	if (!*link) {
		*link = calloc(1, sizeof **link);
		if (!*link) {
			free(bytes);
			return -ENOMEM;
		}
		struct crash_part normal = normal_part(part);
		(*link)->type = normal.type;
		(*link)->dump_name = normal.dump_name ? strdup(normal.dump_name)
						      : NULL;
	}
	self->bytes -= (*link)->size;
	free((*link)->bytes);
	(*link)->bytes = bytes;
	(*link)->size = size;
	(*link)->mtime = mtime;
	(*link)->version = ++self->next_version;
	self->bytes += size;
	touch(crash);
	return 0;
}

static int read_blob(const struct crash_blob *blob, char **out)
{
	char *bytes = malloc((size_t)blob->size + 1);
	if (!bytes)
		return -ENOMEM;
	off_t done = 0;
	while (done < blob->size) {
		ssize_t got = pread(blob->fd, bytes + done,
				    (size_t)(blob->size - done), done);
		if (got <= 0) {
			free(bytes);
			return -EIO;
		}
		done += got;
	}
	bytes[blob->size] = '\0';
	*out = bytes;
	return 0;
}

static int save_blob(struct memory_store *self, struct crash_call *call,
		     const char *crash_id, const struct crash_part *part,
		     const struct crash_blob *blob)
{
	char *bytes = NULL;
	self->last_adoptable = blob->adoptable;
	if (blob->size < 0 || (uint64_t)blob->size > self->max_bytes)
		return crash_error_set(&call->error, -ENOSPC,
				       "%s: %s: a part of %lld bytes does not "
				       "fit in max_bytes %llu",
				       self->base.node_path, crash_id,
				       (long long)blob->size,
				       (unsigned long long)self->max_bytes);
	int result = read_blob(blob, &bytes);
	if (result == 0)
		result = put_bytes(self, crash_id, part, bytes,
				   (size_t)blob->size, blob->mtime);
	if (result == -ENOSPC)
		return crash_error_set(&call->error, result,
				       "%s: %s: store full (%llu of max_bytes "
				       "%llu in use)",
				       self->base.node_path, crash_id,
				       (unsigned long long)self->bytes,
				       (unsigned long long)self->max_bytes);
	if (result < 0)
		return crash_error_set(&call->error, result,
				       "cannot keep part of %s", crash_id);
	return 0;
}

/* Queues a crash (again: a re-save is a new version to process). */
static void enqueue(struct memory_store *self, const char *crash_id)
{
	struct queued **link = &self->queue;
	for (; *link; link = &(*link)->next) {
		if (strcmp((*link)->crash_id, crash_id) == 0) {
			(*link)->version = ++self->next_version;
			return;
		}
	}
	*link = calloc(1, sizeof **link);
	if (!*link)
		return;
	snprintf((*link)->crash_id, sizeof (*link)->crash_id, "%s", crash_id);
	(*link)->version = ++self->next_version;
}

static int memory_save_raw_crash(struct crash_store *store,
				 struct crash_call *call, const char *crash_id,
				 const struct crash_blob *raw_crash,
				 const struct crash_dump *dumps,
				 size_t dump_count)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_SAVE_RAW_CRASH);
	if (result < 0)
		return result;
	struct crash_part raw = { .type = CRASH_PART_RAW_CRASH };
	result = save_blob(self, call, crash_id, &raw, raw_crash);
	for (size_t i = 0; result == 0 && i < dump_count; i++) {
		struct crash_part dump = { .type = CRASH_PART_DUMP,
					   .dump_name = dumps[i].dump_name };
		result = save_blob(self, call, crash_id, &dump, &dumps[i].blob);
	}
	if (result == 0)
		enqueue(self, crash_id);
	return leave(self, result);
}

static int memory_save_dump(struct crash_store *store, struct crash_call *call,
			    const char *crash_id, const struct crash_dump *dump)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_SAVE_DUMP);
	if (result < 0)
		return result;
	struct crash_part part = { .type = CRASH_PART_DUMP,
				   .dump_name = dump->dump_name };
	return leave(self, save_blob(self, call, crash_id, &part, &dump->blob));
}

static int memory_save_processed(struct crash_store *store,
				 struct crash_call *call, const char *crash_id,
				 const struct crash_blob *processed)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_SAVE_PROCESSED);
	if (result < 0)
		return result;
	struct crash_part part = { .type = CRASH_PART_PROCESSED };
	return leave(self, save_blob(self, call, crash_id, &part, processed));
}

static int not_here(struct crash_call *call, const char *crash_id)
{
	return crash_error_set(&call->error, -ENOENT, "crash %s is not here",
			       crash_id);
}

static int memory_remove(struct crash_store *store, struct crash_call *call,
			 const char *crash_id)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_REMOVE);
	if (result < 0)
		return result;
	for (struct memory_crash **link = &self->crashes; *link;
	     link = &(*link)->next) {
		if (strcmp((*link)->crash_id, crash_id) == 0) {
			struct memory_crash *crash = *link;
			*link = crash->next;
			free_crash(self, crash);
			drop_queued(self, crash_id);
			return leave(self, 0);
		}
	}
	return leave(self, not_here(call, crash_id));
}

static void drop_if_empty(struct memory_store *self,
			  struct memory_crash *crash)
{
	if (crash->parts)
		return;
	for (struct memory_crash **link = &self->crashes; *link;
	     link = &(*link)->next) {
		if (*link == crash) {
			*link = crash->next;
			drop_queued(self, crash->crash_id);
			free_crash(self, crash);
			return;
		}
	}
}

static int memory_remove_part(struct crash_store *store,
			      struct crash_call *call, const char *crash_id,
			      const struct crash_part *part)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_REMOVE_PART);
	if (result < 0)
		return result;
	struct memory_crash *crash = find_crash(self, crash_id);
	struct memory_part **link = crash ? find_part(crash, part) : NULL;
	if (!link || !*link)
		return leave(self, not_here(call, crash_id));
	struct memory_part *found = *link;
	*link = found->next;
	free_part(self, found);
	touch(crash);
	drop_if_empty(self, crash);
	return leave(self, 0);
}

static struct memory_part *lookup(struct memory_store *self,
				  const char *crash_id,
				  const struct crash_part *part)
{
	struct memory_crash *crash = find_crash(self, crash_id);
	struct memory_part **link = crash ? find_part(crash, part) : NULL;
	return link ? *link : NULL;
}

static int memory_set_part_mtime(struct crash_store *store,
				 struct crash_call *call, const char *crash_id,
				 const struct crash_part *part,
				 const struct timespec *mtime)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_SET_PART_MTIME);
	if (result < 0)
		return result;
	struct memory_part *found = lookup(self, crash_id, part);
	if (!found)
		return leave(self, not_here(call, crash_id));
	found->mtime = *mtime;
	return leave(self, 0);
}

static int memory_stat_crash(struct crash_store *store,
			     struct crash_call *call, const char *crash_id,
			     struct crash_dir_stat *stat)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_STAT_CRASH);
	if (result < 0)
		return result;
	struct memory_crash *crash = find_crash(self, crash_id);
	if (!crash)
		return leave(self, not_here(call, crash_id));
	stat->mtime = crash->changed;
	return leave(self, 0);
}

static void fill_stat(const struct memory_part *part,
		      struct crash_part_stat *stat)
{
	if (!stat)
		return;
	stat->size = (off_t)part->size;
	stat->mtime = part->mtime;
	stat->mode = 0644;
	stat->version = part->version;
}

static int memory_stat_part(struct crash_store *store, struct crash_call *call,
			    const char *crash_id,
			    const struct crash_part *part,
			    struct crash_part_stat *stat)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_STAT_PART);
	if (result < 0)
		return result;
	struct memory_part *found = lookup(self, crash_id, part);
	if (!found)
		return leave(self, not_here(call, crash_id));
	fill_stat(found, stat);
	return leave(self, 0);
}

static int bytes_fd(const char *bytes, size_t size)
{
	int fd = memfd_create("memory-store-part", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (size && write(fd, bytes, size) != (ssize_t)size) {
		close(fd);
		return -EIO;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The bytes in a new read-only descriptor, as open_part promises: a memfd
 * written, then opened again read-only through /proc. */
static int read_only_fd(const char *bytes, size_t size)
{
	char path[64];
	int fd = bytes_fd(bytes, size);
	if (fd < 0)
		return fd;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int read_only = open(path, O_RDONLY | O_CLOEXEC);
	int error = errno;
	close(fd);
	return read_only < 0 ? -error : read_only;
}

static int memory_open_part(struct crash_store *store, struct crash_call *call,
			    const char *crash_id,
			    const struct crash_part *part,
			    struct crash_part_stat *stat, int *fd_out)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_OPEN_PART);
	if (result < 0)
		return result;
	struct memory_part *found = lookup(self, crash_id, part);
	if (!found)
		return leave(self, not_here(call, crash_id));
	int fd = read_only_fd(found->bytes, found->size);
	if (fd < 0)
		return leave(self, crash_error_set(&call->error, fd,
						   "a descriptor for the part "
						   "of %s: %s",
						   crash_id, strerror(-fd)));
	fill_stat(found, stat);
	*fd_out = fd;
	return leave(self, 0);
}

/* The parts of a crash, copied so that they are emitted unlocked. */
struct part_copy {
	struct crash_part part;
	char dump_name[CRASH_DUMP_NAME_MAX + 1];
	struct crash_part_stat stat;
};

static int memory_list_parts(struct crash_store *store,
			     struct crash_call *call, const char *crash_id,
			     crash_part_emit_fn emit, void *ctx)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_LIST_PARTS);
	if (result < 0)
		return result;
	struct memory_crash *crash = find_crash(self, crash_id);
	if (!crash)
		return leave(self, not_here(call, crash_id));
	size_t count = 0;
	for (struct memory_part *part = crash->parts; part; part = part->next)
		count++;
	struct part_copy *copies = calloc(count + 1, sizeof *copies);
	if (!copies)
		return leave(self, crash_error_set(&call->error, -ENOMEM,
						   "out of memory"));
	size_t index = 0;
	for (struct memory_part *part = crash->parts; part;
	     part = part->next, index++) {
		struct part_copy *copy = &copies[index];
		copy->part.type = part->type;
		if (part->dump_name) {
			snprintf(copy->dump_name, sizeof copy->dump_name, "%s",
				 part->dump_name);
			copy->part.dump_name = copy->dump_name;
		}
		fill_stat(part, &copy->stat);
	}
	leave(self, 0);
	for (index = 0; result == 0 && index < count; index++)
		result = emit(ctx, &copies[index].part, &copies[index].stat);
	free(copies);
	return result;
}

static int memory_open_days(struct crash_store *store, struct crash_call *call,
			    struct crash_listing **out)
{
	struct memory_store *self = memory_from(store);
	struct crash_name_array days = { 0 };
	int result = enter(self, call, STORE_OP_OPEN_DAYS);
	if (result < 0)
		return result;
	for (struct memory_crash *crash = self->crashes;
	     result == 0 && crash; crash = crash->next) {
		struct crash_id_info info;
		bool seen = false;
		if (crash_id_parse(crash->crash_id, &info) < 0)
			continue;
		for (size_t i = 0; i < days.count && !seen; i++)
			seen = strcmp(days.names[i], info.day_name) == 0;
		if (!seen)
			result = crash_name_array_add(&days, info.day_name);
	}
	leave(self, 0);
	if (result < 0) {
		crash_name_array_release(&days);
		return crash_error_set(&call->error, result, "out of memory");
	}
	return crash_listing_of_names(store, call, CRASH_LISTING_DAY, &days,
				      out);
}

static int compare_ids(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The backend-neutral listing: this store's only one (memory_store.h). */
static int memory_list_crashes(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix, const char *after,
			       struct crash_id_page *page)
{
	struct memory_store *self = memory_from(store);
	size_t prefix_length = strlen(prefix);
	int result = enter(self, call, STORE_OP_LIST_CRASHES);
	if (result < 0)
		return result;
	size_t count = 0;
	for (struct memory_crash *crash = self->crashes; crash;
	     crash = crash->next)
		count++;
	const char **ids = calloc(count + 1, sizeof *ids);
	if (!ids)
		return leave(self, crash_error_set(&call->error, -ENOMEM,
						   "out of memory"));
	size_t matching = 0;
	for (struct memory_crash *crash = self->crashes; crash;
	     crash = crash->next) {
		struct crash_id_info info;
		if (crash_id_parse(crash->crash_id, &info) == 0 &&
		    strcmp(info.day_name, day) == 0 &&
		    strncmp(crash->crash_id, prefix, prefix_length) == 0 &&
		    strcmp(crash->crash_id, after) > 0)
			ids[matching++] = crash->crash_id;
	}
	qsort(ids, matching, sizeof *ids, compare_ids);
	page->count = 0;
	for (size_t i = 0; i < matching && page->count < CRASH_ID_PAGE_MAX;
	     i++)
		memcpy(page->ids[page->count++], ids[i], CRASH_ID_LENGTH + 1);
	free(ids);
	return leave(self, 0);
}

static int memory_new_crashes(struct crash_store *store,
			      struct crash_call *call, crash_queue_emit_fn emit,
			      void *ctx)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_NEW_CRASHES);
	if (result < 0)
		return result;
	size_t count = 0;
	for (struct queued *queued = self->queue; queued;
	     queued = queued->next)
		count++;
	struct crash_queue_entry *entries = calloc(count + 1, sizeof *entries);
	if (!entries)
		return leave(self, crash_error_set(&call->error, -ENOMEM,
						   "out of memory"));
	size_t index = 0;
	for (struct queued *queued = self->queue; queued;
	     queued = queued->next, index++) {
		memcpy(entries[index].crash_id, queued->crash_id,
		       CRASH_ID_LENGTH + 1);
		entries[index].token.issuer = store;
		entries[index].token.value[0] = queued->version;
	}
	leave(self, 0);
	for (index = 0; result == 0 && index < count; index++)
		result = emit(ctx, &entries[index]);
	free(entries);
	return result;
}

static int memory_ack_crash(struct crash_store *store, struct crash_call *call,
			    const struct crash_queue_entry *entry)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_ACK_CRASH);
	if (result < 0)
		return result;
	/* Another store's entry, even of a crash queued here: not ours to
	 * take (struct crash_queue_token). */
	if (entry->token.issuer != store)
		return leave(self, crash_error_set(&call->error, -ENOENT,
						   "crash %s: not an entry of "
						   "this store's queue",
						   entry->crash_id));
	for (struct queued **link = &self->queue; *link;
	     link = &(*link)->next) {
		struct queued *queued = *link;
		if (strcmp(queued->crash_id, entry->crash_id) != 0)
			continue;
		/* Saved again since the pass: that version stays queued. */
		if (entry->token.value[0] != queued->version)
			return leave(self, 0);
		*link = queued->next;
		free(queued);
		return leave(self, 0);
	}
	return leave(self, crash_error_set(&call->error, -ENOENT,
					   "crash %s is not queued",
					   entry->crash_id));
}

static void memory_reconnect(struct crash_store *store)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	self->reconnects++;
	pthread_mutex_unlock(&self->lock);
}

static void memory_describe(struct crash_store *store, json_t *stats)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	json_object_set_new(stats, "bytes", json_integer((json_int_t)self->bytes));
	json_object_set_new(stats, "max_bytes",
			    json_integer((json_int_t)self->max_bytes));
	pthread_mutex_unlock(&self->lock);
}

const struct crash_store_ops memory_store_ops = {
	.type_name = "memory",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = memory_close,
	.save_raw_crash = memory_save_raw_crash,
	.save_dump = memory_save_dump,
	.save_processed = memory_save_processed,
	.remove = memory_remove,
	.remove_part = memory_remove_part,
	.set_part_mtime = memory_set_part_mtime,
	.stat_crash = memory_stat_crash,
	.stat_part = memory_stat_part,
	.open_part = memory_open_part,
	.list_parts = memory_list_parts,
	.open_days = memory_open_days,
	.list_crashes = memory_list_crashes,
	.new_crashes = memory_new_crashes,
	.ack_crash = memory_ack_crash,
	.reconnect = memory_reconnect,
	.describe = memory_describe,
};

struct crash_store *memory_store_new_bounded(const char *node_path,
					     uint64_t max_bytes)
{
	struct memory_store *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	if (crash_store_base_init(&self->base, &memory_store_ops,
				  node_path) < 0) {
		free(self);
		return NULL;
	}
	pthread_mutex_init(&self->lock, NULL);
	self->last_adoptable = -1;
	self->max_bytes = max_bytes ? max_bytes : MEMORY_STORE_DEFAULT_MAX_BYTES;
	return &self->base;
}

struct crash_store *memory_store_new(const char *node_path)
{
	return memory_store_new_bounded(node_path, 0);
}

int memory_store_open_json(const json_t *node, const char *node_path,
			   const struct crash_store_env *env,
			   struct crash_store **out, struct crash_error *error)
{
	static const char *const keys[] = { "max_bytes", NULL };
	int64_t max_bytes;
	(void)env;
	*out = NULL;
	int result = store_config_check_keys(node, node_path, keys, error);
	if (result == 0)
		result = store_config_int(node, node_path, "max_bytes",
					  (int64_t)MEMORY_STORE_DEFAULT_MAX_BYTES,
					  1, INT64_MAX, &max_bytes, error);
	if (result < 0)
		return result;
	*out = memory_store_new_bounded(node_path, (uint64_t)max_bytes);
	if (!*out)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	return 0;
}

void memory_store_fail(struct crash_store *store,
		       enum store_operation_kind kind, int count, int code,
		       bool operational)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	self->failures[kind] = (struct injected_failure){
		.remaining = count, .code = code, .operational = operational
	};
	pthread_mutex_unlock(&self->lock);
}

void memory_store_fail_all(struct crash_store *store, int count, int code,
			   bool operational)
{
	for (int kind = 0; kind < STORE_OP_COUNT; kind++)
		memory_store_fail(store, (enum store_operation_kind)kind, count,
				  code, operational);
}

void memory_store_heal(struct crash_store *store)
{
	memory_store_fail_all(store, 0, 0, false);
}

unsigned memory_store_calls(struct crash_store *store,
			    enum store_operation_kind kind)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	unsigned calls = self->calls[kind];
	pthread_mutex_unlock(&self->lock);
	return calls;
}

int memory_store_last_adoptable(struct crash_store *store)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	int adoptable = self->last_adoptable;
	pthread_mutex_unlock(&self->lock);
	return adoptable;
}

unsigned memory_store_reconnects(struct crash_store *store)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	unsigned reconnects = self->reconnects;
	pthread_mutex_unlock(&self->lock);
	return reconnects;
}

int memory_store_put(struct crash_store *store, const char *crash_id,
		     const struct crash_part *part, const char *bytes,
		     size_t size)
{
	struct memory_store *self = memory_from(store);
	char *copy = malloc(size + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, bytes, size);
	copy[size] = '\0';
	struct timespec mtime = { .tv_sec = 1413900000 };
	pthread_mutex_lock(&self->lock);
	int result = put_bytes(self, crash_id, part, copy, size, mtime);
	pthread_mutex_unlock(&self->lock);
	return result;
}

bool memory_store_has(struct crash_store *store, const char *crash_id,
		      const struct crash_part *part)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	bool has = lookup(self, crash_id, part) != NULL;
	pthread_mutex_unlock(&self->lock);
	return has;
}

char *memory_store_get(struct crash_store *store, const char *crash_id,
		       const struct crash_part *part)
{
	struct memory_store *self = memory_from(store);
	pthread_mutex_lock(&self->lock);
	struct memory_part *found = lookup(self, crash_id, part);
	char *copy = found ? strndup(found->bytes, found->size) : NULL;
	pthread_mutex_unlock(&self->lock);
	return copy;
}

size_t memory_store_crash_count(struct crash_store *store)
{
	struct memory_store *self = memory_from(store);
	size_t count = 0;
	pthread_mutex_lock(&self->lock);
	for (struct memory_crash *crash = self->crashes; crash;
	     crash = crash->next)
		count++;
	pthread_mutex_unlock(&self->lock);
	return count;
}

int memory_blob(struct crash_blob *blob, const char *text, const json_t *json)
{
	memset(blob, 0, sizeof *blob);
	int fd = bytes_fd(text, strlen(text));
	if (fd < 0)
		return fd;
	blob->fd = fd;
	blob->size = (off_t)strlen(text);
	blob->mtime.tv_sec = 1413900000;
	blob->json = json;
	return 0;
}
