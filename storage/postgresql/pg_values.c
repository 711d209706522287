/*
 * pg_values.c - JSON values to SQL parameter text (see pg_values.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage/postgresql/pg_values.h"
#include "storage/postgresql/pg_week.h"

/* -- timestamps ----------------------------------------------------------- */

/* Reads exactly `count` decimal digits; -1 if they are not there. */
static int digits(const char **cursor, int count)
{
	int value = 0;
	for (int i = 0; i < count; i++) {
		char c = (*cursor)[i];
		if (c < '0' || c > '9')
			return -1;
		value = value * 10 + (c - '0');
	}
	*cursor += count;
	return value;
}

static bool date_is_valid(int year, int month, int day)
{
	static const int month_days[] = { 31, 28, 31, 30, 31, 30,
					   31, 31, 30, 31, 30, 31 };
	if (year < 1 || month < 1 || month > 12 || day < 1)
		return false;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	int last = month_days[month - 1] + (month == 2 && leap);
	return day <= last;
}

/* HH:MM[:SS[.fraction]] into seconds and microseconds; -EINVAL. */
static int parse_time(const char **cursor, int64_t *seconds, int64_t *micro)
{
	int hour = digits(cursor, 2);
	if (hour < 0 || **cursor != ':')
		return -EINVAL;
	(*cursor)++;
	int minute = digits(cursor, 2);
	int second = 0;
	*micro = 0;
	if (minute < 0)
		return -EINVAL;
	if (**cursor == ':') {
		(*cursor)++;
		second = digits(cursor, 2);
		if (second < 0)
			return -EINVAL;
		if (**cursor == '.') {
			(*cursor)++;
			int kept = 0;
			if (!isdigit((unsigned char)**cursor))
				return -EINVAL;
			while (isdigit((unsigned char)**cursor)) {
				if (kept < 6) {
					*micro = *micro * 10 + (**cursor - '0');
					kept++;
				}
				(*cursor)++;
			}
			while (kept++ < 6)
				*micro *= 10;
		}
	}
	if (hour > 23 || minute > 59 || second > 59)
		return -EINVAL;
	*seconds = hour * 3600 + minute * 60 + second;
	return 0;
}

/* [ ]Z, UTC, +HH, +HHMM, +HH:MM, or nothing (UTC); the offset east of
 * UTC in seconds.  The whole rest of the text must be the zone. */
static int parse_zone(const char *cursor, int64_t *offset)
{
	*offset = 0;
	if (*cursor == ' ')
		cursor++;
	if (*cursor == '\0')
		return cursor[-1] == ' ' ? -EINVAL : 0;
	if (strcmp(cursor, "Z") == 0 || strcmp(cursor, "z") == 0 ||
	    strcmp(cursor, "UTC") == 0)
		return 0;
	if (*cursor != '+' && *cursor != '-')
		return -EINVAL;
	int sign = *cursor++ == '-' ? -1 : 1;
	int hours = digits(&cursor, 2), minutes = 0;
	if (hours < 0 || hours > 15)
		return -EINVAL;
	if (*cursor == ':')
		cursor++;
	if (*cursor != '\0') {
		minutes = digits(&cursor, 2);
		if (minutes < 0 || minutes > 59)
			return -EINVAL;
	}
	if (*cursor != '\0')
		return -EINVAL;
	*offset = sign * (hours * 3600 + minutes * 60);
	return 0;
}

int pg_timestamp_parse(const char *text, int64_t *us_out)
{
	const char *cursor = text;
	int year = digits(&cursor, 4);
	if (year < 0 || *cursor++ != '-')
		return -EINVAL;
	int month = digits(&cursor, 2);
	if (month < 0 || *cursor++ != '-')
		return -EINVAL;
	int day = digits(&cursor, 2);
	if (day < 0 || !date_is_valid(year, month, day))
		return -EINVAL;

	int64_t seconds = 0, micro = 0, offset = 0;
	if ((cursor[0] == 'T' || cursor[0] == ' ') &&
	    isdigit((unsigned char)cursor[1])) {
		cursor++;
		if (parse_time(&cursor, &seconds, &micro) < 0)
			return -EINVAL;
	}
	if (parse_zone(cursor, &offset) < 0)
		return -EINVAL;
	int64_t days = pg_days_from_civil(year, month, day);
	*us_out = (days * 86400 + seconds - offset) * INT64_C(1000000) + micro;
	return 0;
}

void pg_timestamp_format(int64_t us, char out[PG_TIMESTAMP_TEXT_MAX])
{
	int64_t days = us / PG_MICROSECONDS_PER_DAY;
	int64_t rest = us % PG_MICROSECONDS_PER_DAY;
	if (rest < 0) {
		rest += PG_MICROSECONDS_PER_DAY;
		days--;
	}
	int year, month, day;
	pg_civil_from_days(days, &year, &month, &day);
	int64_t seconds = rest / 1000000;
	snprintf(out, PG_TIMESTAMP_TEXT_MAX,
		 "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", year % 10000, month,
		 day, (int)(seconds / 3600), (int)(seconds / 60 % 60),
		 (int)(seconds % 60), (int)(rest % 1000000));
}

/* -- text ----------------------------------------------------------------- */

size_t pg_utf8_prefix(const char *text, size_t length, size_t max_chars)
{
	size_t chars = 0;
	for (size_t i = 0; i < length; i++) {
		/* A character starts at every byte that is not a
		 * continuation byte (10xxxxxx). */
		if (((unsigned char)text[i] & 0xC0) != 0x80) {
			if (chars == max_chars)
				return i;
			chars++;
		}
	}
	return length;
}

