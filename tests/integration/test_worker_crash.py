"""
A worker killed with SIGKILL in the middle of a task, with and without ``AT_LEAST_ONCE``.

Two scenarios run side by side, each under a queue prefix of its own, on moto's SQS
server with results in PostgreSQL: worker A (``celery worker --pool=prefork
--concurrency=1``, a separate process) starts ``export.work``, which records its start in
the journal and works for 1.5 s; the test SIGKILLs A's whole process group (the
main process and its pool process) and starts worker B on the same queue. The visibility
timeout is 4 s, so that SQS gives back an unacknowledged message quickly.

- With ``CELERY_AT_LEAST_ONCE=true`` the message was not acknowledged: SQS delivers it
  again after the visibility timeout and B completes the task.
- By default, the message was acknowledged (deleted) when A's pool process started the
  task: nothing is delivered again and the task stays STARTED, lost.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from celery import Celery

from . import services
from .apps.delivery_workers import (
    WorkerProcess,
    kill_all,
    process_exists,
    producer,
    result_with_status,
    runs,
    worker_variables,
)
from .apps.worker_tasks import StoredResult, create_journal, stored_result, wait_for
from .services import SQSEndpoint, task_id

VISIBILITY_TIMEOUT = 4
#: How long ``export.work`` works once started, in seconds.
WORK = 1.5
#: After the kill, how long the default-mode scenario waits for a delivery that must
#: not come: the visibility timeout, B's start, and a few polls.
QUIET_PERIOD = VISIBILITY_TIMEOUT + 4.0


@dataclass
class Crash:
    """One scenario: the task sent, the killed worker A, and worker B that came after."""

    prefix: str
    task_id: str
    #: Worker A's main process and the pool process that ran the task.
    killed_pids: tuple[int, int]
    #: When A was killed (time.monotonic).
    killed_at: float
    worker_b: WorkerProcess


@pytest.fixture(scope="module")
def crash_database(postgres_admin_url: str) -> Iterator[str]:
    """A database for this module's scenarios, with the journal table; dropped after."""
    name = f"toolbox_{uuid.uuid4().hex[:12]}"
    url = services.create_database(postgres_admin_url, name)
    create_journal(url)
    yield url
    services.drop_database(postgres_admin_url, name)


@pytest.fixture(scope="module")
def crashes(
    sqs_endpoint: SQSEndpoint, crash_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Crash]]:
    """Run both scenarios up to the start of worker B; kill every worker afterwards."""
    logs = tmp_path_factory.mktemp("crash")
    modes: dict[str, dict[str, str]] = {
        "at_least_once": {"CELERY_AT_LEAST_ONCE": "true"},
        "default": {},
    }
    prefixes = {mode: services.unique_prefix() for mode in modes}
    variables = {
        mode: worker_variables(
            sqs_endpoint,
            prefixes[mode],
            crash_database,
            {"visibility_timeout": VISIBILITY_TIMEOUT},
            **extra,
        )
        for mode, extra in modes.items()
    }
    workers: list[WorkerProcess] = []
    apps: list[Celery] = []

    def start(mode: str, name: str) -> WorkerProcess:
        hostname = f"{name}@{prefixes[mode]}"
        worker = WorkerProcess(variables[mode], hostname, logs / f"{mode}-{name}.log", "prefork")
        workers.append(worker)
        return worker

    try:
        first = {mode: start(mode, "a") for mode in modes}
        for worker in first.values():
            worker.wait_until_ready()
        sent = {}
        for mode in modes:
            apps.append(
                producer(
                    "crash-producer",
                    sqs_endpoint,
                    prefixes[mode],
                    crash_database,
                    {"visibility_timeout": VISIBILITY_TIMEOUT},
                )
            )
            sent[mode] = apps[-1].send_task("export.work", args=(WORK,)).id
        started = {
            mode: wait_for(lambda mode=mode: runs(crash_database, sent[mode]), 20, f"{mode} start")
            for mode in modes
        }
        for worker in first.values():
            worker.kill()
        killed_at = time.monotonic()
        yield {
            mode: Crash(
                prefixes[mode],
                sent[mode],
                (first[mode].process.pid, started[mode][0][1]),
                killed_at,
                start(mode, "b"),
            )
            for mode in modes
        }
    finally:
        kill_all(workers)
        for app in apps:
            app.close()


def queue_is_empty(endpoint: SQSEndpoint, name: str) -> bool:
    """Tell whether the SQS queue *name* holds no message, visible or not."""
    attributes = endpoint.queue_attributes(name)
    counts = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    return all(attributes[count] == "0" for count in counts)


def assert_killed(crash: Crash) -> None:
    """Worker A's main process and its pool process, which ran the task, are gone."""
    main, pool = crash.killed_pids
    assert main != pool
    assert not process_exists(main)
    assert not process_exists(pool)


def test_at_least_once_completes_the_task_of_a_killed_worker(
    crashes: dict[str, Crash], crash_database: str, sqs_endpoint: SQSEndpoint
) -> None:
    """
    With AT_LEAST_ONCE, worker B runs the task again and completes it, once.

    The journal shows two starts (A's pool process, then B's) and one end (B's); the
    result row is SUCCESS; the message is gone from the work queue, and the monitor
    queue holds the one copy the producer sent.
    """
    crash = crashes["at_least_once"]
    assert_killed(crash)
    result = wait_for(
        lambda: result_with_status(crash_database, crash.task_id, "SUCCESS"),
        30,
        "worker B to complete the task",
    )
    assert result == StoredResult("SUCCESS", "done")
    journal = runs(crash_database, crash.task_id)
    assert [label for label, _ in journal] == ["started", "started", "finished"]
    (_, pid_a), (_, pid_b), (_, finished_by) = journal
    assert pid_b == finished_by != pid_a
    wait_for(lambda: queue_is_empty(sqs_endpoint, f"{crash.prefix}-export"), 10, "the ack")
    copies = sqs_endpoint.drain(f"{crash.prefix}-platform.fifo")
    assert [task_id(message) for message in copies] == [crash.task_id]


def test_by_default_the_task_of_a_killed_worker_is_lost(
    crashes: dict[str, Crash], crash_database: str, sqs_endpoint: SQSEndpoint
) -> None:
    """
    By default the message was acknowledged when the task started: it is lost.

    Long after the visibility timeout, with worker B consuming the queue, the journal
    still shows only A's start, the result row stays STARTED, and the queue is empty.
    """
    crash = crashes["default"]
    assert_killed(crash)
    crash.worker_b.wait_until_ready()
    time.sleep(max(0.0, crash.killed_at + QUIET_PERIOD - time.monotonic()))
    assert [label for label, _ in runs(crash_database, crash.task_id)] == ["started"]
    result = stored_result(crash_database, crash.task_id)
    assert result is not None
    assert result.status == "STARTED"
    assert queue_is_empty(sqs_endpoint, f"{crash.prefix}-export")
