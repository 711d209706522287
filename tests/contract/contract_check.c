/*
 * contract_check.c - the expectations cases share: results and their
 * error reports, crashes and parts against the case's model, listings and
 * queue passes.
 *
 * The profile is read here and nowhere else in the part checks: a part a
 * case saved is expected back byte for byte if the profile keeps that
 * type, -ENOENT if it drops or refused it, -ENOTSUP if the store serves no
 * reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"
#include "tests/contract/cases.h"
#include "tests/contract/contract.h"

/* How long a dated queue may take to yield a crash: its date-branch slot
 * must pass (minute_slice_interval seconds; the suite's fs trees use 1). */
#define DATED_QUEUE_WAIT_SECONDS 30
#define QUEUE_POLL_NANOSECONDS (50 * 1000 * 1000)

const char *contract_errno_name(int code)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		return "0";
	if (code == ENOTSUP)
		return "ENOTSUP"; /* strerrorname_np says EOPNOTSUPP */
	const char *name = strerrorname_np(code);
	return name ? name : "an unknown errno";
}

/* -- results ---------------------------------------------------------------- */

/* "EIO (message)" for a failed call, "success" for 0. */
static void describe(char *out, size_t size, int result,
		     const struct crash_call *call)
{
	if (result == 0)
		snprintf(out, size, "success");
	else if (result > 0)
		snprintf(out, size, "%d", result);
	else
		snprintf(out, size, "%s (%s)", contract_errno_name(result),
			 call->error.message[0] ? call->error.message
						: "no message");
}

/* A failing call reports what and why (crash_error.h): call->error.code
 * is the result and the message is one line. */
static bool check_report(struct contract_test *t, int result,
			 const struct crash_call *call, const char *what)
{
	if (result >= 0)
		return true;
	if (call->error.code != result)
		return EXPECT(t, false,
			      "%s: returned %s but call->error.code is %s", what,
			      contract_errno_name(result),
			      contract_errno_name(call->error.code));
	if (!call->error.message[0])
		return EXPECT(t, false, "%s: %s without a message", what,
			      contract_errno_name(result));
	return EXPECT(t, !strchr(call->error.message, '\n'),
		      "%s: the message is more than one line: %s", what,
		      call->error.message);
}

#define FORMAT_WHAT(what, format) \
	char what[320]; \
	do { \
		va_list args_; \
		va_start(args_, format); \
		vsnprintf(what, sizeof what, format, args_); \
		va_end(args_); \
	} while (0)

bool expect_ok(struct contract_test *t, int result,
	       const struct crash_call *call, const char *format, ...)
{
	FORMAT_WHAT(what, format);
	char got[CRASH_ERROR_MESSAGE_MAX + 32];
	if (result == 0)
		return true;
	describe(got, sizeof got, result, call);
	check_report(t, result, call, what);
	return EXPECT(t, false, "%s: %s, expected success", what, got);
}

bool expect_errno(struct contract_test *t, int result,
		  const struct crash_call *call, int code, const char *format,
		  ...)
{
	FORMAT_WHAT(what, format);
	char got[CRASH_ERROR_MESSAGE_MAX + 32];
	describe(got, sizeof got, result, call);
	if (!EXPECT(t, result == -code, "%s: %s, expected %s", what, got,
		    contract_errno_name(code)))
		return false;
	return check_report(t, result, call, what);
}

bool expect_refused(struct contract_test *t, int result,
		    const struct crash_call *call, const char *format, ...)
{
	FORMAT_WHAT(what, format);
	char got[CRASH_ERROR_MESSAGE_MAX + 32];
	describe(got, sizeof got, result, call);
	if (!EXPECT(t, result == -ENOTSUP || result == -EROFS,
		    "%s: %s, expected ENOTSUP or EROFS (the profile says the "
		    "store does not do this)",
		    what, got))
		return false;
	return check_report(t, result, call, what);
}

