"""Fixtures for tests that mount real crashfs instances.

    def test_something(mount, workdir):
        m = mount(workdir / "store", layout="dated")
        ...                              # use m.path like any directory
        assert m.unmount() == 0          # optional: teardown unmounts anyway

Environment:
  CRASHFS_BINARY        the daemon (default: build/fusefs/crashfs of the
                        source tree); a missing binary fails the tests.
  CRASHFS_TEST_TMPDIR   where per-test directories and mount points go
                        (default: <system temp dir>/crashfs-tests); tests/run
                        points it into its state directory so that it can
                        clean up after a killed run.
  CRASHFS_TEST_TIME_SCALE  multiplies every timeout (default 1, or 4 for a
                        binary built with AddressSanitizer).
  CRASHFS_KEEP_TMP=1    keep per-test directories of failed tests.

Every daemon runs in the foreground (-f) as a child process with its stderr
in a log file.  A mount is ready when /proc/self/mountinfo lists it: a hung
daemon would block a stat() of its mount point, so the fixtures never stat
one.  Teardown always detaches (fusermount3 -uz), waits for the daemon and
kills it by PID if it does not exit, then fails the test if the daemon
wrote a sanitizer report or did not exit cleanly after its unmount.  A
per-test watchdog kills the daemons of a test that runs past its time limit
(a request stuck in the kernel returns ENOTCONN once its daemon is gone),
so one hung mount cannot hang the whole run.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crashfs_helpers as helpers  # noqa: E402
from hbase_server import hbase_client, hbase_server, hbase_standin  # noqa: E402,F401
from servers import *  # noqa: E402,F401,F403 (server fixtures)

SOURCE_TREE = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = SOURCE_TREE / "build" / "fusefs" / "crashfs"
DEFAULT_TIME_LIMIT = 120  # seconds per test, before scaling

SANITIZER_REPORT = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|MemorySanitizer)"
    r"|WARNING: ThreadSanitizer"
    r"|UndefinedBehaviorSanitizer"
    r"|^\S+:\d+:\d+: runtime error: ", re.MULTILINE)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "time_limit(seconds): this test's watchdog limit "
        "(before CRASHFS_TEST_TIME_SCALE)")
    config.addinivalue_line(
        "markers", "no_daemon: runs no crashfs daemon (the test servers' "
        "own tests): tests/run runs it once, not again under the "
        "sanitizers")


# -- the binary and its environment ---------------------------------------

def _binary_path():
    return Path(os.environ.get("CRASHFS_BINARY") or DEFAULT_BINARY)


def _is_sanitized(binary):
    try:
        with open(binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


@pytest.fixture(scope="session")
def crashfs_binary():
    """The crashfs executable; the tests fail (never skip) without it."""
    binary = _binary_path()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail("crashfs binary not found at %s: build it first "
                    "(meson setup build && ninja -C build) or set "
                    "CRASHFS_BINARY" % binary, pytrace=False)
    return binary.resolve()


@pytest.fixture(scope="session")
def time_scale(crashfs_binary):
    value = os.environ.get("CRASHFS_TEST_TIME_SCALE")
    if value:
        return float(value)
    return 4.0 if _is_sanitized(crashfs_binary) else 1.0


@pytest.fixture(scope="session")
def sanitized(crashfs_binary):
    """True when the daemon was built with AddressSanitizer."""
    return _is_sanitized(crashfs_binary)


def daemon_environment(extra=None):
    env = dict(os.environ)
    # Sanitizer reports must reach the log the fixtures inspect.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:"
                   "halt_on_error=1:strict_string_checks=1:"
                   "detect_stack_use_after_return=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update(extra or {})
    return env


# -- per-test directories ---------------------------------------------------

def _tmp_base():
    base = os.environ.get("CRASHFS_TEST_TMPDIR") or os.path.join(
        tempfile.gettempdir(), "crashfs-tests")
    os.makedirs(base, exist_ok=True)
    return base


def _rmtree_unless_mounted(path):
    if helpers.mounts_below(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True


@pytest.fixture
def workdir(request):
    """A fresh directory for this test, removed afterwards unless something
    is still mounted in it (or CRASHFS_KEEP_TMP=1 and the test failed)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:60]
    path = Path(tempfile.mkdtemp(prefix=name + "-", dir=_tmp_base()))
    yield path
    failed = getattr(request.node, "rep_call", None)
    failed = failed is not None and failed.failed
    if failed and os.environ.get("CRASHFS_KEEP_TMP") == "1":
        return
    _rmtree_unless_mounted(path)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


