"""
Scenario 6: a starting worker sets its app up through ``worker_init``.

In a thread, a real worker (``start_worker``) declares every queue under the prefix and
marks the app set up; with the SQS endpoint down, constructing the worker runs the same
``worker_init`` handler, which logs the failure and leaves the app not set up. As a
separate process, ``celery -A tests.integration.apps.startup_app worker`` (configured
from ``CELERY_*`` variables alone) does the same, runs a task whose result lands in
PostgreSQL, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from celery import _state
from celery.contrib.testing.worker import start_worker
from kombu.exceptions import OperationalError

from .apps.worker_process import WorkerProcess, celery_worker
from .services import AWS_KEY, AWS_SECRET, SQSEndpoint, free_port, task_id

STARTUP_APP = "tests.integration.apps.startup_app"
SETUP_FAILURE = "Failed to run setup function"
#: How long a worker subprocess may take to reach a log line.
START_TIMEOUT = 30.0


def expected_queues(prefix: str) -> list[str]:
    """The SQS queues of a configuration with ``QUEUES=['export', 'msg']``."""
    return [f"{prefix}-{name}" for name in ("celery", "export", "msg", "platform.fifo")]


def assert_only_the_monitor_is_fifo(endpoint: SQSEndpoint, prefix: str) -> None:
    """The monitor queue is an SQS FIFO queue; the work queues are standard queues."""
    for name in expected_queues(prefix):
        fifo = endpoint.queue_attributes(name).get("FifoQueue", "false")
        assert fifo == ("true" if name.endswith(".fifo") else "false"), name


@pytest.fixture(autouse=True)
def _restore_celery_state() -> Iterator[None]:
    """
    Restore the process-wide state a worker changes.

    ``start_worker`` makes its app the default and current app; building a worker's
    solo pool marks the process as one where joining a result would block.
    """
    default, current = _state.default_app, _state._tls.current_app
    join_will_block = _state.task_join_will_block()
    yield
    _state.set_default_app(default)
    _state._set_current_app(current)
    _state._set_task_join_will_block(join_will_block)


# -- in a thread ------------------------------------------------------------------------


def test_starting_worker_declares_every_queue_and_sets_app_up(
    sqs_endpoint: SQSEndpoint, queue_prefix: str, make_sqs_app: Any
) -> None:
    """
    A starting worker creates every queue under the prefix and its app is set up.

    Though it consumes only <prefix>-export, it creates <prefix>-celery, <prefix>-msg
    and the FIFO queue <prefix>-platform.fifo.
    """
    app = make_sqs_app(QUEUES=["export", "msg"], imports=())
    assert sqs_endpoint.queue_names(queue_prefix) == []

    with start_worker(app, pool="solo", perform_ping_check=False, queues=["export"]):
        assert app.is_set_up is True
        assert sqs_endpoint.queue_names(queue_prefix) == expected_queues(queue_prefix)
        assert_only_the_monitor_is_fifo(sqs_endpoint, queue_prefix)


def test_worker_init_with_endpoint_down_logs_failure_and_app_is_not_set_up(
    queue_prefix: str, make_sqs_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """
    With the endpoint down, worker_init logs the failure and app.is_set_up is false.

    Constructing a worker (which sends worker_init) while nothing listens at the broker
    URL logs that declaring the topology failed, with the broker's error, and raises
    nothing.
    """
    app = make_sqs_app(
        broker_url=f"sqs://{AWS_KEY}:{AWS_SECRET}@127.0.0.1:{free_port()}",
        QUEUES=["export", "msg"],
        imports=(),
    )
    assert not hasattr(app, "is_set_up")

    with caplog.at_level(logging.ERROR, logger="cadasta.workertoolbox.setup"):
        app.WorkController(pool="solo", queues=["export"], hostname=f"{queue_prefix}@down")

    assert app.is_set_up is False
    failures = [r for r in caplog.records if r.getMessage().startswith(SETUP_FAILURE)]
    assert [r.getMessage() for r in failures] == [f"{SETUP_FAILURE} 'declare_topology'(app)"]
    assert failures[0].exc_info is not None
    assert issubclass(failures[0].exc_info[0], OperationalError)


# -- as a separate process --------------------------------------------------------------


@contextmanager
def startup_worker(
    variables: Mapping[str, str], queues: str, hostname: str, log_path: Path
) -> Iterator[WorkerProcess]:
    """Run ``celery -A startup_app worker`` configured by *variables* only; stop it after."""
    arguments = ["--pool=solo", "--loglevel=INFO", "-Q", queues, "--hostname", hostname]
    with celery_worker(STARTUP_APP, variables, arguments, log_path) as worker:
        yield worker


def test_celery_worker_process_sets_up_runs_a_task_and_stops_cleanly(
    sqs_endpoint: SQSEndpoint,
    queue_prefix: str,
    make_sqs_app: Any,
    database_url: str,
    tmp_path: Path,
) -> None:
    """
    A `celery -A … worker` process sets up, runs a task and stops cleanly.

    Started with -Q export,celery and configured by CELERY_* variables only, it creates
    every queue under the prefix, runs export.build with its result stored in
    PostgreSQL (the monitor gets a copy), exits with 0 on SIGTERM, and never logs a
    set-up failure.
    """
    result_backend = f"db+{database_url}"
    variables = {
        "CELERY_BROKER_URL": sqs_endpoint.broker_url,
        "CELERY_QUEUE_PREFIX": queue_prefix,
        "CELERY_QUEUES": "['export', 'msg']",
        "CELERY_RESULT_BACKEND": result_backend,
        "CELERY_IMPORTS": "()",
    }
    with startup_worker(
        variables, "export,celery", f"{queue_prefix}@startup", tmp_path / "worker.log"
    ) as worker:
        worker.wait_for(f"{queue_prefix}@startup ready.", START_TIMEOUT)
        assert sqs_endpoint.queue_names(queue_prefix) == expected_queues(queue_prefix)
        assert_only_the_monitor_is_fifo(sqs_endpoint, queue_prefix)

        producer = make_sqs_app(QUEUES=["export", "msg"], result_backend=result_backend)
        result = producer.send_task("export.build", args=(21,))
        assert result.get(timeout=30) == 42
        assert result.state == "SUCCESS"
        assert [task_id(m) for m in sqs_endpoint.drain(f"{queue_prefix}-platform.fifo")] == [
            result.id
        ]

        assert worker.stop() == 0
    assert "Warm shutdown" in worker.log
    assert SETUP_FAILURE not in worker.log


def test_celery_worker_process_with_endpoint_down_logs_setup_failure(
    queue_prefix: str, tmp_path: Path
) -> None:
    """
    A `celery -A … worker` process started with the endpoint down logs the set-up failure.

    Its log says that declaring the topology failed, with the broker's error.
    """
    variables = {
        "CELERY_BROKER_URL": f"sqs://{AWS_KEY}:{AWS_SECRET}@127.0.0.1:{free_port()}",
        "CELERY_QUEUE_PREFIX": queue_prefix,
        "CELERY_QUEUES": "['export', 'msg']",
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "CELERY_IMPORTS": "()",
    }
    with startup_worker(variables, "export", f"{queue_prefix}@down", tmp_path / "w.log") as worker:
        worker.wait_for(f"{SETUP_FAILURE} 'declare_topology'(app)", START_TIMEOUT)
        worker.wait_for(
            "kombu.exceptions.OperationalError: Could not connect to the endpoint", START_TIMEOUT
        )
