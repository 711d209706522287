"""The queue side of the RabbitMQ store through the C interface
(new_crashes, ack_crash), driven by tests/driver/store_driver against the
session's broker, with pika as the independent client that publishes and
looks at the queues.

What the store promises (storage/rabbitmq/rabbitmq_store.h): a pass takes
nothing for good (messages are held unacknowledged, at most queue_window
of them) and a second pass yields the same entries with the same tokens;
priority entries come first; one entry per crash id; an ack acknowledges
on the connection that received the message, a second ack or a token the
store did not give is ENOENT, one from a connection lost since is EIO
(the broker delivers the message again); closing the store or killing the process
gives the held messages back to the broker.
"""

import errno
import os
import re

import pytest

import rabbitmq_helpers as rmq

ID_A = "936ce666-ff3b-4c7a-9674-367fe0120408"
ID_B = "0bba929f-8721-460c-dead-a43c20120408"
ID_C = "e8820616-1462-49b6-9784-e99a30120201"
ID_D = "11111111-2222-4333-8444-555550120202"
ID_E = "aaaaaaaa-bbbb-4ccc-8ddd-eeeee0120203"

SANITIZER_REPORT = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|UndefinedBehaviorSanitizer"
    r"|runtime error: ")


@pytest.fixture
def driver(rabbitmq_server, rabbitmq_queues, workdir):
    """Factory: driver(**node options) -> StoreDriver on a rabbitmq node
    for this test's queues (declared first); each is ended afterwards and
    must exit cleanly, without a sanitizer report."""
    rabbitmq_queues.declare()
    drivers = []

    def start(**options):
        index = len(drivers)
        node = rmq.rabbitmq_node(rabbitmq_server, rabbitmq_queues, **options)
        config = rmq.write_config(workdir / ("driver%d.json" % index), node)
        started = rmq.StoreDriver(config, workdir / ("driver%d.log" % index))
        drivers.append(started)
        return started

    yield start
    problems = []
    for started in drivers:
        killed = started.process.poll() is not None
        status = started.quit()
        text = started.log_text() if not started.log.closed else \
            started.log_path.read_text(errors="replace")
        if SANITIZER_REPORT.search(text):
            problems.append("store_driver wrote a sanitizer report:\n" + text)
        elif not killed and status != 0:
            problems.append("store_driver exited %d:\n%s" % (status, text))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def ready_count(server, queue):
    return server.message_count(queue)


def test_priority_first_and_a_second_pass_yields_the_same_entries(
        driver, rabbitmq_server, rabbitmq_queues):
    q = rabbitmq_queues
    rabbitmq_server.publish(q.normal, ID_A)
    rabbitmq_server.publish(q.normal, ID_B)
    rabbitmq_server.publish(q.priority, ID_C)
    rabbitmq_server.publish(q.reprocessing, ID_D)
    d = driver()
    first = d.entries()
    # Socorro's polling list [priority, normal, reprocessing, priority],
    # reversed after each message: C, then D (reprocessing comes first
    # after the reversal), A, B; priority entries are yielded first.
    assert [e.crash_id for e in first] == [ID_C, ID_D, ID_A, ID_B]
    assert [e.where for e in first] == ["priority", "reprocessing",
                                        "normal", "normal"]
    # Held, not taken: nothing is ready on the broker, and a second pass
    # yields the same entries with the same tokens.
    for queue in (q.normal, q.priority, q.reprocessing):
        assert ready_count(rabbitmq_server, queue) == 0
    second = d.entries()
    assert [(e.crash_id, e.token) for e in second] == \
        [(e.crash_id, e.token) for e in first]
    stats = d.stats()
    assert stats["held_entries"] == 4
    assert stats["held_messages"] == 4
    assert stats["taken"] == 4

    # A priority message that arrives later is still yielded first.
    rabbitmq_server.publish(q.priority, ID_E)
    third = d.entries()
    assert [e.crash_id for e in third] == [ID_C, ID_E, ID_D, ID_A, ID_B]


def test_the_window_bounds_what_is_held(driver, rabbitmq_server,
                                        rabbitmq_queues):
    q = rabbitmq_queues
    ids = [ID_A, ID_B, ID_C, ID_D, ID_E]
    for crash_id in ids:
        rabbitmq_server.publish(q.normal, crash_id)
    d = driver(queue_window=3)
    entries = d.entries()
    assert [e.crash_id for e in entries] == ids[:3]
    assert ready_count(rabbitmq_server, q.normal) == 2
    assert [e.crash_id for e in d.entries()] == ids[:3]
    assert ready_count(rabbitmq_server, q.normal) == 2

    # An ack makes room: the next pass takes one more.
    assert d.ack(entries[0]) == (0, "")
    assert [e.crash_id for e in d.entries()] == ids[1:4]
    assert ready_count(rabbitmq_server, q.normal) == 1


