"""The demo's steps and records, with Celery's signals and result handles but no worker."""

from __future__ import annotations

from typing import Any

from celery import signals
from celery.exceptions import TimeoutError as ResultTimeout

from cadasta.workertoolbox.demo._scenario import (
    Execution,
    Publication,
    Recorder,
    Step,
    StepOutcome,
    recording,
    run_steps,
)


class Result:
    """A result handle as Celery returns it: get() gives a value or times out."""

    def __init__(self, value: Any = None, succeeded: bool = True, slow: bool = False) -> None:
        self.value, self.succeeded, self.slow = value, succeeded, slow
        self.waited: float | None = None

    def get(self, timeout: float, **options: Any) -> Any:
        """Return the value, or raise Celery's TimeoutError for a slow result."""
        self.waited = timeout
        if self.slow:
            raise ResultTimeout("The operation timed out.")
        return self.value

    def successful(self) -> bool:
        """Whether the work succeeded."""
        return self.succeeded


def test_steps_run_in_order_until_one_times_out() -> None:
    """Each step is sent once the previous one ended; a time-out ends the run."""
    sent: list[str] = []
    reported: list[StepOutcome] = []
    recorder = Recorder()
    results = {
        "a": Result(3),
        "b": Result(ValueError("x"), succeeded=False),
        "c": Result(slow=True),
    }

    def step(kind: str) -> Step:
        def send() -> Result:
            sent.append(f"{kind} during {recorder.step}")
            return results.get(kind, Result())

        return Step(kind, f"{kind}()", send)

    outcomes = run_steps([step(kind) for kind in "abcd"], recorder, 5.0, reported.append)

    assert sent == ["a during a", "b during b", "c during c"]
    assert reported == outcomes
    assert [(o.step.kind, o.succeeded, o.timed_out) for o in outcomes] == [
        ("a", True, False),
        ("b", False, False),
        ("c", False, True),
    ]
    assert [o.value for o in outcomes[:2]] == [3, results["b"].value]
    assert 0 < (results["a"].waited or 0) <= 5.0


def test_recording_sees_publications_and_runs_while_connected() -> None:
    """Messages published and tasks run are recorded with the step under way, then no more."""
    headers = {"id": "t1", "task": "export.add", "retries": None}

    with recording() as recorder:
        recorder.step = "chain"
        signals.after_task_publish.send(
            sender="export.add", headers=headers, exchange="task_exchange", routing_key="export"
        )
        signals.after_task_publish.send(
            sender="export.add", headers={**headers, "retries": 1}, routing_key="export"
        )
        signals.task_postrun.send(sender=None, task_id="t1", state="RETRY", retval=None)
        signals.task_postrun.send(sender=None, task_id="t1", state="SUCCESS", retval=3)
    signals.after_task_publish.send(sender="x", headers=headers, routing_key="export")
    signals.task_postrun.send(sender=None, task_id="t2", state="SUCCESS", retval=3)

    assert recorder.publications == [
        Publication("chain", "t1", "export.add", "export", 0),
        Publication("chain", "t1", "export.add", "export", 1),
    ]
    assert recorder.executions == {"t1": Execution("SUCCESS", 3)}
