"""The HBase store through a mount, against the HBase Thrift stand-in (or
a real HBase with CRASHFS_TEST_HBASE=host:port): round trips, Socorro's
rows and cells (spec/backends.md A.2-A.8, the worked examples of A.3), a
crash Socorro wrote, listings, rsync both ways with an fs store, outages
(a restart mid-stream, a fallback to fs while the server is down), large
dumps, and the store driven directly (queue, chunks, errors, valgrind).

Each test works on tables of its own (a unique table_prefix), dropped
afterwards; drills take a private stand-in (hbase_standin) with its data
on disk, so that it can be killed and restarted.
"""

import datetime
import errno
import gzip
import json
import os
import secrets
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

import crashfs_helpers as helpers
from crashfs_helpers import run
from hbase_server import HBaseClient

SOURCE_TREE = Path(__file__).resolve().parents[2]
SUPPRESSIONS = SOURCE_TREE / "tests" / "unit" / "hbase" / "valgrind.supp"
MTIME = 1413894762  # 2014-10-21T12:32:42Z

# The worked examples of A.3: (crash id, submitted_timestamp, row key,
# index key).
EXAMPLES = [
    ("0bba929f-8721-460c-dead-a43c20071027",
     "2013-01-09T22:21:18.646733+00:00",
     b"00710270bba929f-8721-460c-dead-a43c20071027",
     b"02013-01-09T22:21:18.6467330bba929f-8721-460c-dead-a43c20071027"),
    ("e8820616-1462-49b6-9784-e99a32120201",
     "2012-02-01T10:52:42+00:00",
     b"e120201e8820616-1462-49b6-9784-e99a32120201",
     b"e2012-02-01T10:52:42e8820616-1462-49b6-9784-e99a32120201"),
    ("936ce666-ff3b-4c7a-9674-367fe2120408",
     "2012-04-08T05:52:42.000001-05:00",
     b"9120408936ce666-ff3b-4c7a-9674-367fe2120408",
     b"92012-04-08T05:52:42.000001936ce666-ff3b-4c7a-9674-367fe2120408"),
]

INDEX_TABLES = ["crash_reports_index_submitted_time",
                "crash_reports_index_unprocessed_flag",
                "crash_reports_index_legacy_unprocessed_flag",
                "crash_reports_index_legacy_submitted_time"]


# -- configuration ------------------------------------------------------------

class Tables:
    """A unique table prefix on a server, and a client to look at it
    (connected when first used)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.prefix = "t%s_" % secrets.token_hex(4)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = HBaseClient(self.host, self.port)
        return self._client

    def name(self, table):
        return (self.prefix + table).encode()

    def node(self, **options):
        node = {"type": "hbase", "host": self.host, "port": self.port,
                "table_prefix": self.prefix, "timeout_ms": 10000}
        node.update(options)
        return node

    def row(self, table, key, columns=()):
        return self.client.row(self.name(table), key, columns)

    def cells(self, table, key, columns=()):
        return self.client.cells(self.name(table), key, columns)

    def keys(self, table):
        scanner = self.client.scannerOpenWithScan(self.name(table),
                                                  self.client.t.TScan(), {})
        return [r.row for r in self.client.drain(scanner)]

    def counter(self, row, column):
        cells = self.row("metrics", row, [column])
        if not cells or column not in cells:
            return 0
        return struct.unpack(">q", cells[column])[0]

    def drop(self):
        for name in self.client.getTableNames():
            if name.startswith(self.prefix.encode()):
                self.client.drop_table(name)
        self.close()

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None


@pytest.fixture
def tables(hbase_server):
    """Tables of this test on the session's server."""
    made = Tables(hbase_server.host, hbase_server.port)
    yield made
    made.drop()


def write_config(workdir, store, name="hbase.json"):
    path = workdir / name
    path.write_text(json.dumps({"store": store}, indent=2))
    return path


