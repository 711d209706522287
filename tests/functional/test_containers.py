"""Containers and retries mounted with the real daemon: poly, fallback,
primary_deferred(_processed) over fs stores and faulty wrappers, nesting,
the retry policy (counts, backoff timing, interruption) as .crashfs/stats
shows it, and container configuration errors at startup.

A "server" is taken down by touching a faulty store's trigger file and
brought back by removing it.
"""

import errno
import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest

import crashfs_helpers as helpers
from crashfs_helpers import run

SOURCE_MTIME = 1234567890
SAVES = ["save_raw_crash", "save_dump", "save_processed"]


# -- configuration ------------------------------------------------------------

def fs(root):
    return {"type": "fs", "root": str(root), "layout": "radix"}


def faulty(store, trigger, operations=SAVES, error="EIO",
           operational=True, retry=None):
    """store, failing the operations while the trigger file exists.  Its
    failures are not retried unless retry says how (the mount's default
    policy would wait 10 s and more before each retry)."""
    return {"type": "faulty", "store": store,
            "retry": retry or {"policy": "none"},
            "faults": [{"operations": operations, "errno": error,
                        "operational": operational,
                        "mode": "while_file_exists",
                        "trigger_file": str(trigger)}]}


def write_config(workdir, store, stores=None, name="stores.json"):
    document = {"store": store}
    if stores is not None:
        document["stores"] = stores
    path = workdir / name
    path.write_text(json.dumps(document, indent=2))
    return path


# -- crashes ------------------------------------------------------------------

def crash_with(crash_id, processed=False, **raw_fields):
    """A crash with a main and a flash dump whose raw crash has
    raw_fields."""
    return helpers.Crash(
        crash_id,
        helpers.make_raw_crash_json(crash_id, **raw_fields),
        {helpers.MAIN_DUMP: helpers.make_dump(4096, seed=crash_id),
         helpers.FLASH_DUMP: helpers.make_dump(1500, seed=crash_id + "f")},
        helpers.make_jsonz(helpers.make_processed(crash_id))
        if processed else None)


def local_crash_dir(base, crash):
    directory = base / crash.crash_id
    directory.mkdir(parents=True)
    for name, data in crash.files().items():
        (directory / name).write_bytes(data)
        os.utime(directory / name, (SOURCE_MTIME, SOURCE_MTIME))
    return directory


def by_id(m, crash_id):
    return m.path / ".crashfs" / "by-id" / crash_id


def write_crash(m, crash):
    """Writes each part with open/write/close; returns {file name: errno
    of the close, or None}."""
    directory = by_id(m, crash.crash_id)
    if helpers.errno_of(os.stat, directory) == errno.ENOENT:
        os.mkdir(directory)
    return {name: helpers.errno_of(helpers.write_file, directory / name,
                                   data)
            for name, data in crash.files().items()}


def store_files(root, crash):
    """{file name: bytes} of the crash in an fs store (radix layout),
    without the hidden temporary files of writes in progress (the daemon
    may be committing a released file again in the background)."""
    parent = root / helpers.crash_parent(crash.crash_id, "radix")
    if not parent.is_dir():
        return {}
    return {name: (parent / name).read_bytes()
            for name in os.listdir(parent) if not name.startswith(".")}


def view_files(m, crash):
    parent = m.path / helpers.view_parent(crash.crash_id, "radix")
    return {name: helpers.read_file(parent / name)
            for name in os.listdir(parent)}


def rsync_transfers(source, destination):
    result = run(["rsync", "-ai", str(source) + "/",
                  str(destination) + "/"], timeout=300)
    return [line for line in result.stdout.splitlines()
            if line.startswith(">f")]


def store_stats(m):
    return m.stats()["stores"]


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# -- poly ---------------------------------------------------------------------

