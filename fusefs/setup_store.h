/*
 * setup_store.h - crashfs --setup-store CONFIG: prepare the servers of a
 * store tree (tables, partitions) before it is mounted.
 *
 * Opens the tree of CONFIG (a store tree .json; a directory needs no
 * setup, and is refused with exit status 2) and runs each node's setup (crash_store.h): one line per object
 * created on stdout, errors on stderr.  Idempotent: a second run creates
 * nothing and prints nothing but its summary.
 *
 * Called from main, on one thread, instead of mounting.
 */
#ifndef CRASHFS_FUSEFS_SETUP_STORE_H
#define CRASHFS_FUSEFS_SETUP_STORE_H

/* Returns the exit status: 0, 1 (a failure, printed) or 2 (usage). */
int setup_store_main(int argc, char *argv[]);

#endif
