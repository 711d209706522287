/*
 * fallback_store.c - primary, and the secondary when the primary fails;
 * a breaker that stops asking a primary known to be down.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "containers/circuit_breaker.h"
#include "containers/container_core.h"
#include "containers/fallback_store.h"
#include "containers/log_limit.h"
#include "containers/merged_listing.h"
#include "storage/crash_log.h"
#include "storage/store_config.h"

enum { PRIMARY = 0, SECONDARY = 1 };

/* The breaker has two sides: saves, and every other call. */
enum side { SAVES = 0, READS = 1, SIDES = 2 };

static const char *const side_names[SIDES] = { "saves", "reads" };

/* Kinds of log lines, each limited on its own. */
enum log_kind {
	LOG_OPENED,         /* the primary found down */
	LOG_STILL_DOWN,     /* a probe failed */
	LOG_BACK,           /* a probe succeeded: LOG_BACK + side */
	LOG_BACK_LAST = LOG_BACK + SIDES - 1,
	LOG_SAVE_FELL_BACK, /* a save failed in the primary for its own reason */
	LOG_READ_FELL_BACK, /* the same for a read */
	LOG_PARTIAL,        /* a listing without a member */
	LOG_KINDS
};

struct fallback_store {
	struct dispatching_store dispatching; /* first: the base */
	struct crash_store *members[2];
	double probe_interval; /* seconds */
	struct circuit_breaker breakers[SIDES];
	/* Whether the failure that opened a side (or kept it open) was
	 * operational: the errors standing for the primary it skips are
	 * marked alike, so a retry above retries an outage only. */
	atomic_bool opened_operational[SIDES];
	struct log_limit logs[LOG_KINDS];
};

static struct fallback_store *fallback_from(struct crash_store *store)
{
	return crash_store_downcast(store, &fallback_store_ops);
}

static void fallback_close(struct crash_store *store)
{
	struct fallback_store *self = fallback_from(store);
	crash_store_close(self->members[PRIMARY]);
	crash_store_close(self->members[SECONDARY]);
	for (int kind = 0; kind < LOG_KINDS; kind++)
		log_limit_destroy(&self->logs[kind]);
	crash_store_base_release(&self->dispatching.base);
	free(self);
}

/* -- the breaker -------------------------------------------------------- */

/* True for a failure that says the primary is unwell, rather than
 * something about this request or its caller (fallback_store.h). */
static bool primary_down(int result)
{
	if (result >= 0)
		return false;
	switch (-result) {
	case ENOENT:
	case EINTR:
	case EINVAL:
	case EFBIG:
	case ENAMETOOLONG:
	case ENOTSUP:
	case EROFS:
	case EEXIST:
	case ENOTEMPTY:
	case EISDIR:
	case ENOTDIR:
	case ENOMEM:
		return false;
	default:
		return true;
	}
}

static bool degraded(struct fallback_store *self)
{
	return circuit_breaker_is_open(&self->breakers[SAVES]) ||
	       circuit_breaker_is_open(&self->breakers[READS]);
}

/* The primary failed as if down: the side opens (a failed read opens
 * both), or stays open for another interval after a failed probe. */
static void open_breaker(struct fallback_store *self, enum side side,
			 enum circuit_route route, const char *what,
			 const struct crash_error *error)
{
	struct crash_store *store = &self->dispatching.base;
	atomic_store(&self->opened_operational[side], error->operational);
	bool opened = circuit_breaker_open(&self->breakers[side], route);
	if (side == READS) {
		atomic_store(&self->opened_operational[SAVES],
			     error->operational);
		opened |= circuit_breaker_open(&self->breakers[SAVES],
					       CIRCUIT_ASK);
	}
	atomic_store(&self->members[PRIMARY]->counters.state,
		     CRASH_STORE_FAILING);
	if (opened)
		log_limit_log(&self->logs[LOG_OPENED], CRASH_LOG_WARNING,
			      "%s: %s: primary failed; %s go to %s without "
			      "asking %s for %g s, then one call probes it: "
			      "%s",
			      store->node_path, what,
			      side == SAVES ? "saves" : "all calls",
			      self->members[SECONDARY]->node_path,
			      self->members[PRIMARY]->node_path,
			      self->probe_interval, error->message);
	else if (route == CIRCUIT_PROBE)
		log_limit_log(&self->logs[LOG_STILL_DOWN], CRASH_LOG_WARNING,
			      "%s: %s: primary still failing (a probe); "
			      "asked again in %g s: %s",
			      store->node_path, what, self->probe_interval,
			      error->message);
}

