from collections.abc import Callable

import pytest
from celery import Celery
from kombu import Exchange, Queue, binding
from kombu.transport import memory

from cadasta.workertoolbox.cli._queues import QueueRow, format_table, topology_of, transport_of


def test_sqs_names_carry_the_prefix(make_app: Callable[..., Celery]) -> None:
    """On SQS each queue gets queue_name_prefix, the monitor queue is FIFO, the rest not."""
    app = make_app(broker_url="sqs://key:secret@127.0.0.1:9", QUEUE_PREFIX="prod", imports=())
    topology = topology_of(app)
    assert (topology.transport, topology.queue_name_prefix) == ("sqs", "prod-")
    assert [row.cells() for row in topology.rows] == [
        ("celery", "prod-celery", "'celery'", "no", "Celery's own tasks (chord_unlock)"),
        ("platform.fifo", "prod-platform.fifo", "'#'", "yes", "platform monitor"),
        ("export", "prod-export", "'export'", "no", "workers of export"),
        ("msg", "prod-msg", "'msg'", "no", "workers of msg"),
    ]
    assert topology.describe() == (
        "exchange 'task_exchange' (topic), transport 'sqs', queue_name_prefix 'prod-'"
    )


def test_other_transports_keep_the_names(make_app: Callable[..., Celery]) -> None:
    """On memory:// (like amqp://) names are unchanged and FIFO does not apply."""
    topology = topology_of(make_app(imports=()))
    assert topology.describe() == "exchange 'task_exchange' (topic), transport 'memory'"
    assert topology.rows[1] == QueueRow("platform.fifo", "platform.fifo", ("#",), None,
                                        "platform monitor")  # fmt: skip
    assert topology.rows[1].cells()[3] == "-"


def test_a_plain_app_has_celerys_default_queue() -> None:
    """Without Config: Celery's 'celery' queue on a direct exchange; other queues are workers'."""
    app = Celery("plain", set_as_current=False)
    app.conf.update(broker_url="memory://", task_queues=(Queue("celery"), Queue("extra")))
    try:
        topology = topology_of(app)
    finally:
        app.close()
    assert topology.exchange_type == "direct"
    assert [row.consumer for row in topology.rows] == [
        "Celery's own tasks (chord_unlock)",
        "workers of extra",
    ]


def test_every_binding_of_a_queue_is_listed() -> None:
    """A queue with bindings of its own shows each key, and the one Celery gives it, sorted."""
    exchange = Exchange("task_exchange", type="topic")
    queue = Queue("both", bindings=[binding(exchange, "a.*"), binding(exchange, "b.#")])
    app = Celery("bindings", set_as_current=False)
    app.conf.update(broker_url="memory://", task_queues=(queue,))
    try:
        row = topology_of(app).rows[0]
    finally:
        app.close()
    assert row.routing_keys == ("a.*", "b.#", "celery")
    assert row.cells()[2] == "'a.*', 'b.#', 'celery'"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"broker_url": "sqs://k:s@h:1"}, "sqs"),
        ({"broker_url": "amqp://g:g@h//"}, "amqp"),
        ({"broker_url": None, "broker_transport": memory.Transport}, "memory"),
    ],
)
def test_transport_of(
    make_app: Callable[..., Celery], settings: dict[str, object], expected: str
) -> None:
    """The transport comes from kombu, else from broker_transport or the URL's scheme."""
    assert transport_of(make_app(imports=(), **settings)) == expected


def test_transport_of_an_unreadable_url_goes_by_broker_transport(
    make_app: Callable[..., Celery],
) -> None:
    """
    A URL kombu cannot parse (a '/' in the password): broker_transport names the transport.

    Config refuses such a URL; an app can still be given one afterwards.
    """
    app = make_app(imports=(), broker_url="sqs://k:s@h:1")
    app.conf.broker_url = "sqs://k:Pa/ss@wo:rd@h:1"
    assert transport_of(app) == "sqs"


def test_transport_of_an_unreadable_url_without_broker_transport() -> None:
    """With neither a readable URL nor broker_transport, the URL's scheme names it."""
    app = Celery("unreadable", set_as_current=False)
    app.conf.broker_url = "amqp://u:Pa/ss@wo:rd@h:1//"
    try:
        assert transport_of(app) == "amqp"
    finally:
        app.close()


def test_format_table_aligns_columns() -> None:
    """Columns are as wide as their widest cell, two spaces apart, no trailing blanks."""
    assert format_table([("a", "bbb"), ("cc", "d")], header=("h1", "h2")) == [
        "h1  h2",
        "a   bbb",
        "cc  d",
    ]
