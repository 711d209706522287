/*
 * cases.h - the cases of the contract suite, one function each, and the
 * few helpers their files share.
 *
 * A case runs on a store opened for it alone (but whose data may outlive
 * it: fs roots and servers are shared by the cases of a run).  It decides
 * from the profile, never from the store's type, what to expect, and
 * calls contract_not_applicable when the profile promises nothing it
 * could check (a queue case on a store that is no queue).
 */
#ifndef CRASHFS_TESTS_CONTRACT_CASES_H
#define CRASHFS_TESTS_CONTRACT_CASES_H

#include "tests/contract/contract.h"

/* cases_parts.c */
void case_save_and_read(struct contract_test *t);
void case_not_found(struct contract_test *t);
void case_resave(struct contract_test *t);
void case_dump_names(struct contract_test *t);
void case_empty_parts(struct contract_test *t);
void case_dump_before_raw_crash(struct contract_test *t);
void case_mtimes(struct contract_test *t);
void case_versions(struct contract_test *t);
void case_directory_mtimes(struct contract_test *t);
void case_big_parts(struct contract_test *t);
void case_adoptable_blobs(struct contract_test *t);

/* cases_listings.c */
void case_days(struct contract_test *t);
void case_radix_levels(struct contract_test *t);
void case_paging(struct contract_test *t);
void case_list_crashes(struct contract_test *t);
void case_listing_while_saving(struct contract_test *t);
void case_calls_between_next(struct contract_test *t);

/* cases_removal.c */
void case_remove(struct contract_test *t);
void case_remove_part(struct contract_test *t);
void case_radix_dirs_after_remove(struct contract_test *t);

/* cases_queue.c */
void case_queue_pass(struct contract_test *t);
void case_queue_foreign_issuer(struct contract_test *t);
void case_queue_saved_again(struct contract_test *t);
void case_queue_calls_from_emit(struct contract_test *t);
void case_queue_remove(struct contract_test *t);
void case_queue_none(struct contract_test *t);

/* cases_errors.c */
void case_errors_operational(struct contract_test *t);
void case_errors_final(struct contract_test *t);

/* -- shared helpers (contract_check.c) ------------------------------------ */

/* A blob no case has made yet (safe to close). */
#define CONTRACT_BLOB_NONE { .fd = -1 }

/* Blob makers recording a failure when the suite cannot make one. */
bool make_raw(struct contract_test *t, struct contract_blob *blob,
	      const char *crash_id, unsigned serial, unsigned mtime);
bool make_dump(struct contract_test *t, struct contract_blob *blob,
	       uint64_t seed, off_t size, unsigned mtime);
bool make_processed(struct contract_test *t, struct contract_blob *blob,
		    const char *crash_id, unsigned serial, size_t padding,
		    unsigned mtime);
void close_blobs(struct contract_blob *blobs, size_t count);

/* Removals, with the result the profile and the model promise; the model
 * follows what was removed. */
void expect_remove(struct contract_test *t, struct model_crash *crash);
void expect_remove_part(struct contract_test *t, struct model_crash *crash,
			const struct crash_part *part);
/* set_part_mtime; on success the blob's mtime is the new expectation. */
void expect_set_mtime(struct contract_test *t, struct model_crash *crash,
		      const struct crash_part *part,
		      struct contract_blob *blob,
		      const struct timespec *mtime);

/* stat_radix_dir day/prefix: 0 (here) or -ENOENT (absent) as expected;
 * -ENOTSUP without reads.  The stat's mtime in *mtime if not NULL. */
void expect_radix_dir(struct contract_test *t, const char *day,
		      const char *prefix, bool here,
		      struct crash_dir_stat *mtime);

#endif
