"""
Scenario 1: a process that only sends tasks reaches both the work queue and the monitor.

The producer runs in a subprocess of its own (``tests/integration/apps/producer_app.py``),
configured from ``CELERY_*`` variables alone: it never calls ``setup_app`` and runs no
worker, so its connection starts with no exchange and no binding in memory. The
negative control shows why that matters: a plain kombu producer that does not declare
the monitor queue's binding on its connection loses the monitor's copy on SQS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from kombu import Connection, Exchange, Producer, Queue

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.setup import setup_app

from .services import AWS_REGION, SQSEndpoint, task_id

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCER_MODULE = "tests.integration.apps.producer_app"
SUBPROCESS_TIMEOUT = 60


def run_producer(task_name: str, variables: Mapping[str, str]) -> str:
    """
    Send *task_name* from a producer subprocess configured by *variables*; return its id.

    The subprocess inherits no ``CELERY_*`` variable of this process: its configuration
    is exactly *variables*.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    completed = subprocess.run(
        [sys.executable, "-m", PRODUCER_MODULE, task_name],
        env={**environ, **variables},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["set_up"] is False, "the producer must not have run setup_app"
    return str(report["id"])


def sqs_task_ids(endpoint: SQSEndpoint, prefix: str) -> dict[str, list[str]]:
    """Receive every message of every queue under *prefix*: queue name -> task ids."""
    return {
        name: [task_id(message) for message in endpoint.drain(name)]
        for name in endpoint.queue_names(prefix)
    }


# -- SQS --------------------------------------------------------------------------------


@pytest.mark.parametrize("workers_started_first", [False, True], ids=["fresh", "workers-up"])
def test_producer_process_reaches_work_queue_and_monitor_on_sqs(
    sqs_endpoint: SQSEndpoint,
    queue_prefix: str,
    make_sqs_app: Any,
    workers_started_first: bool,
) -> None:
    """
    A producer-only process sends export.build to the export queue and the monitor only.

    Exactly one copy lands in <prefix>-export and one in <prefix>-platform.fifo. On a
    fresh endpoint the producer creates only those two queues; with the topology
    declared by a worker beforehand, <prefix>-celery and <prefix>-msg stay empty.
    """
    if workers_started_first:
        assert setup_app(make_sqs_app(QUEUES=["export", "msg"]))
    expected_queues = ["celery", "export", "msg"] if workers_started_first else ["export"]

    sent = run_producer(
        "export.build",
        {
            "CELERY_BROKER_URL": sqs_endpoint.broker_url,
            "CELERY_QUEUE_PREFIX": queue_prefix,
            "CELERY_QUEUES": "['export', 'msg']",
            "CELERY_RESULT_BACKEND": "cache+memory://",
        },
    )

    expected = {f"{queue_prefix}-{name}": [] for name in expected_queues}
    expected[f"{queue_prefix}-export"] = [sent]
    expected[f"{queue_prefix}-platform.fifo"] = [sent]
    assert sqs_task_ids(sqs_endpoint, queue_prefix) == expected


@pytest.mark.parametrize(
    ("declare_monitor", "monitor_copies"),
    [(False, 0), (True, 1)],
    ids=["without-monitor-binding", "with-monitor-binding"],
)
def test_publishing_without_the_monitor_binding_loses_the_monitor_copy(
    sqs_endpoint: SQSEndpoint,
    queue_prefix: str,
    make_sqs_app: Any,
    declare_monitor: bool,
    monitor_copies: int,
) -> None:
    """
    Without the monitor queue's binding on its connection, a producer loses its copy.

    Negative control: although every queue exists on SQS, a plain kombu producer that
    declares on its fresh connection only the queue it targets delivers the message to
    that queue and not to the monitor. Declaring the monitor queue too (what the
    library's router asks Celery to do) delivers the monitor's copy.
    """
    assert setup_app(make_sqs_app(QUEUES=["export", "msg"]))
    exchange = Exchange("task_exchange", type="topic")
    export = Queue("export", exchange, routing_key="export")
    monitor = Queue("platform.fifo", exchange, routing_key="#")
    sent = str(uuid.uuid4())

    with Connection(
        sqs_endpoint.broker_url,
        transport_options={"region": AWS_REGION, "queue_name_prefix": f"{queue_prefix}-"},
    ) as connection:
        producer = Producer(connection.default_channel, exchange=exchange)
        producer.publish(
            {"n": 1},
            routing_key="export",
            headers={"id": sent},
            declare=[export, monitor] if declare_monitor else [export],
        )

    assert sqs_task_ids(sqs_endpoint, queue_prefix) == {
        f"{queue_prefix}-celery": [],
        f"{queue_prefix}-export": [sent],
        f"{queue_prefix}-msg": [],
        f"{queue_prefix}-platform.fifo": [sent] * monitor_copies,
    }


# -- RabbitMQ ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RabbitTopology:
    """Names of this test's own exchange and queues on the shared RabbitMQ broker."""

    suffix: str

    @property
    def exchange(self) -> str:
        """The topic exchange (``task_default_exchange``)."""
        return f"task_exchange_{self.suffix}"

    @property
    def export(self) -> str:
        """The work queue the task is routed to."""
        return f"export_{self.suffix}"

    @property
    def msg(self) -> str:
        """Another work queue, which must receive nothing."""
        return f"msg_{self.suffix}"

    @property
    def monitor(self) -> str:
        """The monitor queue; ``.fifo`` means nothing to RabbitMQ."""
        return f"platform_{self.suffix}.fifo"

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue this test may create."""
        return (self.export, self.msg, self.monitor)

    def variables(self, broker_url: str) -> dict[str, str]:
        """The ``CELERY_*`` variables of a process using this topology."""
        return {
            "CELERY_BROKER_URL": broker_url,
            "CELERY_QUEUES": repr([self.export, self.msg]),
            "CELERY_PLATFORM_QUEUE_NAME": self.monitor,
            "CELERY_TASK_DEFAULT_EXCHANGE": self.exchange,
            "CELERY_RESULT_BACKEND": "cache+memory://",
        }


@pytest.fixture
def rabbit(amqp_url: str) -> Iterator[RabbitTopology]:
    """Unique names on RabbitMQ; the queues and the exchange are deleted afterwards."""
    topology = RabbitTopology(uuid.uuid4().hex[:12])
    yield topology
    with Connection(amqp_url) as connection:
        for name in topology.queues:
            with suppress(connection.channel_errors):
                connection.channel().queue_delete(name)
        with suppress(connection.channel_errors):
            connection.channel().exchange_delete(topology.exchange)


def amqp_task_ids(connection: Connection, name: str, wait: float = 0.5) -> list[str] | None:
    """
    Consume every message of queue *name*; their task ids, or ``None`` if it is absent.

    Polls for *wait* seconds, so that a message still being enqueued is counted too.
    """
    channel = connection.channel()
    try:
        channel.queue_declare(name, passive=True)
    except connection.channel_errors:
        return None
    queue = Queue(name, no_declare=True).bind(channel)
    found: list[str] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        message = queue.get(no_ack=True)
        if message is None:
            time.sleep(0.05)
        else:
            found.append(str(message.headers["id"]))
    channel.close()
    return found


@pytest.mark.parametrize("workers_started_first", [False, True], ids=["fresh", "workers-up"])
def test_producer_process_reaches_work_queue_and_monitor_on_rabbitmq(
    amqp_url: str, rabbit: RabbitTopology, workers_started_first: bool
) -> None:
    """
    On RabbitMQ, a producer-only process reaches the work queue and the monitor once each.

    The same configuration on a broker whose topic exchanges are native. The other work
    queue is not created by the producer, and receives nothing once a worker declared it.
    """
    if workers_started_first:
        # What a worker's set-up declares; ``celery`` is left out because on a shared
        # broker that queue belongs to every app, not to this test.
        app = Celery("worker", set_as_current=False)
        app.config_from_object(Config(environ=rabbit.variables(amqp_url)))
        with app.connection_for_write() as connection:
            for queue in app.amqp.queues.values():
                if queue.name != "celery":
                    queue.bind(connection.default_channel).declare()
        app.close()

    sent = run_producer(f"{rabbit.export}.build", rabbit.variables(amqp_url))

    with Connection(amqp_url) as connection:
        found = {name: amqp_task_ids(connection, name) for name in rabbit.queues}
    assert found == {
        rabbit.export: [sent],
        rabbit.msg: [] if workers_started_first else None,
        rabbit.monitor: [sent],
    }
