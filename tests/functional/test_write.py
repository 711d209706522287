"""Writing through the mount with real tools and Python file I/O: cp -r,
cp -a, cp -p, mkdir -p, open/write/close, shutil.copy2, rsync -a (twice),
mount-to-mount migration, rm -r, unlink of one part, -o ro."""

import errno
import os
import shutil
import stat

import pytest

import crashfs_helpers as helpers
from crashfs_helpers import run

SOURCE_MTIME = 1234567890


def local_crash_dir(base, crash, mtime=SOURCE_MTIME):
    """A crash as a local directory <base>/<id>/ of its files."""
    directory = base / crash.crash_id
    directory.mkdir(parents=True)
    for name, data in crash.files().items():
        (directory / name).write_bytes(data)
        os.utime(directory / name, (mtime, mtime))
    return directory


def assert_store_holds(store, layout, crashes, exact=True):
    """The store's data files are exactly (or include) those of crashes."""
    expected = helpers.expected_files(crashes, layout)
    actual = helpers.tree_files(store)
    if exact:
        assert actual == expected, helpers.describe_difference(expected,
                                                               actual)
    else:
        missing = {p: d for p, d in expected.items() if actual.get(p) != d}
        assert not missing, helpers.describe_difference(expected, actual)


def assert_view_holds(m, view, crashes):
    for crash in crashes:
        parent = m.path / helpers.view_parent(crash.crash_id, view)
        for name, data in crash.files().items():
            assert os.stat(parent / name).st_size == len(data)
            assert helpers.read_file(parent / name) == data