def test_ack_takes_the_message_and_nothing_else(driver, rabbitmq_server,
                                                rabbitmq_queues):
    q = rabbitmq_queues
    for crash_id in (ID_A, ID_B, ID_C):
        rabbitmq_server.publish(q.normal, crash_id)
    d = driver()
    a, b, c = d.entries()
    assert d.ack(b) == (0, "")
    assert [e.crash_id for e in d.entries()] == [ID_A, ID_C]

    # Acknowledged already, a token never given, another store's token:
    # ENOENT, and nothing changes.
    result, message = d.ack(b)
    assert result == -errno.ENOENT
    assert "not held" in message
    unknown = rmq.Entry(ID_A, a.token[0] + 1000, a.token[1], "normal")
    assert d.ack(unknown)[0] == -errno.ENOENT
    wrong_id = rmq.Entry(ID_C, *a.token, "normal")
    assert d.ack(wrong_id)[0] == -errno.ENOENT
    result, message = d.ack(a, foreign=True)
    assert result == -errno.ENOENT
    assert "not an entry of this" in message
    assert [e.crash_id for e in d.entries()] == [ID_A, ID_C]

    # Closing the store gives the others back: they are ready again,
    # marked redelivered; the acknowledged one is gone for good.
    d.close_store()
    messages = rabbitmq_server.get_all(q.normal)
    assert rmq.bodies(messages) == [ID_A, ID_C]
    assert all(m.redelivered for m in messages)


def test_one_entry_per_crash_id_acknowledged_together(
        driver, rabbitmq_server, rabbitmq_queues):
    q = rabbitmq_queues
    rabbitmq_server.publish(q.normal, ID_A)
    rabbitmq_server.publish(q.normal, ID_B)
    rabbitmq_server.publish(q.normal, ID_A)
    rabbitmq_server.publish(q.priority, ID_A)
    d = driver()
    entries = d.entries()
    assert [e.crash_id for e in entries] == [ID_A, ID_B]
    stats = d.stats()
    assert (stats["held_entries"], stats["held_messages"]) == (2, 4)
    assert d.ack(entries[0]) == (0, "")
    assert d.stats()["acknowledged"] == 3
    d.close_store()
    for queue in (q.priority, q.reprocessing):
        assert rabbitmq_server.get_all(queue) == []
    assert rmq.bodies(rabbitmq_server.get_all(q.normal)) == [ID_B]


def test_a_token_covers_what_its_pass_saw(driver, rabbitmq_server,
                                          rabbitmq_queues):
    """The crash is queued again after a pass yielded it: the ack of that
    pass's entry leaves the new message held, under a new token."""
    q = rabbitmq_queues
    rabbitmq_server.publish(q.normal, ID_A)
    d = driver()
    (old,) = d.entries()
    rabbitmq_server.publish(q.normal, ID_A)
    (new,) = d.entries()
    assert new.crash_id == ID_A and new.token != old.token
    assert d.stats()["held_messages"] == 2
    assert d.ack(old) == (0, "")
    assert [e.token for e in d.entries()] == [new.token]
    assert d.stats()["held_messages"] == 1
    assert d.ack(old)[0] == -errno.ENOENT
    assert d.ack(new) == (0, "")
    assert d.entries() == []
    d.close_store()
    assert rabbitmq_server.get_all(q.normal) == []


def test_a_body_that_is_no_crash_id_is_rejected(driver, rabbitmq_server,
                                                 rabbitmq_queues):
    q = rabbitmq_queues
    rabbitmq_server.publish(q.normal, "not a crash id\n")
    rabbitmq_server.publish(q.normal, ID_A + "\n")
    rabbitmq_server.publish(q.normal, ID_B)
    d = driver()
    assert [e.crash_id for e in d.entries()] == [ID_B]
    assert d.stats()["malformed_messages"] == 2
    assert "whose body is not a crash id" in d.log_text()
    d.close_store()
    # Rejected without requeue: dropped (no dead-letter exchange here).
    assert rmq.bodies(rabbitmq_server.get_all(q.normal)) == [ID_B]


def test_held_messages_come_back_when_the_process_is_killed(
        driver, rabbitmq_server, rabbitmq_queues):
    q = rabbitmq_queues
    for crash_id in (ID_A, ID_B):
        rabbitmq_server.publish(q.normal, crash_id)
    d = driver()
    entries = d.entries()
    assert d.ack(entries[0]) == (0, "")
    assert ready_count(rabbitmq_server, q.normal) == 0
    d.kill()
    # The broker requeues what the dead connection held.
    assert rmq.wait_for(
        lambda: ready_count(rabbitmq_server, q.normal) == 1, 30)
    messages = rabbitmq_server.get_all(q.normal)
    assert rmq.bodies(messages) == [ID_B]
    assert messages[0].redelivered


