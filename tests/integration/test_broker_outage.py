"""
Broker outage: a producer fails fast and says where; a worker waits for the broker.

With nothing listening at the SQS endpoint, sending a task gives up after the few quick
attempts ``Config``'s transport options allow (``max_retries=3``) and raises kombu's
``OperationalError``, whose message names the endpoint's URL and none of its
credentials. A worker started while the endpoint is down retries connecting (Celery's
``broker_connection_max_retries``: 100 attempts, pauses growing from 2 s to 30 s) and
runs the tasks sent once moto's server comes up on that very port.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery
from kombu.exceptions import OperationalError

from tests.integration.apps.worker_process import celery_worker
from tests.integration.apps.worker_tasks import StoredResult, stored_result

from .services import AWS_KEY, AWS_SECRET, SQSEndpoint, free_port, task_id, unavailable

STARTUP_APP = "tests.integration.apps.startup_app"
#: What the worker's consumer logs each time it fails to connect.
#: Celery names the broker by its transport: the library's SQS transport, by import path.
CANNOT_CONNECT = "consumer: Cannot connect to cadasta.workertoolbox.publish.sqs:Transport://"
TIMEOUT = 30


def broker_url(port: int) -> str:
    """The broker URL of an SQS endpoint on loopback at *port*."""
    return f"sqs://{AWS_KEY}:{AWS_SECRET}@127.0.0.1:{port}"


@pytest.fixture
def late_endpoint() -> Iterator[Callable[[int], SQSEndpoint]]:
    """Start moto's SQS server on a given port when the test asks; stop it afterwards."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        unavailable("moto's server", 'install the "local" extra: pip install ".[local]"')
    servers: list[ThreadedMotoServer] = []

    def start(port: int) -> SQSEndpoint:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        servers.append(server)
        return SQSEndpoint(host="127.0.0.1", port=port, server=server)

    yield start
    for server in servers:
        server.stop()


def test_sending_with_the_endpoint_down_fails_fast_naming_the_endpoint(
    make_sqs_app: Callable[..., Celery],
) -> None:
    """
    send_task raises OperationalError within seconds, naming host:port, no secret.

    Config's transport options (max_retries=3, pauses of 0, 0.5 and 1 s) bound the
    attempts; kombu's message is botocore's, with the endpoint URL in it.
    """
    port = free_port()
    app = make_sqs_app(queues=["export"], broker_url=broker_url(port))

    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        app.send_task("export.build", args=(1,))
    elapsed = time.monotonic() - started

    print(f"sending with the endpoint down failed after {elapsed:.1f} s: {raised.value}")
    assert elapsed < 10, f"sending took {elapsed:.1f} s to fail"
    message = str(raised.value)
    assert f"127.0.0.1:{port}" in message
    assert AWS_SECRET not in message
    assert AWS_SECRET not in repr(raised.value)


def test_worker_started_with_the_endpoint_down_runs_tasks_once_it_is_up(
    late_endpoint: Callable[[int], SQSEndpoint],
    make_sqs_app: Callable[..., Celery],
    queue_prefix: str,
    database_url: str,
    tmp_path: Path,
) -> None:
    """
    A worker started before its SQS endpoint keeps retrying, then runs a task.

    The worker logs that it cannot connect and will try again (credentials masked).
    moto's server is then started on that very port: the worker connects at its next
    attempt, a task sent to it runs, its result lands in PostgreSQL, and the monitor
    queue holds its copy.
    """
    port = free_port()
    result_backend = f"db+{database_url}"
    variables = {
        "CELERY_BROKER_URL": broker_url(port),
        "CELERY_QUEUE_PREFIX": queue_prefix,
        "CELERY_QUEUES": "['export']",
        "CELERY_RESULT_BACKEND": result_backend,
        "CELERY_IMPORTS": "()",
        "CELERY_BROKER_TRANSPORT_OPTIONS": "{'wait_time_seconds': 1, 'polling_interval': 0.1}",
    }
    hostname = f"{queue_prefix}@late"
    arguments = ["--pool=solo", "--loglevel=INFO", "-Q", "export,celery", "--hostname", hostname]
    with celery_worker(STARTUP_APP, variables, arguments, tmp_path / "worker.log") as worker:
        # Celery's defaults: 100 attempts, with pauses growing from 2 s to 30 s.
        worker.wait_for("Trying again in 2.00 seconds... (1/100)", TIMEOUT)
        assert CANNOT_CONNECT in worker.log
        assert AWS_SECRET not in worker.log
        endpoint = late_endpoint(port)
        worker.wait_for(f"{hostname} ready.", TIMEOUT)

        producer = make_sqs_app(
            queues=["export"], broker_url=endpoint.broker_url, result_backend=result_backend
        )
        result = producer.send_task("export.build", args=(21,))
        assert result.get(timeout=TIMEOUT) == 42
        assert stored_result(database_url, result.id) == StoredResult("SUCCESS", 42)
        monitor = endpoint.drain(f"{queue_prefix}-platform.fifo")
        assert [task_id(m) for m in monitor] == [result.id]
        assert worker.stop() == 0
