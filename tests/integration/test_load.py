"""
Load: 1,000 tasks from 4 producer processes, 3 work queues, 2 worker processes.

Every process is configured from ``CELERY_*`` variables alone
(``tests/integration/apps/load_app.py``). While the producers send, a thread of the test
plays the platform's task monitor: it reads the monitor queue and deletes what it read,
as the platform does. Then the figures must be exact: each task ran once (a row per run
in ``executions``, one SUCCESS row in ``celery_taskmeta``), the monitor received one copy
of each, and every queue is empty.

The test runs on an SQS endpoint of its own: moto's server slows down as messages pile
up in it, and the monitor's reader keeps the FIFO queue short for the same reason.
Each work queue has one consumer: two workers polling one queue on moto's server can
receive the same message twice (its ReceiveMessage takes no lock; seen with plain boto3
clients too), which SQS standard queues allow ("at least once") but which would make
"exactly once" a test of moto. ``export`` gets half the tasks so that the two workers
share the work evenly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from celery.backends.database.session import ResultModelBase

from tests.integration.apps.load_app import EXECUTIONS
from tests.integration.apps.worker_process import (
    REPO_ROOT,
    WorkerProcess,
    celery_worker,
    clean_environment,
)
from tests.integration.apps.worker_tasks import TASKMETA, engine_for, wait_for

from . import services
from .services import SQSEndpoint

LOAD_APP = "tests.integration.apps.load_app"
PRODUCERS = 4
TASKS_PER_PRODUCER = 250
TASKS = PRODUCERS * TASKS_PER_PRODUCER
#: The order in which each producer picks work queues: half the tasks go to ``export``.
QUEUE_CYCLE = "export,msg,export,geo"
#: Two workers, and the queues each consumes (``celery`` receives nothing here).
WORKERS = {"export": "export,celery", "msg-geo": "msg,geo,celery"}
#: The queues the workers consume, which must be empty before they stop, and all queues.
WORK_QUEUES = ("celery", "export", "geo", "msg")
ALL_QUEUES = (*WORK_QUEUES, "platform.fifo")
#: Bounds on the phases, well above what they take (about 40 s in all on 2 cores).
SEND_TIMEOUT = 150
RUN_TIMEOUT = 150
SETTLE_TIMEOUT = 20


@pytest.fixture
def endpoint() -> Iterator[SQSEndpoint]:
    """A fresh SQS endpoint for this test alone."""
    with services.running_sqs_endpoint() as endpoint:
        yield endpoint


class MonitorReader(threading.Thread):
    """Read and delete the monitor queue's messages, as the platform's task monitor does."""

    def __init__(self, endpoint: SQSEndpoint, queue_name: str) -> None:
        super().__init__(name="monitor-reader", daemon=True)
        self._endpoint = endpoint
        self._queue_name = queue_name
        self._stop_when_empty = threading.Event()
        self._abandon = threading.Event()
        self.task_ids: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        """Receive until asked to stop and the queue is empty; delete what was received."""
        try:
            self._read()
        except BaseException as error:  # reported by finish()
            self.error = error

    def _read(self) -> None:
        client = self._endpoint.client()
        url = None
        while url is None and not self._abandon.is_set():  # a producer creates the queue
            urls = client.list_queues(QueueNamePrefix=self._queue_name).get("QueueUrls", [])
            url = next((u for u in urls if u.endswith(f"/{self._queue_name}")), None)
            if url is None:
                time.sleep(0.2)
        while url is not None and not self._abandon.is_set():
            messages = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=1
            ).get("Messages", [])
            if not messages:
                if self._stop_when_empty.is_set():
                    return
                continue
            self.task_ids += [
                services.task_id(services.decode_kombu_message(m["Body"])) for m in messages
            ]
            entries = [
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
            ]
            client.delete_message_batch(QueueUrl=url, Entries=entries)

    def abandon(self) -> None:
        """Stop reading at once (the test failed)."""
        self._abandon.set()

    def finish(self, timeout: float) -> list[str]:
        """Read what is left, stop, and return the task ids of every copy read."""
        self._stop_when_empty.set()
        self.join(timeout)
        assert not self.is_alive(), "the monitor reader did not finish"
        if self.error is not None:
            raise self.error
        return self.task_ids


def queue_counts(endpoint: SQSEndpoint, name: str) -> dict[str, int]:
    """The queue's messages: waiting, received but not deleted, delayed."""
    attributes = endpoint.queue_attributes(name)
    return {
        key: int(attributes[f"ApproximateNumberOf{key}"])
        for key in ("Messages", "MessagesNotVisible", "MessagesDelayed")
    }


