/*
 * pg_listing.c - the days and the crashes of a day, from indexed queries.
 *
 * A crash id ends with its day (YYMMDD) and its week's partitions hold
 * every crash of that day, so a day's crashes are the rows of
 * raw_crashes_<W> and processed_crashes_<W> whose uuid ends with the day:
 * crashfs's listing indexes on (right(uuid::text, 6), uuid) answer it in
 * order, a page at a time, with an index scan (a week Socorro made
 * without them is answered all the same, by a scan, until crashfs
 * --setup-store adds them).  The days are found week by week: the
 * partitions in the catalog say which weeks exist, and one EXISTS probe
 * per day of each says which days hold a crash.  Nothing is held between
 * pages: a listing's cursor is the last id handed out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_id.h"
#include "storage/crash_listing.h"
#include "storage/postgresql/pg_internal.h"
#include "storage/postgresql/pg_values.h"

/* Day probes sent in one pipeline. */
#define WEEKS_PER_BATCH 64

struct week_tables {
	struct pg_week week;
	unsigned tables;
};

struct week_set {
	struct week_tables *weeks;
	size_t count, capacity;
};

static int add_week(struct week_set *set, const struct pg_week *week,
		    unsigned table)
{
	for (size_t i = 0; i < set->count; i++) {
		if (set->weeks[i].week.first_day == week->first_day) {
			set->weeks[i].tables |= table;
			return 0;
		}
	}
	if (set->count == set->capacity) {
		size_t wanted = set->capacity ? set->capacity * 2 : 32;
		struct week_tables *grown =
			realloc(set->weeks, wanted * sizeof *grown);
		if (!grown)
			return -ENOMEM;
		set->weeks = grown;
		set->capacity = wanted;
	}
	set->weeks[set->count++] = (struct week_tables){ *week, table };
	return 0;
}

/* A partition's name: the table it belongs to and its week, if it is
 * one of ours to list ("raw_crashes_20120402"). */
static int add_partition(struct week_set *set, const char *name)
{
	static const struct {
		const char *prefix;
		unsigned table;
	} masters[] = {
		{ "raw_crashes_", PG_TABLE_RAW_CRASHES },
		{ "processed_crashes_", PG_TABLE_PROCESSED_CRASHES },
	};
	for (size_t i = 0; i < 2; i++) {
		size_t length = strlen(masters[i].prefix);
		struct pg_week week;
		if (strncmp(name, masters[i].prefix, length) == 0 &&
		    pg_week_parse_suffix(name + length, &week) == 0)
			return add_week(set, &week, masters[i].table);
	}
	return 0; /* another child table: not a weekly partition */
}

static int find_weeks(struct pg_store *self, struct crash_call *call,
		      struct week_set *set)
{
	struct pg_failure failure;
	char *sql = pg_sql_partitions();
	if (!sql)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	struct pg_statement statement = { .name = "crashfs_partitions",
					  .sql = sql };
	int result = pg_store_run(self, call, &statement, 1, &failure);
	free(sql);
	if (result < 0)
		return pg_store_fail(self, call, &failure, "list days", NULL);
	int rows = PQntuples(statement.result);
	for (int row = 0; result == 0 && row < rows; row++)
		result = add_partition(set, PQgetvalue(statement.result, row, 0));
	pg_statements_clear(&statement, 1);
	if (result < 0)
		return crash_error_set(&call->error, result, "out of memory");
	return 0;
}

/* One batch of weeks: which of their days hold crashes. */
struct day_batch {
	struct pg_statement statements[WEEKS_PER_BATCH];
	char names[WEEKS_PER_BATCH][PG_NAME_MAX];
	char *sql[WEEKS_PER_BATCH];
	char *endings[WEEKS_PER_BATCH];
	const char *values[WEEKS_PER_BATCH][1];
	size_t count;
};

static int plan_week(struct day_batch *batch, const struct week_tables *week)
{
	char endings[7][7];
	char *elements[7];
	int count = pg_week_day_endings(&week->week, endings);
	if (count == 0)
		return 0;
	for (int i = 0; i < count; i++)
		elements[i] = endings[i];
	size_t i = batch->count++;
	batch->endings[i] = pg_array_literal(elements, (size_t)count);
	batch->sql[i] = pg_sql_days_of_week(&week->week, week->tables);
	snprintf(batch->names[i], PG_NAME_MAX, "days_%u_%s", week->tables,
		 week->week.suffix);
	batch->values[i][0] = batch->endings[i];
	batch->statements[i] = (struct pg_statement){
		.name = batch->names[i], .sql = batch->sql[i],
		.param_count = 1, .values = batch->values[i],
	};
	return batch->endings[i] && batch->sql[i] ? 0 : -ENOMEM;
}

static void release_batch(struct day_batch *batch)
{
	pg_statements_clear(batch->statements, batch->count);
	for (size_t i = 0; i < batch->count; i++) {
		free(batch->sql[i]);
		free(batch->endings[i]);
	}
	memset(batch, 0, sizeof *batch);
}

