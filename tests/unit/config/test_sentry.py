from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from celery import Celery
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import Transport

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._masking import MASK
from cadasta.workertoolbox.config._sentry import init_sentry
from cadasta.workertoolbox.config._sentry_scrubbing import SecretScrubber
from cadasta.workertoolbox.exceptions import ConfigError
from tests.integration.services import FakeSentry

DSN = "https://public@example.invalid/1"
INSTALL = 'pip install "cadasta-workertoolbox[sentry]"'


class CapturingTransport(Transport):
    """A sentry-sdk transport that keeps the envelopes it is given, in memory."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        """Keep *envelope*."""
        self.envelopes.append(envelope)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The error events among the envelopes."""
        found = (envelope.get_event() for envelope in self.envelopes)
        return [dict(event) for event in found if event is not None]


class ExportFailed(Exception):
    """The failure of a test task."""


@pytest.fixture(autouse=True)
def _restore_sentry() -> Iterator[None]:
    """Close the client a test initialised and leave sentry-sdk without one."""
    yield
    sentry_sdk.get_client().close()
    sentry_sdk.Scope.get_global_scope().set_client(None)


@pytest.fixture
def transport() -> CapturingTransport:
    """An in-memory transport for sentry-sdk."""
    return CapturingTransport()


def test_init_sentry_sets_up_the_client(transport: CapturingTransport) -> None:
    """The client reports under the given name, environment and release."""
    init_sentry(DSN, "export-worker", "staging", "1.2.3", transport=transport)

    client = sentry_sdk.get_client()
    assert client.is_active()
    assert client.transport is transport
    assert client.options["server_name"] == "export-worker"
    assert client.options["environment"] == "staging"
    assert client.options["release"] == "1.2.3"
    assert client.get_integration(CeleryIntegration) is not None
    assert client.get_integration(LoggingIntegration) is not None


def test_init_sentry_keeps_the_sdk_defaults(transport: CapturingTransport) -> None:
    """Without name, environment and release, sentry-sdk's defaults apply."""
    init_sentry(DSN, None, None, None, transport=transport)

    options = sentry_sdk.get_client().options
    assert options["server_name"]  # the host name
    assert options["environment"] == "production"


def test_init_sentry_masks_the_dsn_it_hands_to_sentry(transport: CapturingTransport) -> None:
    """The DSN reaches sentry-sdk intact, but its repr (e.g. in debug output) is masked."""
    init_sentry(DSN, None, None, None, transport=transport)

    dsn = sentry_sdk.get_client().options["dsn"]
    assert dsn == DSN
    assert "public" not in repr(dsn)
    assert "public" not in repr(sentry_sdk.get_client().options)


def test_errors_logged_become_events(transport: CapturingTransport) -> None:
    """A record logged at ERROR with its exception becomes an event (LoggingIntegration)."""
    init_sentry(DSN, None, None, None, transport=transport)

    try:
        raise ExportFailed("the render failed")
    except ExportFailed:
        logging.getLogger("export").exception("could not export")
    sentry_sdk.flush()

    [event] = transport.events
    assert event["exception"]["values"][-1]["value"] == "the render failed"


@pytest.mark.parametrize("dsn", [None, ""])
def test_init_sentry_refuses_an_empty_dsn(dsn: str | None) -> None:
    """Asked to set up Sentry without a DSN, init_sentry names SENTRY_DSN and its variable."""
    with pytest.raises(ConfigError) as info:
        init_sentry(dsn, None, None, None)

    message = str(info.value)
    assert "SENTRY_DSN" in message
    assert "CELERY_SENTRY_DSN" in message
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.parametrize(
    ("dsn", "problems"),
    [
        pytest.param(DSN, 1, id="with-dsn"),
        pytest.param(None, 2, id="without-dsn"),
    ],
)
def test_a_missing_sentry_sdk_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, dsn: str | None, problems: int
) -> None:
    """Without sentry-sdk installed, the error says how to install it, and lists every problem."""
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)

    with pytest.raises(ConfigError) as info:
        init_sentry(dsn, None, None, None)

    assert len(info.value.problems) == problems
    assert "sentry-sdk is missing" in info.value.problems[-1]
    assert INSTALL in info.value.problems[-1]
    assert DSN not in str(info.value)


