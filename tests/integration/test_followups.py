"""
Scenario 4: ``extract_followups`` hands a task's callbacks to the chord it fans out into.

``export.fan_out`` journals itself, then sends ``chord(export.part…, export.combine)``
with ``apply_async(**extract_followups(self))``. It is sent with a callback
(``export.callback``) and an errback (``export.errback``); every task appends a row to
the ``journal`` table of the test's PostgreSQL database, in the order they run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery

from tests.integration.apps.worker_tasks import (
    FAST_SQS_SETTINGS,
    Publication,
    WorkerTasks,
    create_journal,
    read_journal,
    recording_publications,
    register_tasks,
    running_worker,
    stored_result,
    wait_for,
)

TIMEOUT = 20
#: How long to keep the worker running after the last expected row, to catch late ones.
GRACE = 1.0


@pytest.fixture
def tasks(make_sqs_app: Callable[..., Celery], database_url: str) -> WorkerTasks:
    """The test tasks on an app whose results and journal are in PostgreSQL."""
    app = make_sqs_app(queues=["export"], result_backend=f"db+{database_url}", **FAST_SQS_SETTINGS)
    create_journal(database_url)
    return register_tasks(app, database_url)


def run_fan_out(
    tasks: WorkerTasks, database_url: str, last_label: str, broken: int | None = None
) -> tuple[str, list[tuple[str, Any]], list[Publication]]:
    """
    Send fan_out([1, 2, 3]) with a callback and an errback; wait for *last_label*.

    Returns:
        The id of the chord's body (fan_out's result), the journal and the tasks
        published while the worker ran.

    """
    with recording_publications() as published, running_worker(tasks.app):
        parent = tasks.fan_out.apply_async(
            ([1, 2, 3], broken), link=tasks.callback.s(), link_error=tasks.errback.s()
        )
        body_id = parent.get(timeout=TIMEOUT)
        wait_for(
            lambda: any(label == last_label for label, _ in read_journal(database_url)),
            TIMEOUT,
            f"a {last_label!r} row in the journal",
        )
        time.sleep(GRACE)
    return body_id, read_journal(database_url), list(published)


def test_callback_runs_once_after_the_chord(tasks: WorkerTasks, database_url: str) -> None:
    """
    The parent's callback runs once, after the chord's body, with the chord's result.

    It does not run when the parent returns (with the parent's own return value), and the
    errback does not run.
    """
    body_id, journal, published = run_fan_out(tasks, database_url, "callback")

    labels = [label for label, _ in journal]
    assert labels[0] == "fan_out"
    assert sorted(value for label, value in journal if label == "part") == [1, 2, 3]
    assert labels[1:] == ["part", "part", "part", "combine", "callback"]
    assert journal[-1] == ("callback", 6)
    assert [p.name for p in published].count("export.callback") == 1
    assert "export.errback" not in {p.name for p in published}
    assert stored_result(database_url, body_id).result == 6


def test_errback_runs_when_a_header_task_fails(tasks: WorkerTasks, database_url: str) -> None:
    """
    When a header task fails, the parent's errback runs once, for the chord's body.

    The body does not run and the callback does not run; the body's result is a
    ChordError naming the failed header task.
    """
    body_id, journal, published = run_fan_out(tasks, database_url, "errback", broken=2)

    labels = [label for label, _ in journal]
    assert labels[0] == "fan_out"
    assert sorted(labels[1:4]) == ["broken_part", "part", "part"]
    assert journal[4:] == [("errback", body_id)]
    assert [p.name for p in published].count("export.errback") == 1
    assert "export.callback" not in {p.name for p in published}
    stored = stored_result(database_url, body_id)
    assert stored is not None
    assert stored.status == "FAILURE"
    assert stored.result["exc_type"] == "ChordError"
    assert "part 2 is broken" in str(stored.result["exc_message"])
