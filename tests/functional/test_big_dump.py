"""A 256 MiB dump written and read back through the mount, by hash, while
the daemon's peak memory stays bounded: dumps stream through the spool,
never whole in memory."""

import hashlib
import os

import pytest

import crashfs_helpers as helpers

MiB = helpers.MiB
BIG_DUMP_MIB = 256
# Peak RSS of the daemon.  Under AddressSanitizer the shadow memory adds a
# constant, so there only the growth is bounded, with ASan's quarantine of
# freed memory (256 MiB by default) made small enough not to hide a buffer
# that grows with the dump.
PEAK_RSS_LIMIT_MIB = 100
GROWTH_LIMIT_MIB = 48
SANITIZER_QUARANTINE_MIB = 8


def numbered_chunks(count, seed):
    block = helpers.make_dump(MiB, seed=seed)
    for index in range(count):
        yield index.to_bytes(8, "little") + block[8:]


def write_dump(path, count, seed):
    digest = hashlib.sha256()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for chunk in numbered_chunks(count, seed):
            digest.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return digest.hexdigest()


def peak_rss_mib(pid):
    kib = helpers.process_status(pid, "VmHWM")
    assert kib is not None, "cannot read /proc/%d/status" % pid
    return kib / 1024.0


@pytest.mark.time_limit(600)
def test_big_dump_round_trip_with_bounded_memory(mount, store_dir,
                                                 sanitized):
    env = None
    if sanitized:
        options = os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
        env = {"ASAN_OPTIONS": "%s:quarantine_size_mb=%d" % (
            options, SANITIZER_QUARANTINE_MIB)}
    m = mount(store_dir, env=env)
    crash_id = helpers.EXAMPLE_1
    directory = m.path / ".crashfs" / "by-id" / crash_id
    os.mkdir(directory)
    helpers.write_file(directory / (crash_id + ".json"),
                       helpers.make_raw_crash_json(crash_id))

    # A small dump first: the daemon's baseline with every code path warm.
    small = directory / (crash_id + ".small.dump")
    write_dump(small, 8, seed=1)
    helpers.sha256_of_file(small)
    baseline = peak_rss_mib(m.pid)

    path = directory / (crash_id + ".dump")
    written = write_dump(path, BIG_DUMP_MIB, seed=2)
    after_write = peak_rss_mib(m.pid)
    assert os.stat(path).st_size == BIG_DUMP_MIB * MiB
    assert helpers.sha256_of_file(path) == (written, BIG_DUMP_MIB * MiB)
    stored = store_dir / helpers.crash_parent(crash_id, "radix") / path.name
    assert helpers.sha256_of_file(stored, 4 * MiB) == (written,
                                                        BIG_DUMP_MIB * MiB)
    after_read = peak_rss_mib(m.pid)

    report = ("daemon peak RSS: %.1f MiB after an 8 MiB dump, %.1f MiB after "
              "writing %d MiB, %.1f MiB after reading it back" % (
                  baseline, after_write, BIG_DUMP_MIB, after_read))
    print(report)
    assert after_read - baseline < GROWTH_LIMIT_MIB, report
    if not sanitized:
        assert after_read < PEAK_RSS_LIMIT_MIB, report
