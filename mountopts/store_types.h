/*
 * store_types.h - every store type the daemon can build: the composition
 * root of the store tree.
 *
 * The storage library knows no type (storage/store_registry.h takes its
 * table from the caller); this table names them all, so that a backend
 * is one line here and one folder under storage/, and each server backend
 * is compiled only when its client library was found at build time (meson
 * options postgresql, hbase, rabbitmq).  A type this build lacks stays
 * listed with the reason, so a configuration naming it fails with a
 * message that says what to install, not "unknown type".
 *
 * A constant table; safe from any thread.
 */
#ifndef CRASHFS_MOUNTOPTS_STORE_TYPES_H
#define CRASHFS_MOUNTOPTS_STORE_TYPES_H

#include "storage/store_registry.h"

/* Terminated by { NULL }. */
extern const struct crash_store_type crashfs_store_types[];

#endif
