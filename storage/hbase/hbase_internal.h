/*
 * hbase_internal.h - what the files of the HBase store share.  Not for
 * use outside storage/hbase.
 *
 * Every operation leases the calling thread's connection once
 * (hbase_lease_get), makes its requests and gives it back
 * (hbase_lease_put, which drops a connection that failed) before it calls
 * anyone back or returns: no connection is held between two calls of a
 * listing, during a callback or while the read cache fills a part (a fill
 * leases one of its own).
 */
#ifndef CRASHFS_STORAGE_HBASE_HBASE_INTERNAL_H
#define CRASHFS_STORAGE_HBASE_HBASE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage/crash_part.h"
#include "storage/crash_store.h"
#include "storage/executor/connection_pool.h"
#include "storage/hbase/hbase_client.h"
#include "storage/hbase/hbase_schema.h"
#include "storage/hbase/hbase_store.h"

struct read_cache;
struct hbase_state_cache;

#define HBASE_DEFAULT_PORT 9090
#define HBASE_DEFAULT_TIMEOUT_MS 5000
#define HBASE_DEFAULT_MAX_CELL_SIZE (10 * 1024 * 1024)
/* Replies may hold one cell of max_cell_size and the rest of a row. */
#define HBASE_REPLY_SLACK (16 * 1024 * 1024)
#define HBASE_MAX_CELL_SIZE_LIMIT (256 * 1024 * 1024)
#define HBASE_DEFAULT_SCAN_BATCH 256
#define HBASE_DEFAULT_MAX_CONNECTIONS 16
#define HBASE_DEFAULT_NEW_CRASH_LIMIT 1000000
#define HBASE_DEFAULT_STATE_CACHE_MS 1000

struct hbase_options {
	char *host;
	int port;
	long timeout_ms;
	int64_t max_cell_size;
	bool chunked;
	int days;
	int scan_batch;
	int max_connections;
	int64_t new_crash_limit;
	bool metrics;
	char *table_prefix;
	char *compression; /* NULL: the schema's */
	long state_cache_ms;
};

struct hbase_store {
	struct crash_store base;
	struct hbase_options options;
	char *tables[HBASE_TABLE_COUNT]; /* with the prefix */
	struct hbase_endpoint endpoint;
	struct connection_pool *pool;
	struct read_cache *read_cache; /* NULL: fetch on every open */
	char *spool_dir;               /* unlinked files when no cache */
	struct hbase_state_cache *states; /* NULL: state_cache_ms 0 */
	bool validate_only;
	/* CLOCK_MONOTONIC milliseconds of the last delete's reply: a put
	 * waits until a later millisecond (hbase_delete_fence). */
	atomic_int_fast64_t last_delete_ms;
	atomic_uint_fast64_t requests, reconnects, probes, derived_fills;
};

struct hbase_store *hbase_store_from(struct crash_store *store);
const char *hbase_table(const struct hbase_store *self,
			enum hbase_table_id table);

/* The calling thread's connection: 0 and *client, or an error. */
int hbase_lease_get(struct hbase_store *self, struct crash_call *call,
		    struct hbase_client **client);
/* Gives it back; a client whose call failed is dropped (rebuilt on the
 * next get). */
void hbase_lease_put(struct hbase_store *self, struct hbase_client *client);

/*
 * HBase masks a put by a delete of the same cell in the same millisecond
 * (the stand-in always, HBase usually), so a crash removed and saved
 * again at once would come back without its new cells.  Deletes record
 * when their reply came (hbase_delete_done); every write first waits,
 * if need be, until the server's clock has passed that millisecond
 * (hbase_delete_fence, at most 2 ms).
 */
void hbase_delete_done(struct hbase_store *self);
void hbase_delete_fence(struct hbase_store *self);

/* A write of crash_id starts or ended: the state cache forgets it
 * (hbase_state_cache.h). */
void hbase_forget_state(struct hbase_store *self, const char *crash_id);

/* -- a crash's row as crashfs reads it (hbase_state.c) ------------------ */