def left_in_queues(endpoint: SQSEndpoint, prefix: str) -> dict[str, int]:
    """How many messages each queue still holds, in any state."""
    return {name: sum(queue_counts(endpoint, f"{prefix}-{name}").values()) for name in ALL_QUEUES}


def while_running(workers: Mapping[str, WorkerProcess], predicate: Callable[[], Any]) -> Any:
    """*predicate*, checked only while every worker still runs (else fail at once)."""

    def check() -> Any:
        for name, worker in workers.items():
            if worker.process.poll() is not None:
                pytest.fail(f"worker {name} exited ({worker.process.returncode}):\n{worker.log}")
        return predicate()

    return check


@dataclass(frozen=True)
class LoadRun:
    """What a load run sent, what ran, and how long each phase took (from its start)."""

    sent: list[str]
    send_seconds: list[float]
    sent_at: float
    ran_at: float
    monitor_copies: Counter[str]
    exit_codes: dict[str, int]


def run_load(
    endpoint: SQSEndpoint, engine: sa.Engine, variables: dict[str, str], prefix: str, logs: Path
) -> LoadRun:
    """
    Start the workers and the monitor's reader, run the producers, wait for every task.

    Returns once every task has run and stored its result, the work queues are empty,
    the workers have stopped and the reader has read the monitor queue to the end.
    """
    monitor = MonitorReader(endpoint, f"{prefix}-platform.fifo")
    started = time.monotonic()
    monitor.start()
    try:
        with ExitStack() as stack:
            workers = {
                name: stack.enter_context(
                    celery_worker(
                        LOAD_APP,
                        variables,
                        worker_arguments(f"{name}@{prefix}", queues),
                        logs / f"{name}.log",
                    )
                )
                for name, queues in WORKERS.items()
            }
            sent, send_seconds = run_producers(variables)
            sent_at = time.monotonic() - started
            for name, worker in workers.items():
                worker.wait_for(f"{name}@{prefix} ready.", timeout=30)
            wait_for(
                while_running(workers, lambda: min(count_runs(engine)) >= TASKS),
                RUN_TIMEOUT,
                "every task to run and store its result",
                interval=0.5,
            )
            ran_at = time.monotonic() - started
            wait_for(
                while_running(
                    workers,
                    lambda: not any(left_in_queues(endpoint, prefix)[q] for q in WORK_QUEUES),
                ),
                SETTLE_TIMEOUT,
                "the work queues to be empty",
                interval=0.5,
            )
            exit_codes = {name: worker.stop() for name, worker in workers.items()}
    except BaseException:
        monitor.abandon()
        raise
    copies = Counter(monitor.finish(timeout=SETTLE_TIMEOUT))
    return LoadRun(sent, send_seconds, sent_at, ran_at, copies, exit_codes)


