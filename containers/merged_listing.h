/*
 * merged_listing.h - one listing over several members, without
 * duplicates: what a fallback or primary/deferred mount shows is the union
 * of its stores.
 *
 * Days and radix directories (open_days, open_radix) are merged listings
 * (storage/crash_listing.h): every member's listing is opened at once,
 * then they are handed out one after the other; an entry of a later
 * member is skipped if an earlier member has it (one point lookup each:
 * stat_radix_dir for a day or radix directory, stat_crash for a crash), so
 * nothing is remembered and memory does not grow with the directory.
 * The parts of one crash (list_parts, a handful) are merged with the names
 * seen kept for the one call; the earlier member's entry wins (its size
 * and mtime).
 *
 * A member without the listing slot, or answering -ENOENT, is skipped; any
 * other failure fails the listing -- unless the listing is run partial
 * (merged_listing_run_partial), for a container that would rather show
 * what its reachable members hold.  The result is -ENOENT only if no
 * member had the directory or crash.
 *
 * Threads: no shared state; a merged listing belongs to its caller.
 */
#ifndef CRASHFS_CONTAINERS_MERGED_LISTING_H
#define CRASHFS_CONTAINERS_MERGED_LISTING_H

#include <stddef.h>

#include "storage/crash_store.h"
#include "storage/executor/forwarding_store.h"

/* A part mask: bit (1 << CRASH_PART_*) set for each part type a member
 * contributes to merged_list_parts. */
#define MERGED_PARTS_ALL ((1u << CRASH_PART_RAW_CRASH) | \
			  (1u << CRASH_PART_DUMP) | \
			  (1u << CRASH_PART_PROCESSED))

/* part_masks[i] says which parts member i contributes (NULL: all). */
int merged_list_parts(struct crash_store *container,
		      struct crash_store *const *members,
		      const unsigned *part_masks, size_t count,
		      struct crash_call *call, const char *crash_id,
		      crash_part_emit_fn emit, void *ctx);

/* A listing operation (list_parts, open_days, open_radix) for a
 * container's dispatch function; part_masks is used by list_parts only.
 * -EINVAL for any other operation. */
int merged_listing_run(struct crash_store *container,
		       struct crash_store *const *members,
		       const unsigned *part_masks, size_t count,
		       struct crash_call *call,
		       const struct store_operation *operation);

/*
 * A listing that goes on without its failing members (a fallback whose
 * primary is down shows what the secondary holds).  A member whose
 * listing fails -- but for -ENOENT, -EINTR, running out of memory and the
 * caller stopping it -- is left out: its bit is set in left_out_members,
 * left_out (may be NULL) is told its result and error, and the others are
 * listed.  (For open_days and open_radix this is what happens while the
 * listing is opened; a member failing later, in the middle of the
 * listing, is left out too: the listing is then marked partial and
 * counted on the container, without the callback, which belongs to the
 * opening call.)  The result is 0 if some member listed the directory: the
 * listing is then partial if left_out_members is not 0, and saying so is
 * the caller's business.  If no member had it and some were left out, the
 * result is their failure (their common code, else -EIO) naming each, not
 * -ENOENT: the directory may well be in a member that could not answer.
 *
 * single_attempt_members: bit i set, member i is asked with
 * call->single_attempt set (a fallback probing its primary), the others
 * as the caller's call says.  Bits exist for the first
 * MERGED_LISTING_MEMBERS_MAX members.
 */
#define MERGED_LISTING_MEMBERS_MAX 32

struct merged_listing_partial {
	unsigned single_attempt_members;                 /* in */
	void (*left_out)(void *ctx, size_t member, int result,
			 const struct crash_error *error); /* in */
	void *ctx;                                       /* in */
	unsigned left_out_members;                       /* out */
};

int merged_listing_run_partial(struct crash_store *container,
			       struct crash_store *const *members,
			       const unsigned *part_masks, size_t count,
			       struct crash_call *call,
			       const struct store_operation *operation,
			       struct merged_listing_partial *partial);

#endif
