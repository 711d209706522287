/*
 * pg_schema.c - tables and partitions made where missing (see
 * pg_schema.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/postgresql/pg_schema.h"
#include "storage/postgresql/pg_sql.h"

#define LOCK_SQL "SELECT pg_advisory_xact_lock($1::integer, $2::integer)"

static const char *const lock_keys[] = { "1668440435", "1751544609" };

static int run_one(struct pg_session *session, const struct pg_server *server,
		   struct crash_call *call, const char *sql,
		   struct pg_failure *failure)
{
	struct pg_statement statement = { .sql = sql };
	int result = pg_session_run(session, server, call, &statement, 1,
				    failure);
	pg_statements_clear(&statement, 1);
	return result;
}

/* Ends the transaction of a failed step, if the connection is still
 * there to hear it. */
static void roll_back(struct pg_session *session,
		      const struct pg_server *server, struct crash_call *call)
{
	struct pg_failure ignored;
	if (pg_session_connected(session))
		run_one(session, server, call, "ROLLBACK", &ignored);
}

/* BEGIN, the lock, then one existence check per object: missing[i] is
 * true for each object not there. */
static int check_objects(struct pg_session *session,
			 const struct pg_server *server,
			 struct crash_call *call,
			 const struct pg_object_list *list, bool *missing,
			 struct pg_failure *failure)
{
	size_t count = list->count + 2;
	struct pg_statement *statements = calloc(count, sizeof *statements);
	const char **values = calloc(2 * list->count, sizeof *values);
	int result = -ENOMEM;
	if (!statements || !values) {
		failure->code = -ENOMEM;
		snprintf(failure->message, sizeof failure->message,
			 "out of memory");
		goto done;
	}
	statements[0].sql = "BEGIN";
	statements[1] = (struct pg_statement){ .sql = LOCK_SQL,
					       .param_count = 2,
					       .values = lock_keys };
	for (size_t i = 0; i < list->count; i++) {
		const struct pg_object *object = &list->objects[i];
		values[2 * i] = object->name;
		values[2 * i + 1] = object->table;
		statements[i + 2] = (struct pg_statement){
			.sql = pg_sql_object_exists(object->kind),
			.param_count = object->kind == PG_OBJECT_CONSTRAINT ? 2
									    : 1,
			.values = &values[2 * i],
		};
	}
	result = pg_session_run(session, server, call, statements, count,
				failure);
	for (size_t i = 0; result == 0 && i < list->count; i++) {
		PGresult *answer = statements[i + 2].result;
		missing[i] = !(answer && PQntuples(answer) == 1 &&
			       strcmp(PQgetvalue(answer, 0, 0), "t") == 0);
	}
	pg_statements_clear(statements, count);
done:
	free(statements);
	free(values);
	return result;
}

/* The missing objects' statements (and report_partition_info's rows when
 * that table is among them), then COMMIT. */
static int create_objects(struct pg_session *session,
			  const struct pg_server *server,
			  struct crash_call *call,
			  const struct pg_object_list *list,
			  const bool *missing, bool with_rows,
			  size_t *row_count, struct pg_statement **out,
			  struct pg_failure *failure)
{
	size_t rows = 0;
	const char *const *row_sql = pg_sql_partition_info_rows(&rows);
	size_t count = 0, capacity = 2 * list->count + rows + 1;
	struct pg_statement *statements = calloc(capacity, sizeof *statements);
	if (!statements) {
		failure->code = -ENOMEM;
		snprintf(failure->message, sizeof failure->message,
			 "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < list->count; i++) {
		if (!missing[i])
			continue;
		statements[count++].sql = list->objects[i].create;
		if (list->objects[i].comment)
			statements[count++].sql = list->objects[i].comment;
	}
	*row_count = 0;
	if (with_rows) {
		for (size_t i = 0; i < rows; i++)
			statements[count++].sql = row_sql[i];
		*row_count = rows;
	}
	statements[count++].sql = "COMMIT";
	int result = pg_session_run(session, server, call, statements, count,
				    failure);
	if (result < 0) {
		free(statements);
		return result;
	}
	*out = statements;
	return (int)count;
}

static const char *kind_name(enum pg_object_kind kind)
{
	switch (kind) {
	case PG_OBJECT_TABLE:
		return "table";
	case PG_OBJECT_INDEX:
		return "index";
	default:
		return "constraint";
	}
}

static size_t report_created(const struct pg_object_list *list,
			     const bool *missing, struct pg_statement *results,
			     size_t result_count, size_t row_count,
			     pg_schema_report_fn report, void *ctx)
{
	char line[160];
	size_t created = 0;
	for (size_t i = 0; i < list->count; i++) {
		if (!missing[i])
			continue;
		created++;
		if (report) {
			snprintf(line, sizeof line, "%s %s",
				 kind_name(list->objects[i].kind),
				 list->objects[i].name);
			report(ctx, line);
		}
	}
	/* The rows come just before COMMIT; each returns its name when it
	 * made it. */
	for (size_t i = result_count - 1 - row_count; i < result_count - 1;
	     i++) {
		PGresult *answer = results[i].result;
		if (!answer || PQntuples(answer) != 1)
			continue;
		created++;
		if (report) {
			snprintf(line, sizeof line,
				 "row report_partition_info %s",
				 PQgetvalue(answer, 0, 0));
			report(ctx, line);
		}
	}
	return created;
}

static bool creates_partition_info(const struct pg_object_list *list,
				   const bool *missing)
{
	for (size_t i = 0; i < list->count; i++)
		if (missing[i] &&
		    strcmp(list->objects[i].name, "report_partition_info") == 0)
			return true;
	return false;
}

static int ensure_objects(struct pg_session *session,
			  const struct pg_server *server,
			  struct crash_call *call,
			  const struct pg_object_list *list,
			  pg_schema_report_fn report, void *ctx,
			  size_t *created, struct pg_failure *failure)
{
	bool *missing = calloc(list->count + 1, sizeof *missing);
	struct pg_statement *results = NULL;
	size_t row_count = 0;
	if (!missing) {
		failure->code = -ENOMEM;
		snprintf(failure->message, sizeof failure->message,
			 "out of memory");
		return -ENOMEM;
	}
	int result = check_objects(session, server, call, list, missing,
				   failure);
	if (result == 0)
		result = create_objects(session, server, call, list, missing,
					creates_partition_info(list, missing),
					&row_count, &results, failure);
	if (result < 0) {
		roll_back(session, server, call);
		free(missing);
		return result;
	}
	size_t count = report_created(list, missing, results, (size_t)result,
				      row_count, report, ctx);
	if (created)
		*created = count;
	pg_statements_clear(results, (size_t)result);
	free(results);
	free(missing);
	return 0;
}

int pg_schema_ensure(struct pg_session *session,
		     const struct pg_server *server, struct crash_call *call,
		     const struct pg_week *weeks, size_t week_count,
		     pg_schema_report_fn report, void *ctx, size_t *created,
		     struct pg_failure *failure)
{
	struct pg_object_list list = { 0 };
	int result = pg_objects_masters(&list);
	for (size_t i = 0; result == 0 && i < week_count; i++)
		result = pg_objects_week(&list, &weeks[i]);
	memset(failure, 0, sizeof *failure);
	if (result < 0) {
		pg_object_list_release(&list);
		failure->code = result;
		snprintf(failure->message, sizeof failure->message,
			 "out of memory");
		return result;
	}
	result = ensure_objects(session, server, call, &list, report, ctx,
				created, failure);
	pg_object_list_release(&list);
	return result;
}
