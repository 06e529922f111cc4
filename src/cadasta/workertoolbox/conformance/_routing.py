"""
The exchange and routing key Celery would publish a task with, without publishing.

:func:`publish_target` asks the app's real router (``app.amqp.router``) for the route of
a task, as ``app.send_task`` does, then resolves the route to an exchange and a routing
key the way Celery's ``send_task_message`` does before handing the message to kombu.

Celery's router adds a queue to ``app.amqp.queues`` when a route names a queue it does
not know (``task_create_missing_queues``); such queues are removed again, so that asking
leaves the app as it was.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._topology import DeclaredTopology, exchange_name

__all__ = ["Route", "describe_target", "publish_target"]


@dataclass(frozen=True)
class Route:
    """
    Where a task goes: its exchange and routing key, and the queues they reach.

    Args:
        exchange: The exchange name; ``''`` is the default exchange.
        routing_key: The routing key.
        destinations: The declared queues the message reaches.

    """

    exchange: str
    routing_key: str
    destinations: frozenset[str]

    def __str__(self) -> str:
        return describe_target(self.exchange, self.routing_key)


def describe_target(exchange: str, routing_key: str) -> str:
    """Describe an exchange and routing key for a failure message."""
    where = f"exchange {exchange!r}" if exchange else "the default exchange ''"
    return f"{where} with routing key {routing_key!r}"


@contextmanager
def _no_queues_added(*mappings: MutableMapping[str, Any]) -> Iterator[None]:
    """
    Remove the queues added to *mappings* while the block runs.

    The mappings are dictionaries (kombu's ``Queues``), which keep their keys in the
    order they were added, and a router only adds queues: the keys past the length a
    mapping had are the new ones. Nothing is copied when nothing was added, so asking
    about every task of a large app stays linear.
    """
    lengths = {id(mapping): (mapping, len(mapping)) for mapping in mappings}
    try:
        yield
    finally:
        for mapping, length in lengths.values():
            if len(mapping) > length:
                for name in list(mapping)[length:]:
                    del mapping[name]


def publish_target(app: Any, task_name: str, topology: DeclaredTopology) -> Route:
    """
    Return the route Celery would publish the task *task_name* with.

    Raises:
        Exception: Whatever the app's router raises for this task.

    """
    amqp = app.amqp
    router = amqp.router
    with _no_queues_added(amqp.queues, getattr(router, "queues", amqp.queues)):
        options = router.route(
            {}, task_name, args=(), kwargs={}, task_type=app.tasks.get(task_name)
        )
        exchange, routing_key = _resolve(app, options)
    return Route(exchange, routing_key, topology.destinations(exchange, routing_key))


def _resolve(app: Any, options: dict[str, Any]) -> tuple[str, str]:
    """
    Resolve a route as Celery's ``send_task_message`` does, to exchange and key.

    The router has already turned a queue given by name into a :class:`~kombu.Queue`.
    """
    queues = app.amqp.queues
    queue: Any = options.get("queue")
    exchange = options.get("exchange")
    routing_key = options.get("routing_key")
    if queue is None and exchange is None:
        queue = queues[app.conf.task_default_queue]
    queue_name = getattr(queue, "name", None)
    exchange_type = options.get("exchange_type") or (
        getattr(getattr(queue, "exchange", None), "type", None) or "direct"
    )
    if exchange_type == "direct" and not (exchange and routing_key):
        # Celery publishes to the default exchange, straight to the queue.
        return "", queue_name or ""
    if exchange is None:
        exchange = exchange_name(queue.exchange) or exchange_name(app.amqp.default_exchange)
        routing_key = routing_key or queue.routing_key or app.conf.task_default_routing_key
    return exchange_name(exchange), routing_key or ""
