"""Helpers shared by the functional tests: Socorro crash ids, crash
contents, the Socorro filesystem layouts (written here from
spec/fs-layouts.md, independently of the C code), a reference
re-implementation of Socorro's new_crashes() walk, and mount bookkeeping.

Nothing here talks to crashfs itself; conftest.py starts the daemons.
"""

import datetime
import errno
import gzip
import hashlib
import json
import os
import random
import re
import stat
import subprocess
import uuid

LAYOUTS = ("radix", "legacy", "dated", "legacy-dated")
DATED_LAYOUTS = ("dated", "legacy-dated")
LEGACY_LAYOUTS = ("legacy", "legacy-dated")

MAIN_DUMP = None  # the key of the main dump (<id>.dump) in Crash.dumps
FLASH_DUMP = "upload_file_minidump_flash1"

# The worked examples of fs-layouts.md section 11.
EXAMPLE_1 = "936ce666-ff3b-4c7a-9674-367fe2120408"
EXAMPLE_1_NEIGHBOUR = "936ce666-aaaa-4c7a-9674-367fe2120408"
EXAMPLE_2 = "e8820616-1462-49b6-9784-e99a32120201"
EXAMPLE_3 = "0bba929f-8721-460c-dead-a43c20071025"

# Socorro's option defaults (fs-layouts.md section 1).
SOCORRO_DEFAULTS = {
    "umask": 0o022,
    "json_file_suffix": ".json",
    "jsonz_file_suffix": ".jsonz",
    "dump_file_suffix": ".dump",
    "dump_field": "upload_file_minidump",
    "name_branch_base": "name",
    "date_branch_base": "date",
    "minute_slice_interval": 4,
}

MiB = 1024 * 1024


# -- crash ids (crash-ids.md) -------------------------------------------

def make_crash_id(day=None, depth=2, rng=None):
    """A Socorro crash id for day (a datetime.date, default today UTC)
    whose depth character is depth (a digit; Socorro generates 1..4)."""
    if day is None:
        day = datetime.datetime.now(datetime.timezone.utc).date()
    if rng is None:
        head = str(uuid.uuid4())
    else:
        head = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return "%s%d%02d%02d%02d" % (head[:29], depth, day.year % 100,
                                 day.month, day.day)


def crash_day(crash_id):
    """The YYYYMMDD directory of a crash id (fs-layouts.md 2.1)."""
    return "20" + crash_id[-6:]


def radix_depth(crash_id):
    """2014 semantics (crashfs follows them): digit 0 means 4 levels."""
    digit = int(crash_id[-7])
    return 4 if digit == 0 else digit


def radix_components(crash_id):
    return [crash_id[2 * i:2 * i + 2] for i in range(radix_depth(crash_id))]


def is_legacy(layout):
    return layout in LEGACY_LAYOUTS


def is_dated(layout):
    return layout in DATED_LAYOUTS


# -- crash contents -------------------------------------------------------

def socorro_json(value):
    """JSON text as Socorro writes it: json.dumps with default separators
    (", " and ": "), ASCII only, no trailing newline."""
    return json.dumps(value).encode("ascii")


def make_raw_crash(crash_id, rng=None, padding=0, **extra):
    rng = rng or random.Random(crash_id)
    raw = {
        "ProductName": "Firefox",
        "Version": "%d.0" % rng.randint(30, 140),
        "BuildID": "2014%010d" % rng.randint(0, 10**10 - 1),
        "uuid": crash_id,
        "legacy_processing": 0,
        "submitted_timestamp": "20%s-%s-%sT10:52:42.123456+00:00" % (
            crash_id[-6:-4], crash_id[-4:-2], crash_id[-2:]),
        "Comments": "caf\u00e9 \U0001f600 crash",
    }
    if padding:
        raw["Notes"] = "x" * padding
    raw.update(extra)
    return raw


def make_raw_crash_json(crash_id, rng=None, padding=0, **extra):
    return socorro_json(make_raw_crash(crash_id, rng, padding, **extra))


