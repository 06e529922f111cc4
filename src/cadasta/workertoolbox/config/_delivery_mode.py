"""
``AT_LEAST_ONCE``: acknowledge a task's message when the task has run.

By default a worker acknowledges a task's message when a pool process starts the task, so
a task whose worker dies while running it is lost. The library variable ``AT_LEAST_ONCE``
switches to acknowledging after the task, and to delivering again the task of a pool
process that died (:data:`AT_LEAST_ONCE_SETTINGS`): the task then runs at least once, and
may run twice. What the send path does about delivery (refusing a task due later than
the visibility timeout) is in :mod:`cadasta.workertoolbox.publish`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError

if TYPE_CHECKING:
    from ._config import Config

__all__ = [
    "AT_LEAST_ONCE_DEFAULTS",
    "AT_LEAST_ONCE_SETTINGS",
    "at_least_once_problems",
    "set_delivery_mode",
]

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


def set_delivery_mode(config: Config) -> None:
    """Set the Celery settings ``AT_LEAST_ONCE`` implies."""
    problems: list[str] = []
    if config.AT_LEAST_ONCE is True:
        for setting, value in {**AT_LEAST_ONCE_SETTINGS, **AT_LEAST_ONCE_DEFAULTS}.items():
            try:
                config.set(setting, value)
            except ConfigError as error:
                problems.extend(error.problems)
                setattr(config, setting, value)
    problems += at_least_once_problems(config.AT_LEAST_ONCE, config)
    if problems:
        raise ConfigError(problems)
