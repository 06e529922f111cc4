"""
The example app the demo runs: a small worker project configured with :class:`Config`.

Its tasks are named after their work queue, as the architecture asks: ``export.*`` tasks
go to the ``export`` queue, ``msg.*`` tasks to ``msg``, and a copy of every message to
the monitor queue ``platform.fifo``. Every queue name carries the prefix ``demo-``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import Celery

from ..conf import Config
from ..config._secrets import mask_url
from ..resultdb._sql import quote

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection

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
    """The result backend cannot be reached, or its database or tables cannot be created."""


#: The databases a PostgreSQL client connects to in order to create another, as
#: ``createdb`` does: ``postgres``, else ``template1``.
_MAINTENANCE_DATABASES = ("postgres", "template1")


def prepare_result_backend(app: Celery) -> bool:
    """
    Connect to *app*'s result database, creating it and Celery's tables if missing.

    A fresh PostgreSQL server has no database but ``postgres``: when the one the URL names
    does not exist, it is created (as ``createdb`` would, so the URL's role needs the
    ``CREATEDB`` privilege). Done before the worker starts, so that a database that cannot
    be used fails the demo at once, with the reason, and the worker and the demo do not
    both create the tables.

    Returns:
        Whether the database was created.

    Raises:
        BackendUnavailable: Saying why, and what to do where the database is missing,
            with the URL's password masked.

    """
    import sqlalchemy

    url = app.conf.result_backend
    created = False
    try:
        target = sqlalchemy.engine.make_url(app.backend.url)
        try:
            _connect(target)
        except sqlalchemy.exc.OperationalError:
            # The database may be missing; if it is not, or cannot be created, say why
            # the connection failed.
            if target.get_backend_name() != "postgresql" or not _create_database(target):
                raise
            created = True
        app.backend.ResultSession().close()
    except BackendUnavailable:
        raise
    except Exception as error:  # whatever the driver raises, the demo cannot go on
        raise BackendUnavailable(
            f"cannot use the result backend {mask_url(url)}: {_reason(error)}"
        ) from None
    return created


def _reason(error: BaseException) -> str:
    """The first line of *error*, after its class: drivers add lines of context."""
    return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"


def _connect(target: URL) -> None:
    """Open a connection to the database *target* and close it."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(target, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def _create_database(target: URL) -> bool:
    """
    Create the PostgreSQL database *target* names, if it is missing.

    Returns:
        ``True`` when it created it; ``False`` when it exists, or when no maintenance
        database could be reached either (the server is down, the password wrong…).

    Raises:
        BackendUnavailable: The database is missing and the server refused to create it.

    """
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    for maintenance in _MAINTENANCE_DATABASES:
        engine = sqlalchemy.create_engine(
            target.set(database=maintenance), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                return _create_if_missing(connection, target)
        except sqlalchemy.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    return False


def _create_if_missing(connection: Connection, target: URL) -> bool:
    import sqlalchemy

    name = str(target.database)
    exists = connection.scalar(
        sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
    )
    if exists:
        return False
    quoted = quote(name)
    try:
        connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
    except sqlalchemy.exc.DBAPIError as error:
        where = f"{target.host or 'localhost'}:{target.port or 5432}"
        raise BackendUnavailable(
            f"the result database {name!r} does not exist on {where}, and creating it as "
            f"{target.username!r} failed ({_reason(error)}); create it as a role that may "
            f"(createdb -h {target.host or 'localhost'} -p {target.port or 5432} -U postgres "
            f"{name}, or CREATE DATABASE {quoted}), or give --result-backend a database "
            "that exists"
        ) from None
    return True


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