/* A probe was answered: the side closes. */
static void close_breaker(struct fallback_store *self, enum side side)
{
	struct crash_store *store = &self->dispatching.base;
	double down = 0;
	if (!circuit_breaker_close(&self->breakers[side], &down))
		return;
	if (!degraded(self))
		atomic_store(&self->members[PRIMARY]->counters.state,
			     CRASH_STORE_OK);
	log_limit_log(&self->logs[LOG_BACK + side], CRASH_LOG_INFO,
		      "%s: the primary %s answered a probe after %.0f s: "
		      "%s go to it again",
		      store->node_path, self->members[PRIMARY]->node_path,
		      down, side_names[side]);
}

/* Tells the breaker how the primary answered a call routed by route. */
static void observe(struct fallback_store *self, enum side side,
		    enum circuit_route route, int result,
		    const struct crash_error *error,
		    const struct store_operation *operation)
{
	if (primary_down(result)) {
		char what[160];
		store_operation_describe(operation, what, sizeof what);
		open_breaker(self, side, route, what, error);
	} else if (route == CIRCUIT_PROBE) {
		if (result == -EINTR || result == -ENOMEM)
			circuit_breaker_release(&self->breakers[side]);
		else
			close_breaker(self, side);
	}
}

/* Runs operation on the primary as route says (never CIRCUIT_SKIP). */
static int ask_primary(struct fallback_store *self, enum side side,
		       enum circuit_route route, struct crash_call *call,
		       const struct store_operation *operation)
{
	bool single_attempt = call->single_attempt;
	if (route == CIRCUIT_PROBE)
		call->single_attempt = true;
	int result = store_operation_run(self->members[PRIMARY], call,
					 operation);
	call->single_attempt = single_attempt;
	observe(self, side, route, result, &call->error, operation);
	return result;
}

/* The failure standing for a primary the breaker did not ask:
 * operational if the failure that opened the breaker was. */
static void skipped_error(struct fallback_store *self, enum side side,
			  struct crash_error *error)
{
	crash_error_set(error, -EIO,
			"%s: not asked: failing, next probe in %.1f s",
			self->members[PRIMARY]->node_path,
			circuit_breaker_seconds_left(&self->breakers[side]));
	error->operational = atomic_load(&self->opened_operational[side]);
}

/* -- saves -------------------------------------------------------------- */

static int save(struct crash_store *store, struct crash_call *call,
		const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *primary = self->members[PRIMARY];
	struct crash_store *secondary = self->members[SECONDARY];
	struct store_failures failures;
	struct crash_error primary_error;
	char what[160];
	int result;

	store_failures_init(&failures);
	store_operation_describe(operation, what, sizeof what);
	enum circuit_route route = circuit_breaker_route(&self->breakers[SAVES]);
	bool asked = route != CIRCUIT_SKIP;
	bool down = true;
	if (asked) {
		result = ask_primary(self, SAVES, route, call, operation);
		if (result >= 0 || result == -EINTR)
			return result;
		down = primary_down(result);
		primary_error = call->error;
	} else {
		skipped_error(self, SAVES, &primary_error);
	}
	store_failures_add(&failures, primary, &primary_error);
	atomic_fetch_add(&store->counters.fallbacks, 1);
	if (asked) {
		/* The primary may have linked an adoptable blob before
		 * failing: the secondary gets a copy it cannot adopt. */
		struct unadoptable_operation copy;
		result = unadoptable_operation_init(&copy, operation, call);
		if (result >= 0)
			result = store_operation_run(secondary, call,
						     &copy.operation);
		unadoptable_operation_release(&copy);
	} else {
		result = store_operation_run(secondary, call, operation);
	}
	if (result >= 0) {
		if (!down)
			log_limit_log(&self->logs[LOG_SAVE_FELL_BACK],
				      CRASH_LOG_WARNING,
				      "%s: %s: primary failed, saved in %s "
				      "instead: %s",
				      store->node_path, what,
				      secondary->node_path,
				      primary_error.message);
		return result;
	}
	store_failures_add(&failures, secondary, &call->error);
	return store_failures_report(&failures, store, call,
				     result == -EINTR ? -EINTR : -EIO, what);
}

