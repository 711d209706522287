"""Crashes saved through a mount of a dated layout are queued exactly as
Socorro queues them: an independent re-implementation of Socorro's
new_crashes() walk (crashfs_helpers.new_crashes, from fs-layouts.md
section 7) finds them, consumes them, and a second walk finds nothing."""

import datetime
import os

import pytest

import crashfs_helpers as helpers


def write_crash(m, crash):
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    os.mkdir(directory)
    files = crash.files()
    # Dumps first, the raw crash last: the order Socorro's collector saves.
    for name in sorted(files, key=lambda n: n.endswith(".json")):
        helpers.write_file(directory / name, files[name])


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


@pytest.mark.parametrize("layout", helpers.DATED_LAYOUTS)
def test_new_crashes_walk_finds_crashes_saved_through_the_mount(
        mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    today = utc_now().date()
    old = [helpers.make_crash(helpers.EXAMPLE_2),
           helpers.make_crash(helpers.EXAMPLE_3, processed=False)]
    new = [helpers.make_crash(day=today, depth=depth, seed=depth)
           for depth in (1, 2, 4)]
    save_slot = helpers.slot_of(utc_now())
    for crash in old + new:
        write_crash(m, crash)

    # Crashes of past days are due at once, even within the current slot;
    # today's wait until their slot has passed.
    now = utc_now()
    first = list(helpers.new_crashes(store, layout, now=now))
    assert set(first) >= {c.crash_id for c in old}
    if helpers.slot_of(now) == save_slot and now.date() == today:
        assert not set(first) & {c.crash_id for c in new}

    # A minute on, today's slot has passed too (and past midnight every
    # slot of today's date branch is due, so the walk finds them all).
    later = utc_now() + datetime.timedelta(minutes=1)
    second = list(helpers.new_crashes(store, layout, now=later))
    assert sorted(first + second) == sorted(c.crash_id for c in old + new)
    assert list(helpers.new_crashes(store, layout, now=later)) == []

    # Consuming removed the links only; the data stays, through the mount
    # too.
    assert helpers.tree_links(store) == {}
    everything = old + new
    assert helpers.tree_files(store) == helpers.expected_files(everything,
                                                               layout)
    view = helpers.default_view(layout)
    assert helpers.tree_files(m.path) == helpers.expected_files(everything,
                                                                view)


@pytest.mark.parametrize("layout", helpers.DATED_LAYOUTS)
def test_removed_crash_is_not_queued(mount, workdir, layout):
    store = workdir / "store"
    m = mount(store, layout=layout)
    kept = helpers.make_crash(helpers.EXAMPLE_2)
    removed = helpers.make_crash("e8820616-1462-49b6-9784-e99a32120202")
    write_crash(m, kept)
    write_crash(m, removed)
    helpers.run(["rm", "-r", str(m.path / ".crashfs" / "by-id" /
                                 removed.crash_id)])
    assert helpers.find_slot_links(store, removed.crash_id) == []
    assert list(helpers.new_crashes(store, layout)) == [kept.crash_id]


def test_reference_walk_on_a_hand_built_tree(workdir):
    """The reference walk itself, on Socorro's own example (section 11):
    run at 10:53:42 it yields the crash saved in slot 10/52_10 and removes
    the slot directory but not the hour."""
    for layout in helpers.DATED_LAYOUTS:
        root = workdir / layout
        crash = helpers.make_crash(helpers.EXAMPLE_1)
        helpers.write_socorro_tree(root, layout, [crash], slot=("10", "52_10"))
        same_slot = datetime.datetime(2012, 4, 8, 10, 52, 43)
        assert list(helpers.new_crashes(root, layout, now=same_slot)) == []
        later = datetime.datetime(2012, 4, 8, 10, 53, 42)
        assert list(helpers.new_crashes(root, layout, now=later)) == [
            crash.crash_id]
        assert not (root / "20120408" / "date" / "10" / "52_10").exists()
        assert (root / "20120408" / "date" / "10").is_dir()
        assert helpers.tree_links(root) == {}
        assert list(helpers.new_crashes(root, layout, now=later)) == []
