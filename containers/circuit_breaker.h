/*
 * circuit_breaker.h - stop asking a store known to be down, and ask it
 * again now and then (the fallback container's primary).
 *
 *   closed   every call asks the store (under its own retry policy).
 *   open     for interval seconds after the store was found down, calls
 *            do not ask it (skipped).  Then the first call to come is the
 *            probe: it asks once (crash_call.single_attempt); the others
 *            keep skipping until the probe reports.  The probe's answer
 *            closes the breaker; its failure opens it for another
 *            interval; no answer (the caller gave up) lets the next call
 *            probe.
 *
 * Every call routed CIRCUIT_PROBE must end in circuit_breaker_open,
 * circuit_breaker_close or circuit_breaker_release, or no call will probe
 * again.
 *
 * Threads: any number at once; the state is atomic, and a probe is
 * claimed with a compare-and-swap.
 */
#ifndef CRASHFS_CONTAINERS_CIRCUIT_BREAKER_H
#define CRASHFS_CONTAINERS_CIRCUIT_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

enum circuit_route {
	CIRCUIT_ASK,   /* closed: ask the store */
	CIRCUIT_PROBE, /* open and due: ask it once, then report */
	CIRCUIT_SKIP,  /* open: do not ask it */
};

struct circuit_breaker {
	int64_t interval_ns;            /* set at init, read-only after */
	atomic_int_fast64_t open_until; /* monotonic ns; 0: closed */
	atomic_int_fast64_t opened_at;  /* monotonic ns of the last opening */
	atomic_bool probing;            /* a probe is in flight */
	atomic_uint_fast64_t openings;
	atomic_uint_fast64_t probes;
	atomic_uint_fast64_t skipped;
};

/* Closed; interval in seconds (0: every call while open is a probe). */
void circuit_breaker_init(struct circuit_breaker *breaker, double interval);

/* What this call does with the store; counts probes and skips. */
enum circuit_route circuit_breaker_route(struct circuit_breaker *breaker);

/* The store was found down (by a call routed anyhow): open for another
 * interval.  True if the breaker was closed until now. */
bool circuit_breaker_open(struct circuit_breaker *breaker,
			  enum circuit_route route);
/* The store answered a probe: closed.  True if it was open; then
 * *down_seconds says for how long. */
bool circuit_breaker_close(struct circuit_breaker *breaker,
			   double *down_seconds);
/* A probe that got no answer either way: the next call probes. */
void circuit_breaker_release(struct circuit_breaker *breaker);

bool circuit_breaker_is_open(struct circuit_breaker *breaker);
/* Seconds until the next probe is due (0 if due or closed). */
double circuit_breaker_seconds_left(struct circuit_breaker *breaker);

/* {"state": "closed" | "open" | "probing", "openings": n, "probes": n,
 *  "skipped": n}; NULL if out of memory. */
json_t *circuit_breaker_stats(struct circuit_breaker *breaker);

#endif