def make_dump(size, seed=0):
    """size random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def make_jsonz(value, mtime=1333882362):
    """A processed crash as Socorro stores it: one gzip member (level 9,
    XFL 02, OS ff, no name) of its JSON text (fs-layouts.md 2.5)."""
    return gzip.compress(socorro_json(value), compresslevel=9, mtime=mtime)


def make_processed(crash_id):
    return {"uuid": crash_id, "signature": "js::GC::Sweep",
            "date_processed": "2012-04-08 10:56:41.558922",
            "success": True}


class Crash:
    """One crash: raw JSON bytes, dumps by name (None = main dump) and the
    processed .jsonz bytes (or None)."""

    def __init__(self, crash_id, raw, dumps=None, processed=None):
        self.crash_id = crash_id
        self.raw = raw
        self.dumps = dict(dumps or {})
        self.processed = processed

    def files(self, naming=None):
        """{file name: bytes} of every part, named as Socorro names them."""
        naming = dict(SOCORRO_DEFAULTS, **(naming or {}))
        result = {}
        if self.raw is not None:
            result[self.crash_id + naming["json_file_suffix"]] = self.raw
        for name, data in self.dumps.items():
            result[dump_file_name(self.crash_id, name, naming)] = data
        if self.processed is not None:
            result[self.crash_id + naming["jsonz_file_suffix"]] = \
                self.processed
        return result


def dump_file_name(crash_id, dump_name, naming=None):
    naming = dict(SOCORRO_DEFAULTS, **(naming or {}))
    suffix = naming["dump_file_suffix"]
    if dump_name is None or dump_name == naming["dump_field"]:
        return crash_id + suffix
    return "%s.%s%s" % (crash_id, dump_name, suffix)


def make_crash(crash_id=None, day=None, depth=2, seed=None, dump_size=4096,
               flash_size=1500, processed=True, raw_padding=0):
    """A complete crash with a main dump, a flash dump and a processed
    crash, all derived from seed (default: the crash id)."""
    if crash_id is None:
        rng = random.Random(seed) if seed is not None else None
        crash_id = make_crash_id(day=day, depth=depth, rng=rng)
    rng = random.Random(seed if seed is not None else crash_id)
    dumps = {MAIN_DUMP: rng.randbytes(dump_size)}
    if flash_size is not None:
        dumps[FLASH_DUMP] = rng.randbytes(flash_size)
    return Crash(crash_id,
                 make_raw_crash_json(crash_id, rng, padding=raw_padding),
                 dumps,
                 make_jsonz(make_processed(crash_id)) if processed else None)


# -- the Socorro layouts (fs-layouts.md sections 2-6) ---------------------

def leaf_dir(crash_id, naming=None):
    """<YYYYMMDD>/<name>/r1/.../rN, relative to the root."""
    naming = dict(SOCORRO_DEFAULTS, **(naming or {}))
    return os.path.join(crash_day(crash_id), naming["name_branch_base"],
                        *radix_components(crash_id))


def crash_parent(crash_id, layout, naming=None):
    """The directory holding the crash's files, relative to the root: the
    per-crash directory, or the shared leaf for legacy layouts."""
    leaf = leaf_dir(crash_id, naming)
    return leaf if is_legacy(layout) else os.path.join(leaf, crash_id)


def view_parent(crash_id, view):
    """Where a mount shows the crash's files ("radix" or "legacy" view)."""
    return crash_parent(crash_id, "legacy" if view == "legacy" else "radix")


def default_view(layout):
    return "legacy" if is_legacy(layout) else "radix"


def expected_files(crashes, layout, naming=None):
    """{path relative to the root: bytes} of the data files of crashes in
    a store (or a view) of layout."""
    result = {}
    for crash in crashes:
        parent = crash_parent(crash.crash_id, layout, naming)
        for name, data in crash.files(naming).items():
            result[os.path.join(parent, name)] = data
    return result