def test_config_with_a_dsn_but_no_sentry_sdk_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Config with SENTRY_DSN raises the install hint when sentry-sdk is missing."""
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)

    with pytest.raises(ConfigError, match="sentry-sdk is missing") as info:
        Config(environ={}, broker_url="memory://", SENTRY_DSN=DSN)

    assert DSN not in str(info.value)


@pytest.mark.parametrize(
    ("environ", "settings"),
    [
        pytest.param({}, {"SENTRY_DSN": DSN}, id="keyword"),
        pytest.param({"CELERY_SENTRY_DSN": DSN}, {}, id="environment"),
    ],
)
def test_setup_sentry_logging_defaults_to_true_with_a_dsn(
    environ: dict[str, str], settings: dict[str, Any]
) -> None:
    """A SENTRY_DSN turns SETUP_SENTRY_LOGGING on, and Config initialises sentry-sdk."""
    config = Config(environ=environ, broker_url="memory://", SENTRY_NAME="export-1", **settings)

    assert config.SETUP_SENTRY_LOGGING is True
    client = sentry_sdk.get_client()
    assert client.is_active()
    assert client.options["server_name"] == "export-1"


def test_setup_sentry_logging_is_off_without_a_dsn() -> None:
    """Without SENTRY_DSN, SETUP_SENTRY_LOGGING is false and sentry-sdk stays uninitialised."""
    config = Config(environ={}, broker_url="memory://")

    assert config.SETUP_SENTRY_LOGGING is False
    assert not sentry_sdk.get_client().is_active()


def test_setup_sentry_logging_without_a_dsn_fails() -> None:
    """SETUP_SENTRY_LOGGING without SENTRY_DSN is a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match="CELERY_SENTRY_DSN"):
        Config(environ={"CELERY_SETUP_SENTRY_LOGGING": "true"}, broker_url="memory://")


def test_the_dsn_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    """Neither repr(Config), Celery's view of the settings nor the logs show the DSN."""
    caplog.set_level(logging.DEBUG)

    config = Config(environ={}, broker_url="memory://", SENTRY_DSN=DSN)
    app = Celery("worker", set_as_current=False)
    app.config_from_object(config)

    assert config.SENTRY_DSN == DSN
    for shown in (repr(config), caplog.text, app.conf.humanize(with_defaults=False)):
        assert "public@" not in shown
    app.close()


#: A worker process: its app is configured by Config (which initialises sentry-sdk) before
#: the worker's modules are imported, in the order of ``celery -A app worker``.
#: sentry-sdk hooks Celery by replacing ``celery.app.trace.build_tracer``; a worker module
#: imported before that keeps the original, so this cannot run inside pytest's process,
#: where the other test modules have imported the worker already.
WORKER_PROCESS = """
import json, sys
import sentry_sdk
from celery import Celery
from sentry_sdk.transport import Transport
from cadasta.workertoolbox.conf import Config

assert "celery.worker.consumer.consumer" not in sys.modules

class CapturingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope):
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)

class ExportFailed(Exception):
    pass

app = Celery("worker", set_as_current=False)
app.config_from_object(Config(
    environ={},
    broker_url="memory://",
    result_backend="cache+memory://",
    queues=["export"],
    imports=(),
    broker_transport_options={"polling_interval": 0.05},
    SENTRY_DSN=sys.argv[1],
))
# Config initialised sentry-sdk; keep its events in memory instead of sending them.
client = sentry_sdk.get_client()
client.transport.kill()
client.transport = transport = CapturingTransport(client.options)

@app.task(name="export.render")
def render(project):
    raise ExportFailed(f"cannot render {project}")

from celery.contrib.testing.worker import start_worker

with start_worker(app, perform_ping_check=False, pool="solo", queues=["export"]):
    result = render.delay("project-1")
    try:
        result.get(timeout=10)
    except ExportFailed:
        pass
sentry_sdk.flush()
json.dump({"task_id": result.id, "events": transport.events}, sys.stdout, default=str)
"""