enum hbase_part_source {
	HBASE_SOURCE_META = 1, /* crashfs's record: size, mtime, version */
	HBASE_SOURCE_CELL,     /* a cell Socorro wrote: its length and time */
	HBASE_SOURCE_PROCESSED_JSON, /* a .jsonz made from processed_data:json */
};

struct hbase_part_info {
	struct crash_part part;
	char dump_name[CRASH_DUMP_NAME_MAX + 1];
	enum hbase_part_source source;
	struct hbase_part_meta meta; /* META: as recorded */
	int64_t cell_timestamp;      /* CELL, PROCESSED_JSON: its cell's */
	int64_t cell_length;         /* CELL: its length */
	bool has_meta;               /* a record exists (maybe stale) */
};

struct hbase_crash_state {
	bool found;            /* the row has any cell */
	char *submitted;       /* timestamps:submitted, or NULL */
	int64_t submitted_time;
	bool has_processed_time;
	int64_t processed_time;
	char processed_flag;   /* flags:processed: 'N', 'Y' or 0 */
	char *counted;         /* timestamps:crashfs.counted, or NULL */
	int64_t newest_time;   /* the newest cell of what was read */
	bool probed;           /* the cells were asked for their lengths */
	struct hbase_part_info *parts;
	size_t part_count;
};

/* Reads the crash's row (timestamps family and flags:processed) and
 * resolves its parts; probes the cells' lengths only when a part has no
 * current record (a crash Socorro wrote).  found false for no row. */
int hbase_state_read(struct hbase_store *self, struct hbase_client *client,
		     struct crash_call *call, const char *crash_id,
		     struct hbase_crash_state *state);
void hbase_state_release(struct hbase_crash_state *state);
struct hbase_part_info *hbase_state_find(struct hbase_crash_state *state,
					 const struct crash_part *part);
/* The cells of the row's raw crash and dumps with their lengths (values
 * replaced by HBase's KeyOnlyFilter(true)), into *row. */
int hbase_probe_lengths(struct hbase_store *self, struct hbase_client *client,
			struct crash_call *call, const char *row_key,
			struct hbase_row *row, bool *found);
/* The length a probed cell stands for (a 4-byte big-endian value). */
int64_t hbase_probed_length(const struct hbase_cell *cell);

/* -- reads (hbase_read.c) ------------------------------------------------ */

/* The stat of a part (a .jsonz made from Socorro's JSON is made, through
 * the read cache, to know its size).  No lease held. */
int hbase_part_stat(struct hbase_store *self, struct crash_call *call,
		    const char *crash_id, const struct hbase_part_info *info,
		    struct crash_part_stat *stat);
/* Forgets what the read cache keeps of a part. */
void hbase_cache_drop(struct hbase_store *self, const char *crash_id,
		      const struct crash_part *part);

/* -- writes, index rows and counters ------------------------------------ */

/* A.5 steps 4-6 and A.6 steps 5 and 8 (hbase_index.c). */
struct hbase_submission {
	const char *crash_id;
	const char *timestamp;  /* timestamps:submitted */
	bool legacy;            /* legacy_processing == 0: the queue */
	bool legacy_known;      /* legacy_processing is a number */
	long long legacy_value;
	const char *process_type; /* "default" unless ProcessType */
	const char *hang_id;      /* NULL: not a hang */
};
int hbase_index_submission(struct hbase_store *self,
			   struct hbase_client *client,
			   struct crash_call *call,
			   const struct hbase_submission *submission,
			   const struct hbase_crash_state *before);
/* Deletes the index rows keyed by a crash's submission time: its queue
 * entry (current_legacy_unprocessed_size goes down if it was there), its
 * unprocessed entry (current_unprocessed_size goes down if it was there
 * and unprocessed says the crash leaves that state: a removal, not a move
 * to a new submission time) and the submitted-time rows. */
int hbase_index_forget_submission(struct hbase_store *self,
				  struct hbase_client *client,
				  struct crash_call *call,
				  const char *crash_id, const char *timestamp,
				  bool unprocessed);
int hbase_index_processed(struct hbase_store *self,
			  struct hbase_client *client, struct crash_call *call,
			  const char *crash_id, const char *signature);
