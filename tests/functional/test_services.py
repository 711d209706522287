"""The test servers are real: PostgreSQL checks passwords and keeps
committed data through a crash; RabbitMQ keeps persistent messages of
durable queues through a restart and a kill -9, and loses transient ones.
(servers.py has the fixtures; each RabbitMQ boot costs seconds, so there
are only two.)"""

import psycopg2
import pika
import pika.exceptions
import pytest

pytestmark = pytest.mark.no_daemon


# -- PostgreSQL -------------------------------------------------------------

def query(connection, statement, *parameters):
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        return cursor.fetchall()


def test_postgresql_password_login(postgresql_server, postgresql_database):
    server = postgresql_server
    connection = postgresql_database.connect()
    try:
        assert query(connection, "SELECT current_user, current_database(), "
                     "inet_server_addr()::text") == [
            (server.user, postgresql_database.name, "127.0.0.1/32")]
        # Tests create databases and end other sessions: a superuser.
        assert query(connection, "SELECT rolsuper FROM pg_roles WHERE "
                     "rolname = current_user") == [(True,)]
    finally:
        connection.close()

    # The password file works as a libpq password file.
    dsn = "host=%s port=%d user=%s dbname=%s passfile=%s" % (
        server.host, server.port, server.user, postgresql_database.name,
        server.password_file)
    connection = psycopg2.connect(dsn, connect_timeout=10)
    connection.close()
    with open(server.password_file) as f:
        assert f.read().strip().split(":")[-1] == server.password

    with pytest.raises(psycopg2.OperationalError,
                       match="password authentication failed"):
        psycopg2.connect(server.dsn(password=server.password + "x"),
                         connect_timeout=10)
    with pytest.raises(psycopg2.OperationalError, match="no password"):
        psycopg2.connect(server.dsn(password="", passfile="/dev/null"),
                         connect_timeout=10)


def test_postgresql_data_survives_immediate_stop(postgresql_server,
                                                 postgresql_database):
    server = postgresql_server
    connection = postgresql_database.connect()
    with connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE crash (id text PRIMARY KEY)")
        cursor.execute("INSERT INTO crash VALUES ('committed')")
    idle = postgresql_database.connect()

    server.stop_immediate()
    try:
        assert not server.is_running()
        with pytest.raises(psycopg2.OperationalError):
            query(idle, "SELECT 1")
        with pytest.raises(psycopg2.OperationalError,
                           match="Connection refused"):
            postgresql_database.connect()
    finally:
        idle.close()
        connection.close()
        server.start()

    assert server.is_running()
    connection = postgresql_database.connect()
    try:
        assert query(connection, "SELECT id FROM crash") == [("committed",)]
    finally:
        connection.close()


# -- RabbitMQ ---------------------------------------------------------------

def test_rabbitmq_get_all_returns_what_publish_sent(rabbitmq_server,
                                                    rabbitmq_queues):
    server = rabbitmq_server
    rabbitmq_queues.declare()
    normal = rabbitmq_queues.normal
    server.publish(normal, "0bba929f-8721-460c-dead-a43c20071025")
    server.publish(normal, b"second")
    server.publish(normal, b"transient", persistent=False)
    assert server.message_count(normal) == 3
    assert server.message_count(rabbitmq_queues.priority) == 0

    messages = server.get_all(normal)
    assert [m.body for m in messages] == [
        b"0bba929f-8721-460c-dead-a43c20071025", b"second", b"transient"]
    assert [m.delivery_mode for m in messages] == [2, 2, 1]
    assert server.get_all(normal) == []   # taken and acknowledged

    assert server.url == "amqp://%s:%s@%s:%d" % (
        server.user, server.password, server.host, server.port)
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        server.connect(credentials=pika.PlainCredentials(
            server.user, server.password + "x"))


def test_rabbitmq_persistent_messages_survive_restart_and_kill(
        rabbitmq_server, rabbitmq_queues):
    server = rabbitmq_server
    rabbitmq_queues.declare()
    normal = rabbitmq_queues.normal
    server.publish(normal, b"persistent")
    server.publish(normal, b"transient", persistent=False)

    server.restart()
    assert [m.body for m in server.get_all(normal)] == [b"persistent"]

    # Confirmed before the kill: on disk.
    server.publish(normal, b"confirmed")
    server.kill()
    try:
        assert not server.is_running()
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            server.connect()
    finally:
        server.start()
    assert [m.body for m in server.get_all(normal)] == [b"confirmed"]
