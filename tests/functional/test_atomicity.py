"""Killing the daemon (kill -9) in the middle of writing a dump leaves the
store with the previous content or nothing, never a partial file."""

import hashlib
import os
import threading
import time

import pytest

import crashfs_helpers as helpers

MiB = helpers.MiB


def chunks(count, seed):
    """count distinct 1 MiB chunks, cheaply: one random block, numbered."""
    block = helpers.make_dump(MiB, seed=seed)
    for index in range(count):
        yield index.to_bytes(8, "little") + block[8:]


def content_hash(count, seed):
    digest = hashlib.sha256()
    for chunk in chunks(count, seed):
        digest.update(chunk)
    return digest.hexdigest(), count * MiB


def write_chunks(fd, count, seed):
    for chunk in chunks(count, seed):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]


def close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def populate(m, crash):
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data)
    return directory


@pytest.mark.time_limit(300)
@pytest.mark.parametrize("layout", ["radix", "legacy-dated"])
def test_kill_during_write_keeps_the_previous_content(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_1, dump_size=4 * MiB)
    directory = populate(m, crash)
    before = helpers.read_tree(store)

    fd = os.open(directory / (crash.crash_id + ".dump"),
                 os.O_WRONLY | os.O_TRUNC)
    try:
        write_chunks(fd, 24, seed=1)
        m.kill()
    finally:
        close_quietly(fd)
    m.detach()
    after = helpers.read_tree(store)
    assert after == before, helpers.describe_difference(before, after)

    m = mount(store, layout=layout)
    view = m.path / helpers.view_parent(crash.crash_id,
                                        helpers.default_view(layout))
    assert helpers.read_file(view / (crash.crash_id + ".dump")) == \
        crash.dumps[None]


@pytest.mark.time_limit(300)
def test_kill_during_write_of_a_new_crash_stores_nothing(mount, store_dir):
    m = mount(store_dir)
    crash_id = helpers.EXAMPLE_2
    directory = m.path / ".crashfs" / "by-id" / crash_id
    os.mkdir(directory)
    fd = os.open(directory / (crash_id + ".dump"),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_chunks(fd, 24, seed=2)
        m.kill()
    finally:
        close_quietly(fd)
    m.detach()
    assert helpers.tree_files(store_dir) == {}
    m = mount(store_dir)
    assert helpers.errno_of(
        os.stat, m.path / ".crashfs" / "by-id" / crash_id) is not None or \
        os.listdir(m.path / ".crashfs" / "by-id" / crash_id) == []


@pytest.mark.time_limit(600)
def test_kill_during_commit_leaves_old_or_new_never_partial(mount, workdir):
    """close() commits the spooled dump into the store; killing the daemon
    while it does leaves either the old dump or the whole new one."""
    store = workdir / "store"
    crash = helpers.make_crash(helpers.EXAMPLE_1, dump_size=3 * MiB)
    old_hash = hashlib.sha256(crash.dumps[None]).hexdigest()
    count = 128
    new_hash = content_hash(count, seed=3)
    outcomes = []
    for attempt in range(3):
        m = mount(store)
        if attempt == 0:
            populate(m, crash)
        directory = m.path / ".crashfs" / "by-id" / crash.crash_id
        store_dir = store / helpers.crash_parent(crash.crash_id, "radix")
        names_before = set(os.listdir(store_dir))
        fd = os.open(directory / (crash.crash_id + ".dump"),
                     os.O_WRONLY | os.O_TRUNC)
        write_chunks(fd, count, seed=3)
        closer = threading.Thread(target=close_quietly, args=(fd,))
        closer.start()
        # Kill as soon as the commit shows in the store directory (a temp
        # file appears), or after a short delay that grows per attempt.
        deadline = time.monotonic() + 0.05 * (attempt + 1) * 4
        while time.monotonic() < deadline and closer.is_alive():
            if set(os.listdir(store_dir)) - names_before:
                break
            time.sleep(0.001)
        m.kill()
        closer.join(60)
        m.detach()
        stored = store_dir / (crash.crash_id + ".dump")
        digest = helpers.sha256_of_file(stored)
        assert digest in ((old_hash, len(crash.dumps[None])), new_hash), \
            "attempt %d: the dump is neither the old nor the new one " \
            "(%d bytes)" % (attempt, digest[1])
        outcomes.append("old" if digest[0] == old_hash else "new")
        # The other parts are untouched.
        for name, data in crash.files().items():
            if not name.endswith(crash.crash_id + ".dump"):
                assert (store_dir / name).read_bytes() == data
        if digest[0] != old_hash:
            break
    # Whatever the store kept, the mount shows that crash's parts only.
    m = mount(store)
    listed = sorted(os.listdir(m.path / ".crashfs" / "by-id" /
                               crash.crash_id))
    assert listed == sorted(crash.files()), listed
