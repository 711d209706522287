"""Real PostgreSQL and RabbitMQ servers for the tests that need them.

    def test_rows(postgresql_database):
        connection = postgresql_database.connect()   # psycopg2
        ...
        crashfs_config = {"dsn": postgresql_database.dsn}

    def test_ids(rabbitmq_server, rabbitmq_queues):
        rabbitmq_server.publish(rabbitmq_queues.normal, b"crash id")
        assert [m.body for m in rabbitmq_server.get_all(
            rabbitmq_queues.normal)] == [b"crash id"]

tests/run starts the servers with contrib/services/postgresql and
contrib/services/rabbitmq before pytest and exports how to reach them
(CRASHFS_TEST_PG_*, CRASHFS_TEST_RABBITMQ_*: see those scripts).  When
they are not exported (pytest run by hand), the session fixture starts its
server itself with the same script, in $CRASHFS_TEST_STATE/services/<name>
(default <system temp dir>/crashfs-tests/services/<name>), on the port of
CRASHFS_TEST_PG_PORT / CRASHFS_TEST_RABBITMQ_PORT (default 55432 / 56720),
and stops it at the end of the session whether tests failed or not.  The
scripts stop what they start by PID, and a start first stops the
leftovers of a killed run in the same directory.

The servers are shared by the session; tests never see each other's data
because each gets its own database (postgresql_database, dropped
afterwards) or its own queue names (rabbitmq_queues, deleted afterwards).
Request those fixtures before `mount`, so that they are torn down after
the daemons that use them.  Outage drills (stop_immediate(), kill(),
restart()) act on the shared server; the function fixtures start it again
if a test left it down.
"""

import collections
import os
import re
import secrets
import subprocess
import tempfile
from pathlib import Path

import pytest

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # reported by the fixtures, which fail without it
    psycopg2 = None
try:
    import pika
    import pika.exceptions
except ImportError:
    pika = None

__all__ = ["postgresql_server", "postgresql_database", "rabbitmq_server",
           "rabbitmq_queues"]  # the fixtures conftest.py registers

SOURCE_TREE = Path(__file__).resolve().parents[2]
SERVICES_DIR = SOURCE_TREE / "contrib" / "services"
SERVICE_TIMEOUT = 300  # seconds a script may take (RabbitMQ boots in ~5-10)


class ServiceError(AssertionError):
    pass


class Service:
    """One contrib/services script and its state directory."""

    def __init__(self, name, state_dir, environment):
        self.name = name
        self.script = SERVICES_DIR / name
        self.state_dir = Path(state_dir)
        self.environment = environment  # for the script: its ports

    def run(self, command, check=True):
        env = dict(os.environ)
        env.update(self.environment)
        result = subprocess.run(
            [str(self.script), command, str(self.state_dir)], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=SERVICE_TIMEOUT)
        if check and result.returncode != 0:
            raise ServiceError("%s %s %s failed (exit %d):\n%s" % (
                self.script, command, self.state_dir, result.returncode,
                result.stdout))
        return result

    def is_running(self):
        return self.run("status", check=False).returncode == 0

    def exported(self):
        """The variables the script's start wrote to STATE_DIR/env."""
        result = subprocess.run(
            ["bash", "-c", '. "$1" && env -0', "bash",
             str(self.state_dir / "env")], env={"PATH": os.environ["PATH"]},
            stdout=subprocess.PIPE, check=True, timeout=60)
        variables = {}
        for entry in result.stdout.decode().split("\0"):
            key, _, value = entry.partition("=")
            if key.startswith("CRASHFS_TEST_"):
                variables[key] = value
        return variables


def _state_base():
    base = os.environ.get("CRASHFS_TEST_STATE") or os.path.join(
        tempfile.gettempdir(), "crashfs-tests")
    return Path(base)


def _own_service(name, port_variable):
    """A service this session starts itself: the state directory and
    port tests/run would use."""
    base = _state_base()
    state_dir = base / "services" / name
    for directory in (base, base / "services", state_dir):
        if not directory.exists():
            directory.mkdir(mode=0o755)
            directory.chmod(0o755)  # the server's user traverses it
    environment = {}
    if os.environ.get(port_variable):
        environment[port_variable] = os.environ[port_variable]
    return Service(name, state_dir, environment)


