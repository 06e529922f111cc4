"""
Issue 11: the library's real users, calling it as they do, on moto's SQS and PostgreSQL.

- The platform (sends tasks only): ``Celery(amqp=CircuitBreakerAMQP)``, whose
  ``send_task_message`` runs ``setup_app(app, throw=True)`` before the first publish;
  ``build_functional_tests(app, is_worker=False)`` in its tests; and its task monitor, a
  kombu ``ConsumerMixin`` on the monitor queue that decodes each message, reads Celery's
  headers and the message properties (``creator_id``, given to ``send_task``), and acks.
- The export worker: ``Config()`` with its defaults and ``Celery()``, configured through
  ``CELERY_*`` variables as its deployment is, started as ``celery -A app worker -Q
  export,celery`` in the project's folder; its ``export.project`` fans out into a chord
  whose body carries the task's follow-ups (``extract_followups(self)``).

The platform's monitor reads the monitor queue in both tests: it sees every task message
the platform and the worker publish.
"""

from __future__ import annotations

import json
import threading
import unittest
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from celery import Celery, _state
from celery.app.amqp import AMQP
from kombu import Message, Queue
from kombu.mixins import ConsumerMixin
from sqlalchemy.engine import make_url

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.setup import setup_app
from cadasta.workertoolbox.tests import build_functional_tests

from .apps.projects import project_worker, write_project
from .apps.worker_tasks import stored_result, wait_for
from .services import SQSEndpoint

#: How long the monitor, the worker and the chord may take.
TIMEOUT = 30.0
#: Settings that make the worker react within a fraction of a second (the default
#: long-polls for 20 s, which also delays its shutdown); merged over the library's.
FAST_POLLING = {"wait_time_seconds": 1, "polling_interval": 0.1}
#: The headers of a Celery message the platform's monitor reads.
MONITORED_HEADERS = ("id", "task", "parent_id", "root_id", "eta", "expires", "retries",
                     "timelimit")  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_celery_state() -> Iterator[None]:
    """Restore the default and current app: ``Celery()`` makes itself the current app."""
    default, current = _state.default_app, _state._tls.current_app
    yield
    _state.set_default_app(default)
    _state._set_current_app(current)


# -- the platform -----------------------------------------------------------------------


