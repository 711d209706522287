/*
 * memory_store.c - crashes in linked lists, for tests.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"
#include "tests/unit/containers/memory_store.h"

struct memory_part {
	struct memory_part *next;
	enum crash_part_type type;
	char *dump_name; /* NULL: main dump */
	char *bytes;
	size_t size;
	struct timespec mtime;
};

struct memory_crash {
	struct memory_crash *next;
	char crash_id[CRASH_ID_LENGTH + 1];
	struct memory_part *parts;
};

struct queued {
	struct queued *next;
	char crash_id[CRASH_ID_LENGTH + 1];
};

struct injected_failure {
	int remaining; /* -1: forever */
	int code;
	bool operational;
};

struct memory_store {
	struct crash_store base;
	pthread_mutex_t lock; /* for the helpers; the wrapper serialises */
	struct memory_crash *crashes;
	struct queued *queue;
	unsigned calls[STORE_OP_COUNT];
	unsigned reconnects;
	int last_adoptable;
	struct injected_failure failures[STORE_OP_COUNT];
};

extern const struct crash_store_ops memory_store_ops;

static atomic_uint closed_count;

unsigned memory_store_closed_count(void)
{
	return atomic_load(&closed_count);
}

static struct memory_store *memory_from(struct crash_store *store)
{
	return crash_store_downcast(store, &memory_store_ops);
}

static void free_part(struct memory_part *part)
{
	free(part->dump_name);
	free(part->bytes);
	free(part);
}

static void free_crash(struct memory_crash *crash)
{
	while (crash->parts) {
		struct memory_part *next = crash->parts->next;
		free_part(crash->parts);
		crash->parts = next;
	}
	free(crash);
}

static void memory_close(struct crash_store *store)
{
	struct memory_store *self = memory_from(store);
	while (self->crashes) {
		struct memory_crash *next = self->crashes->next;
		free_crash(self->crashes);
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

/* Counts the call and returns an injected failure, or 0. */
static int enter(struct memory_store *self, struct crash_call *call,
		 enum store_operation_kind kind)
{
	struct injected_failure *failure = &self->failures[kind];
	self->calls[kind]++;
	if (failure->remaining == 0)
		return 0;
	if (failure->remaining > 0)
		failure->remaining--;
	if (failure->operational)
		return crash_error_set_operational(&call->error, failure->code,
						   "injected %s failure",
						   store_operation_name(kind));
	return crash_error_set(&call->error, failure->code,
			       "injected %s failure",
			       store_operation_name(kind));
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

static struct memory_part **find_part(struct memory_crash *crash,
				      const struct crash_part *part)
{
	struct memory_part **link = &crash->parts;
	for (; *link; link = &(*link)->next) {
		struct crash_part stored = { .type = (*link)->type,
					     .dump_name = (*link)->dump_name };
		if (crash_part_equal(&stored, part))
			return link;
	}
	return link;
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

static int put_bytes(struct memory_store *self, const char *crash_id,
		     const struct crash_part *part, char *bytes, size_t size,
		     struct timespec mtime)
{
	struct memory_crash *crash = get_crash(self, crash_id);
	if (!crash) {
		free(bytes);
		return -ENOMEM;
	}
	struct memory_part **link = find_part(crash, part);
	if (!*link) {
		*link = calloc(1, sizeof **link);
		if (!*link) {
			free(bytes);
			return -ENOMEM;
		}
		(*link)->type = part->type;
		(*link)->dump_name = part->dump_name ? strdup(part->dump_name)
						     : NULL;
	}
	free((*link)->bytes);
	(*link)->bytes = bytes;
	(*link)->size = size;
	(*link)->mtime = mtime;
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
	int result = read_blob(blob, &bytes);
	if (result == 0)
		result = put_bytes(self, crash_id, part, bytes,
				   (size_t)blob->size, blob->mtime);
	if (result < 0)
		return crash_error_set(&call->error, result,
				       "cannot keep part of %s", crash_id);
	return 0;
}

static void enqueue(struct memory_store *self, const char *crash_id)
{
	struct queued **link = &self->queue;
	for (; *link; link = &(*link)->next)
		if (strcmp((*link)->crash_id, crash_id) == 0)
			return;
	*link = calloc(1, sizeof **link);
	if (*link)
		snprintf((*link)->crash_id, sizeof (*link)->crash_id, "%s",
			 crash_id);
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
	return result;
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
	return save_blob(self, call, crash_id, &part, &dump->blob);
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
	return save_blob(self, call, crash_id, &part, processed);
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
			free_crash(crash);
			return 0;
		}
	}
	return not_here(call, crash_id);
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
			free_crash(crash);
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
		return not_here(call, crash_id);
	struct memory_part *found = *link;
	*link = found->next;
	free_part(found);
	drop_if_empty(self, crash);
	return 0;
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
		return not_here(call, crash_id);
	found->mtime = *mtime;
	return 0;
}

static int memory_stat_crash(struct crash_store *store,
			     struct crash_call *call, const char *crash_id)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_STAT_CRASH);
	if (result < 0)
		return result;
	return find_crash(self, crash_id) ? 0 : not_here(call, crash_id);
}

