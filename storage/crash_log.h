/*
 * crash_log.h - one line per event, saying what and why.
 *
 * Lines go to stderr, or to syslog once crash_log_use_syslog() was called
 * (the daemon does so when it detaches).  Safe from any thread: each line is
 * written with one call.
 */
#ifndef CRASHFS_STORAGE_CRASH_LOG_H
#define CRASHFS_STORAGE_CRASH_LOG_H

enum crash_log_level {
	CRASH_LOG_ERROR = 0,
	CRASH_LOG_WARNING,
	CRASH_LOG_INFO,
	CRASH_LOG_DEBUG,
};

void crash_log(enum crash_log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
/* Lines above this level are dropped (default CRASH_LOG_INFO). */
void crash_log_set_level(enum crash_log_level level);
void crash_log_use_syslog(const char *ident);

#endif
