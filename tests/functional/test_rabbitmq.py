"""Crashes written through a mount reach a real RabbitMQ broker, checked
with pika (an independent client): exactly once each, on the right
queue, persistent, by Socorro's filter; a broker restarted or killed in
the middle of a stream of writes loses no crash whose close() returned 0;
with the broker down, a fallback's filesystem store takes the crashes and
queues them in its date branch.

Each drill acts on the session's broker (servers.py); the rabbitmq_queues
fixture starts it again if a test left it down.
"""

import errno
import json
import os
import random
import shlex
import subprocess
import threading
from pathlib import Path

import pytest

import crashfs_helpers as helpers
import rabbitmq_helpers as rmq


def poly_config(workdir, rabbitmq, root):
    store = {"type": "poly",
             "stores": [rmq.fs_node(root), rabbitmq]}
    return rmq.write_config(workdir / "stores.json", store)


# -- what reaches the broker --------------------------------------------------

def test_poly_mount_queues_each_crash_once_on_its_queue(
        rabbitmq_server, rabbitmq_queues, mount, workdir):
    q = rabbitmq_queues
    root = workdir / "store"
    node = rmq.rabbitmq_node(rabbitmq_server, q)
    m = mount(poly_config(workdir, node, root))
    crashes = [rmq.make_crash(seed) for seed in range(20)]
    for crash in crashes:
        rmq.write_crash(m, crash)
    # rsync of a crash directory into its radix path queues it too.
    extra = rmq.make_crash(100)
    source = workdir / "rsync-source"
    for relative, data in helpers.expected_files([extra], "radix").items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_bytes(data)
    helpers.run(["rsync", "-r", str(source) + "/", str(m.path) + "/"])
    crashes.append(extra)

    messages = rabbitmq_server.get_all(q.normal)
    assert rmq.bodies(messages) == [c.crash_id for c in crashes]
    for message in messages:
        assert message.delivery_mode == 2
        assert message.properties.content_type is None
        assert message.properties.headers is None
    assert rabbitmq_server.get_all(q.priority) == []
    assert rabbitmq_server.get_all(q.reprocessing) == []

    # The fs member keeps every part; the mount reads them from it.
    expected = helpers.expected_files(crashes, "radix")
    files = helpers.tree_files(root)
    assert {p: files.get(p) for p in expected} == expected
    crash = crashes[3]
    path = m.path / helpers.view_parent(crash.crash_id, "radix") / \
        (crash.crash_id + ".json")
    assert helpers.read_file(path) == crash.raw

    stats = rmq.node_stats(m, "store.stores[1]")
    assert stats["published"] == len(crashes)
    assert stats["unconfirmed_publishes"] == 0
    assert stats["state"] == "ok"
    assert "password" not in stats


def test_routing_key_and_socorro_filter(rabbitmq_server, rabbitmq_queues,
                                        mount, workdir):
    """Two queue stores in one poly: the first filters (Socorro's
    default) and publishes to the priority queue, the second does not
    filter and publishes to a queue of its own."""
    q = rabbitmq_queues
    unfiltered = q.new("unfiltered")
    root = workdir / "store"
    store = {"type": "poly", "stores": [
        rmq.fs_node(root),
        rmq.rabbitmq_node(rabbitmq_server, q, routing_key=q.priority),
        rmq.rabbitmq_node(
            rabbitmq_server, q, routing_key=unfiltered,
            filter_on_legacy_processing=False,
            queues={"normal": unfiltered, "priority": q.new("p2"),
                    "reprocessing": q.new("r2")})]}
    m = mount(rmq.write_config(workdir / "stores.json", store))
    accepted = rmq.make_crash(1, legacy_processing=0)
    deferred = rmq.make_crash(2, legacy_processing=1)
    missing = rmq.make_crash(3, legacy_processing=None)
    as_text = rmq.make_crash(4, legacy_processing="0")
    crashes = [accepted, deferred, missing, as_text]
    for crash in crashes:
        rmq.write_crash(m, crash)

    assert rmq.bodies(rabbitmq_server.get_all(q.priority)) == \
        [accepted.crash_id]
    assert rabbitmq_server.get_all(q.normal) == []
    assert rmq.bodies(rabbitmq_server.get_all(unfiltered)) == \
        [c.crash_id for c in crashes]
    assert rmq.node_stats(m, "store.stores[1]")["filtered"] == 3
    expected = helpers.expected_files(crashes, "radix")
    files = helpers.tree_files(root)
    assert {p: files.get(p) for p in expected} == expected


