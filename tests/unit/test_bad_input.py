"""
The catalogue of configuration mistakes, and property tests on any input.

Every mistake is a :class:`ConfigError` that names the setting or environment variable,
shows the bad value (secrets masked), and says what is accepted; several mistakes make
one error that lists them all. Whatever a configuration is given, by keyword or by
environment, the only exception that escapes is :class:`ConfigError`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sentry_sdk
from celery.app.defaults import NAMESPACES, flatten
from hypothesis import given, settings
from hypothesis import strategies as st
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from cadasta.workertoolbox.conf import LIBRARY_VARIABLES, Config
from cadasta.workertoolbox.config import _logging
from cadasta.workertoolbox.config._environment import parse_value
from cadasta.workertoolbox.config._secrets import MASK, looks_secret
from cadasta.workertoolbox.config._validation import check_queue_names, sqs_queue_name
from cadasta.workertoolbox.exceptions import ConfigError

#: A secret some cases carry; no message may show it.
SECRET = "Sup3rS3cret-catalogue-5b1f"
MASKED = repr(MASK)
DSN = f"https://{SECRET}@127.0.0.1:9/1"
INSTALL = 'pip install "cadasta-workertoolbox[sentry]"'


@dataclass(frozen=True)
class Case:
    """
    A mistake, and what its error must say.

    Args:
        named: The setting or environment variable the message names.
        shown: The bad value as the message shows it, masked if secret.
        accepted: A phrase of what is accepted, or what to do.
        settings: The keywords given to Config.
        environ: The environment Config reads.
        hidden: Modules made unimportable, as when an extra is not installed.

    """

    named: str
    shown: str
    accepted: str
    settings: dict[str, Any] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()


def case(id: str, named: str, shown: str, accepted: str, **kwargs: Any) -> Any:
    """A row of the catalogue, with its test id."""
    return pytest.param(Case(named, shown, accepted, **kwargs), id=id)


LIST = "give a list of queue names"
SQS_CHARS = "which accepts only ASCII letters, digits, '-' and '_'"
WHOLE = "must be a whole number of at least 0"
RENDER = "Refer to variables as {0.RESULT_DB_USER}"
PORT = "give a whole number from 1 to 65535"
RETRY = "must be a number of seconds from 0 to 300"
VISIBILITY = "must be a number of seconds above 0"
#: An AWS secret key holding '/', unescaped: kombu would read part of it as the host.
SLASHED_URL = f"sqs://AKIAEXAMPLE:{SECRET[:9]}/{SECRET[9:]}@sqs.eu-west-1.amazonaws.com"

CATALOGUE = [
    # -- queue names --------------------------------------------------------------------
    case("queue-empty", "QUEUES", "is empty", "remove it or name the queue",
         settings={"queues": ["export", ""]}),
    case("queue-not-a-string", "QUEUES", "queue name 5 ", "queue names are strings",
         settings={"queues": ["export", 5]}),
    case("queue-bytes", "QUEUES", "b'msg'", "queue names are strings",
         settings={"queues": [b"msg"]}),
    case("queue-duplicated", "QUEUES", "'export'", "List each queue once",
         settings={"queues": ["export", "msg", "export"]}),
    case("queue-same-name-on-sqs", "QUEUES", "'a!b'", "List each queue once",
         settings={"queues": ["a_b", "a!b"]}),
    case("queue-non-ascii", "QUEUES", "'exporté'", SQS_CHARS,
         settings={"queues": ["exporté"]}),
    case("queue-with-a-space", "QUEUES", "'ex port'", SQS_CHARS,
         settings={"queues": ["ex port"]}),
    case("queue-with-a-tab", "QUEUES", "'ex\\tport'", SQS_CHARS,
         settings={"queues": ["ex\tport"]}),
    case("queue-star-wildcard", "QUEUES", "'export*'",
         "Use the part of the task names before the first dot",
         settings={"queues": ["export*"]}),
    case("queue-hash-wildcard", "QUEUES", "'#'", "e.g. 'export' for 'export.*'",
         settings={"queues": ["#"]}),
    case("queue-with-a-dot", "QUEUES", "'export.pdf'", "Use 'export' or 'export_pdf'",
         settings={"queues": ["export.pdf"]}),
    case("queue-too-long-with-the-prefix", "QUEUES", repr("q" * 77),
         "SQS accepts at most 80", settings={"queues": ["q" * 77]}),
    case("queue-too-long-with-a-long-prefix", "QUEUE_PREFIX", repr("p" * 60 + "-"),
         "Shorten the name or the prefix (QUEUE_PREFIX",
         settings={"QUEUE_PREFIX": "p" * 60, "queues": ["export_and_render_all"]}),
    case("queues-a-bare-string", "QUEUES", "'export'", LIST, settings={"queues": "export"}),
    case("QUEUES-a-bare-string", "QUEUES", "'msg'", LIST, settings={"QUEUES": "msg"}),
    case("queues-none", "QUEUES", "None", LIST, settings={"queues": None}),
    case("queues-a-dict", "QUEUES", "{'export': 1}", LIST, settings={"queues": {"export": 1}}),
    case("queues-and-QUEUES", "queues", "['a']", "give only QUEUES",
         settings={"queues": ["a"], "QUEUES": ["b"]}),
    case("queue-prefix-and-its-old-name", "QUEUE_NAME_PREFIX", "'old'",
         "give only QUEUE_PREFIX", settings={"QUEUE_NAME_PREFIX": "old", "QUEUE_PREFIX": "x"}),
    # -- prefixes and the monitor queue -------------------------------------------------
    case("queue-prefix-not-a-string", "QUEUE_PREFIX", "5", "a string such as 'dev'",
         settings={"QUEUE_PREFIX": 5}),
    case("queue-prefix-refused-by-sqs", "QUEUE_PREFIX", "'my env'", "change QUEUE_PREFIX",
         settings={"QUEUE_PREFIX": "my env", "queues": ["export"]}),
    case("platform-queue-is-a-work-queue", "PLATFORM_QUEUE_NAME", "'export'",
         "neither in QUEUES nor 'celery'", settings={"PLATFORM_QUEUE_NAME": "export"}),
    case("platform-queue-is-celery", "PLATFORM_QUEUE_NAME", "'celery'",
         "such as the default 'platform.fifo'", settings={"PLATFORM_QUEUE_NAME": "celery"}),
    case("platform-queue-not-a-string", "PLATFORM_QUEUE_NAME", "5",
         "leave it at its default 'platform.fifo'", settings={"PLATFORM_QUEUE_NAME": 5}),
    case("platform-queue-refused-by-sqs", "PLATFORM_QUEUE_NAME", "'monitor queue'", SQS_CHARS,
         settings={"PLATFORM_QUEUE_NAME": "monitor queue"}),
    case("env-prefix-not-a-string", "ENV_PREFIX", "5", "a string such as 'CELERY_'",
         settings={"ENV_PREFIX": 5}),
    case("platform-queue-becomes-a-work-queue-on-sqs", "PLATFORM_QUEUE_NAME", "'ex.port'",
         "such as the default 'platform.fifo'",
         settings={"queues": ["ex-port"], "PLATFORM_QUEUE_NAME": "ex.port"}),
    case("platform-queue-becomes-a-work-queue-under-the-prefix-option", "PLATFORM_QUEUE_NAME",
         "becomes 'x-ex-port' on SQS", "such as the default 'platform.fifo'",
         settings={"queues": ["ex-port"], "PLATFORM_QUEUE_NAME": "ex.port",
                   "broker_transport_options": {"queue_name_prefix": "x-"}}),
    # -- the exchange -------------------------------------------------------------------
    case("exchange-type-direct", "task_default_exchange_type", "'direct'",
         "Remove the setting", settings={"task_default_exchange_type": "direct"}),
    case("exchange-type-from-the-environment", "CELERY_TASK_DEFAULT_EXCHANGE_TYPE",
         "task_default_exchange_type='fanout'", "only a topic exchange delivers",
         environ={"CELERY_TASK_DEFAULT_EXCHANGE_TYPE": "fanout"}),
    case("exchange-empty", "task_default_exchange", "''",
         "such as the default 'task_exchange'", settings={"task_default_exchange": ""}),
    case("exchange-none", "task_default_exchange", "None",
         "such as the default 'task_exchange'", settings={"task_default_exchange": None}),
    # -- the broker ---------------------------------------------------------------------
    case("transport-contradicts-the-url", "broker_transport", "'sqs'",
         "Remove broker_transport, or make the two agree",
         settings={"broker_transport": "sqs", "broker_url": f"amqp://guest:{SECRET}@rabbit//"}),
    case("transport-from-the-environment-contradicts-the-url", "broker_transport", "'amqp'",
         "Remove broker_transport, or make the two agree",
         settings={"broker_url": "memory://"}, environ={"CELERY_BROKER_TRANSPORT": "amqp"}),
    case("transport-options-a-string", "broker_transport_options", "'region=eu-west-1'",
         "give a dict", settings={"broker_transport_options": "region=eu-west-1"}),
    case("transport-options-a-list", "broker_transport_options", "[('region', 'eu-west-1')]",
         "give a dict", settings={"broker_transport_options": [("region", "eu-west-1")]}),
    case("transport-options-a-list-holding-a-secret", "broker_transport_options", MASKED,
         "give a dict",
         settings={"broker_transport_options": [("secret_access_key", SECRET)]}),
    case("region-not-a-string", "broker_transport_options['region']", "=5",
         "must be a string naming an AWS region",
         settings={"broker_transport_options": {"region": 5}}),
    case("region-bytes", "broker_transport_options['region']", "b'eu-west-1'",
         "must be a string naming an AWS region",
         settings={"broker_transport_options": {"region": b"eu-west-1"}}),
    case("queue-name-prefix-option-not-a-string",
         "broker_transport_options['queue_name_prefix']", "=5", "must be a string",
         settings={"broker_transport_options": {"queue_name_prefix": 5}}),
    case("publish-retry-negative", "broker_transport_options['publish_retry_seconds']", "=-1",
         RETRY, settings={"broker_transport_options": {"publish_retry_seconds": -1}}),
    case("publish-retry-too-long", "broker_transport_options['publish_retry_seconds']",
         "=300.5", RETRY,
         settings={"broker_transport_options": {"publish_retry_seconds": 300.5}}),
    case("publish-retry-a-string", "broker_transport_options['publish_retry_seconds']",
         "='5'", RETRY, settings={"broker_transport_options": {"publish_retry_seconds": "5"}}),
    case("publish-retry-a-bool", "broker_transport_options['publish_retry_seconds']",
         "=True", RETRY, settings={"broker_transport_options": {"publish_retry_seconds": True}}),
    case("publish-retry-not-a-number", "broker_transport_options['publish_retry_seconds']",
         "=nan", RETRY,
         settings={"broker_transport_options": {"publish_retry_seconds": float("nan")}}),
    case("visibility-timeout-zero", "broker_transport_options['visibility_timeout']", "=0",
         VISIBILITY, settings={"broker_transport_options": {"visibility_timeout": 0}}),
    case("visibility-timeout-beyond-sqs", "broker_transport_options['visibility_timeout']",
         "=43201", f"{VISIBILITY} up to SQS's maximum of 43200",
         settings={"broker_transport_options": {"visibility_timeout": 43201}}),
    case("visibility-timeout-a-string", "broker_transport_options['visibility_timeout']",
         "='3600'", VISIBILITY,
         environ={"CELERY_BROKER_TRANSPORT_OPTIONS": "{'visibility_timeout': '3600'}"}),
    case("visibility-timeout-negative-on-redis",
         "broker_transport_options['visibility_timeout']", "=-1", f"{VISIBILITY}, e.g. 3600",
         settings={"broker_url": "redis://127.0.0.1:9/0",
                   "broker_transport_options": {"visibility_timeout": -1}}),
    case("wait-time-negative", "broker_transport_options['wait_time_seconds']", "=-1",
         "from 0 to SQS's maximum of 20",
         settings={"broker_transport_options": {"wait_time_seconds": -1}}),
    case("wait-time-beyond-sqs", "broker_transport_options['wait_time_seconds']", "=21",
         "from 0 to SQS's maximum of 20",
         settings={"broker_transport_options": {"wait_time_seconds": 21}}),
    case("wait-time-a-string", "broker_transport_options['wait_time_seconds']", "='20'",
         "must be a number of seconds from 0",
         settings={"broker_transport_options": {"wait_time_seconds": "20"}}),
    case("wait-time-negative-on-redis", "broker_transport_options['wait_time_seconds']",
         "=-1", "from 0 or more",
         settings={"broker_url": "redis://127.0.0.1:9/0",
                   "broker_transport_options": {"wait_time_seconds": -1}}),
    case("queue-name-prefix-option-refused-by-sqs",
         "broker_transport_options['queue_name_prefix']", "'my env-'",
         "it accepts ASCII letters, digits, '-' and '_'",
         settings={"broker_transport_options": {"queue_name_prefix": "my env-"}}),
    case("queue-name-prefix-option-makes-a-name-too-long", "QUEUES",
         f"with the prefix {'p' * 70!r}", "SQS accepts at most 80",
         settings={"queues": ["export_and_render"],
                   "broker_transport_options": {"queue_name_prefix": "p" * 70}}),
    case("broker-url-with-a-slash-in-its-secret", "broker_url",
         f"broker_url=sqs://{MASK}@sqs.eu-west-1.amazonaws.com", "Percent-encode",
         settings={"broker_url": SLASHED_URL}),
    case("broker-url-with-a-slash-in-its-secret-from-the-environment", "CELERY_BROKER_URL",
         f"CELERY_BROKER_URL=sqs://{MASK}@sqs.eu-west-1.amazonaws.com", "('/' becomes '%2F')",
         environ={"CELERY_BROKER_URL": SLASHED_URL}),
    case("publish-retry-from-the-environment",
         "broker_transport_options['publish_retry_seconds']", "=600", RETRY,
         environ={"CELERY_BROKER_TRANSPORT_OPTIONS": "{'publish_retry_seconds': 600}"}),
    # -- the chord-unlock cap -----------------------------------------------------------
    case("chord-unlock-negative", "CHORD_UNLOCK_MAX_RETRIES", "-1", WHOLE,
         settings={"CHORD_UNLOCK_MAX_RETRIES": -1}),
    case("chord-unlock-a-bool", "CHORD_UNLOCK_MAX_RETRIES", "True", WHOLE,
         settings={"CHORD_UNLOCK_MAX_RETRIES": True}),
    case("chord-unlock-a-float", "CHORD_UNLOCK_MAX_RETRIES", "1.5", WHOLE,
         settings={"CHORD_UNLOCK_MAX_RETRIES": 1.5}),
    case("chord-unlock-a-string", "CHORD_UNLOCK_MAX_RETRIES", "'10'", WHOLE,
         settings={"CHORD_UNLOCK_MAX_RETRIES": "10"}),
    case("chord-unlock-negative-from-the-environment", "CHORD_UNLOCK_MAX_RETRIES", "-5", WHOLE,
         environ={"CELERY_CHORD_UNLOCK_MAX_RETRIES": "-5"}),
    case("chord-unlock-annotation-not-a-dict", "task_annotations['celery.chord_unlock']",
         "'cap'", "must be a dict of task attributes",
         settings={"task_annotations": {"celery.chord_unlock": "cap"}}),
    # -- environment values that do not parse --------------------------------------------
    case("env-bool", "CELERY_TASK_TRACK_STARTED", "'maybe'", "expected true or false",
         environ={"CELERY_TASK_TRACK_STARTED": "maybe"}),
    case("env-bool-of-the-library", "CELERY_SETUP_FILE_LOGGING", "'perhaps'",
         "expected true or false", environ={"CELERY_SETUP_FILE_LOGGING": "perhaps"}),
    case("env-bool-empty", "CELERY_SETUP_FILE_LOGGING", "''", "expected true or false",
         environ={"CELERY_SETUP_FILE_LOGGING": ""}),
    case("env-bool-of-celery-empty", "CELERY_TASK_TRACK_STARTED", "''",
         "expected true or false", environ={"CELERY_TASK_TRACK_STARTED": ""}),
    case("env-int", "CELERY_CHORD_UNLOCK_MAX_RETRIES", "'ten'", "a whole number such as 3",
         environ={"CELERY_CHORD_UNLOCK_MAX_RETRIES": "ten"}),
    case("env-int-a-float", "CELERY_CHORD_UNLOCK_MAX_RETRIES", "'1.5'",
         "a whole number such as 3", environ={"CELERY_CHORD_UNLOCK_MAX_RETRIES": "1.5"}),
    case("env-tuple-a-bare-word", "CELERY_QUEUES", "'export'",
         "expected a tuple such as ('export', 'msg')", environ={"CELERY_QUEUES": "export"}),
    case("env-tuple-a-dict", "CELERY_QUEUES", "\"{'export': 1}\"", "expected a tuple such as",
         environ={"CELERY_QUEUES": "{'export': 1}"}),
    case("env-imports-a-module-name", "CELERY_IMPORTS", "'app.tasks'",
         "expected a tuple such as", environ={"CELERY_IMPORTS": "app.tasks"}),
    case("env-dict", "CELERY_BROKER_TRANSPORT_OPTIONS", "'region=x'",
         "expected a dict such as {'region': 'eu-west-1'}",
         environ={"CELERY_BROKER_TRANSPORT_OPTIONS": "region=x"}),
    case("env-dict-holding-a-secret", "CELERY_BROKER_TRANSPORT_OPTIONS", MASKED,
         "expected a dict such as",
         environ={"CELERY_BROKER_TRANSPORT_OPTIONS":
                  f"{{'predefined_queues': {{'export': {{'secret_access_key': '{SECRET}'}}}}"}),
    case("env-dict-holding-a-url-with-a-password", "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS",
         MASKED, "expected a dict such as",
         environ={"CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS": f"{{'url': 'redis://:{SECRET}@r'"}),
    case("env-float-of-celery", "CELERY_RESULT_EXPIRES", "'soon'", "a number such as 1.5",
         environ={"CELERY_RESULT_EXPIRES": "soon"}),
    case("env-list-of-celery", "CELERY_ACCEPT_CONTENT", "'json'", "a list such as",
         environ={"CELERY_ACCEPT_CONTENT": "json"}),
    case("env-code-is-not-run", "CELERY_QUEUES", "__import__", "expected a tuple such as",
         environ={"CELERY_QUEUES": "__import__('os').getcwd()"}),
    case("env-queues-duplicated", "QUEUES", "'export'", "List each queue once",
         environ={"CELERY_QUEUES": "['export', 'export']"}),
    case("env-queues-with-a-wildcard", "QUEUES", "'*'", "e.g. 'export' for 'export.*'",
         environ={"CELERY_QUEUES": "['*']"}),
    # -- the result backend -------------------------------------------------------------
    case("backend-unknown-variable", "result_backend", "{0.RESULT_DB_USR}", RENDER,
         settings={"result_backend": "db+postgresql://{0.RESULT_DB_USR}@h/x"}),
    case("backend-unknown-key", "result_backend", "{user}", "KeyError: 'user'",
         settings={"result_backend": "db+postgresql://{user}@h/x"}),
    case("backend-unbalanced-brace-and-a-password", "result_backend", f"worker:{MASK}@h",
         "write a literal brace as {{ or }}",
         settings={"result_backend": f"db+postgresql://worker:{SECRET}@h/{{0.RESULT_DB_NAME"}),
    case("backend-format-specification", "result_backend", ":>999999999999", "not accepted",
         settings={"result_backend": "db+postgresql://{0.RESULT_DB_USER:>999999999999}@h/x"}),
    case("backend-not-a-string", "result_backend", "(5)", "must be a URL string",
         settings={"result_backend": 5}),
    case("backend-bytes-with-a-password", "result_backend", MASKED, "must be a URL string",
         settings={"result_backend": f"db+sqlite://u:{SECRET}@h/x".encode()}),
    case("celery-result-backend-a-template", "CELERY_RESULT_BACKEND", f":{MASK}@h/x'",
         "write the final URL in the variable",
         environ={"CELERY_RESULT_BACKEND": f"db+postgresql://{{0.RESULT_DB_USER}}:{SECRET}@h/x"}),
    case("port-not-a-number", "RESULT_DB_PORT", "'fivefour'", PORT,
         settings={"RESULT_DB_PORT": "fivefour"}),
    case("port-out-of-range-from-the-environment", "CELERY_RESULT_DB_PORT", "'70000'", PORT,
         environ={"CELERY_RESULT_DB_PORT": "70000"}),
    case("port-zero", "RESULT_DB_PORT", "=0", PORT, settings={"RESULT_DB_PORT": 0}),
    case("port-a-bool", "RESULT_DB_PORT", "True", PORT, settings={"RESULT_DB_PORT": True}),
    case("port-with-blanks", "RESULT_DB_PORT", "' 5432'", PORT,
         environ={"CELERY_RESULT_DB_PORT": " 5432"}),
    case("host-empty", "RESULT_DB_HOST", "''", "the name or IP address",
         settings={"RESULT_DB_HOST": ""}),
    case("host-with-a-path", "RESULT_DB_HOST", "'db.example.org/cadasta'",
         "the name or IP address", settings={"RESULT_DB_HOST": "db.example.org/cadasta"}),
    case("password-none", "RESULT_DB_PASS", "None", "give a string",
         settings={"RESULT_DB_PASS": None}),
    case("user-none", "RESULT_DB_USER", "None", "give a string",
         settings={"RESULT_DB_USER": None}),
    case("user-empty", "RESULT_DB_USER", "'' is empty", "the name of the result database's role",
         settings={"RESULT_DB_USER": ""}),
    case("database-empty-from-the-environment", "CELERY_RESULT_DB_NAME", "'' is empty",
         "give the name of the database", environ={"CELERY_RESULT_DB_NAME": ""}),
    # -- logging and Sentry -------------------------------------------------------------
    case("file-logging-a-string", "SETUP_FILE_LOGGING", "'no'", "give True or False",
         settings={"SETUP_FILE_LOGGING": "no"}),
    case("log-dir-not-a-path", "LOG_DIR", "=5", "the path of a folder",
         settings={"LOG_DIR": 5}),
    case("log-dir-empty", "LOG_DIR", "''", "the path of a folder",
         settings={"LOG_DIR": "", "SETUP_FILE_LOGGING": True}),
    case("log-dir-cannot-hold-files", "LOG_DIR", "'/dev/null/logs'",
         "to a folder this process can write to",
         settings={"LOG_DIR": "/dev/null/logs", "SETUP_FILE_LOGGING": True}),
    case("log-file-mode-in-decimal", "CELERY_LOG_FILE_MODE", "LOG_FILE_MODE=600",
         "in octal, such as 0o600", environ={"CELERY_LOG_FILE_MODE": "600"}),
    case("log-file-mode-the-owner-cannot-write", "LOG_FILE_MODE", "=256",
         "let the owner read and write", settings={"LOG_FILE_MODE": 0o400}),
    case("log-file-mode-a-string", "LOG_FILE_MODE", "'0o600'", "in octal, such as 0o600",
         settings={"LOG_FILE_MODE": "0o600"}),
    case("log-file-mode-a-bool", "LOG_FILE_MODE", "True", "in octal, such as 0o600",
         settings={"LOG_FILE_MODE": True}),
    case("sentry-dsn-without-the-extra", "SENTRY_DSN", MASKED, INSTALL,
         settings={"SENTRY_DSN": DSN}, hidden=("sentry_sdk",)),
    case("sentry-dsn-without-the-extra-from-the-environment", "CELERY_SENTRY_DSN", MASKED,
         INSTALL, environ={"CELERY_SENTRY_DSN": DSN}, hidden=("sentry_sdk",)),
    case("sentry-logging-without-a-dsn", "SENTRY_DSN", "SETUP_SENTRY_LOGGING is true",
         "Set SENTRY_DSN", settings={"SETUP_SENTRY_LOGGING": True}),
    case("sentry-logging-a-string", "SETUP_SENTRY_LOGGING", "'off'", "give True or False",
         settings={"SETUP_SENTRY_LOGGING": "off"}),
    case("sentry-local-variables-a-string", "SENTRY_INCLUDE_LOCAL_VARIABLES", "'yes'",
         "give True or False", settings={"SENTRY_INCLUDE_LOCAL_VARIABLES": "yes"}),
    case("sentry-dsn-malformed", "SENTRY_DSN", MASKED,
         "of the form https://<key>@<host>/<project id>",
         settings={"SENTRY_DSN": f"{SECRET}@127.0.0.1:9/1"}),
    case("sentry-dsn-port-out-of-range", "CELERY_SENTRY_DSN", MASKED, "of the form https://",
         environ={"CELERY_SENTRY_DSN": f"https://{SECRET}@127.0.0.1:99999/1"}),
    case("sentry-dsn-not-a-string", "SENTRY_DSN", MASKED, "a string, or nothing",
         settings={"SENTRY_DSN": 5}),
    case("sentry-name-not-a-string", "SENTRY_NAME", "['worker']", "a string, or nothing",
         settings={"SENTRY_NAME": ["worker"]}),
]  # fmt: skip


@pytest.mark.parametrize("mistake", CATALOGUE)
def test_every_mistake_is_a_config_error_that_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, mistake: Case
) -> None:
    """
    Each mistake is a ConfigError naming the setting, showing the value, saying what is valid.

    Secrets in the value are masked: the message never shows SECRET.
    """
    for module in mistake.hidden:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError) as caught:
        Config(environ=mistake.environ, **mistake.settings)
    assert type(caught.value) is ConfigError
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert mistake.named in message
    assert mistake.shown in message
    assert mistake.accepted in message
    assert SECRET not in message
    assert all(SECRET not in problem for problem in caught.value.problems)


@pytest.mark.parametrize("character", ["/", "?", "#", "@", "[", "]", " "])
@pytest.mark.parametrize(
    ("keywords", "variable", "named"),
    [
        pytest.param(True, "", "broker_url", id="keyword"),
        pytest.param(False, "CELERY_BROKER_URL", "CELERY_BROKER_URL", id="celery-variable"),
        pytest.param(False, "WORKER_BROKER_URL", "WORKER_BROKER_URL", id="prefixed-variable"),
    ],
)
def test_no_part_of_a_broken_broker_secret_is_shown(
    character: str, keywords: bool, variable: str, named: str
) -> None:
    """
    A broker URL whose secret holds an unescaped reserved character shows none of it.

    Neither the access key nor any piece of the secret, on either side of the character,
    appears: the URL is shown as scheme://********@host, named where it was set.
    """
    key, left, right = "AKIAEXAMPLEKEY", "wJalrXUtnFEMI", "K7MDENGbPxRfiCY"
    url = f"sqs://{key}:{left}{character}{right}@sqs.eu-west-1.amazonaws.com"
    environ = {"CELERY_ENV_PREFIX": "WORKER_"} if variable.startswith("WORKER_") else {}
    settings: dict[str, Any] = {"broker_url": url} if keywords else {}
    if not keywords:
        environ[variable] = url
    with pytest.raises(ConfigError) as caught:
        Config(environ=environ, **settings)
    message = str(caught.value)
    assert message.startswith(f"{named}=sqs://{MASK}@sqs.eu-west-1.amazonaws.com has a user ")
    for fragment in (key, left, right, left[-4:], right[:4]):
        assert fragment not in message


def test_the_catalogue_is_large() -> None:
    """The catalogue holds at least 25 mistakes, each with its own id."""
    assert len(CATALOGUE) >= 25
    assert len({param.id for param in CATALOGUE}) == len(CATALOGUE)


def test_several_mistakes_make_one_error_listing_them_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mistakes of every kind, by keyword and environment, are listed in one ConfigError."""
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    environ = {
        "CELERY_TASK_TRACK_STARTED": "maybe",
        "CELERY_CHORD_UNLOCK_MAX_RETRIES": "ten",
        "CELERY_BROKER_TRANSPORT_OPTIONS": "region=x",
        "CELERY_RESULT_DB_PORT": "70000",
        "CELERY_SENTRY_DSN": DSN,
    }
    with pytest.raises(ConfigError) as caught:
        Config(
            environ=environ,
            queues=["export", "", "export", "ex*"],
            PLATFORM_QUEUE_NAME="celery",
            RESULT_DB_HOST="",
            result_backend="db+postgresql://{0.RESULT_DB_USR}@{0.RESULT_DB_HOST}/x",
            SETUP_FILE_LOGGING="no",
        )
    expected = [
        "CELERY_TASK_TRACK_STARTED='maybe'",
        "CELERY_CHORD_UNLOCK_MAX_RETRIES='ten'",
        "CELERY_BROKER_TRANSPORT_OPTIONS='region=x'",
        "RESULT_DB_PORT='70000'",
        f"SENTRY_DSN={MASKED} is set but sentry-sdk is missing",
        "QUEUES: a queue name is empty",
        "QUEUES: queue 'export' is listed twice",
        "QUEUES: queue 'ex*' contains a topic wildcard",
        "PLATFORM_QUEUE_NAME='celery'",
        "RESULT_DB_HOST=''",
        "result_backend 'db+postgresql://{0.RESULT_DB_USR}@{0.RESULT_DB_HOST}/x'",
        "SETUP_FILE_LOGGING='no'",
    ]
    error = caught.value
    assert len(error.problems) == len(expected)
    for fragment in expected:
        assert sum(fragment in problem for problem in error.problems) == 1, fragment
    message = str(error)
    assert message.startswith(f"{len(expected)} problems in the configuration:\n")
    assert message.splitlines()[1:] == [f"  - {problem}" for problem in error.problems]
    assert SECRET not in message