def test_poly_with_one_member_down_stores_in_the_others(mount, workdir):
    down = workdir / "b.down"
    roots = [workdir / "a", workdir / "b", workdir / "c"]
    config = write_config(workdir, {"type": "poly", "stores": [
        fs(roots[0]), faulty(fs(roots[1]), down), fs(roots[2])]})
    m = mount(config)

    healthy = crash_with(helpers.EXAMPLE_1)
    assert write_crash(m, healthy) == dict.fromkeys(healthy.files())
    for root in roots:
        assert store_files(root, healthy) == healthy.files()

    down.touch()
    crash = crash_with(helpers.EXAMPLE_2, processed=True)
    # Every close reports the member's failure ...
    assert write_crash(m, crash) == dict.fromkeys(crash.files(), errno.EIO)
    # ... and the other members have the crash all the same.
    assert store_files(roots[0], crash) == crash.files()
    assert store_files(roots[2], crash) == crash.files()
    assert store_files(roots[1], crash) == {}
    # Reads come from the first member.
    assert view_files(m, crash) == crash.files()

    stats = store_stats(m)
    failing = stats["store.stores[1]"]
    assert failing["type"] == "faulty"
    assert failing["errors"] >= 3
    assert failing["injected"] == failing["errors"]
    assert stats["store.stores[0]"]["errors"] == 0
    assert stats["store.stores[2]"]["errors"] == 0
    assert stats["store"]["errors"] >= 3
    log = m.stderr_text()
    assert "store.stores[1]: injected fault: save_raw_crash " + \
        crash.crash_id in log
    # One line per failed request, naming the failing member.
    assert len([line for line in log.splitlines()
                if crash.crash_id + ".json:" in line
                and " error: " in line]) == 1

    # The member is back: the next crash reaches all three.
    down.unlink()
    later = crash_with(helpers.EXAMPLE_3)
    assert write_crash(m, later) == dict.fromkeys(later.files())
    for root in roots:
        assert store_files(root, later) == later.files()


# -- fallback -----------------------------------------------------------------

def test_fallback_primary_down_then_rsync_restores_it(mount, workdir):
    """The crashmover case: crashes saved in the secondary while the
    primary was down go back with rsync between two mounts once it is up;
    rm -r through the fallback then removes them from both stores."""
    primary, secondary = workdir / "primary", workdir / "secondary"
    down = workdir / "primary.down"
    config = write_config(workdir, {
        "type": "fallback", "primary": faulty(fs(primary), down),
        "secondary": fs(secondary)})
    m = mount(config)
    down.touch()
    crash = crash_with(helpers.EXAMPLE_1, processed=True)
    source = local_crash_dir(workdir / "src", crash)
    run(["cp", "-r", str(source), str(m.path / ".crashfs" / "by-id")])

    assert store_files(secondary, crash) == crash.files()
    assert helpers.tree_files(primary) == {}
    assert view_files(m, crash) == crash.files()
    stats = store_stats(m)
    assert stats["store"]["fallbacks"] == len(crash.files())
    assert stats["store"]["errors"] == 0
    # The first save found the primary down; the others did not ask it.
    assert stats["store.primary"]["errors"] == 1
    assert stats["store"]["breaker"]["saves"]["skipped"] == \
        len(crash.files()) - 1
    assert stats["store"]["state"] == "degraded"
    assert "primary failed; saves go to store.secondary without asking " \
        "store.primary.retry" in m.stderr_text()
    assert m.unmount() == 0

    # The primary is back: copy the secondary into it, mount to mount.
    down.unlink()
    from_secondary = mount(secondary)
    into_primary = mount(primary)
    assert len(rsync_transfers(from_secondary.path, into_primary.path)) == \
        len(crash.files())
    assert store_files(primary, crash) == crash.files()
    assert rsync_transfers(from_secondary.path, into_primary.path) == []
    assert from_secondary.unmount() == 0
    assert into_primary.unmount() == 0

    # Now in both stores.  Socorro's fallback removed from the primary
    # only, so the crash stayed visible; crashfs removes it from both.
    m = mount(config)
    directory = m.path / helpers.view_parent(crash.crash_id, "radix")
    run(["rm", "-r", str(directory)])
    assert helpers.errno_of(os.stat, directory) == errno.ENOENT
    assert helpers.errno_of(os.stat, by_id(m, crash.crash_id)) == \
        errno.ENOENT
    assert store_files(primary, crash) == {}
    assert store_files(secondary, crash) == {}