def test_a_queue_alone_serves_no_file(rabbitmq_server, rabbitmq_queues,
                                      mount, workdir):
    """The store keeps no crash data and answers no lookup (ENOTSUP):
    alone in a mount, every part is refused, a raw crash too (the kernel
    looks a name up before it creates it), and nothing is queued."""
    q = rabbitmq_queues
    node = rmq.rabbitmq_node(rabbitmq_server, q)
    m = mount(rmq.write_config(workdir / "stores.json", node))
    crash = rmq.make_crash(7)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    # (A store that answers no lookup has every crash directory, as far
    # as the daemon can tell.)
    os.makedirs(directory, exist_ok=True)
    for name, data in crash.files().items():
        assert helpers.errno_of(helpers.write_file, directory / name,
                                data) == errno.ENOTSUP, name
    assert helpers.errno_of(
        helpers.write_file, directory / (crash.crash_id + ".jsonz"),
        helpers.make_jsonz({})) == errno.ENOTSUP
    assert helpers.errno_of(
        helpers.read_file, directory / (crash.crash_id + ".json")) == \
        errno.ENOTSUP
    q.declare()
    assert rabbitmq_server.message_count(q.normal) == 0


# -- the password ---------------------------------------------------------------

def test_password_file_readable_by_others_is_refused(
        rabbitmq_server, rabbitmq_queues, mount, workdir):
    password_file = workdir / "rabbitmq.password"
    password_file.write_text(rabbitmq_server.password + "\n")
    password_file.chmod(0o644)
    node = rmq.rabbitmq_node(rabbitmq_server, rabbitmq_queues,
                             password_file=str(password_file))
    del node["password"]
    config = poly_config(workdir, node, workdir / "store")
    failed = mount(config, expect_failure=True)
    assert failed.returncode != 0
    log = failed.stderr_text()
    assert str(password_file) in log
    assert "group or world access" in log

    password_file.chmod(0o600)
    m = mount(config)
    crash = rmq.make_crash(1)
    rmq.write_crash(m, crash)
    assert rmq.bodies(rabbitmq_server.get_all(rabbitmq_queues.normal)) == \
        [crash.crash_id]
    assert rmq.node_stats(m, "store.stores[1]")["password_file"] == \
        str(password_file)


def test_the_password_is_never_logged_or_shown(
        rabbitmq_server, rabbitmq_queues, mount, workdir):
    secret = "n0t-the-passw0rd-%d" % os.getpid()
    password_file = workdir / "rabbitmq.password"
    password_file.write_text(secret + "\n")
    password_file.chmod(0o600)
    node = rmq.rabbitmq_node(rabbitmq_server, rabbitmq_queues,
                             password_file=str(password_file),
                             retry=rmq.short_retry())
    del node["password"]
    m = mount(poly_config(workdir, node, workdir / "store"),
              "log_level=debug")
    crash = rmq.make_crash(1)
    # The fs member took it; the queue refused the credentials: close()
    # reports the failure (EIO, the poly's aggregate).
    assert helpers.errno_of(rmq.write_crash, m, crash) == errno.EIO
    stats_text = (m.path / ".crashfs" / "stats").read_text()
    assert secret not in stats_text
    assert json.loads(stats_text)["stores"]["store.stores[1]"][
        "errors"] >= 1
    assert m.unmount() == 0
    log = m.stderr_text()
    assert "ACCESS_REFUSED" in log
    assert secret not in log


# -- outages --------------------------------------------------------------------

