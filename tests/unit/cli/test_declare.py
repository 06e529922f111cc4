import time
from collections.abc import Callable

import pytest
from celery import Celery
from kombu.exceptions import OperationalError
from kombu.transport import memory

from cadasta.workertoolbox._chord_unlock import CHORD_UNLOCK_TASK
from cadasta.workertoolbox.cli._declare import declare, failure_message
from tests.cli_apps.runner import invoke, run_toolbox
from tests.integration.services import free_port

pytestmark = pytest.mark.usefixtures("memory_queues")

SECRET = "Br0ker-Secret-9q"
#: Config's transport options give up after a few quick attempts: seconds, not minutes.
#: On SQS, botocore's own retries of the refused connection come first: with the floor's
#: botocore (1.34.101, legacy retry mode: 4 retries, each after a random pause of up to
#: 1, 2, 4 and 8 s) a declare took 5.6, 9.4 and 11.5 s (up to 15 s of pauses); with
#: today's, about 2.7 s. A broker that hangs the command would take minutes.
FAIL_FAST_SECONDS = 30


def test_declare_prints_what_it_declared() -> None:
    """`declare` on a reachable broker: the queues, the chord_unlock cap, exit 0."""
    completed = run_toolbox("good_app", "declare", variables={"CELERY_BROKER_URL": "memory://"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    lines = completed.stdout.splitlines()
    assert lines[:2] == [
        "Declared on the broker at 'memory://':",
        "  exchange 'task_exchange' (topic), transport 'memory'",
    ]
    assert [line.split()[0] for line in lines[3:7]] == ["celery", "platform.fifo", "export", "msg"]
    assert lines[-1] == "Capped celery.chord_unlock at 43200 retries (CHORD_UNLOCK_MAX_RETRIES)."


@pytest.mark.parametrize(
    "url",
    [f"sqs://key:{SECRET}@127.0.0.1:{{port}}", f"amqp://guest:{SECRET}@127.0.0.1:{{port}}//"],
    ids=["sqs", "amqp"],
)
def test_an_unreachable_broker_fails_fast_in_one_line(url: str) -> None:
    """Nothing listens: one line naming the masked URL, exit 1, within seconds."""
    url = url.format(port=free_port())
    started = time.monotonic()
    completed = run_toolbox("good_app", "declare", variables={"CELERY_BROKER_URL": url})
    elapsed = time.monotonic() - started
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith("Error: Cannot declare the queues: the broker at ")
    assert url.replace(SECRET, "********") in completed.stderr
    assert "CELERY_BROKER_URL" in completed.stderr
    assert SECRET not in completed.stderr
    assert elapsed < FAIL_FAST_SECONDS


def test_an_app_without_config_is_refused() -> None:
    """`declare` sets up only apps configured with Config, as the worker start-up does."""
    completed = run_toolbox("plain_app", "declare")
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith("Error: declare sets up only apps configured with Config")


def test_declare_refuses_an_app_without_config(capsys: pytest.CaptureFixture[str]) -> None:
    """In process: a plain Celery app is not declared; exit 1 with one line."""
    app = Celery("plain", set_as_current=False)
    app.conf.broker_url = "memory://"
    try:
        assert declare(app) == 1
    finally:
        app.close()
    assert memory.Transport.global_state.bindings == {}
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1


def test_declare_sets_the_app_up(make_app: Callable[..., Celery]) -> None:
    """In process: every binding exists on the broker afterwards and chord_unlock is capped."""
    app = make_app(imports=(), CHORD_UNLOCK_MAX_RETRIES=7)
    result = invoke(app, "declare")
    assert result.exit_code == 0
    bindings = {tuple(key) for key in memory.Transport.global_state.bindings}
    assert ("platform.fifo", "task_exchange", "#") in bindings
    assert app.tasks[CHORD_UNLOCK_TASK].max_retries == 7
    assert "Capped celery.chord_unlock at 7 retries" in result.stdout


def test_declare_reports_an_unreachable_broker(
    make_app: Callable[..., Celery], capsys: pytest.CaptureFixture[str]
) -> None:
    """In process: the failure is one line on standard error and the status is 1."""
    app = make_app(
        imports=(),
        broker_url=f"amqp://guest:{SECRET}@127.0.0.1:1//",
        broker_transport_options={"max_retries": 0},
    )
    assert declare(app) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("Error: Cannot declare the queues: the broker at ")
    assert SECRET not in captured.err


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OperationalError(f"login refused for guest:{SECRET}"),
            "Cannot declare the queues: the broker at 'amqp://guest:********@h:1//' cannot be "
            "reached or refused the connection (login refused for guest:********). Check that "
            "it runs and is reachable from here, and check broker_url (the variable "
            "CELERY_BROKER_URL).",
        ),
        (
            ValueError(f"Port could not be cast to integer value as '{SECRET[:6]}'"),
            "Cannot declare the queues: kombu cannot read broker_url "
            "'amqp://guest:********@h:1//' (ValueError). Give it as "
            "scheme://user:password@host:port, with '/', '@', ':' and '%' in the password "
            "%-escaped (the variable CELERY_BROKER_URL).",
        ),
        (
            RuntimeError(f"AccessDenied for {SECRET}\nmore details"),
            "Declaring the queues on the broker at 'amqp://guest:********@h:1//' failed: "
            "RuntimeError: AccessDenied for ********. Check broker_url (the variable "
            "CELERY_BROKER_URL) and the permissions of its credentials.",
        ),
    ],
    ids=["unreachable", "unreadable-url", "other"],
)
def test_failure_message(make_app: Callable[..., Celery], error: Exception, expected: str) -> None:
    """Each kind of failure says what to check; the password never shows."""
    app = make_app(imports=(), broker_url=f"amqp://guest:{SECRET}@h:1//")
    assert failure_message(error, app) == expected
