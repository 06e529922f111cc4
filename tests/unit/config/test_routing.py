import logging
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery
from kombu.entity import Exchange, Queue, binding

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._routing import TaskRouter
from cadasta.workertoolbox.config._topology import Topology

PASSWORDS = ("brokerpw", "dbpw", "sentrykey")


@pytest.fixture
def topology() -> Topology:
    """The default topology: export and msg, the monitor, on task_exchange."""
    return Topology.build(["export", "msg"], "platform.fifo", "task_exchange")


@pytest.fixture
def router(topology: Topology) -> TaskRouter:
    """A router of the default topology."""
    return TaskRouter(topology)


def _message_count(app: Celery, queue: str) -> int:
    with app.connection_for_write() as connection:
        declared = connection.default_channel.queue_declare(queue=queue, passive=True)
        return int(declared.message_count)


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("export.render", "export"),
        ("export.render.pdf", "export"),
        ("export", "export"),
        ("msg.email", "msg"),
        ("celery.chord_unlock", "celery"),
    ],
)
def test_routing_key_is_the_first_dot_segment(router: TaskRouter, task: str, queue: str) -> None:
    """A task goes to the topic exchange with its first dot-segment as routing key."""
    route = router(task)
    assert route["routing_key"] == queue
    assert isinstance(route["exchange"], Exchange)
    assert (route["exchange"].name, route["exchange"].type) == ("task_exchange", "topic")
    assert route["queue"].name == queue


def test_route_declares_the_work_queue_and_the_monitor(
    router: TaskRouter, topology: Topology
) -> None:
    """The route lists the queue and the monitor queue to declare before publishing."""
    route = router("export.render")
    assert route == {
        "queue": topology.queues_by_routing_key["export"],
        "exchange": topology.exchange,
        "routing_key": "export",
        "declare": [topology.queues_by_routing_key["export"], topology.platform_queue],
    }


def test_route_for_routing_key(router: TaskRouter) -> None:
    """route_for_routing_key() gives the route of tasks published with that key."""
    assert router.route_for_routing_key("msg") == router("msg.email")


def test_each_call_gets_its_own_dict(router: TaskRouter) -> None:
    """Celery pops 'queue' from the route: each call gets a fresh dict, the cache stays whole."""
    first = router("export.render")
    first.pop("queue")
    first["routing_key"] = "changed"
    second = router("export.render")
    assert second is not first
    assert second["queue"].name == "export"
    assert second["routing_key"] == "export"


def test_celerys_router_does_not_corrupt_the_cache(make_app: Callable[..., Celery]) -> None:
    """Routing twice through Celery's Router, which mutates the route, gives the same answer."""
    app = make_app()
    first = app.amqp.router.route({}, "export.render")
    second = app.amqp.router.route({}, "export.render")
    assert first["queue"].name == second["queue"].name == "export"
    assert first["declare"] == second["declare"]


def test_chord_fallback_finds_the_queue(make_app: Callable[..., Celery]) -> None:
    """Celery's chord fallback for database backends reads route(...)['queue'].name."""
    app = make_app()
    assert app.amqp.router.route({"result": []}, "export.render")["queue"].name == "export"


def test_chord_fallback_publishes_chord_unlock(
    make_app: Callable[..., Celery], memory_queues: dict[str, Any]
) -> None:
    """Celery's real fallback_chord_unlock routes chord_unlock to the body's queue."""
    app = make_app(result_backend="cache+memory://")
    header = app.GroupResult("group-id", [app.AsyncResult("header-id")])
    body = app.signature("export.render")
    app.backend.fallback_chord_unlock(header, body)
    assert _message_count(app, "export") == 1
    assert _message_count(app, "platform.fifo") == 1


def test_explicit_queue_is_respected(router: TaskRouter, topology: Topology) -> None:
    """A Queue given in the options is where the task goes, whatever its name."""
    queue = topology.queues_by_routing_key["msg"]
    route = router("export.render", (), {}, {"queue": queue})
    assert route["queue"] is queue
    assert route["routing_key"] == "msg"
    assert route["declare"] == [queue, topology.platform_queue]


