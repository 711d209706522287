/*
 * contract_profile.c - the table of profiles (see contract_profile.h).
 */
#include <string.h>

#include "tests/contract/contract_profile.h"

static const struct contract_profile profiles[] = {
	{
		.name = "full",
		.promise = "every part kept, reads, removes, an immediate "
			   "queue",
		.raw_crash = PART_KEPT,
		.dumps = PART_KEPT,
		.processed = PART_KEPT,
		.reads = true,
		.changes = true,
		.part_versions = true,
		.queue = QUEUE_IMMEDIATE,
		.queue_versioned = true,
	},
	{
		.name = "no_queue",
		.promise = "every part kept, reads, removes; saves are never "
			   "queued",
		.raw_crash = PART_KEPT,
		.dumps = PART_KEPT,
		.processed = PART_KEPT,
		.reads = true,
		.changes = true,
		.part_versions = true,
		.queue = QUEUE_NONE,
	},
	{
		.name = "dated",
		.promise = "every part kept, reads, removes; a crash is "
			   "queued once its date-branch slot has passed",
		.raw_crash = PART_KEPT,
		.dumps = PART_KEPT,
		.processed = PART_KEPT,
		.reads = true,
		.changes = true,
		.part_versions = true,
		.queue = QUEUE_DATED,
		.queue_versioned = true,
	},
	{
		.name = "no_dumps",
		.promise = "raw and processed crashes kept, dumps refused "
			   "(ENOTSUP/EROFS), reads, removes, no queue",
		.raw_crash = PART_KEPT,
		.dumps = PART_REFUSED,
		.processed = PART_KEPT,
		.reads = true,
		.changes = true,
		.part_versions = true,
		.queue = QUEUE_NONE,
	},
	{
		.name = "queue_only",
		.promise = "raw crashes queued, nothing kept; dumps and "
			   "processed crashes, reads and removes refused",
		.raw_crash = PART_DROPPED,
		.dumps = PART_REFUSED,
		.processed = PART_REFUSED,
		.reads = false,
		.changes = false,
		.part_versions = false,
		.queue = QUEUE_IMMEDIATE,
		.queue_versioned = true,
	},
	{
		.name = "null",
		.promise = "saves accepted, nothing kept: every crash absent, "
			   "every listing empty",
		.raw_crash = PART_DROPPED,
		.dumps = PART_DROPPED,
		.processed = PART_DROPPED,
		.reads = true,
		.changes = true,
		.part_versions = false,
		.queue = QUEUE_NONE,
	},
};

#define PROFILE_COUNT (sizeof profiles / sizeof profiles[0])

const struct contract_profile *contract_profile_find(const char *name)
{
	for (size_t i = 0; i < PROFILE_COUNT; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

static const char *const queue_names[] = {
	[QUEUE_NONE] = "none",
	[QUEUE_IMMEDIATE] = "immediate",
	[QUEUE_DATED] = "dated",
};

bool contract_queue_parse(const char *name, enum queue_kind *out)
{
	for (int kind = QUEUE_NONE; kind <= QUEUE_DATED; kind++) {
		if (strcmp(queue_names[kind], name) == 0) {
			*out = (enum queue_kind)kind;
			return true;
		}
	}
	return false;
}

const char *contract_queue_name(enum queue_kind kind)
{
	return kind >= QUEUE_NONE && kind <= QUEUE_DATED ? queue_names[kind]
							 : "?";
}

const char *contract_fate_name(enum part_fate fate)
{
	switch (fate) {
	case PART_KEPT:
		return "kept";
	case PART_REFUSED:
		return "refused";
	case PART_DROPPED:
		return "dropped";
	}
	return "?";
}

void contract_profile_print_all(FILE *out)
{
	for (size_t i = 0; i < PROFILE_COUNT; i++) {
		const struct contract_profile *p = &profiles[i];
		fprintf(out,
			"  %-10s %s\n"
			"             raw %s, dumps %s, processed %s; reads %s, "
			"changes %s, versions %s; queue %s%s\n",
			p->name, p->promise, contract_fate_name(p->raw_crash),
			contract_fate_name(p->dumps),
			contract_fate_name(p->processed),
			p->reads ? "yes" : "no", p->changes ? "yes" : "no",
			p->part_versions ? "yes" : "no",
			contract_queue_name(p->queue),
			p->queue_versioned ? " (versioned)" : "");
	}
}
