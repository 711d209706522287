"""HBase Thrift (v1) servers for tests: the stand-in, or a real HBase.

Fixtures (registered by conftest.py):

    def test_x(hbase_client):               # a client of the session server
        table = hbase_client.new_table(b"f", b"g")   # dropped afterwards
        hbase_client.put(table, b"row", {b"f:a": b"1"})
        assert hbase_client.row(table, b"row") == {b"f:a": b"1"}

    def test_y(hbase_standin):              # a private stand-in for drills
        client = hbase_standin.client()
        ...; hbase_standin.kill(); hbase_standin.start()

- hbase_server (session): the server the HBase tests talk to, as
  (host, port) (also .host, .port, .standin).  A stand-in
  (contrib/hbase-standin, in memory) started for the session, or, when
  CRASHFS_TEST_HBASE=host:port is set, that real HBase Thrift server: the
  tests then create uniquely named tables and disable and delete them
  afterwards, and touch nothing else.
- hbase_client (function): an HBaseClient connected to hbase_server that
  drops the tables it made with new_table() at teardown.
- hbase_standin (function): a stand-in of this test alone, on its own port
  with its data directory (--data) in the test's directory: start(),
  stop() (SIGTERM, waits for exit status 0), kill() (SIGKILL), restart(),
  pause()/resume() (SIGSTOP/SIGCONT), fail_calls(True/False)
  (SIGUSR1/SIGUSR2), client().  Stopped by PID at teardown.

The Python bindings are generated from storage/hbase/hbase.thrift the same
way the stand-in generates its own (same cache directory).  Stand-ins run
with --watch-stdin: if the test process dies, they exit.
"""

import importlib.machinery
import importlib.util
import itertools
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SOURCE_TREE = Path(__file__).resolve().parents[2]
STANDIN = SOURCE_TREE / "contrib" / "hbase-standin"
IDL = SOURCE_TREE / "storage" / "hbase" / "hbase.thrift"
ENVIRONMENT_SWITCH = "CRASHFS_TEST_HBASE"
READY_TIMEOUT = 60.0          # seconds for a stand-in to listen

_module = None
_bindings = None


