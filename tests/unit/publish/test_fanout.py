"""
The send path every library transport shares, on kombu's in-memory broker.

:class:`~cadasta.workertoolbox.publish._fanout.FanOutChannel` is tested through the
library's memory transport: kombu's, with the mixin first among its channel's bases.
Faults are injected by subclassing that channel in the test and making kombu's ``_put``
(one call to the broker) or the mixin's ``prepare_copies`` raise.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from kombu import Connection, Exchange, Producer, Queue
from kombu.exceptions import OperationalError

from cadasta.workertoolbox.exceptions import MessageTooLargeError, PublishError, ToolboxError
from cadasta.workertoolbox.publish import memory
from cadasta.workertoolbox.publish._fanout import MONITOR_BINDING, FanOutChannel, copy_message

LOGGER = "cadasta.workertoolbox.publish"
TOPIC = Exchange("task_exchange", "topic")
#: The library's topology on one exchange: the monitor, Celery's queue and a work queue.
TOPOLOGY = (("platform.fifo", MONITOR_BINDING), ("celery", "celery"), ("export", "export"))

MakeConnection = Callable[..., Connection]


def declare(channel: Any, bindings: Sequence[tuple[str, str]], exchange: Exchange = TOPIC) -> None:
    """Declare each queue of *bindings*, bound to *exchange* with its key, in that order."""
    for name, key in bindings:
        Queue(name, exchange, key)(channel).declare()


def publish(
    channel: Any,
    routing_key: str = "export",
    exchange: str = "task_exchange",
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Publish a task message as Celery's producer does; return the task's id."""
    task_id = str(uuid.uuid4())
    if headers is None:
        headers = {"task": "export.render", "id": task_id, "retries": 0}
    Producer(channel).publish(
        [[1], {}, {}], exchange=exchange, routing_key=routing_key, headers=dict(headers)
    )
    return task_id