class Writer(threading.Thread):
    """Writes crashes through a mount one after the other until told to
    stop, recording each crash's outcome (0 or the errno of the failing
    write or close)."""

    def __init__(self, m, seed):
        super().__init__(daemon=True)
        self.m = m
        self.rng = random.Random(seed)
        self.outcomes = {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            crash = rmq.make_crash(self.rng.random())
            try:
                rmq.write_crash(self.m, crash)
                self.outcomes[crash.crash_id] = 0
            except OSError as error:
                self.outcomes[crash.crash_id] = error.errno

    def written(self):
        return len(self.outcomes)


@pytest.mark.time_limit(300)
@pytest.mark.parametrize("outage", ["restart", "kill"])
def test_a_broker_outage_during_a_stream_of_writes_loses_nothing(
        rabbitmq_server, rabbitmq_queues, mount, workdir, outage):
    """Two writers stream crashes through poly(fs, rabbitmq) while the
    broker restarts (graceful) or is killed with kill -9 and started
    again.  The retry policy covers the outage, so every close() returns
    0, and every crash is on the broker: once, or twice for at most as
    many crashes as the store counted unconfirmed publishes (sent, then
    the connection dropped before the broker's confirm)."""
    q = rabbitmq_queues
    q.declare()
    node = rmq.rabbitmq_node(
        rabbitmq_server, q,
        retry={"policy": "infinite", "backoff_delays": [0.2],
               "wait_log_interval": 0})
    m = mount(poly_config(workdir, node, workdir / "store"))
    writers = [Writer(m, seed) for seed in (1, 2)]
    for writer in writers:
        writer.start()
    assert rmq.wait_for(lambda: all(w.written() >= 20 for w in writers), 60)

    if outage == "restart":
        rabbitmq_server.restart()
    else:
        rabbitmq_server.kill()
        rabbitmq_server.start()
    after = sum(w.written() for w in writers)
    assert rmq.wait_for(
        lambda: sum(w.written() for w in writers) >= after + 20, 120)
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        writer.join(120)
        assert not writer.is_alive()

    outcomes = {}
    for writer in writers:
        outcomes.update(writer.outcomes)
    failed = {i: errno.errorcode.get(e, e)
              for i, e in outcomes.items() if e != 0}
    assert failed == {}

    stats = rmq.node_stats(m, "store.stores[1]")
    assert stats["retries"] > 0  # the outage was seen
    counts = {}
    for body in rmq.bodies(rabbitmq_server.get_all(q.normal)):
        counts[body] = counts.get(body, 0) + 1
    assert set(counts) == set(outcomes)
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= stats["unconfirmed_publishes"], (
        "%d duplicates, %d unconfirmed publishes" % (
            duplicates, stats["unconfirmed_publishes"]))
    # Each crash was confirmed once, by the attempt whose close() returned.
    assert stats["published"] == len(outcomes)


@pytest.mark.time_limit(240)
def test_fallback_to_a_dated_fs_store_while_the_broker_is_down(
        rabbitmq_server, rabbitmq_queues, mount, workdir):
    q = rabbitmq_queues
    spool = workdir / "spool-store"
    # probe_interval 0: once the broker is back, the next save finds it.
    store = {"type": "fallback", "probe_interval": 0,
             "primary": rmq.rabbitmq_node(rabbitmq_server, q,
                                          retry=rmq.short_retry()),
             "secondary": rmq.fs_node(spool, "dated")}
    m = mount(rmq.write_config(workdir / "stores.json", store))
    rabbitmq_server.stop()
    try:
        crashes = [rmq.make_crash(seed) for seed in range(10)]
        for crash in crashes:
            rmq.write_crash(m, crash)   # every close() returns 0
        stats = m.stats()["stores"]
        assert stats["store"]["fallbacks"] >= len(crashes)
        assert stats["store.primary"]["state"] == "failing"
    finally:
        rabbitmq_server.start()

    # Nothing lost: the fs store holds every part and queues every crash
    # in its date branch, as Socorro's new_crashes() walk finds it.
    expected = helpers.expected_files(crashes, "dated")
    files = helpers.tree_files(spool)
    assert {p: files.get(p) for p in expected} == expected
    later = datetime_after_the_slots()
    assert sorted(helpers.new_crashes(spool, "dated", now=later)) == \
        sorted(c.crash_id for c in crashes)

    # The broker is back: new crashes are queued there again.
    back = rmq.make_crash(99)
    rmq.write_crash(m, back)
    assert rmq.bodies(rabbitmq_server.get_all(q.normal)) == [back.crash_id]


def datetime_after_the_slots():
    import datetime
    return datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(minutes=1)


# -- the store contract ---------------------------------------------------------

def contract_suite(crashfs_binary):
    """build/fusefs/crashfs -> build/tests/contract/contract_suite"""
    return Path(crashfs_binary).parent.parent / "tests" / "contract" / \
        "contract_suite"


def test_the_store_contract(crashfs_binary, workdir, rabbitmq_server,
                            rabbitmq_queues):
    """tests/contract against the store, profile queue_only (raw crashes
    queued, nothing kept, dumps and processed crashes refused); the error
    cases with the broker stopped, then started again."""
    suite = contract_suite(crashfs_binary)
    assert os.access(suite, os.X_OK), "%s is not built" % suite
    node = rmq.rabbitmq_node(rabbitmq_server, rabbitmq_queues)
    service = rabbitmq_server.service
    exports = "".join("export %s=%s\n" % (name, shlex.quote(str(value)))
                      for name, value in service.environment.items())
    command = "%s {} %s" % (shlex.quote(str(service.script)),
                            shlex.quote(str(service.state_dir)))
    outage = workdir / "outage"
    outage.write_text(
        "#!/bin/sh\n" + exports +
        "case \"$1\" in\n"
        "begin) exec %s ;;\n"
        "end) exec %s ;;\n"
        "esac\nexit 2\n" % (command.format("stop"), command.format("start")))
    outage.chmod(0o755)
    result = subprocess.run(
        [str(suite), "--profile", "queue_only", "--outage", str(outage),
         json.dumps(node)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=900, env=dict(os.environ, CRASHFS_TEST_TMPDIR=str(workdir)))
    assert result.returncode == 0, result.stdout[-8000:]
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")]
    for case in ("save_and_read", "errors_operational", "queue_pass",
                 "queue_saved_again"):
        assert "PASS  " + case in lines, case
