/*
 * fuzz_crash_id.c - crash ids (storage/crash_id.h) and part file names
 * (storage/crash_part.h).
 *
 * Input: one flag byte, then text.  With flag bit 0 the text starts with
 * three part suffixes "JSON/DUMP/JSONZ/" (any the fs store accepts are
 * used; others end the run), else Socorro's suffixes are used.  The rest
 * is tried as a crash id, a day, a part file name and a dump name:
 *   - a valid id's day, depth and radix path agree with its characters,
 *     and crash_id_format builds the same id back from them;
 *   - a part name that parses formats back to the same name (the one
 *     alias, "<id>.<empty><dump suffix>", being the main dump);
 *   - every part of an id, and a dump of any valid name, formats to a
 *     name that parses back to that part: no two parts share a name.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "storage/crash_id.h"
#include "storage/crash_log.h"
#include "storage/crash_part.h"
#include "storage/fs/fs_store.h"
#include "tests/fuzz/fuzz_util.h"

#define SOME_ID "936ce666-ff3b-4c7a-9674-367fe2120408"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	crash_log_set_level(CRASH_LOG_ERROR);
	return 0;
}

static void check_crash_id(const char *text)
{
	struct crash_id_info info;
	char radix[64];

	if (crash_id_parse(text, &info) < 0) {
		FUZZ_ASSERT(!crash_id_is_valid(text), "%s", text);
		FUZZ_ASSERT(crash_id_radix_path(text, radix, sizeof radix) ==
				    -EINVAL,
			    "%s", text);
		return;
	}
	FUZZ_ASSERT(crash_id_is_valid(text), "%s", text);
	FUZZ_ASSERT(strlen(text) == CRASH_ID_LENGTH, "%s", text);
	int digit = text[29] - '0';
	FUZZ_ASSERT(digit >= 0 && digit <= 9, "%s", text);
	FUZZ_ASSERT(info.depth == (digit == 0 ? 4 : digit), "%s", text);
	FUZZ_ASSERT(strncmp(info.day_name, "20", 2) == 0 &&
			    strcmp(info.day_name + 2, text + 30) == 0,
		    "%s: day %s", text, info.day_name);
	FUZZ_ASSERT(crash_day_is_valid(info.day_name), "%s", text);
	FUZZ_ASSERT(info.year == 2000 + (text[30] - '0') * 10 + text[31] - '0',
		    "%s", text);
	FUZZ_ASSERT(info.month == (text[32] - '0') * 10 + text[33] - '0',
		    "%s", text);
	FUZZ_ASSERT(info.day == (text[34] - '0') * 10 + text[35] - '0', "%s",
		    text);

	int length = crash_id_radix_path(text, radix, sizeof radix);
	FUZZ_ASSERT(length == 3 * info.depth - 1, "%s: %d", text, length);
	for (int level = 0; level < info.depth; level++) {
		FUZZ_ASSERT(radix[3 * level] == text[2 * level] &&
				    radix[3 * level + 1] == text[2 * level + 1],
			    "%s: %s", text, radix);
		FUZZ_ASSERT(radix[3 * level + 2] ==
				    (level + 1 < info.depth ? '/' : '\0'),
			    "%s: %s", text, radix);
	}
	/* Too small a buffer is refused, never overrun. */
	FUZZ_ASSERT(crash_id_radix_path(text, radix,
					(size_t)(3 * info.depth - 1)) ==
			    -ENAMETOOLONG,
		    "%s", text);

	char again[CRASH_ID_LENGTH + 1];
	FUZZ_ASSERT(crash_id_format(again, text, digit, info.year, info.month,
				    info.day) == 0 &&
			    strcmp(again, text) == 0,
		    "%s formats as %s", text, again);
}

/* crash_id_format from fields taken from the input. */
static void check_format(const char *text)
{
	size_t length = strlen(text);
	if (length < 4)
		return;
	int digit = (unsigned char)text[0] % 12 - 1;
	int year = 1995 + (unsigned char)text[1] % 110;
	int month = (unsigned char)text[2] % 14;
	int day = (unsigned char)text[3] % 33;
	const char *head = length >= 4 + 29 ? text + 4
					    : "0bba929f-8721-460c-dead-a43c2";
	char crash_id[CRASH_ID_LENGTH + 1];
	struct crash_id_info info;

	if (crash_id_format(crash_id, head, digit, year, month, day) < 0)
		return;
	FUZZ_ASSERT(crash_id_parse(crash_id, &info) == 0, "%s", crash_id);
	FUZZ_ASSERT(info.year == year && info.month == month &&
			    info.day == day,
		    "%s from %d-%d-%d", crash_id, year, month, day);
	FUZZ_ASSERT(info.depth == (digit == 0 ? 4 : digit), "%s", crash_id);
	FUZZ_ASSERT(strncmp(crash_id, head, 29) == 0, "%s", crash_id);
	check_crash_id(crash_id);
}

static bool is_main_dump_alias(const struct crash_naming *naming,
			       const char *file_name)
{
	const char *rest = file_name + CRASH_ID_LENGTH;
	return rest[0] == '.' && strcmp(rest + 1, naming->dump_suffix) == 0;
}