bool expect_failure(struct contract_test *t, int result,
		    const struct crash_call *call, const char *format, ...)
{
	FORMAT_WHAT(what, format);
	char got[CRASH_ERROR_MESSAGE_MAX + 32];
	describe(got, sizeof got, result, call);
	if (!EXPECT(t, result < 0, "%s: %s, expected a failure", what, got))
		return false;
	if (!EXPECT(t, result != -ENOENT,
		    "%s: %s: a failing store must not say \"not here\"", what,
		    got))
		return false;
	return check_report(t, result, call, what);
}

/* -- the model ---------------------------------------------------------------- */

static enum part_fate fate_of(const struct contract_profile *profile,
			      enum crash_part_type type)
{
	switch (type) {
	case CRASH_PART_RAW_CRASH:
		return profile->raw_crash;
	case CRASH_PART_DUMP:
		return profile->dumps;
	default:
		return profile->processed;
	}
}

bool part_kept(const struct contract_test *t, enum crash_part_type type)
{
	return fate_of(t->profile, type) == PART_KEPT;
}

static const char *normal_dump_name(const struct contract_test *t,
				    const char *dump_name)
{
	if (!dump_name || !dump_name[0] ||
	    strcmp(dump_name, t->naming.main_dump_name) == 0)
		return NULL;
	return dump_name;
}

void model_init(struct model_crash *crash, const char *crash_id)
{
	memset(crash, 0, sizeof *crash);
	snprintf(crash->id, sizeof crash->id, "%s", crash_id);
}

static struct model_part *find_part(struct model_crash *crash,
				    const struct crash_part *part)
{
	for (size_t i = 0; i < crash->count; i++)
		if (crash_part_equal(&crash->parts[i].part, part))
			return &crash->parts[i];
	return NULL;
}

const struct model_part *model_find(const struct model_crash *crash,
				    const struct crash_part *part)
{
	return find_part((struct model_crash *)crash, part);
}

void model_set(struct contract_test *t, struct model_crash *crash,
	       enum crash_part_type type, const char *dump_name,
	       const struct contract_blob *blob)
{
	struct crash_part part = {
		.type = type,
		.dump_name = type == CRASH_PART_DUMP
				     ? normal_dump_name(t, dump_name)
				     : NULL,
	};
	struct model_part *found = find_part(crash, &part);
	if (!blob) {
		if (found) {
			size_t index = (size_t)(found - crash->parts);
			crash->count--;
			for (size_t i = index; i < crash->count; i++) {
				crash->parts[i] = crash->parts[i + 1];
				if (crash->parts[i].part.dump_name)
					crash->parts[i].part.dump_name =
						crash->parts[i].name;
			}
		}
		return;
	}
	if (!found) {
		if (!EXPECT(t, crash->count < MODEL_PARTS_MAX,
			    "the suite's model holds %d parts at most",
			    MODEL_PARTS_MAX))
			return;
		found = &crash->parts[crash->count++];
		found->part = part;
		if (part.dump_name) {
			snprintf(found->name, sizeof found->name, "%s",
				 part.dump_name);
			found->part.dump_name = found->name;
		}
	}
	found->blob = blob;
}

void model_clear(struct model_crash *crash)
{
	crash->count = 0;
}

bool model_kept(const struct contract_test *t, const struct model_crash *crash)
{
	for (size_t i = 0; i < crash->count; i++)
		if (part_kept(t, crash->parts[i].part.type))
			return true;
	return false;
}

/* -- saves ------------------------------------------------------------------ */

bool save_raw_crash(struct contract_test *t, struct model_crash *crash,
		    const struct contract_blob *raw,
		    const struct model_dump *dumps, size_t count)
{
	struct crash_call call;
	struct crash_dump views[MODEL_PARTS_MAX];
	if (!EXPECT(t, count <= MODEL_PARTS_MAX, "too many dumps for the suite"))
		return false;
	for (size_t i = 0; i < count; i++) {
		views[i].dump_name = dumps[i].dump_name;
		views[i].blob = contract_blob_view(dumps[i].blob);
	}
	struct crash_blob raw_view = contract_blob_view(raw);
	crash_call_init(&call);
	int result = crash_store_save_raw_crash(t->store, &call, crash->id,
						&raw_view, views, count);
	bool refused = t->profile->raw_crash == PART_REFUSED ||
		       (count > 0 && t->profile->dumps == PART_REFUSED);
	if (refused) {
		expect_refused(t, result, &call,
			       "save_raw_crash %s with %zu dump(s)", crash->id,
			       count);
		return false;
	}
	if (!expect_ok(t, result, &call, "save_raw_crash %s with %zu dump(s)",
		       crash->id, count))
		return false;
	model_set(t, crash, CRASH_PART_RAW_CRASH, NULL, raw);
	for (size_t i = 0; i < count; i++)
		model_set(t, crash, CRASH_PART_DUMP, dumps[i].dump_name,
			  dumps[i].blob);
	return true;
}

