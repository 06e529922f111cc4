"""
A secret given to the configuration shows nowhere a process prints or logs.

One distinctive secret is the result database's password (``CELERY_RESULT_DB_PASS``),
the password (the AWS secret key) of ``CELERY_BROKER_URL`` and the public key of
``CELERY_SENTRY_DSN``, on loopback port 9 where nothing listens, so that nothing leaves
the machine. A real worker starting at DEBUG level on the SQS endpoint, in a subprocess
and in a thread, and the ``celery … toolbox show`` and ``check`` commands, never print it.

The rest (``repr``, Celery's listings, conformance failures, ``ConfigError``) is in
``tests/unit/test_secrets_nowhere.py``.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk
from celery import Celery, _state
from celery.contrib.testing.worker import start_worker

from cadasta.workertoolbox.conf import Config
from tests.cli_apps.runner import REPO_ROOT, clean_environ, run_toolbox

from .services import AWS_KEY, SQSEndpoint, free_port

SECRET = f"Sup3rS3cret-{uuid.uuid4().hex}"
DSN = f"https://{SECRET}@127.0.0.1:9/1"
STARTUP_APP = "tests.integration.apps.startup_app"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def secret_variables(endpoint: SQSEndpoint, prefix: str) -> dict[str, str]:
    """The ``CELERY_*`` variables of a worker on *endpoint* that hold the secret thrice."""
    return {
        "CELERY_BROKER_URL": f"sqs://{AWS_KEY}:{SECRET}@{endpoint.host}:{endpoint.port}",
        "CELERY_QUEUE_PREFIX": prefix,
        "CELERY_QUEUES": "['export', 'msg']",
        "CELERY_RESULT_DB_PASS": SECRET,
        "CELERY_RESULT_DB_HOST": "127.0.0.1",
        "CELERY_RESULT_DB_PORT": str(free_port()),
        "CELERY_SENTRY_DSN": DSN,
        "CELERY_IMPORTS": "()",
    }


def assert_hidden(*texts: str) -> None:
    """Assert that the secret appears in none of *texts*."""
    for text in texts:
        assert SECRET not in text, text


# -- a worker's start-up --------------------------------------------------------------------


def run_worker_until_ready(
    variables: dict[str, str], arguments: list[str], folder: Path, hostname: str
) -> str:
    """
    Start ``celery -A startup_app worker``, wait until it is ready, stop it.

    Returns:
        Everything it wrote: standard output, standard error and every file in *folder*
        (its ``--logfile``, the library's log files).

    """
    stdout, stderr = folder / "stdout", folder / "stderr"
    command = [sys.executable, "-m", "celery", "-A", STARTUP_APP, "worker", "--pool=solo",
               "-Q", "export,celery", "--hostname", hostname, *arguments]  # fmt: skip
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=clean_environ(variables), stdout=out, stderr=err
        )

    def written() -> str:
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        return "\n".join(path.read_text(errors="replace") for path in files)

    try:
        deadline = time.monotonic() + START_TIMEOUT
        while f"{hostname} ready." not in written():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not get ready ({process.poll()}):\n{written()}")
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    return written()


@pytest.mark.parametrize(
    "logging_by",
    [
        pytest.param("celery", id="celery-logfile"),
        pytest.param("library", id="library-file-logging"),
    ],
)
def test_worker_start_up_logs_hold_no_secret(
    sqs_endpoint: SQSEndpoint, queue_prefix: str, tmp_path: Path, logging_by: str
) -> None:
    """
    A `celery worker` starting at DEBUG level logs no secret.

    Neither on standard output and error, nor in its --logfile, nor, with
    SETUP_FILE_LOGGING, in the library's info.log and error.log.
    """
    variables = secret_variables(sqs_endpoint, queue_prefix)
    folder = tmp_path / "output"
    folder.mkdir()
    arguments = ["--loglevel=DEBUG"]
    if logging_by == "celery":
        arguments.append(f"--logfile={folder / 'worker.log'}")
    else:
        variables |= {"CELERY_SETUP_FILE_LOGGING": "true", "CELERY_LOG_DIR": str(folder / "logs")}
    written = run_worker_until_ready(variables, arguments, folder, f"{queue_prefix}@secrets")
    assert f"{queue_prefix}-export" in written or logging_by == "library"
    # The broker's address is logged (Celery names it by the library's SQS transport).
    assert "cadasta.workertoolbox.publish.sqs:Transport://" in written
    assert_hidden(written)
    if logging_by == "library":
        assert (folder / "logs" / "info.log").read_text()


@pytest.fixture
def _process_state_restored() -> Iterator[None]:
    """Restore what a worker in a thread and Sentry change in this process."""
    default, current = _state.default_app, _state._tls.current_app
    join_will_block = _state.task_join_will_block()
    yield
    sentry_sdk.get_client().close(timeout=0)
    sentry_sdk.get_global_scope().set_client(None)
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
    # Celery would otherwise take the root logger over, caplog's handler with it.
    app.config_from_object(
        Config(
            environ=secret_variables(sqs_endpoint, queue_prefix), worker_hijack_root_logger=False
        )
    )
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
