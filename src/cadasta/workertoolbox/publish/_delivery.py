"""
Delivery guarantees: tasks due later than the visibility timeout, and lost workers.

**The visibility timeout.** SQS (and kombu's Redis transport, which imitates it) delivers a
message again once it has stayed unacknowledged for the *visibility timeout*. A worker
keeps a task with a countdown, an ETA or a pending retry unacknowledged until it is due,
so a task due later than the timeout is delivered again while it waits, and runs more
than once. Tasks due within :data:`DELAY_SHARE` of the timeout are accepted; the rest of
the timeout is left for a worker to start the task (a busy pool, clocks that differ).
Later ones are refused when they are sent, with a :class:`VisibilityTimeoutError` that
says what to change. With the configuration's default of 3600 s the limit is 3240 s:
countdowns, ETAs and retries of 30 minutes leave 24 minutes to spare. The limit comes
from the sending process's configuration; what SQS applies is the queue's
``VisibilityTimeout`` attribute, set by whoever created the queue, so every process must
share the setting.

*Where the refusal hooks in.* Celery's router does not see ``countdown`` or ``eta``, and
Celery's signal dispatcher swallows what a ``before_task_publish`` receiver raises, so
neither can refuse. Every message of every app reaches the broker through the channel's
``basic_publish``; the library's transports (:mod:`cadasta.workertoolbox.publish`), which
a ``Config`` chooses, call :func:`refuse_late_message` there, before anything is sent. No
Celery or kombu class or instance is patched, so an app with an ``AMQP`` or ``Task`` class
of its own that overrides the send path and calls ``super()`` is refused just the same.

Inside a worker, a refused retry makes ``Task.retry`` raise ``Reject``: the task is
marked failed, loudly, instead of running twice.

**Lost workers** are the other half of delivery: the library variable ``AT_LEAST_ONCE``
(:mod:`cadasta.workertoolbox.config._delivery_mode`) is a setting of the configuration,
not of the send path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .._env_prefix import DEFAULT_ENV_PREFIX, env_prefix_of
from ..exceptions import VisibilityTimeoutError
from .transports import ENV_PREFIX_OPTION

__all__ = [
    "DELAY_SHARE",
    "SQS_MAX_VISIBILITY_TIMEOUT",
    "configured_visibility_timeout",
    "delay_fix",
    "delay_limit",
    "env_prefix",
    "is_task",
    "refuse_late_message",
    "retry_delays",
    "seconds",
    "task_fields",
    "transport_name",
    "visibility_timeout",
]

#: The longest visibility timeout SQS accepts, in seconds (12 hours).
SQS_MAX_VISIBILITY_TIMEOUT = 43200
#: The share of the visibility timeout a countdown, an ETA or a retry delay may use.
DELAY_SHARE = 0.9

#: The transports that deliver again what stays unacknowledged too long, with kombu's
#: default visibility timeout for each (``driver_type`` or URL scheme).
_DEFAULT_TIMEOUTS: Mapping[str, int] = {
    "sqs": 1800,
    "redis": 3600,
    "rediss": 3600,
    "sentinel": 3600,
}
_BROKER_NAMES: Mapping[str, str] = {"sqs": "SQS"}

_SETTING = "broker_transport_options['visibility_timeout']"
#: Celery's longest back-off delay when a task sets none (``celery/app/autoretry.py``).
_BACKOFF_MAX = 600


# -- the visibility timeout --------------------------------------------------------------


def visibility_timeout(transport: str | None, options: Mapping[str, Any] | None) -> float | None:
    """
    Return the visibility timeout of *transport* with *options*, in seconds.

    Args:
        transport: A kombu ``driver_type`` or URL scheme, such as ``'sqs'``.
        options: The broker transport options.

    Returns:
        ``None`` for a transport without a visibility timeout (AMQP, memory…).

    """
    default = _DEFAULT_TIMEOUTS.get(str(transport or "").lower())
    if default is None:
        return None
    value: Any = (options or {}).get("visibility_timeout")
    try:
        return float(value)
    except (TypeError, ValueError):
        # Absent, empty or unreadable: kombu's own default (or its own error) applies.
        return float(default)


def configured_visibility_timeout(app: Any) -> tuple[str, float] | None:
    """
    Return the transport and visibility timeout *app*'s configuration gives.

    The transport is ``broker_transport``, else the scheme of the broker URL, as Celery
    chooses it; nothing connects.

    Returns:
        ``None`` when the transport has no visibility timeout.

    """
    transport = transport_name(app)
    timeout = visibility_timeout(transport, app.conf.broker_transport_options)
    return None if timeout is None else (transport, timeout)


def transport_name(app: Any) -> str:
    """
    Return the name of the transport *app* sends with, lowercased, such as ``'sqs'``.

    ``broker_transport``, else the scheme of the broker URL, as Celery chooses it;
    nothing connects.
    """
    from .transports import transport_alias

    conf = app.conf
    transport = conf.broker_transport
    if not transport:
        url = str(conf.broker_write_url or "")
        transport = url.split("://", 1)[0] if "://" in url else "amqp"
    return transport_alias(transport)


def delay_limit(timeout: float) -> float:
    """Return the longest countdown, ETA or retry delay a visibility *timeout* allows."""
    return timeout * DELAY_SHARE


def seconds(value: float) -> str:
    """Show a number of seconds with at most one decimal: ``3240``, ``2.7``."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def delay_fix(delay: float, shorter: str, transport: str, env_prefix: str) -> str:
    """
    Say how to make a *delay* fit: *shorter* delays, or a longer visibility timeout.

    Args:
        delay: The delay, in seconds.
        shorter: The first remedy, such as ``'Send it with a countdown of at most 3240 s'``.
        transport: The transport, such as ``'sqs'``.
        env_prefix: The prefix of the environment variables (``ENV_PREFIX``).

    """
    variable = f"{env_prefix}BROKER_TRANSPORT_OPTIONS"
    is_sqs = transport == "sqs"
    longest = delay_limit(SQS_MAX_VISIBILITY_TIMEOUT)
    if is_sqs and delay > longest:
        return (
            f"SQS accepts a visibility timeout of at most {SQS_MAX_VISIBILITY_TIMEOUT} s, so "
            f"no setting makes a delay of {seconds(delay)} s safe: keep countdowns, ETAs and "
            f"retry delays under {seconds(longest)} s, and schedule later work with a "
            "periodic task (celery beat) or a scheduler of your own."
        )
    # Whole minutes; on SQS at most its maximum, as the delay is within its share of it.
    needed = math.ceil(delay / DELAY_SHARE / 60) * 60
    option = f"{{'visibility_timeout': {needed}}}"
    fix = (
        f"{shorter}, or raise {_SETTING} to {needed} or more in every process that sends or "
        f'runs tasks (Config(broker_transport_options={option}) or {variable}="{option}")'
    )
    if is_sqs:
        fix += (
            f", at most {SQS_MAX_VISIBILITY_TIMEOUT}; SQS queues that exist keep the "
            "VisibilityTimeout attribute they were created with, so change it there too"
        )
    return fix + "."


