"""Benchmark harness: processes, mounts, caches, timing and cleanup.

Everything the suite starts is recorded here and undone by Harness.cleanup():
its own FUSE mounts (fusermount3 -uz), its own daemon processes (by PID),
its scratch directory.  Forked writer processes never run the cleanup (it
belongs to the process that created the harness).
"""

import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time


class HarnessError(Exception):
    """The harness itself failed (not a slow result): the suite exits 1."""


def log(message):
    sys.stderr.write("bench: %s\n" % message)
    sys.stderr.flush()


def run_quiet(argv, check=True, **kwargs):
    """Runs a command, output to /dev/null; raises HarnessError on failure."""
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    if check and result.returncode != 0:
        raise HarnessError("%s exited %d: %s" % (" ".join(argv), result.returncode,
            result.stderr.decode(errors="replace").strip()[-400:]))
    return result


COMMAND_TIMEOUT = 900


def timed_command(argv, cwd=None):
    """Wall-clock seconds of a command whose output is discarded."""
    env = dict(os.environ, LC_ALL="C")
    start = time.perf_counter()
    try:
        result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            cwd=cwd, env=env, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HarnessError("%s took over %d s" % (" ".join(argv), COMMAND_TIMEOUT))
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise HarnessError("%s exited %d: %s" % (" ".join(argv), result.returncode,
            result.stderr.decode(errors="replace").strip()[-400:]))
    return elapsed


def mounted_points():
    """Mount points from /proc/self/mountinfo (never stat a mount: a hung
    daemon would hang the harness)."""
    points = set()
    with open("/proc/self/mountinfo") as info:
        for line in info:
            field = line.split(" ")[4]
            points.add(field.replace("\\040", " ").replace("\\011", "\t")
                .replace("\\012", "\n").replace("\\134", "\\"))
    return points


def raise_file_limit():
    """passthrough_ll keeps one O_PATH descriptor per inode the kernel knows;
    a 5,000-crash ingest needs more than a default limit of 1024-20000."""
    try:
        ceiling = int(open("/proc/sys/fs/nr_open").read())
    except (OSError, ValueError):
        ceiling = 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, ceiling))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Mount:
    def __init__(self, kind, source, point, process, log_path):
        self.kind = kind
        self.source = source
        self.point = point
        self.process = process
        self.log_path = log_path

    @property
    def pid(self):
        return self.process.pid

    def peak_rss_mib(self):
        """VmHWM of the daemon, MiB (the mount must still be up)."""
        with open("/proc/%d/status" % self.pid) as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        raise HarnessError("no VmHWM for pid %d" % self.pid)

    def threads(self):
        return len(os.listdir("/proc/%d/task" % self.pid))


