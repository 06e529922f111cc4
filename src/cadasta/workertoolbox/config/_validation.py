"""
Checks on the values of a configuration, each returning the problems it finds.

A check never raises: the configuration gathers every problem and raises one
:class:`~cadasta.workertoolbox.exceptions.ConfigError` that lists them all.
"""

from __future__ import annotations

import math
import os
import re
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ._secrets import MASK, masked, masked_text
from ._sentry import _MISSING_DSN
from ._topology import CELERY_QUEUE, DEFAULT_PLATFORM_QUEUE

__all__ = [
    "check_broker_url",
    "check_exchange",
    "check_library_variables",
    "check_non_negative_int",
    "check_platform_queue_name",
    "check_queue_name_prefix",
    "check_queue_names",
    "check_transport_options",
    "sqs_queue_name",
]

#: SQS accepts 1 to 80 letters, digits, hyphens and underscores, plus ``.fifo`` for FIFO.
_SQS_NAME = re.compile(r"[A-Za-z0-9_-]+(\.fifo)?")
_SQS_MAX_LENGTH = 80
#: kombu's SQS transport turns punctuation other than ``-_.`` into ``_`` and ``.`` into ``-``.
_KOMBU_TRANSLATION = {ord(c): "_" for c in string.punctuation if c not in "-_."}
_KOMBU_TRANSLATION[ord(".")] = "-"
_WILDCARDS = ("*", "#")
#: A port number as text: ASCII digits only (its range is checked apart).
_PORT = re.compile(r"[0-9]{1,5}")
#: What cannot stand in the host part of a URL.
_NOT_IN_HOST = re.compile(r"[\s/?#@]")
#: The permission bits of a file, and those its owner needs to log to it.
_MOST_PERMISSIONS = 0o777
_OWNER_READ_WRITE = 0o600


def sqs_queue_name(prefix: str, name: str) -> str:
    """Return the name kombu's SQS transport gives the queue *name* under *prefix*."""
    full = f"{prefix}{name}"
    if full.endswith(".fifo"):
        return full[: -len(".fifo")].translate(_KOMBU_TRANSLATION) + ".fifo"
    return full.translate(_KOMBU_TRANSLATION)


def _sqs_problem(setting: str, name: str, prefix: str) -> str | None:
    sqs_name = sqs_queue_name(prefix, name)
    if len(sqs_name) > _SQS_MAX_LENGTH:
        return (
            f"{setting}: queue {name!r} becomes {sqs_name!r} on SQS with the prefix "
            f"{prefix!r}, {len(sqs_name)} characters; SQS accepts at most 80. "
            "Shorten the name or the prefix (QUEUE_PREFIX, or the queue_name_prefix "
            "transport option when it is given)."
        )
    if not _SQS_NAME.fullmatch(sqs_name):
        fix = "Rename the queue."
        if not _SQS_NAME.fullmatch(sqs_queue_name(prefix, "x")):
            fix = f"SQS refuses the prefix: change QUEUE_PREFIX={prefix.removesuffix('-')!r}."
        return (
            f"{setting}: queue {name!r} becomes {sqs_name!r} on SQS, which accepts only "
            f"ASCII letters, digits, '-' and '_' (and a '.fifo' suffix). {fix}"
        )
    return None


def check_queue_name_prefix(prefix: str) -> list[str]:
    """Check a ``queue_name_prefix`` given in ``broker_transport_options``."""
    if _SQS_NAME.fullmatch(sqs_queue_name(prefix, "x")):
        return []
    return [
        f"broker_transport_options['queue_name_prefix']={prefix!r} holds characters SQS "
        "refuses in a queue name; it accepts ASCII letters, digits, '-' and '_'. Better, "
        "leave the option out and set QUEUE_PREFIX (the keyword, or the QUEUE_PREFIX "
        "variable with your ENV_PREFIX), which it defaults to."
    ]


