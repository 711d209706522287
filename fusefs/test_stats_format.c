/*
 * test_stats_format.c - .crashfs/stats text: valid JSON, the same size
 * whatever the values (stats_format.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fusefs/stats_format.h"
#include "unit_test.h"

UNIT_TEST_DEFINE_COUNTERS;

static json_t *document(json_int_t calls, const char *state, double delay,
			bool read_only)
{
	return json_pack("{s:{s:I, s:b}, s:{s:{s:I, s:s, s:s, s:[f, f]}}}",
			 "mount", "lookups", calls, "read_only", read_only,
			 "stores", "store.primary", "calls", calls, "state",
			 state, "root", "/srv/crashes/a \"quoted\" path",
			 "backoff_delays", delay, 30.0);
}

static void test_same_size_for_any_values(void)
{
	json_t *small = document(0, "ok", 10, false);
	json_t *large = document(INT64_MAX, "retrying", 0.25, true);
	json_t *negative = document(-1, "failing", 1e-300, false);
	char *a = stats_format(small), *b = stats_format(large),
	     *c = stats_format(negative);
	REQUIRE(a && b && c);
	CHECK_INT((int)strlen(a), (int)strlen(b));
	CHECK_INT((int)strlen(a), (int)strlen(c));
	CHECK(strcmp(a, b) != 0);
	CHECK(a[strlen(a) - 1] == '\n');

	/* Any JSON parser reads it back as it was. */
	json_error_t error;
	json_t *parsed = json_loads(b, 0, &error);
	REQUIRE(parsed != NULL);
	CHECK(json_equal(parsed, large));
	json_decref(parsed);
	parsed = json_loads(c, 0, &error);
	REQUIRE(parsed != NULL);
	CHECK(json_equal(parsed, negative));
	json_decref(parsed);
	free(a), free(b), free(c);
	json_decref(small), json_decref(large), json_decref(negative);
}

static void test_keys_sorted_and_escaped(void)
{
	json_t *value = json_pack("{s:i, s:s, s:o}", "b", 1, "a\n\"", "x\\",
				  "c", json_null());
	char *text = stats_format(value);
	REQUIRE(text != NULL);
	char *a = strstr(text, "\"a\\n\\\"\""), *b = strstr(text, "\"b\"");
	CHECK(a && b && a < b);
	json_t *parsed = json_loads(text, 0, NULL);
	CHECK(parsed && json_equal(parsed, value));
	json_decref(parsed);
	free(text);
	json_decref(value);
}

int main(void)
{
	test_same_size_for_any_values();
	test_keys_sorted_and_escaped();
	return unit_test_exit("test_stats_format");
}
