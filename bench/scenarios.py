"""The measurements.  Each one runs its contenders side by side on the same
data, run after run, and returns per-contender series of numbers.

A contender is the native directory, passthrough_ll over it, or crashfs over
it with some options; the main table compares those three, the switch table
compares crashfs with one tuning switch on and off.
"""

import contextlib
import json
import os
import random
import signal
import sys
import threading
import time

from harness import (COMMAND_TIMEOUT, HarnessError, Series, copy_file, log, rotate,
    timed_command)

MiB = 1 << 20


class Contender:
    """native = the directory itself; passthrough_ll or crashfs = a fresh
    mount over it for each measurement (so no kernel cache survives).

    An optional contender (the passthrough_ll reference) that fails a
    scenario is left out of the rest of that scenario, with the reason kept
    for the report, instead of stopping the suite."""

    def __init__(self, label, kind, options=(), flags=(), optional=False, max_inodes=None):
        self.label = label
        self.kind = kind
        self.options = tuple(options)
        self.flags = tuple(flags)
        self.optional = optional
        self.max_inodes = max_inodes
        self.failures = {}

    def attach(self, harness, store, read_only_data=False):
        """Returns (root the workload uses, mount or None).  Stores that hold
        cached, read-only benchmark data get a spool outside them so they
        stay byte-identical between runs."""
        if self.kind == "native":
            return store, None
        if self.kind == "passthrough_ll":
            mount = harness.mount_passthrough(store)
            return mount.point, mount
        options = list(self.options)
        if read_only_data:
            options.insert(0, "spool=" + harness.fresh_dir("spool"))
        mount = harness.mount_crashfs(store, options, flags=self.flags)
        return mount.point, mount

    @staticmethod
    def detach(harness, mount):
        if mount is not None:
            harness.unmount(mount)


def schedule(contenders, plan, scenario, inodes=0):
    """(run, contender) pairs, the contenders' order rotating run to run,
    as many runs as the plan allows.  A contender that cannot hold
    `inodes` open (passthrough_ll) is left out up front."""
    for contender in contenders:
        if contender.max_inodes is not None and inodes > contender.max_inodes:
            contender.failures[scenario] = ("not run: it would hold about %d descriptors, "
                "the open-file limit is %d" % (inodes, contender.max_inodes))
    plan.begin()
    run = 0
    while plan.may_start(run):
        for contender in rotate(contenders, run):
            if scenario not in contender.failures:
                yield run, contender
        run += 1
        plan.completed = run
    if plan.cut:
        log("%s: %d of %d runs within its time share" % (scenario, plan.completed, plan.runs))


@contextlib.contextmanager
def guarded(contender, scenario):
    try:
        yield
    except (HarnessError, OSError) as error:
        if not contender.optional:
            raise
        contender.failures[scenario] = str(error)
        log("%s left out of %s: %s" % (contender.label, scenario, error))


def crash_dir(root, crash_id):
    """The radix view path of a crash (depth 2)."""
    return os.path.join(root, "20" + crash_id[-6:], "name", crash_id[0:2], crash_id[2:4], crash_id)


def series_table(contenders, keys):
    return {c.label: {key: Series() for key in keys} for c in contenders}


# ---- reading one large dump -----------------------------------------------

def read_throughput(path, expected, buffer):
    """MB/s of reading a file start to end with 1 MiB read() calls."""
    total = 0
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as inp:
        while True:
            count = inp.readinto(buffer)
            if not count:
                break
            total += count
    elapsed = time.perf_counter() - start
    if total != expected:
        raise HarnessError("read %d bytes of %s, expected %d" % (total, path, expected))
    return total / elapsed / 1e6


