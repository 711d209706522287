"""Reading a Socorro tree built by hand, in each of the four layouts,
through a mount of the matching layout: bytes, sizes, mtimes, listings,
real tools (cat, ls -l, find, du, tar), the hidden date branch, .crashfs/."""

import errno
import io
import json
import os
import stat
import subprocess
import tarfile

import pytest

import crashfs_helpers as helpers
from crashfs_helpers import run

MTIME = 1333882362  # 2012-04-08 10:52:42 UTC, the spec's clock


def sample_crashes():
    return [
        helpers.make_crash(helpers.EXAMPLE_1),
        helpers.make_crash(helpers.EXAMPLE_1_NEIGHBOUR, dump_size=70000),
        helpers.make_crash(helpers.EXAMPLE_2, flash_size=None),
        helpers.make_crash(helpers.EXAMPLE_3, processed=False),
        # Several MiB: reads span many FUSE requests.
        helpers.make_crash(helpers.make_crash_id(depth=1),
                           dump_size=3 * helpers.MiB + 17, flash_size=1),
    ]


@pytest.fixture(params=helpers.LAYOUTS)
def native(request, mount, workdir):
    """(mount, layout, crashes) for a hand-built tree of each layout."""
    layout = request.param
    crashes = sample_crashes()
    root = workdir / "store"
    helpers.write_socorro_tree(root, layout, crashes, mtime=MTIME)
    m = mount(root, layout=layout)
    return m, layout, crashes


def view_files(layout, crashes):
    return helpers.expected_files(crashes, helpers.default_view(layout))


def view_dirs(files):
    dirs = set()
    for path in files:
        parent = os.path.dirname(path)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    return dirs


def test_files_are_byte_identical_with_exact_sizes(native):
    m, layout, crashes = native
    for path, data in view_files(layout, crashes).items():
        full = m.path / path
        assert os.stat(full).st_size == len(data), path
        assert stat.S_ISREG(os.stat(full).st_mode)
        assert helpers.read_file(full) == data, path


def test_cat_is_byte_identical(native):
    m, layout, crashes = native
    for path, data in view_files(layout, crashes).items():
        result = subprocess.run(["cat", str(m.path / path)],
                                stdout=subprocess.PIPE, timeout=60)
        assert result.returncode == 0
        assert result.stdout == data, path


def test_reads_at_offsets(native):
    m, layout, crashes = native
    big = crashes[-1]
    path = m.path / helpers.view_parent(
        big.crash_id, helpers.default_view(layout)) / (big.crash_id + ".dump")
    data = big.dumps[None]
    with open(path, "rb", buffering=0) as f:
        for offset, size in ((0, 1), (4095, 2), (131071, 131073),
                             (len(data) - 5, 100), (len(data), 10),
                             (len(data) + 4096, 10)):
            f.seek(offset)
            assert f.read(size) == data[offset:offset + size]


def test_listing_shows_exactly_the_crashes(native):
    m, layout, crashes = native
    files = view_files(layout, crashes)
    seen_files, seen_dirs, seen_other = set(), set(), set()
    for dirpath, dirnames, filenames in os.walk(m.path):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            relative = os.path.relpath(path, m.path)
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                seen_dirs.add(relative)
            elif stat.S_ISREG(mode):
                seen_files.add(relative)
            else:
                seen_other.add(relative)
    assert seen_other == set(), "links or special files shown"
    assert seen_files == set(files), helpers.describe_difference(
        dict.fromkeys(files), dict.fromkeys(seen_files))
    assert seen_dirs == view_dirs(files)


def test_crashfs_directory_is_reachable_but_not_listed(native):
    m, layout, crashes = native
    assert ".crashfs" not in os.listdir(m.path)
    assert stat.S_ISDIR(os.stat(m.path / ".crashfs").st_mode)
    assert stat.S_ISDIR(os.stat(m.path / ".crashfs" / "by-id").st_mode)


def test_by_id_resolves_each_crash(native):
    m, layout, crashes = native
    for crash in crashes:
        directory = m.path / ".crashfs" / "by-id" / crash.crash_id
        assert stat.S_ISDIR(os.stat(directory).st_mode)
        assert sorted(os.listdir(directory)) == sorted(crash.files())
        for name, data in crash.files().items():
            assert os.stat(directory / name).st_size == len(data)
            assert helpers.read_file(directory / name) == data


def test_by_id_of_absent_or_invalid_ids(native):
    m, layout, crashes = native
    by_id = m.path / ".crashfs" / "by-id"
    absent = helpers.make_crash_id()
    assert helpers.errno_of(os.stat, by_id / absent) == errno.ENOENT
    # A crash missing from a legacy leaf that exists.
    in_leaf = "936ce666-bbbb-4c7a-9674-367fe2120408"
    assert helpers.errno_of(os.stat, by_id / in_leaf) == errno.ENOENT
    for name in ("not-a-crash", helpers.EXAMPLE_1.upper(),
                 helpers.EXAMPLE_1[:-1] + "9",  # 20120409: another id
                 "936ce666-ff3b-4c7a-9674-367fe2120230"):
        code = helpers.errno_of(os.stat, by_id / name)
        assert code in (errno.ENOENT, errno.EINVAL), (name, code)


def test_mtimes_are_the_stored_ones(native):
    m, layout, crashes = native
    for path in view_files(layout, crashes):
        assert os.stat(m.path / path).st_mtime == MTIME, path


