/*
 * hbase_bytes.h - hashing and comparing GByteArray keys by content.
 *
 * HBase's Thrift interface keys its maps by `binary` (TRowResult.columns,
 * every call's attributes).  The code thrift's c_glib generator makes for
 * such maps hashes and compares the GByteArray pointers as C strings;
 * storage/hbase/generate.py replaces those functions by these, so that a
 * map holds one entry per distinct key, as HBase sent it.
 *
 * Pure functions; any thread.
 */
#ifndef CRASHFS_STORAGE_HBASE_HBASE_BYTES_H
#define CRASHFS_STORAGE_HBASE_HBASE_BYTES_H

#include <glib.h>

guint hbase_bytes_hash(gconstpointer key);
gboolean hbase_bytes_equal(gconstpointer a, gconstpointer b);

#endif
