"""Several writers at once through one mount: different crashes, and the
same crash rewritten by all of them, with readers watching.  Nothing is
lost, nothing is mixed."""

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import crashfs_helpers as helpers

WRITERS = 8


def write_crash(m, crash):
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    try:
        os.mkdir(directory)
    except FileExistsError:
        pass
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data, chunk_size=32768)


@pytest.mark.time_limit(300)
@pytest.mark.parametrize("layout", ["radix", "legacy-dated"])
def test_writers_of_different_crashes_lose_nothing(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    per_writer = 15
    crashes = [[helpers.make_crash(seed=writer * 1000 + index,
                                   depth=1 + index % 3,
                                   dump_size=20000 + index * 1000)
                for index in range(per_writer)]
               for writer in range(WRITERS)]

    def writer(batch):
        for crash in batch:
            write_crash(m, crash)

    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [pool.submit(writer, batch) for batch in crashes]:
            future.result()

    everything = [crash for batch in crashes for crash in batch]
    expected = helpers.expected_files(everything, layout)
    actual = helpers.tree_files(store)
    assert actual == expected, helpers.describe_difference(expected, actual)
    view = helpers.default_view(layout)
    assert helpers.tree_files(m.path) == helpers.expected_files(everything,
                                                                view)
    if helpers.is_dated(layout):
        for crash in everything:
            assert len(helpers.find_slot_links(store, crash.crash_id)) == 1


def variants_of(crash_id, count):
    """count versions of one crash, every part different in each."""
    variants = []
    for index in range(count):
        variant = helpers.make_crash(crash_id, seed=index,
                                     dump_size=50000 + 7919 * index)
        variant.raw = helpers.make_raw_crash_json(crash_id,
                                                  padding=100 * index)
        variants.append(variant)
    return variants


def valid_hashes(variants):
    valid = {}
    for variant in variants:
        for name, data in variant.files().items():
            valid.setdefault(name, set()).add(
                hashlib.sha256(data).hexdigest())
    return valid


@pytest.mark.time_limit(300)
def test_concurrent_rewrites_of_one_crash_are_never_mixed(mount, store_dir):
    """Eight writers rewrite the same crash at once, each with its own
    version: every write succeeds, and afterwards each part is one
    writer's version, whole."""
    m = mount(store_dir)
    crash_id = helpers.EXAMPLE_1
    variants = variants_of(crash_id, WRITERS)
    valid = valid_hashes(variants)
    write_crash(m, variants[0])
    directory = m.path / ".crashfs" / "by-id" / crash_id
    failures = []

    def writer(variant):
        for _ in range(5):
            for name, data in variant.files().items():
                try:
                    helpers.write_file(directory / name, data,
                                       chunk_size=32768)
                except OSError as error:
                    failures.append((name, helpers.errno_name(error.errno)))

    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [pool.submit(writer, v) for v in variants]:
            future.result()
    stored_dir = store_dir / helpers.crash_parent(crash_id, "radix")
    mixed = [name for name, hashes in valid.items()
             if hashlib.sha256((stored_dir / name).read_bytes()).hexdigest()
             not in hashes]
    assert failures == [] and mixed == [], \
        "%d of %d writes failed (%s); parts stored mixed: %s" % (
            len(failures), 5 * WRITERS * len(valid), sorted(set(failures)),
            mixed)
    assert sorted(os.listdir(stored_dir)) == sorted(valid)
    for name, hashes in valid.items():
        assert hashlib.sha256(helpers.read_file(directory / name)
                              ).hexdigest() in hashes, name


@pytest.mark.time_limit(300)
@pytest.mark.parametrize("read_from", ["store", "mount"])
def test_readers_never_see_a_partial_part(mount, store_dir, read_from):
    """While one writer rewrites a crash through the mount again and again
    (open with O_TRUNC, write, close: what cp does), readers see one whole
    version of each part or another, never a partial or empty one: readers
    of the store's own tree (Socorro's processor) and readers of the
    mount."""
    m = mount(store_dir)
    crash_id = helpers.EXAMPLE_1
    variants = variants_of(crash_id, 4)
    valid = valid_hashes(variants)
    write_crash(m, variants[0])
    if read_from == "store":
        directory = store_dir / helpers.crash_parent(crash_id, "radix")
    else:
        directory = m.path / ".crashfs" / "by-id" / crash_id
    stop = threading.Event()
    seen_bad = []

    def reader():
        while not stop.is_set():
            for name in valid:
                try:
                    data = helpers.read_file(directory / name)
                except OSError as error:
                    seen_bad.append((name, helpers.errno_name(error.errno)))
                    continue
                if hashlib.sha256(data).hexdigest() not in valid[name]:
                    seen_bad.append((name, len(data)))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(10):
            for variant in variants:
                write_crash(m, variant)
    finally:
        stop.set()
        for thread in readers:
            thread.join(60)
    assert seen_bad == [], "readers saw %d partial parts, e.g. %s" % (
        len(seen_bad), seen_bad[:5])