/* -- lookups and reads -------------------------------------------------- */

static bool is_lookup(enum store_operation_kind kind)
{
	return kind == STORE_OP_STAT_CRASH || kind == STORE_OP_STAT_PART ||
	       kind == STORE_OP_STAT_RADIX_DIR;
}

/* Not in the secondary, and the primary is down (fallback_store.h): a
 * lookup says not found, so that the kernel may create it; an open of a
 * part or a listing of a directory the kernel knows says it failed. */
static int secondary_lacks_it(struct fallback_store *self,
			      struct crash_call *call,
			      const struct store_operation *operation,
			      const struct crash_error *primary_error)
{
	struct crash_store *store = &self->dispatching.base;
	char what[160];
	store_operation_describe(operation, what, sizeof what);
	if (!is_lookup(operation->kind))
		return crash_error_set(&call->error, -EIO,
				       "%s: %s: not in %s, and the primary is "
				       "failing: %s",
				       store->node_path, what,
				       self->members[SECONDARY]->node_path,
				       primary_error->message);
	return crash_error_set(&call->error, -ENOENT,
			       "%s: %s: not in %s (the primary is failing and "
			       "may hold it: %s)",
			       store->node_path, what,
			       self->members[SECONDARY]->node_path,
			       primary_error->message);
}

/*
 * Reads: the primary, then the secondary when the primary does not have
 * it (Socorro) -- or when the primary fails: a crash the secondary took
 * while the primary was down must stay readable while it is still down.
 */
static int primary_first(struct crash_store *store, struct crash_call *call,
			 const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *primary = self->members[PRIMARY];
	struct crash_store *secondary = self->members[SECONDARY];
	struct crash_error primary_error;
	int result = -EIO;
	bool down = true;

	if (!store_operation_available(primary, operation->kind) ||
	    !store_operation_available(secondary, operation->kind))
		return container_first_found(store, self->members, 2, call,
					     operation);
	enum circuit_route route = circuit_breaker_route(&self->breakers[READS]);
	if (route == CIRCUIT_SKIP) {
		skipped_error(self, READS, &primary_error);
	} else {
		result = ask_primary(self, READS, route, call, operation);
		if (result >= 0 || result == -EINTR)
			return result;
		if (result == -ENOENT) {
			result = store_operation_run(secondary, call,
						     operation);
			if (result != -ENOENT)
				return result;
			char what[160];
			store_operation_describe(operation, what, sizeof what);
			return crash_error_set(&call->error, -ENOENT,
					       "%s: %s: not in any of its "
					       "stores",
					       store->node_path, what);
		}
		down = primary_down(result);
		primary_error = call->error;
	}
	int secondary_result = store_operation_run(secondary, call, operation);
	if (secondary_result >= 0) {
		atomic_fetch_add(&store->counters.fallbacks, 1);
		if (!down) {
			char what[160];
			store_operation_describe(operation, what, sizeof what);
			log_limit_log(&self->logs[LOG_READ_FELL_BACK],
				      CRASH_LOG_WARNING,
				      "%s: %s: primary failed, read from %s "
				      "instead: %s",
				      store->node_path, what,
				      secondary->node_path,
				      primary_error.message);
		}
		return secondary_result;
	}
	if (secondary_result != -ENOENT)
		return secondary_result;
	if (down)
		return secondary_lacks_it(self, call, operation,
					  &primary_error);
	/* The primary refused this very request: its answer stands. */
	call->error = primary_error;
	return result;
}