static int collect_days(struct day_batch *batch, struct crash_name_array *days)
{
	for (size_t i = 0; i < batch->count; i++) {
		const PGresult *answer = batch->statements[i].result;
		for (int row = 0; answer && row < PQntuples(answer); row++) {
			char day[CRASH_DAY_LENGTH + 1];
			snprintf(day, sizeof day, "20%s",
				 PQgetvalue(answer, row, 0));
			int result = crash_name_array_add(days, day);
			if (result < 0)
				return result;
		}
	}
	return 0;
}

static int probe_days(struct pg_store *self, struct crash_call *call,
		      const struct week_set *set,
		      struct crash_name_array *days)
{
	struct day_batch *batch = calloc(1, sizeof *batch);
	int result = batch ? 0 : -ENOMEM;
	for (size_t next = 0; result == 0 && next < set->count;) {
		while (result == 0 && next < set->count &&
		       batch->count < WEEKS_PER_BATCH)
			result = plan_week(batch, &set->weeks[next++]);
		if (result < 0)
			break;
		struct pg_failure failure;
		if (batch->count > 0 &&
		    pg_store_run(self, call, batch->statements, batch->count,
				 &failure) < 0) {
			release_batch(batch);
			free(batch);
			return pg_store_fail(self, call, &failure, "list days",
					     NULL);
		}
		result = collect_days(batch, days);
		release_batch(batch);
	}
	free(batch);
	if (result < 0)
		return crash_error_set(&call->error, result, "out of memory");
	return 0;
}

int pg_open_days(struct crash_store *store, struct crash_call *call,
		 struct crash_listing **out)
{
	struct pg_store *self = pg_store_from(store);
	struct week_set set = { 0 };
	struct crash_name_array days = { 0 };
	int result = find_weeks(self, call, &set);
	if (result == 0)
		result = probe_days(self, call, &set, &days);
	free(set.weeks);
	if (result < 0) {
		crash_name_array_release(&days);
		return result;
	}
	/* The session went back to the pool: the listing holds names only. */
	return crash_listing_of_names(store, call, CRASH_LISTING_DAY, &days,
				      out);
}

/* -- a day's crashes -------------------------------------------------------- */

/* One page of the query from low on; *last gets the last id it gave (for
 * the next page when every id of this one was skipped). */
static int query_page(struct pg_store *self, struct crash_call *call,
		      const struct pg_week *week, unsigned tables,
		      const char *ending, const char *low, const char *high,
		      struct crash_id_page *page, char last[37], int *rows)
{
	struct pg_failure failure;
	char name[PG_NAME_MAX];
	const char *values[] = { ending, low, high };
	snprintf(name, sizeof name, "list_crashes_%u_%s", tables, week->suffix);
	char *sql = pg_sql_list_crashes(week, tables);
	if (!sql)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	struct pg_statement statement = { .name = name, .sql = sql,
					  .param_count = 3, .values = values };
	int result = pg_store_run(self, call, &statement, 1, &failure);
	free(sql);
	if (result < 0) {
		if (pg_failure_is(&failure, "42P01"))
			pg_store_forget_week(self, week);
		return pg_store_fail(self, call, &failure, "list crashes of",
				     ending);
	}
	*rows = PQntuples(statement.result);
	for (int row = 0; row < *rows; row++) {
		const char *id = PQgetvalue(statement.result, row, 0);
		snprintf(last, 37, "%s", id);
		/* A row whose uuid is no crash id (not a crash crashfs could
		 * name) is not listed. */
		if (crash_id_is_valid(id))
			memcpy(page->ids[page->count++], id,
			       CRASH_ID_LENGTH + 1);
	}
	pg_statements_clear(&statement, 1);
	return 0;
}

int pg_list_crashes(struct crash_store *store, struct crash_call *call,
		    const char *day, const char *prefix, const char *after,
		    struct crash_id_page *page)
{
	struct pg_store *self = pg_store_from(store);
	struct pg_week week;
	struct pg_failure failure;
	unsigned tables = 0;
	char low[37], high[37];

	page->count = 0;
	if (pg_week_of_day_name(day, &week) < 0)
		return crash_error_set(&call->error, -EINVAL,
				       "%s: %s is not a day",
				       self->base.node_path, day);
	if (pg_store_week_tables(self, call, &week, &tables, &failure) < 0)
		return pg_store_fail(self, call, &failure, "list crashes of",
				     day);
	tables &= PG_TABLE_RAW_CRASHES | PG_TABLE_PROCESSED_CRASHES;
	if (!tables)
		return 0;
	pg_sql_list_bounds(prefix ? prefix : "", after, low, high);
	for (;;) {
		int rows = 0;
		int result = query_page(self, call, &week, tables, day + 2, low,
					high, page, low, &rows);
		if (result < 0 || page->count > 0 || rows < PG_LIST_PAGE)
			return result;
	}
}