def measure_read(harness, contenders, store, relative, size, plan):
    """Cold (page cache dropped, fresh mount) then warm (same mount, again)."""
    results = series_table(contenders, ("cold", "warm"))
    buffer = bytearray(MiB)
    underlying = os.path.join(store, relative)
    for run, contender in schedule(contenders, plan, "read"):
        with guarded(contender, "read"):
            harness.drop_caches([underlying])
            root, mount = contender.attach(harness, store, read_only_data=True)
            try:
                path = os.path.join(root, relative)
                cold = read_throughput(path, size, buffer)
                warm = read_throughput(path, size, buffer)
            finally:
                contender.detach(harness, mount)
            results[contender.label]["cold"].add(cold)
            results[contender.label]["warm"].add(warm)
    return results


# ---- writing one large dump -------------------------------------------------

def bench_crash_id(seed):
    rng = random.Random("bench-crash:%d" % seed)
    head = "%08x-%04x-4%03x-%x%03x-%05x" % (rng.getrandbits(32), rng.getrandbits(16),
        rng.getrandbits(12), 8 + rng.getrandbits(2), rng.getrandbits(12), rng.getrandbits(20))
    return head + "2141021"


def write_big_dump(root, crash_id, size, block):
    """Creates the crash (raw JSON first, as a collector does) and writes
    its dump in 1 MiB writes; returns MB/s of the dump (open to close)."""
    directory = crash_dir(root, crash_id)
    os.makedirs(directory, exist_ok=True)
    raw = {"uuid": crash_id, "ProductName": "Firefox", "Version": "33.0",
        "submitted_timestamp": "2014-10-21T10:52:42.123456+00:00"}
    with open(os.path.join(directory, crash_id + ".json"), "wb") as out:
        out.write(json.dumps(raw).encode())
    view = memoryview(block)
    start = time.perf_counter()
    with open(os.path.join(directory, crash_id + ".dump"), "wb", buffering=0) as out:
        left = size
        while left > 0:
            chunk = min(left, len(block))
            done = 0
            while done < chunk:
                done += out.write(view[done:chunk])
            left -= chunk
    elapsed = time.perf_counter() - start
    return size / elapsed / 1e6


def measure_big_write(harness, contenders, size, plan, block):
    results = series_table(contenders, ("write", "rss"))
    for run, contender in schedule(contenders, plan, "write"):
        with guarded(contender, "write"):
            store = harness.fresh_dir("write-store")
            crash_id = bench_crash_id(run)
            harness.drop_caches()
            root, mount = contender.attach(harness, store)
            try:
                rate = write_big_dump(root, crash_id, size, block)
                if mount is not None and mount.kind == "crashfs":
                    results[contender.label]["rss"].add(mount.peak_rss_mib())
            finally:
                contender.detach(harness, mount)
            stored = os.path.join(crash_dir(store, crash_id), crash_id + ".dump")
            if os.stat(stored).st_size != size:
                raise HarnessError("%s stored %d bytes of a %d-byte dump" % (
                    contender.label, os.stat(stored).st_size, size))
            results[contender.label]["write"].add(rate)
            harness.remove_tree(store)
    return results


# ---- ingesting many crashes ---------------------------------------------------

def load_flat(flat_dir):
    """[(crash_id, [(file name, source path, size)])], raw JSON first."""
    crashes = []
    for crash_id in sorted(os.listdir(flat_dir)):
        names = sorted(os.listdir(os.path.join(flat_dir, crash_id)),
            key=lambda name: (not name.endswith(".json"), name.endswith(".jsonz"), name))
        files = []
        for name in names:
            path = os.path.join(flat_dir, crash_id, name)
            files.append((name, path, os.stat(path).st_size))
        crashes.append((crash_id, files))
    return crashes


def warm_sources(crashes, buffer):
    for _, files in crashes:
        for _, path, _ in files:
            with open(path, "rb", buffering=0) as inp:
                while inp.readinto(buffer):
                    pass


def ingest_worker(crashes, root):
    buffer = bytearray(MiB)
    for crash_id, files in crashes:
        directory = crash_dir(root, crash_id)
        os.makedirs(directory, exist_ok=True)
        for name, path, _ in files:
            copy_file(path, os.path.join(directory, name), buffer)


