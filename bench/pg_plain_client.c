/*
 * pg_plain_client.c - the baseline of bench/postgresql.py: Socorro's rows
 * of processed crashes inserted by a plain libpq client, as an
 * application would insert them without crashfs: one connection per
 * writer thread, statements prepared once per connection, one transaction
 * per crash (BEGIN; the reports upsert returning its id; the crash's
 * extension rows replaced; the processed_crashes upsert; COMMIT), each
 * statement waited for before the next.
 *
 *   pg_plain_client CONNINFO WEEK INPUT WRITERS
 *
 * INPUT has one crash per line, fields separated by 0x1f, "\N" for NULL:
 * the crash id, the 36 reports columns in the order of spec/backends.md
 * B.4, the processed crash's JSON text, then (key, id, version) of each
 * extension row.  Prints the seconds the inserts took (connections made
 * before the clock starts).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define COLUMNS 36
#define SEPARATOR '\x1f'

static const char *const report_columns[COLUMNS] = {
	"addons_checked", "address", "app_notes", "build", "client_crash_date",
	"completed_datetime", "cpu_info", "cpu_name", "date_processed",
	"distributor", "distributor_version", "email", "exploitability",
	"flash_version", "hangid", "install_age", "last_crash", "os_name",
	"os_version", "processor_notes", "process_type", "product",
	"productid", "reason", "release_channel", "signature",
	"started_datetime", "success", "topmost_filenames", "truncated",
	"uptime", "user_comments", "user_id", "url", "uuid", "version",
};

struct crash {
	char *fields[COLUMNS + 2]; /* id, 36 columns, processed JSON */
	char **extensions;         /* key, id, version, ... */
	size_t extension_fields;
};

struct work {
	const char *conninfo;
	const char *week;
	struct crash *crashes;
	size_t first, count;
	PGconn *conn;
	int failed;
};

static void die(const char *what, PGconn *conn)
{
	fprintf(stderr, "pg_plain_client: %s: %s", what,
		conn ? PQerrorMessage(conn) : "\n");
	exit(1);
}

static char *null_or(char *field)
{
	return strcmp(field, "\\N") == 0 ? NULL : field;
}

static size_t split(char *line, char ***out)
{
	size_t count = 1, index = 0;
	for (char *c = line; *c; c++)
		count += *c == SEPARATOR;
	char **fields = calloc(count, sizeof *fields);
	if (!fields)
		die("out of memory", NULL);
	fields[index++] = line;
	for (char *c = line; *c; c++) {
		if (*c == SEPARATOR) {
			*c = '\0';
			fields[index++] = c + 1;
		}
	}
	*out = fields;
	return count;
}

static struct crash *read_input(const char *path, size_t *count)
{
	FILE *file = fopen(path, "r");
	if (!file)
		die(path, NULL);
	size_t capacity = 1024, used = 0;
	struct crash *crashes = calloc(capacity, sizeof *crashes);
	char *line = NULL;
	size_t line_size = 0;
	ssize_t length;
	while ((length = getline(&line, &line_size, file)) > 0) {
		if (line[length - 1] == '\n')
			line[length - 1] = '\0';
		char **fields;
		size_t n = split(strdup(line), &fields);
		if (n < COLUMNS + 2 || (n - COLUMNS - 2) % 3)
			die("a line of the input has the wrong fields", NULL);
		if (used == capacity)
			crashes = realloc(crashes, (capacity *= 2) * sizeof *crashes);
		struct crash *crash = &crashes[used++];
		for (size_t i = 0; i < COLUMNS + 2; i++)
			crash->fields[i] = null_or(fields[i]);
		crash->extensions = fields + COLUMNS + 2;
		crash->extension_fields = n - COLUMNS - 2;
	}
	free(line);
	fclose(file);
	*count = used;
	return crashes;
}

static void prepare(PGconn *conn, const char *name, const char *sql,
		    int params)
{
	PGresult *result = PQprepare(conn, name, sql, params, NULL);
	if (PQresultStatus(result) != PGRES_COMMAND_OK)
		die(name, conn);
	PQclear(result);
}