class CircuitBreakerAMQP(AMQP):
    """The platform's AMQP: sets the app up (queues declared) before its first publish."""

    def send_task_message(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``setup_app`` unless the app is set up, then publish as Celery does."""
        if not getattr(self.app, "is_set_up", False):
            setup_app(self.app, throw=True)
        return super().send_task_message(*args, **kwargs)


def platform_app(endpoint: SQSEndpoint, prefix: str) -> Celery:
    """The platform's app, configured as the platform configures it, on the test's SQS."""
    app = Celery(amqp=CircuitBreakerAMQP)
    app.config_from_object(
        Config(
            broker_url=endpoint.broker_url,
            QUEUE_PREFIX=prefix,
            SETUP_SENTRY_LOGGING=False,
            SETUP_FILE_LOGGING=False,
            environ={},
        )
    )
    return app


@dataclass(frozen=True)
class MonitoredTask:
    """What the platform's monitor records of one task message."""

    headers: dict[str, Any]
    args: list[Any]
    kwargs: dict[str, Any]
    properties: dict[str, Any]

    @property
    def id(self) -> str:
        """The task's id."""
        return str(self.headers["id"])

    @property
    def task(self) -> str:
        """The task's name."""
        return str(self.headers["task"])


class TaskMonitor(ConsumerMixin):
    """
    The platform's task monitor: consumes the monitor queue, records each task, acks it.

    It stops once it has recorded *expected* messages.
    """

    def __init__(self, app: Celery, expected: int) -> None:
        self.app = app
        self.connection = app.connection(transport_options=app.conf.broker_transport_options)
        self.expected = expected
        self.recorded: list[MonitoredTask] = []

    def get_consumers(self, consumer_class: Any, channel: Any) -> list[Any]:
        """One consumer, of the monitor queue."""
        return [
            consumer_class(
                queues=[Queue(self.app.conf.PLATFORM_QUEUE_NAME)],
                callbacks=[self.on_message],
                accept=["pickle", "json"],
            )
        ]

    def on_message(self, body: Any, message: Message) -> None:
        """Record the task the message carries, then acknowledge it."""
        args, kwargs, _options = message.decode()
        headers = {name: message.headers.get(name) for name in MONITORED_HEADERS}
        self.recorded.append(MonitoredTask(headers, args, kwargs, dict(message.properties)))
        message.ack()
        if len(self.recorded) >= self.expected:
            self.should_stop = True


def monitor(app: Celery, expected: int) -> list[MonitoredTask]:
    """Run the platform's monitor in a thread until it has *expected* tasks; return them."""
    task_monitor = TaskMonitor(app, expected)
    thread = threading.Thread(target=task_monitor.run, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    task_monitor.should_stop = True
    task_monitor.connection.release()
    assert not thread.is_alive(), (
        f"the monitor recorded {len(task_monitor.recorded)} of {expected} tasks in {TIMEOUT} s: "
        f"{[(t.task, t.id) for t in task_monitor.recorded]}"
    )
    return task_monitor.recorded


def queue_is_empty(endpoint: SQSEndpoint, name: str) -> bool:
    """Tell whether the SQS queue *name* holds no message, visible or in flight."""
    attributes = endpoint.queue_attributes(name)
    return (
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


def seconds_after(moment: datetime, iso: str) -> float:
    """How many seconds the ISO 8601 time *iso* is after *moment*."""
    return (datetime.fromisoformat(iso) - moment).total_seconds()


def test_platform_sets_up_on_first_send_and_its_monitor_sees_each_task(
    sqs_endpoint: SQSEndpoint, queue_prefix: str
) -> None:
    """
    The platform's app is set up by its first send; its monitor reads every task, acked.

    After the first send_task, app.is_set_up is true and the work queues and the monitor
    queue exist. build_functional_tests(app, is_worker=False) passes (the checks of task
    modules and of each task are skipped: the platform has neither). The monitor records,
    for each task sent, its id, name, args, kwargs, retries 0, no parent, itself as root,
    no time limits, the eta of a countdown and the expiry, and the property creator_id
    given to send_task; it acks each message, and the monitor queue is then empty.
    """
    app = platform_app(sqs_endpoint, queue_prefix)
    try:
        assert not getattr(app, "is_set_up", False)
        sent_at = datetime.now(timezone.utc)
        project = app.send_task(
            "export.project", args=(1,), kwargs={"a": 2}, creator_id=42, countdown=5, expires=600
        )
        assert app.is_set_up is True
        message = app.send_task("msg.send", args=("hello",), creator_id=42)

        suite = unittest.defaultTestLoader.loadTestsFromTestCase(
            build_functional_tests(app, is_worker=False)
        )
        outcome = unittest.TestResult()
        suite.run(outcome)
        recorded = monitor(app, expected=2)
    finally:
        app.close()

    assert outcome.wasSuccessful(), outcome.failures + outcome.errors
    assert outcome.testsRun > 2
    assert sorted(test._testMethodName for test, _ in outcome.skipped) == [
        "test_every_task_reaches_a_work_queue",
        "test_task_modules_import",
    ]

    by_id = {task.id: task for task in recorded}
    assert sorted(by_id) == sorted([project.id, message.id])
    first, second = by_id[project.id], by_id[message.id]
    assert (first.task, first.args, first.kwargs) == ("export.project", [1], {"a": 2})
    assert (second.task, second.args, second.kwargs) == ("msg.send", ["hello"], {})
    for task in (first, second):
        assert task.headers["retries"] == 0
        assert task.headers["parent_id"] is None
        assert task.headers["root_id"] == task.id
        assert task.headers["timelimit"] == [None, None]
        assert task.properties["creator_id"] == 42
    assert 4.0 < seconds_after(sent_at, first.headers["eta"]) < 5.0 + TIMEOUT
    assert 599.0 < seconds_after(sent_at, first.headers["expires"]) < 600.0 + TIMEOUT
    assert second.headers["eta"] is None
    assert second.headers["expires"] is None

    monitor_queue = f"{queue_prefix}-platform.fifo"
    assert queue_is_empty(sqs_endpoint, monitor_queue)
    assert [m["headers"]["id"] for m in sqs_endpoint.drain(f"{queue_prefix}-export")] == [
        project.id
    ]
    assert [m["headers"]["id"] for m in sqs_endpoint.drain(f"{queue_prefix}-msg")] == [message.id]


# -- the export worker ------------------------------------------------------------------

EXPORT_WORKER = {
    "app/__init__.py": "",
    "app/celery.py": """
        from celery import Celery

        from cadasta.workertoolbox.conf import Config

        app = Celery()
        app.config_from_object(Config())
    """,
    "app/tasks.py": """
        import json
        import os

        from celery import chord, signals

        from cadasta.workertoolbox.utils import extract_followups

        from .celery import app


        @app.task(name="export.project", bind=True)
        def export_project(self, project_id):
            callback = combine.s().set(**extract_followups(self)).set(is_result=True)
            return chord([part.s(i) for i in range(3)], callback).apply_async().id


        @app.task(name="export.part")
        def part(number):
            return number * 10


        @app.task(name="export.combine")
        def combine(results):
            return {"parts": sorted(results), "total": sum(results)}


        @app.task(name="export.callback")
        def callback(value):
            return {"followed": value}


        # Not the export worker's: the test's record of every task message it publishes.
        @signals.after_task_publish.connect
        def record_publication(headers=None, **kwargs):
            with open(os.environ["PUBLISHED"], "a") as published:
                line = [headers["id"], headers["task"], headers["retries"]]
                published.write(json.dumps(line) + "\\n")
    """,
}


def result_db_variables(database_url: str) -> dict[str, str]:
    """The ``CELERY_RESULT_DB_*`` variables naming the test's database, as deployed."""
    url = make_url(database_url)
    variables = {
        "CELERY_RESULT_DB_USER": str(url.username),
        "CELERY_RESULT_DB_HOST": url.host or "127.0.0.1",
        "CELERY_RESULT_DB_PORT": str(url.port or 5432),
        "CELERY_RESULT_DB_NAME": str(url.database),
    }
    if url.password:
        variables["CELERY_RESULT_DB_PASS"] = str(url.password)
    return variables


def succeeded(database_url: str, task_id: str) -> Any:
    """The result PostgreSQL holds for *task_id*, which must have succeeded."""
    found = stored_result(database_url, task_id)
    assert found is not None, f"no result stored for {task_id}"
    assert found.status == "SUCCESS", found
    return found.result


def publications(path: Path) -> list[tuple[str, str, int]]:
    """The task messages the worker published: (id, task name, retries), in order."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(str(i), str(name), int(retries)) for i, name, retries in map(json.loads, lines)]


def test_export_worker_runs_a_chord_with_its_followups_and_the_monitor_sees_it_all(
    sqs_endpoint: SQSEndpoint, queue_prefix: str, database_url: str, tmp_path: Path
) -> None:
    """
    The export worker runs export.project's chord; the follow-up runs after its body.

    The platform sends export.project with the link export.callback to a worker started
    as `celery -A app worker -Q export,celery` from the export worker's layout. The three
    parts run, export.combine gets their results, and export.callback runs once, sent
    by combine when it finished, with combine's result. Every result is in PostgreSQL.
    The platform's monitor reads one copy of every task message (project, parts,
    chord_unlock, combine, callback), all under the project as root; the chord's body
    carries the option is_result as a property. Every queue is empty at the end.
    """
    project_dir = write_project(tmp_path / "export-worker", EXPORT_WORKER)
    published_path = tmp_path / "published.jsonl"
    variables = {
        "CELERY_BROKER_URL": sqs_endpoint.broker_url,
        "CELERY_QUEUE_PREFIX": queue_prefix,
        "CELERY_BROKER_TRANSPORT_OPTIONS": repr(FAST_POLLING),
        **result_db_variables(database_url),
        "PUBLISHED": str(published_path),
    }
    hostname = f"{queue_prefix}@export"
    arguments = ["-Q", "export,celery", "-l", "info", "--pool=solo", "--hostname", hostname]
    platform = platform_app(sqs_endpoint, queue_prefix)
    try:
        with project_worker(
            project_dir, "app", variables, arguments, tmp_path / "worker.log"
        ) as worker:
            worker.wait_for(f"{hostname} ready.", TIMEOUT)
            project = platform.send_task(
                "export.project",
                args=(7,),
                link=platform.signature("export.callback"),
                creator_id=42,
            )

            def callback_succeeded() -> str | None:
                for task_id, name, _ in publications(published_path):
                    found = stored_result(database_url, task_id)
                    if name == "export.callback" and found and found.status == "SUCCESS":
                        return task_id
                return None

            try:
                wait_for(callback_succeeded, TIMEOUT, "export.callback to succeed")
            except AssertionError as error:
                raise AssertionError(f"{error}; the worker's log:\n{worker.log}") from None
            work_queues = [f"{queue_prefix}-{name}" for name in ("export", "celery")]
            wait_for(
                lambda: all(queue_is_empty(sqs_endpoint, name) for name in work_queues),
                TIMEOUT,
                "the worker's queues to be empty",
            )
            assert worker.stop() == 0
        published = [(project.id, "export.project", 0), *publications(published_path)]
        recorded = monitor(platform, expected=len(published))
    finally:
        platform.close()

    assert "ERROR" not in worker.log, worker.log
    assert Counter((t.id, t.task, t.headers["retries"]) for t in recorded) == Counter(published)
    assert queue_is_empty(sqs_endpoint, f"{queue_prefix}-platform.fifo")
    names = Counter(task.task for task in recorded if task.task != "celery.chord_unlock")
    assert names == Counter(
        {"export.project": 1, "export.part": 3, "export.combine": 1, "export.callback": 1}
    )

    by_name = {task.task: task for task in recorded}
    parts = [task for task in recorded if task.task == "export.part"]
    combine, callback = by_name["export.combine"], by_name["export.callback"]
    assert all(task.headers["root_id"] == project.id for task in recorded)
    assert by_name["export.project"].properties["creator_id"] == 42
    assert sorted(task.args[0] for task in parts) == [0, 1, 2]
    assert all(task.headers["parent_id"] == project.id for task in parts)
    assert combine.properties.get("is_result") is True
    assert callback.headers["parent_id"] == combine.id
    assert sorted(combine.args[0]) == [0, 10, 20]
    combined = {"parts": [0, 10, 20], "total": 30}
    assert callback.args == [combined]

    assert succeeded(database_url, project.id) == combine.id
    assert sorted(succeeded(database_url, task.id) for task in parts) == [0, 10, 20]
    assert succeeded(database_url, combine.id) == combined
    assert succeeded(database_url, callback.id) == {"followed": combined}