class Harness:
    def __init__(self, scratch, crashfs, passthrough, debug=False):
        self.scratch = scratch
        self.crashfs = crashfs
        self.passthrough = passthrough
        self.debug = debug
        self.owner_pid = os.getpid()
        self.mounts = []
        self.counter = 0
        self.cold_method = None

    # ---- scratch space -------------------------------------------------

    def fresh_dir(self, label):
        self.counter += 1
        path = os.path.join(self.scratch, "%s-%d" % (label, self.counter))
        os.makedirs(path)
        return path

    def remove_tree(self, path):
        """rm -rf a scratch tree (never a mount point: unmount first)."""
        if not path or not path.startswith(self.scratch + os.sep):
            raise HarnessError("refusing to remove %r outside the scratch dir" % path)
        if path in mounted_points():
            raise HarnessError("refusing to remove mounted %s" % path)
        run_quiet(["rm", "-rf", "--one-file-system", path])

    # ---- caches --------------------------------------------------------

    def probe_cold_method(self):
        """drop_caches needs root; without it, cold file reads evict the
        file with posix_fadvise(DONTNEED) and cold listings are only a fresh
        mount (the underlying dentry cache stays warm)."""
        try:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as drop:
                drop.write("3\n")
            self.cold_method = "drop_caches"
        except OSError as error:
            log("drop_caches unavailable (%s): cold = posix_fadvise(DONTNEED) + fresh mount"
                % error.strerror)
            self.cold_method = "fadvise"
        return self.cold_method

    def drop_caches(self, files=()):
        os.sync()
        if self.cold_method == "drop_caches":
            with open("/proc/sys/vm/drop_caches", "w") as drop:
                drop.write("3\n")
            return
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)

    # ---- mounts --------------------------------------------------------

    def mount_crashfs(self, source, options=(), flags=(), label="crashfs"):
        point = self.fresh_dir(label + "-mnt")
        argv = [self.crashfs, source, point, "-f"] + list(flags)
        if options:
            argv += ["-o", ",".join(options)]
        return self._start(Mount("crashfs", source, point, None, None), argv)

    def mount_passthrough(self, source, label="ptll"):
        point = self.fresh_dir(label + "-mnt")
        argv = [self.passthrough, "-o", "source=%s" % source, point, "-f"]
        return self._start(Mount("passthrough_ll", source, point, None, None), argv,
            preexec=raise_file_limit)

    def _start(self, mount, argv, preexec=None):
        mount.log_path = mount.point + ".log"
        logfile = open(mount.log_path, "wb")
        try:
            mount.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logfile,
                stderr=subprocess.STDOUT, preexec_fn=preexec, start_new_session=True)
        finally:
            logfile.close()
        self.mounts.append(mount)
        deadline = time.monotonic() + 20
        while mount.point not in mounted_points():
            if mount.process.poll() is not None:
                self.mounts.remove(mount)
                raise HarnessError("%s exited %d before mounting: %s" % (
                    " ".join(argv), mount.process.returncode, self._tail(mount.log_path)))
            if time.monotonic() > deadline:
                raise HarnessError("%s did not mount within 20 s: %s" % (
                    " ".join(argv), self._tail(mount.log_path)))
            time.sleep(0.02)
        if self.debug:
            log("mounted %s (pid %d): %s" % (mount.point, mount.pid, " ".join(argv)))
        return mount

    @staticmethod
    def _tail(path):
        try:
            with open(path, "rb") as text:
                return text.read()[-600:].decode(errors="replace").strip()
        except OSError:
            return "(no log)"

    def unmount(self, mount):
        """Unmounts and waits for the daemon to exit; a daemon that exits
        badly is a harness error (its log tail is reported)."""
        for attempt in range(50):
            result = subprocess.run(["fusermount3", "-u", mount.point],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if result.returncode == 0 or mount.point not in mounted_points():
                break
            time.sleep(0.1)
        else:
            subprocess.run(["fusermount3", "-uz", mount.point],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            code = mount.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            mount.process.kill()
            code = mount.process.wait()
            self.mounts.remove(mount)
            raise HarnessError("%s (pid %d) did not exit after unmount" % (mount.kind, mount.pid))
        self.mounts.remove(mount)
        if code != 0:
            raise HarnessError("%s (pid %d) exited %d after unmount: %s" % (
                mount.kind, mount.pid, code, self._tail(mount.log_path)))
        os.rmdir(mount.point)

    def cleanup(self):
        """Undo everything: only in the process that built the harness."""
        if os.getpid() != self.owner_pid:
            return
        for mount in list(self.mounts):
            subprocess.run(["fusermount3", "-uz", mount.point],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if mount.process.poll() is None:
                try:
                    mount.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    mount.process.kill()
                    mount.process.wait()
            self.mounts.remove(mount)


# ---- time budget ------------------------------------------------------------

class Plan:
    """How many runs a scenario may make: up to `runs`, at least
    `min_runs`, and no new run once the time share would be exceeded (the
    average run so far predicts the next one)."""

    def __init__(self, runs, seconds=None, min_runs=1):
        self.runs = runs
        self.seconds = seconds
        self.min_runs = min_runs
        self.started = None
        self.completed = 0
        self.cut = False

    def begin(self):
        if self.started is None:
            self.started = time.monotonic()

    def may_start(self, run):
        if run >= self.runs:
            return False
        if run < self.min_runs or self.seconds is None:
            return True
        elapsed = time.monotonic() - self.started
        if elapsed + elapsed / run <= self.seconds:
            return True
        self.cut = True
        return False


class Budget:
    """Shares the time left until the suite's deadline among the steps
    still to run, by weight."""

    def __init__(self, seconds, weights):
        self.deadline = None if not seconds else time.monotonic() + seconds
        self.weights = dict(weights)

    def plan(self, step, runs, min_runs=1):
        weight = self.weights.pop(step, 0)
        if self.deadline is None:
            return Plan(runs, None, min_runs)
        left = max(0.0, self.deadline - time.monotonic())
        share = left * weight / (weight + sum(self.weights.values())) if weight else left
        return Plan(runs, share, min_runs)


# ---- statistics -----------------------------------------------------------

class Series:
    """Values of one quantity over the runs."""

    def __init__(self):
        self.values = []

    def add(self, value):
        self.values.append(value)

    def median(self):
        return statistics.median(self.values) if self.values else None

    def low(self):
        return min(self.values) if self.values else None

    def high(self):
        return max(self.values) if self.values else None


def rotate(items, run):
    """The order of the contenders changes from run to run, so slow drifts
    (dirty-page writeback, host noise) do not always hit the same one."""
    shift = run % len(items)
    return items[shift:] + items[:shift]


def install_signal_cleanup(harness):
    def handler(signum, frame):
        if os.getpid() != harness.owner_pid:
            os._exit(128 + signum)
        raise SystemExit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def copy_file(source, destination, buffer):
    """Copies with read/write of up to len(buffer) bytes: what a collector
    does (no sendfile or copy_file_range shortcut)."""
    view = memoryview(buffer)
    with open(source, "rb", buffering=0) as inp, open(destination, "wb", buffering=0) as out:
        while True:
            count = inp.readinto(buffer)
            if not count:
                break
            done = 0
            while done < count:
                done += out.write(view[done:count])


def which(name):
    path = shutil.which(name)
    if not path:
        raise HarnessError("%s not found on PATH" % name)
    return path
