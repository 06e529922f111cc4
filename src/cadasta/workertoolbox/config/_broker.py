"""
The broker: ``broker_url``, the library's transport in place of kombu's, and its options.

The options default to long polling, an hour's visibility timeout and a fast failure when
the broker is unreachable (:data:`DEFAULT_TRANSPORT_OPTIONS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError
from ..publish.transports import ENV_PREFIX_OPTION, transport_alias, transport_for
from ._environment import READ_BY_CELERY, read_by_celery
from ._secrets import protect
from ._validation import check_broker_url, check_queue_name_prefix, check_transport_options

if TYPE_CHECKING:
    from ._config import Config

__all__ = ["DEFAULT_TRANSPORT_OPTIONS", "queue_name_prefix", "set_broker"]

DEFAULT_TRANSPORT_OPTIONS: Mapping[str, Any] = {
    "region": "us-west-2",
    # Long polling: one ReceiveMessage call waits up to 20 s (SQS's maximum) for work.
    "wait_time_seconds": 20,
    # But not at all when a worker without an event loop (gevent, eventlet) polls several
    # queues in turn: kombu's polling_interval (1 s) paces its rounds of short polls, so a
    # task waits about 1 s, not 20 s per other queue (publish/sqs.py).
    "turn_wait_time_seconds": 0,
    # A task held unacknowledged (countdown, ETA, retry) longer than this is delivered
    # again; one hour covers Celery's retry delays and countdowns of up to 30 minutes.
    "visibility_timeout": 3600,
    # Fail fast when the broker is unreachable instead of hanging a producer.
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
    # Try one copy of a task (the monitor's or the work queue's) again for up to this many
    # seconds after a passing failure, before the send fails (see publish/sqs.py).
    "publish_retry_seconds": 5,
}


def queue_name_prefix(config: Config) -> str:
    """
    Return the queue name prefix SQS will see.

    The ``queue_name_prefix`` transport option when it is given (and valid), else
    ``QUEUE_PREFIX`` and a dash.
    """
    option = _given_queue_name_prefix(config)
    if option is not None and not check_queue_name_prefix(option):
        return option
    prefix = config.QUEUE_PREFIX
    return f"{prefix}-" if isinstance(prefix, str) and prefix else ""


def _given_queue_name_prefix(config: Config) -> str | None:
    """Return the ``queue_name_prefix`` transport option given, if it is a string."""
    options = config._given.get("broker_transport_options")
    if options is None:
        try:
            options = config._environment.get("broker_transport_options", {})
        except ConfigError:
            return None  # reported when the broker is set
    prefix = options.get("queue_name_prefix") if isinstance(options, Mapping) else None
    return prefix if isinstance(prefix, str) else None


def set_broker(config: Config) -> None:
    """Set ``broker_url``, ``broker_transport`` (the library's) and its options."""
    url = read_by_celery(config._environment, "broker_url")
    source = READ_BY_CELERY["broker_url"]
    if url is None:
        in_keyword = "broker_url" in config._given
        url = config._given.get("broker_url", config._environment.lookup("broker_url"))
        source = "broker_url" if in_keyword else config._environment.variable("broker_url")
    url_problems = check_broker_url(url, source)
    if url_problems:
        raise ConfigError(url_problems)
    if url is not None:
        config.broker_url = protect("broker_url", url)
    scheme = str(url).split("://", 1)[0].lower() if url else "sqs"
    transport = config.set("broker_transport", "sqs" if scheme == "sqs" else None)
    if transport is not None and transport_alias(transport) != scheme and url:
        raise ConfigError(
            f"broker_transport={transport!r} contradicts broker_url, whose scheme is "
            f"{scheme!r}; Celery would use {transport!r} and ignore the URL's scheme. "
            "Remove broker_transport, or make the two agree."
        )
    # The library's own transport in place of kombu's, where it has one (see publish/).
    chosen = transport_alias(transport) if transport is not None else scheme
    # A transport class of the user's own is kept as it is.
    ours = transport_for(chosen) if transport is None or isinstance(transport, str) else None
    if ours is not None:
        config.broker_transport = ours
    elif transport is None:
        del config.broker_transport
    given = config.set("broker_transport_options", {})
    problems = check_transport_options(given, chosen)
    if problems:
        raise ConfigError(problems)
    options = {
        **DEFAULT_TRANSPORT_OPTIONS,
        "queue_name_prefix": queue_name_prefix(config),
        **given,
    }
    prefix = options["queue_name_prefix"]
    if isinstance(prefix, str) and prefix != queue_name_prefix(config):
        # The queue names were checked with QUEUE_PREFIX: SQS would refuse this one.
        raise ConfigError(check_queue_name_prefix(prefix))
    if config.ENV_PREFIX != "CELERY_":
        options[ENV_PREFIX_OPTION] = config.ENV_PREFIX
    config.broker_transport_options = protect("broker_transport_options", options)