def standin_module():
    """contrib/hbase-standin imported as a module (it has no .py name)."""
    global _module
    if _module is None:
        loader = importlib.machinery.SourceFileLoader("hbase_standin",
                                                      str(STANDIN))
        spec = importlib.util.spec_from_loader("hbase_standin", loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        _module = module
    return _module


def bindings():
    """(Hbase, ttypes): the generated modules of the project's IDL."""
    global _bindings
    if _bindings is None:
        _bindings = standin_module().load_bindings(str(IDL))
    return _bindings


class HBaseClient:
    """A Thrift client as HBase's own thrift1 clients are built: a socket,
    TBufferedTransport, TBinaryProtocol.  Unknown attributes are the calls
    of the generated client (client.getRow(...)); .t holds the types."""

    def __init__(self, host, port, timeout=60.0):
        from thrift.protocol import TBinaryProtocol
        from thrift.transport import TSocket, TTransport
        hbase, ttypes = bindings()
        self.t = ttypes
        self.host, self.port = host, port
        socket = TSocket.TSocket(host, port)
        socket.setTimeout(timeout * 1000)
        self.transport = TTransport.TBufferedTransport(socket)
        protocol = TBinaryProtocol.TBinaryProtocolAccelerated(self.transport)
        self.client = hbase.Client(protocol)
        self.transport.open()
        self.tables = []

    def __getattr__(self, name):
        return getattr(self.client, name)

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- helpers --

    def new_table(self, *families, max_versions=3, **descriptor):
        """Creates a table with a unique name and these families; it is
        dropped by drop_tables() (the fixture's teardown)."""
        name = ("crashfs_test_%d_%s" % (os.getpid(),
                                        secrets.token_hex(4))).encode()
        self.createTable(name, [
            self.t.ColumnDescriptor(name=f, maxVersions=max_versions,
                                    **descriptor) for f in families])
        self.tables.append(name)
        return name

    def drop_table(self, name):
        if self.isTableEnabled(name):
            self.disableTable(name)
        self.deleteTable(name)

    def drop_tables(self):
        problems = []
        for name in self.tables:
            try:
                if name in self.getTableNames():
                    self.drop_table(name)
            except Exception as error:   # report, keep dropping the rest
                problems.append("%s: %r" % (name, error))
        self.tables = []
        return problems

    def mutation(self, column, value=None, delete=False):
        return self.t.Mutation(column=column, value=value, isDelete=delete)

    def put(self, table, row, columns):
        """mutateRow of puts: columns maps "family:qualifier" to a value."""
        self.mutateRow(table, row, [self.mutation(c, v)
                                    for c, v in columns.items()], {})

    def row(self, table, row, columns=()):
        """{column: value} of a row, or None when HBase returns no row."""
        results = self.getRowWithColumns(table, row, list(columns), {})
        assert len(results) <= 1, results
        if not results:
            return None
        assert results[0].row == row
        return {c: cell.value for c, cell in results[0].columns.items()}

    def cells(self, table, row, columns=()):
        """{column: TCell} of a row, or None."""
        results = self.getRowWithColumns(table, row, list(columns), {})
        return results[0].columns if results else None

    def drain(self, scanner_id, batch=1000):
        """Every result of a scanner, by scannerGetList, then closes it."""
        results = []
        while True:
            chunk = self.scannerGetList(scanner_id, batch)
            assert len(chunk) <= batch
            if not chunk:
                break
            results.extend(chunk)
        self.scannerClose(scanner_id)
        return results


def _tmp_base():
    base = os.environ.get("CRASHFS_TEST_TMPDIR") or os.path.join(
        tempfile.gettempdir(), "crashfs-tests")
    os.makedirs(base, exist_ok=True)
    return base


class Standin:
    """One contrib/hbase-standin process (restartable on the same port and
    data directory)."""

    def __init__(self, directory, data=True, extra_args=()):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.directory / "data" if data else None
        self.log_path = self.directory / "hbase-standin.log"
        self.extra_args = list(extra_args)
        self.host = "127.0.0.1"
        self.port = 0            # fixed by the first start
        self.process = None
        self.returncode = None
        self.clients = []
        bindings()               # generate before the first start

    @property
    def pid(self):
        return self.process.pid

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self):
        assert self.process is None or self.process.poll() is not None, \
            "the stand-in is already running"
        arguments = [str(STANDIN), "--host", self.host, "--port",
                     str(self.port), "--watch-stdin"] + self.extra_args
        if self.data_dir is not None:
            arguments += ["--data", str(self.data_dir)]
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                arguments, stdin=subprocess.PIPE, stdout=log, stderr=log,
                start_new_session=True)
        finally:
            log.close()
        self.returncode = None
        deadline = time.monotonic() + READY_TIMEOUT
        pattern = re.compile(r"^listening on ([0-9.]+):(\d+)$", re.MULTILINE)
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                found = pattern.search(f.read().decode(errors="replace"))
            if found:
                self.port = int(found.group(2))
                return self
            code = self.process.poll()
            if code is not None:
                raise AssertionError("hbase-standin exited with status %d "
                                     "before listening:\n%s" % (
                                         code, self.log_text()[-4000:]))
            if time.monotonic() > deadline:
                raise AssertionError("hbase-standin did not listen within "
                                     "%.0f s:\n%s" % (READY_TIMEOUT,
                                                      self.log_text()[-4000:]))
            time.sleep(0.02)

    def _close_clients(self):
        for client in self.clients:
            client.close()
        self.clients = []

    def wait(self, timeout=30.0):
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self.process.stdin:
            self.process.stdin.close()
        return self.returncode

    def stop(self, timeout=30.0):
        """SIGTERM; returns the exit status (None if it did not exit)."""
        self._close_clients()
        self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        self._close_clients()
        self.process.kill()
        return self.wait()

    def restart(self):
        self.stop()
        return self.start()

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def fail_calls(self, failing):
        self.process.send_signal(signal.SIGUSR1 if failing
                                 else signal.SIGUSR2)

    def client(self, timeout=60.0):
        client = HBaseClient(self.host, self.port, timeout)
        self.clients.append(client)
        return client

    def teardown(self):
        self._close_clients()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            if self.wait(30) is None:
                self.process.kill()
                self.wait(30)
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()


class HBaseServer(tuple):
    """(host, port) of the server the HBase tests use; .standin is the
    Standin when it is ours, None for a real HBase."""

    def __new__(cls, host, port, standin=None):
        server = tuple.__new__(cls, (host, port))
        server.standin = standin
        return server

    @property
    def host(self):
        return self[0]

    @property
    def port(self):
        return self[1]


@pytest.fixture(scope="session")
def hbase_server():
    switch = os.environ.get(ENVIRONMENT_SWITCH)
    if switch:
        host, _, port = switch.rpartition(":")
        yield HBaseServer(host, int(port))
        return
    directory = tempfile.mkdtemp(prefix="hbase-session-", dir=_tmp_base())
    standin = Standin(directory, data=False)
    try:
        standin.start()
        yield HBaseServer(standin.host, standin.port, standin)
    finally:
        standin.teardown()
        subprocess.run(["rm", "-rf", directory])


@pytest.fixture
def hbase_client(hbase_server):
    client = HBaseClient(hbase_server.host, hbase_server.port)
    try:
        yield client
        problems = client.drop_tables()
        assert not problems, "could not drop test tables: %s" % problems
    finally:
        client.close()


_standin_numbers = itertools.count()


@pytest.fixture
def hbase_standin(workdir):
    standin = Standin(workdir / ("hbase-standin-%d" % next(_standin_numbers)))
    try:
        standin.start()
        yield standin
    finally:
        standin.teardown()