def check_queue_names(value: Any, setting: str, prefix: str) -> tuple[tuple[str, ...], list[str]]:
    """
    Check the work queue names *value* given as *setting*.

    Returns:
        The names that passed, and the problems found.

    """
    if isinstance(value, (str, bytes)):
        return (), [
            f"{setting}={value!r} is a single string; give a list of queue names, "
            f"e.g. {setting}=[{value!r}] (a string would be read as one queue per letter)."
        ]
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple, set, frozenset)):
        return (), [
            f"{setting}={value!r} is of type {type(value).__name__}; give a list of queue names, "
            f"e.g. {setting}=['export', 'msg']."
        ]
    names: list[str] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name in value:
        problem = _name_problem(setting, name, prefix)
        if problem is None:
            sqs_name = sqs_queue_name(prefix, name)
            if sqs_name in seen:
                what = "twice" if seen[sqs_name] == name else f"and {seen[sqs_name]!r}"
                problem = (
                    f"{setting}: queue {name!r} is listed {what}; both become "
                    f"{sqs_name!r} on SQS. List each queue once."
                )
            seen[sqs_name] = name
        if problem is None:
            names.append(name)
        else:
            problems.append(problem)
    return tuple(names), problems


def _name_problem(setting: str, name: Any, prefix: str) -> str | None:
    if not isinstance(name, str):
        return (
            f"{setting}: queue name {name!r} is of type {type(name).__name__}; "
            "queue names are strings."
        )
    if not name:
        return f"{setting}: a queue name is empty; remove it or name the queue."
    if any(w in name for w in _WILDCARDS):
        return (
            f"{setting}: queue {name!r} contains a topic wildcard ('*' or '#'); a work "
            "queue's name is its routing key and must match task names literally. Use "
            "the part of the task names before the first dot, e.g. 'export' for 'export.*'."
        )
    if "." in name:
        first = name.split(".", 1)[0]
        return (
            f"{setting}: queue {name!r} contains '.'; tasks are routed by the first "
            f"dot-segment of their name, so no task could reach it. Use {first!r} or "
            f"{name.replace('.', '_')!r}."
        )
    return _sqs_problem(setting, name, prefix)


def check_platform_queue_name(name: Any, prefix: str, work_queues: tuple[str, ...]) -> list[str]:
    """
    Check ``PLATFORM_QUEUE_NAME``.

    It must not name a work queue or ``celery``, compared as SQS will see them: kombu
    turns ``.`` into ``-`` (except a final ``.fifo``), so ``'ex.port'`` is ``'ex-port'``.
    """
    if not isinstance(name, str) or not name:
        return [
            f"PLATFORM_QUEUE_NAME={name!r} is not a queue name; leave it at its "
            f"default {DEFAULT_PLATFORM_QUEUE!r} unless the platform's monitor reads another queue."
        ]
    if name in work_queues or name == CELERY_QUEUE:
        return [
            f"PLATFORM_QUEUE_NAME={name!r} is also a work queue; the monitor needs its own. "
            "Give a name that is neither in QUEUES nor 'celery', such as the default "
            f"{DEFAULT_PLATFORM_QUEUE!r}."
        ]
    sqs_name = sqs_queue_name(prefix, name)
    clash = next(
        (
            queue
            for queue in (*work_queues, CELERY_QUEUE)
            if sqs_queue_name(prefix, queue) == sqs_name
        ),
        None,
    )
    if clash is not None:
        return [
            f"PLATFORM_QUEUE_NAME={name!r} becomes {sqs_name!r} on SQS, the same queue as "
            f"the work queue {clash!r}: every {clash}.* task would be sent twice to one "
            "queue, and workers would run the monitor's copy. Give the monitor a name of "
            f"its own, such as the default {DEFAULT_PLATFORM_QUEUE!r}."
        ]
    problem = _sqs_problem("PLATFORM_QUEUE_NAME", name, prefix)
    return [] if problem is None else [problem]


#: What may not stand, unescaped, in the user or password of a URL: each ends it early.
_NOT_IN_USERINFO = frozenset("/?#@[] ")


