/*
 * fuzz_util.h - what the libFuzzer targets share: a failed invariant is a
 * finding (printed, then abort() so libFuzzer saves the input), and inputs
 * as NUL-terminated strings.
 *
 * Each target is one file defining LLVMFuzzerTestOneInput (and, where it
 * needs set-up, LLVMFuzzerInitialize); libFuzzer calls it from one thread.
 */
#ifndef CRASHFS_TESTS_FUZZ_FUZZ_UTIL_H
#define CRASHFS_TESTS_FUZZ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* FUZZ_ASSERT(condition, "format", ...): the invariant and what broke it. */
#define FUZZ_ASSERT(condition, ...) \
	do { \
		if (!(condition)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", \
				__FILE__, __LINE__, #condition); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* size bytes as a malloc'd string (cut at the first NUL byte, if any). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

#endif
