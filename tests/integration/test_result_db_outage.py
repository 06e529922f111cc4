"""
Result database outage: tasks are still sent, and a result waits for the database.

A producer never touches the result database when it sends a task (the tables are
created on first use, not when the backend is built). A worker that finishes a task
while the database is down keeps retrying to store the result, within the budget that
``Config`` gives Celery (``result_backend_max_retries``: about 10 minutes), and stores
it once the database is back. The outage is real: a PostgreSQL cluster of the test's
own, stopped with ``pg_ctl stop -m immediate`` and started again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery

from tests.integration.apps.worker_tasks import (
    FAST_SQS_SETTINGS,
    StoredResult,
    running_worker,
    stored_result,
    wait_for,
)

from . import services
from .services import SQSEndpoint, ThrowawayPostgres, free_port, task_id

TIMEOUT = 30
#: What Celery's backend logs each time it retries to store a result.
STORE_RETRY = "Failed operation _store_result. Retrying"


@pytest.fixture
def cluster() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL cluster of this test's own, which the test may stop and start."""
    if not ThrowawayPostgres.binaries_available():
        services.unavailable("PostgreSQL's initdb and pg_ctl", "they are not on the PATH")
    cluster = ThrowawayPostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


class _Records(logging.Handler):
    """Keep the messages of the records a logger emits."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def backend_warnings() -> Iterator[list[str]]:
    """The warnings of Celery's result backends, even under a worker's ERROR log level."""
    logger = logging.getLogger("celery.backends.base")
    handler, level, propagate = _Records(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # the worker's handlers would print every retry
    yield handler.messages
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def stored_or_none(url: str, task: str) -> StoredResult | None:
    """The task's row, or ``None`` while the table is missing or the server is down."""
    try:
        return stored_result(url, task)
    except Exception:  # the table is created by the worker's first store
        return None


def test_producer_sends_tasks_while_the_result_database_is_down(
    make_sqs_app: Callable[..., Celery], sqs_endpoint: SQSEndpoint, queue_prefix: str
) -> None:
    """
    With nothing listening at the result database's address, tasks are still sent.

    Each task reaches its work queue and the monitor queue, and sending takes no longer
    than it does with the database up: the producer never connects to it.
    """
    app = make_sqs_app(
        queues=["export"],
        result_backend=f"db+postgresql+psycopg2://worker:secret@127.0.0.1:{free_port()}/gone",
    )
    started = time.monotonic()
    sent = [app.send_task("export.build", args=(n,)).id for n in range(3)]
    elapsed = time.monotonic() - started

    assert elapsed < 10, f"sending 3 tasks took {elapsed:.1f} s"
    work = [task_id(m) for m in sqs_endpoint.drain(f"{queue_prefix}-export")]
    monitor = [task_id(m) for m in sqs_endpoint.drain(f"{queue_prefix}-platform.fifo")]
    assert sorted(work) == sorted(sent)
    assert sorted(monitor) == sorted(sent)


def test_worker_stores_a_result_finished_during_an_outage_once_the_database_is_back(
    make_sqs_app: Callable[..., Celery],
    cluster: ThrowawayPostgres,
    backend_warnings: list[str],
) -> None:
    """
    A result finished while PostgreSQL is down is stored when it is back, not lost.

    The task starts (its STARTED row is written), the cluster is stopped at once
    (``-m immediate``), the task finishes: the worker fails to store SUCCESS and keeps
    retrying. A few seconds later the cluster is started again: the row turns to
    SUCCESS with the task's value, and AsyncResult.get returns it.
    """
    url = cluster.admin_url
    app = make_sqs_app(queues=["export"], result_backend=f"db+{url}", **FAST_SQS_SETTINGS)
    running, release = threading.Event(), threading.Event()

    @app.task(name="export.finish_in_outage", shared=False)
    def finish_in_outage(value: int) -> int:
        running.set()
        if not release.wait(timeout=TIMEOUT):
            raise TimeoutError("the test never released export.finish_in_outage")
        return 2 * value

    with running_worker(app):
        result: Any = finish_in_outage.delay(21)
        try:
            assert running.wait(TIMEOUT), "the task never started"
            started = stored_or_none(url, result.id)
            assert started is not None
            assert started.status == "STARTED"
            cluster.stop()
        finally:
            release.set()
        wait_for(
            lambda: any(STORE_RETRY in m for m in backend_warnings),
            TIMEOUT,
            "the worker to fail to store the result",
        )
        time.sleep(2)  # the outage goes on while the worker retries
        assert stored_or_none(url, result.id) is None, "the database should be down"
        cluster.start()

        stored = wait_for(
            lambda: _finished(stored_or_none(url, result.id)),
            TIMEOUT,
            "the result to be stored after the restart",
        )
        assert stored == StoredResult("SUCCESS", 42)
        assert result.get(timeout=TIMEOUT) == 42
    retries = sum(STORE_RETRY in m for m in backend_warnings)
    print(f"result stored after {retries} failed tries to store it during the outage")
    assert not [m for m in backend_warnings if "BackendStoreError" in m]


def _finished(row: StoredResult | None) -> StoredResult | None:
    return row if row is not None and row.status != "STARTED" else None
