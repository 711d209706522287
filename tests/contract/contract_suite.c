/*
 * contract_suite.c - runs the contract cases against one store tree.
 *
 *   contract_suite [--profile NAME] [--case PATTERN]... [--queue KIND]
 *                  [--outage CMD] [--case-timeout SECONDS]
 *                  [--keep-work-dir] STORE_JSON_FILE_OR_TEXT
 *   contract_suite --list
 *
 * Each case opens the tree afresh (store_registry_open_buffer with the
 * daemon's table of types), runs, closes it, and is reported on one line:
 * "PASS name", "FAIL name: the first failure" (every failure is also
 * written to stderr with its file and line) or "N/A name: why" when the
 * profile promises nothing that case could check.  The exit status is 1
 * if any case failed, 2 for a usage or setup error, else 0.
 *
 * A watchdog ends the run with a FAIL if a case does not finish within
 * --case-timeout seconds (default 60): a deadlock (a store holding a lock
 * while it calls back, say) is a failure with a name, not a hung test.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "tests/contract/cases.h"
#include "tests/contract/contract.h"
#include "tests/contract/contract_tree.h"

struct contract_case {
	const char *name;
	void (*run)(struct contract_test *t);
	const char *checks; /* for --list */
};

static const struct contract_case cases[] = {
	{ "save_and_read", case_save_and_read,
	  "a raw crash, then dumps and a processed crash: stat, open (bytes), "
	  "list_parts" },
	{ "not_found", case_not_found,
	  "-ENOENT for a missing crash, a missing part, an unknown day, a "
	  "missing radix directory" },
	{ "resave", case_resave,
	  "a save replaces the parts it gives and keeps the others" },
	{ "dump_names", case_dump_names,
	  "the main dump is NULL, the store's main dump name is the same "
	  "part, named dumps are distinct parts" },
	{ "empty_parts", case_empty_parts, "parts of zero bytes" },
	{ "dump_before_raw_crash", case_dump_before_raw_crash,
	  "a dump saved before its raw crash makes the crash" },
	{ "mtimes", case_mtimes,
	  "mtimes kept as saved (to the nanosecond) and set by "
	  "set_part_mtime" },
	{ "versions", case_versions,
	  "part versions: the same while only read, new when the bytes "
	  "change" },
	{ "directory_mtimes", case_directory_mtimes,
	  "stat_crash and stat_radix_dir mtimes never go backwards" },
	{ "big_parts", case_big_parts,
	  "parts of a few MiB, streamed from descriptors positioned at their "
	  "end" },
	{ "adoptable_blobs", case_adoptable_blobs,
	  "blobs offered for adoption (spool files) are stored byte for "
	  "byte" },
	{ "days", case_days, "open_days lists the days of saved crashes once" },
	{ "radix_levels", case_radix_levels,
	  "radix directories at every level for depths 1, 2 and 4" },
	{ "paging", case_paging,
	  "more than a page (256) of crashes: list_crashes pages, radix "
	  "listings across pages" },
	{ "list_crashes", case_list_crashes,
	  "list_crashes: prefixes of any length, after, order" },
	{ "listing_while_saving", case_listing_while_saving,
	  "listings stay right while other threads save" },
	{ "calls_between_next", case_calls_between_next,
	  "the store may be called between two crash_listing_next calls" },
	{ "remove", case_remove,
	  "a removed crash is gone from lookups and listings; neighbours "
	  "stay" },
	{ "remove_part", case_remove_part,
	  "remove_part takes one part and leaves the others" },
	{ "radix_dirs_after_remove", case_radix_dirs_after_remove,
	  "radix directories go with their crashes, or with "
	  "remove_radix_dir" },
	{ "queue_pass", case_queue_pass,
	  "new_crashes yields saved raw crashes and takes nothing; ack takes "
	  "one out, once" },
	{ "queue_foreign_issuer", case_queue_foreign_issuer,
	  "an entry another store issued is refused" },
	{ "queue_saved_again", case_queue_saved_again,
	  "a crash saved again between a pass and its ack stays queued" },
	{ "queue_calls_from_emit", case_queue_calls_from_emit,
	  "the pass's callback may call the store: ack, save, stat" },
	{ "queue_remove", case_queue_remove,
	  "a removed crash leaves the queue" },
	{ "queue_none", case_queue_none,
	  "a store that is no queue never yields a saved crash" },
	{ "errors_operational", case_errors_operational,
	  "a store failing transiently: never -ENOENT, errors operational" },
	{ "errors_final", case_errors_final,
	  "a store failing for good: never -ENOENT, errors not operational" },
};

#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* -- failures ------------------------------------------------------------- */

