/*
 * contract.h - what the modules of the contract suite share.
 *
 * The suite runs the same cases against any store built from a JSON store
 * tree, so that a new backend proves itself by passing them.  What a case
 * expects comes from storage/crash_store.h and storage/crash_listing.h,
 * narrowed by a profile (contract_profile.h): what the store under test
 * promises to keep (every part, no dumps, nothing at all), whether it
 * serves reads, whether it is a queue.
 *
 *   contract_suite.c    the command line, the case table, the runner
 *   contract_profile.c  the profiles (a table of expectations)
 *   contract_tree.c     the work directory and opening the store tree
 *   contract_data.c     crash ids, part bytes, blobs
 *   contract_check.c    expectations: results, parts, listings, the queue
 *   contract_faults.c   making the store under test fail
 *   cases_*.c           the cases, one function each
 *
 * A case gets a freshly opened store (struct contract_test) and records
 * failures with FAIL/EXPECT; it never assumes the store is empty: a
 * server store keeps what earlier runs saved, so every case uses crash ids
 * of its own (a random run nonce, its own radix directory) and checks
 * that its own entries appear exactly once, whatever else is there.
 *
 * Threads: the runner is single-threaded; a case may start threads of its
 * own (cases_listings.c), which record failures through contract_fail
 * (serialised by a mutex).
 */
#ifndef CRASHFS_TESTS_CONTRACT_CONTRACT_H
#define CRASHFS_TESTS_CONTRACT_CONTRACT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "storage/crash_listing.h"
#include "storage/crash_part.h"
#include "storage/crash_store.h"
#include "tests/contract/contract_profile.h"

/* -- a run and a case ----------------------------------------------------- */

struct contract_day {
	int year, month, day;
	char name[CRASH_DAY_LENGTH + 1]; /* YYYYMMDD */
};

/* What every case of one run shares; read-only once the cases start. */
struct contract_run {
	struct contract_profile profile;  /* the chosen one, flags applied */
	const char *tree_source;          /* the file name, or "(text)" */
	char *tree_text;                  /* {"store": ...}, @scratch resolved */
	char *work_dir;                   /* the suite's own directory */
	char *spool_dir;                  /* <work_dir>/spool: blob files */
	const char *outage_command;       /* --outage CMD, or NULL */
	uint32_t nonce;                   /* makes this run's crash ids unique */
	struct contract_day day;          /* this run's main day */
	struct contract_day other_day;    /* the day after it */
	struct contract_day today;        /* UTC, for queue cases */
	struct contract_day unused_day;   /* no case ever saves there */
};

/* One case being run. */
struct contract_test {
	const struct contract_run *run;
	const struct contract_profile *profile;
	const char *name;
	unsigned tag;               /* the case's number: its radix directory */
	struct crash_store *store;  /* opened for this case */
	struct crash_store_naming naming;
	pthread_mutex_t lock;       /* failures below, from any thread */
	unsigned failures;
	char first_failure[640];
	bool not_applicable;
	char reason[256];           /* why not applicable */
};

/* Records a failure (the first one is the case's reason). */
void contract_fail(struct contract_test *t, const char *file, int line,
		   const char *format, ...)
	__attribute__((format(printf, 4, 5)));