bool save_dump(struct contract_test *t, struct model_crash *crash,
	       const char *dump_name, const struct contract_blob *blob)
{
	struct crash_call call;
	struct crash_dump dump = { .dump_name = dump_name,
				   .blob = contract_blob_view(blob) };
	crash_call_init(&call);
	int result = crash_store_save_dump(t->store, &call, crash->id, &dump);
	if (t->profile->dumps == PART_REFUSED) {
		expect_refused(t, result, &call, "save_dump %s %s", crash->id,
			       dump_name ? dump_name : "(main)");
		return false;
	}
	if (!expect_ok(t, result, &call, "save_dump %s %s", crash->id,
		       dump_name ? dump_name : "(main)"))
		return false;
	model_set(t, crash, CRASH_PART_DUMP, dump_name, blob);
	return true;
}

bool save_processed(struct contract_test *t, struct model_crash *crash,
		    const struct contract_blob *blob)
{
	struct crash_call call;
	struct crash_blob view = contract_blob_view(blob);
	crash_call_init(&call);
	int result = crash_store_save_processed(t->store, &call, crash->id,
						&view);
	if (t->profile->processed == PART_REFUSED) {
		expect_refused(t, result, &call, "save_processed %s",
			       crash->id);
		return false;
	}
	if (!expect_ok(t, result, &call, "save_processed %s", crash->id))
		return false;
	model_set(t, crash, CRASH_PART_PROCESSED, NULL, blob);
	return true;
}

/* -- parts -------------------------------------------------------------------- */

/* Writes a part's name for messages into buf and returns buf. */
static const char *part_label(const struct crash_part *part, char *buf,
			      size_t size)
{
	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
		snprintf(buf, size, "raw crash");
		break;
	case CRASH_PART_PROCESSED:
		snprintf(buf, size, "processed crash");
		break;
	default:
		if (!part->dump_name)
			snprintf(buf, size, "main dump");
		else
			snprintf(buf, size, "dump \"%.60s%s\"",
				 part->dump_name,
				 strlen(part->dump_name) > 60 ? "..." : "");
	}
	return buf;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int stat_of(struct contract_test *t, const char *crash_id,
	    const struct crash_part *part, struct crash_part_stat *stat)
{
	struct crash_call call;
	char label[96];
	crash_call_init(&call);
	memset(stat, 0, sizeof *stat);
	int result = crash_store_stat_part(t->store, &call, crash_id, part,
					   stat);
	expect_ok(t, result, &call, "stat_part %s %s", crash_id,
		  part_label(part, label, sizeof label));
	return result;
}

/* The stat of a kept part: as saved, and well formed. */
static void check_stat(struct contract_test *t, const char *what,
		       const struct crash_part_stat *stat,
		       const struct contract_blob *blob)
{
	EXPECT(t, stat->size == blob->size, "%s: size %lld, saved %lld", what,
	       (long long)stat->size, (long long)blob->size);
	EXPECT(t, same_time(&stat->mtime, &blob->mtime),
	       "%s: mtime %lld.%09ld, saved %lld.%09ld (kept as written)",
	       what, (long long)stat->mtime.tv_sec, stat->mtime.tv_nsec,
	       (long long)blob->mtime.tv_sec, blob->mtime.tv_nsec);
	EXPECT(t, (stat->mode & ~(mode_t)07777) == 0,
	       "%s: mode %o has more than permission bits", what,
	       (unsigned)stat->mode);
	if (t->profile->part_versions)
		EXPECT(t, stat->version != 0,
		       "%s: version 0, but the profile promises versions",
		       what);
}

