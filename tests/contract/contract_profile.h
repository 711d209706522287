/*
 * contract_profile.h - what a store promises, as data.
 *
 * One suite covers stores of different capabilities: a profile says, per
 * part type, whether the store keeps it, refuses it or accepts and drops
 * it; whether it serves reads, removes and mtimes; whether its parts have
 * versions; and what kind of queue it is.  Cases read these fields
 * through the helpers of contract_check.c and never test a store's type.
 *
 * The table (contract_profile.c):
 *
 *   full        every part kept, reads, removes, an immediate queue
 *               (memory, fallback, primary_deferred[_processed])
 *   no_queue    full, but saves are never queued (fs radix and legacy,
 *               poly)
 *   dated       full, with the fs dated layouts' queue: a crash is
 *               yielded once its date-branch slot is in the past
 *   no_dumps    raw and processed crashes kept, dumps refused with
 *               ENOTSUP or EROFS, no queue (PostgreSQL)
 *   queue_only  saves accepted and the raw crash's id queued; nothing
 *               kept, reads -ENOTSUP (RabbitMQ)
 *   null        saves accepted, nothing kept or found (Socorro's null)
 *
 * The queue of any profile can be overridden on the command line
 * (--queue none|immediate|dated, --no-queue, --dated-queue).
 */
#ifndef CRASHFS_TESTS_CONTRACT_CONTRACT_PROFILE_H
#define CRASHFS_TESTS_CONTRACT_CONTRACT_PROFILE_H

#include <stdbool.h>
#include <stdio.h>

enum part_fate {
	PART_KEPT = 1, /* saved, then found byte for byte */
	PART_REFUSED,  /* its save fails with -ENOTSUP or -EROFS and keeps
			  nothing (a save_raw_crash carrying such a part
			  too) */
	PART_DROPPED,  /* its save succeeds; it is never found */
};

enum queue_kind {
	QUEUE_NONE = 1,   /* saves are never yielded; new_crashes yields
			     nothing of them or is -ENOTSUP */
	QUEUE_IMMEDIATE,  /* a saved raw crash is in the next pass */
	QUEUE_DATED,      /* ... once its slot has passed (polled) */
};

struct contract_profile {
	const char *name;
	const char *promise;        /* one line, for --list */
	enum part_fate raw_crash, dumps, processed;
	bool reads;         /* stat, open, list: else -ENOTSUP */
	bool changes;       /* remove, remove_part, set_part_mtime: else
			       -EROFS or -ENOTSUP */
	bool part_versions; /* stat versions are never 0 */
	enum queue_kind queue;
	/* A crash saved again between a pass and the ack of its entry
	 * stays queued (the store versions its queue entries). */
	bool queue_versioned;
};

/* The profile named name, or NULL. */
const struct contract_profile *contract_profile_find(const char *name);
/* Parses "none", "immediate", "dated"; false if unknown. */
bool contract_queue_parse(const char *name, enum queue_kind *out);
const char *contract_queue_name(enum queue_kind kind);
const char *contract_fate_name(enum part_fate fate);
/* Prints the table, one profile a line. */
void contract_profile_print_all(FILE *out);

#endif
