/*
 * stats_format.c - fixed-width JSON for .crashfs/stats (see
 * stats_format.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusefs/stats_format.h"

struct text {
	char *data;
	size_t length, capacity;
	bool failed;
};

static void append(struct text *text, const char *bytes, size_t length)
{
	if (text->failed)
		return;
	if (text->length + length + 1 > text->capacity) {
		size_t capacity = text->capacity ? text->capacity : 4096;
		while (text->length + length + 1 > capacity)
			capacity *= 2;
		char *grown = realloc(text->data, capacity);
		if (!grown) {
			text->failed = true;
			return;
		}
		text->data = grown;
		text->capacity = capacity;
	}
	memcpy(text->data + text->length, bytes, length);
	text->length += length;
	text->data[text->length] = '\0';
}

static void append_string(struct text *text, const char *string)
{
	append(text, string, strlen(string));
}

static void append_spaces(struct text *text, size_t count)
{
	static const char spaces[] = "                                ";
	while (count > 0) {
		size_t chunk = count < sizeof spaces - 1 ? count
							 : sizeof spaces - 1;
		append(text, spaces, chunk);
		count -= chunk;
	}
}

/* A JSON string literal, escaped by jansson. */
static size_t append_quoted(struct text *text, const char *string)
{
	json_t *value = json_string(string);
	char *quoted = value ? json_dumps(value, JSON_ENCODE_ANY) : NULL;
	json_decref(value);
	if (!quoted) {
		text->failed = true;
		return 0;
	}
	size_t length = strlen(quoted);
	append(text, quoted, length);
	free(quoted);
	return length;
}

static void append_value(struct text *text, const json_t *value, int depth);

static void append_indent(struct text *text, int depth)
{
	append_spaces(text, (size_t)depth * 2);
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void append_object(struct text *text, const json_t *object, int depth)
{
	size_t count = json_object_size(object);
	if (count == 0) {
		append_string(text, "{}");
		return;
	}
	const char **keys = malloc(count * sizeof *keys);
	if (!keys) {
		text->failed = true;
		return;
	}
	size_t index = 0;
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)object, key, member)
		keys[index++] = key;
	qsort(keys, count, sizeof *keys, compare_keys);
	append_string(text, "{\n");
	for (size_t i = 0; i < count; i++) {
		append_indent(text, depth + 1);
		append_quoted(text, keys[i]);
		append_string(text, ": ");
		append_value(text, json_object_get(object, keys[i]), depth + 1);
		append_string(text, i + 1 < count ? ",\n" : "\n");
	}
	append_indent(text, depth);
	append_string(text, "}");
	free(keys);
}

static void append_array(struct text *text, const json_t *array, int depth)
{
	size_t count = json_array_size(array);
	append_string(text, "[");
	for (size_t i = 0; i < count; i++) {
		if (i)
			append_string(text, ", ");
		append_value(text, json_array_get(array, i), depth);
	}
	append_string(text, "]");
}

/* value right-aligned in width columns (the spaces come first: JSON
 * whitespace before a value). */
static void append_aligned(struct text *text, const char *value, size_t width)
{
	size_t length = strlen(value);
	if (length < width)
		append_spaces(text, width - length);
	append(text, value, length);
}

static void append_value(struct text *text, const json_t *value, int depth)
{
	char number[64];
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		append_object(text, value, depth);
		break;
	case JSON_ARRAY:
		append_array(text, value, depth);
		break;
	case JSON_STRING: {
		/* Spaces after the closing quote: whitespace before the
		 * comma. */
		size_t length = append_quoted(text, json_string_value(value));
		if (length < STATS_STRING_WIDTH + 2)
			append_spaces(text, STATS_STRING_WIDTH + 2 - length);
		break;
	}
	case JSON_INTEGER:
		snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(value));
		append_aligned(text, number, 20);
		break;
	case JSON_REAL:
		snprintf(number, sizeof number, "%.17g", json_real_value(value));
		if (!strpbrk(number, ".eE"))
			strcat(number, ".0");
		append_aligned(text, number, 24);
		break;
	case JSON_TRUE:
		append_aligned(text, "true", 5);
		break;
	case JSON_FALSE:
		append_aligned(text, "false", 5);
		break;
	case JSON_NULL:
	default:
		append_aligned(text, "null", 5);
		break;
	}
}

char *stats_format(const json_t *document)
{
	struct text text = { 0 };
	append_value(&text, document, 0);
	append_string(&text, "\n");
	if (text.failed) {
		free(text.data);
		return NULL;
	}
	return text.data;
}
