/*
 * pg_connection.c - libpq connections driven by the call's deadline (see
 * pg_connection.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/crash_log.h"
#include "storage/postgresql/pg_connection.h"

/* Prepared statements one connection remembers; past it statements are
 * sent unprepared (a store that touched hundreds of weeks). */
#define PG_PREPARED_MAX 256

struct pg_session {
	PGconn *conn;
	char *prepared[PG_PREPARED_MAX];
	size_t prepared_count;
};

/* -- the server ------------------------------------------------------------ */

/* libpq's messages about a connection string may quote parts of it, a
 * password among them: every quoted part is withheld. */
static void withhold_quoted(const char *message, char *out, size_t size)
{
	size_t used = 0;
	bool quoted = false;
	for (const char *c = message; *c && used + 4 < size; c++) {
		if (*c == '\n')
			break;
		if (*c == '"') {
			if (!quoted) {
				memcpy(out + used, "\"...", 4);
				used += 4;
			} else {
				out[used++] = '"';
			}
			quoted = !quoted;
		} else if (!quoted) {
			out[used++] = *c;
		}
	}
	out[used] = '\0';
}

static const char *option_value(PQconninfoOption *options, const char *key)
{
	for (PQconninfoOption *option = options; option && option->keyword;
	     option++)
		if (strcmp(option->keyword, key) == 0 && option->val &&
		    option->val[0])
			return option->val;
	return NULL;
}

/* host, port, database and user, from the dsn or else from libpq's
 * defaults (its environment variables): never a password. */
static void describe(struct pg_server *server, PQconninfoOption *options)
{
	static const char *const shown[] = { "host", "hostaddr", "port",
					     "dbname", "user", NULL };
	PQconninfoOption *defaults = PQconndefaults();
	size_t used = 0;
	server->description[0] = '\0';
	for (const char *const *key = shown; *key; key++) {
		const char *value = option_value(options, *key);
		if (!value && strcmp(*key, "hostaddr") != 0)
			value = option_value(defaults, *key);
		if (!value || used >= sizeof server->description)
			continue;
		int length = snprintf(server->description + used,
				      sizeof server->description - used,
				      "%s%s=%s", used ? " " : "", *key, value);
		if (length > 0)
			used += (size_t)length;
	}
	PQconninfoFree(defaults);
	if (!server->description[0])
		snprintf(server->description, sizeof server->description,
			 "(libpq defaults)");
}

static long timeout_setting(PQconninfoOption *options)
{
	const char *value = option_value(options, "connect_timeout");
	if (!value)
		value = getenv("PGCONNECT_TIMEOUT");
	if (!value)
		return PG_CONNECT_TIMEOUT_DEFAULT_MS;
	long seconds = strtol(value, NULL, 10);
	/* libpq: 0 or less is "wait forever", and below 2 means 2. */
	if (seconds <= 0)
		return -1;
	return (seconds < 2 ? 2 : seconds) * 1000;
}

static int check_password_file(const char *path, const char *node_path,
			       struct crash_error *error)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return crash_error_set(error, -errno,
				       "%s.password_file: %s: %s", node_path,
				       path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return crash_error_set(error, -EINVAL,
				       "%s.password_file: %s is not a file",
				       node_path, path);
	if (st.st_mode & 077)
		return crash_error_set(
			error, -EACCES,
			"%s.password_file: %s may be read or written by group "
			"or others (mode %04o); a password file must be the "
			"owner's only (chmod 600 %s)",
			node_path, path, (unsigned)(st.st_mode & 07777), path);
	if (access(path, R_OK) < 0)
		return crash_error_set(error, -errno,
				       "%s.password_file: %s: %s", node_path,
				       path, strerror(errno));
	return 0;
}

