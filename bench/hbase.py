#!/usr/bin/python3
"""bench/hbase.py - crashes ingested into an HBase mount and read back,
against a plain Thrift client doing Socorro's save_raw_crash and reads.

    bench/hbase.py [--crashfs PATH] [--plain PATH] [--crashes N]
                   [--dump-size BYTES] [--runs N] [--smoke]

Run as root (it mounts).  It starts the HBase Thrift stand-in
(contrib/hbase-standin, in memory, on a free loopback port) and writes N
crashes (a raw crash and a main dump of --dump-size bytes each) into a
local directory.  Then, in each run, on tables of its own in the same
stand-in, in an order that rotates from run to run:

  crashfs  `crashfs --setup-store`, a mount of {"type": "hbase", ...};
           ingest = each crash copied into .crashfs/by-id/ (its raw crash,
           then its dump: open, write, close, as a collector writes
           files); read = a fresh mount (empty read cache), every file of
           every crash read back and compared;
  plain    bench/hbase_plain_client (built by meson): ingest = A.5 of
           spec/backends.md for each crash (one mutateRow with the raw
           crash and the dump, four index rows, ten counter increments)
           over one ThriftSocket/ThriftBufferedTransport connection;
           read = one getRowWithColumns per crash.

The ratio is crashfs's crashes per second over the plain client's, per
run; the table shows the median, the spread and the absolute rates.
crashfs does more per crash than the baseline (the stat and lookups of
FUSE, its own records of each part, a read of the crash's row before each
write so that counters are counted once, one mutateRow per file): the
ratio says what the mount costs over the bare calls.

It cleans up whatever happens: its mounts (fusermount3 -u, then -uz), the
daemons and the stand-in it started (by PID), its scratch directory.
"""

import argparse
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
SOURCE_TREE = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)

import harness  # noqa: E402
from harness import HarnessError, log  # noqa: E402

STANDIN = os.path.join(SOURCE_TREE, "contrib", "hbase-standin")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashfs", default=os.path.join(
        SOURCE_TREE, "build", "fusefs", "crashfs"))
    parser.add_argument("--plain", default=None,
                        help="the plain client (default: next to crashfs, "
                        "in the build's bench/)")
    parser.add_argument("--crashes", type=int, default=300)
    parser.add_argument("--dump-size", type=int, default=64 * 1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="20 crashes, one run: the harness works")
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.crashes, arguments.runs = 20, 1
    if arguments.plain is None:
        build = os.path.dirname(os.path.dirname(os.path.abspath(
            arguments.crashfs)))
        arguments.plain = os.path.join(build, "bench", "hbase_plain_client")
    for path in (arguments.crashfs, arguments.plain):
        if not os.access(path, os.X_OK):
            raise SystemExit("bench/hbase.py: %s not found: build first "
                             "(meson setup build && ninja -C build)" % path)
    return arguments


