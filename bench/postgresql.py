#!/usr/bin/python3
"""bench/postgresql.py - processed crashes stored per second in PostgreSQL
through a crashfs mount, against the same rows inserted by a plain libpq
client with prepared statements (bench/pg_plain_client.c, compiled here),
in the same run, on the same server.

    bench/postgresql.py [--crashes N] [--runs R] [--writers 1,4]
                        [--crashfs PATH] [--tmp DIR] [--port PORT]
                        [--output FILE] [--smoke]

Starts its own PostgreSQL on 127.0.0.1 (contrib/services/postgresql, in a
scratch directory under --tmp), and for every run and writer count two
fresh databases set up by crashfs --setup-store: one behind a mount, where
writer threads mkdir .crashfs/by-id/<id> and write <id>.jsonz (crashfs
maps it to reports, extensions, processed_crashes and its own side table
in one transaction); one for the plain client, whose writer threads (one
connection each, statements prepared once) insert the crash's reports
row, extension rows and processed_crashes row in one transaction per
crash.  Both take the same processed crashes (about 8 KiB of JSON each,
with two extensions), dated today.  A third contender, the same writes
into a mount of the in-memory store, measures what the mount costs with
no database behind it: the ceiling of the first ratio on this machine.
The order of the contenders rotates from run to run.  Prints a Markdown
table of the median rates and the ratios (target: the mount at 0.5 of the
plain client or better); leaves nothing mounted or running.  As root (it
mounts).
"""

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import HarnessError, Series, log  # noqa: E402

SOURCE_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICE = os.path.join(SOURCE_TREE, "contrib", "services", "postgresql")
CLIENT_SOURCE = os.path.join(SOURCE_TREE, "bench", "pg_plain_client.c")
TARGET = 0.5

# spec/backends.md B.4: (processed crash key, maximum characters).
COLUMNS = [
    ("addons_checked", 0), ("address", 20), ("app_notes", 1024),
    ("build", 30), ("client_crash_date", 0), ("completeddatetime", 0),
    ("cpu_info", 100), ("cpu_name", 100), ("date_processed", 0),
    ("distributor", 20), ("distributor_version", 20), ("email", 100),
    ("exploitability", 0), ("flash_version", 0), ("hangid", 0),
    ("install_age", 0), ("last_crash", 0), ("os_name", 100),
    ("os_version", 100), ("processor_notes", 0), ("process_type", 0),
    ("product", 30), ("productid", 0), ("reason", 255),
    ("release_channel", 0), ("signature", 255), ("startedDateTime", 0),
    ("success", 0), ("topmost_filenames", 0), ("truncated", 0),
    ("uptime", 0), ("user_comments", 1024), ("user_id", 50), ("url", 255),
    ("uuid", 50), ("version", 16),
]


# -- the server ----------------------------------------------------------------