def held(queues: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The messages each of kombu's memory queues holds, by queue, left in place."""
    return {name: list(queue.queue) for name, queue in queues.items() if queue.qsize()}


def faulty_transport(
    fail_on: Mapping[str, BaseException] | None = None,
    prepare_error: BaseException | None = None,
) -> tuple[type[memory.Transport], list[str]]:
    """
    A transport whose channel fails: kombu's ``_put`` for the queues in *fail_on*.

    Also ``prepare_copies``, with *prepare_error*. Returns the transport and the list of
    the queues ``_put`` was called for, in order.
    """
    failures = dict(fail_on or {})
    puts: list[str] = []

    class FaultyChannel(memory.Channel):
        """The library's memory channel, with faults."""

        def prepare_copies(
            self, message: Mapping[str, Any], queues: Sequence[str]
        ) -> list[tuple[str, dict[str, Any]]]:
            """Raise *prepare_error*, if given."""
            if prepare_error is not None:
                raise prepare_error
            return super().prepare_copies(message, queues)

        def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
            """Record the call; raise the failure of *queue*, if any."""
            puts.append(queue)
            if queue in failures:
                raise failures[queue]
            super()._put(queue, message, **kwargs)

    class FaultyTransport(memory.Transport):
        """The library's memory transport, with the faulty channel."""

        Channel = FaultyChannel

    return FaultyTransport, puts


@pytest.fixture
def make_connection(memory_queues: dict[str, Any]) -> Iterator[MakeConnection]:
    """Open connections to kombu's memory broker, with the library's transport by default."""
    connections: list[Connection] = []

    def make(transport: type[Any] = memory.Transport) -> Connection:
        connection = Connection("memory://", transport=transport)
        connections.append(connection)
        return connection

    yield make
    for connection in connections:
        connection.release()


@pytest.fixture
def channel(make_connection: MakeConnection) -> Any:
    """A channel of the library's memory transport."""
    return make_connection().default_channel


# -- where the copies go -------------------------------------------------------------------


def test_the_channel_is_the_librarys() -> None:
    """The library's memory channel puts the mixin before kombu's channel."""
    assert memory.Transport.Channel is memory.Channel
    assert memory.Channel.__mro__[1] is FanOutChannel


@pytest.mark.parametrize(
    ("bindings", "routing_key", "expected"),
    [
        pytest.param(TOPOLOGY, "export", ["platform.fifo", "export"], id="topology"),
        pytest.param(TOPOLOGY[::-1], "export", ["platform.fifo", "export"], id="reversed"),
        pytest.param(
            [("a-work", "export"), ("celery", "celery"), ("platform.fifo", "#")],
            "export",
            ["platform.fifo", "a-work"],
            id="work-queue-sorting-first",
        ),
        pytest.param(
            [("export", "export"), ("a-work", "export"), ("platform.fifo", "#")],
            "export",
            ["platform.fifo", "a-work", "export"],
            id="work-queues-by-name",
        ),
        pytest.param(
            [("export", "export"), ("zz.fifo", "#"), ("platform.fifo", "#")],
            "export",
            ["platform.fifo", "zz.fifo", "export"],
            id="monitors-by-name",
        ),
        pytest.param(
            [("export", "export"), ("audit", "export.#"), ("platform.fifo", "#")],
            "export.render",
            ["platform.fifo", "audit"],
            id="only-matching-queues",
        ),
        pytest.param(TOPOLOGY, "celery", ["platform.fifo", "celery"], id="celery"),
        pytest.param([("export", "export")], "export", ["export"], id="no-monitor"),
        pytest.param([("export", "export")], "msg", [], id="no-queue"),
    ],
)
def test_destinations_put_the_monitor_first(
    channel: Any, bindings: Sequence[tuple[str, str]], routing_key: str, expected: list[str]
) -> None:
    """Queues bound with '#' come first, then the others by name, whatever the declaring order."""
    declare(channel, bindings)
    assert channel.destinations("task_exchange", routing_key) == expected


_ORDER_SCRIPT = """
from kombu import Connection, Exchange, Queue
from cadasta.workertoolbox.publish.memory import Transport

exchange = Exchange("task_exchange", "topic")
bindings = [
    ("export", "export"), ("a-work", "export"), ("celery", "celery"),
    ("platform.fifo", "#"), ("b.fifo", "#"), ("msg", "msg"),
]
with Connection("memory://", transport=Transport) as connection:
    channel = connection.default_channel
    for name, key in bindings:
        Queue(name, exchange, key)(channel).declare()
    print(" ".join(channel.destinations("task_exchange", "export")))
"""


@pytest.mark.parametrize("seed", ["0", "1", "2", "3", "4242"])
def test_the_order_does_not_depend_on_the_hash_seed(seed: str) -> None:
    """The order of the copies is the same whatever the seed, though kombu finds them in a set."""
    result = subprocess.run(
        [sys.executable, "-c", _ORDER_SCRIPT],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["b.fifo", "platform.fifo", "a-work", "export"]


def test_one_send_puts_one_copy_in_each_queue_monitor_first(
    make_connection: MakeConnection, memory_queues: dict[str, Any]
) -> None:
    """One publish: one call per bound queue, the monitor's first, the others untouched."""
    transport, puts = faulty_transport()
    channel = make_connection(transport).default_channel
    declare(channel, TOPOLOGY[::-1])
    task_id = publish(channel)
    assert puts == ["platform.fifo", "export"]
    copies = held(memory_queues)
    assert sorted(copies) == ["export", "platform.fifo"]
    assert [[copy["headers"]["id"] for copy in copies[name]] for name in copies] == [[task_id]] * 2


def test_each_copy_is_a_dict_of_its_own(channel: Any, memory_queues: dict[str, Any]) -> None:
    """The copies are separate dicts, with separate properties: consuming one leaves the other."""
    declare(channel, TOPOLOGY)
    publish(channel)
    (monitor,) = memory_queues["platform.fifo"].queue
    (work,) = memory_queues["export"].queue
    assert monitor is not work
    assert monitor["properties"] is not work["properties"]
    assert monitor["properties"]["delivery_info"] is not work["properties"]["delivery_info"]
    assert monitor == work
    assert work["properties"]["delivery_info"] == {
        "exchange": "task_exchange",
        "routing_key": "export",
    }
    work["properties"]["delivery_info"]["routing_key"] = "changed"
    assert monitor["properties"]["delivery_info"]["routing_key"] == "export"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            {"body": "b", "properties": {"delivery_info": {"exchange": "x"}, "priority": 0}},
            {"body": "b", "properties": {"delivery_info": {"exchange": "x"}, "priority": 0}},
            id="full",
        ),
        pytest.param({"body": "b"}, {"body": "b", "properties": {}}, id="no-properties"),
        pytest.param({"properties": None}, {"properties": {}}, id="properties-none"),
        pytest.param(
            {"properties": {"delivery_info": None}},
            {"properties": {"delivery_info": None}},
            id="delivery-info-none",
        ),
    ],
)
def test_copy_message(message: dict[str, Any], expected: dict[str, Any]) -> None:
    """A copy equal to the message, with properties and delivery_info of its own."""
    copy = copy_message(message)
    assert copy == expected
    assert copy is not message
    assert copy["properties"] is not message.get("properties")
    delivery_info = copy["properties"].get("delivery_info")
    if isinstance(delivery_info, dict):
        assert delivery_info is not message["properties"]["delivery_info"]


