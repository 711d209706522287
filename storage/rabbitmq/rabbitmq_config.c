/*
 * rabbitmq_config.c - the options of a "rabbitmq" node, and its password.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/rabbitmq/rabbitmq_internal.h"
#include "storage/store_config.h"

/* A password file is one short line; anything longer is not one. */
#define PASSWORD_FILE_MAX 4096

static const char *const allowed_keys[] = {
	"host", "port", "vhost", "user", "password", "password_file",
	"routing_key", "filter_on_legacy_processing", "queues",
	"queue_window", "timeout", "max_connections", NULL,
};

static const char *const role_names[RABBITMQ_ROLE_COUNT] = {
	[RABBITMQ_NORMAL] = "normal",
	[RABBITMQ_PRIORITY] = "priority",
	[RABBITMQ_REPROCESSING] = "reprocessing",
};

/* Socorro's standard_queue_name, priority_queue_name and
 * reprocessing_queue_name. */
static const char *const default_queues[RABBITMQ_ROLE_COUNT] = {
	[RABBITMQ_NORMAL] = "socorro.normal",
	[RABBITMQ_PRIORITY] = "socorro.priority",
	[RABBITMQ_REPROCESSING] = "socorro.reprocessing",
};

const char *rabbitmq_role_name(enum rabbitmq_role role)
{
	return role < RABBITMQ_ROLE_COUNT ? role_names[role] : "?";
}

void rabbitmq_options_free(struct rabbitmq_options *options)
{
	free(options->host);
	free(options->vhost);
	free(options->user);
	if (options->password) {
		/* Not left in freed memory for a core dump to show. */
		explicit_bzero(options->password, strlen(options->password));
		free(options->password);
	}
	free(options->password_file);
	free(options->routing_key);
	for (int role = 0; role < RABBITMQ_ROLE_COUNT; role++)
		free(options->queues[role]);
	memset(options, 0, sizeof *options);
}

enum rabbitmq_role rabbitmq_options_routed_role(
	const struct rabbitmq_options *options)
{
	for (int role = 0; role < RABBITMQ_ROLE_COUNT; role++)
		if (strcmp(options->queues[role], options->routing_key) == 0)
			return (enum rabbitmq_role)role;
	return RABBITMQ_ROLE_COUNT;
}

static int copy_string(char **out, const char *value, const char *node_path,
		       const char *key, struct crash_error *error)
{
	*out = strdup(value);
	if (!*out)
		return crash_error_set(error, -ENOMEM, "%s.%s: out of memory",
				       node_path, key);
	return 0;
}

/* A string option that must not be empty and fits an AMQP short string. */
static int name_option(const json_t *node, const char *node_path,
		       const char *key, const char *default_value,
		       char **out, struct crash_error *error)
{
	const char *value;
	int result = store_config_string(node, node_path, key, default_value,
					 &value, error);
	if (result < 0)
		return result;
	if (!value[0] || strlen(value) > RABBITMQ_NAME_MAX)
		return crash_error_set(error, -EINVAL,
				       "%s.%s: must be 1 to %d bytes long",
				       node_path, key, RABBITMQ_NAME_MAX);
	return copy_string(out, value, node_path, key, error);
}

static int parse_queues(const json_t *node, const char *node_path,
			struct rabbitmq_options *options,
			struct crash_error *error)
{
	static const char *const keys[] = { "normal", "priority",
					    "reprocessing", NULL };
	const json_t *queues = json_object_get(node, "queues");
	char path[600];
	int result;