def test_a_valid_port_and_log_dir_in_other_forms(make_config: Any, tmp_path: Any) -> None:
    """A port given as a number, an IPv6 host and a LOG_DIR given as a path are accepted."""
    config = make_config(RESULT_DB_PORT=6432, RESULT_DB_HOST="::1", LOG_DIR=tmp_path)
    assert config["result_backend"].endswith("@[::1]:6432/cadasta")


def test_a_dsn_is_checked_only_when_sentry_is_on(make_config: Any) -> None:
    """A DSN sentry-sdk would refuse is no error while SETUP_SENTRY_LOGGING is off."""
    config = make_config(SENTRY_DSN="not a dsn", SETUP_SENTRY_LOGGING=False)
    assert config.SETUP_SENTRY_LOGGING is False


def test_environment_names_never_hide_the_mappings_methods(make_config: Any) -> None:
    """CELERY_ITEMS, CELERY_GET or CELERY___DICT__ never replace what Config is made of."""
    config = make_config(
        {"CELERY_ITEMS": "1", "CELERY_GET": "2", "CELERY_SET": "3", "CELERY___DICT__": "4"}
    )
    assert "items" not in config
    assert dict(config.items())["QUEUES"] == ["export", "msg"]
    assert config.get("QUEUES") == ["export", "msg"]


