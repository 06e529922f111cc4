"""
The task router: the routing key is the first dot-segment of the task name.

``export.render`` is published to the topic exchange with routing key ``export``: the
``export`` queue and the monitor queue (bound with ``#``) both receive it. The route also
names the queue, which Celery's chord fallback for database backends needs, and lists
the queues to declare before publishing: kombu's SQS transport keeps bindings in memory,
per connection, so a process that has not declared the monitor queue's binding on the
connection it publishes with would drop the monitor's copy silently.

The monitor queue is an SQS FIFO queue, which delivers the messages of one message group
in order and caps the throughput of each group. With ``MONITOR_MESSAGE_GROUP`` set to
``queue`` or ``task``, the route also carries a ``MessageGroupId`` (the work queue's
name or the task's name): Celery puts unknown route options into the message
properties, where kombu's SQS transport takes the group of each message it sends.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from kombu.entity import Queue

from ._topology import Topology

__all__ = ["MESSAGE_GROUP_MODES", "TaskRouter", "check_message_group", "message_group_id"]

logger = logging.getLogger("cadasta.workertoolbox._routing")

#: The values of ``MONITOR_MESSAGE_GROUP``: one group for every message (kombu's
#: ``'default'``), a group per work queue, or a group per task name.
MESSAGE_GROUP_MODES: tuple[str, ...] = ("default", "queue", "task")

#: What SQS accepts as a ``MessageGroupId``: 1 to 128 ASCII letters, digits and
#: punctuation marks.
_VALID_GROUP_ID = re.compile(r"[!-~]{1,128}")


def check_message_group(value: object) -> list[str]:
    """Return the problems of *value* as ``MONITOR_MESSAGE_GROUP``: none, or one."""
    if isinstance(value, str) and value in MESSAGE_GROUP_MODES:
        return []
    accepted = ", ".join(repr(mode) for mode in MESSAGE_GROUP_MODES)
    return [
        f"MONITOR_MESSAGE_GROUP={value!r} is not one of {accepted}: 'default' sends every "
        "message of the monitor queue in one SQS message group, 'queue' makes a group per "
        "work queue and 'task' a group per task name. Set Config(MONITOR_MESSAGE_GROUP=...) "
        "or the CELERY_MONITOR_MESSAGE_GROUP variable."
    ]


def message_group_id(name: str) -> str:
    """
    Return the SQS message group of the queue or task *name*.

    The name itself when SQS accepts it, else its SHA-256 digest in hexadecimal: the same
    name always gives the same group.
    """
    if _VALID_GROUP_ID.fullmatch(name):
        return name
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


class TaskRouter:
    """
    Route tasks by the first dot-segment of their name.

    Celery calls the router with the task name and the options of the call; the answer
    is cached per routing key, so routing costs one dictionary look-up.

    A task whose prefix names no configured queue is routed to a queue of that name,
    declared on first use, so that its message waits there for a worker instead of
    reaching the monitor queue only. A warning says to add the queue to ``QUEUES``.

    Args:
        topology: The exchange and queues of the configuration.
        message_group: How the monitor queue's messages are spread over SQS message
            groups, one of :data:`MESSAGE_GROUP_MODES`: ``'default'`` adds nothing (kombu
            sends every message in the group ``'default'``), ``'queue'`` adds the work
            queue's name and ``'task'`` the task's name as ``MessageGroupId``.

    Raises:
        ValueError: *message_group* is not one of :data:`MESSAGE_GROUP_MODES`.

    """

    def __init__(self, topology: Topology, message_group: str = "default") -> None:
        problems = check_message_group(message_group)
        if problems:
            raise ValueError(problems[0])
        self._topology = topology
        self._group_by_queue = message_group == "queue"
        self._group_by_task = message_group == "task"
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
            route = self._explicit_route(queue)
        else:
            routing_key = options.get("routing_key") or name.split(".", 1)[0]
            route = dict(self._cached_route(routing_key))
        if self._group_by_task:
            route["MessageGroupId"] = message_group_id(name)
        return route

    def route_for_routing_key(self, routing_key: str) -> dict[str, Any]:
        """
        Return the route a task published with *routing_key* takes.

        With ``MONITOR_MESSAGE_GROUP='task'`` the group depends on the task's name, which
        this route leaves out.
        """
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
        """
        Route to a queue named by the caller (``apply_async(queue=…)``).

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
        route = {
            "queue": queue,
            # A kombu Exchange, as 0.6 promised: code reads route["exchange"].name.
            "exchange": self._topology.exchange,
            "routing_key": queue.routing_key or queue.name,
            "declare": [queue, self._topology.platform_queue],
        }
        if self._group_by_queue:
            route["MessageGroupId"] = message_group_id(queue.name)
        return route