def env_prefix(app: Any) -> str:
    """Return the prefix of the environment variables *app*'s configuration reads."""
    return env_prefix_of(app.conf)


def _broker(transport: str) -> str:
    return _BROKER_NAMES.get(transport, transport.capitalize())


def retry_delays(task: Any) -> dict[str, float]:
    """
    Return the delays, by attribute, after which *task*'s retries are due.

    ``default_retry_delay``, and ``retry_backoff_max`` when ``retry_backoff`` is on (the
    longest delay of an exponential back-off; 600 s unless set, as in Celery). Attributes
    that are not numbers are left out.
    """
    delays = {"default_retry_delay": getattr(task, "default_retry_delay", None)}
    if getattr(task, "retry_backoff", False):
        delays["retry_backoff_max"] = getattr(task, "retry_backoff_max", _BACKOFF_MAX)
    return {
        name: float(value)
        for name, value in delays.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


# -- the refusal ---------------------------------------------------------------------------


def task_fields(message: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return the ``task``, ``id`` and ``eta`` of kombu's task *message*, as far as it has them.

    Celery's task protocol 2 keeps them in the headers (``eta`` always, ``None`` when the
    task is due now); protocol 1 in the body, which is decoded only then, and only from
    JSON: a pickled body of protocol 1 is not read. A message that is not a task (an
    event…) gives what it has, often nothing.
    """
    headers = message.get("headers")
    headers = headers if isinstance(headers, Mapping) else {}
    if "eta" in headers or ("task" in headers and "id" in headers):
        return {key: headers.get(key) for key in ("task", "id", "eta")}
    body = _json_body(message)
    if not isinstance(body, Mapping):
        return {}
    return {key: body.get(key) for key in ("task", "id", "eta") if key in body}


def is_task(fields: Mapping[str, Any]) -> bool:
    """Tell whether :func:`task_fields` found a task: a name and an id."""
    return fields.get("task") is not None and fields.get("id") is not None


def _json_body(message: Mapping[str, Any]) -> Any:
    """Return the decoded body of a JSON *message*, or ``None``."""
    from kombu.serialization import loads

    try:
        return loads(
            message.get("body"),
            message.get("content-type"),
            message.get("content-encoding"),
            accept=["application/json"],
        )
    except Exception:
        return None  # not a body we can read


def _eta(fields: Mapping[str, Any]) -> datetime | None:
    """Return when the task is due, aware, or ``None`` if it is due now."""
    eta = fields.get("eta")
    if not eta:
        return None
    if isinstance(eta, str):
        try:
            eta = datetime.fromisoformat(eta)
        except ValueError:
            return None  # not ours to judge: the worker reports it
    if not isinstance(eta, datetime):
        return None
    # Celery sends an aware ETA; a naive one is read as UTC, as Celery's worker reads it.
    return eta if eta.tzinfo is not None else eta.replace(tzinfo=timezone.utc)


def refuse_late_message(
    message: Mapping[str, Any],
    transport: str,
    options: Mapping[str, Any] | None,
    now: datetime | None = None,
) -> None:
    """
    Raise if the task *message* is due later than the visibility timeout allows.

    Args:
        message: The message as kombu's channel publishes it (``headers``, ``body``…).
        transport: The transport's ``driver_type``, such as ``'sqs'``.
        options: The connection's transport options.
        now: The time of sending; the current time when omitted.

    Raises:
        VisibilityTimeoutError: Naming the task, its delay, the limit and the fix.

    """
    fields = task_fields(message)
    eta = _eta(fields)
    if eta is None:
        return
    timeout = visibility_timeout(transport, options)
    if timeout is None:
        return
    delay = (eta - (now or datetime.now(timezone.utc))).total_seconds()
    limit = delay_limit(timeout)
    if delay <= limit:
        return
    name = str(fields.get("task") or "?")
    prefix = str((options or {}).get(ENV_PREFIX_OPTION) or DEFAULT_ENV_PREFIX)
    shorter = f"Send it with a countdown or ETA of at most {seconds(limit)} s"
    fix = delay_fix(delay, shorter, transport, prefix)
    raise VisibilityTimeoutError(
        f"Refused to send task {name!r}: it is due in {seconds(delay)} s (its countdown, "
        f"ETA or retry delay), more than the {seconds(limit)} s allowed by "
        f"{_SETTING}={seconds(timeout)} ({DELAY_SHARE:.0%} of it; the rest is left for a "
        f"worker to start the task). {_broker(transport)} delivers a message again once it "
        "has stayed unacknowledged for the visibility timeout, and a worker keeps a task "
        f"unacknowledged until it is due, so the task would run more than once. {fix}",
        task_name=name,
        delay=delay,
        limit=limit,
        visibility_timeout=timeout,
    )