/* A name that parses formats back to itself. */
static void check_part_name(const struct crash_naming *naming,
			    const char *file_name)
{
	char crash_id[CRASH_ID_LENGTH + 1];
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	char formatted[512];
	struct crash_part part;

	if (crash_part_parse_any(naming, file_name, crash_id, &part, name_buf,
				 sizeof name_buf) < 0)
		return;
	FUZZ_ASSERT(crash_id_is_valid(crash_id), "%s", file_name);
	FUZZ_ASSERT(!part.dump_name || (part.dump_name == name_buf &&
					crash_dump_name_is_valid(name_buf)),
		    "%s", file_name);
	int length = crash_part_file_name(naming, crash_id, &part, formatted,
					  sizeof formatted);
	FUZZ_ASSERT(length > 0 && (size_t)length == strlen(formatted),
		    "%s", file_name);
	if (is_main_dump_alias(naming, file_name))
		FUZZ_ASSERT(part.type == CRASH_PART_DUMP && !part.dump_name,
			    "%s", file_name);
	else
		FUZZ_ASSERT(strcmp(formatted, file_name) == 0,
			    "%s formats as %s", file_name, formatted);

	struct crash_part same;
	char same_buf[CRASH_DUMP_NAME_MAX + 1];
	FUZZ_ASSERT(crash_part_parse_file_name(naming, crash_id, file_name,
					       &same, same_buf,
					       sizeof same_buf) == 0 &&
			    crash_part_equal(&same, &part),
		    "%s", file_name);
}

/* Every part of crash_id formats to a name that parses back to it. */
static void check_part_round_trip(const struct crash_naming *naming,
				  const char *crash_id, const char *dump_name)
{
	struct crash_part parts[] = {
		{ CRASH_PART_RAW_CRASH, NULL },
		{ CRASH_PART_DUMP, NULL },
		{ CRASH_PART_PROCESSED, NULL },
		{ CRASH_PART_DUMP, dump_name },
	};
	size_t count = 3;
	char formatted[512];
	char name_buf[CRASH_DUMP_NAME_MAX + 1];
	char id_buf[CRASH_ID_LENGTH + 1];
	struct crash_part part;

	if (crash_dump_name_is_valid(dump_name))
		count = 4;
	else
		FUZZ_ASSERT(crash_part_file_name(naming, crash_id, &parts[3],
						 formatted,
						 sizeof formatted) == -EINVAL,
			    "dump name %s", dump_name);
	for (size_t i = 0; i < count; i++) {
		int length = crash_part_file_name(naming, crash_id, &parts[i],
						  formatted, sizeof formatted);
		FUZZ_ASSERT(length > 0, "%s part %zu", crash_id, i);
		FUZZ_ASSERT(crash_part_parse_file_name(naming, crash_id,
						       formatted, &part,
						       name_buf,
						       sizeof name_buf) == 0 &&
				    crash_part_equal(&part, &parts[i]),
			    "%s does not parse back to part %zu (suffixes "
			    "%s %s %s)",
			    formatted, i, naming->json_suffix,
			    naming->dump_suffix, naming->jsonz_suffix);
		FUZZ_ASSERT(crash_part_parse_any(naming, formatted, id_buf,
						 &part, name_buf,
						 sizeof name_buf) == 0 &&
				    strcmp(id_buf, crash_id) == 0 &&
				    crash_part_equal(&part, &parts[i]),
			    "%s", formatted);
		/* Too small a buffer is refused, never overrun. */
		FUZZ_ASSERT(crash_part_file_name(naming, crash_id, &parts[i],
						 formatted, (size_t)length) ==
				    -ENAMETOOLONG,
			    "%s", formatted);
	}
}

/* "JSON/DUMP/JSONZ/rest": the suffixes, if the fs store takes them; the
 * rest is returned in *rest. */
static bool custom_naming(char *text, struct crash_naming *naming,
			  char **rest)
{
	char *fields[3];
	char *cursor = text;
	for (int i = 0; i < 3; i++) {
		char *slash = strchr(cursor, '/');
		if (!slash)
			return false;
		*slash = '\0';
		fields[i] = cursor;
		cursor = slash + 1;
	}
	*rest = cursor;
	struct fs_store_options options;
	fs_store_options_init(&options);
	options.root = "/nonexistent";
	options.validate_only = true;
	options.json_file_suffix = fields[0];
	options.dump_file_suffix = fields[1];
	options.jsonz_file_suffix = fields[2];
	struct crash_store *store = NULL;
	struct crash_error error = { 0 };
	if (fs_store_open(&options, "store", &store, &error) < 0)
		return false;
	crash_store_close(store);
	naming->json_suffix = fields[0];
	naming->dump_suffix = fields[1];
	naming->jsonz_suffix = fields[2];
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = fuzz_string(data + 1, size - 1);
	struct crash_naming naming = crash_naming_default;
	char *rest = text;
	if ((data[0] & 1) && !custom_naming(text, &naming, &rest)) {
		free(text);
		return 0;
	}

	check_crash_id(rest);
	check_format(rest);
	FUZZ_ASSERT(!crash_day_is_valid(rest) || strlen(rest) == 8, "%s",
		    rest);
	char prefix[CRASH_ID_LENGTH + 1] = "";
	if (strlen(rest) >= CRASH_ID_LENGTH) {
		memcpy(prefix, rest, CRASH_ID_LENGTH);
		prefix[CRASH_ID_LENGTH] = '\0';
		check_crash_id(prefix);
	}
	check_part_name(&naming, rest);
	const char *crash_id = crash_id_is_valid(prefix) ? prefix : SOME_ID;
	const char *dump_name = crash_id == prefix ? rest + CRASH_ID_LENGTH
						   : rest;
	if (dump_name[0] == '.')
		dump_name++;
	check_part_round_trip(&naming, crash_id, dump_name);
	free(text);
	return 0;
}
