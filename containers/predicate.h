/*
 * predicate.h - the test primary_deferred stores route by: one comparison
 * of a value in a crash's JSON document.
 *
 *   {"key": "ProductName", "op": "==", "value": "Firefox"}
 *
 * key is a dotted path into nested objects ("a.b.c": member c of member b
 * of member a); a path through a non-object is missing.  op is one of
 *
 *   ==  !=            JSON equality; numbers compare by value (1 == 1.0)
 *   <  <=  >  >=      numbers by value, strings bytewise; a missing key or
 *                     values of different kinds compare false
 *   in                value is an array; true if the key's value equals
 *                     one of its elements
 *   exists  missing   the key is present (even as null) / absent
 *   truthy            present and true in Python's sense: not null, not
 *                     false, not 0, not "" and not an empty array or object
 *
 * A missing key is unequal to everything, so "!=" is true for it (as
 * Python's crash.get(key) != value).  "value" is required by the
 * comparisons and "in", and refused by exists, missing and truthy.
 *
 * Numbers compare exactly: integers as integers (past 2^53 too, where
 * doubles merge neighbours), reals as reals, an integer and a real by
 * their exact values; so for numbers and strings == holds exactly when
 * <= and >= both do, and "in" agrees with ==.
 *
 * The default, as Socorro's deferral_criteria
 * (lambda crash: crash.get("legacy_processing")), is
 * {"key": "legacy_processing", "op": "truthy"}: a crash the collector
 * throttled (legacy_processing 1) is deferred, an accepted one (0) or one
 * without the key is not.  Socorro's criteria was a Python expression;
 * crashfs takes this JSON form instead.
 *
 * Threads: a parsed predicate is immutable; evaluate it from any thread.
 */
#ifndef CRASHFS_CONTAINERS_PREDICATE_H
#define CRASHFS_CONTAINERS_PREDICATE_H

#include <stdbool.h>

#include <jansson.h>

#include "storage/crash_error.h"

struct predicate;

/* Parses node (NULL: the default).  node_path names it in errors
 * ("store.predicate"). Returns 0 and *out, or -EINVAL / -ENOMEM. */
int predicate_parse(const json_t *node, const char *node_path,
		    struct predicate **out, struct crash_error *error);
void predicate_free(struct predicate *predicate);

/* True if document satisfies the predicate. document NULL is an empty
 * document (every key missing). */
bool predicate_eval(const struct predicate *predicate,
		    const json_t *document);

/* The predicate as JSON {"key": ..., "op": ..., "value": ...}, for
 * stats; NULL if out of memory. */
json_t *predicate_to_json(const struct predicate *predicate);

#endif