# -- property tests: only ConfigError escapes ----------------------------------------------

#: Text, lone surrogates included: os.environ holds them for bytes that are not UTF-8.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=24)
#: Values that get past the first parsing step, and the ones that once broke things.
TRICKY_TEXT = st.sampled_from(
    [
        "", "true", "no", "0", "-1", "5", "70000", "1.5", "[]", "()", "{}", "None",
        "['export']", "['a', 'a']", "['*', '']", "('export', 'msg')", "{'region': 5}",
        "{'queue_name_prefix': 1}", "{'publish_retry_seconds': -1}", "{0.RESULT_DB_PASS}",
        "{0!s:>999999999999}",
        "db+postgresql://{0.RESULT_DB_USER}@h/x", "db+postgresql://u:p{@h/x",
        "sqs://key:secret@127.0.0.1:9", "amqp://", "memory://", "https://k@127.0.0.1:9/1",
        "https://k@127.0.0.1:99999/1", "https://k@[::1/1", "{", "}", "\x00", "\udcff",
        "[" * 200,
    ]
)  # fmt: skip
#: Every setting Celery knows, the library's variables, and names of no setting.
SETTING_NAMES = sorted(
    {name.upper() for name, _ in flatten(NAMESPACES)}
    | set(LIBRARY_VARIABLES)
    | {"ENV_PREFIX", "SETUP_SENTRY_LOGGING", "ITEMS", "_GIVEN", "__DICT__"}
)
VARIABLE_NAMES = (
    st.sampled_from(SETTING_NAMES).map("CELERY_".__add__)
    | st.sampled_from(["SENTRY_DSN", "SENTRY_RELEASE", "CELERY_", "WORKER_QUEUES"])
    | st.text(max_size=8).map("CELERY_".__add__)
)
ENVIRONMENTS = st.dictionaries(VARIABLE_NAMES, ANY_TEXT | TRICKY_TEXT, max_size=8)
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT | TRICKY_TEXT
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(ANY_TEXT, max_size=3)
        | st.dictionaries(ANY_TEXT | st.sampled_from(["region", "queue_name_prefix",
                                                    "publish_retry_seconds"]), inner,
                          max_size=3)
    ),
    max_leaves=8,
)  # fmt: skip
KEYWORDS = sorted(
    {
        *LIBRARY_VARIABLES,
        "ENV_PREFIX",
        "SETUP_SENTRY_LOGGING",
        "queues",
        "QUEUE_NAME_PREFIX",
        "broker_url",
        "broker_transport",
        "broker_transport_options",
        "result_backend",
        "task_annotations",
        "task_default_exchange",
        "imports",
    }
)
BOUNDED = settings(max_examples=200, deadline=None)


