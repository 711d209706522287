/*
 * contract_faults.c - making the store under test fail, for the errors
 * case.  Three ways, the first that fits the tree:
 *
 *   memory    every leaf of the tree is a memory store: each is told to
 *             fail every call (memory_store_fail_all), operationally or
 *             not, so a container's own handling of its members'
 *             failures is what is tested.
 *   files     the tree has faulty stores (storage/faulty/faulty_store.h)
 *             whose faults fire while a trigger file exists: the suite
 *             creates "<work dir>/fault-operational" (a fault with
 *             "operational": true) or "<work dir>/fault-final"
 *             ("operational": false).  In the JSON they are
 *             "@scratch/fault-operational" and "@scratch/fault-final".
 *   command   --outage CMD: "CMD begin" takes the store's server down
 *             (stop it, firewall its port), "CMD end" brings it back;
 *             the failures must then be operational.  For server stores
 *             run from their own test harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/memory/memory_store.h"
#include "tests/contract/contract.h"

#define LEAVES_MAX 64

enum fault_way { FAULTS_MEMORY = 1, FAULTS_FILES, FAULTS_COMMAND };

struct contract_faults {
	enum fault_way way;
	struct crash_store *leaves[LEAVES_MAX];
	size_t leaf_count;
	char operational_file[PATH_MAX];
	char final_file[PATH_MAX];
	const char *command;
};

struct tree_survey {
	struct crash_store *memory_leaves[LEAVES_MAX];
	size_t memory_count;
	size_t other_leaves;
	size_t faulty_nodes;
};

static void survey(struct crash_store *store, struct tree_survey *found)
{
	if (strcmp(store->ops->type_name, "faulty") == 0)
		found->faulty_nodes++;
	size_t count = crash_store_child_count(store);
	if (count == 0) {
		if (crash_store_downcast(store, &memory_store_ops) &&
		    found->memory_count < LEAVES_MAX)
			found->memory_leaves[found->memory_count++] = store;
		else
			found->other_leaves++;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		struct crash_store *child = crash_store_child(store, i);
		if (child)
			survey(child, found);
	}
}

struct contract_faults *contract_faults_find(struct contract_test *t,
					     char *reason, size_t size)
{
	struct tree_survey found = { .memory_count = 0 };
	survey(t->store, &found);
	struct contract_faults *faults = calloc(1, sizeof *faults);
	if (!faults) {
		snprintf(reason, size, "out of memory");
		return NULL;
	}
	if (found.memory_count > 0 && found.other_leaves == 0) {
		faults->way = FAULTS_MEMORY;
		memcpy(faults->leaves, found.memory_leaves,
		       found.memory_count * sizeof faults->leaves[0]);
		faults->leaf_count = found.memory_count;
	} else if (found.faulty_nodes > 0) {
		faults->way = FAULTS_FILES;
		snprintf(faults->operational_file,
			 sizeof faults->operational_file,
			 "%s/fault-operational", t->run->work_dir);
		snprintf(faults->final_file, sizeof faults->final_file,
			 "%s/fault-final", t->run->work_dir);
	} else if (t->run->outage_command) {
		faults->way = FAULTS_COMMAND;
		faults->command = t->run->outage_command;
	} else {
		free(faults);
		snprintf(reason, size,
			 "no way to make this tree fail: no memory or faulty "
			 "store in it, and no --outage command");
		return NULL;
	}
	return faults;
}

const char *contract_faults_name(const struct contract_faults *faults)
{
	switch (faults->way) {
	case FAULTS_MEMORY:
		return "memory_store_fail";
	case FAULTS_FILES:
		return "faulty trigger files";
	default:
		return "--outage command";
	}
}

bool contract_faults_can(const struct contract_faults *faults,
			 bool operational)
{
	/* An outage of a server is operational by nature. */
	return faults->way != FAULTS_COMMAND || operational;
}

static int run_command(const char *command, const char *argument)
{
	char *line;
	if (asprintf(&line, "%s %s", command, argument) < 0)
		return -1;
	int status = system(line);
	free(line);
	return status;
}

bool contract_faults_begin(struct contract_faults *faults, bool operational,
			   char *why, size_t why_size)
{
	switch (faults->way) {
	case FAULTS_MEMORY:
		for (size_t i = 0; i < faults->leaf_count; i++)
			memory_store_fail_all(faults->leaves[i], -1, -EIO,
					      operational);
		return true;
	case FAULTS_FILES: {
		const char *path = operational ? faults->operational_file
					       : faults->final_file;
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(why, why_size, "cannot create %s: %s", path,
				 strerror(errno));
			return false;
		}
		close(fd);
		return true;
	}
	case FAULTS_COMMAND:
		if (!operational) {
			snprintf(why, why_size,
				 "an outage can only be operational");
			return false;
		}
		if (run_command(faults->command, "begin") != 0) {
			snprintf(why, why_size, "\"%s begin\" failed",
				 faults->command);
			return false;
		}
		return true;
	}
	snprintf(why, why_size, "no fault injector");
	return false;
}

void contract_faults_end(struct contract_faults *faults)
{
	switch (faults->way) {
	case FAULTS_MEMORY:
		for (size_t i = 0; i < faults->leaf_count; i++)
			memory_store_heal(faults->leaves[i]);
		break;
	case FAULTS_FILES:
		unlink(faults->operational_file);
		unlink(faults->final_file);
		break;
	case FAULTS_COMMAND:
		if (run_command(faults->command, "end") != 0)
			fprintf(stderr, "contract_suite: \"%s end\" failed\n",
				faults->command);
		break;
	}
}

void contract_faults_free(struct contract_faults *faults)
{
	free(faults);
}
