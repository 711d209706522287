"""The PostgreSQL store against a real server (tests/functional/servers.py
starts it; each test has a database of its own): crashfs --setup-store,
round trips through a mount, Socorro's columns, weekly partitions, poly
with an fs store, rsync migrations, crashes Socorro wrote with plain SQL,
removal and listings.  Outages, concurrency and bad input are in
test_postgresql_drills.py.
"""

import datetime
import errno
import gzip
import json
import os
import re
import time

import pytest

import crashfs_helpers as helpers
import pg_helpers as pg
from crashfs_helpers import run

SOURCE_MTIME = 1234567890

# B.3: Socorro's tables keep exactly Socorro's columns.
SOCORRO_COLUMNS = {
    "reports": [
        "id", "client_crash_date", "date_processed", "uuid", "product",
        "version", "build", "signature", "url", "install_age", "last_crash",
        "uptime", "cpu_name", "cpu_info", "reason", "address", "os_name",
        "os_version", "email", "user_id", "started_datetime",
        "completed_datetime", "success", "truncated", "processor_notes",
        "user_comments", "app_notes", "distributor", "distributor_version",
        "topmost_filenames", "addons_checked", "flash_version", "hangid",
        "process_type", "release_channel", "productid", "exploitability",
        "update_channel"],
    "raw_crashes": ["uuid", "raw_crash", "date_processed"],
    "processed_crashes": ["uuid", "processed_crash", "date_processed"],
    "plugins": ["id", "filename", "name"],
    "plugins_reports": ["report_id", "plugin_id", "date_processed",
                        "version"],
    "extensions": ["report_id", "date_processed", "extension_key",
                   "extension_id", "extension_version", "uuid"],
}


