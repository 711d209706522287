/*
 * fuzz_mount_options.c - the command line and its -o options
 * (mountopts/mount_options.h).
 *
 * Input: the arguments after "crashfs", one per line (at most 16), e.g.
 *   /nonexistent/src\n/mnt\n-o\nlayout=dated,view=legacy,spool_max=1G
 * Parsing reads the filesystem (stat of SOURCE, the current directory)
 * and writes nothing.  Whatever the arguments: a usage error has a
 * message; a parse that succeeds has an absolute SOURCE without trailing
 * slash, sizes and timeouts within their documented bounds, and for a
 * directory SOURCE an fs store node, which is then opened in validate-only
 * mode (nothing is created).  Every size argument that parses is the
 * number it spells.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "mountopts/mount_options.h"
#include "mountopts/store_types.h"
#include "storage/store_registry.h"
#include "tests/fuzz/fuzz_util.h"

#define ARGUMENTS_MAX 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	return 0;
}

/* mount_parse_size: digits, then an optional K/M/G/T (powers of 1024). */
static void check_size(const char *text)
{
	uint64_t value;
	if (mount_parse_size(text, &value) < 0)
		return;
	const char *digits_end = text;
	while (*digits_end >= '0' && *digits_end <= '9')
		digits_end++;
	FUZZ_ASSERT(digits_end > text, "%s", text);
	unsigned shift = 0;
	switch (*digits_end) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: FUZZ_ASSERT(*digits_end == '\0', "%s", text);
	}
	FUZZ_ASSERT(value % ((uint64_t)1 << shift) == 0, "%s", text);
	char spelled[32];
	snprintf(spelled, sizeof spelled, "%llu",
		 (unsigned long long)(value >> shift));
	/* The digits may have leading zeros; the number is the same. */
	const char *digits = text;
	while (*digits == '0' && digits + 1 < digits_end)
		digits++;
	FUZZ_ASSERT(strlen(spelled) == (size_t)(digits_end - digits) &&
			    strncmp(spelled, digits, strlen(spelled)) == 0,
		    "%s parses as %llu", text, (unsigned long long)value);
}

static void check_options(const struct mount_options *options)
{
	const char *source = options->source;
	size_t length = strlen(source);
	FUZZ_ASSERT(source[0] == '/', "%s", source);
	FUZZ_ASSERT(length == 1 || source[length - 1] != '/', "%s", source);
	FUZZ_ASSERT(!options->spool_dir || options->spool_dir[0] == '/', "%s",
		    options->spool_dir);
	FUZZ_ASSERT(options->spool_max >= 1 && options->json_max >= 2 &&
			    options->staged_max >= 1 &&
			    options->pending_max >= 1,
		    "sizes");
	FUZZ_ASSERT(options->cache_timeout >= 0 &&
			    options->cache_timeout <= 1e9,
		    "%g", options->cache_timeout);
	FUZZ_ASSERT(options->log_level <= CRASH_LOG_DEBUG, "%d",
		    (int)options->log_level);
	FUZZ_ASSERT(options->retry_policy, "retry");
	FUZZ_ASSERT(options->conn_opts, "conn_opts");
	FUZZ_ASSERT(options->source_is_json == !options->store_node,
		    "store node");
	if (!options->store_node)
		return;
	FUZZ_ASSERT(options->layout, "layout");
	struct crash_store_env env = { .types = crashfs_store_types,
				       .validate_only = true };
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	int result = store_registry_open(options->store_node, "store", &env,
					 &store, &error);
	FUZZ_ASSERT(result == 0 ? store != NULL
				: (store == NULL && error.message[0]),
		    "%d", result);
	crash_store_close(store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	char *argv[ARGUMENTS_MAX + 2] = { "crashfs" };
	int argc = 1;
	for (char *line = text; line && argc <= ARGUMENTS_MAX; argc++) {
		argv[argc] = line;
		line = strchr(line, '\n');
		if (line)
			*line++ = '\0';
		check_size(argv[argc]);
	}
	argv[argc] = NULL;

	struct mount_options options;
	char error[256];
	int result = mount_options_parse(argc, argv, &options, error,
					 sizeof error);
	if (result != 0) {
		FUZZ_ASSERT(result == MOUNT_OPTIONS_USAGE_ERROR, "%d", result);
		FUZZ_ASSERT(error[0], "a usage error without a message");
	} else if (!options.show_help && !options.show_version) {
		check_options(&options);
	}
	mount_options_release(&options);
	free(text);
	return 0;
}
