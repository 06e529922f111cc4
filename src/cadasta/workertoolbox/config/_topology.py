"""
The exchange and queues of the architecture.

One topic exchange; a queue per work queue name bound with that name as routing key;
the ``celery`` queue for Celery's own tasks; and the platform's monitor queue bound with
``#``, so that it receives a copy of every task message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kombu.entity import Exchange, Queue

__all__ = ["CELERY_QUEUE", "DEFAULT_PLATFORM_QUEUE", "Topology"]

#: The queue of Celery's own tasks (``celery.chord_unlock``…) and its routing key.
CELERY_QUEUE = "celery"

#: The platform's monitor queue when ``PLATFORM_QUEUE_NAME`` is not set.
DEFAULT_PLATFORM_QUEUE = "platform.fifo"


@dataclass(frozen=True)
class Topology:
    """
    The exchange and the queues built from a configuration.

    Args:
        work_queue_names: The service queues (``QUEUES``).
        platform_queue_name: The monitor queue (``PLATFORM_QUEUE_NAME``).
        exchange_name: The topic exchange (``task_default_exchange``).
        exchange_type: Its type (``task_default_exchange_type``).

    """

    work_queue_names: tuple[str, ...]
    platform_queue_name: str
    exchange_name: str
    exchange_type: str = "topic"
    exchange: Exchange = field(init=False, repr=False, compare=False)
    queues_by_routing_key: Mapping[str, Queue] = field(init=False, repr=False, compare=False)
    platform_queue: Queue = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exchange = Exchange(self.exchange_name, type=self.exchange_type)
        by_key = {
            name: Queue(name, exchange, routing_key=name)
            for name in (CELERY_QUEUE, *self.work_queue_names)
        }
        object.__setattr__(self, "exchange", exchange)
        object.__setattr__(self, "queues_by_routing_key", by_key)
        object.__setattr__(
            self, "platform_queue", Queue(self.platform_queue_name, exchange, routing_key="#")
        )

    @classmethod
    def build(
        cls,
        work_queue_names: Iterable[str],
        platform_queue_name: str,
        exchange_name: str,
        exchange_type: str = "topic",
    ) -> Topology:
        """Build the topology, without duplicates of ``celery`` among the work queues."""
        names = tuple(dict.fromkeys(n for n in work_queue_names if n != CELERY_QUEUE))
        return cls(names, platform_queue_name, exchange_name, exchange_type)

    @property
    def task_queues(self) -> tuple[Queue, ...]:
        """The value of Celery's ``task_queues``: ``celery``, the monitor, the work queues."""
        celery, *work = self.queues_by_routing_key.values()
        return (celery, self.platform_queue, *work)
