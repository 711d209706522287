/*
 * hbase_listing.c - a day's crashes, the days, a radix directory's
 * existence: scans of crash_reports' row keys, never of the table.
 *
 * A row key is salt (the id's first character) + YYMMDD + id, so the
 * crashes of one day and salt whose ids start with a prefix are the keys
 * from salt+YYMMDD+prefix to the next prefix: one scan.  Keys come sorted
 * by id within a salt, and the salt is the id's first character, so the
 * 16 salts scanned in order give a day's ids in order.  Scans ask for the
 * keys only (FirstKeyOnlyFilter and KeyOnlyFilter: one empty cell a row),
 * read scan_batch rows a request, and are closed when done or on a
 * failure (unless the connection itself failed: HBase then expires the
 * scanner).
 *
 * The days: with "days": N, the N days up to today; either way a day is
 * listed only when it holds a crash, found by seeking each salt from one
 * day to the next (a one-row scan per salt and day holding crashes), not
 * by reading the rows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/crash_listing.h"
#include "storage/hbase/hbase_internal.h"

static const char salts[] = "0123456789abcdef";

#define KEYS_ONLY "FirstKeyOnlyFilter() AND KeyOnlyFilter()"

/* The smallest key after every key starting with prefix. */
static void next_prefix(const char *prefix, char *out, size_t size)
{
	snprintf(out, size, "%s", prefix);
	size_t length = strlen(out);
	if (length > 0)
		out[length - 1]++;
}

/* Calls take for each row key of [start, stop), reading batch keys a
 * request, until it returns non-zero or the keys run out. */
static int scan_keys(struct hbase_store *self, struct hbase_client *client,
		     struct crash_call *call, const char *start,
		     const char *stop, int batch,
		     int (*take)(void *ctx, const char *key), void *ctx)
{
	if (batch > self->options.scan_batch)
		batch = self->options.scan_batch;
	struct hbase_scan scan = { .start_row = start, .stop_row = stop,
				   .filter = KEYS_ONLY, .caching = batch };
	int32_t scanner;
	int result = hbase_client_scanner_open(
		client, call, hbase_table(self, HBASE_CRASH_REPORTS), &scan,
		&scanner);
	if (result < 0)
		return result;
	bool done = false;
	while (result == 0 && !done) {
		struct hbase_row *rows = NULL;
		size_t count = 0;
		result = hbase_client_scanner_next(client, call, scanner,
						   batch, &rows, &count);
		done = count == 0;
		for (size_t i = 0; result == 0 && i < count && !done; i++)
			done = take(ctx, rows[i].key) != 0;
		hbase_rows_free(rows, count);
	}
	if (!hbase_client_broken(client)) {
		int closed = hbase_client_scanner_close(client, call, scanner);
		if (result == 0)
			result = closed;
	}
	return result;
}

/* -- a day's crashes ----------------------------------------------------- */

struct page_fill {
	const char *day;
	const char *prefix;
	const char *after;
	struct crash_id_page *page;
};

static int take_id(void *ctx, const char *key)
{
	struct page_fill *fill = ctx;
	const char *crash_id = hbase_row_key_crash_id(key);
	struct crash_id_info info;
	if (!crash_id || crash_id_parse(crash_id, &info) < 0 ||
	    strcmp(info.day_name, fill->day) != 0 ||
	    strncmp(crash_id, fill->prefix, strlen(fill->prefix)) != 0 ||
	    strcmp(crash_id, fill->after) <= 0)
		return 0; /* not a crash row of this listing: skipped */
	memcpy(fill->page->ids[fill->page->count++], crash_id,
	       CRASH_ID_LENGTH + 1);
	return fill->page->count >= CRASH_ID_PAGE_MAX;
}

static int list_salt(struct hbase_store *self, struct hbase_client *client,
		     struct crash_call *call, char salt,
		     struct page_fill *fill)
{
	char start[HBASE_ROW_KEY_LENGTH + 2], stop[HBASE_ROW_KEY_LENGTH + 2];
	snprintf(start, sizeof start, "%c%s%s", salt, fill->day + 2,
		 fill->prefix);
	next_prefix(start, stop, sizeof stop);
	/* Resume at the cursor when it is in this range (take_id skips the
	 * cursor itself). */
	if (fill->after[0] == salt) {
		char resume[HBASE_ROW_KEY_LENGTH + 2];
		snprintf(resume, sizeof resume, "%c%s%s", salt, fill->day + 2,
			 fill->after);
		if (strcmp(resume, start) > 0)
			snprintf(start, sizeof start, "%s", resume);
	}
	if (strcmp(start, stop) >= 0)
		return 0;
	/* The page's room, and the cursor, which is read again. */
	return scan_keys(self, client, call, start, stop,
			 (int)(CRASH_ID_PAGE_MAX - fill->page->count) + 1,
			 take_id, fill);
}

int hbase_list_crashes(struct crash_store *store, struct crash_call *call,
		       const char *day, const char *prefix, const char *after,
		       struct crash_id_page *page)
{
	struct hbase_store *self = hbase_store_from(store);
	struct page_fill fill = { .day = day, .prefix = prefix,
				  .after = after ? after : "", .page = page };
	page->count = 0;
	if (!crash_day_is_valid(day))
		return 0;
	/* Salts before the cursor's or other than the prefix's hold
	 * nothing of this page. */
	char first = prefix[0] ? prefix[0]
			       : (fill.after[0] ? fill.after[0] : '0');
	const char *from = strchr(salts, first);
	if (!from || (prefix[0] && fill.after[0] > prefix[0]))
		return 0;
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	for (const char *salt = from; result == 0 && *salt &&
				      page->count < CRASH_ID_PAGE_MAX;
	     salt++) {
		result = list_salt(self, client, call, *salt, &fill);
		if (prefix[0])
			break;
	}
	hbase_lease_put(self, client);
	if (result < 0)
		page->count = 0;
	return result;
}