def test_a_failing_task_reaches_sentry() -> None:
    """A task that fails in a real worker produces a Sentry event carrying its exception."""
    process = subprocess.run(
        [sys.executable, "-c", WORKER_PROCESS, DSN],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    output = json.loads(process.stdout)

    [event] = output["events"]
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ExportFailed"
    assert exception["value"] == "cannot render project-1"
    assert event["exception"]["values"][0]["mechanism"]["type"] == "celery"
    assert event["tags"]["celery_task_id"] == output["task_id"]
    assert event["transaction"] == "export.render"
    assert DSN not in process.stderr
    frames = exception["stacktrace"]["frames"]
    assert frames
    assert not any("vars" in frame for frame in frames)


def _fail_with(project: str) -> None:
    """Raise, with *project* among the frame's variables but not in the message."""
    secret_project = project
    raise ExportFailed(f"cannot render ({len(secret_project)})")


@pytest.mark.parametrize("include", [False, True])
def test_frame_variables_are_off_unless_turned_on(
    transport: CapturingTransport, include: bool
) -> None:
    """
    Frames carry no variables by default: they held passwords and the tasks' arguments.

    include_local_variables (SENTRY_INCLUDE_LOCAL_VARIABLES) turns them on.
    """
    init_sentry(DSN, None, None, None, include_local_variables=include, transport=transport)

    try:
        _fail_with(f"project-{6 * 7}")  # not as such in the source lines sent
    except ExportFailed:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()

    [event] = transport.events
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert any("vars" in frame for frame in frames) is include
    assert ("project-42" in repr(event)) is include
    assert sentry_sdk.get_client().options["include_local_variables"] is include


def test_every_event_and_transaction_goes_through_the_scrubber(
    transport: CapturingTransport,
) -> None:
    """The secrets given, and the DSN's key, are masked in what is sent."""
    init_sentry(DSN, None, None, None, secrets=["known-S3cret"], transport=transport)

    options = sentry_sdk.get_client().options
    assert isinstance(options["before_send"], SecretScrubber)
    assert options["before_send_transaction"] is options["before_send"]
    sentry_sdk.capture_message("failed with known-S3cret, key public, via redis://u:pw@h/0")
    sentry_sdk.flush()

    [event] = transport.events
    assert event["message"] == f"failed with {MASK}, key {MASK}, via redis://u:{MASK}@h/0"


def test_config_hands_its_secrets_and_the_switch_to_sentry(fake_sentry: FakeSentry) -> None:
    """
    Config masks its own secrets in every event, and passes SENTRY_INCLUDE_LOCAL_VARIABLES.

    The library's public defaults are not masked: 'cadasta' would hide module names.
    """
    Config(
        environ={
            "CELERY_SENTRY_DSN": fake_sentry.dsn,
            "CELERY_RESULT_DB_PASS": "Db-S3cret",
            "CELERY_SENTRY_INCLUDE_LOCAL_VARIABLES": "true",
        },
        broker_url="sqs://AKIA:Broker-S3cret@127.0.0.1:9",
        broker_transport_options={"aws_session_token": "Session-T0ken"},
        imports=(),
    )
    assert sentry_sdk.get_client().options["include_local_variables"] is True
    sentry_sdk.capture_message("Db-S3cret Broker-S3cret Session-T0ken cadasta.workertoolbox")
    sentry_sdk.flush()

    fake_sentry.wait_for(lambda events: len(events) == 1, timeout=10)
    [event] = fake_sentry.events
    assert event["message"] == f"{MASK} {MASK} {MASK} cadasta.workertoolbox"