def _slug(text, length):
    """A lower-case identifier fragment naming a test."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:length]


# -- PostgreSQL -------------------------------------------------------------

def _conninfo_value(value):
    value = str(value)
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'%s'" % value.replace("\\", "\\\\").replace("'", "\\'")


class PostgresDatabase:
    """A database of its own for one test (postgresql_database)."""

    def __init__(self, server, name):
        self.server = server
        self.name = name

    def __str__(self):
        return self.name

    def __repr__(self):
        return "<PostgresDatabase %s>" % self.name

    @property
    def dsn(self):
        return self.server.dsn(self.name)

    def connect(self, **kwargs):
        return self.server.connect(self.name, **kwargs)


class PostgresServer:
    """The PostgreSQL server of the session (postgresql_server).

    host, port, user (a superuser), password, password_file (a libpq
    password file line "*:*:*:user:password"), socket_dir, data_dir,
    bin_dir, log_file; dsn(dbname) a libpq connection string."""

    def __init__(self, service, variables, owned):
        self.service = service
        self.owned = owned  # started by this session: stopped at its end
        self.host = variables["CRASHFS_TEST_PG_HOST"]
        self.port = int(variables["CRASHFS_TEST_PG_PORT"])
        self.user = variables["CRASHFS_TEST_PG_USER"]
        self.password = variables["CRASHFS_TEST_PG_PASSWORD"]
        self.password_file = variables["CRASHFS_TEST_PG_PASSWORD_FILE"]
        self.socket_dir = variables["CRASHFS_TEST_PG_SOCKET_DIR"]
        self.data_dir = variables["CRASHFS_TEST_PG_DATA_DIR"]
        self.bin_dir = variables["CRASHFS_TEST_PG_BIN_DIR"]
        self.log_file = variables.get("CRASHFS_TEST_PG_LOG_FILE")
        self.databases = []

    def __repr__(self):
        return "<PostgresServer %s:%d>" % (self.host, self.port)

    def dsn(self, dbname="postgres", **extra):
        settings = dict(host=self.host, port=self.port, user=self.user,
                        password=self.password, dbname=dbname)
        settings.update(extra)
        return " ".join("%s=%s" % (key, _conninfo_value(value))
                        for key, value in settings.items())

    def connect(self, dbname="postgres", **kwargs):
        """A new psycopg2 connection (the caller closes it)."""
        kwargs.setdefault("connect_timeout", 10)
        return psycopg2.connect(self.dsn(dbname), **kwargs)

    def _execute_autocommit(self, statement):
        connection = self.connect()
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def new_database(self, label="test"):
        """Creates an empty database with a unique name; returns it.  The
        postgresql_database fixture drops it after its test."""
        name = "crashfs_%s_%s" % (_slug(label, 40), secrets.token_hex(4))
        self._execute_autocommit('CREATE DATABASE "%s"' % name)
        database = PostgresDatabase(self, name)
        self.databases.append(database)
        return database

    def drop_database(self, database):
        """Drops it, disconnecting whoever is still connected."""
        name = str(database)
        self._execute_autocommit(
            'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        self.databases = [d for d in self.databases if d.name != name]

    # Outage drills: the data stays, the password too.
    def stop_immediate(self):
        """pg_ctl -m immediate: no checkpoint, clients see the connection
        drop; start() recovers everything committed."""
        self.service.run("stop-immediate")

    def stop(self):
        self.service.run("stop")

    def start(self):
        self.service.run("start")

    def restart(self):
        self.service.run("restart")

    def is_running(self):
        return self.service.is_running()

    def ensure_running(self):
        if not self.is_running():
            self.start()


def _start_postgresql():
    """(service, variables, owned)"""
    variables = os.environ
    if variables.get("CRASHFS_TEST_PG_DSN") and \
            variables.get("CRASHFS_TEST_PG_STATE_DIR"):
        service = Service("postgresql", variables["CRASHFS_TEST_PG_STATE_DIR"],
                          {"CRASHFS_TEST_PG_PORT":
                           variables["CRASHFS_TEST_PG_PORT"]})
        return service, variables, False
    service = _own_service("postgresql", "CRASHFS_TEST_PG_PORT")
    service.run("start")
    variables = service.exported()
    service.environment["CRASHFS_TEST_PG_PORT"] = \
        variables["CRASHFS_TEST_PG_PORT"]
    return service, variables, True


@pytest.fixture(scope="session")
def postgresql_server():
    """The session's PostgreSQL server (see PostgresServer)."""
    if psycopg2 is None:
        pytest.fail("psycopg2 is missing: run pytest with /usr/bin/python3 "
                    "and install python3-psycopg2", pytrace=False)
    service, variables, owned = _start_postgresql()
    server = PostgresServer(service, variables, owned)
    try:
        yield server
    finally:
        if owned:
            service.run("stop")