/* -- a radix directory --------------------------------------------------- */

static int take_any(void *ctx, const char *key)
{
	struct page_fill *fill = ctx;
	const char *crash_id = hbase_row_key_crash_id(key);
	/* The directory is on the radix path of a crash with the prefix
	 * whose depth reaches it (a shallower crash ends above it). */
	size_t levels = strlen(fill->prefix) / 2;
	if (!crash_id || strncmp(crash_id, fill->prefix,
				 strlen(fill->prefix)) != 0 ||
	    strncmp(crash_id + CRASH_ID_LENGTH - 6, fill->day + 2, 6) != 0 ||
	    crash_id_depth(crash_id) < (int)levels)
		return 0;
	fill->page->count = 1;
	return 1;
}

int hbase_stat_radix_dir(struct crash_store *store, struct crash_call *call,
			 const char *day, const char *prefix,
			 struct crash_dir_stat *stat)
{
	struct hbase_store *self = hbase_store_from(store);
	struct crash_id_page page = { .count = 0 };
	struct page_fill fill = { .day = day, .prefix = prefix, .after = "",
				  .page = &page };
	if (stat)
		memset(stat, 0, sizeof *stat); /* HBase cannot tell */
	if (!crash_day_is_valid(day))
		return crash_error_set(&call->error, -ENOENT,
				       "no day %s here", day);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	for (const char *salt = salts; result == 0 && *salt && !page.count;
	     salt++) {
		if (prefix[0] && *salt != prefix[0])
			continue;
		char start[HBASE_ROW_KEY_LENGTH + 2];
		char stop[HBASE_ROW_KEY_LENGTH + 2];
		snprintf(start, sizeof start, "%c%s%s", *salt, day + 2,
			 prefix);
		next_prefix(start, stop, sizeof stop);
		result = scan_keys(self, client, call, start, stop, 16,
				   take_any, &fill);
	}
	hbase_lease_put(self, client);
	if (result == 0 && !page.count)
		result = crash_error_set(&call->error, -ENOENT,
					 "no crash under %s/%s here", day,
					 prefix);
	return result;
}

/* -- the days ------------------------------------------------------------ */

struct day_seek {
	char found[8]; /* YYMMDD of the key seen, or "" */
	bool any;
};

static int take_day(void *ctx, const char *key)
{
	struct day_seek *seek = ctx;
	snprintf(seek->found, sizeof seek->found, "%.6s", key + 1);
	seek->any = strlen(key) >= 7;
	return 1;
}

static int add_day(struct crash_name_array *days, const char *yymmdd)
{
	char day[CRASH_DAY_LENGTH + 1];
	snprintf(day, sizeof day, "20%.6s", yymmdd);
	if (!crash_day_is_valid(day))
		return 0;
	for (size_t i = 0; i < days->count; i++)
		if (strcmp(days->names[i], day) == 0)
			return 0;
	return crash_name_array_add(days, day);
}

/* The days of one salt in [from, to] (YYMMDD; "" for no bound). */
static int seek_days(struct hbase_store *self, struct hbase_client *client,
		     struct crash_call *call, char salt, const char *from,
		     const char *to, struct crash_name_array *days)
{
	char start[16], stop[16];
	snprintf(start, sizeof start, "%c%s", salt, from);
	if (to[0]) {
		char last[16];
		snprintf(last, sizeof last, "%c%s", salt, to);
		next_prefix(last, stop, sizeof stop);
	} else {
		char bare[2] = { salt, '\0' };
		next_prefix(bare, stop, sizeof stop);
	}
	for (;;) {
		struct day_seek seek = { .any = false };
		int result = scan_keys(self, client, call, start, stop, 1,
				       take_day, &seek);
		if (result < 0 || !seek.any)
			return result;
		result = add_day(days, seek.found);
		if (result < 0)
			return crash_error_set(&call->error, result,
					       "out of memory");
		/* Past every key of that day. */
		char seen[16];
		snprintf(seen, sizeof seen, "%c%s", salt, seek.found);
		next_prefix(seen, start, sizeof start);
		if (strcmp(start, stop) >= 0)
			return 0;
	}
}

/* YYMMDD of a time, as crash ids spell a day. */
static void yymmdd(time_t when, char out[8])
{
	struct tm tm;
	gmtime_r(&when, &tm);
	snprintf(out, 8, "%02u%02u%02u", (unsigned)tm.tm_year % 100u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

static void window(int days, char from[8], char to[8])
{
	time_t now = time(NULL);
	yymmdd(now, to);
	yymmdd(now - (time_t)(days - 1) * 86400, from);
}

int hbase_open_days(struct crash_store *store, struct crash_call *call,
		    struct crash_listing **out)
{
	struct hbase_store *self = hbase_store_from(store);
	struct crash_name_array days = { 0 };
	char from[8] = "", to[8] = "";
	if (self->options.days > 0)
		window(self->options.days, from, to);
	struct hbase_client *client;
	int result = hbase_lease_get(self, call, &client);
	if (result < 0)
		return result;
	/* Within one century of YYMMDD keys a window never wraps. */
	if (strcmp(from, to) > 0)
		from[0] = '\0';
	for (const char *salt = salts; result == 0 && *salt; salt++)
		result = seek_days(self, client, call, *salt, from, to, &days);
	hbase_lease_put(self, client);
	if (result < 0) {
		crash_name_array_release(&days);
		return result;
	}
	return crash_listing_of_names(store, call, CRASH_LISTING_DAY, &days,
				      out);
}
