/*
 * crash_part.c - the file names of a crash's parts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/crash_id.h"
#include "storage/crash_part.h"

const struct crash_naming crash_naming_default = {
	.json_suffix = ".json",
	.dump_suffix = ".dump",
	.jsonz_suffix = ".jsonz",
};

bool crash_dump_name_is_valid(const char *dump_name)
{
	if (!dump_name)
		return false;
	size_t length = strlen(dump_name);
	if (length == 0 || length > CRASH_DUMP_NAME_MAX)
		return false;
	if (dump_name[0] == '.' || dump_name[length - 1] == '.')
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = dump_name[i];
		bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			       c == '.';
		if (!allowed)
			return false;
	}
	return true;
}

bool crash_part_equal(const struct crash_part *a, const struct crash_part *b)
{
	if (a->type != b->type)
		return false;
	if (a->type != CRASH_PART_DUMP)
		return true;
	if (!a->dump_name || !b->dump_name)
		return a->dump_name == b->dump_name;
	return strcmp(a->dump_name, b->dump_name) == 0;
}

int crash_part_file_name(const struct crash_naming *naming,
			 const char *crash_id, const struct crash_part *part,
			 char *out, size_t out_size)
{
	int length;

	switch (part->type) {
	case CRASH_PART_RAW_CRASH:
		length = snprintf(out, out_size, "%s%s", crash_id,
				  naming->json_suffix);
		break;
	case CRASH_PART_PROCESSED:
		length = snprintf(out, out_size, "%s%s", crash_id,
				  naming->jsonz_suffix);
		break;
	case CRASH_PART_DUMP:
		if (!part->dump_name) {
			length = snprintf(out, out_size, "%s%s", crash_id,
					  naming->dump_suffix);
		} else if (crash_dump_name_is_valid(part->dump_name)) {
			length = snprintf(out, out_size, "%s.%s%s", crash_id,
					  part->dump_name, naming->dump_suffix);
		} else {
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	if (length < 0 || (size_t)length >= out_size)
		return -ENAMETOOLONG;
	return length;
}

static bool has_suffix(const char *text, size_t text_length,
		       const char *suffix)
{
	size_t suffix_length = strlen(suffix);
	return text_length >= suffix_length &&
	       memcmp(text + text_length - suffix_length, suffix,
		      suffix_length) == 0;
}

/* rest: the file name after the crash id. */
static int parse_rest(const struct crash_naming *naming, const char *rest,
		      struct crash_part *part, char *name_buf,
		      size_t name_buf_size)
{
	size_t rest_length = strlen(rest);

	part->dump_name = NULL;
	if (strcmp(rest, naming->json_suffix) == 0) {
		part->type = CRASH_PART_RAW_CRASH;
		return 0;
	}
	if (strcmp(rest, naming->jsonz_suffix) == 0) {
		part->type = CRASH_PART_PROCESSED;
		return 0;
	}
	if (strcmp(rest, naming->dump_suffix) == 0) {
		part->type = CRASH_PART_DUMP;
		return 0;
	}
	/* ".<name><dump_suffix>"; "..dump" is the main dump (dated stores of
	 * 2014 wrote a dump named "" so; crashfs reads it as the main one). */
	if (rest[0] != '.' || !has_suffix(rest, rest_length, naming->dump_suffix))
		return -EINVAL;
	size_t name_length = rest_length - 1 - strlen(naming->dump_suffix);
	if (name_length == 0) {
		part->type = CRASH_PART_DUMP;
		return 0;
	}
	if (name_length >= name_buf_size)
		return -EINVAL;
	memcpy(name_buf, rest + 1, name_length);
	name_buf[name_length] = '\0';
	if (!crash_dump_name_is_valid(name_buf))
		return -EINVAL;
	part->type = CRASH_PART_DUMP;
	part->dump_name = name_buf;
	return 0;
}

int crash_part_parse_file_name(const struct crash_naming *naming,
			       const char *crash_id, const char *file_name,
			       struct crash_part *part, char *name_buf,
			       size_t name_buf_size)
{
	if (strncmp(file_name, crash_id, CRASH_ID_LENGTH) != 0 ||
	    strlen(crash_id) != CRASH_ID_LENGTH)
		return -EINVAL;
	return parse_rest(naming, file_name + CRASH_ID_LENGTH, part, name_buf,
			  name_buf_size);
}

int crash_part_parse_any(const struct crash_naming *naming,
			 const char *file_name, char *crash_id_out,
			 struct crash_part *part, char *name_buf,
			 size_t name_buf_size)
{
	if (strlen(file_name) <= CRASH_ID_LENGTH)
		return -EINVAL;
	memcpy(crash_id_out, file_name, CRASH_ID_LENGTH);
	crash_id_out[CRASH_ID_LENGTH] = '\0';
	if (!crash_id_is_valid(crash_id_out))
		return -EINVAL;
	return parse_rest(naming, file_name + CRASH_ID_LENGTH, part, name_buf,
			  name_buf_size);
}
