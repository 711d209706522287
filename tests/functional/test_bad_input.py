"""Bad input through the mount: names that are not crashes, paths that do
not match the crash id, malformed JSON and jsonz, size limits.  Each is
refused with the documented errno and leaves nothing in the store (and
nothing outside it)."""

import errno
import gzip
import os
import time

import pytest

import crashfs_helpers as helpers

NAME_ERRORS = (errno.ENOENT, errno.EINVAL)


def store_entries(store):
    return helpers.read_tree(store) if store.exists() else {}


@pytest.fixture
def empty(mount, store_dir):
    m = mount(store_dir)
    return m, store_dir


def test_wrong_mkdirs_are_refused_with_einval(empty):
    m, store = empty
    a = helpers.EXAMPLE_1  # 20120408, radix 93/6c
    os.makedirs(m.path / "20120408" / "name" / "93" / "6c")
    os.makedirs(m.path / "20120201" / "name" / "93" / "6c")
    os.makedirs(m.path / "20120408" / "name" / "94" / "6c")
    before = store_entries(store)
    wrong = [
        m.path / "notaday",
        m.path / "2012040",
        m.path / "20120230",             # not a date
        m.path / "21000101",             # not a crash id's year
        m.path / "20120408" / "names",   # not the name branch
        m.path / "20120408" / "date",    # the hidden queue branch
        m.path / "20120408" / "name" / "936",
        m.path / "20120408" / "name" / "9",
        m.path / "20120408" / "name" / "ZZ",
        m.path / "20120408" / "name" / a,              # too shallow
        m.path / "20120408" / "name" / "93" / a,       # too shallow
        m.path / "20120408" / "name" / "93" / "6c" / "xx",
        m.path / "20120408" / "name" / "93" / "6c" / a.upper(),
        m.path / "20120201" / "name" / "93" / "6c" / a,  # day of another id
        m.path / "20120408" / "name" / "94" / "6c" / a,  # radix of another
        m.path / ".crashfs" / "by-id" / "not-a-crash-id",
        m.path / ".crashfs" / "by-id" / a.upper(),
        m.path / ".crashfs" / "by-id" / (a[:-6] + "120230"),
    ]
    for path in wrong:
        code = helpers.errno_of(os.mkdir, path)
        assert code == errno.EINVAL, "mkdir %s: %s" % (
            os.path.relpath(path, m.path), helpers.errno_name(code))
    # A crash directory one level too deep.
    os.makedirs(m.path / "20120408" / "name" / "93" / "6c" / a)
    code = helpers.errno_of(os.mkdir, m.path / "20120408" / "name" / "93" /
                            "6c" / a / "sub")
    assert code == errno.EINVAL, helpers.errno_name(code)
    after = store_entries(store)
    assert [p for p in after if p not in before and a not in p] == []


def test_invalid_file_names_are_refused(empty):
    m, store = empty
    a = helpers.EXAMPLE_1
    b = helpers.EXAMPLE_1_NEIGHBOUR
    directory = m.path / helpers.view_parent(a, "radix")
    os.makedirs(directory)
    before = store_entries(store)
    bad_names = [
        "notes.txt", a, a + ".txt", a + ".json.gz", a + "..json",
        a + ".a b.dump", a + ".x..dump", a.upper() + ".json",
        b + ".json",               # another crash's part in a's directory
        "date_root",
    ]
    for name in bad_names:
        code = helpers.errno_of(helpers.write_file, directory / name, b"{}")
        assert code in NAME_ERRORS, "create %s: %s" % (
            name, helpers.errno_name(code))
    for path in (m.path / "x.json", m.path / "20120408" / "x.json",
                 m.path / "20120408" / "name" / (a + ".json"),
                 m.path / ".crashfs" / "by-id" / (a + ".json"),
                 m.path / ".crashfs" / "x"):
        code = helpers.errno_of(helpers.write_file, path, b"{}")
        assert code in NAME_ERRORS + (errno.EPERM, errno.EACCES), \
            "create %s: %s" % (path, helpers.errno_name(code))
    assert store_entries(store) == before