/* -- listings ----------------------------------------------------------- */

/* What a listing left out. */
struct left_out {
	int primary_result; /* 0 unless the primary was left out */
	struct crash_error primary_error;
	bool any;
	struct crash_error first_error; /* of the first member left out */
};

static void note_left_out(void *ctx, size_t member, int result,
			  const struct crash_error *error)
{
	struct left_out *left_out = ctx;
	if (!left_out->any)
		left_out->first_error = *error;
	left_out->any = true;
	if (member == PRIMARY) {
		left_out->primary_result = result;
		left_out->primary_error = *error;
	}
}

static void count_partial(struct fallback_store *self,
			  const struct store_operation *operation,
			  const struct crash_error *why)
{
	struct crash_store *store = &self->dispatching.base;
	char what[160];
	atomic_fetch_add(&store->counters.partial_listings, 1);
	store_operation_describe(operation, what, sizeof what);
	log_limit_log(&self->logs[LOG_PARTIAL], CRASH_LOG_WARNING,
		      "%s: %s: partial, without a member that failed: %s",
		      store->node_path, what, why->message);
}

/* Days, radix directories and parts of both members, or of the one that
 * answers (the listing is then partial, and says so). */
static int listing(struct crash_store *store, struct crash_call *call,
		   const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct left_out left_out = { .primary_result = 0, .any = false };
	int result;

	enum circuit_route route = circuit_breaker_route(&self->breakers[READS]);
	if (route == CIRCUIT_SKIP) {
		struct crash_error skipped;
		skipped_error(self, READS, &skipped);
		result = merged_listing_run(store, &self->members[SECONDARY],
					    NULL, 1, call, operation);
		if (result == -ENOENT)
			return secondary_lacks_it(self, call, operation,
						  &skipped);
		if (result >= 0)
			count_partial(self, operation, &skipped);
		return result;
	}
	struct merged_listing_partial partial = {
		.single_attempt_members = route == CIRCUIT_PROBE ? 1u << PRIMARY
							       : 0,
		.left_out = note_left_out,
		.ctx = &left_out,
	};
	result = merged_listing_run_partial(store, self->members, NULL, 2,
					    call, operation, &partial);
	if (left_out.primary_result < 0)
		observe(self, READS, route, left_out.primary_result,
			&left_out.primary_error, operation);
	else if (route == CIRCUIT_PROBE)
		observe(self, READS, route,
			result == -EINTR || result == -ENOMEM ? result : 0,
			&call->error, operation);
	if (left_out.any && result >= 0)
		count_partial(self, operation, &left_out.first_error);
	return result;
}

/* -- the queue ---------------------------------------------------------- */

static int no_queue(struct crash_store *store, struct crash_call *call)
{
	return crash_error_set(&call->error, -ENOTSUP,
			       "%s: no store in this fallback is a queue",
			       store->node_path);
}

/* Socorro: everything from the secondary's new_crashes, then the
 * primary's.  Without a primary that answers, the pass is the
 * secondary's alone (partial). */
