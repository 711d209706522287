"""The fallback outage drill: fallback(faulty(fs) with a trigger file, fs).

The primary goes fully down (every operation fails).  Crashes written with
cp -r, mkdir -p and cp, cp -a and rsync -a all land in the secondary; find
over the mount lists them, and the stats say the listings were partial; no
request waits out the primary's retry policy after the first, and the log
stays a few lines long.  The primary comes back: new crashes go to it,
listings merge both stores again, and every crash reads back
byte-identical through the mount.
"""

import datetime
import errno
import json
import os
import random
import time

import pytest

import crashfs_helpers as helpers
from crashfs_helpers import run

PROBE_INTERVAL = 1.0
CP_R_CRASHES = 200
MKDIR_P_CRASHES = 20
CP_A_CRASHES = 5
RSYNC_CRASHES = 5
AFTER_CRASHES = 20
DAYS = [datetime.date(2024, 3, day) for day in (1, 2, 3)]


def fs(root):
    return {"type": "fs", "root": str(root), "layout": "radix"}


def outage_config(workdir, primary, secondary, trigger):
    """The primary fails every operation while trigger exists.  Its retry
    policy is short so that the one request that waits it out (the first
    to find the primary down) takes a fraction of a second; the breaker
    is what keeps the others from waiting."""
    store = {
        "type": "fallback",
        "probe_interval": PROBE_INTERVAL,
        "primary": {
            "type": "faulty", "store": fs(primary),
            "retry": {"policy": "limited",
                      "backoff_delays": [0.05, 0.05, 0.05],
                      "wait_log_interval": 0},
            "faults": [{"operations": "*", "errno": "EIO",
                        "mode": "while_file_exists",
                        "trigger_file": str(trigger)}]},
        "secondary": fs(secondary)}
    path = workdir / "stores.json"
    path.write_text(json.dumps({"store": store}, indent=2))
    return path


def make_crashes(count, rng, days=DAYS):
    return [helpers.make_crash(
        helpers.make_crash_id(day=days[i % len(days)], depth=2, rng=rng),
        dump_size=700, flash_size=None, processed=False)
        for i in range(count)]


def write_tree(root, crashes):
    """crashes as a tree of view paths below root (what cp and rsync
    copy into the mount)."""
    for relative, data in helpers.expected_files(crashes, "radix").items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def on_disk(root, crashes):
    """{relative path: bytes} of the crashes' files in an fs store."""
    files = helpers.tree_files(root)
    wanted = helpers.expected_files(crashes, "radix")
    return {path: data for path, data in files.items() if path in wanted}


def found_files(m):
    result = run(["find", str(m.path), "-type", "f"], timeout=300)
    return {os.path.relpath(line, m.path)
            for line in result.stdout.splitlines()}


def store_stats(m):
    return m.stats()["stores"]


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def noisy_lines(log):
    return [line for line in log.splitlines()
            if " warning: " in line or " error: " in line]


