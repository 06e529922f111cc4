import os
import socket
import subprocess
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from celery import Celery
from kombu import Exchange, Queue

from cadasta.workertoolbox._chord_unlock import annotation
from cadasta.workertoolbox.cli._show import readable, show, shown_value, suggestion
from tests.cli_apps.runner import invoke, run_toolbox

#: Secrets as a deployment sets them; none of them, nor their fragments, may be shown.
VARIABLES = {
    "CELERY_RESULT_DB_PASS": "Zq7/Db-Secret@4xP",
    "CELERY_BROKER_URL": "sqs://key:Br0ker-Secret-9q@127.0.0.1:9",
    "CELERY_TASK_TRACK_STARTD": "true",
}
#: Config initialises Sentry with this DSN; its port is a listener of the test's own.
DSN = "http://Dsn-Secret-7k@127.0.0.1:{port}/1"
FRAGMENTS = ("Db-Secret", "Db%2FSecret", "Br0ker-Secret", "Dsn-Secret")


@dataclass
class Shown:
    """The outcome of `toolbox show`, and whether anything reached the Sentry DSN."""

    completed: subprocess.CompletedProcess[str]
    sentry_contacted: bool

    @property
    def stdout(self) -> str:
        """What show printed."""
        return self.completed.stdout


@pytest.fixture(scope="module")
def shown() -> Shown:
    """
    `celery -A tests.cli_apps.good_app toolbox show` with secrets and a misspelt variable.

    Sentry is initialised, with a DSN on a loopback port where the test listens: it must
    send nothing, since nothing goes wrong.
    """
    with socket.create_server(("127.0.0.1", 0)) as listener:
        dsn = DSN.format(port=listener.getsockname()[1])
        completed = run_toolbox(
            "good_app", "show", variables={**VARIABLES, "CELERY_SENTRY_DSN": dsn}
        )
        listener.setblocking(False)
        try:
            listener.accept()[0].close()
        except BlockingIOError:
            contacted = False
        else:
            contacted = True
    return Shown(completed, contacted)


def test_show_succeeds(shown: Shown) -> None:
    """`show` exits 0 and prints nothing on standard error for an app configured with Config."""
    assert shown.completed.returncode == 0, shown.completed.stderr
    assert shown.completed.stderr == ""
    assert not shown.sentry_contacted
    assert "App 'good' (configured with Config)" in shown.stdout


def test_show_masks_every_secret(shown: Shown) -> None:
    """RESULT_DB_PASS, the broker's password and SENTRY_DSN appear nowhere, only masks do."""
    for fragment in FRAGMENTS:
        assert fragment not in shown.stdout + shown.completed.stderr
    assert "  RESULT_DB_PASS = '********'\n" in shown.stdout
    assert "  SENTRY_DSN = '********'\n" in shown.stdout
    assert "  broker_url = 'sqs://key:********@127.0.0.1:9" in shown.stdout
    assert "  result_backend = 'db+postgresql+psycopg2://worker:********@localhost" in shown.stdout


def test_show_names_functions_instead_of_their_address(shown: Shown) -> None:
    """The chord_unlock cap's on_failure is shown by its qualified name, with no address."""
    assert (
        "'on_failure': cadasta.workertoolbox._chord_unlock._fail_chord_body}}\n"
    ) in shown.stdout
    assert " at 0x" not in shown.stdout


def test_show_lists_settings_that_differ_from_celerys_defaults(
    shown: Shown,
) -> None:
    """Settings Config changes are listed; those at Celery's default (imports=()) are not."""
    assert "  task_default_exchange_type = 'topic'\n" in shown.stdout
    assert "  task_track_started = True\n" in shown.stdout
    assert "  imports = " not in shown.stdout
    assert "  QUEUE_PREFIX = 'dev'\n" in shown.stdout


def test_show_suggests_the_setting_a_misspelt_variable_meant(
    shown: Shown,
) -> None:
    """CELERY_TASK_TRACK_STARTD is traced to its variable, with a did-you-mean."""
    assert (
        "  task_track_startd = 'true' (from CELERY_TASK_TRACK_STARTD): Celery has no such "
        "setting and ignores it; did you mean task_track_started (CELERY_TASK_TRACK_STARTED)?"
    ) in shown.stdout