static int new_crashes(struct crash_store *store, struct crash_call *call,
		       const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *primary = self->members[PRIMARY];
	struct crash_store *secondary = self->members[SECONDARY];
	bool secondary_queue = store_operation_available(secondary,
							  operation->kind);

	if (secondary_queue) {
		int result = store_operation_run(secondary, call, operation);
		if (result != 0)
			return result; /* a failure, or emit stopped it */
	}
	if (!store_operation_available(primary, operation->kind))
		return secondary_queue ? 0 : no_queue(store, call);
	struct crash_error primary_error;
	enum circuit_route route = circuit_breaker_route(&self->breakers[READS]);
	if (route == CIRCUIT_SKIP) {
		skipped_error(self, READS, &primary_error);
	} else {
		int result = ask_primary(self, READS, route, call, operation);
		if (!primary_down(result))
			return result;
		primary_error = call->error;
	}
	if (!secondary_queue)
		return crash_error_set(&call->error, -EIO, "%s: %s",
				       store->node_path,
				       primary_error.message);
	count_partial(self, operation, &primary_error);
	crash_error_clear(&call->error);
	return 0;
}

/* An entry is acknowledged where it was found: the member whose tree
 * issued its token. */
static int ack_crash(struct crash_store *store, struct crash_call *call,
		     const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *primary = self->members[PRIMARY];
	const struct crash_queue_entry *entry = operation->queue_entry;

	if (!crash_store_contains(primary, entry->token.issuer))
		return container_ack_crash(store, &self->members[SECONDARY], 1,
					   call, entry);
	enum circuit_route route = circuit_breaker_route(&self->breakers[READS]);
	if (route == CIRCUIT_SKIP) {
		struct crash_error skipped;
		skipped_error(self, READS, &skipped);
		crash_error_set(&call->error, -EIO, "%s: ack_crash %s: %s",
				store->node_path, entry->crash_id,
				skipped.message);
		call->error.operational = skipped.operational;
		return -EIO;
	}
	return ask_primary(self, READS, route, call, operation);
}

/* -- removes and mtimes ------------------------------------------------- */

/* For removes: the member keeps no such thing at all. */
static bool not_applicable(enum store_operation_kind kind, int result)
{
	return result == -ENOTSUP && (kind == STORE_OP_REMOVE_RADIX_DIR ||
				      kind == STORE_OP_SET_PART_MTIME ||
				      kind == STORE_OP_SET_DIR_MTIME);
}

/* What both members did with one write. */
struct tally {
	size_t asked, done, absent;
	struct store_failures failures;
};

static void count_result(struct tally *tally, struct crash_store *member,
			 enum store_operation_kind kind, int result,
			 const struct crash_error *error)
{
	if (result >= 0)
		tally->done++;
	else if (result == -ENOENT || not_applicable(kind, result))
		tally->absent += result == -ENOENT;
	else
		store_failures_add(&tally->failures, member, error);
}

/*
 * Removes go to both members.  Socorro removed from the primary only (and
 * from the fallback only when the primary did not have it); a crash saved
 * in both, or saved in the secondary while the primary was down and since
 * copied back, then stayed visible in the mount after rm -r.  A primary
 * that is down fails the remove (it may still hold a copy), after the
 * secondary did its part; an mtime is set where the part is reachable.
 */