@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_cp_r_into_by_id(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crashes = [helpers.make_crash(helpers.EXAMPLE_1),
               helpers.make_crash(helpers.EXAMPLE_3)]
    for crash in crashes:
        source = local_crash_dir(workdir / "src", crash)
        run(["cp", "-r", str(source), str(m.path / ".crashfs" / "by-id")])
    assert_store_holds(store, layout, crashes)
    assert_view_holds(m, helpers.default_view(layout), crashes)
    for crash in crashes:
        by_id = m.path / ".crashfs" / "by-id" / crash.crash_id
        assert sorted(os.listdir(by_id)) == sorted(crash.files())


@pytest.mark.parametrize("layout", ["radix", "dated"])
def test_cp_r_into_the_radix_path(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    source = local_crash_dir(workdir / "src", crash)
    leaf = m.path / helpers.leaf_dir(crash.crash_id)
    run(["mkdir", "-p", str(leaf)])
    run(["cp", "-r", str(source), str(leaf)])
    assert_store_holds(store, layout, [crash])
    assert_view_holds(m, "radix", [crash])


@pytest.mark.parametrize("layout", ["legacy", "legacy-dated"])
def test_cp_into_the_legacy_leaf(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crashes = [helpers.make_crash(helpers.EXAMPLE_1),
               helpers.make_crash(helpers.EXAMPLE_1_NEIGHBOUR)]
    leaf = m.path / helpers.leaf_dir(helpers.EXAMPLE_1)
    run(["mkdir", "-p", str(leaf)])
    for crash in crashes:
        source = local_crash_dir(workdir / "src", crash)
        run(["cp", "-a"] + sorted(str(p) for p in source.iterdir()) +
            [str(leaf)])
    assert_store_holds(store, layout, crashes)
    assert sorted(os.listdir(leaf)) == sorted(
        name for crash in crashes for name in crash.files())


@pytest.mark.parametrize("flags", [["-a"], ["-p", "-r"]])
@pytest.mark.parametrize("layout", ["radix", "dated"])
def test_cp_preserving_keeps_mtimes(mount, workdir, layout, flags):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_2)
    source = local_crash_dir(workdir / "src", crash)
    leaf = m.path / helpers.leaf_dir(crash.crash_id)
    os.makedirs(leaf)
    run(["cp"] + flags + [str(source), str(leaf)])
    assert_store_holds(store, layout, [crash])
    parent = m.path / helpers.view_parent(crash.crash_id, "radix")
    store_parent = store / helpers.crash_parent(crash.crash_id, layout)
    for name in crash.files():
        assert os.stat(parent / name).st_mtime == SOURCE_MTIME, name
        assert os.stat(store_parent / name).st_mtime == SOURCE_MTIME, name


def test_mkdir_p_along_the_radix_path(mount, store_dir):
    m = mount(store_dir)
    crash = helpers.make_crash(helpers.EXAMPLE_3)  # four radix levels
    directory = m.path / helpers.view_parent(crash.crash_id, "radix")
    os.makedirs(directory)
    assert stat.S_ISDIR(os.stat(directory).st_mode)
    os.makedirs(directory, exist_ok=True)
    run(["mkdir", "-p", str(directory)])
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data)
    assert_store_holds(store_dir, "radix", [crash])
    assert sorted(os.listdir(directory)) == sorted(crash.files())


@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_python_write_in_chunks_and_copy2(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_1, dump_size=1000003)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    files = crash.files()
    raw_name = crash.crash_id + ".json"
    with open(directory / raw_name, "wb") as f:
        for start in range(0, len(files[raw_name]), 7):
            f.write(files[raw_name][start:start + 7])
    main_name = crash.crash_id + ".dump"
    helpers.write_file(directory / main_name, files[main_name],
                       chunk_size=65521)
    source = local_crash_dir(workdir / "src", crash)
    for name in files:
        if name not in (raw_name, main_name):
            shutil.copy2(source / name, directory / name)
            assert os.stat(directory / name).st_mtime == SOURCE_MTIME
    assert_store_holds(store, layout, [crash])
    assert_view_holds(m, helpers.default_view(layout), [crash])


@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_rewriting_a_part_replaces_it_and_keeps_the_others(
        mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data)
    crash.raw = helpers.make_raw_crash_json(crash.crash_id, padding=5000)
    crash.dumps[None] = helpers.make_dump(100, seed=5)  # shorter than before
    helpers.write_file(directory / (crash.crash_id + ".json"), crash.raw)
    with open(directory / (crash.crash_id + ".dump"), "wb") as f:
        f.write(crash.dumps[None])
    assert_store_holds(store, layout, [crash])
    assert_view_holds(m, helpers.default_view(layout), [crash])


def test_chmod_chown_utime_are_accepted_and_mtimes_kept(mount, store_dir):
    m = mount(store_dir)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data)
    path = directory / (crash.crash_id + ".dump")
    os.chmod(path, 0o600)
    os.chown(path, os.getuid(), os.getgid())
    os.utime(path, ns=(SOURCE_MTIME * 10**9 + 123456789,) * 2)
    assert os.stat(path).st_mtime_ns == SOURCE_MTIME * 10**9 + 123456789
    stored = store_dir / helpers.crash_parent(crash.crash_id, "radix") / \
        path.name
    assert os.stat(stored).st_mtime_ns == SOURCE_MTIME * 10**9 + 123456789
    # Directories accept them too (cp -a and rsync -a set them).
    os.chmod(directory, 0o755)
    os.utime(directory, (SOURCE_MTIME, SOURCE_MTIME))
    os.chown(directory, os.getuid(), os.getgid())
    assert helpers.read_file(path) == crash.dumps[None]


def test_new_files_are_visible_at_once(mount, store_dir):
    m = mount(store_dir)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / helpers.view_parent(crash.crash_id, "radix")
    os.makedirs(directory)
    assert os.listdir(directory) == []
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data)
        assert name in os.listdir(directory)
        assert os.stat(directory / name).st_size == len(data)
    assert sorted(os.listdir(m.path)) == [helpers.crash_day(crash.crash_id)]


# -- rsync -------------------------------------------------------------------

def rsync_transfers(source, destination, extra=()):
    """Runs rsync -ai; returns the itemized lines that transfer a file."""
    result = run(["rsync", "-ai", *extra, str(source) + "/",
                  str(destination) + "/"], timeout=300)
    return [line for line in result.stdout.splitlines()
            if line.startswith(">f")]