static void expect_part_refused(struct contract_test *t, const char *crash_id,
				const struct crash_part *part,
				const char *label)
{
	struct crash_call call;
	struct crash_part_stat stat;
	int fd = -1;
	crash_call_init(&call);
	int result = crash_store_stat_part(t->store, &call, crash_id, part,
					   &stat);
	expect_errno(t, result, &call, ENOTSUP, "stat_part %s %s (no reads)",
		     crash_id, label);
	crash_call_init(&call);
	result = crash_store_open_part(t->store, &call, crash_id, part, &stat,
				       &fd);
	expect_errno(t, result, &call, ENOTSUP, "open_part %s %s (no reads)",
		     crash_id, label);
	if (fd >= 0)
		close(fd);
}

static void expect_part_absent(struct contract_test *t, const char *crash_id,
			       const struct crash_part *part,
			       const char *label)
{
	struct crash_call call;
	struct crash_part_stat stat;
	int fd = -1;
	crash_call_init(&call);
	int result = crash_store_stat_part(t->store, &call, crash_id, part,
					   &stat);
	expect_errno(t, result, &call, ENOENT, "stat_part %s %s", crash_id,
		     label);
	crash_call_init(&call);
	result = crash_store_open_part(t->store, &call, crash_id, part, &stat,
				       &fd);
	expect_errno(t, result, &call, ENOENT, "open_part %s %s", crash_id,
		     label);
	EXPECT(t, fd == -1, "open_part %s %s: answered %s but set a "
	       "descriptor", crash_id, label, contract_errno_name(result));
	if (fd >= 0)
		close(fd);
}

static void expect_part_kept(struct contract_test *t, const char *crash_id,
			     const struct crash_part *part, const char *label,
			     const struct contract_blob *blob)
{
	struct crash_call call;
	struct crash_part_stat by_stat, by_open;
	char what[200], why[160];
	int fd = -1;

	snprintf(what, sizeof what, "stat_part %s %s", crash_id, label);
	if (stat_of(t, crash_id, part, &by_stat) == 0)
		check_stat(t, what, &by_stat, blob);
	crash_call_init(&call);
	memset(&by_open, 0, sizeof by_open);
	int result = crash_store_open_part(t->store, &call, crash_id, part,
					   &by_open, &fd);
	snprintf(what, sizeof what, "open_part %s %s", crash_id, label);
	if (!expect_ok(t, result, &call, "%s", what))
		return;
	if (!EXPECT(t, fd >= 0, "%s: no descriptor", what))
		return;
	int flags = fcntl(fd, F_GETFL);
	EXPECT(t, flags >= 0 && (flags & O_ACCMODE) == O_RDONLY,
	       "%s: the descriptor is not read-only", what);
	check_stat(t, what, &by_open, blob);
	EXPECT(t, by_open.version == by_stat.version,
	       "%s: version %llu, stat_part said %llu", what,
	       (unsigned long long)by_open.version,
	       (unsigned long long)by_stat.version);
	EXPECT(t, contract_blob_matches(blob, fd, why, sizeof why),
	       "%s: the bytes read back %s", what, why);
	close(fd);
}

void expect_part(struct contract_test *t, const struct model_crash *crash,
		 const struct crash_part *part)
{
	char label[96];
	part_label(part, label, sizeof label);
	if (!t->profile->reads) {
		expect_part_refused(t, crash->id, part, label);
		return;
	}
	const struct model_part *saved = model_find(crash, part);
	if (saved && part_kept(t, part->type))
		expect_part_kept(t, crash->id, part, label, saved->blob);
	else
		expect_part_absent(t, crash->id, part, label);
}

/* -- list_parts ----------------------------------------------------------------- */

struct listed_parts {
	struct contract_test *t;
	const struct model_crash *crash;
	bool seen[MODEL_PARTS_MAX];
	unsigned emitted;
};

/* Checks one emitted part, calling the store from the callback (which
 * crash_store.h allows). */