static int to_both(struct crash_store *store, struct crash_call *call,
		   const struct store_operation *operation)
{
	struct fallback_store *self = fallback_from(store);
	struct crash_store *primary = self->members[PRIMARY];
	struct crash_store *secondary = self->members[SECONDARY];
	struct tally tally = { .asked = 0 };
	bool unreachable = false;
	char what[160];
	int result;

	store_failures_init(&tally.failures);
	store_operation_describe(operation, what, sizeof what);
	if (store_operation_available(primary, operation->kind)) {
		enum circuit_route route = circuit_breaker_route(&self->breakers[READS]);
		if (route == CIRCUIT_SKIP) {
			struct crash_error skipped;
			skipped_error(self, READS, &skipped);
			store_failures_add(&tally.failures, primary, &skipped);
			unreachable = true;
		} else {
			tally.asked++;
			result = ask_primary(self, READS, route, call,
					     operation);
			if (result == -EINTR)
				return result;
			unreachable = primary_down(result);
			count_result(&tally, primary, operation->kind, result,
				     &call->error);
		}
	}
	if (store_operation_available(secondary, operation->kind)) {
		/* Socorro's poly called quit_check() before each store. */
		if (tally.asked > 0 && crash_call_interrupted(call))
			return crash_error_set(&call->error, -EINTR,
					       "%s: %s: interrupted",
					       store->node_path, what);
		tally.asked++;
		result = store_operation_run(secondary, call, operation);
		if (result == -EINTR)
			return result;
		count_result(&tally, secondary, operation->kind, result,
			     &call->error);
		if (result >= 0 && unreachable &&
		    operation->kind == STORE_OP_SET_PART_MTIME &&
		    tally.failures.count == 1) {
			atomic_fetch_add(&store->counters.fallbacks, 1);
			crash_error_clear(&call->error);
			return 0;
		}
	}
	if (tally.asked == 0 && tally.failures.count == 0)
		return container_no_member_can(store, call, -ENOTSUP,
					       operation);
	if (tally.failures.count > 0)
		return store_failures_report(
			&tally.failures, store, call,
			tally.failures.common_code ? tally.failures.common_code
						   : -EIO,
			what);
	crash_error_clear(&call->error);
	if (tally.done > 0)
		return 0;
	if (tally.absent > 0)
		return crash_error_set(&call->error, -ENOENT,
				       "%s: %s: not in any of its stores",
				       store->node_path, what);
	return crash_error_set(&call->error, -ENOTSUP,
			       "%s: %s: no store in it keeps this",
			       store->node_path, what);
}

static int fallback_dispatch(struct crash_store *store,
			     struct crash_call *call,
			     const struct store_operation *operation)
{
	switch (operation->kind) {
	case STORE_OP_SAVE_RAW_CRASH:
	case STORE_OP_SAVE_DUMP:
	case STORE_OP_SAVE_PROCESSED:
		return save(store, call, operation);
	case STORE_OP_REMOVE:
	case STORE_OP_REMOVE_PART:
	case STORE_OP_REMOVE_RADIX_DIR:
	case STORE_OP_SET_PART_MTIME:
	case STORE_OP_SET_DIR_MTIME:
		return to_both(store, call, operation);
	case STORE_OP_STAT_CRASH:
	case STORE_OP_STAT_PART:
	case STORE_OP_OPEN_PART:
	case STORE_OP_STAT_RADIX_DIR:
		return primary_first(store, call, operation);
	case STORE_OP_LIST_PARTS:
	case STORE_OP_OPEN_DAYS:
	case STORE_OP_OPEN_RADIX:
		return listing(store, call, operation);
	case STORE_OP_OPEN_RADIX_PARTS:
		break; /* not a slot of containers: derived */
	case STORE_OP_LIST_CRASHES:
		break; /* not a slot of containers */
	case STORE_OP_NEW_CRASHES:
		return new_crashes(store, call, operation);
	case STORE_OP_ACK_CRASH:
		return ack_crash(store, call, operation);
	case STORE_OP_COUNT:
		break;
	}
	return store_operation_invalid(call, operation);
}

static void fallback_reconnect(struct crash_store *store)
{
	container_reconnect_members(fallback_from(store)->members, 2);
}

static size_t fallback_child_count(struct crash_store *store)
{
	(void)store;
	return 2;
}

static struct crash_store *fallback_child(struct crash_store *store,
					  size_t index)
{
	return index < 2 ? fallback_from(store)->members[index] : NULL;
}

static void fallback_describe(struct crash_store *store, json_t *stats)
{
	struct fallback_store *self = fallback_from(store);
	json_object_set_new(stats, "primary",
			    json_string(self->members[PRIMARY]->node_path));
	json_object_set_new(stats, "secondary",
			    json_string(self->members[SECONDARY]->node_path));
	json_object_set_new(stats, "probe_interval",
			    json_real(self->probe_interval));
	json_t *breaker = json_object();
	if (breaker) {
		for (int side = 0; side < SIDES; side++)
			json_object_set_new(
				breaker, side_names[side],
				circuit_breaker_stats(&self->breakers[side]));
		json_object_set_new(stats, "breaker", breaker);
	}
	if (degraded(self))
		json_object_set_new(stats, "state", json_string("degraded"));
}