@pytest.fixture
def postgresql_database(postgresql_server, request):
    """A new empty database for this test (a PostgresDatabase: name, dsn,
    connect()), dropped afterwards."""
    postgresql_server.ensure_running()
    database = postgresql_server.new_database(request.node.name)
    yield database
    postgresql_server.ensure_running()
    postgresql_server.drop_database(database)


# -- RabbitMQ ---------------------------------------------------------------

Message = collections.namedtuple(
    "Message", "body properties delivery_mode redelivered")
Message.__doc__ = """A message taken from a queue: body (bytes),
properties (pika.BasicProperties), delivery_mode (2: persistent,
1 or None: transient), redelivered."""


class RabbitQueues:
    """Queue names of one test (rabbitmq_queues): normal, priority and
    reprocessing, unique to the test; not declared until declare()."""

    def __init__(self, server, label):
        self.server = server
        self.prefix = "crashfs-test.%s.%s" % (_slug(label, 40),
                                              secrets.token_hex(4))
        self.names = []
        self.normal = self.new("normal")
        self.priority = self.new("priority")
        self.reprocessing = self.new("reprocessing")

    def new(self, role):
        """Another unique name, deleted with the others."""
        name = "%s.%s" % (self.prefix, role)
        self.names.append(name)
        return name

    def declare(self, durable=True):
        """Declares the three queues as Socorro does (durable, no
        arguments)."""
        for name in (self.normal, self.priority, self.reprocessing):
            self.server.declare_queue(name, durable=durable)

    def delete(self):
        for name in self.names:
            self.server.delete_queue(name)