def slot_of(when, interval=4):
    """(HH, MM_SS) of the date branch slot for a UTC datetime (5)."""
    return ("%02d" % when.hour,
            "%02d_%02d" % (when.minute, when.second // interval))


def date_links(crash_id, layout, slot, naming=None):
    """The two links of a dated layout, relative to the root:
    [(link path, target)] exactly as fs-layouts.md sections 5, 6 and 11
    spell them (relative targets)."""
    if not is_dated(layout):
        return []
    naming = dict(SOCORRO_DEFAULTS, **(naming or {}))
    hour, minute_slot = slot
    day = crash_day(crash_id)
    radix = radix_components(crash_id)
    leaf = leaf_dir(crash_id, naming)
    slot_dir = os.path.join(day, naming["date_branch_base"], hour, minute_slot)
    date_target = os.path.join(naming["date_branch_base"], hour, minute_slot)
    if layout == "dated":
        name_link = os.path.join(leaf, crash_id, "date_root")
        name_target = "../" * (len(radix) + 2) + date_target
        slot_target = "../../../" + os.path.join(
            naming["name_branch_base"], *radix, crash_id)
    elif layout == "legacy-dated":
        name_link = os.path.join(leaf, crash_id)
        name_target = "../" * (len(radix) + 1) + date_target
        slot_target = "../../../" + os.path.join(
            naming["name_branch_base"], *radix)
    return [(name_link, name_target),
            (os.path.join(slot_dir, crash_id), slot_target)]


def write_socorro_tree(root, layout, crashes, slot=("10", "52_10"),
                       naming=None, mtime=None):
    """Writes crashes into root as Socorro's fs stores of layout would
    (files, then the date-branch links of dated layouts).  mtime, if given,
    is set on every file (seconds since the epoch)."""
    os.makedirs(root, exist_ok=True)
    for crash in crashes:
        parent = os.path.join(root, crash_parent(crash.crash_id, layout,
                                                 naming))
        os.makedirs(parent, exist_ok=True)
        for name, data in crash.files(naming).items():
            path = os.path.join(parent, name)
            with open(path, "wb") as f:
                f.write(data)
            if mtime is not None:
                os.utime(path, (mtime, mtime))
        for link, target in date_links(crash.crash_id, layout, slot, naming):
            os.makedirs(os.path.dirname(os.path.join(root, link)),
                        exist_ok=True)
            os.symlink(target, os.path.join(root, link))


# The fs store's scratch directory for files being written (swept when its
# daemon is gone): crashfs's own, not the store's content.
SCRATCH_DIR_NAME = ".crashfs-tmp"


def read_tree(root, scratch=False):
    """{relative path: ("file", bytes) | ("link", target) | ("dir", None)}
    of everything below root (root itself excluded), without the store's
    scratch directory unless scratch is true."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if not scratch and os.path.samefile(dirpath, root) and \
                SCRATCH_DIR_NAME in dirnames:
            dirnames.remove(SCRATCH_DIR_NAME)
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            relative = os.path.relpath(path, root)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                result[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                result[relative] = ("dir", None)
            elif stat.S_ISREG(mode):
                with open(path, "rb") as f:
                    result[relative] = ("file", f.read())
            else:
                result[relative] = ("other", None)
        # os.walk does not descend into symlinked directories; good.
    return result


def tree_files(root):
    """{relative path: bytes} of the regular files below root."""
    return {path: data for path, (kind, data) in read_tree(root).items()
            if kind == "file"}


def tree_links(root):
    return {path: target for path, (kind, target) in read_tree(root).items()
            if kind == "link"}


def find_slot_links(root, crash_id, naming=None):
    """Paths (relative to root) of every date-branch slot entry of
    crash_id: <day>/date/<HH>/<MM_SS>/<crash_id>."""
    naming = dict(SOCORRO_DEFAULTS, **(naming or {}))
    date_dir = os.path.join(root, crash_day(crash_id),
                            naming["date_branch_base"])
    found = []
    for dirpath, dirnames, filenames in os.walk(date_dir):
        for name in dirnames + filenames:
            if name == crash_id:
                found.append(os.path.relpath(os.path.join(dirpath, name),
                                             root))
    return sorted(found)


def describe_difference(expected, actual, limit=20):
    """A readable summary of how two {path: value} dicts differ."""
    lines = []
    for path in sorted(set(expected) - set(actual))[:limit]:
        lines.append("missing: %s" % path)
    for path in sorted(set(actual) - set(expected))[:limit]:
        lines.append("unexpected: %s" % path)
    for path in sorted(set(expected) & set(actual)):
        if expected[path] != actual[path]:
            lines.append("differs: %s" % path)
            if len(lines) >= 3 * limit:
                break
    return "\n".join(lines)


# -- Socorro's new_crashes() (fs-layouts.md section 7) --------------------

def new_crashes(root, layout, now=None, naming=None):
    """A generator re-implementing Socorro's destructive date-branch walk.

    now is the UTC datetime the walk considers current (default: the
    real clock).  Like Socorro's, the links of a yielded crash are removed
    only when the consumer asks for the next item."""
    naming = dict(SOCORRO_DEFAULTS, **(naming or {}))
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    interval = naming["minute_slice_interval"]
    current_slot = list(slot_of(now, interval))
    current_date = "%4d%02d%02d" % (now.year, now.month, now.day)
    date_base = naming["date_branch_base"]
    json_suffix = naming["json_file_suffix"]
    legacy = is_legacy(layout)
    for day in os.listdir(root):
        try:
            hours = os.listdir(os.path.join(root, day, date_base))
        except OSError:
            continue
        for hour in hours:
            hour_dir = os.path.join(root, day, date_base, hour)
            skipped = False
            for minute_slot in os.listdir(hour_dir):
                if [hour, minute_slot] >= current_slot and \
                        day >= current_date:
                    skipped = True
                    continue
                slot_dir = os.path.join(hour_dir, minute_slot)
                if legacy:
                    yield from _visit_legacy_slot(slot_dir, json_suffix)
                else:
                    yield from _visit_slot(slot_dir, json_suffix)
                _try(os.rmdir, slot_dir)
            if not skipped and hour < current_slot[0]:
                _try(os.rmdir, hour_dir)


def _try(function, *args):
    try:
        function(*args)
    except OSError:
        pass


def _visit_slot(slot_dir, json_suffix):
    for entry in os.listdir(slot_dir):
        link = os.path.join(slot_dir, entry)
        if os.path.islink(link) and \
                os.path.isfile(os.path.join(link, entry + json_suffix)):
            yield entry
            _try(os.unlink, os.path.join(link, "date_root"))
            _try(os.unlink, link)


def _visit_legacy_slot(slot_dir, json_suffix):
    for entry in os.listdir(slot_dir):
        path = os.path.join(slot_dir, entry)
        if os.path.islink(path):
            if os.path.isfile(os.path.join(path, entry + json_suffix)):
                yield entry
                _try(os.unlink, os.path.join(path, entry))
            _try(os.unlink, path)
        elif os.path.isdir(path):
            yield from _visit_legacy_slot(path, json_suffix)
            _try(os.rmdir, path)


# -- files, processes, mounts ---------------------------------------------

def sha256_of_file(path, chunk_size=MiB):
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def write_file(path, data, chunk_size=None):
    """Writes data with os.open/os.write/os.close so that an error of
    close() (the commit) surfaces as OSError with its errno."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        step = chunk_size or max(len(data), 1)
        for start in range(0, len(data), step):
            chunk = view[start:start + step]
            while chunk:
                written = os.write(fd, chunk)
                chunk = chunk[written:]
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def errno_of(function, *args, **kwargs):
    """Runs function; returns the errno of the OSError it raised, or None
    if it succeeded."""
    try:
        function(*args, **kwargs)
    except OSError as error:
        return error.errno
    return None


def errno_name(number):
    return errno.errorcode.get(number, str(number)) if number else "success"


def run(command, timeout=120, check=True, **kwargs):
    """subprocess.run with text output, a timeout and a readable failure."""
    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(str, command)), result.returncode,
            result.stdout[-4000:], result.stderr[-4000:]))
    return result


def _unescape_mountinfo(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_table():
    """[(mount point, filesystem type, mount source)] from
    /proc/self/mountinfo.  Never stats a mount point: a hung FUSE daemon
    would block the caller."""
    entries = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            separator = fields.index("-")
            entries.append((_unescape_mountinfo(fields[4]),
                            fields[separator + 1],
                            _unescape_mountinfo(fields[separator + 2])))
    return entries


def is_mounted(path):
    path = os.path.abspath(path)
    return any(point == path for point, _, _ in mount_table())


def mounts_below(directory):
    directory = os.path.abspath(directory).rstrip("/") + "/"
    return [point for point, _, _ in mount_table()
            if point.startswith(directory)]


def process_status(pid, key):
    """A field of /proc/<pid>/status in KiB (VmHWM, VmRSS) or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