class _DiscardingTransport(Transport):
    """A sentry-sdk transport that parses the DSN, as the real one does, and sends nothing."""

    def capture_envelope(self, envelope: Envelope) -> None:
        """Drop *envelope*."""


@contextlib.contextmanager
def _side_effects_contained() -> Iterator[None]:
    """
    Build Configs whose side effects touch neither the disk nor the network.

    File logging is not configured (LOG_DIR could be any path); Sentry is initialised
    for real, DSN parsing included, but sends nothing, and is closed afterwards.
    """
    real_init = sentry_sdk.init

    def init(*args: Any, **kwargs: Any) -> Any:
        return real_init(*args, **{**kwargs, "transport": _DiscardingTransport})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_logging, "configure_file_logging", lambda *args: None)
        patch.setattr(sentry_sdk, "init", init)
        try:
            yield
        finally:
            sentry_sdk.get_client().close(timeout=0)
            sentry_sdk.Scope.get_global_scope().set_client(None)


def _build(environ: dict[str, str], **keywords: Any) -> None:
    """Build a Config; it must be built, or raise ConfigError: nothing else may escape."""
    with _side_effects_contained():
        try:
            outcome: Config | ConfigError = Config(environ=environ, **keywords)
        except ConfigError as error:
            outcome = error
    if isinstance(outcome, ConfigError):
        assert outcome.problems
        assert all(isinstance(problem, str) and problem for problem in outcome.problems)
    else:
        assert repr(outcome).startswith("Config(")