class RabbitServer:
    """The RabbitMQ node of the session (rabbitmq_server).

    host, port, user, password, vhost, url (amqp://user:password@host:port,
    no trailing slash), ctl (rabbitmqctl for this node: ctl_run() runs it),
    log_dir.  Each helper opens and closes its own connection, so they
    work across restarts."""

    def __init__(self, service, variables, owned):
        self.service = service
        self.owned = owned
        self.host = variables["CRASHFS_TEST_RABBITMQ_HOST"]
        self.port = int(variables["CRASHFS_TEST_RABBITMQ_PORT"])
        self.user = variables["CRASHFS_TEST_RABBITMQ_USER"]
        self.password = variables["CRASHFS_TEST_RABBITMQ_PASSWORD"]
        self.vhost = variables["CRASHFS_TEST_RABBITMQ_VHOST"]
        self.url = variables["CRASHFS_TEST_RABBITMQ_URL"]
        self.ctl = variables["CRASHFS_TEST_RABBITMQ_CTL"]
        self.env_file = variables["CRASHFS_TEST_RABBITMQ_ENV_FILE"]
        self.log_dir = variables.get("CRASHFS_TEST_RABBITMQ_LOG_DIR")

    def __repr__(self):
        return "<RabbitServer %s:%d>" % (self.host, self.port)

    def parameters(self, **overrides):
        settings = dict(
            host=self.host, port=self.port, virtual_host=self.vhost,
            credentials=pika.PlainCredentials(self.user, self.password),
            connection_attempts=1, socket_timeout=10,
            blocked_connection_timeout=60)
        settings.update(overrides)
        return pika.ConnectionParameters(**settings)

    def connect(self, **overrides):
        """A new pika BlockingConnection (the caller closes it)."""
        return pika.BlockingConnection(self.parameters(**overrides))

    def _with_channel(self, action):
        connection = self.connect()
        try:
            return action(connection.channel())
        finally:
            if connection.is_open:
                connection.close()

    def declare_queue(self, name, durable=True, arguments=None):
        self._with_channel(lambda channel: channel.queue_declare(
            name, durable=durable, arguments=arguments))

    def purge_queue(self, name):
        """Removes every ready message; returns how many."""
        frame = self._with_channel(lambda channel: channel.queue_purge(name))
        return frame.method.message_count

    def delete_queue(self, name):
        """Deletes it (a missing queue is no error)."""
        self._with_channel(lambda channel: channel.queue_delete(name))

    def queue_exists(self, name):
        try:
            self._with_channel(lambda channel: channel.queue_declare(
                name, passive=True))
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code == 404:
                return False
            raise
        return True

    def message_count(self, name):
        """Ready messages in the queue (it must exist)."""
        frame = self._with_channel(lambda channel: channel.queue_declare(
            name, passive=True))
        return frame.method.message_count

    def publish(self, queue, body, persistent=True, properties=None):
        """Publishes body to queue through the default exchange, with
        publisher confirms: when this returns, the broker has the message
        (persistent: on disk).  The queue must exist."""
        if isinstance(body, str):
            body = body.encode()
        if properties is None:
            properties = pika.BasicProperties()
        properties.delivery_mode = 2 if persistent else 1

        def send(channel):
            channel.confirm_delivery()
            channel.basic_publish("", queue, body, properties,
                                  mandatory=True)
        self._with_channel(send)

    def get_all(self, queue):
        """Takes (and acknowledges) every message in the queue, in order:
        a list of Message."""
        def drain(channel):
            messages = []
            while True:
                method, properties, body = channel.basic_get(queue)
                if method is None:
                    return messages
                messages.append(Message(body, properties,
                                        properties.delivery_mode,
                                        method.redelivered))
                channel.basic_ack(method.delivery_tag)
        return self._with_channel(drain)

    def ctl_run(self, *arguments):
        """Runs rabbitmqctl for this node; returns its output."""
        result = subprocess.run(
            [self.ctl] + list(arguments), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=SERVICE_TIMEOUT)
        if result.returncode != 0:
            raise ServiceError("rabbitmqctl %s failed (exit %d):\n%s" % (
                " ".join(arguments), result.returncode, result.stdout))
        return result.stdout

    # Outage drills (each costs seconds: the node boots in ~4-8 s).
    def restart(self):
        """A graceful stop and a start: durable queues and persistent
        messages are kept, transient ones lost."""
        self.service.run("restart")

    def kill(self):
        """kill -9 of the node; start() brings it back."""
        self.service.run("kill")

    def stop(self):
        self.service.run("stop")

    def start(self):
        self.service.run("start")

    def is_running(self):
        return self.service.is_running()

    def ensure_running(self):
        if not self.is_running():
            self.start()


def _start_rabbitmq():
    variables = os.environ
    if variables.get("CRASHFS_TEST_RABBITMQ_URL") and \
            variables.get("CRASHFS_TEST_RABBITMQ_STATE_DIR"):
        service = Service(
            "rabbitmq", variables["CRASHFS_TEST_RABBITMQ_STATE_DIR"],
            {"CRASHFS_TEST_RABBITMQ_PORT":
             variables["CRASHFS_TEST_RABBITMQ_PORT"]})
        return service, variables, False
    service = _own_service("rabbitmq", "CRASHFS_TEST_RABBITMQ_PORT")
    service.run("start")
    variables = service.exported()
    service.environment["CRASHFS_TEST_RABBITMQ_PORT"] = \
        variables["CRASHFS_TEST_RABBITMQ_PORT"]
    return service, variables, True


@pytest.fixture(scope="session")
def rabbitmq_server():
    """The session's RabbitMQ node (see RabbitServer)."""
    if pika is None:
        pytest.fail("pika is missing: run pytest with /usr/bin/python3 "
                    "and install python3-pika", pytrace=False)
    service, variables, owned = _start_rabbitmq()
    server = RabbitServer(service, variables, owned)
    try:
        yield server
    finally:
        if owned:
            service.run("stop")


@pytest.fixture
def rabbitmq_queues(rabbitmq_server, request):
    """Queue names unique to this test (RabbitQueues: normal, priority,
    reprocessing, new(role)), deleted afterwards."""
    rabbitmq_server.ensure_running()
    queues = RabbitQueues(rabbitmq_server, request.node.name)
    yield queues
    rabbitmq_server.ensure_running()
    queues.delete()