def check_broker_url(url: Any, source: str) -> list[str]:
    """
    Check that the user and password of the broker URL *url* are percent-encoded.

    AWS secret keys often hold ``/``: ``sqs://KEY:abc/def@`` ends the password at the
    ``/``, and kombu reads the rest as host and port ("Port could not be cast to integer
    value as 'abc'", which shows the start of the secret). Nothing of the user or
    password is shown here.

    Args:
        url: The broker URL.
        source: Where it was set, such as ``'broker_url'`` or ``'CELERY_BROKER_URL'``.

    """
    if not isinstance(url, str) or "://" not in url:
        return []
    scheme, _, rest = url.partition("://")
    hostpart = rest.rpartition("@")[2]
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # an unbalanced '[' or ']' in the user part
        netloc = None
    if netloc is not None:
        # An '@' past the network location, with none in it: the user part was cut short
        # by a '/', '?' or '#' ('amqp://u:p@host/vhost@x', an '@' of the vhost, is fine).
        cut_short = "@" not in netloc and "@" in rest[len(netloc) :]
        userinfo = netloc.rpartition("@")[0]
        if not cut_short and not _NOT_IN_USERINFO.intersection(userinfo):
            return []
    return [
        f"{source}={scheme}://{MASK}@{hostpart} has a user or password (an SQS access key "
        "or secret key) holding a character that ends it early: '/', '?', '#', '@', '[', "
        "']' or a space. kombu would read part of the secret as the host or the port. "
        "Percent-encode the user and the password, e.g. with urllib.parse.quote(secret, "
        "safe='') ('/' becomes '%2F'), where the URL is set."
    ]


def check_exchange(name: Any, exchange_type: Any, env_prefix: str) -> list[str]:
    """
    Check ``task_default_exchange`` and ``task_default_exchange_type``.

    Only a topic exchange gives both the work queue (by its name) and the monitor queue
    (by ``#``) a copy: kombu's ``fanout`` would deliver nothing on SQS, ``direct`` drops
    the monitor's copy, and a type kombu does not know fails at the first send.
    """
    problems: list[str] = []
    if not isinstance(name, str) or not name:
        problems.append(
            f"task_default_exchange={name!r} must name the exchange every task is published "
            "to, such as the default 'task_exchange'; the empty name is AMQP's default "
            "exchange, which routes by queue name and gives the monitor no copy (the "
            f"keyword task_default_exchange or {env_prefix}TASK_DEFAULT_EXCHANGE)."
        )
    if exchange_type != "topic":
        problems.append(
            f"task_default_exchange_type={exchange_type!r} is not 'topic': only a topic "
            "exchange delivers each task both to its work queue and, through the key '#', "
            "to the monitor queue ('direct' drops the monitor's copy, 'fanout' delivers "
            "nothing on SQS). Remove the setting (the keyword task_default_exchange_type or "
            f"{env_prefix}TASK_DEFAULT_EXCHANGE_TYPE)."
        )
    return problems