int pg_server_init(struct pg_server *server, const char *dsn,
		   const char *password_file, const char *node_path,
		   bool check_files, struct crash_error *error)
{
	char *parse_error = NULL;
	memset(server, 0, sizeof *server);
	PQconninfoOption *options = PQconninfoParse(dsn ? dsn : "",
						    &parse_error);
	if (!options) {
		char withheld[256];
		withhold_quoted(parse_error ? parse_error : "out of memory",
				withheld, sizeof withheld);
		PQfreemem(parse_error);
		return crash_error_set(error, -EINVAL,
				       "%s.dsn: not a libpq connection string: "
				       "%s (quoted text withheld)",
				       node_path, withheld);
	}
	describe(server, options);
	server->connect_timeout_ms = timeout_setting(options);
	const char *user_options = option_value(options, "options");
	int length = asprintf(&server->options,
			      "%s%s-c TimeZone=UTC "
			      "-c plan_cache_mode=force_generic_plan",
			      user_options ? user_options : "",
			      user_options ? " " : "");
	PQconninfoFree(options);
	server->dsn = strdup(dsn ? dsn : "");
	if (length < 0)
		server->options = NULL;
	if (password_file)
		server->password_file = strdup(password_file);
	if (!server->dsn || !server->options ||
	    (password_file && !server->password_file)) {
		pg_server_release(server);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	if (password_file && check_files) {
		int result = check_password_file(password_file, node_path,
						 error);
		if (result < 0) {
			pg_server_release(server);
			return result;
		}
	}
	return 0;
}

void pg_server_release(struct pg_server *server)
{
	free(server->dsn);
	free(server->password_file);
	free(server->options);
	memset(server, 0, sizeof *server);
}

/* -- failures ---------------------------------------------------------- */

bool pg_failure_is(const struct pg_failure *failure, const char *sqlstate)
{
	return strcmp(failure->sqlstate, sqlstate) == 0;
}

/* The first line of a libpq or server message, without "ERROR:  ". */
static void first_line(const char *message, char *out, size_t size)
{
	if (!message)
		message = "";
	while (*message == ' ' || *message == '\n')
		message++;
	size_t length = strcspn(message, "\n");
	if (length >= size)
		length = size - 1;
	memcpy(out, message, length);
	out[length] = '\0';
}

static void classify(struct pg_failure *failure)
{
	const char *state = failure->sqlstate;
	failure->operational = false;
	if (!state[0] || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0 ||
	    strncmp(state, "40", 2) == 0) {
		failure->operational = true;
		failure->code = -EIO;
	} else if (strncmp(state, "22", 2) == 0 ||
		   strncmp(state, "23", 2) == 0) {
		failure->code = -EINVAL;
	} else if (strncmp(state, "28", 2) == 0 ||
		   strcmp(state, "42501") == 0) {
		failure->code = -EACCES;
	} else if (strcmp(state, "53100") == 0) {
		failure->code = -ENOSPC;
	} else if (strncmp(state, "54", 2) == 0) {
		failure->code = -EFBIG;
	} else {
		failure->code = -EIO;
	}
}

static int fail_with_result(struct pg_failure *failure, const PGresult *result)
{
	const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
	snprintf(failure->sqlstate, sizeof failure->sqlstate, "%s",
		 state ? state : "");
	const char *primary =
		PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
	first_line(primary ? primary : PQresultErrorMessage(result),
		   failure->message, sizeof failure->message);
	classify(failure);
	return failure->code;
}

/* A failure of the connection itself: operational. */
static int fail_connection(struct pg_failure *failure, PGconn *conn,
			   const char *what)
{
	char line[sizeof failure->message];
	first_line(conn ? PQerrorMessage(conn) : "out of memory", line,
		   sizeof line);
	failure->sqlstate[0] = '\0';
	snprintf(failure->message, sizeof failure->message, "%s: %.280s", what,
		 line[0] ? line : "no reason given");
	failure->code = -EIO;
	failure->operational = true;
	return failure->code;
}

/* The wait was cut short (interrupted, deadline): call->error says so. */
static int fail_wait(struct pg_failure *failure, struct crash_call *call,
		     int code)
{
	failure->sqlstate[0] = '\0';
	snprintf(failure->message, sizeof failure->message, "%.300s",
		 call->error.message[0] ? call->error.message
					: strerror(-code));
	failure->code = code;
	failure->operational = call->error.operational;
	return code;
}

int pg_failure_report(struct crash_call *call, const struct pg_server *server,
		      const struct pg_failure *failure, const char *format,
		      ...)
{
	char what[CRASH_ERROR_MESSAGE_MAX / 2];
	va_list args;
	va_start(args, format);
	vsnprintf(what, sizeof what, format, args);
	va_end(args);
	if (failure->code == -EINTR || failure->code == -ETIMEDOUT)
		return (failure->operational ? crash_error_set_operational
					     : crash_error_set)(
			&call->error, failure->code, "%s: PostgreSQL %s: %s",
			what, server->description, failure->message);
	if (failure->operational)
		return crash_error_set_operational(
			&call->error, failure->code, "%s: PostgreSQL %s: %s%s%s%s",
			what, server->description, failure->message,
			failure->sqlstate[0] ? " (SQLSTATE " : "",
			failure->sqlstate, failure->sqlstate[0] ? ")" : "");
	return crash_error_set(&call->error, failure->code,
			       "%s: PostgreSQL %s: %s (SQLSTATE %s)", what,
			       server->description, failure->message,
			       failure->sqlstate[0] ? failure->sqlstate : "none");
}

/* -- sessions ------------------------------------------------------------ */

struct pg_session *pg_session_new(void)
{
	return calloc(1, sizeof(struct pg_session));
}

static void forget_prepared(struct pg_session *session)
{
	for (size_t i = 0; i < session->prepared_count; i++)
		free(session->prepared[i]);
	session->prepared_count = 0;
}

static void session_close(struct pg_session *session)
{
	if (session->conn)
		PQfinish(session->conn);
	session->conn = NULL;
	forget_prepared(session);
}

void pg_session_free(struct pg_session *session)
{
	if (!session)
		return;
	session_close(session);
	free(session);
}

bool pg_session_connected(const struct pg_session *session)
{
	return session->conn != NULL;
}

static bool is_prepared(const struct pg_session *session, const char *name)
{
	for (size_t i = 0; i < session->prepared_count; i++)
		if (strcmp(session->prepared[i], name) == 0)
			return true;
	return false;
}

static void remember_prepared(struct pg_session *session, const char *name)
{
	if (session->prepared_count == PG_PREPARED_MAX)
		return;
	char *copy = strdup(name);
	if (copy)
		session->prepared[session->prepared_count++] = copy;
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((now.tv_sec - start->tv_sec) * 1000 +
		      (now.tv_nsec - start->tv_nsec) / 1000000);
}

/* Errors a retry will not mend: credentials, a database or role that is
 * not there, a server that does not let this client in. */
static bool connection_refusal_is_final(PGconn *conn)
{
	static const char *const final_words[] = {
		"authentication failed", "does not exist", "no pg_hba.conf",
		"permission denied", "password", "invalid", NULL
	};
	if (PQconnectionNeedsPassword(conn))
		return true;
	const char *message = PQerrorMessage(conn);
	for (const char *const *word = final_words; *word; word++)
		if (strstr(message, *word))
			return true;
	return false;
}

static int connect_failed(struct pg_failure *failure, PGconn *conn)
{
	fail_connection(failure, conn, "cannot connect");
	if (conn && connection_refusal_is_final(conn)) {
		failure->operational = false;
		failure->code = -EACCES;
	}
	return failure->code;
}

/* The server's notices (a WARNING as it shuts down, a NOTICE) go to the
 * log as one line each, not to stderr as libpq would print them. */
static void log_notice(void *arg, const char *message)
{
	const struct pg_server *server = arg;
	char line[CRASH_ERROR_MESSAGE_MAX / 2];
	first_line(message, line, sizeof line);
	bool warning = strncmp(line, "WARNING", 7) == 0;
	crash_log(warning ? CRASH_LOG_WARNING : CRASH_LOG_DEBUG,
		  "PostgreSQL %s: %s", server->description, line);
}

/* PQconnectStartParams, then PQconnectPoll until it is done, waiting on
 * the socket within the call's deadline and the connect timeout. */
static int session_connect(struct pg_session *session,
			   const struct pg_server *server,
			   struct crash_call *call, struct pg_failure *failure)
{
	const char *keywords[8], *values[8];
	int count = 0;
	keywords[count] = "dbname", values[count++] = server->dsn;
	if (server->password_file)
		keywords[count] = "passfile",
		values[count++] = server->password_file;
	keywords[count] = "client_encoding", values[count++] = "UTF8";
	keywords[count] = "options", values[count++] = server->options;
	keywords[count] = "fallback_application_name",
	values[count++] = "crashfs";
	keywords[count] = NULL, values[count] = NULL;

	PGconn *conn = PQconnectStartParams(keywords, values, 1);
	if (!conn || PQstatus(conn) == CONNECTION_BAD) {
		int code = connect_failed(failure, conn);
		PQfinish(conn);
		return code;
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	while (status != PGRES_POLLING_OK) {
		if (status == PGRES_POLLING_FAILED) {
			int code = connect_failed(failure, conn);
			PQfinish(conn);
			return code;
		}
		long left = -1;
		if (server->connect_timeout_ms >= 0) {
			left = server->connect_timeout_ms - elapsed_ms(&start);
			if (left < 0)
				left = 0;
		}
		int ready = crash_call_wait_fd(
			call, PQsocket(conn),
			status == PGRES_POLLING_READING ? POLLIN : POLLOUT,
			left);
		if (ready < 0) {
			PQfinish(conn);
			return fail_wait(failure, call, ready);
		}
		if (ready == 0) {
			PQfinish(conn);
			failure->sqlstate[0] = '\0';
			snprintf(failure->message, sizeof failure->message,
				 "cannot connect: no answer within %ld s",
				 server->connect_timeout_ms / 1000);
			failure->code = -EIO;
			failure->operational = true;
			return failure->code;
		}
		status = PQconnectPoll(conn);
	}
	PQsetNoticeProcessor(conn, log_notice, (void *)server);
	if (PQsetnonblocking(conn, 1) != 0) {
		int code = fail_connection(failure, conn, "cannot connect");
		PQfinish(conn);
		return code;
	}
	session->conn = conn;
	return 0;
}

/* Sends what libpq holds, reading meanwhile so that a server blocked on
 * its own output does not deadlock us. */
static int flush(struct pg_session *session, struct crash_call *call,
		 struct pg_failure *failure)
{
	for (;;) {
		int flushed = PQflush(session->conn);
		if (flushed == 0)
			return 0;
		if (flushed < 0)
			return fail_connection(failure, session->conn,
					       "sending");
		int ready = crash_call_wait_fd(call, PQsocket(session->conn),
					       POLLOUT | POLLIN, -1);
		if (ready < 0)
			return fail_wait(failure, call, ready);
		if (!PQconsumeInput(session->conn))
			return fail_connection(failure, session->conn,
					       "receiving");
	}
}

/* The next result, waiting for it as long as the call may. */
static int next_result(struct pg_session *session, struct crash_call *call,
		       struct pg_failure *failure, PGresult **out)
{
	*out = NULL;
	while (PQisBusy(session->conn)) {
		int ready = crash_call_wait_fd(call, PQsocket(session->conn),
					       POLLIN, -1);
		if (ready < 0)
			return fail_wait(failure, call, ready);
		if (!PQconsumeInput(session->conn))
			return fail_connection(failure, session->conn,
					       "receiving");
	}
	*out = PQgetResult(session->conn);
	if (PQstatus(session->conn) == CONNECTION_BAD) {
		PQclear(*out);
		*out = NULL;
		return fail_connection(failure, session->conn,
				       "connection lost");
	}
	return 0;
}

/* Takes one statement's (or one prepare's) result and the NULL after it.
 * *first_failure is set by the first statement that failed. */
static int take_result(struct pg_session *session, struct crash_call *call,
		       struct pg_failure *failure, bool *failed,
		       PGresult **kept)
{
	PGresult *result, *end;
	int code = next_result(session, call, failure, &result);
	if (code < 0)
		return code;
	if (!result)
		return fail_connection(failure, session->conn,
				       "protocol out of step");
	ExecStatusType status = PQresultStatus(result);
	if (status == PGRES_FATAL_ERROR && !*failed) {
		fail_with_result(failure, result);
		*failed = true;
	}
	if (kept && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK))
		*kept = result;
	else
		PQclear(result);
	code = next_result(session, call, failure, &end);
	if (code < 0)
		return code;
	if (end) {
		PQclear(end);
		return fail_connection(failure, session->conn,
				       "protocol out of step");
	}
	return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 1 : 0;
}

static int send_statements(struct pg_session *session,
			   struct pg_statement *statements, size_t count,
			   bool *preparing, struct pg_failure *failure)
{
	for (size_t i = 0; i < count; i++) {
		struct pg_statement *s = &statements[i];
		int sent;
		preparing[i] = s->name && !is_prepared(session, s->name) &&
			       session->prepared_count < PG_PREPARED_MAX;
		if (preparing[i] &&
		    !PQsendPrepare(session->conn, s->name, s->sql,
				   s->param_count, NULL))
			return fail_connection(failure, session->conn,
					       "sending");
		if (s->name && (preparing[i] || is_prepared(session, s->name)))
			sent = PQsendQueryPrepared(session->conn, s->name,
						   s->param_count, s->values,
						   s->lengths, s->formats,
						   s->result_format);
		else
			sent = PQsendQueryParams(session->conn, s->sql,
						 s->param_count, NULL,
						 s->values, s->lengths,
						 s->formats, s->result_format);
		if (!sent)
			return fail_connection(failure, session->conn,
					       "sending");
	}
	if (!PQpipelineSync(session->conn))
		return fail_connection(failure, session->conn, "sending");
	return 0;
}

static int receive_results(struct pg_session *session,
			   struct crash_call *call,
			   struct pg_statement *statements, size_t count,
			   const bool *preparing, struct pg_failure *failure)
{
	bool failed = false;
	for (size_t i = 0; i < count; i++) {
		int code;
		if (preparing[i]) {
			code = take_result(session, call, failure, &failed,
					   NULL);
			if (code < 0)
				return code;
			if (code == 1)
				remember_prepared(session, statements[i].name);
		}
		code = take_result(session, call, failure, &failed,
				   &statements[i].result);
		if (code < 0)
			return code;
	}
	PGresult *sync;
	int code = next_result(session, call, failure, &sync);
	if (code < 0)
		return code;
	ExecStatusType status = sync ? PQresultStatus(sync) : PGRES_FATAL_ERROR;
	PQclear(sync);
	if (status != PGRES_PIPELINE_SYNC)
		return fail_connection(failure, session->conn,
				       "protocol out of step");
	return failed ? failure->code : 0;
}

int pg_session_run(struct pg_session *session, const struct pg_server *server,
		   struct crash_call *call, struct pg_statement *statements,
		   size_t count, struct pg_failure *failure)
{
	bool stack_preparing[16];
	bool *preparing = count <= 16 ? stack_preparing
				      : calloc(count, sizeof *preparing);
	int code;

	memset(failure, 0, sizeof *failure);
	for (size_t i = 0; i < count; i++)
		statements[i].result = NULL;
	if (!preparing) {
		failure->code = -ENOMEM;
		snprintf(failure->message, sizeof failure->message,
			 "out of memory");
		return -ENOMEM;
	}
	if (session->conn && PQstatus(session->conn) != CONNECTION_OK)
		session_close(session);
	code = session->conn ? 0
			     : session_connect(session, server, call, failure);
	if (code == 0 && !PQenterPipelineMode(session->conn))
		code = fail_connection(failure, session->conn, "pipeline");
	if (code == 0)
		code = send_statements(session, statements, count, preparing,
				       failure);
	if (code == 0)
		code = flush(session, call, failure);
	if (code == 0)
		code = receive_results(session, call, statements, count,
				       preparing, failure);
	if (session->conn && (code == 0 || (failure->sqlstate[0] &&
					    !failure->operational))) {
		if (!PQexitPipelineMode(session->conn))
			session_close(session);
	} else {
		/* Interrupted, timed out or lost: the protocol state is
		 * unknown; the next run starts on a new connection. */
		session_close(session);
	}
	if (preparing != stack_preparing)
		free(preparing);
	if (code < 0)
		pg_statements_clear(statements, count);
	return code;
}

void pg_statements_clear(struct pg_statement *statements, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		PQclear(statements[i].result);
		statements[i].result = NULL;
	}
}

long pg_statement_changed(const struct pg_statement *statement)
{
	if (!statement->result)
		return 0;
	return strtol(PQcmdTuples(statement->result), NULL, 10);
}
