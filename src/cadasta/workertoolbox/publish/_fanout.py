"""
One send, every queue: the monitor's copy first, each copy sent once, or a loud error.

kombu's virtual transports (SQS, memory, Redis) fan a message published to a topic
exchange out themselves: one call to the broker for each bound queue, in the order of a
``set`` (so, on SQS, of ``PYTHONHASHSEED``), all of them again when the connection fails,
and nothing at all, silently, when no queue is bound. :class:`FanOutChannel` takes over
that loop for topic exchanges:

- **Order.** The copies for queues bound with ``#`` (the platform's monitor queue, which
  receives every message) go first, then the others by name: a task the platform has not
  recorded never runs; a recorded task that never ran shows there without a result.
- **Each copy once.** Each copy is one call (:meth:`FanOutChannel.send_copy`), which a
  transport may retry on its own for a passing failure. A copy sent is never sent again:
  a failure after it is raised as a :class:`~cadasta.workertoolbox.exceptions.PublishError`,
  which neither kombu nor Celery retries.
- **Loud.** A copy that still fails stops the send; the error names the task, its id, the
  queues that hold the message and those that do not, and is logged once, at ERROR. A
  task message that no queue would receive is refused the same way.

Before any of this, a task due later than the visibility timeout allows is refused
(:func:`~cadasta.workertoolbox.publish._delivery.refuse_late_message`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import PublishError, ToolboxError
from ._delivery import is_task, refuse_late_message, task_fields

__all__ = ["MONITOR_BINDING", "FanOutChannel", "copy_message"]

logger = logging.getLogger("cadasta.workertoolbox.publish")

#: The binding key of a queue that receives every message of the exchange.
MONITOR_BINDING = "#"


def copy_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return a copy of kombu's *message* that a transport or a consumer may change.

    kombu's SQS transport takes ``message_attributes`` out of the properties of the
    message it sends, and the memory transport hands the dict itself to the consumer:
    each copy (and each attempt) gets headers, properties and delivery info of its own.
    The body, a string, is shared.
    """
    properties = dict(message.get("properties") or {})
    if isinstance(properties.get("delivery_info"), Mapping):
        properties["delivery_info"] = dict(properties["delivery_info"])
    copy = {**message, "properties": properties}
    if isinstance(message.get("headers"), Mapping):
        copy["headers"] = dict(message["headers"])
    return copy


