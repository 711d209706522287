/*
 * pg_store.c - the PostgreSQL store: configuration, opening, what every
 * operation shares, setup and stats (see pg_store.h, pg_internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crash_log.h"
#include "storage/postgresql/pg_internal.h"
#include "storage/postgresql/pg_schema.h"
#include "storage/read_cache/read_cache.h"
#include "storage/store_config.h"

struct pg_store *pg_store_from(struct crash_store *store)
{
	return crash_store_downcast(store, &postgresql_store_ops);
}

/* -- sessions ------------------------------------------------------------ */

static int pool_open(void *arg, void **connection_out,
		     struct crash_error *error)
{
	(void)arg;
	/* Unconnected: the connection is made inside a store call, where a
	 * server that is down is that call's (retried) failure. */
	*connection_out = pg_session_new();
	if (!*connection_out)
		return crash_error_set(error, -ENOMEM, "out of memory");
	return 0;
}

static void pool_close(void *arg, void *connection)
{
	(void)arg;
	pg_session_free(connection);
}

static const struct connection_pool_ops pool_ops = {
	.open = pool_open,
	.close = pool_close,
};

static int lease(struct pg_store *self, struct crash_call *call,
		 struct pg_session **out, struct pg_failure *failure)
{
	void *connection = NULL;
	int result = connection_pool_get(self->pool, call, &connection);
	if (result < 0) {
		memset(failure, 0, sizeof *failure);
		failure->code = result;
		snprintf(failure->message, sizeof failure->message, "%.300s",
			 call->error.message);
		return result;
	}
	*out = connection;
	return 0;
}

int pg_store_run(struct pg_store *self, struct crash_call *call,
		 struct pg_statement *statements, size_t count,
		 struct pg_failure *failure)
{
	struct pg_session *session;
	int result = lease(self, call, &session, failure);
	if (result < 0)
		return result;
	result = pg_session_run(session, &self->server, call, statements,
				count, failure);
	connection_pool_put(self->pool, session);
	return result;
}

int pg_store_fail(struct pg_store *self, struct crash_call *call,
		  const struct pg_failure *failure, const char *operation,
		  const char *crash_id)
{
	return pg_failure_report(call, &self->server, failure, "%s: %s %s",
				 self->base.node_path, operation,
				 crash_id ? crash_id : "");
}

int pg_store_crash_week(struct pg_store *self, struct crash_call *call,
			const char *crash_id, struct pg_week *week)
{
	if (pg_week_of_crash_id(crash_id, week) < 0)
		return crash_error_set(&call->error, -EINVAL,
				       "%s: %s is not a crash id with a date",
				       self->base.node_path, crash_id);
	return 0;
}

/* -- weeks ----------------------------------------------------------- */

static bool week_known(struct pg_store *self, const struct pg_week *week)
{
	bool known = false;
	pthread_mutex_lock(&self->weeks_lock);
	for (size_t i = 0; i < self->known_week_count && !known; i++)
		known = self->known_weeks[i] == week->first_day;
	pthread_mutex_unlock(&self->weeks_lock);
	return known;
}

static void remember_week(struct pg_store *self, const struct pg_week *week)
{
	pthread_mutex_lock(&self->weeks_lock);
	bool known = false;
	for (size_t i = 0; i < self->known_week_count && !known; i++)
		known = self->known_weeks[i] == week->first_day;
	if (!known) {
		if (self->known_week_count == PG_KNOWN_WEEKS_MAX) {
			memmove(self->known_weeks, self->known_weeks + 1,
				(PG_KNOWN_WEEKS_MAX - 1) *
					sizeof self->known_weeks[0]);
			self->known_week_count--;
		}
		self->known_weeks[self->known_week_count++] = week->first_day;
	}
	pthread_mutex_unlock(&self->weeks_lock);
}

void pg_store_forget_week(struct pg_store *self, const struct pg_week *week)
{
	pthread_mutex_lock(&self->weeks_lock);
	for (size_t i = 0; i < self->known_week_count; i++) {
		if (self->known_weeks[i] == week->first_day) {
			self->known_weeks[i] =
				self->known_weeks[--self->known_week_count];
			break;
		}
	}
	pthread_mutex_unlock(&self->weeks_lock);
}