@BOUNDED
@given(environ=ENVIRONMENTS)
def test_any_environment_gives_a_config_or_a_config_error(environ: dict[str, str]) -> None:
    """Whatever CELERY_* variables hold, Config() returns or raises ConfigError."""
    _build(environ)


@BOUNDED
@given(keywords=st.dictionaries(st.sampled_from(KEYWORDS), ANY_VALUE, max_size=4))
def test_any_keywords_give_a_config_or_a_config_error(keywords: dict[str, Any]) -> None:
    """Whatever the library's variables and the settings it reads hold, only ConfigError escapes."""
    _build({}, **keywords)


@BOUNDED
@given(
    queues=ANY_VALUE | st.lists(st.text(alphabet="ab_.-#* é!\t", max_size=6), max_size=4),
    prefix=ANY_TEXT | st.sampled_from(["", "dev", "my.env", "p" * 70]),
)
def test_any_queues_under_any_prefix(queues: Any, prefix: str) -> None:
    """
    Whatever the queues and the prefix, Config() returns or raises ConfigError.

    Every name check_queue_names lets through is a name SQS accepts.
    """
    _build({}, queues=queues, QUEUE_PREFIX=prefix)
    kombu_prefix = f"{prefix}-" if prefix else ""
    names, problems = check_queue_names(queues, "QUEUES", kombu_prefix)
    assert all(isinstance(problem, str) for problem in problems)
    for name in names:
        sqs_name = sqs_queue_name(kombu_prefix, name)
        assert len(sqs_name) <= 80
        assert sqs_name.isascii()
        assert not set(sqs_name) - set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789-_.")  # fmt: skip


_DEFAULTS = st.sampled_from([False, 0, 0.0, (), [], {}, {0}, frozenset(), "", None])


@BOUNDED
@given(
    variable=st.sampled_from(["CELERY_QUEUES", "CELERY_RESULT_DB_PASS", "CELERY_REDIS_TOKEN"])
    | VARIABLE_NAMES,
    raw=ANY_TEXT | TRICKY_TEXT,
    default=_DEFAULTS,
)
def test_parse_value_of_any_text(variable: str, raw: str, default: Any) -> None:
    """
    Whatever the text, lone surrogates included, parse_value returns or raises ConfigError.

    The error of a secret variable shows the mask, never the text.
    """
    try:
        parse_value(variable, raw, default)
    except ConfigError as error:
        message = str(error)
    else:
        return
    assert message.startswith(f"environment variable {variable}=")
    if looks_secret(variable):
        assert f"{variable}={MASKED} " in message
