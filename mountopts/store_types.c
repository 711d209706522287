/*
 * store_types.c - the table of store types (see store_types.h).
 */
#include "containers/fallback_store.h"
#include "containers/poly_store.h"
#include "containers/primary_deferred_store.h"
#include "crashfs_config.h"
#include "mountopts/store_types.h"
#include "storage/faulty/faulty_store.h"
#include "storage/fs/fs_store.h"
#include "storage/memory/memory_store.h"
#include "storage/null/null_store.h"
#if CRASHFS_HAVE_POSTGRESQL
#include "storage/postgresql/pg_store.h"
#endif
#if CRASHFS_HAVE_RABBITMQ
#include "storage/rabbitmq/rabbitmq_store.h"
#endif
#if CRASHFS_HAVE_HBASE
#include "storage/hbase/hbase_store.h"
#endif

const struct crash_store_type crashfs_store_types[] = {
	{ .name = "fs", .open = fs_store_open_json },
	{ .name = "memory", .open = memory_store_open_json },
	{ .name = "null", .open = null_store_open_json },
	{ .name = "poly", .open = poly_store_open_json },
	{ .name = "fallback", .open = fallback_store_open_json },
	{ .name = "primary_deferred",
	  .open = primary_deferred_store_open_json },
	{ .name = "primary_deferred_processed",
	  .open = primary_deferred_processed_store_open_json },
#if CRASHFS_HAVE_POSTGRESQL
	{ .name = "postgresql",
	  .open = postgresql_store_open_json,
	  .takes_default_retry = true },
#else
	{ .name = "postgresql",
	  .missing = "crashfs was built without libpq (apt-get install "
		     "libpq-dev, then rebuild)" },
#endif
#if CRASHFS_HAVE_HBASE
	{ .name = "hbase",
	  .open = hbase_store_open_json,
	  .takes_default_retry = true },
#else
	{ .name = "hbase",
	  .missing = "crashfs was built without thrift c_glib (apt-get "
		     "install libthrift-c-glib-dev thrift-compiler, then "
		     "rebuild)" },
#endif
	{ .name = "faulty",
	  .open = faulty_store_open_json,
	  .takes_default_retry = true },
#if CRASHFS_HAVE_RABBITMQ
	{ .name = "rabbitmq",
	  .open = rabbitmq_store_open_json,
	  .takes_default_retry = true },
#else
	{ .name = "rabbitmq",
	  .missing = "crashfs was built without librabbitmq "
		     "(apt-get install librabbitmq-dev, then rebuild)" },
#endif
	{ .name = NULL },
};
