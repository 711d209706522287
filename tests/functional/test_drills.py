"""Drills: what a reliability tester does to a storage daemon, kept as
tests.  kill -9 in the middle of ingest, with the spool on the store's
filesystem (adoption by hard link) and on another one (copies through the
store's scratch directory): every crash whose close() returned 0 is stored
whole, nothing written is torn, and nothing a dead daemon was writing is
left in the store after the next mount."""

import os
import random
import subprocess
import threading
import time

import pytest

import crashfs_helpers as helpers

MiB = helpers.MiB


@pytest.fixture
def other_filesystem(workdir):
    """A small tmpfs of the test's own: a spool on another filesystem than
    the store's."""
    path = workdir / "tmpfs"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs",
                    str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


class Ingest:
    """Writers copying crashes into a mount until told to stop; each
    remembers the crashes whose every close() returned 0."""

    def __init__(self, mount_path, writers, seed):
        self.mount_path = mount_path
        self.stop = threading.Event()
        self.acknowledged = {}       # crash id -> Crash
        self.attempted = {}          # every crash a writer began
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.write_crashes,
                                         args=(seed * 100 + index,))
                        for index in range(writers)]

    def write_crashes(self, seed):
        rng = random.Random(seed)
        while not self.stop.is_set():
            crash = helpers.make_crash(
                helpers.make_crash_id(rng=rng), seed=rng.randrange(1 << 30),
                dump_size=rng.choice([4096, 256 * 1024, 3 * MiB]))
            directory = self.mount_path / helpers.view_parent(
                crash.crash_id, "radix")
            with self.lock:
                self.attempted[crash.crash_id] = crash
            try:
                os.makedirs(directory, exist_ok=True)
                for name, data in crash.files().items():
                    helpers.write_file(directory / name, data,
                                       chunk_size=MiB)
            except OSError:
                return  # the daemon is gone
            with self.lock:
                self.acknowledged[crash.crash_id] = crash

    def start(self):
        for thread in self.threads:
            thread.start()

    def join(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a writer hung after the kill"


def stored_files(store):
    """{relative path: bytes} of the store, scratch directory included."""
    return {path: data for path, (kind, data)
            in helpers.read_tree(store, scratch=True).items()
            if kind == "file"}


def check_store(store, acknowledged, written_ids):
    files = stored_files(store)
    # Every acknowledged crash, byte for byte.
    expected = helpers.expected_files(list(acknowledged.values()), "radix")
    for path, data in expected.items():
        assert files.get(path) == data, "acknowledged %s lost or torn" % path
    # Whatever else is there is a whole part of a crash that was being
    # written: never a prefix, never a temporary.
    whole = {}
    for crash in written_ids.values():
        whole.update(helpers.expected_files([crash], "radix"))
    for path, data in files.items():
        name = os.path.basename(path)
        assert ".crashfs-" not in name, "temporary left: %s" % path
        assert not path.startswith(helpers.SCRATCH_DIR_NAME + "/") or \
            name == "lock", "scratch file of a dead daemon left: %s" % path
        if path in whole:
            assert data == whole[path], "torn part %s" % path


@pytest.mark.time_limit(240)
@pytest.mark.parametrize("spool_place", ["same filesystem",
                                         "other filesystem"])
def test_kill_during_ingest_loses_nothing_acknowledged(
        mount, workdir, spool_place, request):
    store = workdir / "store"
    if spool_place == "same filesystem":
        spool = store / ".crashfs-spool"
    else:
        spool = request.getfixturevalue("other_filesystem") / "spool"
    acknowledged, attempted = {}, {}
    for round_number in range(3):
        m = mount(store, "spool=%s" % spool, spool=False)
        ingest = Ingest(m.path, writers=4, seed=round_number + 1)
        ingest.start()
        deadline = time.monotonic() + 30
        while (len(ingest.acknowledged) < 5 + 5 * round_number and
               time.monotonic() < deadline):
            time.sleep(0.05)
        time.sleep(random.Random(round_number).uniform(0.05, 0.4))
        m.kill()
        # Writers stop on ENOTCONN from the dead mount; only then may it
        # be detached (a write after that would land in the bare mount
        # point directory and look acknowledged).
        ingest.join()
        m.detach()
        assert ingest.acknowledged, "no crash was written before the kill"
        acknowledged.update(ingest.acknowledged)
        # What the writers were in the middle of may be there, whole.
        attempted.update(ingest.attempted)
        # The next mount sweeps what the dead daemon was writing.
        m = mount(store, "spool=%s" % spool, spool=False)
        check_store(store, acknowledged, attempted)
        for crash in acknowledged.values():
            view = m.path / helpers.view_parent(crash.crash_id, "radix")
            assert helpers.read_file(view / (crash.crash_id + ".json")) \
                == crash.raw
        assert m.unmount() == 0
    assert not (store / helpers.SCRATCH_DIR_NAME).exists()


def versions_of(crash_id):
    """Two raw crashes of one id, 100 and 5,000 bytes: a read cut to the
    other's size, or one mixing them, is caught by content."""
    versions = []
    for size, letter in ((100, "a"), (5000, "b")):
        head = '{"uuid": "%s", "pad": "' % crash_id
        versions.append((head + letter * (size - len(head) - 2) + '"}')
                        .encode())
    return versions


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("how", ["truncate"])
def test_readers_of_a_part_being_rewritten_see_whole_versions(
        mount, store_dir, how):
    """One writer re-saves <id>.json alternately at 100 and 5,000 bytes
    (open with O_TRUNC, as cp does; or a temporary file renamed over it,
    as rsync does) while two readers open and read it in a loop: every read
    is one whole version, and no open fails (ESTALE, ENOENT)."""
    m = mount(store_dir)
    crash_id = helpers.EXAMPLE_1
    versions = versions_of(crash_id)
    directory = m.path / helpers.view_parent(crash_id, "radix")
    directory.mkdir(parents=True)
    target = directory / (crash_id + ".json")
    helpers.write_file(target, versions[0])
    stop = threading.Event()
    problems, reads = [], [0]

    def reader():
        while not stop.is_set():
            try:
                data = target.read_bytes()
            except OSError as error:
                problems.append(helpers.errno_name(error.errno))
                continue
            reads[0] += 1
            if data not in versions:
                problems.append("torn read of %d bytes" % len(data))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    rewrites = 0
    try:
        while time.monotonic() < deadline:
            data = versions[rewrites % 2]
            if how == "truncate":
                helpers.write_file(target, data)
            else:
                temporary = directory / (".%s.json.%06d" % (crash_id,
                                                             rewrites))
                helpers.write_file(temporary, data)
                os.rename(temporary, target)
            rewrites += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert rewrites > 20 and reads[0] > 100
    assert problems == [], "%d problems in %d reads, e.g. %s" % (
        len(problems), reads[0], problems[:5])