@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_rsync_native_tree_into_mount_then_again_copies_nothing(
        mount, workdir, layout):
    view = helpers.default_view(layout)
    crashes = [helpers.make_crash(helpers.EXAMPLE_1),
               helpers.make_crash(helpers.EXAMPLE_1_NEIGHBOUR),
               helpers.make_crash(helpers.EXAMPLE_2),
               helpers.make_crash(helpers.EXAMPLE_3, dump_size=2 * 10**6)]
    native = workdir / "native"
    helpers.write_socorro_tree(native, view, crashes, mtime=SOURCE_MTIME)
    store = workdir / "store"
    m = mount(store, layout=layout)
    first = rsync_transfers(native, m.path)
    assert len(first) == len(helpers.expected_files(crashes, view))
    assert_store_holds(store, layout, crashes)
    assert helpers.tree_files(m.path) == helpers.tree_files(native)
    second = rsync_transfers(native, m.path)
    assert second == [], "second rsync transferred files:\n" + \
        "\n".join(second)
    # After a remount too: mtimes and sizes come from the store.
    assert m.unmount() == 0
    m = mount(store, layout=layout)
    third = rsync_transfers(native, m.path)
    assert third == [], "rsync after remount transferred:\n" + \
        "\n".join(third)


MIGRATIONS = [
    # (source layout, source view option, destination layout)
    ("radix", None, "radix"),
    ("legacy", None, "legacy"),
    ("dated", None, "radix"),
    ("radix", None, "dated"),
    ("legacy-dated", "view=radix", "radix"),
    ("legacy-dated", None, "legacy"),
]


@pytest.mark.parametrize("source_layout,view_option,destination_layout",
                         MIGRATIONS)
def test_rsync_between_two_mounts_migrates_a_store(
        mount, workdir, source_layout, view_option, destination_layout):
    crashes = [helpers.make_crash(helpers.EXAMPLE_1),
               helpers.make_crash(helpers.EXAMPLE_1_NEIGHBOUR),
               helpers.make_crash(helpers.EXAMPLE_2),
               helpers.make_crash(helpers.EXAMPLE_3)]
    old = workdir / "old"
    helpers.write_socorro_tree(old, source_layout, crashes,
                               mtime=SOURCE_MTIME)
    new = workdir / "new"
    options = [view_option] if view_option else []
    source = mount(old, *options, layout=source_layout)
    destination = mount(new, layout=destination_layout)
    first = rsync_transfers(source.path, destination.path)
    assert first
    assert_store_holds(new, destination_layout, crashes)
    assert rsync_transfers(source.path, destination.path) == []
    # The old store is untouched.
    assert_store_holds(old, source_layout, crashes)


# -- removal -----------------------------------------------------------------

def populate(m, crashes):
    for crash in crashes:
        directory = m.path / ".crashfs" / "by-id" / crash.crash_id
        os.mkdir(directory)
        for name, data in crash.files().items():
            helpers.write_file(directory / name, data)