def test_show_prints_the_queues_with_their_sqs_names(
    shown: Shown,
) -> None:
    """The table gives each queue's prefixed SQS name, key, FIFO and consumer."""
    lines = shown.stdout.split("Queues: ", 1)[1].splitlines()
    assert lines[0] == "exchange 'task_exchange' (topic), transport 'sqs', queue_name_prefix 'dev-'"
    rows = [line.split() for line in lines[2:]]
    assert rows[0][:4] == ["celery", "dev-celery", "'celery'", "no"]
    assert rows[1] == ["platform.fifo", "dev-platform.fifo", "'#'", "yes", "platform", "monitor"]
    assert rows[2] == ["export", "dev-export", "'export'", "no", "workers", "of", "export"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SENTRY_DSN", "https://key@sentry.example.org/1", "'********'"),
        ("RESULT_DB_PASS", "pw", "'********'"),
        ("result_backend", "db+postgresql://u:pw@h/d", "'db+postgresql://u:********@h/d'"),
        ("broker_url", "amqp://u:pw@h:5672//", "'amqp://u:********@h:5672//'"),
        # kombu cannot parse this URL; Celery's censoring fails and the library's masks it.
        ("broker_url", "sqs://k:Pa/ss@wo:rd@h:1", "'sqs://k:********@h:1'"),
        ("broker_transport_options", {"sentry_dsn": "https://k@h/1"}, "{'sentry_dsn': '********'}"),
        ("imports", ("proj.tasks",), "('proj.tasks',)"),
        # Celery's censoring would mask it for its name; a flag hides nothing.
        ("database_create_tables_at_setup", False, "False"),
        # A password given as a number is still masked, for its name.
        ("RESULT_DB_PASS", 12345, "'********'"),
    ],
)
def test_shown_value_masks_secrets(name: str, value: object, expected: str) -> None:
    """Celery's censoring plus the library's: DSNs, passwords, URLs, nested dict values."""
    assert shown_value(name, value) == expected


def test_shown_value_names_the_chord_unlock_cap() -> None:
    """task_annotations reads as Python: the function is given by its qualified name."""
    shown = shown_value("task_annotations", {"celery.chord_unlock": annotation(5)})
    assert shown.split() == [
        "{'celery.chord_unlock':",
        "{'max_retries':",
        "5,",
        "'on_failure':",
        "cadasta.workertoolbox._chord_unlock._fail_chord_body}}",
    ]


class _Plain:
    """A class that keeps Python's default repr."""

    def method(self) -> None:
        """A method, shown by its class's qualified name."""


class _Described:
    """A class with a repr of its own."""

    def __repr__(self) -> str:
        return "<described>"


def _outer() -> Callable[[], None]:
    def inner() -> None:
        """A nested function."""

    return inner


_Pair = namedtuple("_Pair", "left right")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (annotation, "cadasta.workertoolbox._chord_unlock.annotation"),
        (_outer(), f"{__name__}._outer.<locals>.inner"),
        (lambda: None, f"{__name__}.<lambda>"),
        (len, "builtins.len"),
        (_Plain().method, f"{__name__}._Plain.method"),
        ([].append, "list.append"),
        (_Plain(), f"<{__name__}._Plain object>"),
        ([len, (abs, 1)], "[builtins.len, (builtins.abs, 1)]"),
        ({"on": {"f": abs}}, "{'on': {'f': builtins.abs}}"),
        # Reprs of their own are kept: classes, named tuples, ranges, strings.
        (_Plain, f"<class '{__name__}._Plain'>"),
        (_Described(), "<described>"),
        (_Pair(1, 2), "_Pair(left=1, right=2)"),
        (range(3), "range(0, 3)"),
        ("text", "'text'"),
        (None, "None"),
    ],
)
def test_readable(value: object, expected: str) -> None:
    """Functions are named and default reprs lose their address; other reprs are kept."""
    assert repr(readable(value)) == expected


@pytest.mark.parametrize(("value", "expected"), [(0o640, "0o640"), (True, "True"), ("x", "'x'")])
def test_shown_value_shows_permissions_in_octal(value: object, expected: str) -> None:
    """LOG_FILE_MODE is shown as it is written, in octal: 0o600, not 384."""
    assert shown_value("LOG_FILE_MODE", value) == expected


