/*
 * crash_listing.h - listings of a store as pull iterators.
 *
 * A listing is opened by a crash_store_open_* call, yields one entry per
 * crash_listing_next() and is closed with crash_listing_close(), in the
 * spirit of git's ref iterators: the caller sets the pace, so a readdir
 * can answer a kernel request, return, and take the next entries when the
 * kernel asks again, and nothing holds a whole directory.
 *
 * The rule every listing keeps: between two calls of next it holds no
 * store lock and no pooled connection (a listing over a server fetches a
 * page, gives the connection back, then hands out the page's entries), so
 * its caller may call any store meanwhile.  What it may hold is its own
 * state: an open directory stream, a page of ids, a cursor.
 *
 * An implementation embeds struct crash_listing first and fills it with
 * crash_listing_init; next returns 1 with *entry filled, 0 at the end, or
 * a negative errno with call->error set (the listing is then only good for
 * close).
 *
 * The helpers below make the listings most stores need: one over an array
 * of names a store collected, and the radix directory derived from
 * list_crashes (the backend-neutral listing every store can answer).
 *
 * Threads: a listing belongs to one caller at a time (a FUSE directory
 * handle may be used by successive requests on different threads, never
 * two at once).
 */
#ifndef CRASHFS_STORAGE_CRASH_LISTING_H
#define CRASHFS_STORAGE_CRASH_LISTING_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"
#include "storage/crash_store.h"

enum crash_listing_kind {
	CRASH_LISTING_DAY = 1,   /* name: YYYYMMDD */
	CRASH_LISTING_RADIX_DIR, /* name: a radix component, e.g. "6c" */
	CRASH_LISTING_CRASH,     /* name: a crash id */
	CRASH_LISTING_PART,      /* name: a crash id; part and stat say which
				    part and its attributes */
};

struct crash_listing_entry {
	enum crash_listing_kind kind;
	char name[CRASH_ID_LENGTH + 1];
	/* CRASH_LISTING_PART only.  part.dump_name points into dump_name:
	 * copy entries with crash_listing_entry_copy. */
	struct crash_part part;
	char dump_name[CRASH_DUMP_NAME_MAX + 1];
	struct crash_part_stat stat;
};

/* *dst = *src, the part's dump name pointing into dst. */
void crash_listing_entry_copy(struct crash_listing_entry *dst,
			      const struct crash_listing_entry *src);
/* Sets entry to the part (its dump name copied into the entry). */
void crash_listing_entry_set_part(struct crash_listing_entry *entry,
				  const char *crash_id,
				  const struct crash_part *part,
				  const struct crash_part_stat *stat);

struct crash_listing;

struct crash_listing_ops {
	int (*next)(struct crash_listing *listing, struct crash_call *call,
		    struct crash_listing_entry *entry);
	/* Frees the listing and what it holds.  Never NULL. */
	void (*close)(struct crash_listing *listing);
};

struct crash_listing {
	const struct crash_listing_ops *ops;
	/* The store that opened it: failures are counted on it and named
	 * after it. */
	struct crash_store *store;
	/* Set by a container that listed without a member that failed: the
	 * entries are what was reachable, not everything. */
	bool partial;
};

void crash_listing_init(struct crash_listing *listing,
			const struct crash_listing_ops *ops,
			struct crash_store *store);

/* 1 and *entry, 0 at the end, or a negative errno (call->error set, and
 * counted on the listing's store). */
int crash_listing_next(struct crash_listing *listing, struct crash_call *call,
		       struct crash_listing_entry *entry);
/* NULL is allowed. */
void crash_listing_close(struct crash_listing *listing);

/* Calls fn for every entry until the end (0), fn's non-zero result (that
 * result) or a failure (its negative errno); closes the listing. */
int crash_listing_drain(struct crash_listing *listing, struct crash_call *call,
			int (*fn)(void *ctx,
				  const struct crash_listing_entry *entry),
			void *ctx);

/* -- a listing of collected names ---------------------------------------- */

/* Names a store collects before it hands them out (days, a page of a
 * query).  Grows as needed; each name is at most CRASH_ID_LENGTH bytes. */
struct crash_name_array {
	char (*names)[CRASH_ID_LENGTH + 1];
	size_t count, capacity;
};

/* 0 or -ENOMEM; a name that does not fit is -ENAMETOOLONG. */
int crash_name_array_add(struct crash_name_array *array, const char *name);
void crash_name_array_release(struct crash_name_array *array);

/* A listing of array's names as entries of kind; it takes the array over
 * (also on failure).  0 or -ENOMEM (call->error set). */
int crash_listing_of_names(struct crash_store *store, struct crash_call *call,
			   enum crash_listing_kind kind,
			   struct crash_name_array *array,
			   struct crash_listing **out);

/* -- the parts of a radix directory from its crashes ---------------------- */

/*
 * Every part of every crash whose radix path ends at day/name/<prefix>
 * (CRASH_LISTING_PART entries) and the radix subdirectories there
 * (CRASH_LISTING_RADIX_DIR): the store's open_radix (native or derived),
 * then list_parts of each crash it yields, one crash's parts held at a
 * time.  What crash_store_open_radix_parts answers for a store
 * without the open_radix_parts fast path.
 */
int crash_listing_derive_radix_parts(struct crash_store *store,
				     struct crash_call *call, const char *day,
				     const char *prefix,
				     struct crash_listing **out);

/* -- the radix directory from list_crashes ------------------------------- */

/*
 * The radix directory day/name/<prefix> of a store that answers
 * list_crashes: its crashes of radix depth strlen(prefix)/2 are CRASH
 * entries, and the next radix component of deeper ones RADIX_DIR entries,
 * each once (the ids come sorted, so a component's crashes are
 * consecutive).  Pages are fetched as the caller goes on; nothing is kept
 * but one page.  -ENOENT if the store has no crash under the prefix.
 */
int crash_listing_derive_radix(struct crash_store *store,
			       struct crash_call *call, const char *day,
			       const char *prefix, struct crash_listing **out);

#endif
