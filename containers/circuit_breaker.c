/*
 * circuit_breaker.c - closed, open, and one probe at a time.
 */
#include <time.h>

#include "containers/circuit_breaker.h"

static int64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void circuit_breaker_init(struct circuit_breaker *breaker, double interval)
{
	breaker->interval_ns = (int64_t)(interval * 1e9 + 0.5);
	atomic_init(&breaker->open_until, 0);
	atomic_init(&breaker->opened_at, 0);
	atomic_init(&breaker->probing, false);
	atomic_init(&breaker->openings, 0);
	atomic_init(&breaker->probes, 0);
	atomic_init(&breaker->skipped, 0);
}

enum circuit_route circuit_breaker_route(struct circuit_breaker *breaker)
{
	int64_t until = atomic_load(&breaker->open_until);
	if (until == 0)
		return CIRCUIT_ASK;
	bool idle = false;
	if (monotonic_ns() >= until &&
	    atomic_compare_exchange_strong(&breaker->probing, &idle, true)) {
		atomic_fetch_add(&breaker->probes, 1);
		return CIRCUIT_PROBE;
	}
	atomic_fetch_add(&breaker->skipped, 1);
	return CIRCUIT_SKIP;
}

bool circuit_breaker_open(struct circuit_breaker *breaker,
			  enum circuit_route route)
{
	int64_t now = monotonic_ns();
	bool opened = atomic_exchange(&breaker->open_until,
				      now + breaker->interval_ns) == 0;
	if (opened) {
		atomic_store(&breaker->opened_at, now);
		atomic_fetch_add(&breaker->openings, 1);
	}
	if (route == CIRCUIT_PROBE)
		atomic_store(&breaker->probing, false);
	return opened;
}

bool circuit_breaker_close(struct circuit_breaker *breaker,
			   double *down_seconds)
{
	bool was_open = atomic_exchange(&breaker->open_until, 0) != 0;
	atomic_store(&breaker->probing, false);
	if (was_open && down_seconds)
		*down_seconds = (double)(monotonic_ns() -
					 atomic_load(&breaker->opened_at)) /
				1e9;
	return was_open;
}

void circuit_breaker_release(struct circuit_breaker *breaker)
{
	atomic_store(&breaker->probing, false);
}

bool circuit_breaker_is_open(struct circuit_breaker *breaker)
{
	return atomic_load(&breaker->open_until) != 0;
}

double circuit_breaker_seconds_left(struct circuit_breaker *breaker)
{
	int64_t until = atomic_load(&breaker->open_until);
	double left = (double)(until - monotonic_ns()) / 1e9;
	return until != 0 && left > 0 ? left : 0;
}

json_t *circuit_breaker_stats(struct circuit_breaker *breaker)
{
	const char *state = "closed";
	if (circuit_breaker_is_open(breaker))
		state = atomic_load(&breaker->probing) ? "probing" : "open";
	return json_pack("{s:s, s:I, s:I, s:I}", "state", state, "openings",
			 (json_int_t)atomic_load(&breaker->openings), "probes",
			 (json_int_t)atomic_load(&breaker->probes), "skipped",
			 (json_int_t)atomic_load(&breaker->skipped));
}