def test_fallback_both_down_fails_naming_both(mount, workdir):
    down = workdir / "down"
    config = write_config(workdir, {
        "type": "fallback",
        "primary": faulty(fs(workdir / "p"), down),
        "secondary": faulty(fs(workdir / "s"), down, error="ENOSPC",
                            operational=False)})
    m = mount(config)
    down.touch()
    crash = crash_with(helpers.EXAMPLE_2)
    assert write_crash(m, crash) == dict.fromkeys(crash.files(), errno.EIO)
    log = m.stderr_text()
    assert "store.primary: injected fault" in log
    assert "store.secondary: injected fault" in log
    assert helpers.tree_files(workdir / "p") == {}
    assert helpers.tree_files(workdir / "s") == {}


# -- primary / deferred ---------------------------------------------------------

def test_deferred_routing_by_legacy_processing(mount, workdir):
    primary, deferred = workdir / "primary", workdir / "deferred"
    config = write_config(workdir, {"type": "primary_deferred",
                                    "primary": fs(primary),
                                    "deferred": fs(deferred)})
    m = mount(config)
    throttled = crash_with(helpers.EXAMPLE_1, legacy_processing=1)
    accepted = crash_with(helpers.EXAMPLE_1_NEIGHBOUR, legacy_processing=0)
    # rsync commits <id>.dump before <id>.json: the dumps first go to the
    # primary, and move to the deferred store with their raw crash.
    native = workdir / "native"
    helpers.write_socorro_tree(native, "radix", [throttled, accepted],
                               mtime=SOURCE_MTIME)
    assert len(rsync_transfers(native, m.path)) == 6

    assert store_files(deferred, throttled) == throttled.files()
    assert store_files(primary, throttled) == {}
    assert store_files(primary, accepted) == accepted.files()
    assert store_files(deferred, accepted) == {}
    # One view of both; a second rsync finds everything in place.
    assert helpers.tree_files(m.path) == helpers.tree_files(native)
    assert rsync_transfers(native, m.path) == []
    assert "predicate" in store_stats(m)["store"]


def test_deferred_routing_by_a_configured_predicate(mount, workdir):
    primary, deferred = workdir / "primary", workdir / "deferred"
    config = write_config(workdir, {
        "type": "primary_deferred", "primary": fs(primary),
        "deferred": fs(deferred),
        "predicate": {"key": "ProductName", "op": "==",
                      "value": "Fennec"}})
    m = mount(config)
    fennec = crash_with(helpers.EXAMPLE_1, ProductName="Fennec",
                        legacy_processing=0)
    firefox = crash_with(helpers.EXAMPLE_2, ProductName="Firefox",
                         legacy_processing=1)
    for crash in (fennec, firefox):
        source = local_crash_dir(workdir / "src", crash)
        run(["cp", "-r", str(source), str(m.path / ".crashfs" / "by-id")])
    assert store_files(deferred, fennec) == fennec.files()
    assert store_files(primary, firefox) == firefox.files()
    assert store_files(primary, fennec) == {}
    assert store_files(deferred, firefox) == {}
    assert view_files(m, fennec) == fennec.files()
    assert view_files(m, firefox) == firefox.files()
    predicate = store_stats(m)["store"]["predicate"]
    assert predicate == {"key": "ProductName", "op": "==",
                         "value": "Fennec"}


def test_primary_deferred_processed(mount, workdir):
    primary, deferred, processed = (workdir / "primary",
                                    workdir / "deferred",
                                    workdir / "processed")
    config = write_config(workdir, {
        "type": "primary_deferred_processed", "primary": fs(primary),
        "deferred": fs(deferred), "processed": fs(processed)})
    m = mount(config)
    crash = crash_with(helpers.EXAMPLE_1, processed=True,
                       legacy_processing=1)
    assert write_crash(m, crash) == dict.fromkeys(crash.files())
    jsonz = crash.crash_id + ".jsonz"
    raw_and_dumps = {name: data for name, data in crash.files().items()
                     if name != jsonz}
    assert store_files(deferred, crash) == raw_and_dumps
    assert store_files(processed, crash) == {jsonz: crash.processed}
    assert store_files(primary, crash) == {}
    assert view_files(m, crash) == crash.files()
    # rm -r reaches the processed store too (Socorro's never removed
    # anything from it).
    run(["rm", "-r", str(by_id(m, crash.crash_id))])
    assert store_files(deferred, crash) == {}
    assert store_files(processed, crash) == {}


