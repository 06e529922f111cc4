"""
Tasks, a worker and ways to look into PostgreSQL for the integration tests with workers.

Each test builds its own app (``make_sqs_app``) and registers these tasks on it with
:func:`register_tasks`, so that no app and no task outlives its test. Task names start
with a work queue (``export.add``): the router sends them to that queue and, through the
``#`` binding, to the monitor queue. ``msg.*`` tasks go to ``msg``, a queue that only
the test of the chord-unlock cap declares, for a worker that does not consume it.

The worker runs in a thread of the test process, so a task and its test share
:class:`threading.Event` objects and the journal table: every task that must prove *when*
it ran appends a row to ``journal`` (a serial id gives the order).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from celery import Celery, chord, signals
from celery.contrib.testing.worker import start_worker
from sqlalchemy.pool import NullPool

from cadasta.workertoolbox.utils import extract_followups

#: Settings that make a worker on moto's SQS server react within a fraction of a second
#: (the defaults long-poll for 20 s, which also delays the worker's shutdown).
FAST_SQS_SETTINGS: dict[str, Any] = {
    "broker_transport_options": {"wait_time_seconds": 1, "polling_interval": 0.1},
    # The toolbox's default imports ``app.tasks``, the module of a real worker project.
    "imports": (),
}

_metadata = sa.MetaData()

#: Celery's result table, as much of it as the tests read.
TASKMETA = sa.Table(
    "celery_taskmeta",
    _metadata,
    sa.Column("task_id", sa.String(155)),
    sa.Column("status", sa.String(50)),
    sa.Column("result", sa.LargeBinary),
)

#: What the tasks record, in the order they ran.
JOURNAL = sa.Table(
    "journal",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(155)),
    sa.Column("label", sa.String(50)),
    sa.Column("value", sa.Text),
)


def engine_for(database_url: str) -> sa.Engine:
    """An engine that keeps no connection open between uses."""
    return sa.create_engine(database_url, poolclass=NullPool)


@dataclass(frozen=True)
class StoredResult:
    """A row of ``celery_taskmeta``: the state and the decoded (JSON) result."""

    status: str
    result: Any


def stored_result(database_url: str, task_id: str) -> StoredResult | None:
    """Read the result of *task_id* straight from PostgreSQL, or ``None`` if no row."""
    query = sa.select(TASKMETA.c.status, TASKMETA.c.result).where(TASKMETA.c.task_id == task_id)
    with engine_for(database_url).connect() as connection:
        row = connection.execute(query).one_or_none()
    if row is None:
        return None
    return StoredResult(row.status, json.loads(row.result) if row.result else None)


def create_journal(database_url: str) -> None:
    """Create the ``journal`` table in the test's database."""
    JOURNAL.create(engine_for(database_url))


def read_journal(database_url: str) -> list[tuple[str, Any]]:
    """Return the journal's ``(label, value)`` rows in the order they were written."""
    query = sa.select(JOURNAL.c.label, JOURNAL.c.value).order_by(JOURNAL.c.id)
    with engine_for(database_url).connect() as connection:
        return [(label, json.loads(value)) for label, value in connection.execute(query)]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll *predicate* until it returns something true; return it, or fail after *timeout*."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class WorkerTasks:
    """The tasks registered on one test's app, and the event ``export.hold`` waits for."""

    app: Celery
    add: Any
    total: Any
    hold: Any
    never: Any
    part: Any
    broken_part: Any
    combine: Any
    fan_out: Any
    callback: Any
    errback: Any
    release: threading.Event


