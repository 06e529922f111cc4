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

*Where the refusal hooks in.* Celery's router does not see ``countdown`` or ``eta``
(``app.send_task`` takes them as parameters of its own), and Celery's signal dispatcher
swallows what a ``before_task_publish`` receiver raises, so neither can refuse. The one
place that sees every message of an app, ETA included, and whose exceptions reach the
caller is the app's ``app.amqp.send_task_message``, which ``send_task`` (and with it
``apply_async`` and ``Task.retry``) calls to publish. It is a cached property of the
app's own AMQP instance: :func:`guard_app` puts a :class:`_Guard` in its place on that
instance, for that app only; no Celery class is patched. The original sender is built
on first use, as Celery would build it.

The guard must be in place before the first message, in every process that sends, and
a process that only sends tasks may never finalize its app nor call ``setup_app``. Two
hooks install it, the way Celery's own ``shared_task`` reaches every app:

- ``celery._state.connect_on_app_finalize``: every app configured by a
  :class:`~cadasta.workertoolbox.conf.Config` gets the guard when it is finalized (every
  worker, and any process that looks at ``app.tasks``);
- :class:`GuardedTaskRouter`, the router a ``Config`` puts in ``task_routes``: Celery
  consults it for every message before it builds and publishes it, in every process. The
  router is not told which app asks, so it finds the apps whose router consults it among
  the live apps (``celery._state._get_active_apps()``) and guards those not yet guarded.
  It remembers the apps it has seen, and looks again only at new ones and at those that
  had no router yet: then a route costs one comparison of two small sets.

Finalizing alone would not do: ``app.send_task`` and ``apply_async`` never finalize the
app.

Inside a worker, a refused retry makes ``Task.retry`` raise ``Reject``: the task is
marked failed, loudly, instead of running twice.

**Lost workers.** By default Celery acknowledges a task's message when a worker's pool
process starts the task, so a task whose worker dies while running it is lost. The
library variable ``AT_LEAST_ONCE`` switches to acknowledging after the task, and to
delivering again the task of a pool process that died (:data:`AT_LEAST_ONCE_SETTINGS`):
the task then runs at least once, and may run twice.
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from celery import _state

from ._routing import TaskRouter
from ._topology import Topology
from .exceptions import VisibilityTimeoutError

