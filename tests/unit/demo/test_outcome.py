"""The demo's verdict, from records made by hand: no worker, no endpoint."""

from __future__ import annotations

from cadasta.workertoolbox.demo._outcome import Report, build_report
from cadasta.workertoolbox.demo._scenario import Publication, Step, StepOutcome, TaskResult

MONITOR = "demo-platform.fifo"
OK = TaskResult("SUCCESS", 3)


def publication(task_id: str, name: str = "export.add", retries: int = 0) -> Publication:
    """A message of *task_id* published in the chain step to the export queue."""
    return Publication("chain", task_id, name, name.split(".")[0], retries)


def report_of(
    publications: list[Publication], results: dict[str, TaskResult], copies: list[str]
) -> Report:
    """Build the report of a run with the demo's queue names."""
    return build_report(publications, results, copies, monitor_queue=MONITOR, queue_prefix="demo-")


def test_every_task_succeeded_and_every_copy_arrived() -> None:
    """One row per task id, in publication order, and no problem: the report is ok."""
    report = report_of(
        [publication("a"), publication("b", "msg.notify")], {"a": OK, "b": OK}, ["b", "a"]
    )

    assert report.ok
    assert report.problems == ()
    assert [(row.task_id, row.name, row.queue) for row in report.rows] == [
        ("a", "export.add", "demo-export"),
        ("b", "msg.notify", "demo-msg"),
    ]
    assert [(row.messages, row.copies, row.succeeded) for row in report.rows] == [(1, 1, True)] * 2
    assert report.messages == 2
    assert report.monitor_queue == MONITOR


def test_a_retried_task_needs_one_copy_per_message() -> None:
    """A task sent twice (a retry) is one row with two messages; two copies match them."""
    sent = [publication("u", "celery.chord_unlock"), publication("u", "celery.chord_unlock", 1)]

    report = report_of(sent, {"u": TaskResult("SUCCESS", None, stored=False)}, ["u", "u"])

    assert report.ok
    assert [(row.messages, row.copies) for row in report.rows] == [(2, 2)]
    assert report.messages == 2


def test_failed_and_unknown_tasks_are_problems() -> None:
    """A task whose state is not SUCCESS fails the run; one without a result is PENDING."""
    report = report_of(
        [publication("a"), publication("b")],
        {"a": TaskResult("FAILURE", ValueError("boom"))},
        ["a", "b"],
    )

    assert not report.ok
    assert report.problems == (
        "2 task(s) did not succeed: export.add a (FAILURE), export.add b (PENDING)",
    )


def test_missing_doubled_and_foreign_copies_are_problems() -> None:
    """Copies missing, a task copied twice, and a copy of a task never sent are each named."""
    report = report_of(
        [publication("a"), publication("b"), publication("c", "msg.notify")],
        {"a": OK, "b": OK, "c": OK},
        ["b", "b", "z"],
    )

    assert report.problems == (
        f"2 task message(s) did not reach {MONITOR}: export.add a, msg.notify c",
        f"1 task(s) have more copies in {MONITOR} than messages sent: export.add b",
        f"{MONITOR} holds copies of 1 task(s) the demo did not send: z",
    )


def test_a_step_that_timed_out_is_a_problem() -> None:
    """A step without a result in time is reported first, saying the rest was not sent."""
    step = Step("chord", "a chord", lambda: None)

    report = build_report(
        [publication("a")],
        {"a": OK},
        ["a"],
        monitor_queue=MONITOR,
        queue_prefix="demo-",
        outcomes=[StepOutcome(step, 12.34, False, timed_out=True)],
    )

    assert report.problems == (
        "the chord got no result within 12.3 s; the steps after it were not sent",
    )