static void prepare_all(PGconn *conn, const char *week)
{
	char sql[8192];
	size_t used = (size_t)snprintf(sql, sizeof sql,
				       "INSERT INTO reports_%s (", week);
	for (int i = 0; i < COLUMNS; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s%s",
					 i ? ", " : "", report_columns[i]);
	used += (size_t)snprintf(sql + used, sizeof sql - used, ") VALUES (");
	for (int i = 0; i < COLUMNS; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s$%d",
					 i ? ", " : "", i + 1);
	used += (size_t)snprintf(sql + used, sizeof sql - used,
				 ") ON CONFLICT (uuid) DO UPDATE SET ");
	for (int i = 0; i < COLUMNS; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used,
					 "%s%s = EXCLUDED.%s", i ? ", " : "",
					 report_columns[i], report_columns[i]);
	snprintf(sql + used, sizeof sql - used, " RETURNING id");
	prepare(conn, "reports", sql, COLUMNS);
	snprintf(sql, sizeof sql,
		 "DELETE FROM extensions_%s WHERE report_id = $1", week);
	prepare(conn, "extensions_delete", sql, 1);
	snprintf(sql, sizeof sql,
		 "INSERT INTO extensions_%s (report_id, date_processed, "
		 "extension_key, extension_id, extension_version) "
		 "VALUES ($1, $2, $3, $4, $5)",
		 week);
	prepare(conn, "extensions_insert", sql, 5);
	snprintf(sql, sizeof sql,
		 "INSERT INTO processed_crashes_%s (uuid, processed_crash, "
		 "date_processed) VALUES ($1, $2, $3) ON CONFLICT (uuid) DO "
		 "UPDATE SET processed_crash = EXCLUDED.processed_crash, "
		 "date_processed = EXCLUDED.date_processed",
		 week);
	prepare(conn, "processed", sql, 3);
}

static int command(PGconn *conn, const char *name, int params,
		   const char *const *values, PGresult **kept)
{
	PGresult *result =
		name ? PQexecPrepared(conn, name, params, values, NULL, NULL, 0)
		     : PQexec(conn, values[0]);
	ExecStatusType status = PQresultStatus(result);
	int ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "pg_plain_client: %s: %s",
			name ? name : values[0], PQerrorMessage(conn));
	if (kept && ok)
		*kept = result;
	else
		PQclear(result);
	return ok;
}

static int insert_crash(PGconn *conn, const struct crash *crash)
{
	const char *begin[] = { "BEGIN" }, *commit[] = { "COMMIT" };
	PGresult *report = NULL;
	if (!command(conn, NULL, 0, begin, NULL) ||
	    !command(conn, "reports", COLUMNS,
		     (const char *const *)crash->fields + 1, &report))
		return 0;
	const char *report_id = PQgetvalue(report, 0, 0);
	const char *date = crash->fields[1 + 8];
	const char *id_only[] = { report_id };
	int ok = crash->extension_fields == 0 ||
		 command(conn, "extensions_delete", 1, id_only, NULL);
	for (size_t i = 0; ok && i < crash->extension_fields; i += 3) {
		const char *row[] = { report_id, date, crash->extensions[i],
				      null_or(crash->extensions[i + 1]),
				      null_or(crash->extensions[i + 2]) };
		ok = command(conn, "extensions_insert", 5, row, NULL);
	}
	PQclear(report);
	const char *processed[] = { crash->fields[0],
				    crash->fields[COLUMNS + 1], date };
	return ok && command(conn, "processed", 3, processed, NULL) &&
	       command(conn, NULL, 0, commit, NULL);
}

static void *writer(void *arg)
{
	struct work *work = arg;
	for (size_t i = 0; i < work->count; i++)
		if (!insert_crash(work->conn, &work->crashes[work->first + i]))
			work->failed = 1;
	return NULL;
}

int main(int argc, char *argv[])
{
	if (argc != 5) {
		fprintf(stderr, "usage: pg_plain_client CONNINFO WEEK INPUT "
				"WRITERS\n");
		return 2;
	}
	size_t count = 0;
	struct crash *crashes = read_input(argv[3], &count);
	int writers = atoi(argv[4]);
	if (writers < 1 || (size_t)writers > count)
		die("WRITERS must be between 1 and the number of crashes", NULL);
	struct work *works = calloc((size_t)writers, sizeof *works);
	pthread_t *threads = calloc((size_t)writers, sizeof *threads);
	size_t first = 0;
	for (int i = 0; i < writers; i++) {
		struct work *work = &works[i];
		work->crashes = crashes;
		work->week = argv[2];
		work->first = first;
		work->count = count / (size_t)writers +
			      ((size_t)i < count % (size_t)writers);
		first += work->count;
		work->conn = PQconnectdb(argv[1]);
		if (PQstatus(work->conn) != CONNECTION_OK)
			die("connect", work->conn);
		PQclear(PQexec(work->conn, "SET TimeZone = 'UTC'"));
		prepare_all(work->conn, argv[2]);
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int i = 0; i < writers; i++)
		pthread_create(&threads[i], NULL, writer, &works[i]);
	int failed = 0;
	for (int i = 0; i < writers; i++) {
		pthread_join(threads[i], NULL);
		failed |= works[i].failed;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	for (int i = 0; i < writers; i++)
		PQfinish(works[i].conn);
	if (failed)
		return 1;
	printf("%.6f\n", (double)(end.tv_sec - start.tv_sec) +
				 (double)(end.tv_nsec - start.tv_nsec) / 1e9);
	return 0;
}