def register_tasks(app: Celery, database_url: str | None = None) -> WorkerTasks:
    """Register the test tasks on *app*; those that journal write to *database_url*."""
    release = threading.Event()

    def journal(task_id: str, label: str, value: Any) -> None:
        if database_url is None:
            raise RuntimeError("register_tasks(app, database_url) to use the journal")
        with engine_for(database_url).begin() as connection:
            connection.execute(
                JOURNAL.insert().values(task_id=task_id, label=label, value=json.dumps(value))
            )

    @app.task(name="export.add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="export.total", shared=False)
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    @app.task(name="export.hold", shared=False)
    def hold() -> str:
        if not release.wait(timeout=30):
            raise TimeoutError("the test never released export.hold")
        return "released"

    @app.task(name="msg.never", shared=False)
    def never() -> None:
        """Routed to ``msg``, which no test worker consumes: it never runs."""

    @app.task(name="export.part", bind=True, shared=False)
    def part(self: Any, number: int) -> int:
        journal(self.request.id, "part", number)
        return number

    @app.task(name="export.broken_part", bind=True, shared=False)
    def broken_part(self: Any, number: int) -> int:
        journal(self.request.id, "broken_part", number)
        raise ValueError(f"part {number} is broken")

    @app.task(name="export.combine", bind=True, shared=False)
    def combine(self: Any, numbers: list[int]) -> int:
        journal(self.request.id, "combine", sorted(numbers))
        return sum(numbers)

    @app.task(name="export.fan_out", bind=True, shared=False)
    def fan_out(self: Any, numbers: list[int], broken: int | None = None) -> str:
        """Fan out into a chord and hand this task's callbacks to the chord's body."""
        journal(self.request.id, "fan_out", numbers)
        header = [(broken_part if n == broken else part).s(n) for n in numbers]
        return str(chord(header, combine.s()).apply_async(**extract_followups(self)).id)

    @app.task(name="export.callback", bind=True, shared=False)
    def callback(self: Any, value: Any) -> Any:
        journal(self.request.id, "callback", value)
        return value

    @app.task(name="export.errback", bind=True, shared=False)
    def errback(self: Any, failed_task_id: str) -> str:
        journal(self.request.id, "errback", failed_task_id)
        return failed_task_id

    return WorkerTasks(
        app,
        add,
        total,
        hold,
        never,
        part,
        broken_part,
        combine,
        fan_out,
        callback,
        errback,
        release,
    )


@contextmanager
def running_worker(app: Celery, queues: tuple[str, ...] | None = None) -> Iterator[Any]:
    """
    Run a worker of *app* in a thread for the duration of the block.

    It consumes *queues*, by default ``celery`` and every work queue of the app, and
    starts as ``celery worker`` does: ``worker_init`` runs the toolbox's ``setup_app``
    (the cap on ``celery.chord_unlock``, the queues declared on the broker).
    """
    if queues is None:
        queues = ("celery", *app.conf.QUEUES)
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=list(queues)
    ) as worker:
        yield worker


@dataclass(frozen=True)
class Publication:
    """A task message some part of the test process published."""

    task_id: str
    name: str
    retries: int
    #: Whether the worker's thread published it (a chain step, a chord body…).
    by_worker: bool


@contextmanager
def recording_publications() -> Iterator[list[Publication]]:
    """Record every task message published in this process (producer and worker thread)."""
    published: list[Publication] = []
    lock = threading.Lock()

    def record(sender: Any = None, headers: Any = None, **kwargs: Any) -> None:
        with lock:
            published.append(
                Publication(
                    headers["id"],
                    headers["task"],
                    int(headers.get("retries") or 0),
                    by_worker=threading.current_thread() is not threading.main_thread(),
                )
            )

    signals.after_task_publish.connect(record, weak=False)
    try:
        yield published
    finally:
        signals.after_task_publish.disconnect(record)


def copies(messages: list[dict[str, Any]]) -> Counter[tuple[str, int]]:
    """Count messages per (task id, retry number): a retry is sent with its task's id."""
    return Counter((m["headers"]["id"], int(m["headers"].get("retries") or 0)) for m in messages)


def assert_one_copy_of_each(
    messages: list[dict[str, Any]], published: list[Publication], expected_ids: set[str]
) -> None:
    """
    Check that *messages* hold one copy of each message *published*, and nothing else.

    *expected_ids* are the ids the test knows of (its results' ids): they make sure that
    the recording of publications missed none.
    """
    seen = copies(messages)
    assert {key: n for key, n in seen.items() if n != 1} == {}, "messages doubled"
    assert {task for task, _ in seen} == expected_ids
    assert seen == Counter((p.task_id, p.retries) for p in published)