# -- nesting --------------------------------------------------------------------

def test_nesting_three_levels_deep(mount, workdir):
    """fallback( poly[ fs A, primary_deferred( fs B, faulty(fs C) ) ],
    fs D ): the deferred store going down makes the poly fail, and the
    fallback saves in D."""
    a, b, c, d = (workdir / name for name in "abcd")
    down = workdir / "c.down"
    config = write_config(workdir, {
        "type": "fallback",
        "primary": {"type": "poly", "stores": [
            fs(a),
            {"type": "primary_deferred", "primary": fs(b),
             "deferred": faulty(fs(c), down)}]},
        "secondary": fs(d)})
    m = mount(config)
    accepted = crash_with(helpers.EXAMPLE_1, legacy_processing=0)
    throttled = crash_with(helpers.EXAMPLE_1_NEIGHBOUR, legacy_processing=1)
    for crash in (accepted, throttled):
        assert write_crash(m, crash) == dict.fromkeys(crash.files())
    assert store_files(a, accepted) == accepted.files()
    assert store_files(b, accepted) == accepted.files()
    assert store_files(a, throttled) == throttled.files()
    assert store_files(c, throttled) == throttled.files()
    assert helpers.tree_files(d) == {}

    down.touch()
    late = crash_with(helpers.EXAMPLE_2, legacy_processing=1)
    assert write_crash(m, late) == dict.fromkeys(late.files())
    raw_name = late.crash_id + ".json"
    # The raw crash: the poly stored it in A and failed in C, so the
    # fallback saved it in D, and stops asking its primary for saves
    # (the breaker): the dumps go to D too.
    assert store_files(a, late) == {raw_name: late.raw}
    assert store_files(d, late) == late.files()
    assert store_files(b, late) == {}
    assert store_files(c, late) == {}
    assert view_files(m, late) == late.files()

    stats = store_stats(m)
    for path in ("store", "store.primary", "store.primary.stores[0]",
                 "store.primary.stores[1]",
                 "store.primary.stores[1].primary",
                 "store.primary.stores[1].deferred",
                 "store.primary.stores[1].deferred.store",
                 "store.secondary"):
        assert path in stats, path
    assert stats["store"]["fallbacks"] >= 1
    assert stats["store.primary.stores[1].deferred"]["injected"] >= 1


def test_named_stores_and_references(mount, workdir):
    config = write_config(
        workdir,
        {"type": "poly", "stores": [{"ref": "disk"},
                                    {"type": "fs",
                                     "root": str(workdir / "copy")}]},
        stores={"disk": fs(workdir / "disk")})
    m = mount(config)
    crash = crash_with(helpers.EXAMPLE_1)
    assert write_crash(m, crash) == dict.fromkeys(crash.files())
    assert store_files(workdir / "disk", crash) == crash.files()
    assert store_files(workdir / "copy", crash) == crash.files()
    assert store_stats(m)["store.stores[0]"]["type"] == "fs"


# -- retries --------------------------------------------------------------------

