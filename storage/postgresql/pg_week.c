/*
 * pg_week.c - weeks and partition names (see pg_week.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/crash_id.h"
#include "storage/postgresql/pg_week.h"

/* Howard Hinnant's days_from_civil / civil_from_days: exact for every
 * proleptic Gregorian date, with no table and no time zone. */
int64_t pg_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t year_of_era = y - era * 400;
	int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 +
			      day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 -
			     year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

void pg_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t day_of_era = days - era * 146097;
	int64_t year_of_era = (day_of_era - day_of_era / 1460 +
			       day_of_era / 36524 - day_of_era / 146096) /
			      365;
	int64_t day_of_year = day_of_era - (365 * year_of_era +
					    year_of_era / 4 -
					    year_of_era / 100);
	int64_t month_index = (5 * day_of_year + 2) / 153;
	*day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
	*month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
	*year = (int)(year_of_era + era * 400 + (*month <= 2));
}

/* 0 for Monday ... 6 for Sunday (1970-01-01 was a Thursday). */
static int weekday(int64_t days)
{
	int64_t shifted = (days + 3) % 7;
	return (int)(shifted < 0 ? shifted + 7 : shifted);
}

void pg_week_of_days(int64_t days, struct pg_week *out)
{
	out->first_day = days - weekday(days);
	pg_civil_from_days(out->first_day, &out->year, &out->month,
			   &out->day);
	/* Digit by digit: years past 9999 keep their last four. */
	int fields[3] = { out->year, out->month, out->day };
	int widths[3] = { 4, 2, 2 };
	char *cursor = out->suffix;
	for (int field = 0; field < 3; field++) {
		int value = fields[field] < 0 ? -fields[field] : fields[field];
		for (int digit = widths[field] - 1; digit >= 0; digit--) {
			cursor[digit] = (char)('0' + value % 10);
			value /= 10;
		}
		cursor += widths[field];
	}
	*cursor = '\0';
}

int pg_week_of_crash_id(const char *crash_id, struct pg_week *out)
{
	struct crash_id_info info;
	if (crash_id_parse(crash_id, &info) < 0)
		return -EINVAL;
	pg_week_of_days(pg_days_from_civil(info.year, info.month, info.day),
			out);
	return 0;
}

/* "YYYYMMDD" of a real date (any year from 1) into its parts; -EINVAL
 * otherwise. */
static int parse_day_name(const char *day, int *year, int *month,
			  int *date)
{
	if (!day || strlen(day) != 8)
		return -EINVAL;
	for (int i = 0; i < 8; i++)
		if (day[i] < '0' || day[i] > '9')
			return -EINVAL;
	if (sscanf(day, "%4d%2d%2d", year, month, date) != 3 || *year < 1 ||
	    *month < 1 || *month > 12 || *date < 1)
		return -EINVAL;
	/* The date must come back the same from its day number. */
	int y, m, d;
	pg_civil_from_days(pg_days_from_civil(*year, *month, *date), &y, &m,
			   &d);
	return y == *year && m == *month && d == *date ? 0 : -EINVAL;
}

int pg_week_of_day_name(const char *day, struct pg_week *out)
{
	int year, month, date;
	if (parse_day_name(day, &year, &month, &date) < 0)
		return -EINVAL;
	pg_week_of_days(pg_days_from_civil(year, month, date), out);
	return 0;
}

int pg_week_parse_suffix(const char *suffix, struct pg_week *out)
{
	int year, month, date;
	if (parse_day_name(suffix, &year, &month, &date) < 0)
		return -EINVAL;
	int64_t days = pg_days_from_civil(year, month, date);
	if (weekday(days) != 0)
		return -EINVAL;
	pg_week_of_days(days, out);
	return 0;
}

void pg_week_of_time(time_t when, struct pg_week *out)
{
	int64_t seconds = (int64_t)when;
	int64_t days = seconds / 86400 - (seconds % 86400 < 0);
	pg_week_of_days(days, out);
}

void pg_week_add(const struct pg_week *week, int weeks, struct pg_week *out)
{
	pg_week_of_days(week->first_day + 7 * (int64_t)weeks, out);
}

int64_t pg_week_start_us(const struct pg_week *week)
{
	return week->first_day * PG_MICROSECONDS_PER_DAY;
}

int64_t pg_week_end_us(const struct pg_week *week)
{
	return (week->first_day + 7) * PG_MICROSECONDS_PER_DAY;
}

int pg_week_name(char *out, size_t size, const char *prefix,
		 const struct pg_week *week)
{
	int length = snprintf(out, size, "%s%s", prefix, week->suffix);
	if (length < 0 || (size_t)length >= size)
		return -ENAMETOOLONG;
	return length;
}

int pg_week_day_endings(const struct pg_week *week, char endings[7][7])
{
	int count = 0;
	for (int i = 0; i < 7; i++) {
		int year, month, day;
		pg_civil_from_days(week->first_day + i, &year, &month, &day);
		if (year < 2000 || year > 2099)
			continue;
		snprintf(endings[count++], 7, "%02d%02d%02d", year % 100,
			 month, day);
	}
	return count;
}
