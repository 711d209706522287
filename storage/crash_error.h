/*
 * crash_error.h - the error a store operation reports.
 *
 * code is a negative errno (0: no error).  -ENOENT is reserved for "not in
 * this store" (crash_store.h).  operational marks a transient failure (a
 * server down, a connection reset): the transaction executor may reconnect
 * and retry it; anything else is final.  message is one line, no newline,
 * saying what and why, ready to log.
 *
 * A struct crash_error lives inside one struct crash_call and is used by one
 * thread only.
 */
#ifndef CRASHFS_STORAGE_CRASH_ERROR_H
#define CRASHFS_STORAGE_CRASH_ERROR_H

#include <stdbool.h>

#define CRASH_ERROR_MESSAGE_MAX 512

struct crash_error {
	int code;
	bool operational;
	char message[CRASH_ERROR_MESSAGE_MAX];
};

/* Records an error and returns code, so a function can end with
 *   return crash_error_set(&call->error, -EIO, "write %s: %s", ...); */
int crash_error_set(struct crash_error *error, int code, const char *format,
		    ...) __attribute__((format(printf, 3, 4)));
/* Same, for a transient failure the executor may retry. */
int crash_error_set_operational(struct crash_error *error, int code,
				const char *format, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the current message, e.g. with a store's node path. */
void crash_error_prefix(struct crash_error *error, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
void crash_error_clear(struct crash_error *error);

#endif