def settled(m, node, timeout=30):
    """The stats once nothing is retrying on node any more: two snapshots
    0.3 s apart that agree."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        stats = store_stats(m)
        if stats[node]["state"] != "retrying" and stats == previous:
            return stats
        previous = stats
        time.sleep(0.3)
    return previous


def test_retry_counts_and_backoff_timing(mount, workdir):
    down = workdir / "down"
    store = faulty(fs(workdir / "store"), down, operations=["save_raw_crash"])
    # Four attempts with 0.2 s between them; the last delay (5 s) is never
    # slept: Socorro slept it before giving up, crashfs does not.
    store["retry"] = {"policy": "limited",
                      "backoff_delays": [0.2, 0.2, 0.2, 5],
                      "wait_log_interval": 0}
    m = mount(write_config(workdir, store))
    down.touch()
    directory = by_id(m, helpers.EXAMPLE_1)
    os.mkdir(directory)
    raw = helpers.make_raw_crash_json(helpers.EXAMPLE_1)
    start = time.monotonic()
    assert helpers.errno_of(helpers.write_file,
                            directory / (helpers.EXAMPLE_1 + ".json"),
                            raw) == errno.EIO
    elapsed = time.monotonic() - start
    assert elapsed >= 0.6
    assert elapsed < 4.5

    stats = settled(m, "store.retry")
    retry, wrapped = stats["store.retry"], stats["store"]
    assert retry["type"] == "retry" and retry["policy"] == "limited"
    # One commit (at close): 4 attempts, 3 retries, then failing.  The
    # release does not try again a commit whose failure close() reported.
    assert wrapped["injected"] == 4
    assert retry["retries"] == 3
    assert wrapped["retries"] == retry["retries"]
    assert retry["state"] == "failing"
    assert wrapped["state"] == "failing"
    assert "gave up after 4 attempts" in m.stderr_text()
    assert helpers.tree_files(workdir / "store") == {}


def test_one_log_line_per_failed_write(mount, workdir):
    """A write that fails after retries is one error line (the mount's,
    naming the file and every attempt), and the outage one warning when
    the store starts retrying and one line when it works again -- not
    two or three lines per request."""
    down = workdir / "down"
    store = faulty(fs(workdir / "store"), down, operations=["save_raw_crash"])
    store["retry"] = {"policy": "limited", "backoff_delays": [0, 0, 0],
                      "wait_log_interval": 0}
    m = mount(write_config(workdir, store))
    down.touch()
    ids = [helpers.make_crash_id(rng=random.Random(seed)) for seed in
           range(5)]
    for crash_id in ids:
        directory = by_id(m, crash_id)
        os.mkdir(directory)
        assert helpers.errno_of(
            helpers.write_file, directory / (crash_id + ".json"),
            helpers.make_raw_crash_json(crash_id)) == errno.EIO
    down.unlink()
    crash = crash_with(helpers.EXAMPLE_1)
    assert write_crash(m, crash) == dict.fromkeys(crash.files())
    lines = m.stderr_text().splitlines()
    for crash_id in ids:
        mentions = [line for line in lines if crash_id in line]
        failures = [line for line in mentions if " error: " in line]
        assert len(failures) == 1, mentions
        assert "gave up after 3 attempts" in failures[0]
    retrying = [line for line in lines if "retrying in" in line]
    assert len(retrying) == 1, retrying
    assert len([line for line in lines if "works again" in line]) == 1


def test_request_timeout_ends_the_wait_on_a_failing_store(mount, workdir):
    """-o request_timeout: a request gives up with ETIMEDOUT instead of
    waiting out an infinite retry policy."""
    down = workdir / "down"
    store = faulty(fs(workdir / "store"), down, operations=["save_raw_crash"])
    store["retry"] = {"policy": "infinite", "backoff_delays": [0.2, 30]}
    m = mount(write_config(workdir, store), "request_timeout=2")
    down.touch()
    directory = by_id(m, helpers.EXAMPLE_1)
    os.mkdir(directory)
    start = time.monotonic()
    assert helpers.errno_of(helpers.write_file,
                            directory / (helpers.EXAMPLE_1 + ".json"),
                            helpers.make_raw_crash_json(helpers.EXAMPLE_1)
                            ) == errno.ETIMEDOUT
    assert time.monotonic() - start < 25
    assert "time ran out" in m.stderr_text()
    down.unlink()
    crash = crash_with(helpers.EXAMPLE_2)
    assert write_crash(m, crash) == dict.fromkeys(crash.files())


def test_retry_succeeds_when_the_server_returns(mount, workdir):
    down = workdir / "down"
    store = faulty(fs(workdir / "store"), down)
    store["retry"] = {"policy": "infinite", "backoff_delays": [0.05, 0.1]}
    m = mount(write_config(workdir, store))
    down.touch()
    threading.Timer(0.8, down.unlink).start()
    crash = crash_with(helpers.EXAMPLE_1)
    start = time.monotonic()
    assert write_crash(m, crash) == dict.fromkeys(crash.files())
    assert time.monotonic() - start >= 0.7
    assert store_files(workdir / "store", crash) == crash.files()
    stats = store_stats(m)
    assert stats["store.retry"]["retries"] >= 5
    assert stats["store.retry"]["state"] == "ok"
    assert stats["store"]["state"] == "ok"
    assert stats["store.retry"]["errors"] == 0


@pytest.mark.time_limit(120)
def test_interrupt_during_backoff_returns_promptly(mount, workdir):
    down = workdir / "down"
    store = faulty(fs(workdir / "store"), down)
    store["retry"] = {"policy": "infinite", "backoff_delays": [8]}
    m = mount(write_config(workdir, store))
    down.touch()
    source = workdir / "raw.json"
    source.write_bytes(helpers.make_raw_crash_json(helpers.EXAMPLE_1))
    directory = by_id(m, helpers.EXAMPLE_1)
    os.mkdir(directory)
    # SIGINT must kill cp, as Ctrl-C would: a suite started in the
    # background (`tests/run &`, some CI runners) has SIGINT ignored, and
    # an ignored signal stays ignored across fork and exec.
    cp = subprocess.Popen(["cp", str(source),
                           str(directory / (helpers.EXAMPLE_1 + ".json"))],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE,
                          preexec_fn=default_sigint)
    try:
        # cp's close waits in the backoff.
        assert wait_for(lambda: store_stats(m)["store.retry"]["state"] ==
                        "retrying", 10), "the commit never started retrying"
        assert cp.poll() is None
        start = time.monotonic()
        cp.send_signal(signal.SIGINT)
        try:
            cp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("cp did not end within 10 s of SIGINT; its kernel "
                        "stack:\n%s\ndaemon log:\n%s" % (
                            kernel_stack(cp.pid),
                            m.stderr_text()[-4000:]))
        assert time.monotonic() - start < 3.0
        assert cp.returncode != 0
    finally:
        if cp.poll() is None:
            cp.kill()
            cp.wait()
    assert "interrupted while waiting to retry" in m.stderr_text()
    # The server comes back so that any later commit of the released file
    # ends within one delay and the unmount is not held up.
    down.unlink()
    assert m.unmount(timeout=60) == 0


def default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kernel_stack(pid):
    """Where a stuck process waits in the kernel, for a failure message."""
    try:
        with open("/proc/%d/stack" % pid) as stack:
            return stack.read()
    except OSError as error:
        return "(unreadable: %s)" % error


def call_within(function, seconds):
    """function()'s result; fails (rather than hangs) if it has not
    returned within seconds.  A call that blocks is left behind in a
    daemon thread: the watchdog's teardown ends it."""
    outcome = {}

    def call():
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised below
            outcome["error"] = error

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.time_limit(120)
def test_requests_do_not_wait_for_a_commit_in_backoff(mount, workdir):
    """A commit waiting to retry holds nothing the file's other requests
    wait for: stat and readdir answer at once, and the close succeeds
    once the server is back."""
    down = workdir / "down"
    store = faulty(fs(workdir / "store"), down, operations=["save_raw_crash"])
    store["retry"] = {"policy": "infinite", "backoff_delays": [5]}
    m = mount(write_config(workdir, store))
    down.touch()
    crash_id = helpers.EXAMPLE_1
    directory = by_id(m, crash_id)
    os.mkdir(directory)
    path = directory / (crash_id + ".json")
    raw = helpers.make_raw_crash_json(crash_id)
    closed = {}
    writer = threading.Thread(
        target=lambda: closed.update(
            errno=helpers.errno_of(helpers.write_file, path, raw)),
        daemon=True)
    writer.start()
    try:
        assert wait_for(lambda: store_stats(m)["store.retry"]["state"] ==
                        "retrying", 10), "the commit never started retrying"
        assert call_within(lambda: os.stat(path).st_size, 2) == len(raw)
        assert call_within(lambda: os.listdir(directory), 2) == \
            [crash_id + ".json"]
        assert crash_id in call_within(
            lambda: os.listdir(directory.parent), 2)
        assert writer.is_alive(), "the close did not wait for the store"
    finally:
        down.unlink()
    writer.join(30)
    assert not writer.is_alive(), "the close still waits"
    assert closed == {"errno": None}
    stored = (workdir / "store" / helpers.crash_parent(crash_id, "radix") /
              (crash_id + ".json"))
    assert stored.read_bytes() == raw
    assert helpers.read_file(path) == raw
    assert store_stats(m)["store.retry"]["retries"] >= 1


