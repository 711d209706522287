/*
 * setup_store.c - crashfs --setup-store (see setup_store.h).
 */
#include <stdio.h>
#include <string.h>

#include "fusefs/setup_store.h"
#include "mountopts/store_types.h"
#include "storage/crash_log.h"
#include "storage/store_registry.h"

static void print_created(void *ctx, const char *created)
{
	unsigned *count = ctx;
	(*count)++;
	printf("created %s\n", created);
	fflush(stdout);
}

static bool ends_with(const char *text, const char *suffix)
{
	size_t length = strlen(text), suffix_length = strlen(suffix);
	return length >= suffix_length &&
	       strcmp(text + length - suffix_length, suffix) == 0;
}

int setup_store_main(int argc, char *argv[])
{
	struct crash_error error = { 0 };
	struct crash_store *store = NULL;

	if (argc != 3 || !ends_with(argv[2], ".json")) {
		fprintf(stderr,
			"usage: crashfs --setup-store CONFIG.json (a store "
			"tree: prepares its servers, then exits)\n");
		return 2;
	}
	crash_log_set_level(CRASH_LOG_WARNING);
	struct crash_store_env env = { .types = crashfs_store_types };
	if (store_registry_open_file(argv[2], &env, &store, &error) < 0) {
		fprintf(stderr, "crashfs: %s\n", error.message);
		return 1;
	}
	struct crash_call call;
	unsigned created = 0;
	crash_call_init(&call);
	int result = crash_store_setup_tree(store, &call, print_created,
					    &created);
	crash_store_close(store);
	if (result < 0) {
		fprintf(stderr, "crashfs: setup failed: %s\n",
			call.error.message[0] ? call.error.message
					      : strerror(-result));
		return 1;
	}
	printf("%s: set up, %u object(s) created\n", argv[2], created);
	return 0;
}
