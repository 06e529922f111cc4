from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery

from cadasta.workertoolbox.conformance._routing import Route, describe_target, publish_target
from cadasta.workertoolbox.conformance._topology import DeclaredTopology


def target(app: Celery, task_name: str) -> Route:
    """Return where *app* publishes the task *task_name*, judged by its own topology."""
    return publish_target(app, task_name, DeclaredTopology.of(app))


@pytest.mark.parametrize(
    ("task_name", "routing_key", "destinations"),
    [
        ("export.render", "export", {"export", "platform.fifo"}),
        ("msg.send", "msg", {"msg", "platform.fifo"}),
        ("celery.chord_unlock", "celery", {"celery", "platform.fifo"}),
        ("report.build", "report", {"platform.fifo"}),
    ],
)
def test_config_app_routes_by_first_dot_segment(
    make_app: Callable[..., Celery], task_name: str, routing_key: str, destinations: set[str]
) -> None:
    """A Config app publishes to task_exchange with the task name's first dot-segment."""
    route = target(make_app(), task_name)
    assert route == Route("task_exchange", routing_key, frozenset(destinations))
    assert str(route) == f"exchange 'task_exchange' with routing key {routing_key!r}"


def test_plain_app_publishes_to_the_default_exchange(make_app: Callable[..., Celery]) -> None:
    """Celery's defaults (a direct exchange) publish to the nameless exchange, to 'celery'."""
    app = Celery("plain", set_as_current=False)
    route = target(app, "export.render")
    assert route == Route("", "celery", frozenset({"celery"}))
    assert str(route) == "the default exchange '' with routing key 'celery'"


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        # A route naming a queue: the queue's exchange and binding key are used.
        ({"export.render": {"queue": "msg"}}, ("task_exchange", "msg")),
        # A route giving only a routing key: the default queue's exchange is used.
        ({"export.render": {"routing_key": "msg"}}, ("task_exchange", "msg")),
        # A route giving an exchange and a key, no queue.
        (
            {"export.render": {"exchange": "task_exchange", "routing_key": "msg"}},
            ("task_exchange", "msg"),
        ),
        # An exchange without a key on a direct exchange: the default exchange, no queue.
        ({"export.render": {"exchange": "task_exchange"}}, ("", "")),
    ],
)
def test_routes_resolve_as_celery_publishes_them(
    make_app: Callable[..., Celery], routes: dict[str, Any], expected: tuple[str, str]
) -> None:
    """Routes from task_routes resolve to the exchange and key send_task_message uses."""
    route = target(make_app(task_routes=(routes,)), "export.render")
    assert (route.exchange, route.routing_key) == expected


def test_queue_without_routing_key_takes_the_default_routing_key(
    make_app: Callable[..., Celery],
) -> None:
    """A queue without a binding key is bound with task_default_routing_key, as in Celery."""
    from kombu.entity import Exchange, Queue

    exchange = Exchange("task_exchange", type="topic")
    queues = (Queue("celery", exchange, routing_key="celery"), Queue("bare", exchange))
    app = make_app(
        task_queues=queues,
        task_routes=({"export.render": {"queue": "bare"}},),
        task_default_routing_key="celery",
    )
    route = target(app, "export.render")
    assert (route.exchange, route.routing_key) == ("task_exchange", "celery")
    assert route.destinations == {"celery", "bare"}


def test_queues_the_router_creates_are_removed_again(make_app: Callable[..., Celery]) -> None:
    """A route naming an unknown queue makes Celery add it; asking leaves no trace."""
    app = make_app(task_routes=({"*": {"queue": "elsewhere"}},))
    before = dict(app.amqp.queues)
    route = target(app, "export.render")
    assert dict(app.amqp.queues) == before
    assert dict(app.amqp.router.queues) == before
    # The queue exists only on the fly: the declared topology does not reach it.
    assert route == Route("", "elsewhere", frozenset())
    # The control: asking Celery's router directly leaves the queue behind.
    app.amqp.router.route({}, "export.render")
    assert "elsewhere" in app.amqp.queues


def test_router_errors_propagate(make_app: Callable[..., Celery]) -> None:
    """What the router raises reaches the caller, and no queue is left behind."""
    from celery.exceptions import QueueNotFound

    app = make_app(task_routes=({"*": {"queue": "nowhere"}},), task_create_missing_queues=False)
    before = dict(app.amqp.queues)
    with pytest.raises(QueueNotFound):
        target(app, "export.render")
    assert dict(app.amqp.queues) == before


def test_describe_target() -> None:
    """A target names the exchange, or says it is the default exchange, and the key."""
    assert describe_target("task_exchange", "msg") == (
        "exchange 'task_exchange' with routing key 'msg'"
    )
    assert describe_target("", "celery") == "the default exchange '' with routing key 'celery'"
