/*
 * hbase_bytes.c - content hash and equality of GByteArray keys.
 */
#include <string.h>

#include "hbase_bytes.h"

guint hbase_bytes_hash(gconstpointer key)
{
	const GByteArray *bytes = key;
	/* FNV-1a: what g_str_hash does for text, over every byte. */
	guint hash = 2166136261u;
	for (guint i = 0; bytes && i < bytes->len; i++) {
		hash ^= bytes->data[i];
		hash *= 16777619u;
	}
	return hash;
}

gboolean hbase_bytes_equal(gconstpointer a, gconstpointer b)
{
	const GByteArray *x = a, *y = b;
	if (!x || !y)
		return x == y;
	return x->len == y->len &&
	       (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
}