# -- configuration errors ---------------------------------------------------------

CONFIG_ERRORS = [
    ("missing member",
     {"type": "fallback", "primary": {"type": "null"}},
     None, "store.secondary: missing"),
    ("unknown type",
     {"type": "poly", "stores": [{"type": "null"}, {"type": "hbsae"}]},
     None, "store.stores[1].type: unknown store type 'hbsae'"),
    ("bad predicate",
     {"type": "fallback", "secondary": {"type": "null"},
      "primary": {"type": "primary_deferred", "primary": {"type": "null"},
                  "deferred": {"type": "null"},
                  "predicate": {"key": "ProductName", "op": "=~",
                                "value": "Fennec"}}},
     None, "store.primary.predicate.op: unknown comparison '=~'"),
    ("cycle",
     {"type": "fallback", "secondary": {"type": "null"},
      "primary": {"ref": "a"}},
     {"a": {"type": "fallback", "primary": {"type": "null"},
            "secondary": {"ref": "b"}},
      "b": {"ref": "a"}},
     "store.primary.secondary: reference cycle: a -> b -> a"),
    ("bad retry",
     {"type": "null", "retry": {"policy": "limited",
                                "backoff_delays": [10, -1]}},
     None, "store.retry.backoff_delays[1]"),
    ("bad fault",
     {"type": "faulty", "store": {"type": "null"},
      "faults": [{"operations": ["save"]}]},
     None, "store.faults[0].operations[0]: unknown operation 'save'"),
]