def check_non_negative_int(value: Any, setting: str) -> list[str]:
    """Check that *value*, given as *setting*, is a whole number of at least zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [f"{setting}={value!r} must be a whole number of at least 0."]
    return []


#: The longest visibility timeout and long-polling wait SQS accepts, in seconds.
_SQS_MAX_VISIBILITY_TIMEOUT = 43200
_SQS_MAX_WAIT_TIME = 20
#: The longest ``publish_retry_seconds`` accepted: a producer waits that long at most.
_LONGEST_PUBLISH_RETRY = 300


def _number(value: Any) -> bool:
    """Tell whether *value* is a finite number (not a bool, not NaN, not infinite)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_transport_options(value: Any, transport: str = "sqs") -> list[str]:
    """
    Check ``broker_transport_options`` as given by the user, for *transport*.

    SQS's own limits (a visibility timeout of at most 43200 s, long polls of at most
    20 s) apply only when *transport* is ``'sqs'``.
    """
    if not isinstance(value, Mapping):
        shown = masked_text("broker_transport_options", value)
        return [
            f"broker_transport_options={shown} is of type {type(value).__name__}; give a dict, "
            "e.g. broker_transport_options={'region': 'eu-west-1'}; it is merged over the "
            "defaults."
        ]
    problems: list[str] = []
    region = value.get("region")
    if region is not None and not isinstance(region, str):
        problems.append(
            f"broker_transport_options['region']={region!r} must be a string naming an AWS "
            "region, e.g. 'us-west-2'."
        )
    prefix = value.get("queue_name_prefix")
    if prefix is not None and not isinstance(prefix, str):
        problems.append(
            f"broker_transport_options['queue_name_prefix']={prefix!r} must be a string, "
            "e.g. 'dev-'; better, leave it out and set QUEUE_PREFIX, which it defaults to."
        )
    where = (
        "Set it in Config(broker_transport_options=...) or the BROKER_TRANSPORT_OPTIONS variable."
    )
    timeout = value.get("visibility_timeout")
    if timeout is not None:
        top = _SQS_MAX_VISIBILITY_TIMEOUT if transport == "sqs" else None
        if not _number(timeout) or timeout <= 0 or (top is not None and timeout > top):
            limit = f" up to SQS's maximum of {top}" if top else ""
            problems.append(
                f"broker_transport_options['visibility_timeout']={timeout!r} must be a "
                f"number of seconds above 0{limit}, e.g. 3600: a task not acknowledged "
                f"within it is delivered again. {where}"
            )
    wait = value.get("wait_time_seconds")
    if wait is not None:
        top = _SQS_MAX_WAIT_TIME if transport == "sqs" else None
        if not _number(wait) or wait < 0 or (top is not None and wait > top):
            limit = f" to SQS's maximum of {top}" if top else " or more"
            problems.append(
                f"broker_transport_options['wait_time_seconds']={wait!r} must be a number "
                f"of seconds from 0{limit}: how long one poll of a queue waits for a "
                f"message. {where}"
            )
    turn = value.get("turn_wait_time_seconds")
    if turn is not None and (not _number(turn) or not 0 <= turn <= _SQS_MAX_WAIT_TIME):
        problems.append(
            f"broker_transport_options['turn_wait_time_seconds']={turn!r} must be a number "
            f"of seconds from 0 to {_SQS_MAX_WAIT_TIME}: how long one poll waits when a "
            "worker without an event loop (gevent, eventlet) polls several queues in turn; "
            f"a task on the next queue waits that long. {where}"
        )
    retry = value.get("publish_retry_seconds")
    if retry is not None and (
        isinstance(retry, bool)
        or not isinstance(retry, (int, float))
        or not 0 <= retry <= _LONGEST_PUBLISH_RETRY
    ):
        problems.append(
            f"broker_transport_options['publish_retry_seconds']={retry!r} must be a number "
            f"of seconds from 0 to {_LONGEST_PUBLISH_RETRY}: how long the send of one copy "
            "of a task (to the monitor or to a work queue) is tried again after a passing "
            "failure; 0 tries once. Set it in Config(broker_transport_options=...) or the "
            "BROKER_TRANSPORT_OPTIONS environment variable."
        )
    return problems


