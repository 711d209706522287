/*
 * cases_errors.c - a store that fails (contract_faults.c makes it):
 * every operation the profile promises then fails with an error that is
 * not -ENOENT ("not here" is never an answer of a broken store), whose
 * report matches the result, and which is marked operational exactly
 * when the failure underneath was (crash_error.h: the executor retries
 * operational errors only).  Afterwards the store answers as before.
 *
 * A listing may fail when it is opened or at its first next; either is
 * checked.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tests/contract/cases.h"

#define DAY(t) (&(t)->run->day)

struct failing {
	struct contract_test *t;
	bool operational;
};

/* The failure of one operation: not -ENOENT, reported, marked as
 * injected. */
static void expect_failed(struct failing *f, int result,
			  const struct crash_call *call, const char *what)
{
	struct contract_test *t = f->t;
	if (!expect_failure(t, result, call, "%s while the store fails", what))
		return;
	EXPECT(t, call->error.operational == f->operational,
	       "%s while the store fails %s: the error is %s (%s)", what,
	       f->operational ? "transiently" : "for good",
	       call->error.operational ? "operational" : "not operational",
	       call->error.message);
}

static void expect_listing_failed(struct failing *f, int opened,
				  struct crash_listing *listing,
				  struct crash_call *call, const char *what)
{
	if (opened == 0) {
		struct entry_list list = { 0 };
		int result = entry_list_drain(listing, call, &list);
		entry_list_release(&list);
		expect_failed(f, result, call, what);
		return;
	}
	expect_failed(f, opened, call, what);
}

static int count_part(void *ctx, const struct crash_part *part,
		      const struct crash_part_stat *stat)
{
	(void)part, (void)stat;
	(*(unsigned *)ctx)++;
	return 0;
}

static int count_entry(void *ctx, const struct crash_queue_entry *entry)
{
	(void)entry;
	(*(unsigned *)ctx)++;
	return 0;
}

/* Every operation the profile promises, on a crash that is there (known)
 * and one that is not (fresh). */
static void try_everything(struct failing *f, const char *known,
			   const char *fresh, const char *leaf,
			   const struct contract_blob *raw,
			   const struct contract_blob *dump,
			   const struct crash_queue_entry *entry)
{
	struct contract_test *t = f->t;
	const struct contract_profile *p = t->profile;
	const struct crash_part raw_part = { CRASH_PART_RAW_CRASH, NULL };
	struct crash_call call;
	struct crash_blob raw_view = contract_blob_view(raw);
	struct crash_dump dump_view = { NULL, contract_blob_view(dump) };
	struct crash_part_stat stat;
	struct crash_listing *listing = NULL;
	const char *day = DAY(t)->name;
	unsigned count = 0;
	int fd = -1;

#define TRY(expression, what) \
	do { \
		crash_call_init(&call); \
		expect_failed(f, (expression), &call, (what)); \
	} while (0)

	TRY(crash_store_save_raw_crash(t->store, &call, fresh, &raw_view, NULL,
				       0),
	    "save_raw_crash");
	if (p->dumps != PART_REFUSED)
		TRY(crash_store_save_dump(t->store, &call, known, &dump_view),
		    "save_dump");
	if (p->reads) {
		TRY(crash_store_stat_crash(t->store, &call, known, NULL),
		    "stat_crash");
		TRY(crash_store_stat_part(t->store, &call, known, &raw_part,
					  &stat),
		    "stat_part");
		TRY(crash_store_open_part(t->store, &call, known, &raw_part,
					  &stat, &fd),
		    "open_part");
		if (fd >= 0)
			close(fd);
		TRY(crash_store_list_parts(t->store, &call, known, count_part,
					   &count),
		    "list_parts");
		TRY(crash_store_stat_radix_dir(t->store, &call, day, leaf,
					       NULL),
		    "stat_radix_dir");
		crash_call_init(&call);
		int opened = crash_store_open_days(t->store, &call, &listing);
		expect_listing_failed(f, opened, listing, &call, "open_days");
		listing = NULL;
		crash_call_init(&call);
		opened = crash_store_open_radix(t->store, &call, day, leaf,
						&listing);
		expect_listing_failed(f, opened, listing, &call, "open_radix");
		if (crash_store_can(t->store, list_crashes)) {
			struct crash_id_page page;
			TRY(crash_store_list_crashes(t->store, &call, day, leaf,
						     NULL, &page),
			    "list_crashes");
		}
	}
	if (p->changes) {
		struct timespec mtime = contract_mtime(3);
		TRY(crash_store_set_part_mtime(t->store, &call, known,
					       &raw_part, &mtime),
		    "set_part_mtime");
		TRY(crash_store_remove_part(t->store, &call, known, &raw_part),
		    "remove_part");
		TRY(crash_store_remove(t->store, &call, known), "remove");
	}
	if (p->queue != QUEUE_NONE) {
		TRY(crash_store_new_crashes(t->store, &call, count_entry,
					    &count),
		    "new_crashes");
		if (entry)
			TRY(crash_store_ack_crash(t->store, &call, entry),
			    "ack_crash");
	}
#undef TRY
}

