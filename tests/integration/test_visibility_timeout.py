"""
Tasks due later than now, and the visibility timeout, on moto's SQS server.

SQS delivers a message again once it has stayed unacknowledged for the queue's visibility
timeout, and a worker keeps a task with a countdown unacknowledged until it is due. Two
workers (``celery worker --pool=solo``, separate processes, each under a queue prefix of
its own, results in PostgreSQL) run side by side, so that the slow cases share one wait:

- one started with the library's defaults, whose queues get a visibility timeout of
  3600 s: a task sent with ``countdown=25`` runs once, and a task asking to be retried
  later than the limit fails instead of being sent;
- the negative control, started with a visibility timeout of 2 s: the same task, sent
  with ``countdown=6`` by a producer with the default configuration (whose check
  therefore lets it through), runs more than once. This is also why every process
  must share the setting: what counts is the queue's attribute, set when it was created.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from celery import Celery

from cadasta.workertoolbox.exceptions import VisibilityTimeoutError

from . import services
from .apps.delivery_workers import (
    WorkerProcess,
    kill_all,
    producer,
    result_with_status,
    runs,
    worker_variables,
)
from .apps.worker_tasks import StoredResult, create_journal, stored_result, wait_for
from .services import SQSEndpoint, task_id

COUNTDOWN = 25
CONTROL_TIMEOUT = 2
CONTROL_COUNTDOWN = 6
#: After a task ran, how long a copy delivered again would take to run too: copies are
#: due at the same time, so they run right after each other.
GRACE = 1.0


@dataclass
class Timeline:
    """The tasks sent to both workers, and when."""

    database_url: str
    prefix: str
    control_prefix: str
    countdown_id: str
    control_id: str
    retry_id: str
    #: When the tasks were sent (time.time()).
    sent_at: float
    worker: WorkerProcess


@pytest.fixture(scope="module")
def timeline(
    sqs_endpoint: SQSEndpoint, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Timeline]:
    """Start both workers and send the tasks; kill the workers afterwards."""
    name = f"toolbox_{uuid.uuid4().hex[:12]}"
    database_url = services.create_database(postgres_admin_url, name)
    create_journal(database_url)
    logs = tmp_path_factory.mktemp("visibility")
    prefix, control_prefix = services.unique_prefix(), services.unique_prefix()
    workers = [
        WorkerProcess(
            worker_variables(sqs_endpoint, prefix, database_url),
            f"defaults@{prefix}",
            logs / "defaults.log",
        ),
        WorkerProcess(
            worker_variables(
                sqs_endpoint, control_prefix, database_url, {"visibility_timeout": CONTROL_TIMEOUT}
            ),
            f"control@{control_prefix}",
            logs / "control.log",
        ),
    ]
    # Both producers have the default configuration.
    apps = [
        producer("visibility-producer", sqs_endpoint, p, database_url)
        for p in (prefix, control_prefix)
    ]
    try:
        # The slow one first, while the workers start: its queue is created as the worker
        # on the defaults would create it.
        sent_at = time.time()
        countdown_id = apps[0].send_task("export.count", countdown=COUNTDOWN).id
        for worker in workers:
            worker.wait_until_ready()
        # The control's queue must be created by its worker, with the short timeout.
        yield Timeline(
            database_url,
            prefix,
            control_prefix,
            countdown_id,
            apps[1].send_task("export.count", countdown=CONTROL_COUNTDOWN).id,
            apps[0].send_task("export.retry_later", args=(4000,)).id,
            sent_at,
            workers[0],
        )
    finally:
        kill_all(workers)
        for app in apps:
            app.close()
        services.drop_database(postgres_admin_url, name)


def queue_visibility_timeout(endpoint: SQSEndpoint, name: str) -> int:
    """The VisibilityTimeout attribute of the SQS queue *name*."""
    return int(endpoint.queue_attributes(name)["VisibilityTimeout"])


def test_countdown_of_25_s_runs_exactly_once_under_the_defaults(
    timeline: Timeline, sqs_endpoint: SQSEndpoint
) -> None:
    """
    Sent with countdown=25 to a worker on the defaults, the task runs once, when due.

    The queue's visibility timeout is the default 3600 s. The run comes 25 s after the
    task was sent, no copy follows it, the result row is SUCCESS, and the message is
    gone from the queue.
    """
    queue = f"{timeline.prefix}-export"
    assert queue_visibility_timeout(sqs_endpoint, queue) == 3600
    wait_for(
        lambda: runs(timeline.database_url, timeline.countdown_id),
        COUNTDOWN + 20,
        "the task with a countdown to run",
    )
    time.sleep(GRACE)
    journal = runs(timeline.database_url, timeline.countdown_id)
    assert len(journal) == 1, journal
    [(_, ran_at)] = journal
    assert ran_at - timeline.sent_at >= COUNTDOWN - 0.5
    result = stored_result(timeline.database_url, timeline.countdown_id)
    assert result == StoredResult("SUCCESS", "counted")
    attributes = sqs_endpoint.queue_attributes(queue)
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_control_with_a_short_visibility_timeout_runs_the_task_again(
    timeline: Timeline, sqs_endpoint: SQSEndpoint
) -> None:
    """
    The negative control: with a 2 s visibility timeout, countdown=6 runs several times.

    The worker receives the message and holds it until it is due; SQS delivers it again
    every 2 s meanwhile, and each copy runs when due. The same counting that finds one
    run above finds more than one here.
    """
    queue = f"{timeline.control_prefix}-export"
    assert queue_visibility_timeout(sqs_endpoint, queue) == CONTROL_TIMEOUT
    wait_for(
        lambda: len(runs(timeline.database_url, timeline.control_id)) > 1,
        CONTROL_COUNTDOWN + 20,
        "the control task to run a second time",
    )
    assert len(runs(timeline.database_url, timeline.control_id)) > 1


def test_retry_later_than_the_limit_fails_the_task_instead(
    timeline: Timeline, sqs_endpoint: SQSEndpoint
) -> None:
    """
    A task asking to be retried in 4000 s fails: its retry is never sent.

    It ran once; its result row is FAILURE, with the refusal; the worker logged the
    refusal; the monitor queue holds the task's one copy and no retry.
    """
    result = wait_for(
        lambda: result_with_status(timeline.database_url, timeline.retry_id, "FAILURE"),
        20,
        "the retrying task to fail",
    )
    assert result.result["exc_type"] == "Reject"
    assert result.result["exc_message"][0].startswith(
        "VisibilityTimeoutError('Refused to send task \\'export.retry_later\\': it is due in"
    )
    assert [label for label, _ in runs(timeline.database_url, timeline.retry_id)] == ["run"]
    assert "VisibilityTimeoutError: Refused to send task 'export.retry_later'" in (
        timeline.worker.log
    )
    monitor = sqs_endpoint.drain(f"{timeline.prefix}-platform.fifo", wait=0.5)
    assert [task_id(m) for m in monitor].count(timeline.retry_id) == 1


def test_send_beyond_the_limit_is_refused_and_publishes_nothing(
    make_sqs_app: Callable[..., Celery], sqs_endpoint: SQSEndpoint, queue_prefix: str
) -> None:
    """
    countdown=4000 under the defaults raises VisibilityTimeoutError; nothing is sent.

    The refusal comes from the library's transport, in the channel, after kombu declared
    the route's queues: they may exist, but hold no message.
    """
    app = make_sqs_app(QUEUES=["export"], imports=())
    with pytest.raises(VisibilityTimeoutError) as caught:
        app.send_task("export.count", countdown=4000)
    assert "broker_transport_options['visibility_timeout']=3600" in str(caught.value)
    assert "CELERY_BROKER_TRANSPORT_OPTIONS" in str(caught.value)
    for name in sqs_endpoint.queue_names(queue_prefix):
        assert sqs_endpoint.drain(name) == [], name
