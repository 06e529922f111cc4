"""
Scenario 3: ``celery.chord_unlock`` gives up after ``CHORD_UNLOCK_MAX_RETRIES``.

The chord's header is made of ``msg.*`` tasks, and the worker does not consume ``msg``:
the header never completes. Without the cap, ``celery.chord_unlock`` would poll it every
``result_chord_retry_interval`` seconds, forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from celery import Celery, chord

from tests.integration.apps.worker_tasks import (
    FAST_SQS_SETTINGS,
    Publication,
    StoredResult,
    assert_one_copy_of_each,
    create_journal,
    read_journal,
    recording_publications,
    register_tasks,
    running_worker,
    stored_result,
    wait_for,
)
from tests.integration.services import SQSEndpoint, task_id, task_name

MAX_RETRIES = 3
RETRY_INTERVAL = 0.2
TIMEOUT = 20
UNLOCK = "celery.chord_unlock"


@dataclass(frozen=True)
class CappedChord:
    """What a run of a chord whose header never completes left behind."""

    body_id: str
    header_ids: set[str]
    stored: StoredResult | None
    journal: list[tuple[str, Any]]
    monitor: list[dict[str, Any]]
    late_monitor: list[dict[str, Any]]
    published: list[Publication]
    never_consumed: list[dict[str, Any]]

    def unlocks(self) -> list[dict[str, Any]]:
        """The ``celery.chord_unlock`` messages of the monitor queue."""
        return [m for m in self.monitor if task_name(m) == UNLOCK]


@pytest.fixture
def capped_chord(
    make_sqs_app: Callable[..., Celery],
    database_url: str,
    sqs_endpoint: SQSEndpoint,
    queue_prefix: str,
) -> CappedChord:
    """
    Run a chord whose header is never consumed until its body has failed.

    Once the body's errback has run, the monitor queue is drained, then watched for
    several more retry intervals while the worker still runs (``late_monitor``).
    """
    app = make_sqs_app(
        queues=["export", "msg"],
        result_backend=f"db+{database_url}",
        CHORD_UNLOCK_MAX_RETRIES=MAX_RETRIES,
        result_chord_retry_interval=RETRY_INTERVAL,
        **FAST_SQS_SETTINGS,
    )
    create_journal(database_url)
    tasks = register_tasks(app, database_url)
    monitor = f"{queue_prefix}-platform.fifo"
    not_msg = ("celery", "export")  # the header's queue, msg, is never consumed
    with recording_publications() as published, running_worker(app, not_msg):
        result = chord(
            [tasks.never.s(), tasks.never.s()], tasks.total.s().on_error(tasks.errback.s())
        ).apply_async()
        wait_for(lambda: read_journal(database_url), TIMEOUT, "the body's errback to run")
        messages = sqs_endpoint.drain(monitor, wait=0.5)
        # Long enough for several more polls, had chord_unlock not given up.
        time.sleep(10 * RETRY_INTERVAL)
        late = sqs_endpoint.drain(monitor)
    return CappedChord(
        body_id=result.id,
        header_ids={r.id for r in result.parent.results},
        stored=stored_result(database_url, result.id),
        journal=read_journal(database_url),
        monitor=messages + late,
        late_monitor=late,
        published=list(published),
        never_consumed=sqs_endpoint.drain(f"{queue_prefix}-msg"),
    )


def test_chord_unlock_gives_up_and_fails_the_chord(capped_chord: CappedChord) -> None:
    """
    celery.chord_unlock runs CHORD_UNLOCK_MAX_RETRIES + 1 times, then fails the chord.

    Every attempt is a message of the same task id, with its retry number, and none
    follows the last one; the header's messages still wait in the queue nobody consumes.
    The body's result in PostgreSQL is a FAILURE, a ChordError naming the setting, and
    the body's errback ran exactly once.
    """
    unlocks = capped_chord.unlocks()
    assert sorted(m["headers"]["retries"] for m in unlocks) == list(range(MAX_RETRIES + 1))
    assert len({task_id(m) for m in unlocks}) == 1
    assert [m for m in capped_chord.late_monitor if task_name(m) == UNLOCK] == []
    assert {task_id(m) for m in capped_chord.never_consumed} == capped_chord.header_ids

    assert capped_chord.journal == [("errback", capped_chord.body_id)]
    # The body is never sent; its errback is, under an id of its own.
    errbacks = {p.task_id for p in capped_chord.published if p.name == "export.errback"}
    expected = {*capped_chord.header_ids, task_id(unlocks[0]), *errbacks}
    assert_one_copy_of_each(capped_chord.monitor, capped_chord.published, expected)

    assert capped_chord.stored is not None
    assert capped_chord.stored.status == "FAILURE"
    assert capped_chord.stored.result["exc_type"] == "ChordError"
    assert "CHORD_UNLOCK_MAX_RETRIES" in str(capped_chord.stored.result["exc_message"])