def test_a_thousand_tasks_run_once_with_one_monitor_copy_each(
    endpoint: SQSEndpoint, database_url: str, queue_prefix: str, tmp_path: Path
) -> None:
    """
    1,000 tasks from 4 producer processes over 3 queues, run by 2 worker processes.

    Each task runs exactly once (one executions row, one SUCCESS row in
    celery_taskmeta), the monitor queue delivers exactly one copy of each, and no queue
    is left with a message, in flight or waiting. The figures are printed.
    """
    engine = engine_for(database_url)
    ResultModelBase.metadata.create_all(engine)  # provisioned ahead, as in production
    EXECUTIONS.metadata.create_all(engine)
    variables = {
        "CELERY_BROKER_URL": endpoint.broker_url,
        "CELERY_QUEUE_PREFIX": queue_prefix,
        "CELERY_QUEUES": "['export', 'msg', 'geo']",
        "CELERY_RESULT_BACKEND": f"db+{database_url}",
        "CELERY_IMPORTS": "()",
        "CELERY_BROKER_TRANSPORT_OPTIONS": "{'wait_time_seconds': 1, 'polling_interval': 0.1}",
    }

    run = run_load(endpoint, engine, variables, queue_prefix, tmp_path)
    left = left_in_queues(endpoint, queue_prefix)
    runs = executions(engine)
    successes = success_ids(engine)

    sent, copies = run.sent, run.monitor_copies
    ran = Counter(task for task, _ in runs)
    per_queue = dict(sorted(Counter(queue for _, queue in runs).items()))
    figures = (
        f"load: {len(sent)} tasks sent by {PRODUCERS} producer processes in {run.sent_at:.1f} s "
        f"(slowest producer {max(run.send_seconds):.1f} s, {len(sent) / run.sent_at:.0f} "
        f"tasks/s); all run after {run.ran_at:.1f} s; runs: {len(runs)} of {len(ran)} task "
        f"ids, per queue {per_queue}; SUCCESS rows: {len(successes)}; monitor copies: "
        f"{sum(copies.values())} of {len(copies)} task ids; left in queues: {left}; worker "
        f"exit codes: {run.exit_codes}"
    )
    print(figures)
    assert len(sent) == len(set(sent)) == TASKS, figures
    assert set(ran) == set(sent), figures
    assert {task: n for task, n in ran.items() if n != 1} == {}, f"tasks run twice; {figures}"
    assert successes == set(sent), figures
    assert set(copies) == set(sent), figures
    assert {task: n for task, n in copies.items() if n != 1} == {}, f"copies doubled; {figures}"
    assert left == dict.fromkeys(ALL_QUEUES, 0), figures
    assert run.exit_codes == dict.fromkeys(WORKERS, 0), figures


def worker_arguments(hostname: str, queues: str) -> list[str]:
    """Two pool processes, each loading its own SQLAlchemy engine (prefork)."""
    return ["--pool=prefork", "--concurrency=2", "--loglevel=INFO", "-Q", queues,
            "--hostname", hostname]  # fmt: skip


def run_producers(variables: dict[str, str]) -> tuple[list[str], list[float]]:
    """Run the producer processes at once; return the ids they sent and their send times."""
    command = [sys.executable, "-m", LOAD_APP]
    processes = [
        subprocess.Popen(
            [*command, str(number), str(TASKS_PER_PRODUCER), QUEUE_CYCLE],
            env=clean_environment(variables),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(PRODUCERS)
    ]
    reports: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + SEND_TIMEOUT
        for process in processes:
            out, err = process.communicate(timeout=max(deadline - time.monotonic(), 1))
            assert process.returncode == 0, f"a producer failed:\n{err}"
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [i for report in reports for i in report["ids"]], [r["seconds"] for r in reports]


def count_runs(engine: sa.Engine) -> tuple[int, int]:
    """How many runs the executions table holds, and how many SUCCESS rows Celery's."""
    with engine.connect() as connection:
        runs = connection.execute(sa.select(sa.func.count()).select_from(EXECUTIONS)).scalar_one()
        successes = connection.execute(
            sa.select(sa.func.count()).where(TASKMETA.c.status == "SUCCESS")
        ).scalar_one()
    return runs, successes


def executions(engine: sa.Engine) -> list[tuple[str, str]]:
    """Every run: (task id, queue)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(EXECUTIONS.c.task_id, EXECUTIONS.c.queue))
        return [(task, queue) for task, queue in rows]


def success_ids(engine: sa.Engine) -> set[str]:
    """The task ids of the SUCCESS rows of celery_taskmeta."""
    query = sa.select(TASKMETA.c.task_id).where(TASKMETA.c.status == "SUCCESS")
    with engine.connect() as connection:
        return {task for (task,) in connection.execute(query)}