def check_library_variables(config: Mapping[str, Any]) -> list[str]:
    """
    Check the library's variables of *config* other than the queues and the chord cap.

    The parts of the default result backend, the logging and Sentry variables. Each
    problem names the variable, shows its value (masked if secret), says what is accepted
    and which keyword or environment variable sets it.
    """
    prefix = config.get("ENV_PREFIX")
    problems: list[str] = []

    def problem(name: str, what: str, accepted: str) -> None:
        problems.append(
            f"{name}={masked(name, config.get(name))} {what}; give {accepted} (the keyword "
            f"{name} or the environment variable {prefix}{name})."
        )

    for name in ("RESULT_DB_USER", "RESULT_DB_PASS", "RESULT_DB_NAME"):
        if not isinstance(config.get(name), str):
            problem(name, f"is of type {type(config.get(name)).__name__}", "a string")
        elif name != "RESULT_DB_PASS" and not config.get(name):
            what = "the result database's role" if name == "RESULT_DB_USER" else "the database"
            problem(name, "is empty", f"the name of {what}")
    host = config.get("RESULT_DB_HOST")
    if not isinstance(host, str) or not host or _NOT_IN_HOST.search(host):
        problem(
            "RESULT_DB_HOST",
            "is not a host name",
            "the name or IP address of the result database's server, e.g. 'localhost'",
        )
    port = config.get("RESULT_DB_PORT")
    if isinstance(port, bool) or not (
        (isinstance(port, int) and 0 < port < 65536)
        or (isinstance(port, str) and _PORT.fullmatch(port) and 0 < int(port) < 65536)
    ):
        problem(
            "RESULT_DB_PORT", "is not a port number", "a whole number from 1 to 65535, e.g. 5432"
        )
    for name in ("SETUP_FILE_LOGGING", "SETUP_SENTRY_LOGGING", "SENTRY_INCLUDE_LOCAL_VARIABLES"):
        if not isinstance(config.get(name), bool):
            problem(name, f"is of type {type(config.get(name)).__name__}", "True or False")
    log_dir = config.get("LOG_DIR")
    if not isinstance(log_dir, (str, os.PathLike)) or not str(log_dir) or "\0" in str(log_dir):
        problem("LOG_DIR", "is not a folder", "the path of a folder for the log files, e.g. 'logs'")
    mode = config.get("LOG_FILE_MODE")
    if (
        isinstance(mode, bool)
        or not isinstance(mode, int)
        or not 0 <= mode <= _MOST_PERMISSIONS
        or mode & _OWNER_READ_WRITE != _OWNER_READ_WRITE
    ):
        problem(
            "LOG_FILE_MODE",
            "is not the permissions of a log file",
            "permissions that let the owner read and write, in octal, such as 0o600 (the "
            "owner alone, the default) or 0o640 (its group reads too); 600 is decimal, "
            "another mode",
        )
    for name in ("SENTRY_DSN", "SENTRY_NAME", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE"):
        if config.get(name) is not None and not isinstance(config.get(name), str):
            problem(name, f"is of type {type(config.get(name)).__name__}", "a string, or nothing")
    return problems + _sentry_problems(config)


def _sentry_problems(config: Mapping[str, Any]) -> list[str]:
    """With ``SETUP_SENTRY_LOGGING`` on: a DSN sentry-sdk accepts, and sentry-sdk itself."""
    if config.get("SETUP_SENTRY_LOGGING") is not True:
        return []
    dsn = config.get("SENTRY_DSN")
    shown = f"SENTRY_DSN={masked('SENTRY_DSN', dsn)}"
    variable = f"the environment variable {config.get('ENV_PREFIX')}SENTRY_DSN"
    problems = [] if dsn else [_MISSING_DSN]
    try:
        # Not sentry_sdk.utils directly: it would be found even with sentry_sdk gone.
        from sentry_sdk import utils as sentry_utils
    except ImportError:
        why = f"{shown} is set" if dsn else "SETUP_SENTRY_LOGGING is on"
        problems.append(
            f"{why} but sentry-sdk is missing; install it with pip install "
            f'"cadasta-workertoolbox[sentry]", or unset SENTRY_DSN ({variable}) and '
            "SETUP_SENTRY_LOGGING."
        )
        return problems
    if isinstance(dsn, str) and dsn:
        try:
            sentry_utils.Dsn(dsn)
        except ValueError:
            problems.append(
                f"{shown} is not a Sentry DSN; copy the DSN from the Sentry project's "
                "settings (Client Keys), of the form https://<key>@<host>/<project id>, "
                f"or unset it ({variable})."
            )
    return problems
