"""
Where a message goes, computed from the queues an app declares.

The conformance suite must answer "which queues receive a message published to this
exchange with this routing key?" without a broker. It reads the bindings of the queues
the app's configuration declares and applies the exchange semantics of AMQP:

- ``topic``: the binding key is a pattern of words separated by ``.``; ``*`` matches
  exactly one word, ``#`` zero or more words;
- ``direct``: the binding key equals the routing key;
- ``fanout``: every binding matches;
- the default exchange (named ``''``): the queue named like the routing key.

Other exchange types (``headers``…) route on message headers, which a conformance
check cannot know: their bindings match nothing, and the exchange type check says so.

kombu's memory transport would answer the same question, but its state is shared by
every connection of the process: another app declaring queues earlier would change the
answers. This module keeps no global state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Binding", "DeclaredTopology", "exchange_name", "topic_matches"]


def topic_matches(binding_key: str, routing_key: str) -> bool:
    """
    Tell whether a topic exchange delivers *routing_key* through *binding_key*.

    Both are lists of words separated by ``.``. In *binding_key*, ``*`` stands for
    exactly one word and ``#`` for zero or more words.
    """
    words = routing_key.split(".")
    # The numbers of leading words the pattern read so far can have consumed.
    consumed = {0}
    for part in binding_key.split("."):
        if not consumed:
            return False
        if part == "#":
            consumed = set(range(min(consumed), len(words) + 1))
        else:
            consumed = {
                count + 1
                for count in consumed
                if count < len(words) and part in ("*", words[count])
            }
    return len(words) in consumed


def exchange_name(exchange: Any) -> str:
    """Return the name of *exchange*, an :class:`~kombu.Exchange` or a name; ``''`` for none."""
    name = getattr(exchange, "name", exchange)
    return str(name) if name else ""


@dataclass(frozen=True)
class Binding:
    """
    One binding of a queue to an exchange.

    Args:
        queue: The queue's name.
        exchange: The exchange's name.
        exchange_type: ``topic``, ``direct``, ``fanout``…
        key: The binding (routing) key.

    """

    queue: str
    exchange: str
    exchange_type: str
    key: str

    def matches(self, routing_key: str) -> bool:
        """Tell whether a message with *routing_key* on this exchange reaches the queue."""
        if self.exchange_type == "topic":
            return topic_matches(self.key, routing_key)
        if self.exchange_type == "direct":
            return self.key == routing_key
        return self.exchange_type == "fanout"

    def __str__(self) -> str:
        return f"{self.exchange!r} ({self.exchange_type}) with key {self.key!r}"


def _bindings_of(queue: Any) -> Iterator[Binding]:
    """
    Yield the bindings kombu creates when it declares *queue*.

    The queue's own exchange and routing key make one binding (when the exchange has a
    name), and each of ``queue.bindings`` another.
    """
    pairs = [(queue.exchange, queue.routing_key)] if exchange_name(queue.exchange) else []
    pairs += [(each.exchange, each.routing_key) for each in queue.bindings]
    for exchange, key in pairs:
        if exchange_name(exchange):
            yield Binding(
                queue=queue.name,
                exchange=exchange_name(exchange),
                exchange_type=str(getattr(exchange, "type", "direct")),
                key=key or "",
            )


def _is_pattern(binding: Binding) -> bool:
    """Tell whether *binding* can match more than the routing key equal to its key."""
    if binding.exchange_type == "topic":
        return any(word in ("*", "#") for word in binding.key.split("."))
    return binding.exchange_type == "fanout"


class DeclaredTopology:
    """
    The queues an app declares and their bindings.

    The bindings are indexed so that an answer costs one look-up plus one match per
    pattern binding (topic keys with ``*`` or ``#``, fanout) of the exchange, however
    many queues there are; answers are cached, as the suite asks about the same routing
    keys for many tasks.

    Args:
        queues: The declared :class:`~kombu.Queue` objects.

    """

    def __init__(self, queues: Iterable[Any]) -> None:
        queues = list(queues)
        self.queue_names: tuple[str, ...] = tuple(queue.name for queue in queues)
        self.bindings: tuple[Binding, ...] = tuple(
            binding for queue in queues for binding in _bindings_of(queue)
        )
        self._names = frozenset(self.queue_names)
        self._by_queue: dict[str, list[Binding]] = {}
        # (exchange, key) => queues, for bindings that match their key only (direct,
        # topic without wildcards); exchange => the other bindings that can match.
        self._exact: dict[tuple[str, str], list[str]] = {}
        self._patterns: dict[str, list[Binding]] = {}
        for binding in self.bindings:
            self._by_queue.setdefault(binding.queue, []).append(binding)
            if _is_pattern(binding):
                self._patterns.setdefault(binding.exchange, []).append(binding)
            elif binding.exchange_type in ("topic", "direct"):
                self._exact.setdefault((binding.exchange, binding.key), []).append(binding.queue)
        self._destinations: dict[tuple[str, str], frozenset[str]] = {}

    @classmethod
    def of(cls, app: Any) -> DeclaredTopology:
        """
        Return the topology *app*'s configuration declares (``task_queues``).

        The queues are built the way Celery builds ``app.amqp.queues`` (the default
        queue when ``task_queues`` is empty, the default exchange for queues without
        one), but anew: queues that earlier calls created on the fly, for a route naming
        an unknown queue, are not part of the configuration.
        """
        queues: Mapping[str, Any] = app.amqp.Queues(app.conf.task_queues)
        return cls(queues.values())

    def bindings_of(self, queue_name: str) -> list[Binding]:
        """Return the bindings of the queue *queue_name*."""
        return list(self._by_queue.get(queue_name, ()))

    def destinations(self, exchange: str, routing_key: str) -> frozenset[str]:
        """Return the names of the queues a message published so reaches."""
        found = self._destinations.get((exchange, routing_key))
        if found is None:
            if exchange:
                found = frozenset(
                    [
                        *self._exact.get((exchange, routing_key), ()),
                        *(
                            binding.queue
                            for binding in self._patterns.get(exchange, ())
                            if binding.matches(routing_key)
                        ),
                    ]
                )
            else:
                found = frozenset({routing_key} & self._names)
            self._destinations[(exchange, routing_key)] = found
        return found
