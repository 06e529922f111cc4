"""
The library's own variables (UPPERCASE): their defaults, how each is set, and their checks.

Each comes from its keyword, else from ``{ENV_PREFIX}{NAME}``, else from its default
(:data:`LIBRARY_VARIABLES`); ``SETUP_SENTRY_LOGGING`` defaults to whether ``SENTRY_DSN``
is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import DEFAULT_QUEUES
from .._chord_unlock import DEFAULT_MAX_RETRIES
from ..exceptions import ConfigError
from ._broker import queue_name_prefix
from ._logging import DEFAULT_FILE_MODE
from ._routing import check_message_group
from ._topology import DEFAULT_PLATFORM_QUEUE
from ._validation import (
    check_library_variables,
    check_non_negative_int,
    check_platform_queue_name,
    check_queue_names,
)

if TYPE_CHECKING:
    from ._config import Config

__all__ = ["LIBRARY_VARIABLES", "check_variables", "set_library_variables"]

#: The library's own variables (UPPERCASE) and their defaults. ``ENV_PREFIX`` and
#: ``SETUP_SENTRY_LOGGING`` are resolved apart: the first decides how the others are
#: read, the second defaults to whether ``SENTRY_DSN`` is set.
LIBRARY_VARIABLES: Mapping[str, Any] = {
    "QUEUES": DEFAULT_QUEUES,
    "QUEUE_PREFIX": "dev",
    "PLATFORM_QUEUE_NAME": DEFAULT_PLATFORM_QUEUE,
    "RESULT_DB_USER": "worker",
    "RESULT_DB_PASS": "cadasta",
    "RESULT_DB_HOST": "localhost",
    "RESULT_DB_PORT": "5432",
    "RESULT_DB_NAME": "cadasta",
    "CHORD_UNLOCK_MAX_RETRIES": DEFAULT_MAX_RETRIES,
    "MONITOR_MESSAGE_GROUP": "default",
    "AT_LEAST_ONCE": False,
    "SETUP_FILE_LOGGING": False,
    "LOG_DIR": "logs",
    "LOG_FILE_MODE": DEFAULT_FILE_MODE,
    "SENTRY_DSN": None,
    "SENTRY_NAME": None,
    "SENTRY_ENVIRONMENT": None,
    "SENTRY_RELEASE": None,
    "SENTRY_INCLUDE_LOCAL_VARIABLES": False,
}


def set_library_variables(config: Config) -> None:
    """Set each library variable; one that does not parse is reported and gets its default."""
    problems: list[str] = []
    for keyword, default in LIBRARY_VARIABLES.items():
        try:
            config.set(keyword, default)
        except ConfigError as error:
            problems.extend(error.problems)
            setattr(config, keyword, default)
    try:
        config.set("SETUP_SENTRY_LOGGING", bool(config.SENTRY_DSN))
    except ConfigError as error:
        problems.extend(error.problems)
        config.SETUP_SENTRY_LOGGING = False
    if problems:
        raise ConfigError(problems)


def check_variables(config: Config) -> None:
    """Check the library variables; invalid queue names and message groups are dropped."""
    problems: list[str] = []
    queue_prefix: object = config.QUEUE_PREFIX
    if not isinstance(queue_prefix, str):
        problems.append(f"QUEUE_PREFIX={queue_prefix!r} must be a string such as 'dev'.")
    names, queue_problems = check_queue_names(config.QUEUES, "QUEUES", queue_name_prefix(config))
    problems += queue_problems
    # Only the valid names, so that the topology can be built whatever was given.
    config.QUEUES = list(names)
    problems += check_platform_queue_name(
        config.PLATFORM_QUEUE_NAME, queue_name_prefix(config), names
    )
    problems += check_non_negative_int(config.CHORD_UNLOCK_MAX_RETRIES, "CHORD_UNLOCK_MAX_RETRIES")
    problems += check_library_variables(config)
    group_problems = check_message_group(config.MONITOR_MESSAGE_GROUP)
    if group_problems:
        problems += group_problems
        # A valid value, so that the router can be built whatever was given.
        config.MONITOR_MESSAGE_GROUP = LIBRARY_VARIABLES["MONITOR_MESSAGE_GROUP"]
    if problems:
        raise ConfigError(problems)
