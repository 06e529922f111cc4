"""
Every other ``{ENV_PREFIX}NAME`` variable: the Celery setting ``name``, parsed to its type.

A variable no other step reads (``CELERY_WORKER_CONCURRENCY``…) sets the Celery setting
of its name, lowercased, parsed to the type Celery's option table gives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError
from ._environment import parse_value
from ._secrets import protect
from ._tasks import TASK_DEFAULTS
from ._variables import LIBRARY_VARIABLES

if TYPE_CHECKING:
    from ._config import Config

__all__ = [
    "CELERY_TYPE_DEFAULTS",
    "READ_EXPLICITLY",
    "celery_option_types",
    "set_unclaimed_settings",
]

#: An empty value of each of Celery's option types: what a variable's text is parsed to.
CELERY_TYPE_DEFAULTS: Mapping[str, Any] = {
    "bool": False,
    "int": 0,
    "float": 0.0,
    "tuple": (),
    "list": [],
    "dict": {},
}

#: Lowercased names the configuration reads itself, never from the generic sweep.
READ_EXPLICITLY = frozenset(
    {
        "env_prefix",
        "setup_sentry_logging",
        "broker_url",
        "broker_transport",
        "broker_transport_options",
        "result_backend",
        "task_queues",
        "task_routes",
        "task_annotations",
        *TASK_DEFAULTS,
    }
)


@cache
def celery_option_types() -> Mapping[str, str]:
    """Return the type Celery gives each of its settings (``'bool'``, ``'int'``…)."""
    from celery.app.defaults import NAMESPACES, flatten

    return {name: option.type for name, option in flatten(NAMESPACES)}


def set_unclaimed_settings(config: Config) -> None:
    """Set each ``{ENV_PREFIX}NAME`` variable no other step read as the setting ``name``."""
    from ._config import Config

    claimed = {key.lower() for key in (*vars(config), *config._given, *LIBRARY_VARIABLES)}
    claimed |= READ_EXPLICITLY
    # Never an attribute of the class: CELERY_ITEMS must not hide Config.items.
    claimed |= {name.lower() for name in dir(Config)}
    types = celery_option_types()
    problems: list[str] = []
    for variable, setting, raw in config._environment.unclaimed(claimed):
        default = CELERY_TYPE_DEFAULTS.get(types.get(setting, "string"))
        try:
            value = parse_value(variable, raw, default)
        except ConfigError as error:
            problems.extend(error.problems)
        else:
            setattr(config, setting, protect(setting, value))
    if problems:
        raise ConfigError(problems)
