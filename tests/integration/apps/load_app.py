"""
A Celery app for the load test, configured from ``CELERY_*`` variables alone.

Workers run it with ``celery -A tests.integration.apps.load_app worker``; a producer
runs this module::

    python -m tests.integration.apps.load_app NUMBER COUNT QUEUES

which sends *COUNT* tasks named ``<queue>.record``, taking the queues in turn from the
comma-separated *QUEUES* (``export,msg,export,geo`` sends half the tasks to
``export``), and prints one JSON line: the ids it sent and how long sending took.

Every run of a task appends a row to the ``executions`` table of the result database,
so a task that runs twice shows up twice there; Celery's ``celery_taskmeta`` keeps one
row per task id whatever happens.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import sqlalchemy as sa
from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("load")
app.config_from_object(Config())

_metadata = sa.MetaData()

#: One row per run of a task: which task, from which queue, in which process.
EXECUTIONS = sa.Table(
    "executions",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(155), nullable=False),
    sa.Column("queue", sa.String(80), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)

#: This process's engine, made by its first task: a pool process gets its own, since
#: a connection must not cross a fork.
_engine: sa.Engine | None = None


def database_url(result_backend: str) -> str:
    """The SQLAlchemy URL of a ``db+…`` result backend."""
    return result_backend.removeprefix("db+")


def _record(task_id: str, queue: str) -> None:
    global _engine
    if _engine is None:
        _engine = sa.create_engine(database_url(app.conf.result_backend), pool_size=1)
    with _engine.begin() as connection:
        connection.execute(
            EXECUTIONS.insert().values(task_id=task_id, queue=queue, pid=os.getpid())
        )


def _register(queue: str) -> Any:
    @app.task(name=f"{queue}.record", bind=True, shared=False)
    def record(self: Any, number: int) -> int:
        _record(self.request.id, queue)
        return number

    return record


TASKS = {queue: _register(queue) for queue in app.conf.QUEUES}


def produce(count: int, queues: list[str], first: int = 0) -> dict[str, Any]:
    """Send *count* tasks, taking *queues* in turn; return their ids and the time taken."""
    ids: list[str] = []
    started = time.monotonic()
    for number in range(count):
        name = f"{queues[number % len(queues)]}.record"
        ids.append(app.send_task(name, args=(first + number,)).id)
    return {"ids": ids, "seconds": time.monotonic() - started}


if __name__ == "__main__":
    producer, count = int(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(produce(count, sys.argv[3].split(","), first=producer * count)))