static void fill_stat(const struct memory_part *part,
		      struct crash_part_stat *stat)
{
	if (!stat)
		return;
	stat->size = (off_t)part->size;
	stat->mtime = part->mtime;
	stat->mode = 0644;
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
		return not_here(call, crash_id);
	fill_stat(found, stat);
	return 0;
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
		return not_here(call, crash_id);
	int fd = bytes_fd(found->bytes, found->size);
	if (fd < 0)
		return crash_error_set(&call->error, fd, "memfd failed");
	fill_stat(found, stat);
	*fd_out = fd;
	return 0;
}

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
		return not_here(call, crash_id);
	for (struct memory_part *part = crash->parts; part; part = part->next) {
		struct crash_part emitted = { .type = part->type,
					      .dump_name = part->dump_name };
		struct crash_part_stat stat;
		fill_stat(part, &stat);
		result = emit(ctx, &emitted, &stat);
		if (result != 0)
			return result;
	}
	return 0;
}

static int memory_list_days(struct crash_store *store,
			    struct crash_call *call, crash_name_emit_fn emit,
			    void *ctx)
{
	struct memory_store *self = memory_from(store);
	char days[256][CRASH_DAY_LENGTH + 1];
	size_t day_count = 0;
	int result = enter(self, call, STORE_OP_LIST_DAYS);
	if (result < 0)
		return result;
	for (struct memory_crash *crash = self->crashes; crash;
	     crash = crash->next) {
		struct crash_id_info info;
		bool seen = false;
		if (crash_id_parse(crash->crash_id, &info) < 0)
			continue;
		for (size_t i = 0; i < day_count; i++)
			seen |= strcmp(days[i], info.day_name) == 0;
		if (seen || day_count == 256)
			continue;
		memcpy(days[day_count++], info.day_name, sizeof days[0]);
		result = emit(ctx, info.day_name);
		if (result != 0)
			return result;
	}
	return 0;
}

/* The radix components of a crash joined without slashes. */
static bool radix_string(const char *crash_id, char *out, size_t out_size)
{
	char path[64];
	if (crash_id_radix_path(crash_id, path, sizeof path) < 0)
		return false;
	size_t used = 0;
	for (const char *c = path; *c && used + 1 < out_size; c++)
		if (*c != '/')
			out[used++] = *c;
	out[used] = '\0';
	return true;
}

static int memory_list_radix(struct crash_store *store,
			     struct crash_call *call, const char *day,
			     const char *prefix, crash_radix_emit_fn emit,
			     void *ctx)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_LIST_RADIX);
	if (result < 0)
		return result;
	size_t prefix_length = strlen(prefix);
	char emitted[256][3];
	size_t emitted_count = 0;
	bool found = false;
	for (struct memory_crash *crash = self->crashes; crash;
	     crash = crash->next) {
		struct crash_id_info info;
		char radix[64];
		if (crash_id_parse(crash->crash_id, &info) < 0 ||
		    strcmp(info.day_name, day) != 0 ||
		    !radix_string(crash->crash_id, radix, sizeof radix) ||
		    strncmp(radix, prefix, prefix_length) != 0)
			continue;
		found = true;
		if (strlen(radix) == prefix_length) {
			result = emit(ctx, CRASH_LISTING_CRASH, crash->crash_id);
		} else {
			char component[3] = { radix[prefix_length],
					      radix[prefix_length + 1], 0 };
			bool seen = false;
			for (size_t i = 0; i < emitted_count; i++)
				seen |= strcmp(emitted[i], component) == 0;
			if (seen)
				continue;
			memcpy(emitted[emitted_count++], component, 3);
			result = emit(ctx, CRASH_LISTING_RADIX_DIR, component);
		}
		if (result != 0)
			return result;
	}
	if (!found)
		return crash_error_set(&call->error, -ENOENT,
				       "%s/%s is not here", day, prefix);
	return 0;
}

static int memory_new_crashes(struct crash_store *store,
			      struct crash_call *call, crash_name_emit_fn emit,
			      void *ctx)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_NEW_CRASHES);
	if (result < 0)
		return result;
	while (self->queue) {
		result = emit(ctx, self->queue->crash_id);
		if (result != 0)
			return result;
		struct queued *next = self->queue->next;
		free(self->queue);
		self->queue = next;
	}
	return 0;
}

static int memory_ack_crash(struct crash_store *store, struct crash_call *call,
			    const char *crash_id)
{
	struct memory_store *self = memory_from(store);
	int result = enter(self, call, STORE_OP_ACK_CRASH);
	if (result < 0)
		return result;
	return find_crash(self, crash_id) ? 0 : not_here(call, crash_id);
}

static void memory_reconnect(struct crash_store *store)
{
	memory_from(store)->reconnects++;
}

const struct crash_store_ops memory_store_ops = {
	.type_name = "memory",
	.thread_model = CRASH_STORE_SERIAL,
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
	.list_days = memory_list_days,
	.list_radix = memory_list_radix,
	.new_crashes = memory_new_crashes,
	.ack_crash = memory_ack_crash,
	.reconnect = memory_reconnect,
};

struct crash_store *memory_store_new(const char *node_path)
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
	return &self->base;
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
	return memory_from(store)->calls[kind];
}

int memory_store_last_adoptable(struct crash_store *store)
{
	return memory_from(store)->last_adoptable;
}

unsigned memory_store_reconnects(struct crash_store *store)
{
	return memory_from(store)->reconnects;
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
