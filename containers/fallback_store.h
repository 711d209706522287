/*
 * fallback_store.h - Socorro's FallbackCrashStorage: save to the primary,
 * and to the secondary when the primary fails (spec/crashstorage-api.md
 * §7); and, unlike Socorro, a mount that keeps working while the primary
 * is down.
 *
 *   {"type": "fallback", "primary": {...}, "secondary": {...},
 *    "probe_interval": 30}
 *
 * Members are "<path>.primary" and "<path>.secondary" (Socorro called the
 * second one "fallback").
 *
 * While the primary answers:
 *
 *   saves      primary; on any failure but -EINTR (the caller gave up) the
 *              secondary: "fallbacks" is counted on this node, and the
 *              save succeeds if the secondary took it.  Both failing:
 *              -EIO listing both.
 *   reads      primary, then the secondary if the primary does not have
 *              it (-ENOENT, as Socorro) or fails (unlike Socorro: what the
 *              secondary took while the primary was down stays readable;
 *              counted in "fallbacks").
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
 * When the primary is down.  A failure of the primary "says it is down"
 * unless it is about the request or its caller: -ENOENT, -EINTR, -EINVAL,
 * -EFBIG, -ENAMETOOLONG, -ENOTSUP, -EROFS (a part it does not take),
 * -EEXIST, -ENOTEMPTY, -EISDIR, -ENOTDIR and -ENOMEM do not.  Any other
 * (EIO, ENOSPC, a refused connection, a retry policy giving up) opens a
 * circuit breaker (circuit_breaker.h), so that requests stop waiting out
 * the primary's retry policy one after the other:
 *
 *   - The breaker has two sides.  A failed save opens the saves side
 *     (a full disk may still serve reads); any other failed call opens
 *     both (a store that cannot answer a lookup cannot take a save).
 *   - While a side is open, its calls do not ask the primary: saves go
 *     straight to the secondary (counted in "fallbacks"), lookups, reads
 *     and listings are answered by the secondary alone.
 *   - probe_interval seconds after a side opened (default 30, fractions
 *     allowed, 0: at once), the next call of that side is a probe: it
 *     asks the primary with call->single_attempt set, so a retry policy
 *     below makes one attempt instead of waiting (one probe at a time;
 *     the other calls meanwhile still skip the primary).  If the primary
 *     answers, the side closes and calls go to it again; if not, the side
 *     stays open for another interval.
 *   - The first call that finds the primary down still waits out the
 *     primary's retry policy (with the mount's default, 10+30+60+120 s):
 *     that is how a transient failure is told from an outage.  Calls that
 *     were already waiting at that moment finish their own waits.
 *
 * What the secondary alone answers while the primary is down:
 *
 *   stat_crash, stat_part, stat_radix_dir
 *              found in the secondary: found.  Not in the secondary:
 *              -ENOENT, although the primary may hold it.  The kernel looks
 *              a name up before it creates it, and only a "no such file"
 *              lets open(O_CREAT), mkdir -p, cp and rsync go on to create
 *              the crash in the secondary.  The price: a lookup of a crash
 *              held only by the primary (cat of a path the kernel does not
 *              know yet) answers "no such file" during the outage.
 *   open_part  not in the secondary: -EIO, never -ENOENT.  The kernel
 *              opens a name it has looked up before (its dentry cache), so
 *              this is a read of a part that exists; it must not look as if
 *              it had vanished.
 *   listings   what the secondary holds; the listing is partial: counted in
 *              "partial_listings" on this node and logged.  A directory
 *              the secondary does not have: -EIO (it may be in the
 *              primary), not -ENOENT; list_days answers what there is.
 *              rsync --delete from a degraded mount would delete what the
 *              listing left out: run it only when the state is "ok".
 *   new_crashes  the secondary's queue; the pass is partial (counted and
 *              logged as a listing) and returns 0.
 *   ack_crash  the secondary; a crash it does not know: -EIO.
 *   removes    done in the secondary, and -EIO naming the primary (it may
 *              still hold a copy that would reappear).  set_part_mtime
 *              succeeds if the secondary set it (cp -p, rsync and copy2 set
 *              mtimes after writing: a crash written during the outage is
 *              in the secondary only).
 *
 * When the primary is back, new saves go to it; what the secondary took
 * stays there and readable through the mount, and listings merge both
 * again.  Moving it back is an rsync from a mount of the secondary to one
 * of the primary.
 *
 * Stats (.crashfs/stats, this node): "fallbacks" (calls the secondary
 * served because the primary failed or was skipped), "partial_listings",
 * state "degraded" while a side is open, and "breaker": per side its
 * state ("closed", "open", "probing"), "openings", "probes" and "skipped"
 * (calls that did not ask the primary).  The primary's node is marked
 * "failing" while a side is open.
 *
 * Log: at most one line per kind per minute (log_limit.h), at warning
 * level: the primary found down (with its error), a probe that failed, a
 * save or read that went to the secondary for a failure that does not
 * open the breaker, a partial listing; and at info level, the primary
 * answering again.
 *
 * Threads: CRASH_STORE_PARALLEL; the breaker and the counters are atomic.
 */
#ifndef CRASHFS_CONTAINERS_FALLBACK_STORE_H
#define CRASHFS_CONTAINERS_FALLBACK_STORE_H

#include "storage/crash_store.h"
#include "storage/store_registry.h"

/* Seconds a side of the breaker stays open before a call probes. */
#define FALLBACK_PROBE_INTERVAL_DEFAULT 30.0
/* The longest accepted (one day). */
#define FALLBACK_PROBE_INTERVAL_MAX 86400.0
/* Seconds between two log lines of one kind. */
#define FALLBACK_LOG_INTERVAL 60.0

int fallback_store_open_json(const json_t *node, const char *node_path,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error);

/* From open members (taken over: closed with the fallback, or at once if
 * this fails); probe_interval in seconds, 0 to FALLBACK_PROBE_INTERVAL_MAX. */
int fallback_store_new(struct crash_store *primary,
		       struct crash_store *secondary, double probe_interval,
		       const char *node_path, struct crash_store **out,
		       struct crash_error *error);

extern const struct crash_store_ops fallback_store_ops;

#endif
