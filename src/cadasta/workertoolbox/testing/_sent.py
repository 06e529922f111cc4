"""
Fast mode: record the tasks an app sends, where each would go, and send nothing.

:func:`recording_sends` puts a recorder in place of the app's
``app.amqp.send_task_message`` for the block. The recorder runs Celery's own
``send_task_message`` (the same headers, the same exchange and routing key, the
``before_task_publish`` and ``after_task_publish`` signals) with a producer that keeps
the message instead of publishing it, so nothing connects to a broker. The queues each
message reaches are computed from the app's own bindings, as the conformance suite does
(:mod:`..conformance._topology`). A message that would reach no work queue fails the
test at once, with the conformance suite's message. A task due later than the broker's
visibility timeout allows is refused as the library's transport refuses it, with the
same :class:`~cadasta.workertoolbox.exceptions.VisibilityTimeoutError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, overload

__all__ = ["SentTask", "SentTasks", "recording_sends"]

#: Where the recorder is kept on ``app.amqp`` while it records.
_INSTALLED = "_cadasta_sent_tasks"


def _sorted(names: frozenset[str]) -> str:
    return "[" + ", ".join(repr(name) for name in sorted(names)) + "]"


@dataclass(frozen=True)
class SentTask:
    """
    One task message the app sent, as Celery built it, and where it would go.

    Args:
        name: The task's name.
        id: The task's id.
        args: Its positional arguments.
        kwargs: Its keyword arguments.
        options: The options Celery published it with (``queue`` by name, ``exchange``,
            ``routing_key``, ``priority``…), as ``send_task_message`` received them.
        exchange: The exchange it is published to (``''``: the default exchange).
        routing_key: Its routing key.
        queues: Every queue of the app it reaches: its work queue and the monitor.
        monitor: The name of the app's monitor queue.
        headers: The message's headers (``parent_id``, ``root_id``, ``group``, ``eta``,
            ``expires``, ``retries``…).
        properties: The message's properties (``correlation_id``, ``reply_to``…).
        embed: What protocol 2 embeds in the body: ``callbacks``, ``errbacks``,
            ``chain`` and ``chord``.

    .. versionadded:: 1.0

    """

    name: str
    id: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    options: Mapping[str, Any]
    exchange: str
    routing_key: str
    queues: frozenset[str]
    monitor: str
    headers: Mapping[str, Any] = field(repr=False)
    properties: Mapping[str, Any] = field(repr=False)
    embed: Mapping[str, Any] = field(repr=False)

    @property
    def work_queues(self) -> frozenset[str]:
        """The queues it reaches other than the monitor."""
        return self.queues - {self.monitor}

    @property
    def reaches_monitor(self) -> bool:
        """Whether the platform's monitor queue receives a copy."""
        return self.monitor in self.queues

    @property
    def parent_id(self) -> str | None:
        """The id of the task that sent it, if a task did."""
        return self.headers.get("parent_id")

    @property
    def root_id(self) -> str | None:
        """The id of the first task of its workflow."""
        return self.headers.get("root_id")

    @property
    def group_id(self) -> str | None:
        """The id of its group, when it is part of a group or a chord's header."""
        return self.headers.get("group")

    def __str__(self) -> str:
        call = ", ".join([*map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs.items())])
        target = f"exchange {self.exchange!r}" if self.exchange else "the default exchange"
        return (
            f"{self.name}({call}) id={self.id} to {target} with routing key "
            f"{self.routing_key!r}, reaching {_sorted(self.queues)}"
        )


class SentTasks(Sequence[SentTask]):
    """
    The tasks sent so far in the test, in order: a read-only sequence of :class:`SentTask`.

    The lookup methods fail with the list of every task sent, so that a failing
    assertion shows where each task went.

    .. versionadded:: 1.0

    """

    def __init__(self) -> None:
        self._sent: list[SentTask] = []
        self._lock = threading.Lock()

    def _append(self, task: SentTask) -> None:
        with self._lock:
            self._sent.append(task)

    @overload
    def __getitem__(self, index: int) -> SentTask: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[SentTask]: ...

    def __getitem__(self, index: int | slice) -> SentTask | Sequence[SentTask]:
        return self._sent[index]

    def __len__(self) -> int:
        return len(self._sent)

    def __repr__(self) -> str:
        return f"<SentTasks: {self.describe()}>"

    def describe(self) -> str:
        """Every task sent, one per line, with where it went; or say none was."""
        if not self._sent:
            return "no task was sent"
        lines = "\n".join(f"  {n}. {task}" for n, task in enumerate(self._sent, 1))
        return f"{len(self._sent)} task(s) sent:\n{lines}"

    @property
    def names(self) -> list[str]:
        """The names of the tasks sent, in order."""
        return [task.name for task in self._sent]

    def named(self, name: str) -> list[SentTask]:
        """Return the tasks sent under *name*, in order (maybe none)."""
        return [task for task in self._sent if task.name == name]

    def one(self, name: str) -> SentTask:
        """
        Return the only task sent under *name*.

        Raises:
            AssertionError: None or several were sent; the message lists every task sent.

        """
        found = self.named(name)
        if len(found) != 1:
            raise AssertionError(
                f"expected one task {name!r} to be sent, found {len(found)}; {self.describe()}"
            )
        return found[0]

    def clear(self) -> None:
        """Forget the tasks sent so far."""
        with self._lock:
            self._sent.clear()