@pytest.mark.parametrize("store,stores,message",
                         [case[1:] for case in CONFIG_ERRORS],
                         ids=[case[0] for case in CONFIG_ERRORS])
def test_container_config_errors_fail_at_startup(mount, workdir, store,
                                                 stores, message):
    config = write_config(workdir, store, stores)
    m = mount(config, expect_failure=True)
    assert m.returncode not in (None, 0)
    assert not m.is_mounted()
    assert message in m.stderr_text()


# -- the mount's default retry policy ----------------------------------------

def test_backends_get_the_mounts_limited_retry_policy_by_default(mount,
                                                                  workdir):
    """A request must not hang forever by default: a backend without a
    "retry" of its own is wrapped in the limited policy with Socorro's
    delays; -o retry= chooses another policy for all of them."""
    trigger = workdir / "down"
    node = faulty(fs(workdir / "a"), trigger)
    del node["retry"]
    config = write_config(workdir, node)

    m = mount(config)
    retry = store_stats(m)["store.retry"]
    assert retry["type"] == "retry"
    assert retry["policy"] == "limited"
    assert m.unmount() == 0

    m = mount(config, "retry=none")
    assert "store.retry" not in store_stats(m)
    trigger.touch()
    crash = crash_with(helpers.make_crash_id())
    started = time.monotonic()
    assert set(write_crash(m, crash).values()) == {errno.EIO}
    assert time.monotonic() - started < 5
    assert m.unmount() == 0


def test_unknown_retry_policy_is_a_startup_error(mount, workdir):
    m = mount(workdir / "store", "retry=sometimes", expect_failure=True)
    assert "retry=sometimes" in m.stderr_text()