# -- nothing dropped silently -------------------------------------------------------------


@pytest.mark.parametrize(
    ("bindings", "exchange", "routing_key"),
    [
        pytest.param([], "task_exchange", "export", id="topic-without-queues"),
        pytest.param([("msg", "msg")], "task_exchange", "export", id="topic-no-match"),
        pytest.param(None, "task_exchange", "export", id="undeclared-exchange"),
        pytest.param([("other", "other")], "direct_exchange", "export", id="direct-without-match"),
    ],
)
def test_a_task_no_queue_would_receive_is_refused(
    channel: Any,
    memory_queues: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    bindings: list[tuple[str, str]] | None,
    exchange: str,
    routing_key: str,
) -> None:
    """
    A task message that would reach no queue raises instead of being dropped.

    The error names the task, the exchange and the key, and says to declare the queues.
    """
    if bindings is not None:
        kind = "topic" if exchange == "task_exchange" else "direct"
        Exchange(exchange, kind)(channel).declare()
        declare(channel, bindings, Exchange(exchange, kind))
    task_id = "4c7e0a0e-0000-4000-8000-000000000001"
    with caplog.at_level(logging.ERROR), pytest.raises(PublishError) as caught:
        publish(channel, routing_key, exchange, headers={"task": "export.render", "id": task_id})
    error = caught.value
    assert (error.task_name, error.task_id) == ("export.render", task_id)
    assert (error.delivered, error.missing) == ((), ())
    assert str(error) == (
        f"Task 'export.render' (id {task_id}) was not sent: no queue is bound to exchange "
        f"{exchange!r} with a key matching {routing_key!r} on this connection, so the message "
        "would be dropped. Declare the queues before sending: call setup_app(app), or send "
        "through the app's own send_task/apply_async, whose router declares them."
    )
    assert held(memory_queues) == {}
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        (LOGGER, logging.ERROR, str(error))
    ]


