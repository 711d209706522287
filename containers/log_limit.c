/*
 * log_limit.c - one line per interval, and how many were held back.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "containers/log_limit.h"

static double monotonic_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void log_limit_init(struct log_limit *limit, double interval)
{
	pthread_mutex_init(&limit->lock, NULL);
	limit->interval = interval;
	limit->last = 0;
	limit->written = false;
	limit->held_back = 0;
}

void log_limit_destroy(struct log_limit *limit)
{
	pthread_mutex_destroy(&limit->lock);
}

bool log_limit_log(struct log_limit *limit, enum crash_log_level level,
		   const char *format, ...)
{
	double now = monotonic_seconds();
	uint64_t held_back;
	double since;

	pthread_mutex_lock(&limit->lock);
	if (limit->written && now - limit->last < limit->interval) {
		limit->held_back++;
		pthread_mutex_unlock(&limit->lock);
		return false;
	}
	held_back = limit->held_back;
	since = limit->written ? now - limit->last : 0;
	limit->held_back = 0;
	limit->last = now;
	limit->written = true;
	pthread_mutex_unlock(&limit->lock);

	char line[900];
	va_list args;
	va_start(args, format);
	vsnprintf(line, sizeof line, format, args);
	va_end(args);
	if (held_back > 0)
		crash_log(level, "%s (%" PRIu64 " more like this in the last "
			  "%.0f s)", line, held_back, since);
	else
		crash_log(level, "%s", line);
	return true;
}