	snprintf(path, sizeof path, "%s.queues", node_path);
	if (queues && !json_is_object(queues))
		return crash_error_set(error, -EINVAL,
				       "%s: must be an object {\"normal\": ..., "
				       "\"priority\": ..., \"reprocessing\": "
				       "...}",
				       path);
	if (queues) {
		const char *key;
		json_t *value;
		json_object_foreach((json_t *)queues, key, value) {
			bool known = false;
			for (size_t i = 0; keys[i]; i++)
				known = known || strcmp(key, keys[i]) == 0;
			if (!known)
				return crash_error_set(
					error, -EINVAL,
					"%s.%s: unknown queue role (normal, "
					"priority, reprocessing)",
					path, key);
		}
	}
	for (int role = 0; role < RABBITMQ_ROLE_COUNT; role++) {
		result = name_option(queues ? queues : json_null(), path,
				     role_names[role], default_queues[role],
				     &options->queues[role], error);
		if (result < 0)
			return result;
	}
	/* Socorro polled three queues; one queue under two roles would be
	 * polled twice and its messages told apart by nothing. */
	for (int a = 0; a < RABBITMQ_ROLE_COUNT; a++)
		for (int b = a + 1; b < RABBITMQ_ROLE_COUNT; b++)
			if (strcmp(options->queues[a], options->queues[b]) == 0)
				return crash_error_set(
					error, -EINVAL,
					"%s: %s and %s name the same queue "
					"'%s'",
					path, role_names[a], role_names[b],
					options->queues[a]);
	return 0;
}

/* The first line of the password file, refused if group or others may
 * read it. */
