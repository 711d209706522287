/*
 * cases_queue.c - the queue of new crashes (crash_store.h, struct
 * crash_queue_token): a pass yields saved raw crashes and takes nothing;
 * an ack with the entry a pass gave takes it out, once; an entry another
 * store issued is refused; a crash saved again between a pass and its ack
 * stays queued; the pass's callback may call the store; a removed crash
 * leaves the queue.
 *
 * Queue cases save crashes of today (UTC), as a collector would, so a
 * dated queue (the fs dated layouts) holds them until their date-branch
 * slot has passed: queue_wait_for polls for them (the suite's fs trees use
 * a slot of one second).  An immediate queue must yield them in the very
 * next pass.
 */
#include <errno.h>
#include <string.h>

#include "storage/memory/memory_store.h"
#include "tests/contract/cases.h"

static bool queue_applies(struct contract_test *t)
{
	if (t->profile->queue != QUEUE_NONE)
		return true;
	contract_not_applicable(t, "the profile has no queue");
	return false;
}

static void queue_id(struct contract_test *t, char out[CRASH_ID_LENGTH + 1],
		     unsigned head, unsigned index)
{
	contract_crash_id(t, out, head, 0, index, 0, &t->run->today);
}

static int ack(struct contract_test *t, const struct crash_queue_entry *entry,
	       struct crash_call *call)
{
	crash_call_init(call);
	return crash_store_ack_crash(t->store, call, entry);
}

static bool expect_acked(struct contract_test *t,
			 const struct crash_queue_entry *entry)
{
	struct crash_call call;
	return expect_ok(t, ack(t, entry, &call), &call, "ack_crash %s",
			 entry->crash_id);
}

/* A refused ack: any failure, reported as crash_error.h says. */
static void expect_ack_refused(struct contract_test *t,
			       const struct crash_queue_entry *entry,
			       const char *why)
{
	struct crash_call call;
	int result = ack(t, entry, &call);
	if (EXPECT(t, result < 0, "ack_crash %s (%s): %s, expected a refusal",
		   entry->crash_id, why, contract_errno_name(result)))
		EXPECT(t, call.error.code == result && call.error.message[0],
		       "ack_crash %s (%s): %s without a matching error report",
		       entry->crash_id, why, contract_errno_name(result));
}

static void expect_in_pass(struct contract_test *t, const char *crash_id,
			   bool queued, const char *when)
{
	struct queue_pass pass = { 0 };
	if (queue_run_pass(t, &pass) == 0)
		EXPECT(t, (queue_find(&pass, crash_id) != NULL) == queued,
		       "new_crashes %s: %s %s", when, crash_id,
		       queued ? "is missing" : "is still yielded");
	queue_pass_release(&pass);
}

void case_queue_pass(struct contract_test *t)
{
	char ids[3][CRASH_ID_LENGTH + 1];
	const char *wanted[3];
	struct model_crash crashes[3];
	struct contract_blob raw[3] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE,
					CONTRACT_BLOB_NONE };
	struct queue_pass first = { 0 }, second = { 0 }, third = { 0 };
	if (!queue_applies(t))
		return;
	for (unsigned i = 0; i < 3; i++) {
		queue_id(t, ids[i], 0x70, i);
		wanted[i] = ids[i];
		model_init(&crashes[i], ids[i]);
		if (!make_raw(t, &raw[i], ids[i], i, i) ||
		    !save_raw_crash(t, &crashes[i], &raw[i], NULL, 0))
			goto out;
	}
	if (!queue_wait_for(t, wanted, 3, &first))
		goto out;
	/* A pass consumes nothing. */
	queue_run_pass(t, &second);
	for (unsigned i = 0; i < 3; i++)
		EXPECT(t, queue_find(&second, ids[i]) != NULL,
		       "new_crashes: %s gone after a pass without its ack",
		       ids[i]);
	const struct crash_queue_entry *entry = queue_find(&second, ids[0]);
	if (!entry || !expect_acked(t, entry))
		goto out;
	/* Out of the queue, once; its crash stays in the store. */
	queue_run_pass(t, &third);
	EXPECT(t, queue_find(&third, ids[0]) == NULL,
	       "new_crashes: %s still yielded after its ack", ids[0]);
	for (unsigned i = 1; i < 3; i++)
		EXPECT(t, queue_find(&third, ids[i]) != NULL,
		       "new_crashes: %s gone with the ack of %s", ids[i],
		       ids[0]);
	struct crash_call call;
	expect_errno(t, ack(t, entry, &call), &call, ENOENT,
		     "ack_crash %s a second time", ids[0]);
	expect_crash(t, &crashes[0], false);
	for (unsigned i = 1; i < 3; i++) {
		const struct crash_queue_entry *found = queue_find(&third, ids[i]);
		if (found)
			expect_acked(t, found);
	}
	for (unsigned i = 0; i < 3; i++)
		expect_in_pass(t, ids[i], false, "after every ack");