/* A copy of length bytes without NUL bytes, cut to max_chars. */
static char *clean_text(const char *text, size_t length, size_t max_chars)
{
	char *copy = malloc(length + 1);
	if (!copy)
		return NULL;
	size_t kept = 0;
	for (size_t i = 0; i < length; i++)
		if (text[i] != '\0')
			copy[kept++] = text[i];
	if (max_chars)
		kept = pg_utf8_prefix(copy, kept, max_chars);
	copy[kept] = '\0';
	return copy;
}

int pg_value_text(const json_t *value, size_t max_chars, char **out,
		  const char **why)
{
	*out = NULL;
	*why = NULL;
	if (!value || json_is_null(value))
		return 0;
	if (json_is_string(value)) {
		*out = clean_text(json_string_value(value),
				  json_string_length(value), max_chars);
		return *out ? 0 : -ENOMEM;
	}
	/* Numbers and booleans as Socorro's driver would have spelled them
	 * into the column; arrays and objects as their JSON text. */
	char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT |
					       JSON_REAL_PRECISION(17));
	if (!text)
		return -ENOMEM;
	*out = clean_text(text, strlen(text), max_chars);
	free(text);
	return *out ? 0 : -ENOMEM;
}

static int set_out(char **out, const char *text)
{
	*out = strdup(text);
	return *out ? 0 : -ENOMEM;
}

static int refuse(char **out, const char **why, const char *reason)
{
	*out = NULL;
	*why = reason;
	return -EINVAL;
}

/* Optional blanks, sign and decimal digits, optional blanks. */
static bool parse_decimal(const char *text, long long *value)
{
	const char *cursor = text;
	while (*cursor == ' ')
		cursor++;
	const char *start = cursor;
	if (*cursor == '+' || *cursor == '-')
		cursor++;
	if (!isdigit((unsigned char)*cursor))
		return false;
	while (isdigit((unsigned char)*cursor))
		cursor++;
	const char *end = cursor;
	while (*cursor == ' ')
		cursor++;
	if (*cursor != '\0' || end - start > 12)
		return false;
	*value = strtoll(start, NULL, 10);
	return true;
}

int pg_value_integer(const json_t *value, char **out, const char **why)
{
	long long number;
	char text[24];

	*out = NULL;
	*why = NULL;
	if (!value || json_is_null(value))
		return 0;
	if (json_is_integer(value)) {
		number = json_integer_value(value);
	} else if (json_is_real(value)) {
		double real = json_real_value(value);
		if (real != floor(real) || real < INT32_MIN || real > INT32_MAX)
			return refuse(out, why, "not a whole number");
		number = (long long)real;
	} else if (json_is_string(value)) {
		if (strlen(json_string_value(value)) !=
			    json_string_length(value) ||
		    !parse_decimal(json_string_value(value), &number))
			return refuse(out, why, "not an integer");
	} else {
		return refuse(out, why, "not an integer");
	}
	if (number < INT32_MIN || number > INT32_MAX)
		return refuse(out, why, "out of the range of an integer");
	snprintf(text, sizeof text, "%lld", number);
	return set_out(out, text);
}

static const char *const true_words[] = { "true", "t", "yes", "y", "on", "1",
					  NULL };
static const char *const false_words[] = { "false", "f", "no", "n", "off",
					   "0", NULL };

static bool is_word(const char *text, const char *const *words)
{
	for (; *words; words++)
		if (strcasecmp(text, *words) == 0)
			return true;
	return false;
}

int pg_value_boolean(const json_t *value, char **out, const char **why)
{
	*out = NULL;
	*why = NULL;
	if (!value || json_is_null(value))
		return 0;
	if (json_is_boolean(value))
		return set_out(out, json_is_true(value) ? "true" : "false");
	if (json_is_integer(value) && (json_integer_value(value) == 0 ||
				       json_integer_value(value) == 1))
		return set_out(out, json_integer_value(value) ? "true"
							      : "false");
	if (json_is_string(value) &&
	    strlen(json_string_value(value)) == json_string_length(value)) {
		const char *text = json_string_value(value);
		if (is_word(text, true_words))
			return set_out(out, "true");
		if (is_word(text, false_words))
			return set_out(out, "false");
	}
	return refuse(out, why, "not a boolean");
}

int pg_value_timestamp(const json_t *value, char **out, int64_t *us_out,
		       const char **why)
{
	char text[PG_TIMESTAMP_TEXT_MAX];
	int64_t us;

	*out = NULL;
	*why = NULL;
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_string(value) ||
	    strlen(json_string_value(value)) != json_string_length(value) ||
	    pg_timestamp_parse(json_string_value(value), &us) < 0)
		return refuse(out, why, "not a timestamp");
	if (us_out)
		*us_out = us;
	pg_timestamp_format(us, text);
	return set_out(out, text);
}

/* -- array literals --------------------------------------------------------- */

char *pg_array_literal(char *const *elements, size_t count)
{
	size_t size = 3;
	for (size_t i = 0; i < count; i++)
		size += elements[i] ? 2 * strlen(elements[i]) + 3 : 5;
	char *literal = malloc(size);
	if (!literal)
		return NULL;
	char *cursor = literal;
	*cursor++ = '{';
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			*cursor++ = ',';
		if (!elements[i]) {
			memcpy(cursor, "NULL", 4);
			cursor += 4;
			continue;
		}
		*cursor++ = '"';
		for (const char *c = elements[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*cursor++ = '\\';
			*cursor++ = *c;
		}
		*cursor++ = '"';
	}
	*cursor++ = '}';
	*cursor = '\0';
	return literal;
}
