#!/usr/bin/python3
"""bench/rabbitmq.py: crashes queued per second through a mount of
poly(fs, rabbitmq) against a mount of the fs store alone, side by side in
the same run, and their ratio; and against poly(fs, null), which tells
the container's own cost from the queue's.

    bench/rabbitmq.py                   1,000 crashes, 1 and 4 writers, 5 runs
    bench/rabbitmq.py --smoke           20 crashes, 1 writer, 1 run
    bench/rabbitmq.py --crashes N --runs R --writers 1,4

Each crash is a raw crash (~1 KB of JSON, legacy_processing 0) and a
16 KiB dump, written the collector's way: mkdir of .crashfs/by-id/<id>,
the dump, then the raw crash, by forked writer processes.  A run mounts
a fresh fs store (radix) for each contender; the poly's RabbitMQ member
publishes each id with publisher confirms to a queue of its own, and
after the run the queue must hold exactly one message per crash.  The
order of the contenders rotates from run to run.

The broker: the one tests/run started when CRASHFS_TEST_RABBITMQ_URL and
_STATE_DIR are exported, else one started here with
contrib/services/rabbitmq on 127.0.0.1, port CRASHFS_BENCH_RABBITMQ_PORT
(default 56820, and the ports after it), in the scratch directory, and
stopped at the end.  Everything mounted or started is undone on exit.
Needs root (FUSE) and python3-pika.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import harness as hz  # noqa: E402

try:
    import pika
except ImportError:
    pika = None

SERVICE = os.path.join(REPO_DIR, "contrib", "services", "rabbitmq")
DUMP_SIZE = 16 << 10
WRITER_TIMEOUT = 900
# fs alone (the baseline), the poly without a queue, the poly with one.
CONTENDERS = ("fs", "poly-null", "poly-rabbitmq")


# ---- the broker ---------------------------------------------------------------

class Broker:
    def __init__(self, scratch):
        self.state_dir = None
        env = os.environ
        if env.get("CRASHFS_TEST_RABBITMQ_URL") and \
                env.get("CRASHFS_TEST_RABBITMQ_STATE_DIR"):
            variables = env
        else:
            self.state_dir = os.path.join(scratch, "rabbitmq")
            os.makedirs(self.state_dir)
            os.chmod(self.state_dir, 0o755)
            port = env.get("CRASHFS_BENCH_RABBITMQ_PORT", "56820")
            self.service_env = dict(env, CRASHFS_TEST_RABBITMQ_PORT=port)
            hz.log("starting a RabbitMQ node on 127.0.0.1:%s" % port)
            self._service("start")
            variables = self._exported()
        self.host = variables["CRASHFS_TEST_RABBITMQ_HOST"]
        self.port = int(variables["CRASHFS_TEST_RABBITMQ_PORT"])
        self.user = variables["CRASHFS_TEST_RABBITMQ_USER"]
        self.password = variables["CRASHFS_TEST_RABBITMQ_PASSWORD"]
        self.vhost = variables["CRASHFS_TEST_RABBITMQ_VHOST"]

    def _service(self, command):
        result = subprocess.run([SERVICE, command, self.state_dir],
                                env=self.service_env,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                timeout=300)
        if result.returncode != 0:
            raise hz.HarnessError("%s %s failed: %s" % (
                SERVICE, command, result.stdout.strip()[-600:]))

    def _exported(self):
        result = subprocess.run(
            ["bash", "-c", '. "$1" && env -0', "bash",
             os.path.join(self.state_dir, "env")],
            stdout=subprocess.PIPE, check=True, timeout=60)
        variables = {}
        for entry in result.stdout.decode().split("\0"):
            key, _, value = entry.partition("=")
            variables[key] = value
        return variables

    def stop(self):
        if self.state_dir:
            self._service("stop")
            self.state_dir = None

    def _channel_call(self, action):
        parameters = pika.ConnectionParameters(
            host=self.host, port=self.port, virtual_host=self.vhost,
            credentials=pika.PlainCredentials(self.user, self.password))
        connection = pika.BlockingConnection(parameters)
        try:
            return action(connection.channel())
        finally:
            connection.close()

    def message_count(self, queue):
        return self._channel_call(lambda channel: channel.queue_declare(
            queue, passive=True)).method.message_count

    def delete(self, queues):
        def delete_all(channel):
            for queue in queues:
                channel.queue_delete(queue)
        self._channel_call(delete_all)

    def node(self, queues):
        return {"type": "rabbitmq", "host": self.host, "port": self.port,
                "vhost": self.vhost, "user": self.user,
                "password": self.password, "routing_key": queues[0],
                "queues": {"normal": queues[0], "priority": queues[1],
                           "reprocessing": queues[2]}}


# ---- crashes and writers ----------------------------------------------------------

def make_crashes(count, seed=1):
    rng = random.Random(seed)
    day = time.strftime("%y%m%d", time.gmtime())
    crashes = []
    for _ in range(count):
        head = "%032x" % rng.getrandbits(128)
        crash_id = "%s-%s-%s-%s-%s2%s" % (head[:8], head[8:12], head[12:16],
                                          head[16:20], head[20:25], day)
        raw = {"ProductName": "Firefox", "Version": "%d.0" % rng.randint(30, 140),
               "uuid": crash_id, "legacy_processing": 0,
               "Notes": "x" * 800}
        crashes.append((crash_id, json.dumps(raw).encode(),
                        rng.randbytes(DUMP_SIZE)))
    return crashes


def write_crashes(root, crashes):
    for crash_id, raw, dump in crashes:
        directory = os.path.join(root, ".crashfs", "by-id", crash_id)
        os.mkdir(directory)
        with open(os.path.join(directory, crash_id + ".dump"), "wb") as f:
            f.write(dump)
        with open(os.path.join(directory, crash_id + ".json"), "wb") as f:
            f.write(raw)


def run_writers(root, crashes, writers):
    """Forks the writers (each every writers-th crash); seconds until the
    last close() returned."""
    start = time.perf_counter()
    children = []
    for index in range(writers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(signum, signal.SIG_DFL)
                signal.alarm(WRITER_TIMEOUT)
                write_crashes(root, crashes[index::writers])
                code = 0
            except BaseException as error:
                sys.stderr.write("bench: writer %d: %s\n" % (index, error))
                sys.stderr.flush()
            os._exit(code)
        children.append(pid)
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    elapsed = time.perf_counter() - start
    if failed:
        raise hz.HarnessError("%d of %d writers failed" % (failed, writers))
    return elapsed


def count_raw_crashes(store):
    found = 0
    for _, _, files in os.walk(store):
        found += sum(1 for name in files if name.endswith(".json"))
    return found


# ---- one measurement ------------------------------------------------------------

def measure(harness, broker, contender, crashes, writers, run):
    store = harness.fresh_dir("store")
    queues = ["crashfs-bench.%d.%d.%s.%s" % (os.getpid(), run, writers, role)
              for role in ("normal", "priority", "reprocessing")]
    fs_node = {"type": "fs", "root": store, "layout": "radix"}
    if contender == "fs":
        tree = fs_node
    elif contender == "poly-null":
        tree = {"type": "poly", "stores": [fs_node, {"type": "null"}]}
    else:
        tree = {"type": "poly", "stores": [fs_node, broker.node(queues)]}
    config = os.path.join(harness.fresh_dir("config"), "stores.json")
    with open(config, "w") as f:
        json.dump({"store": tree}, f)
    mount = harness.mount_crashfs(config, label=contender)
    try:
        elapsed = run_writers(mount.point, crashes, writers)
    finally:
        harness.unmount(mount)
    stored = count_raw_crashes(store)
    if stored != len(crashes):
        raise hz.HarnessError("%s: %d raw crashes stored, expected %d" % (
            contender, stored, len(crashes)))
    if contender == "poly-rabbitmq":
        try:
            queued = broker.message_count(queues[0])
            if queued != len(crashes):
                raise hz.HarnessError("%d crash ids queued, expected %d" % (
                    queued, len(crashes)))
        finally:
            broker.delete(queues)
    harness.remove_tree(store)
    return len(crashes) / elapsed


def median_and_spread(values):
    series = hz.Series()
    for value in values:
        series.add(value)
    return series.median(), series.low(), series.high()


def cell(values, digits=0):
    median, low, high = median_and_spread(values)
    form = "%%.%df" % digits
    if len(values) == 1:
        return form % median
    return (form + " (" + form + "-" + form + ")") % (median, low, high)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crashes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--writers", default="1,4")
    parser.add_argument("--smoke", action="store_true",
                        help="20 crashes, 1 writer, 1 run")
    parser.add_argument("--crashfs", default=os.environ.get(
        "CRASHFS_BINARY", os.path.join(REPO_DIR, "build", "fusefs", "crashfs")))
    args = parser.parse_args()
    if args.smoke:
        args.crashes, args.runs, args.writers = 20, 1, "1"
    writer_counts = [int(w) for w in args.writers.split(",")]
    if pika is None:
        raise SystemExit("bench: python3-pika is missing (apt-get install "
                         "python3-pika; run with /usr/bin/python3)")
    if not os.access(args.crashfs, os.X_OK):
        raise SystemExit("bench: %s is missing: build it first" % args.crashfs)

    scratch = tempfile.mkdtemp(prefix="crashfs-bench-rabbitmq-",
                               dir=os.environ.get("CRASHFS_BENCH_TMPDIR"))
    os.chmod(scratch, 0o755)  # the broker's user traverses it
    harness = hz.Harness(scratch, args.crashfs, None)
    hz.install_signal_cleanup(harness)
    broker = None
    try:
        broker = Broker(scratch)
        crashes = make_crashes(args.crashes)
        rows = []
        for writers in writer_counts:
            rates = {name: [] for name in CONTENDERS}
            for run in range(args.runs):
                for contender in hz.rotate(list(CONTENDERS), run):
                    rate = measure(harness, broker, contender, crashes,
                                   writers, run)
                    rates[contender].append(rate)
                    hz.log("%d writer(s), run %d: %s %.0f crashes/s" % (
                        writers, run + 1, contender, rate))
            rows.append((writers, rates))
    finally:
        harness.cleanup()
        if broker is not None:
            broker.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    print("crashes stored (and queued) per second, %d crashes of %d KiB (dump) + ~1 KB "
          "(raw crash), median (min-max) of %d run%s" % (
              args.crashes, DUMP_SIZE >> 10, args.runs,
              "" if args.runs == 1 else "s"))
    print()
    print("| writers | fs alone | poly(fs, null) | poly(fs, rabbitmq) "
          "| rabbitmq / fs alone | rabbitmq / poly(fs, null) |")
    print("|---|---|---|---|---|---|")
    for writers, rates in rows:
        queue = rates["poly-rabbitmq"]
        print("| %d | %s | %s | %s | %s | %s |" % (
            writers, cell(rates["fs"]), cell(rates["poly-null"]),
            cell(queue),
            cell([q / f for q, f in zip(queue, rates["fs"])], 2),
            cell([q / n for q, n in zip(queue, rates["poly-null"])], 2)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except hz.HarnessError as error:
        sys.stderr.write("bench: %s\n" % error)
        sys.exit(1)
