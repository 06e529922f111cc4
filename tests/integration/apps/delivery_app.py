"""
A worker's app for the delivery tests, configured from ``CELERY_*`` variables alone.

``celery -A tests.integration.apps.delivery_app worker`` starts a worker of it. Its tasks
record what they do in the ``journal`` table (see
:func:`tests.integration.apps.worker_tasks.create_journal`) of the PostgreSQL database
named by ``DELIVERY_JOURNAL_URL`` (not a ``CELERY_*`` variable, which ``Config`` would
take for a Celery setting), so that a test counts the runs of a task across processes,
even of a worker killed in the middle of one.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import sqlalchemy as sa
from celery import Celery
from sqlalchemy.pool import NullPool

from cadasta.workertoolbox.conf import Config

app = Celery("delivery")
app.config_from_object(Config())

_JOURNAL = sa.text("INSERT INTO journal (task_id, label, value) VALUES (:task_id, :label, :value)")


def journal(task_id: str, label: str, value: Any = None) -> None:
    """Append a row to the journal, committed at once."""
    engine = sa.create_engine(os.environ["DELIVERY_JOURNAL_URL"], poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            _JOURNAL, {"task_id": task_id, "label": label, "value": json.dumps(value)}
        )


@app.task(name="export.count", bind=True, shared=False)
def count(self: Any) -> str:
    """Record one run and its time (seconds since the epoch)."""
    journal(self.request.id, "run", time.time())
    return "counted"


@app.task(name="export.work", bind=True, shared=False)
def work(self: Any, duration: float) -> str:
    """Record the start, work for *duration* seconds, record the end."""
    journal(self.request.id, "started", os.getpid())
    time.sleep(duration)
    journal(self.request.id, "finished", os.getpid())
    return "done"


@app.task(name="export.retry_later", bind=True, shared=False)
def retry_later(self: Any, countdown: float) -> None:
    """Record the run, then ask to be retried in *countdown* seconds."""
    journal(self.request.id, "run", self.request.retries)
    raise self.retry(countdown=countdown)
