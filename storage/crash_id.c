/*
 * crash_id.c - parsing and validating Socorro crash ids.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/crash_id.h"

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static bool date_is_valid(int year, int month, int day)
{
	static const int days_in_month[] = { 31, 28, 31, 30, 31, 30,
					     31, 31, 30, 31, 30, 31 };
	if (month < 1 || month > 12 || day < 1)
		return false;
	int last = days_in_month[month - 1];
	if (month == 2 && is_leap_year(year))
		last = 29;
	return day <= last;
}

/* Socorro's own syntax: 8-4-4-4-12 lowercase hex, the last six decimal. */
static bool has_crash_id_syntax(const char *crash_id)
{
	for (int i = 0; i < CRASH_ID_LENGTH; i++) {
		char c = crash_id[i];
		if (c == '\0')
			return false;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (i >= 30) {
			if (!is_digit(c))
				return false;
		} else if (!is_lower_hex(c)) {
			return false;
		}
	}
	return crash_id[CRASH_ID_LENGTH] == '\0';
}

int crash_id_parse(const char *crash_id, struct crash_id_info *info)
{
	if (!crash_id || !has_crash_id_syntax(crash_id))
		return -EINVAL;
	/* The depth character is hex in the syntax; a store needs a digit. */
	char depth_char = crash_id[29];
	if (!is_digit(depth_char))
		return -EINVAL;
	int year = 2000 + two_digits(crash_id + 30);
	int month = two_digits(crash_id + 32);
	int day = two_digits(crash_id + 34);
	if (!date_is_valid(year, month, day))
		return -EINVAL;
	if (info) {
		info->year = year;
		info->month = month;
		info->day = day;
		/* 2014 semantics: digit 0 is the "old hard depth" of 4. */
		info->depth = depth_char == '0' ? 4 : depth_char - '0';
		/* Each field is in range by now: the day name is 8 digits. */
		info->day_name[0] = '2';
		info->day_name[1] = '0';
		memcpy(info->day_name + 2, crash_id + 30, 6);
		info->day_name[8] = '\0';
	}
	return 0;
}

bool crash_id_is_valid(const char *crash_id)
{
	return crash_id_parse(crash_id, NULL) == 0;
}

bool crash_day_is_valid(const char *day)
{
	if (!day || strlen(day) != CRASH_DAY_LENGTH)
		return false;
	for (int i = 0; i < CRASH_DAY_LENGTH; i++)
		if (!is_digit(day[i]))
			return false;
	int year = two_digits(day) * 100 + two_digits(day + 2);
	/* Crash ids carry a two-digit year: only 2000..2099 can hold crashes. */
	if (year < 2000 || year > 2099)
		return false;
	return date_is_valid(year, two_digits(day + 4), two_digits(day + 6));
}

int crash_id_radix_path(const char *crash_id, char *out, size_t out_size)
{
	struct crash_id_info info;
	if (crash_id_parse(crash_id, &info) < 0)
		return -EINVAL;
	size_t needed = (size_t)info.depth * 3; /* "xx/" per level, last '\0' */
	if (out_size < needed)
		return -ENAMETOOLONG;
	size_t length = 0;
	for (int level = 0; level < info.depth; level++) {
		if (level > 0)
			out[length++] = '/';
		out[length++] = crash_id[2 * level];
		out[length++] = crash_id[2 * level + 1];
	}
	out[length] = '\0';
	return (int)length;
}

int crash_id_format(char out[CRASH_ID_LENGTH + 1], const char *head29,
		    int depth_digit, int year, int month, int day)
{
	if (!head29 || strlen(head29) < 29 || depth_digit < 0 ||
	    depth_digit > 9 || year < 2000 || year > 2099)
		return -EINVAL;
	snprintf(out, CRASH_ID_LENGTH + 1, "%.29s%d%02d%02d%02d", head29,
		 depth_digit, year % 100, month, day);
	return crash_id_is_valid(out) ? 0 : -EINVAL;
}

/* Index 8 of a crash id is its first dash; 13 is the second (the radix
 * never reaches index 18). */
static bool id_char_is_valid(int index, char c)
{
	if (index == 8 || index == 13)
		return c == '-';
	return is_lower_hex(c);
}

bool crash_radix_component_is_valid(int level, const char *component)
{
	if (level < 0 || level >= CRASH_RADIX_LEVELS_MAX || !component)
		return false;
	if (strlen(component) != 2)
		return false;
	return id_char_is_valid(2 * level, component[0]) &&
	       id_char_is_valid(2 * level + 1, component[1]);
}

bool crash_radix_prefix_is_valid(const char *prefix)
{
	if (!prefix)
		return false;
	size_t length = strlen(prefix);
	if (length % 2 != 0 || length > 2 * CRASH_RADIX_LEVELS_MAX)
		return false;
	for (size_t i = 0; i < length; i += 2) {
		char component[3] = { prefix[i], prefix[i + 1], '\0' };
		if (!crash_radix_component_is_valid((int)(i / 2), component))
			return false;
	}
	return true;
}

int crash_id_depth(const char *crash_id)
{
	struct crash_id_info info;
	return crash_id_parse(crash_id, &info) < 0 ? -1 : info.depth;
}
