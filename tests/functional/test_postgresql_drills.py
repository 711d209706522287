"""The PostgreSQL store when things go wrong: the server stopped with
pg_ctl -m immediate under a stream of writes, a server that does not
answer, several daemons making the same week at once, bad input (quotes,
backslashes, non-ASCII, \\u0000, wrong types), a data error, an
unreachable server and bad password files at mount time, and passwords
kept out of logs and stats.
"""

import datetime
import errno
import gzip
import json
import os
import socket
import threading
import time

import pytest

import crashfs_helpers as helpers
import pg_helpers as pg

FAST_RETRY = {"policy": "infinite", "backoff_delays": [0.1, 0.25, 0.5]}


def mount_pg(mount, workdir, database, *options, name="postgresql.json",
             expect_failure=False, **node):
    config = pg.write_config(workdir, pg.store_node(database, **node), name)
    return mount(config, *options, expect_failure=expect_failure)


def make_id(day, seed, depth=2):
    import random
    return helpers.make_crash_id(day=day, depth=depth,
                                 rng=random.Random(seed))


def store_stats(m):
    return m.stats()["stores"]


def wait_for(predicate, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def write_errno(path, data):
    return helpers.errno_of(helpers.write_file, path, data)


def crash_parts(crash_id, **processed_fields):
    return {crash_id + ".json": pg.raw_crash(crash_id),
            crash_id + ".jsonz": pg.jsonz(pg.processed_crash(
                crash_id, **processed_fields))}


# -- the outage drill ---------------------------------------------------------

class Writer(threading.Thread):
    """Writes crashes through the mount until told to stop; records what
    each close() returned."""

    def __init__(self, m, day):
        super().__init__(daemon=True)
        self.m = m
        self.day = day
        self.stop = threading.Event()
        self.results = {}  # crash id -> [errno or None per part]
        self.parts = {}
        self.lock = threading.Lock()

    def done(self):
        with self.lock:
            return len(self.results)

    def run(self):
        index = 0
        while not self.stop.is_set():
            crash_id = make_id(self.day, seed="drill-%d" % index)
            index += 1
            parts = crash_parts(crash_id, signature="drill %d" % index)
            outcome = []
            directory = pg.by_id(self.m, crash_id)
            outcome.append(helpers.errno_of(os.mkdir, directory))
            for name, data in parts.items():
                outcome.append(write_errno(directory / name, data))
            with self.lock:
                self.results[crash_id] = outcome
                self.parts[crash_id] = parts


@pytest.mark.time_limit(300)
def test_outage_writes_wait_and_every_closed_crash_is_stored_once(
        mount, workdir, postgresql_database):
    database = postgresql_database
    server = database.server
    m = mount_pg(mount, workdir, database, retry=FAST_RETRY)
    writer = Writer(m, datetime.date.today())
    writer.start()
    try:
        assert wait_for(lambda: writer.done() >= 20, 60)
        server.stop_immediate()
        # The store notices and waits: its retry node says so.
        assert wait_for(lambda: store_stats(m)["store.retry"]["state"] ==
                        "retrying", 60)
        during = writer.done()
        assert wait_for(lambda: store_stats(m)["store.retry"]["retries"] >= 3,
                        60)
        # Nothing completes while the server is down.
        assert writer.done() <= during + 1
        server.start()
        assert wait_for(lambda: writer.done() >= during + 20, 120)
    finally:
        writer.stop.set()
        writer.join(120)
    assert not writer.is_alive()

    failed = {crash_id: outcome for crash_id, outcome in
              writer.results.items() if any(outcome)}
    assert failed == {}, "writes failed instead of waiting: %r" % failed
    stats = store_stats(m)
    assert stats["store.retry"]["retries"] >= 3
    assert stats["store.retry"]["state"] == "ok"

    # Every crash whose close() returned 0 is there exactly once.
    week_rows = {}
    for table in ("raw_crashes", "processed_crashes", "reports"):
        week_rows[table] = dict(pg.query(
            database, "SELECT uuid::text, count(*) FROM %s GROUP BY uuid"
            % table))
    for crash_id in writer.results:
        for table, counts in week_rows.items():
            assert counts.get(crash_id) == 1, (table, crash_id)
    assert len(week_rows["raw_crashes"]) == len(writer.results)
    # And holds what was written.
    for crash_id, parts in writer.parts.items():
        directory = pg.view_dir(m, crash_id)
        for name, data in parts.items():
            assert helpers.read_file(directory / name) == data


def test_a_server_that_stops_answering_times_requests_out(
        mount, workdir, postgresql_database):
    """A lock held elsewhere stands for a stuck server: the request gives
    up at its deadline instead of hanging, and the next one works."""
    database = postgresql_database
    m = mount_pg(mount, workdir, database, "request_timeout=2",
                 retry={"policy": "none"})
    crash_id = make_id(datetime.date(2012, 4, 8), seed=1)
    pg.write_parts(m, crash_id, {crash_id + ".json": pg.raw_crash(crash_id)})
    blocker = database.connect()
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE raw_crashes_20120402 IN ACCESS "
                           "EXCLUSIVE MODE")
        started = time.monotonic()
        code = write_errno(pg.by_id(m, crash_id) / (crash_id + ".json"),
                           pg.raw_crash(crash_id, Version="2.0"))
        waited = time.monotonic() - started
        assert code == errno.ETIMEDOUT
        assert waited < 30
    finally:
        blocker.rollback()
        blocker.close()
    data = pg.raw_crash(crash_id, Version="3.0")
    assert write_errno(pg.by_id(m, crash_id) / (crash_id + ".json"),
                       data) is None
    assert helpers.read_file(pg.view_dir(m, crash_id) /
                             (crash_id + ".json")) == data


