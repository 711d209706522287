/*
 * store_test_util.h - what the store, container and executor tests share:
 * crash ids,
 * saving a raw crash from text, reading a part back, collecting listings,
 * and opening store trees from JSON text.
 *
 * Single-threaded helpers.
 */
#ifndef CRASHFS_TESTS_UNIT_STORE_TEST_UTIL_H
#define CRASHFS_TESTS_UNIT_STORE_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/crash_listing.h"
#include "storage/crash_store.h"
#include "storage/store_registry.h"

/* Two days, depth 4 (digit 0 means 4 levels). */
#define ID_A "936ce666-ff3b-4c7a-9674-367fe0120408"
#define ID_B "0bba929f-8721-460c-dead-a43c20120408"
#define ID_C "e8820616-1462-49b6-9784-e99a30120201"

extern const struct crash_part RAW_PART;
extern const struct crash_part DUMP_PART;      /* the main dump */
extern const struct crash_part PROCESSED_PART;

/* Saves text as the raw crash (json parsed and passed unless
 * without_json); returns the store's result. */
int test_save_raw(struct crash_store *store, struct crash_call *call,
		  const char *crash_id, const char *text, bool without_json);
/* Saves text as the raw crash with dump_text as its main dump, in one
 * save_raw_crash. */
int test_save_raw_with_dump(struct crash_store *store, struct crash_call *call,
			    const char *crash_id, const char *text,
			    const char *dump_text);
/* Saves text as the main dump (dump_name NULL) or a named dump. */
int test_save_dump(struct crash_store *store, struct crash_call *call,
		   const char *crash_id, const char *dump_name,
		   const char *text);
/* Saves text as the processed crash; json is parsed from text and passed
 * unless without_json (the bytes are not gzip: stores here do not care). */
int test_save_processed(struct crash_store *store, struct crash_call *call,
			const char *crash_id, const char *text,
			bool without_json);

/* Reads a part through open_part; malloc'd NUL-terminated text, or NULL
 * (then *result holds the error). */
char *test_read_part(struct crash_store *store, struct crash_call *call,
		     const char *crash_id, const struct crash_part *part,
		     int *result);

/* Collected listing entries, joined by spaces in emission order:
 * days "20120408 20120201", radix "d:93 c:<id>", parts "raw dump
 * dump:name processed" (with "@size" appended). */
struct collected {
	char text[4096];
	int count;
	int stop_after; /* >0: the emitter returns 7 after that many */
};
int test_collect_part(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *stat);
/* Drains a listing of days (days "20120408 ...") or of a radix directory
 * ("d:93 c:<id>") into collected; the listing's result (open or next),
 * or 7 when stop_after stopped it. */
int test_list_days(struct crash_store *store, struct crash_call *call,
		   struct collected *collected);
int test_list_radix(struct crash_store *store, struct crash_call *call,
		    const char *day, const char *prefix,
		    struct collected *collected);
/* new_crashes' callback: collects the crash ids (and stops as above). */
int test_collect_queue(void *ctx, const struct crash_queue_entry *entry);
/* One pass of new_crashes that acknowledges every crash it yields (what
 * Socorro's consumer does); the ids go to collected. */
int test_consume_new_crashes(struct crash_store *store,
			     struct crash_call *call,
			     struct collected *collected);
/* Acknowledges crash_id: finds its entry with a pass of new_crashes and
 * acks it; -ENOENT if no pass yields it. */
int test_ack(struct crash_store *store, struct crash_call *call,
	     const char *crash_id);

/* Opens a store tree from JSON text with store_registry_open at
 * "store"; error is filled on failure. */
int test_open_text(const char *text, const struct crash_store_env *env,
		   struct crash_store **store, struct crash_error *error);
/* The same through store_registry_open_file (text written to a temporary
 * file). */
int test_open_file_text(const char *text, const struct crash_store_env *env,
			struct crash_store **store,
			struct crash_error *error);

/* True if haystack contains needle; prints both when not. */
bool test_contains(const char *haystack, const char *needle);

/* Runs fn(arg) with stderr (the log) going to a file; returns what was
 * written, malloc'd, or NULL.  The log level is INFO meanwhile. */
char *test_capture_log(void (*fn)(void *arg), void *arg);
/* Occurrences of needle in text. */
int test_count(const char *text, const char *needle);

/* Seconds on the monotonic clock. */
double test_now(void);

#endif
