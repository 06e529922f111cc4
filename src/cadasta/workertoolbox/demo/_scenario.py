"""
What the demo sends, and what it records while the worker runs it.

Four steps, each waited for before the next: a task, a chain, a group and a chord. The
chain's later tasks are published by the worker. On a database result backend a chord
is completed by ``celery.chord_unlock``: sent with the chord's header, it is run by the
worker (and retried, with a new message each time, until the header is done), and then
publishes the chord's body. Celery's signals tell, in this process, every task message
published (by the demo or by the worker) and every task the worker ran.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from celery import Celery, chain, chord, group, signals

__all__ = [
    "Execution",
    "Publication",
    "Recorder",
    "Step",
    "StepOutcome",
    "TaskResult",
    "fetch_results",
    "recording",
    "run_steps",
    "steps",
]


@dataclass(frozen=True)
class Step:
    """A piece of work the demo sends: ``send()`` returns its result handle."""

    kind: str
    description: str
    send: Callable[[], Any]


@dataclass(frozen=True)
class StepOutcome:
    """How a step ended: its value, whether it succeeded, or that it timed out."""

    step: Step
    seconds: float
    succeeded: bool
    value: Any = None
    timed_out: bool = False


@dataclass(frozen=True)
class Publication:
    """A task message published in this process, during the step *step*."""

    step: str
    task_id: str
    name: str
    routing_key: str
    retries: int


@dataclass(frozen=True)
class Execution:
    """The last run of a task by the worker: its state and return value."""

    state: str
    value: Any


@dataclass(frozen=True)
class TaskResult:
    """
    A task's state and result; *stored* is false for a task that ignores its result.

    The state of such a task is the one the worker reported when it last ran it.
    """

    state: str
    value: Any
    stored: bool = True


@dataclass
class Recorder:
    """The publications and executions seen so far, and the step under way."""

    step: str = "-"
    publications: list[Publication] = field(default_factory=list)
    executions: dict[str, Execution] = field(default_factory=dict)


def steps(app: Celery) -> list[Step]:
    """Return the demo's steps on the example *app*."""
    tasks = app.tasks
    render, add, square = tasks["export.render"], tasks["export.add"], tasks["export.square"]
    total, notify = tasks["export.total"], tasks["msg.notify"]
    numbers = (1, 2, 3)
    return [
        Step("task", "export.render(7)", lambda: render.delay(7)),
        Step(
            "chain",
            "export.add(1, 2) | export.add(3) | msg.notify()",
            lambda: chain(add.s(1, 2), add.s(3), notify.s()).apply_async(),
        ),
        Step(
            "group",
            "export.square(n) for n in 1, 2, 3",
            lambda: group(square.s(n) for n in numbers).apply_async(),
        ),
        Step(
            "chord",
            "export.square(n) for n in 1, 2, 3, then export.total(squares)",
            lambda: chord((square.s(n) for n in numbers), total.s()).apply_async(),
        ),
    ]


@contextmanager
def recording() -> Iterator[Recorder]:
    """
    Record the task messages published and the tasks run in this process, in the block.

    The demo's app is the only one at work meanwhile.
    """
    recorder = Recorder()
    lock = threading.Lock()

    def published(sender: Any = None, **kwargs: Any) -> None:
        headers: Mapping[str, Any] = kwargs["headers"]
        with lock:
            recorder.publications.append(
                Publication(
                    step=recorder.step,
                    task_id=str(headers["id"]),
                    name=str(headers["task"]),
                    routing_key=str(kwargs.get("routing_key")),
                    retries=int(headers.get("retries") or 0),
                )
            )

    def ran(sender: Any = None, **kwargs: Any) -> None:
        with lock:
            recorder.executions[kwargs["task_id"]] = Execution(kwargs["state"], kwargs["retval"])

    signals.after_task_publish.connect(published, weak=False)
    signals.task_postrun.connect(ran, weak=False)
    try:
        yield recorder
    finally:
        signals.after_task_publish.disconnect(published)
        signals.task_postrun.disconnect(ran)


def run_steps(
    step_list: list[Step],
    recorder: Recorder,
    timeout: float,
    report: Callable[[StepOutcome], None],
) -> list[StepOutcome]:
    """
    Send each step and wait for its result; *report* each outcome as it comes.

    The steps share *timeout* seconds; the first one that does not complete in what
    remains ends the run.
    """
    from celery.exceptions import TimeoutError as ResultTimeout

    outcomes: list[StepOutcome] = []
    deadline = time.monotonic() + timeout
    for step in step_list:
        recorder.step = step.kind
        started = time.monotonic()
        result = step.send()
        try:
            value = result.get(
                timeout=max(deadline - started, 0.1),
                interval=0.05,
                propagate=False,
                disable_sync_subtasks=False,
            )
        except ResultTimeout:
            outcome = StepOutcome(step, time.monotonic() - started, False, timed_out=True)
        else:
            outcome = StepOutcome(step, time.monotonic() - started, result.successful(), value)
        outcomes.append(outcome)
        report(outcome)
        if outcome.timed_out:
            break
    return outcomes


def fetch_results(app: Celery, recorder: Recorder) -> dict[str, TaskResult]:
    """
    Return the state and result of every task published, from *app*'s result backend.

    Tasks that ignore their result (``celery.chord_unlock``) have none there: their
    state is the one the worker reported.
    """
    names = {publication.task_id: publication.name for publication in recorder.publications}
    results: dict[str, TaskResult] = {}
    for task_id, name in names.items():
        if app.tasks[name].ignore_result:
            execution = recorder.executions.get(task_id, Execution("PENDING", None))
            results[task_id] = TaskResult(execution.state, execution.value, stored=False)
        else:
            result = app.AsyncResult(task_id)
            results[task_id] = TaskResult(result.state, result.result)
    return results
