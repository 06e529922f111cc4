"""
The queue topology of an app as a table: for ``celery toolbox show`` and ``declare``.

Each queue the app declares, the name it has on the broker (kombu's SQS transport adds
``queue_name_prefix`` and replaces punctuation), the routing keys it is bound with,
whether it is an SQS FIFO queue, and who consumes it in the architecture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config._topology import CELERY_QUEUE
from ..config._validation import sqs_queue_name
from ..conformance._topology import DeclaredTopology
from ..publish.transports import transport_alias

__all__ = ["QueueRow", "QueueTable", "format_table", "topology_of", "transport_of"]

_HEADER = ("queue", "on the broker", "routing key", "FIFO", "consumed by")


@dataclass(frozen=True)
class QueueRow:
    """
    One queue of the app.

    Attributes:
        queue: The name Celery knows the queue by.
        broker_name: The name it has on the broker.
        routing_keys: The keys it is bound with, sorted.
        fifo: Whether it is an SQS FIFO queue; ``None`` on other transports.
        consumer: Who reads it in the architecture.

    """

    queue: str
    broker_name: str
    routing_keys: tuple[str, ...]
    fifo: bool | None
    consumer: str

    def cells(self) -> tuple[str, ...]:
        """Return the row as the table shows it."""
        fifo = "-" if self.fifo is None else ("yes" if self.fifo else "no")
        keys = ", ".join(repr(key) for key in self.routing_keys) or "-"
        return (self.queue, self.broker_name, keys, fifo, self.consumer)


@dataclass(frozen=True)
class QueueTable:
    """
    The exchange, the transport and the queues of an app.

    Attributes:
        exchange: The default exchange's name.
        exchange_type: Its type.
        transport: kombu's name of the broker transport (``sqs``, ``amqp``…).
        queue_name_prefix: The prefix SQS queue names get; empty on other transports.
        rows: One per queue, in the order the app declares them.

    """

    exchange: str
    exchange_type: str
    transport: str
    queue_name_prefix: str
    rows: tuple[QueueRow, ...]

    def describe(self) -> str:
        """Say where the queues are: the exchange, the transport and the prefix."""
        where = f"exchange {self.exchange!r} ({self.exchange_type}), transport {self.transport!r}"
        if self.transport == "sqs":
            where += f", queue_name_prefix {self.queue_name_prefix!r}"
        return where


def transport_of(app: Any) -> str:
    """Return kombu's name of the transport *app* writes to, without connecting."""
    try:
        with app.connection_for_write() as connection:
            transport = connection.transport_cls
    except Exception:
        # kombu cannot read broker_url; declaring would say so. Go by the setting.
        url = str(app.conf.broker_write_url or "")
        transport = app.conf.broker_transport or url.partition("://")[0] or "amqp"
    return transport_alias(transport) or str(transport).lower()


def _consumer(name: str, monitor: str | None, work_queues: Sequence[str] | None) -> str:
    if name == monitor:
        return "platform monitor"
    if name == CELERY_QUEUE:
        return "Celery's own tasks (chord_unlock)"
    if work_queues is not None and name not in work_queues:
        return f"workers of {name} (not in QUEUES)"
    return f"workers of {name}"


def topology_of(app: Any) -> QueueTable:
    """Return the topology *app*'s configuration declares (``task_queues``)."""
    queues = list(app.amqp.Queues(app.conf.task_queues).values())
    declared = DeclaredTopology(queues)
    transport = transport_of(app)
    prefix = ""
    if transport == "sqs":
        options = app.conf.broker_transport_options or {}
        prefix = str(options.get("queue_name_prefix") or "")
    monitor = app.conf.get("PLATFORM_QUEUE_NAME")
    work_queues = app.conf.get("QUEUES")
    rows = []
    for queue in queues:
        name = str(queue.name)
        rows.append(
            QueueRow(
                queue=name,
                broker_name=sqs_queue_name(prefix, name) if transport == "sqs" else name,
                routing_keys=tuple(sorted({b.key for b in declared.bindings_of(name)})),
                fifo=name.endswith(".fifo") if transport == "sqs" else None,
                consumer=_consumer(name, monitor, work_queues),
            )
        )
    exchange = app.amqp.default_exchange
    return QueueTable(
        exchange=str(exchange.name or ""),
        exchange_type=str(exchange.type),
        transport=transport,
        queue_name_prefix=prefix,
        rows=tuple(rows),
    )


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = _HEADER) -> list[str]:
    """Return *header* and *rows* as lines of left-aligned columns."""
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