def setup_store(crashfs_binary, config):
    result = subprocess.run([str(crashfs_binary), "--setup-store",
                             str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=120)
    assert result.returncode == 0, result.stdout
    return result.stdout


def hbase_mount(mount, crashfs_binary, workdir, store, *options,
                name="hbase.json"):
    config = write_config(workdir, store, name)
    setup_store(crashfs_binary, config)
    return mount(config, *options)


# -- crashes ------------------------------------------------------------------

def crash_for(crash_id, submitted=None, dump_size=4096, processed=True,
              **raw_fields):
    raw = helpers.make_raw_crash(crash_id, **raw_fields)
    if submitted is not None:
        raw["submitted_timestamp"] = submitted
    return helpers.Crash(
        crash_id, helpers.socorro_json(raw),
        {helpers.MAIN_DUMP: helpers.make_dump(dump_size, seed=crash_id),
         helpers.FLASH_DUMP: helpers.make_dump(1500, seed=crash_id + "f")},
        helpers.make_jsonz(dict(helpers.make_processed(crash_id),
                                completeddatetime="2014-10-21 10:53:00"))
        if processed else None)


def by_id(m, crash_id):
    return m.path / ".crashfs" / "by-id" / crash_id


def write_crash(m, crash, mtime=MTIME, order=None):
    """Writes every part through .crashfs/by-id (the raw crash first, as
    rsync does, unless order says otherwise) and sets its mtime."""
    directory = by_id(m, crash.crash_id)
    if helpers.errno_of(os.stat, directory) == errno.ENOENT:
        os.mkdir(directory)
    files = crash.files()
    for name in order or sorted(files, key=lambda n: not n.endswith(".json")):
        helpers.write_file(directory / name, files[name])
        os.utime(directory / name, (mtime, mtime))


def view_files(m, crash):
    parent = m.path / helpers.view_parent(crash.crash_id, "radix")
    return {name: helpers.read_file(parent / name)
            for name in os.listdir(parent)}


def rsync_transfers(source, destination):
    result = run(["rsync", "-ai", str(source) + "/",
                  str(destination) + "/"], timeout=600)
    return [line for line in result.stdout.splitlines()
            if line.startswith(">f")]


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def store_stats(m, node="store"):
    return m.stats()["stores"][node]


# -- setup --------------------------------------------------------------------

def test_setup_store_creates_socorros_tables_once(crashfs_binary, workdir,
                                                  tables):
    config = write_config(workdir, tables.node())
    output = setup_store(crashfs_binary, config)
    assert "12 object(s) created" in output
    names = set(tables.client.getTableNames())
    for table in ["crash_reports", "metrics", "crash_report_signatures"] + \
            INDEX_TABLES + ["crash_reports_index_hang_id",
                            "crash_reports_index_hang_id_submitted_time",
                            "crash_reports_index_signature_ooid",
                            "crash_reports_index_legacy_processed",
                            "crash_reports_index_priority_processed"]:
        assert tables.name(table) in names
    families = tables.client.getColumnDescriptors(
        tables.name("crash_reports"))
    assert sorted(families) == [b"flags:", b"ids:", b"meta_data:",
                                b"processed_data:", b"raw_data:",
                                b"timestamps:"]
    assert families[b"meta_data:"].maxVersions == 3
    assert families[b"flags:"].maxVersions == 1
    assert families[b"raw_data:"].compression == "LZO"
    queue = tables.client.getColumnDescriptors(
        tables.name("crash_reports_index_legacy_unprocessed_flag"))
    assert queue[b"processor_state:"].maxVersions == 5
    assert queue[b"ids:"].compression == "NONE"
    # Idempotent: nothing made, nothing changed.
    assert "0 object(s) created" in setup_store(crashfs_binary, config)


def test_setup_store_with_one_codec(crashfs_binary, workdir, tables):
    config = write_config(workdir, tables.node(compression="snappy"))
    setup_store(crashfs_binary, config)
    families = tables.client.getColumnDescriptors(
        tables.name("crash_reports"))
    assert {f.compression for f in families.values()} == {"SNAPPY"}


def test_configuration_errors_name_the_option(crashfs_binary, workdir, mount,
                                              tables):
    for node, message in [
            (tables.node(port=0), "store.port"),
            (tables.node(compression="brotli"), "store.compression"),
            (tables.node(table_prefix="-x"), "store.table_prefix"),
            (tables.node(max_cell_size=0), "store.max_cell_size"),
            (tables.node(colour="red"), "store.colour")]:
        config = write_config(workdir, node, name="bad.json")
        m = mount(config, expect_failure=True)
        assert m.returncode == 1
        assert message in m.stderr_text()


# -- round trips and Socorro's rows -------------------------------------------

def test_round_trip_byte_for_byte(mount, crashfs_binary, workdir, tables):
    """Raw crash, dumps (a 5 MB one, an empty one, a named one) and the
    processed crash come back as written, with their sizes and mtimes,
    after a remount; a stat fetches no part's bytes."""
    store = tables.node()
    m = hbase_mount(mount, crashfs_binary, workdir, store)
    crash = crash_for(helpers.make_crash_id(depth=2), dump_size=5 << 20)
    crash.dumps["upload_file_minidump_flash2"] = b""
    crash.dumps["upload_file_minidump_browser"] = helpers.make_dump(
        70000, seed=3)
    write_crash(m, crash)
    assert view_files(m, crash) == crash.files()
    assert m.unmount() == 0

    m = mount(write_config(workdir, store))
    parent = m.path / helpers.view_parent(crash.crash_id, "radix")
    assert sorted(os.listdir(parent)) == sorted(crash.files())
    for name, data in crash.files().items():
        st = os.stat(parent / name)
        assert st.st_size == len(data), name
        assert st.st_mtime == MTIME, name
    assert m.stats()["mount"]["read_cache"]["misses"] == 0
    for name, data in crash.files().items():
        assert helpers.read_file(parent / name) == data, name
    assert m.stats()["mount"]["read_cache"]["misses"] == len(crash.files())
    assert store_stats(m)["probes"] == 0
    assert store_stats(m)["errors"] == 0


def test_rows_and_cells_are_socorros(mount, crashfs_binary, workdir, tables):
    """The worked examples of A.3: crash rows, index rows and counters
    exactly where Socorro's HBaseCrashStorage put them (A.5, A.6)."""
    m = hbase_mount(mount, crashfs_binary, workdir, tables.node())
    crashes = [crash_for(crash_id, submitted)
               for crash_id, submitted, _, _ in EXAMPLES]
    hang = crash_for(helpers.EXAMPLE_3, "2014-10-21T10:52:42+00:00",
                     processed=False, HangID="hang-0815",
                     ProcessType="plugin", legacy_processing=1)
    for crash in crashes:
        write_crash(m, crash, order=[
            n for n in crash.files() if not n.endswith(".jsonz")])
    write_crash(m, hang)

    for crash, (crash_id, submitted, row_key, index_key) in zip(crashes,
                                                                EXAMPLES):
        row = tables.row("crash_reports", row_key)
        assert row[b"meta_data:json"] == crash.raw
        assert row[b"raw_data:dump"] == crash.dumps[helpers.MAIN_DUMP]
        assert row[b"raw_data:" + helpers.FLASH_DUMP.encode()] == \
            crash.dumps[helpers.FLASH_DUMP]
        assert row[b"flags:processed"] == b"N"
        assert row[b"flags:legacy_processing"] == b"Y"
        assert row[b"timestamps:submitted"] == submitted.encode()
        assert row[b"ids:ooid"] == crash_id.encode()
        for table in INDEX_TABLES:
            row = tables.row(table, index_key)
            assert row[b"ids:ooid"] == crash_id.encode(), table
            # The queue's entries say which save queued them (crashfs's
            # column; Socorro reads ids:ooid alone).
            if table == "crash_reports_index_legacy_unprocessed_flag":
                assert sorted(row) == [b"ids:crashfs.version", b"ids:ooid"]
            else:
                assert sorted(row) == [b"ids:ooid"], table
    # Counters of A.5 step 6, the submission's minute .. year.
    for prefix in ("2013-01-09T22:21", "2013-01-09T22", "2013-01-09",
                   "2013-01", "2013"):
        assert tables.counter(prefix.encode(),
                              b"counters:submitted_crash_reports") == 1
        assert tables.counter(
            prefix.encode(),
            b"counters:submitted_crash_reports_legacy_throttle_0") == 1
    queue = b"crash_report_queue"
    assert tables.counter(queue, b"counters:current_unprocessed_size") == 4
    assert tables.counter(
        queue, b"counters:current_legacy_unprocessed_size") == 3

    # The hang crash: its pair's rows, its process type's counter, and
    # (legacy_processing 1) no queue entry.
    hang_key = b"02014-10-21T10:52:42" + hang.crash_id.encode()
    assert tables.row("crash_reports_index_hang_id", b"hang-0815") == {
        b"ids:ooid:plugin": hang.crash_id.encode()}
    assert tables.row("crash_reports_index_hang_id_submitted_time",
                      b"h2014-10-21T10:52:42hang-0815") == {
        b"ids:ooid:plugin": hang.crash_id.encode()}
    assert tables.row("crash_reports_index_legacy_unprocessed_flag",
                      hang_key) is None
    assert tables.counter(b"2014-10-21",
                          b"counters:submitted_crash_report_hang_pairs") == 1
    assert tables.counter(
        b"2014-10-21",
        b"counters:submitted_crash_reports_legacy_throttle_1") == 1

    # Saved again (the same submission): nothing counted twice.
    crash = crashes[0]
    write_crash(m, crash, order=[crash.crash_id + ".json"])
    assert tables.counter(b"2013", b"counters:submitted_crash_reports") == 1
    assert tables.counter(queue, b"counters:current_unprocessed_size") == 4

    # Processed (A.6): the JSON inside the .jsonz, the flag, the indexes.
    write_crash(m, crash, order=[crash.crash_id + ".jsonz"])
    _, _, row_key, index_key = EXAMPLES[0]
    row = tables.row("crash_reports", row_key)
    assert row[b"processed_data:json"] == gzip.decompress(crash.processed)
    assert row[b"processed_data:signature"] == b"js::GC::Sweep"
    assert row[b"timestamps:processed"] == b"2014-10-21 10:53:00"
    assert row[b"flags:processed"] == b"Y"
    assert tables.row("crash_reports_index_unprocessed_flag",
                      index_key) is None
    assert tables.row("crash_reports_index_signature_ooid",
                      b"js::GC::Sweep" + crash.crash_id.encode()) == {
        b"ids:ooid": crash.crash_id.encode()}
    assert tables.counter(queue, b"counters:current_unprocessed_size") == 3
    assert view_files(m, crash) == crash.files()

    # rm -r: the crash's row and its index rows go.
    run(["rm", "-r", str(m.path / helpers.view_parent(crash.crash_id,
                                                        "radix"))])
    assert tables.row("crash_reports", row_key) is None
    for table in INDEX_TABLES + ["crash_reports_index_signature_ooid"]:
        assert index_key not in tables.keys(table), table
    assert tables.counter(
        queue, b"counters:current_legacy_unprocessed_size") == 2
    assert helpers.errno_of(os.stat, by_id(m, crash.crash_id)) == \
        errno.ENOENT


def put_socorro_crash(tables, crash_id, raw, dumps, processed_json):
    """A crash as Socorro's save_raw_crash and save_processed leave it:
    no column of crashfs's."""
    row_key = (crash_id[0] + crash_id[-6:] + crash_id).encode()
    columns = {b"flags:processed": b"N", b"meta_data:json": raw,
               b"timestamps:submitted": b"2014-10-21T10:52:42+00:00",
               b"ids:ooid": crash_id.encode()}
    for name, data in dumps.items():
        columns[b"raw_data:" + name.encode()] = data
    tables.client.put(tables.name("crash_reports"), row_key, columns)
    saved = tables.cells("crash_reports", row_key,
                         [b"timestamps:submitted"])
    # The processing comes later: put until its cells are stamped after
    # the raw crash's (the server's clock is in milliseconds).
    while True:
        tables.client.put(tables.name("crash_reports"), row_key, {
            b"timestamps:processed": b"2014-10-21 10:53:00.000000",
            b"processed_data:signature": b"sig",
            b"processed_data:json": processed_json,
            b"flags:processed": b"Y"})
        processed = tables.cells("crash_reports", row_key,
                                 [b"timestamps:processed"])
        if processed[b"timestamps:processed"].timestamp > \
                saved[b"timestamps:submitted"].timestamp:
            return row_key


def test_a_crash_socorro_wrote_is_served(mount, crashfs_binary, workdir,
                                         tables):
    """No crashfs columns: sizes and mtimes from the cells, the .jsonz made
    from processed_data:json (gzip, the same bytes every time), and what
    crashfs writes later keeps Socorro's parts in view."""
    store = tables.node()
    config = write_config(workdir, store)
    setup_store(crashfs_binary, config)
    crash_id = "0bba929f-8721-460c-dead-a43c22141021"
    raw = helpers.make_raw_crash_json(crash_id)
    dumps = {"dump": helpers.make_dump(300000, seed=1),
             "flash1": helpers.make_dump(2000, seed=2)}
    processed = json.dumps({"uuid": crash_id, "signature": "sig"}).encode()
    row_key = put_socorro_crash(tables, crash_id, raw, dumps, processed)
    cells = tables.cells("crash_reports", row_key)

    m = mount(config)
    assert sorted(os.listdir(m.path)) == ["20141021"]
    parent = m.path / helpers.view_parent(crash_id, "radix")
    names = {crash_id + ".json": raw, crash_id + ".dump": dumps["dump"],
             crash_id + ".flash1.dump": dumps["flash1"]}
    assert sorted(os.listdir(parent)) == sorted(
        list(names) + [crash_id + ".jsonz"])
    for name, data in names.items():
        st = os.stat(parent / name)
        assert st.st_size == len(data)
        assert helpers.read_file(parent / name) == data
    assert os.stat(parent / (crash_id + ".json")).st_mtime == \
        cells[b"meta_data:json"].timestamp / 1000
    jsonz = helpers.read_file(parent / (crash_id + ".jsonz"))
    assert gzip.decompress(jsonz) == processed
    assert os.stat(parent / (crash_id + ".jsonz")).st_size == len(jsonz)
    assert os.stat(parent / (crash_id + ".jsonz")).st_mtime == \
        cells[b"processed_data:json"].timestamp / 1000
    assert store_stats(m)["probes"] > 0
    assert m.unmount() == 0

    # The same .jsonz from another mount (nothing cached).
    m = mount(config)
    parent = m.path / helpers.view_parent(crash_id, "radix")
    assert helpers.read_file(parent / (crash_id + ".jsonz")) == jsonz
    # The raw crash written again through the mount: Socorro's dumps
    # stay in view (they are recorded with it).
    helpers.write_file(parent / (crash_id + ".json"), raw)
    os.utime(parent / (crash_id + ".json"), (MTIME, MTIME))
    assert m.unmount() == 0
    m = mount(config)
    parent = m.path / helpers.view_parent(crash_id, "radix")
    assert sorted(os.listdir(parent)) == sorted(
        list(names) + [crash_id + ".jsonz"])
    for name, data in names.items():
        assert helpers.read_file(parent / name) == data
    assert os.stat(parent / (crash_id + ".json")).st_mtime == MTIME
    assert os.stat(parent / (crash_id + ".dump")).st_mtime == \
        cells[b"raw_data:dump"].timestamp / 1000


def test_days_and_radix_directories_list(mount, crashfs_binary, workdir,
                                         tables):
    m = hbase_mount(mount, crashfs_binary, workdir,
                    tables.node(metrics=False))
    days = [datetime.date(2014, 10, 21), datetime.date(2014, 10, 22),
            datetime.date(2012, 4, 8)]
    crashes = [helpers.make_crash(day=day, depth=depth, seed=i,
                                  dump_size=100, flash_size=None,
                                  processed=False)
               for i, (day, depth) in enumerate(
                   (d, depth) for d in days for depth in (1, 2, 4))]
    # More crashes of a day than a page of list_crashes holds.
    crashes += [helpers.make_crash(day=days[0], depth=1, seed=100 + i,
                                   dump_size=10, flash_size=None,
                                   processed=False) for i in range(260)]
    source = workdir / "src"
    helpers.write_socorro_tree(source, "radix", crashes)
    run(["cp", "-r", str(source) + "/.", str(m.path)])
    assert sorted(os.listdir(m.path)) == sorted(
        d.strftime("%Y%m%d") for d in days)
    expected = helpers.expected_files(crashes, "radix")
    found = run(["find", str(m.path), "-type", "f"]).stdout.split()
    assert sorted(os.path.relpath(p, m.path) for p in found) == \
        sorted(expected)
    found = run(["find", str(m.path), "-type", "d"]).stdout.split()
    expected_dirs = {os.path.dirname(p) for p in expected}
    for path in list(expected_dirs):
        while path:
            expected_dirs.add(path)
            path = os.path.dirname(path)
    assert sorted(os.path.relpath(p, m.path) for p in found
                  if p != str(m.path)) == sorted(expected_dirs)
    # A radix directory no crash is under is not there.
    assert helpers.errno_of(os.stat, m.path / "20141021" / "name" /
                            "zz") == errno.ENOENT


def test_days_window(mount, crashfs_binary, workdir, tables):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    recent = [helpers.make_crash(day=today - datetime.timedelta(days=n),
                                 seed=n, processed=False, flash_size=None)
              for n in (0, 1)]
    old = helpers.make_crash(day=today - datetime.timedelta(days=30),
                             seed=9, processed=False, flash_size=None)
    m = hbase_mount(mount, crashfs_binary, workdir, tables.node(days=2))
    for crash in recent + [old]:
        write_crash(m, crash)
    assert sorted(os.listdir(m.path)) == sorted(
        helpers.crash_day(c.crash_id) for c in recent)
    # Out of the window, still there by path.
    assert view_files(m, old) == old.files()


def test_rsync_from_fs_into_hbase_and_back(mount, crashfs_binary, workdir,
                                           tables):
    crashes = [helpers.make_crash(seed=i, depth=1 + i % 3,
                                  dump_size=1000 * (i + 1))
               for i in range(12)]
    crashes.append(helpers.make_crash(seed=99, dump_size=5 << 20))
    native = workdir / "native"
    helpers.write_socorro_tree(native, "radix", crashes, mtime=MTIME)
    from_fs = mount(native)
    into_hbase = hbase_mount(mount, crashfs_binary, workdir, tables.node())
    files = helpers.tree_files(native)
    assert len(rsync_transfers(from_fs.path, into_hbase.path)) == len(files)
    assert rsync_transfers(from_fs.path, into_hbase.path) == []

    back = workdir / "back"
    into_fs = mount(back)
    assert len(rsync_transfers(into_hbase.path, into_fs.path)) == len(files)
    assert rsync_transfers(into_hbase.path, into_fs.path) == []
    assert helpers.tree_files(back) == files
    for path in files:
        assert os.stat(back / path).st_mtime == MTIME, path
    assert store_stats(into_hbase)["errors"] == 0


# -- large dumps --------------------------------------------------------------

def test_a_dump_larger_than_a_cell_is_efbig(mount, crashfs_binary, workdir,
                                            tables):
    m = hbase_mount(mount, crashfs_binary, workdir,
                    tables.node(max_cell_size=1 << 20))
    crash_id = helpers.make_crash_id()
    directory = by_id(m, crash_id)
    os.mkdir(directory)
    error = helpers.errno_of(helpers.write_file, directory /
                             (crash_id + ".dump"), b"x" * (2 << 20))
    assert error == errno.EFBIG
    assert "max_cell_size 1048576" in m.stderr_text()
    # Nothing stored: once the mount has told the kernel to forget the
    # file it staged (that is asynchronous), the name is gone.
    assert wait_for(lambda: helpers.errno_of(
        os.stat, directory / (crash_id + ".dump")) == errno.ENOENT, 30)


def test_chunked_dumps(mount, crashfs_binary, workdir, tables):
    m = hbase_mount(mount, crashfs_binary, workdir,
                    tables.node(max_cell_size=1 << 20, chunked=True))
    crash = crash_for(helpers.make_crash_id(), dump_size=(5 << 20) + 7)
    write_crash(m, crash)
    assert view_files(m, crash) == crash.files()
    row_key = (crash.crash_id[0] + crash.crash_id[-6:] +
               crash.crash_id).encode()
    columns = tables.row("crash_reports", row_key, [b"raw_data"])
    chunks = sorted(c for c in columns if b"@crashfs-" in c)
    assert len(chunks) == 6
    assert b"raw_data:dump" not in columns
    assert b"".join(columns[c] for c in sorted(
        chunks, key=lambda c: int(c.rsplit(b"-", 1)[1]))) == \
        crash.dumps[helpers.MAIN_DUMP]
    # Replaced by a dump that fits: one cell, the chunks gone.
    small = helpers.make_dump(1000, seed=5)
    path = by_id(m, crash.crash_id) / (crash.crash_id + ".dump")
    helpers.write_file(path, small)
    assert helpers.read_file(path) == small
    columns = tables.row("crash_reports", row_key, [b"raw_data"])
    assert not [c for c in columns if b"@crashfs-" in c]
    assert columns[b"raw_data:dump"] == small


# -- outages ------------------------------------------------------------------

def test_server_restarted_mid_stream_loses_nothing(mount, crashfs_binary,
                                                   workdir, hbase_standin):
    """kill -9 of the server while crashes are being copied in, then a
    restart: every copy succeeds (retried) and every crash is whole."""
    tables = Tables(hbase_standin.host, hbase_standin.port)
    store = tables.node(retry={"policy": "infinite",
                               "backoff_delays": [0.1, 0.2, 0.5]})
    m = hbase_mount(mount, crashfs_binary, workdir, store)
    crashes = [helpers.make_crash(seed=i, dump_size=200000)
               for i in range(16)]
    source = workdir / "src"
    done = []
    failures = []

    def copy_all():
        for crash in crashes:
            local = source / crash.crash_id
            local.mkdir(parents=True)
            for name, data in crash.files().items():
                (local / name).write_bytes(data)
            result = subprocess.run(["cp", "-r", str(local),
                                     str(m.path / ".crashfs" / "by-id")],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            if result.returncode != 0:
                failures.append(result.stdout)
            done.append(crash.crash_id)

    writer = threading.Thread(target=copy_all)
    writer.start()
    try:
        assert wait_for(lambda: len(done) >= 4, 120)
        hbase_standin.kill()
        assert wait_for(lambda: store_stats(m)["state"] == "retrying", 60)
        hbase_standin.start()
    finally:
        writer.join(300)
    assert not writer.is_alive()
    assert failures == []
    assert store_stats(m)["retries"] > 0
    assert m.unmount() == 0
    m = mount(write_config(workdir, store))
    for crash in crashes:
        assert view_files(m, crash) == crash.files()


def test_fallback_to_fs_while_hbase_is_down_then_rsync_back(
        mount, crashfs_binary, workdir, hbase_standin):
    tables = Tables(hbase_standin.host, hbase_standin.port)
    hbase = tables.node(retry={"policy": "none"})
    secondary = workdir / "secondary"
    config = write_config(workdir, {
        "type": "fallback", "primary": hbase,
        "secondary": {"type": "fs", "root": str(secondary)}},
        name="fallback.json")
    setup_store(crashfs_binary, config)
    m = mount(config)
    before = helpers.make_crash(seed=1)
    write_crash(m, before)
    assert hbase_standin.stop() == 0

    during = [helpers.make_crash(seed=2 + i) for i in range(3)]
    for crash in during:
        write_crash(m, crash)
        assert view_files(m, crash) == crash.files()
    assert store_stats(m)["state"] == "degraded"
    assert m.unmount() == 0

    hbase_standin.start()
    from_secondary = mount(secondary)
    into_hbase = mount(write_config(workdir, hbase, name="primary.json"))
    files = sum(len(c.files()) for c in during)
    assert len(rsync_transfers(from_secondary.path, into_hbase.path)) == files
    assert rsync_transfers(from_secondary.path, into_hbase.path) == []
    for crash in [before] + during:
        assert view_files(into_hbase, crash) == crash.files()


def test_a_paused_server_times_out(mount, crashfs_binary, workdir,
                                   hbase_standin):
    """A server that stops answering: the request ends at its deadline
    (request_timeout) with an error, the daemon lives on."""
    tables = Tables(hbase_standin.host, hbase_standin.port)
    store = tables.node(retry={"policy": "none"}, timeout_ms=60000)
    config = write_config(workdir, store)
    setup_store(crashfs_binary, config)
    m = mount(config)
    crash = helpers.make_crash(seed=1)
    write_crash(m, crash)
    assert m.unmount() == 0
    m = mount(config, "request_timeout=2")
    hbase_standin.pause()
    try:
        started = time.monotonic()
        error = helpers.errno_of(
            helpers.read_file, by_id(m, crash.crash_id) /
            (crash.crash_id + ".dump"))
        assert error in (errno.ETIMEDOUT, errno.EIO)
        assert time.monotonic() - started < 30
        assert m.is_running()
    finally:
        hbase_standin.resume()


def test_server_gone_is_an_error_not_the_daemons_end(
        mount, crashfs_binary, workdir, hbase_standin):
    tables = Tables(hbase_standin.host, hbase_standin.port)
    store = tables.node(retry={"policy": "none"})
    m = hbase_mount(mount, crashfs_binary, workdir, store)
    crash_id = helpers.make_crash_id()
    directory = by_id(m, crash_id)
    os.mkdir(directory)
    hbase_standin.kill()
    error = helpers.errno_of(helpers.write_file,
                             directory / (crash_id + ".dump"),
                             b"x" * (5 << 20))
    assert error == errno.EIO
    assert m.is_running()
    assert "cannot connect to HBase" in m.stderr_text() or \
        "connection failed" in m.stderr_text()
    hbase_standin.start()
    helpers.write_file(directory / (crash_id + ".dump"), b"y" * 100)
    assert helpers.read_file(directory / (crash_id + ".dump")) == b"y" * 100


# -- the store without a mount ------------------------------------------------

def store_check(crashfs_binary):
    return crashfs_binary.parent.parent / "tests" / "unit" / "hbase" / \
        "hbase_store_check"


@pytest.mark.parametrize("scenario", ["roundtrip", "chunked"])
def test_store_check(crashfs_binary, tables, scenario):
    """The queue (a pass takes nothing, ack takes the entry), chunks,
    set_part_mtime, remove then save at once: hbase_store_check.c."""
    result = subprocess.run(
        [str(store_check(crashfs_binary)), tables.host, str(tables.port),
         tables.prefix, scenario], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=300,
        env=dict(os.environ, G_SLICE="always-malloc"))
    assert result.returncode == 0, result.stdout
    assert "ok " + scenario in result.stdout


def refusing_server():
    """A listener that accepts and closes every connection at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_store_errors_without_a_server(crashfs_binary):
    """No server: operational errors naming it; a server that hangs up on
    a 5 MB request: an error, not SIGPIPE (the check program keeps
    SIGPIPE's default action, which would kill it)."""
    result = subprocess.run([str(store_check(crashfs_binary)), "127.0.0.1",
                             "1", "x_", "down"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=120)
    assert result.returncode == 0, result.stdout
    listener = refusing_server()
    try:
        result = subprocess.run(
            [str(store_check(crashfs_binary)), "127.0.0.1",
             str(listener.getsockname()[1]), "x_", "sigpipe"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=120)
    finally:
        listener.close()
    assert result.returncode == 0, result.stdout
    assert "ok sigpipe" in result.stdout


@pytest.mark.no_daemon
def test_round_trip_under_valgrind(crashfs_binary, sanitized, tables):
    """No leak and no memory error in a round trip (thrift c_glib's own
    leaks are fixed at generation, or suppressed: valgrind.supp).  A
    sanitized build runs it without valgrind: LeakSanitizer checks."""
    command = [str(store_check(crashfs_binary)), tables.host,
               str(tables.port), tables.prefix, "roundtrip"]
    if not sanitized:
        command = ["valgrind", "-q", "--leak-check=full",
                   "--show-leak-kinds=definite,indirect,possible",
                   "--errors-for-leak-kinds=definite,indirect,possible",
                   "--error-exitcode=9",
                   "--suppressions=%s" % SUPPRESSIONS] + command
    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=600,
                            env=dict(os.environ, G_SLICE="always-malloc"))
    assert result.returncode == 0, result.stdout
    assert "ok roundtrip" in result.stdout


# -- the store contract -------------------------------------------------------

def contract_suite(crashfs_binary):
    """build/fusefs/crashfs -> build/tests/contract/contract_suite"""
    return Path(crashfs_binary).parent.parent / "tests" / "contract" / \
        "contract_suite"


def test_the_store_contract(crashfs_binary, workdir, hbase_standin):
    """tests/contract against the store, profile full (every part kept,
    the legacy-unprocessed index as its queue); the error cases by the
    stand-in's failure injection: SIGUSR1 makes every call fail with a
    retriable IOError, SIGUSR2 ends it."""
    suite = contract_suite(crashfs_binary)
    assert os.access(suite, os.X_OK), "%s is not built" % suite
    tables = Tables(hbase_standin.host, hbase_standin.port)
    node = tables.node()
    setup_store(crashfs_binary, write_config(workdir, node))
    outage = workdir / "outage"
    outage.write_text("#!/bin/sh\n"
                      "case \"$1\" in\n"
                      "begin) exec kill -USR1 %d ;;\n"
                      "end) exec kill -USR2 %d ;;\n"
                      "esac\nexit 2\n" % (hbase_standin.pid,
                                          hbase_standin.pid))
    outage.chmod(0o755)
    result = subprocess.run(
        [str(suite), "--profile", "full", "--outage", str(outage),
         json.dumps(node)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=900, env=dict(os.environ, CRASHFS_TEST_TMPDIR=str(workdir)))
    assert result.returncode == 0, result.stdout[-8000:]
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")]
    for case in ("save_and_read", "errors_operational", "queue_pass",
                 "queue_saved_again", "paging", "remove"):
        assert "PASS  " + case in lines, case
