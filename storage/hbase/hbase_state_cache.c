/*
 * hbase_state_cache.c - crashes' states kept for a short while (see
 * hbase_state_cache.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/hbase/hbase_internal.h"
#include "storage/hbase/hbase_state_cache.h"

#define SLOTS 512

struct slot {
	char crash_id[CRASH_ID_LENGTH + 1]; /* "": empty */
	int64_t stored_ns;
	struct hbase_crash_state state;
};

struct hbase_state_cache {
	pthread_mutex_t lock;
	int64_t ttl_ns;
	uint64_t writes; /* forgets so far */
	struct slot slots[SLOTS];
};

static int64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static struct slot *slot_of(struct hbase_state_cache *cache,
			    const char *crash_id)
{
	uint32_t hash = 2166136261u;
	for (const char *c = crash_id; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 16777619u;
	return &cache->slots[hash % SLOTS];
}

/* A deep copy; false if out of memory (out is then empty). */
static bool copy_state(const struct hbase_crash_state *from,
		       struct hbase_crash_state *out)
{
	*out = *from;
	out->submitted = from->submitted ? strdup(from->submitted) : NULL;
	out->counted = from->counted ? strdup(from->counted) : NULL;
	out->parts = NULL;
	if (from->part_count) {
		out->parts = malloc(from->part_count * sizeof *out->parts);
		if (out->parts) {
			memcpy(out->parts, from->parts,
			       from->part_count * sizeof *out->parts);
			for (size_t i = 0; i < out->part_count; i++)
				if (out->parts[i].part.dump_name)
					out->parts[i].part.dump_name =
						out->parts[i].dump_name;
		}
	}
	if ((from->submitted && !out->submitted) ||
	    (from->counted && !out->counted) ||
	    (from->part_count && !out->parts)) {
		hbase_state_release(out);
		return false;
	}
	return true;
}

static void clear_slot(struct slot *slot)
{
	if (slot->crash_id[0])
		hbase_state_release(&slot->state);
	slot->crash_id[0] = '\0';
}

struct hbase_state_cache *hbase_state_cache_new(long ttl_ms)
{
	if (ttl_ms <= 0)
		return NULL;
	struct hbase_state_cache *cache = calloc(1, sizeof *cache);
	if (!cache)
		return NULL;
	pthread_mutex_init(&cache->lock, NULL);
	cache->ttl_ns = (int64_t)ttl_ms * 1000000;
	return cache;
}

void hbase_state_cache_free(struct hbase_state_cache *cache)
{
	if (!cache)
		return;
	for (int i = 0; i < SLOTS; i++)
		clear_slot(&cache->slots[i]);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

bool hbase_state_cache_get(struct hbase_state_cache *cache,
			   const char *crash_id,
			   struct hbase_crash_state *state)
{
	if (!cache)
		return false;
	bool found = false;
	pthread_mutex_lock(&cache->lock);
	struct slot *slot = slot_of(cache, crash_id);
	if (strcmp(slot->crash_id, crash_id) == 0) {
		if (now_ns() - slot->stored_ns <= cache->ttl_ns)
			found = copy_state(&slot->state, state);
		else
			clear_slot(slot);
	}
	pthread_mutex_unlock(&cache->lock);
	return found;
}

uint64_t hbase_state_cache_begin(struct hbase_state_cache *cache)
{
	if (!cache)
		return 0;
	pthread_mutex_lock(&cache->lock);
	uint64_t writes = cache->writes;
	pthread_mutex_unlock(&cache->lock);
	return writes;
}

void hbase_state_cache_put(struct hbase_state_cache *cache,
			   const char *crash_id,
			   const struct hbase_crash_state *state,
			   uint64_t begun)
{
	if (!cache)
		return;
	struct hbase_crash_state copy;
	if (!copy_state(state, &copy))
		return;
	pthread_mutex_lock(&cache->lock);
	if (cache->writes == begun) {
		struct slot *slot = slot_of(cache, crash_id);
		clear_slot(slot);
		memcpy(slot->crash_id, crash_id, CRASH_ID_LENGTH + 1);
		slot->state = copy;
		slot->stored_ns = now_ns();
		memset(&copy, 0, sizeof copy);
	}
	pthread_mutex_unlock(&cache->lock);
	hbase_state_release(&copy);
}

void hbase_state_cache_forget(struct hbase_state_cache *cache,
			      const char *crash_id)
{
	if (!cache)
		return;
	pthread_mutex_lock(&cache->lock);
	cache->writes++;
	struct slot *slot = slot_of(cache, crash_id);
	if (strcmp(slot->crash_id, crash_id) == 0)
		clear_slot(slot);
	pthread_mutex_unlock(&cache->lock);
}
