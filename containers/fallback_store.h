/*
 * fallback_store.h - Socorro's FallbackCrashStorage: save to the primary,
 * and to the secondary when the primary fails (spec/crashstorage-api.md
 * §7).
 *
 *   {"type": "fallback", "primary": {...}, "secondary": {...}}
 *
 * Members are "<path>.primary" and "<path>.secondary" (Socorro called the
 * second one "fallback").
 *
 *   saves      primary; on any failure but -EINTR (the caller gave up) the
 *              secondary: one error line is logged, "fallbacks" is counted
 *              on this node, and the save succeeds if the secondary took
 *              it.  Both failing: -EIO listing both.
 *   reads      primary, then the secondary if the primary does not have
 *              it (-ENOENT, as Socorro) or fails (unlike Socorro: what the
 *              secondary took while the primary was down stays readable;
 *              logged, counted in "fallbacks").  If the secondary lacks it
 *              too, the primary's failure is returned, not -ENOENT.
 *   listings   days, radix directories and parts of both, without
 *              duplicates; the primary's entry wins (for parts: its size
 *              and mtime).
 *   removes    from both (remove, remove_part, set_part_mtime,
 *              remove_radix_dir); -ENOENT only if neither had it.  Socorro
 *              removed from the primary only, which leaves a crash saved
 *              while the primary was down visible after rm -r.
 *   queue      new_crashes drains the secondary first, then the primary,
 *              as Socorro does; ack_crash goes to the secondary, then to
 *              the primary if the secondary does not know the crash.
 *
 * Threads: CRASH_STORE_PARALLEL; the fallback counter is atomic.
 */
#ifndef CRASHFS_CONTAINERS_FALLBACK_STORE_H
#define CRASHFS_CONTAINERS_FALLBACK_STORE_H

#include "storage/crash_store.h"
#include "storage/store_registry.h"

int fallback_store_open_json(const json_t *node, const char *node_path,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error);

/* From open members (taken over: closed with the fallback, or at once if
 * this fails). */
int fallback_store_new(struct crash_store *primary,
		       struct crash_store *secondary, const char *node_path,
		       struct crash_store **out, struct crash_error *error);

extern const struct crash_store_ops fallback_store_ops;

#endif