def columns_of(database, table):
    return [row[0] for row in pg.query(
        database, "SELECT attname FROM pg_attribute WHERE attrelid = "
        "to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (table,))]


def mount_pg(mount, workdir, database, *options, name="postgresql.json",
             **node):
    config = pg.write_config(workdir, pg.store_node(database, **node), name)
    return mount(config, *options)


def make_id(day, depth=2, seed=None):
    import random
    rng = random.Random(seed) if seed is not None else None
    return helpers.make_crash_id(day=day, depth=depth, rng=rng)


# -- setup ------------------------------------------------------------------

def test_setup_store_makes_socorro_schema_once(crashfs_binary, workdir,
                                               postgresql_database):
    config = pg.write_config(workdir, pg.store_node(postgresql_database))
    code, out, err = pg.setup_store(crashfs_binary, config)
    lines = out.splitlines()
    created = [line for line in lines if line.startswith("created ")]
    assert "created table reports" in created
    assert "created table report_partition_info" in created
    assert "created row report_partition_info raw_crashes" in created
    this_week = (datetime.date.today() - datetime.timedelta(
        days=datetime.date.today().weekday()))
    weeks = [(this_week + datetime.timedelta(weeks=i)).strftime("%Y%m%d")
             for i in (-1, 0, 1, 2)]
    for week in weeks:
        for table in pg.CRASH_TABLES:
            assert "created table %s_%s" % (table, week) in created
        assert "created table crashfs_parts_%s" % week in created
    assert lines[-1].endswith("set up, %d object(s) created" % len(created))
    assert len(created) == len(set(created))

    # Socorro's tables, Socorro's columns, exactly.
    for table, columns in SOCORRO_COLUMNS.items():
        assert columns_of(postgresql_database, table) == columns
        assert columns_of(postgresql_database, "%s_%s" % (
            table, weeks[1])) == columns or table == "plugins"
    info = dict((row[0], row[1:]) for row in pg.query(
        postgresql_database, "SELECT table_name, build_order, keys, "
        "indexes, fkeys, partition_column, timetype "
        "FROM report_partition_info"))
    assert info["reports"] == (
        1, ["id", "uuid"], ["date_processed", "hangid", "product,version",
                            "reason", "signature", "url"], [],
        "date_processed", "TIMESTAMPTZ")
    assert info["plugins_reports"][3] == [
        "(plugin_id) REFERENCES plugins(id)",
        "(report_id) REFERENCES reports_WEEKNUM(id)"]

    # B.2: CHECK ranges, unique keys, indexes and foreign keys of a week.
    week = weeks[1]
    monday = datetime.datetime.strptime(week, "%Y%m%d").date()
    check = pg.query(postgresql_database,
                     "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                     "WHERE conname = %s", ("reports_%s_date_check" % week,))
    assert check == [("CHECK (((date_processed >= '%s 00:00:00+00'::"
                      "timestamp with time zone) AND (date_processed <= "
                      "'%s 00:00:00+00'::timestamp with time zone)))" % (
                          monday, monday + datetime.timedelta(days=7)),)]
    indexes = dict(pg.query(
        postgresql_database, "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename LIKE %s", ("%%_%s" % week,)))
    for name, definition in [
            ("reports_%s_uuid", "UNIQUE INDEX reports_%s_uuid ON "
             "public.reports_%s USING btree (uuid)"),
            ("reports_%s_product_version", "INDEX reports_%s_product_version"
             " ON public.reports_%s USING btree (product, version)"),
            ("plugins_reports_%s_report_id_plugin_id",
             "UNIQUE INDEX plugins_reports_%s_report_id_plugin_id ON "
             "public.plugins_reports_%s USING btree (report_id, plugin_id)"),
            ("extensions_%s_report_id_date_processed",
             "INDEX extensions_%s_report_id_date_processed ON "
             "public.extensions_%s USING btree (report_id, date_processed)"),
            ("raw_crashes_%s_uuid", "UNIQUE INDEX raw_crashes_%s_uuid ON "
             "public.raw_crashes_%s USING btree (uuid)")]:
        assert indexes[name % week].endswith(definition % (week, week))
    fkeys = dict(pg.query(
        postgresql_database, "SELECT conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype = 'f' AND conname LIKE %s",
        ("%%_%s_fk_%%" % week,)))
    assert fkeys == {
        "plugins_reports_%s_fk_1" % week: "FOREIGN KEY (plugin_id) "
        "REFERENCES plugins(id) ON UPDATE CASCADE ON DELETE CASCADE",
        "plugins_reports_%s_fk_2" % week: "FOREIGN KEY (report_id) "
        "REFERENCES reports_%s(id) ON UPDATE CASCADE ON DELETE CASCADE"
        % week,
        "extensions_%s_fk_1" % week: "FOREIGN KEY (report_id) "
        "REFERENCES reports_%s(id) ON UPDATE CASCADE ON DELETE CASCADE"
        % week}

    # Idempotent: a second run makes nothing.
    code, out, err = pg.setup_store(crashfs_binary, config)
    assert [line for line in out.splitlines()
            if line.startswith("created")] == []
    assert out.splitlines()[-1].endswith("set up, 0 object(s) created")


# -- round trips ------------------------------------------------------------

def test_raw_and_processed_round_trip_byte_for_byte(mount, workdir,
                                                    postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    today = datetime.date.today()
    crashes = {}
    for index, depth in enumerate([1, 2, 4, 0, 9]):
        crash_id = make_id(today - datetime.timedelta(days=index), depth,
                           seed=index)
        crashes[crash_id] = {
            crash_id + ".json": pg.raw_crash(crash_id, padding=index * 3000),
            crash_id + ".jsonz": pg.jsonz(pg.processed_crash(crash_id)),
        }
    # Through by-id, and through the radix path (mkdir -p).
    for index, (crash_id, parts) in enumerate(crashes.items()):
        if index % 2:
            pg.write_parts(m, crash_id, parts, mtime=SOURCE_MTIME + index)
        else:
            directory = pg.view_dir(m, crash_id)
            os.makedirs(directory)
            for name, data in parts.items():
                helpers.write_file(directory / name, data)
                os.utime(directory / name, (SOURCE_MTIME + index,) * 2)

    for index, (crash_id, parts) in enumerate(crashes.items()):
        directory = pg.view_dir(m, crash_id)
        assert sorted(os.listdir(directory)) == sorted(parts)
        for name, data in parts.items():
            st = os.stat(directory / name)
            assert st.st_size == len(data)
            assert st.st_mtime == SOURCE_MTIME + index
            assert helpers.read_file(directory / name) == data
    expected = {os.path.join(helpers.view_parent(crash_id, "radix"), name):
                data for crash_id, parts in crashes.items()
                for name, data in parts.items()}
    assert helpers.tree_files(m.path) == expected

    # The bytes written are the bytes stored.
    for crash_id, parts in crashes.items():
        week = pg.week_of(crash_id)
        [(raw,)] = pg.query(postgresql_database,
                            "SELECT raw_crash::text FROM raw_crashes_%s "
                            "WHERE uuid = %%s" % week, (crash_id,))
        assert raw.encode() == parts[crash_id + ".json"]
        [(processed,)] = pg.query(
            postgresql_database, "SELECT processed_crash::text FROM "
            "processed_crashes_%s WHERE uuid = %%s" % week, (crash_id,))
        assert processed.encode() == pg.gunzip(parts[crash_id + ".jsonz"])
    assert pg.query(postgresql_database,
                    "SELECT count(*) FROM raw_crashes") == [(len(crashes),)]

    # After a remount, from the database alone.
    assert m.unmount() == 0
    m = mount_pg(mount, workdir, postgresql_database)
    assert helpers.tree_files(m.path) == expected
    for index, (crash_id, parts) in enumerate(crashes.items()):
        for name in parts:
            assert os.stat(pg.view_dir(m, crash_id) / name).st_mtime == \
                SOURCE_MTIME + index
    stats = m.stats()["stores"]
    text = json.dumps(stats)
    assert postgresql_database.server.password not in text
    assert stats["store"]["server"].startswith("host=")


def test_rewriting_a_processed_crash_replaces_its_rows(mount, workdir,
                                                       postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    crash_id = make_id(datetime.date.today(), seed=7)
    first = pg.processed_crash(crash_id, signature="first",
                               addons=[["a@x", "1"], ["b@x", "2"],
                                       ["c@x", "3"]])
    pg.write_parts(m, crash_id, {crash_id + ".jsonz": pg.jsonz(first)})
    second = pg.processed_crash(crash_id, signature="second",
                                addons=[["d@x", "4"]])
    data = pg.jsonz(second, mtime=5)
    pg.write_parts(m, crash_id, {crash_id + ".jsonz": data})
    assert helpers.read_file(pg.view_dir(m, crash_id) /
                             (crash_id + ".jsonz")) == data
    week = pg.week_of(crash_id)
    assert pg.query(postgresql_database, "SELECT signature FROM reports_%s"
                    % week) == [("second",)]
    assert pg.query(postgresql_database,
                    "SELECT extension_key, extension_id, extension_version "
                    "FROM extensions_%s" % week) == [(0, "d@x", "4")]
    # Socorro left extension rows alone when addons was empty.
    third = pg.processed_crash(crash_id, signature="third", addons=[])
    pg.write_parts(m, crash_id, {crash_id + ".jsonz": pg.jsonz(third)})
    assert pg.query(postgresql_database,
                    "SELECT extension_id FROM extensions_%s" % week) == \
        [("d@x",)]
    assert pg.rows_of_crash(postgresql_database, crash_id) == {
        "reports": 1, "plugins_reports": 0, "extensions": 1,
        "raw_crashes": 0, "processed_crashes": 1, "crashfs_parts": 1}


def test_reports_rows_hold_the_mapped_columns(mount, workdir,
                                              postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    crash_id = make_id(datetime.date(2012, 4, 8), seed=1)
    long_text = "\u00e9" * 300
    document = pg.processed_crash(
        crash_id, address="0x" + "1" * 40, version="12.0a1.superlong.version",
        signature=long_text, user_comments="x" * 2000, success=False,
        truncated=True, addons_checked=None, install_age="12345",
        uptime=3.0, process_type="plugin", PluginFilename="NPSWF32.dll",
        PluginName="Shockwave Flash", PluginVersion="11.1.102.55",
        date_processed="2012-04-08 10:56:41.558922",
        client_crash_date="2012-04-08T10:52:01+02:00",
        addons=[["{972ce4c6}", "12.0"], ["only-an-id"],
                ["x" * 150, None]])
    raw = pg.raw_crash(crash_id, submitted_timestamp=
                       "2012-04-08T10:52:42.123456+00:00")
    pg.write_parts(m, crash_id, {crash_id + ".json": raw,
                                 crash_id + ".jsonz": pg.jsonz(document)})
    values = pg.column_values(postgresql_database, crash_id, [
        "uuid", "address", "version", "signature", "user_comments",
        "success", "truncated", "addons_checked", "install_age", "uptime",
        "date_processed", "client_crash_date", "completed_datetime",
        "started_datetime", "process_type", "topmost_filenames", "email",
        "update_channel", "id"])
    utc = datetime.timezone.utc
    assert values["uuid"] == crash_id
    assert values["address"] == "0x" + "1" * 18
    assert values["version"] == "12.0a1.superlong"
    assert values["signature"] == "\u00e9" * 255
    assert values["user_comments"] == "x" * 1024
    assert values["success"] is False
    assert values["truncated"] is True
    assert values["addons_checked"] is None
    assert values["install_age"] == 12345
    assert values["uptime"] == 3
    assert values["date_processed"] == datetime.datetime(
        2012, 4, 8, 10, 56, 41, 558922, tzinfo=utc)
    assert values["client_crash_date"] == datetime.datetime(
        2012, 4, 8, 8, 52, 1, tzinfo=utc)
    assert values["completed_datetime"] == datetime.datetime(
        2012, 4, 8, 10, 56, 50, 902884, tzinfo=utc)
    assert values["process_type"] == "plugin"
    assert values["topmost_filenames"] == "jsgc.cpp|jsgcinlines.h"
    assert values["email"] is None
    assert values["update_channel"] is None

    report_id = values["id"]
    plugins = pg.query(postgresql_database,
                       "SELECT p.filename, p.name, r.version, "
                       "r.date_processed FROM plugins_reports_20120402 r "
                       "JOIN plugins p ON p.id = r.plugin_id "
                       "WHERE r.report_id = %s", (report_id,))
    assert plugins == [("NPSWF32.dll", "Shockwave Flash", "11.1.102.55",
                        values["date_processed"])]
    extensions = pg.query(postgresql_database,
                          "SELECT extension_key, extension_id, "
                          "extension_version, date_processed, uuid "
                          "FROM extensions_20120402 WHERE report_id = %s "
                          "ORDER BY extension_key", (report_id,))
    assert extensions == [
        (0, "{972ce4c6}", "12.0", values["date_processed"], None),
        (2, "x" * 100, None, values["date_processed"], None)]
    [(raw_date,)] = pg.query(postgresql_database,
                             "SELECT date_processed FROM "
                             "raw_crashes_20120402")
    assert raw_date == datetime.datetime(2012, 4, 8, 10, 52, 42, 123456,
                                         tzinfo=utc)
    [(processed_date,)] = pg.query(postgresql_database,
                                   "SELECT date_processed FROM "
                                   "processed_crashes_20120402")
    assert processed_date == values["date_processed"]

    # A second plugin crash reuses the plugins row.
    other = make_id(datetime.date(2012, 4, 6), seed=2)
    pg.write_parts(m, other, {other + ".jsonz": pg.jsonz(pg.processed_crash(
        other, process_type="plugin", PluginFilename="NPSWF32.dll",
        PluginName="Shockwave Flash", PluginVersion="11.2"))})
    assert pg.query(postgresql_database, "SELECT count(*) FROM plugins") == \
        [(1,)]
    assert pg.query(postgresql_database,
                    "SELECT count(*) FROM plugins_reports") == [(2,)]


def test_partitions_across_a_year_boundary(mount, workdir,
                                           postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    ids = {make_id(datetime.date(2014, 12, 31), seed=1): "20141229",
           make_id(datetime.date(2015, 1, 1), seed=2): "20141229",
           make_id(datetime.date(2015, 1, 4), seed=3): "20141229",
           make_id(datetime.date(2015, 1, 5), seed=4): "20150105",
           make_id(datetime.date(2014, 12, 28), seed=5): "20141222"}
    for crash_id in ids:
        date = "20%s-%s-%s" % (crash_id[-6:-4], crash_id[-4:-2],
                               crash_id[-2:])
        pg.write_parts(m, crash_id, {
            crash_id + ".json": pg.raw_crash(
                crash_id, submitted_timestamp=date + "T23:59:59.999999Z"),
            crash_id + ".jsonz": pg.jsonz(pg.processed_crash(
                crash_id, date_processed=date + " 23:59:59.999999"))})
    for crash_id, week in ids.items():
        for table in ("raw_crashes", "processed_crashes", "reports"):
            assert pg.query(postgresql_database,
                            "SELECT count(*) FROM %s_%s WHERE uuid::text = "
                            "%%s" % (table, week), (crash_id,)) == [(1,)]
    # The weeks were made on demand, with Socorro's CHECK ranges.
    checks = dict(pg.query(
        postgresql_database, "SELECT conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE conname LIKE 'raw_crashes_%_date_check'"))
    assert sorted(checks) == ["raw_crashes_20141222_date_check",
                              "raw_crashes_20141229_date_check",
                              "raw_crashes_20150105_date_check"]
    assert "'2014-12-29 00:00:00+00'" in \
        checks["raw_crashes_20141229_date_check"]
    assert "'2015-01-05 00:00:00+00'" in \
        checks["raw_crashes_20141229_date_check"]
    days = sorted(os.listdir(m.path))
    assert days == sorted("20" + crash_id[-6:] for crash_id in ids)
    for crash_id in ids:
        assert sorted(os.listdir(pg.view_dir(m, crash_id))) == sorted(
            [crash_id + ".json", crash_id + ".jsonz"])


# -- containers ---------------------------------------------------------------

def test_poly_fs_postgresql_keeps_dumps_in_fs_and_json_in_both(
        mount, workdir, postgresql_database, crashfs_binary):
    root = workdir / "fs"
    config = pg.write_config(workdir, {"type": "poly", "stores": [
        {"type": "fs", "root": str(root)},
        pg.store_node(postgresql_database)]}, "poly.json")
    # --setup-store reaches the member that needs it.
    code, out, err = pg.setup_store(crashfs_binary, config)
    assert "created table raw_crashes" in out.splitlines()
    m = mount(config)
    crashes = [helpers.make_crash(make_id(datetime.date.today(), seed=i))
               for i in range(3)]
    for crash in crashes:
        source = workdir / "src" / crash.crash_id
        source.mkdir(parents=True)
        for name, data in crash.files().items():
            (source / name).write_bytes(data)
        run(["cp", "-r", str(source), str(m.path / ".crashfs" / "by-id")])
    # fs has every part; the mount reads them from it (read_from 0).
    assert helpers.tree_files(root) == helpers.expected_files(crashes,
                                                              "radix")
    assert helpers.tree_files(m.path) == helpers.expected_files(crashes,
                                                                "radix")
    # PostgreSQL has the JSON and nothing else.
    assert m.unmount() == 0
    only = mount_pg(mount, workdir, postgresql_database)
    expected = {path: data for path, data in helpers.expected_files(
        crashes, "radix").items() if not path.endswith(".dump")}
    assert helpers.tree_files(only.path) == expected


# -- rsync ------------------------------------------------------------------

def rsync_transfers(source, destination):
    result = run(["rsync", "-ai", str(source) + "/",
                  str(destination) + "/"], timeout=300)
    return [line for line in result.stdout.splitlines()
            if line.startswith(">f")]


def test_rsync_fs_to_postgresql_to_fs_is_byte_identical(
        mount, workdir, postgresql_database):
    crashes = []
    for i, day in enumerate([datetime.date(2012, 4, 8),
                             datetime.date(2012, 4, 9),
                             datetime.date(2014, 12, 31),
                             datetime.date(2015, 1, 1)]):
        crash_id = make_id(day, depth=[1, 2, 4, 2][i], seed=i)
        crashes.append(helpers.Crash(
            crash_id, pg.raw_crash(crash_id, padding=i * 10000), {},
            pg.jsonz(pg.processed_crash(crash_id, signature="s%d" % i))))
    native = workdir / "native"
    helpers.write_socorro_tree(native, "radix", crashes, mtime=SOURCE_MTIME)
    source = mount(native)
    middle = mount_pg(mount, workdir, postgresql_database)
    first = rsync_transfers(source.path, middle.path)
    assert len(first) == 2 * len(crashes)
    assert rsync_transfers(source.path, middle.path) == []

    destination = mount(workdir / "copy")
    assert len(rsync_transfers(middle.path, destination.path)) == \
        2 * len(crashes)
    assert rsync_transfers(middle.path, destination.path) == []
    assert helpers.tree_files(workdir / "copy") == \
        helpers.tree_files(native)
    for path in helpers.tree_files(native):
        assert os.stat(workdir / "copy" / path).st_mtime == SOURCE_MTIME


# -- crashes Socorro wrote ----------------------------------------------------

SOCORRO_WEEK_SQL = """
CREATE TABLE {part} ( CONSTRAINT {part}_date_check CHECK ( date_processed
  BETWEEN TIMESTAMPTZ '{first}' AND TIMESTAMPTZ '{last}' ) )
  INHERITS ( {master} );
CREATE UNIQUE INDEX {part}_uuid ON {part}(uuid);
"""


def socorro_schema(database, week):
    """Masters and one week's raw and processed partitions, made with SQL
    as Socorro's models and create_weekly_partition made them, and
    nothing of crashfs's."""
    first = datetime.datetime.strptime(week, "%Y%m%d").date()
    pg.execute(database, """
        CREATE TABLE raw_crashes (uuid uuid NOT NULL UNIQUE,
            raw_crash json NOT NULL, date_processed timestamptz);
        CREATE TABLE processed_crashes (uuid uuid NOT NULL UNIQUE,
            processed_crash json NOT NULL, date_processed timestamptz);""")
    for master in ("raw_crashes", "processed_crashes"):
        pg.execute(database, SOCORRO_WEEK_SQL.format(
            part="%s_%s" % (master, week), master=master, first=first,
            last=first + datetime.timedelta(days=7)))


def test_crashes_written_with_plain_sql_are_readable(mount, workdir,
                                                     postgresql_database):
    crash_id = make_id(datetime.date(2012, 4, 8), seed=11)
    other_id = make_id(datetime.date(2012, 4, 5), seed=12)
    socorro_schema(postgresql_database, "20120402")
    raw = {"uuid": crash_id, "ProductName": "Firefox",
           "submitted_timestamp": "2012-04-08T10:52:42.123456+00:00",
           "Comments": "caf\u00e9 \"quoted\" back\\slash \u0000"}
    # json.dumps as Socorro's psycopg2 code wrote it.
    raw_text = json.dumps(raw)
    processed = pg.processed_crash(crash_id)
    processed_text = json.dumps(processed)
    pg.execute(postgresql_database,
               "INSERT INTO raw_crashes_20120402 (uuid, raw_crash, "
               "date_processed) VALUES (%s, %s, %s)",
               (crash_id, raw_text, "2012-04-08 10:52:42.123456+00"))
    pg.execute(postgresql_database,
               "INSERT INTO processed_crashes_20120402 (uuid, "
               "processed_crash, date_processed) VALUES (%s, %s, %s)",
               (crash_id, processed_text, "2012-04-08 10:56:41.5+00"))
    pg.execute(postgresql_database,
               "INSERT INTO processed_crashes_20120402 (uuid, "
               "processed_crash, date_processed) VALUES (%s, %s, NULL)",
               (other_id, json.dumps({"uuid": other_id})))

    m = mount_pg(mount, workdir, postgresql_database)
    assert sorted(os.listdir(m.path)) == ["20120405", "20120408"]
    directory = pg.view_dir(m, crash_id)
    assert sorted(os.listdir(directory)) == [crash_id + ".json",
                                             crash_id + ".jsonz"]
    raw_path = directory / (crash_id + ".json")
    assert helpers.read_file(raw_path) == raw_text.encode()
    assert os.stat(raw_path).st_size == len(raw_text.encode())
    assert os.stat(raw_path).st_mtime == datetime.datetime(
        2012, 4, 8, 10, 52, 42, 123456,
        tzinfo=datetime.timezone.utc).timestamp()
    jsonz_path = directory / (crash_id + ".jsonz")
    data = helpers.read_file(jsonz_path)
    assert gzip.decompress(data) == processed_text.encode()
    assert os.stat(jsonz_path).st_size == len(data)
    # Deterministic: the same bytes after a remount (a cold cache).
    assert m.unmount() == 0
    m = mount_pg(mount, workdir, postgresql_database)
    jsonz_path = pg.view_dir(m, crash_id) / (crash_id + ".jsonz")
    assert os.stat(jsonz_path).st_size == len(data)
    assert helpers.read_file(jsonz_path) == data
    # No date_processed: the crash id's day.
    other = pg.view_dir(m, other_id) / (other_id + ".jsonz")
    assert os.stat(other).st_mtime == datetime.datetime(
        2012, 4, 5, tzinfo=datetime.timezone.utc).timestamp()

    # crashfs writes into the week Socorro made, adding only its own side
    # table: Socorro's partitions keep their columns.
    new_id = make_id(datetime.date(2012, 4, 7), seed=13)
    pg.write_parts(m, new_id, {new_id + ".json": pg.raw_crash(new_id)},
                   mtime=SOURCE_MTIME)
    assert os.stat(pg.view_dir(m, new_id) / (new_id + ".json")).st_mtime \
        == SOURCE_MTIME
    assert columns_of(postgresql_database, "raw_crashes_20120402") == \
        SOCORRO_COLUMNS["raw_crashes"]
    assert pg.query(postgresql_database,
                    "SELECT to_regclass('crashfs_parts_20120402') "
                    "IS NOT NULL") == [(True,)]

    # A rewrite by Socorro makes crashfs's kept .jsonz bytes stale: the
    # mount then serves the new JSON.
    pg.write_parts(m, crash_id, {crash_id + ".jsonz": pg.jsonz(processed)})
    newer = dict(processed, signature="reprocessed")
    pg.execute(postgresql_database,
               "UPDATE processed_crashes_20120402 SET processed_crash = %s "
               "WHERE uuid = %s", (json.dumps(newer), crash_id))
    assert m.unmount() == 0
    m = mount_pg(mount, workdir, postgresql_database)
    again = pg.view_dir(m, crash_id) / (crash_id + ".jsonz")
    assert json.loads(gzip.decompress(helpers.read_file(again))) == newer


def test_a_crash_found_absent_is_remembered_for_absent_ttl(
        mount, workdir, postgresql_database):
    """A new crash's first write makes four lookups (the kernel's and the
    mount's before mkdir and create): the store asks the server once and
    remembers the crash absent for absent_ttl seconds (1 by default).  Its
    own writes forget it at once; rows another program inserts show when
    the time is up (at once with absent_ttl 0)."""
    day = datetime.date(2012, 4, 8)
    m = mount_pg(mount, workdir, postgresql_database)
    first = make_id(day, seed=41)
    pg.write_parts(m, first, {first + ".json": pg.raw_crash(first)})
    hits = m.stats()["stores"]["store"]["absent_hits"]
    assert hits >= 2

    # Through the mount: readable at once after the lookups said absent.
    own = make_id(day, seed=42)
    assert helpers.errno_of(os.stat, pg.by_id(m, own)) == errno.ENOENT
    pg.write_parts(m, own, {own + ".json": pg.raw_crash(own)})
    assert os.path.exists(pg.view_dir(m, own) / (own + ".json"))

    # Inserted by another program: shown once the second is up.
    other = make_id(day, seed=43)
    assert helpers.errno_of(os.stat, pg.by_id(m, other)) == errno.ENOENT
    pg.execute(postgresql_database, "INSERT INTO raw_crashes_20120402 "
               "(uuid, raw_crash) VALUES (%s, '{}')", (other,))
    started = time.monotonic()
    path = pg.view_dir(m, other) / (other + ".json")
    while not os.path.exists(path):
        assert time.monotonic() - started < 10, "never shown"
        time.sleep(0.05)
    assert m.stats()["stores"]["store"]["absent_hits"] > hits

    assert m.unmount() == 0
    m = mount_pg(mount, workdir, postgresql_database, absent_ttl=0)
    late = make_id(day, seed=44)
    assert helpers.errno_of(os.stat, pg.by_id(m, late)) == errno.ENOENT
    pg.execute(postgresql_database, "INSERT INTO raw_crashes_20120402 "
               "(uuid, raw_crash) VALUES (%s, '{}')", (late,))
    assert os.path.exists(pg.view_dir(m, late) / (late + ".json"))
    assert m.stats()["stores"]["store"]["absent_hits"] == 0


# -- removal ----------------------------------------------------------------

def test_rm_r_deletes_the_crash_from_every_table(mount, workdir,
                                                 postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    day = datetime.date(2012, 4, 8)
    crash_id = make_id(day, seed=21)
    neighbour = make_id(day, seed=22)
    for each in (crash_id, neighbour):
        pg.write_parts(m, each, {
            each + ".json": pg.raw_crash(each),
            each + ".jsonz": pg.jsonz(pg.processed_crash(
                each, process_type="plugin", PluginFilename="a.dll",
                PluginName="A", PluginVersion="1"))})
    assert pg.rows_of_crash(postgresql_database, crash_id) == {
        "reports": 1, "plugins_reports": 1, "extensions": 2,
        "raw_crashes": 1, "processed_crashes": 1, "crashfs_parts": 2}
    run(["rm", "-r", str(pg.view_dir(m, crash_id))])
    assert pg.rows_of_crash(postgresql_database, crash_id) == dict.fromkeys(
        ["reports", "plugins_reports", "extensions", "raw_crashes",
         "processed_crashes", "crashfs_parts"], 0)
    assert pg.rows_of_crash(postgresql_database, neighbour)["reports"] == 1
    assert not os.path.exists(pg.view_dir(m, crash_id))
    assert os.listdir(pg.view_dir(m, neighbour))

    # One part: the processed crash and its reports rows.
    os.unlink(pg.view_dir(m, neighbour) / (neighbour + ".jsonz"))
    assert pg.rows_of_crash(postgresql_database, neighbour) == {
        "reports": 0, "plugins_reports": 0, "extensions": 0,
        "raw_crashes": 1, "processed_crashes": 0, "crashfs_parts": 1}
    run(["rm", "-r", str(m.path / "20120408")])
    assert os.listdir(m.path) == []
    assert helpers.errno_of(os.stat, pg.view_dir(m, neighbour)) == \
        errno.ENOENT


# -- listings -----------------------------------------------------------------

def plans_since(log_file, offset, database):
    """The plans auto_explain logged for database since offset: each a
    block of text (the LOG line and its plan)."""
    with open(log_file, errors="replace") as f:
        f.seek(offset)
        text = f.read()
    blocks = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    marker = "@%s LOG:  duration:" % database
    return [block for block in blocks if marker in block]


@pytest.mark.time_limit(400)
def test_listings_use_indexes_over_a_100000_crash_week(
        mount, workdir, postgresql_database):
    database = postgresql_database
    week = "20030106"
    m = mount_pg(mount, workdir, database)
    # A first crash makes the week (crashfs's listing indexes with it).
    first_id = make_id(datetime.date(2003, 1, 6), seed=1)
    pg.write_parts(m, first_id, {first_id + ".json": pg.raw_crash(first_id)})
    assert m.unmount() == 0
    # 100,000 crashes over Monday to Friday, written as Socorro would.
    ids = ("(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || "
           "substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || "
           "substr(h, 21, 5) || '20301' || lpad((6 + i % 5)::text, 2, "
           "'0'))::uuid")
    for table, column in [("raw_crashes", "raw_crash"),
                          ("processed_crashes", "processed_crash")]:
        pg.execute(database,
                   "INSERT INTO %s_%s (uuid, %s, date_processed) "
                   "SELECT %s, '{}', NULL FROM (SELECT i, md5(i::text) "
                   "AS h FROM generate_series(1, 100000) AS i) AS g"
                   % (table, week, column, ids))
    pg.execute(database, "ANALYZE")
    assert pg.query(database, "SELECT count(*) FROM raw_crashes_%s" %
                    week) == [(100001,)]
    server = database.server
    pg.execute(database, "ALTER DATABASE %s SET session_preload_libraries "
               "= 'auto_explain'" % database.name)
    pg.execute(database, "ALTER DATABASE %s SET auto_explain.log_min_"
               "duration = 0" % database.name)
    offset = os.path.getsize(server.log_file)

    m = mount_pg(mount, workdir, database)
    # Monday to Friday hold crashes; the weekend does not show.
    assert sorted(os.listdir(m.path)) == ["20030106", "20030107",
                                          "20030108", "20030109",
                                          "20030110"]
    name = m.path / "20030108" / "name"
    components = sorted(os.listdir(name))
    assert len(components) == 256
    inner = sorted(os.listdir(name / components[7]))
    assert inner
    crashes = os.listdir(name / components[7] / inner[0])
    assert crashes
    assert all(helpers.crash_day(c) == "20030108" for c in crashes)

    plans = plans_since(server.log_file, offset, database.name)
    week_plans = [p for p in plans if "_%s" % week in p]
    assert week_plans, "auto_explain logged no plan of the week's tables"
    assert any("crashfs_raw_crashes_%s_day" % week in p for p in week_plans)
    assert any("crashfs_processed_crashes_%s_day" % week in p
               for p in week_plans)
    for plan in week_plans:
        assert not re.search(r"Seq Scan on (raw|processed)_crashes_%s"
                             % week, plan), plan