class Server:
    """A throwaway PostgreSQL (contrib/services/postgresql)."""

    def __init__(self, state_dir, port):
        self.state_dir = state_dir
        self.env = dict(os.environ, CRASHFS_TEST_PG_PORT=str(port))
        self.variables = {}

    def service(self, command):
        result = subprocess.run([SERVICE, command, self.state_dir],
                                env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                timeout=300)
        if result.returncode != 0:
            raise HarnessError("%s %s failed: %s" % (SERVICE, command,
                                                     result.stdout[-600:]))

    def start(self):
        self.service("start")
        result = subprocess.run(
            ["bash", "-c", '. "$1" && env', "bash",
             os.path.join(self.state_dir, "env")],
            stdout=subprocess.PIPE, text=True, check=True)
        for line in result.stdout.splitlines():
            key, _, value = line.partition("=")
            if key.startswith("CRASHFS_TEST_PG_"):
                self.variables[key] = value

    def stop(self):
        self.service("stop")

    def conninfo(self, database, password=True):
        v = self.variables
        text = "host=%s port=%s user=%s dbname=%s" % (
            v["CRASHFS_TEST_PG_HOST"], v["CRASHFS_TEST_PG_PORT"],
            v["CRASHFS_TEST_PG_USER"], database)
        if password:
            text += " password=%s" % v["CRASHFS_TEST_PG_PASSWORD"]
        return text

    def psql(self, sql, database="postgres"):
        psql = os.path.join(self.variables["CRASHFS_TEST_PG_BIN_DIR"],
                            "psql")
        result = subprocess.run(
            [psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d",
             self.conninfo(database), "-c", sql],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            raise HarnessError("psql: %s" % result.stderr.strip())
        return result.stdout.strip()


# -- crashes ---------------------------------------------------------------------

def crash_id_for(day, rng):
    head = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return "%s2%02d%02d%02d" % (head[:29], day.year % 100, day.month,
                                day.day)


def processed_crash(crash_id, day, rng):
    stamp = day.strftime("%Y-%m-%d")
    frames = [{"frame": i, "module": "xul.dll", "function":
               "js::gc::Sweep%d" % rng.randrange(10**6),
               "file": "hg:hg.mozilla.org/mozilla-central:js/src/jsgc.cpp",
               "line": rng.randrange(10**5), "offset": hex(rng.getrandbits(32))}
              for i in range(40)]
    return {
        "uuid": crash_id, "addons_checked": True, "address": "0x7ffd0b32",
        "app_notes": "AdapterVendorID: 0x8086", "build": "20120322151325",
        "client_crash_date": stamp + " 10:52:01.000000",
        "completeddatetime": stamp + " 10:56:50.902884",
        "cpu_info": "GenuineIntel family 6 model 42 stepping 7",
        "cpu_name": "x86", "date_processed": stamp + " 10:56:41.558922",
        "distributor": None, "distributor_version": None, "email": None,
        "exploitability": "none", "flash_version": "11.2.202.228",
        "hangid": None, "install_age": rng.randrange(10**6),
        "last_crash": 86400, "os_name": "Windows NT",
        "os_version": "6.1.7601 Service Pack 1", "processor_notes": "sparse",
        "process_type": None, "product": "Firefox",
        "productid": "{ec8030f7-c20a-464f-9b0e-13a3a9e97384}",
        "reason": "EXCEPTION_ACCESS_VIOLATION_READ",
        "release_channel": "release",
        "signature": "js::gc::Sweep%d" % rng.randrange(1000),
        "startedDateTime": stamp + " 10:56:50.440752", "success": True,
        "topmost_filenames": "jsgc.cpp|jsgcinlines.h", "truncated": False,
        "uptime": rng.randrange(10**5), "user_comments": "it crashed",
        "user_id": "", "url": "http://example.com/", "version": "12.0",
        "addons": [["{972ce4c6-7e08-4474-a285-3208198ce6fd}", "12.0"],
                   ["testpilot@labs.mozilla.com", "1.2.1"]],
        "json_dump": {"crash_info": {"address": "0x0", "crashing_thread": 0},
                      "threads": [{"frames": frames}]},
    }


def sql_text(value, limit):
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "true" if value else "false"
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:limit] if limit else text


def client_line(crash):
    """One line of pg_plain_client's input: the crash id, the 36 columns,
    the JSON, the extension rows."""
    fields = [crash["uuid"]]
    fields += [sql_text(crash.get(key), limit) for key, limit in COLUMNS]
    fields.append(json.dumps(crash))
    for index, addon in enumerate(crash["addons"]):
        fields += [str(index), sql_text(addon[0], 100), sql_text(addon[1], 0)]
    return "\x1f".join(fields)


def make_crashes(count, seed):
    rng = random.Random(seed)
    day = datetime.now(timezone.utc).date()
    crashes = []
    for _ in range(count):
        crash_id = crash_id_for(day, rng)
        crashes.append(processed_crash(crash_id, day, rng))
    return day, crashes


def week_of(day):
    return (day - timedelta(days=day.weekday())).strftime("%Y%m%d")


