"""A tree written through the mount is byte for byte the tree of
fs-layouts.md section 11: every directory, file name, file content, mode
and relative symlink target, in each layout.

The date-branch slot depends on the clock at save time, so it is read back
from the links, checked against the time window of the write, and then the
whole tree is compared with the spec's, links included."""

import datetime
import gzip
import json
import os
import re
import stat

import pytest

import crashfs_helpers as helpers

EXAMPLES = (helpers.EXAMPLE_1, helpers.EXAMPLE_2, helpers.EXAMPLE_3)


def spec_crash(crash_id):
    """The crash of the spec's examples: its raw crash bytes as written in
    fs-layouts.md 2.5, two dumps and a processed crash."""
    raw = ('{"legacy_processing": 0, "uuid": "%s", '
           '"ProductName": "Firefox"}' % crash_id).encode()
    dumps = {helpers.MAIN_DUMP: helpers.make_dump(5000, seed=crash_id),
             helpers.FLASH_DUMP: helpers.make_dump(777, seed=crash_id + "f")}
    processed = {"uuid": crash_id, "signature": "EMPTY: no crashing thread",
                 "date_processed": "2012-04-08 10:56:41.558922"}
    return helpers.Crash(crash_id, raw, dumps, helpers.make_jsonz(processed))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def possible_slots(start, end, interval):
    slots = set()
    moment = start - datetime.timedelta(seconds=1)
    while moment <= end + datetime.timedelta(seconds=1):
        slots.add(helpers.slot_of(moment, interval))
        moment += datetime.timedelta(seconds=1)
    return slots


def write_crash(m, crash, layout, via):
    """Writes the dumps, then the raw crash, then the processed crash."""
    if via == "by-id":
        directory = m.path / ".crashfs" / "by-id" / crash.crash_id
        os.mkdir(directory)
    else:
        directory = m.path / helpers.view_parent(
            crash.crash_id, helpers.default_view(layout))
        os.makedirs(directory, exist_ok=True)
    files = crash.files()

    def rank(name):
        return 1 if name.endswith(".json") else \
            2 if name.endswith(".jsonz") else 0

    for name in sorted(files, key=rank):
        helpers.write_file(directory / name, files[name])


def read_slot(store, crash_id, layout, naming=None):
    """The slot recorded by the name-side link, checked against the spec's
    pattern: N+2 (dated) or N+1 (legacy-dated) levels up, then
    date/<HH>/<MM>_<SS>."""
    naming = dict(helpers.SOCORRO_DEFAULTS, **(naming or {}))
    depth = helpers.radix_depth(crash_id)
    leaf = store / helpers.leaf_dir(crash_id, naming)
    if layout == "dated":
        link, levels = leaf / crash_id / "date_root", depth + 2
    else:
        link, levels = leaf / crash_id, depth + 1
    assert os.path.islink(link), "%s is not a symlink" % link
    target = os.readlink(link)
    pattern = r"^(\.\./){%d}%s/(\d\d)/(\d\d_\d\d)$" % (
        levels, re.escape(naming["date_branch_base"]))
    match = re.match(pattern, target)
    assert match, "%s -> %s does not match %s" % (link, target, pattern)
    return match.group(2), match.group(3)


def expected_tree(crashes, layout, slots, naming=None):
    """{relative path: (kind, value)} of the whole store per the spec."""
    naming = dict(helpers.SOCORRO_DEFAULTS, **(naming or {}))
    tree = {}

    def add_dirs(path):
        while path and path not in tree:
            tree[path] = ("dir", None)
            path = os.path.dirname(path)

    for crash in crashes:
        parent = helpers.crash_parent(crash.crash_id, layout, naming)
        add_dirs(parent)
        for name, data in crash.files(naming).items():
            tree[os.path.join(parent, name)] = ("file", data)
        for link, target in helpers.date_links(
                crash.crash_id, layout, slots.get(crash.crash_id), naming):
            add_dirs(os.path.dirname(link))
            tree[link] = ("link", target)
    return tree


def check_modes(store, crashes, layout, file_mode=0o644, dir_mode=0o755):
    for crash in crashes:
        parent = store / helpers.crash_parent(crash.crash_id, layout)
        for name in crash.files():
            mode = stat.S_IMODE(os.lstat(parent / name).st_mode)
            assert mode == file_mode, "%s: %o" % (name, mode)
        directory = parent
        while directory != store:
            mode = stat.S_IMODE(os.stat(directory).st_mode)
            assert mode == dir_mode, "%s: %o" % (directory, mode)
            directory = directory.parent


def check_processed(store, crash, layout):
    path = store / helpers.crash_parent(crash.crash_id, layout) / (
        crash.crash_id + ".jsonz")
    data = path.read_bytes()
    assert data[:3] == b"\x1f\x8b\x08"
    processed = json.loads(gzip.decompress(data))
    assert processed["uuid"] == crash.crash_id
    assert processed["date_processed"] == "2012-04-08 10:56:41.558922"