static int check_listed_part(void *ctx, const struct crash_part *part,
			     const struct crash_part_stat *stat)
{
	struct listed_parts *listed = ctx;
	struct contract_test *t = listed->t;
	const char *id = listed->crash->id;
	char label[96];
	listed->emitted++;
	part_label(part, label, sizeof label);
	if (part->type == CRASH_PART_DUMP && part->dump_name) {
		if (!EXPECT(t, part->dump_name[0] &&
				       strcmp(part->dump_name,
					      t->naming.main_dump_name) != 0,
			    "list_parts %s: the main dump is reported as "
			    "\"%s\" (must be NULL: one spelling)",
			    id, part->dump_name))
			return 0;
	}
	const struct model_part *saved = model_find(listed->crash, part);
	if (!EXPECT(t, saved && part_kept(t, part->type),
		    "list_parts %s: %s was never saved (or is not kept)", id,
		    label))
		return 0;
	size_t index = (size_t)(saved - listed->crash->parts);
	EXPECT(t, !listed->seen[index], "list_parts %s: %s listed twice", id,
	       label);
	listed->seen[index] = true;
	struct crash_part_stat by_stat;
	if (stat_of(t, id, part, &by_stat) == 0) {
		EXPECT(t, stat->size == by_stat.size &&
				  same_time(&stat->mtime, &by_stat.mtime) &&
				  stat->version == by_stat.version,
		       "list_parts %s: %s: size, mtime or version differ from "
		       "stat_part's",
		       id, label);
	}
	return 0;
}

static void expect_listed_parts(struct contract_test *t,
				const struct model_crash *crash, bool here,
				bool empty_ok)
{
	struct crash_call call;
	struct listed_parts listed = { .t = t, .crash = crash };
	crash_call_init(&call);
	int result = crash_store_list_parts(t->store, &call, crash->id,
					    check_listed_part, &listed);
	if (!t->profile->reads) {
		expect_errno(t, result, &call, ENOTSUP,
			     "list_parts %s (no reads)", crash->id);
		return;
	}
	if (!here) {
		if (empty_ok && result == 0)
			EXPECT(t, listed.emitted == 0,
			       "list_parts %s: parts of a crash that has none",
			       crash->id);
		else
			expect_errno(t, result, &call, ENOENT, "list_parts %s",
				     crash->id);
		return;
	}
	if (!expect_ok(t, result, &call, "list_parts %s", crash->id))
		return;
	for (size_t i = 0; i < crash->count; i++) {
		char label[96];
		if (part_kept(t, crash->parts[i].part.type))
			EXPECT(t, listed.seen[i], "list_parts %s: %s missing",
			       crash->id,
			       part_label(&crash->parts[i].part, label,
					  sizeof label));
	}
}

void expect_crash(struct contract_test *t, const struct model_crash *crash,
		  bool empty_ok)
{
	static const struct crash_part probes[] = {
		{ CRASH_PART_RAW_CRASH, NULL },
		{ CRASH_PART_DUMP, NULL },
		{ CRASH_PART_DUMP, "contract_never_saved" },
		{ CRASH_PART_PROCESSED, NULL },
	};
	struct crash_call call;
	struct crash_dir_stat dir_stat;
	bool here = model_kept(t, crash);

	crash_call_init(&call);
	int result = crash_store_stat_crash(t->store, &call, crash->id,
					    &dir_stat);
	if (!t->profile->reads)
		expect_errno(t, result, &call, ENOTSUP,
			     "stat_crash %s (no reads)", crash->id);
	else if (here)
		expect_ok(t, result, &call, "stat_crash %s", crash->id) &&
			EXPECT(t, dir_stat.mtime.tv_nsec >= 0 &&
					  dir_stat.mtime.tv_nsec < 1000000000L,
			       "stat_crash %s: mtime is not a time",
			       crash->id);
	else if (!(empty_ok && result == 0))
		expect_errno(t, result, &call, ENOENT, "stat_crash %s",
			     crash->id);
	for (size_t i = 0; i < crash->count; i++)
		expect_part(t, crash, &crash->parts[i].part);
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
		if (!model_find(crash, &probes[i]))
			expect_part(t, crash, &probes[i]);
	expect_listed_parts(t, crash, here, empty_ok);
}

/* -- listings ------------------------------------------------------------------- */