@pytest.mark.parametrize("view", ["radix", "legacy"])
def test_hidden_names_that_are_not_temporaries_fail_at_create(
        mount, store_dir, view):
    """A hidden name no rename would make a part used to be accepted,
    listed, and lost at the next mount without a word: now create fails
    with EINVAL and nothing is staged."""
    layout = "legacy" if view == "legacy" else "radix"
    m = mount(store_dir, layout=layout)
    a = helpers.EXAMPLE_1
    directory = m.path / helpers.view_parent(a, view)
    os.makedirs(directory)
    before = store_entries(store_dir)
    for name in (".hidden", ".x.tmp", "." + a + ".json", "." + a + ".txt.x",
                 "." + helpers.EXAMPLE_2 + ".json.abcdef", ".#" + a + ".json"):
        code = helpers.errno_of(helpers.write_file, directory / name, b"{}")
        assert code == errno.EINVAL, "create %s: %s" % (
            name, helpers.errno_name(code))
    assert [n for n in os.listdir(directory) if n.startswith(".")] == []
    assert m.stats()["mount"]["staged_files"] == 0
    assert store_entries(store_dir) == before
    # A temporary of a part is staged, and stored by its rename.
    crash = helpers.make_crash(a)
    temporary = directory / (".%s.json.Ab12Cd" % a)
    helpers.write_file(temporary, crash.raw)
    assert temporary.name in os.listdir(directory)
    os.rename(temporary, directory / (a + ".json"))
    assert (directory / (a + ".json")).read_bytes() == crash.raw
    assert m.unmount() == 0
    m = mount(store_dir, layout=layout)
    assert (m.path / helpers.view_parent(a, view) /
            (a + ".json")).read_bytes() == crash.raw


def test_aliases_of_the_main_dump_are_refused(empty):
    """<id>..dump and <id>.upload_file_minidump.dump name the main dump
    in a store; writing them replaced <id>.dump silently."""
    m, store = empty
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    a = crash.crash_id
    directory = m.path / helpers.view_parent(a, "radix")
    os.makedirs(directory)
    helpers.write_file(directory / (a + ".json"), crash.raw)
    main_dump = crash.dumps[None]
    helpers.write_file(directory / (a + ".dump"), main_dump)
    for name in (a + "..dump", a + ".upload_file_minidump.dump"):
        code = helpers.errno_of(helpers.write_file, directory / name,
                                b"other bytes")
        assert code == errno.EINVAL, "create %s: %s" % (
            name, helpers.errno_name(code))
        assert helpers.errno_of(os.stat, directory / name) == errno.ENOENT
        # Not by a temporary and a rename either.
        temporary = directory / (".%s.dump.Xy12Zw" % a)
        helpers.write_file(temporary, b"other bytes")
        code = helpers.errno_of(os.rename, temporary, directory / name)
        assert code == errno.EINVAL, "rename to %s: %s" % (
            name, helpers.errno_name(code))
        os.unlink(temporary)
    assert (directory / (a + ".dump")).read_bytes() == main_dump
    assert sorted(os.listdir(directory)) == sorted(
        [a + ".json", a + ".dump"])


def test_abandoned_temporaries_expire_and_are_counted(mount, store_dir):
    m = mount(store_dir, "temporary_ttl=1", "staged_max=8")
    a = helpers.EXAMPLE_1
    directory = m.path / helpers.view_parent(a, "radix")
    os.makedirs(directory)
    for tag in ("aaaaaa", "bbbbbb", "cccccc", "dddddd"):
        helpers.write_file(directory / (".%s.json.%s" % (a, tag)), b"{}")
    # Half the table at most is temporaries: real parts keep room.
    code = helpers.errno_of(helpers.write_file,
                            directory / (".%s.json.eeeeee" % a), b"{}")
    assert code == errno.ENOSPC
    crash = helpers.make_crash(a)
    helpers.write_file(directory / (a + ".json"), crash.raw)
    assert m.stats()["mount"]["temporaries"] == 4
    deadline = time.monotonic() + 30
    while m.stats()["mount"]["temporaries"] and time.monotonic() < deadline:
        time.sleep(0.2)
    stats = m.stats()["mount"]
    assert stats["temporaries"] == 0
    assert stats["temporaries_expired"] == 4
    assert sorted(os.listdir(directory)) == [a + ".json"]
    assert "not renamed onto a part" in m.stderr_text()
    helpers.write_file(directory / (".%s.json.eeeeee" % a), b"{}")