def test_absent_names_are_enoent(native):
    m, layout, crashes = native
    view = helpers.default_view(layout)
    parent = m.path / helpers.view_parent(helpers.EXAMPLE_1, view)
    for path in (m.path / "20120408" / "other", m.path / "other",
                 m.path / "20120230", m.path / "20120408" / "name" / "zzz",
                 parent / "notes.txt"):
        code = helpers.errno_of(os.stat, path)
        assert code in (errno.ENOENT, errno.EINVAL), (path, code)
    for path in (m.path / "20120409",
                 m.path / "20120408" / "name" / "ff",
                 parent / (helpers.EXAMPLE_1 + ".absent.dump"),
                 # Example 3 was stored without its processed crash.
                 m.path / helpers.view_parent(helpers.EXAMPLE_3, view) /
                 (helpers.EXAMPLE_3 + ".jsonz")):
        assert helpers.errno_of(os.stat, path) == errno.ENOENT, path


def test_dated_branch_and_links_are_hidden(native):
    m, layout, crashes = native
    for crash in crashes:
        day = m.path / helpers.crash_day(crash.crash_id)
        assert os.listdir(day) == ["name"]
        assert helpers.errno_of(os.stat, day / "date") == errno.ENOENT
        parent = m.path / helpers.view_parent(crash.crash_id,
                                              helpers.default_view(layout))
        names = os.listdir(parent)
        assert "date_root" not in names
        assert crash.crash_id not in names
        assert helpers.errno_of(os.lstat, parent / "date_root") in (
            errno.ENOENT, errno.ENOTDIR)
        if helpers.is_legacy(layout):
            assert helpers.errno_of(os.lstat, parent / crash.crash_id) == \
                errno.ENOENT


def test_ls_l_find_du(native):
    m, layout, crashes = native
    files = view_files(layout, crashes)
    listing = run(["ls", "-lR", str(m.path)]).stdout
    for path, data in files.items():
        name = os.path.basename(path)
        lines = [line for line in listing.splitlines()
                 if line.endswith(" " + name)]
        assert len(lines) == 1, name
        fields = lines[0].split()
        assert fields[0].startswith("-r"), lines[0]
        assert int(fields[4]) == len(data), lines[0]

    found = run(["find", str(m.path), "-type", "f"]).stdout.split()
    assert sorted(os.path.relpath(p, m.path) for p in found) == \
        sorted(files)
    assert run(["find", str(m.path), "-type", "l"]).stdout == ""
    assert run(["find", str(m.path), "-name", "*.jsonz"]).stdout.count(
        "\n") == sum(1 for p in files if p.endswith(".jsonz"))

    for path, data in files.items():
        apparent = run(["du", "-b", str(m.path / path)]).stdout.split()[0]
        assert int(apparent) == len(data), path
    total_kib = int(run(["du", "-sk", str(m.path)]).stdout.split()[0])
    # du counts allocated blocks: st_blocks must cover the contents.
    assert total_kib >= sum(len(d) for d in files.values()) // 1024


def test_tar_of_the_mount(native, workdir):
    m, layout, crashes = native
    files = view_files(layout, crashes)
    result = subprocess.run(["tar", "-cf", "-", "-C", str(m.path), "."],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=120)
    # Exit 1 would mean "file changed as we read it": sizes or times that
    # are not stable between stat and read.
    assert result.returncode == 0, result.stderr
    archived = {}
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        for member in archive.getmembers():
            assert member.isfile() or member.isdir(), member.name
            if member.isfile():
                path = os.path.normpath(member.name)
                archived[path] = archive.extractfile(member).read()
                assert member.mtime == MTIME
    assert archived == files, helpers.describe_difference(files, archived)


def test_stats_is_json_with_per_store_counters(native):
    m, layout, crashes = native
    before = m.stats()
    assert isinstance(before.get("mount"), dict)
    stores = before.get("stores")
    assert isinstance(stores, dict) and "store" in stores
    calls_before = stores["store"]["calls"]
    assert isinstance(calls_before, int)
    crash = crashes[0]
    name = crash.crash_id + ".dump"
    data = helpers.read_file(m.path / ".crashfs" / "by-id" / crash.crash_id /
                             name)
    assert data == crash.dumps[None]
    after = m.stats()
    assert after["stores"]["store"]["calls"] > calls_before
    assert ".crashfs" not in os.listdir(m.path)


def test_legacy_view_of_a_dated_store_and_radix_view_of_a_legacy_store(
        mount, workdir):
    """-o view=radix shows a legacy store as per-crash directories (what
    a migration to a radix store rsyncs from)."""
    crashes = sample_crashes()
    root = workdir / "store"
    helpers.write_socorro_tree(root, "legacy-dated", crashes, mtime=MTIME)
    m = mount(root, "view=radix", layout="legacy-dated")
    expected = helpers.expected_files(crashes, "radix")
    assert helpers.tree_files(m.path) == expected


def test_stats_reports_its_real_size(mount, store_dir):
    m = mount(store_dir)
    path = m.path / ".crashfs" / "stats"
    with open(path, "rb") as f:
        data = f.read()
        assert os.fstat(f.fileno()).st_size == len(data)
    json.loads(data)
    # The counters move between snapshots, but their fields have fixed
    # widths: every snapshot has the size stat reports, cached or not.
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / helpers.view_parent(crash.crash_id, "radix")
    directory.mkdir(parents=True)
    for name, part in crash.files().items():
        helpers.write_file(directory / name, part)
    later = path.read_bytes()
    assert later != data
    assert json.loads(later)["mount"]["commits"] >= 4
    assert os.stat(path).st_size == len(data) == len(later)
    listed = {entry.name: entry.stat().st_size
              for entry in os.scandir(m.path / ".crashfs")}
    assert listed["stats"] == len(data)
    cache = json.loads(later)["mount"]["read_cache"]
    assert cache["max_bytes"] == 256 << 20 and cache["files"] == 0
