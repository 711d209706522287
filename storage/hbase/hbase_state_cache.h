/*
 * hbase_state_cache.h - the state of crashes read lately, reused for a
 * short while by the reads that follow (state_cache_ms, 1000 by default).
 *
 * Reading a file through the mount asks the store for the same crash's
 * state several times within a millisecond or two: the kernel's lookup of
 * the crash and of the part (stat_crash, stat_part), then open_part, for
 * each file.  Each is a request to HBase; the answers are the same.  This
 * cache keeps each crash's state for state_cache_ms, so a file costs the
 * fetch of its bytes and little else.  It is bounded (a fixed table, a
 * newer entry replacing an older one in its slot) and only the read
 * slots use it; a write reads HBase itself.
 *
 * Staleness: what another client writes to HBase is seen at most
 * state_cache_ms later (the kernel's own attribute cache of the mount
 * already keeps a part's size for cache_timeout seconds).  What this store
 * writes is seen at once: every write forgets the crash's entry before and
 * after it writes, and a read that began before a write ended never stores
 * what it read (the cache counts writes; a read stores only if none ended
 * since it began).  A fill that finds the bytes changed under the version
 * it was given forgets the entry too, so the retry reads HBase.
 *
 * Threads: any; one mutex, held only to copy an entry in or out.
 */
#ifndef CRASHFS_STORAGE_HBASE_HBASE_STATE_CACHE_H
#define CRASHFS_STORAGE_HBASE_HBASE_STATE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

struct hbase_crash_state;
struct hbase_state_cache;

/* NULL when ttl_ms is 0 (no cache) or out of memory; the functions below
 * accept NULL and then cache nothing. */
struct hbase_state_cache *hbase_state_cache_new(long ttl_ms);
void hbase_state_cache_free(struct hbase_state_cache *cache);

/* A copy of crash_id's state when one younger than the TTL is kept. */
bool hbase_state_cache_get(struct hbase_state_cache *cache,
			   const char *crash_id,
			   struct hbase_crash_state *state);
/* What a read must pass to put: taken before it reads HBase. */
uint64_t hbase_state_cache_begin(struct hbase_state_cache *cache);
/* Keeps a copy of state, unless a write ended since begin. */
void hbase_state_cache_put(struct hbase_state_cache *cache,
			   const char *crash_id,
			   const struct hbase_crash_state *state,
			   uint64_t begun);
/* A write of crash_id starts or ended (or its bytes were found changed):
 * its entry goes. */
void hbase_state_cache_forget(struct hbase_state_cache *cache,
			      const char *crash_id);

#endif