/* Ends a case as "not applicable" with a reason (nothing failed). */
void contract_not_applicable(struct contract_test *t, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

#define FAIL(t, ...) contract_fail((t), __FILE__, __LINE__, __VA_ARGS__)
/* Evaluates to cond; records a failure when it is false. */
#define EXPECT(t, cond, ...) \
	((cond) ? true : (contract_fail((t), __FILE__, __LINE__, __VA_ARGS__), \
			  false))

/* -- crash ids and days (contract_data.c) --------------------------------- */

void contract_day_set(struct contract_day *day, int year, int month,
		      int mday);

/*
 * A crash id of this run and case:
 *
 *   NNNNkkhh-nnnn-gggg-iiii-iiiiiDYYMMDD
 *
 * NNNN is 16 bits of the run's nonce (its radix directories NN/NN, so a
 * server keeping earlier runs' crashes rarely mixes them with this
 * run's), kk the case's tag (so NN/NN/kk is the case's own directory),
 * hh a head the case chooses (the fourth radix level), nnnn more of the
 * nonce, gggg a group the case chooses and i an index; D the depth digit
 * (0: four levels).  Ids of one case sort by head, group, then index.
 */
void contract_crash_id(const struct contract_test *t,
		       char out[CRASH_ID_LENGTH + 1], unsigned head,
		       unsigned group, uint64_t index, int depth_digit,
		       const struct contract_day *day);
/* Radix prefixes: the case's own directory "NNNNkk", a head's
 * "NNNNkkhh", and "NNNNff", a directory of level 3 no case uses. */
void contract_case_prefix(const struct contract_test *t, char out[7]);
void contract_head_prefix(const struct contract_test *t, unsigned head,
			  char out[9]);
void contract_unused_prefix(const struct contract_test *t, char out[7]);
/* A head no case uses, for directories that must not exist. */
#define CONTRACT_HEAD_UNUSED 0xffu

/* -- the bytes of parts (contract_data.c) --------------------------------- */

/*
 * A part's bytes as the suite keeps them: in a file of its own (a memfd,
 * or a file in the spool directory when adoptable), left positioned at
 * its end so that a store reading from the current offset instead of
 * pread would be caught.  json is the parsed raw crash (or the
 * decompressed processed crash), passed as blob.json as the mount does.
 */
struct contract_blob {
	int fd;
	off_t size;
	struct timespec mtime;
	json_t *json;
	char *path;       /* adoptable spool file, or NULL */
};

/* A raw crash for crash_id: a JSON object (serial makes versions
 * differ).  0 or a negative errno. */
int contract_blob_raw_crash(struct contract_blob *blob, const char *crash_id,
			    unsigned serial, const struct timespec *mtime);
/* A processed crash: gzip of a JSON object of about padding bytes more. */
int contract_blob_processed(struct contract_blob *blob, const char *crash_id,
			    unsigned serial, size_t padding,
			    const struct timespec *mtime);
/* size bytes of a pseudo-random stream seeded by seed (dumps). */
int contract_blob_bytes(struct contract_blob *blob, uint64_t seed, off_t size,
			const struct timespec *mtime);
/* The same as a file of the spool directory offered for adoption. */
int contract_blob_adoptable(struct contract_blob *blob, const char *spool_dir,
			    uint64_t seed, off_t size,
			    const struct timespec *mtime);
void contract_blob_close(struct contract_blob *blob);
/* The struct crash_blob handed to a store. */
struct crash_blob contract_blob_view(const struct contract_blob *blob);
/* True if fd holds exactly blob's bytes (read from offset 0 in chunks);
 * else false with why. */
bool contract_blob_matches(const struct contract_blob *blob, int fd,
			   char *why, size_t why_size);

/* A time with nanoseconds, distinct per n. */
struct timespec contract_mtime(unsigned n);

/* -- expectations (contract_check.c) -------------------------------------- */

/* The name of an errno ("ENOENT"), for messages. */
const char *contract_errno_name(int code);

/* Each records a failure (naming what, printf-style) unless the result
 * is the expected one; a failing result must come with call->error set
 * to it and a one-line message.  They return whether it was as expected. */
bool expect_ok(struct contract_test *t, int result,
	       const struct crash_call *call, const char *format, ...)
	__attribute__((format(printf, 4, 5)));
bool expect_errno(struct contract_test *t, int result,
		  const struct crash_call *call, int code, const char *format,
		  ...) __attribute__((format(printf, 5, 6)));
/* -ENOTSUP or -EROFS: the store does not do this. */
bool expect_refused(struct contract_test *t, int result,
		    const struct crash_call *call, const char *format, ...)
	__attribute__((format(printf, 4, 5)));
/* Any failure but -ENOENT, reported as crash_error.h says. */
bool expect_failure(struct contract_test *t, int result,
		    const struct crash_call *call, const char *format, ...)
	__attribute__((format(printf, 4, 5)));

/* What a case believes one crash holds: the parts it saved successfully
 * (the profile then says which of them the store keeps). */
#define MODEL_PARTS_MAX 12
struct model_part {
	struct crash_part part; /* dump_name points into name */
	char name[CRASH_DUMP_NAME_MAX + 1];
	const struct contract_blob *blob;
};
struct model_crash {
	char id[CRASH_ID_LENGTH + 1];
	struct model_part parts[MODEL_PARTS_MAX];
	size_t count;
};

void model_init(struct model_crash *crash, const char *crash_id);
/* Records blob as the part (NULL: the part is gone); dump names are
 * normalised as the store promises (its main dump name is the main dump). */
void model_set(struct contract_test *t, struct model_crash *crash,
	       enum crash_part_type type, const char *dump_name,
	       const struct contract_blob *blob);
void model_clear(struct model_crash *crash);
const struct model_part *model_find(const struct model_crash *crash,
				    const struct crash_part *part);
/* True if the store keeps some part the case saved. */
bool model_kept(const struct contract_test *t, const struct model_crash *crash);
bool part_kept(const struct contract_test *t, enum crash_part_type type);

/* The saves, with the result the profile promises; the model records what
 * was saved.  dumps may be NULL when count is 0. */
struct model_dump {
	const char *dump_name;
	const struct contract_blob *blob;
};
bool save_raw_crash(struct contract_test *t, struct model_crash *crash,
		    const struct contract_blob *raw,
		    const struct model_dump *dumps, size_t count);
bool save_dump(struct contract_test *t, struct model_crash *crash,
	       const char *dump_name, const struct contract_blob *blob);
bool save_processed(struct contract_test *t, struct model_crash *crash,
		    const struct contract_blob *blob);

/* One part: stat_part and open_part agree with the model (bytes, size,
 * mtime, mode, version), or say -ENOENT (-ENOTSUP without reads). */
void expect_part(struct contract_test *t, const struct model_crash *crash,
		 const struct crash_part *part);
/* The whole crash: stat_crash, every part the model has, the parts it
 * lacks (raw, main dump, processed, a dump never saved) and list_parts.
 * empty_ok: the crash lost all its parts by remove_part, where the store
 * may still keep it as an empty crash (see README.md). */
void expect_crash(struct contract_test *t, const struct model_crash *crash,
		  bool empty_ok);
/* stat_part of part: its stat (0) or a failure recorded. */
int stat_of(struct contract_test *t, const char *crash_id,
	    const struct crash_part *part, struct crash_part_stat *stat);

/* -- listings -------------------------------------------------------------- */

struct entry_list {
	struct crash_listing_entry *items;
	size_t count, capacity;
};
void entry_list_release(struct entry_list *list);
int entry_list_add(struct entry_list *list,
		   const struct crash_listing_entry *entry);
/* Drains listing (closing it) into list; next's result (0 or < 0). */
int entry_list_drain(struct crash_listing *listing, struct crash_call *call,
		     struct entry_list *list);
size_t entry_list_count(const struct entry_list *list,
			enum crash_listing_kind kind, const char *name);
/* Records a failure for any entry listed twice. */
void expect_unique(struct contract_test *t, const struct entry_list *list,
		   const char *what);
/* open_radix (open_days) + drain into list; the result of open, or of
 * next, with call->error set. */
int list_radix(struct contract_test *t, struct crash_call *call,
	       const char *day, const char *prefix, struct entry_list *list);
int list_days(struct contract_test *t, struct crash_call *call,
	      struct entry_list *list);
/* Every entry of a radix listing is well formed for day/prefix: a
 * component valid at its level, or a crash of that day, prefix and
 * depth. */
void expect_radix_entries_valid(struct contract_test *t, const char *day,
				const char *prefix,
				const struct entry_list *list);

/* -- the queue ------------------------------------------------------------- */

struct queue_pass {
	struct crash_queue_entry *entries;
	size_t count, capacity;
	int result;
};
void queue_pass_release(struct queue_pass *pass);
/* One pass of new_crashes, checked: each entry a valid id, issued by a
 * store of the tree, yielded once. */
int queue_run_pass(struct contract_test *t, struct queue_pass *pass);
const struct crash_queue_entry *queue_find(const struct queue_pass *pass,
					   const char *crash_id);
/* Passes until every one of ids is yielded: at once for an immediate
 * queue, polled for a dated one (its slot must pass first).  True with
 * the last pass in *pass; false (failure recorded) if they never come. */
bool queue_wait_for(struct contract_test *t, const char *const *ids,
		    size_t count, struct queue_pass *pass);

/* -- faults (contract_faults.c) -------------------------------------------- */

/* A way to make the store under test fail: NULL and a reason if the tree
 * and the options offer none. */
struct contract_faults;
struct contract_faults *contract_faults_find(struct contract_test *t,
					     char *reason, size_t size);
/* Every store call fails from now on: operationally (a server down) or
 * not.  false if this injector cannot do that kind (with why). */
bool contract_faults_begin(struct contract_faults *faults, bool operational,
			   char *why, size_t why_size);
/* Calls succeed again. */
void contract_faults_end(struct contract_faults *faults);
bool contract_faults_can(const struct contract_faults *faults,
			 bool operational);
const char *contract_faults_name(const struct contract_faults *faults);
void contract_faults_free(struct contract_faults *faults);

/* -- the work directory (contract_tree.c) ---------------------------------- */

/* Opens the run's store tree (a new store per case). */
int contract_tree_open(const struct contract_run *run,
		       struct crash_store **out, struct crash_error *error);

#endif