int hbase_index_remove_crash(struct hbase_store *self,
			     struct hbase_client *client,
			     struct crash_call *call, const char *crash_id,
			     const struct hbase_crash_state *state);
/* Adds delta to metrics/crash_report_queue column (if metrics are on). */
int hbase_queue_gauge(struct hbase_store *self, struct hbase_client *client,
		      struct crash_call *call, const char *column,
		      int64_t delta);
/* Whether a row exists in a table (any of its cells). */
int hbase_row_exists(struct hbase_store *self, struct hbase_client *client,
		     struct crash_call *call, enum hbase_table_id table,
		     const char *row_key, const char *column, bool *exists);

/* The meta column and record of a part being written (hbase_write.c). */
int hbase_write_meta_mutation(const struct crash_part *part,
			      const struct hbase_part_meta *meta,
			      char column[HBASE_COLUMN_MAX],
			      char value[HBASE_META_MAX],
			      struct hbase_mutation *mutation);
uint64_t hbase_new_version(void);
/* Records of the parts of a crash Socorro wrote that have none, as puts
 * (so that a record of the raw crash does not hide them).  Returns the
 * count added to mutations (room for state->part_count), -ENOMEM. */
int hbase_adopt_mutations(struct hbase_crash_state *state,
			  struct hbase_mutation *mutations,
			  char (*columns)[HBASE_COLUMN_MAX],
			  char (*values)[HBASE_META_MAX]);

/* Key for the read cache: "<node path>\n<crash id>\n<part>". */
int hbase_cache_key(const struct hbase_store *self, const char *crash_id,
		    const struct crash_part *part, char *out, size_t size);

/* -- the slots ----------------------------------------------------------- */

int hbase_save_raw_crash(struct crash_store *store, struct crash_call *call,
			 const char *crash_id,
			 const struct crash_blob *raw_crash,
			 const struct crash_dump *dumps, size_t dump_count);
int hbase_save_dump(struct crash_store *store, struct crash_call *call,
		    const char *crash_id, const struct crash_dump *dump);
int hbase_save_processed(struct crash_store *store, struct crash_call *call,
			 const char *crash_id,
			 const struct crash_blob *processed);
int hbase_set_part_mtime(struct crash_store *store, struct crash_call *call,
			 const char *crash_id, const struct crash_part *part,
			 const struct timespec *mtime);
int hbase_remove(struct crash_store *store, struct crash_call *call,
		 const char *crash_id);
int hbase_remove_part(struct crash_store *store, struct crash_call *call,
		      const char *crash_id, const struct crash_part *part);
int hbase_stat_crash(struct crash_store *store, struct crash_call *call,
		     const char *crash_id, struct crash_dir_stat *stat);
int hbase_stat_part(struct crash_store *store, struct crash_call *call,
		    const char *crash_id, const struct crash_part *part,
		    struct crash_part_stat *stat);
int hbase_open_part(struct crash_store *store, struct crash_call *call,
		    const char *crash_id, const struct crash_part *part,
		    struct crash_part_stat *stat, int *fd_out);
int hbase_list_parts(struct crash_store *store, struct crash_call *call,
		     const char *crash_id, crash_part_emit_fn emit, void *ctx);
int hbase_open_days(struct crash_store *store, struct crash_call *call,
		    struct crash_listing **out);
int hbase_list_crashes(struct crash_store *store, struct crash_call *call,
		       const char *day, const char *prefix, const char *after,
		       struct crash_id_page *page);
int hbase_stat_radix_dir(struct crash_store *store, struct crash_call *call,
			 const char *day, const char *prefix,
			 struct crash_dir_stat *stat);
int hbase_new_crashes(struct crash_store *store, struct crash_call *call,
		      crash_queue_emit_fn emit, void *ctx);
int hbase_ack_crash(struct crash_store *store, struct crash_call *call,
		    const struct crash_queue_entry *entry);
int hbase_setup(struct crash_store *store, struct crash_call *call,
		void (*report)(void *ctx, const char *created), void *ctx);

#endif