def test_a_connection_the_broker_closed_is_replaced(
        driver, rabbitmq_server, rabbitmq_queues):
    """An administrator closes every connection: the held deliveries go
    back to the queue, their acks fail (EIO: the entries are still queued,
    on the broker), the next pass takes them
    again under new ones, and a save publishes on a new connection.  The
    driver keeps SIGPIPE's default action: it survives."""
    q = rabbitmq_queues
    rabbitmq_server.publish(q.normal, ID_A)
    d = driver()
    assert d.save(ID_B) == (0, "")
    old = d.entries()
    assert [e.crash_id for e in old] == [ID_A, ID_B]
    rabbitmq_server.ctl_run("close_all_connections", "test drill")
    assert rmq.wait_for(
        lambda: ready_count(rabbitmq_server, q.normal) == 2, 30)

    result, message = d.ack(old[0])
    assert result == -errno.EIO
    assert "delivers it again" in message
    new = d.entries()
    assert [e.crash_id for e in new] == [ID_A, ID_B]
    assert new[0].token[0] > old[0].token[0]
    assert d.ack(new[0]) == (0, "")
    assert d.save(ID_C) == (0, "")
    stats = d.stats()
    assert stats["published"] == 2
    assert stats["unconfirmed_publishes"] == 0
    assert d.process.poll() is None
    d.close_store()
    assert sorted(rmq.bodies(rabbitmq_server.get_all(q.normal))) == \
        sorted([ID_B, ID_C])


def test_saves_are_confirmed_persistent_messages(driver, rabbitmq_server,
                                                 rabbitmq_queues):
    q = rabbitmq_queues
    d = driver()
    assert d.save(ID_A) == (0, "")
    assert d.save(ID_B, {"legacy_processing": 1}) == (0, "")
    assert d.save(ID_C, {"ProductName": "Firefox"}) == (0, "")
    stats = d.stats()
    assert (stats["published"], stats["filtered"]) == (1, 2)
    messages = rabbitmq_server.get_all(q.normal)
    assert rmq.bodies(messages) == [ID_A]
    assert messages[0].delivery_mode == 2
    assert messages[0].properties.content_type is None
    assert messages[0].properties.headers is None


def test_a_routing_key_without_a_queue_is_an_error(driver, rabbitmq_server,
                                                    rabbitmq_queues):
    missing = rabbitmq_queues.new("missing")
    d = driver(routing_key=missing)
    result, message = d.save(ID_A)
    assert result == -errno.EIO
    assert "no queue is named " + missing in message
    assert d.stats()["returned_publishes"] == 1


def test_a_deleted_queue_is_declared_again(driver, rabbitmq_server,
                                           rabbitmq_queues):
    d = driver(retry=rmq.short_retry())
    assert d.save(ID_A) == (0, "")
    rabbitmq_server.delete_queue(rabbitmq_queues.normal)
    # Returned (no route), then the retry's new connection declares it.
    assert d.save(ID_B) == (0, "")
    assert d.stats()["returned_publishes"] == 1
    assert rmq.bodies(rabbitmq_server.get_all(rabbitmq_queues.normal)) == \
        [ID_B]


def test_refused_credentials_are_final_and_never_show_the_password(
        driver, rabbitmq_server, rabbitmq_queues):
    secret = "wr0ng-s3cret-%s" % os.getpid()
    d = driver(password=secret, retry=rmq.short_retry())
    result, message = d.save(ID_A)
    assert result == -errno.EACCES
    assert "ACCESS_REFUSED" in message
    result, message, entries = d.new_crashes()
    assert result == -errno.EACCES and entries == []
    stats = d.stats()
    # Not operational: no retry was made.
    assert stats["retries"] == 0
    assert secret not in message
    assert secret not in repr(d.stats())
    assert secret not in repr(d.stats("store.retry"))
    assert secret not in d.log_text()


def test_setup_declares_the_missing_queues(rabbitmq_server, rabbitmq_queues,
                                           workdir):
    q = rabbitmq_queues
    rabbitmq_server.declare_queue(q.priority)
    node = rmq.rabbitmq_node(rabbitmq_server, q)
    config = rmq.write_config(workdir / "setup.json", node)
    d = rmq.StoreDriver(config, workdir / "setup.log")
    try:
        result, message, created = d.setup()
        assert (result, message) == (0, "")
        assert created == ["queue %s (durable, normal)" % q.normal,
                           "queue %s (durable, reprocessing)" %
                           q.reprocessing]
        assert d.setup() == (0, "", [])
        for queue in (q.normal, q.priority, q.reprocessing):
            assert rabbitmq_server.queue_exists(queue)
    finally:
        assert d.quit() == 0