__all__ = [
    "AT_LEAST_ONCE_DEFAULTS",
    "AT_LEAST_ONCE_SETTINGS",
    "DELAY_SHARE",
    "SQS_MAX_VISIBILITY_TIMEOUT",
    "GuardedTaskRouter",
    "at_least_once_problems",
    "configured_visibility_timeout",
    "delay_fix",
    "delay_limit",
    "env_prefix",
    "guard_app",
    "is_guarded",
    "retry_delays",
    "seconds",
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

#: What ``AT_LEAST_ONCE`` sets, and may not be given otherwise: acknowledge a task's
#: message when the task has run, and deliver again the task of a pool process that died.
AT_LEAST_ONCE_SETTINGS: Mapping[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
}
#: What ``AT_LEAST_ONCE`` sets unless given: a worker reserves no more tasks than it has
#: pool processes, so that fewer unacknowledged messages wait in a worker, where they
#: would be delivered again after the visibility timeout or lost with the worker.
AT_LEAST_ONCE_DEFAULTS: Mapping[str, Any] = {"worker_prefetch_multiplier": 1}

_SETTING = "broker_transport_options['visibility_timeout']"
#: Celery's longest back-off delay when a task sets none (``celery/app/autoretry.py``).
_BACKOFF_MAX = 600
_LOCK = threading.Lock()


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
    conf = app.conf
    transport = conf.broker_transport
    if not transport:
        url = str(conf.broker_write_url or "")
        transport = url.split("://", 1)[0] if "://" in url else "amqp"
    return str(transport).lower()


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
    return str(app.conf.get("ENV_PREFIX") or "CELERY_")


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


# -- the guard -----------------------------------------------------------------------------


def _eta(message: Any) -> datetime | None:
    """Return when the task *message* is due, aware, or ``None`` if it is due now."""
    headers = getattr(message, "headers", None) or {}
    if "eta" in headers:
        eta = headers["eta"]
    else:  # protocol 1 keeps it in the body
        body = getattr(message, "body", None)
        eta = body.get("eta") if isinstance(body, Mapping) else None
    if not eta:
        return None
    from celery.utils.time import maybe_make_aware

    if isinstance(eta, str):
        try:
            eta = datetime.fromisoformat(eta)
        except ValueError:
            return None  # not ours to judge: the worker reports it
    if not isinstance(eta, datetime):
        return None
    aware: datetime = maybe_make_aware(eta)
    return aware


def refuse_late_message(app: Any, producer: Any, name: str, message: Any) -> None:
    """
    Raise if the task *message* is due later than the visibility timeout allows.

    The transport and its options are those of the connection *producer* publishes on.

    Raises:
        VisibilityTimeoutError: Naming the task, its delay, the limit and the fix.

    """
    eta = _eta(message)
    if eta is None:
        return
    connection = producer.connection
    transport = str(connection.transport.driver_type)
    timeout = visibility_timeout(transport, connection.transport_options)
    if timeout is None:
        return
    delay = (eta - app.now()).total_seconds()
    limit = delay_limit(timeout)
    if delay <= limit:
        return
    shorter = f"Send it with a countdown or ETA of at most {seconds(limit)} s"
    fix = delay_fix(delay, shorter, transport, env_prefix(app))
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


class _Guard:
    """
    An app's ``send_task_message`` that refuses tasks due too late, then sends.

    Args:
        amqp: The app's AMQP instance.
        sender: Celery's ``send_task_message``; built on first use when ``None``.

    """

    def __init__(self, amqp: Any, sender: Callable[..., Any] | None) -> None:
        self._amqp = amqp
        self._sender = sender

    def __call__(self, producer: Any, name: str, message: Any, **options: Any) -> Any:
        refuse_late_message(self._amqp.app, producer, name, message)
        sender = self._sender
        if sender is None:
            sender = self._sender = _build_sender(self._amqp)
        return sender(producer, name, message, **options)


def _build_sender(amqp: Any) -> Callable[..., Any]:
    """Build Celery's ``send_task_message`` for *amqp*, as its cached property would."""
    descriptor = inspect.getattr_static(type(amqp), "send_task_message")
    sender: Callable[..., Any] = descriptor.func(amqp)
    return sender


def guard_app(app: Any) -> None:
    """
    Make *app* refuse, when they are sent, tasks due later than its visibility timeout.

    Replaces ``send_task_message`` on the app's own AMQP instance; idempotent.
    """
    amqp = app.amqp
    with _LOCK:
        current = vars(amqp).get("send_task_message")
        if isinstance(current, _Guard):
            return
        descriptor = inspect.getattr_static(type(amqp), "send_task_message", None)
        if current is None and not isinstance(descriptor, functools.cached_property):
            current = amqp.send_task_message  # not Celery's cached property: take it now
        amqp.send_task_message = _Guard(amqp, current)


def is_guarded(app: Any) -> bool:
    """Tell whether *app* refuses tasks due later than its visibility timeout."""
    amqp = vars(app).get("amqp")
    return amqp is not None and isinstance(vars(amqp).get("send_task_message"), _Guard)


def _settle(app: Any, router: object) -> bool:
    """
    Guard *app* if its router consults *router*; tell whether *app* needs nothing more.

    An app needs nothing more once it is guarded, or once its router is built and does
    not consult *router* (Celery builds an app's router once). An app whose router is
    not built yet may still come to consult *router*.
    """
    amqp = vars(app).get("amqp")
    if amqp is None:
        return False
    if isinstance(vars(amqp).get("send_task_message"), _Guard):
        return True
    built_router = vars(amqp).get("router")
    routes = getattr(built_router, "routes", None) or ()
    if any(route is router for route in routes):
        guard_app(app)
        return True
    return built_router is not None


#: The weak references of the live apps a router last looked at, and of those among them
#: that may still come to consult it (:func:`_settle`).
_AppsSeen = tuple[frozenset["weakref.ref[Any]"], frozenset["weakref.ref[Any]"]]


class GuardedTaskRouter(TaskRouter):
    """
    The library's :class:`~._routing.TaskRouter`, which also guards the apps it routes for.

    Before it routes a task, it makes sure that the app asking refuses tasks due later
    than its visibility timeout (see :func:`guard_app`). It is not told which app asks,
    so it looks at the live apps (``celery._state._get_active_apps()``, a
    :class:`weakref.WeakSet`), and remembers which it has seen and which of those may
    still come to consult it (:func:`_settle`). It then looks again only at new apps and
    at those: while the live apps are the ones it has seen and all are settled, a route
    costs one comparison of two small sets.
    """

    def __init__(self, topology: Topology, message_group: str = "default") -> None:
        super().__init__(topology, message_group)
        # One attribute, replaced whole, so that threads always read a consistent pair.
        self._apps_seen: _AppsSeen = (frozenset(), frozenset())

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Guard the apps that consult this router, then route as the base class does."""
        live: set[weakref.ref[Any]] = _state._get_active_apps().data
        seen, unsettled = self._apps_seen
        if unsettled or live != seen:
            self.settle_live_apps(live)
        return super().__call__(*args, **kwargs)

    def settle_live_apps(self, live: set[weakref.ref[Any]] | None = None) -> None:
        """
        Guard the live apps that consult this router, looking only at what may have changed.

        Args:
            live: The weak references of the live apps; by default Celery's.

        """
        if live is None:
            live = _state._get_active_apps().data
        seen, unsettled = self._apps_seen
        snapshot = frozenset(live)  # taken first: an app created meanwhile is not in it
        to_look_at = (snapshot - seen) | (unsettled & snapshot)
        apps = [(ref, ref()) for ref in to_look_at]
        still_unsettled = frozenset(
            ref for ref, app in apps if app is not None and not _settle(app, self)
        )
        self._apps_seen = (snapshot, still_unsettled)


def _guard_finalized_app(app: Any) -> None:
    """Guard *app* when it is finalized, if a :class:`~.conf.Config` configured it."""
    from .setup import is_configured_by_toolbox

    if is_configured_by_toolbox(app):
        guard_app(app)


_state.connect_on_app_finalize(_guard_finalized_app)


# -- at least once -------------------------------------------------------------------------


def at_least_once_problems(value: Any, settings: Mapping[str, Any]) -> list[str]:
    """
    Return the problems of ``AT_LEAST_ONCE``=*value* with the Celery *settings* given.

    With the switch on, each of :data:`AT_LEAST_ONCE_SETTINGS` must keep its value.
    """
    if not isinstance(value, bool):
        return [
            f"AT_LEAST_ONCE={value!r} must be True or False (in the environment: true or false)."
        ]
    if not value:
        return []
    return [
        f"{name}={settings[name]!r} contradicts AT_LEAST_ONCE=True, which sets {name}={wanted!r} "
        "so that a task whose worker dies is delivered again. Remove the setting, or turn "
        "AT_LEAST_ONCE off."
        for name, wanted in AT_LEAST_ONCE_SETTINGS.items()
        if name in settings and settings[name] != wanted
    ]