def run_writers(crashes, root, writers):
    """Forks `writers` processes, each writing every writers-th crash (mkdir
    -p of its radix path, then its files); returns the wall time until all
    have finished (every file closed, so committed)."""
    start = time.perf_counter()
    children = []
    for index in range(writers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(signum, signal.SIG_DFL)
                ingest_worker(crashes[index::writers], root)
                code = 0
            except BaseException as error:  # report and leave, never unwind
                sys.stderr.write("bench: writer %d: %s\n" % (index, error))
                sys.stderr.flush()
            os._exit(code)
        children.append(pid)

    def stop_writers():
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    watchdog = threading.Timer(COMMAND_TIMEOUT, stop_writers)
    watchdog.start()
    failed = 0
    try:
        for pid in children:
            _, status = os.waitpid(pid, 0)
            if status != 0:
                failed += 1
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - start
    if failed:
        raise HarnessError("%d of %d writers failed writing into %s" % (failed, writers, root))
    return elapsed


def verify_store(store, crashes):
    """Every file of every crash is in the store with its size: nothing the
    benchmark wrote may be lost."""
    for crash_id, files in crashes:
        directory = crash_dir(store, crash_id)
        for name, _, size in files:
            try:
                found = os.stat(os.path.join(directory, name)).st_size
            except OSError as error:
                raise HarnessError("stored crash is missing %s: %s" % (name, error.strerror))
            if found != size:
                raise HarnessError("stored %s has %d bytes, expected %d" % (name, found, size))


def measure_ingest(harness, contenders, crashes, writers, plan, big_dump=0, block=None):
    """Crashes per second; for crashfs also the daemon's peak RSS, and in
    the first run a big dump written after the crashes (peak RSS target)."""
    results = series_table(contenders, ("rate", "rss", "big_rss", "big_write"))
    warm_buffer = bytearray(MiB)
    inodes = 4 * len(crashes)
    for run, contender in schedule(contenders, plan, "ingest", inodes):
        with guarded(contender, "ingest"):
            store = harness.fresh_dir("ingest-store")
            harness.drop_caches()
            warm_sources(crashes, warm_buffer)
            root, mount = contender.attach(harness, store)
            try:
                elapsed = run_writers(crashes, root, writers)
                if mount is not None and mount.kind == "crashfs":
                    results[contender.label]["rss"].add(mount.peak_rss_mib())
                    if run == 0 and big_dump:
                        rate = write_big_dump(root, bench_crash_id(1000 + writers), big_dump, block)
                        results[contender.label]["big_write"].add(rate)
                        results[contender.label]["big_rss"].add(mount.peak_rss_mib())
            finally:
                contender.detach(harness, mount)
            verify_store(store, crashes)
            results[contender.label]["rate"].add(len(crashes) / elapsed)
            harness.remove_tree(store)
    return results


# ---- listing a large tree -----------------------------------------------------

LISTING_TOOLS = {
    "find": lambda root: ["find", root, "-type", "f"],
    "ls": lambda root: ["ls", "-lR", root],
}


def measure_listing(harness, contenders, store, plan, tools=("find", "ls"), inodes=0):
    """Seconds of `find -type f` and `ls -lR`: cold (caches dropped, fresh
    mount) then warm (again, same mount)."""
    keys = []
    for tool in tools:
        keys += [tool + "_cold", tool + "_warm"]
    results = series_table(contenders, keys)
    for run, contender in schedule(contenders, plan, "listing", inodes):
        with guarded(contender, "listing"):
            for tool in tools:
                harness.drop_caches()
                root, mount = contender.attach(harness, store, read_only_data=True)
                try:
                    cold = timed_command(LISTING_TOOLS[tool](root))
                    warm = timed_command(LISTING_TOOLS[tool](root))
                finally:
                    contender.detach(harness, mount)
                results[contender.label][tool + "_cold"].add(cold)
                results[contender.label][tool + "_warm"].add(warm)
    return results


# ---- rsync from one mount to another ------------------------------------------

def tree_files(root):
    """{relative path: size} of the regular files under root, without the
    spool directory a daemon may keep there."""
    found = {}
    for directory, subdirs, files in os.walk(root):
        if directory == root:
            subdirs[:] = [name for name in subdirs if not name.startswith(".crashfs")]
        for name in files:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, root)] = os.lstat(path).st_size
    return found


