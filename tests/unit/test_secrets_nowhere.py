"""
A secret given to the configuration shows nowhere.

One distinctive secret is the result database's password (``RESULT_DB_PASS``), the
password of ``broker_url`` and the public key of ``SENTRY_DSN`` (on loopback port 9, where
nothing listens, so that nothing leaves the machine). It must not appear in
``repr(Config)``, in Celery's listings of the settings, in the ``repr`` of anything the
configuration hands Celery, in the conformance suite's failures, in the output of
``celery … toolbox show``, ``check``, ``declare`` and ``provision-result-db``, nor in any
``ConfigError``.

:data:`PLANTED` is the one table of the forms a secret takes in a value the library does
not know is secret (URL passwords, with blanks too; query parameters; libpq's
``password=…``; secret-named keys of a dict); :data:`SINKS` the places each must not
reach: log lines and tracebacks, the events sent to Sentry (a fake Sentry endpoint on
loopback keeps them), and ``toolbox show``.

The subprocesses (a real worker's start-up logs and Sentry events, the ``celery``
command) are in ``tests/integration/test_secrets_nowhere.py``.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import logging
import logging.config
import pprint
import sys
import threading
import unittest
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sentry_sdk
from celery import Celery

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._environment import parse_value
from cadasta.workertoolbox.config._logging import logging_config
from cadasta.workertoolbox.config._result_backend import render_result_backend
from cadasta.workertoolbox.config._secrets import MASK
from cadasta.workertoolbox.exceptions import ConfigError, VisibilityTimeoutError
from cadasta.workertoolbox.provisioning import provision_result_db
from cadasta.workertoolbox.tests import build_functional_tests
from tests.cli_apps.runner import invoke
from tests.integration.services import FakeSentry, free_port

#: Distinctive, and made of characters a URL carries as they are.
SECRET = f"Sup3rS3cret-{uuid.uuid4().hex}"
BROKER_URL = f"sqs://AKIAEXAMPLE:{SECRET}@127.0.0.1:9"
DSN = f"https://{SECRET}@127.0.0.1:9/1"
SECRET_ENVIRON = {
    "CELERY_RESULT_DB_PASS": SECRET,
    "CELERY_BROKER_URL": BROKER_URL,
    "CELERY_SENTRY_DSN": DSN,
}
#: The broker URL with session tokens in its query string, as kombu's SQS transport reads
#: them.
TOKENS_BROKER_URL = (
    f"sqs://AKIAEXAMPLE:{SECRET}@127.0.0.1:9/?sts_token={SECRET}&aws_session_token={SECRET}"
)


def assert_hidden(*texts: str) -> None:
    """Assert that the secret appears in none of *texts*."""
    for text in texts:
        assert SECRET not in text, text


@pytest.fixture(autouse=True)
def _sentry_closed() -> Iterator[None]:
    """Close the Sentry client a test's Config started, and leave sentry-sdk without one."""
    yield
    sentry_sdk.get_client().close(timeout=0)
    sentry_sdk.Scope.get_global_scope().set_client(None)


@pytest.fixture
def config() -> Config:
    """A configuration holding the secret in RESULT_DB_PASS, broker_url and SENTRY_DSN."""
    built = Config(environ=SECRET_ENVIRON, queues=["export", "msg"], imports=())
    assert built.RESULT_DB_PASS == SECRET
    assert SECRET in built["broker_url"]
    assert SECRET in built["result_backend"]
    assert sentry_sdk.get_client().is_active()
    return built