def test_dot_dot_never_reaches_outside_the_store(empty, workdir):
    m, store = empty
    a = helpers.EXAMPLE_1
    directory = m.path / helpers.view_parent(a, "radix")
    os.makedirs(directory)
    outside_before = sorted(os.listdir(workdir))
    before = store_entries(store)
    # The kernel resolves ".." itself; crashfs never sees it, but a path
    # climbing out of the crash lands on the mount's own refusing names.
    for path in (directory / ".." / ".." / ".." / ".." / "escape.json",
                 m.path / ".crashfs" / "by-id" / ".." / ".." / "x.json",
                 directory / ".." / (a + ".json")):
        code = helpers.errno_of(helpers.write_file, path, b"{}")
        assert code is not None, "created %s" % path
    assert helpers.errno_of(os.stat, m.path / "...") in NAME_ERRORS
    assert helpers.errno_of(os.mkdir, m.path / "...") in NAME_ERRORS
    assert store_entries(store) == before
    assert sorted(os.listdir(workdir)) == outside_before


def assert_close_fails(path, data, expected_errno):
    """Writing data succeeds or fails; if it gets to close(), close fails
    with expected_errno.  Returns the errno seen."""
    code = helpers.errno_of(helpers.write_file, path, data)
    assert code == expected_errno, "%s: %s, expected %s" % (
        path.name, helpers.errno_name(code),
        helpers.errno_name(expected_errno))


def test_malformed_raw_json_fails_at_close_and_stores_nothing(empty):
    m, store = empty
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    json_path = directory / (crash.crash_id + ".json")
    for bad in (b'{"uuid": "x",', b"", b"not json", b'{"a": 1}{"b": 2}',
                b"\xff\xfe{}"):
        assert_close_fails(json_path, bad, errno.EINVAL)
        assert [p for p in helpers.tree_files(store)
                if p.endswith(".json")] == []
    # A valid raw crash, then an invalid rewrite: the stored one stays.
    helpers.write_file(json_path, crash.raw)
    assert_close_fails(json_path, b"{broken", errno.EINVAL)
    stored = store / helpers.crash_parent(crash.crash_id, "radix") / \
        json_path.name
    assert stored.read_bytes() == crash.raw
    assert helpers.read_file(json_path) == crash.raw


@pytest.mark.parametrize("part", [".json", ".jsonz"])
def test_a_failed_commit_can_be_retried(empty, part):
    """After close() refused malformed content, writing the same file
    again with valid content works (nothing of the failure lingers)."""
    m, store = empty
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    path = directory / (crash.crash_id + part)
    assert_close_fails(path, b"{broken", errno.EINVAL)
    assert wait_for_errno(os.stat, path) == errno.ENOENT
    good = crash.files()[path.name]
    code = helpers.errno_of(helpers.write_file, path, good)
    assert code is None, "rewrite after a failed commit: %s" % (
        helpers.errno_name(code))
    assert helpers.read_file(path) == good
    stored = store / helpers.crash_parent(crash.crash_id, "radix") / \
        path.name
    assert stored.read_bytes() == good


def test_bytes_written_are_bytes_stored(empty):
    """JSON is validated, never re-serialised: odd spacing, key order,
    escapes and a trailing newline survive."""
    m, store = empty
    crash_id = helpers.EXAMPLE_1
    directory = m.path / ".crashfs" / "by-id" / crash_id
    os.mkdir(directory)
    raw = ('{ "z":1,"a" :[ 1.50, 2e3 ],\n "uuid":"%s", "s":"\\u00e9\\ud83d'
           '\\ude00" }\n' % crash_id).encode()
    helpers.write_file(directory / (crash_id + ".json"), raw)
    stored = store / helpers.crash_parent(crash_id, "radix") / (
        crash_id + ".json")
    assert stored.read_bytes() == raw


def test_jsonz_must_be_gzip_of_json(empty):
    m, store = empty
    crash_id = helpers.EXAMPLE_1
    directory = m.path / ".crashfs" / "by-id" / crash_id
    os.mkdir(directory)
    path = directory / (crash_id + ".jsonz")
    for bad in (b'{"uuid": "x"}', gzip.compress(b"not json"),
                gzip.compress(b'{"uuid": ')[:-8], b"\x1f\x8b\x08garbage"):
        assert_close_fails(path, bad, errno.EINVAL)
    assert [p for p in helpers.tree_files(store) if p.endswith(".jsonz")] \
        == []
    good = helpers.make_jsonz({"uuid": crash_id})
    helpers.write_file(path, good)
    assert helpers.read_file(path) == good