void entry_list_release(struct entry_list *list)
{
	free(list->items);
	memset(list, 0, sizeof *list);
}

int entry_list_add(struct entry_list *list,
		   const struct crash_listing_entry *entry)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? 2 * list->capacity : 64;
		void *grown = realloc(list->items,
				      capacity * sizeof list->items[0]);
		if (!grown)
			return -ENOMEM;
		list->items = grown;
		list->capacity = capacity;
	}
	list->items[list->count++] = *entry;
	return 0;
}

int entry_list_drain(struct crash_listing *listing, struct crash_call *call,
		     struct entry_list *list)
{
	struct crash_listing_entry entry;
	int result;
	while ((result = crash_listing_next(listing, call, &entry)) > 0) {
		entry.name[sizeof entry.name - 1] = '\0';
		result = entry_list_add(list, &entry);
		if (result < 0)
			break;
	}
	crash_listing_close(listing);
	return result;
}

size_t entry_list_count(const struct entry_list *list,
			enum crash_listing_kind kind, const char *name)
{
	size_t count = 0;
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].kind == kind &&
		    strcmp(list->items[i].name, name) == 0)
			count++;
	return count;
}

static int compare_entries(const void *a, const void *b)
{
	const struct crash_listing_entry *x = a, *y = b;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return strcmp(x->name, y->name);
}

void expect_unique(struct contract_test *t, const struct entry_list *list,
		   const char *what)
{
	if (list->count < 2)
		return;
	struct crash_listing_entry *sorted =
		malloc(list->count * sizeof sorted[0]);
	if (!EXPECT(t, sorted != NULL, "out of memory"))
		return;
	memcpy(sorted, list->items, list->count * sizeof sorted[0]);
	qsort(sorted, list->count, sizeof sorted[0], compare_entries);
	for (size_t i = 1; i < list->count; i++) {
		if (compare_entries(&sorted[i - 1], &sorted[i]) == 0) {
			FAIL(t, "%s: \"%s\" listed more than once", what,
			     sorted[i].name);
			break;
		}
	}
	free(sorted);
}

int list_radix(struct contract_test *t, struct crash_call *call,
	       const char *day, const char *prefix, struct entry_list *list)
{
	struct crash_listing *listing = NULL;
	crash_call_init(call);
	int result = crash_store_open_radix(t->store, call, day, prefix,
					    &listing);
	if (result < 0) {
		EXPECT(t, listing == NULL,
		       "open_radix %s/\"%s\": failed but gave a listing", day,
		       prefix);
		return result;
	}
	if (!EXPECT(t, listing != NULL, "open_radix %s/\"%s\": no listing",
		    day, prefix))
		return -EIO;
	return entry_list_drain(listing, call, list);
}

int list_days(struct contract_test *t, struct crash_call *call,
	      struct entry_list *list)
{
	struct crash_listing *listing = NULL;
	crash_call_init(call);
	int result = crash_store_open_days(t->store, call, &listing);
	if (result < 0)
		return result;
	if (!EXPECT(t, listing != NULL, "open_days: no listing"))
		return -EIO;
	return entry_list_drain(listing, call, list);
}

void expect_radix_entries_valid(struct contract_test *t, const char *day,
				const char *prefix,
				const struct entry_list *list)
{
	int level = (int)(strlen(prefix) / 2);
	for (size_t i = 0; i < list->count; i++) {
		const struct crash_listing_entry *entry = &list->items[i];
		struct crash_id_info info;
		switch (entry->kind) {
		case CRASH_LISTING_RADIX_DIR:
			EXPECT(t, crash_radix_component_is_valid(level,
								 entry->name),
			       "open_radix %s/\"%s\": \"%s\" is no radix "
			       "directory of level %d",
			       day, prefix, entry->name, level + 1);
			break;
		case CRASH_LISTING_CRASH:
			EXPECT(t, crash_id_parse(entry->name, &info) == 0 &&
					  strcmp(info.day_name, day) == 0 &&
					  strncmp(entry->name, prefix,
						  strlen(prefix)) == 0 &&
					  info.depth == level,
			       "open_radix %s/\"%s\": the crash %s does not "
			       "live here",
			       day, prefix, entry->name);
			break;
		default:
			FAIL(t, "open_radix %s/\"%s\": an entry of kind %d",
			     day, prefix, (int)entry->kind);
		}
	}
}

