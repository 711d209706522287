/*
 * crash_error.c - recording what went wrong in one line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "storage/crash_error.h"

static int error_vset(struct crash_error *error, int code, bool operational,
		      const char *format, va_list args)
	__attribute__((format(printf, 4, 0)));

static int error_vset(struct crash_error *error, int code, bool operational,
		      const char *format, va_list args)
{
	if (!error)
		return code;
	error->code = code;
	error->operational = operational;
	vsnprintf(error->message, sizeof error->message, format, args);
	/* One line: a message quoting bad input must not break the log. */
	for (char *c = error->message; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return code;
}

int crash_error_set(struct crash_error *error, int code, const char *format,
		    ...)
{
	va_list args;
	va_start(args, format);
	error_vset(error, code, false, format, args);
	va_end(args);
	return code;
}

int crash_error_set_operational(struct crash_error *error, int code,
				const char *format, ...)
{
	va_list args;
	va_start(args, format);
	error_vset(error, code, true, format, args);
	va_end(args);
	return code;
}

void crash_error_prefix(struct crash_error *error, const char *format, ...)
{
	char prefix[CRASH_ERROR_MESSAGE_MAX];
	char joined[2 * CRASH_ERROR_MESSAGE_MAX];
	va_list args;

	if (!error)
		return;
	va_start(args, format);
	vsnprintf(prefix, sizeof prefix, format, args);
	va_end(args);
	snprintf(joined, sizeof joined, "%s%s", prefix, error->message);
	/* Truncation keeps the start: the prefix says where it failed. */
	joined[sizeof error->message - 1] = '\0';
	memcpy(error->message, joined, sizeof error->message);
}

void crash_error_clear(struct crash_error *error)
{
	if (!error)
		return;
	error->code = 0;
	error->operational = false;
	error->message[0] = '\0';
}
