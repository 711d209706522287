"""Helpers of the PostgreSQL store's tests: store nodes for a test's
database, crashfs --setup-store, SQL as Socorro wrote it, processed
crashes with the keys of Socorro's reports table.

Nothing here mounts; the tests use the mount fixture of conftest.py and
the postgresql_database fixture of servers.py.
"""

import datetime
import gzip
import json
import os
import subprocess

import crashfs_helpers as helpers

# The tables crashfs writes, per week (spec/backends.md B.2).
CRASH_TABLES = ("reports", "plugins_reports", "extensions", "raw_crashes",
                "processed_crashes")


def store_node(database, **extra):
    """A postgresql store node for the test's database: no password in
    the dsn, the server's password file instead."""
    server = database.server
    node = {"type": "postgresql",
            "dsn": "host=%s port=%d user=%s dbname=%s" % (
                server.host, server.port, server.user, database.name),
            "password_file": server.password_file}
    node.update(extra)
    return node


def write_config(workdir, store, name="postgresql.json"):
    path = workdir / name
    path.write_text(json.dumps({"store": store}, indent=2))
    return path


def setup_store(binary, config, check=True):
    """crashfs --setup-store CONFIG: (exit status, stdout, stderr)."""
    result = subprocess.run([str(binary), "--setup-store", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError("--setup-store failed (%d):\n%s%s" % (
            result.returncode, result.stdout, result.stderr))
    return result.returncode, result.stdout, result.stderr


def query(database, sql, params=None):
    """Rows of one statement (a new connection each time: the tests
    stop and start the server)."""
    connection = database.connect()
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.description is None:
                return []
            return cursor.fetchall()
    finally:
        connection.close()


def execute(database, sql, params=None):
    query(database, sql, params)


def week_of(crash_id):
    """The partition suffix of a crash id: its date's Monday."""
    day = datetime.date(2000 + int(crash_id[-6:-4]), int(crash_id[-4:-2]),
                        int(crash_id[-2:]))
    return (day - datetime.timedelta(days=day.weekday())).strftime("%Y%m%d")


def by_id(m, crash_id):
    return m.path / ".crashfs" / "by-id" / crash_id


def write_parts(m, crash_id, parts, mtime=None):
    """Writes {file name: bytes} into the crash's by-id directory, with
    os.open/write/close so that close() reports the commit."""
    directory = by_id(m, crash_id)
    if not directory.exists():
        os.mkdir(directory)
    for name, data in parts.items():
        helpers.write_file(directory / name, data)
        if mtime is not None:
            os.utime(directory / name, (mtime, mtime))


def view_dir(m, crash_id):
    return m.path / helpers.view_parent(crash_id, "radix")


def processed_crash(crash_id, **fields):
    """A processed crash as Socorro's processor made it, with every key of
    the reports mapping (spec/backends.md B.4)."""
    date = "20%s-%s-%s" % (crash_id[-6:-4], crash_id[-4:-2], crash_id[-2:])
    crash = {
        "uuid": crash_id,
        "addons_checked": True,
        "address": "0x7ffd0b32",
        "app_notes": "AdapterVendorID: 0x8086",
        "build": "20120322151325",
        "client_crash_date": date + " 10:52:01.000000",
        "completeddatetime": date + " 10:56:50.902884",
        "cpu_info": "GenuineIntel family 6 model 42 stepping 7",
        "cpu_name": "x86",
        "date_processed": date + " 10:56:41.558922",
        "distributor": None,
        "distributor_version": None,
        "email": None,
        "exploitability": "none",
        "flash_version": "11.2.202.228",
        "hangid": None,
        "install_age": 1079662,
        "last_crash": 86400,
        "os_name": "Windows NT",
        "os_version": "6.1.7601 Service Pack 1",
        "processor_notes": "sparse",
        "process_type": None,
        "product": "Firefox",
        "productid": "{ec8030f7-c20a-464f-9b0e-13a3a9e97384}",
        "reason": "EXCEPTION_ACCESS_VIOLATION_READ",
        "release_channel": "release",
        "signature": "js::GC::Sweep",
        "startedDateTime": date + " 10:56:50.440752",
        "success": True,
        "topmost_filenames": "jsgc.cpp|jsgcinlines.h",
        "truncated": False,
        "uptime": 120,
        "user_comments": "it crashed",
        "user_id": "",
        "url": "http://example.com/",
        "version": "12.0",
        "addons": [["{972ce4c6-7e08-4474-a285-3208198ce6fd}", "12.0"],
                   ["testpilot@labs.mozilla.com", "1.2.1"]],
        "json_dump": {"threads": [[{"frame": 0, "module": "xul.dll"}]]},
    }
    crash.update(fields)
    return crash


def jsonz(document, mtime=1333882362):
    return helpers.make_jsonz(document, mtime=mtime)


def raw_crash(crash_id, **fields):
    return helpers.make_raw_crash_json(crash_id, **fields)


def column_values(database, crash_id, columns):
    week = week_of(crash_id)
    rows = query(database, "SELECT %s FROM reports_%s WHERE uuid = %%s" % (
        ", ".join(columns), week), (crash_id,))
    assert len(rows) == 1, rows
    return dict(zip(columns, rows[0]))


def rows_of_crash(database, crash_id):
    """{table: rows of the crash} over every crash table of its week."""
    week = week_of(crash_id)
    counts = {}
    for table, condition in [
            ("reports", "uuid = %s"),
            ("plugins_reports", "report_id IN (SELECT id FROM reports_%s "
             "WHERE uuid = %%s)" % week),
            ("extensions", "report_id IN (SELECT id FROM reports_%s "
             "WHERE uuid = %%s)" % week),
            ("raw_crashes", "uuid = %s::uuid"),
            ("processed_crashes", "uuid = %s::uuid"),
            ("crashfs_parts", "crash_id = %s::uuid")]:
        counts[table] = query(database, "SELECT count(*) FROM %s_%s WHERE %s"
                              % (table, week, condition), (crash_id,))[0][0]
    return counts


def gunzip(data):
    return gzip.decompress(data)