@pytest.fixture
def make_secret_app() -> Iterator[Callable[..., Celery]]:
    """Build apps from a configuration holding the secret; close them afterwards."""
    apps: list[Celery] = []

    def make(main: str = "secret", **settings: Any) -> Celery:
        settings.setdefault("imports", ())
        app = Celery(main, set_as_current=False)
        app.config_from_object(Config(environ=SECRET_ENVIRON, **settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def test_the_repr_of_the_config(config: Config) -> None:
    """repr(config), str(config) and its pprint show every secret masked."""
    assert_hidden(repr(config), str(config), pprint.pformat(config), pprint.pformat(dict(config)))
    assert f"'RESULT_DB_PASS': '{MASK}'" in repr(config)


def _walk(value: Any, seen: set[int] | None = None, depth: int = 0) -> Iterator[Any]:
    """Yield *value* and everything reachable from it: items, attributes, closures."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 8 or isinstance(value, (str, bytes, int, float, type)):
        yield value
        return
    seen.add(id(value))
    yield value
    children: list[Any] = []
    if isinstance(value, dict):
        children += [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children += list(value)
    if isinstance(value, functools.partial):
        children += [value.func, value.args, value.keywords]
    if callable(value):
        children += [cell.cell_contents for cell in getattr(value, "__closure__", None) or ()]
        children += [getattr(value, "__self__", None), getattr(value, "__defaults__", None)]
    children += list(getattr(value, "__dict__", {}).values())
    for slot in getattr(type(value), "__slots__", ()):
        children.append(getattr(value, slot, None))
    for child in children:
        yield from _walk(child, seen, depth + 1)


def test_the_repr_of_every_value_handed_to_celery(config: Config) -> None:
    """Nothing in the settings, nor reachable from them (routers included), shows the secret."""
    walked = list(_walk(dict(config)))
    assert len(walked) > 50
    assert_hidden(*(repr(value) for value in walked))
    (router,) = config["task_routes"]
    assert_hidden(repr(router("export.render", (), {}, {})), repr(router("report.build")))


def test_celerys_listings(make_secret_app: Callable[..., Celery]) -> None:
    """
    app.conf.humanize(), with defaults or not, censored or not, shows no secret.

    Nor do the table of settings, the app's queues and router, or the broker connection.
    """
    app = make_secret_app()
    assert app.conf.RESULT_DB_PASS == SECRET
    connection = app.connection_for_write()
    try:
        assert_hidden(
            app.conf.humanize(),
            app.conf.humanize(with_defaults=True),
            app.conf.humanize(with_defaults=True, censored=False),
            repr(app.conf),
            pprint.pformat(app.conf.table(with_defaults=True, censored=False)),
            repr(app.amqp.queues),
            repr(app.amqp.router.routes),
            repr(connection),
            connection.as_uri(),
        )
    finally:
        connection.release()


def _failures(app: Celery, *, is_worker: bool = True) -> str:
    """Run the conformance suite on *app*; return its report, failures and all."""
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(
        build_functional_tests(app, is_worker=is_worker)
    )
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    assert not result.wasSuccessful()
    return stream.getvalue()


def test_conformance_failure_messages(make_secret_app: Callable[..., Celery]) -> None:
    """
    The suite's failures on apps holding the secret never show it.

    One app breaks rules with a result backend (Redis, the secret as its password) and a
    task no queue receives; a plain Celery app, not configured with Config, breaks them all
    with the secret in its broker and backend URLs.
    """
    broken = make_secret_app(
        result_backend=f"redis://:{SECRET}@127.0.0.1:9/0",
        task_track_started=False,
        task_default_queue="other",
    )
    # Config refuses it; set past Config, it fails a check.
    broken.conf.task_default_exchange_type = "direct"

    @broken.task(name="report.build", shared=False)  # type: ignore[untyped-decorator]
    def build() -> None:
        """Reach no work queue."""

    plain = Celery("plain", set_as_current=False)
    plain.conf.update(
        broker_url=BROKER_URL,
        result_backend=f"db+postgresql://worker:{SECRET}@127.0.0.1:9/cadasta",
        SENTRY_DSN=DSN,
    )
    try:
        reports = [_failures(broken), _failures(broken, is_worker=False), _failures(plain)]
    finally:
        plain.close()
    assert all("FAIL" in report for report in reports)
    assert "result_backend=" in reports[0]
    assert_hidden(*reports)


@pytest.mark.parametrize(
    ("result_backend", "broker_url"),
    [
        pytest.param(f"redis://:{SECRET}@127.0.0.1:9/0", BROKER_URL, id="url-passwords"),
        pytest.param(
            f"redis://127.0.0.1:9/0?password={SECRET}", TOKENS_BROKER_URL, id="query-strings"
        ),
    ],
)
def test_toolbox_show_and_check_in_process(
    result_backend: str, broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    `toolbox show`, `check` (text and JSON) and `declare`'s error print no secret.

    Secrets in passwords and in query strings; misspelt variables (CELERY_BROKER_UR,
    CELERY_RESULT_BACKEN), which show lists with a suggestion, hold URLs with passwords.
    """
    environ = {
        **SECRET_ENVIRON,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_BROKER_UR": broker_url,
        "CELERY_RESULT_BACKEN": f"db+postgresql://worker:{SECRET}@127.0.0.1:9/cadasta",
    }
    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)
    app = Celery("secret", set_as_current=False)
    app.config_from_object(Config(environ=environ, result_backend=result_backend, imports=()))
    try:
        outputs = [
            invoke(app, "show"),
            invoke(app, "check"),
            invoke(app, "check", "--json"),
            invoke(app, "declare"),
        ]
    finally:
        app.close()
    assert [result.exit_code for result in outputs] == [0, 1, 1, 1]
    json.loads(outputs[2].output)
    assert "broker_ur = " in outputs[0].output
    assert "did you mean result_backend" in outputs[0].output
    assert outputs[3].output.startswith("Error: ")
    assert "the queues" in outputs[3].output
    assert_hidden(*(result.output for result in outputs))


@pytest.mark.parametrize(
    "admin_url",
    [
        pytest.param(
            f"postgresql://owner@127.0.0.1:{free_port()}/cadasta?password={SECRET}",
            id="query-password",
        ),
        pytest.param(
            f"postgresql://owner:{SECRET}@{SECRET}@127.0.0.1:{free_port()}/cadasta",
            id="unescaped-at-sign",
        ),
    ],
)
def test_toolbox_provision_result_db_in_process(
    make_secret_app: Callable[..., Celery], admin_url: str
) -> None:
    """
    `provision-result-db` prints no secret of --admin-url.

    Neither a ?password= nor the half of a password after an unescaped '@', which the
    driver took for the host name and quoted in its error.
    """
    result = invoke(make_secret_app(), "provision-result-db", "--admin-url", admin_url)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert_hidden(result.output)


def _messages(*builders: Callable[[], object]) -> list[str]:
    """Run each builder, which must raise ConfigError; return the messages."""
    messages = []
    for number, build in enumerate(builders):
        try:
            build()
        except ConfigError as error:
            messages.append(str(error))
        else:
            pytest.fail(f"builder {number} raised nothing")
    return messages


def test_config_error_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors about values that hold the secret show it masked, or not at all."""
    env = dict(SECRET_ENVIRON)
    transport_options = f"{{'predefined_queues': {{'export': {{'secret_access_key': '{SECRET}'"
    engine_options = f"{{'connect_args': {{'password': '{SECRET}'}}"
    messages = _messages(
        # Templates holding the password, as a keyword and in CELERY_RESULT_BACKEND.
        lambda: Config(environ=env, result_backend=f"db+postgresql://u:{SECRET}@h/{{0.NOPE}}"),
        lambda: Config(environ=env, result_backend=f"db+postgresql://u:{SECRET}@h/{{0"),
        lambda: Config(environ=env, result_backend=f"db+postgresql://u:{SECRET}@h/x".encode()),
        lambda: Config(
            environ={**env, "CELERY_RESULT_BACKEND": f"db+postgresql://u:{SECRET}@{{0.X}}/d"}
        ),
        lambda: Config(
            environ={
                **env,
                "CELERY_RESULT_BACKEND": f"db+postgresql://{{0.RESULT_DB_USER}}:{SECRET}@h/d",
            }
        ),
        # Variables that do not parse, holding the secret.
        lambda: Config(environ={**env, "CELERY_BROKER_TRANSPORT_OPTIONS": transport_options}),
        lambda: Config(environ={**env, "CELERY_DATABASE_ENGINE_OPTIONS": engine_options}),
        lambda: Config(environ={**env, "CELERY_CACHE_BACKEND_OPTIONS": BROKER_URL}),
        lambda: Config(environ={**env, "CELERY_RESULT_DB_PASS": f"{SECRET}\udcff"}),
        lambda: Config(environ=env, broker_transport_options=[("secret_access_key", SECRET)]),
        lambda: Config(environ={**env, "CELERY_REDIS_PASS": SECRET}).set("REDIS_PASS", 0),
        lambda: parse_value("CELERY_RESULT_DB_PASS", SECRET, 0),
        lambda: render_result_backend(f"db+postgresql://u:{SECRET}@h/{{0:d}}", object()),
        # Settings that contradict the broker URL, or a DSN Sentry cannot use.
        lambda: Config(environ=env, broker_transport="amqp"),
        lambda: Config(
            environ={**env, "CELERY_BROKER_URL": f"amqp://u:{SECRET}@h//"}, broker_transport="sqs"
        ),
        lambda: Config(environ={**env, "CELERY_SENTRY_DSN": f"{SECRET}@127.0.0.1:9/1"}),
        lambda: Config(environ={**env, "CELERY_SENTRY_DSN": f"https://{SECRET}@127.0.0.1:0x/1"}),
        lambda: Config(environ=env, queues="export", RESULT_DB_PORT="x", SETUP_FILE_LOGGING=1),
        # A secret holding '/', unescaped in the broker URL, as a keyword and a variable.
        lambda: Config(
            environ={name: value for name, value in env.items() if name != "CELERY_BROKER_URL"},
            broker_url=f"sqs://AKIAEXAMPLE:{SECRET}/x@127.0.0.1:9",
        ),
        lambda: Config(environ={**env, "CELERY_BROKER_URL": f"sqs://AKIA:x/{SECRET}@h:9"}),
        # Secrets in query strings, and a password with an unescaped '@'.
        lambda: Config(
            environ={**env, "CELERY_RESULT_BACKEND": f"db+postgresql://u@h/d?password={SECRET}"}
        ),
        lambda: provision_result_db(f"mysql://owner@h/cadasta?password={SECRET}", "worker"),
        lambda: provision_result_db(f"postgresql://owner:{SECRET}@{SECRET}@h:9/cadasta", "w"),
    )
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    messages += _messages(lambda: Config(environ=env), lambda: Config(environ=env, queues=[1]))
    assert len(messages) == 25
    assert_hidden(*messages)
    assert sum(MASK in message for message in messages) >= 20


def test_a_task_refused_when_sent(make_secret_app: Callable[..., Celery]) -> None:
    """
    A task refused at send time (due after the visibility timeout) names no secret.

    The refusal happens in the library's SQS channel, on the broker URL holding the
    secret. Nothing listens on its port: the queues are predefined (kombu then lists
    none when the channel opens) and the send declares none, so the channel refuses the
    task before any call to SQS.
    """
    predefined = {
        f"dev-{queue}": {"url": f"http://127.0.0.1:9/000000000000/dev-{queue}"}
        for queue in ("celery", "platform.fifo", "export", "msg")
    }
    app = make_secret_app(
        broker_transport_options={"visibility_timeout": 60, "predefined_queues": predefined}
    )
    with pytest.raises(VisibilityTimeoutError) as caught:
        app.send_task("export.render", countdown=3600, declare=[])
    assert caught.value.task_name == "export.render"
    assert_hidden(str(caught.value), repr(caught.value))


class _HeaderRecorder(http.server.BaseHTTPRequestHandler):
    """Answer every GET with 204, keeping the request's headers."""

    received: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        """Keep the headers, answer 204."""
        self.received.append(str(self.headers))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


def test_no_trace_header_carries_the_dsn() -> None:
    """
    With Sentry on, neither an HTTP request nor a task message carries its public key.

    sentry-sdk would add trace headers to both; their "baggage" names the DSN's public key,
    which then reached SQS with every request and botocore's DEBUG log lines.
    """
    environ = {"CELERY_SENTRY_DSN": DSN, "CELERY_RESULT_DB_PASS": SECRET}
    _HeaderRecorder.received.clear()
    app = Celery("traced", set_as_current=False)
    app.config_from_object(Config(environ=environ, broker_url="memory://", imports=()))
    server = http.server.HTTPServer(("127.0.0.1", 0), _HeaderRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert sentry_sdk.get_client().is_active()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with urllib.request.urlopen(url, timeout=5):
            pass
        app.send_task("export.render", args=(1,))
        with app.connection_for_read() as connection:
            message = connection.default_channel.basic_get("export")
    finally:
        server.shutdown()
        server.server_close()
        app.close()
    assert message is not None
    assert len(_HeaderRecorder.received) == 1
    assert_hidden(*_HeaderRecorder.received, repr(message.headers), message.body.decode())
    assert "baggage" not in _HeaderRecorder.received[0].lower()


# -- the forms of a secret, and every sink ----------------------------------------------------

#: A secret in every form the library must recognise without being told it is one.
PLANTED: dict[str, object] = {
    "url-password": f"redis://worker:{SECRET}@127.0.0.1:9/0",
    "url-password-with-blanks": f"amqp://guest:{SECRET} and {SECRET}@127.0.0.1:9//",
    "query-password": f"redis://127.0.0.1:9/0?password={SECRET}",
    "query-session-tokens": TOKENS_BROKER_URL,
    "libpq-password": f"host=127.0.0.1 port=9 password={SECRET} dbname=cadasta",
    "libpq-quoted-password": f"host=127.0.0.1 password='{SECRET} and {SECRET}' dbname=cadasta",
    "dict-with-secret-keys": {
        "password": SECRET,
        "options": {"aws_secret_access_key": SECRET, "sts_token": SECRET},
        "region": "eu-west-1",
    },
}


def _logged(planted: object, tmp_path: Path) -> str:
    """Log *planted* as an argument and in a traceback with file logging; return the output."""
    console = io.StringIO()
    config = logging_config(str(tmp_path), use_color=False)
    config["handlers"]["console"]["stream"] = console
    logging.config.dictConfig(config)
    logger = logging.getLogger("cadasta.test.planted")
    logger.info("planted: %s", planted)
    logger.info("planted: %(planted)s", {"planted": planted})
    try:
        raise ValueError(f"cannot use {planted}")
    except ValueError:
        logger.exception("failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    files = [(tmp_path / name).read_text() for name in ("info.log", "error.log")]
    assert "planted: " in files[0]
    return "\n".join([console.getvalue(), *files])


def _sent_to_sentry(planted: object, fake_sentry: FakeSentry, *, local_variables: bool) -> str:
    """
    Report *planted* to Sentry as a breadcrumb, an argument, an extra and an exception.

    The configuration does not hold the secret: only what the library recognises in any
    text is masked. Returns the payloads of the envelopes the fake endpoint received.
    """
    Config(
        environ={"CELERY_SENTRY_DSN": fake_sentry.dsn},
        broker_url="memory://",
        imports=(),
        SENTRY_INCLUDE_LOCAL_VARIABLES=local_variables,
    )
    logger = logging.getLogger("cadasta.test.planted")
    logger.setLevel(logging.INFO)
    try:
        logger.info("breadcrumb: %s", planted)
        held = planted  # a frame variable
        try:
            raise ValueError(f"cannot use {held}")
        except ValueError:
            logger.exception("failed: %s", planted, extra={"planted": planted})
        sentry_sdk.flush(timeout=10)
    finally:
        logger.setLevel(logging.NOTSET)
    fake_sentry.wait_for(lambda events: len(events) >= 1, timeout=10)
    return b"\n".join(envelope.payloads for envelope in fake_sentry.envelopes).decode()


def _shown(planted: object) -> str:
    """Print `toolbox show` of an app given *planted* under a name the library does not know."""
    app = Celery("planted", set_as_current=False)
    app.config_from_object(
        Config(environ={}, broker_url="memory://", imports=(), my_planted=planted)
    )
    try:
        result = invoke(app, "show")
    finally:
        app.close()
    assert "my_planted = " in result.output
    return result.output


SINKS: dict[str, Callable[[object, Path, FakeSentry], str]] = {
    "log-files-and-console": lambda planted, tmp_path, _: _logged(planted, tmp_path),
    "sentry": lambda planted, _, sentry: _sent_to_sentry(planted, sentry, local_variables=False),
    "sentry-with-local-variables": lambda planted, _, sentry: _sent_to_sentry(
        planted, sentry, local_variables=True
    ),
    "toolbox-show": lambda planted, *_: _shown(planted),
}


@pytest.mark.parametrize("sink", SINKS)
@pytest.mark.parametrize("planted", PLANTED)
def test_a_planted_secret_reaches_no_sink(
    planted: str, sink: str, tmp_path: Path, fake_sentry: FakeSentry
) -> None:
    """Each form of a secret is masked in log lines, Sentry events and `toolbox show`."""
    output = SINKS[sink](PLANTED[planted], tmp_path, fake_sentry)
    assert output
    assert_hidden(output)