int pg_store_week_tables(struct pg_store *self, struct crash_call *call,
			 const struct pg_week *week, unsigned *tables,
			 struct pg_failure *failure)
{
	char names[PG_TABLE_COUNT][PG_NAME_MAX];
	const char *values[PG_TABLE_COUNT];

	if (week_known(self, week)) {
		*tables = PG_TABLES_ALL;
		return 0;
	}
	for (int i = 0; i < PG_TABLE_COUNT; i++) {
		pg_week_name(names[i], sizeof names[i], pg_table_prefixes[i],
			     week);
		values[i] = names[i];
	}
	char *sql = pg_sql_week_tables();
	if (!sql) {
		memset(failure, 0, sizeof *failure);
		failure->code = -ENOMEM;
		snprintf(failure->message, sizeof failure->message,
			 "out of memory");
		return -ENOMEM;
	}
	struct pg_statement statement = { .name = "crashfs_week_tables",
					   .sql = sql,
					   .param_count = PG_TABLE_COUNT,
					   .values = values };
	int result = pg_store_run(self, call, &statement, 1, failure);
	*tables = 0;
	if (result == 0 && PQntuples(statement.result) == 1)
		for (int i = 0; i < PG_TABLE_COUNT; i++)
			if (strcmp(PQgetvalue(statement.result, 0, i), "t") == 0)
				*tables |= 1u << i;
	pg_statements_clear(&statement, 1);
	free(sql);
	if (result == 0 && *tables == PG_TABLES_ALL)
		remember_week(self, week);
	return result;
}

static void count_created(void *ctx, const char *created)
{
	(void)created;
	(*(size_t *)ctx)++;
}

int pg_store_ensure_week(struct pg_store *self, struct crash_call *call,
			 const struct pg_week *week,
			 struct pg_failure *failure)
{
	struct pg_session *session;
	size_t created = 0;
	int result = lease(self, call, &session, failure);
	if (result < 0)
		return result;
	result = pg_schema_ensure(session, &self->server, call, week, 1,
				  count_created, &created, NULL, failure);
	connection_pool_put(self->pool, session);
	if (result < 0)
		return result;
	atomic_fetch_add(&self->objects_created, created);
	if (created > 0)
		crash_log(CRASH_LOG_INFO,
			  "%s: made the missing tables of week %s (%zu "
			  "objects: partitions, indexes, crashfs side data)",
			  self->base.node_path, week->suffix, created);
	remember_week(self, week);
	return 0;
}

int pg_store_write(struct pg_store *self, struct crash_call *call,
		   const struct pg_week *week, struct pg_statement *statements,
		   size_t count, const char *operation, const char *crash_id)
{
	struct pg_failure failure;
	pg_store_absent_forget(self, crash_id);
	int result = pg_store_run(self, call, statements, count, &failure);
	if (result < 0 && pg_failure_is(&failure, "42P01")) {
		pg_store_forget_week(self, week);
		result = pg_store_ensure_week(self, call, week, &failure);
		if (result == 0)
			result = pg_store_run(self, call, statements, count,
					      &failure);
	}
	/* Whatever came of it, the crash may be there now. */
	pg_store_absent_forget(self, crash_id);
	if (result < 0)
		return pg_store_fail(self, call, &failure, operation, crash_id);
	return 0;
}

/* -- crashes found absent ------------------------------------------------- */

