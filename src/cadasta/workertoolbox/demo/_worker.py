"""
A real Celery worker of the example app, in a thread of the demo's process.

It is the worker ``celery -A … worker --pool=solo`` builds (``WorkController``), without
the command line's logging and signal handlers: Ctrl-C reaches the demo, which stops the
worker. Starting it sends ``worker_init``, so the toolbox's handler sets the app up and
declares every queue on the endpoint, as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from celery import Celery

__all__ = ["WorkerFailed", "running_worker"]

#: How long to wait for the worker to stop.
_STOP_TIMEOUT = 10.0


class WorkerFailed(Exception):
    """The worker did not get ready in time."""


@contextmanager
def running_worker(app: Celery, queues: Sequence[str], start_timeout: float) -> Iterator[Any]:
    """
    Run a worker of *app* consuming *queues* during the block; stop it after.

    Celery's process-wide state that a worker changes (the flag that forbids waiting
    for results, the shutdown request, the fallback app Celery creates when a task runs)
    is restored afterwards.

    Raises:
        WorkerFailed: The worker is not ready within *start_timeout* seconds.

    """
    from celery import _state
    from celery.worker import state

    join_will_block, default_app = _state.task_join_will_block(), _state.default_app
    ready = threading.Event()
    try:
        worker = app.WorkController(
            hostname=f"{app.main}@localhost",
            pool="solo",
            concurrency=1,
            queues=list(queues),
            ready_callback=lambda consumer: ready.set(),
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        thread = threading.Thread(target=_work, args=(worker,), name="demo-worker", daemon=True)
        thread.start()
        try:
            if not ready.wait(start_timeout):
                raise WorkerFailed(
                    f"the worker was not ready within {start_timeout:g} s; see the log above"
                )
            # The solo pool marks the process as one whose tasks must not wait for
            # results; here the waiting is done by the demo, not by a task.
            _state._set_task_join_will_block(False)
            yield worker
        finally:
            # A warm shutdown: the worker's event loop checks this flag on every turn,
            # and while it waits for the broker. Its tasks take milliseconds, so it stops
            # within a second. Should it not, its thread (a daemon) ends with the process.
            state.should_stop = 0
            thread.join(_STOP_TIMEOUT)
            state.should_stop = None
    finally:
        _state._set_task_join_will_block(join_will_block)
        _state.set_default_app(default_app)


def _work(worker: Any) -> None:
    """
    Run *worker* in this thread, with its app as this thread's current app.

    Celery runs a task through ``current_app`` (its tracer looks tasks up there).
    """
    worker.app.set_current()
    worker.start()