@pytest.mark.parametrize("layout", ["radix", "dated"])
def test_rm_r_of_a_crash_directory_removes_the_crash(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    neighbour = helpers.make_crash(helpers.EXAMPLE_1_NEIGHBOUR)
    populate(m, [crash, neighbour])
    directory = m.path / helpers.view_parent(crash.crash_id, "radix")
    run(["rm", "-r", str(directory)])
    assert helpers.errno_of(os.stat, directory) == errno.ENOENT
    assert not (store / helpers.crash_parent(crash.crash_id, layout)).exists()
    assert_store_holds(store, layout, [neighbour])
    assert helpers.find_slot_links(store, crash.crash_id) == []
    assert helpers.errno_of(
        os.stat, m.path / ".crashfs" / "by-id" / crash.crash_id) == \
        errno.ENOENT


@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_rm_r_through_by_id_removes_the_crash(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    neighbour = helpers.make_crash(helpers.EXAMPLE_1_NEIGHBOUR)
    populate(m, [crash, neighbour])
    run(["rm", "-r", str(m.path / ".crashfs" / "by-id" / crash.crash_id)])
    # Every part is gone, the .jsonz and the legacy back link included;
    # the neighbour in the same legacy leaf stays whole.
    leftovers = [path for path in helpers.read_tree(store)
                 if crash.crash_id in path]
    assert leftovers == []
    assert_store_holds(store, layout, [neighbour])
    parent = m.path / helpers.view_parent(crash.crash_id,
                                          helpers.default_view(layout))
    if helpers.is_legacy(layout):
        assert sorted(os.listdir(parent)) == sorted(neighbour.files())
    else:
        assert helpers.errno_of(os.stat, parent) == errno.ENOENT


@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_unlink_of_one_part_removes_that_part(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    populate(m, [crash])
    parent = m.path / helpers.view_parent(crash.crash_id,
                                          helpers.default_view(layout))
    os.unlink(parent / (crash.crash_id + "." + helpers.FLASH_DUMP + ".dump"))
    del crash.dumps[helpers.FLASH_DUMP]
    assert_store_holds(store, layout, [crash])
    assert sorted(os.listdir(parent)) == sorted(crash.files())
    os.unlink(parent / (crash.crash_id + ".jsonz"))
    crash.processed = None
    assert_store_holds(store, layout, [crash])
    assert helpers.errno_of(
        os.unlink, parent / (crash.crash_id + ".jsonz")) == errno.ENOENT


# -- read-only mounts --------------------------------------------------------

def test_read_only_mount_refuses_writes_with_erofs(mount, workdir):
    store = workdir / "store"
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    helpers.write_socorro_tree(store, "radix", [crash])
    before = helpers.read_tree(store)
    m = mount(store, "ro")
    parent = m.path / helpers.view_parent(crash.crash_id, "radix")
    dump = parent / (crash.crash_id + ".dump")
    assert helpers.read_file(dump) == crash.dumps[None]
    other = helpers.make_crash(helpers.EXAMPLE_1_NEIGHBOUR)
    attempts = {
        "create": lambda: helpers.write_file(
            parent / (crash.crash_id + ".extra.dump"), b"x"),
        "truncate-open": lambda: open(dump, "wb").close(),
        "append": lambda: open(dump, "ab").close(),
        "mkdir": lambda: os.mkdir(
            m.path / ".crashfs" / "by-id" / other.crash_id),
        "unlink": lambda: os.unlink(dump),
        "rmdir": lambda: os.rmdir(parent),
        "rename": lambda: os.rename(dump, parent / "x"),
        "utime": lambda: os.utime(dump, (1, 1)),
        "chmod": lambda: os.chmod(dump, 0o600),
    }
    for what, attempt in attempts.items():
        code = helpers.errno_of(attempt)
        assert code == errno.EROFS, "%s: %s" % (what, helpers.errno_name(code))
    assert helpers.read_tree(store) == before


# -- Socorro options ---------------------------------------------------------

def test_umask_and_name_branch_base_options(mount, store_dir):
    m = mount(store_dir, "umask=002", "name_branch_base=names")
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    populate(m, [crash])
    naming = {"name_branch_base": "names"}
    expected = helpers.expected_files([crash], "radix", naming)
    assert helpers.tree_files(store_dir) == expected
    for path in expected:
        assert stat.S_IMODE(os.stat(store_dir / path).st_mode) == 0o664
    directory = store_dir / helpers.crash_parent(crash.crash_id, "radix",
                                                 naming)
    while directory != store_dir:
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o775, directory
        directory = directory.parent


def test_custom_file_suffixes(mount, store_dir):
    m = mount(store_dir, "json_file_suffix=.raw", "dump_file_suffix=.bin",
              "jsonz_file_suffix=.pz")
    naming = {"json_file_suffix": ".raw", "dump_file_suffix": ".bin",
              "jsonz_file_suffix": ".pz"}
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    for name, data in crash.files(naming).items():
        helpers.write_file(directory / name, data)
    assert helpers.tree_files(store_dir) == helpers.expected_files(
        [crash], "radix", naming)
    assert sorted(os.listdir(directory)) == sorted(crash.files(naming))