out:
	queue_pass_release(&first);
	queue_pass_release(&second);
	queue_pass_release(&third);
	close_blobs(raw, 3);
}

void case_queue_foreign_issuer(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	const char *wanted[1] = { id };
	struct model_crash crash;
	struct contract_blob raw = CONTRACT_BLOB_NONE;
	struct queue_pass pass = { 0 };
	struct crash_store *foreign = NULL;
	if (!queue_applies(t))
		return;
	queue_id(t, id, 0x71, 1);
	model_init(&crash, id);
	if (!make_raw(t, &raw, id, 1, 1) ||
	    !save_raw_crash(t, &crash, &raw, NULL, 0) ||
	    !queue_wait_for(t, wanted, 1, &pass))
		goto out;
	const struct crash_queue_entry *entry = queue_find(&pass, id);
	/* The same entry as another store would have issued it, and with
	 * no issuer at all: not this tree's to take. */
	foreign = memory_store_new("contract.foreign");
	if (!EXPECT(t, foreign != NULL, "out of memory"))
		goto out;
	struct crash_queue_entry forged = *entry;
	forged.token.issuer = foreign;
	expect_ack_refused(t, &forged, "issued by a store outside the tree");
	forged.token.issuer = NULL;
	expect_ack_refused(t, &forged, "with no issuer");
	expect_in_pass(t, id, true, "after refused acks");
	expect_acked(t, entry);
out:
	crash_store_close(foreign);
	queue_pass_release(&pass);
	contract_blob_close(&raw);
}

void case_queue_saved_again(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	const char *wanted[1] = { id };
	struct model_crash crash;
	struct contract_blob raw[2] = { CONTRACT_BLOB_NONE, CONTRACT_BLOB_NONE };
	struct queue_pass pass = { 0 }, again = { 0 };
	if (!queue_applies(t))
		return;
	if (!t->profile->queue_versioned) {
		contract_not_applicable(t, "the profile does not version its "
					   "queue entries");
		return;
	}
	queue_id(t, id, 0x72, 1);
	model_init(&crash, id);
	/* Two versions of the raw crash, of the same size and mtime: only
	 * the save tells them apart. */
	if (!make_raw(t, &raw[0], id, 1, 7) || !make_raw(t, &raw[1], id, 2, 7) ||
	    !save_raw_crash(t, &crash, &raw[0], NULL, 0) ||
	    !queue_wait_for(t, wanted, 1, &pass))
		goto out;
	if (!save_raw_crash(t, &crash, &raw[1], NULL, 0))
		goto out;
	/* The ack of the version the pass saw leaves the new one queued. */
	expect_acked(t, queue_find(&pass, id));
	if (!queue_wait_for(t, wanted, 1, &again))
		goto out;
	expect_acked(t, queue_find(&again, id));
	expect_in_pass(t, id, false, "after the ack of the new version");
	expect_crash(t, &crash, false);
out:
	queue_pass_release(&pass);
	queue_pass_release(&again);
	close_blobs(raw, 2);
}

struct emit_calls {
	struct contract_test *t;
	struct model_crash *queued;
	struct model_crash *added;
	const struct contract_blob *added_raw;
	size_t count;
	unsigned acked, saved;
};

/* From inside the pass: look the crash up, take it out, save another. */
static int call_from_emit(void *ctx, const struct crash_queue_entry *entry)
{
	struct emit_calls *calls = ctx;
	struct contract_test *t = calls->t;
	for (size_t i = 0; i < calls->count; i++) {
		if (strcmp(entry->crash_id, calls->queued[i].id) != 0)
			continue;
		expect_crash(t, &calls->queued[i], false);
		if (expect_acked(t, entry))
			calls->acked++;
		if (save_raw_crash(t, &calls->added[i], &calls->added_raw[i],
				   NULL, 0))
			calls->saved++;
	}
	return 0;
}