const struct crash_store_ops fallback_store_ops = {
	.type_name = "fallback",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = fallback_close,
	DISPATCHING_STORE_WRITE_SLOTS,
	DISPATCHING_STORE_READ_SLOTS,
	DISPATCHING_STORE_QUEUE_SLOTS,
	.reconnect = fallback_reconnect,
	.child_count = fallback_child_count,
	.child = fallback_child,
	.describe = fallback_describe,
};

int fallback_store_new(struct crash_store *primary,
		       struct crash_store *secondary, double probe_interval,
		       const char *node_path, struct crash_store **out,
		       struct crash_error *error)
{
	*out = NULL;
	if (!(probe_interval >= 0 &&
	      probe_interval <= FALLBACK_PROBE_INTERVAL_MAX)) {
		crash_store_close(primary);
		crash_store_close(secondary);
		return crash_error_set(error, -EINVAL,
				       "%s.probe_interval: %g: must be 0 to "
				       "%.0f seconds",
				       node_path, probe_interval,
				       FALLBACK_PROBE_INTERVAL_MAX);
	}
	struct fallback_store *self = calloc(1, sizeof *self);
	if (!self || dispatching_store_init(&self->dispatching,
					    &fallback_store_ops, node_path,
					    fallback_dispatch) < 0) {
		free(self);
		crash_store_close(primary);
		crash_store_close(secondary);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	self->members[PRIMARY] = primary;
	self->members[SECONDARY] = secondary;
	self->probe_interval = probe_interval;
	for (int side = 0; side < SIDES; side++) {
		circuit_breaker_init(&self->breakers[side], probe_interval);
		atomic_init(&self->opened_operational[side], false);
	}
	for (int kind = 0; kind < LOG_KINDS; kind++)
		log_limit_init(&self->logs[kind], FALLBACK_LOG_INTERVAL);
	*out = &self->dispatching.base;
	return 0;
}

static int read_probe_interval(const json_t *node, const char *node_path,
			       double *out, struct crash_error *error)
{
	const json_t *value = json_object_get(node, "probe_interval");
	*out = FALLBACK_PROBE_INTERVAL_DEFAULT;
	if (!value)
		return 0;
	if (!json_is_number(value) ||
	    !(json_number_value(value) >= 0 &&
	      json_number_value(value) <= FALLBACK_PROBE_INTERVAL_MAX))
		return crash_error_set(error, -EINVAL,
				       "%s.probe_interval: must be a number of "
				       "seconds from 0 to %.0f",
				       node_path, FALLBACK_PROBE_INTERVAL_MAX);
	*out = json_number_value(value);
	return 0;
}

int fallback_store_open_json(const json_t *node, const char *node_path,
			     const struct crash_store_env *env,
			     struct crash_store **out,
			     struct crash_error *error)
{
	static const char *const keys[] = { "primary", "secondary",
					    "probe_interval", NULL };
	struct crash_store *primary = NULL, *secondary = NULL;
	double probe_interval;

	*out = NULL;
	int result = store_config_check_keys(node, node_path, keys, error);
	if (result < 0)
		return result;
	result = read_probe_interval(node, node_path, &probe_interval, error);
	if (result < 0)
		return result;
	result = container_open_member(node, node_path, "primary",
				       "the store saves go to first", env,
				       &primary, error);
	if (result < 0)
		return result;
	result = container_open_member(node, node_path, "secondary",
				       "the store saves go to when the primary "
				       "fails",
				       env, &secondary, error);
	if (result < 0) {
		crash_store_close(primary);
		return result;
	}
	return fallback_store_new(primary, secondary, probe_interval,
				  node_path, out, error);
}