@pytest.mark.parametrize("via", ["view", "by-id"])
@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_tree_written_through_the_mount_matches_the_spec(
        mount, workdir, layout, via):
    old_umask = os.umask(0o022)
    try:
        store = workdir / "store"
        m = mount(store, layout=layout)
        crashes = [spec_crash(crash_id) for crash_id in EXAMPLES]
        windows = {}
        for crash in crashes:
            start = utc_now()
            write_crash(m, crash, layout, via)
            windows[crash.crash_id] = (start, utc_now())
    finally:
        os.umask(old_umask)

    slots = {}
    if helpers.is_dated(layout):
        for crash in crashes:
            slot = read_slot(store, crash.crash_id, layout)
            start, end = windows[crash.crash_id]
            assert slot in possible_slots(start, end, 4), \
                "slot %s is not the save time (%s .. %s)" % (slot, start, end)
            slots[crash.crash_id] = slot
    expected = expected_tree(crashes, layout, slots)
    actual = helpers.read_tree(store)
    assert actual == expected, helpers.describe_difference(expected, actual)
    check_modes(store, crashes, layout)
    for crash in crashes:
        check_processed(store, crash, layout)


def test_worked_example_paths_are_the_spec_literals(mount, workdir):
    """The spec's literal paths and link targets for example 1 and 3 in
    the dated layouts (no helper involved in the expectation)."""
    for layout in ("dated", "legacy-dated"):
        store = workdir / layout
        m = mount(store, layout=layout)
        for crash_id in (helpers.EXAMPLE_1, helpers.EXAMPLE_3):
            write_crash(m, spec_crash(crash_id), layout, "by-id")
        slot1 = "/".join(read_slot(store, helpers.EXAMPLE_1, layout))
        slot3 = "/".join(read_slot(store, helpers.EXAMPLE_3, layout))
        a = helpers.EXAMPLE_1
        c = helpers.EXAMPLE_3
        if layout == "dated":
            literal = {
                "20120408/name/93/6c/%s/date_root" % a:
                    "../../../../date/" + slot1,
                "20120408/date/%s/%s" % (slot1, a):
                    "../../../name/93/6c/" + a,
                "20071025/name/0b/ba/92/9f/%s/date_root" % c:
                    "../../../../../../date/" + slot3,
                "20071025/date/%s/%s" % (slot3, c):
                    "../../../name/0b/ba/92/9f/" + c,
            }
            files = ["20120408/name/93/6c/%s/%s.json" % (a, a),
                     "20120408/name/93/6c/%s/%s.dump" % (a, a),
                     "20120408/name/93/6c/%s/%s.upload_file_minidump_flash1"
                     ".dump" % (a, a),
                     "20120408/name/93/6c/%s/%s.jsonz" % (a, a),
                     "20071025/name/0b/ba/92/9f/%s/%s.json" % (c, c)]
        else:
            literal = {
                "20120408/name/93/6c/" + a: "../../../date/" + slot1,
                "20120408/date/%s/%s" % (slot1, a): "../../../name/93/6c",
                "20071025/name/0b/ba/92/9f/" + c:
                    "../../../../../date/" + slot3,
                "20071025/date/%s/%s" % (slot3, c):
                    "../../../name/0b/ba/92/9f",
            }
            files = ["20120408/name/93/6c/%s.json" % a,
                     "20120408/name/93/6c/%s.dump" % a,
                     "20120408/name/93/6c/%s.upload_file_minidump_flash1.dump"
                     % a,
                     "20120408/name/93/6c/%s.jsonz" % a,
                     "20071025/name/0b/ba/92/9f/%s.json" % c]
        assert helpers.tree_links(store) == literal
        for path in files:
            assert (store / path).is_file(), path
        # Both links of a crash agree: the slot link sits in the directory
        # the name-side link points at, and leads back to the crash.
        for crash_id in (a, c):
            leaf = store / helpers.leaf_dir(crash_id)
            name_link = leaf / crash_id / "date_root" \
                if layout == "dated" else leaf / crash_id
            slot_dir = os.path.realpath(name_link)
            slot_link = os.path.join(slot_dir, crash_id)
            assert os.path.islink(slot_link)
            assert os.path.isfile(os.path.join(slot_link, crash_id + ".json"))
        assert m.unmount() == 0


def test_minute_slice_interval_option(mount, workdir):
    store = workdir / "store"
    m = mount(store, "minute_slice_interval=1", layout="dated")
    crash = spec_crash(helpers.EXAMPLE_2)
    start = utc_now()
    write_crash(m, crash, "dated", "by-id")
    end = utc_now()
    slot = read_slot(store, crash.crash_id, "dated")
    assert slot in possible_slots(start, end, 1)


@pytest.mark.parametrize("layout", helpers.DATED_LAYOUTS)
def test_rewriting_a_dated_crash_keeps_one_queue_entry(mount, workdir,
                                                        layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    crash = spec_crash(helpers.EXAMPLE_1)
    write_crash(m, crash, layout, "by-id")
    crash.raw = crash.raw.replace(b"Firefox", b"Thunderbird")
    helpers.write_file(m.path / ".crashfs" / "by-id" / crash.crash_id /
                       (crash.crash_id + ".json"), crash.raw)
    slot = read_slot(store, crash.crash_id, layout)
    links = helpers.find_slot_links(store, crash.crash_id)
    assert len(links) == 1, links
    # Files and links as the spec has them (an emptied earlier slot
    # directory may remain, as Socorro's new_crashes removes those).
    expected = {path: value for path, value in expected_tree(
        [crash], layout, {crash.crash_id: slot}).items()
        if value[0] != "dir"}
    actual = {path: value for path, value in helpers.read_tree(store).items()
              if value[0] != "dir"}
    assert actual == expected, helpers.describe_difference(expected, actual)
