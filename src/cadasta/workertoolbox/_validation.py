"""Checks on the values of a configuration, each returning the problems it finds.

A check never raises: the configuration gathers every problem and raises one
:class:`~cadasta.workertoolbox.exceptions.ConfigError` that lists them all.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

__all__ = [
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
        return (
            f"{setting}: queue {name!r} becomes {sqs_name!r} on SQS, which accepts only "
            "ASCII letters, digits, '-' and '_' (and a '.fifo' suffix). Rename the queue."
        )
    return None


def check_queue_names(value: Any, setting: str, prefix: str) -> tuple[tuple[str, ...], list[str]]:
    """Check the work queue names *value* given as *setting*.

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
            "queue's name is its routing key and must match task names literally."
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
        return [f"PLATFORM_QUEUE_NAME={name!r} is also a work queue; the monitor needs its own."]
    problem = _sqs_problem("PLATFORM_QUEUE_NAME", name, prefix)
    return [] if problem is None else [problem]


def check_non_negative_int(value: Any, setting: str) -> list[str]:
    """Check that *value*, given as *setting*, is a whole number of at least zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [f"{setting}={value!r} must be a whole number of at least 0."]
    return []


def check_transport_options(value: Any) -> list[str]:
    """Check ``broker_transport_options`` as given by the user."""
    if not isinstance(value, Mapping):
        return [
            f"broker_transport_options={value!r} is of type {type(value).__name__}; give a dict, "
            "e.g. broker_transport_options={'region': 'eu-west-1'}; it is merged over the "
            "defaults."
        ]
    region = value.get("region")
    if region is not None and not isinstance(region, str):
        return [
            f"broker_transport_options['region']={region!r} must be a string naming an AWS "
            "region, e.g. 'us-west-2'."
        ]
    return []
