"""
The demo's verdict: one row per task, and what went wrong, if anything.

A task passes when its state is ``SUCCESS``; a task message passes when its copy reached
the monitor queue. Copies are matched to messages by task id: a task retried (as
``celery.chord_unlock`` may be) sends one message, and should leave one copy, per try.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ._scenario import Publication, StepOutcome, TaskResult

__all__ = ["Report", "TaskRow", "build_report"]


@dataclass(frozen=True)
class TaskRow:
    """What became of one task: where it went, how it ended, what the monitor saw."""

    step: str
    task_id: str
    name: str
    queue: str
    result: TaskResult
    #: Task messages sent with this id (more than one when the task was retried).
    messages: int
    #: Copies of them found in the monitor queue.
    copies: int

    @property
    def succeeded(self) -> bool:
        """Whether the task's state is ``SUCCESS``."""
        return self.result.state == "SUCCESS"


@dataclass(frozen=True)
class Report:
    """The rows of the final table and the problems found, in the order they happened."""

    rows: tuple[TaskRow, ...]
    problems: tuple[str, ...]
    monitor_queue: str

    @property
    def ok(self) -> bool:
        """Whether every task succeeded and every message reached the monitor queue."""
        return not self.problems

    @property
    def messages(self) -> int:
        """How many task messages were sent."""
        return sum(row.messages for row in self.rows)


def build_report(
    publications: Sequence[Publication],
    results: Mapping[str, TaskResult],
    monitor_ids: Iterable[str],
    *,
    monitor_queue: str,
    queue_prefix: str,
    outcomes: Sequence[StepOutcome] = (),
) -> Report:
    """
    Match what was sent (*publications*) with *results* and the monitor's copies.

    Args:
        publications: Every task message published, in order.
        results: The state and result of each task id.
        monitor_ids: The task id of each message read from the monitor queue.
        monitor_queue: The monitor queue's name on the broker.
        queue_prefix: What the broker's queue names start with (``demo-``).
        outcomes: The steps' outcomes; a step that timed out is a problem.

    """
    copies = Counter(monitor_ids)
    messages = Counter(publication.task_id for publication in publications)
    first: dict[str, Publication] = {}
    for publication in publications:
        first.setdefault(publication.task_id, publication)
    rows = tuple(
        TaskRow(
            step=publication.step,
            task_id=task_id,
            name=publication.name,
            queue=f"{queue_prefix}{publication.routing_key}",
            result=results.get(task_id, TaskResult("PENDING", None)),
            messages=messages[task_id],
            copies=copies[task_id],
        )
        for task_id, publication in first.items()
    )
    problems = [
        f"the {outcome.step.kind} got no result within {outcome.seconds:.1f} s; "
        "the steps after it were not sent"
        for outcome in outcomes
        if outcome.timed_out
    ]
    failed = [row for row in rows if not row.succeeded]
    if failed:
        problems.append(
            f"{len(failed)} task(s) did not succeed: "
            + ", ".join(f"{row.name} {row.task_id} ({row.result.state})" for row in failed)
        )
    missing = [row for row in rows if row.copies < row.messages]
    if missing:
        problems.append(
            f"{sum(row.messages - row.copies for row in missing)} task message(s) did not "
            f"reach {monitor_queue}: " + ", ".join(f"{row.name} {row.task_id}" for row in missing)
        )
    doubled = [row for row in rows if row.copies > row.messages]
    if doubled:
        problems.append(
            f"{len(doubled)} task(s) have more copies in {monitor_queue} than messages sent: "
            + ", ".join(f"{row.name} {row.task_id}" for row in doubled)
        )
    strangers = sorted(set(copies) - set(messages))
    if strangers:
        problems.append(
            f"{monitor_queue} holds copies of {len(strangers)} task(s) the demo did not send: "
            + ", ".join(strangers)
        )
    return Report(rows, tuple(problems), monitor_queue)