class FanOutChannel:
    """
    A mixin for a kombu virtual ``Channel``: publishing to a topic exchange, copy by copy.

    Put it first among the bases: ``class Channel(FanOutChannel, kombu_module.Channel)``.
    Messages to other kinds of exchanges are published as kombu does, after the refusal
    of tasks due too late.
    """

    # Provided by kombu's virtual Channel.
    connection: Any

    def basic_publish(
        self, message: dict[str, Any], exchange: str, routing_key: str, **kwargs: Any
    ) -> Any:
        """Refuse a late task, then send the message's copies one by one, the monitor's first."""
        transport = self.connection
        fields = task_fields(message)  # before the body is encoded for the transport
        refuse_late_message(message, str(transport.driver_type), transport.client.transport_options)
        if not exchange:  # the default exchange: the routing key names the queue
            return super().basic_publish(message, exchange, routing_key, **kwargs)  # type: ignore[misc]
        if self._exchange_type(exchange) != "topic":
            if is_task(fields) and not self._lookup(exchange, routing_key):  # type: ignore[attr-defined]
                raise self._publish_error(fields, (), (), None, exchange, routing_key)
            return super().basic_publish(message, exchange, routing_key, **kwargs)  # type: ignore[misc]
        self._inplace_augment_message(message, exchange, routing_key)  # type: ignore[attr-defined]
        queues = self.destinations(exchange, routing_key)
        if not queues:
            if is_task(fields):
                raise self._publish_error(fields, (), (), None, exchange, routing_key)
            return None  # not a task (an event…): nobody listens, as kombu has it
        try:
            copies = self.prepare_copies(message, queues)
        except ToolboxError:
            raise
        except Exception as error:
            raise self._publish_error(fields, (), queues, error) from error
        delivered: list[str] = []
        for position, (queue, copy) in enumerate(copies):
            try:
                self.send_copy(queue, copy)
            except Exception as error:
                missing = [name for name, _ in copies[position:]]
                raise self._publish_error(fields, delivered, missing, error) from error
            delivered.append(queue)
        return None

    def _exchange_type(self, exchange: str) -> str | None:
        """Return the type *exchange* was declared with on this connection, or ``None``."""
        declared = self.state.exchanges.get(exchange)  # type: ignore[attr-defined]
        return None if declared is None else str(declared.get("type"))

    def destinations(self, exchange: str, routing_key: str) -> list[str]:
        """
        Return the queues that receive a message with *routing_key*, in sending order.

        Queues bound with ``#`` come first, then the others by name.
        """
        table = self.get_table(exchange)  # type: ignore[attr-defined]
        monitors = {queue for key, _, queue in table if key == MONITOR_BINDING}
        matched = self.typeof(exchange).lookup(table, exchange, routing_key, None)  # type: ignore[attr-defined]
        deadletter = self.deadletter_queue  # type: ignore[attr-defined]
        queues = {queue for queue in matched if queue and queue != deadletter}
        return sorted(queues, key=lambda queue: (queue not in monitors, queue))

    def prepare_copies(
        self, message: Mapping[str, Any], queues: Sequence[str]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Return the copy of *message* for each of *queues*, checked before any is sent."""
        return [(queue, copy_message(message)) for queue in queues]

    def send_copy(self, queue: str, message: dict[str, Any]) -> None:
        """Send one copy of a message to *queue*: one call to the broker."""
        self._put(queue, message)  # type: ignore[attr-defined]

    def broker_queue_name(self, queue: str) -> str:
        """Return the name the broker knows *queue* by (with SQS's prefix, say)."""
        return queue

    def is_ambiguous_failure(self, error: BaseException) -> bool:
        """Tell whether a copy whose send raised *error* may have arrived all the same."""
        return False

    def _publish_error(
        self,
        fields: Mapping[str, Any],
        delivered: Sequence[str],
        missing: Sequence[str],
        cause: BaseException | None,
        exchange: str = "",
        routing_key: str = "",
    ) -> PublishError:
        """Build the error for a message that did not reach every queue, and log it."""
        name, task_id = _task_of(fields)
        what = f"Task {name!r} (id {task_id})" if name is not None else "A message"
        held = [self.broker_queue_name(queue) for queue in delivered]
        lost = [self.broker_queue_name(queue) for queue in missing]
        if not held and not lost:
            problem = (
                f"{what} was not sent: no queue is bound to exchange "
                f"{exchange!r} with a key matching {routing_key!r} on this connection, so "
                "the message would be dropped. Declare the queues before sending: call "
                "setup_app(app), or send through the app's own send_task/apply_async, "
                "whose router declares them."
            )
        else:
            problem = (
                f"{what} was not sent to every queue: "
                f"{_where(held, lost)}. The failure: {_describe(cause)}. "
                + _advice(held, lost[0], cause is not None and self.is_ambiguous_failure(cause))
            )
        logger.error("%s", problem)
        return PublishError(problem, task_name=name, task_id=task_id, delivered=held, missing=lost)


def _task_of(fields: Mapping[str, Any]) -> tuple[str | None, str | None]:
    name, task_id = fields.get("task"), fields.get("id")
    return (None if name is None else str(name), None if task_id is None else str(task_id))


def _names(queues: Sequence[str]) -> str:
    return ", ".join(repr(queue) for queue in queues)


def _where(held: Sequence[str], lost: Sequence[str]) -> str:
    holds = f"it is in {_names(held)}" if held else "no queue holds it"
    return f"{holds}, and not confirmed in {_names(lost)}"


def _describe(cause: BaseException | None) -> str:
    text = str(cause).strip().rstrip(".")
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def _advice(held: Sequence[str], failed: str, lost_answer: bool) -> str:
    if lost_answer:
        held_too = f"{_names(held)} holds it, and " if held else ""
        return (
            f"The answer of the last call to {failed!r} was lost, so the broker may have "
            f"stored that copy all the same: {held_too}{failed!r} may hold it already. "
            "Look before sending the task again, which could make it run twice; tasks "
            "that may run twice should be idempotent."
        )
    if not held:
        return "Nothing was sent: sending the task again is safe."
    return (
        "The platform's monitor has recorded a task that no worker will run unless it "
        "is sent again: send it again with the same task id (apply_async(task_id=...)), "
        "which the platform joins to the record it has, or let the platform mark it failed."
    )