static void run_errors(struct contract_test *t, bool operational)
{
	char reason[256], why[256];
	char known[CRASH_ID_LENGTH + 1], fresh[CRASH_ID_LENGTH + 1], leaf[9];
	struct model_crash crash;
	struct contract_blob b[3] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
				      CONTRACT_BLOB_NONE };
	struct queue_pass pass = { 0 };
	struct contract_faults *faults = contract_faults_find(t, reason,
							      sizeof reason);
	if (!faults) {
		contract_not_applicable(t, "%s", reason);
		return;
	}
	if (!contract_faults_can(faults, operational)) {
		contract_not_applicable(t, "%s cannot make %s failures",
					contract_faults_name(faults),
					operational ? "transient" : "final");
		goto out;
	}
	/* Queue cases' day, so a dated queue has yielded the crash by the
	 * time the store fails. */
	contract_crash_id(t, known, 0x80, 0, 1, 0, &t->run->today);
	contract_crash_id(t, fresh, 0x80, 0, 2, 0, &t->run->today);
	contract_head_prefix(t, 0x80, leaf);
	model_init(&crash, known);
	if (!make_raw(t, &b[0], known, 1, 1) || !make_dump(t, &b[1], 7, 99, 2) ||
	    !make_raw(t, &b[2], fresh, 2, 3) ||
	    !save_raw_crash(t, &crash, &b[0], NULL, 0))
		goto out;
	const char *wanted[1] = { known };
	const struct crash_queue_entry *entry = NULL;
	if (t->profile->queue != QUEUE_NONE) {
		if (!queue_wait_for(t, wanted, 1, &pass))
			goto out;
		entry = queue_find(&pass, known);
	}

	struct failing f = { .t = t, .operational = operational };
	if (!EXPECT(t, contract_faults_begin(faults, operational, why,
					     sizeof why),
		    "%s: %s", contract_faults_name(faults), why))
		goto out;
	try_everything(&f, known, fresh, leaf, &b[2], &b[1], entry);
	contract_faults_end(faults);

	/* Back to normal: nothing was lost, nothing half done. */
	expect_crash(t, &crash, false);
	struct model_crash fresh_crash;
	model_init(&fresh_crash, fresh);
	save_raw_crash(t, &fresh_crash, &b[2], NULL, 0);
	expect_crash(t, &fresh_crash, false);
	if (t->profile->queue != QUEUE_NONE &&
	    queue_wait_for(t, wanted, 1, &pass)) {
		struct crash_call call;
		crash_call_init(&call);
		expect_ok(t, crash_store_ack_crash(t->store, &call,
						   queue_find(&pass, known)),
			  &call, "ack_crash %s after the failures", known);
	}
out:
	queue_pass_release(&pass);
	close_blobs(b, 3);
	contract_faults_free(faults);
}

void case_errors_operational(struct contract_test *t)
{
	run_errors(t, true);
}

void case_errors_final(struct contract_test *t)
{
	run_errors(t, false);
}