/* -- the queue ------------------------------------------------------------------ */

void queue_pass_release(struct queue_pass *pass)
{
	free(pass->entries);
	memset(pass, 0, sizeof *pass);
}

struct pass_collector {
	struct contract_test *t;
	struct queue_pass *pass;
};

static int collect_entry(void *ctx, const struct crash_queue_entry *entry)
{
	struct pass_collector *collector = ctx;
	struct contract_test *t = collector->t;
	struct queue_pass *pass = collector->pass;
	char id[CRASH_ID_LENGTH + 1];
	snprintf(id, sizeof id, "%s", entry->crash_id);
	if (!EXPECT(t, crash_id_is_valid(id),
		    "new_crashes: an entry \"%.40s\" is no crash id", id))
		return 0;
	EXPECT(t, entry->token.issuer &&
			  crash_store_contains(t->store, entry->token.issuer),
	       "new_crashes: the entry of %s names an issuer outside the tree",
	       id);
	if (!EXPECT(t, !queue_find(pass, id),
		    "new_crashes: %s yielded twice in one pass", id))
		return 0;
	if (pass->count == pass->capacity) {
		size_t capacity = pass->capacity ? 2 * pass->capacity : 64;
		void *grown = realloc(pass->entries,
				      capacity * sizeof pass->entries[0]);
		if (!EXPECT(t, grown != NULL, "out of memory"))
			return -ENOMEM;
		pass->entries = grown;
		pass->capacity = capacity;
	}
	pass->entries[pass->count++] = *entry;
	return 0;
}

int queue_run_pass(struct contract_test *t, struct queue_pass *pass)
{
	struct crash_call call;
	struct pass_collector collector = { .t = t, .pass = pass };
	queue_pass_release(pass);
	crash_call_init(&call);
	pass->result = crash_store_new_crashes(t->store, &call, collect_entry,
					       &collector);
	if (pass->result == -ENOTSUP && t->profile->queue == QUEUE_NONE)
		return pass->result;
	expect_ok(t, pass->result, &call, "new_crashes");
	return pass->result;
}

const struct crash_queue_entry *queue_find(const struct queue_pass *pass,
					   const char *crash_id)
{
	for (size_t i = 0; i < pass->count; i++)
		if (strcmp(pass->entries[i].crash_id, crash_id) == 0)
			return &pass->entries[i];
	return NULL;
}

static size_t count_found(const struct queue_pass *pass,
			  const char *const *ids, size_t count,
			  const char **missing)
{
	size_t found = 0;
	*missing = NULL;
	for (size_t i = 0; i < count; i++) {
		if (queue_find(pass, ids[i]))
			found++;
		else if (!*missing)
			*missing = ids[i];
	}
	return found;
}

bool queue_wait_for(struct contract_test *t, const char *const *ids,
		    size_t count, struct queue_pass *pass)
{
	struct timespec start, now;
	const char *missing;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (queue_run_pass(t, pass) < 0)
			return false;
		if (count_found(pass, ids, count, &missing) == count)
			return true;
		if (t->profile->queue != QUEUE_DATED)
			return EXPECT(t, false,
				      "new_crashes: %s is not in the pass right "
				      "after its save",
				      missing);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > DATED_QUEUE_WAIT_SECONDS)
			return EXPECT(t, false,
				      "new_crashes: %s never came (waited %d s "
				      "for its slot to pass)",
				      missing, DATED_QUEUE_WAIT_SECONDS);
		struct timespec pause = { 0, QUEUE_POLL_NANOSECONDS };
		nanosleep(&pause, NULL);
	}
}

/* -- helpers of the cases (cases.h) ------------------------------------------ */

bool make_raw(struct contract_test *t, struct contract_blob *blob,
	      const char *crash_id, unsigned serial, unsigned mtime)
{
	struct timespec when = contract_mtime(mtime);
	int result = contract_blob_raw_crash(blob, crash_id, serial, &when);
	return EXPECT(t, result == 0, "the suite cannot make a raw crash: %s",
		      strerror(-result));
}

