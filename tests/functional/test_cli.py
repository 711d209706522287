"""The command line: --help, --version, SOURCE as a directory or a JSON
store tree, startup errors that name what is wrong."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

import crashfs_helpers as helpers


def run_binary(binary, *arguments, timeout=30):
    return subprocess.run([str(binary), *arguments], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_help_exits_zero_and_documents_the_options(crashfs_binary):
    result = run_binary(crashfs_binary, "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    assert "SOURCE" in text and "MOUNTPOINT" in text
    for option in ("layout=", "spool=", "spool_max=", "json_max=", "umask",
                   "view="):
        assert option in text, "--help does not mention %s" % option


def test_version_exits_zero(crashfs_binary):
    result = run_binary(crashfs_binary, "--version")
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    assert "crashfs" in text
    assert any(ch.isdigit() for ch in text)


def test_missing_arguments_fail(crashfs_binary, workdir):
    assert run_binary(crashfs_binary).returncode != 0
    assert run_binary(crashfs_binary, str(workdir)).returncode != 0


def test_source_directory_is_created_and_mount_unmounts_cleanly(
        mount, workdir):
    source = workdir / "store"
    m = mount(source)
    assert source.is_dir()
    assert os.listdir(m.path) == []
    assert m.unmount() == 0
    assert not m.is_mounted()
    assert "created the store directory" in m.stderr_text()


def test_a_typo_in_source_does_not_create_a_tree(mount, workdir):
    """Only the last component of a missing SOURCE is made, as mkdir
    would; -o create makes the whole path."""
    source = workdir / "srv" / "crashes"
    m = mount(source, expect_failure=True)
    assert m.returncode == 1
    assert "parent directory does not exist" in m.stderr_text()
    assert "-o create" in m.stderr_text()
    assert not (workdir / "srv").exists()
    m = mount(source, "create")
    assert source.is_dir()
    assert m.unmount() == 0


def test_source_that_is_a_file_is_refused(mount, workdir):
    source = workdir / "store"
    source.write_text("not a directory")
    m = mount(source, expect_failure=True)
    assert m.returncode in (1, 2)
    assert "store" in m.stderr_text() and "SOURCE" in m.stderr_text()
    assert source.read_text() == "not a directory"


def test_mountpoint_that_is_a_file_is_refused(crashfs_binary, workdir):
    target = workdir / "file"
    target.write_text("x")
    result = run_binary(crashfs_binary, str(workdir / "store"), str(target),
                        "-f", "-o", "spool=%s" % (workdir / "spool"))
    assert result.returncode == 1
    assert "Not a directory" in result.stderr
    assert "mounted" not in result.stderr
    assert not helpers.is_mounted(target)
    assert target.read_text() == "x"


def test_nonempty_mountpoint_is_refused_unless_asked(mount, store_dir,
                                                     workdir):
    target = workdir / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    m = mount(store_dir, expect_failure=True, mountpoint=target)
    assert m.returncode == 1
    assert "not empty" in m.stderr_text()
    assert "-o nonempty" in m.stderr_text()
    m = mount(store_dir, "nonempty", mountpoint=target)
    assert not (target / "keep.txt").exists()   # hidden under the mount
    assert m.unmount() == 0
    assert (target / "keep.txt").read_text() == "mine"


def test_mounting_twice_on_one_mountpoint_is_refused(
        mount, store_dir, workdir, crashfs_binary):
    first = mount(store_dir)
    result = run_binary(crashfs_binary, str(workdir / "other"),
                        str(first.path), "-f",
                        "-o", "spool=%s" % (workdir / "spool"))
    assert result.returncode == 1
    assert "mount point already" in result.stderr
    mounts = [point for point, _, _ in helpers.mount_table()
              if Path(point) == first.path]
    assert len(mounts) == 1
    assert first.is_mounted() and first.is_running()
    assert first.unmount() == 0


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_unmounts_and_exits_zero(mount, store_dir,
                                               signal_number):
    """A service manager's stop is not a failure: exit 0, and a log line
    saying the daemon unmounted."""
    m = mount(store_dir)
    os.kill(m.pid, signal_number)
    assert m.wait(30) == 0
    assert not m.is_mounted()
    text = m.stderr_text()
    assert "stopped by %s: unmounted" % signal_number.name in text
    assert "failed" not in text


def test_sighup_does_not_stop_the_daemon(mount, store_dir):
    m = mount(store_dir)
    os.kill(m.pid, signal.SIGHUP)
    os.kill(m.pid, signal.SIGHUP)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / helpers.view_parent(crash.crash_id, "radix")
    directory.mkdir(parents=True)
    helpers.write_file(directory / (crash.crash_id + ".json"), crash.raw)
    assert m.is_running() and m.is_mounted()
    assert m.unmount() == 0


@pytest.mark.parametrize("layout", helpers.LAYOUTS)
def test_json_source_opens_an_fs_store(mount, workdir, layout):
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    root = workdir / "store"
    helpers.write_socorro_tree(root, layout, [crash])
    config = workdir / "store.json"
    config.write_text(json.dumps(
        {"store": {"type": "fs", "root": str(root), "layout": layout}}))
    m = mount(config)
    view = helpers.default_view(layout)
    for name, data in crash.files().items():
        path = m.path / helpers.view_parent(crash.crash_id, view) / name
        assert helpers.read_file(path) == data
    assert m.unmount() == 0


def test_single_threaded_mount_works(mount, store_dir):
    m = mount(store_dir, extra_args=["-s"])
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    directory.mkdir()
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data)
    assert helpers.tree_files(store_dir) == helpers.expected_files(
        [crash], "radix")


def test_default_spool_works(mount, store_dir):
    m = mount(store_dir, spool=False)
    crash = helpers.make_crash(helpers.EXAMPLE_1)
    directory = m.path / ".crashfs" / "by-id" / crash.crash_id
    directory.mkdir()
    for name, data in crash.files().items():
        helpers.write_file(directory / name, data)
    assert helpers.read_file(directory / (crash.crash_id + ".dump")) == \
        crash.dumps[None]
    assert m.unmount() == 0
    # The default spool may live in the store's root (a hidden directory
    # Socorro's walks skip); once unmounted it holds nothing.
    files = helpers.tree_files(store_dir)
    spooled = {p for p in files if p.startswith(".")}
    assert spooled == set()
    assert files == helpers.expected_files([crash], "radix")


def test_background_mode_detaches(crashfs_binary, workdir, time_scale):
    """Without -f the daemon detaches: the command returns once mounted."""
    mountpoint = workdir / "mnt"
    mountpoint.mkdir()
    (workdir / "sp").mkdir()
    # Output to a file, not a pipe: a daemon keeping the pipe open would
    # make this wait until the timeout instead of failing.
    log_path = workdir / "crashfs.log"
    try:
        with open(log_path, "wb") as log:
            result = subprocess.run(
                [str(crashfs_binary), str(workdir / "store"), str(mountpoint),
                 "-o", "spool=%s" % (workdir / "sp")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                timeout=30 * time_scale)
        assert result.returncode == 0, log_path.read_text(errors="replace")
        assert helpers.is_mounted(mountpoint)
        assert os.listdir(mountpoint) == []
    finally:
        subprocess.run(["fusermount3", "-uz", str(mountpoint)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)


def startup_error(mount, source, *options, **kwargs):
    m = mount(source, *options, expect_failure=True, **kwargs)
    assert m.returncode not in (None, 0)
    return m.stderr_text()


def test_unknown_option_is_a_startup_error_naming_it(mount, store_dir):
    text = startup_error(mount, store_dir, "layuot=radix")
    assert "layuot" in text


def test_unknown_layout_is_a_startup_error_naming_it(mount, store_dir):
    text = startup_error(mount, store_dir, "layout=flat")
    assert "flat" in text


def test_unknown_store_type_is_a_startup_error_naming_it(mount, workdir):
    config = workdir / "store.json"
    config.write_text(json.dumps({"store": {"type": "fz", "root": "x"}}))
    text = startup_error(mount, config)
    assert "fz" in text
    assert "store.type" in text


def test_unknown_store_option_is_a_startup_error_naming_its_path(
        mount, workdir):
    config = workdir / "store.json"
    config.write_text(json.dumps({"store": {
        "type": "fs", "root": str(workdir / "store"), "layuot": "radix"}}))
    text = startup_error(mount, config)
    assert "store.layuot" in text


def test_malformed_json_source_is_a_startup_error(mount, workdir):
    config = workdir / "store.json"
    config.write_text('{"store": {"type": "fs",, }}')
    text = startup_error(mount, config)
    assert "store.json" in text


def test_missing_json_source_is_a_startup_error(mount, workdir):
    text = startup_error(mount, workdir / "absent.json")
    assert "absent.json" in text


@pytest.mark.parametrize("document", [
    {"stor": {"type": "fs", "root": "x"}},
    {"x": 1},
])
def test_misspelt_top_level_key_is_a_startup_error_naming_it(
        mount, workdir, document):
    config = workdir / "store.json"
    config.write_text(json.dumps(document))
    m = mount(config, expect_failure=True)
    assert m.returncode == 1
    text = m.stderr_text()
    key = next(iter(document))
    assert '"%s": unknown top-level key' % key in text


def test_setup_store_walks_the_tree_and_reports(crashfs_binary, workdir):
    """crashfs --setup-store CONFIG: stores without servers need nothing;
    a broken tree is exit 1 naming it; no CONFIG is a usage error."""
    config = workdir / "tree.json"
    config.write_text(json.dumps({"store": {"type": "poly", "stores": [
        {"type": "memory"}, {"type": "fs", "root": str(workdir / "s")}]}}))
    result = run_binary(crashfs_binary, "--setup-store", str(config))
    assert result.returncode == 0, result.stderr
    assert "0 object(s) created" in result.stdout
    config.write_text(json.dumps({"store": {"type": "poly", "stores": [
        {"type": "memory", "max_bytes": -1}]}}))
    result = run_binary(crashfs_binary, "--setup-store", str(config))
    assert result.returncode == 1
    assert "store.stores[0].max_bytes" in result.stderr
    assert run_binary(crashfs_binary, "--setup-store").returncode == 2
