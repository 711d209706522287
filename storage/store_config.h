/*
 * store_config.h - reading one store node of the JSON store tree.
 *
 * Every node is an object {"type": "...", ...}.  A constructor first checks
 * that it knows every key (an unknown key is a startup error naming its JSON
 * path, e.g. "store.primary.layuot: unknown option"), then reads its options
 * with the getters below, which also name the path in their errors.
 *
 * Pure functions over borrowed JSON; safe from any thread.
 */
#ifndef CRASHFS_STORAGE_STORE_CONFIG_H
#define CRASHFS_STORAGE_STORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "storage/crash_error.h"

/* allowed is a NULL-terminated list; "type" is always allowed.
 * Returns 0 or -EINVAL. */
int store_config_check_keys(const json_t *node, const char *node_path,
			    const char *const *allowed,
			    struct crash_error *error);

/* Getters: a missing key leaves *out at the default given; a key of the
 * wrong type or out of range is -EINVAL naming "node_path.key". */
int store_config_string(const json_t *node, const char *node_path,
			const char *key, const char *default_value,
			const char **out, struct crash_error *error);
int store_config_int(const json_t *node, const char *node_path,
		     const char *key, int64_t default_value, int64_t minimum,
		     int64_t maximum, int64_t *out, struct crash_error *error);
int store_config_bool(const json_t *node, const char *node_path,
		      const char *key, bool default_value, bool *out,
		      struct crash_error *error);
/* Accepts an integer or an octal string ("022", "0o022"), as Socorro's ini
 * files show umask both ways. */
int store_config_mode(const json_t *node, const char *node_path,
		      const char *key, unsigned default_value, unsigned *out,
		      struct crash_error *error);

#endif