bool make_dump(struct contract_test *t, struct contract_blob *blob,
	       uint64_t seed, off_t size, unsigned mtime)
{
	struct timespec when = contract_mtime(mtime);
	int result = contract_blob_bytes(blob, seed, size, &when);
	return EXPECT(t, result == 0, "the suite cannot make a dump: %s",
		      strerror(-result));
}

bool make_processed(struct contract_test *t, struct contract_blob *blob,
		    const char *crash_id, unsigned serial, size_t padding,
		    unsigned mtime)
{
	struct timespec when = contract_mtime(mtime);
	int result = contract_blob_processed(blob, crash_id, serial, padding,
					     &when);
	return EXPECT(t, result == 0,
		      "the suite cannot make a processed crash: %s",
		      strerror(-result));
}

void close_blobs(struct contract_blob *blobs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		contract_blob_close(&blobs[i]);
}

void expect_remove(struct contract_test *t, struct model_crash *crash)
{
	struct crash_call call;
	crash_call_init(&call);
	int result = crash_store_remove(t->store, &call, crash->id);
	if (!t->profile->changes) {
		expect_refused(t, result, &call, "remove %s", crash->id);
		return;
	}
	if (model_kept(t, crash))
		expect_ok(t, result, &call, "remove %s", crash->id);
	else
		expect_errno(t, result, &call, ENOENT, "remove %s (not here)",
			     crash->id);
	model_clear(crash);
}

void expect_remove_part(struct contract_test *t, struct model_crash *crash,
			const struct crash_part *part)
{
	struct crash_call call;
	char label[96];
	part_label(part, label, sizeof label);
	crash_call_init(&call);
	int result = crash_store_remove_part(t->store, &call, crash->id, part);
	if (!t->profile->changes) {
		expect_refused(t, result, &call, "remove_part %s %s", crash->id,
			       label);
		return;
	}
	const struct model_part *saved = model_find(crash, part);
	if (saved && part_kept(t, part->type))
		expect_ok(t, result, &call, "remove_part %s %s", crash->id,
			  label);
	else
		expect_errno(t, result, &call, ENOENT,
			     "remove_part %s %s (not here)", crash->id, label);
	model_set(t, crash, part->type, part->dump_name, NULL);
}

void expect_set_mtime(struct contract_test *t, struct model_crash *crash,
		      const struct crash_part *part,
		      struct contract_blob *blob,
		      const struct timespec *mtime)
{
	struct crash_call call;
	char label[96];
	part_label(part, label, sizeof label);
	crash_call_init(&call);
	int result = crash_store_set_part_mtime(t->store, &call, crash->id,
						part, mtime);
	if (!t->profile->changes) {
		expect_refused(t, result, &call, "set_part_mtime %s %s",
			       crash->id, label);
		return;
	}
	const struct model_part *saved = model_find(crash, part);
	if (saved && part_kept(t, part->type)) {
		if (expect_ok(t, result, &call, "set_part_mtime %s %s",
			      crash->id, label) &&
		    blob)
			blob->mtime = *mtime;
	} else {
		expect_errno(t, result, &call, ENOENT,
			     "set_part_mtime %s %s (not here)", crash->id,
			     label);
	}
}

void expect_radix_dir(struct contract_test *t, const char *day,
		      const char *prefix, bool here,
		      struct crash_dir_stat *mtime)
{
	struct crash_call call;
	struct crash_dir_stat stat;
	crash_call_init(&call);
	int result = crash_store_stat_radix_dir(t->store, &call, day, prefix,
						&stat);
	if (mtime)
		*mtime = stat;
	if (!t->profile->reads)
		expect_errno(t, result, &call, ENOTSUP,
			     "stat_radix_dir %s/\"%s\" (no reads)", day,
			     prefix);
	else if (here)
		expect_ok(t, result, &call, "stat_radix_dir %s/\"%s\"", day,
			  prefix);
	else
		expect_errno(t, result, &call, ENOENT,
			     "stat_radix_dir %s/\"%s\" (not here)", day,
			     prefix);
}
