/*
 * hbase_store.h - crashes in HBase, as Socorro's HBaseCrashStorage keeps
 * them (spec/backends.md part A), through HBase's Thrift (v1) server:
 *
 *   {"type": "hbase", "host": "localhost", "port": 9090,
 *    "timeout_ms": 5000, "max_cell_size": 10485760, "chunked": false,
 *    "days": 0, "scan_batch": 256, "max_connections": 16,
 *    "new_crash_limit": 1000000, "metrics": true,
 *    "table_prefix": "", "compression": "schema", "state_cache_ms": 1000}
 *
 *   host, port, timeout_ms  the Thrift server (Socorro's hbase_host,
 *                      hbase_port, hbase_timeout); timeout_ms bounds each
 *                      wait on the socket, the request's deadline bounds
 *                      the whole call
 *   max_cell_size      the largest cell written (HBase's
 *                      hbase.client.keyvalue.maxsize, 10 MB); a larger
 *                      part fails with EFBIG naming the limit...
 *   chunked            ...unless true: a larger dump is then kept in
 *                      numbered cells of max_cell_size bytes, reassembled
 *                      on read (Socorro cannot read such a dump)
 *   days               0: the days of the view are those holding crashes
 *                      (a seek per day and salt over crash_reports' keys,
 *                      never a scan of its rows); N: only the N days up
 *                      to today (UTC)
 *   scan_batch         rows per scannerGetList
 *   max_connections    connections to the server at most (one per
 *                      thread that uses the store)
 *   new_crash_limit    entries of one new_crashes pass at most (Socorro's)
 *   metrics            keep Socorro's metrics counters (A.5, A.6, A.8)
 *   table_prefix       before every table name (tests; "" for Socorro)
 *   state_cache_ms     how long a crash's state (its parts, sizes,
 *                      versions), once read, answers the stats and opens
 *                      that follow (hbase_state_cache.h); 0: never
 *   compression        "schema": the families' compression of
 *                      analysis/hbase_schema (LZO mostly) at
 *                      --setup-store; or one codec for all ("NONE",
 *                      "SNAPPY", "GZ", ...), for a cluster without LZO
 *
 * What it keeps: hbase_schema.h.  How it answers the interface:
 *
 *   - save_raw_crash, save_dump, save_processed write Socorro's columns,
 *     index rows and metrics counters (A.5, A.6) and crashfs's own
 *     columns (each part's size, mtime and version, the exact .jsonz), so
 *     a stat or a listing reads one small row and never a part's bytes.
 *     A crash written by Socorro (no such columns) is served too: sizes
 *     and mtimes come from its cells (HBase's KeyOnlyFilter gives the
 *     lengths without the bytes), and its .jsonz is made from
 *     processed_data:json (gzip, deterministic) when first asked for, and
 *     kept in the read cache.
 *   - open_part serves bytes through the read cache (keyed by the part's
 *     version): one fetch per version.
 *   - list_crashes is a prefix scan of one salt and day (or of the 16
 *     salts of a day in order), in batches of scan_batch; every scanner is
 *     closed, on errors too, as long as the connection works (HBase
 *     expires the scanner of a dead connection).
 *   - new_crashes yields the legacy-unprocessed index (A.8), oldest
 *     submission first; ack_crash deletes the entry's index row and
 *     decrements current_legacy_unprocessed_size.  A pass takes nothing;
 *     a crash saved again after a pass stays queued when the old entry is
 *     acknowledged; an entry another store yielded is refused (EINVAL).
 *   - remove deletes the crash's row and its index rows (Socorro had no
 *     remove).
 *   - setup (crashfs --setup-store) creates the missing tables of A.2.
 *
 * Socorro's bugs, done right here: counters are counted once per crash
 * and submission, not again on a retry or a re-save (at most once: a
 * failure between the marker and the increments loses those increments
 * rather than doubling them); current_unprocessed_size is counted for every
 * crash, not only for those of another process type; a crash re-saved with
 * another submission time leaves no stale index rows; a processed crash
 * whose raw crash is absent is stored (Socorro raised CrashIDNotFound); a
 * raw crash without submitted_timestamp is stored under its id's day at
 * midnight UTC (Socorro raised KeyError), so saving it again keys the same
 * index rows; a timestamp shorter than six characters is a key, not an
 * IndexError.
 *
 * Threads: CRASH_STORE_PARALLEL: each thread works on a connection of its
 * own (connection_pool.h); the store's counters are atomic and its state
 * cache has a lock of its own.
 */
#ifndef CRASHFS_STORAGE_HBASE_HBASE_STORE_H
#define CRASHFS_STORAGE_HBASE_HBASE_STORE_H

#include <jansson.h>

#include "storage/crash_store.h"
#include "storage/store_registry.h"

extern const struct crash_store_ops hbase_store_ops;

/* The "hbase" type of the registry.  Reaches no server: connections are
 * made by the first call that needs one (and with env->validate_only the
 * configuration is only checked). */
int hbase_store_open_json(const json_t *node, const char *node_path,
			  const struct crash_store_env *env,
			  struct crash_store **out, struct crash_error *error);

#endif