static void add_seconds(struct timespec *when, double seconds)
{
	long long ns = (long long)(seconds * 1e9);
	when->tv_sec += (time_t)(ns / 1000000000LL);
	when->tv_nsec += (long)(ns % 1000000000LL);
	if (when->tv_nsec >= 1000000000L) {
		when->tv_sec++;
		when->tv_nsec -= 1000000000L;
	}
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The entry of crash_id, or NULL; absent_lock held. */
static struct pg_absent *find_absent(struct pg_store *self,
				     const char *crash_id)
{
	for (size_t i = 0; i < PG_ABSENT_MAX; i++)
		if (strcmp(self->absent[i].crash_id, crash_id) == 0)
			return &self->absent[i];
	return NULL;
}

static size_t bucket_of(const char *crash_id)
{
	uint32_t hash = 2166136261u; /* FNV-1a */
	for (const char *c = crash_id; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 16777619u;
	return hash % PG_ABSENT_BUCKETS;
}

uint64_t pg_store_absent_ticket(struct pg_store *self, const char *crash_id)
{
	pthread_mutex_lock(&self->absent_lock);
	uint64_t ticket = self->absent_generations[bucket_of(crash_id)];
	pthread_mutex_unlock(&self->absent_lock);
	return ticket;
}

void pg_store_absent_remember(struct pg_store *self, const char *crash_id,
			      uint64_t ticket)
{
	struct timespec until;
	if (self->absent_ttl <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	add_seconds(&until, self->absent_ttl);
	pthread_mutex_lock(&self->absent_lock);
	if (self->absent_generations[bucket_of(crash_id)] != ticket) {
		pthread_mutex_unlock(&self->absent_lock);
		return;
	}
	struct pg_absent *entry = find_absent(self, crash_id);
	if (!entry) {
		entry = &self->absent[self->absent_next];
		self->absent_next = (self->absent_next + 1) % PG_ABSENT_MAX;
		snprintf(entry->crash_id, sizeof entry->crash_id, "%s",
			 crash_id);
	}
	entry->until = until;
	pthread_mutex_unlock(&self->absent_lock);
}

bool pg_store_absent_known(struct pg_store *self, const char *crash_id)
{
	struct timespec now;
	bool known = false;
	if (self->absent_ttl <= 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&self->absent_lock);
	struct pg_absent *entry = find_absent(self, crash_id);
	if (entry && before(&now, &entry->until))
		known = true;
	else if (entry)
		entry->crash_id[0] = '\0';
	pthread_mutex_unlock(&self->absent_lock);
	if (known)
		atomic_fetch_add(&self->absent_hits, 1);
	return known;
}

void pg_store_absent_forget(struct pg_store *self, const char *crash_id)
{
	pthread_mutex_lock(&self->absent_lock);
	self->absent_generations[bucket_of(crash_id)]++;
	struct pg_absent *entry = find_absent(self, crash_id);
	if (entry)
		entry->crash_id[0] = '\0';
	pthread_mutex_unlock(&self->absent_lock);
}

/* -- the read cache ----------------------------------------------------- */

void pg_store_cache_key(struct pg_store *self, const char *crash_id,
			int part, char *out, size_t size)
{
	snprintf(out, size, "%s\n%s\n%s", self->base.node_path, crash_id,
		 part == PG_PART_RAW ? "raw" : "processed");
}

void pg_store_drop_cached(struct pg_store *self, const char *crash_id,
			  int part)
{
	char key[STORE_NODE_PATH_MAX + 64];
	if (!self->read_cache)
		return;
	pg_store_cache_key(self, crash_id, part, key, sizeof key);
	read_cache_drop(self->read_cache, key);
}

/* -- setup ------------------------------------------------------------ */

/* Weeks of the partitions raw_crashes and processed_crashes have now. */
static int existing_weeks(struct pg_store *self, struct crash_call *call,
			  struct pg_week **weeks, size_t *count,
			  struct pg_failure *failure)
{
	char *sql = pg_sql_partitions();
	struct pg_statement statement = { .sql = sql };
	*weeks = NULL;
	*count = 0;
	if (!sql)
		return -ENOMEM;
	int result = pg_store_run(self, call, &statement, 1, failure);
	free(sql);
	if (result < 0)
		return result;
	int rows = PQntuples(statement.result);
	*weeks = calloc((size_t)rows + 1, sizeof **weeks);
	for (int row = 0; *weeks && row < rows; row++) {
		const char *name = PQgetvalue(statement.result, row, 0);
		const char *underscore = strrchr(name, '_');
		struct pg_week week;
		if (underscore &&
		    pg_week_parse_suffix(underscore + 1, &week) == 0)
			(*weeks)[(*count)++] = week;
	}
	pg_statements_clear(&statement, 1);
	return *weeks ? 0 : -ENOMEM;
}

struct setup_report {
	void (*report)(void *ctx, const char *created);
	void *ctx;
	size_t created;
};

static void report_created(void *ctx, const char *created)
{
	struct setup_report *setup = ctx;
	setup->created++;
	if (setup->report)
		setup->report(setup->ctx, created);
}

/* crashfs --setup-store: Socorro's tables, the partitions from last week
 * to two weeks ahead (Socorro's weekly_report_partitions made this week
 * and the two after it), and crashfs's side tables and indexes for every
 * week that has partitions already. */
static int pg_setup(struct crash_store *store, struct crash_call *call,
		    void (*report)(void *ctx, const char *created), void *ctx)
{
	struct pg_store *self = pg_store_from(store);
	struct pg_failure failure;
	struct pg_week *existing = NULL, *weeks = NULL, now;
	size_t existing_count = 0;
	struct setup_report setup = { .report = report, .ctx = ctx };

	int result = existing_weeks(self, call, &existing, &existing_count,
				    &failure);
	if (result == -ENOMEM)
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	if (result < 0)
		return pg_store_fail(self, call, &failure, "setup", NULL);
	weeks = calloc(existing_count + 4, sizeof *weeks);
	if (!weeks) {
		free(existing);
		return crash_error_set(&call->error, -ENOMEM, "out of memory");
	}
	pg_week_of_time(time(NULL), &now);
	size_t count = 0;
	for (int i = -1; i <= 2; i++)
		pg_week_add(&now, i, &weeks[count++]);
	for (size_t i = 0; i < existing_count; i++) {
		bool seen = false;
		for (size_t j = 0; j < count && !seen; j++)
			seen = weeks[j].first_day == existing[i].first_day;
		if (!seen)
			weeks[count++] = existing[i];
	}
	free(existing);

	struct pg_session *session;
	result = lease(self, call, &session, &failure);
	if (result == 0) {
		result = pg_schema_ensure(session, &self->server, call, weeks,
					  count, report_created, &setup, NULL,
					  &failure);
		connection_pool_put(self->pool, session);
	}
	free(weeks);
	if (result < 0)
		return pg_store_fail(self, call, &failure, "setup", NULL);
	atomic_fetch_add(&self->objects_created, setup.created);
	return 0;
}

/* -- the store ------------------------------------------------------------ */

static void pg_close(struct crash_store *store)
{
	struct pg_store *self = pg_store_from(store);
	connection_pool_free(self->pool);
	pg_server_release(&self->server);
	pthread_mutex_destroy(&self->weeks_lock);
	pthread_mutex_destroy(&self->absent_lock);
	free(self->spool_dir);
	crash_store_base_release(store);
	free(self);
}

static void pg_reconnect(struct crash_store *store)
{
	connection_pool_invalidate(pg_store_from(store)->pool);
}

static int pg_new_crashes(struct crash_store *store, struct crash_call *call,
			  crash_queue_emit_fn emit, void *ctx)
{
	/* Socorro's PostgreSQL store queued nothing: new_crashes was []. */
	return 0;
}

static void pg_describe(struct crash_store *store, json_t *stats)
{
	struct pg_store *self = pg_store_from(store);
	json_object_set_new(stats, "server",
			    json_string(self->server.description));
	json_object_set_new(stats, "max_connections",
			    json_integer((json_int_t)self->max_connections));
	json_object_set_new(
		stats, "connections",
		json_integer((json_int_t)connection_pool_open_count(
			self->pool)));
	json_object_set_new(
		stats, "objects_created",
		json_integer((json_int_t)atomic_load(&self->objects_created)));
	json_object_set_new(
		stats, "absent_hits",
		json_integer((json_int_t)atomic_load(&self->absent_hits)));
}

const struct crash_store_ops postgresql_store_ops = {
	.type_name = "postgresql",
	.thread_model = CRASH_STORE_PARALLEL,
	.close = pg_close,
	.save_raw_crash = pg_save_raw_crash,
	.save_processed = pg_save_processed,
	.remove = pg_remove,
	.remove_part = pg_remove_part,
	.set_part_mtime = pg_set_part_mtime,
	.stat_crash = pg_stat_crash,
	.stat_part = pg_stat_part,
	.open_part = pg_open_part,
	.list_parts = pg_list_parts,
	.open_days = pg_open_days,
	.list_crashes = pg_list_crashes,
	.new_crashes = pg_new_crashes,
	.reconnect = pg_reconnect,
	.describe = pg_describe,
	.setup = pg_setup,
};

/* connect_at_open: one connection, now, so that a mount with a wrong
 * dsn or an unreachable server stops at once with the reason. */
static int check_server(struct pg_store *self, struct crash_error *error)
{
	struct crash_call call;
	struct pg_failure failure;
	struct pg_session *session = pg_session_new();
	if (!session)
		return crash_error_set(error, -ENOMEM, "out of memory");
	crash_call_init(&call);
	/* Not forever on a server that accepts and never answers. */
	if (self->server.connect_timeout_ms > 0)
		crash_call_set_timeout(
			&call, 2.0 * (double)self->server.connect_timeout_ms /
				       1000.0);
	struct pg_statement statement = {
		.sql = "SELECT current_setting('server_version')"
	};
	int result = pg_session_run(session, &self->server, &call, &statement,
				    1, &failure);
	if (result == 0)
		crash_log(CRASH_LOG_INFO, "%s: PostgreSQL %s (server %s)",
			  self->base.node_path, self->server.description,
			  PQgetvalue(statement.result, 0, 0));
	pg_statements_clear(&statement, 1);
	pg_session_free(session);
	if (result < 0) {
		pg_failure_report(&call, &self->server, &failure,
				  "%s: cannot use the server",
				  self->base.node_path);
		return crash_error_set(error, result, "%s", call.error.message);
	}
	return 0;
}

static const char *const json_keys[] = {
	"dsn", "password_file", "max_connections", "connect_at_open",
	"absent_ttl", NULL,
};

struct pg_options {
	const char *dsn, *password_file;
	int64_t max_connections;
	bool connect_at_open;
	double absent_ttl;
};

/* A number of seconds, 0 to a minute. */
static int read_seconds(const json_t *node, const char *node_path,
			const char *key, double default_value, double *out,
			struct crash_error *error)
{
	const json_t *value = json_object_get(node, key);
	*out = default_value;
	if (!value)
		return 0;
	if (!json_is_number(value) || json_number_value(value) < 0 ||
	    json_number_value(value) > 60)
		return crash_error_set(error, -EINVAL,
				       "%s.%s: a number of seconds from 0 to "
				       "60 expected",
				       node_path, key);
	*out = json_number_value(value);
	return 0;
}

static int read_options(const json_t *node, const char *node_path,
			struct pg_options *options, struct crash_error *error)
{
	int result = store_config_check_keys(node, node_path, json_keys,
					     error);
	if (result == 0)
		result = store_config_string(node, node_path, "dsn", "",
					     &options->dsn, error);
	if (result == 0)
		result = store_config_string(node, node_path, "password_file",
					     NULL, &options->password_file,
					     error);
	if (result == 0)
		result = store_config_int(node, node_path, "max_connections",
					  PG_STORE_MAX_CONNECTIONS_DEFAULT, 1,
					  CONNECTION_POOL_MAX,
					  &options->max_connections, error);
	if (result == 0)
		result = store_config_bool(node, node_path, "connect_at_open",
					   true, &options->connect_at_open,
					   error);
	if (result == 0)
		result = read_seconds(node, node_path, "absent_ttl",
				      PG_ABSENT_TTL_DEFAULT,
				      &options->absent_ttl, error);
	return result;
}

int postgresql_store_open_json(const json_t *node, const char *node_path,
			       const struct crash_store_env *env,
			       struct crash_store **out,
			       struct crash_error *error)
{
	struct pg_options options = { 0 };
	int result = read_options(node, node_path, &options, error);
	if (result < 0)
		return result;
	struct pg_store *self = calloc(1, sizeof *self);
	if (!self)
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	if (crash_store_base_init(&self->base, &postgresql_store_ops,
				  node_path) < 0) {
		free(self);
		return crash_error_set(error, -ENOMEM, "%s: out of memory",
				       node_path);
	}
	pthread_mutex_init(&self->weeks_lock, NULL);
	pthread_mutex_init(&self->absent_lock, NULL);
	self->absent_ttl = options.absent_ttl;
	self->max_connections = (size_t)options.max_connections;
	self->read_cache = env->read_cache;
	if (env->spool_dir)
		self->spool_dir = strdup(env->spool_dir);
	/* validate_only: the configuration is read and checked, and nothing
	 * outside the process is touched (no password file, no server). */
	result = pg_server_init(&self->server, options.dsn,
				options.password_file, node_path,
				!env->validate_only, error);
	if (result == 0) {
		self->pool = connection_pool_new(&pool_ops, self,
						 self->max_connections,
						 node_path);
		if (!self->pool || (env->spool_dir && !self->spool_dir))
			result = crash_error_set(error, -ENOMEM,
						 "%s: out of memory",
						 node_path);
	}
	if (result == 0 && options.connect_at_open && !env->validate_only)
		result = check_server(self, error);
	if (result < 0) {
		pg_close(&self->base);
		return result;
	}
	*out = &self->base;
	return 0;
}