# -- the two contenders ----------------------------------------------------------

def store_through_mount(h, crashfs, config, crashes, writers):
    """Seconds to write every crash's .jsonz through a fresh mount."""
    mount = h.mount_crashfs(config, options=["log_level=warning"],
                            label="pg")
    by_id = os.path.join(mount.point, ".crashfs", "by-id")
    payloads = [(crash["uuid"], gzip.compress(json.dumps(crash).encode(), 6,
                                              mtime=0))
                for crash in crashes]
    failures = []

    def write(part):
        for crash_id, data in part:
            directory = os.path.join(by_id, crash_id)
            try:
                os.mkdir(directory)
                fd = os.open(os.path.join(directory, crash_id + ".jsonz"),
                             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            except OSError as error:
                failures.append("%s: %s" % (crash_id, error))

    threads = [threading.Thread(target=write, args=(payloads[i::writers],))
               for i in range(writers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    h.unmount(mount)
    if failures:
        raise HarnessError("writes through the mount failed: %s" %
                           "; ".join(failures[:3]))
    return elapsed


def store_with_client(client, server, database, week, input_path, writers):
    result = subprocess.run([client, server.conninfo(database), week,
                             input_path, str(writers)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=3600)
    if result.returncode != 0:
        raise HarnessError("pg_plain_client failed: %s" %
                           result.stderr.strip()[-600:])
    return float(result.stdout.strip())


def build_client(scratch):
    path = os.path.join(scratch, "pg_plain_client")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libpq"],
                           stdout=subprocess.PIPE, text=True, check=True)
    result = subprocess.run(["cc", "-O2", "-std=gnu11", "-Wall", "-o", path,
                             CLIENT_SOURCE] + flags.stdout.split() +
                            ["-pthread"], stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise HarnessError("cannot compile %s: %s" % (CLIENT_SOURCE,
                                                      result.stderr))
    return path


def new_database(server, crashfs, scratch, name):
    server.psql('CREATE DATABASE "%s"' % name)
    config = os.path.join(scratch, name + ".json")
    with open(config, "w") as f:
        json.dump({"store": {
            "type": "postgresql", "dsn": server.conninfo(name, False),
            "password_file": server.variables[
                "CRASHFS_TEST_PG_PASSWORD_FILE"]}}, f)
    result = subprocess.run([crashfs, "--setup-store", config],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if result.returncode != 0:
        raise HarnessError("--setup-store: %s" % result.stderr)
    return config


def count_rows(server, database, week, expected):
    for table in ("reports", "processed_crashes"):
        rows = int(server.psql("SELECT count(*) FROM %s_%s" % (table, week),
                               database))
        if rows != expected:
            raise HarnessError("%s: %s_%s holds %d rows, not %d" % (
                database, table, week, rows, expected))


# -- the run ------------------------------------------------------------------

def measure(args, h, server, client, scratch):
    day, crashes = make_crashes(args.crashes, seed=20121015)
    week = week_of(day)
    input_path = os.path.join(scratch, "crashes.txt")
    with open(input_path, "w") as f:
        for crash in crashes:
            f.write(client_line(crash) + "\n")
    memory_config = os.path.join(scratch, "memory.json")
    with open(memory_config, "w") as f:
        json.dump({"store": {"type": "memory", "max_bytes": 1 << 30}}, f)
    results = {}
    serial = 0
    for writers in args.writers:
        series = {name: Series() for name in
                  ("mount", "client", "ceiling", "ratio", "ceiling_ratio")}
        for run in range(args.runs):
            contenders = harness.rotate(["mount", "client", "ceiling"], run)
            seconds = {}
            for contender in contenders:
                if contender == "ceiling":
                    seconds[contender] = store_through_mount(
                        h, args.crashfs, memory_config, crashes, writers)
                    continue
                serial += 1
                name = "bench_%s_%d" % (contender, serial)
                config = new_database(server, args.crashfs, scratch, name)
                if contender == "mount":
                    seconds[contender] = store_through_mount(
                        h, args.crashfs, config, crashes, writers)
                else:
                    seconds[contender] = store_with_client(
                        client, server, name, week, input_path, writers)
                count_rows(server, name, week, len(crashes))
                server.psql('DROP DATABASE "%s"' % name)
            rates = {name: len(crashes) / value
                     for name, value in seconds.items()}
            for name, rate in rates.items():
                series[name].add(rate)
            series["ratio"].add(rates["mount"] / rates["client"])
            series["ceiling_ratio"].add(rates["ceiling"] / rates["client"])
            log("%d writer(s), run %d: mount %.0f/s, plain client %.0f/s, "
                "ratio %.2f; memory-store mount %.0f/s (ratio %.2f)" % (
                    writers, run + 1, rates["mount"], rates["client"],
                    rates["mount"] / rates["client"], rates["ceiling"],
                    rates["ceiling"] / rates["client"]))
        results[writers] = series
    return results


def table(results, args):
    lines = [
        "| scenario | mount (crashes/s) | plain libpq (crashes/s) | ratio "
        "(median, low-high) | target | verdict | memory-store mount "
        "(crashes/s, ratio) |",
        "|---|---|---|---|---|---|---|",
    ]
    for writers, series in results.items():
        ratios = series["ratio"]
        median = ratios.median()
        verdict = "PASS" if median >= TARGET else \
            "MISS by %.2f" % (TARGET - median)
        lines.append("| store %d processed crashes, %d writer%s | %.0f | "
                     "%.0f | %.2f (%.2f-%.2f) | >= %.1f | %s | %.0f, %.2f |"
                     % (args.crashes, writers, "s" if writers > 1 else "",
                        series["mount"].median(), series["client"].median(),
                        median, ratios.low(), ratios.high(), TARGET, verdict,
                        series["ceiling"].median(),
                        series["ceiling_ratio"].median()))
    return "\n".join(lines)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crashes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writers", default="1,4")
    parser.add_argument("--crashfs", default=os.path.join(
        SOURCE_TREE, "build", "fusefs", "crashfs"))
    parser.add_argument("--tmp", default=os.environ.get("TMPDIR",
                                                        "/var/tmp"))
    parser.add_argument("--port", type=int, default=int(os.environ.get(
        "CRASHFS_BENCH_PG_PORT", "55942")))
    parser.add_argument("--output")
    parser.add_argument("--smoke", action="store_true",
                        help="a quick check of the script: 50 crashes, "
                        "one run")
    args = parser.parse_args()
    args.writers = [int(w) for w in args.writers.split(",")]
    if args.smoke:
        args.crashes, args.runs = 50, 1
    args.crashfs = os.path.abspath(args.crashfs)
    return args


def main():
    args = parse_arguments()
    if os.geteuid() != 0:
        log("needs root (it mounts)")
        return 2
    if not os.access(args.crashfs, os.X_OK):
        log("no crashfs at %s (build it, or --crashfs)" % args.crashfs)
        return 2
    scratch = tempfile.mkdtemp(prefix="crashfs-bench-pg-", dir=args.tmp)
    os.chmod(scratch, 0o755)  # the server's user traverses it
    h = harness.Harness(scratch, args.crashfs, None)
    harness.install_signal_cleanup(h)
    server = Server(os.path.join(scratch, "server"), args.port)
    started = False
    try:
        os.makedirs(server.state_dir)
        os.chmod(server.state_dir, 0o755)
        client = build_client(scratch)
        server.start()
        started = True
        results = measure(args, h, server, client, scratch)
        text = table(results, args)
        print(text)
        if args.output:
            with open(args.output, "w") as f:
                f.write(text + "\n")
        return 0
    except HarnessError as error:
        log("failed: %s" % error)
        return 1
    finally:
        h.cleanup()
        if started:
            try:
                server.stop()
            except HarnessError as error:
                log("stopping the server: %s" % error)
        if not harness.mounted_points() & {m.point for m in h.mounts}:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