# -- mounts -----------------------------------------------------------------

class MountError(AssertionError):
    pass


class Mount:
    """One crashfs daemon and its mount point."""

    def __init__(self, registry, source, mountpoint, arguments, log_path,
                 env=None):
        self.registry = registry
        self.env = env
        self.source = Path(source)
        self.path = Path(mountpoint)
        self.arguments = arguments
        self.log_path = Path(log_path)
        self.process = None
        self.returncode = None
        self.killed = False  # killed on purpose: no exit-status complaint
        self.start_failed = False  # reported when it happened
        self.unmounted = False

    @property
    def pid(self):
        return self.process.pid

    def __repr__(self):
        return "<Mount %s of %s>" % (self.path, self.source)

    def stderr_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def is_mounted(self):
        return helpers.is_mounted(self.path)

    def is_running(self):
        return self.process.poll() is None

    def _start(self, timeout, expect_failure):
        log = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(
                self.arguments, stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, env=daemon_environment(self.env),
                start_new_session=True)
        finally:
            log.close()
        self.registry.record_pid(self.process.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_mounted():
                if expect_failure:
                    self.start_failed = True
                    raise MountError("crashfs mounted %s although it should "
                                     "have refused: %s" % (
                                         self.path, " ".join(self.arguments)))
                return
            code = self.process.poll()
            if code is not None:
                self.returncode = code
                if expect_failure:
                    return
                self.start_failed = True
                raise MountError("crashfs exited with status %d before "
                                 "mounting %s\ncommand: %s\nstderr:\n%s" % (
                                     code, self.path,
                                     " ".join(map(str, self.arguments)),
                                     self.stderr_text()[-4000:]))
            time.sleep(0.02)
        self.start_failed = True
        raise MountError("crashfs did not mount %s within %.0f s\nstderr:\n%s"
                         % (self.path, timeout, self.stderr_text()[-4000:]))

    def wait(self, timeout):
        """Waits for the daemon to exit; returns its status or None."""
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def unmount(self, timeout=None):
        """fusermount3 -u, then waits for the daemon to exit; returns its
        exit status.  A busy mount is an error (the caller left something
        open)."""
        timeout = timeout or 30 * self.registry.time_scale
        result = subprocess.run(["fusermount3", "-u", str(self.path)],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise MountError("fusermount3 -u %s failed: %s" % (
                self.path, result.stdout.strip()))
        self.unmounted = True
        code = self.wait(timeout)
        if code is None:
            raise MountError("crashfs (pid %d) did not exit within %.0f s of "
                             "its unmount" % (self.pid, timeout))
        return code

    def kill(self, sig=signal.SIGKILL):
        """Kills the daemon on purpose; the dead mount stays until
        detach() (or teardown)."""
        self.killed = True
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        self.wait(30 * self.registry.time_scale)

    def detach(self):
        """fusermount3 -uz: always works, even for a dead daemon."""
        if self.is_mounted():
            subprocess.run(["fusermount3", "-uz", str(self.path)],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        self.unmounted = True

    def stats(self):
        """The parsed .crashfs/stats of this mount."""
        with open(self.path / ".crashfs" / "stats", "rb") as f:
            return json.loads(f.read())

    def store_path(self, *parts):
        return self.source.joinpath(*parts)

    def teardown(self):
        """Detaches, stops the daemon; returns a list of problems."""
        problems = []
        if self.process is None:
            return problems
        self.detach()
        grace = 20 * self.registry.time_scale
        code = self.process.poll()
        if code is None:
            code = self.wait(grace)
        if code is None:
            problems.append("crashfs (pid %d, %s) did not exit within %.0f s "
                            "of its unmount; killed" % (self.pid, self.path,
                                                        grace))
            self.process.kill()
            self.wait(30)
        elif not self.killed and not self.start_failed and \
                self.returncode not in (None, 0) and \
                not self.registry.expected_failure(self):
            problems.append("crashfs (pid %d, %s) exited with status %d "
                            "after its unmount" % (self.pid, self.path,
                                                   code))
        self.registry.forget_pid(self.pid)
        text = self.stderr_text()
        report = SANITIZER_REPORT.search(text)
        if report:
            # From the "=====" line that opens the report (or its line).
            start = text.rfind("=====", 0, report.start())
            if start < 0 or report.start() - start > 200:
                start = text.rfind("\n", 0, report.start()) + 1
            problems.append("crashfs (%s) wrote a sanitizer report:\n%s" % (
                self.path, text[start:start + 12000]))
        return problems


class MountRegistry:
    def __init__(self, binary, workdir, time_scale):
        self.binary = binary
        self.workdir = Path(workdir)
        self.time_scale = time_scale
        self.mounts = []
        self.failures_expected = set()
        self.timed_out = False
        self.pid_dir = Path(_tmp_base()) / "pids"
        self.pid_dir.mkdir(exist_ok=True)

    # Pid files let tests/run stop daemons of a run that was killed.
    def record_pid(self, pid):
        (self.pid_dir / str(pid)).write_text(str(self.workdir))

    def forget_pid(self, pid):
        try:
            (self.pid_dir / str(pid)).unlink()
        except OSError:
            pass

    def expected_failure(self, mount):
        return id(mount) in self.failures_expected

    def __call__(self, source, *options, layout=None, expect_failure=False,
                 spool=True, foreground=True, extra_args=(), mountpoint=None,
                 env=None):
        """Starts crashfs SOURCE MOUNTPOINT -f -o options.

        layout adds -o layout=...; spool=True gives each mount its own
        spool directory in the test's directory (spool=False: the daemon's
        default).  With expect_failure the daemon must exit without
        mounting; the Mount is returned with .returncode set.  env adds to
        the daemon's environment."""
        index = len(self.mounts)
        if mountpoint is None:
            mountpoint = self.workdir / ("mnt%d" % index)
        mountpoint = Path(mountpoint)
        mountpoint.mkdir(parents=True, exist_ok=True)
        options = list(options)
        if layout is not None:
            options.append("layout=" + layout)
        if spool is True:
            spool_dir = self.workdir / ("spool%d" % index)
            spool_dir.mkdir(exist_ok=True)
            options.append("spool=%s" % spool_dir)
        arguments = [str(self.binary), str(source), str(mountpoint)]
        if foreground:
            arguments.append("-f")
        arguments.extend(extra_args)
        if options:
            arguments.extend(["-o", ",".join(options)])
        mount = Mount(self, source, mountpoint, arguments,
                      self.workdir / ("crashfs%d.log" % index), env)
        self.mounts.append(mount)
        if expect_failure:
            self.failures_expected.add(id(mount))
        mount._start(15 * self.time_scale, expect_failure)
        return mount

    def on_timeout(self):
        self.timed_out = True
        for mount in self.mounts:
            if mount.process is not None and mount.process.poll() is None:
                mount.killed = True
                mount.process.kill()

    def teardown(self):
        problems = []
        for mount in reversed(self.mounts):
            problems.extend(mount.teardown())
        return problems


@pytest.fixture
def mount(crashfs_binary, workdir, time_scale, request):
    """Factory: mount(source, *options, layout=None, expect_failure=False,
    spool=True) -> Mount."""
    registry = MountRegistry(crashfs_binary, workdir, time_scale)
    marker = request.node.get_closest_marker("time_limit")
    limit = (marker.args[0] if marker else DEFAULT_TIME_LIMIT) * time_scale
    watchdog = threading.Timer(limit, registry.on_timeout)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield registry
    finally:
        watchdog.cancel()
        problems = registry.teardown()
    if registry.timed_out:
        problems.insert(0, "the test ran past its time limit of %.0f s; its "
                        "crashfs daemons were killed" % limit)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# -- shortcuts used by many tests -------------------------------------------

@pytest.fixture
def store_dir(workdir):
    """A path for an embedded store (not created: crashfs creates it)."""
    return workdir / "store"


def run(command, **kwargs):
    return helpers.run(command, **kwargs)
