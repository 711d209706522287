/*
 * store_driver.c - drives a store tree through the C interface, one
 * command per line on stdin, for pytest tests of stores against live
 * servers (tests/functional/test_rabbitmq_queue.py): the test checks the
 * server with its own client between the commands.
 *
 *   store_driver STORES.json      (as a mount's SOURCE.json)
 *
 * Commands, and what they print (one reply line each, flushed; RESULT is
 * the operation's return value, 0 or a negative errno, MESSAGE the error
 * message or nothing):
 *
 *   save ID JSON...        save_raw_crash       save RESULT MESSAGE
 *   pass                   one new_crashes pass entry ID V0 V1 WHERE
 *                          (one line per entry), then pass RESULT MESSAGE
 *   ack ID V0 V1           ack_crash of the entry of that token
 *                                               ack RESULT MESSAGE
 *   ack-foreign ID V0 V1   the same token, issued by another store
 *                                               ack RESULT MESSAGE
 *   setup                  crashfs --setup-store created LINE ...,
 *                                               setup RESULT MESSAGE
 *   stats                  the stats tree       stats JSON
 *   close                  closes the tree      closed
 *   quit                   exits 0
 *
 * V0 V1 are the token's value[0] and value[1], as a pass printed them;
 * an ack goes to the store of the tree that issued the entries of the
 * last pass.  SIGPIPE keeps its default action, so a store that let a
 * broken connection raise it would kill the driver.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mountopts/store_types.h"
#include "storage/crash_log.h"
#include "storage/crash_store.h"
#include "storage/store_registry.h"

#define LINE_MAX_LENGTH 65536

static struct crash_store *tree;
/* The issuer of the last pass's entries (a store of the tree). */
static const struct crash_store *last_issuer;

static void reply(const char *verb, int result, const struct crash_call *call)
{
	printf("%s %d %s\n", verb, result,
	       result < 0 ? call->error.message : "");
	fflush(stdout);
}

static int save_command(char *arguments)
{
	char *crash_id = strtok(arguments, " ");
	char *text = crash_id ? strtok(NULL, "") : NULL;
	struct crash_call call;
	crash_call_init(&call);
	if (!crash_id || !text) {
		crash_error_set(&call.error, -EINVAL, "usage: save ID JSON");
		reply("save", -EINVAL, &call);
		return 0;
	}
	FILE *file = tmpfile();
	fputs(text, file);
	fflush(file);
	json_t *json = json_loads(text, JSON_DECODE_ANY, NULL);
	struct crash_blob blob = { .fd = fileno(file),
				   .size = (off_t)strlen(text),
				   .json = json };
	int result = crash_store_save_raw_crash(tree, &call, crash_id, &blob,
						NULL, 0);
	json_decref(json);
	fclose(file);
	reply("save", result, &call);
	return 0;
}

static int print_entry(void *ctx, const struct crash_queue_entry *entry)
{
	last_issuer = entry->token.issuer;
	printf("entry %s %" PRIu64 " %" PRIu64 " %s\n", entry->crash_id,
	       entry->token.value[0], entry->token.value[1],
	       entry->token.where[0] ? entry->token.where : "-");
	return 0;
}

static int pass_command(void)
{
	struct crash_call call;
	crash_call_init(&call);
	int result = crash_store_new_crashes(tree, &call, print_entry, NULL);
	reply("pass", result, &call);
	return 0;
}

static int ack_command(char *arguments, bool foreign)
{
	static const char other_store; /* an issuer no store of the tree is */
	struct crash_queue_entry entry = { .crash_id = "" };
	struct crash_call call;
	crash_call_init(&call);
	if (sscanf(arguments, "%36s %" SCNu64 " %" SCNu64, entry.crash_id,
		   &entry.token.value[0], &entry.token.value[1]) != 3) {
		crash_error_set(&call.error, -EINVAL, "usage: ack ID V0 V1");
		reply("ack", -EINVAL, &call);
		return 0;
	}
	entry.token.issuer = foreign ? (const struct crash_store *)&other_store
				     : last_issuer;
	int result = crash_store_ack_crash(tree, &call, &entry);
	reply("ack", result, &call);
	return 0;
}

static void print_created(void *ctx, const char *created)
{
	printf("created %s\n", created);
}

static int setup_command(void)
{
	struct crash_call call;
	crash_call_init(&call);
	int result = crash_store_setup_tree(tree, &call, print_created, NULL);
	reply("setup", result, &call);
	return 0;
}

static int stats_command(void)
{
	json_t *stats = crash_store_stats(tree);
	char *text = json_dumps(stats, JSON_COMPACT | JSON_SORT_KEYS);
	printf("stats %s\n", text ? text : "{}");
	fflush(stdout);
	free(text);
	json_decref(stats);
	return 0;
}

/* Runs one command line; 1 to quit. */
static int run(char *line)
{
	line[strcspn(line, "\n")] = '\0';
	char *verb = strtok(line, " ");
	char *arguments = verb ? strtok(NULL, "") : NULL;
	if (!arguments)
		arguments = "";
	if (!verb)
		return 0;
	if (strcmp(verb, "quit") == 0)
		return 1;
	if (strcmp(verb, "close") == 0) {
		crash_store_close(tree);
		tree = NULL;
		printf("closed\n");
		fflush(stdout);
		return 0;
	}
	if (!tree) {
		printf("error the tree is closed\n");
		fflush(stdout);
		return 0;
	}
	if (strcmp(verb, "save") == 0)
		return save_command(arguments);
	if (strcmp(verb, "pass") == 0)
		return pass_command();
	if (strcmp(verb, "ack") == 0)
		return ack_command(arguments, false);
	if (strcmp(verb, "ack-foreign") == 0)
		return ack_command(arguments, true);
	if (strcmp(verb, "setup") == 0)
		return setup_command();
	if (strcmp(verb, "stats") == 0)
		return stats_command();
	printf("error unknown command %s\n", verb);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s STORES.json\n", argv[0]);
		return 2;
	}
	crash_log_set_level(CRASH_LOG_DEBUG);
	struct crash_store_env env = { .types = crashfs_store_types };
	struct crash_error error = { 0 };
	if (store_registry_open_file(argv[1], &env, &tree, &error) < 0) {
		fprintf(stderr, "store_driver: %s\n", error.message);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	static char line[LINE_MAX_LENGTH];
	while (fgets(line, sizeof line, stdin))
		if (run(line))
			break;
	crash_store_close(tree);
	return 0;
}