def test_shown_value_wraps_long_values() -> None:
    """A value longer than a line is pretty-printed on several lines."""
    value = tuple(f"project.module_{index}.tasks" for index in range(8))
    assert shown_value("imports", value).count("\n") == 7


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("task_track_startd", "task_track_started"),
        ("worker_concurency", "worker_concurrency"),
        ("QUEUE_PREFX", "QUEUE_PREFIX"),
        ("completely_unrelated", None),
    ],
)
def test_suggestion(name: str, meant: str | None) -> None:
    """Lowercase names are matched to Celery's settings, uppercase ones to the library's."""
    assert suggestion(name) == meant


def test_unknown_names(make_app: Callable[..., Celery], capsys: pytest.CaptureFixture[str]) -> None:
    """Names nobody reads are listed, traced to their variable when there is one."""
    environ = {"CELERY_TASK_ACKS_LAT": "yes"}
    app = make_app(environ=environ, imports=(), QUEUE_PREFX="prod", completely_unrelated=1)
    assert show(app, environ=environ) == 0
    out = capsys.readouterr().out
    assert (
        "  task_acks_lat = 'yes' (from CELERY_TASK_ACKS_LAT): Celery has no such setting and "
        "ignores it; did you mean task_acks_late (CELERY_TASK_ACKS_LATE)?"
    ) in out
    assert (
        "  QUEUE_PREFX = 'prod': the library has no such variable and ignores it; did you "
        "mean QUEUE_PREFIX (CELERY_QUEUE_PREFIX)?"
    ) in out
    assert (
        "  completely_unrelated = 1: Celery has no such setting and ignores it; check its "
        "spelling, or remove it"
    ) in out


def test_celerys_own_variables_take_precedence(
    make_app: Callable[..., Celery],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    CELERY_BROKER_URL wins over the configuration in Celery; show says so, masked.

    The configured URL is an AMQP one too: a memory:// URL would pin broker_transport to
    the library's memory transport, which Celery would then use with any URL.
    """
    app = make_app(imports=(), broker_url="amqp://guest@rabbit//")
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://u:Amqp-Secret@h//")
    monkeypatch.setenv("CELERY_RESULT_BACKEND", "")
    assert show(app, environ=os.environ) == 0
    out = capsys.readouterr().out
    assert "Amqp-Secret" not in out
    assert (
        "  broker_url = 'amqp://u:********@h:5672//'  (from CELERY_BROKER_URL, which Celery "
        "prefers to the configuration)"
    ) in out
    assert "transport 'amqp'" in out


def test_an_app_without_config(capsys: pytest.CaptureFixture[str]) -> None:
    """A bare Celery app: a warning, and empty sections that say why."""
    app = Celery("bare", set_as_current=False)
    try:
        assert show(app, environ={}) == 0
    finally:
        app.close()
    captured = capsys.readouterr()
    assert captured.err.startswith("Warning: app 'bare' was not configured with ")
    assert "Celery settings that differ from Celery's defaults:\n  (none)\n" in captured.out
    assert "  (none: the app was not configured with Config)\n" in captured.out
    assert "neither Celery settings" not in captured.out
    assert "celery  celery         'celery'     -     Celery's own tasks" in captured.out


def test_show_command(make_app: Callable[..., Celery]) -> None:
    """`toolbox show` runs show on the app Celery's command line loaded."""
    app = make_app(imports=(), queues=["geo"])
    result = invoke(app, "show")
    assert result.exit_code == 0
    assert "  geo            geo            'geo'        -     workers of geo" in result.stdout


def test_queues_outside_queues_are_flagged(make_app: Callable[..., Celery]) -> None:
    """A queue added to task_queues by hand is not one of QUEUES: show says so."""
    app = make_app(imports=())
    extra = Queue("extra", Exchange("task_exchange", type="topic"), routing_key="extra")
    app.conf.task_queues = (*app.conf.task_queues, extra)
    result = invoke(app, "show")
    assert "workers of extra (not in QUEUES)" in result.stdout