def test_json_over_json_max_is_efbig_and_stores_nothing(mount, store_dir):
    m = mount(store_dir, "json_max=2000")
    crash_id = helpers.EXAMPLE_1
    directory = m.path / ".crashfs" / "by-id" / crash_id
    os.mkdir(directory)
    small = helpers.make_raw_crash_json(crash_id, padding=100)
    helpers.write_file(directory / (crash_id + ".json"), small)
    big = helpers.make_raw_crash_json(crash_id, padding=5000)
    code = helpers.errno_of(helpers.write_file,
                            directory / (crash_id + ".json"), big)
    assert code == errno.EFBIG, helpers.errno_name(code)
    stored = store_dir / helpers.crash_parent(crash_id, "radix") / (
        crash_id + ".json")
    assert stored.read_bytes() == small
    # Dumps are not JSON: the limit does not apply to them.
    helpers.write_file(directory / (crash_id + ".dump"),
                       helpers.make_dump(50000))


def wait_for_errno(function, path, expected=errno.ENOENT, seconds=5):
    """The errno of function(path), polled for a little while: a file
    whose commit failed may stay visible until the kernel's (asynchronous)
    release of it reaches the daemon."""
    deadline = time.monotonic() + seconds
    code = helpers.errno_of(function, path)
    while code != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        code = helpers.errno_of(function, path)
    return code


def spooled_bytes(spool):
    return sum(len(data) for data in helpers.tree_files(spool).values())


def wait_for_empty_spool(spool, seconds=10):
    """Staged files go at release, which the kernel sends after close()
    returns: wait a little for the bytes in the spool to drop to 0."""
    deadline = time.monotonic() + seconds
    while spooled_bytes(spool) and time.monotonic() < deadline:
        time.sleep(0.05)
    return spooled_bytes(spool)


def test_spool_max_exceeded_is_enospc_and_stores_nothing(mount, workdir):
    store = workdir / "store"
    spool = workdir / "spool"
    spool.mkdir()
    m = mount(store, "spool=%s" % spool, "spool_max=1048576", spool=False)
    crash_id = helpers.EXAMPLE_1
    directory = m.path / ".crashfs" / "by-id" / crash_id
    os.mkdir(directory)
    dump_path = directory / (crash_id + ".dump")
    code = helpers.errno_of(helpers.write_file, dump_path,
                            helpers.make_dump(3 * helpers.MiB),
                            chunk_size=128 * 1024)
    assert code == errno.ENOSPC, helpers.errno_name(code)
    stored = [(path, len(data)) for path, data in
              helpers.tree_files(store).items() if path.endswith(".dump")]
    assert stored == [], "a truncated dump was stored after ENOSPC"
    assert wait_for_errno(os.stat, dump_path) == errno.ENOENT
    # The space is given back: the spool empties and a smaller dump fits.
    assert wait_for_empty_spool(spool) == 0
    small = helpers.make_dump(512 * 1024, seed=2)
    helpers.write_file(dump_path, small)
    assert helpers.read_file(dump_path) == small
    assert wait_for_empty_spool(spool) == 0



def test_a_newline_in_a_name_cannot_forge_a_log_line(empty):
    m, store = empty
    a = helpers.EXAMPLE_1
    directory = m.path / helpers.view_parent(a, "radix")
    os.makedirs(directory)
    forged = "x\ncrashfs 2012-04-08T10:52:42.000Z error: forged\x1b[2J"
    code = helpers.errno_of(helpers.write_file, directory / forged, b"{}")
    assert code == errno.EINVAL
    lines = m.stderr_text().splitlines()
    assert not any(line.startswith("crashfs 2012-04-08") for line in lines)
    assert not any("\x1b" in line for line in lines)
    escaped = [line for line in lines
               if "x\\ncrashfs 2012-04-08T10:52:42.000Z error: forged\\x1b"
               in line]
    assert len(escaped) == 1, lines
