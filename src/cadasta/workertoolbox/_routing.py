"""The task router: the routing key is the first dot-segment of the task name.

``export.render`` is published to the topic exchange with routing key ``export``: the
``export`` queue and the monitor queue (bound with ``#``) both receive it. The route also
names the queue, which Celery's chord fallback for database backends needs, and lists
the queues to declare before publishing: kombu's SQS transport keeps bindings in memory,
per connection, so a process that has not declared the monitor queue's binding on the
connection it publishes with would drop the monitor's copy silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kombu.entity import Queue

from ._topology import Topology

__all__ = ["TaskRouter"]

logger = logging.getLogger(__name__)


class TaskRouter:
    """Route tasks by the first dot-segment of their name.

    Celery calls the router with the task name and the options of the call; the answer
    is cached per routing key, so routing costs one dictionary look-up.

    A task whose prefix names no configured queue is routed to a queue of that name,
    declared on first use, so that its message waits there for a worker instead of
    reaching the monitor queue only. A warning says to add the queue to ``QUEUES``.

    Args:
        topology: The exchange and queues of the configuration.

    """

    def __init__(self, topology: Topology) -> None:
        self._topology = topology
        self._routes: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        keys = ", ".join(self._topology.queues_by_routing_key)
        return f"<TaskRouter exchange={self._topology.exchange_name!r} routing keys: {keys}>"

    def __call__(
        self,
        name: str,
        args: Any = None,
        kwargs: Any = None,
        options: Mapping[str, Any] | None = None,
        task: Any = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Return the route of the task *name*: queue, exchange, routing key, declarations."""
        options = options or {}
        queue = options.get("queue")
        if isinstance(queue, Queue):
            return self._explicit_route(queue)
        routing_key = options.get("routing_key") or name.split(".", 1)[0]
        return dict(self._cached_route(routing_key))

    def route_for_routing_key(self, routing_key: str) -> dict[str, Any]:
        """Return the route a task published with *routing_key* takes."""
        return dict(self._cached_route(routing_key))

    def _cached_route(self, routing_key: str) -> dict[str, Any]:
        route = self._routes.get(routing_key)
        if route is None:
            queue = self._topology.queues_by_routing_key.get(routing_key)
            if queue is None:
                logger.warning(
                    "Tasks with routing key %r have no queue in QUEUES; declaring queue %r "
                    "so that their messages wait for a worker. Add %r to QUEUES.",
                    routing_key,
                    routing_key,
                    routing_key,
                )
                queue = Queue(routing_key, self._topology.exchange, routing_key=routing_key)
            route = self._routes[routing_key] = self._route_to(queue)
        return route

    def _explicit_route(self, queue: Queue) -> dict[str, Any]:
        """Route to a queue named by the caller (``apply_async(queue=…)``).

        A queue on another exchange, or on none (Celery makes one up for an unknown
        name, bound to an exchange of its own), would never give the monitor queue its
        copy: the queue of that name on the topic exchange is used instead.
        """
        exchange = queue.exchange.name if queue.exchange is not None else ""
        if exchange == self._topology.exchange_name:
            return self._route_to(queue)
        return dict(self._cached_route(queue.name))

    def _route_to(self, queue: Queue) -> dict[str, Any]:
        """Route to *queue*, a queue on the topic exchange, and declare the monitor too."""
        return {
            "queue": queue,
            "exchange": self._topology.exchange_name,
            "routing_key": queue.routing_key or queue.name,
            "declare": [queue, self._topology.platform_queue],
        }
