"""
The example app the demo runs: a small worker project configured with :class:`Config`.

Its tasks are named after their work queue, as the architecture asks: ``export.*`` tasks
go to the ``export`` queue, ``msg.*`` tasks to ``msg``, and a copy of every message to
the monitor queue ``platform.fifo``. Every queue name carries the prefix ``demo-``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from .._secrets import mask_url
from ..conf import Config

__all__ = [
    "QUEUES",
    "QUEUE_PREFIX",
    "TASKS",
    "BackendUnavailable",
    "create_app",
    "prepare_result_backend",
]

QUEUES = ("export", "msg")
QUEUE_PREFIX = "demo"

#: The worker answers within a fraction of a second, and stops as fast: receive calls
#: wait at most 1 s for a message instead of SQS's 20 s.
_FAST_POLLING = {"wait_time_seconds": 1, "polling_interval": 0.1}


def create_app(broker_url: str, result_backend: str) -> Celery:
    """
    Return the example app on *broker_url*, storing its results at *result_backend*.

    The configuration reads no environment variable: the demo runs the same anywhere.
    The app is not made the current app, and its tasks belong to it alone.
    """
    app = Celery("demo", set_as_current=False)
    app.config_from_object(
        Config(
            environ={},
            QUEUES=list(QUEUES),
            QUEUE_PREFIX=QUEUE_PREFIX,
            broker_url=broker_url,
            result_backend=result_backend,
            broker_transport_options=_FAST_POLLING,
            # A worker project names its task modules here; the demo's are defined below.
            imports=(),
        )
    )
    _register_tasks(app)
    return app


class BackendUnavailable(Exception):
    """The result backend cannot be reached, or its tables cannot be created."""


def prepare_result_backend(app: Celery) -> None:
    """
    Connect to *app*'s result database and create Celery's tables there if missing.

    Done before the worker starts, so that a database that cannot be used fails the demo
    at once, with the reason, and the worker and the demo do not both create the tables.

    Raises:
        BackendUnavailable: Saying why, with the URL's password masked.

    """
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    url = app.conf.result_backend
    try:
        engine = sqlalchemy.create_engine(app.backend.url, poolclass=NullPool)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
        app.backend.ResultSession().close()
    except Exception as error:  # whatever the driver raises, the demo cannot go on
        reason = (str(error).strip().splitlines() or [""])[0]
        raise BackendUnavailable(
            f"cannot use the result backend {mask_url(url)}: {type(error).__name__}: {reason}"
        ) from None


def render(project_id: int) -> str:
    """Pretend to render a project's export."""
    return f"project {project_id} rendered"


def add(x: int, y: int) -> int:
    """Return the sum of *x* and *y*."""
    return x + y


def square(number: int) -> int:
    """Return *number* squared."""
    return number * number


def total(numbers: list[int]) -> int:
    """Return the sum of *numbers*: a chord's body, given its header's results."""
    return sum(numbers)


def notify(value: Any) -> str:
    """Pretend to send a message about *value*."""
    return f"notified: {value}"


#: The example tasks, by name: the first dot-segment of each is its work queue.
TASKS = {
    "export.render": render,
    "export.add": add,
    "export.square": square,
    "export.total": total,
    "msg.notify": notify,
}


def _register_tasks(app: Celery) -> None:
    """Make each of :data:`TASKS` a task of *app*, and of *app* alone."""
    for name, function in TASKS.items():
        app.task(name=name, shared=False)(function)