# -- concurrency -------------------------------------------------------------

@pytest.mark.time_limit(300)
def test_daemons_and_threads_saving_into_a_new_week_at_once(
        mount, workdir, postgresql_database):
    database = postgresql_database
    mounts = [mount_pg(mount, workdir, database, name="pg%d.json" % i)
              for i in range(2)]
    # A week nobody made: every writer finds it missing at once.
    day = datetime.date(2011, 3, 9)
    crash_ids = [make_id(day, seed="same-%d" % i) for i in range(6)]
    barrier = threading.Barrier(8)
    outcomes = []

    def write_all(m):
        barrier.wait()
        for crash_id in crash_ids:
            directory = pg.by_id(m, crash_id)
            code = helpers.errno_of(os.mkdir, directory)
            outcomes.append(code if code != errno.EEXIST else None)
            for name, data in crash_parts(crash_id).items():
                outcomes.append(write_errno(directory / name, data))

    threads = [threading.Thread(target=write_all, args=(mounts[i % 2],))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert all(code is None for code in outcomes), outcomes
    for crash_id in crash_ids:
        assert pg.rows_of_crash(database, crash_id) == {
            "reports": 1, "plugins_reports": 0, "extensions": 2,
            "raw_crashes": 1, "processed_crashes": 1, "crashfs_parts": 2}
    # Each object was made once, by one of them: 7 master tables, the
    # week's 25 tables, indexes and constraints, 5 partition info rows.
    made = sum(store_stats(m)["store"]["objects_created"] for m in mounts)
    assert made == 7 + 25 + 5
    for m in mounts:
        assert store_stats(m)["store"]["errors"] == 0


# -- bad input -----------------------------------------------------------------

def test_quotes_backslashes_and_non_ascii_round_trip(mount, workdir,
                                                    postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    crash_id = make_id(datetime.date(2012, 4, 8), seed=2)
    tricky = "it's \"quoted\" \\back\\slashed\\ caf\u00e9 \u4e2d\u6587 " \
             "\U0001f600 '; DROP TABLE reports; --"
    raw = json.dumps({"uuid": crash_id, "Comments": tricky,
                      "submitted_timestamp": "2012-04-08T10:00:00Z"},
                     ensure_ascii=False).encode()
    document = pg.processed_crash(crash_id, signature=tricky,
                                  user_comments=tricky, os_name=tricky,
                                  addons=[[tricky, tricky]])
    processed = gzip.compress(json.dumps(document, ensure_ascii=False)
                              .encode(), 9, mtime=0)
    pg.write_parts(m, crash_id, {crash_id + ".json": raw,
                                 crash_id + ".jsonz": processed})
    directory = pg.view_dir(m, crash_id)
    assert helpers.read_file(directory / (crash_id + ".json")) == raw
    assert helpers.read_file(directory / (crash_id + ".jsonz")) == processed
    values = pg.column_values(postgresql_database, crash_id,
                              ["signature", "user_comments", "os_name"])
    assert values == {"signature": tricky, "user_comments": tricky,
                      "os_name": tricky}
    assert pg.query(postgresql_database, "SELECT extension_id, "
                    "extension_version FROM extensions") == [(tricky,
                                                              tricky)]
    assert pg.query(postgresql_database,
                    "SELECT count(*) FROM reports") == [(1,)]


def test_nul_escapes_are_refused_by_the_mount_and_kept_from_sql(
        mount, workdir, postgresql_database):
    """\\u0000: the mount's JSON check refuses it in what is written (for
    every store: nothing is stored); a row Socorro wrote holding it in
    its json column (PostgreSQL's json keeps the escape as text) reads
    back byte for byte."""
    # absent_ttl 0: the rows inserted below show at once.
    m = mount_pg(mount, workdir, postgresql_database, absent_ttl=0)
    crash_id = make_id(datetime.date(2012, 4, 8), seed=3)
    other = make_id(datetime.date(2012, 4, 8), seed=33)
    pg.write_parts(m, other, {other + ".json": pg.raw_crash(other)})
    os.mkdir(pg.by_id(m, crash_id))
    raw = b'{"uuid": "%s", "Comments": "a\\u0000b"}' % crash_id.encode()
    assert write_errno(pg.by_id(m, crash_id) / (crash_id + ".json"),
                       raw) == errno.EINVAL
    processed = gzip.compress(b'{"uuid": "x", "signature": "a\\u0000b"}')
    assert write_errno(pg.by_id(m, crash_id) / (crash_id + ".jsonz"),
                       processed) == errno.EINVAL
    assert pg.rows_of_crash(postgresql_database, crash_id) == dict.fromkeys(
        ["reports", "plugins_reports", "extensions", "raw_crashes",
         "processed_crashes", "crashfs_parts"], 0)

    pg.execute(postgresql_database,
               "INSERT INTO raw_crashes_20120402 (uuid, raw_crash) "
               "VALUES (%s, %s)", (crash_id, raw.decode()))
    pg.execute(postgresql_database,
               "INSERT INTO processed_crashes_20120402 (uuid, "
               "processed_crash) VALUES (%s, %s)",
               (crash_id, gzip.decompress(processed).decode()))
    directory = pg.view_dir(m, crash_id)
    assert helpers.read_file(directory / (crash_id + ".json")) == raw
    assert gzip.decompress(helpers.read_file(
        directory / (crash_id + ".jsonz"))) == gzip.decompress(processed)


def test_wrong_types_for_mapped_columns_are_left_null(mount, workdir,
                                                      postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    crash_id = make_id(datetime.date(2012, 4, 8), seed=4)
    document = pg.processed_crash(
        crash_id, uptime="abc", success="maybe", install_age=1e12,
        date_processed="yesterday", client_crash_date=12345,
        address={"not": "text"}, truncated=[True], addons="not a list",
        last_crash="42")
    data = pg.jsonz(document)
    pg.write_parts(m, crash_id, {crash_id + ".jsonz": data})
    assert helpers.read_file(pg.view_dir(m, crash_id) /
                             (crash_id + ".jsonz")) == data
    values = pg.column_values(postgresql_database, crash_id, [
        "uptime", "success", "install_age", "date_processed",
        "client_crash_date", "address", "truncated", "last_crash",
        "signature"])
    assert values == {"uptime": None, "success": None, "install_age": None,
                      "date_processed": None, "client_crash_date": None,
                      "address": '{"not":"text"}', "truncated": None,
                      "last_crash": 42, "signature": "js::GC::Sweep"}
    assert pg.query(postgresql_database,
                    "SELECT count(*) FROM extensions") == [(0,)]
    log = m.stderr_text()
    warning = [line for line in log.splitlines()
               if crash_id in line and "left out of Socorro's columns" in line]
    assert len(warning) == 1, log
    for key in ("uptime", "success", "install_age", "date_processed",
                "client_crash_date", "truncated", "addons"):
        assert key in warning[0]


def test_a_data_error_fails_the_write_once_without_retries(
        mount, workdir, postgresql_database):
    database = postgresql_database
    m = mount_pg(mount, workdir, database, "log_level=info",
                 retry=FAST_RETRY)
    crash_id = make_id(datetime.date(2012, 4, 8), seed=5)
    pg.write_parts(m, crash_id, {crash_id + ".json": pg.raw_crash(crash_id)})
    # Someone narrowed a column: Socorro's processed crash no longer fits.
    pg.execute(database, "ALTER TABLE reports ALTER COLUMN signature TYPE "
               "character varying(5)")
    data = pg.jsonz(pg.processed_crash(crash_id, signature="too long"))
    assert write_errno(pg.by_id(m, crash_id) / (crash_id + ".jsonz"),
                       data) == errno.EINVAL
    # One transaction: nothing of the processed crash is stored.
    counts = pg.rows_of_crash(database, crash_id)
    assert counts["reports"] == 0 and counts["processed_crashes"] == 0
    assert counts["raw_crashes"] == 1
    stats = store_stats(m)
    assert stats["store.retry"]["retries"] == 0
    lines = [line for line in m.stderr_text().splitlines()
             if crash_id in line and "too long" in line]
    assert len(lines) == 1, m.stderr_text()
    assert "value too long for type character varying(5)" in lines[0]
    assert "22001" in lines[0]


def test_dumps_are_refused_by_a_postgresql_only_mount(mount, workdir,
                                                      postgresql_database):
    m = mount_pg(mount, workdir, postgresql_database)
    crash_id = make_id(datetime.date(2012, 4, 8), seed=6)
    os.mkdir(pg.by_id(m, crash_id))
    directory = pg.by_id(m, crash_id)
    # The store has no place for dumps (as Socorro's had none): the mount
    # refuses them when they are created, before any byte is written.
    assert helpers.errno_of(os.open, directory / (crash_id + ".dump"),
                            os.O_WRONLY | os.O_CREAT, 0o644) == errno.ENOTSUP
    assert helpers.errno_of(
        os.open, directory / (crash_id + ".upload_file_minidump_flash1.dump"),
        os.O_WRONLY | os.O_CREAT, 0o644) == errno.ENOTSUP
    assert "the store keeps no dumps (Operation not supported)" in \
        m.stderr_text()
    pg.write_parts(m, crash_id, {crash_id + ".json": pg.raw_crash(crash_id)})
    assert os.listdir(pg.view_dir(m, crash_id)) == [crash_id + ".json"]


# -- at mount time -------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_stops_the_mount(mount, workdir,
                                               postgresql_database):
    server = postgresql_database.server
    port = free_port()
    node = {"type": "postgresql",
            "dsn": "host=127.0.0.1 port=%d user=%s dbname=x password=%s"
            % (port, server.user, server.password)}
    config = pg.write_config(workdir, node)
    m = mount(config, expect_failure=True)
    assert m.returncode == 1
    text = m.stderr_text()
    assert "store: cannot use the server: PostgreSQL host=127.0.0.1 " \
        "port=%d" % port in text
    assert server.password not in text
    # connect_at_open false: the mount comes up, and requests fail (no
    # retry here) until the server is there.
    node.update(connect_at_open=False, retry={"policy": "none"})
    config = pg.write_config(workdir, node, "lazy.json")
    m = mount(config)
    crash_id = make_id(datetime.date(2012, 4, 8), seed=7)
    assert helpers.errno_of(os.stat, pg.by_id(m, crash_id)) == errno.EIO
    assert server.password not in m.stderr_text()


def test_a_wrong_password_or_an_open_password_file_stops_the_mount(
        mount, workdir, postgresql_database):
    server = postgresql_database.server
    exposed = workdir / "pgpass"
    exposed.write_text("*:*:*:%s:%s\n" % (server.user, server.password))
    exposed.chmod(0o640)
    m = mount_pg(mount, workdir, postgresql_database, expect_failure=True,
                 password_file=str(exposed))
    assert m.returncode == 1
    text = m.stderr_text()
    assert "store.password_file: %s" % exposed in text
    assert "chmod 600" in text
    assert server.password not in text

    wrong = workdir / "wrong"
    wrong.write_text("*:*:*:%s:not-the-password\n" % server.user)
    wrong.chmod(0o600)
    m = mount_pg(mount, workdir, postgresql_database, expect_failure=True,
                 password_file=str(wrong), name="wrong.json")
    assert m.returncode == 1
    assert "password authentication failed" in m.stderr_text()
    assert "not-the-password" not in m.stderr_text()


def test_libpq_environment_variables_and_pgpass_work(mount, workdir,
                                                     postgresql_database):
    server = postgresql_database.server
    home = workdir / "home"
    home.mkdir()
    pgpass = home / ".pgpass"
    pgpass.write_text("*:*:*:%s:%s\n" % (server.user, server.password))
    pgpass.chmod(0o600)
    config = pg.write_config(workdir, {"type": "postgresql"}, "env.json")
    m = mount(config, env={"HOME": str(home), "PGHOST": server.host,
                           "PGPORT": str(server.port),
                           "PGUSER": server.user,
                           "PGDATABASE": postgresql_database.name})
    crash_id = make_id(datetime.date(2012, 4, 8), seed=8)
    pg.write_parts(m, crash_id, {crash_id + ".json": pg.raw_crash(crash_id)})
    assert pg.query(postgresql_database, "SELECT count(*) FROM "
                    "raw_crashes") == [(1,)]
    assert store_stats(m)["store"]["server"] == \
        "host=%s port=%d dbname=%s user=%s" % (
            server.host, server.port, postgresql_database.name, server.user)


def test_a_password_in_the_dsn_is_never_logged_or_shown(
        mount, workdir, postgresql_database):
    database = postgresql_database
    server = database.server
    node = {"type": "postgresql",
            "dsn": "host=%s port=%d user=%s dbname=%s password=%s" % (
                server.host, server.port, server.user, database.name,
                server.password),
            "retry": {"policy": "none"}}
    config = pg.write_config(workdir, node)
    m = mount(config, "log_level=debug")
    crash_id = make_id(datetime.date(2012, 4, 8), seed=9)
    pg.write_parts(m, crash_id, crash_parts(crash_id, signature="ab"))
    pg.execute(database, "ALTER TABLE reports ALTER COLUMN signature TYPE "
               "character varying(3)")
    assert write_errno(pg.by_id(m, crash_id) / (crash_id + ".jsonz"),
                       pg.jsonz(pg.processed_crash(crash_id))) == \
        errno.EINVAL
    stats = json.dumps(m.stats())
    assert server.password not in stats
    assert "host=%s port=%d dbname=%s user=%s" % (
        server.host, server.port, database.name, server.user) in stats
    assert m.unmount() == 0
    assert server.password not in m.stderr_text()