void contract_fail(struct contract_test *t, const char *file, int line,
		   const char *format, ...)
{
	char message[512];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof message, format, args);
	va_end(args);
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	pthread_mutex_lock(&t->lock);
	if (t->failures++ == 0)
		snprintf(t->first_failure, sizeof t->first_failure, "%s",
			 message);
	fprintf(stderr, "  %s: %s:%d: %s\n", t->name, base, line, message);
	pthread_mutex_unlock(&t->lock);
}

void contract_not_applicable(struct contract_test *t, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(t->reason, sizeof t->reason, format, args);
	va_end(args);
	t->not_applicable = true;
}

/* -- the watchdog ----------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	const char *case_name; /* NULL: no case running */
	struct timespec deadline; /* CLOCK_MONOTONIC */
	int seconds;
} watchdog = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *watch(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&watchdog.lock);
	for (;;) {
		if (!watchdog.case_name) {
			pthread_cond_wait(&watchdog.changed, &watchdog.lock);
			continue;
		}
		int waited = pthread_cond_timedwait(&watchdog.changed,
						    &watchdog.lock,
						    &watchdog.deadline);
		if (waited == ETIMEDOUT && watchdog.case_name) {
			printf("FAIL  %s: no end within %d s (a deadlock, or "
			       "a call that hangs)\n",
			       watchdog.case_name, watchdog.seconds);
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

static int watchdog_start(int seconds)
{
	pthread_condattr_t attributes;
	pthread_t thread;
	watchdog.seconds = seconds;
	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(&watchdog.changed, &attributes);
	pthread_condattr_destroy(&attributes);
	if (pthread_create(&thread, NULL, watch, NULL) != 0)
		return -1;
	pthread_detach(thread);
	return 0;
}

static void watchdog_arm(const char *case_name)
{
	pthread_mutex_lock(&watchdog.lock);
	clock_gettime(CLOCK_MONOTONIC, &watchdog.deadline);
	watchdog.deadline.tv_sec += watchdog.seconds;
	watchdog.case_name = case_name;
	pthread_cond_signal(&watchdog.changed);
	pthread_mutex_unlock(&watchdog.lock);
}

static void watchdog_disarm(void)
{
	pthread_mutex_lock(&watchdog.lock);
	watchdog.case_name = NULL;
	pthread_cond_signal(&watchdog.changed);
	pthread_mutex_unlock(&watchdog.lock);
}

/* -- running ---------------------------------------------------------------- */

enum outcome { PASSED, FAILED, NOT_APPLICABLE };

static enum outcome run_case(const struct contract_run *run, size_t index)
{
	const struct contract_case *c = &cases[index];
	struct contract_test t = {
		.run = run,
		.profile = &run->profile,
		.name = c->name,
		.tag = (unsigned)index + 1,
	};
	struct crash_error error = { 0 };
	pthread_mutex_init(&t.lock, NULL);
	int result = contract_tree_open(run, &t.store, &error);
	if (result < 0) {
		printf("FAIL  %s: cannot open the tree: %s\n", c->name,
		       error.message);
		pthread_mutex_destroy(&t.lock);
		return FAILED;
	}
	crash_store_naming(t.store, &t.naming);
	watchdog_arm(c->name);
	c->run(&t);
	watchdog_disarm();
	crash_store_close(t.store);
	pthread_mutex_destroy(&t.lock);
	if (t.failures > 0) {
		printf("FAIL  %s: %s%s\n", c->name, t.first_failure,
		       t.failures > 1 ? " (and more, on stderr)" : "");
		return FAILED;
	}
	if (t.not_applicable) {
		printf("N/A   %s: %s\n", c->name, t.reason);
		return NOT_APPLICABLE;
	}
	printf("PASS  %s\n", c->name);
	return PASSED;
}

static bool selected(const char *name, char **patterns, size_t count)
{
	if (count == 0)
		return true;
	for (size_t i = 0; i < count; i++)
		if (fnmatch(patterns[i], name, 0) == 0)
			return true;
	return false;
}

/* The days of the run: a day of 2014-2015 picked by the nonce (so
 * servers keeping data across runs do not pile every run on one day),
 * the day after it, today (UTC) and a day no case uses. */
static void pick_days(struct contract_run *run)
{
	struct tm first = { .tm_year = 114, .tm_mon = 0, .tm_mday = 1,
			    .tm_hour = 12 };
	time_t base = timegm(&first) + (time_t)((run->nonce >> 16) % 700) *
					       86400;
	struct tm day, next, today;
	time_t after = base + 86400, now = time(NULL);
	gmtime_r(&base, &day);
	gmtime_r(&after, &next);
	gmtime_r(&now, &today);
	contract_day_set(&run->day, day.tm_year + 1900, day.tm_mon + 1,
			 day.tm_mday);
	contract_day_set(&run->other_day, next.tm_year + 1900,
			 next.tm_mon + 1, next.tm_mday);
	contract_day_set(&run->today, today.tm_year + 1900, today.tm_mon + 1,
			 today.tm_mday);
	contract_day_set(&run->unused_day, 2001, 1, 1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: contract_suite [--profile NAME] [--case PATTERN]... "
		"[--queue none|immediate|dated]\n"
		"                      [--no-queue] [--dated-queue] "
		"[--outage CMD] [--case-timeout SECONDS]\n"
		"                      [--keep-work-dir] "
		"STORE_JSON_FILE_OR_TEXT\n"
		"       contract_suite --list\n");
}

static void list_everything(void)
{
	printf("profiles:\n");
	contract_profile_print_all(stdout);
	printf("cases:\n");
	for (size_t i = 0; i < CASE_COUNT; i++)
		printf("  %-24s %s\n", cases[i].name, cases[i].checks);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "case", required_argument, NULL, 'c' },
		{ "queue", required_argument, NULL, 'q' },
		{ "no-queue", no_argument, NULL, 'n' },
		{ "dated-queue", no_argument, NULL, 'd' },
		{ "outage", required_argument, NULL, 'o' },
		{ "case-timeout", required_argument, NULL, 't' },
		{ "keep-work-dir", no_argument, NULL, 'k' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct contract_run run = { 0 };
	const char *profile_name = "full";
	char *patterns[64];
	size_t pattern_count = 0;
	bool queue_given = false, keep_work_dir = false;
	enum queue_kind queue = QUEUE_NONE;
	int case_timeout = 60, option;
	char error[512];

	while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (option) {
		case 'p':
			profile_name = optarg;
			break;
		case 'c':
			if (pattern_count < sizeof patterns / sizeof patterns[0])
				patterns[pattern_count++] = optarg;
			break;
		case 'q':
			if (!contract_queue_parse(optarg, &queue)) {
				fprintf(stderr, "contract_suite: unknown queue "
						"kind \"%s\"\n",
					optarg);
				return 2;
			}
			queue_given = true;
			break;
		case 'n':
			queue = QUEUE_NONE;
			queue_given = true;
			break;
		case 'd':
			queue = QUEUE_DATED;
			queue_given = true;
			break;
		case 'o':
			run.outage_command = optarg;
			break;
		case 't':
			case_timeout = atoi(optarg);
			if (case_timeout <= 0) {
				fprintf(stderr, "contract_suite: "
						"--case-timeout wants seconds\n");
				return 2;
			}
			break;
		case 'k':
			keep_work_dir = true;
			break;
		case 'l':
			list_everything();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	const struct contract_profile *profile =
		contract_profile_find(profile_name);
	if (!profile) {
		fprintf(stderr, "contract_suite: unknown profile \"%s\"; the "
				"profiles are:\n",
			profile_name);
		contract_profile_print_all(stderr);
		return 2;
	}
	run.profile = *profile;
	if (queue_given)
		run.profile.queue = queue;
	if (getrandom(&run.nonce, sizeof run.nonce, 0) != sizeof run.nonce)
		run.nonce = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	pick_days(&run);
	/* Store log lines only when something is wrong. */
	crash_log_set_level(CRASH_LOG_ERROR);

	if (contract_work_dir_make(&run, error, sizeof error) < 0 ||
	    contract_tree_load(&run, argv[optind], error, sizeof error) < 0) {
		fprintf(stderr, "contract_suite: %s\n", error);
		if (!keep_work_dir)
			contract_work_dir_remove(&run);
		return 2;
	}
	if (watchdog_start(case_timeout) < 0) {
		fprintf(stderr, "contract_suite: cannot start the watchdog\n");
		contract_work_dir_remove(&run);
		return 2;
	}
	printf("contract_suite: profile %s (queue %s), tree %s, work "
	       "directory %s, run %08x, day %s\n",
	       run.profile.name, contract_queue_name(run.profile.queue),
	       run.tree_source, run.work_dir, run.nonce, run.day.name);
	fflush(stdout);

	unsigned counts[3] = { 0, 0, 0 };
	for (size_t i = 0; i < CASE_COUNT; i++) {
		if (!selected(cases[i].name, patterns, pattern_count))
			continue;
		counts[run_case(&run, i)]++;
		fflush(stdout);
	}
	printf("contract_suite: %u passed, %u failed, %u not applicable\n",
	       counts[PASSED], counts[FAILED], counts[NOT_APPLICABLE]);
	if (keep_work_dir)
		printf("contract_suite: kept %s\n", run.work_dir);
	else
		contract_work_dir_remove(&run);
	free(run.tree_text);
	if (counts[PASSED] + counts[FAILED] + counts[NOT_APPLICABLE] == 0) {
		fprintf(stderr, "contract_suite: no case matches\n");
		return 2;
	}
	return counts[FAILED] > 0 ? 1 : 0;
}