@pytest.mark.parametrize(
    ("exchange", "headers"),
    [
        pytest.param("task_exchange", {}, id="topic-no-headers"),
        pytest.param("task_exchange", {"task": "export.render"}, id="topic-no-id"),
        pytest.param("task_exchange", {"id": "1"}, id="topic-no-task"),
        pytest.param("undeclared", {"type": "worker-heartbeat"}, id="undeclared-an-event"),
    ],
)
def test_a_message_that_is_no_task_is_dropped_as_kombu_does(
    channel: Any,
    memory_queues: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    exchange: str,
    headers: dict[str, Any],
) -> None:
    """A message without a task and an id (an event…) that no queue wants is dropped quietly."""
    declare(channel, [("msg", "msg")])
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        publish(channel, "export", exchange, headers=headers)
    assert held(memory_queues) == {}
    assert caplog.records == []


@pytest.mark.parametrize("kind", ["direct", "fanout"])
def test_other_exchanges_go_through_kombus_path(
    channel: Any, memory_queues: dict[str, Any], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A direct or fanout exchange is delivered by kombu, as it would without the library."""

    def not_for_this_exchange(*args: Any) -> list[str]:
        raise AssertionError("the library's fan-out was used")

    monkeypatch.setattr(channel, "destinations", not_for_this_exchange)
    exchange = Exchange("other_exchange", kind)
    declare(channel, [("export", "export")], exchange)
    task_id = publish(channel, "export", "other_exchange")
    (message,) = memory_queues["export"].queue
    assert message["headers"]["id"] == task_id
    assert message["properties"]["delivery_info"]["exchange"] == "other_exchange"


def test_the_default_exchange_names_the_queue(channel: Any, memory_queues: dict[str, Any]) -> None:
    """With no exchange, the routing key names the queue, as in kombu."""
    Queue("export")(channel).declare()
    task_id = publish(channel, "export", "")
    (message,) = memory_queues["export"].queue
    assert message["headers"]["id"] == task_id


# -- a copy that fails ---------------------------------------------------------------------


def test_a_copy_that_fails_is_a_publish_error_naming_the_queues(
    make_connection: MakeConnection,
    memory_queues: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """
    The work queue's copy fails after the monitor's was sent: a PublishError, logged once.

    It names the task, its id, the queue that holds the message and the one that does
    not, and what to do; the failure is its cause. Nothing is sent twice.
    """
    failure = ConnectionResetError("connection reset by peer.")
    transport, puts = faulty_transport(fail_on={"export": failure})
    channel = make_connection(transport).default_channel
    declare(channel, TOPOLOGY)
    with caplog.at_level(logging.INFO), pytest.raises(PublishError) as caught:
        publish(channel)
    error = caught.value
    assert isinstance(error, OperationalError)
    assert isinstance(error, ToolboxError)
    assert error.__cause__ is failure
    assert (error.task_name, error.delivered, error.missing) == (
        "export.render",
        ("platform.fifo",),
        ("export",),
    )
    assert str(error) == (
        f"Task 'export.render' (id {error.task_id}) was not sent to every queue: it is in "
        "'platform.fifo', and not confirmed in 'export'. The failure: ConnectionResetError: "
        "connection reset by peer. The platform's monitor has recorded a task that no worker "
        "will run unless it is sent again: send it again with the same task id "
        "(apply_async(task_id=...)), which the platform joins to the record it has, or let the "
        "platform mark it failed."
    )
    assert puts == ["platform.fifo", "export"]
    assert list(held(memory_queues)) == ["platform.fifo"]
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [(r.name, r.levelno, r.getMessage()) for r in errors] == [
        (LOGGER, logging.ERROR, str(error))
    ]


@pytest.mark.parametrize(
    ("fail_on", "delivered", "missing"),
    [
        pytest.param("platform.fifo", (), ("platform.fifo", "a-work", "export"), id="monitor"),
        pytest.param("a-work", ("platform.fifo",), ("a-work", "export"), id="first-work"),
        pytest.param("export", ("platform.fifo", "a-work"), ("export",), id="last"),
    ],
)
def test_the_copies_after_a_failure_are_not_sent(
    make_connection: MakeConnection,
    fail_on: str,
    delivered: tuple[str, ...],
    missing: tuple[str, ...],
) -> None:
    """The send stops at the failing copy: what came before is delivered, the rest missing."""
    transport, puts = faulty_transport(fail_on={fail_on: RuntimeError()})
    channel = make_connection(transport).default_channel
    declare(channel, [*TOPOLOGY, ("a-work", "export")])
    with pytest.raises(PublishError) as caught:
        publish(channel)
    assert (caught.value.delivered, caught.value.missing) == (delivered, missing)
    assert puts == [*delivered, fail_on]
    assert "The failure: RuntimeError. " in str(caught.value)


def test_when_the_monitors_copy_fails_sending_again_is_safe(
    make_connection: MakeConnection,
) -> None:
    """Nothing delivered: the error says so, and that sending the task again is safe."""
    transport, _ = faulty_transport(fail_on={"platform.fifo": TimeoutError("timed out")})
    channel = make_connection(transport).default_channel
    declare(channel, TOPOLOGY)
    with pytest.raises(PublishError) as caught:
        publish(channel)
    assert ": no queue holds it, and not confirmed in 'platform.fifo', 'export'. " in str(
        caught.value
    )
    assert str(caught.value).endswith(
        "The failure: TimeoutError: timed out. Nothing was sent: sending the task again is safe."
    )


def test_a_message_that_is_no_task_is_named_as_a_message(make_connection: MakeConnection) -> None:
    """A copy of a message without task headers that fails: the error speaks of a message."""
    transport, _ = faulty_transport(fail_on={"export": RuntimeError("boom")})
    channel = make_connection(transport).default_channel
    declare(channel, TOPOLOGY)
    with pytest.raises(PublishError) as caught:
        publish(channel, headers={})
    assert str(caught.value).startswith("A message was not sent to every queue: ")
    assert (caught.value.task_name, caught.value.task_id) == (None, None)


def test_a_message_with_headers_that_are_no_mapping(make_connection: MakeConnection) -> None:
    """Headers that are not a mapping name no task: a message, refused as one."""
    transport, _ = faulty_transport(fail_on={"export": RuntimeError("boom")})
    channel = make_connection(transport).default_channel
    declare(channel, TOPOLOGY)
    message = channel.prepare_message("body", headers=None)
    message["headers"] = None
    with pytest.raises(PublishError) as caught:
        channel.basic_publish(message, "task_exchange", "export")
    assert (caught.value.task_name, caught.value.task_id) == (None, None)


def test_copies_that_cannot_be_prepared_send_nothing(
    make_connection: MakeConnection,
    memory_queues: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any error preparing the copies: a PublishError, nothing delivered, everything missing."""
    failure = RuntimeError("cannot prepare")
    transport, puts = faulty_transport(prepare_error=failure)
    channel = make_connection(transport).default_channel
    declare(channel, TOPOLOGY)
    with caplog.at_level(logging.ERROR), pytest.raises(PublishError) as caught:
        publish(channel)
    assert caught.value.__cause__ is failure
    assert (caught.value.delivered, caught.value.missing) == ((), ("platform.fifo", "export"))
    assert "The failure: RuntimeError: cannot prepare. Nothing was sent" in str(caught.value)
    assert puts == []
    assert held(memory_queues) == {}
    assert [record.name for record in caplog.records] == [LOGGER]


def test_a_toolbox_error_preparing_the_copies_passes_through(
    make_connection: MakeConnection,
    memory_queues: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The library's own error (a message too large) is raised as it is: it says enough."""
    refusal = MessageTooLargeError("too large")
    transport, puts = faulty_transport(prepare_error=refusal)
    channel = make_connection(transport).default_channel
    declare(channel, TOPOLOGY)
    with caplog.at_level(logging.ERROR), pytest.raises(MessageTooLargeError) as caught:
        publish(channel)
    assert caught.value is refusal
    assert puts == []
    assert held(memory_queues) == {}
    assert caplog.records == []