class Standin:
    def __init__(self, scratch):
        self.log_path = os.path.join(scratch, "hbase-standin.log")
        self.process = None
        self.port = None

    def start(self):
        log_file = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(
                [STANDIN, "--host", "127.0.0.1", "--port", "0",
                 "--watch-stdin"], stdin=subprocess.PIPE, stdout=log_file,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log_file.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                found = re.search(rb"listening on [0-9.]+:(\d+)", f.read())
            if found:
                self.port = int(found.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise HarnessError("hbase-standin did not start: %s" %
                           harness.Harness._tail(self.log_path))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdin:
            self.process.stdin.close()


def make_crashes(directory, count, dump_size):
    """count crashes of one day: <id>/<id>.json and <id>/<id>.dump."""
    rng = random.Random(20141021)
    crashes = []
    for index in range(count):
        head = "%08x-%04x-4%03x-%04x-%012x" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
            0x8000 | rng.getrandbits(14), rng.getrandbits(48))
        crash_id = head[:29] + "2141021"
        raw = json.dumps({
            "ProductName": "Firefox", "Version": "33.0", "uuid": crash_id,
            "legacy_processing": 0,
            "submitted_timestamp": "2014-10-21T10:%02d:%02d.%06d+00:00" % (
                index // 60 % 60, index % 60, index)}).encode()
        os.makedirs(os.path.join(directory, crash_id))
        with open(os.path.join(directory, crash_id, crash_id + ".json"),
                  "wb") as f:
            f.write(raw)
        with open(os.path.join(directory, crash_id, crash_id + ".dump"),
                  "wb") as f:
            f.write(rng.randbytes(dump_size))
        crashes.append(crash_id)
    return crashes


def setup_tables(crashfs, scratch, port, prefix):
    config = os.path.join(scratch, prefix + "config.json")
    with open(config, "w") as f:
        json.dump({"store": {"type": "hbase", "host": "127.0.0.1",
                             "port": port, "table_prefix": prefix}}, f)
    harness.run_quiet([crashfs, "--setup-store", config])
    return config


def crashfs_run(bench, crashfs, scratch, port, source, crashes):
    prefix = "c%s_" % secrets.token_hex(3)
    config = setup_tables(crashfs, scratch, port, prefix)
    buffer = bytearray(1 << 20)
    mount = bench.mount_crashfs(config, label="hbase")
    by_id = os.path.join(mount.point, ".crashfs", "by-id")
    start = time.perf_counter()
    for crash_id in crashes:
        os.mkdir(os.path.join(by_id, crash_id))
        for suffix in (".json", ".dump"):
            harness.copy_file(
                os.path.join(source, crash_id, crash_id + suffix),
                os.path.join(by_id, crash_id, crash_id + suffix), buffer)
    ingest = time.perf_counter() - start
    bench.unmount(mount)

    mount = bench.mount_crashfs(config, label="hbase")
    start = time.perf_counter()
    for crash_id in crashes:
        for suffix in (".json", ".dump"):
            with open(os.path.join(mount.point, ".crashfs", "by-id",
                                   crash_id, crash_id + suffix), "rb") as f:
                data = f.read()
            with open(os.path.join(source, crash_id, crash_id + suffix),
                      "rb") as f:
                if f.read() != data:
                    raise HarnessError("%s%s came back different" % (
                        crash_id, suffix))
    read = time.perf_counter() - start
    bench.unmount(mount)
    return ingest, read


def plain_run(crashfs, plain, scratch, port, source):
    prefix = "p%s_" % secrets.token_hex(3)
    setup_tables(crashfs, scratch, port, prefix)
    arguments = [plain, "127.0.0.1", str(port), prefix]
    ingest = harness.timed_command(arguments + ["ingest", source])
    read = harness.timed_command(arguments + ["read", source])
    return ingest, read


def spread(values):
    return "%.2f..%.2f" % (min(values), max(values))


def report(count, results):
    lines = ["| operation | crashfs mount, crashes/s | plain Thrift client, "
             "crashes/s | ratio (median) | spread | runs |",
             "|---|---|---|---|---|---|"]
    for index, name in ((0, "ingest (raw crash + dump)"),
                        (1, "read back (raw crash + dump)")):
        mine = [count / r["crashfs"][index] for r in results]
        theirs = [count / r["plain"][index] for r in results]
        ratios = [a / b for a, b in zip(mine, theirs)]
        lines.append("| %s | %.0f | %.0f | %.2f | %s | %d |" % (
            name, statistics.median(mine), statistics.median(theirs),
            statistics.median(ratios), spread(ratios), len(ratios)))
    return "\n".join(lines)


def main(argv):
    arguments = parse_arguments(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench/hbase.py: run as root (it mounts)")
    scratch = tempfile.mkdtemp(prefix="crashfs-bench-hbase-",
                               dir=os.environ.get("TMPDIR", "/var/tmp"))
    bench = harness.Harness(scratch, os.path.abspath(arguments.crashfs),
                            None)
    harness.install_signal_cleanup(bench)
    standin = Standin(scratch)
    try:
        standin.start()
        source = os.path.join(scratch, "crashes")
        crashes = make_crashes(source, arguments.crashes,
                               arguments.dump_size)
        log("%d crashes of %d bytes of dump, stand-in on port %d" % (
            len(crashes), arguments.dump_size, standin.port))
        results = []
        for run in range(arguments.runs):
            result = {}
            for contender in harness.rotate(["crashfs", "plain"], run):
                if contender == "crashfs":
                    result[contender] = crashfs_run(
                        bench, arguments.crashfs, scratch, standin.port,
                        source, crashes)
                else:
                    result[contender] = plain_run(
                        arguments.crashfs, arguments.plain, scratch,
                        standin.port, source)
            log("run %d: crashfs %.2f s + %.2f s, plain %.2f s + %.2f s" % (
                run + 1, *result["crashfs"], *result["plain"]))
            results.append(result)
        print("HBase store, %d crashes (a raw crash and a %d-byte dump "
              "each), HBase Thrift stand-in on loopback\n" % (
                  len(crashes), arguments.dump_size))
        print(report(len(crashes), results))
        return 0
    except HarnessError as error:
        log("failed: %s" % error)
        return 1
    finally:
        bench.cleanup()
        standin.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
