"""
Worker processes of :mod:`~tests.integration.apps.delivery_app`, and what their tasks record.

Each worker is a ``celery -A tests.integration.apps.delivery_app worker`` process in a
session of its own, so that :meth:`WorkerProcess.kill` can SIGKILL the whole worker at once:
the main process and its pool processes, as a crash or the OOM killer would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import select

from cadasta.workertoolbox.conf import Config
from tests.integration.apps.worker_tasks import JOURNAL, StoredResult, engine_for, stored_result
from tests.integration.services import SQSEndpoint

REPO_ROOT = Path(__file__).resolve().parents[3]
DELIVERY_APP = "tests.integration.apps.delivery_app"
#: Transport options that make a worker react within a fraction of a second; merged over
#: the library's defaults, so the visibility timeout stays at its default unless given.
FAST_POLLING = {"wait_time_seconds": 1, "polling_interval": 0.1}
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def worker_variables(
    endpoint: SQSEndpoint,
    prefix: str,
    database_url: str,
    transport_options: Mapping[str, Any] | None = None,
    **extra: str,
) -> dict[str, str]:
    """
    The ``CELERY_*`` variables of a worker consuming ``export`` under *prefix*.

    Results go to PostgreSQL at *database_url*, whose ``journal`` table the tasks write.
    """
    options = {**FAST_POLLING, **(transport_options or {})}
    return {
        "CELERY_BROKER_URL": endpoint.broker_url,
        "CELERY_QUEUE_PREFIX": prefix,
        "CELERY_QUEUES": "['export']",
        "CELERY_RESULT_BACKEND": f"db+{database_url}",
        "CELERY_IMPORTS": "()",
        "CELERY_BROKER_TRANSPORT_OPTIONS": repr(options),
        "DELIVERY_JOURNAL_URL": database_url,
        **extra,
    }


def producer(
    name: str,
    endpoint: SQSEndpoint,
    prefix: str,
    database_url: str,
    transport_options: Mapping[str, Any] | None = None,
) -> Celery:
    """
    An app named *name* that sends to the export queue under *prefix*.

    It has the library's default configuration, results in *database_url*, and the
    broker *transport_options* given, if any.
    """
    settings: dict[str, Any] = {}
    if transport_options is not None:
        settings["broker_transport_options"] = dict(transport_options)
    app = Celery(name, set_as_current=False)
    app.config_from_object(
        Config(
            environ={},
            broker_url=endpoint.broker_url,
            QUEUE_PREFIX=prefix,
            QUEUES=["export"],
            result_backend=f"db+{database_url}",
            **settings,
        )
    )
    return app


class WorkerProcess:
    """
    A ``celery worker`` process of the delivery app, its output in a file.

    Args:
        variables: Its whole configuration; it inherits no ``CELERY_*`` variable.
        hostname: Its node name.
        log_path: Where its standard output and error go.
        pool: ``solo``, or ``prefork`` with one pool process.

    """

    def __init__(
        self, variables: Mapping[str, str], hostname: str, log_path: Path, pool: str = "solo"
    ) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        command = [sys.executable, "-m", "celery", "-A", DELIVERY_APP, "worker",
                   f"--pool={pool}", "--concurrency=1", "--loglevel=INFO", "-Q", "export",
                   "--hostname", hostname]  # fmt: skip
        self.hostname = hostname
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                env={**environ, **variables},
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def log(self) -> str:
        """Everything the worker has written so far."""
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the worker says it is ready; fail if it exits or time runs out."""
        deadline = time.monotonic() + timeout
        while f"{self.hostname} ready." not in self.log:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode}):\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready within {timeout} s:\n{self.log}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the worker's main process and its pool processes at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)


def kill_all(workers: list[WorkerProcess]) -> None:
    """SIGKILL the *workers* still running: at the end of a test, nothing they do matters."""
    for worker in workers:
        if worker.process.poll() is None:
            worker.kill()


def runs(database_url: str, task_id: str) -> list[tuple[str, Any]]:
    """Return the journal rows ``(label, value)`` of the task *task_id*, in order."""
    query = select(JOURNAL.c.label, JOURNAL.c.value).where(JOURNAL.c.task_id == task_id)
    with engine_for(database_url).connect() as connection:
        rows = connection.execute(query.order_by(JOURNAL.c.id)).all()
    return [(label, json.loads(value)) for label, value in rows]


def process_exists(pid: int) -> bool:
    """Tell whether a process *pid* exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ", 1)[1].startswith("Z"))


def result_with_status(database_url: str, task_id: str, status: str) -> StoredResult | None:
    """Return the result row of *task_id* if its status is *status*, else ``None``."""
    found = stored_result(database_url, task_id)
    return found if found is not None and found.status == status else None