static int read_password_file(const char *file_name, const char *node_path,
			      char **out, struct crash_error *error)
{
	int fd = open(file_name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return crash_error_set(error, -errno,
				       "%s.password_file: cannot open %s: %s",
				       node_path, file_name, strerror(errno));
	struct stat st;
	int result = 0;
	if (fstat(fd, &st) < 0) {
		result = crash_error_set(error, -errno,
					 "%s.password_file: cannot stat %s: %s",
					 node_path, file_name,
					 strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		result = crash_error_set(error, -EINVAL,
					 "%s.password_file: %s is not a "
					 "regular file",
					 node_path, file_name);
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		result = crash_error_set(error, -EACCES,
					 "%s.password_file: %s has group or "
					 "world access (mode %04o): refused; "
					 "chmod 600 it",
					 node_path, file_name,
					 (unsigned)(st.st_mode & 07777));
	}
	if (result < 0) {
		close(fd);
		return result;
	}

	char buffer[PASSWORD_FILE_MAX + 1];
	size_t length = 0;
	for (;;) {
		ssize_t got = read(fd, buffer + length,
				   sizeof buffer - 1 - length);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			result = crash_error_set(error, -errno,
						 "%s.password_file: cannot "
						 "read %s: %s",
						 node_path, file_name,
						 strerror(errno));
			break;
		}
		if (got == 0)
			break;
		length += (size_t)got;
		if (length == sizeof buffer - 1) {
			result = crash_error_set(error, -EINVAL,
						 "%s.password_file: %s is "
						 "longer than %d bytes",
						 node_path, file_name,
						 PASSWORD_FILE_MAX);
			break;
		}
	}
	close(fd);
	buffer[length] = '\0';
	buffer[strcspn(buffer, "\r\n")] = '\0';
	if (result == 0 && !buffer[0])
		result = crash_error_set(error, -EINVAL,
					 "%s.password_file: %s has an empty "
					 "first line",
					 node_path, file_name);
	if (result == 0)
		result = copy_string(out, buffer, node_path, "password_file",
				     error);
	explicit_bzero(buffer, sizeof buffer);
	return result;
}

static int parse_password(const json_t *node, const char *node_path,
			  bool validate_only,
			  struct rabbitmq_options *options,
			  struct crash_error *error)
{
	const char *password = NULL, *file_name = NULL;
	int result;

	if ((result = store_config_string(node, node_path, "password", NULL,
					  &password, error)) < 0 ||
	    (result = store_config_string(node, node_path, "password_file",
					  NULL, &file_name, error)) < 0)
		return result;
	if (password && file_name)
		return crash_error_set(error, -EINVAL,
				       "%s: give password or password_file, "
				       "not both",
				       node_path);
	if (file_name && !file_name[0])
		return crash_error_set(error, -EINVAL,
				       "%s.password_file: must not be empty",
				       node_path);
	if (!file_name)
		return copy_string(&options->password,
				   password ? password : "guest", node_path,
				   "password", error);
	result = copy_string(&options->password_file, file_name, node_path,
			     "password_file", error);
	if (result < 0)
		return result;
	/* Checking a configuration opens no file (store_registry.h). */
	if (validate_only)
		return copy_string(&options->password, "", node_path,
				   "password", error);
	return read_password_file(file_name, node_path, &options->password,
				  error);
}

static int parse_timeout(const json_t *node, const char *node_path,
			 double *out, struct crash_error *error)
{
	const json_t *value = json_object_get(node, "timeout");
	*out = RABBITMQ_DEFAULT_TIMEOUT;
	if (!value)
		return 0;
	double seconds = json_number_value(value);
	if (!json_is_number(value) || !isfinite(seconds) || seconds <= 0 ||
	    seconds > 3600)
		return crash_error_set(error, -EINVAL,
				       "%s.timeout: must be a number of "
				       "seconds above 0, at most 3600",
				       node_path);
	*out = seconds;
	return 0;
}

static int parse_numbers(const json_t *node, const char *node_path,
			 struct rabbitmq_options *options,
			 struct crash_error *error)
{
	int64_t port, window, connections;
	int result;

	if ((result = store_config_int(node, node_path, "port", 5672, 1,
				       65535, &port, error)) < 0 ||
	    (result = store_config_int(node, node_path, "queue_window",
				       RABBITMQ_DEFAULT_WINDOW, 1,
				       RABBITMQ_WINDOW_MAX, &window,
				       error)) < 0 ||
	    (result = store_config_int(node, node_path, "max_connections",
				       RABBITMQ_DEFAULT_CONNECTIONS, 1,
				       CONNECTION_POOL_MAX, &connections,
				       error)) < 0 ||
	    (result = parse_timeout(node, node_path, &options->timeout,
				    error)) < 0)
		return result;
	options->port = (int)port;
	options->queue_window = (unsigned)window;
	options->max_connections = (unsigned)connections;
	return 0;
}

static int parse_strings(const json_t *node, const char *node_path,
			 struct rabbitmq_options *options,
			 struct crash_error *error)
{
	const char *vhost, *user;
	int result;

	if ((result = name_option(node, node_path, "host", "localhost",
				  &options->host, error)) < 0 ||
	    (result = store_config_string(node, node_path, "vhost", "/",
					  &vhost, error)) < 0 ||
	    (result = store_config_string(node, node_path, "user", "guest",
					  &user, error)) < 0 ||
	    (result = copy_string(&options->vhost, vhost, node_path, "vhost",
				  error)) < 0 ||
	    (result = copy_string(&options->user, user, node_path, "user",
				  error)) < 0 ||
	    (result = name_option(node, node_path, "routing_key",
				  "socorro.normal", &options->routing_key,
				  error)) < 0)
		return result;
	return 0;
}

int rabbitmq_options_parse(const json_t *node, const char *node_path,
			   bool validate_only,
			   struct rabbitmq_options *options,
			   struct crash_error *error)
{
	int result;

	memset(options, 0, sizeof *options);
	if ((result = store_config_check_keys(node, node_path, allowed_keys,
					      error)) < 0 ||
	    (result = parse_strings(node, node_path, options, error)) < 0 ||
	    (result = parse_numbers(node, node_path, options, error)) < 0 ||
	    (result = store_config_bool(node, node_path,
					"filter_on_legacy_processing", true,
					&options->filter_on_legacy_processing,
					error)) < 0 ||
	    (result = parse_queues(node, node_path, options, error)) < 0 ||
	    (result = parse_password(node, node_path, validate_only, options,
				     error)) < 0) {
		rabbitmq_options_free(options);
		return result;
	}
	return 0;
}