@pytest.mark.time_limit(300)
def test_fallback_takes_over_while_the_primary_is_down(mount, workdir,
                                                       time_scale):
    primary, secondary = workdir / "primary", workdir / "secondary"
    trigger = workdir / "primary.down"
    m = mount(outage_config(workdir, primary, secondary, trigger))
    rng = random.Random(8)

    # Before the outage: two crashes the primary holds, on a day no write
    # touches later (a write invalidates the kernel's entries along its
    # path).  The mount looks one of them up (the kernel keeps its entry);
    # the other it has never seen.
    known, unseen = make_crashes(2, rng, days=[datetime.date(2024, 2, 1)])
    write_tree(primary, [known, unseen])
    known_path = m.path / helpers.view_parent(known.crash_id, "radix") / \
        (known.crash_id + ".json")
    unseen_path = m.path / helpers.view_parent(unseen.crash_id, "radix") / \
        (unseen.crash_id + ".json")
    os.stat(known_path)

    # -- the primary goes down ------------------------------------------
    trigger.touch()
    outage_started = time.monotonic()
    by_cp_r = make_crashes(CP_R_CRASHES, rng)
    by_mkdir_p = make_crashes(MKDIR_P_CRASHES, rng)
    by_cp_a = make_crashes(CP_A_CRASHES, rng)
    by_rsync = make_crashes(RSYNC_CRASHES, rng)

    source = workdir / "cp-r"
    write_tree(source, by_cp_r)
    run(["cp", "-r", str(source) + "/.", str(m.path)], timeout=300)

    for crash in by_mkdir_p:
        leaf = m.path / helpers.view_parent(crash.crash_id, "radix")
        run(["mkdir", "-p", str(leaf)])
        local = workdir / "mkdir-p" / crash.crash_id
        local.mkdir(parents=True)
        for name, data in crash.files().items():
            (local / name).write_bytes(data)
        run(["cp"] + sorted(str(p) for p in local.iterdir()) + [str(leaf)])

    for crash in by_cp_a:
        local = workdir / "cp-a" / crash.crash_id
        local.mkdir(parents=True)
        for name, data in crash.files().items():
            (local / name).write_bytes(data)
            os.utime(local / name, (1234567890, 1234567890))
        run(["cp", "-a", str(local), str(m.path / ".crashfs" / "by-id")])

    rsync_source = workdir / "rsync"
    write_tree(rsync_source, by_rsync)
    run(["rsync", "-a", str(rsync_source) + "/", str(m.path) + "/"],
        timeout=300)

    during = by_cp_r + by_mkdir_p + by_cp_a + by_rsync
    assert len(during) >= 230
    # Every write landed in the secondary, on disk, and none in the
    # primary.
    assert on_disk(secondary, during) == \
        helpers.expected_files(during, "radix")
    assert on_disk(primary, during) == {}
    # cp -a kept the mtimes (set after close, in the secondary).
    for crash in by_cp_a:
        for name in crash.files():
            path = m.path / ".crashfs" / "by-id" / crash.crash_id / name
            assert os.stat(path).st_mtime == 1234567890

    # Lookups and reads answer from the secondary; listings show what it
    # holds.
    assert found_files(m) == set(helpers.expected_files(during, "radix"))
    # A part only the primary holds, which the kernel knows: the read
    # fails (EIO), it does not look gone.  One it never saw: "no such
    # file" -- the price of letting the kernel create new crashes.
    assert helpers.errno_of(helpers.read_file, known_path) == errno.EIO
    assert helpers.errno_of(os.stat, unseen_path) == errno.ENOENT

    stats = store_stats(m)
    fallback = stats["store"]
    files_written = sum(len(crash.files()) for crash in during)
    assert fallback["fallbacks"] >= files_written
    assert fallback["errors"] <= 1  # the read of the known part
    assert fallback["partial_listings"] > 0
    assert fallback["state"] == "degraded"
    assert fallback["breaker"]["saves"]["state"] in ("open", "probing")
    assert stats["store.primary"]["state"] == "failing"
    # The primary's retry policy was waited out once (two retries), not
    # once per request: probes make one attempt, the rest skip it.
    outage_seconds = time.monotonic() - outage_started
    probes = (fallback["breaker"]["saves"]["probes"] +
              fallback["breaker"]["reads"]["probes"])
    assert probes <= 2 * (outage_seconds / PROBE_INTERVAL + 2)
    assert stats["store.primary.retry"]["retries"] <= 4
    assert stats["store.primary"]["injected"] <= probes + 4
    assert fallback["breaker"]["saves"]["skipped"] >= files_written - probes

    # -- the primary comes back -----------------------------------------
    trigger.unlink()
    # Listing the root is a call like any other: once the probe interval
    # has passed, it probes the primary, which answers.
    assert wait_for(
        lambda: os.listdir(m.path) is not None and
        store_stats(m)["store"]["breaker"]["reads"]["state"] == "closed",
        timeout=10 * PROBE_INTERVAL * time_scale), store_stats(m)["store"]
    # Saves probe at their own pace: the first crash written once the
    # saves side's interval is over goes to the primary, and so does
    # every one after it.  Until then they still go to the secondary.
    settling = []
    deadline = time.monotonic() + 10 * PROBE_INTERVAL * time_scale
    while True:
        crash, = make_crashes(1, rng)
        source = workdir / "settle" / crash.crash_id
        write_tree(source, [crash])
        run(["cp", "-r", str(source) + "/.", str(m.path)])
        settling.append(crash)
        if on_disk(primary, [crash]):
            break
        assert on_disk(secondary, [crash]), crash.crash_id
        assert time.monotonic() < deadline, store_stats(m)["store"]
    after = make_crashes(AFTER_CRASHES, rng)
    source = workdir / "after"
    write_tree(source, after)
    run(["cp", "-r", str(source) + "/.", str(m.path)])
    assert on_disk(primary, after) == helpers.expected_files(after, "radix")
    assert on_disk(secondary, after) == {}

    # Everything is readable through the mount, byte for byte, and the
    # listings merge both stores again.
    everything = [known, unseen] + during + settling + after
    expected = helpers.expected_files(everything, "radix")
    partial_before = store_stats(m)["store"]["partial_listings"]
    assert found_files(m) == set(expected)
    for relative, data in expected.items():
        assert helpers.read_file(m.path / relative) == data, relative
    stats = store_stats(m)
    assert stats["store"]["partial_listings"] == partial_before
    assert stats["store"]["state"] == "ok"
    assert stats["store"]["breaker"]["saves"]["state"] == "closed"
    assert stats["store.primary"]["state"] == "ok"

    # The log: a handful of lines for the whole outage, not one (or two)
    # per crash.
    log = m.stderr_text()
    noisy = noisy_lines(log)
    assert len(noisy) <= 15, "\n".join(noisy)
    assert "primary failed; all calls go to store.secondary" in log
    assert "reads go to it again" in log
    assert "saves go to it again" in log
    assert m.unmount() == 0
