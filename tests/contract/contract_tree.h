/*
 * contract_tree.h - the run's work directory and the JSON store tree (see
 * contract_tree.c); contract_tree_open is in contract.h, for cases.
 *
 * Called by the runner, from one thread, before and after the cases.
 */
#ifndef CRASHFS_TESTS_CONTRACT_CONTRACT_TREE_H
#define CRASHFS_TESTS_CONTRACT_CONTRACT_TREE_H

#include <stddef.h>

#include "tests/contract/contract.h"

/* Makes run->work_dir and run->spool_dir; 0 or a negative errno (error
 * says why). */
int contract_work_dir_make(struct contract_run *run, char *error,
			   size_t size);
/* Removes the work directory and everything in it. */
void contract_work_dir_remove(struct contract_run *run);

/* Reads the tree from argument (JSON text if it starts with '{', else a
 * file name): a store node or {"store": ..., "stores": ...}; resolves
 * "@scratch" to the work directory into run->tree_text. */
int contract_tree_load(struct contract_run *run, const char *argument,
		       char *error, size_t size);

#endif
