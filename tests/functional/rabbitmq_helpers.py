"""What the RabbitMQ store's tests share: store nodes for the session's
broker, crashes written through a mount, and StoreDriver, which drives a
store tree through the C interface (tests/driver/store_driver.c)."""

import json
import os
import select
import subprocess
import time
from pathlib import Path

import crashfs_helpers as helpers


def rabbitmq_node(server, rabbitmq_queues, **extra):
    """A "rabbitmq" store node for the session's broker and the test's
    queues, publishing to the normal queue."""
    queues = rabbitmq_queues
    node = {
        "type": "rabbitmq",
        "host": server.host,
        "port": server.port,
        "vhost": server.vhost,
        "user": server.user,
        "password": server.password,
        "routing_key": queues.normal,
        "queues": {"normal": queues.normal, "priority": queues.priority,
                   "reprocessing": queues.reprocessing},
    }
    node.update(extra)
    return node


def fs_node(root, layout="radix"):
    return {"type": "fs", "root": str(root), "layout": layout}


def short_retry(attempts=3, delay=0.05):
    return {"policy": "limited", "backoff_delays": [delay] * attempts,
            "wait_log_interval": 0}


def write_config(path, store):
    path = Path(path)
    path.write_text(json.dumps({"store": store}, indent=2))
    return path


def make_crash(seed, **raw_extra):
    """A crash with a main dump (no processed crash); raw_extra changes
    its raw crash ("legacy_processing": None removes that key)."""
    crash = helpers.make_crash(seed=seed, dump_size=512, flash_size=None,
                               processed=False)
    if raw_extra:
        raw = json.loads(crash.raw)
        for key, value in raw_extra.items():
            if value is None:
                raw.pop(key, None)
            else:
                raw[key] = value
        crash.raw = helpers.socorro_json(raw)
    return crash


def write_crash(m, crash):
    """Writes a crash into the mount by id, dumps first and the raw crash
    last (Socorro's collector's order: the id is queued once the crash is
    complete).  Raises OSError if a close() fails."""
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.makedirs(directory, exist_ok=True)
    files = crash.files()
    for name in sorted(files, key=lambda n: n.endswith(".json")):
        helpers.write_file(directory / name, files[name])


def bodies(messages):
    return [message.body.decode() for message in messages]


def node_stats(m, node_path):
    return m.stats()["stores"][node_path]


def wait_for(predicate, timeout, interval=0.05):
    """Polls predicate until it returns a true value or timeout passes;
    returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# -- the C interface, through store_driver -----------------------------------

def driver_binary():
    """tests/driver/store_driver of the build that holds the daemon under
    test (CRASHFS_BINARY), so the ASan run drives the ASan build."""
    binary = os.environ.get("CRASHFS_BINARY")
    build = Path(binary).resolve().parents[1] if binary else \
        Path(__file__).resolve().parents[2] / "build"
    return build / "tests" / "driver" / "store_driver"


class DriverError(AssertionError):
    pass


class Entry:
    """One entry of a pass: crash id and token."""

    def __init__(self, crash_id, value0, value1, where):
        self.crash_id = crash_id
        self.token = (int(value0), int(value1))
        self.where = where

    def __repr__(self):
        return "<Entry %s %s %s>" % (self.crash_id, self.token, self.where)


class StoreDriver:
    """store_driver on a store tree: one command, its reply lines."""

    def __init__(self, config_path, log_path, timeout=60):
        self.timeout = timeout
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "wb")
        binary = driver_binary()
        if not os.access(binary, os.X_OK):
            raise DriverError("%s is missing: build it (ninja -C build)" %
                              binary)
        self.process = subprocess.Popen(
            [str(binary), str(config_path)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log)
        self.buffer = b""
        line = self._line()
        if line != "ready":
            raise DriverError("store_driver did not start: %r\n%s" % (
                line, self.log_text()))

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def _line(self):
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DriverError("store_driver gave no answer within "
                                  "%.0f s\n%s" % (self.timeout,
                                                  self.log_text()))
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    raise DriverError(
                        "store_driver exited (status %s)\n%s" % (
                            self.process.poll(), self.log_text()))
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def _send(self, line):
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def _result(self, verb):
        """Reads up to the reply line of verb: (result, message, the
        lines before it)."""
        lines = []
        while True:
            line = self._line()
            word, _, rest = line.partition(" ")
            if word == verb:
                number, _, message = rest.partition(" ")
                return int(number), message, lines
            if word == "error":
                raise DriverError(line)
            lines.append(line)

    def save(self, crash_id, raw=None):
        raw = {"legacy_processing": 0} if raw is None else raw
        self._send("save %s %s" % (crash_id, json.dumps(raw)))
        result, message, _ = self._result("save")
        return result, message

    def new_crashes(self):
        """One pass: (result, message, [Entry])."""
        self._send("pass")
        result, message, lines = self._result("pass")
        entries = [Entry(*line.split(" ")[1:]) for line in lines]
        return result, message, entries

    def entries(self):
        result, message, entries = self.new_crashes()
        if result != 0:
            raise DriverError("new_crashes failed: %d %s" % (result,
                                                              message))
        return entries

    def ack(self, entry, foreign=False):
        self._send("%s %s %d %d" % ("ack-foreign" if foreign else "ack",
                                    entry.crash_id, *entry.token))
        result, message, _ = self._result("ack")
        return result, message

    def setup(self):
        """(result, message, [created lines])"""
        self._send("setup")
        result, message, lines = self._result("setup")
        return result, message, [line.partition(" ")[2] for line in lines]

    def stats(self, node_path="store"):
        self._send("stats")
        line = self._line()
        word, _, text = line.partition(" ")
        if word != "stats":
            raise DriverError(line)
        return json.loads(text)[node_path]

    def close_store(self):
        self._send("close")
        if self._line() != "closed":
            raise DriverError("close failed\n%s" % self.log_text())

    def kill(self):
        self.process.kill()
        self.process.wait(self.timeout)

    def quit(self):
        """Ends the driver; returns its exit status."""
        if self.process.poll() is None:
            try:
                self._send("quit")
            except BrokenPipeError:
                pass
        try:
            return self.process.wait(self.timeout)
        finally:
            self.log.close()
            self.process.stdout.close()
            self.process.stdin.close()
