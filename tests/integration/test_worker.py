"""
Scenario 2: a worker consuming its queues and ``celery``, with results in PostgreSQL.

The worker runs in a thread (``start_worker``) on moto's SQS server; its results go to a
fresh PostgreSQL database through Celery's database backend. Every test also accounts for
the monitor queue: each task message published during the test, by the test or by the
worker (chain steps, chord bodies, ``celery.chord_unlock``), has exactly one copy there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery, chain, chord, group

from tests.integration.apps.worker_tasks import (
    FAST_SQS_SETTINGS,
    StoredResult,
    WorkerTasks,
    assert_one_copy_of_each,
    recording_publications,
    register_tasks,
    running_worker,
    stored_result,
    wait_for,
)
from tests.integration.services import SQSEndpoint, task_id, task_name

TIMEOUT = 20


@pytest.fixture
def app(make_sqs_app: Callable[..., Celery], database_url: str) -> Celery:
    """An app whose work queue is ``export``, with its results in PostgreSQL."""
    return make_sqs_app(queues=["export"], result_backend=f"db+{database_url}", **FAST_SQS_SETTINGS)


def monitor_messages(sqs_endpoint: SQSEndpoint, queue_prefix: str) -> list[dict[str, Any]]:
    """Take every message of the monitor queue."""
    return sqs_endpoint.drain(f"{queue_prefix}-platform.fifo", wait=0.5)


def test_result_and_started_state_are_stored_in_postgresql(
    app: Celery, database_url: str, sqs_endpoint: SQSEndpoint, queue_prefix: str
) -> None:
    """A task's STARTED state, then its SUCCESS and result, are rows of celery_taskmeta."""
    tasks = register_tasks(app)
    with recording_publications() as published, running_worker(app):
        added = tasks.add.delay(2, 3)
        assert added.get(timeout=TIMEOUT) == 5
        held = tasks.hold.delay()
        try:
            started = wait_for(
                lambda: stored_result(database_url, held.id),
                TIMEOUT,
                "export.hold to have a row in celery_taskmeta",
            )
            state = held.state
        finally:
            tasks.release.set()
        assert started.status == "STARTED"
        assert state == "STARTED"
        assert held.get(timeout=TIMEOUT) == "released"

    assert stored_result(database_url, added.id) == StoredResult("SUCCESS", 5)
    assert stored_result(database_url, held.id) == StoredResult("SUCCESS", "released")
    messages = monitor_messages(sqs_endpoint, queue_prefix)
    assert_one_copy_of_each(messages, published, {added.id, held.id})


def test_chain_group_and_chord_complete(
    app: Celery, database_url: str, sqs_endpoint: SQSEndpoint, queue_prefix: str
) -> None:
    """
    A chain, a group and a chord complete; the chord through celery.chord_unlock.

    The chain's later steps and the chord's body are published by the worker: their
    copies in the monitor queue show that the worker's own publishes declare the monitor
    queue's binding on the connection they use.
    """
    tasks: WorkerTasks = register_tasks(app)
    with recording_publications() as published, running_worker(app):
        chained = chain(tasks.add.s(1, 2), tasks.add.s(3), tasks.add.s(4)).apply_async()
        grouped = group(tasks.add.s(n, n) for n in range(3)).apply_async()
        chorded = chord((tasks.add.s(n, 1) for n in range(3)), tasks.total.s()).apply_async()
        assert chained.get(timeout=TIMEOUT) == 10
        assert grouped.get(timeout=TIMEOUT) == [0, 2, 4]
        assert chorded.get(timeout=TIMEOUT) == 6

    assert stored_result(database_url, chorded.id) == StoredResult("SUCCESS", 6)
    messages = monitor_messages(sqs_endpoint, queue_prefix)
    unlocks = {task_id(m) for m in messages if task_name(m) == "celery.chord_unlock"}
    assert len(unlocks) == 1, "the chord went through one celery.chord_unlock"
    chain_ids = {chained.id, chained.parent.id, chained.parent.parent.id}
    group_ids = {r.id for r in grouped.results}
    chord_ids = {chorded.id, *(r.id for r in chorded.parent.results)}
    assert_one_copy_of_each(messages, published, chain_ids | group_ids | chord_ids | unlocks)
    by_worker = {p.task_id for p in published if p.by_worker}
    assert {chained.parent.id, chained.id, chorded.id} <= by_worker
