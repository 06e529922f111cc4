"""
Checks on the values of a configuration, each returning the problems it finds.

A check never raises: the configuration gathers every problem and raises one
:class:`~cadasta.workertoolbox.exceptions.ConfigError` that lists them all.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from typing import Any

from ._secrets import masked, masked_text
from ._sentry import _MISSING_DSN

__all__ = [
    "check_library_variables",
    "check_non_negative_int",
    "check_platform_queue_name",
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
            "Shorten the name or QUEUE_PREFIX."
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
    """Check ``PLATFORM_QUEUE_NAME``."""
    if not isinstance(name, str) or not name:
        return [
            f"PLATFORM_QUEUE_NAME={name!r} is not a queue name; leave it at its "
            "default 'platform.fifo' unless the platform's monitor reads another queue."
        ]
    if name in work_queues or name == "celery":
        return [
            f"PLATFORM_QUEUE_NAME={name!r} is also a work queue; the monitor needs its own. "
            "Give a name that is neither in QUEUES nor 'celery', such as the default "
            "'platform.fifo'."
        ]
    problem = _sqs_problem("PLATFORM_QUEUE_NAME", name, prefix)
    return [] if problem is None else [problem]


def check_non_negative_int(value: Any, setting: str) -> list[str]:
    """Check that *value*, given as *setting*, is a whole number of at least zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [f"{setting}={value!r} must be a whole number of at least 0."]
    return []


#: The longest ``publish_retry_seconds`` accepted: a producer waits that long at most.
_LONGEST_PUBLISH_RETRY = 300


def check_transport_options(value: Any) -> list[str]:
    """Check ``broker_transport_options`` as given by the user."""
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
