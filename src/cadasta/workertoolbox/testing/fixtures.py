"""
The pytest plugin's fixtures, each an override point.

A worker project overrides the one that names its app, ``toolbox_app``, in its
``conftest.py``, and may override any other.

Importing this module imports pytest and nothing else outside the standard library:
boto3, moto, SQLAlchemy and Celery's worker are imported when a fixture first needs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._endpoint import Endpoint
    from ._monitor import MonitorReader
    from ._sent import SentTasks
    from ._worker import Worker

__all__ = [
    "ENDPOINT_VARIABLE",
    "RESULT_BACKEND_VARIABLE",
    "toolbox_app",
    "toolbox_app_import_path",
    "toolbox_live_app",
    "toolbox_monitor",
    "toolbox_queue_prefix",
    "toolbox_result_backend",
    "toolbox_sent_tasks",
    "toolbox_sqs_endpoint",
    "toolbox_transport_options",
    "toolbox_worker",
    "toolbox_worker_pool",
    "toolbox_worker_queues",
]

#: The variable that names an SQS endpoint to use instead of moto's server.
ENDPOINT_VARIABLE = "CADASTA_TEST_SQS_ENDPOINT"
#: The variable that names a result backend to use instead of SQLite.
RESULT_BACKEND_VARIABLE = "CADASTA_TEST_RESULT_BACKEND"


@pytest.fixture(scope="session")
def toolbox_app() -> Any:
    """
    The worker project's Celery app: override this fixture in ``conftest.py``.

    Example::

        @pytest.fixture(scope="session")
        def toolbox_app():
            from proj.celery import app
            return app

    .. versionadded:: 1.0
    """
    pytest.fail(
        "the cadasta-workertoolbox fixtures need your Celery app: override the "
        "toolbox_app fixture in your conftest.py, e.g.\n\n"
        '    @pytest.fixture(scope="session")\n'
        "    def toolbox_app():\n"
        "        from proj.celery import app\n"
        "        return app\n",
        pytrace=False,
    )


# -- fast mode -------------------------------------------------------------------------


@pytest.fixture
def toolbox_sent_tasks(toolbox_app: Any) -> Iterator[SentTasks]:
    """
    Record every task the app sends during the test, and send nothing (no broker).

    Each :class:`~cadasta.workertoolbox.testing.SentTask` has the task's name, id, args,
    kwargs, options, routing key and the queues it reaches; a send that would reach no
    work queue fails the test at once.

    .. versionadded:: 1.0
    """
    from ._sent import recording_sends

    with recording_sends(toolbox_app) as sent:
        yield sent


# -- real mode -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def toolbox_sqs_endpoint() -> Iterator[Endpoint]:
    """
    An SQS endpoint for the session: ``$CADASTA_TEST_SQS_ENDPOINT``, else moto's server.

    moto's server (the ``local`` extra) runs on a free loopback port in a thread of the
    session. Give ``CADASTA_TEST_SQS_ENDPOINT=http://HOST:PORT`` to use ElasticMQ,
    LocalStack or another endpoint instead.

    .. versionadded:: 1.0
    """
    from ._endpoint import MotoMissing, endpoint_from_url, load_server_class, running_endpoint

    url = os.environ.get(ENDPOINT_VARIABLE)
    if url:
        try:
            endpoint = endpoint_from_url(url, ENDPOINT_VARIABLE)
        except ValueError as error:
            pytest.fail(str(error), pytrace=False)
        yield endpoint
        endpoint.close()
        return
    try:
        server_class = load_server_class("toolbox_sqs_endpoint")
    except MotoMissing as error:
        pytest.fail(f"{error}, or set {ENDPOINT_VARIABLE}=http://HOST:PORT", pytrace=False)
    with running_endpoint(server_class) as endpoint:
        yield endpoint


@pytest.fixture
def toolbox_queue_prefix() -> str:
    """A queue name prefix of the test's own, so that tests see none of each other's messages."""
    from ._live import unique_queue_prefix

    return unique_queue_prefix()


@pytest.fixture
def toolbox_result_backend(tmp_path: Path) -> str:
    """
    Where results go: ``$CADASTA_TEST_RESULT_BACKEND``, else SQLite in the test's tmp_path.

    .. versionadded:: 1.0
    """
    return os.environ.get(RESULT_BACKEND_VARIABLE) or f"db+sqlite:///{tmp_path}/results.sqlite"


@pytest.fixture
def toolbox_transport_options() -> dict[str, Any]:
    """
    Transport options laid over the app's own for the test (none by default).

    .. versionadded:: 1.0
    """
    return {}


@pytest.fixture
def toolbox_live_app(
    toolbox_app: Any,
    toolbox_sqs_endpoint: Endpoint,
    toolbox_queue_prefix: str,
    toolbox_result_backend: str,
    toolbox_transport_options: dict[str, Any],
) -> Iterator[Any]:
    """
    The app pointed at the SQS endpoint, the test's queue prefix and result store.

    It is the app of ``toolbox_app`` itself, with four settings changed for the test
    (``broker_url``, ``broker_transport``, ``broker_transport_options``,
    ``result_backend``) and put back after it.

    .. versionadded:: 1.0
    """
    from ._live import live_settings, pointed_at

    settings = live_settings(
        toolbox_app,
        toolbox_sqs_endpoint.broker_url,
        toolbox_queue_prefix,
        toolbox_result_backend,
        toolbox_transport_options,
    )
    with pointed_at(toolbox_app, settings) as app:
        yield app


@pytest.fixture
def toolbox_worker_pool() -> str:
    """
    The worker's pool: ``solo`` (override with ``threads``, ``prefork`` or ``gevent``).

    .. versionadded:: 1.0
    """
    return "solo"


@pytest.fixture
def toolbox_worker_queues(toolbox_app: Any) -> tuple[str, ...]:
    """
    The queues the worker consumes: ``celery`` and the app's work queues (``QUEUES``).

    .. versionadded:: 1.0
    """
    return ("celery", *toolbox_app.conf.get("QUEUES", ()))


@pytest.fixture
def toolbox_app_import_path() -> str | None:
    """
    ``module:name`` of the app, for a worker subprocess; ``None``: found in ``sys.modules``.

    .. versionadded:: 1.0
    """
    return None


@pytest.fixture
def toolbox_worker(
    toolbox_live_app: Any,
    toolbox_worker_pool: str,
    toolbox_worker_queues: tuple[str, ...],
    toolbox_app_import_path: str | None,
    tmp_path: Path,
) -> Iterator[Worker]:
    """
    A real worker of the live app, on ``toolbox_worker_pool``, stopped after the test.

    .. versionadded:: 1.0
    """
    from ._live import settings_of
    from ._worker import WorkerError, running_worker

    try:
        with running_worker(
            toolbox_live_app,
            toolbox_worker_pool,
            toolbox_worker_queues,
            settings_of(toolbox_live_app) or {},
            tmp_path,
            import_path=toolbox_app_import_path,
        ) as worker:
            yield worker
    except WorkerError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def toolbox_monitor(toolbox_live_app: Any, toolbox_sqs_endpoint: Endpoint) -> MonitorReader:
    """
    The reader of the live app's monitor queue: what the platform's monitor would record.

    .. versionadded:: 1.0
    """
    from ._monitor import MonitorReader

    conf = toolbox_live_app.conf
    name = f"{conf.broker_transport_options['queue_name_prefix']}{conf.PLATFORM_QUEUE_NAME}"
    return MonitorReader(toolbox_sqs_endpoint.client, name)