class _KeepingProducer:
    """What Celery's ``send_task_message`` publishes with: it keeps the message."""

    connection = None

    def __init__(self) -> None:
        self.published: tuple[Any, dict[str, Any]] | None = None

    def publish(self, body: Any, **kwargs: Any) -> None:
        self.published = (body, kwargs)

    def revive(self, connection: Any) -> None:
        """Nothing to revive: nothing was connected."""


def _body_parts(body: Any) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]:
    """Return the args, kwargs and embedded canvas of protocol 2 or 1's body."""
    if isinstance(body, (tuple, list)):
        args, kwargs, embed = body
        return tuple(args), dict(kwargs), dict(embed or {})
    embed = {key: body.get(key) for key in ("callbacks", "errbacks", "chord") if body.get(key)}
    return tuple(body.get("args") or ()), dict(body.get("kwargs") or {}), embed


_MESSAGE_KEYS = frozenset(
    {"exchange", "routing_key", "headers", "declare", "retry", "retry_policy", "serializer"}
)


class _Recorder:
    def __init__(self, app: Any, sent: SentTasks) -> None:
        from ..conformance._suite import Survey

        self.app = app
        self.sent = sent
        self.survey = Survey(app)
        # Celery's own sender, whatever class the app's amqp is (the platform's subclass
        # sets the app up, which connects, before it calls it).
        self.celery_send = app.amqp._create_task_sender()
        # What the transport's refusal of late tasks reads: the transport's class tells,
        # without building a transport (a millisecond a test) or connecting.
        with app.connection_for_write() as connection:
            self.driver_type = str(connection.get_transport_cls().driver_type)

    def __call__(self, producer: Any, name: str, message: Any, **options: Any) -> Any:
        from ..conformance._routing import Route
        from ..conformance._suite import stranded_message

        keeper = _KeepingProducer()
        result = self.celery_send(keeper, name, message, **options)
        assert keeper.published is not None  # noqa: S101 (Celery publishes every message)
        body, published = keeper.published
        self._refuse_late(name, body, published)
        exchange = str(getattr(published["exchange"], "name", published["exchange"]) or "")
        routing_key = str(published["routing_key"] or "")
        survey = self.survey
        queues = survey.topology.destinations(exchange, routing_key)
        headers = dict(published.get("headers") or {})
        if not queues - {survey.monitor}:
            import pytest

            route = Route(exchange, routing_key, queues)
            pytest.fail(
                f"sending {name}[{headers.get('id')}]: "
                + stranded_message(survey, [(name, route)]),
                pytrace=False,
            )
        args, kwargs, embed = _body_parts(body)
        queue = options.get("queue")
        shown = {**options, "queue": getattr(queue, "name", queue)} if queue else dict(options)
        properties = {k: v for k, v in published.items() if k not in _MESSAGE_KEYS}
        self.sent._append(
            SentTask(
                name=name,
                id=str(headers.get("id", "")),
                args=args,
                kwargs=kwargs,
                options=shown,
                exchange=exchange,
                routing_key=routing_key,
                queues=queues,
                monitor=survey.monitor,
                headers=headers,
                properties=properties,
                embed=embed,
            )
        )
        return result

    def _refuse_late(self, name: str, body: Any, published: Mapping[str, Any]) -> None:
        """Refuse a task due too late, as the library's transport does when it publishes."""
        from ..publish._delivery import refuse_late_message

        headers = published.get("headers") or {}
        eta = headers.get("eta")
        if eta is None and isinstance(body, Mapping):  # protocol 1
            eta = body.get("eta")
        message = {"headers": {"task": name, "id": headers.get("id"), "eta": eta}}
        refuse_late_message(message, self.driver_type, self.app.conf.broker_transport_options)


@contextmanager
def recording_sends(app: Any) -> Iterator[SentTasks]:
    """
    Record what *app* sends during the block, without a broker; send nothing.

    Raises:
        RuntimeError: *app* is already being recorded (the fixture was used twice).

    .. versionadded:: 1.0

    """
    amqp = app.amqp
    if getattr(amqp, _INSTALLED, None) is not None:
        raise RuntimeError(
            f"the sends of app {app.main!r} are already being recorded: use the "
            "toolbox_sent_tasks fixture once per test, not inside another recording"
        )
    sent = SentTasks()
    recorder = _Recorder(app, sent)
    had_own = "send_task_message" in vars(amqp)
    previous = vars(amqp).get("send_task_message")
    amqp.send_task_message = recorder
    setattr(amqp, _INSTALLED, sent)
    try:
        yield sent
    finally:
        delattr(amqp, _INSTALLED)
        if had_own:
            amqp.send_task_message = previous
        else:
            del amqp.send_task_message