def test_explicit_queue_through_celery(make_app: Callable[..., Celery]) -> None:
    """send_task(..., queue='msg') reaches the msg queue through Celery's Router."""
    app = make_app()
    route = app.amqp.router.route({"queue": "msg"}, "export.render")
    assert route["queue"].name == "msg"
    assert route["routing_key"] == "msg"
    assert [q.name for q in route["declare"]] == ["msg", "platform.fifo"]


@pytest.mark.parametrize(
    "queue",
    [
        Queue("adhoc"),
        Queue("adhoc", [binding(Exchange("task_exchange", type="topic"), routing_key="x")]),
    ],
)
def test_explicit_queue_without_exchange(router: TaskRouter, queue: Queue) -> None:
    """A queue with no exchange of its own is published on the topic exchange, by its name."""
    route = router("export.render", options={"queue": queue})
    assert (route["exchange"].name, route["exchange"].type) == ("task_exchange", "topic")
    assert route["routing_key"] == "adhoc"


def test_explicit_routing_key(router: TaskRouter) -> None:
    """A routing key given in the options chooses the queue."""
    route = router("export.render", options={"routing_key": "msg"})
    assert route["queue"].name == "msg"


def test_unknown_prefix_gets_its_own_queue(
    router: TaskRouter, topology: Topology, caplog: pytest.LogCaptureFixture
) -> None:
    """A task of no configured queue goes to a queue of its prefix; a warning says so, once."""
    with caplog.at_level(logging.WARNING, logger="cadasta.workertoolbox._routing"):
        routes = [router("report.build"), router("report.render")]
    for route in routes:
        assert route["queue"] == Queue("report", topology.exchange, routing_key="report")
        assert route["declare"] == [route["queue"], topology.platform_queue]
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "'report'" in record.getMessage()
    assert "Add 'report' to QUEUES." in record.getMessage()


def test_a_producer_delivers_without_setup(
    make_app: Callable[..., Celery], memory_queues: dict[str, Any]
) -> None:
    """A process that only sends tasks, never set up, delivers to the work and monitor queues."""
    app = make_app(result_backend="cache+memory://")
    app.send_task("export.render", args=(1,))
    app.send_task("msg.email")
    assert _message_count(app, "export") == 1
    assert _message_count(app, "msg") == 1
    assert _message_count(app, "platform.fifo") == 2
    assert "celery" not in memory_queues


def test_repr_shows_no_secret(make_config: Callable[..., Config]) -> None:
    """The router's repr, which Celery prints, shows the exchange and keys, no secret."""
    config = make_config(
        broker_url="amqp://user:brokerpw@broker//",
        RESULT_DB_PASS="dbpw",
        SENTRY_DSN="https://sentrykey@sentry.example/1",
        SETUP_SENTRY_LOGGING=False,
    )
    (router,) = config["task_routes"]
    shown = repr(router)
    assert shown == "<TaskRouter exchange='task_exchange' routing keys: celery, export, msg>"
    assert not any(secret in shown for secret in PASSWORDS)


def test_explicit_queue_on_another_exchange_reaches_the_monitor(
    make_app: Callable[..., Celery],
) -> None:
    """A queue Celery makes up for apply_async(queue=…) is put on the topic exchange."""
    app = make_app(queues=["export"])
    route = app.amqp.router.route({"queue": "adhoc"}, "export.render")
    assert (route["exchange"].name, route["exchange"].type) == ("task_exchange", "topic")
    assert route["routing_key"] == "adhoc"
    declared = {(queue.name, queue.exchange.name, queue.routing_key) for queue in route["declare"]}
    assert declared == {
        ("adhoc", "task_exchange", "adhoc"),
        ("platform.fifo", "task_exchange", "#"),
    }
