"""
A secret given to the configuration shows nowhere a process prints, logs or reports.

One distinctive secret is the result database's password (``CELERY_RESULT_DB_PASS``),
the password (the AWS secret key) of the broker URL and a session token in
``CELERY_BROKER_TRANSPORT_OPTIONS``; another is the key of ``CELERY_SENTRY_DSN``, a fake
Sentry endpoint on loopback that keeps the envelopes it receives, so that nothing leaves
the machine; a third is given to tasks as arguments.

:data:`WORKERS` is the one table of the ways a real ``celery worker`` (a subprocess, at
DEBUG level) meets them: starting (with Celery's ``--logfile`` or the library's file
logging), failing to start with the result database down, running a task given secret
arguments, a task that reads ``app.conf.broker_url``, a worker given its broker with
``celery -b``. Every sink is checked for every one: standard output and error, the log
files, and every envelope sent to Sentry. The ``celery … toolbox`` commands, and a worker
in a thread, follow.

The rest (``repr``, Celery's listings, conformance failures, ``ConfigError``, the forms a
secret takes in a text) is in ``tests/unit/test_secrets_nowhere.py``.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from celery import Celery, _state
from celery.contrib.testing.worker import start_worker
from sqlalchemy.engine import make_url

from cadasta.workertoolbox.conf import Config
from tests.cli_apps.runner import REPO_ROOT, clean_environ, run_toolbox

from .services import AWS_KEY, FakeSentry, SQSEndpoint, free_port

SECRET = f"Sup3rS3cret-{uuid.uuid4().hex}"
#: The key of the DSN: it must travel in the request's auth header, and nowhere else.
DSN_KEY = f"dsnkey{uuid.uuid4().hex}"
#: Given to tasks as arguments.
TASK_SECRET = f"Task-Argument-{uuid.uuid4().hex}"
DSN = f"https://{SECRET}@127.0.0.1:9/1"
STARTUP_APP = "tests.integration.apps.startup_app"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
EVENT_TIMEOUT = 20.0


def assert_hidden(*texts: str, secrets: tuple[str, ...] = (SECRET, DSN_KEY)) -> None:
    """Assert that none of *secrets* (the configuration's, by default) is in *texts*."""
    for text in texts:
        for secret in secrets:
            assert secret not in text, text


@dataclass(frozen=True)
class Worker:
    """
    One way a worker meets the secrets: its variables, options, the tasks it is sent.

    Attributes:
        variables: Added to (or replacing) the secret variables.
        arguments: Added to the ``worker`` command's.
        broker_option: Give the broker with ``celery -b`` instead of CELERY_BROKER_URL.
        tasks: ``(name, args, kwargs)`` of the tasks sent once it is ready.
        local_variables: Turn Sentry's frame variables on (SENTRY_INCLUDE_LOCAL_VARIABLES).
        exits: It exits by itself (it cannot start) instead of getting ready.
        events: The types of the exceptions the events sent to Sentry must report.

    """

    variables: dict[str, str] = field(default_factory=dict)
    arguments: tuple[str, ...] = ()
    broker_option: bool = False
    tasks: tuple[tuple[str, tuple[Any, ...], dict[str, Any]], ...] = ()
    local_variables: bool = False
    exits: bool = False
    events: tuple[str, ...] = ()


REFUSE = ("export.refuse", (TASK_SECRET, {"token": TASK_SECRET}), {"password": TASK_SECRET})
REACH_BROKER = ("export.reach_broker", (), {})

WORKERS = {
    "start-up-with-celerys-logfile": Worker(arguments=("--logfile={folder}/worker.log",)),
    "start-up-with-the-librarys-file-logging": Worker(
        variables={"CELERY_SETUP_FILE_LOGGING": "true", "CELERY_LOG_DIR": "{folder}/logs"}
    ),
    "result-database-down-at-start": Worker(
        variables={
            "CELERY_RESULT_DB_PORT": "{free_port}",
            "CELERY_DATABASE_CREATE_TABLES_AT_SETUP": "true",
            "CELERY_RESULT_BACKEND_ALWAYS_RETRY": "false",
        },
        exits=True,
        events=("OperationalError",),
    ),
    "result-database-down-at-start-with-frame-variables": Worker(
        variables={
            "CELERY_RESULT_DB_PORT": "{free_port}",
            "CELERY_DATABASE_CREATE_TABLES_AT_SETUP": "true",
            "CELERY_RESULT_BACKEND_ALWAYS_RETRY": "false",
            "CELERY_SENTRY_INCLUDE_LOCAL_VARIABLES": "true",
        },
        local_variables=True,
        exits=True,
        events=("OperationalError",),
    ),
    "task-given-secret-arguments": Worker(tasks=(REFUSE,), events=("ExportRefused",)),
    "task-reading-the-broker-url": Worker(tasks=(REACH_BROKER,), events=("ConnectionError",)),
    "task-reading-the-broker-url-with-frame-variables": Worker(
        variables={"CELERY_SENTRY_INCLUDE_LOCAL_VARIABLES": "true"},
        tasks=(REACH_BROKER,),
        local_variables=True,
        events=("ConnectionError",),
    ),
    "broker-given-with-celery-b": Worker(
        broker_option=True,
        tasks=(REFUSE, REACH_BROKER),
        events=("ExportRefused", "ConnectionError"),
    ),
}


def secret_variables(
    endpoint: SQSEndpoint, prefix: str, database_url: str, dsn: str
) -> dict[str, str]:
    """
    The ``CELERY_*`` variables of a worker on *endpoint* that hold the secret.

    The result database is *database_url*'s server, as its user, with the secret as
    password (the test server trusts local connections).
    """
    database = make_url(database_url)
    return {
        "CELERY_BROKER_URL": f"sqs://{AWS_KEY}:{SECRET}@{endpoint.host}:{endpoint.port}",
        "CELERY_BROKER_TRANSPORT_OPTIONS": f"{{'aws_session_token': '{SECRET}'}}",
        "CELERY_QUEUE_PREFIX": prefix,
        "CELERY_QUEUES": "['export', 'msg']",
        "CELERY_RESULT_DB_USER": database.username or "postgres",
        "CELERY_RESULT_DB_PASS": SECRET,
        "CELERY_RESULT_DB_HOST": database.host or "127.0.0.1",
        "CELERY_RESULT_DB_PORT": str(database.port or 5432),
        "CELERY_RESULT_DB_NAME": str(database.database),
        "CELERY_SENTRY_DSN": dsn,
        "CELERY_IMPORTS": "()",
    }


# -- a worker ---------------------------------------------------------------------------------


class WorkerRun:
    """A ``celery -A startup_app worker`` subprocess whose output goes to *folder*."""

    def __init__(self, folder: Path, command: list[str], variables: dict[str, str]) -> None:
        self.folder = folder
        with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=clean_environ(variables), stdout=out, stderr=err
            )

    def written(self) -> str:
        """Everything it wrote: standard output and error, and every file in its folder."""
        files = sorted(path for path in self.folder.rglob("*") if path.is_file())
        return "\n".join(path.read_text(errors="replace") for path in files)

    def wait_until(self, text: str | None) -> None:
        """Wait until it writes *text*, or, when *text* is ``None``, until it exits."""
        deadline = time.monotonic() + START_TIMEOUT
        while (self.process.poll() is None) if text is None else (text not in self.written()):
            if text is not None and self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.poll()}):\n{self.written()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the worker did not get to {text!r}:\n{self.written()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop it with SIGTERM (a warm shutdown, which flushes Sentry), or kill it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def sender(endpoint: SQSEndpoint, prefix: str) -> Celery:
    """An app that sends tasks to the workers' queues (it holds no secret, reports nothing)."""
    app = Celery("sender", set_as_current=False)
    app.config_from_object(
        Config(
            environ={},
            broker_url=endpoint.broker_url,
            QUEUE_PREFIX=prefix,
            queues=["export", "msg"],
            result_backend="cache+memory://",
            imports=(),
        )
    )
    return app


@pytest.mark.parametrize("worker", WORKERS)
def test_a_worker_shows_no_secret_and_sends_none_to_sentry(
    sqs_endpoint: SQSEndpoint, queue_prefix: str, database_url: str, tmp_path: Path, worker: str
) -> None:
    """
    Whatever the worker meets, no secret reaches its output, its log files or Sentry.

    No secret of the configuration in standard output and error, Celery's --logfile, the
    library's info.log and error.log. No secret, and no task argument, in any part of
    any envelope sent to Sentry (frames, breadcrumbs, extra with sys.argv, contexts):
    the DSN's key only where sentry-sdk authenticates (the request's auth header, the
    envelope's trace header). The events report what failed; their frames carry no
    variables unless SENTRY_INCLUDE_LOCAL_VARIABLES turns them on (then the
    configuration's secrets are masked in them, but not the tasks' arguments).
    """
    scenario = WORKERS[worker]
    folder = tmp_path / "output"
    folder.mkdir()
    hostname = f"{queue_prefix}@secrets"
    with FakeSentry(key=DSN_KEY) as sentry:
        variables = secret_variables(sqs_endpoint, queue_prefix, database_url, sentry.dsn)
        for name, value in scenario.variables.items():
            variables[name] = value.format(folder=folder, free_port=free_port())
        options: list[str] = []
        if scenario.broker_option:
            options = ["-b", variables.pop("CELERY_BROKER_URL")]
        arguments = [argument.format(folder=folder) for argument in scenario.arguments]
        command = [sys.executable, "-m", "celery", "-A", STARTUP_APP, *options, "worker",
                   "--pool=solo", "-Q", "export,celery", "--hostname", hostname,
                   "--loglevel=DEBUG", *arguments]  # fmt: skip
        run = WorkerRun(folder, command, variables)
        try:
            run.wait_until(None if scenario.exits else f"{hostname} ready.")
            if scenario.tasks:
                app = sender(sqs_endpoint, queue_prefix)
                try:
                    for name, args, kwargs in scenario.tasks:
                        app.send_task(name, args=args, kwargs=kwargs)
                finally:
                    app.close()
            sentry.wait_for(lambda events: len(events) >= len(scenario.events), EVENT_TIMEOUT)
        finally:
            run.stop()
        envelopes = sentry.envelopes

    written = run.written()
    if not scenario.exits:
        # The broker's URL is shown, its secret masked (by Celery).
        assert f"{AWS_KEY}:**@{sqs_endpoint.host}:{sqs_endpoint.port}" in written
    if worker == "start-up-with-celerys-logfile":
        assert f"{queue_prefix}-export" in written
    if scenario.exits:
        assert "Unrecoverable error" in written
    assert_hidden(written)
    events = [event for envelope in envelopes for event in envelope.events]
    reported = {value["type"] for event in events for value in event["exception"]["values"]}
    assert set(scenario.events) <= reported
    for envelope in envelopes:
        header = json.dumps({**envelope.header, "trace": {
            key: value for key, value in envelope.header.get("trace", {}).items()
            if key != "public_key"
        }})  # fmt: skip
        assert_hidden(
            envelope.payloads.decode(errors="replace"),
            header,
            secrets=(SECRET, DSN_KEY, TASK_SECRET),
        )
        assert f"sentry_key={DSN_KEY}" in envelope.http_headers["X-Sentry-Auth"]
    for event in events:
        frames = [
            frame
            for value in event["exception"]["values"]
            for frame in value.get("stacktrace", {}).get("frames", [])
        ]
        assert frames
        assert any("vars" in frame for frame in frames) is scenario.local_variables


@pytest.fixture
def _process_state_restored() -> Iterator[None]:
    """Restore what a worker in a thread and Sentry change in this process."""
    default, current = _state.default_app, _state._tls.current_app
    join_will_block = _state.task_join_will_block()
    yield
    sentry_sdk.get_client().close(timeout=0)
    sentry_sdk.Scope.get_global_scope().set_client(None)
    _state.set_default_app(default)
    _state._set_current_app(current)
    _state._set_task_join_will_block(join_will_block)


@pytest.mark.usefixtures("_process_state_restored")
def test_worker_in_a_thread_logs_no_secret(
    sqs_endpoint: SQSEndpoint, queue_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker started in a thread logs no secret at DEBUG level, tracebacks included."""
    caplog.set_level(logging.DEBUG)
    app = Celery("secrets", set_as_current=False)
    variables = secret_variables(
        sqs_endpoint, queue_prefix, f"postgresql://postgres@127.0.0.1:{free_port()}/x", DSN
    )
    # Celery would otherwise take the root logger over, caplog's handler with it.
    app.config_from_object(Config(environ=variables, worker_hijack_root_logger=False))
    assert sentry_sdk.get_client().is_active()
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=["export"], loglevel="DEBUG"
        ):
            assert app.is_set_up is True
    finally:
        app.close()
    assert len(caplog.records) > 10
    handler = logging.StreamHandler()
    assert_hidden(caplog.text, *(handler.format(record) for record in caplog.records))


# -- the toolbox command --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app_module", "arguments", "status"),
    [
        ("good_app", ["show"], 0),
        ("good_app", ["check"], 0),
        ("broken_app", ["check"], 1),
        ("broken_app", ["check", "--json"], 1),
    ],
)
def test_toolbox_show_and_check_print_no_secret(
    app_module: str, arguments: list[str], status: int
) -> None:
    """
    `celery -A APP toolbox show` and `check` print the secret nowhere.

    The secret is also in variables of settings Celery knows (CELERY_REDIS_PASSWORD) and
    of names it does not (CELERY_MY_API_TOKEN), and in a result backend URL.
    """
    variables = {
        "CELERY_RESULT_DB_PASS": SECRET,
        "CELERY_BROKER_URL": f"sqs://{AWS_KEY}:{SECRET}@127.0.0.1:9",
        "CELERY_SENTRY_DSN": DSN,
        "CELERY_REDIS_PASSWORD": SECRET,
        "CELERY_MY_API_TOKEN": SECRET,
    }
    completed = run_toolbox(app_module, *arguments, variables=variables)
    assert completed.returncode == status, completed.stderr
    assert completed.stdout
    assert_hidden(completed.stdout, completed.stderr)


def test_an_app_whose_configuration_fails_prints_no_secret() -> None:
    """When Config refuses the configuration, Celery's report of the error shows no secret."""
    variables = {
        "CELERY_RESULT_DB_PASS": SECRET,
        "CELERY_BROKER_URL": f"amqp://guest:{SECRET}@127.0.0.1:9//",
        "CELERY_BROKER_TRANSPORT": "sqs",
        "CELERY_RESULT_BACKEND": f"db+postgresql://{{0.RESULT_DB_USER}}:{SECRET}@h/x",
        "CELERY_SENTRY_DSN": DSN,
    }
    completed = run_toolbox("good_app", "show", variables=variables)
    assert completed.returncode != 0
    assert "ConfigError" in completed.stderr
    assert "broker_transport='sqs' contradicts broker_url" in completed.stderr
    assert_hidden(completed.stdout, completed.stderr)
