/*
 * crash_log.c - one line per event, to stderr or syslog.
 *
 * The level and the syslog switch are set once at startup, before threads
 * exist; afterwards they are only read (atomics keep sanitizers honest).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "storage/crash_log.h"

static atomic_int log_level = CRASH_LOG_INFO;
static atomic_bool log_to_syslog;

static const char *const level_names[] = {
	[CRASH_LOG_ERROR] = "error",
	[CRASH_LOG_WARNING] = "warning",
	[CRASH_LOG_INFO] = "info",
	[CRASH_LOG_DEBUG] = "debug",
};

static const int syslog_priorities[] = {
	[CRASH_LOG_ERROR] = LOG_ERR,
	[CRASH_LOG_WARNING] = LOG_WARNING,
	[CRASH_LOG_INFO] = LOG_INFO,
	[CRASH_LOG_DEBUG] = LOG_DEBUG,
};

void crash_log_set_level(enum crash_log_level level)
{
	atomic_store(&log_level, level);
}

void crash_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&log_to_syslog, true);
}

/*
 * Control characters (a newline in a file name, an escape sequence) are
 * written as \n, \t, \r, \xHH and a backslash as \\, so one event is
 * always one line and no name can forge another line or drive a terminal.
 * Bytes of 0x80 and above pass unchanged (UTF-8 names stay readable).
 */
static void escape_line(const char *raw, char *out, size_t out_size)
{
	size_t used = 0;
	for (const unsigned char *c = (const unsigned char *)raw; *c; c++) {
		char piece[5];
		if (*c == '\n')
			snprintf(piece, sizeof piece, "\\n");
		else if (*c == '\t')
			snprintf(piece, sizeof piece, "\\t");
		else if (*c == '\r')
			snprintf(piece, sizeof piece, "\\r");
		else if (*c == '\\')
			snprintf(piece, sizeof piece, "\\\\");
		else if (*c < 0x20 || *c == 0x7f)
			snprintf(piece, sizeof piece, "\\x%02x", *c);
		else
			snprintf(piece, sizeof piece, "%c", *c);
		size_t length = strlen(piece);
		if (used + length >= out_size)
			break;
		memcpy(out + used, piece, length);
		used += length;
	}
	out[used] = '\0';
}

void crash_log(enum crash_log_level level, const char *format, ...)
{
	char raw[1024], line[2048];
	va_list args;

	if ((int)level > atomic_load(&log_level))
		return;
	va_start(args, format);
	vsnprintf(raw, sizeof raw, format, args);
	va_end(args);
	escape_line(raw, line, sizeof line);
	if (atomic_load(&log_to_syslog)) {
		syslog(syslog_priorities[level], "%s", line);
		return;
	}
	/* One fprintf per line, so lines of different threads never mix. */
	struct timespec now;
	struct tm utc;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &utc);
	fprintf(stderr, "crashfs %04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s\n",
		utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
		utc.tm_min, utc.tm_sec, now.tv_nsec / 1000000,
		level_names[level], line);
}