void case_queue_calls_from_emit(struct contract_test *t)
{
	enum { COUNT = 3 };
	char ids[COUNT][CRASH_ID_LENGTH + 1], added[COUNT][CRASH_ID_LENGTH + 1];
	const char *wanted[COUNT], *wanted_added[COUNT];
	struct model_crash queued[COUNT], added_crashes[COUNT];
	struct contract_blob raw[2 * COUNT];
	struct queue_pass pass = { 0 };
	for (unsigned i = 0; i < 2 * COUNT; i++)
		raw[i] = (struct contract_blob)CONTRACT_BLOB_NONE;
	if (!queue_applies(t))
		return;
	for (unsigned i = 0; i < COUNT; i++) {
		queue_id(t, ids[i], 0x73, i);
		queue_id(t, added[i], 0x74, i);
		wanted[i] = ids[i];
		wanted_added[i] = added[i];
		model_init(&queued[i], ids[i]);
		model_init(&added_crashes[i], added[i]);
		if (!make_raw(t, &raw[i], ids[i], i, i) ||
		    !make_raw(t, &raw[COUNT + i], added[i], 10 + i, 10 + i) ||
		    !save_raw_crash(t, &queued[i], &raw[i], NULL, 0))
			goto out;
	}
	if (!queue_wait_for(t, wanted, COUNT, &pass))
		goto out;
	struct emit_calls calls = { .t = t,
				    .queued = queued,
				    .added = added_crashes,
				    .added_raw = &raw[COUNT],
				    .count = COUNT };
	struct crash_call call;
	crash_call_init(&call);
	expect_ok(t, crash_store_new_crashes(t->store, &call, call_from_emit,
					     &calls),
		  &call, "new_crashes calling the store from its callback");
	EXPECT(t, calls.acked == COUNT && calls.saved == COUNT,
	       "new_crashes: %u acks and %u saves from the callback, expected "
	       "%d each",
	       calls.acked, calls.saved, COUNT);
	for (unsigned i = 0; i < COUNT; i++)
		expect_in_pass(t, ids[i], false, "after acks from the callback");
	/* What the callback saved is queued in turn. */
	if (queue_wait_for(t, wanted_added, COUNT, &pass))
		for (unsigned i = 0; i < COUNT; i++)
			expect_acked(t, queue_find(&pass, added[i]));
out:
	queue_pass_release(&pass);
	close_blobs(raw, 2 * COUNT);
}

void case_queue_remove(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	const char *wanted[1] = { id };
	struct model_crash crash;
	struct contract_blob raw = CONTRACT_BLOB_NONE;
	struct queue_pass pass = { 0 };
	if (!queue_applies(t))
		return;
	if (!t->profile->changes || !part_kept(t, CRASH_PART_RAW_CRASH)) {
		contract_not_applicable(t, "the profile removes nothing");
		return;
	}
	queue_id(t, id, 0x75, 1);
	model_init(&crash, id);
	if (!make_raw(t, &raw, id, 1, 1) ||
	    !save_raw_crash(t, &crash, &raw, NULL, 0) ||
	    !queue_wait_for(t, wanted, 1, &pass))
		goto out;
	expect_remove(t, &crash);
	expect_in_pass(t, id, false, "after the crash was removed");
	struct crash_call call;
	expect_errno(t, ack(t, queue_find(&pass, id), &call), &call, ENOENT,
		     "ack_crash %s after its removal", id);
out:
	queue_pass_release(&pass);
	contract_blob_close(&raw);
}

void case_queue_none(struct contract_test *t)
{
	char id[CRASH_ID_LENGTH + 1];
	struct model_crash crash;
	struct contract_blob raw = CONTRACT_BLOB_NONE;
	struct queue_pass pass = { 0 };
	if (t->profile->queue != QUEUE_NONE) {
		contract_not_applicable(t, "the profile has a queue");
		return;
	}
	queue_id(t, id, 0x76, 1);
	model_init(&crash, id);
	if (!make_raw(t, &raw, id, 1, 1) ||
	    !save_raw_crash(t, &crash, &raw, NULL, 0))
		goto out;
	/* No pass yields it (or there are no passes: -ENOTSUP). */
	int result = queue_run_pass(t, &pass);
	if (result == 0)
		EXPECT(t, queue_find(&pass, id) == NULL,
		       "new_crashes: %s yielded by a store that is no queue",
		       id);
	struct crash_queue_entry made_up = { .token = { .issuer = t->store } };
	memcpy(made_up.crash_id, id, sizeof made_up.crash_id);
	expect_ack_refused(t, &made_up, "never yielded");
out:
	queue_pass_release(&pass);
	contract_blob_close(&raw);
}
