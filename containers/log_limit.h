/*
 * log_limit.h - at most one log line of a kind per interval, and a count
 * of the lines held back: an outage that fails every request must not
 * write a line per request.
 *
 *   struct log_limit limit;
 *   log_limit_init(&limit, 60);
 *   log_limit_log(&limit, CRASH_LOG_WARNING, "%s: ...", ...);
 *   log_limit_destroy(&limit);
 *
 * The first line goes out; the lines of the next interval seconds are
 * only counted; the first one after that goes out with " (N more like
 * this in the last S s)" appended.  Lines held back at the end of an
 * outage are never written: the store's counters in .crashfs/stats say
 * how many events there were.
 *
 * Threads: any number at once (a mutex, held only to decide).
 */
#ifndef CRASHFS_CONTAINERS_LOG_LIMIT_H
#define CRASHFS_CONTAINERS_LOG_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage/crash_log.h"

struct log_limit {
	pthread_mutex_t lock;
	double interval;    /* seconds between two lines */
	double last;        /* monotonic time of the last line written */
	bool written;       /* a line was written yet */
	uint64_t held_back; /* lines counted since the last one written */
};

void log_limit_init(struct log_limit *limit, double interval);
void log_limit_destroy(struct log_limit *limit);

/* Writes the line, or counts it if a line of this limit went out less
 * than interval seconds ago.  True if it was written. */
bool log_limit_log(struct log_limit *limit, enum crash_log_level level,
		   const char *format, ...)
	__attribute__((format(printf, 3, 4)));

#endif