def warm_tree(root):
    """Reads every file under root into the page cache."""
    buffer = bytearray(MiB)
    for directory, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(directory, name), "rb", buffering=0) as inp:
                while inp.readinto(buffer):
                    pass


def measure_rsync(harness, contenders, source_store, plan):
    """Seconds of `rsync -a SRC/ DST/` into an empty store, then again
    (nothing to transfer); both ends are the same contender."""
    results = series_table(contenders, ("first", "second"))
    expected = tree_files(source_store)
    for run, contender in schedule(contenders, plan, "rsync", 2 * len(expected)):
        with guarded(contender, "rsync"):
            destination = harness.fresh_dir("rsync-store")
            harness.drop_caches()
            warm_tree(source_store)
            source_root, source_mount = contender.attach(harness, source_store, read_only_data=True)
            try:
                target_root, target_mount = contender.attach(harness, destination)
                try:
                    argv = ["rsync", "-a", source_root + "/", target_root + "/"]
                    first = timed_command(argv)
                    second = timed_command(argv)
                finally:
                    contender.detach(harness, target_mount)
            finally:
                contender.detach(harness, source_mount)
            copied = tree_files(destination)
            if copied != expected:
                missing = sorted(set(expected) - set(copied))[:3]
                extra = sorted(set(copied) - set(expected))[:3]
                raise HarnessError("%s: rsync copy differs (%d vs %d files; missing %s; extra %s)"
                    % (contender.label, len(copied), len(expected), missing, extra))
            results[contender.label]["first"].add(first)
            results[contender.label]["second"].add(second)
            harness.remove_tree(destination)
    return results


# ---- lookup latency -----------------------------------------------------------

def stat_latencies(paths):
    latencies = []
    for path in paths:
        start = time.perf_counter()
        os.stat(path)
        latencies.append(time.perf_counter() - start)
    return latencies


def measure_lookup(harness, contenders, stores, crash_ids, count, plan):
    """Median latency (microseconds) of stat() of a crash's raw JSON by its
    radix path, each name looked up for the first time in a fresh mount;
    also through .crashfs/by-id/ for crashfs.  The underlying dentries are
    warmed first, so the daemon's own cost is what differs."""
    keys = []
    for name in stores:
        keys += [name + ":radix", name + ":by-id"]
    results = series_table(contenders, keys)
    radix_ids = crash_ids[:count]
    by_id_ids = crash_ids[count:2 * count]
    failed_by_id = set()
    for run, contender in schedule(contenders, plan, "lookup"):
        with guarded(contender, "lookup"):
            for name in rotate(list(stores), run):
                store = stores[name]
                harness.drop_caches()
                for crash_id in radix_ids + by_id_ids:
                    os.stat(os.path.join(crash_dir(store, crash_id), crash_id + ".json"))
                root, mount = contender.attach(harness, store, read_only_data=True)
                try:
                    radix = stat_latencies([os.path.join(crash_dir(root, crash_id),
                        crash_id + ".json") for crash_id in radix_ids])
                    by_id = None
                    if contender.kind == "crashfs" and contender.label not in failed_by_id:
                        try:
                            by_id = stat_latencies([os.path.join(root, ".crashfs", "by-id",
                                crash_id, crash_id + ".json") for crash_id in by_id_ids])
                        except OSError as error:
                            log("%s: lookup through .crashfs/by-id/ failed (%s); that row "
                                "is left out" % (contender.label, error))
                            failed_by_id.add(contender.label)
                finally:
                    contender.detach(harness, mount)
                results[contender.label][name + ":radix"].add(median_us(radix))
                if by_id is not None:
                    results[contender.label][name + ":by-id"].add(median_us(by_id))
    return results


def median_us(latencies):
    ordered = sorted(latencies)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle] * 1e6
    return (ordered[middle - 1] + ordered[middle]) * 0.5e6
